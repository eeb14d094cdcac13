//! The embedded mail folder: each delivered message is one `.eml` file, named so that
//! file order is delivery order. `latchkey mail list|show` reads it back.

use std::path::{Path, PathBuf};

use mail_parser::MessageParser;
use serde::Serialize;

/// Writes one formatted message as `<folder>/<id>.eml` (atomically: temp file, rename).
pub async fn write(folder: &Path, id: i64, formatted: &[u8]) -> std::io::Result<PathBuf> {
    tokio::fs::create_dir_all(folder).await?;
    let path = folder.join(format!("{id:010}.eml"));
    let tmp = folder.join(format!(".{id:010}.eml.tmp"));
    tokio::fs::write(&tmp, formatted).await?;
    tokio::fs::rename(&tmp, &path).await?;
    Ok(path)
}

/// A message in the folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredMail {
    /// The outbox id (file name without extension).
    pub id: String,
    /// `To:`.
    pub to: String,
    /// `Subject:`.
    pub subject: String,
    /// `Date:` as RFC 3339.
    pub date: String,
    /// The plain-text body.
    pub text: String,
}

fn parse(id: String, bytes: &[u8]) -> Option<StoredMail> {
    let msg = MessageParser::default().parse(bytes)?;
    let to = msg
        .to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_owned();
    Some(StoredMail {
        id,
        to,
        subject: msg.subject().unwrap_or_default().to_owned(),
        date: msg.date().map(|d| d.to_rfc3339()).unwrap_or_default(),
        text: msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
    })
}

/// Every message in the folder, oldest first (an absent folder is empty).
pub fn list(folder: &Path) -> std::io::Result<Vec<StoredMail>> {
    let mut names: Vec<(String, PathBuf)> = match std::fs::read_dir(folder) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .filter_map(|p| Some((p.file_stem()?.to_str()?.to_owned(), p)))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    names.sort();
    Ok(names
        .into_iter()
        .filter_map(|(id, path)| std::fs::read(&path).ok().and_then(|b| parse(id, &b)))
        .collect())
}

/// The message with `id` (leading zeros optional).
pub fn show(folder: &Path, id: &str) -> std::io::Result<Option<StoredMail>> {
    let Ok(n) = id.trim().parse::<i64>() else {
        return Ok(None);
    };
    let path = folder.join(format!("{n:010}.eml"));
    match std::fs::read(&path) {
        Ok(bytes) => Ok(parse(format!("{n:010}"), &bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

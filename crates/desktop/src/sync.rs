//! Two-way sync between a folder of `.vcf` files (one card each) and the user's own
//! Contacts (OwnerId = the user). Incremental both ways: the org's side by
//! SystemModstamp since the last sync, the folder's by file digests; the last synced
//! fields of each contact (the base) are kept in `.latchkey-sync.json` in the folder,
//! so a change on one side is told from a change on the other. When both sides changed
//! the same field, the newer side (file time against SystemModstamp) wins that field.
//! Deletions travel both ways; a contact that left the user (deleted, or given to
//! someone else) leaves the folder unless its file changed meanwhile.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use latchkey_sfclient::{changes, Client};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::connect::Connection;
use crate::files::{write_private, write_whole};
use crate::save::{record, save_batches, soql_literal};
use crate::vcard::{self, Card, Fields, FIELDS};
use crate::DesktopError;

/// The folder's sync state.
pub const STATE_FILE: &str = ".latchkey-sync.json";

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    user_id: String,
    /// The newest SystemModstamp pulled.
    checkpoint: Option<DateTime<Utc>>,
    /// By contact id.
    contacts: BTreeMap<String, Synced>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Synced {
    file: String,
    /// SHA-256 of the file as last written or read.
    digest: String,
    /// The fields both sides agreed on at the last sync.
    fields: Fields,
}

/// A file of the folder.
#[derive(Debug)]
enum Local {
    /// As at the last sync.
    Unchanged,
    /// Changed (or new), and readable.
    Changed(Box<Card>, DateTime<Utc>, String),
    /// Changed, and not a single well-formed card: left alone.
    Broken,
}

/// What a sync did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Contacts new in the org, written as files.
    pub pulled_new: usize,
    /// Contacts changed in the org, written into their files.
    pub pulled_changed: usize,
    /// Files removed because their contact left the user.
    pub removed_files: usize,
    /// New files saved as contacts.
    pub pushed_new: usize,
    /// Changed files saved into their contacts.
    pub pushed_changed: usize,
    /// Contacts deleted because their file was deleted.
    pub deleted_contacts: usize,
    /// Fields changed on both sides (the newer side won).
    pub conflicts: usize,
    /// What happened, one line each.
    pub log: Vec<String>,
    /// Files or contacts that could not be synced, and why (retried next time).
    pub problems: Vec<String>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for line in &self.log {
            writeln!(f, "  {line}")?;
        }
        for line in &self.problems {
            writeln!(f, "  ! {line}")?;
        }
        writeln!(
            f,
            "From the org: {} new, {} changed, {} removed. To the org: {} new, {} changed, {} deleted.",
            self.pulled_new,
            self.pulled_changed,
            self.removed_files,
            self.pushed_new,
            self.pushed_changed,
            self.deleted_contacts
        )?;
        write!(
            f,
            "{} conflicting field(s) (the newer side kept); {} problem(s).",
            self.conflicts,
            self.problems.len()
        )
    }
}

fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn local_err(what: &str, path: &Path, e: impl std::fmt::Display) -> DesktopError {
    DesktopError::Local(format!("{what} {}: {e}", path.display()))
}

/// A file name for a new contact: its name in lower-case ASCII, unique in the folder.
fn file_name(fields: &Fields, taken: &HashSet<String>) -> String {
    let name = format!(
        "{} {}",
        fields.get("FirstName").map_or("", String::as_str),
        fields.get("LastName").map_or("", String::as_str)
    );
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = match slug.trim_end_matches('-') {
        "" => "contact".to_owned(),
        s => s.to_owned(),
    };
    (1..)
        .map(|n| {
            if n == 1 {
                format!("{slug}.vcf")
            } else {
                format!("{slug}-{n}.vcf")
            }
        })
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or_default()
}

/// Fields of `to` that differ from `from`: changed values, and names to clear.
fn differences(from: &Fields, to: &Fields) -> (Fields, Vec<&'static str>) {
    let mut set = Fields::new();
    let mut cleared = Vec::new();
    for (name, _) in FIELDS {
        match (from.get(name), to.get(name)) {
            (a, Some(b)) if a != Some(b) => {
                set.insert(name.to_owned(), b.clone());
            }
            (Some(_), None) => cleared.push(name),
            _ => {}
        }
    }
    (set, cleared)
}

/// Field-level three-way merge; the newer side wins a field both changed. Returns the
/// merged fields and how many fields conflicted.
fn merge(base: &Fields, local: &Fields, remote: &Fields, local_is_newer: bool) -> (Fields, usize) {
    let mut merged = Fields::new();
    let mut conflicts = 0;
    for (name, _) in FIELDS {
        let (b, l, r) = (base.get(name), local.get(name), remote.get(name));
        let value = match (l != b, r != b) {
            (true, true) if l != r => {
                conflicts += 1;
                if local_is_newer {
                    l
                } else {
                    r
                }
            }
            (true, _) => l,
            _ => r,
        };
        if let Some(v) = value {
            merged.insert(name.to_owned(), v.clone());
        }
    }
    (merged, conflicts)
}

fn remote_fields(record: &Value) -> Fields {
    FIELDS
        .iter()
        .filter_map(|(name, _)| {
            record[*name]
                .as_str()
                .filter(|v| !v.is_empty())
                .map(|v| ((*name).to_owned(), v.to_owned()))
        })
        .collect()
}

/// The folder, read: each `.vcf` file's state against the last sync.
struct Folder {
    dir: PathBuf,
    files: BTreeMap<String, Local>,
}

impl Folder {
    fn read(dir: &Path, state: &State, problems: &mut Vec<String>) -> Result<Self, DesktopError> {
        let known: HashMap<&str, &Synced> = state.contacts.values().map(|s| (s.file.as_str(), s)).collect();
        let mut files = BTreeMap::new();
        let listing = std::fs::read_dir(dir).map_err(|e| local_err("cannot list", dir, e))?;
        for item in listing {
            let item = item.map_err(|e| local_err("cannot list", dir, e))?;
            let name = item.file_name().to_string_lossy().into_owned();
            let is_card = Path::new(&name)
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("vcf"));
            if !is_card || name.starts_with('.') || !item.path().is_file() {
                continue;
            }
            let bytes = std::fs::read(item.path()).map_err(|e| local_err("cannot read", &item.path(), e))?;
            let hash = digest(&bytes);
            if known.get(name.as_str()).is_some_and(|s| s.digest == hash) {
                files.insert(name, Local::Unchanged);
                continue;
            }
            let modified = item
                .metadata()
                .and_then(|m| m.modified())
                .map(DateTime::<Utc>::from)
                .unwrap_or(DateTime::<Utc>::MIN_UTC); // unknown: the org's side wins
            let text = String::from_utf8_lossy(&bytes);
            let mut parsed = vcard::parse(&text);
            let state = match (parsed.errors.first(), parsed.cards.len()) {
                (Some(e), _) => {
                    problems.push(format!("{name}: {e} (not synced)"));
                    Local::Broken
                }
                (None, 1) => Local::Changed(Box::new(parsed.cards.remove(0)), modified, hash),
                (None, n) => {
                    problems.push(format!("{name}: {n} cards; a synced file holds one (not synced)"));
                    Local::Broken
                }
            };
            files.insert(name, state);
        }
        Ok(Self {
            dir: dir.to_owned(),
            files,
        })
    }

    /// Writes a contact's card (keeping the unmapped parts of `existing`); its digest.
    fn write(&self, name: &str, fields: &Fields, existing: Option<&Card>) -> Result<String, DesktopError> {
        let text = vcard::render(fields, existing.map(|c| &c.vcard));
        let path = self.dir.join(name);
        write_whole(&path, text.as_bytes()).map_err(|e| local_err("cannot write", &path, e))?;
        Ok(digest(text.as_bytes()))
    }

    /// The card in a file as it is now (to keep its unmapped properties).
    fn card(&self, name: &str) -> Option<Card> {
        let text = std::fs::read_to_string(self.dir.join(name)).ok()?;
        let mut parsed = vcard::parse(&text);
        (parsed.errors.is_empty() && parsed.cards.len() == 1).then(|| parsed.cards.remove(0))
    }
}

/// A pending save to the org, and what to record when it succeeds.
struct Push {
    id: Option<String>,
    file: String,
    digest: String,
    fields: Fields,
    record: Value,
    log: String,
}

/// Syncs `dir` with the logged-in user's own contacts.
pub async fn sync(connection: &Connection, dir: &Path) -> Result<Summary, DesktopError> {
    let state_path = dir.join(STATE_FILE);
    let me = &connection.me.user_id;
    let state = load_state(&state_path, dir, me)?;
    let mut summary = Summary::default();
    let folder = Folder::read(dir, &state, &mut summary.problems)?;
    let client = &connection.client;

    let owner = format!("OwnerId = {}", soql_literal(me));
    let remote_ids: HashSet<String> = client
        .query(&format!("SELECT Id FROM Contact WHERE {owner}"))
        .await?
        .iter()
        .filter_map(|r| r["Id"].as_str().map(str::to_owned))
        .collect();
    let names: Vec<&str> = FIELDS.iter().map(|(n, _)| *n).collect();
    let soql = changes::changed_since("Contact", &names, Some(&owner), state.checkpoint);
    let changed_remotely = client.query(&soql).await?;

    let mut run = Run::new(folder, state, summary);
    for row in &changed_remotely {
        run.pull(row)?;
    }
    run.local_changes(&remote_ids)?;
    run.push(client).await?;
    run.delete(client).await?;
    let Run { state, summary, .. } = run;
    let bytes = serde_json::to_vec_pretty(&state).map_err(|e| local_err("cannot write", &state_path, e))?;
    write_private(&state_path, &bytes).map_err(|e| local_err("cannot write", &state_path, e))?;
    Ok(summary)
}

/// The last sync's state of `dir` (empty before the first), which must be user `me`'s.
fn load_state(state_path: &Path, dir: &Path, me: &str) -> Result<State, DesktopError> {
    let mut state: State = match std::fs::read(state_path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| local_err("cannot read", state_path, e))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
        Err(e) => return Err(local_err("cannot read", state_path, e)),
    };
    if !state.user_id.is_empty() && state.user_id != me {
        return Err(DesktopError::Invalid(format!(
            "{} syncs with another user's contacts; use another folder",
            dir.display()
        )));
    }
    me.clone_into(&mut state.user_id);
    Ok(state)
}

/// One sync under way: the folder as read, the state as it becomes, and what is
/// still to be sent to the org.
struct Run {
    folder: Folder,
    state: State,
    summary: Summary,
    /// File names in use (a new file takes another).
    taken: HashSet<String>,
    /// Files the org's changes already dealt with.
    handled: HashSet<String>,
    updates: Vec<Push>,
    creates: Vec<Push>,
    /// Contacts whose file is gone from the folder: (id, file).
    deletions: Vec<(String, String)>,
    /// New files here by e-mail address, to link an org contact to instead of
    /// writing a second file.
    new_by_email: HashMap<String, String>,
}

impl Run {
    fn new(folder: Folder, state: State, summary: Summary) -> Self {
        let by_file: HashSet<&str> = state.contacts.values().map(|s| s.file.as_str()).collect();
        let new_by_email = folder
            .files
            .iter()
            .filter(|(name, _)| !by_file.contains(name.as_str()))
            .filter_map(|(name, l)| match l {
                Local::Changed(card, _, _) => card.fields.get("Email").map(|e| (e.to_lowercase(), name.clone())),
                _ => None,
            })
            .collect();
        Self {
            taken: folder.files.keys().cloned().collect(),
            folder,
            state,
            summary,
            handled: HashSet::new(),
            updates: Vec::new(),
            creates: Vec::new(),
            deletions: Vec::new(),
            new_by_email,
        }
    }

    /// Takes one change of the org's in.
    fn pull(&mut self, row: &Value) -> Result<(), DesktopError> {
        let Some(id) = row["Id"].as_str() else {
            return Ok(());
        };
        let stamp = changes::modstamp(row);
        if let Some(stamp) = stamp {
            self.state.checkpoint = Some(self.state.checkpoint.map_or(stamp, |c| c.max(stamp)));
        }
        let remote = remote_fields(row);
        let known = self.state.contacts.get(id).cloned();
        let linked = known.clone().or_else(|| {
            let file = remote
                .get("Email")
                .and_then(|e| self.new_by_email.get(&e.to_lowercase()))?;
            Some(Synced {
                file: file.clone(),
                digest: String::new(),
                fields: Fields::new(),
            })
        });
        let Some(synced) = linked else {
            return self.pull_new(id, remote);
        };
        if known.is_some() && remote == synced.fields {
            return Ok(()); // our own push coming back, or a change to unmapped fields
        }
        self.handled.insert(synced.file.clone());
        match self.folder.files.get(&synced.file) {
            Some(Local::Unchanged) => {
                let digest = self
                    .folder
                    .write(&synced.file, &remote, self.folder.card(&synced.file).as_ref())?;
                self.summary.pulled_changed += 1;
                self.summary.log.push(format!("← changed  {}", synced.file));
                let synced = Synced {
                    digest,
                    fields: remote,
                    ..synced
                };
                self.state.contacts.insert(id.to_owned(), synced);
            }
            Some(Local::Changed(card, modified, digest)) => {
                let local_is_newer = stamp.is_none_or(|stamp| *modified > stamp);
                let (card, digest) = (card.clone(), digest.clone());
                self.merge_both(id, synced, (&card, digest), &remote, local_is_newer)?;
            }
            Some(Local::Broken) => {}
            None => {
                // The file was deleted here but the contact changed in the org: keep it.
                let digest = self.folder.write(&synced.file, &remote, None)?;
                self.summary.conflicts += 1;
                self.summary.pulled_changed += 1;
                self.summary.log.push(format!(
                    "← restored {} (deleted here, but changed in the org since)",
                    synced.file
                ));
                let synced = Synced {
                    digest,
                    fields: remote,
                    ..synced
                };
                self.state.contacts.insert(id.to_owned(), synced);
            }
        }
        Ok(())
    }

    /// A contact new to this folder: written to a file of its own.
    fn pull_new(&mut self, id: &str, remote: Fields) -> Result<(), DesktopError> {
        let file = file_name(&remote, &self.taken);
        self.taken.insert(file.clone());
        let digest = self.folder.write(&file, &remote, None)?;
        self.summary.pulled_new += 1;
        self.summary.log.push(format!("← new      {file}"));
        self.handled.insert(file.clone());
        let synced = Synced {
            file,
            digest,
            fields: remote,
        };
        self.state.contacts.insert(id.to_owned(), synced);
        Ok(())
    }

    /// A contact changed on both sides: merged field by field, the file rewritten when
    /// the org's side brought something, and the org updated when this side did.
    fn merge_both(
        &mut self,
        id: &str,
        synced: Synced,
        (card, digest): (&Card, String),
        remote: &Fields,
        local_is_newer: bool,
    ) -> Result<(), DesktopError> {
        let (merged, conflicts) = merge(&synced.fields, &card.fields, remote, local_is_newer);
        self.summary.conflicts += conflicts;
        let mut digest = digest;
        if merged != card.fields {
            digest = self.folder.write(&synced.file, &merged, Some(card))?;
            self.summary.pulled_changed += 1;
            self.summary.log.push(format!("← changed  {}", synced.file));
        }
        let (set, cleared) = differences(remote, &merged);
        if set.is_empty() && cleared.is_empty() {
            let synced = Synced {
                digest,
                fields: merged,
                ..synced
            };
            self.state.contacts.insert(id.to_owned(), synced);
        } else {
            self.updates.push(Push {
                id: Some(id.to_owned()),
                record: record(&set, Some(id), &cleared),
                log: format!("→ changed  {}", synced.file),
                file: synced.file,
                digest,
                fields: merged,
            });
        }
        Ok(())
    }

    /// This side's changes the org's did not touch: contacts that left the user, files
    /// deleted or changed here, and new files.
    fn local_changes(&mut self, remote_ids: &HashSet<String>) -> Result<(), DesktopError> {
        for (id, synced) in self.state.contacts.clone() {
            if self.handled.contains(&synced.file) {
                continue;
            }
            if remote_ids.contains(&id) {
                self.changed_here(id, synced);
            } else {
                self.left(&id, synced)?;
            }
        }
        let linked_files: HashSet<&str> = self.state.contacts.values().map(|s| s.file.as_str()).collect();
        let pending: HashSet<String> = self
            .creates
            .iter()
            .chain(&self.updates)
            .map(|p| p.file.clone())
            .collect();
        for (name, local) in &self.folder.files {
            if let Local::Changed(card, _, digest) = local {
                if !linked_files.contains(name.as_str()) && !pending.contains(name) && !self.handled.contains(name) {
                    self.creates.push(Push {
                        id: None,
                        record: record(&card.fields, None, &[]),
                        log: format!("→ new      {name}"),
                        file: name.clone(),
                        digest: digest.clone(),
                        fields: card.fields.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// A contact the org does not give the user: its unchanged file goes; a
    /// file changed here becomes a new contact.
    fn left(&mut self, id: &str, synced: Synced) -> Result<(), DesktopError> {
        self.state.contacts.remove(id);
        match self.folder.files.get(&synced.file) {
            Some(Local::Unchanged) => {
                let path = self.folder.dir.join(&synced.file);
                std::fs::remove_file(&path).map_err(|e| local_err("cannot remove", &path, e))?;
                self.summary.removed_files += 1;
                self.summary.log.push(format!(
                    "← removed  {} (no longer your contact in the org)",
                    synced.file
                ));
            }
            Some(Local::Changed(card, _, digest)) => self.creates.push(Push {
                id: None,
                record: record(&card.fields, None, &[]),
                log: format!("→ new      {} (changed here after it left you in the org)", synced.file),
                file: synced.file,
                digest: digest.clone(),
                fields: card.fields.clone(),
            }),
            Some(Local::Broken) | None => {}
        }
        Ok(())
    }

    /// A contact still the user's: a deleted file deletes it in the org, a changed one
    /// updates it.
    fn changed_here(&mut self, id: String, synced: Synced) {
        match self.folder.files.get(&synced.file) {
            None => self.deletions.push((id, synced.file)),
            Some(Local::Changed(card, _, digest)) => {
                let (set, cleared) = differences(&synced.fields, &card.fields);
                if set.is_empty() && cleared.is_empty() {
                    let synced = Synced {
                        digest: digest.clone(),
                        ..synced
                    };
                    self.state.contacts.insert(id, synced);
                    return;
                }
                self.updates.push(Push {
                    record: record(&set, Some(&id), &cleared),
                    id: Some(id),
                    log: format!("→ changed  {}", synced.file),
                    file: synced.file,
                    digest: digest.clone(),
                    fields: card.fields.clone(),
                });
            }
            Some(Local::Unchanged | Local::Broken) => {}
        }
    }

    /// Saves to the org; what fails stays pending for the next sync.
    async fn push(&mut self, client: &Client) -> Result<(), DesktopError> {
        let batches = [
            (std::mem::take(&mut self.creates), true),
            (std::mem::take(&mut self.updates), false),
        ];
        for (pushes, create) in batches {
            let records: Vec<Value> = pushes.iter().map(|p| p.record.clone()).collect();
            let results = save_batches(client, &records, create).await?;
            for (push, result) in pushes.into_iter().zip(results) {
                match (result.id.or(push.id), result.error) {
                    (Some(id), None) => {
                        if create {
                            self.summary.pushed_new += 1;
                        } else {
                            self.summary.pushed_changed += 1;
                        }
                        self.summary.log.push(push.log);
                        let synced = Synced {
                            file: push.file,
                            digest: push.digest,
                            fields: push.fields,
                        };
                        self.state.contacts.insert(id, synced);
                    }
                    (_, error) => {
                        let (code, message) = error.unwrap_or_default();
                        self.summary
                            .problems
                            .push(format!("{}: the org refused it: {code}: {message}", push.file));
                    }
                }
            }
        }
        Ok(())
    }

    /// Deletes in the org the contacts whose files are gone from the folder.
    async fn delete(&mut self, client: &Client) -> Result<(), DesktopError> {
        for (id, file) in std::mem::take(&mut self.deletions) {
            match client.delete("Contact", &id).await {
                Ok(()) => {
                    self.summary.deleted_contacts += 1;
                    self.summary
                        .log
                        .push(format!("→ deleted  {file} (the file was deleted here)"));
                    self.state.contacts.remove(&id);
                }
                Err(latchkey_sfclient::Error::Request { code, message, .. }) => {
                    self.summary
                        .problems
                        .push(format!("{file}: the org kept the contact: {code}: {message}"));
                }
                Err(other) => return Err(other.into()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn merges_field_by_field_and_the_newer_side_wins_a_conflict() {
        let base = fields(&[("LastName", "Roe"), ("Title", "Buyer"), ("Phone", "1")]);
        let local = fields(&[("LastName", "Roe"), ("Title", "Head Buyer"), ("Phone", "1")]);
        let remote = fields(&[("LastName", "Roe"), ("Title", "Chief"), ("Phone", "2")]);
        let (merged, conflicts) = merge(&base, &local, &remote, true);
        assert_eq!(
            merged,
            fields(&[("LastName", "Roe"), ("Title", "Head Buyer"), ("Phone", "2")])
        );
        assert_eq!(conflicts, 1);
        let (merged, _) = merge(&base, &local, &remote, false);
        assert_eq!(merged["Title"], "Chief");
        let cleared = fields(&[("LastName", "Roe"), ("Phone", "1")]);
        let (merged, conflicts) = merge(&base, &cleared, &base, true);
        assert_eq!((merged.get("Title"), conflicts), (None, 0));
    }

    #[test]
    fn file_names_are_readable_and_unique() {
        let taken: HashSet<String> = ["jane-roe.vcf".to_owned()].into();
        let f = fields(&[("FirstName", "Jane"), ("LastName", "Roe")]);
        assert_eq!(file_name(&f, &taken), "jane-roe-2.vcf");
        assert_eq!(file_name(&fields(&[("LastName", "Ødegård")]), &taken), "deg-rd.vcf");
        assert_eq!(file_name(&fields(&[("LastName", "!!")]), &taken), "contact.vcf");
    }

    #[test]
    fn changes_name_set_and_cleared_fields() {
        let (set, cleared) = differences(
            &fields(&[("LastName", "Roe"), ("Title", "Buyer")]),
            &fields(&[("LastName", "Roe"), ("Email", "j@x.io")]),
        );
        assert_eq!(set, fields(&[("Email", "j@x.io")]));
        assert_eq!(cleared, ["Title"]);
    }
}

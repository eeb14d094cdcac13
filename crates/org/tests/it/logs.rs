//! Logs at TRACE while logins succeed, fail, lock, and passwords and tokens change:
//! no secret may appear.

use std::io::Write;
use std::sync::{Arc, Mutex};

use latchkey_core::policy::{LockoutPeriod, LockoutScope, MaxInvalidAttempts};
use latchkey_core::status::Channel;
use secrecy::SecretString;

use crate::support::{token_in, Stack, PASSWORD, UNTRUSTED};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::ErrorKind::Other)?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs, once per test binary, a global TRACE subscriber writing into a buffer.
/// (A thread-scoped subscriber would miss events whose callsites other tests reached
/// first, because tracing caches callsite interest process-wide.)
fn capture() -> Buffer {
    static CAPTURE: std::sync::OnceLock<Buffer> = std::sync::OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            let buffer = Buffer::default();
            let writer = buffer.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber).expect("only this test installs a subscriber");
            buffer
        })
        .clone()
}

#[test]
fn login_and_credential_changes_log_no_secret() {
    let buffer = capture();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let secrets = {
        runtime.block_on(async {
            let stack = Stack::new().await;
            stack.org_with_user("jane@acme.test").await;
            stack
                .set_max(
                    MaxInvalidAttempts::Limit(3),
                    LockoutPeriod::Minutes(15),
                    LockoutScope::AllSources,
                )
                .await;
            stack.deliver().await;
            let mut mails = latchkey_org::mail::folder::list(&stack.mail_dir()).unwrap();
            let first_token = token_in(&mails[0].text).unwrap();
            stack
                .login(
                    "jane@acme.test",
                    &format!("{PASSWORD}{first_token}"),
                    Channel::Soap,
                    UNTRUSTED,
                )
                .await;
            stack.login("jane@acme.test", PASSWORD, Channel::OAuth, UNTRUSTED).await;
            for guess in ["guess-one", "guess-two", "guess-three", "guess-four"] {
                stack.login("jane@acme.test", guess, Channel::Soap, UNTRUSTED).await;
            }
            stack
                .login("nobody@acme.test", "unknown-user-secret", Channel::Ui, UNTRUSTED)
                .await;
            stack.services.console().unlock("jane@acme.test").await.unwrap();
            stack
                .services
                .console()
                .set_password("jane@acme.test", &SecretString::from("amber-lantern-77"))
                .await
                .unwrap();
            stack.services.console().reset_token("jane@acme.test").await.unwrap();
            stack.deliver().await;
            mails = latchkey_org::mail::folder::list(&stack.mail_dir()).unwrap();
            let mut secrets: Vec<String> = mails.iter().filter_map(|m| token_in(&m.text)).collect();
            secrets.extend(
                [
                    "guess-one",
                    "guess-three",
                    "unknown-user-secret",
                    PASSWORD,
                    "amber-lantern-77",
                ]
                .map(String::from),
            );
            let user = stack.services.user("jane@acme.test").await.unwrap();
            secrets.push(user.password_hash.unwrap().as_str().to_owned());
            secrets
        })
    };
    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("login failed") && logs.contains("login succeeded") && logs.contains("login refused"),
        "{logs}"
    );
    assert!(secrets.len() >= 8);
    for (n, s) in secrets.iter().enumerate() {
        assert!(!logs.contains(s.as_str()), "secret #{n} appears in the logs");
    }
}

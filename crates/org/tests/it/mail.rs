use latchkey_core::policy::{LockoutPeriod, LockoutScope, MaxInvalidAttempts};
use latchkey_core::status::{Channel, LoginStatus};
use latchkey_org::login::LoginOutcome;
use latchkey_org::mail::delivery::{Deliverer, SmtpSecurity, SmtpSettings, Transport};
use latchkey_org::mail::folder;
use latchkey_store::outbox;
use mail_parser::MessageParser;
use secrecy::SecretString;

use crate::support::{token_in, SmtpSink, Stack, PASSWORD, UNTRUSTED};

fn smtp(port: u16) -> Transport {
    Transport::Smtp(SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        username: None,
        password: None,
        timeout_secs: 10,
    })
}

/// The acceptance test of the foundation: a password change mails a new token through
/// a real SMTP server; the new token works and the old one no longer does.
#[tokio::test]
async fn password_change_mails_a_new_token_over_smtp_and_the_old_one_dies() {
    let stack = Stack::new().await;
    let sink = SmtpSink::start(&stack.dir.path().join("smtp"));
    let deliverer = Deliverer::new(stack.services.clone(), smtp(sink.port)).unwrap();
    stack.org_with_user("jane@acme.test").await;
    assert_eq!(deliverer.deliver_due().await.unwrap().sent, 1);

    stack
        .services
        .console()
        .set_password("jane@acme.test", &SecretString::from("amber-lantern-77"))
        .await
        .unwrap();
    assert_eq!(deliverer.deliver_due().await.unwrap().sent, 1);

    let messages = sink.messages();
    assert_eq!(messages.len(), 2);
    let tokens: Vec<String> = messages
        .iter()
        .map(|raw| {
            let msg = MessageParser::default().parse(raw).unwrap();
            assert_eq!(
                msg.to().and_then(|a| a.first()).and_then(|a| a.address()),
                Some("jane@acme.test")
            );
            assert_eq!(msg.subject(), Some("Your new Latchkey security token"));
            token_in(&msg.body_text(0).unwrap()).expect("token in the message")
        })
        .collect();
    let (old, new) = (&tokens[0], &tokens[1]);
    assert_ne!(old, new);
    assert_eq!(new.len(), 24);

    let with_old = stack
        .login(
            "jane@acme.test",
            &format!("amber-lantern-77{old}"),
            Channel::Soap,
            UNTRUSTED,
        )
        .await;
    assert_eq!(
        with_old,
        LoginOutcome::Refused(LoginStatus::InvalidPassword),
        "the old token no longer verifies"
    );
    let with_new = stack
        .login(
            "jane@acme.test",
            &format!("amber-lantern-77{new}"),
            Channel::Soap,
            UNTRUSTED,
        )
        .await;
    assert!(
        matches!(
            with_new,
            LoginOutcome::Success {
                password_expired: false,
                ..
            }
        ),
        "{with_new:?}"
    );
    let old_password = stack
        .login("jane@acme.test", &format!("{PASSWORD}{new}"), Channel::Soap, UNTRUSTED)
        .await;
    assert_eq!(old_password, LoginOutcome::Refused(LoginStatus::InvalidPassword));

    let mut conn = stack.store.conn().await.unwrap();
    assert_eq!(outbox::counts(&mut conn).await.unwrap().sent, 2);
}

#[tokio::test]
async fn an_unreachable_relay_is_retried_with_backoff_then_delivered() {
    let stack = Stack::new().await;
    stack.org_with_user("jane@acme.test").await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = closed.local_addr().unwrap().port();
    drop(closed);
    let report = Deliverer::new(stack.services.clone(), smtp(dead_port))
        .unwrap()
        .deliver_due()
        .await
        .unwrap();
    assert_eq!((report.sent, report.retried), (0, 1));

    let sink = SmtpSink::start(&stack.dir.path().join("smtp"));
    let live = Deliverer::new(stack.services.clone(), smtp(sink.port)).unwrap();
    assert_eq!(live.deliver_due().await.unwrap().sent, 0, "not due before the backoff");
    stack.clock.advance(chrono::Duration::seconds(40));
    assert_eq!(live.deliver_due().await.unwrap().sent, 1);
    assert_eq!(sink.messages().len(), 1, "nothing lost, nothing duplicated");
}

#[tokio::test]
async fn the_embedded_default_writes_eml_files_that_read_back() {
    let stack = Stack::new().await;
    stack.org_with_user("jane@acme.test").await;
    stack.deliver().await;
    let mails = folder::list(&stack.mail_dir()).unwrap();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "jane@acme.test");
    assert!(token_in(&mails[0].text).is_some());
    let shown = folder::show(&stack.mail_dir(), "1").unwrap().unwrap();
    assert_eq!(shown, mails[0]);
    assert_eq!(folder::show(&stack.mail_dir(), "99").unwrap(), None);
    assert!(folder::list(&stack.dir.path().join("absent")).unwrap().is_empty());

    let mut conn = stack.store.conn().await.unwrap();
    let leftover = outbox::lease_due(&mut conn, stack.services.now(), chrono::Duration::hours(2), 10)
        .await
        .unwrap();
    assert!(leftover.is_empty());
}

/// Every message the account flows send — new user, password change, token reset,
/// identity verification, reset link, lockout, expiry reminder, test message — has a
/// plain-text and an HTML part, and neither holds a password the user chose or typed.
#[tokio::test]
async fn every_message_has_both_parts_and_no_password_the_user_typed() {
    let stack = Stack::new().await;
    stack.org_with_user("jane@acme.test").await;
    let services = &stack.services;
    let chosen = "Amber-Lantern-77";
    services
        .console()
        .set_password("jane@acme.test", &SecretString::from(chosen))
        .await
        .unwrap();
    services.console().reset_token("jane@acme.test").await.unwrap();
    let user = services.user("jane@acme.test").await.unwrap();
    services
        .issue_challenge(&user, UNTRUSTED.parse().unwrap())
        .await
        .unwrap();
    services
        .send_password_reset("jane@acme.test", "https://org.test")
        .await
        .unwrap();
    let mut typed = vec![PASSWORD.to_owned(), chosen.to_owned()];
    // Ten typos from an address Jane never logged in from lock new places out; then,
    // under Salesforce's scope, ten more lock every source: both mails are sent.
    for n in 0..10 {
        let wrong = format!("{chosen}-typo-{n}");
        stack.login("jane@acme.test", &wrong, Channel::Ui, UNTRUSTED).await;
        typed.push(wrong);
    }
    assert!(services
        .user("jane@acme.test")
        .await
        .unwrap()
        .is_locked_for_unfamiliar(stack.services.now()));
    stack
        .set_max(
            MaxInvalidAttempts::Limit(10),
            LockoutPeriod::Minutes(15),
            LockoutScope::AllSources,
        )
        .await;
    for n in 10..20 {
        let wrong = format!("{chosen}-typo-{n}");
        stack.login("jane@acme.test", &wrong, Channel::Ui, UNTRUSTED).await;
        typed.push(wrong);
    }
    assert!(services
        .user("jane@acme.test")
        .await
        .unwrap()
        .is_locked(stack.services.now()));
    let expires = services
        .user("jane@acme.test")
        .await
        .unwrap()
        .password_expires_at
        .unwrap();
    stack
        .clock
        .advance(expires - chrono::Duration::hours(12) - stack.services.now());
    assert_eq!(services.send_expiry_reminders().await.unwrap(), 1);
    services.queue_test_mail("ops@acme.test").await.unwrap();
    stack.deliver().await;

    let mut subjects = Vec::new();
    for entry in std::fs::read_dir(stack.mail_dir()).unwrap() {
        let raw = std::fs::read(entry.unwrap().path()).unwrap();
        let msg = MessageParser::default().parse(raw.as_slice()).unwrap();
        let subject = msg.subject().unwrap_or_default().to_owned();
        let text = msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default();
        let html = msg.body_html(0).map(|t| t.into_owned()).unwrap_or_default();
        assert!(!text.trim().is_empty() && html.contains("<p>"), "both parts: {subject}");
        for secret in &typed {
            assert!(
                !text.contains(secret.as_str()) && !html.contains(secret.as_str()),
                "{subject} holds a password"
            );
        }
        subjects.push(subject);
    }
    subjects.sort();
    for expected in [
        "Reset your Latchkey password",
        "Verify your identity in Latchkey",
        "Your Latchkey account is locked",
        "Logins to your Latchkey account from new places are paused",
        "Your Latchkey password expires in 1 day",
        "Your new Latchkey security token",
        "Latchkey mail test",
    ] {
        assert!(subjects.iter().any(|s| s == expected), "{expected} in {subjects:?}");
    }
}

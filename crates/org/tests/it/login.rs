use chrono::Duration;
use latchkey_core::password::HashParams;
use latchkey_core::policy::{LockoutPeriod, LockoutScope, MaxInvalidAttempts};
use latchkey_core::status::{Channel, LoginStatus};
use latchkey_org::login::LoginOutcome;
use latchkey_store::outbox;

use crate::support::{token_in, Stack, PASSWORD, UNTRUSTED};

async fn token(stack: &Stack) -> String {
    stack.deliver().await;
    let mails = latchkey_org::mail::folder::list(&stack.mail_dir()).unwrap();
    mails
        .iter()
        .rev()
        .find_map(|m| token_in(&m.text))
        .expect("a token mail")
}

fn refused(s: LoginStatus) -> LoginOutcome {
    LoginOutcome::Refused(s)
}

#[tokio::test]
async fn trusted_networks_and_tokens() {
    let stack = Stack::new().await;
    stack.org_with_user("jane@acme.test").await;
    let token = token(&stack).await;
    let ok = |o: &LoginOutcome| matches!(o, LoginOutcome::Success { .. });

    assert!(ok(&stack
        .login(
            "jane@acme.test",
            &format!("{PASSWORD}{token}"),
            Channel::Soap,
            UNTRUSTED
        )
        .await));
    assert!(
        ok(&stack
            .login(
                "JANE@acme.test",
                &format!("{PASSWORD}{token}"),
                Channel::OAuth,
                UNTRUSTED
            )
            .await),
        "usernames are case-insensitive"
    );
    assert_eq!(
        stack.login("jane@acme.test", PASSWORD, Channel::Soap, UNTRUSTED).await,
        refused(LoginStatus::TokenRequired)
    );
    assert_eq!(
        stack.login("jane@acme.test", PASSWORD, Channel::Ui, UNTRUSTED).await,
        refused(LoginStatus::ChallengeRequired)
    );

    let org = stack.services.resolve_org(None).await.unwrap();
    stack
        .services
        .console()
        .add_trusted_range(&org.id, &"203.0.113.0/24".parse().unwrap())
        .await
        .unwrap();
    assert!(ok(&stack
        .login("jane@acme.test", PASSWORD, Channel::Soap, UNTRUSTED)
        .await));
    assert!(ok(&stack
        .login(
            "jane@acme.test",
            &format!("{PASSWORD}{token}"),
            Channel::Soap,
            UNTRUSTED
        )
        .await));
    assert!(ok(&stack
        .login("jane@acme.test", PASSWORD, Channel::Ui, UNTRUSTED)
        .await));

    stack
        .services
        .console()
        .set_login_ranges(&org.id, "Standard User", &["10.0.0.0/8".parse().unwrap()])
        .await
        .unwrap();
    assert_eq!(
        stack.login("jane@acme.test", PASSWORD, Channel::Soap, UNTRUSTED).await,
        refused(LoginStatus::RestrictedIp)
    );
    assert!(
        ok(&stack.login("jane@acme.test", PASSWORD, Channel::Soap, "10.9.8.7").await),
        "inside the profile's ranges no token"
    );
}

#[tokio::test]
async fn wrong_passwords_lock_and_unlock_restores() {
    let stack = Stack::new().await;
    stack.org_with_user("jane@acme.test").await;
    stack
        .set_max(
            MaxInvalidAttempts::Limit(3),
            LockoutPeriod::Minutes(15),
            LockoutScope::AllSources,
        )
        .await;
    let token = token(&stack).await;
    let right = format!("{PASSWORD}{token}");
    for n in 0..3 {
        let o = stack
            .login("jane@acme.test", &format!("guess{n}{token}"), Channel::Soap, UNTRUSTED)
            .await;
        assert_eq!(o, refused(LoginStatus::InvalidPassword));
    }
    assert_eq!(
        stack.login("jane@acme.test", &right, Channel::Soap, UNTRUSTED).await,
        refused(LoginStatus::PasswordLockout)
    );
    let user = stack.services.user("jane@acme.test").await.unwrap();
    assert!(user.is_locked(stack.services.now()));

    stack.deliver().await;
    let mails = latchkey_org::mail::folder::list(&stack.mail_dir()).unwrap();
    assert!(
        mails.iter().any(|m| m.subject == "Your Latchkey account is locked"),
        "lock notice mailed"
    );

    assert!(stack.services.console().unlock("jane@acme.test").await.unwrap());
    assert!(matches!(
        stack.login("jane@acme.test", &right, Channel::Soap, UNTRUSTED).await,
        LoginOutcome::Success { .. }
    ));
}

#[tokio::test]
async fn a_lock_expires_after_the_period() {
    let stack = Stack::new().await;
    stack.org_with_user("jane@acme.test").await;
    stack
        .set_max(
            MaxInvalidAttempts::Limit(3),
            LockoutPeriod::Minutes(15),
            LockoutScope::AllSources,
        )
        .await;
    let token = token(&stack).await;
    for n in 0..3 {
        stack
            .login("jane@acme.test", &format!("guess{n}"), Channel::Soap, UNTRUSTED)
            .await;
    }
    let right = format!("{PASSWORD}{token}");
    stack.clock.advance(Duration::minutes(14));
    assert_eq!(
        stack.login("jane@acme.test", &right, Channel::Soap, UNTRUSTED).await,
        refused(LoginStatus::PasswordLockout)
    );
    stack.clock.advance(Duration::minutes(1));
    assert!(matches!(
        stack.login("jane@acme.test", &right, Channel::Soap, UNTRUSTED).await,
        LoginOutcome::Success { .. }
    ));
}

#[tokio::test]
async fn a_stale_integration_retrying_one_secret_counts_once() {
    let stack = Stack::new().await;
    stack.org_with_user("jane@acme.test").await;
    stack
        .set_max(
            MaxInvalidAttempts::Limit(3),
            LockoutPeriod::Forever,
            LockoutScope::AllSources,
        )
        .await;
    for _ in 0..100 {
        stack
            .login("jane@acme.test", "old-password-and-old-token", Channel::Soap, UNTRUSTED)
            .await;
    }
    let user = stack.services.user("jane@acme.test").await.unwrap();
    assert_eq!((user.failed_attempts, user.locked_until), (1, None));
}

#[tokio::test]
async fn no_limit_never_locks() {
    let stack = Stack::new().await;
    stack.org_with_user("jane@acme.test").await;
    stack
        .set_max(
            MaxInvalidAttempts::NoLimit,
            LockoutPeriod::Minutes(15),
            LockoutScope::AllSources,
        )
        .await;
    for n in 0..20 {
        stack
            .login("jane@acme.test", &format!("guess{n}"), Channel::Soap, UNTRUSTED)
            .await;
    }
    let user = stack.services.user("jane@acme.test").await.unwrap();
    assert_eq!((user.failed_attempts, user.locked_until), (20, None));
}

#[tokio::test]
async fn every_attempt_is_in_login_history() {
    let stack = Stack::new().await;
    stack.org_with_user("jane@acme.test").await;
    let token = token(&stack).await;
    stack.login("nobody@acme.test", "x", Channel::OAuth, UNTRUSTED).await;
    stack.clock.advance(Duration::seconds(1));
    stack.login("jane@acme.test", "bad", Channel::Soap, UNTRUSTED).await;
    stack.clock.advance(Duration::seconds(1));
    stack
        .login(
            "jane@acme.test",
            &format!("{PASSWORD}{token}"),
            Channel::Soap,
            "::ffff:203.0.113.9",
        )
        .await;
    let rows = stack.recent_logins().await;
    let seen: Vec<(&str, &str, &str)> = rows
        .iter()
        .rev()
        .map(|r| (r.username.as_str(), r.status.as_str(), r.login_type.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("nobody@acme.test", "Invalid login", "Remote Access 2.0"),
            ("jane@acme.test", "Invalid Password", "Other Apex API"),
            ("jane@acme.test", "Success", "Other Apex API"),
        ]
    );
    assert!(rows[2].user_id.is_none() && rows[0].user_id.is_some());
    assert_eq!(
        (rows[0].application.as_str(), rows[0].api_version.as_str()),
        ("test", "59.0")
    );
}

#[tokio::test]
async fn frozen_users_are_refused_until_unfrozen() {
    let stack = Stack::new().await;
    stack.org_with_user("jane@acme.test").await;
    let token = token(&stack).await;
    let right = format!("{PASSWORD}{token}");
    assert!(stack
        .services
        .console()
        .set_frozen("jane@acme.test", true)
        .await
        .unwrap());
    assert_eq!(
        stack.login("jane@acme.test", &right, Channel::Soap, UNTRUSTED).await,
        refused(LoginStatus::UserFrozen)
    );
    assert!(
        stack.services.console().reset_password("jane@acme.test").await.is_err(),
        "frozen users' passwords are not reset"
    );
    assert!(stack
        .services
        .console()
        .set_frozen("jane@acme.test", false)
        .await
        .unwrap());
    assert!(matches!(
        stack.login("jane@acme.test", &right, Channel::Soap, UNTRUSTED).await,
        LoginOutcome::Success { .. }
    ));
}

#[tokio::test]
async fn changed_hash_parameters_rehash_on_login() {
    let stack = Stack::new().await;
    stack.org_with_user("jane@acme.test").await;
    let before = stack
        .services
        .user("jane@acme.test")
        .await
        .unwrap()
        .password_hash
        .unwrap();
    assert!(before.as_str().contains("m=64,t=1,p=1"));
    let stronger = stack.rehashing(HashParams {
        memory_kib: 256,
        iterations: 1,
        parallelism: 1,
    });
    let org = stack.services.resolve_org(None).await.unwrap();
    stack
        .services
        .console()
        .add_trusted_range(&org.id, &UNTRUSTED.parse().unwrap())
        .await
        .unwrap();
    let secret = secrecy::SecretString::from(PASSWORD);
    let outcome = stronger
        .login(&latchkey_org::login::LoginRequest {
            username: "jane@acme.test",
            secret: &secret,
            ip: UNTRUSTED.parse().unwrap(),
            intent: latchkey_org::login::Intent::Soap {
                api_type: "SOAP Partner",
                api_version: "59.0",
                client: "t",
            },
        })
        .await
        .unwrap()
        .outcome;
    assert!(matches!(outcome, LoginOutcome::Success { .. }));
    let after = stack
        .services
        .user("jane@acme.test")
        .await
        .unwrap()
        .password_hash
        .unwrap();
    assert!(after.as_str().contains("m=256,t=1,p=1"), "rehashed");
    assert!(
        matches!(
            stack.login("jane@acme.test", PASSWORD, Channel::Soap, UNTRUSTED).await,
            LoginOutcome::Success { .. }
        ),
        "still the same password"
    );
    let mut conn = stack.store.conn().await.unwrap();
    assert_eq!(
        outbox::counts(&mut conn).await.unwrap().pending,
        1,
        "only the new-user token mail"
    );
}

/// Two servers on one database, each with its own in-memory decision caches: what
/// one changes, the other sees within the change-epoch poll — a lock lifted, an app
/// secret rotated, a trusted range added.
#[tokio::test]
async fn another_servers_changes_reach_the_decision_caches_within_the_poll() {
    use latchkey_org::login::decision_cache::POLL;
    use latchkey_org::oauth::apps::ClientRejection;
    use secrecy::ExposeSecret;

    let stack = Stack::new().await;
    stack.org_with_user("jane@acme.test").await;
    stack
        .set_max(
            MaxInvalidAttempts::Limit(3),
            LockoutPeriod::Forever,
            LockoutScope::AllSources,
        )
        .await;
    let token = token(&stack).await;
    let right = format!("{PASSWORD}{token}");
    let other = stack.services.another_server();
    let after_poll = || tokio::time::sleep(POLL + std::time::Duration::from_millis(30));

    for n in 0..3 {
        stack
            .login("jane@acme.test", &format!("guess{n}"), Channel::Soap, UNTRUSTED)
            .await;
    }
    for _ in 0..3 {
        assert_eq!(
            stack.login("jane@acme.test", &right, Channel::Soap, UNTRUSTED).await,
            refused(LoginStatus::PasswordLockout),
            "refused, from memory after the first time"
        );
    }
    assert!(other.console().unlock("jane@acme.test").await.unwrap());
    after_poll().await;
    assert!(matches!(
        stack.login("jane@acme.test", &right, Channel::Soap, UNTRUSTED).await,
        LoginOutcome::Success { .. }
    ));

    let org = stack.services.resolve_org(None).await.unwrap();
    let (app, old) = stack
        .services
        .console()
        .create_app(&org.id, "Sync", None, None)
        .await
        .unwrap();
    let check = |secret: String| {
        let services = stack.services.clone();
        let client = app.client_id.clone();
        async move {
            services
                .authenticate_client(&client, Some(&secret))
                .await
                .unwrap()
                .map(|a| a.name)
        }
    };
    assert_eq!(check(old.expose_secret().to_owned()).await, Ok("Sync".to_owned()));
    let (_, new) = other.console().rotate_app_secret(&org.id, "Sync").await.unwrap();
    after_poll().await;
    assert_eq!(
        check(old.expose_secret().to_owned()).await,
        Err(ClientRejection::BadSecret)
    );
    assert_eq!(check(new.expose_secret().to_owned()).await, Ok("Sync".to_owned()));

    assert_eq!(
        stack.login("jane@acme.test", PASSWORD, Channel::Soap, UNTRUSTED).await,
        refused(LoginStatus::TokenRequired),
        "no token from an untrusted address"
    );
    other
        .console()
        .add_trusted_range(&org.id, &format!("{UNTRUSTED}/32").parse().unwrap())
        .await
        .unwrap();
    after_poll().await;
    assert!(matches!(
        stack.login("jane@acme.test", PASSWORD, Channel::Soap, UNTRUSTED).await,
        LoginOutcome::Success { .. }
    ));
}

/// The decision may read a user from memory, but the credentials checked are read
/// afresh: a password changed on another server counts at once, before any poll.
#[tokio::test]
async fn a_password_changed_on_another_server_counts_at_once() {
    use secrecy::SecretString;

    let stack = Stack::new().await;
    stack.org_with_user("jane@acme.test").await;
    let org = stack.services.resolve_org(None).await.unwrap();
    stack
        .services
        .console()
        .add_trusted_range(&org.id, &format!("{UNTRUSTED}/32").parse().unwrap())
        .await
        .unwrap();
    let other = stack.services.another_server();
    let ok = |o: &LoginOutcome| matches!(o, LoginOutcome::Success { .. });
    assert!(ok(&stack
        .login("jane@acme.test", PASSWORD, Channel::Soap, UNTRUSTED)
        .await));
    let new = "amber-lantern-77";
    other
        .console()
        .set_password("jane@acme.test", &SecretString::from(new))
        .await
        .unwrap();
    assert!(ok(&stack.login("jane@acme.test", new, Channel::Soap, UNTRUSTED).await));
    assert_eq!(
        stack.login("jane@acme.test", PASSWORD, Channel::Soap, UNTRUSTED).await,
        refused(LoginStatus::InvalidPassword)
    );
}

/// The login flow itself keeps an app to its org's users, whatever the surface: a user
/// of org Beta with the right password, through org Acme's connected app (password
/// grant or a password-less grant) or confirming a password as a user of Acme, is no
/// user at all — refused as an unknown username is, recorded in Acme's history only,
/// nothing of theirs counted or reset — while Beta's own app lets them in.
#[tokio::test]
async fn another_orgs_user_is_no_user_of_the_apps_org_at_the_login_flow() {
    use latchkey_org::login::{Intent, LoginRequest};
    let stack = Stack::new().await;
    stack.org_with_user("jane@acme.test").await;
    let acme = stack.services.resolve_org(None).await.unwrap();
    const BOB: &str = "bob@beta.test";
    let beta = stack.beta_with_user(BOB).await;
    // Bob logs in from a trusted network of Beta's, so his password alone is right.
    stack
        .services
        .console()
        .add_trusted_range(&beta.id, &"198.51.100.0/24".parse().unwrap())
        .await
        .unwrap();
    let ip = "198.51.100.7".parse().unwrap();
    // One failure of Bob's own, to see that nothing counts on or resets it.
    assert_eq!(
        stack.login(BOB, "wrong-password", Channel::Soap, "198.51.100.7").await,
        refused(LoginStatus::InvalidPassword)
    );
    let bob = stack.services.user(BOB).await.unwrap();
    let counters = |u: &latchkey_store::users::User| (u.failed_attempts, u.unfamiliar_failed_attempts, u.locked_until);
    let before = counters(&bob);
    let (acme_app, _) = stack
        .services
        .console()
        .create_app(&acme.id, "Acme Sync", None, None)
        .await
        .unwrap();
    let (beta_app, _) = stack
        .services
        .console()
        .create_app(&beta.id, "Beta Sync", None, None)
        .await
        .unwrap();
    let secret = secrecy::SecretString::from(PASSWORD);
    stack.clock.advance(Duration::seconds(1));
    let unknown = stack
        .login("nobody@acme.test", PASSWORD, Channel::Soap, "198.51.100.7")
        .await;

    let login = |intent| {
        let services = stack.services.clone();
        let secret = secret.clone();
        async move {
            let req = LoginRequest {
                username: BOB,
                secret: &secret,
                ip,
                intent,
            };
            services.login(&req).await.unwrap().outcome
        }
    };
    stack.clock.advance(Duration::seconds(1));
    let through_acme = login(Intent::OAuthPassword(&acme_app)).await;
    assert_eq!(through_acme, unknown, "refused as an unknown username is");
    stack.clock.advance(Duration::seconds(1));
    let confirming = login(Intent::ConfirmPassword { org: &acme.id }).await;
    assert_eq!(confirming, unknown);
    stack.clock.advance(Duration::seconds(1));
    let grant = stack
        .services
        .login_without_password(&bob.id, &acme_app, ip)
        .await
        .unwrap();
    let LoginOutcome::Refused(unknown_status) = unknown else {
        panic!("an unknown username logged in: {unknown:?}");
    };
    assert_eq!(grant.err(), Some(unknown_status), "a password-less grant too");

    let bob = stack.services.user(BOB).await.unwrap();
    assert_eq!(counters(&bob), before, "nothing of Bob's counted");
    let rows = stack.recent_logins().await;
    let (new, older) = rows.split_at(3);
    assert_eq!(
        older[0].status,
        unknown_status.as_str(),
        "the unknown username's row is next: {rows:?}"
    );
    assert_eq!(older[0].username, "nobody@acme.test");
    for row in new {
        assert_eq!(
            row.org_id.as_deref(),
            Some(acme.id.as_str()),
            "in Acme's history: {row:?}"
        );
        assert_eq!(row.user_id, None, "not as Bob: {row:?}");
        assert_eq!(row.status, unknown_status.as_str());
        assert_eq!(row.username, BOB);
    }

    // Through Beta's own app, the same password lets Bob in, and clears his failure.
    assert!(matches!(
        login(Intent::OAuthPassword(&beta_app)).await,
        LoginOutcome::Success { .. }
    ));
    assert!(stack
        .services
        .login_without_password(&bob.id, &beta_app, ip)
        .await
        .unwrap()
        .is_ok());
    assert_eq!(stack.services.user(BOB).await.unwrap().failed_attempts, 0);
}

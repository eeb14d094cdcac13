use latchkey_core::clock::Clock;
use latchkey_core::policy::{PasswordPolicy, PasswordRejection};
use latchkey_core::status::{Channel, LoginStatus};
use latchkey_org::accounts::CreateUser;
use latchkey_org::login::LoginOutcome;
use latchkey_org::mail::folder;
use latchkey_org::AccountError;
use secrecy::SecretString;

use crate::support::{token_in, Stack, PASSWORD, UNTRUSTED};

fn user(username: &str, password: Option<&str>) -> CreateUser {
    CreateUser {
        org: None,
        username: username.into(),
        email: "x@acme.test".into(),
        first_name: None,
        last_name: None,
        profile: None,
        password: password.map(SecretString::from),
        settings: Default::default(),
    }
}

#[tokio::test]
async fn new_passwords_follow_the_policy_and_history() {
    let stack = Stack::new().await;
    stack.org_with_user("jane@acme.test").await;
    let services = &stack.services;
    let set = |p: &'static str| async move {
        services
            .console()
            .set_password("jane@acme.test", &SecretString::from(p))
            .await
    };
    assert!(matches!(
        set("short1").await,
        Err(AccountError::Password(PasswordRejection::TooShort(8)))
    ));
    assert!(matches!(
        set("onlyletters").await,
        Err(AccountError::Password(PasswordRejection::Complexity(_)))
    ));
    assert!(matches!(
        set("password1").await,
        Err(AccountError::Password(PasswordRejection::Common))
    ));
    assert!(matches!(
        set(PASSWORD).await,
        Err(AccountError::Password(PasswordRejection::Reused))
    ));
    set("amber-lantern-77").await.unwrap();
    set("cobalt-window-31").await.unwrap();
    set("dusty-harbor-58").await.unwrap();
    set(PASSWORD)
        .await
        .expect("three newer passwords later, the first may come back");
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_half_written() {
    let stack = Stack::new().await;
    assert!(
        matches!(
            stack.services.console().create_user(user("a@b.test", None)).await,
            Err(AccountError::NotFound(_))
        ),
        "no org yet"
    );
    stack.org_with_user("jane@acme.test").await;
    for bad in ["", "no-at-sign", "a@b", "@b.test", "sp ace@b.test"] {
        assert!(
            matches!(
                stack.services.console().create_user(user(bad, None)).await,
                Err(AccountError::Invalid(_))
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        stack.services.console().create_user(user("JANE@acme.test", None)).await,
        Err(AccountError::Duplicate("username"))
    ));
    assert!(matches!(
        stack
            .services
            .console()
            .create_user(user("weak@acme.test", Some("abc")))
            .await,
        Err(AccountError::Password(_))
    ));
    assert!(
        matches!(
            stack.services.user("weak@acme.test").await,
            Err(AccountError::NotFound(_))
        ),
        "not created"
    );
    let mut with_profile = user("p@acme.test", None);
    with_profile.profile = Some("Nonexistent".into());
    assert!(matches!(
        stack.services.console().create_user(with_profile).await,
        Err(AccountError::NotFound(_))
    ));
    assert!(
        matches!(stack.services.user("p@acme.test").await, Err(AccountError::NotFound(_))),
        "rolled back"
    );
    let org = stack.services.resolve_org(None).await.unwrap();
    let bad_policy = PasswordPolicy {
        history: 0,
        ..PasswordPolicy::default()
    };
    assert!(matches!(
        stack.services.console().set_policy(&org.id, &bad_policy).await,
        Err(AccountError::Policy(_))
    ));
    stack.services.console().create_org("Second").await.unwrap();
    assert!(matches!(
        stack.services.resolve_org(None).await,
        Err(AccountError::OrgAmbiguous(2))
    ));
    assert_eq!(stack.services.resolve_org(Some("second")).await.unwrap().name, "Second");
}

#[tokio::test]
async fn admin_reset_mails_a_temporary_password_that_must_be_changed() {
    let stack = Stack::new().await;
    stack.org_with_user("jane@acme.test").await;
    stack.services.console().reset_password("jane@acme.test").await.unwrap();
    stack.deliver().await;
    let mails = folder::list(&stack.mail_dir()).unwrap();
    let temp = mails
        .iter()
        .find_map(|m| {
            m.text
                .lines()
                .find_map(|l| l.strip_prefix("Temporary password: "))
                .map(str::to_owned)
        })
        .expect("temporary password mailed");
    let token = mails.iter().rev().find_map(|m| token_in(&m.text)).unwrap();
    let outcome = stack
        .login("jane@acme.test", &format!("{temp}{token}"), Channel::Soap, UNTRUSTED)
        .await;
    assert!(
        matches!(
            outcome,
            LoginOutcome::Success {
                password_expired: true,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(
        stack
            .login(
                "jane@acme.test",
                &format!("{PASSWORD}{token}"),
                Channel::Soap,
                UNTRUSTED
            )
            .await,
        LoginOutcome::Refused(LoginStatus::InvalidPassword)
    );
}

#[tokio::test]
async fn token_reset_invalidates_the_old_token_at_once() {
    let stack = Stack::new().await;
    stack.org_with_user("jane@acme.test").await;
    stack.deliver().await;
    let old = folder::list(&stack.mail_dir())
        .unwrap()
        .iter()
        .find_map(|m| token_in(&m.text))
        .unwrap();
    stack.services.console().reset_token("jane@acme.test").await.unwrap();
    stack.deliver().await;
    let new = folder::list(&stack.mail_dir())
        .unwrap()
        .iter()
        .rev()
        .find_map(|m| token_in(&m.text))
        .unwrap();
    assert_ne!(old, new);
    assert_eq!(
        stack
            .login("jane@acme.test", &format!("{PASSWORD}{old}"), Channel::Soap, UNTRUSTED)
            .await,
        LoginOutcome::Refused(LoginStatus::InvalidPassword),
        "an unknown suffix makes the whole string the password"
    );
    assert!(matches!(
        stack
            .login("jane@acme.test", &format!("{PASSWORD}{new}"), Channel::Soap, UNTRUSTED)
            .await,
        LoginOutcome::Success { .. }
    ));
}

/// The link in the mail of "Forgot Your Password?".
async fn reset_link(stack: &Stack) -> String {
    stack.deliver().await;
    folder::list(&stack.mail_dir())
        .unwrap()
        .iter()
        .rev()
        .find_map(|m| {
            m.text
                .lines()
                .find_map(|l| l.trim().strip_prefix("https://org.test/reset/"))
        })
        .map(str::to_owned)
        .expect("a reset link")
}

#[tokio::test]
async fn reset_links_expire_work_once_and_die_with_any_password_change() {
    let stack = Stack::new().await;
    stack.org_with_user("jane@acme.test").await;
    let services = &stack.services;
    let new = |p: &str| SecretString::from(p.to_owned());

    // Expired after an hour.
    services
        .send_password_reset("jane@acme.test", "https://org.test/")
        .await
        .unwrap();
    let token = reset_link(&stack).await;
    stack.clock.advance(chrono::Duration::minutes(61));
    assert!(services.reset_link_user(&token).await.unwrap().is_none());
    assert!(services
        .reset_password_by_link(&token, &new("Amber-Lantern-77"))
        .await
        .unwrap()
        .is_none());

    // A newer link voids the older one; a policy rejection leaves the link usable.
    services
        .send_password_reset("jane@acme.test", "https://org.test")
        .await
        .unwrap();
    let older = reset_link(&stack).await;
    services
        .send_password_reset("jane@acme.test", "https://org.test")
        .await
        .unwrap();
    let newer = reset_link(&stack).await;
    assert_ne!(older, newer);
    assert!(services.reset_link_user(&older).await.unwrap().is_none());
    assert!(matches!(
        services.reset_password_by_link(&newer, &new("short1")).await,
        Err(AccountError::Password(PasswordRejection::TooShort(8)))
    ));
    let user = services
        .reset_password_by_link(&newer, &new("Amber-Lantern-77"))
        .await
        .unwrap();
    assert_eq!(user.unwrap().username, "jane@acme.test");
    assert!(
        services
            .reset_password_by_link(&newer, &new("Cobalt-Harbor-88"))
            .await
            .unwrap()
            .is_none(),
        "once"
    );

    // Any other password change kills an outstanding link.
    services
        .send_password_reset("jane@acme.test", "https://org.test")
        .await
        .unwrap();
    let pending = reset_link(&stack).await;
    services
        .console()
        .set_password("jane@acme.test", &new("Cobalt-Harbor-88"))
        .await
        .unwrap();
    assert!(services.reset_link_user(&pending).await.unwrap().is_none());

    // Nobody by that name, or a frozen user: nothing sent, and no error to tell.
    services.console().set_frozen("jane@acme.test", true).await.unwrap();
    stack.deliver().await;
    let mails = folder::list(&stack.mail_dir()).unwrap().len();
    services
        .send_password_reset("nobody@acme.test", "https://org.test")
        .await
        .unwrap();
    services
        .send_password_reset("jane@acme.test", "https://org.test")
        .await
        .unwrap();
    stack.deliver().await;
    assert_eq!(
        folder::list(&stack.mail_dir()).unwrap().len(),
        mails,
        "no link for a stranger or a frozen user"
    );
}

#[tokio::test]
async fn expiry_reminders_go_out_a_week_and_a_day_before_once_each() {
    let stack = Stack::new().await;
    stack.org_with_user("jane@acme.test").await;
    let services = &stack.services;
    let subjects = || async {
        stack.deliver().await;
        folder::list(&stack.mail_dir())
            .unwrap()
            .iter()
            .filter(|m| m.subject.contains("expires in"))
            .map(|m| m.subject.clone())
            .collect::<Vec<_>>()
    };
    // The default policy: 90 days from the password set when the user was created.
    let expires = services
        .user("jane@acme.test")
        .await
        .unwrap()
        .password_expires_at
        .unwrap();
    let until = |d: chrono::Duration| expires - d - stack.clock.now();
    stack.clock.advance(until(chrono::Duration::days(8)));
    assert_eq!(services.send_expiry_reminders().await.unwrap(), 0, "not yet");
    stack
        .clock
        .advance(chrono::Duration::days(1) + chrono::Duration::minutes(1));
    assert_eq!(services.send_expiry_reminders().await.unwrap(), 1);
    assert_eq!(services.send_expiry_reminders().await.unwrap(), 0, "once");
    stack.clock.advance(until(chrono::Duration::hours(23)));
    assert_eq!(services.send_expiry_reminders().await.unwrap(), 1, "the last day");
    assert_eq!(services.send_expiry_reminders().await.unwrap(), 0);
    assert_eq!(
        subjects().await,
        [
            "Your Latchkey password expires in 7 days",
            "Your Latchkey password expires in 1 day"
        ]
    );
    let text = folder::list(&stack.mail_dir()).unwrap().last().unwrap().text.clone();
    assert!(
        text.contains("new security token") || text.contains("new token"),
        "{text}"
    );
    assert!(!text.contains(PASSWORD));

    // A new password starts over; a frozen user hears nothing.
    services
        .console()
        .set_password("jane@acme.test", &SecretString::from("Amber-Lantern-77"))
        .await
        .unwrap();
    let expires = services
        .user("jane@acme.test")
        .await
        .unwrap()
        .password_expires_at
        .unwrap();
    stack
        .clock
        .advance(expires - chrono::Duration::days(3) - stack.clock.now());
    services.console().set_frozen("jane@acme.test", true).await.unwrap();
    assert_eq!(services.send_expiry_reminders().await.unwrap(), 0, "frozen");
    services.console().set_frozen("jane@acme.test", false).await.unwrap();
    assert_eq!(services.send_expiry_reminders().await.unwrap(), 1);
}

/// Administrative operations exist only on an `Admin`: a signed-in user gets one only
/// with an administrator's profile and a full session, and it holds only their org —
/// another org's users, apps and policy are not found through it; the console holds
/// every org.
#[tokio::test]
async fn an_admin_is_proven_by_the_session_and_holds_only_its_org() {
    let stack = Stack::new().await;
    let services = &stack.services;
    let console = services.console();
    let acme = console.create_org("Acme").await.unwrap();
    let beta = console.create_org("Beta").await.unwrap();
    let new_user = |org: &latchkey_store::orgs::Org, username: &str, profile: &str| CreateUser {
        org: Some(org.id.as_str().to_owned()),
        profile: Some(profile.into()),
        ..user(username, Some(PASSWORD))
    };
    let ann = console
        .create_user(new_user(&acme, "ann@acme.test", "System Administrator"))
        .await
        .unwrap();
    let sam = console
        .create_user(new_user(&acme, "sam@acme.test", "Standard User"))
        .await
        .unwrap();
    let bob = console
        .create_user(new_user(&beta, "bob@beta.test", "Standard User"))
        .await
        .unwrap();
    let signed_in = |user: latchkey_store::users::User, restricted: bool| async move {
        let (_, org) = services.user_and_org(&user.id).await.unwrap();
        let issued = services.issue_session(&user, &org, None, restricted).await.unwrap();
        services
            .signed_in(secrecy::ExposeSecret::expose_secret(&issued.id))
            .await
            .unwrap()
            .expect("a live session")
    };
    assert!(
        services.admin(&signed_in(sam.clone(), false).await).is_none(),
        "a standard user"
    );
    assert!(
        services.admin(&signed_in(ann.clone(), true).await).is_none(),
        "a session that may only change an expired password"
    );
    let admin = services.admin(&signed_in(ann, false).await).expect("an administrator");
    assert_eq!(admin.org(), Some(&acme.id));

    for n in 0..3 {
        let wrong = format!("wrong-{n}");
        stack.login("bob@beta.test", &wrong, Channel::Soap, UNTRUSTED).await;
        stack.login("sam@acme.test", &wrong, Channel::Soap, UNTRUSTED).await;
    }
    fn not_found<T>(r: Result<T, AccountError>) -> bool {
        matches!(r, Err(AccountError::NotFound(_)))
    }
    assert!(not_found(admin.unlock("bob@beta.test").await), "another org's user");
    assert!(not_found(admin.reset_password("bob@beta.test").await));
    assert!(not_found(admin.set_frozen("bob@beta.test", true).await));
    assert!(not_found(admin.revoke_sessions("bob@beta.test").await));
    assert!(
        not_found(admin.set_policy(&beta.id, &beta.policy).await),
        "another org's policy"
    );
    assert!(not_found(admin.create_app(&beta.id, "Spy", None, None).await));
    assert!(not_found(admin.users(&beta.id).await));
    let into_beta = CreateUser {
        org: Some(beta.id.as_str().to_owned()),
        ..user("eve@beta.test", None)
    };
    assert!(not_found(admin.create_user(into_beta).await));
    assert!(admin.create_org("Gamma").await.is_err(), "orgs are the console's");
    let bob_now = services.user("bob@beta.test").await.unwrap();
    assert_eq!(
        (
            bob_now.frozen,
            bob_now.password_hash,
            bob_now.failed_attempts + bob_now.unfamiliar_failed_attempts
        ),
        (false, bob.password_hash.clone(), 3),
        "nothing of Bob's changed"
    );

    // In its own org the administrator does what the console does.
    assert!(admin.unlock("sam@acme.test").await.is_ok());
    assert_eq!(admin.users(&acme.id).await.unwrap().len(), 2, "Ann and Sam, not Bob");
    assert!(
        console.unlock("bob@beta.test").await.is_ok(),
        "the console holds every org"
    );
}

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
    }
}

#[tokio::test]
async fn new_passwords_follow_the_policy_and_history() {
    let stack = Stack::new().await;
    stack.org_with_user("jane@acme.test").await;
    let services = &stack.services;
    let set = |p: &'static str| async move { services.set_password("jane@acme.test", &SecretString::from(p)).await };
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
            stack.services.create_user(user("a@b.test", None)).await,
            Err(AccountError::NotFound(_))
        ),
        "no org yet"
    );
    stack.org_with_user("jane@acme.test").await;
    for bad in ["", "no-at-sign", "a@b", "@b.test", "sp ace@b.test"] {
        assert!(
            matches!(
                stack.services.create_user(user(bad, None)).await,
                Err(AccountError::Invalid(_))
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        stack.services.create_user(user("JANE@acme.test", None)).await,
        Err(AccountError::Duplicate("username"))
    ));
    assert!(matches!(
        stack.services.create_user(user("weak@acme.test", Some("abc"))).await,
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
        stack.services.create_user(with_profile).await,
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
        stack.services.set_policy(&org.id, &bad_policy).await,
        Err(AccountError::Policy(_))
    ));
    stack.services.create_org("Second").await.unwrap();
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
    stack.services.reset_password("jane@acme.test").await.unwrap();
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
    stack.services.reset_token("jane@acme.test").await.unwrap();
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
        .set_password("jane@acme.test", &new("Cobalt-Harbor-88"))
        .await
        .unwrap();
    assert!(services.reset_link_user(&pending).await.unwrap().is_none());

    // Nobody by that name, or a frozen user: nothing sent, and no error to tell.
    services.set_frozen("jane@acme.test", true).await.unwrap();
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
    services.set_frozen("jane@acme.test", true).await.unwrap();
    assert_eq!(services.send_expiry_reminders().await.unwrap(), 0, "frozen");
    services.set_frozen("jane@acme.test", false).await.unwrap();
    assert_eq!(services.send_expiry_reminders().await.unwrap(), 1);
}

//! Identity verification is no way to guess: a wrong code is a failed login of the
//! user (in login history, toward the lock), and the codes mailed to a user are few.

use latchkey_core::status::{Channel, LoginStatus};
use latchkey_org::login::verification::{Challenged, Verification, MAX_CHALLENGES_PER_HOUR, MAX_CODE_ATTEMPTS};
use latchkey_org::login::LoginOutcome;

use crate::support::{Stack, PASSWORD, UNTRUSTED};

const USER: &str = "jane@acme.test";

/// The code in the newest verification mail.
fn newest_code(stack: &Stack) -> String {
    let mails = latchkey_org::mail::folder::list(&stack.mail_dir()).unwrap();
    mails
        .into_iter()
        .rfind(|m| m.subject.starts_with("Verify your identity"))
        .and_then(|m| {
            m.text
                .lines()
                .find_map(|l| l.trim().strip_prefix("Verification code: "))
                .map(str::to_owned)
        })
        .expect("a verification mail")
}

#[tokio::test]
async fn wrong_codes_count_as_failed_logins_and_codes_are_mailed_a_few_an_hour() {
    let stack = Stack::new().await;
    stack.org_with_user(USER).await;
    let services = &stack.services;
    let ip = UNTRUSTED.parse().unwrap();
    assert_eq!(
        stack.login(USER, PASSWORD, Channel::Ui, UNTRUSTED).await,
        LoginOutcome::Refused(LoginStatus::ChallengeRequired)
    );
    let user = services.user(USER).await.unwrap();

    // A guesser asks for code after code: a few are mailed, then the user must wait.
    let mut ids = Vec::new();
    for _ in 0..MAX_CHALLENGES_PER_HOUR {
        match services.issue_challenge(&user, ip).await.unwrap() {
            Challenged::Sent(id) => ids.push(id),
            other => panic!("{other:?}"),
        }
    }
    for _ in 0..20 {
        assert!(matches!(
            services.issue_challenge(&user, ip).await.unwrap(),
            Challenged::TooMany { minutes: 1..=60 }
        ));
    }
    stack.deliver().await;
    let mailed = latchkey_org::mail::folder::list(&stack.mail_dir())
        .unwrap()
        .into_iter()
        .filter(|m| m.subject.starts_with("Verify your identity"))
        .count();
    assert_eq!(
        mailed as i64, MAX_CHALLENGES_PER_HOUR,
        "no more mails than codes allowed"
    );
    let right = newest_code(&stack);

    // Every wrong code of every challenge is a failed login; at the policy's maximum
    // the user is locked for unfamiliar sources and no code is judged after that.
    let mut judged: i64 = 0;
    let mut guess = 0u32;
    for id in &ids {
        loop {
            let code = format!("{guess:06}");
            guess += 1;
            if code == right {
                continue;
            }
            match services.verify_challenge(id, &code, ip).await.unwrap() {
                Verification::Wrong(left) => {
                    judged += 1;
                    assert!(left < MAX_CODE_ATTEMPTS);
                }
                Verification::Void => {
                    judged += 1;
                    break;
                }
                Verification::Verified { .. } => panic!("a wrong code verified"),
            }
        }
    }
    let now = services.now();
    let jane = services.user(USER).await.unwrap();
    assert!(jane.is_locked_for_unfamiliar(now), "{jane:?}");
    assert_eq!(jane.unfamiliar_failed_attempts, 10);
    assert!(
        judged <= MAX_CHALLENGES_PER_HOUR * MAX_CODE_ATTEMPTS,
        "{judged} codes judged in an hour"
    );
    let filter = latchkey_store::login_history::Filter {
        limit: 1000,
        ..Default::default()
    };
    let history = services.console().login_history(&filter).await.unwrap();
    let wrong_codes = history
        .iter()
        .filter(|r| r.status == LoginStatus::InvalidVerificationCode.as_str())
        .count();
    assert_eq!(wrong_codes, judged as usize, "every wrong code is in login history");
    // The right code does not help either, on any challenge.
    for id in &ids {
        assert!(matches!(
            services.verify_challenge(id, &right, ip).await.unwrap(),
            Verification::Void
        ));
    }

    // An hour on, codes are mailed again; the lock is over, and the
    // right code logs the user in and makes the address familiar.
    stack.clock.advance(chrono::Duration::minutes(61));
    let Challenged::Sent(id) = services.issue_challenge(&user, ip).await.unwrap() else {
        panic!("a code after the hour");
    };
    stack.deliver().await;
    let code = newest_code(&stack);
    assert!(matches!(
        services.verify_challenge(&id, &code, ip).await.unwrap(),
        Verification::Verified { .. }
    ));
    let jane = services.user(USER).await.unwrap();
    assert_eq!(
        (jane.unfamiliar_failed_attempts, jane.unfamiliar_locked_until),
        (0, None)
    );
}

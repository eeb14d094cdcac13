use chrono::Duration;
use proptest::prelude::*;

use super::*;
use crate::policy::LockCounter;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_767_225_600_000).unwrap_or_default()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or(crate::network::UNKNOWN_IP)
}

fn ranges(list: &[&str]) -> Vec<IpRange> {
    list.iter().filter_map(|r| r.parse().ok()).collect()
}

fn active() -> UserState {
    UserState {
        active: true,
        frozen: false,
        locked_until: None,
        unfamiliar_locked_until: None,
        password_expires_at: Some(t0() + Duration::days(30)),
    }
}

const RIGHT: SecretCheck = SecretCheck {
    password_matches: true,
    token_appended: false,
};
const RIGHT_WITH_TOKEN: SecretCheck = SecretCheck {
    password_matches: true,
    token_appended: true,
};
const WRONG: SecretCheck = SecretCheck {
    password_matches: false,
    token_appended: false,
};
const WRONG_WITH_TOKEN: SecretCheck = SecretCheck {
    password_matches: false,
    token_appended: true,
};

/// What the whole decision yields for one row.
#[derive(Debug, PartialEq, Eq)]
enum Want {
    Refused(LoginStatus, bool),
    Success { expired: bool },
    Failure(LoginStatus),
}

struct Row {
    name: &'static str,
    user: Option<UserState>,
    profile: &'static [&'static str],
    trusted: &'static [&'static str],
    from: &'static str,
    channel: Channel,
    device_verified: bool,
    check: SecretCheck,
    want: Want,
}

fn row(name: &'static str, want: Want) -> Row {
    Row {
        name,
        user: Some(active()),
        profile: &[],
        trusted: &[],
        from: "203.0.113.7",
        channel: Channel::Soap,
        device_verified: false,
        check: RIGHT_WITH_TOKEN,
        want,
    }
}

fn run(r: &Row) -> Want {
    let profile = ranges(r.profile);
    let trusted = ranges(r.trusted);
    let attempt = Attempt {
        user: r.user.as_ref(),
        profile_ranges: &profile,
        trusted_ranges: &trusted,
        ip: ip(r.from),
        channel: r.channel,
        device_verified: r.device_verified,
        familiar: false,
        now: t0(),
    };
    match decide(&attempt) {
        Step::Refused(refusal) => Want::Refused(refusal.status, refusal.spend_dummy_hash),
        Step::CheckSecret(stage) => match stage.conclude(r.check) {
            Conclusion::Success { password_expired } => Want::Success {
                expired: password_expired,
            },
            Conclusion::Failure(status) => Want::Failure(status),
        },
    }
}

#[test]
fn every_row_of_the_login_order() {
    use LoginStatus::*;
    let rows = [
        Row {
            user: None,
            ..row("unknown user spends a dummy hash", Want::Refused(InvalidUsername, true))
        },
        Row {
            user: Some(UserState {
                active: false,
                ..active()
            }),
            ..row("inactive user, no hash", Want::Refused(UserInactive, false))
        },
        Row {
            user: Some(UserState {
                frozen: true,
                ..active()
            }),
            ..row("frozen user, no hash", Want::Refused(UserFrozen, false))
        },
        Row {
            user: Some(UserState {
                locked_until: Some(LockUntil::Time(t0() + Duration::minutes(1))),
                ..active()
            }),
            ..row(
                "locked user, no hash, even with the right secret",
                Want::Refused(PasswordLockout, false),
            )
        },
        Row {
            user: Some(UserState {
                locked_until: Some(LockUntil::AdminUnlock),
                ..active()
            }),
            ..row("locked until admin unlock", Want::Refused(PasswordLockout, false))
        },
        Row {
            user: Some(UserState {
                locked_until: Some(LockUntil::Time(t0())),
                ..active()
            }),
            ..row("an expired lock no longer holds", Want::Success { expired: false })
        },
        Row {
            profile: &["10.0.0.0/8"],
            ..row("outside the profile's login ranges", Want::Refused(RestrictedIp, false))
        },
        Row {
            profile: &["10.0.0.0/8"],
            from: "10.1.2.3",
            check: RIGHT,
            ..row(
                "inside the profile's ranges no token is needed",
                Want::Success { expired: false },
            )
        },
        Row {
            profile: &["10.0.0.0/8"],
            channel: Channel::Ui,
            check: RIGHT,
            ..row(
                "restricted IP applies to the UI too",
                Want::Refused(RestrictedIp, false),
            )
        },
        Row {
            check: RIGHT_WITH_TOKEN,
            ..row(
                "untrusted API login with password + token",
                Want::Success { expired: false },
            )
        },
        Row {
            check: RIGHT,
            ..row("untrusted API login without the token", Want::Failure(TokenRequired))
        },
        Row {
            channel: Channel::OAuth,
            check: RIGHT,
            ..row("untrusted OAuth login without the token", Want::Failure(TokenRequired))
        },
        Row {
            trusted: &["203.0.113.0/24"],
            check: RIGHT,
            ..row("trusted IP, password alone", Want::Success { expired: false })
        },
        Row {
            trusted: &["203.0.113.0/24"],
            check: RIGHT_WITH_TOKEN,
            ..row(
                "trusted IP, password + token also works",
                Want::Success { expired: false },
            )
        },
        Row {
            check: WRONG,
            ..row("wrong password", Want::Failure(InvalidPassword))
        },
        Row {
            check: WRONG_WITH_TOKEN,
            ..row("right token, wrong password", Want::Failure(InvalidPassword))
        },
        Row {
            trusted: &["203.0.113.0/24"],
            check: WRONG,
            ..row("wrong password from a trusted IP", Want::Failure(InvalidPassword))
        },
        Row {
            channel: Channel::Ui,
            check: RIGHT,
            ..row(
                "untrusted UI login needs identity verification",
                Want::Failure(ChallengeRequired),
            )
        },
        Row {
            channel: Channel::Ui,
            check: RIGHT,
            device_verified: true,
            ..row("verified browser logs in", Want::Success { expired: false })
        },
        Row {
            channel: Channel::Ui,
            check: RIGHT,
            trusted: &["203.0.113.7"],
            ..row("UI from a trusted IP", Want::Success { expired: false })
        },
        Row {
            channel: Channel::Ui,
            check: RIGHT_WITH_TOKEN,
            ..row("the UI never takes a token", Want::Failure(ChallengeRequired))
        },
        Row {
            user: Some(UserState {
                password_expires_at: Some(t0()),
                ..active()
            }),
            ..row("expired password succeeds, restricted", Want::Success { expired: true })
        },
        Row {
            user: Some(UserState {
                password_expires_at: None,
                ..active()
            }),
            ..row("password that never expires", Want::Success { expired: false })
        },
    ];
    for r in &rows {
        assert_eq!(run(r), r.want, "{}", r.name);
    }
}

#[test]
fn only_api_channels_look_for_a_token() {
    let user = active();
    let attempt = |channel| Attempt {
        user: Some(&user),
        profile_ranges: &[],
        trusted_ranges: &[],
        ip: ip("203.0.113.7"),
        channel,
        device_verified: false,
        familiar: false,
        now: t0(),
    };
    for (channel, want) in [(Channel::Ui, false), (Channel::Soap, true), (Channel::OAuth, true)] {
        let Step::CheckSecret(stage) = decide(&attempt(channel)) else {
            panic!("{channel:?} should reach the secret check");
        };
        assert_eq!(stage.accepts_token(), want, "{channel:?}");
        assert!(!stage.trusted());
    }
}

const EVERY: LockCounter = LockCounter::Every;

const RULE5: LockoutRule = LockoutRule {
    max: MaxInvalidAttempts::Limit(5),
    period: LockoutPeriod::Minutes(15),
};

fn fp(n: u8) -> [u8; 32] {
    [n; 32]
}

#[test]
fn repeated_identical_wrong_secret_counts_once() {
    let mut l = Lockout::default();
    for _ in 0..50 {
        l.record_failure(fp(1), EVERY, RULE5, t0());
    }
    assert_eq!(l.every.failures, 1);
    assert_eq!(l.every.locked_until, None);
}

#[test]
fn distinct_wrong_secrets_lock_at_the_maximum() {
    let mut l = Lockout::default();
    for n in 1..5 {
        assert_eq!(
            l.record_failure(fp(n), EVERY, RULE5, t0()),
            FailureEffect::Counted(u32::from(n))
        );
    }
    let until = LockUntil::Time(t0() + Duration::minutes(15));
    assert_eq!(
        l.record_failure(fp(5), EVERY, RULE5, t0()),
        FailureEffect::Locked(5, until)
    );
    assert_eq!(
        l.record_failure(fp(6), EVERY, RULE5, t0()),
        FailureEffect::AlreadyLocked
    );
    assert_eq!(l.every.failures, 5);
}

#[test]
fn lock_expiry_restarts_the_count() {
    let mut l = Lockout::default();
    for n in 1..=5 {
        l.record_failure(fp(n), EVERY, RULE5, t0());
    }
    let later = t0() + Duration::minutes(15);
    assert_eq!(l.record_failure(fp(6), EVERY, RULE5, later), FailureEffect::Counted(1));
}

#[test]
fn forever_lock_needs_an_admin() {
    let rule = LockoutRule {
        max: MaxInvalidAttempts::Limit(3),
        period: LockoutPeriod::Forever,
    };
    let mut l = Lockout::default();
    for n in 1..=3 {
        l.record_failure(fp(n), EVERY, rule, t0());
    }
    assert_eq!(l.every.locked_until, Some(LockUntil::AdminUnlock));
    let years_later = t0() + Duration::days(3650);
    assert_eq!(
        l.record_failure(fp(9), EVERY, rule, years_later),
        FailureEffect::AlreadyLocked
    );
    l.unlock();
    assert_eq!(
        l.record_failure(fp(10), EVERY, rule, years_later),
        FailureEffect::Counted(1)
    );
}

#[test]
fn success_resets_the_counter() {
    let mut l = Lockout::default();
    for n in 1..=4 {
        l.record_failure(fp(n), EVERY, RULE5, t0());
    }
    assert!(l.record_success(EVERY, t0()));
    assert_eq!(l.record_failure(fp(20), EVERY, RULE5, t0()), FailureEffect::Counted(1));
}

#[test]
fn a_forgotten_secret_counts_again() {
    let rule = LockoutRule {
        max: MaxInvalidAttempts::Limit(10),
        period: LockoutPeriod::Minutes(15),
    };
    let mut l = Lockout::default();
    for n in 0..=RECENT_FAILURES_KEPT as u8 {
        l.record_failure(fp(n), EVERY, rule, t0());
    }
    assert_eq!(l.record_failure(fp(1), EVERY, rule, t0()), FailureEffect::Repeated);
    assert_eq!(l.record_failure(fp(0), EVERY, rule, t0()), FailureEffect::Counted(7));
}

#[test]
fn no_limit_never_locks() {
    let rule = LockoutRule {
        max: MaxInvalidAttempts::NoLimit,
        period: LockoutPeriod::Minutes(15),
    };
    let mut l = Lockout::default();
    for n in 0..=200u8 {
        assert!(matches!(
            l.record_failure(fp(n), EVERY, rule, t0()),
            FailureEffect::Counted(_)
        ));
    }
    assert_eq!(l.every.locked_until, None);
}

/// One step of a generated attempt sequence.
#[derive(Debug, Clone)]
enum Event {
    /// A wrong secret, drawn from a small pool so that repeats happen.
    Wrong(u8),
    /// A successful login (only possible while not locked).
    Success,
    /// Time passes.
    Wait(i64),
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        // At most RECENT_FAILURES_KEPT distinct secrets, so none is forgotten; see
        // `a_forgotten_secret_counts_again` for what happens beyond the window.
        6 => (0u8..5).prop_map(Event::Wrong),
        1 => Just(Event::Success),
        1 => (1i64..40).prop_map(Event::Wait),
    ]
}

proptest! {
    /// No sequence counts more failures than there were distinct new wrong secrets
    /// since the last reset, and no sequence locks before the maximum.
    #[test]
    fn never_overcounts_nor_locks_early(events in proptest::collection::vec(event(), 0..80), max in prop_oneof![Just(3u8), Just(5), Just(10)]) {
        let rule = LockoutRule { max: MaxInvalidAttempts::Limit(max), period: LockoutPeriod::Minutes(15) };
        let mut l = Lockout::default();
        let mut now = t0();
        let mut distinct_since_reset: Vec<u8> = Vec::new();
        for e in events {
            match e {
                Event::Wrong(n) => {
                    let was_locked = l.every.locked_until.is_some_and(|u| u.holds_at(now));
                    let lock_expired = l.every.locked_until.is_some_and(|u| !u.holds_at(now));
                    if lock_expired { distinct_since_reset.clear(); }
                    let effect = l.record_failure(fp(n), EVERY, rule, now);
                    if !distinct_since_reset.contains(&n) && !was_locked { distinct_since_reset.push(n); }
                    let counted = l.every.effective_failures(now);
                    prop_assert!(counted as usize <= distinct_since_reset.len(), "{:?} counted {} > {}", effect, counted, distinct_since_reset.len());
                    prop_assert!(counted <= u32::from(max));
                    if let FailureEffect::Locked(count, _) = effect { prop_assert_eq!(count, u32::from(max)); }
                    if let FailureEffect::Counted(count) = effect { prop_assert!(count < u32::from(max)); }
                    if was_locked { prop_assert!(matches!(effect, FailureEffect::AlreadyLocked | FailureEffect::Repeated), "{:?}", effect); }
                }
                Event::Success => {
                    if !l.every.locked_until.is_some_and(|u| u.holds_at(now)) {
                        prop_assert!(l.record_success(EVERY, now));
                        distinct_since_reset.clear();
                    }
                }
                Event::Wait(minutes) => now += Duration::minutes(minutes),
            }
        }
    }
}

#[test]
fn unfamiliar_failures_lock_unfamiliar_sources_only() {
    let mut l = Lockout::default();
    for n in 1..=5 {
        l.record_failure(fp(n), LockCounter::Unfamiliar, RULE5, t0());
    }
    let until = LockUntil::Time(t0() + Duration::minutes(15));
    assert_eq!(l.unfamiliar.locked_until, Some(until));
    assert_eq!(l.every, Count::default(), "the lock of every source is untouched");
    assert!(
        !l.record_success(LockCounter::Unfamiliar, t0()),
        "an unfamiliar source is shut out"
    );
    assert!(l.record_success(EVERY, t0()), "a familiar source logs in");
    assert_eq!(l.unfamiliar.locked_until, Some(until), "and does not lift the lock");
    assert_eq!(
        l.record_failure(fp(1), EVERY, RULE5, t0()),
        FailureEffect::Repeated,
        "one memory of failed secrets for both locks"
    );
    l.unlock();
    assert_eq!(
        l,
        Lockout {
            recent: l.recent.clone(),
            ..Lockout::default()
        }
    );
}

#[test]
fn a_lock_of_unfamiliar_sources_refuses_only_them() {
    let user = UserState {
        unfamiliar_locked_until: Some(LockUntil::Time(t0() + Duration::minutes(15))),
        ..active()
    };
    let at = |familiar| Attempt {
        user: Some(&user),
        profile_ranges: &[],
        trusted_ranges: &[],
        ip: "203.0.113.9".parse().unwrap(),
        channel: Channel::Soap,
        device_verified: false,
        familiar,
        now: t0(),
    };
    assert!(matches!(
        decide(&at(false)),
        Step::Refused(Refusal {
            status: LoginStatus::PasswordLockout,
            spend_dummy_hash: false
        })
    ));
    assert!(matches!(decide(&at(true)), Step::CheckSecret(_)));
    let later = Attempt {
        now: t0() + Duration::minutes(15),
        ..at(false)
    };
    assert!(matches!(decide(&later), Step::CheckSecret(_)), "the lock expires");
}

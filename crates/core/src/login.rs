//! The login decision of `DESIGN.md`, as pure functions. Handlers gather the inputs,
//! call [`decide`], compute the password hash only when asked to
//! ([`Step::CheckSecret`]), call [`SecretStage::conclude`], and persist the outcome.
//!
//! Order: unknown user → frozen / inactive / locked, or locked for unfamiliar sources
//! and unfamiliar (no hash) → restricted IP →
//! secret check (token rules by channel and network trust) → failure accounting
//! ([`Lockout`]) → expired password → success.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use crate::network::{any_contains, IpRange};
use crate::policy::{LockCounter, LockUntil, LockoutPeriod, MaxInvalidAttempts};
use crate::status::{Channel, LoginStatus};

/// What the decision needs to know about the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserState {
    /// Not deactivated.
    pub active: bool,
    /// Frozen by an administrator.
    pub frozen: bool,
    /// Locked out of every source until then (a stale lock may have expired).
    pub locked_until: Option<LockUntil>,
    /// Locked out of unfamiliar sources until then (smart lockout).
    pub unfamiliar_locked_until: Option<LockUntil>,
    /// When the password expires, if it does.
    pub password_expires_at: Option<DateTime<Utc>>,
}

/// Everything about one attempt except the secret.
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    /// The user, or `None` for an unknown username.
    pub user: Option<&'a UserState>,
    /// The user's profile login IP ranges (empty: no restriction).
    pub profile_ranges: &'a [IpRange],
    /// The org's trusted IP ranges.
    pub trusted_ranges: &'a [IpRange],
    /// Where the attempt comes from.
    pub ip: IpAddr,
    /// Through which surface.
    pub channel: Channel,
    /// UI only: this browser was verified before (device cookie).
    pub device_verified: bool,
    /// The source has logged this user in before (its address, or a browser verified
    /// for them), or the grant carries no password: a lock of unfamiliar sources does
    /// not hold against it.
    pub familiar: bool,
    /// The current time.
    pub now: DateTime<Utc>,
}

/// The first step of the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Refused before looking at the secret.
    Refused(Refusal),
    /// The secret must be verified; then call [`SecretStage::conclude`].
    CheckSecret(SecretStage),
}

/// A refusal decided without verifying the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// What login history records.
    pub status: LoginStatus,
    /// Spend one dummy hash so that timing does not reveal whether the user exists.
    pub spend_dummy_hash: bool,
}

/// The decision waiting for the secret check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretStage {
    channel: Channel,
    trusted: bool,
    password_expired: bool,
}

/// What verifying the presented secret found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretCheck {
    /// The password part matches the password hash.
    pub password_matches: bool,
    /// The user's current security token was appended to the password.
    pub token_appended: bool,
}

/// The outcome of an attempt that reached the secret check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conclusion {
    /// Log in; reset the failure counter.
    Success {
        /// The session may only set a new password (UI: forced change).
        password_expired: bool,
    },
    /// A failure that counts toward the lockout unless it repeats a recent failed secret.
    Failure(LoginStatus),
}

/// Step one: everything that can be decided without the secret.
pub fn decide(attempt: &Attempt<'_>) -> Step {
    let Some(user) = attempt.user else {
        return Step::Refused(Refusal {
            status: LoginStatus::InvalidUsername,
            spend_dummy_hash: true,
        });
    };
    let refuse = |status| {
        Step::Refused(Refusal {
            status,
            spend_dummy_hash: false,
        })
    };
    if !user.active {
        return refuse(LoginStatus::UserInactive);
    }
    if user.frozen {
        return refuse(LoginStatus::UserFrozen);
    }
    if user.locked_until.is_some_and(|l| l.holds_at(attempt.now)) {
        return refuse(LoginStatus::PasswordLockout);
    }
    if !attempt.familiar && user.unfamiliar_locked_until.is_some_and(|l| l.holds_at(attempt.now)) {
        return refuse(LoginStatus::PasswordLockout);
    }
    let restricted = !attempt.profile_ranges.is_empty();
    if restricted && !any_contains(attempt.profile_ranges, attempt.ip) {
        return refuse(LoginStatus::RestrictedIp);
    }
    let trusted_ip = restricted || any_contains(attempt.trusted_ranges, attempt.ip);
    let trusted = match attempt.channel {
        Channel::Ui => trusted_ip || attempt.device_verified,
        Channel::Soap | Channel::OAuth => trusted_ip,
    };
    Step::CheckSecret(SecretStage {
        channel: attempt.channel,
        trusted,
        password_expired: user.password_expires_at.is_some_and(|t| t <= attempt.now),
    })
}

impl SecretStage {
    /// Whether the caller should look for a security token appended to the password
    /// (API and desktop channels only; the UI never takes a token).
    pub fn accepts_token(&self) -> bool {
        self.channel.is_api()
    }

    /// Whether the network (or device) is trusted for this attempt.
    pub fn trusted(&self) -> bool {
        self.trusted
    }

    /// Step two: the outcome once the secret has been verified.
    pub fn conclude(&self, check: SecretCheck) -> Conclusion {
        if !check.password_matches {
            return Conclusion::Failure(LoginStatus::InvalidPassword);
        }
        let token_ok = self.channel.is_api() && check.token_appended;
        if !self.trusted && !token_ok {
            return Conclusion::Failure(match self.channel {
                Channel::Ui => LoginStatus::ChallengeRequired,
                Channel::Soap | Channel::OAuth => LoginStatus::TokenRequired,
            });
        }
        Conclusion::Success {
            password_expired: self.password_expired,
        }
    }
}

/// The lockout rule of the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutRule {
    /// Lock at this many counted failures.
    pub max: MaxInvalidAttempts,
    /// For how long.
    pub period: LockoutPeriod,
}

/// One lock and the failures counted toward it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    /// Counted failures since the last success, unlock or expired lock.
    pub failures: u32,
    /// The lock, if any (possibly expired).
    pub locked_until: Option<LockUntil>,
}

impl Count {
    fn holds_at(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|l| l.holds_at(now))
    }

    fn record_failure(&mut self, rule: LockoutRule, now: DateTime<Utc>) -> FailureEffect {
        let expired = match self.locked_until {
            Some(l) if l.holds_at(now) => return FailureEffect::AlreadyLocked,
            Some(_) => true,
            None => false,
        };
        self.failures = if expired { 1 } else { self.failures + 1 };
        match rule.max {
            MaxInvalidAttempts::Limit(max) if self.failures >= u32::from(max) => {
                let until = rule.period.lock_until(now);
                self.locked_until = Some(until);
                FailureEffect::Locked(self.failures, until)
            }
            _ => {
                self.locked_until = None;
                FailureEffect::Counted(self.failures)
            }
        }
    }

    /// The failures that still count at `now`: none once a lock has expired.
    pub fn effective_failures(&self, now: DateTime<Utc>) -> u32 {
        match self.locked_until {
            Some(l) if !l.holds_at(now) => 0,
            _ => self.failures,
        }
    }
}

/// A user's failure-accounting state: the reference model of the store's statements,
/// which a store test checks against this. Two locks share one memory of recent
/// failed secrets: [`LockCounter::Every`] shuts out everything,
/// [`LockCounter::Unfamiliar`] only password attempts from unfamiliar sources.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lockout {
    /// The lock of every source.
    pub every: Count,
    /// The lock of unfamiliar sources.
    pub unfamiliar: Count,
    /// Fingerprints of recent failed secrets, newest last.
    pub recent: Vec<[u8; 32]>,
}

/// How many failed-secret fingerprints are remembered per user.
pub const RECENT_FAILURES_KEPT: usize = 5;

/// What recording a failure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureEffect {
    /// It repeated a recent failed secret: not counted.
    Repeated,
    /// Counted; the user is not locked.
    Counted(u32),
    /// Counted and the user is now locked.
    Locked(u32, LockUntil),
    /// A lock was placed by a parallel attempt meanwhile: not counted.
    AlreadyLocked,
}

impl Lockout {
    /// Records a failed attempt with secret fingerprint `fingerprint` at `now`, toward
    /// the lock `counter`.
    pub fn record_failure(
        &mut self,
        fingerprint: [u8; 32],
        counter: LockCounter,
        rule: LockoutRule,
        now: DateTime<Utc>,
    ) -> FailureEffect {
        if self.recent.contains(&fingerprint) {
            return FailureEffect::Repeated;
        }
        self.recent.push(fingerprint);
        if self.recent.len() > RECENT_FAILURES_KEPT {
            self.recent.remove(0);
        }
        self.count_mut(counter).record_failure(rule, now)
    }

    fn count_mut(&mut self, counter: LockCounter) -> &mut Count {
        match counter {
            LockCounter::Every => &mut self.every,
            LockCounter::Unfamiliar => &mut self.unfamiliar,
        }
    }

    /// A successful login from a source whose failures count toward `counter`: refused
    /// (`false`) while a lock holds against it. The lock of every source restarts; so
    /// does the unfamiliar one unless it holds (a familiar source does not lift it).
    pub fn record_success(&mut self, counter: LockCounter, now: DateTime<Utc>) -> bool {
        let unfamiliar_holds = self.unfamiliar.holds_at(now);
        if self.every.holds_at(now) || (counter == LockCounter::Unfamiliar && unfamiliar_holds) {
            return false;
        }
        self.every = Count::default();
        if !unfamiliar_holds {
            self.unfamiliar = Count::default();
        }
        true
    }

    /// An administrator unlocks the user (or resets the password): both locks go.
    pub fn unlock(&mut self) {
        self.every = Count::default();
        self.unfamiliar = Count::default();
    }
}

#[cfg(test)]
mod tests;

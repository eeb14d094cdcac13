//! The org's password policy (Setup → Security → Password Policies) with Salesforce's
//! choices and defaults (`wire-spec.md` §3), and the rules a new password must meet.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::blocklist;

/// A policy value outside the allowed set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {setting} {value:?}: expected one of {allowed}")]
pub struct PolicyValueError {
    setting: &'static str,
    value: String,
    allowed: &'static str,
}

impl PolicyValueError {
    fn new(setting: &'static str, value: &str, allowed: &'static str) -> Self {
        Self {
            setting,
            value: value.to_owned(),
            allowed,
        }
    }
}

/// Parses a CLI choice: one of `keywords` (stored as 0), or a non-zero number followed
/// by `suffix` (`90d`, `15m`, `5`).
fn parse_choice(s: &str, keywords: &[&str], suffix: &str) -> Option<i64> {
    let lower = s.trim().to_ascii_lowercase();
    if keywords.contains(&lower.as_str()) {
        return Some(0);
    }
    lower.strip_suffix(suffix)?.parse::<i64>().ok().filter(|n| *n != 0)
}

/// "User passwords expire in".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PasswordExpiry {
    /// After this many days: 30, 60, 90, 180 or 365.
    Days(u16),
    /// Never expires.
    Never,
}

impl PasswordExpiry {
    const ALLOWED: &'static str = "30d, 60d, 90d, 180d, 365d, never";

    /// From the stored number of days (0 = never).
    pub fn from_days(days: i64) -> Result<Self, PolicyValueError> {
        match days {
            0 => Ok(Self::Never),
            30 | 60 | 90 | 180 | 365 => Ok(Self::Days(days as u16)),
            _ => Err(PolicyValueError::new(
                "password expiry",
                &days.to_string(),
                Self::ALLOWED,
            )),
        }
    }

    /// The stored number of days (0 = never).
    pub fn days(self) -> i64 {
        match self {
            Self::Days(d) => i64::from(d),
            Self::Never => 0,
        }
    }

    /// When a password set at `set_at` expires.
    pub fn expires_at(self, set_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Days(d) => Some(set_at + Duration::days(i64::from(d))),
            Self::Never => None,
        }
    }
}

impl FromStr for PasswordExpiry {
    type Err = PolicyValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_choice(s, &["never"], "d")
            .and_then(|days| Self::from_days(days).ok())
            .ok_or_else(|| PolicyValueError::new("password expiry", s, Self::ALLOWED))
    }
}

impl fmt::Display for PasswordExpiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Days(d) => write!(f, "{d}d"),
            Self::Never => f.write_str("never"),
        }
    }
}

/// "Maximum invalid login attempts".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MaxInvalidAttempts {
    /// Lock at this many failures: 3, 5 or 10.
    Limit(u8),
    /// Never lock.
    NoLimit,
}

impl MaxInvalidAttempts {
    const ALLOWED: &'static str = "3, 5, 10, none";

    /// From the stored value (0 = no limit).
    pub fn from_stored(n: i64) -> Result<Self, PolicyValueError> {
        match n {
            0 => Ok(Self::NoLimit),
            3 | 5 | 10 => Ok(Self::Limit(n as u8)),
            _ => Err(PolicyValueError::new(
                "maximum invalid login attempts",
                &n.to_string(),
                Self::ALLOWED,
            )),
        }
    }

    /// The stored value (0 = no limit).
    pub fn stored(self) -> i64 {
        match self {
            Self::Limit(n) => i64::from(n),
            Self::NoLimit => 0,
        }
    }
}

impl FromStr for MaxInvalidAttempts {
    type Err = PolicyValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_choice(s, &["none", "no-limit", "nolimit"], "")
            .and_then(|n| Self::from_stored(n).ok())
            .ok_or_else(|| PolicyValueError::new("maximum invalid login attempts", s, Self::ALLOWED))
    }
}

impl fmt::Display for MaxInvalidAttempts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Limit(n) => write!(f, "{n}"),
            Self::NoLimit => f.write_str("none"),
        }
    }
}

/// "Lockout effective period".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LockoutPeriod {
    /// 15, 30 or 60 minutes.
    Minutes(u8),
    /// Until an administrator unlocks the user.
    Forever,
}

impl LockoutPeriod {
    const ALLOWED: &'static str = "15m, 30m, 60m, forever";

    /// From the stored number of minutes (0 = forever).
    pub fn from_minutes(m: i64) -> Result<Self, PolicyValueError> {
        match m {
            0 => Ok(Self::Forever),
            15 | 30 | 60 => Ok(Self::Minutes(m as u8)),
            _ => Err(PolicyValueError::new("lockout period", &m.to_string(), Self::ALLOWED)),
        }
    }

    /// The stored number of minutes (0 = forever).
    pub fn minutes(self) -> i64 {
        match self {
            Self::Minutes(m) => i64::from(m),
            Self::Forever => 0,
        }
    }

    /// Until when a lock placed at `now` holds.
    pub fn lock_until(self, now: DateTime<Utc>) -> LockUntil {
        match self {
            Self::Minutes(m) => LockUntil::Time(now + Duration::minutes(i64::from(m))),
            Self::Forever => LockUntil::AdminUnlock,
        }
    }
}

impl FromStr for LockoutPeriod {
    type Err = PolicyValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_choice(s, &["forever"], "m")
            .and_then(|m| Self::from_minutes(m).ok())
            .ok_or_else(|| PolicyValueError::new("lockout period", s, Self::ALLOWED))
    }
}

impl fmt::Display for LockoutPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Minutes(m) => write!(f, "{m}m"),
            Self::Forever => f.write_str("forever"),
        }
    }
}

/// Which sources a lock shuts out: Latchkey's smart lockout, or Salesforce's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum LockoutScope {
    /// Failures from sources that never logged the user in lock out those sources
    /// only; the user's familiar addresses and browsers, and the grants that carry no
    /// password, keep working. Failures from a familiar source lock every source.
    #[default]
    UnfamiliarSources,
    /// Every failure counts toward one lock that shuts out every source and grant
    /// (Salesforce's behaviour).
    AllSources,
}

impl LockoutScope {
    const ALLOWED: &'static str = "smart, all";

    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            Self::UnfamiliarSources => "smart",
            Self::AllSources => "all",
        }
    }

    /// Which lock a failure from a source counts toward.
    pub fn counter(self, familiar: bool) -> LockCounter {
        match self {
            Self::UnfamiliarSources if !familiar => LockCounter::Unfamiliar,
            _ => LockCounter::Every,
        }
    }
}

impl FromStr for LockoutScope {
    type Err = PolicyValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "smart" | "unfamiliar" | "unfamiliar-sources" => Ok(Self::UnfamiliarSources),
            "all" | "all-sources" | "all sources" => Ok(Self::AllSources),
            _ => Err(PolicyValueError::new("lockout scope", s, Self::ALLOWED)),
        }
    }
}

impl fmt::Display for LockoutScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The two locks a user can be under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockCounter {
    /// Shuts out every source and grant.
    Every,
    /// Shuts out password attempts from unfamiliar sources only.
    Unfamiliar,
}

/// Until when a user is locked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockUntil {
    /// Until this instant.
    Time(DateTime<Utc>),
    /// Until an administrator unlocks the user (or resets the password).
    AdminUnlock,
}

impl LockUntil {
    /// How the store keeps it: epoch milliseconds, `i64::MAX` for "until unlocked".
    pub fn to_millis(self) -> i64 {
        match self {
            Self::Time(t) => t.timestamp_millis(),
            Self::AdminUnlock => i64::MAX,
        }
    }

    /// Reads the stored form back.
    pub fn from_millis(millis: i64) -> Self {
        if millis == i64::MAX {
            return Self::AdminUnlock;
        }
        DateTime::from_timestamp_millis(millis).map_or(Self::AdminUnlock, Self::Time)
    }

    /// Whether the lock still holds at `now`.
    pub fn holds_at(self, now: DateTime<Utc>) -> bool {
        match self {
            Self::Time(t) => t > now,
            Self::AdminUnlock => true,
        }
    }
}

/// "Password complexity requirement".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Complexity {
    /// No restriction.
    NoRestriction,
    /// Must mix alpha and numeric characters.
    AlphaNumeric,
    /// Must mix alpha, numeric and special characters.
    SpecialCharacters,
    /// Must mix numbers and uppercase and lowercase letters.
    UpperLowerCaseNumeric,
    /// Must mix numbers, uppercase and lowercase letters, and special characters.
    UpperLowerCaseNumericSpecialCharacters,
    /// Must include three of: numbers, uppercase, lowercase, special characters.
    Any3UpperLowerCaseNumericSpecialCharacters,
}

impl Complexity {
    const ALL: [(Self, &'static str); 6] = [
        (Self::NoRestriction, "none"),
        (Self::AlphaNumeric, "alpha-numeric"),
        (Self::SpecialCharacters, "alpha-numeric-special"),
        (Self::UpperLowerCaseNumeric, "upper-lower-numeric"),
        (
            Self::UpperLowerCaseNumericSpecialCharacters,
            "upper-lower-numeric-special",
        ),
        (Self::Any3UpperLowerCaseNumericSpecialCharacters, "any-3"),
    ];
    const ALLOWED: &'static str =
        "none, alpha-numeric, alpha-numeric-special, upper-lower-numeric, upper-lower-numeric-special, any-3";

    /// The short name used by the CLI and the store.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(c, _)| *c == self).map_or("none", |(_, n)| n)
    }

    /// What the user is told when a password falls short.
    pub fn requirement(self) -> &'static str {
        match self {
            Self::NoRestriction => "",
            Self::AlphaNumeric => "Your password must include letters and numbers.",
            Self::SpecialCharacters => "Your password must include letters, numbers, and special characters.",
            Self::UpperLowerCaseNumeric => "Your password must include numbers, uppercase and lowercase letters.",
            Self::UpperLowerCaseNumericSpecialCharacters => {
                "Your password must include numbers, uppercase and lowercase letters, and special characters."
            }
            Self::Any3UpperLowerCaseNumericSpecialCharacters => {
                "Your password must include at least three of: numbers, uppercase letters, lowercase letters, special characters."
            }
        }
    }

    /// Whether `password` meets this requirement.
    pub fn is_met_by(self, password: &str) -> bool {
        let has = |f: fn(&char) -> bool| password.chars().any(|c| f(&c));
        let (upper, lower, digit, special) = (
            has(char::is_ascii_uppercase) || has(|c| c.is_uppercase()),
            has(char::is_ascii_lowercase) || has(|c| c.is_lowercase()),
            has(char::is_ascii_digit),
            has(char::is_ascii_punctuation),
        );
        let alpha = has(|c| c.is_alphabetic());
        match self {
            Self::NoRestriction => true,
            Self::AlphaNumeric => alpha && digit,
            Self::SpecialCharacters => alpha && digit && special,
            Self::UpperLowerCaseNumeric => upper && lower && digit,
            Self::UpperLowerCaseNumericSpecialCharacters => upper && lower && digit && special,
            Self::Any3UpperLowerCaseNumericSpecialCharacters => {
                [upper, lower, digit, special].iter().filter(|b| **b).count() >= 3
            }
        }
    }
}

impl FromStr for Complexity {
    type Err = PolicyValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Self::ALL
            .iter()
            .find(|(_, n)| *n == lower)
            .map(|(c, _)| *c)
            .ok_or_else(|| PolicyValueError::new("complexity", s, Self::ALLOWED))
    }
}

impl fmt::Display for Complexity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Longest password accepted, in bytes (Salesforce documents 16,000).
pub const MAX_PASSWORD_BYTES: usize = 16_000;

/// The org's switches for the password login flows Salesforce is retiring: SOAP API
/// `login()` (off by default in Salesforce's new orgs, gone in Summer '27) and the
/// OAuth username-password flow (blocked by default in new orgs). Both are open by
/// default here, so that existing integrations keep working; closing one lets an
/// integrator rehearse the retirement. A closed flow is refused before any password
/// is checked, so it never counts towards a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginFlows {
    /// SOAP API `login()` is allowed.
    pub soap_login: bool,
    /// The OAuth username-password flow (password grant) is allowed.
    pub oauth_username_password: bool,
}

impl Default for LoginFlows {
    fn default() -> Self {
        Self {
            soap_login: true,
            oauth_username_password: true,
        }
    }
}

/// The org-wide password policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    /// User passwords expire in.
    pub expiry: PasswordExpiry,
    /// Passwords remembered (0–24).
    pub history: u8,
    /// Minimum password length (5–50).
    pub min_length: u8,
    /// Complexity requirement.
    pub complexity: Complexity,
    /// Maximum invalid login attempts.
    pub max_invalid_attempts: MaxInvalidAttempts,
    /// Lockout effective period.
    pub lockout: LockoutPeriod,
    /// Which sources a lock shuts out.
    pub lockout_scope: LockoutScope,
}

impl Default for PasswordPolicy {
    /// Salesforce's defaults, with the smart lockout scope.
    fn default() -> Self {
        Self {
            expiry: PasswordExpiry::Days(90),
            history: 3,
            min_length: 8,
            complexity: Complexity::AlphaNumeric,
            max_invalid_attempts: MaxInvalidAttempts::Limit(10),
            lockout: LockoutPeriod::Minutes(15),
            lockout_scope: LockoutScope::UnfamiliarSources,
        }
    }
}

/// Why a policy cannot be saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A value outside its allowed set.
    #[error(transparent)]
    Value(#[from] PolicyValueError),
    /// Password history outside 0–24.
    #[error("password history must be between 0 and 24, not {0}")]
    History(i64),
    /// Minimum length outside 5–50.
    #[error("minimum password length must be between 5 and 50, not {0}")]
    MinLength(i64),
    /// "No passwords remembered" is only allowed when passwords never expire.
    #[error("\"no passwords remembered\" is only allowed when passwords never expire")]
    HistoryNeedsNoExpiry,
}

impl PasswordPolicy {
    /// Checks the combination of values.
    pub fn validate(&self) -> Result<(), PolicyError> {
        // A limit built in code (not parsed) may be outside the allowed set; it would
        // be saved and then refuse to load.
        MaxInvalidAttempts::from_stored(self.max_invalid_attempts.stored())?;
        if self.history > 24 {
            return Err(PolicyError::History(i64::from(self.history)));
        }
        if !(5..=50).contains(&self.min_length) {
            return Err(PolicyError::MinLength(i64::from(self.min_length)));
        }
        if self.history == 0 && self.expiry != PasswordExpiry::Never {
            return Err(PolicyError::HistoryNeedsNoExpiry);
        }
        Ok(())
    }

    /// Builds a policy from its stored columns.
    pub fn from_stored(
        expiry_days: i64,
        history: i64,
        min_length: i64,
        complexity: &str,
        max_invalid_attempts: i64,
        lockout_minutes: i64,
        lockout_scope: &str,
    ) -> Result<Self, PolicyError> {
        let policy = Self {
            expiry: PasswordExpiry::from_days(expiry_days)?,
            history: u8::try_from(history).map_err(|_| PolicyError::History(history))?,
            min_length: u8::try_from(min_length).map_err(|_| PolicyError::MinLength(min_length))?,
            complexity: complexity.parse()?,
            max_invalid_attempts: MaxInvalidAttempts::from_stored(max_invalid_attempts)?,
            lockout: LockoutPeriod::from_minutes(lockout_minutes)?,
            lockout_scope: lockout_scope.parse()?,
        };
        policy.validate()?;
        Ok(policy)
    }

    /// Checks a new password against length, complexity and the common-password list.
    /// (History needs the stored hashes and is checked by the caller.)
    pub fn check_new_password(&self, password: &str, username: &str) -> Result<(), PasswordRejection> {
        if password.chars().count() < usize::from(self.min_length) {
            return Err(PasswordRejection::TooShort(self.min_length));
        }
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(PasswordRejection::TooLong);
        }
        if !self.complexity.is_met_by(password) {
            return Err(PasswordRejection::Complexity(self.complexity));
        }
        if password.eq_ignore_ascii_case(username) {
            return Err(PasswordRejection::SameAsUsername);
        }
        if blocklist::is_common(password) {
            return Err(PasswordRejection::Common);
        }
        Ok(())
    }
}

/// Why a new password is refused. The messages are shown to the person choosing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRejection {
    /// Shorter than the minimum length.
    #[error("Your password must be at least {0} characters long.")]
    TooShort(u8),
    /// Longer than 16,000 bytes.
    #[error("Your password is too long.")]
    TooLong,
    /// Misses a character class.
    #[error("{}", .0.requirement())]
    Complexity(Complexity),
    /// Equal to the username.
    #[error("Your password cannot be your username.")]
    SameAsUsername,
    /// On the common-password list.
    #[error("Your password is too common. Choose one that is harder to guess.")]
    Common,
    /// One of the last remembered passwords.
    #[error("You cannot reuse this old password.")]
    Reused,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_values_parse_and_print() {
        assert_eq!("90d".parse(), Ok(PasswordExpiry::Days(90)));
        assert_eq!("never".parse(), Ok(PasswordExpiry::Never));
        assert!("45d".parse::<PasswordExpiry>().is_err());
        assert!("0d".parse::<PasswordExpiry>().is_err());
        assert_eq!("none".parse(), Ok(MaxInvalidAttempts::NoLimit));
        assert_eq!("5".parse(), Ok(MaxInvalidAttempts::Limit(5)));
        assert!("4".parse::<MaxInvalidAttempts>().is_err());
        assert_eq!("forever".parse(), Ok(LockoutPeriod::Forever));
        assert_eq!("30m".parse(), Ok(LockoutPeriod::Minutes(30)));
        assert!("20m".parse::<LockoutPeriod>().is_err());
        for (c, name) in Complexity::ALL {
            assert_eq!(name.parse(), Ok(c));
            assert_eq!(c.to_string(), name);
        }
        for e in [PasswordExpiry::Days(365), PasswordExpiry::Never] {
            assert_eq!(e.to_string().parse(), Ok(e));
        }
    }

    #[test]
    fn complexity_levels() {
        use Complexity::*;
        let cases = [
            ("abcdefgh", [true, false, false, false, false, false]),
            ("abcd1234", [true, true, false, false, false, false]),
            ("abcd123!", [true, true, true, false, false, true]),
            ("Abcd1234", [true, true, false, true, false, true]),
            ("Abcd123!", [true, true, true, true, true, true]),
        ];
        let levels = [
            NoRestriction,
            AlphaNumeric,
            SpecialCharacters,
            UpperLowerCaseNumeric,
            UpperLowerCaseNumericSpecialCharacters,
            Any3UpperLowerCaseNumericSpecialCharacters,
        ];
        for (pw, expected) in cases {
            for (level, want) in levels.iter().zip(expected) {
                assert_eq!(level.is_met_by(pw), want, "{pw} vs {level}");
            }
        }
    }

    #[test]
    fn new_password_rules() {
        let p = PasswordPolicy::default();
        assert_eq!(p.check_new_password("ab1", "u"), Err(PasswordRejection::TooShort(8)));
        assert_eq!(
            p.check_new_password("abcdefghij", "u"),
            Err(PasswordRejection::Complexity(Complexity::AlphaNumeric))
        );
        assert_eq!(p.check_new_password("password1", "u"), Err(PasswordRejection::Common));
        assert_eq!(
            p.check_new_password("jane1@x.io", "Jane1@x.io"),
            Err(PasswordRejection::SameAsUsername)
        );
        assert_eq!(
            p.check_new_password(&"a1".repeat(8001), "u"),
            Err(PasswordRejection::TooLong)
        );
        assert_eq!(p.check_new_password("violet-kettle-42", "u"), Ok(()));
        assert_eq!(
            PasswordRejection::TooShort(8).to_string(),
            "Your password must be at least 8 characters long."
        );
    }

    #[test]
    fn policy_combinations() {
        assert_eq!(PasswordPolicy::default().validate(), Ok(()));
        let no_history = PasswordPolicy {
            history: 0,
            ..PasswordPolicy::default()
        };
        assert_eq!(no_history.validate(), Err(PolicyError::HistoryNeedsNoExpiry));
        assert_eq!(
            PasswordPolicy {
                expiry: PasswordExpiry::Never,
                ..no_history
            }
            .validate(),
            Ok(())
        );
        let four = PasswordPolicy {
            max_invalid_attempts: MaxInvalidAttempts::Limit(4),
            ..PasswordPolicy::default()
        };
        assert!(
            matches!(four.validate(), Err(PolicyError::Value(_))),
            "a limit outside 3, 5, 10 is refused before it is saved"
        );
        assert!(PasswordPolicy::from_stored(90, 25, 8, "none", 10, 15, "smart").is_err());
        assert!(PasswordPolicy::from_stored(90, 3, 4, "none", 10, 15, "smart").is_err());
        assert_eq!(
            PasswordPolicy::from_stored(90, 3, 8, "alpha-numeric", 10, 15, "smart"),
            Ok(PasswordPolicy::default())
        );
        assert_eq!(
            PasswordPolicy::from_stored(90, 3, 8, "alpha-numeric", 10, 15, "all").map(|p| p.lockout_scope),
            Ok(LockoutScope::AllSources)
        );
        assert!(PasswordPolicy::from_stored(90, 3, 8, "alpha-numeric", 10, 15, "some").is_err());
    }

    #[test]
    fn lock_until_round_trips() {
        let now = DateTime::from_timestamp_millis(1_700_000_000_000).unwrap();
        let t = LockoutPeriod::Minutes(15).lock_until(now);
        assert_eq!(LockUntil::from_millis(t.to_millis()), t);
        assert!(t.holds_at(now));
        assert!(!t.holds_at(now + Duration::minutes(15)));
        assert_eq!(LockUntil::from_millis(i64::MAX), LockUntil::AdminUnlock);
        assert!(LockUntil::AdminUnlock.holds_at(now + Duration::days(10_000)));
    }
}

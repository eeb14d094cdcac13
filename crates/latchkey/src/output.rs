//! What the CLI prints: readable lines for a person, `--json` for scripts. Views hold
//! only what may be shown — never a password, token or hash.

use chrono::{DateTime, Utc};
use latchkey_core::network::IpRange;
use latchkey_core::policy::{LockUntil, LockoutScope, PasswordPolicy};
use latchkey_core::status::AccountState;
use latchkey_store::orgs::{Org, Profile};
use latchkey_store::users::User;
use serde::Serialize;

/// Prints `value` as pretty JSON.
pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn time(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// A user as shown.
#[derive(Debug, Serialize)]
pub struct UserView {
    id: String,
    org_id: String,
    profile: String,
    username: String,
    email: String,
    name: String,
    active: bool,
    frozen: bool,
    locked: bool,
    locked_until: Option<String>,
    failed_attempts: i64,
    /// A lock of unfamiliar sources only (smart lockout): familiar sources and
    /// password-less grants still work.
    locked_for_unfamiliar_sources: bool,
    #[serde(skip)]
    state: AccountState,
    unfamiliar_locked_until: Option<String>,
    unfamiliar_failed_attempts: i64,
    has_password: bool,
    has_security_token: bool,
    password_set_at: Option<String>,
    password_expires_at: Option<String>,
    password_expired: bool,
    last_login_at: Option<String>,
    created_at: Option<String>,
}

impl UserView {
    /// The view of `user` at `now`.
    pub fn new(user: &User, profile: &str, now: DateTime<Utc>) -> Self {
        let until = |lock: Option<LockUntil>| {
            lock.filter(|l| l.holds_at(now)).map(|l| match l {
                LockUntil::Time(t) => time(Some(t)).unwrap_or_default(),
                LockUntil::AdminUnlock => "until unlocked by an administrator".into(),
            })
        };
        let locked_until = until(user.locked_until);
        let unfamiliar_locked_until = until(user.unfamiliar_locked_until);
        Self {
            id: user.id.to_string(),
            org_id: user.org_id.to_string(),
            profile: profile.to_owned(),
            username: user.username.clone(),
            email: user.email.clone(),
            name: user.full_name(),
            active: user.active,
            frozen: user.frozen,
            locked: locked_until.is_some(),
            locked_until,
            failed_attempts: user.failed_attempts,
            locked_for_unfamiliar_sources: unfamiliar_locked_until.is_some(),
            state: user.state(now),
            unfamiliar_locked_until,
            unfamiliar_failed_attempts: user.unfamiliar_failed_attempts,
            has_password: user.password_hash.is_some(),
            has_security_token: user.token_digest.is_some(),
            password_set_at: time(user.password_set_at),
            password_expires_at: time(user.password_expires_at),
            password_expired: user.password_expires_at.is_some_and(|t| t <= now),
            last_login_at: time(user.last_login_at),
            created_at: time(Some(user.created_at)),
        }
    }

    /// Prints the view as `key: value` lines.
    pub fn print(&self) {
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        println!("username:            {}", self.username);
        println!("id:                  {}", self.id);
        println!("org:                 {}", self.org_id);
        println!("profile:             {}", self.profile);
        println!("name:                {}", self.name);
        println!("email:               {}", self.email);
        let state = match (self.state, &self.locked_until, &self.unfamiliar_locked_until) {
            (AccountState::Locked, Some(until), _) => format!("locked for every source ({until})"),
            (AccountState::LockedForUnfamiliar, _, Some(until)) => {
                format!("locked for unfamiliar sources only ({until})")
            }
            (state, _, _) => state.token().to_owned(),
        };
        println!("state:               {state}");
        println!(
            "failed attempts:     {} (from unfamiliar sources: {})",
            self.failed_attempts, self.unfamiliar_failed_attempts
        );
        println!("password set:        {}", opt(&self.password_set_at));
        let expiry = match (&self.password_expires_at, self.password_expired) {
            (Some(t), true) => format!("{t} (expired)"),
            (Some(t), false) => t.clone(),
            (None, _) => {
                if self.has_password {
                    "never".into()
                } else {
                    "no password set".into()
                }
            }
        };
        println!("password expires:    {expiry}");
        println!(
            "security token:      {}",
            if self.has_security_token {
                "issued (sent by e-mail)"
            } else {
                "none"
            }
        );
        println!("last login:          {}", opt(&self.last_login_at));
    }

    /// One line for a list.
    pub fn line(&self) -> String {
        let state = self.state.token();
        format!("{:<40} {:<17} {:<22} {}", self.username, state, self.profile, self.id)
    }
}

/// An org as shown.
#[derive(Debug, Serialize)]
pub struct OrgView<'a> {
    id: &'a str,
    name: &'a str,
    created_at: Option<String>,
}

impl<'a> OrgView<'a> {
    /// The view of `org`.
    pub fn new(org: &'a Org) -> Self {
        Self {
            id: org.id.as_str(),
            name: &org.name,
            created_at: time(Some(org.created_at)),
        }
    }
}

/// The password policy as shown.
#[derive(Debug, Serialize)]
pub struct PolicyView {
    password_expiry: String,
    history: u8,
    min_length: u8,
    complexity: String,
    max_invalid_attempts: String,
    lockout: String,
    lockout_scope: String,
}

impl PolicyView {
    /// The view of `p`.
    pub fn new(p: &PasswordPolicy) -> Self {
        Self {
            password_expiry: p.expiry.to_string(),
            history: p.history,
            min_length: p.min_length,
            complexity: p.complexity.to_string(),
            max_invalid_attempts: p.max_invalid_attempts.to_string(),
            lockout: p.lockout.to_string(),
            lockout_scope: p.lockout_scope.to_string(),
        }
    }

    /// Prints the policy as `key: value` lines, in the Setup page's words.
    pub fn print(&self) {
        println!("User passwords expire in:         {}", self.password_expiry);
        println!(
            "Enforce password history:         {} passwords remembered",
            self.history
        );
        println!("Minimum password length:          {}", self.min_length);
        println!("Password complexity requirement:  {}", self.complexity);
        println!("Maximum invalid login attempts:   {}", self.max_invalid_attempts);
        println!("Lockout effective period:         {}", self.lockout);
        println!("Lockout applies to:               {}", scope_words(&self.lockout_scope));
    }
}

/// The lockout scope in the Setup page's words.
fn scope_words(scope: &str) -> &'static str {
    if scope == LockoutScope::AllSources.name() {
        "all sources"
    } else {
        "unfamiliar sources only (smart)"
    }
}

/// A profile with its ranges as shown.
#[derive(Debug, Serialize)]
pub struct ProfileView {
    id: String,
    name: String,
    is_admin: bool,
    api_enabled: bool,
    api_only: bool,
    login_ranges: Vec<String>,
}

impl ProfileView {
    /// The view of `p` with `ranges`.
    pub fn new(p: &Profile, ranges: &[IpRange]) -> Self {
        Self {
            id: p.id.to_string(),
            name: p.name.clone(),
            is_admin: p.is_admin,
            api_enabled: p.api_enabled,
            api_only: p.api_only,
            login_ranges: ranges.iter().map(ToString::to_string).collect(),
        }
    }

    /// One line for a list.
    pub fn line(&self) -> String {
        let ranges = if self.login_ranges.is_empty() {
            "any address".to_owned()
        } else {
            self.login_ranges.join(", ")
        };
        format!("{:<24} {}  login IP ranges: {ranges}", self.name, self.id)
    }
}

/// A message in a listing: headers only; bodies (which may carry a token) are shown by
/// `mail show`, the mailbox viewer.
#[derive(Debug, Serialize)]
pub struct MailSummary<'a> {
    id: &'a str,
    to: &'a str,
    subject: &'a str,
    date: &'a str,
}

impl<'a> MailSummary<'a> {
    /// The summary of `mail`.
    pub fn new(mail: &'a latchkey_org::mail::folder::StoredMail) -> Self {
        Self {
            id: &mail.id,
            to: &mail.to,
            subject: &mail.subject,
            date: &mail.date,
        }
    }
}

/// An app's OAuth policies, in one line.
pub fn app_policies(app: &latchkey_store::apps::ConnectedApp) -> String {
    let users = if app.admin_approved_only {
        "admin-approved users only"
    } else {
        "all users who allow it"
    };
    let refresh = match app.refresh_token_minutes {
        None => "valid until revoked".to_owned(),
        Some(0) => "none issued".to_owned(),
        Some(m) => format!("expire after {m} minutes"),
    };
    let ip = if app.relax_ip { "relaxed" } else { "enforced" };
    format!(
        "{}: permitted users: {users}; refresh tokens: {refresh}; IP restrictions: {ip}; scopes: {}",
        app.name, app.scopes
    )
}

//! Users: identity, credentials and failure accounting. Counting a failure and placing
//! a lock is one atomic statement, so parallel attempts on any number of instances
//! can never count past the maximum.

use chrono::{DateTime, Utc};
use latchkey_core::ids::{OrgId, ProfileId, UserId};
use latchkey_core::login::{FailureEffect, LockoutRule, RECENT_FAILURES_KEPT};
use latchkey_core::password::PhcString;
use latchkey_core::policy::{LockCounter, LockUntil};
use latchkey_core::secret::SecretDigest;
use latchkey_core::status::AccountState;
use sqlx::FromRow;

use crate::time::{flag, from_millis, opt_from_millis};
use crate::{Conn, StoreError, Tx};

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its id (`005…`).
    pub id: UserId,
    /// Its org.
    pub org_id: OrgId,
    /// Its profile.
    pub profile_id: ProfileId,
    /// Login name, unique across the deployment, stored in lower case.
    pub username: String,
    /// Where mail goes.
    pub email: String,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: String,
    /// Not deactivated.
    pub active: bool,
    /// Frozen by an administrator.
    pub frozen: bool,
    /// argon2id hash of the password, if one is set.
    pub password_hash: Option<PhcString>,
    /// When the password was set.
    pub password_set_at: Option<DateTime<Utc>>,
    /// When the password expires (`None`: never).
    pub password_expires_at: Option<DateTime<Utc>>,
    /// SHA-256 of the current security token.
    pub token_digest: Option<SecretDigest>,
    /// Failures counted since the last success or unlock.
    pub failed_attempts: i64,
    /// Locked out of every source until (possibly in the past).
    pub locked_until: Option<LockUntil>,
    /// Failures from unfamiliar sources counted since the last success or unlock.
    pub unfamiliar_failed_attempts: i64,
    /// Locked out of unfamiliar sources until (possibly in the past).
    pub unfamiliar_locked_until: Option<LockUntil>,
    /// Last successful login.
    pub last_login_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl User {
    /// "First Last", or the last name alone.
    pub fn full_name(&self) -> String {
        match &self.first_name {
            Some(f) if !f.is_empty() => format!("{f} {}", self.last_name),
            _ => self.last_name.clone(),
        }
    }

    /// Whether a lock of every source holds at `now`.
    pub fn is_locked(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|l| l.holds_at(now))
    }

    /// What holds the account at `now`.
    pub fn state(&self, now: DateTime<Utc>) -> AccountState {
        AccountState::of(
            self.active,
            self.frozen,
            self.is_locked(now),
            self.is_locked_for_unfamiliar(now),
        )
    }

    /// Whether a lock of unfamiliar sources holds at `now`.
    pub fn is_locked_for_unfamiliar(&self, now: DateTime<Utc>) -> bool {
        self.unfamiliar_locked_until.is_some_and(|l| l.holds_at(now))
    }
}

#[derive(FromRow)]
struct UserRow {
    id: String,
    org_id: String,
    profile_id: String,
    username: String,
    email: String,
    first_name: Option<String>,
    last_name: String,
    active: i64,
    frozen: i64,
    password_hash: Option<String>,
    password_set_at: Option<i64>,
    password_expires_at: Option<i64>,
    token_digest: Option<Vec<u8>>,
    failed_attempts: i64,
    locked_until: Option<i64>,
    unfamiliar_failed_attempts: i64,
    unfamiliar_locked_until: Option<i64>,
    last_login_at: Option<i64>,
    created_at: i64,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id.parse().map_err(|_| StoreError::Corrupt("user id"))?,
            org_id: r.org_id.parse().map_err(|_| StoreError::Corrupt("org id"))?,
            profile_id: r.profile_id.parse().map_err(|_| StoreError::Corrupt("profile id"))?,
            username: r.username,
            email: r.email,
            first_name: r.first_name,
            last_name: r.last_name,
            active: flag(r.active),
            frozen: flag(r.frozen),
            password_hash: r.password_hash.map(PhcString::new),
            password_set_at: opt_from_millis(r.password_set_at, "password_set_at")?,
            password_expires_at: opt_from_millis(r.password_expires_at, "password_expires_at")?,
            token_digest: r
                .token_digest
                .map(|d| SecretDigest::from_bytes(&d).ok_or(StoreError::Corrupt("token digest")))
                .transpose()?,
            failed_attempts: r.failed_attempts,
            locked_until: r.locked_until.map(LockUntil::from_millis),
            unfamiliar_failed_attempts: r.unfamiliar_failed_attempts,
            unfamiliar_locked_until: r.unfamiliar_locked_until.map(LockUntil::from_millis),
            last_login_at: opt_from_millis(r.last_login_at, "last_login_at")?,
            created_at: from_millis(r.created_at, "user created_at")?,
        })
    }
}

const COLUMNS: &str = "id, org_id, profile_id, username, email, first_name, last_name, active, frozen, \
                       password_hash, password_set_at, password_expires_at, token_digest, failed_attempts, \
                       locked_until, unfamiliar_failed_attempts, unfamiliar_locked_until, last_login_at, created_at";

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// Its org.
    pub org_id: &'a OrgId,
    /// Its profile.
    pub profile_id: &'a ProfileId,
    /// Login name (stored in lower case).
    pub username: &'a str,
    /// E-mail address.
    pub email: &'a str,
    /// Given name.
    pub first_name: Option<&'a str>,
    /// Family name.
    pub last_name: &'a str,
}

/// Creates a user without a password or token.
pub async fn insert(conn: &mut Conn, new: &NewUser<'_>, now: DateTime<Utc>) -> Result<User, StoreError> {
    let id = UserId::generate();
    sqlx::query(
        "INSERT INTO users (id, org_id, profile_id, username, email, first_name, last_name, created_at, modified_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(id.as_str())
    .bind(new.org_id.as_str())
    .bind(new.profile_id.as_str())
    .bind(new.username.to_lowercase())
    .bind(new.email)
    .bind(new.first_name)
    .bind(new.last_name)
    .bind(now.timestamp_millis())
    .execute(&mut *conn)
    .await
    .map_err(StoreError::duplicate_as("username"))?;
    get(conn, &id).await
}

/// The user with `id`.
pub async fn get(conn: &mut Conn, id: &UserId) -> Result<User, StoreError> {
    sqlx::query_as::<_, UserRow>(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id.as_str())
        .fetch_one(&mut *conn)
        .await?
        .try_into()
}

/// The user with `id`, if any.
pub async fn find(conn: &mut Conn, id: &UserId) -> Result<Option<User>, StoreError> {
    sqlx::query_as::<_, UserRow>(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// The user with `username` (case-insensitive), if any.
pub async fn find_by_username(conn: &mut Conn, username: &str) -> Result<Option<User>, StoreError> {
    if crate::text::unstorable(username) {
        return Ok(None);
    }
    sqlx::query_as::<_, UserRow>(&format!("SELECT {COLUMNS} FROM users WHERE username = $1"))
        .bind(username.trim().to_lowercase())
        .fetch_optional(&mut *conn)
        .await?
        .map(User::try_from)
        .transpose()
}

/// The org's users by username.
pub async fn list(conn: &mut Conn, org: &OrgId) -> Result<Vec<User>, StoreError> {
    sqlx::query_as::<_, UserRow>(&format!(
        "SELECT {COLUMNS} FROM users WHERE org_id = $1 ORDER BY username"
    ))
    .bind(org.as_str())
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(User::try_from)
    .collect()
}

/// A new password for a user.
#[derive(Debug, Clone)]
pub struct PasswordChange<'a> {
    /// argon2id hash of the new password.
    pub hash: &'a PhcString,
    /// Set at.
    pub set_at: DateTime<Utc>,
    /// Expires at (`None`: never; `set_at` itself forces a change at next login).
    pub expires_at: Option<DateTime<Utc>>,
    /// How many passwords the policy remembers (older history rows are pruned).
    pub history: u8,
}

/// Stores a new password: remembers it in the history, forgets failed-secret
/// fingerprints, and lifts both locks (a reset unlocks, as in Salesforce).
pub async fn set_password(conn: &mut Conn, id: &UserId, change: &PasswordChange<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE users SET password_hash = $2, password_set_at = $3, password_expires_at = $4, \
         failed_attempts = 0, locked_until = NULL, unfamiliar_failed_attempts = 0, \
         unfamiliar_locked_until = NULL WHERE id = $1",
    )
    .bind(id.as_str())
    .bind(change.hash.as_str())
    .bind(change.set_at.timestamp_millis())
    .bind(change.expires_at.map(|t| t.timestamp_millis()))
    .execute(&mut *conn)
    .await?;
    sqlx::query("INSERT INTO password_history (user_id, password_hash, created_at) VALUES ($1, $2, $3)")
        .bind(id.as_str())
        .bind(change.hash.as_str())
        .bind(change.set_at.timestamp_millis())
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "DELETE FROM password_history WHERE user_id = $1 AND id NOT IN \
         (SELECT id FROM password_history WHERE user_id = $1 ORDER BY id DESC LIMIT $2)",
    )
    .bind(id.as_str())
    .bind(i64::from(change.history.max(1)))
    .execute(&mut *conn)
    .await?;
    forget_failed_secrets(conn, id).await
}

/// Forgets the fingerprints of a user's failed secrets: after a credential change, an
/// old wrong secret is judged afresh.
async fn forget_failed_secrets(conn: &mut Conn, id: &UserId) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM failed_secrets WHERE user_id = $1")
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Replaces the hash of the current password (rehash at new parameters), keeping its
/// dates.
pub async fn replace_password_hash(
    conn: &mut Conn,
    id: &UserId,
    old: &PhcString,
    new: &PhcString,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2")
        .bind(id.as_str())
        .bind(old.as_str())
        .bind(new.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The last `n` password hashes, newest first (for the history rule).
pub async fn recent_password_hashes(conn: &mut Conn, id: &UserId, n: u8) -> Result<Vec<PhcString>, StoreError> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT password_hash FROM password_history WHERE user_id = $1 ORDER BY id DESC LIMIT $2")
            .bind(id.as_str())
            .bind(i64::from(n))
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows.into_iter().map(|(h,)| PhcString::new(h)).collect())
}

/// Stores the digest of a new security token; the old token stops working at once.
pub async fn set_token(conn: &mut Conn, id: &UserId, digest: &SecretDigest) -> Result<(), StoreError> {
    sqlx::query("UPDATE users SET token_digest = $2 WHERE id = $1")
        .bind(id.as_str())
        .bind(digest.as_bytes().as_slice())
        .execute(&mut *conn)
        .await?;
    forget_failed_secrets(conn, id).await
}

/// Clears both locks and their failure counters; `true` when a lock held at `now`.
pub async fn unlock(conn: &mut Conn, id: &UserId, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let was_locked = sqlx::query(
        "UPDATE users SET locked_until = NULL, unfamiliar_locked_until = NULL \
         WHERE id = $1 AND (locked_until > $2 OR unfamiliar_locked_until > $2)",
    )
    .bind(id.as_str())
    .bind(now.timestamp_millis())
    .execute(&mut *conn)
    .await?
    .rows_affected()
        > 0;
    sqlx::query(
        "UPDATE users SET failed_attempts = 0, locked_until = NULL, unfamiliar_failed_attempts = 0, \
         unfamiliar_locked_until = NULL WHERE id = $1",
    )
    .bind(id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(was_locked)
}

/// Freezes or unfreezes a user; `true` when that changed anything.
pub async fn set_frozen(conn: &mut Conn, id: &UserId, frozen: bool, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE users SET frozen = $2, modified_at = $3 WHERE id = $1 AND frozen <> $2")
        .bind(id.as_str())
        .bind(i64::from(frozen))
        .bind(now.timestamp_millis())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Deactivates or reactivates a user; `true` when that changed anything.
pub async fn set_active(conn: &mut Conn, id: &UserId, active: bool, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE users SET active = $2, modified_at = $3 WHERE id = $1 AND active <> $2")
        .bind(id.as_str())
        .bind(i64::from(active))
        .bind(now.timestamp_millis())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Records a failed attempt atomically toward the lock `counter`: a secret whose
/// fingerprint is among the user's last few failures is not counted again; otherwise
/// one statement increments that lock's counter and, at the maximum, places the lock —
/// and does nothing once it holds.
pub async fn record_failure(
    tx: &mut Tx,
    id: &UserId,
    fingerprint: &[u8; 32],
    counter: LockCounter,
    rule: LockoutRule,
    now: DateTime<Utc>,
) -> Result<FailureEffect, StoreError> {
    let now_ms = now.timestamp_millis();
    let inserted = sqlx::query(
        "INSERT INTO failed_secrets (user_id, fingerprint, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, fingerprint) DO NOTHING",
    )
    .bind(id.as_str())
    .bind(fingerprint.as_slice())
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(FailureEffect::Repeated);
    }
    sqlx::query(
        "DELETE FROM failed_secrets WHERE user_id = $1 AND id NOT IN \
         (SELECT id FROM failed_secrets WHERE user_id = $1 ORDER BY id DESC LIMIT $2)",
    )
    .bind(id.as_str())
    .bind(RECENT_FAILURES_KEPT as i64)
    .execute(&mut **tx)
    .await?;
    let (count, lock) = match counter {
        LockCounter::Every => ("failed_attempts", "locked_until"),
        LockCounter::Unfamiliar => ("unfamiliar_failed_attempts", "unfamiliar_locked_until"),
    };
    let counted: Option<(i64, Option<i64>)> = sqlx::query_as(&format!(
        "UPDATE users SET \
           {count} = CASE WHEN {lock} IS NOT NULL AND {lock} <= $2 THEN 1 ELSE {count} + 1 END, \
           {lock} = CASE WHEN $3 > 0 AND \
                             (CASE WHEN {lock} IS NOT NULL AND {lock} <= $2 THEN 1 ELSE {count} + 1 END) >= $3 \
                        THEN $4 ELSE NULL END \
         WHERE id = $1 AND ({lock} IS NULL OR {lock} <= $2) \
         RETURNING {count}, {lock}"
    ))
    .bind(id.as_str())
    .bind(now_ms)
    .bind(rule.max.stored())
    .bind(rule.period.lock_until(now).to_millis())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match counted {
        None => FailureEffect::AlreadyLocked,
        Some((n, None)) => FailureEffect::Counted(u32::try_from(n).unwrap_or(u32::MAX)),
        Some((n, Some(until))) => {
            FailureEffect::Locked(u32::try_from(n).unwrap_or(u32::MAX), LockUntil::from_millis(until))
        }
    })
}

/// Records a success from a source whose failures count toward `counter`: the lock of
/// every source and its counter restart, and so do those of unfamiliar sources unless
/// that lock holds. `false` when a parallel attempt locked the user against this
/// source in the meantime, in which case the login must be refused.
pub async fn record_success(
    conn: &mut Conn,
    id: &UserId,
    counter: LockCounter,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE users SET failed_attempts = 0, locked_until = NULL, last_login_at = $2, \
           unfamiliar_failed_attempts = CASE WHEN unfamiliar_locked_until > $2 \
                                             THEN unfamiliar_failed_attempts ELSE 0 END, \
           unfamiliar_locked_until = CASE WHEN unfamiliar_locked_until > $2 \
                                          THEN unfamiliar_locked_until ELSE NULL END \
         WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2) \
           AND ($3 = 0 OR unfamiliar_locked_until IS NULL OR unfamiliar_locked_until <= $2)",
    )
    .bind(id.as_str())
    .bind(now.timestamp_millis())
    .bind(i64::from(counter == LockCounter::Unfamiliar))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Whether `address` has logged user `id` in before.
pub async fn is_familiar(conn: &mut Conn, id: &UserId, address: &str) -> Result<bool, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM familiar_sources WHERE user_id = $1 AND address = $2")
        .bind(id.as_str())
        .bind(address)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

/// How many familiar addresses are kept per user; the least recently seen go first.
pub const FAMILIAR_SOURCES_KEPT: i64 = 50;

/// Remembers that `address` logged user `id` in at `now`.
pub async fn remember_source(
    conn: &mut Conn,
    id: &UserId,
    address: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let now_ms = now.timestamp_millis();
    sqlx::query(
        "INSERT INTO familiar_sources (user_id, address, first_seen, last_seen) VALUES ($1, $2, $3, $3) \
         ON CONFLICT (user_id, address) DO UPDATE SET last_seen = excluded.last_seen",
    )
    .bind(id.as_str())
    .bind(address)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM familiar_sources WHERE user_id = $1 AND address NOT IN \
         (SELECT address FROM familiar_sources WHERE user_id = $1 ORDER BY last_seen DESC LIMIT $2)",
    )
    .bind(id.as_str())
    .bind(FAMILIAR_SOURCES_KEPT)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Active, unfrozen users whose password expires after `from` and at or before `to`.
pub async fn expiring(conn: &mut Conn, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<User>, StoreError> {
    let rows: Vec<UserRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE password_expires_at > $1 AND password_expires_at <= $2 \
         AND active = 1 AND frozen = 0 ORDER BY password_expires_at"
    ))
    .bind(from.timestamp_millis())
    .bind(to.timestamp_millis())
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(User::try_from).collect()
}

/// Records that the `days` reminder for the password of `user` expiring at
/// `expires_at` is being sent; `false` when it was already (by any instance).
pub async fn claim_reminder(
    conn: &mut Conn,
    user: &UserId,
    expires_at: DateTime<Utc>,
    days: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO password_reminders (user_id, expires_at, days, sent_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind(user.as_str())
    .bind(expires_at.timestamp_millis())
    .bind(days)
    .bind(now.timestamp_millis())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Changes a user's e-mail address, names and profile.
pub async fn update_details(
    conn: &mut Conn,
    id: &UserId,
    email: &str,
    first_name: Option<&str>,
    last_name: &str,
    profile_id: &ProfileId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE users SET email = $2, first_name = $3, last_name = $4, profile_id = $5, modified_at = $6 WHERE id = $1",
    )
    .bind(id.as_str())
    .bind(email)
    .bind(first_name)
    .bind(last_name)
    .bind(profile_id.as_str())
    .bind(now.timestamp_millis())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A user's alias and locale settings as the User object carries them; `None` keeps
/// what the user has (or the default the User view shows).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSettings {
    /// Short name shown in lists (up to 8 characters).
    pub alias: Option<String>,
    /// IANA time zone (`TimeZoneSidKey`).
    pub time_zone: Option<String>,
    /// Locale (`LocaleSidKey`).
    pub locale: Option<String>,
    /// Language (`LanguageLocaleKey`).
    pub language: Option<String>,
    /// Mail encoding (`EmailEncodingKey`).
    pub email_encoding: Option<String>,
}

/// Saves the settings given (the others stay as they are).
pub async fn set_settings(
    conn: &mut Conn,
    id: &UserId,
    settings: &UserSettings,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE users SET alias = COALESCE($2, alias), time_zone_sid_key = COALESCE($3, time_zone_sid_key), \
         locale_sid_key = COALESCE($4, locale_sid_key), language_locale_key = COALESCE($5, language_locale_key), \
         email_encoding_key = COALESCE($6, email_encoding_key), modified_at = $7 WHERE id = $1",
    )
    .bind(id.as_str())
    .bind(settings.alias.as_deref())
    .bind(settings.time_zone.as_deref())
    .bind(settings.locale.as_deref())
    .bind(settings.language.as_deref())
    .bind(settings.email_encoding.as_deref())
    .bind(now.timestamp_millis())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

//! Orgs, their password policy, profiles with login IP ranges, and trusted IP ranges.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use latchkey_core::ids::{OrgId, ProfileId};
use latchkey_core::network::IpRange;
use latchkey_core::policy::{LockoutScope, LoginFlows, PasswordExpiry, PasswordPolicy};
use sqlx::FromRow;

use crate::time::{flag, from_millis};
use crate::{Conn, StoreError};

/// An organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    /// Its id (`00D…`).
    pub id: OrgId,
    /// Display name.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Its password policy.
    pub policy: PasswordPolicy,
    /// Session idle timeout.
    pub session_timeout_minutes: i64,
    /// Which password login flows are open.
    pub login_flows: LoginFlows,
}

#[derive(FromRow)]
struct OrgRow {
    id: String,
    name: String,
    created_at: i64,
    pw_expiry_days: i64,
    pw_history: i64,
    pw_min_length: i64,
    pw_complexity: String,
    max_invalid_attempts: i64,
    lockout_minutes: i64,
    lockout_scope: String,
    session_timeout_minutes: i64,
    soap_login: i64,
    oauth_username_password: i64,
}

impl TryFrom<OrgRow> for Org {
    type Error = StoreError;
    fn try_from(r: OrgRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id.parse().map_err(|_| StoreError::Corrupt("org id"))?,
            name: r.name,
            created_at: from_millis(r.created_at, "org created_at")?,
            policy: PasswordPolicy::from_stored(
                r.pw_expiry_days,
                r.pw_history,
                r.pw_min_length,
                &r.pw_complexity,
                r.max_invalid_attempts,
                r.lockout_minutes,
                &r.lockout_scope,
            )
            .map_err(|_| StoreError::Corrupt("password policy"))?,
            session_timeout_minutes: r.session_timeout_minutes,
            login_flows: LoginFlows {
                soap_login: flag(r.soap_login),
                oauth_username_password: flag(r.oauth_username_password),
            },
        })
    }
}

const ORG_COLUMNS: &str = "id, name, created_at, pw_expiry_days, pw_history, pw_min_length, pw_complexity, \
                           max_invalid_attempts, lockout_minutes, lockout_scope, session_timeout_minutes, \
                           soap_login, oauth_username_password";

/// A profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Its id (`00e…`).
    pub id: ProfileId,
    /// Its org.
    pub org_id: OrgId,
    /// Its name, unique in the org.
    pub name: String,
    /// May use Setup.
    pub is_admin: bool,
    /// May use the API.
    pub api_enabled: bool,
    /// May use only the API (no UI login).
    pub api_only: bool,
}

#[derive(FromRow)]
struct ProfileRow {
    id: String,
    org_id: String,
    name: String,
    is_admin: i64,
    api_enabled: i64,
    api_only: i64,
}

impl TryFrom<ProfileRow> for Profile {
    type Error = StoreError;
    fn try_from(r: ProfileRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id.parse().map_err(|_| StoreError::Corrupt("profile id"))?,
            org_id: r.org_id.parse().map_err(|_| StoreError::Corrupt("org id"))?,
            name: r.name,
            is_admin: flag(r.is_admin),
            api_enabled: flag(r.api_enabled),
            api_only: flag(r.api_only),
        })
    }
}

/// The standard profiles every new org gets: (name, admin, api enabled, api only).
pub const STANDARD_PROFILES: [(&str, bool, bool, bool); 3] = [
    ("System Administrator", true, true, false),
    ("Standard User", false, true, false),
    ("API Only User", false, true, true),
];

/// Creates an org with the default policy and the standard profiles.
pub async fn create(conn: &mut Conn, name: &str, now: DateTime<Utc>) -> Result<Org, StoreError> {
    let id = OrgId::generate();
    let p = PasswordPolicy::default();
    sqlx::query(
        "INSERT INTO orgs (id, name, created_at, pw_expiry_days, pw_history, pw_min_length, pw_complexity, \
         max_invalid_attempts, lockout_minutes, lockout_scope) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id.as_str())
    .bind(name)
    .bind(now.timestamp_millis())
    .bind(p.expiry.days())
    .bind(i64::from(p.history))
    .bind(i64::from(p.min_length))
    .bind(p.complexity.name())
    .bind(p.max_invalid_attempts.stored())
    .bind(p.lockout.minutes())
    .bind(p.lockout_scope.name())
    .execute(&mut *conn)
    .await?;
    for (profile, admin, api, api_only) in STANDARD_PROFILES {
        sqlx::query(
            "INSERT INTO profiles (id, org_id, name, is_admin, api_enabled, api_only) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(ProfileId::generate().as_str())
        .bind(id.as_str())
        .bind(profile)
        .bind(i64::from(admin))
        .bind(i64::from(api))
        .bind(i64::from(api_only))
        .execute(&mut *conn)
        .await?;
    }
    get(conn, &id).await
}

/// The org with `id`.
pub async fn get(conn: &mut Conn, id: &OrgId) -> Result<Org, StoreError> {
    find(conn, id)
        .await?
        .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
}

/// The org with `id`, if any.
pub async fn find(conn: &mut Conn, id: &OrgId) -> Result<Option<Org>, StoreError> {
    sqlx::query_as::<_, OrgRow>(&format!("SELECT {ORG_COLUMNS} FROM orgs WHERE id = $1"))
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .map(Org::try_from)
        .transpose()
}

/// Every org, oldest first.
pub async fn list(conn: &mut Conn) -> Result<Vec<Org>, StoreError> {
    sqlx::query_as::<_, OrgRow>(&format!("SELECT {ORG_COLUMNS} FROM orgs ORDER BY created_at, id"))
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(Org::try_from)
        .collect()
}

/// Opens or closes the org's password login flows.
pub async fn set_login_flows(conn: &mut Conn, org: &OrgId, flows: LoginFlows) -> Result<(), StoreError> {
    sqlx::query("UPDATE orgs SET soap_login = $2, oauth_username_password = $3 WHERE id = $1")
        .bind(org.as_str())
        .bind(i64::from(flows.soap_login))
        .bind(i64::from(flows.oauth_username_password))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Saves a new password policy. Users' expiry dates only move earlier, or are cleared
/// when passwords stop expiring (Salesforce's rule). Under the all-sources scope
/// there is one lock only: the locks of unfamiliar sources go.
pub async fn set_policy(conn: &mut Conn, org: &OrgId, policy: &PasswordPolicy) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE orgs SET pw_expiry_days = $2, pw_history = $3, pw_min_length = $4, pw_complexity = $5, \
         max_invalid_attempts = $6, lockout_minutes = $7, lockout_scope = $8 WHERE id = $1",
    )
    .bind(org.as_str())
    .bind(policy.expiry.days())
    .bind(i64::from(policy.history))
    .bind(i64::from(policy.min_length))
    .bind(policy.complexity.name())
    .bind(policy.max_invalid_attempts.stored())
    .bind(policy.lockout.minutes())
    .bind(policy.lockout_scope.name())
    .execute(&mut *conn)
    .await?;
    if policy.lockout_scope == LockoutScope::AllSources {
        sqlx::query(
            "UPDATE users SET unfamiliar_failed_attempts = 0, unfamiliar_locked_until = NULL \
             WHERE org_id = $1 AND (unfamiliar_failed_attempts <> 0 OR unfamiliar_locked_until IS NOT NULL)",
        )
        .bind(org.as_str())
        .execute(&mut *conn)
        .await?;
    }
    match policy.expiry {
        PasswordExpiry::Never => {
            sqlx::query("UPDATE users SET password_expires_at = NULL WHERE org_id = $1")
                .bind(org.as_str())
                .execute(&mut *conn)
                .await?;
        }
        PasswordExpiry::Days(_) => {
            let lifetime = Duration::days(policy.expiry.days()).num_milliseconds();
            sqlx::query(
                "UPDATE users SET password_expires_at = password_set_at + $2 \
                 WHERE org_id = $1 AND password_set_at IS NOT NULL \
                 AND (password_expires_at IS NULL OR password_set_at + $2 < password_expires_at)",
            )
            .bind(org.as_str())
            .bind(lifetime)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

const PROFILE_COLUMNS: &str = "id, org_id, name, is_admin, api_enabled, api_only";

/// The org's profiles, by name.
pub async fn profiles(conn: &mut Conn, org: &OrgId) -> Result<Vec<Profile>, StoreError> {
    sqlx::query_as::<_, ProfileRow>(&format!(
        "SELECT {PROFILE_COLUMNS} FROM profiles WHERE org_id = $1 ORDER BY name"
    ))
    .bind(org.as_str())
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(Profile::try_from)
    .collect()
}

/// The profile named `name` (case-insensitive) in the org.
pub async fn profile_by_name(conn: &mut Conn, org: &OrgId, name: &str) -> Result<Option<Profile>, StoreError> {
    sqlx::query_as::<_, ProfileRow>(&format!(
        "SELECT {PROFILE_COLUMNS} FROM profiles WHERE org_id = $1 AND LOWER(name) = LOWER($2)"
    ))
    .bind(org.as_str())
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?
    .map(Profile::try_from)
    .transpose()
}

/// The profile with `id`.
pub async fn profile(conn: &mut Conn, id: &ProfileId) -> Result<Profile, StoreError> {
    sqlx::query_as::<_, ProfileRow>(&format!("SELECT {PROFILE_COLUMNS} FROM profiles WHERE id = $1"))
        .bind(id.as_str())
        .fetch_one(&mut *conn)
        .await?
        .try_into()
}

#[derive(FromRow)]
struct RangeRow {
    start_ip: String,
    end_ip: String,
}

fn ranges(rows: Vec<RangeRow>) -> Result<Vec<IpRange>, StoreError> {
    rows.into_iter()
        .map(|r| {
            let start: IpAddr = r.start_ip.parse().map_err(|_| StoreError::Corrupt("IP range"))?;
            let end: IpAddr = r.end_ip.parse().map_err(|_| StoreError::Corrupt("IP range"))?;
            IpRange::new(start, end).map_err(|_| StoreError::Corrupt("IP range"))
        })
        .collect()
}

/// The login IP ranges of a profile (empty: unrestricted).
pub async fn login_ranges(conn: &mut Conn, profile: &ProfileId) -> Result<Vec<IpRange>, StoreError> {
    let rows = sqlx::query_as::<_, RangeRow>(
        "SELECT start_ip, end_ip FROM profile_login_ranges WHERE profile_id = $1 ORDER BY id",
    )
    .bind(profile.as_str())
    .fetch_all(&mut *conn)
    .await?;
    ranges(rows)
}

/// Replaces the login IP ranges of a profile (an empty list clears them).
pub async fn set_login_ranges(conn: &mut Conn, profile: &ProfileId, list: &[IpRange]) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM profile_login_ranges WHERE profile_id = $1")
        .bind(profile.as_str())
        .execute(&mut *conn)
        .await?;
    for r in list {
        sqlx::query("INSERT INTO profile_login_ranges (profile_id, start_ip, end_ip) VALUES ($1, $2, $3)")
            .bind(profile.as_str())
            .bind(r.start.to_string())
            .bind(r.end.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The org's trusted IP ranges.
pub async fn trusted_ranges(conn: &mut Conn, org: &OrgId) -> Result<Vec<IpRange>, StoreError> {
    let rows =
        sqlx::query_as::<_, RangeRow>("SELECT start_ip, end_ip FROM trusted_ranges WHERE org_id = $1 ORDER BY id")
            .bind(org.as_str())
            .fetch_all(&mut *conn)
            .await?;
    ranges(rows)
}

/// Adds a trusted range.
pub async fn add_trusted_range(conn: &mut Conn, org: &OrgId, range: &IpRange) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO trusted_ranges (org_id, start_ip, end_ip) VALUES ($1, $2, $3)")
        .bind(org.as_str())
        .bind(range.start.to_string())
        .bind(range.end.to_string())
        .execute(&mut *conn)
        .await
        .map_err(StoreError::duplicate_as("trusted range"))?;
    Ok(())
}

/// Removes a trusted range; `false` when there was no such range.
pub async fn remove_trusted_range(conn: &mut Conn, org: &OrgId, range: &IpRange) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM trusted_ranges WHERE org_id = $1 AND start_ip = $2 AND end_ip = $3")
        .bind(org.as_str())
        .bind(range.start.to_string())
        .bind(range.end.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// What a login decision needs from the org, in one query: the org (its policy) and the
/// profile's login ranges and the org's trusted ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginContext {
    /// The org.
    pub org: Org,
    /// The profile's login IP ranges (empty: unrestricted).
    pub profile_ranges: Vec<IpRange>,
    /// The org's trusted IP ranges.
    pub trusted_ranges: Vec<IpRange>,
}

#[derive(FromRow)]
struct ContextRow {
    #[sqlx(flatten)]
    org: OrgRow,
    kind: Option<String>,
    start_ip: Option<String>,
    end_ip: Option<String>,
}

/// Loads the [`LoginContext`] of a user in `org` with `profile`.
pub async fn login_context(conn: &mut Conn, org: &OrgId, profile: &ProfileId) -> Result<LoginContext, StoreError> {
    let rows: Vec<ContextRow> = sqlx::query_as(&format!(
        "SELECT {ORG_COLUMNS}, r.kind, r.start_ip, r.end_ip FROM orgs \
         LEFT JOIN (SELECT 'p' AS kind, id AS n, start_ip, end_ip FROM profile_login_ranges WHERE profile_id = $2 \
                    UNION ALL \
                    SELECT 't' AS kind, id AS n, start_ip, end_ip FROM trusted_ranges WHERE org_id = $1) r ON 1 = 1 \
         WHERE orgs.id = $1 ORDER BY r.kind, r.n"
    ))
    .bind(org.as_str())
    .bind(profile.as_str())
    .fetch_all(&mut *conn)
    .await?;
    let mut profile_rows = Vec::new();
    let mut trusted_rows = Vec::new();
    let mut org_row = None;
    for row in rows {
        if let (Some(kind), Some(start_ip), Some(end_ip)) = (row.kind, row.start_ip, row.end_ip) {
            let range = RangeRow { start_ip, end_ip };
            if kind == "p" {
                profile_rows.push(range);
            } else {
                trusted_rows.push(range);
            }
        }
        org_row.get_or_insert(row.org);
    }
    let org = org_row
        .ok_or(StoreError::Database(sqlx::Error::RowNotFound))?
        .try_into()?;
    Ok(LoginContext {
        org,
        profile_ranges: ranges(profile_rows)?,
        trusted_ranges: ranges(trusted_rows)?,
    })
}

/// Allows or refuses API access to users of a profile.
pub async fn set_api_enabled(conn: &mut Conn, profile: &ProfileId, enabled: bool) -> Result<bool, StoreError> {
    Ok(sqlx::query("UPDATE profiles SET api_enabled = $1 WHERE id = $2")
        .bind(i64::from(enabled))
        .bind(profile.as_str())
        .execute(&mut *conn)
        .await?
        .rows_affected()
        == 1)
}

/// Sets an org's daily REST API allowance.
pub async fn set_daily_api_requests(conn: &mut Conn, org: &OrgId, allowance: i64) -> Result<bool, StoreError> {
    Ok(sqlx::query("UPDATE orgs SET daily_api_requests = $1 WHERE id = $2")
        .bind(allowance)
        .bind(org.as_str())
        .execute(&mut *conn)
        .await?
        .rows_affected()
        == 1)
}

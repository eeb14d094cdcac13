//! Connected apps: OAuth clients of an org. The client secret is kept as a digest.

use chrono::{DateTime, Utc};
use latchkey_core::ids::{OrgId, UserId};
use latchkey_core::secret::SecretDigest;
use sqlx::FromRow;

use crate::time::{flag, from_millis};
use crate::{Conn, StoreError};

/// A connected app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedApp {
    /// Consumer key.
    pub client_id: String,
    /// Its org.
    pub org_id: OrgId,
    /// Name, unique in the org.
    pub name: String,
    /// Digest of the consumer secret.
    pub secret_digest: SecretDigest,
    /// The user `client_credentials` runs as.
    pub run_as: Option<UserId>,
    /// OAuth callback URL.
    pub callback_url: Option<String>,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Whether its refresh tokens outlive a password change or reset (the default:
    /// that is what lets OAuth integrations outlive password resets).
    pub refresh_survives_password_change: bool,
    /// Whether each refresh replaces the refresh token (a replaced one presented again
    /// revokes the family).
    pub rotate_refresh_tokens: bool,
    /// A public client (a desktop or mobile app that cannot keep a secret): the
    /// web-server flow needs no secret but must use PKCE.
    pub public_client: bool,
    /// The certificate or public key (PEM) whose private key signs the app's JWT
    /// bearer assertions.
    pub jwt_public_key: Option<String>,
    /// Only users an administrator pre-authorised may use the app (else everyone who
    /// allows it).
    pub admin_approved_only: bool,
    /// How long the app's refresh tokens live: `None` until revoked, `Some(0)` none
    /// are issued ("immediately expire"), `Some(n)` n minutes from issue.
    pub refresh_token_minutes: Option<i64>,
    /// The app's OAuth logins are not held to the profiles' login IP ranges.
    pub relax_ip: bool,
    /// The scopes the app may be granted, space-separated.
    pub scopes: String,
}

/// An app's OAuth policies (what `set_policies` writes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policies {
    /// [`ConnectedApp::admin_approved_only`].
    pub admin_approved_only: bool,
    /// [`ConnectedApp::refresh_token_minutes`].
    pub refresh_token_minutes: Option<i64>,
    /// [`ConnectedApp::relax_ip`].
    pub relax_ip: bool,
    /// [`ConnectedApp::scopes`].
    pub scopes: String,
}

impl ConnectedApp {
    /// Its OAuth policies.
    pub fn policies(&self) -> Policies {
        Policies {
            admin_approved_only: self.admin_approved_only,
            refresh_token_minutes: self.refresh_token_minutes,
            relax_ip: self.relax_ip,
            scopes: self.scopes.clone(),
        }
    }
}

/// The scopes a new app may be granted.
pub const DEFAULT_SCOPES: &str = "api refresh_token";

/// An app's switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    /// [`ConnectedApp::refresh_survives_password_change`].
    RefreshSurvivesPasswordChange,
    /// [`ConnectedApp::rotate_refresh_tokens`].
    RotateRefreshTokens,
    /// [`ConnectedApp::public_client`].
    PublicClient,
}

impl Switch {
    fn column(self) -> &'static str {
        match self {
            Self::RefreshSurvivesPasswordChange => "refresh_survives_password_change",
            Self::RotateRefreshTokens => "rotate_refresh_tokens",
            Self::PublicClient => "public_client",
        }
    }
}

const COLUMNS: &str = "client_id, org_id, name, secret_digest, run_as_user_id, callback_url, created_at, \
                       refresh_survives_password_change, rotate_refresh_tokens, public_client, jwt_public_key, \
                       admin_approved_only, refresh_token_minutes, relax_ip, scopes";

#[derive(FromRow)]
struct Row {
    client_id: String,
    org_id: String,
    name: String,
    secret_digest: Vec<u8>,
    run_as_user_id: Option<String>,
    callback_url: Option<String>,
    created_at: i64,
    refresh_survives_password_change: i64,
    rotate_refresh_tokens: i64,
    public_client: i64,
    jwt_public_key: Option<String>,
    admin_approved_only: i64,
    refresh_token_minutes: Option<i64>,
    relax_ip: i64,
    scopes: String,
}

impl TryFrom<Row> for ConnectedApp {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self, StoreError> {
        Ok(Self {
            client_id: r.client_id,
            org_id: r.org_id.parse().map_err(|_| StoreError::Corrupt("app org"))?,
            name: r.name,
            secret_digest: SecretDigest::from_bytes(&r.secret_digest).ok_or(StoreError::Corrupt("app secret"))?,
            run_as: r
                .run_as_user_id
                .map(|u| u.parse().map_err(|_| StoreError::Corrupt("app run-as user")))
                .transpose()?,
            callback_url: r.callback_url,
            created_at: from_millis(r.created_at, "app created_at")?,
            refresh_survives_password_change: flag(r.refresh_survives_password_change),
            rotate_refresh_tokens: flag(r.rotate_refresh_tokens),
            public_client: flag(r.public_client),
            jwt_public_key: r.jwt_public_key,
            admin_approved_only: flag(r.admin_approved_only),
            refresh_token_minutes: r.refresh_token_minutes,
            relax_ip: flag(r.relax_ip),
            scopes: r.scopes,
        })
    }
}

/// Stores a new app.
pub async fn insert(conn: &mut Conn, app: &ConnectedApp) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO connected_apps (client_id, org_id, name, secret_digest, run_as_user_id, callback_url, created_at, \
         refresh_survives_password_change, rotate_refresh_tokens, public_client, jwt_public_key, \
         admin_approved_only, refresh_token_minutes, relax_ip, scopes) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&app.client_id)
    .bind(app.org_id.as_str())
    .bind(&app.name)
    .bind(app.secret_digest.as_bytes().as_slice())
    .bind(app.run_as.as_ref().map(UserId::as_str))
    .bind(app.callback_url.as_deref())
    .bind(app.created_at.timestamp_millis())
    .bind(i64::from(app.refresh_survives_password_change))
    .bind(i64::from(app.rotate_refresh_tokens))
    .bind(i64::from(app.public_client))
    .bind(app.jwt_public_key.as_deref())
    .bind(i64::from(app.admin_approved_only))
    .bind(app.refresh_token_minutes)
    .bind(i64::from(app.relax_ip))
    .bind(&app.scopes)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::duplicate_as("connected app"))?;
    Ok(())
}

/// The app with this consumer key.
pub async fn find(conn: &mut Conn, client_id: &str) -> Result<Option<ConnectedApp>, StoreError> {
    if crate::text::unstorable(client_id) {
        return Ok(None);
    }
    sqlx::query_as::<_, Row>(&format!("SELECT {COLUMNS} FROM connected_apps WHERE client_id = $1"))
        .bind(client_id)
        .fetch_optional(&mut *conn)
        .await?
        .map(ConnectedApp::try_from)
        .transpose()
}

/// The org's apps, by name.
pub async fn for_org(conn: &mut Conn, org: &OrgId) -> Result<Vec<ConnectedApp>, StoreError> {
    sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM connected_apps WHERE org_id = $1 ORDER BY name"
    ))
    .bind(org.as_str())
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(ConnectedApp::try_from)
    .collect()
}

/// The org's app named `name`, if any.
pub async fn find_by_name(conn: &mut Conn, org: &OrgId, name: &str) -> Result<Option<ConnectedApp>, StoreError> {
    if crate::text::unstorable(name) {
        return Ok(None);
    }
    sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM connected_apps WHERE org_id = $1 AND name = $2"
    ))
    .bind(org.as_str())
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?
    .map(ConnectedApp::try_from)
    .transpose()
}

/// Replaces an app's secret digest (rotation); `true` when the app exists.
pub async fn set_secret(conn: &mut Conn, client_id: &str, digest: &SecretDigest) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE connected_apps SET secret_digest = $2 WHERE client_id = $1")
        .bind(client_id)
        .bind(digest.as_bytes().as_slice())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Turns one of an app's switches on or off; `true` when the app exists.
pub async fn set_switch(conn: &mut Conn, client_id: &str, switch: Switch, on: bool) -> Result<bool, StoreError> {
    let done = sqlx::query(&format!(
        "UPDATE connected_apps SET {} = $2 WHERE client_id = $1",
        switch.column()
    ))
    .bind(client_id)
    .bind(i64::from(on))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Registers (or with `None` removes) the key that checks an app's JWT assertions;
/// `true` when the app exists.
pub async fn set_jwt_public_key(conn: &mut Conn, client_id: &str, pem: Option<&str>) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE connected_apps SET jwt_public_key = $2 WHERE client_id = $1")
        .bind(client_id)
        .bind(pem)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Writes an app's OAuth policies; `true` when the app exists.
pub async fn set_policies(conn: &mut Conn, client_id: &str, policies: &Policies) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE connected_apps SET admin_approved_only = $2, refresh_token_minutes = $3, relax_ip = $4, scopes = $5 \
         WHERE client_id = $1",
    )
    .bind(client_id)
    .bind(i64::from(policies.admin_approved_only))
    .bind(policies.refresh_token_minutes)
    .bind(i64::from(policies.relax_ip))
    .bind(&policies.scopes)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

//! The OAuth 2.0 JWT bearer flow (RFC 7523), as Salesforce runs it: the app signs an
//! assertion with the private key of the certificate it registered — `iss` its client
//! id, `sub` the username, `aud` a login host Salesforce takes (this server's URL,
//! `https://login.salesforce.com`, `https://test.salesforce.com`), `exp` a few minutes
//! ahead in any shape the clients write it, RS256 — and gets an access token for a user who authorised the app (by
//! consent or an administrator's pre-authorisation). No password and no secret travel.

use std::net::IpAddr;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use latchkey_core::status::LoginStatus;
use latchkey_store::app_authorizations;
use latchkey_store::apps::{self, ConnectedApp};
use serde::Deserialize;

use crate::accounts::admin::Admin;
use crate::login::Admitted;
use crate::{AccountError, Services};

/// The longest an assertion may live ahead of now: Salesforce's guide says three
/// minutes, the clients it takes assertions from send up to five.
pub const MAX_LIFETIME_SECONDS: u64 = 300;

/// The login hosts Salesforce takes as an assertion's audience besides the org's own
/// URL; the Salesforce CLI and simple-salesforce send one of them whatever URL they
/// log in at.
pub const SALESFORCE_AUDIENCES: [&str; 2] = ["https://login.salesforce.com", "https://test.salesforce.com"];

/// Above this an `exp` is read as milliseconds: the Salesforce CLI writes
/// `Date.now() + 300`, and no expiry in seconds is this far off (the year 5138).
const EXP_IN_MILLISECONDS: u64 = 100_000_000_000;

/// How far the client's clock may be off.
const LEEWAY_SECONDS: u64 = 5;

/// The grant type.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Why an assertion was refused: `(error, error_description)` for the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwtRefusal(pub &'static str, pub &'static str);

const INVALID: JwtRefusal = JwtRefusal("invalid_grant", "invalid assertion");

/// What a JWT bearer grant came to.
#[derive(Debug)]
pub enum Bearer {
    /// Admitted, for this app.
    Admitted(Box<Admitted>, Box<ConnectedApp>),
    /// The user is refused (frozen, locked, inactive, restricted IP).
    Refused(LoginStatus),
    /// The assertion is refused.
    Invalid(JwtRefusal),
}

/// The claims read after verification (`iss` and `aud` are checked by the validation).
#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: Exp,
}

/// An `exp` as the clients write it: seconds as a number or a string of digits
/// (simple-salesforce), or milliseconds (the Salesforce CLI).
#[derive(Deserialize)]
#[serde(untagged)]
enum Exp {
    Number(u64),
    Text(String),
}

impl Exp {
    /// Seconds since the epoch, if the claim is a time at all.
    fn seconds(&self) -> Option<u64> {
        let raw = match self {
            Self::Number(n) => *n,
            Self::Text(t) => t.trim().parse().ok()?,
        };
        Some(if raw > EXP_IN_MILLISECONDS { raw / 1000 } else { raw })
    }
}

/// The unverified `iss` of an assertion (to find the app whose key verifies it).
fn issuer(assertion: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Issuer {
        iss: String,
    }
    let payload = assertion.split('.').nth(1)?;
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).ok()?;
    serde_json::from_slice::<Issuer>(&bytes).ok().map(|c| c.iss)
}

/// Checks that `pem` is an RSA certificate or public key.
pub fn check_key(pem: &str) -> Result<(), AccountError> {
    DecodingKey::from_rsa_pem(pem.as_bytes())
        .map(|_| ())
        .map_err(|_| AccountError::Invalid("not an RSA certificate or public key in PEM".into()))
}

impl Services {
    /// The JWT bearer grant: `audience` is this org server's login URL.
    pub async fn jwt_bearer(&self, assertion: &str, audience: &str, ip: IpAddr) -> Result<Bearer, AccountError> {
        let Some(client_id) = issuer(assertion) else {
            return Ok(Bearer::Invalid(INVALID));
        };
        let Some(app) = self.decision_app(&client_id).await? else {
            return Ok(Bearer::Invalid(JwtRefusal(
                "invalid_client_id",
                "client identifier invalid",
            )));
        };
        let Some(key) = app
            .jwt_public_key
            .as_deref()
            .and_then(|pem| DecodingKey::from_rsa_pem(pem.as_bytes()).ok())
        else {
            return Ok(Bearer::Invalid(INVALID));
        };
        let mut validation = Validation::new(Algorithm::RS256);
        // Expiry is checked below, on the org's clock and in the shapes the clients
        // write it.
        validation.validate_exp = false;
        validation.set_issuer(&[client_id.as_str()]);
        validation.set_required_spec_claims(&["iss", "sub", "aud"]);
        let audiences: Vec<String> = std::iter::once(audience.trim_end_matches('/'))
            .chain(SALESFORCE_AUDIENCES)
            .flat_map(|a| [a.to_owned(), format!("{a}/")])
            .collect();
        validation.set_audience(&audiences);
        let claims = match jsonwebtoken::decode::<Claims>(assertion, &key, &validation) {
            Ok(data) => data.claims,
            Err(e) => {
                return Ok(Bearer::Invalid(match e.kind() {
                    jsonwebtoken::errors::ErrorKind::InvalidAudience => {
                        JwtRefusal("invalid_grant", "audience is invalid")
                    }
                    _ => INVALID,
                }))
            }
        };
        let now = u64::try_from(self.clock.now().timestamp()).unwrap_or_default();
        match claims.exp.seconds() {
            Some(exp) if exp + LEEWAY_SECONDS >= now && exp <= now + MAX_LIFETIME_SECONDS + LEEWAY_SECONDS => {}
            _ => return Ok(Bearer::Invalid(INVALID)),
        }
        let not_approved = JwtRefusal("invalid_grant", "user hasn't approved this consumer");
        let user = match self.user(&claims.sub).await {
            Ok(user) if user.org_id == app.org_id => user,
            Ok(_) | Err(AccountError::NotFound(_)) => return Ok(Bearer::Invalid(not_approved)),
            Err(e) => return Err(e),
        };
        let mut conn = self.store.conn().await?;
        let approval = app_authorizations::find(&mut conn, &app.client_id, &user.id).await?;
        drop(conn);
        match approval {
            None => return Ok(Bearer::Invalid(not_approved)),
            Some(false) if app.admin_approved_only => {
                return Ok(Bearer::Invalid(JwtRefusal(
                    "invalid_app_access",
                    "user is not admin approved to access this app",
                )))
            }
            Some(_) => {}
        }
        Ok(match self.login_without_password(&user.id, &app, ip).await? {
            Ok(admitted) => Bearer::Admitted(Box::new(admitted), Box::new(app)),
            Err(status) => Bearer::Refused(status),
        })
    }
}

impl Admin {
    /// Registers the certificate (or public key) of the org's app `app_name`'s JWT
    /// assertions.
    pub async fn set_app_jwt_key(
        &self,
        org: &latchkey_core::ids::OrgId,
        app_name: &str,
        pem: &str,
    ) -> Result<ConnectedApp, AccountError> {
        self.check(org)?;
        check_key(pem)?;
        let mut conn = self.services.store.conn().await?;
        let mut app = apps::find_by_name(&mut conn, org, app_name)
            .await?
            .ok_or_else(|| AccountError::NotFound(format!("connected app {app_name:?}")))?;
        apps::set_jwt_public_key(&mut conn, &app.client_id, Some(pem)).await?;
        app.jwt_public_key = Some(pem.to_owned());
        self.services.decisions_changed();
        tracing::info!(client = %app.name, "JWT certificate registered");
        Ok(app)
    }
}

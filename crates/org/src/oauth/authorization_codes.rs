//! The authorization-code ("web server") flow of OAuth 2.0 with PKCE (RFC 6749 §4.1,
//! RFC 7636): the checks of an authorization request, the code a user's consent
//! issues (15 minutes, once, only its digest kept), and the code's exchange for an
//! access token and — when the scopes ask for one — a refresh token. The integration
//! never holds the user's password, so a password reset cannot break it.

use std::net::IpAddr;

use chrono::Duration;
use latchkey_core::secret::{pkce_challenge as s256, random_alphanumeric, SecretDigest};
use latchkey_core::status::LoginStatus;
use latchkey_store::app_authorizations::{self, AppAuthorization};
use latchkey_store::apps::ConnectedApp;
use latchkey_store::authorization_codes::{self, AuthorizationCode, Spent};
use latchkey_store::refresh_tokens;
use latchkey_store::users::User;
use secrecy::{ExposeSecret, SecretString};

use crate::login::Admitted;
use crate::{AccountError, Services};

/// How long a code may wait for its exchange.
pub const CODE_VALID_MINUTES: i64 = 15;

/// The scopes an app may ask for, with what the consent page says of each.
pub const SCOPES: [(&str, &str); 9] = [
    ("api", "Access and manage your data"),
    ("refresh_token", "Perform requests on your behalf at any time"),
    ("offline_access", "Perform requests on your behalf at any time"),
    ("full", "Full access"),
    ("openid", "Access your unique identifier"),
    ("id", "Access your basic information"),
    ("profile", "Access your basic information"),
    ("email", "Access your e-mail address"),
    ("web", "Access your data in the browser"),
];

/// An authorization request's parameters.
#[derive(Debug, Clone, Default)]
pub struct AuthorizeRequest {
    /// Must be `code`.
    pub response_type: Option<String>,
    /// The app's consumer key.
    pub client_id: Option<String>,
    /// Where the answer goes: exactly the app's callback URL.
    pub redirect_uri: Option<String>,
    /// Space-separated scopes.
    pub scope: Option<String>,
    /// PKCE challenge.
    pub code_challenge: Option<String>,
    /// PKCE method: only `S256`.
    pub code_challenge_method: Option<String>,
}

/// Why an authorization request fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizeError {
    /// The client or its redirect URI cannot be trusted: show a page, never redirect
    /// (that would make the org an open redirector).
    Page(&'static str),
    /// Tell the app, at its registered redirect URI: `(error, error_description)`.
    Redirect(&'static str, &'static str),
}

/// A checked authorization request.
#[derive(Debug, Clone)]
pub struct Authorization {
    /// The app.
    pub app: ConnectedApp,
    /// The request's redirect URI (the registered one, or a loopback one with another
    /// port).
    pub redirect_uri: String,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// The PKCE challenge.
    pub code_challenge: Option<String>,
}

impl Authorization {
    /// The scopes, space-separated.
    pub fn scope(&self) -> String {
        self.scopes.join(" ")
    }

    /// What the consent page lists: one line per distinct description.
    pub fn descriptions(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for scope in &self.scopes {
            if let Some((_, text)) = SCOPES.iter().find(|(name, _)| name == scope) {
                if !out.contains(text) {
                    out.push(text);
                }
            }
        }
        out
    }
}

/// What a code exchange came to.
#[derive(Debug)]
pub enum Exchange {
    /// The user is admitted; a refresh token when the scopes asked for one.
    Admitted {
        /// The admitted login.
        admitted: Box<Admitted>,
        /// The new refresh token and its digest.
        refresh: Option<(SecretString, SecretDigest)>,
        /// The granted scopes.
        scope: String,
    },
    /// The code is right but its user is refused (frozen, inactive …).
    Refused(LoginStatus),
    /// `invalid_grant` with this description.
    Invalid(&'static str),
}

/// A loopback redirect URI (`http://127.0.0.1[:port]/…` or `http://[::1][:port]/…`)
/// split into host and the rest, without the port.
fn loopback(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    let host = if let Some(v6) = authority.strip_prefix("[::1]") {
        (v6.is_empty()
            || v6
                .strip_prefix(':')
                .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit())))
        .then_some("[::1]")
    } else {
        let (host, port) = authority.split_once(':').unwrap_or((authority, ""));
        (host == "127.0.0.1" && port.bytes().all(|b| b.is_ascii_digit())).then_some("127.0.0.1")
    }?;
    Some((host, path))
}

/// Whether `requested` is the registered redirect URI — or, when that is a loopback
/// one, the same on any port (RFC 8252 §7.3: native apps listen on a port of the
/// moment).
fn redirect_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    matches!((loopback(registered), loopback(requested)), (Some(a), Some(b)) if a == b)
}

/// A PKCE challenge's or verifier's shape: 43 to `max` of `A-Z a-z 0-9 - . _ ~`.
fn pkce_shaped(s: &str, max: usize) -> bool {
    (43..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The longest challenge (RFC 7636 allows 128; an S256 challenge has 43).
const MAX_CHALLENGE: usize = 128;

/// The longest verifier accepted: RFC 7636 says 128, but jsforce sends 171 characters
/// (base64url of 128 random bytes) and Salesforce takes them, so we do too.
const MAX_VERIFIER: usize = 256;

/// A new refresh token (shown once) and its digest.
pub(crate) fn new_refresh_token() -> (SecretString, SecretDigest) {
    let token = SecretString::from(format!("5Aep861{}", random_alphanumeric(80).expose_secret()));
    let digest = SecretDigest::of(token.expose_secret());
    (token, digest)
}

/// Whether a user may authorise a connected app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppAccess {
    /// Yes.
    Allowed,
    /// The app admits only users an administrator approved, and this one is not.
    NotApproved,
    /// The user belongs to another org than the app.
    OtherOrg,
}

impl Services {
    /// Checks an authorization request (before any login or consent).
    pub async fn check_authorization(&self, req: &AuthorizeRequest) -> Result<Authorization, AuthorizeError> {
        let client_id = req.client_id.as_deref().unwrap_or_default();
        let app = match self.decision_app(client_id).await {
            Ok(Some(app)) if !client_id.is_empty() => app,
            Ok(_) => {
                return Err(AuthorizeError::Page(
                    "The app that sent you here is not known to this org.",
                ))
            }
            Err(e) => {
                tracing::error!(error = %e, "an authorization request could not be checked");
                return Err(AuthorizeError::Page(
                    "The request could not be checked just now. Try again.",
                ));
            }
        };
        let registered = app.callback_url.clone().unwrap_or_default();
        let requested = req.redirect_uri.clone().unwrap_or_default();
        if registered.is_empty() || !redirect_matches(&registered, &requested) {
            return Err(AuthorizeError::Page(
                "redirect_uri must match configuration: the app asked to send you to an address it has not registered.",
            ));
        }
        if req.response_type.as_deref() != Some("code") {
            return Err(AuthorizeError::Redirect(
                "unsupported_response_type",
                "response type not supported",
            ));
        }
        let scope = req
            .scope
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(&app.scopes)
            .to_owned();
        let mut scopes: Vec<String> = Vec::new();
        for s in scope.split_whitespace() {
            // `full` covers every other scope.
            let granted = app.scopes.split_whitespace().any(|a| a == s || a == "full");
            if !SCOPES.iter().any(|(name, _)| *name == s) || !granted {
                return Err(AuthorizeError::Redirect(
                    "invalid_scope",
                    "the requested scope is not allowed",
                ));
            }
            if !scopes.iter().any(|have| have == s) {
                scopes.push(s.to_owned());
            }
        }
        let code_challenge = match (req.code_challenge.as_deref(), req.code_challenge_method.as_deref()) {
            (None, _) if app.public_client => {
                return Err(AuthorizeError::Redirect(
                    "invalid_request",
                    "missing required code challenge",
                ))
            }
            (None, _) => None,
            // Salesforce documents only S256 and takes a challenge without a method as
            // S256 (jsforce sends none), unlike RFC 7636's default of `plain`.
            (Some(c), None | Some("S256")) if pkce_shaped(c, MAX_CHALLENGE) => Some(c.to_owned()),
            (Some(_), None | Some("S256")) => {
                return Err(AuthorizeError::Redirect("invalid_request", "invalid code challenge"))
            }
            (Some(_), _) => {
                return Err(AuthorizeError::Redirect(
                    "invalid_request",
                    "code_challenge_method must be S256",
                ))
            }
        };
        Ok(Authorization {
            app,
            redirect_uri: requested,
            scopes,
            code_challenge,
        })
    }

    /// Whether `user` may use the app: only a user of the app's own org, and with the
    /// policy "admin approved users are pre-authorised" only users an administrator
    /// authorised. Decided before any consent is shown.
    pub async fn may_use_app(&self, app: &ConnectedApp, user: &User) -> Result<AppAccess, AccountError> {
        if user.org_id != app.org_id {
            return Ok(AppAccess::OtherOrg);
        }
        if !app.admin_approved_only {
            return Ok(AppAccess::Allowed);
        }
        let mut conn = self.store.conn().await?;
        Ok(
            if app_authorizations::find(&mut conn, &app.client_id, &user.id).await? == Some(true) {
                AppAccess::Allowed
            } else {
                AppAccess::NotApproved
            },
        )
    }

    /// The user allowed the app: a code for the app to exchange (shown once).
    pub async fn issue_code(&self, authorization: &Authorization, user: &User) -> Result<SecretString, AccountError> {
        if user.org_id != authorization.app.org_id {
            return Err(AccountError::Invalid("the app belongs to another org".into()));
        }
        let code = SecretString::from(format!("aPrx{}", random_alphanumeric(60).expose_secret()));
        let now = self.clock.now();
        let record = AuthorizationCode {
            client_id: authorization.app.client_id.clone(),
            user_id: user.id.clone(),
            redirect_uri: authorization.redirect_uri.clone(),
            scope: authorization.scope(),
            code_challenge: authorization.code_challenge.clone(),
        };
        let mut tx = self.store.begin().await?;
        app_authorizations::grant(&mut tx, &authorization.app.client_id, &user.id, false, now).await?;
        authorization_codes::purge(&mut tx, now - Duration::days(1)).await?;
        authorization_codes::insert(
            &mut tx,
            &SecretDigest::of(code.expose_secret()),
            &record,
            now,
            now + Duration::minutes(CODE_VALID_MINUTES),
        )
        .await?;
        latchkey_store::commit(tx).await?;
        tracing::info!(client = %authorization.app.name, user_id = %user.id, "authorization code issued");
        Ok(code)
    }

    /// The apps `user` authorised, by name.
    pub async fn authorized_apps(&self, user: &User) -> Result<Vec<AppAuthorization>, AccountError> {
        let mut conn = self.store.conn().await?;
        Ok(app_authorizations::for_user(&mut conn, &user.id).await?)
    }

    /// Every authorisation of the org's apps (administrators' view of OAuth usage).
    pub async fn oauth_usage(&self, org: &latchkey_core::ids::OrgId) -> Result<Vec<AppAuthorization>, AccountError> {
        let mut conn = self.store.conn().await?;
        Ok(app_authorizations::for_org(&mut conn, org).await?)
    }

    /// Revokes `user`'s authorisation of the app `client_id` and every token the app
    /// holds for the user; `true` when there is one.
    pub async fn revoke_app_authorization(&self, user: &User, client_id: &str) -> Result<bool, AccountError> {
        let mut tx = self.store.begin().await?;
        let revoked = app_authorizations::revoke(&mut tx, client_id, &user.id).await?;
        latchkey_store::commit(tx).await?;
        self.forget_tokens(&user.id);
        if revoked {
            tracing::info!(user_id = %user.id, client_id, "app authorization revoked");
        }
        Ok(revoked)
    }

    /// Revokes a refresh-token family and its access tokens.
    pub(crate) async fn revoke_family(&self, family: &[u8]) -> Result<(), AccountError> {
        let mut tx = self.store.begin().await?;
        let owner = refresh_tokens::delete_family(&mut tx, family).await?;
        latchkey_store::commit(tx).await?;
        if let Some(user) = &owner {
            self.forget_tokens(user);
            tracing::warn!(user_id = %user, "a refresh-token family was revoked (a used code or token came back)");
        }
        Ok(())
    }

    /// The `authorization_code` grant for `app` (already authenticated by its secret,
    /// or a public client). The code is spent whatever follows, so a wrong verifier
    /// cannot be retried against it.
    pub async fn exchange_code(
        &self,
        app: &ConnectedApp,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        ip: IpAddr,
    ) -> Result<Exchange, AccountError> {
        let digest = SecretDigest::of(code);
        let mut conn = self.store.conn().await?;
        let spent = authorization_codes::spend(&mut conn, &digest, &app.client_id, self.clock.now()).await?;
        drop(conn);
        let record = match spent {
            Spent::Fresh(record) => record,
            Spent::Invalid => return Ok(Exchange::Invalid("invalid authorization code")),
            Spent::Replayed { family } => {
                if let Some(family) = family {
                    self.revoke_family(&family).await?;
                }
                return Ok(Exchange::Invalid("invalid authorization code"));
            }
        };
        if redirect_uri != Some(record.redirect_uri.as_str()) {
            return Ok(Exchange::Invalid("redirect_uri must match configuration"));
        }
        match (&record.code_challenge, verifier) {
            (Some(challenge), Some(v)) if pkce_shaped(v, MAX_VERIFIER) && &s256(v) == challenge => {}
            (Some(_), _) => return Ok(Exchange::Invalid("invalid code verifier")),
            (None, _) if app.public_client => return Ok(Exchange::Invalid("invalid code verifier")),
            (None, _) => {}
        }
        let admitted = match self.login_without_password(&record.user_id, app, ip).await? {
            Ok(admitted) => admitted,
            Err(status) => return Ok(Exchange::Refused(status)),
        };
        // "Immediately expire refresh token": none is issued.
        let wants_refresh = app.refresh_token_minutes != Some(0)
            && record
                .scope
                .split_whitespace()
                .any(|s| s == "refresh_token" || s == "offline_access");
        let refresh = if wants_refresh {
            let (token, token_digest) = new_refresh_token();
            let mut tx = self.store.begin().await?;
            refresh_tokens::insert(
                &mut tx,
                &token_digest,
                &app.client_id,
                &record.user_id,
                &admitted.org.id,
                self.clock.now(),
            )
            .await?;
            authorization_codes::set_family(&mut tx, &digest, token_digest.as_bytes()).await?;
            latchkey_store::commit(tx).await?;
            Some((token, token_digest))
        } else {
            None
        };
        Ok(Exchange::Admitted {
            admitted: Box::new(admitted),
            refresh,
            scope: record.scope,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects_may_use_any_port_and_nothing_else_may_vary() {
        assert!(redirect_matches("https://app.example/cb", "https://app.example/cb"));
        assert!(!redirect_matches(
            "https://app.example/cb",
            "https://app.example:444/cb"
        ));
        assert!(redirect_matches(
            "http://127.0.0.1/callback",
            "http://127.0.0.1:51234/callback"
        ));
        assert!(redirect_matches(
            "http://127.0.0.1:80/callback",
            "http://127.0.0.1:51234/callback"
        ));
        assert!(redirect_matches("http://[::1]/cb", "http://[::1]:9/cb"));
        assert!(!redirect_matches(
            "http://127.0.0.1/callback",
            "http://127.0.0.1:51234/other"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1/callback",
            "http://127.0.0.1.evil.example/callback"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1/callback",
            "http://127.0.0.1:80@evil.example/callback"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1/callback",
            "https://127.0.0.1/callback"
        ));
    }

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(pkce_shaped(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            MAX_CHALLENGE
        ));
        assert!(!pkce_shaped("short", MAX_VERIFIER));
        assert!(!pkce_shaped(&"a".repeat(129), MAX_CHALLENGE));
        assert!(pkce_shaped(&"a".repeat(171), MAX_VERIFIER));
        assert!(!pkce_shaped(&format!("{}+", "a".repeat(43)), MAX_VERIFIER));
    }
}

//! The OAuth 2.0 token endpoint `/services/oauth2/token` (wire-spec §6): the password,
//! client-credentials, refresh-token and authorization-code grants. Errors are HTTP 400
//! `{error, error_description}`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use hmac::{Hmac, Mac};
use latchkey_core::secret::SecretDigest;
use latchkey_core::status::LoginStatus;
use latchkey_store::apps::ConnectedApp;
use latchkey_store::users::User;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sha2::Sha256;

use super::{base_url, ClientIp, HttpState};
use crate::login::sessions::Issued;
use crate::login::{Admitted, Intent, LoginOutcome, LoginRequest};
use crate::oauth::apps::ClientRejection;
use crate::oauth::authorization_codes::Exchange;
use crate::oauth::jwt_bearer::{Bearer, JwtRefusal, GRANT_TYPE};
use crate::oauth::refresh_tokens::Refreshed;

pub(super) fn router() -> Router<HttpState> {
    Router::new().route("/services/oauth2/token", post(token))
}

/// An OAuth error: HTTP 400 `{error, error_description}`, or 500 `server_error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OAuthError {
    error: &'static str,
    description: &'static str,
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = if self.error == "server_error" {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::BAD_REQUEST
        };
        (
            status,
            Json(json!({ "error": self.error, "error_description": self.description })),
        )
            .into_response()
    }
}

fn error(error: &'static str, description: &'static str) -> OAuthError {
    OAuthError { error, description }
}

fn server_error() -> OAuthError {
    error("server_error", "internal error")
}

/// The form fields of a token request; secrets are wrapped on the way in.
#[derive(Default)]
struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    username: Option<String>,
    password: Option<SecretString>,
    refresh_token: Option<SecretString>,
    code: Option<SecretString>,
    redirect_uri: Option<String>,
    code_verifier: Option<SecretString>,
    assertion: Option<SecretString>,
}

/// What a grant issued.
struct Granted {
    user: User,
    issued: Issued,
    /// A new refresh token (authorization code with `refresh_token` scope, rotation).
    refresh_token: Option<SecretString>,
    scope: String,
}

impl Granted {
    fn of((user, issued): (User, Issued)) -> Self {
        Self {
            user,
            issued,
            refresh_token: None,
            scope: "api".into(),
        }
    }
}

fn parse_form(body: &[u8], headers: &HeaderMap) -> Result<TokenForm, OAuthError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.is_empty() && !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(error("invalid_request", "use application/x-www-form-urlencoded"));
    }
    if std::str::from_utf8(body).is_err() {
        return Err(error("invalid_request", "request body is not UTF-8"));
    }
    let mut form = TokenForm::default();
    for (k, v) in form_urlencoded::parse(body) {
        let v = v.into_owned();
        match k.as_ref() {
            "grant_type" => form.grant_type = Some(v),
            "client_id" => form.client_id = Some(v),
            "client_secret" => form.client_secret = Some(SecretString::from(v)),
            "username" => form.username = Some(v),
            "password" => form.password = Some(SecretString::from(v)),
            "refresh_token" => form.refresh_token = Some(SecretString::from(v)),
            "code" => form.code = Some(SecretString::from(v)),
            "redirect_uri" => form.redirect_uri = Some(v),
            "code_verifier" => form.code_verifier = Some(SecretString::from(v)),
            "assertion" => form.assertion = Some(SecretString::from(v)),
            _ => {}
        }
    }
    if form.client_id.is_none() {
        // HTTP Basic client authentication.
        let basic = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
            .and_then(|b| String::from_utf8(b).ok());
        if let Some((id, secret)) = basic.as_deref().and_then(|b| b.split_once(':')) {
            form.client_id = Some(id.to_owned());
            form.client_secret = Some(SecretString::from(secret.to_owned()));
        }
    }
    Ok(form)
}

/// `base64(HMAC-SHA256(client_secret, id ‖ issued_at))`.
pub fn signature(client_secret: &str, id: &str, issued_at: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(client_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(id.as_bytes());
    mac.update(issued_at.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

async fn token(
    State(state): State<HttpState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let form = parse_form(&body, &headers)?;
    let grant = form.grant_type.clone().unwrap_or_default();
    if ![
        "password",
        "client_credentials",
        "refresh_token",
        "authorization_code",
        GRANT_TYPE,
    ]
    .contains(&grant.as_str())
    {
        return Err(error("unsupported_grant_type", "grant type not supported"));
    }
    if grant == GRANT_TYPE {
        return jwt_token(&state, &form, &headers, ip).await;
    }
    let Some(client_id) = form.client_id.as_deref().filter(|c| !c.is_empty()) else {
        return Err(error("invalid_client_id", "client identifier invalid"));
    };
    let secret = form
        .client_secret
        .as_ref()
        .map(|s| s.expose_secret())
        .filter(|s| !s.is_empty());
    let public = secret.is_none() && matches!(grant.as_str(), "authorization_code" | "refresh_token");
    let checked = if public {
        state.services.public_client(client_id).await
    } else {
        state.services.authenticate_client(client_id, secret).await
    };
    let app = match checked {
        Ok(Ok(app)) => app,
        Ok(Err(ClientRejection::UnknownClient)) => return Err(error("invalid_client_id", "client identifier invalid")),
        Ok(Err(ClientRejection::BadSecret)) => return Err(error("invalid_client", "invalid client credentials")),
        Err(e) => {
            tracing::error!(error = %e, "client authentication failed internally");
            return Err(server_error());
        }
    };
    let granted = match grant.as_str() {
        "password" => Granted::of(password_grant(&state, &form, &app, ip).await?),
        "refresh_token" => refresh_grant(&state, &form, &app, ip).await?,
        "authorization_code" => code_grant(&state, &form, &app, ip).await?,
        _ => Granted::of(client_credentials(&state, &app, ip).await?),
    };
    let Granted {
        user,
        issued,
        refresh_token,
        scope,
    } = granted;
    let base = base_url(&state, &headers);
    let id = format!("{base}/id/{}/{}", user.org_id, user.id);
    let issued_at = state.services.clock.now().timestamp_millis().to_string();
    let signature = signature(secret.unwrap_or_default(), &id, &issued_at);
    let mut body = json!({
        "access_token": issued.id.expose_secret(),
        "instance_url": base,
        "id": id,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": signature,
        "scope": scope,
    });
    if let Some(token) = refresh_token {
        body["refresh_token"] = json!(token.expose_secret());
    }
    Ok((StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

/// The JWT bearer grant's answer. The assertion names and authenticates the client:
/// no secret travels, and the answer carries no signature.
async fn jwt_token(
    state: &HttpState,
    form: &TokenForm,
    headers: &HeaderMap,
    ip: std::net::IpAddr,
) -> Result<Response, OAuthError> {
    // The assertion's audience is this server: `[server] public_url` when set (a Host
    // header is the caller's to choose), else the address it is reached at.
    let base = base_url(state, headers);
    let audience = state.public_url.clone().unwrap_or_else(|| base.clone());
    let (user, issued) = jwt_grant(state, form, &audience, ip).await?;
    let id = format!("{base}/id/{}/{}", user.org_id, user.id);
    let body = json!({
        "access_token": issued.id.expose_secret(),
        "instance_url": base,
        "id": id,
        "token_type": "Bearer",
        "scope": "api",
    });
    Ok((StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

fn internal(what: &'static str) -> impl FnOnce(crate::AccountError) -> OAuthError {
    move |e| {
        tracing::error!(error = %e, "{what} failed internally");
        server_error()
    }
}

/// OAuth's error for a refused login.
fn refused(status: LoginStatus) -> OAuthError {
    match status {
        LoginStatus::RestrictedIp => error("invalid_grant", "ip restricted"),
        LoginStatus::UserInactive => error("invalid_grant", "inactive user"),
        _ => error("invalid_grant", "authentication failure"),
    }
}

async fn password_grant(
    state: &HttpState,
    form: &TokenForm,
    app: &ConnectedApp,
    ip: std::net::IpAddr,
) -> Result<(User, Issued), OAuthError> {
    let username = form.username.as_deref().unwrap_or_default();
    let empty = SecretString::from(String::new());
    let password = form.password.as_ref().unwrap_or(&empty);
    if username.trim().is_empty() || password.expose_secret().is_empty() {
        return Err(error("invalid_grant", "authentication failure"));
    }
    let req = LoginRequest {
        username,
        secret: password,
        ip,
        intent: Intent::OAuthPassword(app),
    };
    // An expired password gets no session over OAuth: a plain refusal.
    let login = state.services.login(&req).await.map_err(internal("OAuth login"))?;
    match (login.outcome, login.session) {
        (LoginOutcome::Success { user, .. }, Some(issued)) => Ok((*user, issued)),
        (LoginOutcome::Success { .. }, None) => Err(error("invalid_grant", "authentication failure")),
        (LoginOutcome::Refused(status), _) => Err(refused(status)),
    }
}

/// Issues the session of an admitted password-less grant.
async fn admit(
    state: &HttpState,
    admitted: Admitted,
    app: &ConnectedApp,
    refresh: Option<&SecretDigest>,
) -> Result<(User, Issued), OAuthError> {
    let user = admitted.user.clone();
    let issued = state
        .services
        .issue_admitted_session(admitted, &app.client_id, refresh)
        .await
        .map_err(internal("issuing an OAuth session"))?;
    Ok((user, issued))
}

/// The refresh-token grant (wire-spec §6.4): a new access token; a new refresh token
/// only for apps that rotate them.
async fn refresh_grant(
    state: &HttpState,
    form: &TokenForm,
    app: &ConnectedApp,
    ip: std::net::IpAddr,
) -> Result<Granted, OAuthError> {
    let expired = error("invalid_grant", "expired access/refresh token");
    let Some(token) = form.refresh_token.as_ref().filter(|t| !t.expose_secret().is_empty()) else {
        return Err(expired);
    };
    match state
        .services
        .redeem_refresh_token(app, token, ip)
        .await
        .map_err(internal("refresh-token grant"))?
    {
        Refreshed::Admitted(admitted, digest, next) => {
            let mut granted = Granted::of(admit(state, *admitted, app, Some(&digest)).await?);
            granted.refresh_token = next;
            Ok(granted)
        }
        Refreshed::Refused(status) => Err(refused(status)),
        Refreshed::Expired => Err(expired),
    }
}

/// The authorization-code grant of the web-server flow (with PKCE).
async fn code_grant(
    state: &HttpState,
    form: &TokenForm,
    app: &ConnectedApp,
    ip: std::net::IpAddr,
) -> Result<Granted, OAuthError> {
    let Some(code) = form.code.as_ref().filter(|c| !c.expose_secret().is_empty()) else {
        return Err(error("invalid_grant", "invalid authorization code"));
    };
    let verifier = form.code_verifier.as_ref().map(|v| v.expose_secret());
    match state
        .services
        .exchange_code(app, code.expose_secret(), form.redirect_uri.as_deref(), verifier, ip)
        .await
        .map_err(internal("authorization-code grant"))?
    {
        Exchange::Admitted {
            admitted,
            refresh,
            scope,
        } => {
            let (token, digest) = refresh.unzip();
            let mut granted = Granted::of(admit(state, *admitted, app, digest.as_ref()).await?);
            granted.refresh_token = token;
            granted.scope = scope;
            Ok(granted)
        }
        Exchange::Refused(status) => Err(refused(status)),
        Exchange::Invalid(description) => Err(error("invalid_grant", description)),
    }
}

/// The JWT bearer grant: the assertion's `iss` is the app, its `sub` the user.
async fn jwt_grant(
    state: &HttpState,
    form: &TokenForm,
    audience: &str,
    ip: std::net::IpAddr,
) -> Result<(User, Issued), OAuthError> {
    let Some(assertion) = form.assertion.as_ref().filter(|a| !a.expose_secret().is_empty()) else {
        return Err(error("invalid_grant", "invalid assertion"));
    };
    match state
        .services
        .jwt_bearer(assertion.expose_secret(), audience, ip)
        .await
        .map_err(internal("JWT bearer grant"))?
    {
        Bearer::Admitted(admitted, app) => admit(state, *admitted, &app, None).await,
        Bearer::Refused(status) => Err(refused(status)),
        Bearer::Invalid(JwtRefusal(code, description)) => Err(error(code, description)),
    }
}

async fn client_credentials(
    state: &HttpState,
    app: &ConnectedApp,
    ip: std::net::IpAddr,
) -> Result<(User, Issued), OAuthError> {
    if app.run_as.is_none() {
        return Err(error("invalid_grant", "no client credentials user enabled"));
    }
    match state
        .services
        .login_as_app(app, ip)
        .await
        .map_err(internal("client-credentials grant"))?
    {
        Ok(admitted) => admit(state, admitted, app, None).await,
        Err(status) => Err(refused(status)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_matches_the_documented_construction() {
        // base64(HMAC-SHA256("secret", "id" + "123")), computed independently.
        assert_eq!(
            super::signature("secret", "id", "123"),
            "E1ZFpJGNCJA5GZ4eGiIEpDcGTEOD67n7XTBPPCnJimI="
        );
    }
}

//! Identity for OAuth clients (wire-spec §6.5–6.7): the identity URL
//! `/id/{orgId}/{userId}`, OpenID Connect `userinfo`, and token revocation.
//! Access tokens come as `Authorization: Bearer|OAuth <token>` or `?oauth_token=`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use latchkey_store::sessions::Session;
use latchkey_store::users::User;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{base_url, HttpState};

pub(super) fn router() -> Router<HttpState> {
    Router::new()
        .route("/id/{org}/{user}", get(identity))
        .route("/services/oauth2/userinfo", get(userinfo))
        .route("/services/oauth2/revoke", post(revoke_post).get(revoke_get))
}

/// The access token of a request: the Authorization header (`Bearer` or `OAuth`, any
/// case) or the `oauth_token` query parameter.
pub(super) fn access_token(headers: &HeaderMap, query_token: Option<&str>) -> Option<String> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth"))
                .then(|| token.trim().to_owned())
        });
    from_header
        .or_else(|| query_token.map(str::to_owned))
        .filter(|t| !t.is_empty())
}

fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!([{ "message": message, "errorCode": code }]))).into_response()
}

fn server_error() -> Response {
    json_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred.",
    )
}

/// The live, unrestricted session and its user, or the error response.
async fn authorised(state: &HttpState, token: Option<String>) -> Result<(Session, User), Response> {
    let Some(token) = token else {
        return Err(json_error(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        ));
    };
    let session = match state.services.session(&token).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Err(json_error(
                StatusCode::UNAUTHORIZED,
                "INVALID_SESSION_ID",
                "Session expired or invalid",
            ))
        }
        Err(e) => {
            tracing::error!(error = %e, "session lookup failed");
            return Err(server_error());
        }
    };
    if session.restricted {
        // Not 401: clients would log in again and loop (wire-spec §8).
        return Err(json_error(
            StatusCode::FORBIDDEN,
            "INVALID_OPERATION_WITH_EXPIRED_PASSWORD",
            "Your password has expired. Please reset your password.",
        ));
    }
    let (user, _) = state
        .services
        .user_and_org(&session.user_id)
        .await
        .map_err(|_| server_error())?;
    Ok((session, user))
}

#[derive(Deserialize)]
struct IdQuery {
    oauth_token: Option<String>,
    version: Option<String>,
    format: Option<String>,
}

fn urls(base: &str, version: &str, org15: &str) -> Value {
    let v = version;
    json!({
        "enterprise": format!("{base}/services/Soap/c/{v}/{org15}"),
        "metadata": format!("{base}/services/Soap/m/{v}/{org15}"),
        "partner": format!("{base}/services/Soap/u/{v}/{org15}"),
        "rest": format!("{base}/services/data/v{v}/"),
        "sobjects": format!("{base}/services/data/v{v}/sobjects/"),
        "search": format!("{base}/services/data/v{v}/search/"),
        "query": format!("{base}/services/data/v{v}/query/"),
        "recent": format!("{base}/services/data/v{v}/recent/"),
        "profile": format!("{base}/"),
        "custom_domain": base,
    })
}

fn version_of(q: Option<&str>) -> String {
    match q {
        Some(v) if v != "latest" && v.chars().all(|c| c.is_ascii_digit() || c == '.') => v.to_owned(),
        _ => "59.0".to_owned(),
    }
}

fn rfc(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string()
}

async fn identity(
    State(state): State<HttpState>,
    Path((org, user_id)): Path<(String, String)>,
    Query(q): Query<IdQuery>,
    headers: HeaderMap,
) -> Response {
    if q.format.as_deref().is_some_and(|f| f != "json") {
        return json_error(
            StatusCode::BAD_REQUEST,
            "INVALID_FORMAT",
            "only format=json is supported",
        );
    }
    let (session, user) = match authorised(&state, access_token(&headers, q.oauth_token.as_deref())).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let same_user = latchkey_core::ids::canonical(&user_id).ok().as_deref() == Some(session.user_id.as_str())
        && latchkey_core::ids::canonical(&org).ok().as_deref() == Some(session.org_id.as_str());
    if !same_user {
        return json_error(
            StatusCode::FORBIDDEN,
            "INSUFFICIENT_ACCESS",
            "The identity URL names another user.",
        );
    }
    let base = base_url(&state, &headers);
    let id = format!("{base}/id/{}/{}", user.org_id, user.id);
    let body = json!({
        "id": id,
        "asserted_user": true,
        "user_id": user.id.as_str(),
        "organization_id": user.org_id.as_str(),
        "username": user.username,
        "nick_name": user.username.split('@').next().unwrap_or_default(),
        "display_name": user.full_name(),
        "email": user.email,
        "email_verified": true,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "timezone": "UTC",
        "photos": { "picture": Value::Null, "thumbnail": Value::Null },
        "addr_street": Value::Null, "addr_city": Value::Null, "addr_state": Value::Null,
        "addr_country": Value::Null, "addr_zip": Value::Null,
        "mobile_phone": Value::Null, "mobile_phone_verified": false,
        "is_lightning_login_user": false,
        "status": { "created_date": Value::Null, "body": Value::Null },
        "urls": urls(&base, &version_of(q.version.as_deref()), user.org_id.short()),
        "active": user.active,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "last_modified_date": rfc(user.created_at),
        "is_app_installed": true,
    });
    Json(body).into_response()
}

async fn userinfo(State(state): State<HttpState>, Query(q): Query<IdQuery>, headers: HeaderMap) -> Response {
    let (_, user) = match authorised(&state, access_token(&headers, q.oauth_token.as_deref())).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let base = base_url(&state, &headers);
    Json(json!({
        "sub": format!("{base}/id/{}/{}", user.org_id, user.id),
        "user_id": user.id.as_str(),
        "organization_id": user.org_id.as_str(),
        "preferred_username": user.username,
        "nickname": user.username.split('@').next().unwrap_or_default(),
        "name": user.full_name(),
        "email": user.email,
        "email_verified": true,
        "given_name": user.first_name,
        "family_name": user.last_name,
        "zoneinfo": "UTC",
        "photos": { "picture": Value::Null, "thumbnail": Value::Null },
        "profile": format!("{base}/{}", user.id),
        "picture": Value::Null,
        "address": {},
        "urls": urls(&base, "59.0", user.org_id.short()),
        "active": user.active,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "updated_at": rfc(user.created_at),
        // A Latchkey claim (Salesforce has none): lets desktop clients warn before the
        // password — and with it the security token — changes.
        "password_expires_at": user.password_expires_at.map(rfc),
    }))
    .into_response()
}

#[derive(Deserialize)]
struct RevokeQuery {
    token: Option<String>,
}

fn revoke_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

async fn revoke(state: &HttpState, token: Option<String>) -> Response {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return revoke_error("unsupported_token_type", "missing token");
    };
    // An access token (session) or a refresh token (which takes its access tokens along).
    let revoked = match state.services.end_session(&token).await {
        Ok(false) => state.services.revoke_refresh_token(&token).await,
        other => other,
    };
    match revoked {
        Ok(true) => StatusCode::OK.into_response(),
        Ok(false) => revoke_error("invalid_token", "invalid token"),
        Err(e) => {
            tracing::error!(error = %e, "revocation failed");
            server_error()
        }
    }
}

async fn revoke_post(State(state): State<HttpState>, body: Bytes) -> Response {
    let token = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned());
    revoke(&state, token).await
}

async fn revoke_get(State(state): State<HttpState>, Query(q): Query<RevokeQuery>) -> Response {
    revoke(&state, q.token).await
}

//! The REST data API (wire-spec §7): versions, resources, limits, sObjects (describe,
//! CRUD, upsert, replication feeds), SOQL query/queryAll with paging, and collections.
//! Every path is served with and without a trailing slash. Errors are JSON arrays of
//! `{message, errorCode[, fields]}`; 5xx only for real server failures.

mod collections;
mod describe;
mod jobs;
mod layouts;
mod listviews;
mod query;
mod sobjects;
mod tree;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, MethodRouter};
use axum::Router;
use latchkey_core::records::ObjectKind;
use serde_json::{json, Value as Json};

use super::identity::access_token;
use super::versions::{release_label, Version};
use super::HttpState;
use crate::records::{Caller, RestError, Usage};

/// A JSON response with the content type both clients require.
pub(super) fn json_response(status: StatusCode, body: &Json) -> Response {
    json_text_response(status, body.to_string())
}

/// Like [`json_response`], for a body already serialised.
pub(super) fn json_text_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    response
}

/// A REST error array with one element.
pub(super) fn error_response(status: StatusCode, code: &str, message: &str, fields: &[String]) -> Response {
    let mut item = json!({ "message": message, "errorCode": code });
    if !fields.is_empty() {
        item["fields"] = json!(fields);
    }
    json_response(status, &json!([item]))
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match &self {
            RestError::Internal(e) => {
                tracing::error!(error = %e, "records request failed");
                error_response(
                    status,
                    code,
                    "An unexpected error occurred. Please include the request id when reporting it.",
                    &[],
                )
            }
            RestError::Ambiguous(ids) => json_response(status, &json!(ids)),
            other => error_response(status, code, &other.to_string(), &other.fields()),
        }
    }
}

/// Registers `path` and `path/`.
fn both(router: Router<HttpState>, path: &str, method: MethodRouter<HttpState>) -> Router<HttpState> {
    router.route(path, method.clone()).route(&format!("{path}/"), method)
}

/// The REST routes (all but the version list behind [`authenticate`]).
pub(super) fn router(state: HttpState) -> Router<HttpState> {
    let base = "/services/data/{version}";
    let mut api = Router::new();
    api = both(api, base, get(resources));
    api = both(api, &format!("{base}/limits"), get(limits));
    api = both(api, &format!("{base}/limits/recordCount"), get(record_count));
    api = sobjects::routes(api, base);
    api = listviews::routes(api, base);
    api = query::routes(api, base);
    api = collections::routes(api, base);
    api = jobs::routes(api, base);
    api = tree::routes(api, base);
    api = api.route(&format!("{base}/{{*rest}}"), any(unknown_resource));
    let api = api.layer(axum::middleware::from_fn_with_state(state, authenticate));
    let public = both(Router::new(), "/services/data", get(versions));
    public.merge(api)
}

/// The routes whose bodies are large (Bulk API uploads), behind [`authenticate`]; the
/// caller layers their own body limit.
pub(super) fn upload_router(state: HttpState) -> Router<HttpState> {
    jobs::upload_routes(Router::new(), "/services/data/{version}")
        .layer(axum::middleware::from_fn_with_state(state, authenticate))
}

/// The version a `/services/data/vNN.N/…` path names, as written (not yet checked).
fn path_version(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/services/data/v")?;
    rest.split('/').next()
}

/// The JSON error of a resource that does not exist.
pub(super) fn not_found() -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The requested resource does not exist",
        &[],
    )
}

/// Any path under a version that names no resource (behind [`authenticate`], so a bad
/// session is told so first).
async fn unknown_resource() -> Response {
    not_found()
}

/// Checks the session, the profile's API permission and the org's daily allowance;
/// passes the [`Caller`] on and reports usage in `Sforce-Limit-Info`.
///
/// A retired version is answered `410 GONE` before anything else, as Salesforce
/// answers it; a version never served is a resource that does not exist, once the
/// session is known to be good.
async fn authenticate(State(state): State<HttpState>, mut request: Request, next: Next) -> Response {
    let version = path_version(request.uri().path()).map(|v| (v.to_owned(), state.api_versions.of(v)));
    if let Some((v, Version::Retired)) = version {
        return error_response(
            StatusCode::GONE,
            "GONE",
            &format!(
                "API version {v} is retired. Use version {}.0 or later.",
                super::versions::OLDEST
            ),
            &[],
        );
    }
    let query_token = request.uri().query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "oauth_token")
            .map(|(_, v)| v.into_owned())
    });
    let invalid = || {
        error_response(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
            &[],
        )
    };
    let Some(token) = access_token(request.headers(), query_token.as_deref()) else {
        return invalid();
    };
    let caller = match state.services.api_caller(&token).await {
        Ok(Some(c)) => c,
        Ok(None) => return invalid(),
        Err(e) => return RestError::Internal(e).into_response(),
    };
    if !matches!(version, Some((_, Version::Served(_)))) {
        return not_found();
    }
    if caller.restricted {
        // Not 401: clients would log in again and loop (wire-spec §8).
        return error_response(
            StatusCode::FORBIDDEN,
            "INVALID_OPERATION_WITH_EXPIRED_PASSWORD",
            "Your password has expired. Please reset your password.",
            &[],
        );
    }
    if !caller.api_enabled {
        return error_response(
            StatusCode::FORBIDDEN,
            "API_DISABLED_FOR_ORG",
            "API is not enabled for this user's profile",
            &[],
        );
    }
    let usage = match state.services.count_api_request(&caller.org_id).await {
        Ok(u) => u,
        Err(e) => return RestError::Internal(e).into_response(),
    };
    let limit_info = HeaderValue::from_str(&format!("api-usage={}/{}", usage.used, usage.allowance)).ok();
    let mut response = if usage.exceeded() {
        error_response(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
            &[],
        )
    } else {
        request.extensions_mut().insert(caller);
        request.extensions_mut().insert(usage);
        next.run(request).await
    };
    if let Some(v) = limit_info {
        response.headers_mut().insert("sforce-limit-info", v);
    }
    response
}

/// `/services/data`: every served version, oldest first.
async fn versions(State(state): State<HttpState>) -> Response {
    let list: Vec<Json> = state
        .api_versions
        .served()
        .map(|v| {
            json!({
                "label": release_label(v),
                "url": format!("/services/data/v{v}.0"),
                "version": format!("{v}.0"),
            })
        })
        .collect();
    json_response(StatusCode::OK, &Json::Array(list))
}

/// `vNN.N` of the request path (the middleware has checked it).
fn version_of(uri: &axum::http::Uri) -> String {
    path_version(uri.path()).unwrap_or("59.0").to_owned()
}

async fn resources(
    State(state): State<HttpState>,
    axum::Extension(caller): axum::Extension<Caller>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    let v = version_of(&uri);
    let b = format!("/services/data/v{v}");
    let identity = format!(
        "{}/id/{}/{}",
        super::base_url(&state, &headers),
        caller.org_id.as_str(),
        caller.user_id.as_str()
    );
    json_response(
        StatusCode::OK,
        &json!({
            "sobjects": format!("{b}/sobjects"),
            "query": format!("{b}/query"),
            "queryAll": format!("{b}/queryAll"),
            "composite": format!("{b}/composite"),
            "limits": format!("{b}/limits"),
            "identity": identity,
        }),
    )
}

async fn limits(axum::Extension(usage): axum::Extension<Usage>) -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "DailyApiRequests": { "Max": usage.allowance, "Remaining": (usage.allowance - usage.used).max(0) },
        }),
    )
}

/// `limits/recordCount[?sObjects=A,B]`: how many records each object holds (every
/// object when none is named; names that are no object are left out, as Salesforce
/// leaves them out).
async fn record_count(
    State(state): State<HttpState>,
    axum::Extension(caller): axum::Extension<Caller>,
    uri: axum::http::Uri,
) -> Response {
    let named: Option<String> = uri.query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "sObjects")
            .map(|(_, v)| v.into_owned())
    });
    let kinds: Vec<ObjectKind> = match &named {
        Some(list) => list.split(',').filter_map(|n| n.trim().parse().ok()).collect(),
        None => ObjectKind::ALL.to_vec(),
    };
    match state.services.record_counts(&caller, &kinds).await {
        Ok(counts) => {
            let objects: Vec<Json> = counts
                .into_iter()
                .map(|(kind, count)| json!({ "count": count, "name": kind.name() }))
                .collect();
            json_response(StatusCode::OK, &json!({ "sObjects": objects }))
        }
        Err(e) => e.into_response(),
    }
}

/// Parses a JSON request body, or the JSON_PARSER_ERROR Salesforce gives.
pub(super) fn parse_body(body: &[u8]) -> Result<Json, RestError> {
    serde_json::from_slice(body).map_err(|e| {
        RestError::Record(latchkey_core::records::RecordError::JsonParse(format!(
            "Unexpected JSON: {} at [line:{}, column:{}]",
            match e.classify() {
                serde_json::error::Category::Eof => "unexpected end of input",
                serde_json::error::Category::Syntax => "syntax error",
                _ => "wrong type",
            },
            e.line(),
            e.column()
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_the_path() {
        assert_eq!(path_version("/services/data/v59.0/query"), Some("59.0"));
        assert_eq!(path_version("/services/data/v59.0"), Some("59.0"));
        assert_eq!(path_version("/services/data/v19.0/query"), Some("19.0"));
        assert_eq!(path_version("/services/data/59.0/query"), None);
    }
}

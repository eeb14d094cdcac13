//! The org server's HTTP surfaces: SOAP `login()`/`logout()` and the OAuth 2.0 token
//! endpoint, in the Salesforce wire formats of `wire-spec.md`. One `app(state)`
//! serves `latchkey serve` and the tests.

mod identity;
mod oauth;
mod pages;
mod rate_limit;
mod refusal;
mod rest;
mod soap;
pub mod versions;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use secrecy::ExposeSecret;
use tower_http::limit::RequestBodyLimitLayer;

use crate::Services;

pub use latchkey_web::ClientIp;
pub use rate_limit::LoginRateLimit;

/// Largest request body accepted (a password may be 16,000 bytes; XML adds little).
pub const BODY_LIMIT: usize = 64 * 1024;

/// How long a Bulk API upload (up to 150 MB) may take.
pub const UPLOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// What the handlers share.
#[derive(Clone)]
pub struct HttpState {
    /// The org services (shared: axum clones the state for every extractor and layer).
    pub services: Arc<Services>,
    /// `http` or `https`: the scheme of URLs handed to clients (`serverUrl`, `instance_url`).
    pub scheme: &'static str,
    /// Per-client-IP limit on login attempts (`None`: unlimited).
    pub login_rate: Option<Arc<LoginRateLimit>>,
    /// The URL links in mail point at (`None`: this request's scheme and Host, for
    /// tests only: a Host header is the requester's to choose).
    pub public_url: Option<String>,
    /// Who may read `/metrics`.
    pub metrics: MetricsAccess,
    /// The API versions served.
    pub api_versions: versions::ApiVersions,
}

/// Who may read `/metrics`: nobody, clients on the loopback interface (a scraper
/// beside the server), or whoever sends the bearer token.
#[derive(Clone, Default)]
pub enum MetricsAccess {
    /// `/metrics` does not exist.
    Off,
    /// Only clients connecting from 127.0.0.0/8 or ::1.
    #[default]
    Loopback,
    /// Only requests with `Authorization: Bearer <token>`.
    Bearer(secrecy::SecretString),
}

impl MetricsAccess {
    /// `None` when the request may read the metrics, else the status to answer.
    fn refusal(&self, ip: std::net::IpAddr, headers: &axum::http::HeaderMap) -> Option<StatusCode> {
        match self {
            Self::Off => Some(StatusCode::NOT_FOUND),
            Self::Loopback => (!ip.is_loopback()).then_some(StatusCode::FORBIDDEN),
            Self::Bearer(token) => {
                let sent = headers
                    .get(axum::http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .unwrap_or_default();
                let expected = token.expose_secret().as_bytes();
                let matched: bool = subtle::ConstantTimeEq::ct_eq(sent.as_bytes(), expected).into();
                (!matched || expected.is_empty()).then_some(StatusCode::UNAUTHORIZED)
            }
        }
    }
}

/// The org server's router with its layers (request id → trace → refusals in the
/// wire format → timeout → body limit → login rate limit); Bulk API uploads have
/// their own body limit and timeout.
pub fn app(state: HttpState) -> Router {
    let router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .merge(soap::router())
        .merge(oauth::router())
        .merge(identity::router())
        .merge(rest::router(state.clone()))
        .merge(pages::router())
        .fallback(refusal::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit_logins,
        ))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(latchkey_web::layers::timeout())
        .merge(
            rest::upload_router(state.clone())
                .layer(RequestBodyLimitLayer::new(crate::bulk::MAX_UPLOAD_BYTES))
                .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                    axum::http::StatusCode::REQUEST_TIMEOUT,
                    UPLOAD_TIMEOUT,
                )),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            refusal::in_wire_format,
        ));
    let served = latchkey_web::layers::observed(router).with_state(state);
    let refused = tower::Layer::layer(&axum::middleware::from_fn(refusal::method_not_allowed), served);
    Router::new().fallback_service(tower::Layer::layer(
        &axum::middleware::from_fn(collapse_slashes),
        refused,
    ))
}

/// Collapses repeated slashes in a request path (`//services/data` is
/// `/services/data`), as Salesforce's servers do: the Salesforce CLI keeps instance
/// URLs with a trailing slash and joins paths to them.
async fn collapse_slashes(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let uri = request.uri();
    if uri.path().contains("//") {
        let mut path = String::with_capacity(uri.path().len());
        for c in uri.path().chars() {
            if !(c == '/' && path.ends_with('/')) {
                path.push(c);
            }
        }
        if let Some(q) = uri.query() {
            path.push('?');
            path.push_str(q);
        }
        let mut parts = uri.clone().into_parts();
        if let Ok(pq) = path.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(collapsed) = axum::http::Uri::from_parts(parts) {
                *request.uri_mut() = collapsed;
            }
        }
    }
    next.run(request).await
}

pub(crate) use latchkey_web::layers::route_of;

/// Prometheus text: how much argon2 work this process has done. (Counts only, no
/// names; the login-throughput benchmark and the lockout test read it.) Who may read
/// it is [`HttpState::metrics`]'s to say.
async fn metrics(
    axum::extract::State(state): axum::extract::State<HttpState>,
    ClientIp(ip): ClientIp,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if let Some(status) = state.metrics.refusal(ip, &headers) {
        return (
            status,
            [(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "metrics are not available to this client\n",
        )
            .into_response();
    }
    let c = state.services.hash_counts();
    let body = format!(
        "# TYPE latchkey_password_hashes_total counter\nlatchkey_password_hashes_total {}\n\
         # TYPE latchkey_password_verifications_total counter\nlatchkey_password_verifications_total {}\n\
         # TYPE latchkey_dummy_verifications_total counter\nlatchkey_dummy_verifications_total {}\n",
        c.hashes, c.verifications, c.dummies
    );
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// The externally visible base URL (`scheme://host[:port]`) of this request.
pub(crate) fn base_url(state: &HttpState, headers: &axum::http::HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)))
        .unwrap_or("localhost");
    format!("{}://{host}", state.scheme)
}

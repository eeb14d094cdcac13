//! A per-client-IP rate limit on the login surfaces (SOAP and the OAuth token
//! endpoint, the login and recovery pages), as a middleware layer. Over the limit, the
//! answer is HTTP 429 with `Retry-After`, in the wire format of the surface.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::refusal::{Refusal, Wire};
use super::{ClientIp, HttpState};
pub use latchkey_web::LoginRateLimit;

fn is_login_surface(path: &str) -> bool {
    path.starts_with("/services/Soap/") || path == "/services/oauth2/token" || super::pages::is_login_surface(path)
}

/// The middleware: passes everything but login attempts over the limit.
pub async fn limit_logins(
    State(state): State<HttpState>,
    ClientIp(ip): ClientIp,
    req: Request,
    next: Next,
) -> Response {
    let Some(limit) = &state.login_rate else {
        return next.run(req).await;
    };
    let path = req.uri().path().to_owned();
    if !is_login_surface(&path) {
        return next.run(req).await;
    }
    let Some(wait) = limit.check(ip) else {
        return next.run(req).await;
    };
    tracing::warn!(%ip, route = super::route_of(&req), retry_after = wait, "login rate limit exceeded");
    Refusal::RateLimited(wait).respond(&state, Wire::of(&path), &path)
}

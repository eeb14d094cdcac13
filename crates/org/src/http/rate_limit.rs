//! A per-client-IP rate limit on the login surfaces (SOAP and the OAuth token
//! endpoint), as a middleware layer. Over the limit, the answer is HTTP 429 with
//! `Retry-After`, in the wire format of the surface: a SOAP fault or OAuth JSON.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::{ClientIp, HttpState};
pub use latchkey_web::LoginRateLimit;

fn is_login_surface(path: &str) -> bool {
    path.starts_with("/services/Soap/") || path == "/services/oauth2/token" || super::web::is_login_surface(path)
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
    tracing::warn!(%ip, path = %path, retry_after = wait, "login rate limit exceeded");
    let mut response = if path.starts_with("/services/Soap/") {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
             xmlns:sf=\"urn:fault.partner.soap.sforce.com\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body>\
             <soapenv:Fault><faultcode>sf:REQUEST_LIMIT_EXCEEDED</faultcode><faultstring>REQUEST_LIMIT_EXCEEDED: Too many login \
             attempts from this address; retry in {wait} seconds.</faultstring><detail><sf:UnexpectedErrorFault \
             xsi:type=\"sf:UnexpectedErrorFault\"><sf:exceptionCode>REQUEST_LIMIT_EXCEEDED</sf:exceptionCode><sf:exceptionMessage>\
             Too many login attempts from this address; retry in {wait} seconds.</sf:exceptionMessage></sf:UnexpectedErrorFault>\
             </detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
        );
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::CONTENT_TYPE, "text/xml;charset=UTF-8")],
            body,
        )
            .into_response()
    } else if super::web::is_login_surface(&path) {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::CONTENT_TYPE, "text/plain;charset=UTF-8")],
            format!("Too many login attempts from this address; try again in {wait} seconds."),
        )
            .into_response()
    } else {
        let body = serde_json::json!({
            "error": "rate_limit_exceeded",
            "error_description": format!("too many login attempts from this address; retry in {wait} seconds"),
        });
        (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response()
    };
    if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

//! Refusals made around the handlers — a body over the limit, a request past its
//! deadline, a login rate limit, a path that does not exist — each in the wire format
//! of the surface asked: a SOAP fault, a REST error array, OAuth JSON, or a page.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::HttpState;

/// The wire format a path speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wire {
    /// `/services/Soap/…`.
    Soap,
    /// `/services/data/…`.
    Rest,
    /// The OAuth endpoints a program calls (token, revoke, userinfo, identity URLs).
    OAuth,
    /// Everything a browser opens.
    Page,
}

impl Wire {
    /// The wire format of `path`.
    pub(crate) fn of(path: &str) -> Self {
        if path.starts_with("/services/Soap/") {
            Self::Soap
        } else if path == "/services/data" || path.starts_with("/services/data/") {
            Self::Rest
        } else if path.starts_with("/services/oauth2/authorize") {
            Self::Page
        } else if path.starts_with("/services/oauth2/") || path.starts_with("/id/") {
            Self::OAuth
        } else {
            Self::Page
        }
    }
}

/// Why a request is refused before its handler answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The body is larger than [`super::BODY_LIMIT`].
    TooLarge,
    /// The request ran past its deadline.
    TimedOut,
    /// Too many login attempts from the client's address; retry after this many seconds.
    RateLimited(u64),
    /// No such resource.
    NotFound,
}

impl Refusal {
    fn status(self) -> StatusCode {
        match self {
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TimedOut => StatusCode::REQUEST_TIMEOUT,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::NotFound => StatusCode::NOT_FOUND,
        }
    }

    /// The Salesforce exception code (SOAP, REST).
    fn code(self) -> &'static str {
        match self {
            Self::TooLarge => "EXCEEDED_MAX_SIZE_REQUEST",
            Self::TimedOut => "REQUEST_RUNNING_TOO_LONG",
            Self::RateLimited(_) => "REQUEST_LIMIT_EXCEEDED",
            Self::NotFound => "NOT_FOUND",
        }
    }

    /// The OAuth `error`.
    fn oauth_error(self) -> &'static str {
        match self {
            Self::TooLarge => "invalid_request",
            Self::TimedOut => "temporarily_unavailable",
            Self::RateLimited(_) => "rate_limit_exceeded",
            Self::NotFound => "not_found",
        }
    }

    fn message(self) -> String {
        match self {
            Self::TooLarge => format!(
                "The request body is larger than the {} KB this server accepts.",
                super::BODY_LIMIT / 1024
            ),
            Self::TimedOut => "The request took too long and was stopped. Please try again.".into(),
            Self::RateLimited(wait) => {
                format!("Too many login attempts from this address; retry in {wait} seconds.")
            }
            Self::NotFound => "The requested resource does not exist".into(),
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::TooLarge => "Request too large",
            Self::TimedOut => "Request timed out",
            Self::RateLimited(_) => "Too many attempts",
            Self::NotFound => "Page not found",
        }
    }

    /// The refusal as `wire` answers it; `Retry-After` when rate limited.
    pub(crate) fn respond(self, state: &HttpState, wire: Wire, path: &str) -> Response {
        let status = self.status();
        let message = self.message();
        let mut response = match wire {
            Wire::Soap => super::soap::SoapFault::refusal(path, status, self.code(), &message).into_response(),
            Wire::Rest => super::rest::error_response(status, self.code(), &message, &[]),
            Wire::OAuth => (
                status,
                Json(serde_json::json!({ "error": self.oauth_error(), "error_description": message })),
            )
                .into_response(),
            Wire::Page => super::pages::message_page(state, status, self.title(), &message),
        };
        if let Self::RateLimited(wait) = self {
            if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

/// Middleware outside the body limit and the deadline: their bare `413` and `408`
/// answers (and an extractor's, for a chunked body past the limit) become refusals in
/// the wire format of the path.
pub(crate) async fn in_wire_format(State(state): State<HttpState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    let refusal = match response.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Refusal::TooLarge,
        StatusCode::REQUEST_TIMEOUT => Refusal::TimedOut,
        _ => return response,
    };
    let bare = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|t| t.as_bytes().starts_with(b"text/plain"));
    if !bare {
        return response;
    }
    refusal.respond(&state, Wire::of(&path), &path)
}

/// The fallback for paths no route serves.
pub(crate) async fn not_found(State(state): State<HttpState>, uri: axum::http::Uri) -> Response {
    let path = uri.path();
    Refusal::NotFound.respond(&state, Wire::of(path), path)
}

/// A known REST resource asked with a method it does not take: Salesforce's JSON
/// error, naming the methods it does take, in place of the router's empty answer. It
/// wraps the whole router (see [`super::app`]): only there is the router's `Allow`
/// header on the answer.
pub(crate) async fn method_not_allowed(request: Request, next: Next) -> Response {
    let (method, wire) = (request.method().clone(), Wire::of(request.uri().path()));
    let response = next.run(request).await;
    if response.status() != StatusCode::METHOD_NOT_ALLOWED || wire != Wire::Rest {
        return response;
    }
    let allowed = response
        .headers()
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .replace(' ', "");
    let mut answer = super::rest::error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        &format!("HTTP Method '{method}' not allowed. Allowed are {allowed}"),
        &[],
    );
    if let Ok(v) = HeaderValue::from_str(&allowed) {
        answer.headers_mut().insert(header::ALLOW, v);
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_surface_has_its_wire() {
        for (path, wire) in [
            ("/services/Soap/u/59.0", Wire::Soap),
            ("/services/Soap/c/59.0/00D000000000001", Wire::Soap),
            ("/services/data", Wire::Rest),
            ("/services/data/v59.0/query", Wire::Rest),
            ("/services/oauth2/token", Wire::OAuth),
            ("/services/oauth2/revoke", Wire::OAuth),
            ("/id/00D000000000001/005000000000001", Wire::OAuth),
            ("/services/oauth2/authorize", Wire::Page),
            ("/login", Wire::Page),
            ("/setup/users", Wire::Page),
            ("/services/database", Wire::Page),
        ] {
            assert_eq!(Wire::of(path), wire, "{path}");
        }
    }
}

//! What Latchkey's HTTP surfaces share — the org server's and the hub's (and nothing
//! that knows of orgs or hubs): the
//! [`listener`] every server serves through (connection limits, timeouts, HSTS), and for
//! browser pages the layout (`templates/base.html`, which page crates reach through
//! their `askama.toml`), the one stylesheet, security headers, CSRF tokens, cookies,
//! and rendering.
//!
//! CSRF: a random `lk_csrf` cookie (HttpOnly, SameSite=Strict) and, in every form,
//! its HMAC under a server-side key. A cross-site page can neither read the cookie nor
//! compute the token, and a planted cookie is useless without the key.

mod client_ip;
pub mod layers;
pub mod listener;
mod rate_limit;

use askama::Template;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latchkey_core::secret::{random_alphanumeric, FingerprintKey};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

pub use client_ip::ClientIp;
pub use rate_limit::LoginRateLimit;

/// The stylesheet, embedded; serve it at `/static/app.css` with [`stylesheet`].
const STYLESHEET: &str = include_str!("../static/app.css");

/// The CSRF cookie.
const CSRF: &str = "lk_csrf";

/// `GET /static/app.css`.
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
}

/// The pages' Content-Security-Policy.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Middleware for every page (that did not set a narrower policy of its own — a form
/// that may redirect elsewhere names that place): no scripts but our own, no framing, no sniffing, no
/// referrer beyond this origin; pages are not cached.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let is_static = req.uri().path().starts_with("/static/");
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !is_static {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Renders a page; a template failure is logged and shown as a plain 500.
pub fn render(page: &impl Template, status: StatusCode) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be shown").into_response()
        }
    }
}

/// 422 when a form comes back with an error, else 200.
pub fn status_for(error: Option<&str>) -> StatusCode {
    if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}

/// A cookie with the pages' attributes: HttpOnly, path `/`, Secure when `secure`
/// (served over TLS).
pub fn cookie(secure: bool, name: &'static str, value: String, same_site: SameSite) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(same_site)
        .build()
}

/// A cookie kept for `days` days.
pub fn lasting(mut cookie: Cookie<'static>, days: i64) -> Cookie<'static> {
    cookie.set_max_age(time::Duration::days(days));
    cookie
}

/// The cookie that makes `name` go away.
pub fn removal(name: &'static str) -> Cookie<'static> {
    Cookie::build((name, "")).path("/").build()
}

/// CSRF tokens under one server-side key.
#[derive(Clone, Debug)]
pub struct Csrf {
    key: FingerprintKey,
    secure: bool,
}

impl Csrf {
    /// Tokens keyed by `key`; the cookie is Secure when `secure`.
    pub fn new(key: [u8; 32], secure: bool) -> Self {
        Self {
            key: FingerprintKey::new(key),
            secure,
        }
    }

    fn token_for(&self, cookie_value: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.key.fingerprint("csrf", cookie_value))
    }

    /// The token for the forms of a page, setting the cookie when it is missing.
    pub fn token(&self, jar: CookieJar) -> (CookieJar, String) {
        match jar.get(CSRF).map(|c| c.value().to_owned()).filter(|v| v.len() == 32) {
            Some(value) => {
                let token = self.token_for(&value);
                (jar, token)
            }
            None => {
                let value = random_alphanumeric(32).expose_secret().to_owned();
                let token = self.token_for(&value);
                (jar.add(cookie(self.secure, CSRF, value, SameSite::Strict)), token)
            }
        }
    }

    /// Whether a form's `_csrf` field matches the browser's cookie.
    pub fn check(&self, jar: &CookieJar, sent: &str) -> bool {
        jar.get(CSRF).is_some_and(|c| {
            let expected = self.token_for(c.value());
            expected.as_bytes().ct_eq(sent.as_bytes()).into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_matches_only_its_cookie_under_its_key() {
        let csrf = Csrf::new([1; 32], true);
        let (jar, token) = csrf.token(CookieJar::new());
        let cookie = jar.get(CSRF).unwrap();
        assert!(cookie.http_only().unwrap_or(false) && cookie.secure().unwrap_or(false));
        assert!(csrf.check(&jar, &token));
        assert!(!csrf.check(&jar, "forged"));
        assert!(!csrf.check(&jar, &token[..10]));
        assert!(!Csrf::new([2; 32], true).check(&jar, &token), "another key");
        let (_, again) = csrf.token(jar.clone());
        assert_eq!(again, token, "the same cookie, the same token");
        assert!(!csrf.check(&CookieJar::new(), &token), "no cookie");
    }
}

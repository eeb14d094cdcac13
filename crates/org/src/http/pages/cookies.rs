//! The org UI's cookies and its CSRF key. Keys derive from the server secret (through
//! the org's fingerprint key with labels no user id can take), so every instance
//! sharing the secret accepts what another set.

use axum::extract::FromRef;
use axum_extra::extract::cookie::{Cookie, CookieJar, Key, SameSite};
use latchkey_web::Csrf;

use crate::http::HttpState;
use crate::Services;

/// The session cookie (Salesforce's name).
pub(super) const SESSION: &str = "sid";
/// The pending identity-verification challenge.
pub(super) const CHALLENGE: &str = "lk_challenge";
/// The remembered browser (signed: the username it verified).
pub(super) const DEVICE: &str = "lk_device";
/// Where a login continues after the verification code (an OAuth authorization).
pub(super) const START: &str = "lk_start";
/// How long a verified browser is remembered.
const DEVICE_DAYS: i64 = 365;

fn web_key(services: &Services, purpose: &str) -> [u8; 32] {
    // A leading NUL: no user id (the fingerprint's other use) starts with one.
    services.fingerprint_key.fingerprint("\0latchkey-web", purpose)
}

impl FromRef<HttpState> for Key {
    fn from_ref(state: &HttpState) -> Self {
        let mut master = [0u8; 64];
        master[..32].copy_from_slice(&web_key(&state.services, "cookie signing 1"));
        master[32..].copy_from_slice(&web_key(&state.services, "cookie signing 2"));
        Key::from(&master)
    }
}

fn csrf(state: &HttpState) -> Csrf {
    Csrf::new(web_key(&state.services, "csrf"), state.scheme == "https")
}

/// A cookie with the UI's attributes: HttpOnly, path `/`, Secure over TLS.
pub(super) fn cookie(state: &HttpState, name: &'static str, value: String, same_site: SameSite) -> Cookie<'static> {
    latchkey_web::cookie(state.scheme == "https", name, value, same_site)
}

pub(super) use latchkey_web::removal;

/// The remembered-browser cookie for `username`.
pub(super) fn device(state: &HttpState, username: &str) -> Cookie<'static> {
    latchkey_web::lasting(
        cookie(state, DEVICE, username.trim().to_lowercase(), SameSite::Lax),
        DEVICE_DAYS,
    )
}

/// The CSRF token for the forms of a page, setting the cookie when it is missing.
pub(super) fn csrf_token(state: &HttpState, jar: CookieJar) -> (CookieJar, String) {
    csrf(state).token(jar)
}

/// Whether a form's `_csrf` field matches the browser's cookie.
pub(super) fn csrf_ok(state: &HttpState, jar: &CookieJar, sent: &str) -> bool {
    csrf(state).check(jar, sent)
}

/// The refusal of a form without a valid CSRF token.
pub(super) fn forbidden(state: &HttpState) -> axum::response::Response {
    let page = super::templates::Message {
        product: &state.services.mail.product,
        title: "This form has expired",
        text: "The form was not sent from this site, or it is too old. Go back, reload the page and try again.",
    };
    super::templates::render(&page, axum::http::StatusCode::FORBIDDEN)
}

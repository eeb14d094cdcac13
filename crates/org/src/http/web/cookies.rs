//! The UI's cookies and CSRF tokens. Keys derive from the server secret (through the
//! org's fingerprint key with labels no user id can take), so every instance sharing
//! the secret accepts what another set.
//!
//! CSRF: a random `lk_csrf` cookie (HttpOnly, SameSite=Strict) and, in every form,
//! its HMAC under the CSRF key. A cross-site page can neither read the cookie nor
//! compute the token, and a planted cookie is useless without the key.

use axum::extract::FromRef;
use axum_extra::extract::cookie::{Cookie, CookieJar, Key, SameSite};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latchkey_core::secret::random_alphanumeric;
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::http::HttpState;
use crate::Services;

/// The session cookie (Salesforce's name).
pub(super) const SESSION: &str = "sid";
/// The CSRF cookie.
const CSRF: &str = "lk_csrf";
/// The pending identity-verification challenge.
pub(super) const CHALLENGE: &str = "lk_challenge";
/// The remembered browser (signed: the username it verified).
pub(super) const DEVICE: &str = "lk_device";
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

/// A cookie with the UI's attributes: HttpOnly, path `/`, Secure over TLS.
pub(super) fn cookie(state: &HttpState, name: &'static str, value: String, same_site: SameSite) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .secure(state.scheme == "https")
        .same_site(same_site)
        .build()
}

/// The cookie that makes `name` go away.
pub(super) fn removal(name: &'static str) -> Cookie<'static> {
    Cookie::build((name, "")).path("/").build()
}

/// The remembered-browser cookie for `username`.
pub(super) fn device(state: &HttpState, username: &str) -> Cookie<'static> {
    let mut c = cookie(state, DEVICE, username.trim().to_lowercase(), SameSite::Lax);
    c.set_max_age(time::Duration::days(DEVICE_DAYS));
    c
}

fn token_for(services: &Services, cookie_value: &str) -> String {
    let key = web_key(services, "csrf");
    let mac = latchkey_core::secret::FingerprintKey::new(key).fingerprint("csrf", cookie_value);
    URL_SAFE_NO_PAD.encode(mac)
}

/// The CSRF token for the forms of a page, setting the cookie when it is missing.
pub(super) fn csrf_token(state: &HttpState, jar: CookieJar) -> (CookieJar, String) {
    match jar.get(CSRF).map(|c| c.value().to_owned()).filter(|v| v.len() == 32) {
        Some(value) => {
            let token = token_for(&state.services, &value);
            (jar, token)
        }
        None => {
            let value = random_alphanumeric(32).expose_secret().to_owned();
            let token = token_for(&state.services, &value);
            (jar.add(cookie(state, CSRF, value, SameSite::Strict)), token)
        }
    }
}

/// Whether a form's `_csrf` field matches the browser's cookie.
pub(super) fn csrf_ok(state: &HttpState, jar: &CookieJar, sent: &str) -> bool {
    jar.get(CSRF).is_some_and(|c| {
        let expected = token_for(&state.services, c.value());
        expected.as_bytes().ct_eq(sent.as_bytes()).into()
    })
}

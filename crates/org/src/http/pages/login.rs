//! Logging in from a browser: username and password, then — from a network and a
//! browser Latchkey doesn't trust — the e-mailed verification code. Every refusal
//! shows one generic message, whatever the reason, so the page cannot be used to
//! learn which usernames exist or are locked.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::{CookieJar, SameSite, SignedCookieJar};
use latchkey_core::status::LoginStatus;
use secrecy::SecretString;
use serde::Deserialize;

use super::account::{session_cookie, signed_in, start_session};
use super::cookies::{self, CHALLENGE, DEVICE, START};
use super::templates::{self, render};
use crate::http::{ClientIp, HttpState};
use crate::login::verification::{Challenged, Verification, CODE_VALID_MINUTES};
use crate::login::{Intent, LoginOutcome, LoginRequest};

/// Shown for every refused login.
fn generic_refusal(product: &str) -> String {
    format!("Please check your username and password. If you still can't log in, contact your {product} administrator.")
}

/// What a redirect to the login page may ask it to say, and where to go after.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Notice {
    m: Option<String>,
    #[serde(rename = "startURL")]
    start: Option<String>,
}

/// Where a login may continue: only this org's OAuth authorization page (a local path,
/// so a crafted link cannot send anyone elsewhere).
fn safe_start(start: Option<&str>) -> Option<&str> {
    start.filter(|s| s.starts_with("/services/oauth2/authorize?") && !s.contains(['\r', '\n', '\\']))
}

fn notice_text(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "out" => Some("You have logged out."),
        "expired" => Some("Your verification code expired or was used up. Log in again."),
        "ended" => Some("Your session ended. Log in again."),
        "reset" => {
            Some("Your password was reset, and a new security token was e-mailed to you. Log in with the new password.")
        }
        _ => None,
    }
}

fn login_page(
    state: &HttpState,
    jar: CookieJar,
    username: &str,
    error: Option<&str>,
    notice: Option<&str>,
    start: Option<&str>,
) -> Response {
    let (jar, csrf) = cookies::csrf_token(state, jar);
    let page = templates::Login {
        product: &state.services.mail.product,
        csrf: &csrf,
        username,
        error,
        notice,
        start: start.unwrap_or_default(),
    };
    (jar, render(&page, StatusCode::OK)).into_response()
}

/// `GET /`: the login page (or home, for a browser already signed in).
pub(super) async fn page(State(state): State<HttpState>, jar: CookieJar, Query(q): Query<Notice>) -> Response {
    let start = safe_start(q.start.as_deref());
    if matches!(signed_in(&state, &jar).await, Ok(Some(_))) {
        return Redirect::to(start.unwrap_or("/home")).into_response();
    }
    login_page(&state, jar, "", None, notice_text(q.m.as_deref()), start)
}

/// The login form.
#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
    #[serde(default)]
    start: String,
}

/// `POST /login`.
pub(super) async fn submit(
    State(state): State<HttpState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    signed: SignedCookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    if !cookies::csrf_ok(&state, &jar, &form.csrf) {
        return cookies::forbidden(&state);
    }
    let username = form.username.trim().to_owned();
    let device_verified = signed.get(DEVICE).is_some_and(|c| c.value() == username.to_lowercase());
    let secret = SecretString::from(form.password);
    let req = LoginRequest {
        username: &username,
        secret: &secret,
        ip,
        intent: Intent::Page { device_verified },
    };
    let services = &state.services;
    let refused = generic_refusal(&services.mail.product);
    let start = safe_start(Some(form.start.as_str()));
    let login = services.login(&req).await.map(|login| (login.outcome, login.session));
    match login {
        Ok((LoginOutcome::Success { password_expired, .. }, Some(issued))) => {
            session_cookie(&state, jar, &issued, password_expired, start.unwrap_or("/home"))
        }
        Ok((LoginOutcome::Success { .. }, None)) => {
            tracing::error!("a browser login succeeded without a session");
            login_page(&state, jar, &username, Some(&refused), None, start)
        }
        Ok((LoginOutcome::Refused(LoginStatus::ChallengeRequired), _)) => {
            let issued = match services.user(&username).await {
                Ok(user) => services.issue_challenge(&user, ip).await,
                Err(e) => Err(e),
            };
            match issued {
                Ok(Challenged::TooMany { minutes }) => {
                    let wait = format!(
                        "Too many verification codes were sent to you in the last hour. Wait {minutes} {} and log in again.",
                        if minutes == 1 { "minute" } else { "minutes" }
                    );
                    login_page(&state, jar, &username, Some(&wait), None, start)
                }
                Ok(Challenged::Sent(id)) => {
                    let mut jar = jar.add(cookies::cookie(&state, CHALLENGE, id, SameSite::Strict));
                    if let Some(start) = start {
                        jar = jar.add(cookies::cookie(&state, START, start.to_owned(), SameSite::Strict));
                    }
                    (jar, Redirect::to("/verify")).into_response()
                }
                Err(e) => {
                    tracing::error!(error = %e, "a verification code could not be sent");
                    login_page(&state, jar, &username, Some(&refused), None, start)
                }
            }
        }
        Ok((LoginOutcome::Refused(_), _)) => login_page(&state, jar, &username, Some(&refused), None, start),
        Err(e) => {
            tracing::error!(error = %e, "a browser login failed");
            login_page(&state, jar, &username, Some(&refused), None, start)
        }
    }
}

/// `GET /verify`: where the code goes.
pub(super) async fn verify_page(State(state): State<HttpState>, jar: CookieJar) -> Response {
    verify_form(&state, jar, None).await
}

async fn verify_form(state: &HttpState, jar: CookieJar, error: Option<&str>) -> Response {
    let Some(id) = jar.get(CHALLENGE).map(|c| c.value().to_owned()) else {
        return Redirect::to("/").into_response();
    };
    let email = match state.services.challenge_email(&id).await {
        Ok(Some(email)) => mask(&email),
        _ => return (jar.remove(cookies::removal(CHALLENGE)), Redirect::to("/?m=expired")).into_response(),
    };
    let (jar, csrf) = cookies::csrf_token(state, jar);
    let page = templates::Verify {
        product: &state.services.mail.product,
        csrf: &csrf,
        email: &email,
        minutes: CODE_VALID_MINUTES,
        error,
    };
    (jar, render(&page, StatusCode::OK)).into_response()
}

/// `j***@acme.test`: enough to recognise one's address, not to learn it.
fn mask(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "your e-mail address".into(),
    }
}

/// The code form.
#[derive(Deserialize)]
pub(super) struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// `POST /verify`.
pub(super) async fn verify_submit(
    State(state): State<HttpState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    signed: SignedCookieJar,
    Form(form): Form<CodeForm>,
) -> Response {
    if !cookies::csrf_ok(&state, &jar, &form.csrf) {
        return cookies::forbidden(&state);
    }
    let Some(id) = jar.get(CHALLENGE).map(|c| c.value().to_owned()) else {
        return Redirect::to("/").into_response();
    };
    match state.services.verify_challenge(&id, &form.code, ip).await {
        Ok(Verification::Verified {
            user,
            org,
            password_expired,
        }) => {
            let start = jar.get(START).map(|c| c.value().to_owned());
            let to = safe_start(start.as_deref()).unwrap_or("/home").to_owned();
            let jar = jar.remove(cookies::removal(CHALLENGE)).remove(cookies::removal(START));
            let signed = signed.add(cookies::device(&state, &user.username));
            (
                signed,
                start_session(&state, jar, &user, &org, password_expired, &to).await,
            )
                .into_response()
        }
        Ok(Verification::Wrong(left)) => {
            let error = format!("That code isn't right. You can try {left} more time(s).");
            verify_form(&state, jar, Some(&error)).await
        }
        Ok(Verification::Void) => {
            (jar.remove(cookies::removal(CHALLENGE)), Redirect::to("/?m=expired")).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "a verification code could not be checked");
            verify_form(&state, jar, Some("The code could not be checked just now. Try again.")).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_the_local_part_and_keeps_the_domain() {
        assert_eq!(mask("jane@acme.test"), "j***@acme.test");
        assert_eq!(mask("nobody"), "your e-mail address");
        assert_eq!(notice_text(Some("out")), Some("You have logged out."));
        assert_eq!(notice_text(Some("<script>")), None);
        let authorize = "/services/oauth2/authorize?client_id=x&redirect_uri=https%3A%2F%2Fa";
        assert_eq!(safe_start(Some(authorize)), Some(authorize));
        assert_eq!(safe_start(Some("https://evil.example/")), None);
        assert_eq!(safe_start(Some("//evil.example/services/oauth2/authorize?")), None);
        assert_eq!(safe_start(Some("/home")), None);
    }
}

//! The signed-in browser: its session, the home page, logging out, and changing the
//! password (forced first when it expired).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::{CookieJar, SameSite};
use latchkey_store::orgs::Org;
use latchkey_store::users::User;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::cookies::forbidden;
use super::cookies::{self, SESSION};
use super::templates::{self, render};
use crate::http::{ClientIp, HttpState};
use crate::login::sessions::Issued;
pub(super) use crate::login::sessions::SignedIn;
use crate::login::CurrentPassword;
use crate::AccountError;

/// The browser's live session, if it has one.
pub(super) async fn signed_in(state: &HttpState, jar: &CookieJar) -> Result<Option<SignedIn>, AccountError> {
    match jar.get(SESSION) {
        Some(sid) => state.services.signed_in(sid.value()).await,
        None => Ok(None),
    }
}

/// A form of a signed-in user: its CSRF token checked, then the full session.
pub(super) async fn user_form(state: &HttpState, jar: &CookieJar, csrf: &str) -> Result<SignedIn, Response> {
    if !cookies::csrf_ok(state, jar, csrf) {
        return Err(forbidden(state));
    }
    require_full(state, jar).await
}

/// The signed-in browser with a full session (an expired password allows only
/// Change Your Password), or the response that sends it where it must go.
pub(super) async fn require_full(state: &HttpState, jar: &CookieJar) -> Result<SignedIn, Response> {
    let me = require(state, jar).await?;
    if me.session.restricted {
        return Err(Redirect::to("/change-password").into_response());
    }
    Ok(me)
}

/// The signed-in browser, or the response that sends it to log in.
pub(super) async fn require(state: &HttpState, jar: &CookieJar) -> Result<SignedIn, Response> {
    match signed_in(state, jar).await {
        Ok(Some(s)) if s.session.client_id.is_none() => Ok(s),
        // An API session (OAuth access token) is not a browser session.
        Ok(Some(_)) => Err((jar.clone().remove(cookies::removal(SESSION)), Redirect::to("/?m=ended")).into_response()),
        Ok(None) => Err((jar.clone().remove(cookies::removal(SESSION)), Redirect::to("/?m=ended")).into_response()),
        Err(e) => {
            tracing::error!(error = %e, "a browser session could not be read");
            Err((StatusCode::INTERNAL_SERVER_ERROR, "the session could not be read").into_response())
        }
    }
}

/// Issues a session for a browser that just proved who it is, and sends it on: to
/// Change Your Password when the password expired, else to `to`.
pub(super) async fn start_session(
    state: &HttpState,
    jar: CookieJar,
    user: &User,
    org: &Org,
    password_expired: bool,
    to: &str,
) -> Response {
    match state.services.issue_session(user, org, None, password_expired).await {
        Ok(issued) => session_cookie(state, jar, &issued, password_expired, to),
        Err(e) => {
            tracing::error!(error = %e, "a browser session could not be issued");
            (jar.remove(cookies::removal(SESSION)), Redirect::to("/?m=ended")).into_response()
        }
    }
}

/// Hands the browser its new session and sends it on to `to` (or to the password
/// change, when only that is allowed).
pub(super) fn session_cookie(
    state: &HttpState,
    jar: CookieJar,
    issued: &Issued,
    password_expired: bool,
    to: &str,
) -> Response {
    let jar = jar.add(cookies::cookie(
        state,
        SESSION,
        issued.id.expose_secret().to_owned(),
        SameSite::Lax,
    ));
    let to = if password_expired { "/change-password" } else { to };
    (jar, Redirect::to(to)).into_response()
}

/// What a redirect home may ask it to say.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Notice {
    m: Option<String>,
}

/// `GET /home`.
pub(super) async fn home(State(state): State<HttpState>, jar: CookieJar, Query(q): Query<Notice>) -> Response {
    let me = match require_full(&state, &jar).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    let notice = (q.m.as_deref() == Some("password"))
        .then_some("Your password has been changed. A new security token was e-mailed to you.");
    let (jar, csrf) = cookies::csrf_token(&state, jar);
    let page = templates::Home {
        product: &state.services.mail.product,
        csrf: &csrf,
        admin: me.profile.is_admin,
        name: &me.user.full_name(),
        username: &me.user.username,
        org: &me.org.name,
        notice,
    };
    (jar, render(&page, StatusCode::OK)).into_response()
}

/// A form with nothing but its CSRF token.
#[derive(Deserialize)]
pub(super) struct Bare {
    #[serde(default, rename = "_csrf")]
    pub(super) csrf: String,
}

/// A page for a failure of ours (logged; the page says nothing more).
pub(super) fn failure(e: &AccountError) -> Response {
    tracing::error!(error = %e, "a page failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "something went wrong; try again").into_response()
}

/// `POST /logout`.
pub(super) async fn logout(State(state): State<HttpState>, jar: CookieJar, Form(form): Form<Bare>) -> Response {
    if !cookies::csrf_ok(&state, &jar, &form.csrf) {
        return forbidden(&state);
    }
    if let Some(sid) = jar.get(SESSION).map(|c| c.value().to_owned()) {
        if let Err(e) = state.services.end_session(&sid).await {
            tracing::error!(error = %e, "a browser session could not be ended");
        }
    }
    (jar.remove(cookies::removal(SESSION)), Redirect::to("/?m=out")).into_response()
}

/// The password policy in words, for the forms that set a password.
pub(super) fn rules(org: &Org) -> String {
    let p = &org.policy;
    let mut text = format!("At least {} characters.", p.min_length);
    let requirement = p.complexity.requirement();
    if !requirement.is_empty() {
        text.push(' ');
        text.push_str(requirement);
    }
    if p.history > 0 {
        text.push_str(&format!(" It can't be one of your last {} passwords.", p.history));
    }
    text
}

fn password_form(state: &HttpState, jar: CookieJar, me: &SignedIn, error: Option<&str>) -> Response {
    let (jar, csrf) = cookies::csrf_token(state, jar);
    let rules = rules(&me.org);
    let page = templates::ChangePassword {
        product: &state.services.mail.product,
        csrf: &csrf,
        admin: me.profile.is_admin && !me.session.restricted,
        username: &me.user.username,
        expired: me.session.restricted,
        rules: &rules,
        error,
    };
    let status = templates::status_for(error);
    (jar, render(&page, status)).into_response()
}

/// `GET /change-password`.
pub(super) async fn password_page(State(state): State<HttpState>, jar: CookieJar) -> Response {
    match require(&state, &jar).await {
        Ok(me) => password_form(&state, jar, &me, None),
        Err(r) => r,
    }
}

/// The password form.
#[derive(Deserialize)]
pub(super) struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// `POST /change-password`: checks the current password, then the policy; the change
/// ends every session (this one too), so the browser gets a fresh one.
pub(super) async fn password_submit(
    State(state): State<HttpState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    Form(form): Form<PasswordForm>,
) -> Response {
    if !cookies::csrf_ok(&state, &jar, &form.csrf) {
        return forbidden(&state);
    }
    let me = match require(&state, &jar).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    if form.new != form.confirm {
        return password_form(&state, jar, &me, Some("The new passwords don't match."));
    }
    let services = &state.services;
    match services
        .confirm_current_password(&me.user, &SecretString::from(form.current), ip)
        .await
    {
        Ok(CurrentPassword::Confirmed) => {}
        Ok(CurrentPassword::Wrong) => return password_form(&state, jar, &me, Some("Your current password is incorrect.")),
        Ok(CurrentPassword::Locked) => {
            return password_form(
                &state,
                jar,
                &me,
                Some("Too many wrong passwords: your account is locked. Ask your administrator, or wait until the lock ends."),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "a current password could not be checked");
            return password_form(
                &state,
                jar,
                &me,
                Some("The password could not be checked just now. Try again."),
            );
        }
    }
    let user = match services.change_password(&me.user, &SecretString::from(form.new)).await {
        Ok(user) => user,
        Err(AccountError::Password(rejection)) => return password_form(&state, jar, &me, Some(&rejection.to_string())),
        Err(e) => {
            tracing::error!(error = %e, "a password could not be changed");
            return password_form(
                &state,
                jar,
                &me,
                Some("The password could not be changed just now. Try again."),
            );
        }
    };
    start_session(&state, jar, &user, &me.org, false, "/home?m=password").await
}

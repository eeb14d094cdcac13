//! "Forgot Your Password?": ask for a link (the answer is the same whether or not the
//! username exists), then choose a new password through it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::CookieJar;
use secrecy::SecretString;
use serde::Deserialize;

use super::account::{failure, rules};
use super::cookies;
use super::cookies::forbidden;
use super::templates::{self, render};
use crate::accounts::password_reset::LINK_VALID_MINUTES;
use crate::http::HttpState;
use crate::AccountError;

fn forgot_page(state: &HttpState, jar: CookieJar, sent_for: Option<&str>) -> Response {
    let (jar, csrf) = cookies::csrf_token(state, jar);
    let page = templates::Forgot {
        product: &state.services.mail.product,
        csrf: &csrf,
        sent_for,
        minutes: LINK_VALID_MINUTES,
    };
    (jar, render(&page, StatusCode::OK)).into_response()
}

/// `GET /forgot`.
pub(super) async fn page(State(state): State<HttpState>, jar: CookieJar) -> Response {
    forgot_page(&state, jar, None)
}

/// The form asking for a link.
#[derive(Deserialize)]
pub(super) struct AskForm {
    #[serde(default)]
    username: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// `POST /forgot`.
pub(super) async fn ask(
    State(state): State<HttpState>,
    headers: axum::http::HeaderMap,
    jar: CookieJar,
    Form(form): Form<AskForm>,
) -> Response {
    if !cookies::csrf_ok(&state, &jar, &form.csrf) {
        return forbidden(&state);
    }
    let base = state
        .public_url
        .clone()
        .unwrap_or_else(|| crate::http::base_url(&state, &headers));
    let username = form.username.trim();
    if let Err(e) = state.services.send_password_reset(username, &base).await {
        return failure(&e);
    }
    forgot_page(&state, jar, Some(username))
}

/// The page that says a link is dead.
fn dead_link(state: &HttpState) -> Response {
    let page = templates::Message {
        product: &state.services.mail.product,
        title: "This link no longer works",
        text:
            "The link expired or was already used. Ask for a new one with \"Forgot Your Password?\" on the login page.",
    };
    render(&page, StatusCode::GONE)
}

async fn reset_page(state: &HttpState, jar: CookieJar, token: &str, error: Option<&str>) -> Response {
    let user = match state.services.reset_link_user(token).await {
        Ok(Some(u)) => u,
        Ok(None) => return dead_link(state),
        Err(e) => return failure(&e),
    };
    let org = match state.services.user_and_org(&user.id).await {
        Ok((_, org)) => org,
        Err(e) => return failure(&e),
    };
    let rules = rules(&org);
    let (jar, csrf) = cookies::csrf_token(state, jar);
    let page = templates::ResetPassword {
        product: &state.services.mail.product,
        csrf: &csrf,
        token,
        username: &user.username,
        rules: &rules,
        error,
    };
    let status = templates::status_for(error);
    (jar, render(&page, status)).into_response()
}

/// `GET /reset/{token}`.
pub(super) async fn reset(State(state): State<HttpState>, jar: CookieJar, Path(token): Path<String>) -> Response {
    reset_page(&state, jar, &token, None).await
}

/// The new-password form.
#[derive(Deserialize)]
pub(super) struct ResetForm {
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// `POST /reset/{token}`.
pub(super) async fn set(
    State(state): State<HttpState>,
    jar: CookieJar,
    Path(token): Path<String>,
    Form(form): Form<ResetForm>,
) -> Response {
    if !cookies::csrf_ok(&state, &jar, &form.csrf) {
        return forbidden(&state);
    }
    if form.new != form.confirm {
        return reset_page(&state, jar, &token, Some("The new passwords don't match.")).await;
    }
    match state
        .services
        .reset_password_by_link(&token, &SecretString::from(form.new))
        .await
    {
        Ok(Some(_)) => Redirect::to("/?m=reset").into_response(),
        Ok(None) => dead_link(&state),
        Err(AccountError::Password(rejection)) => reset_page(&state, jar, &token, Some(&rejection.to_string())).await,
        Err(e) => failure(&e),
    }
}

//! Setup (System Administrator profiles only; everyone else gets 403): Users, with
//! Unlock, Reset Password, Freeze / Unfreeze and Revoke Sessions. Each action is the
//! same account service the CLI uses, so mail and webhooks follow as they do there.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::CookieJar;
use chrono::{DateTime, Utc};
use latchkey_store::users::User;
use serde::Deserialize;

use crate::accounts::admin::Admin;
use crate::accounts::EditUser;

use super::account::{failure, require_full, Bare, SignedIn};
use super::cookies;
use super::cookies::forbidden;
use super::templates::{self, render, UserRow};
use crate::http::HttpState;

/// The signed-in administrator and the access they hold, or the response for
/// everyone else.
pub(super) async fn require_admin(state: &HttpState, jar: &CookieJar) -> Result<(SignedIn, Admin), Response> {
    let me = require_full(state, jar).await?;
    let Some(admin) = state.services.admin(&me) else {
        let page = templates::Message {
            product: &state.services.mail.product,
            title: "Insufficient Privileges",
            text: "You do not have the level of access necessary to perform this operation. Ask your administrator.",
        };
        return Err(render(&page, StatusCode::FORBIDDEN));
    };
    Ok((me, admin))
}

/// A Setup form: its CSRF token checked, then the administrator's session.
pub(super) async fn admin_form(state: &HttpState, jar: &CookieJar, csrf: &str) -> Result<(SignedIn, Admin), Response> {
    if !cookies::csrf_ok(state, jar, csrf) {
        return Err(forbidden(state));
    }
    require_admin(state, jar).await
}

fn status_of(u: &User, now: DateTime<Utc>) -> (&'static str, &'static str) {
    let state = u.state(now);
    (state.label(), state.token())
}

/// What a redirect back may ask the page to say.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Done {
    done: Option<String>,
}

fn done_text(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "unlock" => Some("The user was unlocked."),
        "edit" => Some("The user was saved."),
        "reset-password" => {
            Some("The password was reset; the user was e-mailed a temporary password and a new security token.")
        }
        "freeze" => Some("The user was frozen: no logins until unfrozen."),
        "unfreeze" => Some("The user was unfrozen."),
        "revoke-sessions" => Some("The user's sessions and OAuth tokens were revoked."),
        _ => None,
    }
}

/// `GET /setup/users`.
pub(super) async fn users(State(state): State<HttpState>, jar: CookieJar, Query(q): Query<Done>) -> Response {
    let (me, admin) = match require_admin(&state, &jar).await {
        Ok(pair) => pair,
        Err(r) => return r,
    };
    users_page(&state, jar, &me, &admin, done_text(q.done.as_deref()), None).await
}

async fn users_page(
    state: &HttpState,
    jar: CookieJar,
    me: &SignedIn,
    admin: &Admin,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    let services = &state.services;
    let loaded = async {
        let users = admin.users(&me.org.id).await?;
        let profiles = services.profiles(&me.org.id).await?;
        Ok::<_, crate::AccountError>((users, profiles))
    };
    let (users, profiles) = match loaded.await {
        Ok(v) => v,
        Err(e) => return failure(&e),
    };
    let now = services.clock.now();
    let rows = users
        .iter()
        .map(|u| {
            let (status, status_class) = status_of(u, now);
            let mut actions = Vec::new();
            if u.is_locked(now) || u.is_locked_for_unfamiliar(now) {
                actions.push(("unlock", "Unlock"));
            }
            if !u.frozen {
                actions.push(("reset-password", "Reset Password"));
            }
            actions.push(if u.frozen {
                ("unfreeze", "Unfreeze")
            } else {
                ("freeze", "Freeze")
            });
            actions.push(("revoke-sessions", "Revoke Sessions"));
            UserRow {
                id: u.id.to_string(),
                name: u.full_name(),
                username: u.username.clone(),
                profile: profiles
                    .iter()
                    .find(|p| p.id == u.profile_id)
                    .map_or_else(String::new, |p| p.name.clone()),
                status,
                status_class,
                last_login: u
                    .last_login_at
                    .map_or_else(|| "—".to_owned(), |t| t.format("%Y-%m-%d %H:%M").to_string()),
                actions,
            }
        })
        .collect();
    let (jar, csrf) = cookies::csrf_token(state, jar);
    let page = templates::SetupUsers {
        product: &services.mail.product,
        csrf: &csrf,
        admin: true,
        section: "users",
        users: rows,
        profiles: profiles.iter().map(|p| p.name.clone()).collect(),
        notice,
        error,
    };
    let status = templates::status_for(error);
    (jar, render(&page, status)).into_response()
}

/// The new-user form.
#[derive(Deserialize)]
pub(super) struct NewUserForm {
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    profile: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// `POST /setup/users`: creates the user (whose token is mailed) and mails a
/// temporary password that must be changed at the first login.
pub(super) async fn create(State(state): State<HttpState>, jar: CookieJar, Form(form): Form<NewUserForm>) -> Response {
    let (me, admin) = match admin_form(&state, &jar, &form.csrf).await {
        Ok(pair) => pair,
        Err(r) => return r,
    };
    let request = crate::accounts::CreateUser {
        org: Some(me.org.id.to_string()),
        username: form.username.trim().to_owned(),
        email: form.email.trim().to_owned(),
        first_name: Some(form.first_name.trim().to_owned()).filter(|n| !n.is_empty()),
        last_name: Some(form.last_name.trim().to_owned()).filter(|n| !n.is_empty()),
        profile: Some(form.profile.trim().to_owned()),
        password: None,
        settings: Default::default(),
    };
    let created = match admin.create_user(request).await {
        Ok(user) => admin.reset_password(&user.username).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(user) => {
            tracing::info!(admin = %me.user.id, user = %user.id, "user created in Setup");
            users_page(
                &state,
                jar,
                &me,
                &admin,
                Some("The user was created and e-mailed a temporary password."),
                None,
            )
            .await
        }
        Err(
            e
            @ (crate::AccountError::Invalid(_) | crate::AccountError::Duplicate(_) | crate::AccountError::NotFound(_)),
        ) => users_page(&state, jar, &me, &admin, None, Some(&e.to_string())).await,
        Err(e) => failure(&e),
    }
}

/// The administrator's org's user `id`, if there is one.
async fn user_of_org(state: &HttpState, me: &SignedIn, id: &str) -> Option<User> {
    let user_id = id.parse().ok()?;
    let (user, _) = state.services.user_and_org(&user_id).await.ok()?;
    (user.org_id == me.org.id).then_some(user)
}

fn no_such_user(state: &HttpState) -> Response {
    let page = templates::Message {
        product: &state.services.mail.product,
        title: "User not found",
        text: "There is no such user in your org.",
    };
    render(&page, StatusCode::NOT_FOUND)
}

async fn edit_page(state: &HttpState, jar: CookieJar, user: &User, edit: &EditUser, error: Option<&str>) -> Response {
    let profiles = match state.services.profiles(&user.org_id).await {
        Ok(p) => p.into_iter().map(|p| p.name).collect(),
        Err(e) => return failure(&e),
    };
    let (jar, csrf) = cookies::csrf_token(state, jar);
    let id = user.id.to_string();
    let page = templates::SetupUserEdit {
        product: &state.services.mail.product,
        csrf: &csrf,
        admin: true,
        id: &id,
        username: &user.username,
        first_name: edit.first_name.as_deref().unwrap_or_default(),
        last_name: &edit.last_name,
        email: &edit.email,
        profile: &edit.profile,
        profiles,
        error,
    };
    let status = templates::status_for(error);
    (jar, render(&page, status)).into_response()
}

/// `GET /setup/users/{id}/edit`.
pub(super) async fn edit(State(state): State<HttpState>, jar: CookieJar, Path(id): Path<String>) -> Response {
    let (me, _) = match require_admin(&state, &jar).await {
        Ok(pair) => pair,
        Err(r) => return r,
    };
    let Some(user) = user_of_org(&state, &me, &id).await else {
        return no_such_user(&state);
    };
    let profile = match state.services.profile_of(&user).await {
        Ok(p) => p.name,
        Err(e) => return failure(&e),
    };
    let current = EditUser {
        email: user.email.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        profile,
    };
    edit_page(&state, jar, &user, &current, None).await
}

/// The edit form.
#[derive(Deserialize)]
pub(super) struct EditForm {
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    profile: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// `POST /setup/users/{id}/edit`.
pub(super) async fn save_edit(
    State(state): State<HttpState>,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(form): Form<EditForm>,
) -> Response {
    let (me, admin) = match admin_form(&state, &jar, &form.csrf).await {
        Ok(pair) => pair,
        Err(r) => return r,
    };
    let Some(user) = user_of_org(&state, &me, &id).await else {
        return no_such_user(&state);
    };
    let edit = EditUser {
        email: form.email,
        first_name: Some(form.first_name),
        last_name: form.last_name,
        profile: form.profile,
    };
    match admin.edit_user(&user.username, &edit).await {
        Ok(_) => Redirect::to("/setup/users?done=edit").into_response(),
        Err(e @ (crate::AccountError::Invalid(_) | crate::AccountError::NotFound(_))) => {
            edit_page(&state, jar, &user, &edit, Some(&e.to_string())).await
        }
        Err(e) => failure(&e),
    }
}

/// `POST /setup/users/{id}/{action}`.
pub(super) async fn act(
    State(state): State<HttpState>,
    jar: CookieJar,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<Bare>,
) -> Response {
    let (me, admin) = match admin_form(&state, &jar, &form.csrf).await {
        Ok(pair) => pair,
        Err(r) => return r,
    };
    let services = &state.services;
    let target = match id.parse() {
        Ok(user_id) => services.user_and_org(&user_id).await.ok().map(|(u, _)| u),
        Err(_) => None,
    };
    // Only users of the administrator's own org.
    let Some(target) = target.filter(|u| u.org_id == me.org.id) else {
        let page = templates::Message {
            product: &services.mail.product,
            title: "User not found",
            text: "There is no such user in your org.",
        };
        return render(&page, StatusCode::NOT_FOUND);
    };
    let username = target.username.as_str();
    let done = match action.as_str() {
        "unlock" => admin.unlock(username).await.map(|_| ()),
        "reset-password" => admin.reset_password(username).await.map(|_| ()),
        "freeze" => admin.set_frozen(username, true).await.map(|_| ()),
        "unfreeze" => admin.set_frozen(username, false).await.map(|_| ()),
        "revoke-sessions" => admin.revoke_sessions(username).await.map(|_| ()),
        _ => return (StatusCode::NOT_FOUND, "no such action").into_response(),
    };
    match done {
        Ok(()) => {
            tracing::info!(admin = %me.user.id, user = %target.id, action = %action, "setup action");
            Redirect::to(&format!("/setup/users?done={action}")).into_response()
        }
        Err(crate::AccountError::Invalid(why)) => {
            let page = templates::Message {
                product: &services.mail.product,
                title: "That did not work",
                text: &why,
            };
            render(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => failure(&e),
    }
}

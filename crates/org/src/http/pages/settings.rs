//! My Settings → Personal: the user's own login history, sessions and authorised
//! connected apps (each revocable), Change My Password, and Reset My Security Token — which does not exist for users whose profile has login
//! IP ranges (they never need a token), as in the seeds.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use axum_extra::extract::cookie::CookieJar;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latchkey_core::secret::SecretDigest;
use serde::Deserialize;

use super::account::{require_full, user_form, Bare, SignedIn};
use super::cookies::{self, SESSION};
use super::templates::{self, render, GrantRow, HistoryRow, SessionRow};
use crate::http::HttpState;
use crate::AccountError;

/// Rows of the user's own history shown.
const HISTORY_ROWS: i64 = 20;

/// Whether the user may reset their token (no login IP ranges on the profile).
async fn token_page(state: &HttpState, me: &SignedIn) -> Result<bool, AccountError> {
    Ok(state.services.login_ranges(&me.profile).await?.is_empty())
}

/// `GET /settings`.
pub(super) async fn page(State(state): State<HttpState>, jar: CookieJar) -> Response {
    let me = match require_full(&state, &jar).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    settings_page(&state, jar, &me, None).await
}

async fn settings_page(state: &HttpState, jar: CookieJar, me: &SignedIn, notice: Option<&str>) -> Response {
    let loaded = async {
        let token_page = token_page(state, me).await?;
        let sessions = state.services.sessions_of(&me.user).await?;
        let rows = state.services.own_logins(&me.user, HISTORY_ROWS).await?;
        let apps = state.services.authorized_apps(&me.user).await?;
        Ok::<_, AccountError>((token_page, sessions, rows, apps))
    };
    let (token_page, sessions, rows, apps) = match loaded.await {
        Ok(v) => v,
        Err(e) => return super::account::failure(&e),
    };
    let mine = jar.get(SESSION).map(|c| crate::login::sessions::session_key(c.value()));
    let time = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M").to_string();
    let sessions = sessions
        .into_iter()
        .map(|s| SessionRow {
            started: time(s.created_at),
            used: time(s.last_used_at),
            kind: s
                .client_id
                .map_or_else(|| "Browser or API login".to_owned(), |c| format!("Connected app {c}")),
            current: mine.as_ref() == Some(&s.digest),
            handle: URL_SAFE_NO_PAD.encode(s.digest.as_bytes()),
        })
        .collect();
    let history = rows
        .into_iter()
        .map(|r| HistoryRow {
            time: r.login_time.format("%Y-%m-%d %H:%M:%S").to_string(),
            ip: r.source_ip,
            login_type: r.login_type,
            status: r.status,
            application: r.application,
        })
        .collect();
    let apps = apps.into_iter().map(GrantRow::from).collect();
    let (jar, csrf) = cookies::csrf_token(state, jar);
    let page = templates::Settings {
        product: &state.services.mail.product,
        csrf: &csrf,
        admin: me.profile.is_admin,
        token_page,
        sessions,
        apps,
        history,
        notice,
    };
    (jar, render(&page, StatusCode::OK)).into_response()
}

/// The revoke form.
#[derive(Deserialize)]
pub(super) struct RevokeForm {
    #[serde(default)]
    session: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// `POST /settings/sessions/revoke`: ends one of the user's own other sessions.
pub(super) async fn revoke_session(
    State(state): State<HttpState>,
    jar: CookieJar,
    Form(form): Form<RevokeForm>,
) -> Response {
    let me = match user_form(&state, &jar, &form.csrf).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    let digest = URL_SAFE_NO_PAD
        .decode(form.session.trim())
        .ok()
        .and_then(|b| SecretDigest::from_bytes(&b));
    let Some(digest) = digest else {
        return settings_page(&state, jar, &me, Some("There is no such session.")).await;
    };
    match state.services.end_session_of(&me.user, &digest).await {
        Ok(true) => settings_page(&state, jar, &me, Some("The session was revoked.")).await,
        Ok(false) => settings_page(&state, jar, &me, Some("That session had already ended.")).await,
        Err(e) => super::account::failure(&e),
    }
}

/// The app-revoke form.
#[derive(Deserialize)]
pub(super) struct AppForm {
    #[serde(default)]
    client_id: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// `POST /settings/apps/revoke`: withdraws the user's authorisation of an app; its
/// tokens for the user end at once.
pub(super) async fn revoke_app(State(state): State<HttpState>, jar: CookieJar, Form(form): Form<AppForm>) -> Response {
    let me = match user_form(&state, &jar, &form.csrf).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    match state
        .services
        .revoke_app_authorization(&me.user, form.client_id.trim())
        .await
    {
        Ok(true) => settings_page(&state, jar, &me, Some("The app's access was revoked.")).await,
        Ok(false) => settings_page(&state, jar, &me, Some("That app had no access.")).await,
        Err(e) => super::account::failure(&e),
    }
}

/// The page that is not there (for profiles with login IP ranges).
fn not_found(state: &HttpState) -> Response {
    let page = templates::Message {
        product: &state.services.mail.product,
        title: "Page not found",
        text: "This page does not exist.",
    };
    render(&page, StatusCode::NOT_FOUND)
}

fn token_form(state: &HttpState, jar: CookieJar, me: &SignedIn, sent_to: Option<&str>) -> Response {
    let (jar, csrf) = cookies::csrf_token(state, jar);
    let page = templates::ResetToken {
        product: &state.services.mail.product,
        csrf: &csrf,
        admin: me.profile.is_admin,
        email: &me.user.email,
        sent_to,
    };
    (jar, render(&page, StatusCode::OK)).into_response()
}

/// `GET /settings/token`.
pub(super) async fn token(State(state): State<HttpState>, jar: CookieJar) -> Response {
    let me = match require_full(&state, &jar).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    match token_page(&state, &me).await {
        Ok(true) => token_form(&state, jar, &me, None),
        Ok(false) => not_found(&state),
        Err(e) => super::account::failure(&e),
    }
}

/// `POST /settings/token`: the Reset Security Token button.
pub(super) async fn reset_token(State(state): State<HttpState>, jar: CookieJar, Form(form): Form<Bare>) -> Response {
    let me = match user_form(&state, &jar, &form.csrf).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    match token_page(&state, &me).await {
        Ok(true) => {}
        Ok(false) => return not_found(&state),
        Err(e) => return super::account::failure(&e),
    }
    match state.services.reset_token_of(&me.user).await {
        Ok(user) => token_form(&state, jar, &me, Some(&user.email)),
        Err(e) => super::account::failure(&e),
    }
}

//! The browser UI: server-rendered pages (askama templates compiled into the binary,
//! one embedded stylesheet, no scripts yet and no CDN). Every form carries a CSRF
//! token; every page is sent with a strict Content-Security-Policy and framing,
//! sniffing and referrer protections.
//!
//! The browser's session is an ordinary org session (the `sid` cookie, HttpOnly,
//! SameSite=Lax, Secure over TLS), so a password change, reset, freeze or "revoke
//! sessions" ends it like any API session.

mod account;
mod app_policies;
mod authorize;
mod chart;
mod cookies;
mod forgot;
mod history;
mod login;
mod policies;
mod profiles;
mod settings;
mod setup;
mod templates;
mod webhooks;

use axum::routing::{get, post};
use axum::Router;

use super::HttpState;

/// Paths where a password or code is tried (they share the login rate limit).
pub(crate) fn is_login_surface(path: &str) -> bool {
    path == "/login"
        || path == "/verify"
        || path == "/forgot"
        || path.starts_with("/reset/")
        || path == "/change-password"
}

/// A page that only says `text` under `title`.
pub(super) fn message_page(
    state: &HttpState,
    status: axum::http::StatusCode,
    title: &str,
    text: &str,
) -> axum::response::Response {
    let page = templates::Message {
        product: &state.services.mail.product,
        title,
        text,
    };
    templates::render(&page, status)
}

/// The UI's routes.
pub(super) fn router() -> Router<HttpState> {
    Router::new()
        .route("/", get(login::page))
        .route(
            "/services/oauth2/authorize",
            get(authorize::start).post(authorize::decide),
        )
        .route("/login", post(login::submit))
        .route("/verify", get(login::verify_page).post(login::verify_submit))
        .route("/logout", post(account::logout))
        .route("/forgot", get(forgot::page).post(forgot::ask))
        .route("/reset/{token}", get(forgot::reset).post(forgot::set))
        .route("/home", get(account::home))
        .route(
            "/change-password",
            get(account::password_page).post(account::password_submit),
        )
        .route("/settings", get(settings::page))
        .route("/settings/token", get(settings::token).post(settings::reset_token))
        .route("/settings/sessions/revoke", post(settings::revoke_session))
        .route("/settings/apps/revoke", post(settings::revoke_app))
        .route("/setup/users", get(setup::users).post(setup::create))
        .route("/setup/policies", get(policies::page).post(policies::save))
        .route(
            "/setup/login-flows",
            get(policies::login_flows).post(policies::save_login_flows),
        )
        .route("/setup/network", get(policies::network))
        .route("/setup/network/add", post(policies::add_range))
        .route("/setup/network/remove", post(policies::remove_range))
        .route("/setup/profiles", get(profiles::profiles))
        .route("/setup/profiles/{id}/ranges", post(profiles::set_ranges))
        .route("/setup/profiles/{id}/api", post(profiles::set_api))
        .route("/setup/apps", get(profiles::apps).post(profiles::create_app))
        .route("/setup/apps/rotate", post(profiles::rotate_app))
        .route(
            "/setup/apps/{client_id}/policies",
            get(app_policies::show).post(app_policies::save),
        )
        .route("/setup/login-history", get(history::page))
        .route("/setup/login-history.csv", get(history::csv))
        .route("/setup/webhooks", get(webhooks::page).post(webhooks::add))
        .route("/setup/webhooks/{id}/{action}", post(webhooks::act))
        .route("/setup/users/{id}/edit", get(setup::edit).post(setup::save_edit))
        .route("/setup/users/{id}/{action}", post(setup::act))
        .route("/static/app.css", get(latchkey_web::stylesheet))
        .layer(axum::middleware::from_fn(latchkey_web::security_headers))
}

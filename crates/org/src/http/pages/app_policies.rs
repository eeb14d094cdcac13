//! Setup → Connected Apps → OAuth Policies: permitted users, the refresh-token policy
//! (lifetime, rotation, surviving password changes), IP relaxation, scopes, and the
//! certificate of the JWT bearer flow.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use axum_extra::extract::cookie::CookieJar;
use latchkey_store::apps::{ConnectedApp, Policies, Switch};
use serde::Deserialize;

use super::account::{failure, SignedIn};
use super::cookies;
use super::setup::{admin_form, require_admin};
use super::templates::{self, render};
use crate::http::HttpState;

async fn app_of(state: &HttpState, me: &SignedIn, client_id: &str) -> Result<ConnectedApp, Response> {
    match state.services.apps(&me.org.id).await {
        Ok(apps) => apps.into_iter().find(|a| a.client_id == client_id).ok_or_else(|| {
            let page = templates::Message {
                product: &state.services.mail.product,
                title: "Page not found",
                text: "There is no such connected app.",
            };
            render(&page, StatusCode::NOT_FOUND)
        }),
        Err(e) => Err(failure(&e)),
    }
}

fn page(state: &HttpState, jar: CookieJar, app: &ConnectedApp, notice: Option<&str>, error: Option<&str>) -> Response {
    let (jar, csrf) = cookies::csrf_token(state, jar);
    let (refresh_policy, refresh_minutes) = match app.refresh_token_minutes {
        None => ("revoked", String::new()),
        Some(0) => ("immediately", String::new()),
        Some(m) => ("after", m.to_string()),
    };
    let page = templates::AppPolicies {
        product: &state.services.mail.product,
        csrf: &csrf,
        admin: true,
        section: "apps",
        app: &app.name,
        client_id: &app.client_id,
        admin_approved_only: app.admin_approved_only,
        refresh_policy,
        refresh_minutes: &refresh_minutes,
        rotate: app.rotate_refresh_tokens,
        survives: app.refresh_survives_password_change,
        relax_ip: app.relax_ip,
        scopes: &app.scopes,
        has_certificate: app.jwt_public_key.is_some(),
        notice,
        error,
    };
    (jar, render(&page, templates::status_for(error))).into_response()
}

/// `GET /setup/apps/{client_id}/policies`.
pub(super) async fn show(State(state): State<HttpState>, jar: CookieJar, Path(client_id): Path<String>) -> Response {
    let (me, _) = match require_admin(&state, &jar).await {
        Ok(pair) => pair,
        Err(r) => return r,
    };
    match app_of(&state, &me, &client_id).await {
        Ok(app) => page(&state, jar, &app, None, None),
        Err(r) => r,
    }
}

/// The policies form.
#[derive(Deserialize)]
pub(super) struct PolicyForm {
    #[serde(default)]
    permitted_users: String,
    #[serde(default)]
    refresh_policy: String,
    #[serde(default)]
    refresh_minutes: String,
    #[serde(default)]
    rotate: Option<String>,
    #[serde(default)]
    survives: Option<String>,
    #[serde(default)]
    ip_relaxation: String,
    #[serde(default)]
    scopes: String,
    #[serde(default)]
    certificate: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// `POST /setup/apps/{client_id}/policies`.
pub(super) async fn save(
    State(state): State<HttpState>,
    jar: CookieJar,
    Path(client_id): Path<String>,
    Form(form): Form<PolicyForm>,
) -> Response {
    let (me, admin) = match admin_form(&state, &jar, &form.csrf).await {
        Ok(pair) => pair,
        Err(r) => return r,
    };
    let app = match app_of(&state, &me, &client_id).await {
        Ok(app) => app,
        Err(r) => return r,
    };
    let refresh_token_minutes = match form.refresh_policy.as_str() {
        "immediately" => Some(0),
        "after" => match form.refresh_minutes.trim().parse::<i64>() {
            Ok(m) if m > 0 => Some(m),
            _ => {
                return page(
                    &state,
                    jar,
                    &app,
                    None,
                    Some("Give the minutes after which refresh tokens expire."),
                )
            }
        },
        _ => None,
    };
    let policies = Policies {
        admin_approved_only: form.permitted_users == "admin",
        refresh_token_minutes,
        relax_ip: form.ip_relaxation == "relax",
        scopes: form.scopes,
    };
    let saved = async {
        if !form.certificate.trim().is_empty() {
            admin
                .set_app_jwt_key(&me.org.id, &app.name, form.certificate.trim())
                .await?;
        }
        admin.set_app_policies(&me.org.id, &app.name, policies).await?;
        admin
            .set_app_switch(
                &me.org.id,
                &app.name,
                Switch::RotateRefreshTokens,
                form.rotate.is_some(),
            )
            .await?;
        admin
            .set_app_switch(
                &me.org.id,
                &app.name,
                Switch::RefreshSurvivesPasswordChange,
                form.survives.is_some(),
            )
            .await
    };
    match saved.await {
        Ok(app) => page(&state, jar, &app, Some("The policies were saved."), None),
        Err(crate::AccountError::Invalid(why)) => page(&state, jar, &app, None, Some(&why)),
        Err(e) => failure(&e),
    }
}

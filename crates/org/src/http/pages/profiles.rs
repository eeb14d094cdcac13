//! Setup → Profiles (login IP ranges) and Connected Apps (consumer keys; a new or
//! rotated consumer secret is shown once, on the page that answers the form).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use axum_extra::extract::cookie::CookieJar;
use latchkey_core::network::IpRange;
use latchkey_store::orgs::Profile;
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::account::{failure, SignedIn};
use super::cookies;
use super::setup::{admin_form, require_admin};
use super::templates::{self, render, AppRow, ProfileRow};
use crate::accounts::admin::Admin;
use crate::http::HttpState;
use crate::AccountError;

async fn profiles_page(
    state: &HttpState,
    jar: CookieJar,
    me: &SignedIn,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    let services = &state.services;
    let loaded = async {
        let mut rows = Vec::new();
        for p in services.profiles(&me.org.id).await? {
            let ranges = services.login_ranges(&p).await?;
            rows.push(ProfileRow {
                id: p.id.to_string(),
                name: p.name.clone(),
                admin: p.is_admin,
                api: p.api_enabled,
                ranges: ranges.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
            });
        }
        Ok::<_, AccountError>(rows)
    };
    let profiles = match loaded.await {
        Ok(p) => p,
        Err(e) => return failure(&e),
    };
    let (jar, csrf) = cookies::csrf_token(state, jar);
    let page = templates::SetupProfiles {
        product: &services.mail.product,
        csrf: &csrf,
        admin: true,
        section: "profiles",
        profiles,
        notice,
        error,
    };
    (jar, render(&page, templates::status_for(error))).into_response()
}

/// `GET /setup/profiles`.
pub(super) async fn profiles(State(state): State<HttpState>, jar: CookieJar) -> Response {
    match require_admin(&state, &jar).await {
        Ok((me, _)) => profiles_page(&state, jar, &me, None, None).await,
        Err(r) => r,
    }
}

/// The login-ranges form.
#[derive(Deserialize)]
pub(super) struct RangesForm {
    #[serde(default)]
    ranges: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// The administrator's org's profile `id`, or the response saying there is none.
async fn profile_of_org(state: &HttpState, me: &SignedIn, id: &str) -> Result<Profile, Response> {
    match state.services.profiles(&me.org.id).await {
        Ok(all) => all
            .into_iter()
            .find(|p| p.id.as_str() == id)
            .ok_or_else(|| (StatusCode::NOT_FOUND, "no such profile").into_response()),
        Err(e) => Err(failure(&e)),
    }
}

/// `POST /setup/profiles/{id}/ranges`.
pub(super) async fn set_ranges(
    State(state): State<HttpState>,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(form): Form<RangesForm>,
) -> Response {
    let (me, admin) = match admin_form(&state, &jar, &form.csrf).await {
        Ok(pair) => pair,
        Err(r) => return r,
    };
    let profile = match profile_of_org(&state, &me, &id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let parsed: Result<Vec<IpRange>, _> = form
        .ranges
        .split(['\n', ','])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::parse::<IpRange>)
        .collect();
    let ranges = match parsed {
        Ok(r) => r,
        Err(e) => return profiles_page(&state, jar, &me, None, Some(&e.to_string())).await,
    };
    match admin.set_login_ranges(&me.org.id, &profile.name, &ranges).await {
        Ok(_) => {
            let notice = format!("The login IP ranges of {} were saved.", profile.name);
            profiles_page(&state, jar, &me, Some(&notice), None).await
        }
        Err(AccountError::Invalid(why)) => profiles_page(&state, jar, &me, None, Some(&why)).await,
        Err(e) => failure(&e),
    }
}

/// The API switch.
#[derive(Deserialize)]
pub(super) struct ApiForm {
    #[serde(default)]
    enabled: bool,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// `POST /setup/profiles/{id}/api`: the profile's users may (or may not) use the API.
pub(super) async fn set_api(
    State(state): State<HttpState>,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(form): Form<ApiForm>,
) -> Response {
    let (me, admin) = match admin_form(&state, &jar, &form.csrf).await {
        Ok(pair) => pair,
        Err(r) => return r,
    };
    let profile = match profile_of_org(&state, &me, &id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match admin.set_profile_api_enabled(&profile.id, form.enabled).await {
        Ok(()) => {
            let notice = format!(
                "The API is {} for {}.",
                if form.enabled { "enabled" } else { "disabled" },
                profile.name
            );
            profiles_page(&state, jar, &me, Some(&notice), None).await
        }
        Err(e) => failure(&e),
    }
}

async fn apps_page(
    state: &HttpState,
    jar: CookieJar,
    me: &SignedIn,
    admin: &Admin,
    secret: Option<(&str, &str, &str)>,
    error: Option<&str>,
) -> Response {
    let services = &state.services;
    let loaded = async {
        let users = admin.users(&me.org.id).await?;
        let apps = services.apps(&me.org.id).await?;
        let usage = services.oauth_usage(&me.org.id).await?;
        Ok::<_, AccountError>((
            apps.into_iter()
                .map(|a| AppRow {
                    run_as: a
                        .run_as
                        .and_then(|id| users.iter().find(|u| u.id == id).map(|u| u.username.clone()))
                        .unwrap_or_else(|| "—".into()),
                    callback: a.callback_url.unwrap_or_else(|| "—".into()),
                    name: a.name,
                    client_id: a.client_id,
                })
                .collect::<Vec<_>>(),
            usage.into_iter().map(templates::GrantRow::from).collect(),
        ))
    };
    let (apps, usage) = match loaded.await {
        Ok(a) => a,
        Err(e) => return failure(&e),
    };
    let (jar, csrf) = cookies::csrf_token(state, jar);
    let page = templates::SetupApps {
        product: &services.mail.product,
        csrf: &csrf,
        admin: true,
        section: "apps",
        apps,
        usage,
        secret,
        error,
    };
    (jar, render(&page, templates::status_for(error))).into_response()
}

/// `GET /setup/apps`.
pub(super) async fn apps(State(state): State<HttpState>, jar: CookieJar) -> Response {
    match require_admin(&state, &jar).await {
        Ok((me, admin)) => apps_page(&state, jar, &me, &admin, None, None).await,
        Err(r) => r,
    }
}

/// The new-app form (and the rotate form, which sends only `name`).
#[derive(Deserialize)]
pub(super) struct AppForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    run_as: String,
    #[serde(default)]
    callback: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

fn optional(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
}

/// `POST /setup/apps`.
pub(super) async fn create_app(State(state): State<HttpState>, jar: CookieJar, Form(form): Form<AppForm>) -> Response {
    let (me, admin) = match admin_form(&state, &jar, &form.csrf).await {
        Ok(pair) => pair,
        Err(r) => return r,
    };
    let created = admin
        .create_app(&me.org.id, &form.name, optional(&form.run_as), optional(&form.callback))
        .await;
    match created {
        Ok((app, secret)) => {
            apps_page(
                &state,
                jar,
                &me,
                &admin,
                Some((&app.name, &app.client_id, secret.expose_secret())),
                None,
            )
            .await
        }
        Err(e @ (AccountError::Invalid(_) | AccountError::NotFound(_) | AccountError::Duplicate(_))) => {
            apps_page(&state, jar, &me, &admin, None, Some(&e.to_string())).await
        }
        Err(e) => failure(&e),
    }
}

/// `POST /setup/apps/rotate`.
pub(super) async fn rotate_app(State(state): State<HttpState>, jar: CookieJar, Form(form): Form<AppForm>) -> Response {
    let (me, admin) = match admin_form(&state, &jar, &form.csrf).await {
        Ok(pair) => pair,
        Err(r) => return r,
    };
    match admin.rotate_app_secret(&me.org.id, &form.name).await {
        Ok((app, secret)) => {
            apps_page(
                &state,
                jar,
                &me,
                &admin,
                Some((&app.name, &app.client_id, secret.expose_secret())),
                None,
            )
            .await
        }
        Err(AccountError::NotFound(_)) => (StatusCode::NOT_FOUND, "no such app").into_response(),
        Err(e) => failure(&e),
    }
}

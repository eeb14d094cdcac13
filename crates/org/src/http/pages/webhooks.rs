//! Setup → Webhooks: the org's credential-change endpoints, their recent deliveries,
//! and adding, rotating and removing them. A new or rotated signing secret is shown
//! once, on the page that answers the form; it is never stored (see `crate::webhooks`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use latchkey_core::webhooks::EventType;
use secrecy::ExposeSecret;

use super::account::{failure, SignedIn};
use super::cookies;
use super::setup::{admin_form, require_admin};
use super::templates::{self, render, DeliveryRow, EndpointRow};
use crate::http::HttpState;
use crate::AccountError;

/// Deliveries shown per endpoint.
const RECENT: i64 = 5;

/// What the page says besides the list.
#[derive(Default)]
struct Said<'a> {
    secret: Option<(&'a str, &'a str)>,
    notice: Option<&'a str>,
    error: Option<&'a str>,
}

async fn show(state: &HttpState, jar: CookieJar, me: &SignedIn, said: Said<'_>, status: StatusCode) -> Response {
    let services = &state.services;
    let loaded = async {
        let mut endpoints = Vec::new();
        for w in services.webhooks(&me.org.id).await? {
            let deliveries = services
                .webhook_deliveries(&me.org.id, &w.id, RECENT)
                .await?
                .into_iter()
                .map(|d| DeliveryRow {
                    created: d.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    event_type: d.event_type,
                    status: d.status,
                    attempts: d.attempts,
                    answer: match (d.last_status, d.last_error) {
                        (Some(code), _) => format!("HTTP {code}"),
                        (None, Some(e)) => e,
                        (None, None) => "—".into(),
                    },
                })
                .collect();
            endpoints.push(EndpointRow {
                events: w.events.join(", "),
                id: w.id,
                url: w.url,
                deliveries,
            });
        }
        Ok::<_, AccountError>(endpoints)
    };
    let endpoints = match loaded.await {
        Ok(e) => e,
        Err(e) => return failure(&e),
    };
    let (jar, csrf) = cookies::csrf_token(state, jar);
    let page = templates::SetupWebhooks {
        product: &services.mail.product,
        csrf: &csrf,
        admin: true,
        section: "webhooks",
        endpoints,
        event_types: EventType::ALL.iter().map(|t| t.as_str()).collect(),
        secret: said.secret,
        notice: said.notice,
        error: said.error,
    };
    (jar, render(&page, status)).into_response()
}

/// `GET /setup/webhooks`.
pub(super) async fn page(State(state): State<HttpState>, jar: CookieJar) -> Response {
    match require_admin(&state, &jar).await {
        Ok((me, _)) => show(&state, jar, &me, Said::default(), StatusCode::OK).await,
        Err(r) => r,
    }
}

/// The form's fields, `events` repeated once per ticked box.
fn fields(body: &[u8]) -> (String, String, Vec<String>) {
    let (mut csrf, mut url, mut events) = (String::new(), String::new(), Vec::new());
    for (k, v) in form_urlencoded::parse(body) {
        match k.as_ref() {
            "_csrf" => csrf = v.into_owned(),
            "url" => url = v.into_owned(),
            "events" => events.push(v.into_owned()),
            _ => {}
        }
    }
    (csrf, url, events)
}

/// `POST /setup/webhooks`: registers an endpoint and shows its secret once.
pub(super) async fn add(State(state): State<HttpState>, jar: CookieJar, body: Bytes) -> Response {
    let (csrf, url, events) = fields(&body);
    let (me, admin) = match admin_form(&state, &jar, &csrf).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    let types: Result<Vec<EventType>, String> = events.iter().map(|e| e.parse()).collect();
    let types = match types {
        Ok(t) if !t.is_empty() => t,
        Ok(_) => {
            let said = Said {
                error: Some("Choose at least one event."),
                ..Said::default()
            };
            return show(&state, jar, &me, said, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        Err(e) => {
            let said = Said {
                error: Some(&e),
                ..Said::default()
            };
            return show(&state, jar, &me, said, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    match admin.create_webhook(&me.org.id, &url, &types).await {
        Ok((webhook, secret)) => {
            let said = Said {
                secret: Some((&webhook.id, secret.expose_secret())),
                notice: Some("The endpoint was added."),
                error: None,
            };
            show(&state, jar, &me, said, StatusCode::OK).await
        }
        Err(AccountError::Invalid(why)) => {
            let said = Said {
                error: Some(&why),
                ..Said::default()
            };
            show(&state, jar, &me, said, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => failure(&e),
    }
}

/// `POST /setup/webhooks/{id}/{rotate|remove}`.
pub(super) async fn act(
    State(state): State<HttpState>,
    jar: CookieJar,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (csrf, _, _) = fields(&body);
    let (me, admin) = match admin_form(&state, &jar, &csrf).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    match action.as_str() {
        "rotate" => match admin.rotate_webhook_secret(&me.org.id, &id).await {
            Ok(secret) => {
                let said = Said {
                    secret: Some((&id, secret.expose_secret())),
                    notice: Some("The secret was rotated: deliveries from now on are signed with the new one."),
                    error: None,
                };
                show(&state, jar, &me, said, StatusCode::OK).await
            }
            Err(AccountError::NotFound(_)) => (StatusCode::NOT_FOUND, "no such endpoint").into_response(),
            Err(e) => failure(&e),
        },
        "remove" => match admin.delete_webhook(&me.org.id, &id).await {
            Ok(()) => Redirect::to("/setup/webhooks").into_response(),
            Err(AccountError::NotFound(_)) => (StatusCode::NOT_FOUND, "no such endpoint").into_response(),
            Err(e) => failure(&e),
        },
        _ => (StatusCode::NOT_FOUND, "no such action").into_response(),
    }
}

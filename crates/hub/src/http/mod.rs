//! The hub's HTTP surface: its pages ([`ui`]), `POST /webhooks/{credential record id}`
//! receiving the org's signed credential-change announcements, and `GET /healthz` for
//! load balancers. Webhook refusals say why in a JSON body (`{"error": …}`) and never
//! echo the delivery.

mod connect;
mod pages;
pub mod ui;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use latchkey_core::webhooks as wire;
use serde_json::json;

use crate::announcements::{Effect, Refusal, Signed};
use crate::HubError;

/// Largest delivery accepted (events are a few hundred bytes).
const BODY_LIMIT: usize = 64 * 1024;

/// The hub's routes over `web` (serve them with connect info, so that login attempts
/// are limited per client address), with the layers every listener wears
/// ([`latchkey_web::layers`]).
pub fn router(web: ui::Web) -> Router {
    let pages = Router::new()
        .route("/", get(ui::home))
        .route("/login", post(ui::login))
        .route("/logout", post(ui::logout))
        .route("/data-sync", get(ui::data_sync))
        .route("/data-sync/{name}/state", post(ui::change_state))
        .route("/data-sync/{name}/test", post(ui::test))
        .route("/data-source", get(ui::data_source).post(ui::save_data_source))
        .route("/data-source/test", post(ui::test_data_source))
        .route("/data-source/oauth", post(connect::start))
        .route(crate::oauth::CALLBACK_PATH, get(connect::callback))
        .route("/integration/security", get(ui::security).post(ui::save_security))
        .route("/integration/security/test", post(ui::test_security))
        .route("/contacts", get(ui::contacts))
        .route("/static/app.css", get(latchkey_web::stylesheet))
        .layer(axum::middleware::from_fn(latchkey_web::security_headers));
    let router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/webhooks/{credential}", post(receive))
        .merge(pages)
        .layer(axum::middleware::from_fn_with_state(web.clone(), ui::limit_logins))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(latchkey_web::layers::timeout());
    latchkey_web::layers::observed(router).with_state(web)
}

async fn receive(
    State(web): State<ui::Web>,
    Path(credential): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let hub = web.hub;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signed = Signed {
        id: header(wire::HEADER_ID),
        timestamp: header(wire::HEADER_TIMESTAMP),
        signature: header(wire::HEADER_SIGNATURE),
    };
    match hub.receive_announcement(&credential, signed, &body).await {
        Ok(effect) => {
            let (what, connectors) = match effect {
                Effect::Suspended(n) => ("suspended", n),
                Effect::Resumed(n) => ("resumed", n),
                Effect::Ignored(why) => (why, 0),
            };
            Json(json!({ "ok": true, "effect": what, "connectors": connectors })).into_response()
        }
        Err(refusal) => {
            let status = match &refusal {
                Refusal::UnknownEndpoint => StatusCode::NOT_FOUND,
                Refusal::Signature(_) => StatusCode::UNAUTHORIZED,
                Refusal::Body(_) => StatusCode::BAD_REQUEST,
                Refusal::Hub(HubError::Busy(_)) => StatusCode::SERVICE_UNAVAILABLE,
                Refusal::Hub(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            if status.is_server_error() {
                tracing::error!(error = %refusal, "an announcement could not be applied");
            } else {
                tracing::warn!(status = status.as_u16(), error = %refusal, "announcement refused");
            }
            (status, Json(json!({ "ok": false, "error": refusal.to_string() }))).into_response()
        }
    }
}

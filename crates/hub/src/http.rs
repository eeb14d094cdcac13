//! The hub's HTTP surface: `POST /webhooks/{credential record id}` receives the org's
//! signed credential-change announcements, and `GET /healthz` answers load balancers.
//! Refusals say why in a JSON body (`{"error": …}`) and never echo the delivery.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use latchkey_core::webhooks as wire;
use serde_json::json;

use crate::announcements::{Effect, Refusal, Signed};
use crate::{Hub, HubError};

/// Largest delivery accepted (events are a few hundred bytes).
const BODY_LIMIT: usize = 64 * 1024;

/// The hub's routes.
pub fn router(hub: Hub) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/webhooks/{credential}", post(receive))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(hub)
}

async fn receive(State(hub): State<Hub>, Path(credential): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
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

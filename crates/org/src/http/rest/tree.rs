//! `composite/tree/{object}`: up to 200 new records with their children, in one
//! transaction, answered by `referenceId`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::{Extension, Router};
use serde_json::{json, Value as Json};

use super::sobjects::kind;
use super::{both, json_response, parse_body};
use crate::http::HttpState;
use crate::records::{Caller, RestError};

pub(super) fn routes(api: Router<HttpState>, base: &str) -> Router<HttpState> {
    both(api, &format!("{base}/composite/tree/{{object}}"), post(create))
}

async fn create(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, object)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, RestError> {
    let kind = kind(&caller, &object)?;
    let body = parse_body(&body)?;
    let records = body
        .get("records")
        .and_then(Json::as_array)
        .ok_or_else(|| RestError::BadCollection("The request needs a records array".into()))?;
    let (failed, results) = state.services.create_tree(&caller, kind, records).await?;
    let results: Vec<Json> = results
        .iter()
        .map(|r| match &r.outcome {
            Ok(id) => json!({ "referenceId": r.reference_id, "id": id }),
            Err((code, message, fields)) => json!({
                "referenceId": r.reference_id,
                "errors": [{ "statusCode": code, "message": message, "fields": fields }],
            }),
        })
        .collect();
    let status = if failed {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::CREATED
    };
    Ok(json_response(
        status,
        &json!({ "hasErrors": failed, "results": results }),
    ))
}

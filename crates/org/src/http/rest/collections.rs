//! `composite/sobjects`: create (POST), update (PATCH) and delete (DELETE `?ids=`) up
//! to 200 records per call, and retrieve several by id (POST `…/{T}` `{ids, fields}`).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{patch, post};
use axum::{Extension, Router};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::sobjects::{kind, record_json};
use super::{both, json_response, parse_body, version_of};
use crate::http::HttpState;
use crate::records::collections::Operation;
use crate::records::{record_id, Caller, CollectionResult, RestError};

pub(super) fn routes(mut api: Router<HttpState>, base: &str) -> Router<HttpState> {
    let c = format!("{base}/composite/sobjects");
    api = both(api, &c, post(create).patch(update).delete(destroy));
    api = both(api, &format!("{c}/{{object}}"), post(retrieve));
    both(api, &format!("{c}/{{object}}/{{field}}"), patch(upsert))
}

fn results_json(results: &[CollectionResult]) -> Json {
    Json::Array(
        results
            .iter()
            .map(|r| match &r.error {
                None => {
                    let mut ok = json!({ "id": r.id, "success": true, "errors": [] });
                    if let Some(created) = r.created {
                        ok["created"] = json!(created);
                    }
                    ok
                }
                Some((code, message, fields)) => json!({
                    "id": r.id,
                    "success": false,
                    "errors": [{ "statusCode": code, "message": message, "fields": fields }],
                }),
            })
            .collect(),
    )
}

fn records_and_flag(body: &[u8]) -> Result<(Vec<Json>, bool), RestError> {
    let body = parse_body(body)?;
    let all_or_none = body.get("allOrNone").and_then(Json::as_bool).unwrap_or(false);
    let records = body
        .get("records")
        .and_then(Json::as_array)
        .cloned()
        .ok_or_else(|| RestError::BadCollection("The request needs a records array".into()))?;
    Ok((records, all_or_none))
}

async fn save(state: &HttpState, caller: &Caller, op: Operation, body: &[u8]) -> Result<Response, RestError> {
    let (records, all_or_none) = records_and_flag(body)?;
    let results = state
        .services
        .save_collection(caller, op, &records, all_or_none)
        .await?;
    Ok(json_response(StatusCode::OK, &results_json(&results)))
}

async fn create(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Response, RestError> {
    save(&state, &caller, Operation::Create, &body).await
}

async fn update(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Result<Response, RestError> {
    save(&state, &caller, Operation::Update, &body).await
}

async fn upsert(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, object, field)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, RestError> {
    let kind = kind(&caller, &object)?;
    let (records, all_or_none) = records_and_flag(&body)?;
    let results = state
        .services
        .upsert_collection(&caller, kind, &field, &records, all_or_none)
        .await?;
    Ok(json_response(StatusCode::OK, &results_json(&results)))
}

#[derive(Deserialize)]
struct DeleteParams {
    ids: Option<String>,
    #[serde(rename = "allOrNone")]
    all_or_none: Option<String>,
}

async fn destroy(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Query(p): Query<DeleteParams>,
) -> Result<Response, RestError> {
    let ids: Vec<String> = p
        .ids
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let all_or_none = p.all_or_none.is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let results = state.services.delete_collection(&caller, &ids, all_or_none).await?;
    Ok(json_response(StatusCode::OK, &results_json(&results)))
}

async fn retrieve(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, object)): Path<(String, String)>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, RestError> {
    let kind = kind(&caller, &object)?;
    let body = parse_body(&body)?;
    let ids: Vec<String> = body
        .get("ids")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    let fields: Vec<String> = body
        .get("fields")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    if ids.len() > crate::records::DEFAULT_MAX_RECORDS {
        return Err(RestError::TooMany(format!(
            "cannot retrieve more than {} records in one call",
            crate::records::DEFAULT_MAX_RECORDS
        )));
    }
    let fields = (!fields.is_empty()).then(|| fields.join(","));
    let version = version_of(&uri);
    let mut out = Vec::with_capacity(ids.len());
    for raw in &ids {
        let found = match record_id(kind, raw) {
            Ok(id) => match state
                .services
                .retrieve_record(&caller, kind, &id, fields.as_deref())
                .await
            {
                Ok(values) => Json::Object(record_json(kind, &id, &version, values.pairs())),
                Err(RestError::Record(_)) => Json::Null,
                Err(e) => return Err(e),
            },
            Err(_) => Json::Null,
        };
        out.push(found);
    }
    Ok(json_response(StatusCode::OK, &Json::Array(out)))
}

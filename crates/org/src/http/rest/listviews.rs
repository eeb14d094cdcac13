//! `sobjects/{object}/listviews`: the object's list views, each one's describe (its
//! columns, order and SOQL) and its results, as Salesforce shapes them.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use latchkey_core::records::{Field, FieldType, ObjectKind, Value};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::sobjects::kind;
use super::{both, json_response, version_of};
use crate::http::HttpState;
use crate::records::listviews::{ListView, DEFAULT_RESULTS};
use crate::records::{Caller, RestError};

pub(super) fn routes(mut api: Router<HttpState>, base: &str) -> Router<HttpState> {
    let s = format!("{base}/sobjects/{{object}}/listviews");
    api = both(api, &s, get(list));
    api = both(api, &format!("{s}/{{id}}"), get(one));
    api = both(api, &format!("{s}/{{id}}/describe"), get(describe));
    both(api, &format!("{s}/{{id}}/results"), get(results))
}

fn urls(view: &ListView, version: &str) -> (String, String, String) {
    let base = format!("/services/data/v{version}/sobjects/{}/listviews/{}", view.kind, view.id);
    (format!("{base}/describe"), format!("{base}/results"), base)
}

fn summary(view: &ListView, version: &str) -> Json {
    let (describe_url, results_url, url) = urls(view, version);
    json!({
        "describeUrl": describe_url,
        "developerName": view.developer_name,
        "id": view.id,
        "label": view.label,
        "resultsUrl": results_url,
        "soqlCompatible": true,
        "url": url,
    })
}

/// The labels a column's sort menu shows for its type.
fn sort_labels(f: &Field) -> (&'static str, &'static str) {
    match f.field_type {
        FieldType::Double => ("Low to High", "High to Low"),
        FieldType::Date | FieldType::DateTime => ("Old to New", "New to Old"),
        FieldType::Boolean => ("False to True", "True to False"),
        _ => ("A-Z", "Z-A"),
    }
}

fn columns(view: &ListView) -> Vec<Json> {
    view.columns
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let (ascending, descending) = sort_labels(f);
            json!({
                "ascendingLabel": ascending,
                "descendingLabel": descending,
                "fieldNameOrPath": f.name,
                "hidden": f.name == "Id",
                "label": f.label,
                "searchable": f.field_type.is_text(),
                "selectListItem": f.name,
                "sortDirection": if i == 0 { json!("ascending") } else { Json::Null },
                "sortIndex": if i == 0 { json!(0) } else { Json::Null },
                "sortable": f.name != "Id",
                "type": f.field_type.describe_name(),
            })
        })
        .collect()
}

async fn list(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, object)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, RestError> {
    let kind = kind(&caller, &object)?;
    let version = version_of(&uri);
    let views = state.services.list_views(&caller, kind).await?;
    let list: Vec<Json> = views.iter().map(|v| summary(v, &version)).collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "done": true,
            "listviews": list,
            "nextRecordsUrl": null,
            "size": list.len(),
            "sobjectType": kind.name(),
        }),
    ))
}

async fn view_of(
    state: &HttpState,
    caller: &Caller,
    object: &str,
    id: &str,
) -> Result<(ObjectKind, ListView), RestError> {
    let kind = kind(caller, object)?;
    Ok((kind, state.services.list_view(caller, kind, id).await?))
}

async fn one(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, object, id)): Path<(String, String, String)>,
    uri: Uri,
) -> Result<Response, RestError> {
    let (_, view) = view_of(&state, &caller, &object, &id).await?;
    Ok(json_response(StatusCode::OK, &summary(&view, &version_of(&uri))))
}

async fn describe(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, object, id)): Path<(String, String, String)>,
) -> Result<Response, RestError> {
    let (kind, view) = view_of(&state, &caller, &object, &id).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "columns": columns(&view),
            "id": view.id,
            "orderBy": [
                { "fieldNameOrPath": view.columns[0].name, "nullsPosition": "first", "sortDirection": "ascending" },
                { "fieldNameOrPath": "Id", "nullsPosition": "first", "sortDirection": "ascending" },
            ],
            "query": view.soql(),
            "relatedEntityId": null,
            "scope": "everything",
            "scopeEntityId": null,
            "sobjectType": kind.name(),
            "whereCondition": { "conditions": [], "conjunction": "and" },
        }),
    ))
}

#[derive(Deserialize)]
struct Window {
    limit: Option<u64>,
    offset: Option<u64>,
}

/// A value as list view results give it: text, or `null`.
fn text_of(f: &Field, v: &Value) -> Json {
    match v.to_json(f) {
        Json::Null => Json::Null,
        Json::String(s) => Json::String(s),
        other => Json::String(other.to_string()),
    }
}

async fn results(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, object, id)): Path<(String, String, String)>,
    Query(window): Query<Window>,
) -> Result<Response, RestError> {
    let (_, view) = view_of(&state, &caller, &object, &id).await?;
    let (page, more) = state
        .services
        .list_view_results(
            &caller,
            &view,
            window.limit.unwrap_or(DEFAULT_RESULTS),
            window.offset.unwrap_or(0),
        )
        .await?;
    let records: Vec<Json> = page
        .rows
        .iter()
        .map(|row| {
            let cells: Vec<Json> = page
                .columns
                .iter()
                .zip(&row.values)
                .map(|(c, v)| json!({ "fieldNameOrPath": c.field.name, "value": text_of(&c.field, v) }))
                .collect();
            json!({ "columns": cells })
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "columns": columns(&view),
            "developerName": view.developer_name,
            "done": !more,
            "id": view.id,
            "label": view.label,
            "size": records.len(),
            "records": records,
        }),
    ))
}

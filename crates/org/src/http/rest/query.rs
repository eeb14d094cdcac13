//! `query` and `queryAll` (`?q=SOQL`) and their pages (`query/{locator}`). Results are
//! QueryResults; parent fields nest as `{"Account": {"attributes": …, "Name": …}}`.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value as Json};

use super::{both, json_response, version_of};
use crate::http::HttpState;
use crate::records::{Caller, QueryPage, RestError, DEFAULT_PAGE};

pub(super) fn routes(mut api: Router<HttpState>, base: &str) -> Router<HttpState> {
    api = both(api, &format!("{base}/query"), get(query));
    api = both(api, &format!("{base}/queryAll"), get(query_all));
    api = both(api, &format!("{base}/query/{{locator}}"), get(more));
    both(api, &format!("{base}/queryAll/{{locator}}"), get(more))
}

#[derive(Deserialize)]
struct Q {
    q: Option<String>,
}

/// `Sforce-Query-Options: batchSize=N`.
fn batch_size(headers: &HeaderMap) -> u64 {
    headers
        .get("sforce-query-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("batchSize"))
                .and_then(|(_, n)| n.trim().parse().ok())
        })
        .unwrap_or(DEFAULT_PAGE)
}

async fn run(
    state: &HttpState,
    caller: &Caller,
    q: Q,
    all: bool,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<Response, RestError> {
    let Some(text) = q.q.filter(|t| !t.trim().is_empty()) else {
        return Err(RestError::Soql {
            error: latchkey_core::soql::SoqlError {
                kind: latchkey_core::soql::SoqlErrorKind::MalformedQuery,
                pos: 0,
                detail: "A query string (q) is required".into(),
            },
            query: String::new(),
        });
    };
    let page = state.services.query(caller, &text, all, batch_size(headers)).await?;
    Ok(json_response(StatusCode::OK, &page_json(&page, &version_of(uri))))
}

async fn query(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<Q>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, RestError> {
    run(&state, &caller, q, false, &headers, &uri).await
}

async fn query_all(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<Q>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, RestError> {
    run(&state, &caller, q, true, &headers, &uri).await
}

async fn more(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, locator)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, RestError> {
    let page = state.services.query_more(&caller, &locator).await?;
    Ok(json_response(StatusCode::OK, &page_json(&page, &version_of(&uri))))
}

fn attributes(kind: &str, id: &str, version: &str) -> Json {
    json!({ "type": kind, "url": format!("/services/data/v{version}/sobjects/{kind}/{id}") })
}

/// A QueryResult.
fn page_json(page: &QueryPage, version: &str) -> Json {
    let object = page.object.name();
    let records: Vec<Json> = page
        .rows
        .iter()
        .map(|row| {
            let mut rec = Map::new();
            rec.insert("attributes".into(), attributes(object, &row.id, version));
            let mut parent: Option<Map<String, Json>> = None;
            for (column, value) in page.columns.iter().zip(&row.values) {
                if column.parent {
                    if let (Some(rel), Some(pid)) = (&page.relationship, &row.parent_id) {
                        parent
                            .get_or_insert_with(|| {
                                let mut m = Map::new();
                                m.insert("attributes".into(), attributes(rel.target.name(), pid, version));
                                m
                            })
                            .insert(column.field.name.clone(), value.to_json(&column.field));
                    }
                } else {
                    rec.insert(column.field.name.clone(), value.to_json(&column.field));
                }
            }
            if let Some(rel) = &page.relationship {
                if page.columns.iter().any(|c| c.parent) {
                    rec.insert(rel.name.clone(), parent.map_or(Json::Null, Json::Object));
                }
            }
            Json::Object(rec)
        })
        .collect();
    let mut out = json!({
        "totalSize": page.total,
        "done": page.next.is_none(),
        "records": records,
    });
    if let Some(locator) = &page.next {
        out["nextRecordsUrl"] = json!(format!("/services/data/v{version}/query/{locator}"));
    }
    out
}

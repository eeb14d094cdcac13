//! `query` and `queryAll` (`?q=SOQL`) and their pages (`query/{locator}`). Results are
//! QueryResults; parent fields nest as `{"Account": {"attributes": …, "Name": …}}`.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use serde::ser::{SerializeMap, Serializer};
use serde::Deserialize;
use serde::Serialize;
use serde_json::{json, Value as Json};

use super::{both, json_text_response, version_of};
use crate::http::HttpState;
use axum::response::IntoResponse;
use latchkey_core::records::Value;
use latchkey_core::soql::plan::Column;
use latchkey_store::records::QueryRow;

use crate::records::{Caller, QueryPage, RestError, DEFAULT_PAGE};

pub(super) fn routes(mut api: Router<HttpState>, base: &str) -> Router<HttpState> {
    api = both(api, &format!("{base}/query"), get(query));
    api = both(api, &format!("{base}/queryAll"), get(query));
    api = both(api, &format!("{base}/query/{{locator}}"), get(more));
    both(api, &format!("{base}/queryAll/{{locator}}"), get(more))
}

#[derive(Deserialize)]
struct Q {
    q: Option<String>,
    /// `columns=true`: describe the query's columns instead of running it.
    columns: Option<String>,
}

/// The `apexType` of a column of `field`'s type.
fn apex_type(field: &latchkey_core::records::Field) -> &'static str {
    use latchkey_core::records::FieldType as T;
    match field.field_type {
        T::Id | T::Reference(_) => "Id",
        T::Boolean => "Boolean",
        T::Double => "Double",
        T::Date => "Date",
        T::DateTime => "Datetime",
        _ => "String",
    }
}

fn column_metadata(name: &str, field: Option<&latchkey_core::records::Field>, joins: Vec<Json>) -> Json {
    let writable = field.is_some_and(latchkey_core::records::Field::writable);
    json!({
        "aggregate": false,
        "apexType": field.map(apex_type),
        "booleanType": field.is_some_and(|f| f.field_type == latchkey_core::records::FieldType::Boolean),
        "columnName": name,
        "custom": field.is_some_and(|f| f.custom),
        "displayName": name,
        "foreignKeyName": null,
        "insertable": writable,
        "joinColumns": joins,
        "numberType": field.is_some_and(|f| f.field_type == latchkey_core::records::FieldType::Double),
        "textType": field.is_some_and(|f| f.field_type.is_text() && !matches!(f.field_type, latchkey_core::records::FieldType::Id | latchkey_core::records::FieldType::Reference(_))),
        "updatable": writable,
    })
}

/// The `columns=true` answer: each selected column in order, a parent's columns
/// nested under its relationship where the first of them appears.
fn columns_response(plan: &latchkey_core::soql::Plan) -> Json {
    use latchkey_core::soql::plan::Output;
    let columns = match &plan.output {
        Output::Fields(c) => c.as_slice(),
        Output::Count => &[],
    };
    let mut out: Vec<Json> = Vec::new();
    let mut placed: Vec<usize> = Vec::new();
    for c in columns {
        match c.parent {
            None => out.push(column_metadata(&c.field.name, Some(&c.field), Vec::new())),
            Some(i) if !placed.contains(&i) => {
                placed.push(i);
                let joins = columns
                    .iter()
                    .filter(|o| o.parent == Some(i))
                    .map(|o| column_metadata(&o.field.name, Some(&o.field), Vec::new()))
                    .collect();
                let name = plan.relationships.get(i).map_or("", |r| r.name.as_str());
                out.push(column_metadata(name, None, joins));
            }
            Some(_) => {}
        }
    }
    json!({
        "columnMetadata": out,
        "entityName": plan.object.name(),
        "groupBy": false,
        "idSelected": columns.iter().any(|c| c.parent.is_none() && c.field.name == "Id"),
        "keyPrefix": plan.object.key_prefix(),
    })
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
    if q.columns.as_deref().is_some_and(|c| c.eq_ignore_ascii_case("true")) {
        let plan = state.services.query_plan(caller, &text).await?;
        return Ok(super::json_response(StatusCode::OK, &columns_response(&plan)));
    }
    let page = state.services.query(caller, &text, all, batch_size(headers)).await?;
    Ok(page_response(&page, &version_of(uri)))
}

/// `query` and `queryAll` (recycled records too), told apart by the path.
async fn query(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<Q>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, RestError> {
    let all = uri.path().contains("/queryAll");
    run(&state, &caller, q, all, &headers, &uri).await
}

async fn more(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, locator)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, RestError> {
    let page = state.services.query_more(&caller, &locator).await?;
    Ok(page_response(&page, &version_of(&uri)))
}

/// `{"type": …, "url": …}` of a record.
struct Attributes<'a> {
    kind: &'a str,
    id: &'a str,
    version: &'a str,
}

impl Serialize for Attributes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("type", self.kind)?;
        m.serialize_entry(
            "url",
            &format_args!("/services/data/v{}/sobjects/{}/{}", self.version, self.kind, self.id),
        )?;
        m.end()
    }
}

/// A field value, serialised without building a JSON tree.
struct FieldValue<'a>(&'a Column, &'a Value);

impl Serialize for FieldValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.1 {
            Value::Null => s.serialize_none(),
            Value::Text(t) => s.serialize_str(t),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) if n.is_finite() => s.serialize_f64(*n),
            other => other.to_json(&self.0.field).serialize(s),
        }
    }
}

/// One parent's fields of one row (`{"attributes": …, "Name": …}`).
struct Parent<'a> {
    row: &'a QueryRow,
    page: &'a QueryPage,
    version: &'a str,
    index: usize,
    target: &'a str,
    parent_id: &'a str,
}

impl Serialize for Parent<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        let attributes = Attributes {
            kind: self.target,
            id: self.parent_id,
            version: self.version,
        };
        m.serialize_entry("attributes", &attributes)?;
        for (column, value) in self
            .page
            .columns
            .iter()
            .zip(&self.row.values)
            .filter(|(c, _)| c.parent == Some(self.index))
        {
            m.serialize_entry(&column.field.name, &FieldValue(column, value))?;
        }
        m.end()
    }
}

/// One record of a page.
struct Record<'a> {
    row: &'a QueryRow,
    page: &'a QueryPage,
    version: &'a str,
}

impl Serialize for Record<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        let object = self.page.object.name();
        let attributes = Attributes {
            kind: object,
            id: &self.row.id,
            version: self.version,
        };
        m.serialize_entry("attributes", &attributes)?;
        for (column, value) in self
            .page
            .columns
            .iter()
            .zip(&self.row.values)
            .filter(|(c, _)| c.parent.is_none())
        {
            m.serialize_entry(&column.field.name, &FieldValue(column, value))?;
        }
        for (index, rel) in self.page.relationships.iter().enumerate() {
            if !self.page.columns.iter().any(|c| c.parent == Some(index)) {
                continue;
            }
            match self.row.parent_ids.get(index).and_then(Option::as_deref) {
                Some(parent_id) => m.serialize_entry(
                    &rel.name,
                    &Parent {
                        row: self.row,
                        page: self.page,
                        version: self.version,
                        index,
                        target: rel.target.name(),
                        parent_id,
                    },
                )?,
                None => m.serialize_entry(&rel.name, &None::<()>)?,
            }
        }
        m.end()
    }
}

/// A QueryResult, serialised straight from the rows (a page holds up to 2,000 records).
struct PageBody<'a> {
    page: &'a QueryPage,
    version: &'a str,
}

impl Serialize for PageBody<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("totalSize", &self.page.total)?;
        m.serialize_entry("done", &self.page.next.is_none())?;
        if let Some(locator) = &self.page.next {
            m.serialize_entry(
                "nextRecordsUrl",
                &format_args!("/services/data/v{}/query/{locator}", self.version),
            )?;
        }
        let records: Vec<Record<'_>> = self
            .page
            .rows
            .iter()
            .map(|row| Record {
                row,
                page: self.page,
                version: self.version,
            })
            .collect();
        m.serialize_entry("records", &records)?;
        m.end()
    }
}

fn page_response(page: &QueryPage, version: &str) -> Response {
    match serde_json::to_string(&PageBody { page, version }) {
        Ok(body) => json_text_response(StatusCode::OK, body),
        Err(e) => RestError::Internal(crate::AccountError::Invalid(format!("serialising a page: {e}"))).into_response(),
    }
}

//! `sobjects`: global describe, object describe, create, retrieve, update, delete,
//! upsert by external id, and the `updated`/`deleted` replication feeds.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use latchkey_core::records::value::{format_datetime, parse_datetime};
use latchkey_core::records::{Field, ObjectKind, RecordError, Value};
use serde::Deserialize;
use serde_json::{json, Map, Value as Json};

use super::{both, describe, json_response, layouts, parse_body, version_of};
use crate::http::HttpState;
use crate::records::{record_id, Caller, RestError};

pub(super) fn routes(mut api: Router<HttpState>, base: &str) -> Router<HttpState> {
    let s = format!("{base}/sobjects");
    api = both(api, &s, get(global));
    api = both(api, &format!("{s}/{{object}}"), get(object_info).post(create));
    api = both(api, &format!("{s}/{{object}}/describe"), get(object_describe));
    api = both(api, &format!("{s}/{{object}}/describe/layouts"), get(layouts));
    api = both(
        api,
        &format!("{s}/{{object}}/describe/layouts/{{record_type}}"),
        get(layout),
    );
    api = both(
        api,
        &format!("{s}/{{object}}/describe/compactLayouts"),
        get(compact_layouts),
    );
    api = both(
        api,
        &format!("{s}/{{object}}/describe/approvalLayouts"),
        get(approval_layouts),
    );
    api = both(api, &format!("{s}/{{object}}/updated"), get(updated));
    api = both(api, &format!("{s}/{{object}}/deleted"), get(deleted));
    api = both(
        api,
        &format!("{s}/{{object}}/{{id}}"),
        get(retrieve).patch(update).delete(destroy),
    );
    api = both(
        api,
        &format!("{s}/{{object}}/{{field}}/password"),
        get(password_status)
            .post(password_set)
            .delete(password_reset)
            .patch(password_upsert),
    );
    both(
        api,
        &format!("{s}/{{object}}/{{field}}/{{value}}"),
        get(retrieve_by).patch(upsert),
    )
}

/// The object named in a path, if the caller may see it.
pub(super) fn kind(caller: &Caller, name: &str) -> Result<ObjectKind, RestError> {
    name.parse()
        .ok()
        .filter(|k| caller.sees(*k))
        .ok_or_else(|| RestError::UnknownObject(name.to_owned()))
}

/// A record as JSON with its `attributes`.
pub(super) fn record_json<'a>(
    kind: ObjectKind,
    id: &str,
    version: &str,
    fields: impl IntoIterator<Item = (&'a Field, &'a Value)>,
) -> Map<String, Json> {
    let mut out = Map::new();
    out.insert(
        "attributes".into(),
        json!({ "type": kind.name(), "url": format!("/services/data/v{version}/sobjects/{}/{id}", kind.name()) }),
    );
    for (f, v) in fields {
        out.insert(f.name.clone(), v.to_json(f));
    }
    out
}

fn object_body(body: &[u8]) -> Result<Map<String, Json>, RestError> {
    match parse_body(body)? {
        Json::Object(m) => Ok(m),
        _ => Err(RecordError::JsonParse("Expected a JSON object of field values".into()).into()),
    }
}

/// A describe document as the caller's permissions make it, as Salesforce's are:
/// only administrators (Manage Users) create and update users.
fn as_seen_by(caller: &Caller, kind: ObjectKind, mut doc: Json) -> Json {
    if kind == ObjectKind::User && !caller.admin {
        doc["createable"] = json!(false);
        doc["updateable"] = json!(false);
        if let Some(fields) = doc.get_mut("fields").and_then(Json::as_array_mut) {
            for f in fields {
                f["createable"] = json!(false);
                f["updateable"] = json!(false);
            }
        }
    }
    doc
}

async fn global(Extension(caller): Extension<Caller>, uri: Uri) -> Response {
    let v = version_of(&uri);
    let list: Vec<Json> = ObjectKind::ALL
        .iter()
        .filter(|k| caller.sees(**k))
        .map(|k| as_seen_by(&caller, *k, describe::summary(*k, &v)))
        .collect();
    json_response(
        StatusCode::OK,
        &json!({ "encoding": "UTF-8", "maxBatchSize": 200, "sobjects": list }),
    )
}

async fn object_info(
    Extension(caller): Extension<Caller>,
    Path((_, object)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, RestError> {
    let kind = kind(&caller, &object)?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "objectDescribe": as_seen_by(&caller, kind, describe::summary(kind, &version_of(&uri))), "recentItems": [] }),
    ))
}

/// One describe document of the object named in the path, drawn from its definition
/// in the caller's org (custom fields included).
async fn described(
    state: &HttpState,
    caller: &Caller,
    object: &str,
    render: impl FnOnce(&latchkey_core::records::ObjectDef) -> Json,
) -> Result<Response, RestError> {
    let kind = kind(caller, object)?;
    let schema = state.services.schema(&caller.org_id).await?;
    Ok(json_response(StatusCode::OK, &render(schema.object(kind))))
}

async fn object_describe(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, object)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, RestError> {
    described(&state, &caller, &object, |def| {
        as_seen_by(&caller, def.kind, describe::object(def, &version_of(&uri)))
    })
    .await
}

async fn layouts(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, object)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, RestError> {
    described(&state, &caller, &object, |def| layouts::layouts(def, &version_of(&uri))).await
}

/// One record type's layout: the master record type's (15 or 18 characters).
async fn layout(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, object, record_type)): Path<(String, String, String)>,
) -> Result<Response, RestError> {
    kind(&caller, &object)?;
    if !layouts::MASTER_RECORD_TYPE.starts_with(record_type.get(..15).unwrap_or("-")) {
        return Err(RecordError::NotFound.into());
    }
    described(&state, &caller, &object, layouts::layout).await
}

async fn compact_layouts(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, object)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, RestError> {
    described(&state, &caller, &object, |def| {
        layouts::compact_layouts(def, &version_of(&uri))
    })
    .await
}

async fn approval_layouts(
    Extension(caller): Extension<Caller>,
    Path((_, object)): Path<(String, String)>,
) -> Result<Response, RestError> {
    kind(&caller, &object)?;
    Ok(json_response(StatusCode::OK, &layouts::approval_layouts()))
}

async fn create(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, object)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, RestError> {
    let kind = kind(&caller, &object)?;
    let fields = object_body(&body)?;
    let id = if kind == ObjectKind::User {
        state.services.create_user_record(&caller, &fields).await?
    } else {
        state.services.create_record(&caller, kind, &fields).await?
    };
    Ok(json_response(
        StatusCode::CREATED,
        &json!({ "id": id, "success": true, "errors": [] }),
    ))
}

#[derive(Deserialize)]
struct FieldsParam {
    fields: Option<String>,
}

async fn retrieve(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, object, raw_id)): Path<(String, String, String)>,
    Query(params): Query<FieldsParam>,
    uri: Uri,
) -> Result<Response, RestError> {
    let kind = kind(&caller, &object)?;
    let id = record_id(kind, &raw_id)?;
    record_response(&state, &caller, kind, &id, params.fields.as_deref(), &uri).await
}

/// A record (the named fields, or all) as the 200 response of a GET.
async fn record_response(
    state: &HttpState,
    caller: &Caller,
    kind: ObjectKind,
    id: &str,
    fields: Option<&str>,
    uri: &Uri,
) -> Result<Response, RestError> {
    let values = state.services.retrieve_record(caller, kind, id, fields).await?;
    Ok(json_response(
        StatusCode::OK,
        &Json::Object(record_json(kind, id, &version_of(uri), values.pairs())),
    ))
}

async fn update(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, object, raw_id)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, RestError> {
    let kind = kind(&caller, &object)?;
    let id = record_id(kind, &raw_id)?;
    let fields = object_body(&body)?;
    if kind == ObjectKind::User {
        state.services.update_user_record(&caller, &id, &fields).await?;
    } else {
        state.services.update_record(&caller, kind, &id, &fields).await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn destroy(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, object, raw_id)): Path<(String, String, String)>,
) -> Result<Response, RestError> {
    let kind = kind(&caller, &object)?;
    let id = record_id(kind, &raw_id)?;
    state.services.delete_record(&caller, kind, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn retrieve_by(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, object, field, value)): Path<(String, String, String, String)>,
    Query(params): Query<FieldsParam>,
    uri: Uri,
) -> Result<Response, RestError> {
    found_by(&state, &caller, &object, &field, &value, params.fields.as_deref(), &uri).await
}

/// The record whose external id `field` is `value`.
async fn found_by(
    state: &HttpState,
    caller: &Caller,
    object: &str,
    field: &str,
    value: &str,
    fields: Option<&str>,
    uri: &Uri,
) -> Result<Response, RestError> {
    let kind = kind(caller, object)?;
    let id = state.services.find_by_external_id(caller, kind, field, value).await?;
    record_response(state, caller, kind, &id, fields, uri).await
}

async fn upsert(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, object, field, value)): Path<(String, String, String, String)>,
    body: Bytes,
) -> Result<Response, RestError> {
    upserted(&state, &caller, &object, &field, &value, &body).await
}

/// Upserts the record whose external id `field` is `value`.
async fn upserted(
    state: &HttpState,
    caller: &Caller,
    object: &str,
    field: &str,
    value: &str,
    body: &[u8],
) -> Result<Response, RestError> {
    let kind = kind(caller, object)?;
    let fields = object_body(body)?;
    let done = state
        .services
        .upsert_record(caller, kind, field, value, &fields)
        .await?;
    let status = if done.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_response(
        status,
        &json!({ "id": done.id, "success": true, "errors": [], "created": done.created }),
    ))
}

/// `sobjects/User/{id}/password` GET: whether the password has expired. On any other
/// object the path is a retrieve by an external id whose value is `password`.
async fn password_status(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, object, id)): Path<(String, String, String)>,
    Query(params): Query<FieldsParam>,
    uri: Uri,
) -> Result<Response, RestError> {
    if kind(&caller, &object)? != ObjectKind::User {
        return found_by(
            &state,
            &caller,
            &object,
            &id,
            "password",
            params.fields.as_deref(),
            &uri,
        )
        .await;
    }
    let expired = state.services.user_password_expired(&caller, &id).await?;
    Ok(json_response(StatusCode::OK, &json!({ "isExpired": expired })))
}

/// The same path's PATCH: an upsert by an external id whose value is `password`.
async fn password_upsert(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, object, field)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, RestError> {
    upserted(&state, &caller, &object, &field, "password", &body).await
}

/// The User whose password the path names (other objects have no password).
fn password_user(caller: &Caller, object: &str) -> Result<(), RestError> {
    if kind(caller, object)? == ObjectKind::User {
        Ok(())
    } else {
        Err(RecordError::NotFound.into())
    }
}

/// `sobjects/User/{id}/password` POST `{"NewPassword": …}`: sets it; 204.
async fn password_set(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, object, id)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, RestError> {
    password_user(&caller, &object)?;
    let fields = object_body(&body)?;
    let Some(Json::String(password)) = fields.get("NewPassword") else {
        return Err(RecordError::RequiredMissing(vec!["NewPassword".into()]).into());
    };
    let password = secrecy::SecretString::from(password.clone());
    state.services.set_user_password(&caller, &id, &password).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `sobjects/User/{id}/password` DELETE: resets it to a temporary password, which is
/// answered (and mailed) and must be changed at the next login.
async fn password_reset(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, object, id)): Path<(String, String, String)>,
) -> Result<Response, RestError> {
    password_user(&caller, &object)?;
    let temporary = state.services.reset_user_password(&caller, &id).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "NewPassword": secrecy::ExposeSecret::expose_secret(&temporary) }),
    ))
}

#[derive(Deserialize)]
struct Window {
    start: Option<String>,
    end: Option<String>,
}

fn window(w: &Window) -> Result<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>), RestError> {
    let parse = |name: &str, v: &Option<String>| {
        v.as_deref()
            .and_then(parse_datetime)
            .and_then(chrono::DateTime::from_timestamp_millis)
            .ok_or_else(|| {
                RestError::ReplicationDate(format!(
                    "Parameter '{name}' is missing or not an ISO-8601 date/time with a time zone"
                ))
            })
    };
    Ok((parse("start", &w.start)?, parse("end", &w.end)?))
}

async fn updated(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, object)): Path<(String, String)>,
    Query(w): Query<Window>,
) -> Result<Response, RestError> {
    let kind = kind(&caller, &object)?;
    let (start, end) = window(&w)?;
    let result = state.services.updated_records(&caller, kind, start, end).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "ids": result.ids,
            "latestDateCovered": format_datetime(result.latest_covered.timestamp_millis()),
        }),
    ))
}

async fn deleted(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, object)): Path<(String, String)>,
    Query(w): Query<Window>,
) -> Result<Response, RestError> {
    let kind = kind(&caller, &object)?;
    let (start, end) = window(&w)?;
    let result = state.services.deleted_records(&caller, kind, start, end).await?;
    let records: Vec<Json> = result
        .records
        .iter()
        .map(|(id, at)| json!({ "id": id, "deletedDate": format_datetime(at.timestamp_millis()) }))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "deletedRecords": records,
            "earliestDateAvailable": format_datetime(result.earliest_available.timestamp_millis()),
            "latestDateCovered": format_datetime(result.latest_covered.timestamp_millis()),
        }),
    ))
}

//! Bulk API 2.0 jobs. Query jobs (`jobs/query`): create, list, state, abort, delete,
//! and the results as CSV with `Sforce-Locator` and `Sforce-NumberOfRecords`. Ingest
//! jobs (`jobs/ingest`): create, upload CSV (`batches`), close or abort, state, list,
//! delete, and the successful, failed and unprocessed records.

use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Extension, Router};
use latchkey_core::records::value::format_datetime;
use latchkey_store::bulk_jobs::{BulkJob, JobState};
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::{both, json_response, parse_body, version_of};
use crate::bulk::{locator, Results, INGEST, MAX_UPLOAD_BYTES, QUERY};
use crate::http::HttpState;
use crate::records::{Caller, RestError};

/// Jobs one list call answers.
const LIST_PAGE: i64 = 1000;

pub(super) fn routes(mut api: Router<HttpState>, base: &str) -> Router<HttpState> {
    let jobs = format!("{base}/jobs/query");
    api = both(api, &jobs, get(list).post(create));
    api = both(api, &format!("{jobs}/{{id}}"), get(info).patch(change).delete(destroy));
    api = both(api, &format!("{jobs}/{{id}}/results"), get(results));
    let ingest = format!("{base}/jobs/ingest");
    api = both(api, &ingest, get(ingest_list).post(ingest_create));
    api = both(
        api,
        &format!("{ingest}/{{id}}"),
        get(ingest_info).patch(ingest_change).delete(ingest_destroy),
    );
    api = both(
        api,
        &format!("{ingest}/{{id}}/successfulResults"),
        get(|s, c, p| ingest_results(s, c, p, Results::Successful)),
    );
    api = both(
        api,
        &format!("{ingest}/{{id}}/failedResults"),
        get(|s, c, p| ingest_results(s, c, p, Results::Failed)),
    );
    both(
        api,
        &format!("{ingest}/{{id}}/unprocessedrecords"),
        get(|s, c, p| ingest_results(s, c, p, Results::Unprocessed)),
    )
}

/// A job's JobInfo; `detail` adds what a state request answers.
fn job_json(job: &BulkJob, detail: bool) -> Json {
    let mut out = json!({
        "id": job.id,
        "operation": job.operation,
        "object": job.object,
        "createdById": job.user_id.as_str(),
        "createdDate": format_datetime(job.created_at.timestamp_millis()),
        "systemModstamp": format_datetime(job.modified_at.timestamp_millis()),
        "state": job.state.name(),
        "concurrencyMode": "Parallel",
        "contentType": "CSV",
        "apiVersion": job.api_version.parse::<f64>().unwrap_or(0.0),
        "lineEnding": job.line_ending,
        "columnDelimiter": job.column_delimiter,
    });
    if job.job_type == INGEST {
        out["externalIdFieldName"] = json!(job.external_id_field);
        out["contentUrl"] = json!(format!(
            "services/data/v{}/jobs/ingest/{}/batches",
            job.api_version, job.id
        ));
    }
    if detail {
        out["jobType"] = json!(job.job_type);
        out["numberRecordsProcessed"] = json!(job.records_processed);
        if job.job_type == INGEST {
            out["numberRecordsFailed"] = json!(job.records_failed);
            out["apiActiveProcessingTime"] = json!(job.processing_ms);
            out["apexProcessingTime"] = json!(0);
        }
        out["retries"] = json!(0);
        out["totalProcessingTime"] = json!(job.processing_ms);
        out["isPkChunkingSupported"] = json!(true);
        if job.state == JobState::Failed {
            out["errorMessage"] = json!(job.error_message);
        }
    }
    out
}

/// The body of a job creation, query or ingest (each reads the fields it has).
#[derive(Deserialize)]
struct NewJob {
    operation: Option<String>,
    query: Option<String>,
    object: Option<String>,
    #[serde(rename = "externalIdFieldName")]
    external_id_field: Option<String>,
    #[serde(rename = "columnDelimiter")]
    column_delimiter: Option<String>,
    #[serde(rename = "lineEnding")]
    line_ending: Option<String>,
    #[serde(rename = "contentType")]
    content_type: Option<String>,
}

impl NewJob {
    /// The request of a creation body: JSON, and CSV if it names a content type.
    fn parse(body: &[u8]) -> Result<Self, RestError> {
        let new: Self =
            serde_json::from_value(parse_body(body)?).map_err(|e| invalid_job(&format!("Invalid job: {e}")))?;
        if new.content_type.as_deref().is_some_and(|c| c != "CSV") {
            return Err(invalid_job("contentType must be CSV"));
        }
        Ok(new)
    }

    fn operation(&self) -> Result<&str, RestError> {
        self.operation
            .as_deref()
            .ok_or_else(|| invalid_job("operation is required"))
    }

    fn column_delimiter(&self) -> &str {
        self.column_delimiter.as_deref().unwrap_or("COMMA")
    }

    fn line_ending(&self) -> &str {
        self.line_ending.as_deref().unwrap_or("LF")
    }
}

fn invalid_job(message: &str) -> RestError {
    RestError::UserRefused {
        code: "INVALIDJOB",
        message: message.to_owned(),
        fields: Vec::new(),
    }
}

async fn create(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, RestError> {
    let new = NewJob::parse(&body)?;
    let query = new.query.as_deref().ok_or_else(|| invalid_job("query is required"))?;
    let job = state
        .services
        .create_query_job(
            &caller,
            new.operation()?,
            query,
            new.column_delimiter(),
            new.line_ending(),
            &version_of(&uri),
        )
        .await?;
    Ok(json_response(StatusCode::OK, &job_json(&job, false)))
}

#[derive(Deserialize)]
struct ListParams {
    #[serde(rename = "queryLocator")]
    query_locator: Option<String>,
}

async fn list(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<ListParams>,
    uri: Uri,
) -> Result<Response, RestError> {
    listed(&state, &caller, QUERY, "query", &params, &uri).await
}

async fn ingest_list(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<ListParams>,
    uri: Uri,
) -> Result<Response, RestError> {
    listed(&state, &caller, INGEST, "ingest", &params, &uri).await
}

/// A page of the org's jobs of one type, oldest first.
async fn listed(
    state: &HttpState,
    caller: &Caller,
    job_type: &str,
    path: &str,
    params: &ListParams,
    uri: &Uri,
) -> Result<Response, RestError> {
    let skip = match params.query_locator.as_deref() {
        Some(l) if !l.is_empty() => crate::bulk::skip_of(l)?,
        _ => 0,
    };
    let jobs = state.services.bulk_jobs(caller, job_type, skip, LIST_PAGE + 1).await?;
    let more = jobs.len() as i64 > LIST_PAGE;
    let records: Vec<Json> = jobs
        .iter()
        .take(LIST_PAGE as usize)
        .map(|j| job_json(j, false))
        .collect();
    let next = more.then(|| {
        format!(
            "/services/data/v{}/jobs/{path}?queryLocator={}",
            version_of(uri),
            locator(skip + LIST_PAGE)
        )
    });
    Ok(json_response(
        StatusCode::OK,
        &json!({ "done": !more, "records": records, "nextRecordsUrl": next }),
    ))
}

async fn info(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, RestError> {
    let job = state.services.query_job(&caller, &id).await?;
    Ok(json_response(StatusCode::OK, &job_json(&job, true)))
}

/// `PATCH {"state": "Aborted"}`: the only change a query job takes.
async fn change(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, RestError> {
    let wanted = parse_body(&body)?;
    if wanted.get("state").and_then(Json::as_str) != Some("Aborted") {
        return Err(invalid_job("A query job's state can only be set to Aborted"));
    }
    let job = state.services.abort_bulk_job(&caller, QUERY, &id).await?;
    Ok(json_response(StatusCode::OK, &job_json(&job, false)))
}

async fn destroy(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, RestError> {
    state.services.delete_bulk_job(&caller, QUERY, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct ResultParams {
    locator: Option<String>,
    #[serde(rename = "maxRecords")]
    max_records: Option<String>,
}

async fn results(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
    Query(params): Query<ResultParams>,
) -> Result<Response, RestError> {
    let max_records = match params.max_records.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(n) => Some(
            n.parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| invalid_job("maxRecords must be a positive number"))?,
        ),
    };
    let set = state
        .services
        .query_job_results(&caller, &id, params.locator.as_deref(), max_records)
        .await?;
    let mut response = (StatusCode::OK, set.csv).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=UTF-8"),
    );
    let next = set.next.unwrap_or_else(|| "null".into());
    if let Ok(v) = HeaderValue::from_str(&next) {
        headers.insert("Sforce-Locator", v);
    }
    headers.insert("Sforce-NumberOfRecords", HeaderValue::from(set.records));
    Ok(response)
}

/// The upload route (`PUT jobs/ingest/{id}/batches`), which takes bodies up to
/// Salesforce's 150 MB where every other route takes the server's small limit.
pub(super) fn upload_routes(api: Router<HttpState>, base: &str) -> Router<HttpState> {
    both(
        api,
        &format!("{base}/jobs/ingest/{{id}}/batches"),
        put(upload).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
    )
}

async fn ingest_create(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, RestError> {
    let new = NewJob::parse(&body)?;
    let object = new.object.as_deref().ok_or_else(|| invalid_job("object is required"))?;
    let job = state
        .services
        .create_ingest_job(
            &caller,
            object,
            new.operation()?,
            new.external_id_field.as_deref(),
            new.column_delimiter(),
            new.line_ending(),
            &version_of(&uri),
        )
        .await?;
    Ok(json_response(StatusCode::OK, &job_json(&job, false)))
}

async fn ingest_info(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, RestError> {
    let job = state.services.ingest_job(&caller, &id).await?;
    Ok(json_response(StatusCode::OK, &job_json(&job, true)))
}

/// `PATCH {"state": "UploadComplete"}` closes the job; `"Aborted"` aborts it.
async fn ingest_change(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, RestError> {
    let wanted = parse_body(&body)?;
    let job = match wanted.get("state").and_then(Json::as_str) {
        Some("UploadComplete") => state.services.close_ingest_job(&caller, &id).await?,
        Some("Aborted") => state.services.abort_bulk_job(&caller, INGEST, &id).await?,
        _ => {
            return Err(invalid_job(
                "An ingest job's state can be set to UploadComplete or Aborted",
            ))
        }
    };
    Ok(json_response(StatusCode::OK, &job_json(&job, false)))
}

async fn ingest_destroy(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, RestError> {
    state.services.delete_bulk_job(&caller, INGEST, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `PUT batches` (`text/csv`): the job's data; 201.
async fn upload(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, RestError> {
    state.services.upload_ingest_data(&caller, &id, &body).await?;
    Ok(StatusCode::CREATED.into_response())
}

async fn ingest_results(
    State(state): State<HttpState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
    which: Results,
) -> Result<Response, RestError> {
    let csv = state.services.ingest_results(&caller, &id, which).await?;
    let mut response = (StatusCode::OK, csv).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=UTF-8"),
    );
    Ok(response)
}

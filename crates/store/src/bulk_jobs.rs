//! Bulk API 2.0 jobs: query jobs and their result rows, ingest jobs and their uploaded
//! rows with each one's outcome. Servers lease pending jobs; each chunk is saved
//! together with the job's progress, so a job whose server died is resumed by the
//! next lease exactly where its last chunk ended.

use chrono::{DateTime, Duration, Utc};
use latchkey_core::ids::{OrgId, UserId};
use sqlx::FromRow;

use crate::{Backend, Conn, StoreError};

/// A job's state, with Salesforce's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// An ingest job taking uploads.
    Open,
    /// Created (or closed for uploads), waiting for a server.
    UploadComplete,
    /// A server is producing its results.
    InProgress,
    /// Every result row is saved.
    JobComplete,
    /// The query failed; `error_message` says why.
    Failed,
    /// Its owner aborted it.
    Aborted,
}

impl JobState {
    /// Salesforce's name (`JobComplete`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::UploadComplete => "UploadComplete",
            Self::InProgress => "InProgress",
            Self::JobComplete => "JobComplete",
            Self::Failed => "Failed",
            Self::Aborted => "Aborted",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "Open" => Self::Open,
            "UploadComplete" => Self::UploadComplete,
            "InProgress" => Self::InProgress,
            "JobComplete" => Self::JobComplete,
            "Failed" => Self::Failed,
            "Aborted" => Self::Aborted,
            _ => return Err(StoreError::Corrupt("bulk job state")),
        })
    }

    /// Whether no server will touch the job again.
    pub fn is_final(self) -> bool {
        matches!(self, Self::JobComplete | Self::Failed | Self::Aborted)
    }
}

/// A query job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkJob {
    /// `750…`.
    pub id: String,
    /// Its org.
    pub org_id: OrgId,
    /// Who created it (and whose access it runs with).
    pub user_id: UserId,
    /// `V2Query` or `V2Ingest`.
    pub job_type: String,
    /// `query`, `queryAll`, `insert`, `update`, `upsert`, `delete` or `hardDelete`.
    pub operation: String,
    /// The object.
    pub object: String,
    /// A query job's SOQL text.
    pub query: Option<String>,
    /// An upsert's external id field.
    pub external_id_field: Option<String>,
    /// The API version of the request that created it (`66.0`).
    pub api_version: String,
    /// `COMMA`, `TAB`, …
    pub column_delimiter: String,
    /// `LF` or `CRLF`.
    pub line_ending: String,
    /// Its state.
    pub state: JobState,
    /// Why it failed.
    pub error_message: Option<String>,
    /// The CSV header line: of a query's results once the first chunk is saved, of an
    /// ingest job's upload once data arrives.
    pub header: Option<String>,
    /// Where a query's next chunk starts; `None` before the first.
    pub cursor: Option<String>,
    /// An ingest job's rows uploaded.
    pub records_uploaded: i64,
    /// Rows saved (query) or processed (ingest) so far.
    pub records_processed: i64,
    /// An ingest job's rows that failed.
    pub records_failed: i64,
    /// Time spent producing rows, in milliseconds.
    pub processing_ms: i64,
    /// Its creation time.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub modified_at: DateTime<Utc>,
}

/// A job to create.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    /// `750…`.
    pub id: &'a str,
    /// Its org.
    pub org_id: &'a OrgId,
    /// Its creator.
    pub user_id: &'a UserId,
    /// `V2Query` or `V2Ingest`.
    pub job_type: &'a str,
    /// The operation.
    pub operation: &'a str,
    /// The object.
    pub object: &'a str,
    /// A query job's SOQL text.
    pub query: Option<&'a str>,
    /// An upsert's external id field.
    pub external_id_field: Option<&'a str>,
    /// The API version.
    pub api_version: &'a str,
    /// `COMMA`, `TAB`, …
    pub column_delimiter: &'a str,
    /// `LF` or `CRLF`.
    pub line_ending: &'a str,
}

#[derive(FromRow)]
struct JobRow {
    id: String,
    org_id: String,
    user_id: String,
    job_type: String,
    operation: String,
    object: String,
    query: Option<String>,
    external_id_field: Option<String>,
    api_version: String,
    column_delimiter: String,
    line_ending: String,
    state: String,
    error_message: Option<String>,
    header: Option<String>,
    cursor: Option<String>,
    records_uploaded: i64,
    records_processed: i64,
    records_failed: i64,
    processing_ms: i64,
    created_at: i64,
    modified_at: i64,
}

impl TryFrom<JobRow> for BulkJob {
    type Error = StoreError;

    fn try_from(r: JobRow) -> Result<Self, StoreError> {
        let time = |ms| DateTime::from_timestamp_millis(ms).ok_or(StoreError::Corrupt("bulk job time"));
        Ok(Self {
            org_id: r.org_id.parse().map_err(|_| StoreError::Corrupt("bulk job org"))?,
            user_id: r.user_id.parse().map_err(|_| StoreError::Corrupt("bulk job user"))?,
            state: JobState::parse(&r.state)?,
            created_at: time(r.created_at)?,
            modified_at: time(r.modified_at)?,
            id: r.id,
            job_type: r.job_type,
            operation: r.operation,
            object: r.object,
            query: r.query,
            external_id_field: r.external_id_field,
            api_version: r.api_version,
            column_delimiter: r.column_delimiter,
            line_ending: r.line_ending,
            error_message: r.error_message,
            header: r.header,
            cursor: r.cursor,
            records_uploaded: r.records_uploaded,
            records_processed: r.records_processed,
            records_failed: r.records_failed,
            processing_ms: r.processing_ms,
        })
    }
}

const COLUMNS: &str = "id, org_id, user_id, job_type, operation, object, query, external_id_field, api_version, \
                       column_delimiter, line_ending, state, error_message, header, cursor, records_uploaded, \
                       records_processed, records_failed, processing_ms, created_at, modified_at";

/// Rows one INSERT carries (three parameters each, within both backends' limits).
const INSERT_BATCH: usize = 500;

/// Inserts `lines` as rows `first…` of job `id` into `table` (a fixed identifier),
/// many rows per statement (numbered placeholders, as both backends take them).
async fn insert_lines(conn: &mut Conn, table: &str, id: &str, first: i64, lines: &[String]) -> Result<(), StoreError> {
    for (batch, chunk) in lines.chunks(INSERT_BATCH).enumerate() {
        let start = first + (batch * INSERT_BATCH) as i64;
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
            .collect();
        let sql = format!("INSERT INTO {table} (job_id, n, line) VALUES {}", values.join(", "));
        let mut insert = sqlx::query(&sql);
        for (i, line) in chunk.iter().enumerate() {
            insert = insert.bind(id).bind(start + i as i64).bind(line.as_str());
        }
        insert.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Creates a job: a query job `UploadComplete` (ready to run), an ingest job `Open`.
pub async fn insert(conn: &mut Conn, job: &NewJob<'_>, now: DateTime<Utc>) -> Result<BulkJob, StoreError> {
    let state = if job.job_type == "V2Ingest" {
        "Open"
    } else {
        "UploadComplete"
    };
    sqlx::query(
        "INSERT INTO bulk_jobs (id, org_id, user_id, job_type, operation, object, query, external_id_field, \
         api_version, column_delimiter, line_ending, state, created_at, modified_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
    )
    .bind(job.id)
    .bind(job.org_id.as_str())
    .bind(job.user_id.as_str())
    .bind(job.job_type)
    .bind(job.operation)
    .bind(job.object)
    .bind(job.query)
    .bind(job.external_id_field)
    .bind(job.api_version)
    .bind(job.column_delimiter)
    .bind(job.line_ending)
    .bind(state)
    .bind(now.timestamp_millis())
    .execute(&mut *conn)
    .await?;
    get(conn, job.org_id, job.id)
        .await?
        .ok_or(StoreError::Corrupt("bulk job"))
}

/// The job `id` of `org`, if any.
pub async fn get(conn: &mut Conn, org: &OrgId, id: &str) -> Result<Option<BulkJob>, StoreError> {
    sqlx::query_as::<_, JobRow>(&format!(
        "SELECT {COLUMNS} FROM bulk_jobs WHERE org_id = $1 AND id = $2"
    ))
    .bind(org.as_str())
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .map(TryInto::try_into)
    .transpose()
}

/// Up to `limit` jobs of `org` of `job_type` from the `skip`th, oldest first.
pub async fn list(
    conn: &mut Conn,
    org: &OrgId,
    job_type: &str,
    skip: i64,
    limit: i64,
) -> Result<Vec<BulkJob>, StoreError> {
    sqlx::query_as::<_, JobRow>(&format!(
        "SELECT {COLUMNS} FROM bulk_jobs WHERE org_id = $1 AND job_type = $4 ORDER BY created_at, id LIMIT $2 OFFSET $3"
    ))
    .bind(org.as_str())
    .bind(limit)
    .bind(skip)
    .bind(job_type)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(TryInto::try_into)
    .collect()
}

/// Leases the oldest job no server holds (new, or in progress under a lapsed lease)
/// until `now + lease`, and marks it in progress.
pub async fn lease_next(conn: &mut Conn, now: DateTime<Utc>, lease: Duration) -> Result<Option<BulkJob>, StoreError> {
    let skip_locked = Backend::skip_locked(conn);
    let pending = "state IN ('UploadComplete', 'InProgress') AND (leased_until IS NULL OR leased_until <= $1)";
    let sql = format!(
        "UPDATE bulk_jobs SET state = 'InProgress', leased_until = $2 \
         WHERE id IN (SELECT id FROM bulk_jobs WHERE {pending} ORDER BY created_at, id LIMIT 1 {skip_locked}) \
           AND {pending} \
         RETURNING {COLUMNS}"
    );
    sqlx::query_as::<_, JobRow>(&sql)
        .bind(now.timestamp_millis())
        .bind((now + lease).timestamp_millis())
        .fetch_optional(&mut *conn)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// One chunk of a job's results: its rows, and where the next chunk starts.
#[derive(Debug, Clone)]
pub struct Chunk<'a> {
    /// The CSV header line.
    pub header: &'a str,
    /// The rows' CSV lines, in result order.
    pub lines: &'a [String],
    /// The cursor of the next chunk; `None`: this is the last.
    pub next: Option<&'a str>,
    /// Time spent producing it, in milliseconds.
    pub processing_ms: i64,
}

/// Saves a chunk of a job a lease holds (call in a transaction) and renews the lease;
/// `false` when the job is no longer in progress (aborted meanwhile): nothing is
/// saved.
pub async fn save_chunk(
    conn: &mut Conn,
    job: &BulkJob,
    chunk: &Chunk<'_>,
    now: DateTime<Utc>,
    lease: Duration,
) -> Result<bool, StoreError> {
    let state = if chunk.next.is_some() {
        "InProgress"
    } else {
        "JobComplete"
    };
    let done = sqlx::query(
        "UPDATE bulk_jobs SET header = $3, cursor = $4, records_processed = records_processed + $5, \
         processing_ms = processing_ms + $6, state = $7, leased_until = $8, modified_at = $9 \
         WHERE id = $1 AND records_processed = $2 AND state = 'InProgress'",
    )
    .bind(&job.id)
    .bind(job.records_processed)
    .bind(chunk.header)
    .bind(chunk.next)
    .bind(chunk.lines.len() as i64)
    .bind(chunk.processing_ms)
    .bind(state)
    .bind(chunk.next.map(|_| (now + lease).timestamp_millis()))
    .bind(now.timestamp_millis())
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    insert_lines(conn, "bulk_query_rows", &job.id, job.records_processed, chunk.lines).await?;
    Ok(true)
}

/// Ends a job that is not final yet in `state` (`Failed` with a message, `Aborted`);
/// `false` when it had already ended.
pub async fn finish(
    conn: &mut Conn,
    org: &OrgId,
    id: &str,
    state: JobState,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE bulk_jobs SET state = $3, error_message = $4, leased_until = NULL, modified_at = $5 \
         WHERE org_id = $1 AND id = $2 AND state IN ('Open', 'UploadComplete', 'InProgress')",
    )
    .bind(org.as_str())
    .bind(id)
    .bind(state.name())
    .bind(error)
    .bind(now.timestamp_millis())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a job and its results; `false` when there is no such job.
pub async fn delete(conn: &mut Conn, org: &OrgId, id: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM bulk_jobs WHERE org_id = $1 AND id = $2")
        .bind(org.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for table in ["bulk_query_rows", "bulk_ingest_rows"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE job_id = $1"))
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(done.rows_affected() == 1)
}

/// Up to `take` result lines of job `id` from row `skip`, in order.
pub async fn rows(conn: &mut Conn, id: &str, skip: i64, take: i64) -> Result<Vec<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT line FROM bulk_query_rows WHERE job_id = $1 AND n >= $2 ORDER BY n LIMIT $3")
            .bind(id)
            .bind(skip)
            .bind(take)
            .fetch_all(&mut *conn)
            .await?,
    )
}

/// Appends uploaded rows (CSV lines) to an open ingest job, keeping the upload's
/// header; `false` when the job is not open or its header differs (nothing saved).
pub async fn upload(conn: &mut Conn, job: &BulkJob, header: &str, lines: &[String]) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE bulk_jobs SET header = $3, records_uploaded = records_uploaded + $4 \
         WHERE id = $1 AND state = 'Open' AND records_uploaded = $2 AND (header IS NULL OR header = $3)",
    )
    .bind(&job.id)
    .bind(job.records_uploaded)
    .bind(header)
    .bind(lines.len() as i64)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    insert_lines(conn, "bulk_ingest_rows", &job.id, job.records_uploaded, lines).await?;
    Ok(true)
}

/// Closes an open ingest job for uploads: it waits for a server; `false` when it is
/// not open.
pub async fn close(conn: &mut Conn, org: &OrgId, id: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE bulk_jobs SET state = 'UploadComplete', modified_at = $3 WHERE org_id = $1 AND id = $2 AND state = 'Open'",
    )
    .bind(org.as_str())
    .bind(id)
    .bind(now.timestamp_millis())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One uploaded row of an ingest job.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct IngestRow {
    /// Its number in upload order.
    pub n: i64,
    /// The CSV line as uploaded (re-encoded).
    pub line: String,
    /// `ok`, `failed`, or `None` before processing.
    pub outcome: Option<String>,
    /// The record written.
    pub record_id: Option<String>,
    /// Whether the record is new (1) or updated (0).
    pub created: Option<i64>,
    /// Why it failed (`CODE:message:fields --`).
    pub error: Option<String>,
}

/// Up to `take` uploaded rows of job `id` from row `skip`, in order.
pub async fn ingest_rows(conn: &mut Conn, id: &str, skip: i64, take: i64) -> Result<Vec<IngestRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT n, line, outcome, record_id, created, error FROM bulk_ingest_rows \
         WHERE job_id = $1 AND n >= $2 ORDER BY n LIMIT $3",
    )
    .bind(id)
    .bind(skip)
    .bind(take)
    .fetch_all(&mut *conn)
    .await?)
}

/// The rows of job `id` with `outcome` (`None`: not processed), in order.
pub async fn ingest_rows_with(conn: &mut Conn, id: &str, outcome: Option<&str>) -> Result<Vec<IngestRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT n, line, outcome, record_id, created, error FROM bulk_ingest_rows \
         WHERE job_id = $1 AND ((outcome IS NULL AND $2 IS NULL) OR outcome = $2) ORDER BY n",
    )
    .bind(id)
    .bind(outcome)
    .fetch_all(&mut *conn)
    .await?)
}

/// A processed ingest row: its outcome.
#[derive(Debug, Clone)]
pub struct Outcome<'a> {
    /// The row's number.
    pub n: i64,
    /// The record written (success).
    pub record_id: Option<&'a str>,
    /// Whether it is new.
    pub created: bool,
    /// Why it failed.
    pub error: Option<&'a str>,
}

/// Saves the outcomes of a chunk of an ingest job a lease holds (call in the
/// transaction that wrote the records) and renews the lease; the job completes with
/// its last chunk. `false` when the job moved on meanwhile (nothing saved).
pub async fn save_outcomes(
    conn: &mut Conn,
    job: &BulkJob,
    outcomes: &[Outcome<'_>],
    now: DateTime<Utc>,
    lease: Duration,
    processing_ms: i64,
) -> Result<bool, StoreError> {
    let failed = outcomes.iter().filter(|o| o.error.is_some()).count() as i64;
    let processed = job.records_processed + outcomes.len() as i64;
    let last = processed >= job.records_uploaded;
    let done = sqlx::query(
        "UPDATE bulk_jobs SET records_processed = $3, records_failed = records_failed + $4, \
         processing_ms = processing_ms + $5, state = $6, leased_until = $7, modified_at = $8 \
         WHERE id = $1 AND records_processed = $2 AND state = 'InProgress'",
    )
    .bind(&job.id)
    .bind(job.records_processed)
    .bind(processed)
    .bind(failed)
    .bind(processing_ms)
    .bind(if last { "JobComplete" } else { "InProgress" })
    .bind((!last).then(|| (now + lease).timestamp_millis()))
    .bind(now.timestamp_millis())
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    for o in outcomes {
        sqlx::query(
            "UPDATE bulk_ingest_rows SET outcome = $3, record_id = $4, created = $5, error = $6 WHERE job_id = $1 AND n = $2",
        )
        .bind(&job.id)
        .bind(o.n)
        .bind(if o.error.is_some() { "failed" } else { "ok" })
        .bind(o.record_id)
        .bind(i64::from(o.created))
        .bind(o.error)
        .execute(&mut *conn)
        .await?;
    }
    Ok(true)
}

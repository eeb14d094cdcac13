//! Bulk API 2.0 jobs. A REST caller creates a job (and for ingest uploads its CSV and
//! closes it); a worker on any server leases it in the database and runs it chunk by
//! chunk with the caller's access, committing each chunk with the job's progress, so
//! a job whose server is killed resumes where its last chunk ended, never losing or
//! repeating a row. Query results are read back in sets addressed by a locator.

use std::time::{Duration as StdDuration, Instant};

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use latchkey_core::soql::plan::Output;
use latchkey_store::bulk_jobs::{self, BulkJob, Chunk, JobState, NewJob};
use latchkey_store::{commit, users};
use serde_json::Value as Json;
use tokio::sync::watch;

use crate::records::{Caller, QueryPage, RestError};
use crate::{AccountError, Services};

mod ingest;

pub use ingest::{Results, MAX_UPLOAD_BYTES};

/// The job type of query jobs.
pub const QUERY: &str = "V2Query";
/// The job type of ingest jobs.
pub const INGEST: &str = "V2Ingest";

/// Rows a worker reads and saves at a time (one query page).
const CHUNK: u64 = 2000;
/// Seconds a lease lasts without a saved chunk, unless configured otherwise.
pub const DEFAULT_LEASE_SECS: i64 = 30;
/// Most result rows one results call answers.
pub const MAX_RESULT_SET: i64 = 100_000;
/// How long a worker on SQLite leaves the database's one writer free after each
/// chunk, so requests waiting to write are not starved by the next chunk.
const SQLITE_PAUSE: StdDuration = StdDuration::from_millis(100);

/// How often an idle worker looks for jobs other servers created.
const POLL: StdDuration = StdDuration::from_secs(1);

/// The column delimiters Salesforce accepts, by name.
const DELIMITERS: [(&str, u8); 6] = [
    ("COMMA", b','),
    ("TAB", b'\t'),
    ("PIPE", b'|'),
    ("SEMICOLON", b';'),
    ("CARET", b'^'),
    ("BACKQUOTE", b'`'),
];

fn elapsed_ms(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}

/// The delimiter byte of a job's format.
fn delimiter_of(job: &BulkJob) -> u8 {
    DELIMITERS
        .iter()
        .find(|(name, _)| *name == job.column_delimiter)
        .map_or(b',', |(_, d)| *d)
}

/// Checks a job's format: its delimiter and line ending are Salesforce's.
fn check_format(column_delimiter: &str, line_ending: &str) -> Result<(), RestError> {
    if !DELIMITERS.iter().any(|(name, _)| *name == column_delimiter) {
        return Err(refusal(
            "INVALIDJOB",
            format!("Invalid column delimiter: {column_delimiter}"),
        ));
    }
    if !matches!(line_ending, "LF" | "CRLF") {
        return Err(refusal("INVALIDJOB", format!("Invalid line ending: {line_ending}")));
    }
    Ok(())
}

/// A refusal of a job request, with Salesforce's code.
fn refusal(code: &'static str, message: impl Into<String>) -> RestError {
    RestError::UserRefused {
        code,
        message: message.into(),
        fields: Vec::new(),
    }
}

/// A job's state as Salesforce writes it in messages (`IN_PROGRESS`).
fn shouting(state: JobState) -> &'static str {
    match state {
        JobState::Open => "OPEN",
        JobState::UploadComplete => "UPLOAD_COMPLETE",
        JobState::InProgress => "IN_PROGRESS",
        JobState::JobComplete => "JOB_COMPLETE",
        JobState::Failed => "FAILED",
        JobState::Aborted => "ABORTED",
    }
}

/// The locator of the result set starting at row `skip` (base64 of the number, the
/// shape Salesforce's locators have).
pub fn locator(skip: i64) -> String {
    STANDARD_NO_PAD.encode(skip.to_string())
}

pub(crate) fn skip_of(locator: &str) -> Result<i64, RestError> {
    let bytes = STANDARD_NO_PAD
        .decode(locator.trim_end_matches('='))
        .map_err(|_| RestError::BadLocator)?;
    std::str::from_utf8(&bytes)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .ok_or(RestError::BadLocator)
}

/// One set of a job's results.
#[derive(Debug, Clone)]
pub struct ResultSet {
    /// The CSV: the header line, then the rows.
    pub csv: String,
    /// Rows in this set.
    pub records: usize,
    /// The locator of the next set; `None` after the last.
    pub next: Option<String>,
}

/// A page's header and rows as CSV lines in the job's format: every value quoted,
/// parents' fields named `Relationship.Field`, nulls empty.
fn csv_lines(page: &QueryPage, delimiter: u8, crlf: bool) -> (String, Vec<String>) {
    let line = |cells: &mut dyn Iterator<Item = String>| {
        let mut writer = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .quote_style(csv::QuoteStyle::Always)
            .terminator(if crlf {
                csv::Terminator::CRLF
            } else {
                csv::Terminator::Any(b'\n')
            })
            .from_writer(Vec::new());
        let cells: Vec<String> = cells.collect();
        let written = writer
            .write_record(&cells)
            .and_then(|()| writer.flush().map_err(csv::Error::from));
        match (written, writer.into_inner()) {
            (Ok(()), Ok(bytes)) => String::from_utf8(bytes).unwrap_or_default(),
            _ => String::new(),
        }
    };
    let header = line(&mut page.columns.iter().map(|c| match c.parent {
        Some(i) => format!("{}.{}", page.relationships[i].name, c.field.name),
        None => c.field.name.clone(),
    }));
    let rows = page
        .rows
        .iter()
        .map(|row| {
            line(
                &mut page
                    .columns
                    .iter()
                    .zip(&row.values)
                    .map(|(c, v)| match v.to_json(&c.field) {
                        Json::Null => String::new(),
                        Json::String(s) => s,
                        other => other.to_string(),
                    }),
            )
        })
        .collect();
    (header, rows)
}

impl Services {
    /// Creates a query job (`query`, or `queryAll` with recycled records) after
    /// checking its query as the caller would run it.
    pub async fn create_query_job(
        &self,
        caller: &Caller,
        operation: &str,
        query: &str,
        column_delimiter: &str,
        line_ending: &str,
        version: &str,
    ) -> Result<BulkJob, RestError> {
        if !matches!(operation, "query" | "queryAll") {
            return Err(refusal("INVALIDJOB", format!("Invalid operation: {operation}")));
        }
        if !DELIMITERS.iter().any(|(name, _)| *name == column_delimiter) {
            return Err(refusal(
                "INVALIDJOB",
                format!("Invalid column delimiter: {column_delimiter}"),
            ));
        }
        if !matches!(line_ending, "LF" | "CRLF") {
            return Err(refusal("INVALIDJOB", format!("Invalid line ending: {line_ending}")));
        }
        let plan = self.query_plan(caller, query).await?;
        if matches!(plan.output, Output::Count) {
            return Err(refusal(
                "INVALIDJOB",
                "COUNT() queries are not supported by Bulk API query jobs",
            ));
        }
        let id = latchkey_core::ids::generate("750");
        let mut conn = self.store.conn().await?;
        let job = bulk_jobs::insert(
            &mut conn,
            &NewJob {
                id: &id,
                org_id: &caller.org_id,
                user_id: &caller.user_id,
                job_type: QUERY,
                operation,
                object: plan.object.name(),
                query: Some(query),
                external_id_field: None,
                api_version: version,
                column_delimiter,
                line_ending,
            },
            self.clock.now(),
        )
        .await?;
        self.bulk_wake.notify_one();
        tracing::info!(job_id = %job.id, object = %job.object, "bulk query job created");
        Ok(job)
    }

    /// The caller's org's job `id` of `job_type`.
    pub async fn bulk_job(&self, caller: &Caller, job_type: &str, id: &str) -> Result<BulkJob, RestError> {
        let mut conn = self.store.conn().await?;
        bulk_jobs::get(&mut conn, &caller.org_id, id.trim())
            .await?
            .filter(|j| j.job_type == job_type)
            .ok_or_else(|| latchkey_core::records::RecordError::NotFound.into())
    }

    /// The caller's org's query job `id`.
    pub async fn query_job(&self, caller: &Caller, id: &str) -> Result<BulkJob, RestError> {
        self.bulk_job(caller, QUERY, id).await
    }

    /// Up to `limit` of the caller's org's jobs of `job_type` from the `skip`th,
    /// oldest first.
    pub async fn bulk_jobs(
        &self,
        caller: &Caller,
        job_type: &str,
        skip: i64,
        limit: i64,
    ) -> Result<Vec<BulkJob>, RestError> {
        let mut conn = self.store.conn().await?;
        Ok(bulk_jobs::list(&mut conn, &caller.org_id, job_type, skip, limit).await?)
    }

    /// Aborts a job of `job_type` that has not ended.
    pub async fn abort_bulk_job(&self, caller: &Caller, job_type: &str, id: &str) -> Result<BulkJob, RestError> {
        let job = self.bulk_job(caller, job_type, id).await?;
        let mut conn = self.store.conn().await?;
        if !bulk_jobs::finish(
            &mut conn,
            &caller.org_id,
            &job.id,
            JobState::Aborted,
            None,
            self.clock.now(),
        )
        .await?
        {
            return Err(refusal(
                "INVALIDJOBSTATE",
                format!("Aborting already {} Job not allowed", job.state.name()),
            ));
        }
        drop(conn);
        self.bulk_job(caller, job_type, id).await
    }

    /// Deletes a job of `job_type` that no server is running, and its data.
    pub async fn delete_bulk_job(&self, caller: &Caller, job_type: &str, id: &str) -> Result<(), RestError> {
        let job = self.bulk_job(caller, job_type, id).await?;
        if job.state == JobState::InProgress {
            return Err(refusal(
                "INVALIDJOBSTATE",
                "Deleting a job in progress is not allowed: abort it first",
            ));
        }
        let mut tx = self.store.begin().await?;
        bulk_jobs::delete(&mut tx, &caller.org_id, &job.id).await?;
        commit(tx).await?;
        Ok(())
    }

    /// The result set of a complete job starting at locator `at` (the first set when
    /// `None`), of at most `max_records` rows.
    pub async fn query_job_results(
        &self,
        caller: &Caller,
        id: &str,
        at: Option<&str>,
        max_records: Option<i64>,
    ) -> Result<ResultSet, RestError> {
        let job = self.query_job(caller, id).await?;
        if job.state != JobState::JobComplete {
            return Err(RestError::JobNotComplete(format!(
                "can only download query results of successfully completed bulk job with status: JOB_COMPLETE. \
                 Current status: {}",
                shouting(job.state)
            )));
        }
        let skip = match at {
            Some(l) if !l.is_empty() && l != "null" => skip_of(l)?,
            _ => 0,
        };
        let take = max_records.unwrap_or(MAX_RESULT_SET).clamp(1, MAX_RESULT_SET);
        let mut conn = self.store.conn().await?;
        let lines = bulk_jobs::rows(&mut conn, &job.id, skip, take).await?;
        let end = skip + lines.len() as i64;
        let mut csv = job.header.clone().unwrap_or_default();
        for line in &lines {
            csv.push_str(line);
        }
        Ok(ResultSet {
            csv,
            records: lines.len(),
            next: (end < job.records_processed).then(|| locator(end)),
        })
    }

    /// The caller a job's query runs as: its creator, as the creator is now.
    async fn job_caller(&self, job: &BulkJob) -> Result<Option<Caller>, AccountError> {
        let mut conn = self.store.conn().await?;
        let Some(user) = users::find(&mut conn, &job.user_id).await? else {
            return Ok(None);
        };
        let profile = latchkey_store::orgs::profile(&mut conn, &user.profile_id).await?;
        let usable = user.active && !user.frozen && profile.api_enabled && user.org_id == job.org_id;
        Ok(usable.then_some(Caller {
            org_id: user.org_id,
            user_id: user.id,
            api_enabled: profile.api_enabled,
            admin: profile.is_admin,
            restricted: false,
        }))
    }

    /// After a chunk: on SQLite, a pause that lets other writers in.
    async fn between_chunks(&self) {
        if self.store.backend() == latchkey_store::Backend::Sqlite {
            tokio::time::sleep(SQLITE_PAUSE).await;
        }
    }

    async fn fail_job(&self, job: &BulkJob, why: &str) -> Result<(), AccountError> {
        let mut conn = self.store.conn().await?;
        bulk_jobs::finish(
            &mut conn,
            &job.org_id,
            &job.id,
            JobState::Failed,
            Some(why),
            self.clock.now(),
        )
        .await?;
        tracing::warn!(job_id = %job.id, reason = why, "bulk query job failed");
        Ok(())
    }

    /// Leases one pending job (new, or left by a server whose lease lapsed) and runs
    /// it to its end; `false` when none waits.
    pub async fn run_one_bulk_job(&self) -> Result<bool, AccountError> {
        let (_keep, running) = watch::channel(false);
        self.run_bulk_job_until(&running).await
    }

    /// Like [`Services::run_one_bulk_job`], leaving the job between two chunks when
    /// `stop` turns true (its lease lapses and a server resumes it).
    async fn run_bulk_job_until(&self, stop: &watch::Receiver<bool>) -> Result<bool, AccountError> {
        let mut conn = self.store.conn().await?;
        let Some(mut job) = bulk_jobs::lease_next(&mut conn, self.clock.now(), self.bulk_lease).await? else {
            return Ok(false);
        };
        drop(conn);
        let Some(caller) = self.job_caller(&job).await? else {
            self.fail_job(&job, "the job's user can no longer use the API").await?;
            return Ok(true);
        };
        if job.job_type == INGEST {
            return self.run_ingest_job(job, &caller, stop).await;
        }
        let delimiter = delimiter_of(&job);
        let crlf = job.line_ending == "CRLF";
        let query = job.query.clone().unwrap_or_default();
        loop {
            if *stop.borrow() {
                return Ok(true);
            }
            let started = Instant::now();
            let page = match &job.cursor {
                None => self.query(&caller, &query, job.operation == "queryAll", CHUNK).await,
                Some(cursor) => self.query_more(&caller, cursor).await,
            };
            let page = match page {
                Ok(page) => page,
                Err(RestError::Internal(e)) => return Err(e),
                Err(e) => {
                    self.fail_job(&job, &e.to_string()).await?;
                    return Ok(true);
                }
            };
            let (header, lines) = csv_lines(&page, delimiter, crlf);
            let chunk = Chunk {
                header: &header,
                lines: &lines,
                next: page.next.as_deref(),
                processing_ms: elapsed_ms(started),
            };
            let mut tx = self.store.begin().await?;
            let saved = bulk_jobs::save_chunk(&mut tx, &job, &chunk, self.clock.now(), self.bulk_lease).await?;
            commit(tx).await?;
            if !saved {
                tracing::info!(job_id = %job.id, "bulk query job ended elsewhere (aborted or taken over)");
                return Ok(true);
            }
            job.records_processed += lines.len() as i64;
            job.cursor = page.next;
            if job.cursor.is_none() {
                tracing::info!(job_id = %job.id, records = job.records_processed, "bulk query job complete");
                return Ok(true);
            }
            self.between_chunks().await;
        }
    }

    /// The bulk job worker: runs pending jobs until `shutdown` turns true, woken by
    /// new jobs of this server and polling for other servers' jobs.
    pub async fn run_bulk_jobs(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.run_bulk_job_until(&shutdown).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "bulk job worker failed; retrying"),
            }
            tokio::select! {
                _ = shutdown.changed() => {}
                () = self.bulk_wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locators_read_back_and_nothing_else_does() {
        assert_eq!(locator(10_000), "MTAwMDA", "the shape of Salesforce's locators");
        for skip in [0, 1, 1999, 123_456_789] {
            assert_eq!(skip_of(&locator(skip)).unwrap(), skip);
        }
        assert_eq!(skip_of("MTAwMDA=").unwrap(), 10_000, "padding tolerated");
        for bad in ["", "!!", "LTE", "YWJj"] {
            assert!(skip_of(bad).is_err(), "{bad}");
        }
    }
}

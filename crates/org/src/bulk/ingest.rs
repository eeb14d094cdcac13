//! Bulk API 2.0 ingest jobs: created open, fed CSV uploads, closed, then run by the
//! worker 200 rows at a time through the same record services as REST (validation,
//! references, unique values, external ids). Each chunk's writes commit in one
//! transaction with the rows' outcomes and the job's progress, so a killed server's
//! job resumes at the first row whose outcome is not committed.

use std::time::Instant;

use latchkey_core::records::{Field, FieldType, ObjectKind, OrgSchema};
use latchkey_store::bulk_jobs::{self, BulkJob, IngestRow, JobState, NewJob, Outcome};
use latchkey_store::{commit, Conn};
use serde_json::{Map, Value as Json};

use super::{check_format, delimiter_of, elapsed_ms, refusal, INGEST};
use crate::records::{record_id, Caller, RestError};
use crate::{AccountError, Services};

/// Most bytes of CSV one upload carries (Salesforce's 150 MB).
pub const MAX_UPLOAD_BYTES: usize = 150 * 1024 * 1024;
/// Rows processed and committed at a time.
const CHUNK: i64 = 200;
/// The operations of ingest jobs.
const OPERATIONS: [&str; 5] = ["insert", "update", "upsert", "delete", "hardDelete"];

/// A row's outcome: the record written and whether it is new, or the error.
type RowResult = Result<(String, bool), String>;

/// Which records of a job a results call reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Results {
    /// `successfulResults`: `sf__Id`, `sf__Created` and the row.
    Successful,
    /// `failedResults`: `sf__Id`, `sf__Error` and the row.
    Failed,
    /// `unprocessedrecords`: the rows no server reached.
    Unprocessed,
}

/// The buffer a [`Lines`] writer fills and each line is taken from.
#[derive(Clone, Default)]
struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes CSV lines in a job's format, one at a time, with one writer.
struct Lines {
    writer: csv::Writer<Shared>,
    buffer: Shared,
}

impl Lines {
    /// Lines with `delimiter`, every cell quoted when `always` (else where needed),
    /// each ending in LF.
    fn new(delimiter: u8, always: bool) -> Self {
        let buffer = Shared::default();
        let writer = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .quote_style(if always {
                csv::QuoteStyle::Always
            } else {
                csv::QuoteStyle::Necessary
            })
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(buffer.clone());
        Self { writer, buffer }
    }

    fn line<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) -> String {
        let written = self
            .writer
            .write_record(cells)
            .and_then(|()| self.writer.flush().map_err(csv::Error::from));
        let bytes = std::mem::take(&mut *self.buffer.0.borrow_mut());
        match written {
            Ok(()) => String::from_utf8(bytes).unwrap_or_default(),
            Err(_) => String::new(),
        }
    }
}

/// One CSV line of `cells` (see [`Lines`]).
fn line_of<'a>(cells: impl IntoIterator<Item = &'a str>, delimiter: u8, always: bool) -> String {
    Lines::new(delimiter, always).line(cells)
}

/// The cells of one stored line.
fn cells_of(line: &str, delimiter: u8) -> Vec<String> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .from_reader(line.as_bytes())
        .records()
        .next()
        .and_then(Result::ok)
        .map(|r| r.iter().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// What a column of an upload sets.
#[derive(Debug, Clone)]
enum Column {
    /// `Id`: the record to update or delete.
    Id,
    /// A field of the object.
    Field(Field),
    /// `Account.External_Id__c`: the reference field set to the record of `target`
    /// whose `key` is the cell.
    ByKey {
        reference: Field,
        target: ObjectKind,
        key: String,
    },
}

/// The columns of a header, or the name of the first that names nothing.
fn columns(schema: &OrgSchema, kind: ObjectKind, header: &[String]) -> Result<Vec<Column>, String> {
    let def = schema.object(kind);
    header
        .iter()
        .map(|name| {
            if name.eq_ignore_ascii_case("Id") {
                return Ok(Column::Id);
            }
            if let Some((relationship, key)) = name.split_once('.') {
                let reference = def.relationship(relationship).ok_or_else(|| name.clone())?;
                let FieldType::Reference(target) = reference.field_type else {
                    return Err(name.clone());
                };
                let target: ObjectKind = target.parse().map_err(|_| name.clone())?;
                let key_field = schema
                    .object(target)
                    .field(key)
                    .filter(|f| f.external_id)
                    .ok_or_else(|| name.clone())?;
                return Ok(Column::ByKey {
                    reference: reference.clone(),
                    target,
                    key: key_field.name.clone(),
                });
            }
            def.field(name).cloned().map(Column::Field).ok_or_else(|| name.clone())
        })
        .collect()
}

/// A cell as the JSON value REST would carry: `#N/A` clears, numbers and checkboxes
/// take their types, everything else is text.
fn json_of(field: &Field, cell: &str) -> Json {
    if cell == "#N/A" {
        return Json::Null;
    }
    match field.field_type {
        FieldType::Boolean => match cell.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Json::Bool(true),
            "false" | "0" | "no" => Json::Bool(false),
            _ => Json::String(cell.to_owned()),
        },
        FieldType::Double => cell
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Json::String(cell.to_owned()), Json::Number),
        _ => Json::String(cell.to_owned()),
    }
}

/// The outcomes of a chunk's rows, as the store saves them.
fn outcomes(results: &[(i64, RowResult)]) -> Vec<Outcome<'_>> {
    results
        .iter()
        .map(|(n, r)| match r {
            Ok((id, created)) => Outcome {
                n: *n,
                record_id: Some(id),
                created: *created,
                error: None,
            },
            Err(why) => Outcome {
                n: *n,
                record_id: None,
                created: false,
                error: Some(why),
            },
        })
        .collect()
}

/// Salesforce's `sf__Error` text: `CODE:message:Field1,Field2 --`.
fn error_text(e: &RestError) -> String {
    let (_, code) = e.status_and_code();
    format!("{code}:{e}:{} --", e.fields().join(","))
}

impl Services {
    /// Creates an open ingest job for `object`.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_ingest_job(
        &self,
        caller: &Caller,
        object: &str,
        operation: &str,
        external_id_field: Option<&str>,
        column_delimiter: &str,
        line_ending: &str,
        version: &str,
    ) -> Result<BulkJob, RestError> {
        check_format(column_delimiter, line_ending)?;
        if !OPERATIONS.contains(&operation) {
            return Err(refusal("INVALIDJOB", format!("Invalid operation: {operation}")));
        }
        let kind: ObjectKind = object
            .parse()
            .ok()
            .filter(|k: &ObjectKind| caller.sees(*k) && k.is_stored())
            .ok_or_else(|| {
                refusal(
                    "INVALIDJOB",
                    format!("Entity '{object}' is not supported by the Bulk API."),
                )
            })?;
        let external = match (operation, external_id_field) {
            ("upsert", None) => {
                return Err(refusal("INVALIDJOB", "An upsert job needs externalIdFieldName"));
            }
            ("upsert", Some(name)) => {
                let schema = self.schema(&caller.org_id).await?;
                Some(Self::external_id_field(&schema, kind, name)?.name)
            }
            _ => None,
        };
        let id = latchkey_core::ids::generate("750");
        let mut conn = self.store.conn().await?;
        let job = bulk_jobs::insert(
            &mut conn,
            &NewJob {
                id: &id,
                org_id: &caller.org_id,
                user_id: &caller.user_id,
                job_type: INGEST,
                operation,
                object: kind.name(),
                query: None,
                external_id_field: external.as_deref(),
                api_version: version,
                column_delimiter,
                line_ending,
            },
            self.clock.now(),
        )
        .await?;
        tracing::info!(job_id = %job.id, object = %job.object, operation, "bulk ingest job created");
        Ok(job)
    }

    /// The caller's org's ingest job `id`.
    pub async fn ingest_job(&self, caller: &Caller, id: &str) -> Result<BulkJob, RestError> {
        self.bulk_job(caller, INGEST, id).await
    }

    /// Adds an upload's rows to an open job (one header per job); the CSV is checked
    /// whole before anything is kept.
    pub async fn upload_ingest_data(&self, caller: &Caller, id: &str, body: &[u8]) -> Result<(), RestError> {
        let job = self.ingest_job(caller, id).await?;
        if job.state != JobState::Open {
            return Err(refusal(
                "INVALIDJOBSTATE",
                format!("Uploads go to open jobs; this job is {}", job.state.name()),
            ));
        }
        let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
        let delimiter = delimiter_of(&job);
        let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).from_reader(body);
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| refusal("INVALIDJOB", format!("ClientInputError : {e}")))?
            .iter()
            .map(|h| h.trim().to_owned())
            .collect();
        if header.iter().all(String::is_empty) {
            return Err(refusal("INVALIDJOB", "ClientInputError : the CSV has no header line"));
        }
        let mut lines = Vec::new();
        for (n, record) in reader.records().enumerate() {
            let record =
                record.map_err(|e| refusal("INVALIDJOB", format!("ClientInputError : LineNumber {}: {e}", n + 2)))?;
            lines.push(line_of(record.iter(), delimiter, false));
        }
        let header_line = line_of(header.iter().map(String::as_str), delimiter, false);
        let mut tx = self.store.begin().await?;
        if !bulk_jobs::upload(&mut tx, &job, &header_line, &lines).await? {
            return Err(refusal(
                "INVALIDJOB",
                "Every upload of a job has the same header line, and the job is open",
            ));
        }
        commit(tx).await?;
        Ok(())
    }

    /// Closes an open job for uploads (`UploadComplete`): a worker runs it.
    pub async fn close_ingest_job(&self, caller: &Caller, id: &str) -> Result<BulkJob, RestError> {
        let job = self.ingest_job(caller, id).await?;
        let mut conn = self.store.conn().await?;
        if !bulk_jobs::close(&mut conn, &caller.org_id, &job.id, self.clock.now()).await? {
            return Err(refusal(
                "INVALIDJOBSTATE",
                format!("Closing an already {} job is not allowed", job.state.name()),
            ));
        }
        drop(conn);
        self.bulk_wake.notify_one();
        self.ingest_job(caller, id).await
    }

    /// One kind of a job's results as CSV, in upload order.
    pub async fn ingest_results(&self, caller: &Caller, id: &str, which: Results) -> Result<String, RestError> {
        let job = self.ingest_job(caller, id).await?;
        let delimiter = delimiter_of(&job);
        let header = job.header.clone().unwrap_or_else(|| "\n".into());
        let mut conn = self.store.conn().await?;
        let (outcome, prefix) = match which {
            Results::Successful => (Some("ok"), Some(["sf__Id", "sf__Created"])),
            Results::Failed => (Some("failed"), Some(["sf__Id", "sf__Error"])),
            Results::Unprocessed => (None, None),
        };
        let rows = bulk_jobs::ingest_rows_with(&mut conn, &job.id, outcome).await?;
        let join = |front: Option<String>, line: &str| match front {
            Some(f) if line.trim_end().is_empty() => f,
            Some(f) => format!("{}{}{line}", f.trim_end_matches('\n'), char::from(delimiter)),
            None => line.to_owned(),
        };
        let mut out = join(prefix.map(|p| line_of(p, delimiter, true)), &header);
        for row in rows {
            let front = match which {
                Results::Successful => Some(line_of(
                    [
                        row.record_id.as_deref().unwrap_or(""),
                        if row.created == Some(1) { "true" } else { "false" },
                    ],
                    delimiter,
                    true,
                )),
                Results::Failed => Some(line_of(
                    [
                        row.record_id.as_deref().unwrap_or(""),
                        row.error.as_deref().unwrap_or(""),
                    ],
                    delimiter,
                    true,
                )),
                Results::Unprocessed => None,
            };
            out.push_str(&join(front, &row.line));
        }
        Ok(out)
    }

    /// Runs a leased ingest job chunk by chunk to its end (or until `stop`).
    pub(super) async fn run_ingest_job(
        &self,
        mut job: BulkJob,
        caller: &Caller,
        stop: &tokio::sync::watch::Receiver<bool>,
    ) -> Result<bool, AccountError> {
        let schema = self.schema(&caller.org_id).await?;
        let Ok(kind) = job.object.parse::<ObjectKind>() else {
            self.fail_job(&job, "the job's object no longer exists").await?;
            return Ok(true);
        };
        let delimiter = delimiter_of(&job);
        let header = cells_of(job.header.as_deref().unwrap_or(""), delimiter);
        let columns = match columns(&schema, kind, &header) {
            Ok(c) => c,
            Err(name) => {
                self.fail_job(&job, &format!("InvalidBatch : Field name not found : {name}"))
                    .await?;
                return Ok(true);
            }
        };
        loop {
            if *stop.borrow() {
                return Ok(true);
            }
            let started = Instant::now();
            let mut conn = self.store.conn().await?;
            let rows = bulk_jobs::ingest_rows(&mut conn, &job.id, job.records_processed, CHUNK).await?;
            drop(conn);
            let mut tx = self.store.begin().await?;
            let mut results: Vec<(i64, RowResult)> = Vec::with_capacity(rows.len());
            for row in &rows {
                match self
                    .ingest_row(&mut tx, caller, &schema, kind, &job, &columns, row, delimiter)
                    .await
                {
                    Ok(done) => results.push((row.n, Ok(done))),
                    Err(RestError::Internal(e)) => return Err(e),
                    Err(e) => results.push((row.n, Err(error_text(&e)))),
                }
            }
            let outcomes = outcomes(&results);
            let saved = bulk_jobs::save_outcomes(
                &mut tx,
                &job,
                &outcomes,
                self.clock.now(),
                self.bulk_lease,
                elapsed_ms(started),
            )
            .await?;
            if !saved {
                tx.rollback().await.map_err(latchkey_store::StoreError::from)?;
                tracing::info!(job_id = %job.id, "bulk ingest job ended elsewhere (aborted or taken over)");
                return Ok(true);
            }
            commit(tx).await?;
            job.records_processed += outcomes.len() as i64;
            if job.records_processed >= job.records_uploaded || rows.is_empty() {
                tracing::info!(job_id = %job.id, records = job.records_processed, "bulk ingest job complete");
                return Ok(true);
            }
            self.between_chunks().await;
        }
    }

    /// Writes one uploaded row; the record's id and whether it is new.
    #[allow(clippy::too_many_arguments)]
    async fn ingest_row(
        &self,
        tx: &mut Conn,
        caller: &Caller,
        schema: &OrgSchema,
        kind: ObjectKind,
        job: &BulkJob,
        columns: &[Column],
        row: &IngestRow,
        delimiter: u8,
    ) -> Result<(String, bool), RestError> {
        let cells = cells_of(&row.line, delimiter);
        let mut body = Map::new();
        let mut id = None;
        for (column, cell) in columns.iter().zip(&cells) {
            if cell.is_empty() {
                continue;
            }
            match column {
                Column::Id => id = Some(record_id(kind, cell)?),
                Column::Field(f) => {
                    body.insert(f.name.clone(), json_of(f, cell));
                }
                Column::ByKey { reference, target, key } => {
                    let parent = self.find_by_external_id(caller, *target, key, cell).await?;
                    body.insert(reference.name.clone(), Json::String(parent));
                }
            }
        }
        let needs_id = || {
            id.clone()
                .ok_or_else(|| RestError::from(latchkey_core::records::RecordError::RequiredMissing(vec!["Id".into()])))
        };
        match job.operation.as_str() {
            "insert" => Ok((self.create_on(tx, caller, schema, kind, &body).await?, true)),
            "update" => {
                let id = needs_id()?;
                self.update_on(tx, caller, schema, kind, &id, &body).await?;
                Ok((id, false))
            }
            "upsert" => {
                let name = job.external_id_field.as_deref().unwrap_or("Id");
                let field = Self::external_id_field(schema, kind, name)?;
                let key = match (field.name.as_str(), &id) {
                    ("Id", Some(id)) => id.clone(),
                    _ => match body.get(&field.name) {
                        Some(Json::String(k)) => k.clone(),
                        _ => {
                            return Err(
                                latchkey_core::records::RecordError::RequiredMissing(vec![field.name.clone()]).into(),
                            )
                        }
                    },
                };
                let done = self.upsert_on(tx, caller, schema, kind, &field, &key, &body).await?;
                Ok((done.id, done.created))
            }
            _ => {
                let id = needs_id()?;
                self.delete_on(tx, caller, kind, &id).await?;
                Ok((id, false))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_quotes_delimiters_and_new_lines() {
        let cells = ["plain", "a, b", "say \"hi\"", "two\nlines", ""];
        for delimiter in [b',', b'\t', b'|', b';', b'^', b'`'] {
            let line = line_of(cells, delimiter, false);
            assert!(line.ends_with('\n'));
            assert_eq!(cells_of(&line, delimiter), cells, "{line:?}");
        }
        assert_eq!(line_of(["a", "b"], b',', true), "\"a\",\"b\"\n");
    }

    #[test]
    fn row_errors_read_as_salesforces() {
        let e = RestError::from(latchkey_core::records::RecordError::RequiredMissing(vec![
            "LastName".into()
        ]));
        assert_eq!(
            error_text(&e),
            "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --"
        );
    }
}

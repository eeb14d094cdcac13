-- Bulk API 2.0 jobs. Query jobs save their results as CSV rows; ingest jobs keep the
-- uploaded rows and, beside each, its outcome. A job is leased by one server at a
-- time; each chunk is committed with the job's progress, so a server killed mid-job
-- leaves a job another server (or the same one, restarted) resumes where the last
-- commit left it, without losing or repeating a row.

CREATE TABLE bulk_jobs (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    job_type TEXT NOT NULL,
    operation TEXT NOT NULL,
    object TEXT NOT NULL,
    query TEXT,
    external_id_field TEXT,
    api_version TEXT NOT NULL,
    column_delimiter TEXT NOT NULL,
    line_ending TEXT NOT NULL,
    state TEXT NOT NULL,
    error_message TEXT,
    header TEXT,
    cursor TEXT,
    records_uploaded BIGINT NOT NULL DEFAULT 0,
    records_processed BIGINT NOT NULL DEFAULT 0,
    records_failed BIGINT NOT NULL DEFAULT 0,
    processing_ms BIGINT NOT NULL DEFAULT 0,
    leased_until BIGINT,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL
);
CREATE INDEX bulk_jobs_pending ON bulk_jobs (state, leased_until);
CREATE INDEX bulk_jobs_org ON bulk_jobs (org_id, job_type, created_at);

-- A query job's result records, one CSV line each, numbered from 0 in result order.
CREATE TABLE bulk_query_rows (
    job_id TEXT NOT NULL,
    n BIGINT NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (job_id, n)
);

-- An ingest job's uploaded records, one CSV line each in upload order, and once
-- processed its outcome: 'ok' with the record's id (and whether it was created), or
-- 'failed' with the error.
CREATE TABLE bulk_ingest_rows (
    job_id TEXT NOT NULL,
    n BIGINT NOT NULL,
    line TEXT NOT NULL,
    outcome TEXT,
    record_id TEXT,
    created BIGINT,
    error TEXT,
    PRIMARY KEY (job_id, n)
);

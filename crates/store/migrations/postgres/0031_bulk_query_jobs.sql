-- Bulk API 2.0 query jobs. A job is leased by one server at a time; each chunk of
-- result rows is committed with the cursor of the next chunk, so a server killed
-- mid-job leaves a job another server (or the same one, restarted) resumes where the
-- last commit left it, without losing or repeating a row.

CREATE TABLE bulk_jobs (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    operation TEXT NOT NULL,
    object TEXT NOT NULL,
    query TEXT NOT NULL,
    api_version TEXT NOT NULL,
    column_delimiter TEXT NOT NULL,
    line_ending TEXT NOT NULL,
    state TEXT NOT NULL,
    error_message TEXT,
    header TEXT,
    cursor TEXT,
    records_processed BIGINT NOT NULL DEFAULT 0,
    processing_ms BIGINT NOT NULL DEFAULT 0,
    leased_until BIGINT,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL
);
CREATE INDEX bulk_jobs_pending ON bulk_jobs (state, leased_until);
CREATE INDEX bulk_jobs_org ON bulk_jobs (org_id, created_at);

-- One result record per row, as a CSV line, numbered from 0 in result order.
CREATE TABLE bulk_query_rows (
    job_id TEXT NOT NULL,
    n BIGINT NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (job_id, n)
);

-- Imports: an upload sent twice with the same Idempotency-Key is one job; repairs are
-- kept beside row errors; each step records what became of each of its rows (one
-- character per row), so the result file can be written from the original file.
ALTER TABLE jobs ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX jobs_by_idempotency_key ON jobs (org_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

ALTER TABLE job_row_errors ADD COLUMN kind TEXT NOT NULL DEFAULT 'error';

CREATE TABLE job_row_outcomes (
    org_id     TEXT NOT NULL,
    job_id     TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    first_row  INTEGER NOT NULL,
    outcomes   TEXT NOT NULL,
    PRIMARY KEY (job_id, first_row)
);

-- Shared file: when the files of each job (an export's download) expire, and when the
-- worker deleted them. Beside the jobs, so one indexed query finds the files due in
-- every org; the history row of the job stays after its files are gone.
CREATE TABLE job_files_expiry (
    job_id     TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    org_id     TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    deleted_at TEXT
);

CREATE INDEX job_files_due ON job_files_expiry (expires_at) WHERE deleted_at IS NULL;

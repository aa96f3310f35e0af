-- Jobs of every kind: counts are one JSON object of name to number (an import counts
-- created, updated, unchanged and failed rows; another job counts its own things), and
-- each job lists the blobs it produced, with their size and SHA-256.
ALTER TABLE jobs ADD COLUMN counts TEXT NOT NULL DEFAULT '{}';
UPDATE jobs SET counts = json_object('created', created_count, 'updated', updated_count,
                                     'unchanged', unchanged_count, 'failed', failed_count)
    WHERE kind = 'import_users';
ALTER TABLE jobs DROP COLUMN created_count;
ALTER TABLE jobs DROP COLUMN updated_count;
ALTER TABLE jobs DROP COLUMN unchanged_count;
ALTER TABLE jobs DROP COLUMN failed_count;

CREATE TABLE job_outputs (
    org_id    TEXT NOT NULL,
    job_id    TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    blob_key  TEXT NOT NULL,
    name      TEXT NOT NULL,
    size      INTEGER NOT NULL,
    sha256    TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);

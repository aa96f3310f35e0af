-- Deleting an org ("delete company data"). The org's rows, files and credentials go;
-- what stays is the receipt (who asked, when, counts per kind, when it ended) and the
-- log of the deletion's steps (the org's own audit log goes with its file).
CREATE TABLE org_deletions (
    org_id           TEXT PRIMARY KEY,
    job_id           TEXT NOT NULL,
    requested_by     TEXT NOT NULL,
    requested_at     TEXT NOT NULL,
    -- SHA-256 of the key that lets the requester read the status after their session
    -- ended with the org.
    status_key_hash  BLOB NOT NULL,
    counts           TEXT NOT NULL,
    finished_at      TEXT
);

CREATE TABLE org_deletion_events (
    org_id  TEXT NOT NULL REFERENCES org_deletions (org_id),
    seq     INTEGER NOT NULL,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    step    TEXT NOT NULL,
    detail  TEXT NOT NULL,
    PRIMARY KEY (org_id, seq)
);
CREATE TRIGGER org_deletion_events_no_update BEFORE UPDATE ON org_deletion_events
BEGIN SELECT RAISE(ABORT, 'deletion events are append-only'); END;


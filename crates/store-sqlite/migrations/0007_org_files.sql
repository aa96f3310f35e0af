-- Per-org databases: every org's tenant data has been copied into DATA/orgs/<org>.db
-- (by the store, in Rust, before this runs; see split.rs). The shared file keeps orgs,
-- accounts, tokens, sessions, codes, the SMS outbox, the jobs, and the phone -> orgs
-- lookup member sign-in needs. Tables that point at others are dropped first.
CREATE TABLE phone_orgs (
    phone   TEXT NOT NULL,
    org_id  TEXT NOT NULL,
    PRIMARY KEY (phone, org_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO phone_orgs (phone, org_id)
    SELECT users.phone, users.org_id FROM users JOIN orgs ON orgs.id = users.org_id;

-- The sequence number of the checkpoint in this row; an org file's job_checkpoints
-- row with a higher one is newer (a crash came between its commit and the mirror).
ALTER TABLE jobs ADD COLUMN checkpoint_seq INTEGER NOT NULL DEFAULT 0;

DROP TABLE attachments;
DROP TABLE action_publications;
DROP TABLE connector_publications;
DROP TABLE action_responses;
DROP TABLE actions;
DROP TABLE connectors;
DROP TABLE messages;
DROP TABLE memberships;
DROP TABLE telemetry_events;
DROP TABLE audit_events;
DROP TABLE groups;
DROP TABLE users;
DROP TABLE attribute_defs;
DROP TABLE job_row_errors;
DROP TABLE job_row_outcomes;
DROP TABLE job_outputs;
DROP TABLE IF EXISTS org_split;

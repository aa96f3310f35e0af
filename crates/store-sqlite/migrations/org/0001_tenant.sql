-- One org's own database (DATA/orgs/<org-id>.db), version 1: the org's tenant data.
-- The tables keep the shapes (and the org_id column) they had in the shared file, so
-- every query still names its org and a PostgreSQL deployment can keep them as one
-- table partitioned or distributed by org_id. Nothing here points outside the file:
-- the org row, the jobs and the accounts live in the shared steward.db.

CREATE TABLE attribute_defs (
    org_id     TEXT NOT NULL,
    key        TEXT NOT NULL,
    name       TEXT NOT NULL,
    type       TEXT NOT NULL,
    mandatory  INTEGER NOT NULL,
    suggested  INTEGER NOT NULL,
    position   INTEGER NOT NULL,
    PRIMARY KEY (org_id, key)
);

-- Attributes are a JSON object {key: value}; each attribute key the org defines gets
-- an expression index users_by_attr_<key> in this file alone (see users.rs).
CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    phone       TEXT NOT NULL,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    source      TEXT NOT NULL,
    attributes  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    deleted_at  TEXT,
    UNIQUE (org_id, phone)
);
CREATE INDEX users_by_status ON users (org_id, status, phone);
CREATE INDEX users_by_name ON users (org_id, status, name, phone);

CREATE TABLE groups (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    parent_id   TEXT REFERENCES groups (id),
    name        TEXT NOT NULL,
    org_mapped  INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX groups_by_org ON groups (org_id, parent_id);

CREATE TABLE memberships (
    org_id     TEXT NOT NULL,
    group_id   TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    joined_at  TEXT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (org_id, user_id);

CREATE TABLE messages (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    group_id    TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    sender_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX messages_by_group ON messages (org_id, group_id, created_at);
CREATE INDEX messages_by_sender ON messages (org_id, sender_id);

CREATE TABLE attachments (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL,
    message_id    TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    file_name     TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    blob_key      TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX attachments_by_message ON attachments (org_id, message_id);

CREATE TABLE actions (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL,
    questions   TEXT NOT NULL,
    created_by  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL
);
CREATE INDEX actions_by_org ON actions (org_id, created_at);

CREATE TABLE action_publications (
    org_id        TEXT NOT NULL,
    action_id     TEXT NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    group_id      TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    published_by  TEXT NOT NULL,
    published_at  TEXT NOT NULL,
    PRIMARY KEY (action_id, group_id)
);

CREATE TABLE action_responses (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    action_id   TEXT NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
    group_id    TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    answers     TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX action_responses_by_action ON action_responses (org_id, action_id);

CREATE TABLE connectors (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    name        TEXT NOT NULL,
    config      TEXT NOT NULL,
    created_by  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL
);
CREATE INDEX connectors_by_org ON connectors (org_id);

CREATE TABLE connector_publications (
    org_id        TEXT NOT NULL,
    connector_id  TEXT NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    group_id      TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    published_by  TEXT NOT NULL,
    published_at  TEXT NOT NULL,
    PRIMARY KEY (connector_id, group_id)
);

CREATE TABLE telemetry_events (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    user_id     TEXT,
    kind        TEXT NOT NULL,
    properties  TEXT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX telemetry_by_org ON telemetry_events (org_id, at);

-- Append-only: no statement in Steward updates or deletes audit rows.
CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    request_id  TEXT,
    ip          TEXT,
    at          TEXT NOT NULL
);
CREATE INDEX audit_by_org ON audit_events (org_id, at);
CREATE INDEX audit_by_actor ON audit_events (org_id, actor, at);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

-- What the org's jobs leave about their rows. The job rows themselves (queue, lease,
-- status) are in the shared file.
CREATE TABLE job_row_errors (
    org_id  TEXT NOT NULL,
    job_id  TEXT NOT NULL,
    row     INTEGER NOT NULL,
    seq     INTEGER NOT NULL,
    col     TEXT NOT NULL,
    value   TEXT NOT NULL,
    reason  TEXT NOT NULL,
    kind    TEXT NOT NULL DEFAULT 'error',
    PRIMARY KEY (job_id, row, seq)
);

CREATE TABLE job_row_outcomes (
    org_id     TEXT NOT NULL,
    job_id     TEXT NOT NULL,
    first_row  INTEGER NOT NULL,
    outcomes   TEXT NOT NULL,
    PRIMARY KEY (job_id, first_row)
);

CREATE TABLE job_outputs (
    org_id    TEXT NOT NULL,
    job_id    TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    blob_key  TEXT NOT NULL,
    name      TEXT NOT NULL,
    size      INTEGER NOT NULL,
    sha256    TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);

-- The authoritative checkpoint of each of the org's jobs, written in the same
-- transaction as a step's rows (a transaction cannot span two SQLite files
-- atomically). `seq` counts saved checkpoints: the shared jobs row mirrors it and the
-- higher of the two wins. `attempt` is the claim that last wrote or fenced the row: a
-- step of an older claim is refused (see jobs.rs).
CREATE TABLE job_checkpoints (
    job_id          TEXT PRIMARY KEY,
    seq             INTEGER NOT NULL,
    attempt         INTEGER NOT NULL,
    progress_done   INTEGER NOT NULL,
    progress_total  INTEGER NOT NULL,
    counts          TEXT NOT NULL,
    state           TEXT
);

-- Steward schema, version 1. Every tenant-owned table carries org_id and is indexed by
-- it first, so every query can filter by org and a later PostgreSQL deployment can
-- shard by it. Times are RFC 3339 UTC text of fixed width, so they sort as text.

CREATE TABLE orgs (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    region      TEXT NOT NULL,
    plan        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX orgs_by_name ON orgs (name);

CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    role          TEXT NOT NULL,
    label         TEXT NOT NULL,
    secret_hash   BLOB NOT NULL UNIQUE,
    created_at    TEXT NOT NULL,
    expires_at    TEXT,
    last_used_at  TEXT,
    revoked_at    TEXT
);
CREATE INDEX api_tokens_by_org ON api_tokens (org_id);

CREATE TABLE attribute_defs (
    org_id     TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    name       TEXT NOT NULL,
    type       TEXT NOT NULL,
    mandatory  INTEGER NOT NULL,
    suggested  INTEGER NOT NULL,
    position   INTEGER NOT NULL,
    PRIMARY KEY (org_id, key)
);

-- Attributes are a JSON object {key: value} in the user row: one row per user keeps
-- bulk imports and exports fast; filtering indexes come with the directory features.
CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
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

CREATE TABLE groups (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
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
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

CREATE TABLE jobs (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL,
    kind              TEXT NOT NULL,
    status            TEXT NOT NULL,
    file_name         TEXT,
    created_by        TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    started_at        TEXT,
    finished_at       TEXT,
    progress_done     INTEGER NOT NULL DEFAULT 0,
    progress_total    INTEGER NOT NULL DEFAULT 0,
    created_count     INTEGER NOT NULL DEFAULT 0,
    updated_count     INTEGER NOT NULL DEFAULT 0,
    unchanged_count   INTEGER NOT NULL DEFAULT 0,
    failed_count      INTEGER NOT NULL DEFAULT 0,
    payload           TEXT NOT NULL,
    checkpoint        TEXT,
    attempts          INTEGER NOT NULL DEFAULT 0,
    cancel_requested  INTEGER NOT NULL DEFAULT 0,
    error             TEXT,
    worker_id         TEXT,
    lease_until       TEXT
);
CREATE INDEX jobs_by_org ON jobs (org_id, kind, created_at);
CREATE INDEX jobs_claimable ON jobs (status, created_at);

CREATE TABLE job_row_errors (
    org_id  TEXT NOT NULL,
    job_id  TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    row     INTEGER NOT NULL,
    seq     INTEGER NOT NULL,
    col     TEXT NOT NULL,
    value   TEXT NOT NULL,
    reason  TEXT NOT NULL,
    PRIMARY KEY (job_id, row, seq)
);

-- Org file version 3: deleted users (restorable until purged), what their deletion
-- hides, legal holds, deletion receipts, and the org's purge settings.

-- One row: the purge window (1 to 30 days) and the secret salt of receipt hashes.
CREATE TABLE lifecycle_settings (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    purge_window_days  INTEGER NOT NULL CHECK (purge_window_days BETWEEN 1 AND 30),
    receipt_salt       TEXT NOT NULL
);
INSERT INTO lifecycle_settings (id, purge_window_days, receipt_salt)
VALUES (1, 30, lower(hex(randomblob(32))));

-- A deleted user until the purge's last step: who deleted them and when, the
-- memberships of org-mapped groups they left (JSON, for a restore), and whether a
-- purge has begun (no restore from then on).
CREATE TABLE deleted_users (
    user_id      TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL,
    deleted_by   TEXT NOT NULL,
    deleted_at   TEXT NOT NULL,
    purge_after  TEXT NOT NULL,
    memberships  TEXT NOT NULL,
    purging      INTEGER NOT NULL DEFAULT 0
);

-- The org-mapped groups at the moment of a deletion: the user's content in them is
-- hidden from every read (the visible_* views) until a restore or the purge.
CREATE TABLE hidden_content (
    user_id   TEXT NOT NULL,
    group_id  TEXT NOT NULL,
    PRIMARY KEY (user_id, group_id)
) WITHOUT ROWID;

-- What every read of content goes through. A deleted user's messages (and their
-- attachments) and responses in the org groups of their deletion are left out, and
-- so are the actions they created, with those actions' publications and responses.
CREATE VIEW visible_messages AS
    SELECT m.* FROM messages m
    WHERE NOT EXISTS (SELECT 1 FROM hidden_content h
                      WHERE h.user_id = m.sender_id AND h.group_id = m.group_id);
CREATE VIEW visible_attachments AS
    SELECT a.* FROM attachments a
    WHERE EXISTS (SELECT 1 FROM visible_messages m WHERE m.id = a.message_id);
CREATE VIEW visible_actions AS
    SELECT a.* FROM actions a
    WHERE a.created_by NOT IN (SELECT user_id FROM deleted_users);
CREATE VIEW visible_action_publications AS
    SELECT p.* FROM action_publications p
    WHERE p.action_id NOT IN (SELECT x.id FROM actions x
                              WHERE x.created_by IN (SELECT user_id FROM deleted_users));
CREATE VIEW visible_action_responses AS
    SELECT r.* FROM action_responses r
    WHERE NOT EXISTS (SELECT 1 FROM hidden_content h
                      WHERE h.user_id = r.user_id AND h.group_id = r.group_id)
      AND r.action_id NOT IN (SELECT x.id FROM actions x
                              WHERE x.created_by IN (SELECT user_id FROM deleted_users));

-- Legal holds: on one user (user_id) or on the whole org (user_id NULL).
CREATE TABLE legal_holds (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    user_id     TEXT,
    phone       TEXT,
    reason      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- What a purge leaves: no phone, only its salted hash.
CREATE TABLE deletion_receipts (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    phone_hash  TEXT NOT NULL,
    deleted_by  TEXT NOT NULL,
    deleted_at  TEXT NOT NULL,
    purged_by   TEXT NOT NULL,
    purged_at   TEXT NOT NULL,
    counts      TEXT NOT NULL
);
CREATE INDEX deletion_receipts_by_hash ON deletion_receipts (phone_hash);

-- The purge finds a user's rows by these, and removing a parent row looks its
-- children up by the referencing column alone (the older indexes lead with org_id).
CREATE INDEX attachments_by_message_id ON attachments (message_id);
CREATE INDEX action_responses_by_user ON action_responses (user_id, group_id);
CREATE INDEX action_responses_by_action_id ON action_responses (action_id);
CREATE INDEX actions_by_creator ON actions (created_by);
CREATE INDEX telemetry_by_user ON telemetry_events (user_id);
CREATE INDEX memberships_by_user_id ON memberships (user_id);
CREATE INDEX messages_by_sender_id ON messages (sender_id, group_id);
CREATE INDEX connectors_by_creator ON connectors (created_by);

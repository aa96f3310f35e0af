-- Access control: admin accounts, sessions, one-time codes for members, the SMS outbox.

-- An admin account belongs to one org; emails are unique (lowercased) so sign-in by
-- email finds one account.
CREATE TABLE accounts (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    email          TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    disabled_at    TEXT
);
CREATE INDEX accounts_by_org ON accounts (org_id);

-- Sessions are found by the SHA-256 of their secret; the secret itself is never stored.
-- An admin session names its account (and so its org); a member session names a phone
-- and acts in whichever org the request names, as that org's records say.
CREATE TABLE sessions (
    secret_hash   BLOB PRIMARY KEY,
    account_id    TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    phone         TEXT,
    csrf_token    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
CREATE INDEX sessions_by_account ON sessions (account_id);
CREATE INDEX sessions_by_phone ON sessions (phone);

CREATE TABLE otp_codes (
    id          TEXT PRIMARY KEY,
    phone       TEXT NOT NULL,
    code_hash   BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    used_at     TEXT
);
CREATE INDEX otp_codes_by_phone ON otp_codes (phone, created_at);

-- What the default SMS sender "sent": read by `steward otp outbox` in development.
CREATE TABLE sms_outbox (
    id          TEXT PRIMARY KEY,
    phone       TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE INDEX audit_by_actor ON audit_events (org_id, actor, at);

CREATE INDEX users_by_phone ON users (phone);

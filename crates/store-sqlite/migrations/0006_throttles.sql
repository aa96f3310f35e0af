-- Sign-in throttles, shared by every process on this database and kept across
-- restarts: one row per key (an account, a phone or an IP, prefixed by the throttle's
-- name) for the window that started at `started_at` and ends at `expires_at`.
-- Numbered 0006: 0005 belongs to the jobs work landing beside this one.
CREATE TABLE throttles (
    key         TEXT PRIMARY KEY,
    started_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    count       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX throttles_by_expiry ON throttles (expires_at);

-- When each deleted user's purge is due, across orgs, so the scheduler finds due
-- purges without opening every org's file. Written before the org file's deletion and
-- removed after the purge's last step (or a restore), so a crash in between leaves an
-- entry the purge job recognises as stale, never a deleted user nobody purges.
CREATE TABLE purge_schedule (
    org_id       TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    purge_after  TEXT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX purge_schedule_by_time ON purge_schedule (purge_after);

-- A group's messages are listed newest first by id (ids are time-ordered): this index
-- serves a page straight from the index instead of sorting every message of the group.
CREATE INDEX messages_by_group_id ON messages (org_id, group_id, id);

-- A purge removes a person's responses in rowid (time) order, so each step's rows are
-- neighbours; (user_id, group_id) order sent a step across every group's pages.
DROP INDEX action_responses_by_user;
CREATE INDEX action_responses_by_user_id ON action_responses (user_id);

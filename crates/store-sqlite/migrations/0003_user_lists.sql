-- User lists filter by status and page by phone or name; these indexes make a page a
-- range scan and its total an index-only count. Attribute filters get one index per
-- key, created with the attribute (users_by_attr_<key>).
CREATE INDEX users_by_status ON users (org_id, status, phone);
CREATE INDEX users_by_name ON users (org_id, status, name, phone);

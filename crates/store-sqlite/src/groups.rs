//! Groups and their members.

use r2d2_sqlite::rusqlite::{Connection, OptionalExtension, params};
use steward_domain::group::{Group, Membership};
use steward_domain::{GroupId, GroupRole, OrgId, User, UserId};
use steward_store::{GroupStore, StoreError, StoreResult};

use crate::convert::{self, db, ts};
use crate::{SqliteStore, users};

impl GroupStore for SqliteStore {
    fn insert_groups(&self, org: OrgId, groups: &[Group]) -> StoreResult<()> {
        self.write_org(org, |tx| {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO groups (id, org_id, parent_id, name, org_mapped, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(db)?;
            for g in groups.iter().filter(|g| g.org_id == org) {
                stmt.execute(params![
                    g.id.to_string(),
                    org.to_string(),
                    g.parent_id.map(|p| p.to_string()),
                    g.name.as_str(),
                    g.org_mapped,
                    ts(g.created_at)
                ])
                .map_err(db)?;
            }
            Ok(())
        })
    }

    fn list_groups(&self, org: OrgId) -> StoreResult<Vec<Group>> {
        self.read_org(org, Vec::new, |conn| list_groups(conn, org))
    }

    fn get_group(&self, org: OrgId, id: GroupId) -> StoreResult<Option<Group>> {
        self.read_org(org, || None, |conn| get_group(conn, org, id))
    }

    fn update_group(&self, g: &Group) -> StoreResult<()> {
        self.write_org(g.org_id, |tx| {
            let changed = tx
                .execute(
                    "UPDATE groups SET name = ?3, parent_id = ?4, org_mapped = ?5
                     WHERE id = ?1 AND org_id = ?2
                       AND (?4 IS NULL OR EXISTS (SELECT 1 FROM groups WHERE id = ?4 AND org_id = ?2))",
                    params![
                        g.id.to_string(),
                        g.org_id.to_string(),
                        g.name.as_str(),
                        g.parent_id.map(|p| p.to_string()),
                        g.org_mapped
                    ],
                )
                .map_err(db)?;
            if changed == 1 { Ok(()) } else { Err(StoreError::NotFound) }
        })
    }
    fn put_membership(&self, m: &Membership) -> StoreResult<()> {
        self.write_org(m.org_id, |tx| {
            let changed = tx
                .execute(
                    "INSERT INTO memberships (org_id, group_id, user_id, role, joined_at)
                     SELECT ?1, ?2, ?3, ?4, ?5
                     WHERE EXISTS (SELECT 1 FROM groups WHERE id = ?2 AND org_id = ?1)
                       AND EXISTS (SELECT 1 FROM users WHERE id = ?3)
                     ON CONFLICT (group_id, user_id) DO UPDATE SET role = excluded.role",
                    params![
                        m.org_id.to_string(),
                        m.group_id.to_string(),
                        m.user_id.to_string(),
                        m.role.as_str(),
                        ts(m.joined_at)
                    ],
                )
                .map_err(db)?;
            if changed == 1 {
                Ok(())
            } else {
                Err(StoreError::NotFound)
            }
        })
    }

    fn remove_membership(&self, org: OrgId, group: GroupId, user: UserId) -> StoreResult<bool> {
        self.write_org_or(org, false, |tx| {
            let changed = tx
                .execute(
                    "DELETE FROM memberships WHERE org_id = ?1 AND group_id = ?2 AND user_id = ?3",
                    params![org.to_string(), group.to_string(), user.to_string()],
                )
                .map_err(db)?;
            Ok(changed == 1)
        })
    }

    fn group_members(&self, org: OrgId, group: GroupId) -> StoreResult<Vec<(User, GroupRole)>> {
        self.read_org(org, Vec::new, |conn| users::group_members(conn, org, group))
    }

    fn insert_memberships(&self, org: OrgId, memberships: &[Membership]) -> StoreResult<()> {
        self.write_org(org, |tx| {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO memberships (org_id, group_id, user_id, role, joined_at)
                     SELECT ?1, ?2, ?3, ?4, ?5
                     WHERE EXISTS (SELECT 1 FROM groups WHERE id = ?2 AND org_id = ?1)
                       AND EXISTS (SELECT 1 FROM users WHERE id = ?3)",
                )
                .map_err(db)?;
            for m in memberships {
                stmt.execute(params![
                    org.to_string(),
                    m.group_id.to_string(),
                    m.user_id.to_string(),
                    m.role.as_str(),
                    ts(m.joined_at)
                ])
                .map_err(db)?;
            }
            Ok(())
        })
    }

    fn group_roles(&self, org: OrgId, user: UserId) -> StoreResult<Vec<(GroupId, GroupRole)>> {
        self.read_org(org, Vec::new, |conn| group_roles(conn, org, user))
    }
}

fn group_roles(
    conn: &Connection,
    org: OrgId,
    user: UserId,
) -> StoreResult<Vec<(GroupId, GroupRole)>> {
    let mut stmt = conn
        .prepare_cached("SELECT group_id, role FROM memberships WHERE org_id = ?1 AND user_id = ?2")
        .map_err(db)?;
    let rows = stmt
        .query_map(params![org.to_string(), user.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    rows.into_iter()
        .map(|(group, role)| {
            let role = GroupRole::parse(&role).ok_or_else(|| convert::corrupt("role", &role))?;
            Ok((convert::parse_id(&group)?, role))
        })
        .collect()
}

fn list_groups(conn: &Connection, org: OrgId) -> StoreResult<Vec<Group>> {
    let mut stmt = conn
        .prepare(
            "SELECT id, org_id, parent_id, name, org_mapped, created_at
             FROM groups WHERE org_id = ?1 ORDER BY created_at, id",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map([org.to_string()], convert::GroupRow::read)
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    rows.into_iter()
        .map(convert::GroupRow::into_group)
        .collect()
}

fn get_group(conn: &Connection, org: OrgId, id: GroupId) -> StoreResult<Option<Group>> {
    let row = conn
        .query_row(
            "SELECT id, org_id, parent_id, name, org_mapped, created_at
             FROM groups WHERE org_id = ?1 AND id = ?2",
            params![org.to_string(), id.to_string()],
            convert::GroupRow::read,
        )
        .optional()
        .map_err(db)?;
    row.map(convert::GroupRow::into_group).transpose()
}

//! Checks of groups and their members.

use steward_domain::group::{Group, Membership};
use steward_domain::{AttributeChanges, GroupId, GroupName, GroupRole, OrgId};
use steward_store::{Store, StoreError};

use crate::{PHONES, new_org, phone, t0, upsert};

pub fn groups_are_updated_and_their_members_managed_within_one_org(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let other = new_org(store, "Fabrikam");
    let group = |org: OrgId, name: &str| Group {
        id: GroupId::new(),
        org_id: org,
        parent_id: None,
        name: GroupName::parse(name).unwrap(),
        org_mapped: true,
        created_at: t0(),
    };
    let (root, team, theirs) = (
        group(org.id, "All"),
        group(org.id, "Team"),
        group(other.id, "Theirs"),
    );
    store
        .insert_groups(org.id, &[root.clone(), team.clone()])
        .unwrap();
    store
        .insert_groups(other.id, std::slice::from_ref(&theirs))
        .unwrap();
    assert_eq!(
        store.get_group(org.id, team.id).unwrap(),
        Some(team.clone())
    );
    assert_eq!(store.get_group(other.id, team.id).unwrap(), None);

    let moved = Group {
        parent_id: Some(root.id),
        org_mapped: false,
        ..team.clone()
    };
    store.update_group(&moved).unwrap();
    assert_eq!(
        store.get_group(org.id, team.id).unwrap(),
        Some(moved.clone())
    );
    let across = Group {
        parent_id: Some(theirs.id),
        ..moved.clone()
    };
    assert!(
        matches!(store.update_group(&across), Err(StoreError::NotFound)),
        "no parent in another org"
    );

    store
        .upsert_users(
            org.id,
            &[
                upsert(PHONES[1], "Ravi", AttributeChanges::new()),
                upsert(PHONES[0], "Asha", AttributeChanges::new()),
            ],
            t0(),
        )
        .unwrap();
    let asha = store.get_user(org.id, &phone(PHONES[0])).unwrap().unwrap();
    let ravi = store.get_user(org.id, &phone(PHONES[1])).unwrap().unwrap();
    let member = |user: &steward_domain::User, role| Membership {
        org_id: org.id,
        group_id: team.id,
        user_id: user.id,
        role,
        joined_at: t0(),
    };
    store
        .put_membership(&member(&asha, GroupRole::Member))
        .unwrap();
    store
        .put_membership(&member(&ravi, GroupRole::Member))
        .unwrap();
    store
        .put_membership(&member(&asha, GroupRole::Admin))
        .unwrap();
    let members: Vec<(String, GroupRole)> = store
        .group_members(org.id, team.id)
        .unwrap()
        .into_iter()
        .map(|(u, r)| (u.name.as_str().to_owned(), r))
        .collect();
    assert_eq!(
        members,
        vec![
            ("Asha".to_owned(), GroupRole::Admin),
            ("Ravi".to_owned(), GroupRole::Member)
        ]
    );
    assert!(store.group_members(other.id, team.id).unwrap().is_empty());
    let foreign = Membership {
        group_id: theirs.id,
        ..member(&asha, GroupRole::Member)
    };
    assert!(matches!(
        store.put_membership(&foreign),
        Err(StoreError::NotFound)
    ));
    assert!(!store.remove_membership(other.id, team.id, ravi.id).unwrap());
    assert!(store.remove_membership(org.id, team.id, ravi.id).unwrap());
    assert_eq!(store.group_members(org.id, team.id).unwrap().len(), 1);
}

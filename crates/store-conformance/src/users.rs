//! Checks of the attribute schema and the users.

use chrono::Duration;
use steward_domain::group::{Group, Membership};
use steward_domain::{
    AttributeChanges, AttributeDef, AttributeKey, AttributeType, AttributeValue, GroupId,
    GroupName, GroupRole, OrgId, PersonName, UpsertOutcome, UserStatus,
};
use steward_store::{DataKind, Store, StoreError, UserQuery, UserSort};

use crate::{PHONES, attrs, key, new_org, phone, set, t0, upsert};

pub fn attribute_schema_is_replaced_whole_and_keeps_its_order(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let def = |key: &str, ty| AttributeDef {
        key: AttributeKey::parse(key).unwrap(),
        name: key.replace('_', " "),
        ty,
        mandatory: false,
        suggested: false,
    };
    let first = vec![
        def("employee_id", AttributeType::String),
        def("age", AttributeType::Number),
    ];
    store.put_attribute_defs(org.id, &first).unwrap();
    assert_eq!(store.attribute_defs(org.id).unwrap(), first);
    let second = vec![
        def("hired", AttributeType::DateTime),
        def("employee_id", AttributeType::String),
    ];
    store.put_attribute_defs(org.id, &second).unwrap();
    assert_eq!(store.attribute_defs(org.id).unwrap(), second);
    let other = new_org(store, "Fabrikam");
    assert_eq!(store.attribute_defs(other.id).unwrap(), vec![]);
}

pub fn upsert_creates_then_leaves_equal_rows_unchanged_then_updates(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    store
        .put_attribute_defs(
            org.id,
            &[AttributeDef {
                key: AttributeKey::parse("hired").unwrap(),
                name: "Hired".into(),
                ty: AttributeType::DateTime,
                mandatory: false,
                suggested: true,
            }],
        )
        .unwrap();
    let hired = AttributeValue::DateTime(t0());
    let rows = vec![
        upsert(PHONES[0], "Asha Rao", set(&[("hired", hired.clone())])),
        upsert(PHONES[1], "Ravi Kumar", AttributeChanges::new()),
    ];
    let created = store.upsert_users(org.id, &rows, t0()).unwrap();
    assert_eq!(
        created,
        vec![UpsertOutcome::Created, UpsertOutcome::Created]
    );
    let again = store
        .upsert_users(org.id, &rows, t0() + Duration::days(1))
        .unwrap();
    assert_eq!(
        again,
        vec![UpsertOutcome::Unchanged, UpsertOutcome::Unchanged]
    );
    let user = store.get_user(org.id, &phone(PHONES[0])).unwrap().unwrap();
    assert_eq!(user.updated_at, t0(), "an unchanged row is not rewritten");
    assert_eq!(user.attributes, attrs(&[("hired", hired)]));
    assert_eq!(user.status, UserStatus::Active);

    // A row without the attribute keeps it; a row that clears it removes it.
    let renamed = vec![upsert(PHONES[0], "Asha R. Rao", AttributeChanges::new())];
    let later = t0() + Duration::days(2);
    assert_eq!(
        store.upsert_users(org.id, &renamed, later).unwrap(),
        vec![UpsertOutcome::Updated]
    );
    let user = store.get_user(org.id, &phone(PHONES[0])).unwrap().unwrap();
    assert_eq!(
        (user.name.as_str(), user.updated_at, user.created_at),
        ("Asha R. Rao", later, t0())
    );
    assert_eq!(user.attributes.len(), 1);
    let cleared = vec![upsert(
        PHONES[0],
        "Asha R. Rao",
        [(key("hired"), None)].into(),
    )];
    let outcome = store.upsert_users(org.id, &cleared, later).unwrap();
    assert_eq!(outcome, vec![UpsertOutcome::Updated]);
    let user = store.get_user(org.id, &phone(PHONES[0])).unwrap().unwrap();
    assert!(user.attributes.is_empty());
    assert_eq!(store.count_users(org.id).unwrap(), 2);
}

pub fn users_of_one_org_are_invisible_to_another(store: &dyn Store) {
    let a = new_org(store, "Contoso");
    let b = new_org(store, "Fabrikam");
    store
        .upsert_users(
            a.id,
            &[upsert(PHONES[0], "Asha Rao", AttributeChanges::new())],
            t0(),
        )
        .unwrap();
    assert_eq!(store.get_user(b.id, &phone(PHONES[0])).unwrap(), None);
    let page = store
        .list_users(
            b.id,
            &UserQuery {
                limit: 50,
                ..UserQuery::default()
            },
        )
        .unwrap();
    assert_eq!((page.items.len(), page.total), (0, 0));
    // The same person may belong to both orgs, as separate records.
    let outcome = store.upsert_users(
        b.id,
        &[upsert(PHONES[0], "Asha", AttributeChanges::new())],
        t0(),
    );
    assert_eq!(outcome.unwrap(), vec![UpsertOutcome::Created]);
    assert_eq!(
        store
            .get_user(a.id, &phone(PHONES[0]))
            .unwrap()
            .unwrap()
            .name
            .as_str(),
        "Asha Rao"
    );
    assert_eq!(store.data_counts(b.id).unwrap().get(DataKind::Users), 1);
}

pub fn user_lists_page_by_phone_with_a_cursor_and_search(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let names = ["Asha Rao", "Ravi Kumar", "Ada Lovelace", "Alan Turing"];
    let rows: Vec<_> = PHONES
        .iter()
        .zip(names)
        .map(|(p, n)| upsert(p, n, AttributeChanges::new()))
        .collect();
    store.upsert_users(org.id, &rows, t0()).unwrap();

    let mut seen = Vec::new();
    let mut query = UserQuery {
        limit: 3,
        ..UserQuery::default()
    };
    loop {
        let page = store.list_users(org.id, &query).unwrap();
        assert_eq!(page.total, 4);
        seen.extend(page.items.iter().map(|u| u.phone.as_str().to_owned()));
        match page.next_cursor {
            Some(cursor) => query.after = Some(cursor),
            None => break,
        }
    }
    let mut expected: Vec<_> = PHONES.iter().map(|p| p.to_string()).collect();
    expected.sort();
    assert_eq!(seen, expected);

    let search = |s: &str| {
        let q = UserQuery {
            limit: 50,
            search: Some(s.into()),
            ..UserQuery::default()
        };
        let page = store.list_users(org.id, &q).unwrap();
        page.items
            .into_iter()
            .map(|u| u.name.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        search("a"),
        vec!["Ada Lovelace", "Alan Turing", "Asha Rao"],
        "by phone"
    );
    assert_eq!(search("+91 98765"), vec!["Asha Rao", "Ravi Kumar"]);
    assert_eq!(search("44"), vec!["Alan Turing"]);
    assert_eq!(
        search("%"),
        Vec::<String>::new(),
        "LIKE wildcards are matched literally"
    );
}

pub fn a_user_is_created_once_and_updated_in_place(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let created = store
        .create_user(
            org.id,
            &upsert(
                PHONES[0],
                "Asha Rao",
                set(&[("level", AttributeValue::Number(3.0))]),
            ),
            t0(),
        )
        .unwrap();
    assert_eq!(
        (created.name.as_str(), created.created_at),
        ("Asha Rao", t0())
    );
    let again = store.create_user(
        org.id,
        &upsert(PHONES[0], "Other", AttributeChanges::new()),
        t0(),
    );
    assert!(matches!(again, Err(StoreError::Conflict(_))));
    let later = t0() + Duration::hours(1);
    let renamed = PersonName::parse("Asha R.").unwrap();
    let changes: AttributeChanges =
        [(key("team"), Some(AttributeValue::String("Blue".into())))].into();
    let updated = store
        .update_user(org.id, &phone(PHONES[0]), Some(&renamed), &changes, later)
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            updated.name.as_str(),
            updated.updated_at,
            updated.attributes.len()
        ),
        ("Asha R.", later, 2)
    );
    let unchanged = store
        .update_user(
            org.id,
            &phone(PHONES[0]),
            None,
            &AttributeChanges::new(),
            later + Duration::hours(1),
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        unchanged.updated_at, later,
        "a no-op update changes nothing"
    );
    let other = new_org(store, "Fabrikam");
    assert_eq!(
        store
            .update_user(other.id, &phone(PHONES[0]), Some(&renamed), &changes, later)
            .unwrap(),
        None
    );
}

pub fn an_attribute_schema_save_removes_and_rewrites_values(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let rows = [
        upsert(
            PHONES[0],
            "Asha",
            set(&[
                ("level", AttributeValue::Number(3.0)),
                ("team", AttributeValue::String("Blue".into())),
            ]),
        ),
        upsert(
            PHONES[1],
            "Ravi",
            set(&[("level", AttributeValue::Number(4.5))]),
        ),
        upsert(PHONES[2], "Ada", AttributeChanges::new()),
    ];
    store.upsert_users(org.id, &rows, t0()).unwrap();
    let mut levels = store.attribute_values(org.id, &key("level")).unwrap();
    levels.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        levels,
        vec![
            (phone(PHONES[0]), serde_json::json!(3)),
            (phone(PHONES[1]), serde_json::json!(4.5))
        ]
    );
    let (missing, examples) = store
        .users_missing_attribute(org.id, &key("level"), 5)
        .unwrap();
    assert_eq!((missing, examples), (1, vec![phone(PHONES[2])]));

    let rewrites = vec![(
        key("level"),
        vec![
            (phone(PHONES[0]), Some(AttributeValue::String("3".into()))),
            (phone(PHONES[1]), None),
        ],
    )];
    store
        .save_attribute_schema(org.id, &[], &[key("team")], &rewrites)
        .unwrap();
    let asha = store.get_user(org.id, &phone(PHONES[0])).unwrap().unwrap();
    assert_eq!(
        asha.attributes,
        attrs(&[("level", AttributeValue::String("3".into()))])
    );
    assert!(
        store
            .get_user(org.id, &phone(PHONES[1]))
            .unwrap()
            .unwrap()
            .attributes
            .is_empty()
    );
    assert!(
        store
            .attribute_values(org.id, &key("team"))
            .unwrap()
            .is_empty()
    );
}

pub fn user_lists_filter_by_attribute_values_and_sort_by_name_with_a_cursor(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let def = |k: &str, ty| AttributeDef {
        key: key(k),
        name: k.into(),
        ty,
        mandatory: false,
        suggested: false,
    };
    store
        .put_attribute_defs(
            org.id,
            &[
                def("dept", AttributeType::String),
                def("level", AttributeType::Number),
                def("remote", AttributeType::YesNo),
            ],
        )
        .unwrap();
    let people = [
        (PHONES[0], "Zoe", "Sales", 3.0, true),
        (PHONES[1], "Adam", "Sales", 4.0, false),
        (PHONES[2], "Mia", "Support", 3.0, true),
        (PHONES[3], "Bea", "Sales", 3.0, true),
    ];
    let rows: Vec<_> = people
        .iter()
        .map(|(p, n, d, l, r)| {
            upsert(
                p,
                n,
                set(&[
                    ("dept", AttributeValue::String((*d).into())),
                    ("level", AttributeValue::Number(*l)),
                    ("remote", AttributeValue::YesNo(*r)),
                ]),
            )
        })
        .collect();
    store.upsert_users(org.id, &rows, t0()).unwrap();
    let names = |filters: Vec<(&str, AttributeValue)>, sort| {
        let q = UserQuery {
            limit: 50,
            sort,
            attribute_filters: filters.into_iter().map(|(k, v)| (key(k), v)).collect(),
            ..UserQuery::default()
        };
        let page = store.list_users(org.id, &q).unwrap();
        (
            page.total,
            page.items
                .into_iter()
                .map(|u| u.name.as_str().to_owned())
                .collect::<Vec<_>>(),
        )
    };
    let sales = AttributeValue::String("Sales".into());
    assert_eq!(
        names(vec![("dept", sales.clone())], UserSort::Name),
        (3, vec!["Adam".into(), "Bea".into(), "Zoe".into()])
    );
    assert_eq!(
        names(
            vec![
                ("dept", sales.clone()),
                ("level", AttributeValue::Number(3.0))
            ],
            UserSort::NameDesc
        ),
        (2, vec!["Zoe".into(), "Bea".into()])
    );
    assert_eq!(
        names(
            vec![("remote", AttributeValue::YesNo(false))],
            UserSort::Phone
        )
        .1,
        vec!["Adam".to_owned()]
    );
    // A name-ordered walk with a cursor sees everyone once.
    let mut seen = Vec::new();
    let mut query = UserQuery {
        limit: 1,
        sort: UserSort::Name,
        ..UserQuery::default()
    };
    loop {
        let page = store.list_users(org.id, &query).unwrap();
        seen.extend(page.items.iter().map(|u| u.name.as_str().to_owned()));
        let Some(cursor) = page.next_cursor else {
            break;
        };
        query.after = Some(cursor);
    }
    assert_eq!(seen, vec!["Adam", "Bea", "Mia", "Zoe"]);
}

pub fn a_phone_is_found_in_every_org_and_its_group_roles_per_org(store: &dyn Store) {
    let a = new_org(store, "Contoso");
    let b = new_org(store, "Fabrikam");
    let c = new_org(store, "Northwind");
    for org in [&a, &b] {
        store
            .upsert_users(
                org.id,
                &[upsert(PHONES[0], "Asha Rao", AttributeChanges::new())],
                t0(),
            )
            .unwrap();
    }
    store
        .upsert_users(
            c.id,
            &[upsert(PHONES[1], "Ravi", AttributeChanges::new())],
            t0(),
        )
        .unwrap();
    let mut orgs: Vec<OrgId> = store
        .find_users_by_phone(&phone(PHONES[0]))
        .unwrap()
        .iter()
        .map(|u| u.org_id)
        .collect();
    orgs.sort();
    let mut expected = vec![a.id, b.id];
    expected.sort();
    assert_eq!(orgs, expected);

    let user = store.get_user(a.id, &phone(PHONES[0])).unwrap().unwrap();
    let group = |name: &str| Group {
        id: GroupId::new(),
        org_id: a.id,
        parent_id: None,
        name: GroupName::parse(name).unwrap(),
        org_mapped: true,
        created_at: t0(),
    };
    let (g1, g2) = (group("Sales"), group("Support"));
    let only = |groups: Vec<GroupId>| UserQuery {
        limit: 50,
        in_groups: Some(groups),
        ..UserQuery::default()
    };
    store
        .insert_groups(a.id, &[g1.clone(), g2.clone()])
        .unwrap();
    let member = |g: &Group, role| Membership {
        org_id: a.id,
        group_id: g.id,
        user_id: user.id,
        role,
        joined_at: t0(),
    };
    store
        .insert_memberships(
            a.id,
            &[
                member(&g1, GroupRole::Admin),
                member(&g2, GroupRole::Member),
            ],
        )
        .unwrap();
    let mut roles = store.group_roles(a.id, user.id).unwrap();
    roles.sort();
    let mut expected = vec![(g1.id, GroupRole::Admin), (g2.id, GroupRole::Member)];
    expected.sort();
    assert_eq!(roles, expected);
    assert_eq!(store.group_roles(b.id, user.id).unwrap(), vec![]);
    assert_eq!(store.list_users(a.id, &only(vec![g1.id])).unwrap().total, 1);
    assert_eq!(
        store
            .list_users(a.id, &only(vec![GroupId::new()]))
            .unwrap()
            .total,
        0
    );
    assert_eq!(store.list_users(a.id, &only(vec![])).unwrap().total, 0);
}

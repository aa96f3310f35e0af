//! Groups, their members and admins, under the permission matrix.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{problem, spawn_app};

#[tokio::test]
async fn groups_follow_the_matrix_for_org_admins_group_admins_and_members() {
    let t = spawn_app().await;
    // Group A: admin +...210, member +...211; group B: admin +...212. +...213 is in neither.
    t.add_users(&[
        "+919876543210",
        "+919876543211",
        "+919876543212",
        "+919876543213",
    ]);
    let a = t.group_with("+919876543210", &["+919876543211"]);
    let b = t.group_with("+919876543212", &[]);
    let group_admin = t.member_session("+919876543210").await;
    let member = t.member_session("+919876543211").await;
    let groups = format!("/api/v1/orgs/{}/groups", t.org);
    let status = |r: reqwest::Response| r.status();

    // The hierarchy is open to all.
    for token in [&t.admin, &group_admin, &member] {
        let tree: Value = t
            .get(&groups, token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(tree["total"], 2);
    }
    // Creating groups is org-admin work.
    let new = serde_json::json!({"name": "Night Shift", "parent_id": a});
    assert_eq!(
        status(t.send("POST", &groups, &group_admin, new.clone()).await),
        StatusCode::FORBIDDEN
    );
    let created: Value = t
        .send("POST", &groups, &t.admin, new)
        .await
        .json()
        .await
        .unwrap();
    let child = created["id"].as_str().unwrap().to_owned();
    // No cycles: A cannot move under its own child.
    let cycle = t
        .send(
            "PATCH",
            &format!("{groups}/{a}"),
            &t.admin,
            serde_json::json!({"parent_id": child}),
        )
        .await;
    let body = problem(cycle, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["field"], "parent_id");

    // Details and members: org admin all, group admin and member their own groups.
    for (token, group, expected) in [
        (&t.admin, b, StatusCode::OK),
        (&group_admin, a, StatusCode::OK),
        (&group_admin, b, StatusCode::FORBIDDEN),
        (&member, a, StatusCode::OK),
        (&member, b, StatusCode::FORBIDDEN),
    ] {
        assert_eq!(
            status(
                t.get(&format!("{groups}/{group}"), token)
                    .send()
                    .await
                    .unwrap()
            ),
            expected
        );
        assert_eq!(
            status(
                t.get(&format!("{groups}/{group}/members"), token)
                    .send()
                    .await
                    .unwrap()
            ),
            expected
        );
    }
    // Adding and removing members: org admin all groups, group admin own groups, member none.
    let add = serde_json::json!({"phone": "+919876543213"});
    assert_eq!(
        status(
            t.send(
                "POST",
                &format!("{groups}/{b}/members"),
                &group_admin,
                add.clone()
            )
            .await
        ),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(
            t.send(
                "POST",
                &format!("{groups}/{a}/members"),
                &member,
                add.clone()
            )
            .await
        ),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(
            t.send(
                "POST",
                &format!("{groups}/{a}/members"),
                &group_admin,
                add.clone()
            )
            .await
        ),
        StatusCode::CREATED
    );
    assert_eq!(
        status(
            t.send("POST", &format!("{groups}/{b}/members"), &t.admin, add)
                .await
        ),
        StatusCode::CREATED
    );
    let listed: Value = t
        .get(&format!("{groups}/{a}/members"), &member)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["total"], 3);
    let remove = format!("{groups}/{a}/members/919876543213");
    assert_eq!(
        status(t.send("DELETE", &remove, &member, Value::Null).await),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(t.send("DELETE", &remove, &group_admin, Value::Null).await),
        StatusCode::NO_CONTENT
    );

    // A new person joins the org through a group, with source "group".
    let newcomer =
        serde_json::json!({"phone": "+14155550123", "name": "Grace Hopper", "role": "member"});
    let added: Value = t
        .send(
            "POST",
            &format!("{groups}/{a}/members"),
            &group_admin,
            newcomer,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(added["user"]["source"], "group");

    // Mapping to the org: org admin any group, group admin their own.
    let unmap = serde_json::json!({"org_mapped": false});
    assert_eq!(
        status(
            t.send(
                "PATCH",
                &format!("{groups}/{b}"),
                &group_admin,
                unmap.clone()
            )
            .await
        ),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(
            t.send("PATCH", &format!("{groups}/{a}"), &member, unmap.clone())
                .await
        ),
        StatusCode::FORBIDDEN
    );
    let unmapped: Value = t
        .send("PATCH", &format!("{groups}/{a}"), &group_admin, unmap)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unmapped["org_mapped"], false);
    let audit: Value = t
        .get(
            &format!("/api/v1/orgs/{}/audit?action=group.unmap", t.org),
            &t.admin,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit["total"], 1);
}

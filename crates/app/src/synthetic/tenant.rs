//! A generated tenant of any size, for benchmarks and load tests (`steward gen
//! tenant`): synthetic people with attributes, a group tree (everyone, a group per
//! country, one per country and department, a few consumer groups), memberships,
//! messages over a year, actions published to groups with responses, connectors and
//! telemetry. Rows go in through the store's bulk inserts, in batches.
//!
//! The same seed gives the same people, groups, memberships and content at the same
//! times; ids are drawn from the seed too, except the users' (the store assigns them).

use std::collections::HashMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use steward_domain::content::{
    Action, ActionKind, ActionResponse, Connector, Message, Publication, Question, TelemetryEvent,
};
use steward_domain::group::{Group, Membership};
use steward_domain::{
    ActionId, ConnectorId, GroupId, GroupName, GroupRole, MessageId, OrgId, ResponseId,
    TelemetryId, UserId, UserSource,
};
use steward_store::{ArchiveKind, Cell, Publishable, RowFilter, StoreError};
use uuid::Uuid;

use super::{COUNTRIES, DEPARTMENTS, People, attribute_defs};
use crate::audit::{self, AuditContext};
use crate::demo::MESSAGES;
use crate::{App, AppError, AppResult};

/// How big a generated tenant is.
#[derive(Clone, Copy, Debug)]
pub struct TenantSize {
    pub users: u64,
    pub messages: u64,
}

/// What was generated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TenantReport {
    pub users: u64,
    pub groups: u64,
    pub memberships: u64,
    pub messages: u64,
    pub actions: u64,
    pub responses: u64,
    pub connectors: u64,
    pub telemetry: u64,
}

/// Rows per store call (each one transaction).
const BATCH: usize = 20_000;
/// Responses per action, at most.
const RESPONSES_PER_ACTION: usize = 200;

/// The end of the generated year (fixed, so the same seed gives the same times).
fn year_end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("a valid date")
}

/// An id drawn from the seed, time-ordered like the ids Steward makes (UUIDv7).
fn seeded_uuid(rng: &mut ChaCha8Rng, at: DateTime<Utc>) -> Uuid {
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &rng.random()).into_uuid()
}

/// Fills `org`, which must have no users yet, with a generated tenant; calls
/// `progress(stage, done, total)` after each batch.
pub fn generate(
    app: &App,
    org: OrgId,
    size: TenantSize,
    seed: u64,
    progress: &mut dyn FnMut(&str, u64, u64),
) -> AppResult<TenantReport> {
    app.store.get_org(org)?.ok_or(AppError::NotFound("org"))?;
    if app.store.count_users(org)? > 0 {
        return Err(AppError::Conflict(
            "the org already has users; generate a tenant into a new org".into(),
        ));
    }
    let mut report = TenantReport::default();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let end = year_end();
    let start = end - Duration::days(365);
    let joined = start - Duration::days(30);

    // Groups: everyone; a group per country; one per country and department; and
    // consumer groups not mapped to the org.
    let group = |rng: &mut ChaCha8Rng, name: String, parent: Option<GroupId>, mapped: bool| Group {
        id: GroupId::from_uuid(seeded_uuid(rng, joined)),
        org_id: org,
        parent_id: parent,
        name: GroupName::parse(&name).expect("generated group names are valid"),
        org_mapped: mapped,
        created_at: joined,
    };
    let mut groups = vec![group(&mut rng, "Everyone".into(), None, true)];
    let root = groups[0].id;
    for country in COUNTRIES {
        let country_group = group(
            &mut rng,
            format!("{} staff", country.region),
            Some(root),
            true,
        );
        let parent = country_group.id;
        groups.push(country_group);
        for department in DEPARTMENTS {
            groups.push(group(
                &mut rng,
                format!("{} {department}", country.region),
                Some(parent),
                true,
            ));
        }
    }
    let consumer_first = groups.len();
    for name in ["Weekend Cricket", "Book Club", "Carpool", "Running"] {
        groups.push(group(&mut rng, name.into(), None, false));
    }
    app.store.insert_groups(org, &groups)?;
    report.groups = groups.len() as u64;
    let home_of = |region: &str, department: &str| -> usize {
        let c = COUNTRIES
            .iter()
            .position(|c| c.region == region)
            .unwrap_or(0);
        let d = DEPARTMENTS
            .iter()
            .position(|d| *d == department)
            .unwrap_or(0);
        1 + c * (DEPARTMENTS.len() + 1) + 1 + d
    };

    // People, each with a home group.
    app.store.put_attribute_defs(org, &attribute_defs())?;
    let mut people = People::new(seed);
    let mut homes: HashMap<String, u16> = HashMap::with_capacity(size.users as usize);
    let mut batch = Vec::with_capacity(BATCH);
    for i in 0..size.users {
        let person = people.next_person();
        let home = home_of(person.region.as_str(), person.department);
        homes.insert(
            person.phone.as_str().to_owned(),
            u16::try_from(home).unwrap_or(0),
        );
        batch.push(person.upsert(if i % 10 == 9 {
            UserSource::Group
        } else {
            UserSource::Upload
        }));
        if batch.len() == BATCH || i + 1 == size.users {
            app.store.upsert_users(org, &batch, joined)?;
            batch.clear();
            progress("users", i + 1, size.users);
        }
    }
    report.users = size.users;

    // The users' ids, read back with their home groups; the first of a group admins it.
    let mut users: Vec<(UserId, u16)> = Vec::with_capacity(homes.len());
    let mut admins: Vec<Option<(UserId, String)>> = vec![None; groups.len()];
    {
        let mut snapshot = app.store.open_snapshot(org)?;
        snapshot.rows(ArchiveKind::Users, &RowFilter::default(), &mut |cells| {
            let [Cell::Text(id), Cell::Text(phone), ..] = cells else {
                return Err(StoreError::Corrupt("a user row".into()));
            };
            let id: UserId = id
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("user id {id:?}")))?;
            let home = homes.get(*phone).copied().unwrap_or(0);
            admins[usize::from(home)].get_or_insert_with(|| (id, (*phone).to_owned()));
            users.push((id, home));
            Ok(())
        })?;
    }
    drop(homes);

    // Memberships: everyone in their home group, one in ten also in a consumer group.
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); groups.len()];
    let mut batch = Vec::with_capacity(BATCH);
    for (u, (user, home)) in users.iter().enumerate() {
        let home = usize::from(*home);
        let mut join = |g: usize, rng: &mut ChaCha8Rng| {
            members[g].push(u32::try_from(u).unwrap_or(u32::MAX));
            batch.push(Membership {
                org_id: org,
                group_id: groups[g].id,
                user_id: *user,
                role: if admins[g].as_ref().is_some_and(|(id, _)| id == user) {
                    GroupRole::Admin
                } else {
                    GroupRole::Member
                },
                joined_at: joined + Duration::seconds(rng.random_range(0..86_400 * 30)),
            });
        };
        join(home, &mut rng);
        if rng.random_bool(0.1) {
            let g = consumer_first + rng.random_range(0..groups.len() - consumer_first);
            join(g, &mut rng);
        }
        if batch.len() >= BATCH || u + 1 == users.len() {
            report.memberships += batch.len() as u64;
            app.store.insert_memberships(org, &batch)?;
            batch.clear();
            progress("memberships", u as u64 + 1, users.len() as u64);
        }
    }

    // Messages over the year, in time order, each from a member of its group.
    let span = (end - start).num_milliseconds();
    let mut batch = Vec::with_capacity(BATCH);
    let mut telemetry = Vec::with_capacity(BATCH);
    let busy: Vec<usize> = (0..groups.len())
        .filter(|g| !members[*g].is_empty())
        .collect();
    for i in 0..size.messages {
        if users.is_empty() {
            break;
        }
        let at = start
            + Duration::milliseconds(
                span * i64::try_from(i).unwrap_or(0) / i64::try_from(size.messages).unwrap_or(1),
            );
        let g = busy[rng.random_range(0..busy.len())];
        let sender = members[g][rng.random_range(0..members[g].len())] as usize;
        let mut body = MESSAGES[rng.random_range(0..MESSAGES.len())].to_owned();
        if rng.random_bool(0.3) {
            body.push_str(&format!(" (ticket {})", rng.random_range(10_000..99_999)));
        }
        let message = Message {
            id: MessageId::from_uuid(seeded_uuid(&mut rng, at)),
            org_id: org,
            group_id: groups[g].id,
            sender_id: users[sender].0,
            body,
            created_at: at,
        };
        if i % 10 == 0 {
            telemetry.push(TelemetryEvent {
                id: TelemetryId::from_uuid(seeded_uuid(&mut rng, at)),
                org_id: org,
                user_id: Some(message.sender_id),
                kind: "message_sent".into(),
                properties: serde_json::json!({"group_id": message.group_id}),
                at,
            });
        }
        batch.push(message);
        if batch.len() == BATCH || i + 1 == size.messages {
            report.messages += batch.len() as u64;
            app.store.insert_messages(org, &batch)?;
            batch.clear();
            report.telemetry += telemetry.len() as u64;
            app.store.insert_telemetry(org, &telemetry)?;
            telemetry.clear();
            progress("messages", i + 1, size.messages);
        }
    }

    // An action in each group with an admin, published there and answered by members.
    let templates = [
        (
            ActionKind::Poll,
            "Which day suits the team outing?",
            vec![question("Pick a day", &["Friday", "Saturday", "Sunday"])],
        ),
        (
            ActionKind::Survey,
            "Monthly pulse survey",
            vec![
                question("How was your month?", &["Great", "OK", "Hard"]),
                question("Anything we should change?", &[]),
            ],
        ),
    ];
    let mut actions = Vec::new();
    let mut publications = Vec::new();
    let mut responses = Vec::new();
    for (g, admin) in admins.iter().enumerate() {
        let Some((admin, admin_phone)) = admin else {
            continue;
        };
        let (kind, title, questions) = &templates[g % templates.len()];
        let at = start + Duration::days(rng.random_range(0..300));
        let action = Action {
            id: ActionId::from_uuid(seeded_uuid(&mut rng, at)),
            org_id: org,
            kind: *kind,
            title: (*title).to_owned(),
            questions: questions.clone(),
            created_by: *admin,
            created_at: at,
        };
        publications.push(Publication {
            org_id: org,
            item_id: action.id.into(),
            group_id: groups[g].id,
            published_by: format!("user:{admin_phone}"),
            published_at: at,
        });
        let answering = members[g].len().min(RESPONSES_PER_ACTION);
        for &u in &members[g][..answering] {
            let answered = at + Duration::hours(rng.random_range(1..24 * 30));
            let answers = questions
                .iter()
                .map(|q| match q.options.len() {
                    0 => "Keep the stand-ups short".to_owned(),
                    n => q.options[rng.random_range(0..n)].clone(),
                })
                .collect();
            responses.push(ActionResponse {
                id: ResponseId::from_uuid(seeded_uuid(&mut rng, answered)),
                org_id: org,
                action_id: action.id,
                group_id: groups[g].id,
                user_id: users[u as usize].0,
                answers,
                created_at: answered,
            });
        }
        actions.push(Publishable::from(action));
    }
    report.actions = actions.len() as u64;
    report.responses = responses.len() as u64;
    app.store.insert_publishables(org, &actions)?;
    app.store.publish(org, &publications)?;
    for chunk in responses.chunks(BATCH) {
        app.store.insert_action_responses(org, chunk)?;
    }

    // Connectors by the first admin, published to everyone.
    if let Some((creator, creator_phone)) = admins.iter().flatten().next() {
        let mut connectors = Vec::new();
        let mut published = Vec::new();
        for (name, config) in [
            ("Incidents", serde_json::json!({"priority": "P1"})),
            ("Sales alerts", serde_json::json!({"threshold": 0.9})),
            (
                "Weather warnings",
                serde_json::json!({"regions": ["IN-KA"]}),
            ),
        ] {
            let connector = Connector {
                id: ConnectorId::from_uuid(seeded_uuid(&mut rng, start)),
                org_id: org,
                name: name.into(),
                config,
                created_by: *creator,
                created_at: start,
            };
            published.push(Publication {
                org_id: org,
                item_id: connector.id.into(),
                group_id: root,
                published_by: format!("user:{creator_phone}"),
                published_at: start,
            });
            connectors.push(Publishable::from(connector));
        }
        report.connectors = connectors.len() as u64;
        app.store.insert_publishables(org, &connectors)?;
        app.store.publish(org, &published)?;
    }

    // A sign-in for half the people.
    let mut telemetry = Vec::with_capacity(BATCH);
    for (i, (user, _)) in users.iter().enumerate() {
        if rng.random_bool(0.5) {
            let at = start + Duration::seconds(rng.random_range(0..86_400 * 365));
            let platform = ["android", "ios", "web"][i % 3];
            telemetry.push(TelemetryEvent {
                id: TelemetryId::from_uuid(seeded_uuid(&mut rng, at)),
                org_id: org,
                user_id: Some(*user),
                kind: "sign_in".into(),
                properties: serde_json::json!({"platform": platform}),
                at,
            });
        }
        if telemetry.len() == BATCH || i + 1 == users.len() {
            report.telemetry += telemetry.len() as u64;
            app.store.insert_telemetry(org, &telemetry)?;
            telemetry.clear();
        }
    }

    audit::record(
        app,
        &AuditContext::cli(),
        org,
        "tenant.generate",
        &format!(
            "{} users, {} messages, seed {seed}",
            report.users, report.messages
        ),
        "ok",
    )?;
    Ok(report)
}

fn question(text: &str, options: &[&str]) -> Question {
    Question {
        text: text.into(),
        options: options.iter().map(|o| (*o).to_owned()).collect(),
    }
}

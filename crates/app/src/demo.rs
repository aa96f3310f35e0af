//! The demo org "Contoso": realistic people, groups, content and telemetry, so a
//! newcomer can sign in to something that looks like a real organization.

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use steward_domain::content::{
    Action, ActionKind, ActionResponse, Connector, Message, Publication, Question, TelemetryEvent,
};
use steward_domain::group::{Group, Membership};
use steward_domain::{
    ActionId, ConnectorId, GroupId, GroupName, GroupRole, MessageId, Org, Plan, ResponseId,
    TelemetryId, User, UserSource, UserUpsert,
};
use steward_store::Publishable;

use steward_store::DataKind;

use crate::audit::AuditContext;
use crate::synthetic::{People, attribute_defs};
use crate::{App, AppResult, Caller, orgs};

pub const DEMO_ORG_NAME: &str = "Contoso";
const SEED: u64 = 2026;

/// How big the demo is.
#[derive(Clone, Copy, Debug)]
pub struct DemoSize {
    pub users: usize,
    pub messages: usize,
}

impl Default for DemoSize {
    fn default() -> Self {
        DemoSize {
            users: 500,
            messages: 20_000,
        }
    }
}

/// The email of the demo org's admin account.
pub const DEMO_ADMIN: &str = "admin@contoso.example";

/// The demo org, and whether this call created it.
#[derive(Debug)]
pub struct Demo {
    pub org: Org,
    pub created: bool,
    /// The demo admin's generated password, known only when the demo was just made.
    pub admin_password: Option<String>,
}

/// Returns the demo org, creating and filling it the first time.
pub fn ensure(app: &App, size: DemoSize) -> AppResult<Demo> {
    if let Some(org) = app
        .store
        .find_orgs_by_name(DEMO_ORG_NAME)?
        .into_iter()
        .next()
    {
        return Ok(Demo {
            org,
            created: false,
            admin_password: None,
        });
    }
    let org = orgs::create_org(app, &AuditContext::cli(), DEMO_ORG_NAME, "IN")?;
    // The demo shows every feature, tenant export included.
    let org = crate::plans::set_plan(app, &AuditContext::cli(), org.id, Plan::Enterprise)?;
    fill(app, &org, size)?;
    let operator = Caller::operator(app, org.id)?;
    let (_, admin_password) = crate::security::add_admin(app, &operator, DEMO_ADMIN, None)?;
    Ok(Demo {
        org,
        created: true,
        admin_password,
    })
}

/// What the demo org holds, for the welcome text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub users: u64,
    pub groups: u64,
    pub messages: u64,
    pub actions: u64,
    pub connectors: u64,
}

/// Counts what the demo org holds.
pub fn summary(app: &App, demo: &Demo) -> AppResult<Summary> {
    let counts = app.store.data_counts(demo.org.id)?;
    Ok(Summary {
        users: counts.get(DataKind::Users),
        groups: counts.get(DataKind::Groups),
        messages: counts.get(DataKind::Messages),
        actions: counts.get(DataKind::Actions),
        connectors: counts.get(DataKind::Connectors),
    })
}

/// The group tree: (name, parent index, org-mapped).
const GROUPS: &[(&str, Option<usize>, bool)] = &[
    ("Contoso", None, true),
    ("India", Some(0), true),
    ("Bengaluru Engineering", Some(1), true),
    ("Mumbai Sales", Some(1), true),
    ("Delhi Support", Some(1), true),
    ("Americas", Some(0), true),
    ("US Field Sales", Some(5), true),
    ("Brazil Operations", Some(5), true),
    ("EMEA", Some(0), true),
    ("UK Marketing", Some(8), true),
    ("Germany Engineering", Some(8), true),
    ("Africa Support", Some(8), true),
    ("Gulf Operations", Some(8), true),
    ("APAC", Some(0), true),
    ("Australia Sales", Some(13), true),
    ("Leadership", Some(0), true),
    ("Safety Announcements", Some(0), true),
    ("Weekend Cricket Club", None, false),
    ("Book Club", None, false),
    ("Carpool Koramangala", None, false),
];

/// Which country group a region's people join.
fn home_group(region: &str, department: &str) -> usize {
    match region {
        "IN" if department == "Engineering" => 2,
        "IN" if department == "Sales" => 3,
        "IN" => 4,
        "US" => 6,
        "BR" => 7,
        "GB" => 9,
        "DE" => 10,
        "ZA" | "KE" | "NG" => 11,
        "AE" => 12,
        _ => 14,
    }
}

/// Message bodies of synthetic groups.
pub(crate) const MESSAGES: &[&str] = &[
    "Good morning team! Today's targets are on the board.",
    "Reminder: safety briefing at 10:00 in the main hall.",
    "Can someone share the latest price list?",
    "Shipment for the north zone is delayed by a day.",
    "Great work on closing the quarter, everyone 🎉",
    "Please update your timesheets before Friday.",
    "Customer visit at 3 pm — I'll need two volunteers.",
    "The new handbook is attached in the files tab.",
    "Server maintenance tonight from 11 pm to 1 am.",
    "Who is covering the Saturday shift?",
    "Thanks for the quick turnaround on the report!",
    "Training videos are live, please complete module 2.",
];

fn fill(app: &App, org: &Org, size: DemoSize) -> AppResult<()> {
    let now = app.clock.now();
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    app.store.put_attribute_defs(org.id, &attribute_defs())?;

    // People: most uploaded by an admin, some who joined through a group.
    let mut people = People::new(SEED);
    let persons: Vec<_> = (0..size.users).map(|_| people.next_person()).collect();
    let rows: Vec<UserUpsert> = persons
        .iter()
        .enumerate()
        .map(|(i, p)| {
            p.upsert(if i % 10 == 9 {
                UserSource::Group
            } else {
                UserSource::Upload
            })
        })
        .collect();
    app.store
        .upsert_users(org.id, &rows, now - Duration::days(90))?;
    let users: Vec<User> = persons
        .iter()
        .map(|p| {
            app.store
                .get_user(org.id, &p.phone)
                .map(|u| u.expect("just created"))
        })
        .collect::<Result<_, _>>()?;

    // Groups in a hierarchy, some not mapped to the org.
    let mut groups: Vec<Group> = Vec::new();
    for (name, parent, org_mapped) in GROUPS {
        groups.push(Group {
            id: GroupId::new(),
            org_id: org.id,
            parent_id: parent.map(|p| groups[p].id),
            name: GroupName::parse(name).expect("built-in names are valid"),
            org_mapped: *org_mapped,
            created_at: now - Duration::days(120),
        });
    }
    app.store.insert_groups(org.id, &groups)?;

    // Memberships: everyone in the root group and their home group; the first member
    // of each group is its admin; a tenth also join a consumer group.
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); groups.len()];
    for (u, p) in persons.iter().enumerate() {
        members[0].push(u);
        members[home_group(p.region.as_str(), p.department)].push(u);
        if p.level >= 8 {
            members[15].push(u);
        }
        if rng.random_bool(0.3) {
            members[16].push(u);
        }
        if rng.random_bool(0.1) {
            members[17 + rng.random_range(0..3)].push(u);
        }
    }
    let mut memberships = Vec::new();
    for (g, list) in members.iter().enumerate() {
        for (i, &u) in list.iter().enumerate() {
            memberships.push(Membership {
                org_id: org.id,
                group_id: groups[g].id,
                user_id: users[u].id,
                role: if i == 0 {
                    GroupRole::Admin
                } else {
                    GroupRole::Member
                },
                joined_at: now - Duration::days(rng.random_range(30..120)),
            });
        }
    }
    app.store.insert_memberships(org.id, &memberships)?;

    let ago = |rng: &mut ChaCha8Rng, days: i64| -> DateTime<Utc> {
        now - Duration::seconds(rng.random_range(0..days * 86_400))
    };
    let active_groups: Vec<usize> = (0..groups.len())
        .filter(|&g| !members[g].is_empty())
        .collect();

    // Messages from members of each group over the last 60 days.
    let mut messages = Vec::with_capacity(size.messages);
    for _ in 0..size.messages {
        let g = active_groups[rng.random_range(0..active_groups.len())];
        let sender = members[g][rng.random_range(0..members[g].len())];
        messages.push(Message {
            id: MessageId::new(),
            org_id: org.id,
            group_id: groups[g].id,
            sender_id: users[sender].id,
            body: MESSAGES[rng.random_range(0..MESSAGES.len())].to_owned(),
            created_at: ago(&mut rng, 60),
        });
    }
    app.store.insert_messages(org.id, &messages)?;

    // Actions by group admins, published to their groups, answered by members.
    let templates: [(ActionKind, &str, Vec<Question>); 4] = [
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
        (
            ActionKind::Poll,
            "Preferred training slot",
            vec![question("Slot", &["Morning", "Afternoon"])],
        ),
        (
            ActionKind::Announcement,
            "Holiday calendar acknowledged",
            vec![question("I have read the calendar", &["Yes"])],
        ),
    ];
    let mut actions = Vec::new();
    let mut publications = Vec::new();
    let mut responses = Vec::new();
    for (i, &g) in active_groups
        .iter()
        .enumerate()
        .filter(|(_, g)| GROUPS[**g].2)
    {
        let (kind, title, questions) = &templates[i % templates.len()];
        let admin = members[g][0];
        let action = Action {
            id: ActionId::new(),
            org_id: org.id,
            kind: *kind,
            title: (*title).to_owned(),
            questions: questions.clone(),
            created_by: users[admin].id,
            created_at: ago(&mut rng, 45),
        };
        publications.push(Publication {
            org_id: org.id,
            item_id: action.id.into(),
            group_id: groups[g].id,
            published_by: format!("user:{}", users[admin].phone),
            published_at: action.created_at,
        });
        for &u in &members[g] {
            if !rng.random_bool(0.4) {
                continue;
            }
            let answers = questions
                .iter()
                .map(|q| match q.options.len() {
                    0 => "Keep the Friday stand-ups short".to_owned(),
                    n => q.options[rng.random_range(0..n)].clone(),
                })
                .collect();
            responses.push(ActionResponse {
                id: ResponseId::new(),
                org_id: org.id,
                action_id: action.id,
                group_id: groups[g].id,
                user_id: users[u].id,
                answers,
                created_at: ago(&mut rng, 30),
            });
        }
        actions.push(action);
    }
    let actions: Vec<Publishable> = actions.into_iter().map(Publishable::from).collect();
    app.store.insert_publishables(org.id, &actions)?;
    app.store.publish(org.id, &publications)?;
    app.store.insert_action_responses(org.id, &responses)?;

    // Connectors, published to a few org groups each.
    let connector_specs = [
        (
            "ServiceNow incidents",
            serde_json::json!({"instance": "contoso.service-now.example", "priority": "P1"}),
        ),
        (
            "Power BI sales alerts",
            serde_json::json!({"dataset": "Sales", "threshold": 0.9}),
        ),
        (
            "Weather warnings",
            serde_json::json!({"regions": ["IN-KA", "IN-MH"]}),
        ),
        ("HR announcements", serde_json::json!({"feed": "hr-news"})),
        (
            "Release notes",
            serde_json::json!({"repository": "contoso/field-app"}),
        ),
    ];
    let mut connectors = Vec::new();
    let mut connector_publications = Vec::new();
    for (i, (name, config)) in connector_specs.into_iter().enumerate() {
        let creator = members[0][i];
        let connector = Connector {
            id: ConnectorId::new(),
            org_id: org.id,
            name: name.to_owned(),
            config,
            created_by: users[creator].id,
            created_at: ago(&mut rng, 100),
        };
        for g in [0, 1 + i * 3].into_iter().filter(|g| *g < 17) {
            connector_publications.push(Publication {
                org_id: org.id,
                item_id: connector.id.into(),
                group_id: groups[g].id,
                published_by: format!("user:{}", users[creator].phone),
                published_at: connector.created_at,
            });
        }
        connectors.push(connector);
    }
    let connectors: Vec<Publishable> = connectors.into_iter().map(Publishable::from).collect();
    app.store.insert_publishables(org.id, &connectors)?;
    app.store.publish(org.id, &connector_publications)?;

    // Telemetry: sign-ins for everyone, and usage events for messages and responses.
    let mut telemetry = Vec::new();
    for user in &users {
        for _ in 0..rng.random_range(1..6) {
            let platform = ["android", "ios", "web"][rng.random_range(0..3)];
            telemetry.push(TelemetryEvent {
                id: TelemetryId::new(),
                org_id: org.id,
                user_id: Some(user.id),
                kind: "sign_in".into(),
                properties: serde_json::json!({"platform": platform}),
                at: ago(&mut rng, 30),
            });
        }
    }
    for m in messages.iter().step_by(4) {
        telemetry.push(TelemetryEvent {
            id: TelemetryId::new(),
            org_id: org.id,
            user_id: Some(m.sender_id),
            kind: "message_sent".into(),
            properties: serde_json::json!({"group_id": m.group_id}),
            at: m.created_at,
        });
    }
    for r in &responses {
        telemetry.push(TelemetryEvent {
            id: TelemetryId::new(),
            org_id: org.id,
            user_id: Some(r.user_id),
            kind: "action_response".into(),
            properties: serde_json::json!({"action_id": r.action_id}),
            at: r.created_at,
        });
    }
    app.store.insert_telemetry(org.id, &telemetry)?;
    Ok(())
}

fn question(text: &str, options: &[&str]) -> Question {
    Question {
        text: text.to_owned(),
        options: options.iter().map(|o| (*o).to_owned()).collect(),
    }
}

//! Purge benchmark: purging one deleted user who has `ROWS` messages and responses, in
//! an org of `USERS` users, while API clients read and write; and, in the same run, a
//! bare `DELETE` of the same rows on a copy of the org's file as the baseline.
//!
//! Starts the real server (`Application::build`, port 0, a fresh data directory),
//! loads the org beside it through the store (users, ten org groups, an action, the
//! victim's messages (70%) and responses (30%), and 200k messages of others), deletes
//! the victim through the API, then:
//! 1. copies the org's file and times `DELETE FROM action_responses WHERE user_id = ?`
//!    and `DELETE FROM messages WHERE sender_id = ?` in one transaction through
//!    rusqlite with the store's pragmas (secure delete on), and without secure delete;
//! 2. runs the client mix (reads: a page of users, a group's messages; writes: create
//!    a user, rename a user; four reads per write) on the idle server;
//! 3. asks "delete permanently now" and runs the same mix until the user is gone.
//!
//! Prints the rows removed per second of the purge against the bare DELETE, and the
//! clients' p50/p99/max per phase.
//!
//! `cargo bench -p steward-web --bench purge` (1M rows, 100k users, 8 clients);
//! `ROWS=100000 USERS=10000 cargo bench -p steward-web --bench purge` for a quick run.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use r2d2_sqlite::rusqlite;
use serde_json::{Value, json};
use steward_app::audit::AuditContext;
use steward_app::{orgs, tokens};
use steward_domain::content::{Action, ActionKind, ActionResponse, Message, Publication, Question};
use steward_domain::group::{Group, Membership};
use steward_domain::{
    ActionId, AttributeChanges, GroupId, GroupName, GroupRole, MessageId, OrgId, PersonName,
    PhoneNumber, ResponseId, Role, UserId, UserSource, UserUpsert,
};
use steward_store::prelude::*;
use steward_store::{Publishable, PublishableId};
use steward_store_sqlite::SqliteStore;
use steward_web::{Application, ServerConfig, StorageConfig};

mod support;
use support::{Phase, env_u64, run_clients};

struct Target {
    client: reqwest::Client,
    org: String,
    group: GroupId,
    token: String,
}

async fn client_loop(
    target: Arc<Target>,
    n: u64,
    stop: Arc<AtomicBool>,
    next: Arc<AtomicU64>,
) -> Phase {
    let mut phase = Phase::default();
    let mut i = n;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let started = Instant::now();
        let org = &target.org;
        let (samples, response) = if i.is_multiple_of(5) {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let request = if k.is_multiple_of(2) {
                target.client.post(format!("{org}/users")).json(&json!({
                    "phone": format!("+14152{:06}", k % 1_000_000), "name": "Load Test"}))
            } else {
                // Rename one of the loaded users (never the victim, user 0).
                target
                    .client
                    .patch(format!("{org}/users/%2B9198{:08}", 1 + k % 1000))
                    .json(&json!({"name": format!("Load Test {k}")}))
            };
            (
                &mut phase.writes,
                request.bearer_auth(&target.token).send().await,
            )
        } else {
            let path = if i.is_multiple_of(2) {
                format!("{org}/users?limit=50&sort=name")
            } else {
                format!("{org}/groups/{}/messages", target.group)
            };
            (
                &mut phase.reads,
                target
                    .client
                    .get(path)
                    .bearer_auth(&target.token)
                    .send()
                    .await,
            )
        };
        let ok = match response {
            Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
            _ => false,
        };
        samples.record(started, ok);
    }
    phase
}

fn phone(i: u64) -> PhoneNumber {
    PhoneNumber::from_e164(&format!("+9198{:08}", i)).expect("a phone")
}

/// Loads the org: users, groups (everyone in the first), an action, the victim's
/// messages and responses and others' messages. Answers the victim's phone and the
/// first group.
fn load(store: &SqliteStore, org: OrgId, users: u64, rows: u64) -> (PhoneNumber, GroupId) {
    let now = Utc::now();
    for chunk in (0..users).collect::<Vec<_>>().chunks(20_000) {
        let rows: Vec<UserUpsert> = chunk
            .iter()
            .map(|i| UserUpsert {
                phone: phone(*i),
                name: PersonName::parse(&format!("Person {i}")).expect("a name"),
                source: UserSource::Upload,
                attributes: AttributeChanges::new(),
            })
            .collect();
        store.upsert_users(org, &rows, now).expect("users");
    }
    let id_of = |i: u64| -> UserId {
        store
            .get_user(org, &phone(i))
            .expect("a read")
            .expect("the user")
            .id
    };
    let victim = id_of(0);
    let others: Vec<UserId> = (1..=100).map(id_of).collect();
    let groups: Vec<Group> = (0..10)
        .map(|g| Group {
            id: GroupId::new(),
            org_id: org,
            parent_id: None,
            name: GroupName::parse(&format!("Group {g}")).expect("a name"),
            org_mapped: true,
            created_at: now,
        })
        .collect();
    store.insert_groups(org, &groups).expect("groups");
    let mut memberships = Vec::new();
    for group in &groups {
        for user in std::iter::once(victim).chain(others.iter().copied()) {
            memberships.push(Membership {
                org_id: org,
                group_id: group.id,
                user_id: user,
                role: GroupRole::Member,
                joined_at: now,
            });
        }
    }
    store
        .insert_memberships(org, &memberships)
        .expect("memberships");
    let action = Action {
        id: ActionId::new(),
        org_id: org,
        kind: ActionKind::Poll,
        title: "Which day?".into(),
        questions: vec![Question {
            text: "Day".into(),
            options: vec!["Mon".into(), "Tue".into()],
        }],
        created_by: others[0],
        created_at: now,
    };
    store
        .insert_publishables(org, &[Publishable::Action(action.clone())])
        .expect("an action");
    let publications: Vec<_> = groups
        .iter()
        .map(|g| Publication {
            org_id: org,
            item_id: PublishableId::Action(action.id),
            group_id: g.id,
            published_by: "cli".into(),
            published_at: now,
        })
        .collect();
    store.publish(org, &publications).expect("publications");
    let messages = rows * 7 / 10;
    let responses = rows - messages;
    let message = |i: u64, sender| Message {
        id: MessageId::new(),
        org_id: org,
        group_id: groups[(i % 10) as usize].id,
        sender_id: sender,
        body: format!("message {i}: the numbers for the quarter look fine to me"),
        created_at: now,
    };
    for start in (0..messages).step_by(50_000) {
        let batch: Vec<_> = (start..(start + 50_000).min(messages))
            .map(|i| message(i, victim))
            .collect();
        store.insert_messages(org, &batch).expect("messages");
    }
    for start in (0..200_000u64).step_by(50_000) {
        let batch: Vec<_> = (start..start + 50_000)
            .map(|i| message(i, others[(i % 100) as usize]))
            .collect();
        store
            .insert_messages(org, &batch)
            .expect("others' messages");
    }
    for start in (0..responses).step_by(50_000) {
        let batch: Vec<_> = (start..(start + 50_000).min(responses))
            .map(|i| ActionResponse {
                id: ResponseId::new(),
                org_id: org,
                action_id: action.id,
                group_id: groups[(i % 10) as usize].id,
                user_id: victim,
                answers: vec!["Mon".into()],
                created_at: now,
            })
            .collect();
        store
            .insert_action_responses(org, &batch)
            .expect("responses");
    }
    (phone(0), groups[0].id)
}

/// Times a bare DELETE of the victim's rows on a copy of the org's file; answers the
/// rows removed and the seconds.
fn bare_delete(file: &std::path::Path, victim: &str, secure: bool) -> (u64, f64) {
    let copy = file.with_extension("copy.db");
    std::fs::copy(file, &copy).expect("a copy of the org file");
    let mut conn = rusqlite::Connection::open(&copy).expect("the copy");
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
         PRAGMA cache_size = -8192; PRAGMA secure_delete = {};",
        if secure { "ON" } else { "OFF" }
    ))
    .expect("pragmas");
    let started = Instant::now();
    let tx = conn.transaction().expect("a transaction");
    let mut removed = tx
        .execute("DELETE FROM action_responses WHERE user_id = ?1", [victim])
        .expect("delete responses") as u64;
    removed += tx
        .execute("DELETE FROM messages WHERE sender_id = ?1", [victim])
        .expect("delete messages") as u64;
    tx.commit().expect("commit");
    let secs = started.elapsed().as_secs_f64();
    drop(conn);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", copy.display()));
    }
    (removed, secs)
}

fn main() {
    let rows = env_u64("ROWS", 1_000_000);
    let users = env_u64("USERS", 100_000);
    let clients = env_u64("CLIENTS", 8);
    let baseline_secs = env_u64("BASELINE_SECS", 10);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("a data directory");
        let data = dir.path().join("data");
        let config = ServerConfig {
            listen: "127.0.0.1:0".into(),
            ..ServerConfig::new(StorageConfig::embedded(&data))
        };
        let server = Application::build(config).await.expect("the server");
        let app = server.app().clone();
        let base = format!("http://127.0.0.1:{}", server.port());
        let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(server.run_until_stopped(async {
            let _ = stopped.await;
        }));
        let org = orgs::create_org(&app, &AuditContext::cli(), "Purge", "IN").expect("an org");
        let (_, token) =
            tokens::create_token(&app, org.id, Role::OrgAdmin, "bench", None).expect("a token");
        let store = SqliteStore::open_dir(&data).expect("the store");
        let loading = Instant::now();
        let (victim, group) = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || load(&store, org.id, users, rows))
                .await
                .expect("the load")
        };
        println!(
            "Loaded {users} users, {rows} rows of the victim (70% messages, 30% responses) and 200000 others' messages in {:.0} s; {} cores",
            loading.elapsed().as_secs_f64(),
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        let target = Arc::new(Target {
            client: reqwest::Client::new(),
            org: format!("{base}/api/v1/orgs/{}", org.id),
            group,
            token,
        });
        let victim_path = format!("{}/users/{}", target.org, victim.as_str().replace('+', "%2B"));
        let deleted = target
            .client
            .delete(&victim_path)
            .bearer_auth(&target.token)
            .send()
            .await
            .expect("the delete");
        assert!(deleted.status().is_success(), "the delete: {}", deleted.status());
        let victim_id = store
            .get_user(org.id, &victim)
            .expect("a read")
            .expect("the victim")
            .id
            .to_string();

        // The baseline: the same rows, one bare DELETE each, on a copy of the file.
        store.checkpoint_org_file(org.id).expect("a checkpoint");
        let file = data.join(format!("orgs/{}.db", org.id));
        let (removed, secs) = bare_delete(&file, &victim_id, true);
        let bare_rate = removed as f64 / secs;
        let (plain_removed, plain_secs) = bare_delete(&file, &victim_id, false);
        println!(
            "Bare DELETE on a copy: {removed} rows in {secs:.1} s = {bare_rate:.0} rows/s (secure_delete on); {:.0} rows/s with it off",
            plain_removed as f64 / plain_secs
        );

        let next = Arc::new(AtomicU64::new(0));
        let mut idle = run_clients(
            clients,
            |n, stop| client_loop(target.clone(), n, stop, next.clone()),
            tokio::time::sleep(Duration::from_secs(baseline_secs)),
        )
        .await;
        println!("Idle server, {clients} clients ({baseline_secs} s):");
        println!("  {}", idle.reads.report("reads"));
        println!("  {}", idle.writes.report("writes"));

        let started = Instant::now();
        let job: Value = target
            .client
            .post(format!("{victim_path}/purge"))
            .bearer_auth(&target.token)
            .send()
            .await
            .expect("the purge request")
            .json()
            .await
            .expect("the job");
        assert_eq!(job["kind"], "purge_users", "{job}");
        let poll = {
            let target = target.clone();
            async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    let list: Value = match target
                        .client
                        .get(format!("{}/deleted-users", target.org))
                        .bearer_auth(&target.token)
                        .send()
                        .await
                    {
                        Ok(r) => r.json().await.unwrap_or(Value::Null),
                        Err(_) => Value::Null,
                    };
                    if list["total"] == 0 {
                        return;
                    }
                }
            }
        };
        let mut busy = run_clients(
            clients,
            |n, stop| client_loop(target.clone(), n, stop, next.clone()),
            poll).await;
        let secs = started.elapsed().as_secs_f64();
        let receipts: Value = target
            .client
            .get(format!("{}/deletion-receipts", target.org))
            .bearer_auth(&target.token)
            .send()
            .await
            .expect("the receipts")
            .json()
            .await
            .expect("receipts");
        let counts = &receipts["items"][0]["counts"];
        let purged = counts["messages"].as_u64().unwrap_or(0)
            + counts["action_responses"].as_u64().unwrap_or(0);
        let rate = purged as f64 / secs;
        println!(
            "Purge with {clients} clients: {purged} rows in {secs:.1} s = {rate:.0} rows/s, {:.2}x the bare DELETE; receipt {counts}",
            rate / bare_rate
        );
        println!("  {}", busy.reads.report("reads"));
        println!("  {}", busy.writes.report("writes"));
        let _ = stop_server.send(());
        let _ = serving.await;
    });
}

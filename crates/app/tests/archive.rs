//! The tenant archive end to end: a generated tenant in a real SQLite store with real
//! blobs, written to a real zip, read back with the `zip` crate and checked by hand.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sha2::{Digest, Sha256};
use steward_app::archive::{
    ArchiveKind, ArchiveScope, ArchiveStop, Manifest, verify_archive, write_archive,
};
use steward_app::audit::AuditContext;
use steward_app::synthetic::tenant::{self, TenantSize};
use steward_app::{App, AppError, SystemClock, orgs};
use steward_domain::content::{Attachment, Message};
use steward_domain::{AttachmentId, GroupId, MessageId, OrgId, PersonName, PhoneNumber, User};
use steward_domain::{UserSource, UserUpsert};
use steward_store::prelude::*;
use steward_store::{BlobKey, BlobStore, LocalBlobStore};
use steward_store_sqlite::SqliteStore;

struct Tenant {
    app: App,
    store: Arc<SqliteStore>,
    blobs: Arc<LocalBlobStore>,
    org: OrgId,
    dir: tempfile::TempDir,
}

const USERS: u64 = 300;
const MESSAGES: u64 = 3000;

fn tenant() -> Tenant {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
    let blobs = Arc::new(LocalBlobStore::open(dir.path().join("blobs")).unwrap());
    let app = App::new(store.clone(), blobs.clone(), Arc::new(SystemClock));
    let org = orgs::create_org(&app, &AuditContext::cli(), "Contoso", "IN").unwrap();
    tenant::generate(
        &app,
        org.id,
        TenantSize {
            users: USERS,
            messages: MESSAGES,
        },
        7,
        &mut |_, _, _| {},
    )
    .unwrap();
    Tenant {
        app,
        store,
        blobs,
        org: org.id,
        dir,
    }
}

impl Tenant {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, scope: &ArchiveScope, name: &str) -> (PathBuf, Manifest) {
        let path = self.path(name);
        let mut out = std::fs::File::create(&path).unwrap();
        let manifest =
            write_archive(&self.app, self.org, scope, &mut out, &mut |_, _| Ok(())).unwrap();
        (path, manifest)
    }

    fn users(&self) -> Vec<User> {
        let mut users = Vec::new();
        let mut after = None;
        loop {
            let page = self
                .store
                .list_users(
                    self.org,
                    &steward_store::UserQuery {
                        limit: 1000,
                        after,
                        include_deleted: true,
                        ..Default::default()
                    },
                )
                .unwrap();
            users.extend(page.items);
            match page.next_cursor {
                Some(next) => after = Some(next),
                None => return users,
            }
        }
    }

    /// Someone who sent messages and belongs to a group.
    fn a_sender(&self) -> (User, GroupId, u64) {
        let users = self.users();
        let groups = self.store.list_groups(self.org).unwrap();
        for user in users {
            let roles = self.store.group_roles(self.org, user.id).unwrap();
            let Some((group, _)) = roles.first() else {
                continue;
            };
            let sent = all_messages(&self.store, self.org, &groups)
                .into_iter()
                .filter(|m| m.sender_id == user.id)
                .count() as u64;
            if sent > 0 {
                return (user, *group, sent);
            }
        }
        panic!("the generated tenant has senders");
    }

    /// A file attached to a message, stored as the app stores attachments.
    fn attach(
        &self,
        message: &Message,
        name: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Attachment {
        let id = AttachmentId::new();
        let key = BlobKey::parse(&format!("orgs/{}/attachments/{id}", self.org)).unwrap();
        let size = self.blobs.put(&key, &mut &bytes[..]).unwrap().size;
        let attachment = Attachment {
            id,
            org_id: self.org,
            message_id: message.id,
            file_name: name.into(),
            content_type: content_type.into(),
            size,
            blob_key: key.as_str().to_owned(),
            created_at: message.created_at,
        };
        self.store.insert_attachment(&attachment).unwrap();
        attachment
    }
}

fn all_messages(
    store: &SqliteStore,
    org: OrgId,
    groups: &[steward_domain::group::Group],
) -> Vec<Message> {
    let mut out = Vec::new();
    for group in groups {
        let mut before = None;
        loop {
            let page = store.list_messages(org, group.id, before, 500).unwrap();
            let Some(last) = page.last() else { break };
            before = Some(last.id);
            out.extend(page);
        }
    }
    out
}

/// Every entry of a zip, read with the `zip` crate alone.
fn entries(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        out.insert(entry.name().unwrap().into_owned(), bytes);
    }
    out
}

/// The data rows of a CSV file, as records (the header left out).
fn csv_rows(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_owned())
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

fn column(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn day(n: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).single().unwrap() + chrono::Duration::days(n.into())
}

#[test]
fn an_archive_holds_every_kind_and_its_manifest_matches_an_independent_reading() {
    let t = tenant();
    let mut progress = Vec::new();
    let path = t.path("all.zip");
    let manifest = {
        let mut out = std::fs::File::create(&path).unwrap();
        write_archive(
            &t.app,
            t.org,
            &ArchiveScope::everything(),
            &mut out,
            &mut |done, total| {
                progress.push((done, total));
                Ok(())
            },
        )
        .unwrap()
    };
    let files = entries(&path);

    // The manifest, read as plain JSON.
    let json: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["org"], t.org.to_string());
    assert!(json["snapshot_at"].is_string() && json["generated_at"].is_string());
    assert_eq!(
        json["not_included"],
        serde_json::json!([]),
        "nothing was left out"
    );
    let listed = json["files"].as_array().unwrap();
    for kind in ArchiveKind::ALL {
        let name = format!("{}.csv", kind.as_str());
        assert!(
            listed.iter().any(|f| f["name"] == name.as_str()),
            "{name} is listed"
        );
    }
    // Every file listed is in the zip with the size, rows and SHA-256 the manifest gives,
    // and the zip holds nothing else.
    let mut names: BTreeSet<String> = files.keys().cloned().collect();
    assert!(names.remove("manifest.json"));
    for file in listed {
        let name = file["name"].as_str().unwrap();
        let bytes = &files[name];
        assert!(names.remove(name), "{name} is in the zip once");
        assert_eq!(
            file["bytes"].as_u64().unwrap(),
            bytes.len() as u64,
            "{name} bytes"
        );
        assert_eq!(
            file["sha256"].as_str().unwrap(),
            sha256_hex(bytes),
            "{name} SHA-256"
        );
        if name.ends_with(".csv") {
            assert_eq!(
                file["rows"].as_u64().unwrap(),
                csv_rows(bytes).1.len() as u64,
                "{name} rows"
            );
        }
    }
    assert!(
        names.is_empty(),
        "files the manifest does not list: {names:?}"
    );

    // What the files hold.
    let (header, users) = csv_rows(&files["users.csv"]);
    assert_eq!(users.len() as u64, USERS);
    assert_eq!(&header[..3], ["Phone Number", "Name", "Employee ID"]);
    assert!(
        header.ends_with(
            &[
                "Status",
                "Source",
                "Created At",
                "Updated At",
                "Deleted At",
                "User ID"
            ]
            .map(String::from)
        )
    );
    let (_, messages) = csv_rows(&files["messages.csv"]);
    assert_eq!(messages.len() as u64, MESSAGES);
    assert!(csv_rows(&files["groups.csv"]).1.len() > 10);
    assert!(csv_rows(&files["memberships.csv"]).1.len() as u64 >= USERS);
    assert!(!csv_rows(&files["actions.csv"]).1.is_empty());
    assert!(!csv_rows(&files["action_responses.csv"]).1.is_empty());
    assert!(!csv_rows(&files["connector_publications.csv"]).1.is_empty());
    assert!(!csv_rows(&files["telemetry.csv"]).1.is_empty());
    assert!(
        !csv_rows(&files["audit.csv"]).1.is_empty(),
        "the org's creation and the generation are audited"
    );
    assert_eq!(manifest.files.len(), listed.len());

    // Progress went up to its total.
    assert!(progress.windows(2).all(|w| w[0].0 <= w[1].0));
    let (done, total) = *progress.last().unwrap();
    assert_eq!(done, total);
    assert!(total >= USERS + MESSAGES);

    let report = verify_archive(&path).unwrap();
    assert!(report.is_intact(), "{:?}", report.mismatches);
    assert_eq!(report.files.len(), listed.len());
}

#[test]
fn cells_a_spreadsheet_would_run_are_neutralized_and_users_import_as_written() {
    let t = tenant();
    let (sender, group, _) = t.a_sender();
    let evil = "=HYPERLINK(\"http://example.com\",\"click\")";
    t.store
        .insert_messages(
            t.org,
            &[Message {
                id: MessageId::new(),
                org_id: t.org,
                group_id: group,
                sender_id: sender.id,
                body: format!("{evil}\nsecond line, \"quoted\""),
                created_at: day(3),
            }],
        )
        .unwrap();
    let (path, _) = t.write(&ArchiveScope::everything(), "evil.zip");
    let files = entries(&path);
    let (header, messages) = csv_rows(&files["messages.csv"]);
    let body = column(&header, "body");
    let row = messages
        .iter()
        .find(|r| r[body].contains("HYPERLINK"))
        .unwrap();
    assert_eq!(row[body], format!("'{evil}\nsecond line, \"quoted\""));
    // Phones start with + and are written as the import reads them back.
    let (header, users) = csv_rows(&files["users.csv"]);
    let phone = column(&header, "Phone Number");
    assert!(users.iter().all(|r| r[phone].starts_with("'+")));
    let remote = column(&header, "Remote");
    assert!(
        users
            .iter()
            .all(|r| r[remote] == "Yes" || r[remote] == "No")
    );
}

#[test]
fn a_tampered_archive_fails_verification() {
    let t = tenant();
    let (path, _) = t.write(&ArchiveScope::everything(), "good.zip");
    assert!(verify_archive(&path).unwrap().is_intact());

    // Rewrite the zip with one row of messages.csv changed, users.csv gone and a file
    // the manifest does not list.
    let files = entries(&path);
    let bad = t.path("bad.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&bad).unwrap());
        let options = zip::write::SimpleFileOptions::default();
        for (name, bytes) in &files {
            if name == "users.csv" {
                continue;
            }
            zip.start_file(name.as_str(), options).unwrap();
            if name == "messages.csv" {
                let text = String::from_utf8(bytes.clone()).unwrap();
                let changed = text.replacen("Good morning", "Good evening", 1);
                assert_ne!(changed, text);
                zip.write_all(changed.as_bytes()).unwrap();
            } else {
                zip.write_all(bytes).unwrap();
            }
        }
        zip.start_file("extra.csv", options).unwrap();
        zip.write_all(b"a,b\n1,2\n").unwrap();
        zip.finish().unwrap();
    }
    let report = verify_archive(&bad).unwrap();
    assert!(!report.is_intact());
    let problems: BTreeMap<&str, &str> = report
        .mismatches
        .iter()
        .map(|m| (m.name.as_str(), m.problem.as_str()))
        .collect();
    assert!(problems["messages.csv"].contains("SHA-256"), "{problems:?}");
    assert!(problems["users.csv"].contains("missing"), "{problems:?}");
    assert!(problems["extra.csv"].contains("not listed"), "{problems:?}");
    assert_eq!(
        problems.len(),
        3,
        "the other files still match: {problems:?}"
    );

    // A file that is no archive at all.
    let junk = t.path("junk.zip");
    std::fs::write(&junk, b"not a zip").unwrap();
    assert!(matches!(verify_archive(&junk), Err(AppError::Invalid(_))));
}

#[test]
fn a_per_user_archive_holds_no_other_persons_phone() {
    let t = tenant();
    let (user, _, sent) = t.a_sender();
    let scope = ArchiveScope {
        user: Some(user.phone.clone()),
        ..ArchiveScope::everything()
    };
    let (path, manifest) = t.write(&scope, "one.zip");
    let files = entries(&path);
    let others: Vec<PhoneNumber> = t
        .users()
        .into_iter()
        .map(|u| u.phone)
        .filter(|p| *p != user.phone)
        .collect();
    assert_eq!(others.len() as u64, USERS - 1);
    for (name, bytes) in &files {
        let text = String::from_utf8_lossy(bytes);
        for phone in &others {
            // Both as stored (+91...) and as digits alone.
            assert!(
                !text.contains(&phone.as_str()[1..]),
                "{name} names {phone}, someone else"
            );
        }
    }
    let (header, users) = csv_rows(&files["users.csv"]);
    assert_eq!(users.len(), 1);
    assert_eq!(
        users[0][column(&header, "Phone Number")],
        format!("'{}", user.phone)
    );
    let (header, messages) = csv_rows(&files["messages.csv"]);
    assert_eq!(messages.len() as u64, sent);
    let sender = column(&header, "sender_id");
    assert!(messages.iter().all(|m| m[sender] == user.id.to_string()));
    let (_, memberships) = csv_rows(&files["memberships.csv"]);
    let (_, groups) = csv_rows(&files["groups.csv"]);
    assert!(!memberships.is_empty());
    assert!(
        groups.len() >= memberships.len(),
        "the names of their groups"
    );
    assert!(csv_rows(&files["jobs.csv"]).1.is_empty());
    assert!(
        manifest
            .not_included
            .iter()
            .any(|n| n.what == "rows about other people")
    );
    assert!(verify_archive(&path).unwrap().is_intact());

    // Someone who is not a user of the org has no archive.
    let stranger = PhoneNumber::from_e164("+14155550199").unwrap();
    let mut out = std::fs::File::create(t.path("none.zip")).unwrap();
    let scope = ArchiveScope {
        user: Some(stranger),
        ..ArchiveScope::everything()
    };
    assert!(matches!(
        write_archive(&t.app, t.org, &scope, &mut out, &mut |_, _| Ok(())),
        Err(AppError::NotFound("user"))
    ));
}

#[test]
fn a_date_range_keeps_dated_rows_inside_it_and_reads_state_whole() {
    let t = tenant();
    let scope = ArchiveScope {
        since: Some(day(100)),
        until: Some(day(130)),
        ..ArchiveScope::everything()
    };
    let (path, manifest) = t.write(&scope, "range.zip");
    let files = entries(&path);
    let (header, messages) = csv_rows(&files["messages.csv"]);
    let at = column(&header, "created_at");
    assert!(!messages.is_empty());
    // About a twelfth of a year of messages spread over the year.
    assert!((messages.len() as u64) < MESSAGES / 6, "{}", messages.len());
    for m in &messages {
        let when: DateTime<Utc> = m[at].parse().unwrap();
        assert!(when >= day(100) && when < day(130), "{when}");
    }
    let (header, telemetry) = csv_rows(&files["telemetry.csv"]);
    let at = column(&header, "at");
    for e in &telemetry {
        let when: DateTime<Utc> = e[at].parse().unwrap();
        assert!(when >= day(100) && when < day(130), "{when}");
    }
    assert_eq!(
        csv_rows(&files["users.csv"]).1.len() as u64,
        USERS,
        "people are state, read whole"
    );
    let left_out = manifest
        .not_included
        .iter()
        .find(|n| n.reason.contains("date range"))
        .unwrap();
    assert!(left_out.what.contains("messages") && left_out.what.contains("telemetry"));
    assert!(!left_out.what.contains("users"));

    let mut out = std::fs::File::create(t.path("empty.zip")).unwrap();
    let backwards = ArchiveScope {
        since: Some(day(130)),
        until: Some(day(100)),
        ..ArchiveScope::everything()
    };
    assert!(matches!(
        write_archive(&t.app, t.org, &backwards, &mut out, &mut |_, _| Ok(())),
        Err(AppError::Invalid(e)) if e[0].field == "until"
    ));
}

#[test]
fn only_the_requested_kinds_are_written_and_the_rest_are_named_as_left_out() {
    let t = tenant();
    let scope = ArchiveScope {
        kinds: ArchiveScope::parse_kinds("users, audit").unwrap(),
        ..ArchiveScope::everything()
    };
    let (path, manifest) = t.write(&scope, "kinds.zip");
    let names: BTreeSet<String> = entries(&path).into_keys().collect();
    assert_eq!(
        names,
        ["audit.csv", "manifest.json", "users.csv"]
            .map(String::from)
            .into()
    );
    let left_out: BTreeSet<&str> = manifest
        .not_included
        .iter()
        .map(|n| n.what.as_str())
        .collect();
    assert!(left_out.contains("messages") && left_out.contains("jobs"));
    assert_eq!(left_out.len(), ArchiveKind::ALL.len() - 2);

    let bad = ArchiveScope::parse_kinds("users,emails").unwrap_err();
    assert_eq!(bad.field, "kinds");
    assert!(bad.reason.contains("\"emails\"") && bad.reason.contains("messages"));
    assert!(ArchiveScope::parse_kinds(" , ").is_err());
    assert_eq!(
        ArchiveScope::parse_kinds("all").unwrap().len(),
        ArchiveKind::ALL.len()
    );
}

#[test]
fn attachments_are_in_the_archive_with_their_bytes() {
    let t = tenant();
    let (sender, group, _) = t.a_sender();
    let message = Message {
        id: MessageId::new(),
        org_id: t.org,
        group_id: group,
        sender_id: sender.id,
        body: "the report".into(),
        created_at: day(5),
    };
    t.store
        .insert_messages(t.org, std::slice::from_ref(&message))
        .unwrap();
    let report: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let pdf = t.attach(&message, "Q3 report.pdf", "application/pdf", &report);
    let notes = t.attach(&message, "../notes.txt", "text/plain", b"plain notes\n");
    let lost = t.attach(&message, "lost.png", "image/png", b"\x89PNG");
    t.blobs
        .delete(&BlobKey::parse(&lost.blob_key).unwrap())
        .unwrap();

    let (path, manifest) = t.write(&ArchiveScope::everything(), "files.zip");
    let files = entries(&path);
    assert_eq!(
        files[&format!("attachments/{}/Q3 report.pdf", pdf.id)],
        report
    );
    assert_eq!(
        files[&format!("attachments/{}/_notes.txt", notes.id)],
        b"plain notes\n"
    );
    let missing = manifest
        .not_included
        .iter()
        .find(|n| n.what == format!("attachments/{}/lost.png", lost.id))
        .unwrap();
    assert!(missing.reason.contains("missing"));
    let (_, rows) = csv_rows(&files["attachments.csv"]);
    assert_eq!(
        rows.len(),
        3,
        "the metadata of every attachment, the lost one too"
    );
    assert!(verify_archive(&path).unwrap().is_intact());

    // Without the files: the metadata only, and the manifest says so.
    let scope = ArchiveScope {
        attachments: false,
        ..ArchiveScope::everything()
    };
    let (path, manifest) = t.write(&scope, "nofiles.zip");
    assert!(!entries(&path).keys().any(|k| k.starts_with("attachments/")));
    assert!(
        manifest
            .not_included
            .iter()
            .any(|n| n.what == "attachments/")
    );
}

/// Writes made while an archive is written: each is wholly in the archive or wholly
/// out, never half.
#[test]
fn a_write_during_an_export_is_wholly_in_or_wholly_out() {
    let t = tenant();
    let (sender, group, _) = t.a_sender();
    const BATCH: usize = 50;
    let batch = |n: u64| -> Vec<Message> {
        (0..BATCH)
            .map(|i| Message {
                id: MessageId::new(),
                org_id: t.org,
                group_id: group,
                sender_id: sender.id,
                body: format!("batch {n} message {i}"),
                created_at: day(7),
            })
            .collect()
    };
    let new_people = |n: u64| -> Vec<UserUpsert> {
        (0..BATCH as u64)
            .map(|i| UserUpsert {
                phone: PhoneNumber::from_e164(&format!("+1206555{:04}", n * 100 + i)).unwrap(),
                name: PersonName::parse(&format!("Batch {n}")).unwrap(),
                source: UserSource::Api,
                attributes: Default::default(),
            })
            .collect()
    };

    // A writer that keeps committing batches of messages, then of people, each batch
    // one transaction, until told to stop.
    let committed = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let path = t.path("busy.zip");
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                t.store.insert_messages(t.org, &batch(n)).unwrap();
                t.store
                    .upsert_users(t.org, &new_people(n), Utc::now())
                    .unwrap();
                n += 1;
                committed.store(n, Ordering::SeqCst);
            }
        });
        while committed.load(Ordering::SeqCst) < 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut out = std::fs::File::create(&path).unwrap();
        let mut first = true;
        write_archive(
            &t.app,
            t.org,
            &ArchiveScope::everything(),
            &mut out,
            &mut |_, _| {
                // The snapshot is open: let the writer commit more before reading on.
                if first {
                    first = false;
                    let seen = committed.load(Ordering::SeqCst);
                    while committed.load(Ordering::SeqCst) < seen + 3 {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
                Ok::<_, ArchiveStop>(())
            },
        )
        .unwrap();
        stop.store(true, Ordering::SeqCst);
    });
    let total = committed.load(Ordering::SeqCst);

    let files = entries(&path);
    let (header, messages) = csv_rows(&files["messages.csv"]);
    let body = column(&header, "body");
    let mut per_batch: BTreeMap<u64, usize> = BTreeMap::new();
    for m in &messages {
        if let Some(rest) = m[body].strip_prefix("batch ") {
            let n: u64 = rest.split(' ').next().unwrap().parse().unwrap();
            *per_batch.entry(n).or_default() += 1;
        }
    }
    let (header, users) = csv_rows(&files["users.csv"]);
    let name = column(&header, "Name");
    let mut people: BTreeMap<u64, usize> = BTreeMap::new();
    for u in &users {
        if let Some(n) = u[name].strip_prefix("Batch ") {
            *people.entry(n.parse().unwrap()).or_default() += 1;
        }
    }
    assert!(per_batch.values().all(|c| *c == BATCH), "{per_batch:?}");
    assert!(people.values().all(|c| *c == BATCH), "{people:?}");
    // The batches in the archive are the first k: those committed before the snapshot.
    let k = per_batch.len() as u64;
    assert!(k >= 2, "the writes committed before the export are in it");
    assert!(
        k + 2 <= total,
        "the writes committed during the export are not: {k} of {total}"
    );
    assert_eq!(
        per_batch.keys().copied().collect::<Vec<_>>(),
        (0..k).collect::<Vec<_>>()
    );
    // People of batch n are committed after its messages: the archive has the
    // people of the same batches, or of one fewer.
    let p = people.len() as u64;
    assert!(
        p == k || p + 1 == k,
        "messages of {k} batches, people of {p}"
    );
    assert!(verify_archive(&path).unwrap().is_intact());
}

#[test]
fn a_progress_callback_that_stops_ends_the_archive_with_its_error() {
    let t = tenant();
    let mut out = std::fs::File::create(t.path("stopped.zip")).unwrap();
    let result = write_archive(
        &t.app,
        t.org,
        &ArchiveScope::everything(),
        &mut out,
        &mut |_, _| Err(ArchiveStop(AppError::Conflict("canceled".into()))),
    );
    assert!(matches!(result, Err(AppError::Conflict(m)) if m == "canceled"));
    let mut out = std::fs::File::create(t.path("nowhere.zip")).unwrap();
    assert!(matches!(
        write_archive(
            &t.app,
            OrgId::new(),
            &ArchiveScope::everything(),
            &mut out,
            &mut |_, _| Ok(())
        ),
        Err(AppError::NotFound("org"))
    ));
}

#[test]
fn the_generator_gives_the_same_people_and_content_for_the_same_seed() {
    let a = tenant();
    let b = tenant();
    let people = |t: &Tenant| -> Vec<(String, String)> {
        t.users()
            .into_iter()
            .map(|u| (u.phone.to_string(), u.name.to_string()))
            .collect()
    };
    assert_eq!(people(&a), people(&b));
    let bodies = |t: &Tenant| -> Vec<(String, DateTime<Utc>)> {
        let groups = t.store.list_groups(t.org).unwrap();
        let mut all: Vec<_> = all_messages(&t.store, t.org, &groups)
            .into_iter()
            .map(|m| (m.body, m.created_at))
            .collect();
        all.sort();
        all
    };
    assert_eq!(bodies(&a), bodies(&b));
    assert!(matches!(
        tenant::generate(
            &a.app,
            a.org,
            TenantSize {
                users: 1,
                messages: 0
            },
            7,
            &mut |_, _, _| {}
        ),
        Err(AppError::Conflict(_))
    ));
}

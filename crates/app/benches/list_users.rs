//! Listing a page of users with one attribute filter in an org of 1M users.
//!
//! `cargo bench -p steward-app --bench list_users` (set `USERS=100000` for a quick run)
//!
//! Builds the org in a fresh store (synthetic people with 7 attributes), then asks for
//! pages of 50 users filtered by department, each from a random cursor, as the API
//! does (the page and its `total`), then pages of a `q=` search (a name prefix of two
//! or three letters, or a phone prefix of 6 to 9 digits, of a random user), and
//! prints p50/p99 of each and peak memory.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use steward_app::synthetic::{People, attribute_defs};
use steward_domain::{
    AttributeChanges, AttributeKey, AttributeValue, Org, OrgId, OrgName, PersonName, Plan, Region,
    UserSource, UserUpsert,
};
use steward_store::UserQuery;
use steward_store::prelude::*;
use steward_store_sqlite::SqliteStore;

const DEPARTMENTS: [&str; 8] = [
    "Engineering",
    "Sales",
    "Marketing",
    "Support",
    "Finance",
    "Operations",
    "HR",
    "Legal",
];

fn main() {
    let users: usize = std::env::var("USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Arc::new(SqliteStore::open_dir(dir.path()).expect("a store"));
    let org = Org {
        id: OrgId::new(),
        name: OrgName::parse("Bench").expect("a name"),
        region: Region::parse("IN").expect("a region"),
        plan: Plan::Enterprise,
        created_at: Utc::now(),
    };
    store.create_org(&org).expect("create org");
    let defs = attribute_defs();
    store.put_attribute_defs(org.id, &defs).expect("schema");

    let start = Instant::now();
    let mut people = People::new(1);
    let mut phones = Vec::with_capacity(users);
    let mut names = Vec::with_capacity(users);
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..users {
        let p = people.next_person();
        let attributes: AttributeChanges = defs
            .iter()
            .zip(&p.cells()[2..])
            .map(|(def, cell)| {
                (
                    def.key.clone(),
                    AttributeValue::parse(def.ty, cell).expect("valid"),
                )
            })
            .collect();
        phones.push(p.phone.as_str().to_owned());
        names.push(p.name.clone());
        batch.push(UserUpsert {
            phone: p.phone,
            name: PersonName::parse(&p.name).expect("a name"),
            source: UserSource::Upload,
            attributes,
        });
        if batch.len() == 10_000 || i + 1 == users {
            store
                .upsert_users(org.id, &batch, Utc::now())
                .expect("insert");
            batch.clear();
        }
    }
    println!(
        "built an org of {users} users in {:.1} s",
        start.elapsed().as_secs_f64()
    );

    let department = AttributeKey::parse("department").expect("a key");
    let mut rng = StdRng::seed_from_u64(3);
    let mut timings = Vec::new();
    for round in 0..520 {
        let value = DEPARTMENTS[rng.random_range(0..DEPARTMENTS.len())];
        let after =
            (rng.random_bool(0.8)).then(|| phones[rng.random_range(0..phones.len())].clone());
        let query = UserQuery {
            limit: 50,
            after,
            attribute_filters: vec![(department.clone(), AttributeValue::String(value.into()))],
            ..UserQuery::default()
        };
        let t = Instant::now();
        let page = store.list_users(org.id, &query).expect("a page");
        let elapsed = t.elapsed();
        assert!(
            page.items
                .iter()
                .all(|u| u.attributes.get(&department)
                    == Some(&AttributeValue::String(value.into())))
        );
        if round >= 20 {
            timings.push(elapsed.as_secs_f64() * 1000.0);
        }
    }
    print_timings("page of 50 with filter.department", &mut timings);

    let mut name_timings = Vec::new();
    let mut phone_timings = Vec::new();
    for round in 0..1040 {
        let i = rng.random_range(0..users);
        let by_name = round % 2 == 0;
        let search = if by_name {
            let letters = rng.random_range(2..=3);
            names[i]
                .chars()
                .take(letters)
                .collect::<String>()
                .to_lowercase()
        } else {
            let digits = rng.random_range(6..=9);
            phones[i].chars().skip(1).take(digits).collect()
        };
        let query = UserQuery {
            limit: 50,
            search: Some(search.clone()),
            ..UserQuery::default()
        };
        let t = Instant::now();
        let page = store.list_users(org.id, &query).expect("a page");
        let elapsed = t.elapsed().as_secs_f64() * 1000.0;
        assert!(page.total >= 1, "{search:?} finds the user it came from");
        if round >= 40 {
            if by_name {
                name_timings.push(elapsed);
            } else {
                phone_timings.push(elapsed);
            }
        }
    }
    print_timings("q= name prefix (2-3 letters)", &mut name_timings);
    print_timings("q= phone prefix (6-9 digits)", &mut phone_timings);
    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0);
    println!("peak RSS: {rss:.0} MiB");
}

fn print_timings(what: &str, timings: &mut [f64]) {
    timings.sort_by(f64::total_cmp);
    let at = |q: f64| timings[((timings.len() as f64 * q) as usize).min(timings.len() - 1)];
    println!(
        "{what}, {} queries after warm-up: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        timings.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

//! Phone parsing speed: ours against the `phonenumber` crate, on one and two threads.
//!
//! `cargo bench -p steward-domain --bench phone`
//!
//! The input mixes the ways real files write numbers (E.164, spaced, dashed, dotted,
//! parentheses, national with a trunk prefix, international dialling prefix) across 20
//! regions, built from libphonenumber's example numbers with their last digits varied,
//! and one in twenty missing a digit, so some are invalid, as in real files.

use std::str::FromStr;
use std::time::{Duration, Instant};

use phonenumber::metadata::DATABASE;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use steward_domain::{PhoneNumber, Region};

const REGIONS: [&str; 20] = [
    "IN", "US", "GB", "DE", "BR", "FR", "MX", "ID", "NG", "ZA", "AU", "JP", "KE", "AE", "ES", "IT",
    "PH", "EG", "PK", "CA",
];

fn inputs(count: usize) -> Vec<(String, Region)> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let region_id = REGIONS[rng.random_range(0..REGIONS.len())];
        let meta = DATABASE.by_id(region_id).expect("a known region");
        let d = meta.descriptors();
        let desc = if rng.random_bool(0.7) {
            d.mobile()
        } else {
            d.fixed_line()
        };
        let Some(example) = desc.and_then(|d| d.example()) else {
            continue;
        };
        let mut nsn: Vec<u8> = example.bytes().collect();
        let tail = nsn.len().saturating_sub(4);
        for digit in &mut nsn[tail..] {
            *digit = b'0' + rng.random_range(0..10u8);
        }
        // One in twenty loses a digit, as damaged rows do.
        if rng.random_bool(0.05) {
            nsn.pop();
        }
        let nsn = String::from_utf8(nsn).expect("digits");
        let cc = meta.country_code();
        let trunk = meta.national_prefix().unwrap_or("");
        let (a, b) = nsn.split_at(nsn.len() / 2);
        let home = Region::parse(region_id).expect("a known region");
        let elsewhere = Region::parse(REGIONS[rng.random_range(0..REGIONS.len())]).expect("known");
        let (text, region) = match rng.random_range(0..7) {
            0 => (format!("+{cc}{nsn}"), elsewhere),
            1 => (format!("+{cc} {a} {b}"), elsewhere),
            2 => (format!("+{cc}-{a}-{b}"), elsewhere),
            3 => (format!("({trunk}{a}) {b}"), home),
            4 => (format!("{trunk}{a} {b}"), home),
            5 => (format!("{trunk}{a}.{b}"), home),
            _ => (format!("00 {cc} {a} {b}"), Region::parse("GB").expect("GB")),
        };
        out.push((text, region));
    }
    out
}

fn ours(batch: &[(String, Region)]) -> usize {
    batch
        .iter()
        .filter(|(raw, region)| PhoneNumber::parse(raw, *region).is_ok())
        .count()
}

/// The importer's lenient entry point, on the same (undamaged by spreadsheets) input.
fn ours_repairing(batch: &[(String, Region)]) -> usize {
    batch
        .iter()
        .filter(|(raw, region)| PhoneNumber::parse_repairing(raw, *region).is_ok())
        .count()
}

fn theirs(batch: &[(String, Region)]) -> usize {
    batch
        .iter()
        .filter(|(raw, region)| {
            let id = phonenumber::country::Id::from_str(region.as_str()).expect("known");
            phonenumber::parse(Some(id), raw).is_ok_and(|n| phonenumber::is_valid(&n))
        })
        .count()
}

/// Numbers per second over `reps` runs (median), on `threads` threads.
fn rate(
    batch: &[(String, Region)],
    threads: usize,
    reps: usize,
    f: fn(&[(String, Region)]) -> usize,
) -> (f64, usize) {
    let mut rates = Vec::new();
    let mut valid = 0;
    for _ in 0..reps {
        let start = Instant::now();
        valid = std::thread::scope(|s| {
            let chunks: Vec<_> = batch.chunks(batch.len().div_ceil(threads)).collect();
            let handles: Vec<_> = chunks.into_iter().map(|c| s.spawn(move || f(c))).collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("no panic"))
                .sum()
        });
        rates.push(batch.len() as f64 / start.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    (rates[rates.len() / 2], valid)
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let all = inputs(200_000);
    let sample = &all[..20_000];
    let start = Instant::now();
    let warm = ours(sample);
    let cold: Duration = start.elapsed();
    println!(
        "inputs: {} mixed ({} regions); ours warm-up (compiles 20 regions' patterns): {:.0} ms",
        all.len(),
        REGIONS.len(),
        cold.as_secs_f64() * 1000.0
    );
    theirs(&sample[..2_000]);

    let (ours_1, valid) = rate(&all, 1, 5, ours);
    let (ours_2, _) = rate(&all, 2, 5, ours);
    let (repairing_1, _) = rate(&all, 1, 5, ours_repairing);
    let (repairing_2, _) = rate(&all, 2, 5, ours_repairing);
    let (crate_1, crate_valid) = rate(sample, 1, 3, theirs);
    let (crate_2, _) = rate(sample, 2, 3, theirs);
    let share = |v: usize, n: usize| 100.0 * v as f64 / n as f64;
    println!(
        "valid: ours {:.1}% of {}, crate {:.1}% of {} (first 20k; warm-up agreed on {warm})",
        share(valid, all.len()),
        all.len(),
        share(crate_valid, sample.len()),
        sample.len()
    );
    println!(
        "{:<28} {:>14} {:>14}",
        "numbers/s (median)", "1 thread", "2 threads"
    );
    println!(
        "{:<28} {:>14.0} {:>14.0}",
        "steward PhoneNumber::parse", ours_1, ours_2
    );
    println!(
        "{:<28} {:>14.0} {:>14.0}",
        "steward parse_repairing", repairing_1, repairing_2
    );
    println!(
        "{:<28} {:>14.0} {:>14.0}",
        "phonenumber parse+is_valid", crate_1, crate_2
    );
    println!(
        "{:<28} {:>13.1}x {:>13.1}x",
        "ratio ours/crate",
        ours_1 / crate_1,
        ours_2 / crate_2
    );
    println!("peak RSS: {:.0} MiB", peak_rss_mib());
}

//! What the server benchmarks share: their knobs, how they run clients and how they
//! report latencies.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Latencies of one kind of request in one phase, and how many failed.
#[derive(Default)]
pub struct Samples {
    pub micros: Vec<u64>,
    pub errors: u64,
}

impl Samples {
    /// Counts a request begun at `started`: its latency if it succeeded, else an error.
    pub fn record(&mut self, started: Instant, ok: bool) {
        if ok {
            self.micros.push(started.elapsed().as_micros() as u64);
        } else {
            self.errors += 1;
        }
    }

    pub fn report(&mut self, what: &str) -> String {
        self.micros.sort_unstable();
        let at = |q: f64| {
            self.micros
                .get(((self.micros.len() as f64 - 1.0) * q).round() as usize)
                .map_or(0.0, |us| *us as f64 / 1000.0)
        };
        format!(
            "{what:<7} {:>7} done  p50 {:>8.1} ms  p99 {:>8.1} ms  max {:>8.1} ms  errors {}",
            self.micros.len(),
            at(0.5),
            at(0.99),
            self.micros.last().map_or(0.0, |us| *us as f64 / 1000.0),
            self.errors
        )
    }
}

#[derive(Default)]
pub struct Phase {
    pub reads: Samples,
    pub writes: Samples,
}

/// Runs `clients` client tasks, `client(n, stop)` each, until `done` ends; answers their
/// samples merged.
pub async fn run_clients<F>(
    clients: u64,
    client: impl Fn(u64, Arc<AtomicBool>) -> F,
    done: impl Future<Output = ()>,
) -> Phase
where
    F: Future<Output = Phase> + Send + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..clients)
        .map(|n| tokio::spawn(client(n, stop.clone())))
        .collect();
    done.await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Phase::default();
    for task in tasks {
        let phase = task.await.expect("a client task");
        all.reads.micros.extend(phase.reads.micros);
        all.reads.errors += phase.reads.errors;
        all.writes.micros.extend(phase.writes.micros);
        all.writes.errors += phase.writes.errors;
    }
    all
}

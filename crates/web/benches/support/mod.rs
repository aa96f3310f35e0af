//! What the server benchmarks share: their knobs and how they report latencies.

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

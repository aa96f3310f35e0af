//! The write gate: this process's writers to one database file take turns in the order
//! they arrived.
//!
//! SQLite lets one writer at a time into a file, and a writer that finds the lock taken
//! sleeps and tries again (the busy handler), with sleeps growing to 100 ms. That is
//! unfair: a writer that commits and begins again at once (an import's steps, a purge's
//! batches) takes the lock back before a sleeper wakes, so an API write could wait
//! behind many steps in a row. Every write transaction of this process
//! ([`crate::write_on`], and the few statements that write outside one) first takes its
//! turn at the file's gate, a ticket queue: the writer that has waited longest goes
//! next, woken the moment the lock is released. Other processes (the CLI beside the
//! server) still meet this one through SQLite's busy handler.
//!
//! A writer that has waited [`WAIT`] for its turn goes on without it, to SQLite's busy
//! handler, as before the gate: a writer nested in another file's write transaction
//! can then never deadlock on the gates.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

use r2d2_sqlite::rusqlite::Connection;

/// How long a writer waits for its turn before it goes to SQLite's busy handler (the
/// connections' busy timeout is the same).
const WAIT: Duration = Duration::from_secs(30);

/// One file's queue of writers.
#[derive(Default)]
pub struct Gate {
    turns: Mutex<Turns>,
    changed: Condvar,
}

#[derive(Default)]
struct Turns {
    /// The next ticket to hand out.
    next: u64,
    /// The ticket whose turn it is (its holder may be writing).
    serving: u64,
    /// Tickets whose holders stopped waiting: their turns are skipped.
    abandoned: BTreeSet<u64>,
}

/// A writer's turn at its file's gate, until dropped. `None` inside when the writer
/// went on without its turn.
pub struct Turn {
    gate: Option<Arc<Gate>>,
}

impl Gate {
    fn turns(&self) -> MutexGuard<'_, Turns> {
        // The state stays consistent whatever panicked while holding it.
        self.turns.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a ticket's turn, at most [`WAIT`]; whether it came.
    fn wait(&self) -> bool {
        let mut turns = self.turns();
        let ticket = turns.next;
        turns.next += 1;
        let deadline = Instant::now() + WAIT;
        while turns.serving != ticket {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                turns.abandoned.insert(ticket);
                return false;
            }
            turns = self
                .changed
                .wait_timeout(turns, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// Ends the current turn and hands it to the next waiting ticket.
    fn pass(&self) {
        let mut turns = self.turns();
        turns.serving += 1;
        loop {
            let serving = turns.serving;
            if !turns.abandoned.remove(&serving) {
                break;
            }
            turns.serving += 1;
        }
        drop(turns);
        self.changed.notify_all();
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(gate) = self.gate.take() {
            gate.pass();
        }
    }
}

/// The gates of the files with writers now, by path; a gate lives while a writer holds
/// or waits for it.
fn gates() -> &'static Mutex<HashMap<String, Weak<Gate>>> {
    static GATES: OnceLock<Mutex<HashMap<String, Weak<Gate>>>> = OnceLock::new();
    GATES.get_or_init(Mutex::default)
}

fn gate_of(path: &str) -> Arc<Gate> {
    let mut gates = gates().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(gate) = gates.get(path).and_then(Weak::upgrade) {
        return gate;
    }
    gates.retain(|_, gate| gate.strong_count() > 0);
    let gate = Arc::new(Gate::default());
    gates.insert(path.to_owned(), Arc::downgrade(&gate));
    gate
}

/// Waits for this writer's turn to write to `conn`'s file (an in-memory database has
/// no gate). Take it before `BEGIN IMMEDIATE` (or a statement that writes by itself)
/// and drop it after the commit.
pub fn turn(conn: &Connection) -> Turn {
    let gate = match conn.path() {
        Some(path) if !path.is_empty() => gate_of(path),
        _ => return Turn { gate: None },
    };
    if gate.wait() {
        Turn { gate: Some(gate) }
    } else {
        tracing::warn!(
            file = conn.path().unwrap_or_default(),
            "waited {WAIT:?} for a turn to write; going on to SQLite's busy handler"
        );
        Turn { gate: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn writers_take_turns_in_arrival_order() {
        let gate = Arc::new(Gate::default());
        assert!(gate.wait());
        let (order, arrivals) = mpsc::channel();
        let mut waiting = Vec::new();
        for n in 0..4 {
            let mine = gate.clone();
            let order = order.clone();
            waiting.push(std::thread::spawn(move || {
                assert!(mine.wait());
                order.send(n).unwrap();
                mine.pass();
            }));
            // Each has its ticket before the next arrives.
            while gate.turns().next != n + 2 {
                std::thread::yield_now();
            }
        }
        gate.pass();
        for thread in waiting {
            thread.join().unwrap();
        }
        drop(order);
        assert_eq!(arrivals.iter().collect::<Vec<_>>(), vec![0, 1, 2, 3]);
    }

    #[test]
    fn an_abandoned_ticket_is_skipped() {
        let gate = Gate::default();
        assert!(gate.wait());
        {
            let mut turns = gate.turns();
            turns.abandoned.insert(1);
            turns.next = 2;
        }
        gate.pass();
        assert_eq!(gate.turns().serving, 2);
        assert!(gate.wait());
    }
}

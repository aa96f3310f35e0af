//! The write gate: this process's writers to one database file take turns in the order
//! they arrived.
//!
//! SQLite lets one writer at a time into a file, and a writer that finds the lock taken
//! sleeps and tries again (the busy handler), with sleeps growing to 100 ms. That is
//! unfair: a writer that commits and begins again at once (an import's steps, a purge's
//! batches) takes the lock back before a sleeper wakes, so an API write could wait
//! behind many steps in a row. Every write transaction of this process
//! ([`crate::write_on`], and the few statements that write outside one) first takes its
//! turn at the file's gate, a fair mutex (`parking_lot::FairMutex`: an unlock hands the
//! lock to the writer that has waited longest). Other processes (the CLI beside the
//! server) still meet this one through SQLite's busy handler.
//!
//! A writer that has waited [`WAIT`] for its turn goes on without it, to SQLite's busy
//! handler, as before the gate: a writer nested in another file's write transaction
//! can then never deadlock on the gates.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use parking_lot::{FairMutex, RawFairMutex, lock_api::ArcMutexGuard};
use r2d2_sqlite::rusqlite::Connection;

/// How long a writer waits for its turn before it goes to SQLite's busy handler (the
/// connections' busy timeout is the same).
const WAIT: Duration = Duration::from_secs(30);

type Gate = FairMutex<()>;

/// A writer's turn at its file's gate, until dropped. `None` inside when the writer
/// went on without its turn (or the database is in memory).
pub struct Turn {
    _turn: Option<ArcMutexGuard<RawFairMutex, ()>>,
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
    let gate = Arc::new(Gate::new(()));
    gates.insert(path.to_owned(), Arc::downgrade(&gate));
    gate
}

/// Waits for this writer's turn to write to `conn`'s file (an in-memory database has
/// no gate). Take it before `BEGIN IMMEDIATE` (or a statement that writes by itself)
/// and drop it after the commit.
pub fn turn(conn: &Connection) -> Turn {
    let gate = match conn.path() {
        Some(path) if !path.is_empty() => gate_of(path),
        _ => return Turn { _turn: None },
    };
    let turn = gate.try_lock_arc_for(WAIT);
    if turn.is_none() {
        tracing::warn!(
            file = conn.path().unwrap_or_default(),
            "waited {WAIT:?} for a turn to write; going on to SQLite's busy handler"
        );
    }
    Turn { _turn: turn }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_writer_at_a_time_per_file_and_files_apart() {
        let dir = tempfile::tempdir().unwrap();
        let open = |name: &str| Connection::open(dir.path().join(name)).unwrap();
        let (a, b) = (open("a.db"), open("b.db"));
        let first = turn(&a);
        assert!(first._turn.is_some());
        assert!(gate_of(a.path().unwrap()).is_locked(), "a's gate is held");
        assert!(!gate_of(b.path().unwrap()).is_locked(), "b's is not");
        let other = turn(&b);
        assert!(other._turn.is_some());
        drop(first);
        assert!(!gate_of(a.path().unwrap()).is_locked(), "given back");
    }
}

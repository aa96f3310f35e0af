//! Checks of sign-in throttles: counted and checked atomically, per key, per window.

use chrono::Duration;
use steward_store::Store;

use crate::t0;

pub fn a_throttle_counts_up_to_its_limit_per_key_and_window(store: &dyn Store) {
    let window = Duration::minutes(15);
    let hit = |key: &str, minutes: i64| {
        let now = t0() + Duration::minutes(minutes);
        store.throttle_hit(key, now - window, 3, now).unwrap()
    };
    assert_eq!(
        (0..5).map(|_| hit("login:a", 0)).collect::<Vec<_>>(),
        [true, true, true, false, false],
        "three attempts, then refused (and refused ones are not counted)"
    );
    assert!(hit("login:b", 1), "another key has its own count");
    assert!(!hit("login:a", 14), "the window lasts 15 minutes");
    assert!(hit("login:a", 15), "then a new window starts");
    assert!(hit("login:a", 16));
    assert!(hit("login:a", 17));
    assert!(!hit("login:a", 18));
}

pub fn a_released_attempt_is_given_back_once(store: &dyn Store) {
    let window = Duration::hours(1);
    let now = t0();
    let hit = || store.throttle_hit("otp:ip", now - window, 2, now).unwrap();
    assert!(hit() && hit());
    assert!(!hit());
    store.throttle_release("otp:ip", now).unwrap();
    assert!(hit(), "one attempt given back");
    assert!(!hit());
    // Releasing a key with nothing counted does nothing.
    store.throttle_release("nobody", now).unwrap();
    assert!(store.throttle_hit("nobody", now - window, 1, now).unwrap());
    assert!(!store.throttle_hit("nobody", now - window, 1, now).unwrap());
}

/// `store` must be shareable across threads: concurrent hits never exceed the limit.
pub fn concurrent_hits_never_get_more_than_the_limit_through(store: &dyn Store) {
    let window = Duration::hours(1);
    let now = t0();
    let allowed = std::sync::atomic::AtomicU32::new(0);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..25 {
                    if store.throttle_hit("ip:1", now - window, 50, now).unwrap() {
                        allowed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
            });
        }
    });
    assert_eq!(allowed.into_inner(), 50);
}

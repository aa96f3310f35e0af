//! The conformance suite every Steward store backend must pass.
//!
//! Each check is a plain function over `&dyn Store`, written against the interface
//! only, and named as the sentence it asserts. The checks of each area live in its
//! module. A backend runs them all with
//! [`conformance_tests!`], giving a factory that returns a fresh, empty store and a
//! guard that owns its storage (a temporary directory, say): the store is dropped
//! first, then the guard, so a test run leaves nothing behind.
//!
//! ```ignore
//! steward_store_conformance::conformance_tests!(|| {
//!     let dir = tempfile::tempdir().unwrap();
//!     (open_store(dir.path()), dir)
//! });
//! ```

// This crate is test code: a failed unwrap is a failed check.
#![allow(clippy::unwrap_used)]

mod archive;
mod audit;
mod content;
mod deletion;
mod groups;
mod jobs;
mod lifecycle;
mod orgs;
mod sessions;
mod throttles;
mod users;

pub use archive::*;
pub use audit::*;
pub use content::*;
pub use deletion::*;
pub use groups::*;
pub use jobs::*;
pub use lifecycle::*;
pub use orgs::*;
pub use sessions::*;
pub use throttles::*;
pub use users::*;

use chrono::{DateTime, Duration, TimeZone, Utc};
use steward_domain::{
    Account, AccountId, AttributeChanges, AttributeKey, AttributeValue, Attributes, Email, Org,
    OrgId, OrgName, PersonName, PhoneNumber, Plan, Region, Session, SessionOwner, UserSource,
    UserUpsert,
};
use steward_store::{Store, TokenHash};

/// Generates one `#[test]` per conformance check, each on a fresh store.
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr) => {
        $crate::conformance_tests!(@each $factory;
            orgs_read_back_as_written,
            an_org_changes_plan_and_no_other_org_does,
            tokens_are_found_by_their_hash_alone,
            attribute_schema_is_replaced_whole_and_keeps_its_order,
            upsert_creates_then_leaves_equal_rows_unchanged_then_updates,
            users_of_one_org_are_invisible_to_another,
            user_lists_page_by_phone_with_a_cursor_and_search,
            jobs_are_claimed_oldest_first_and_only_once,
            a_named_job_is_claimed_or_nothing,
            a_job_whose_lease_expired_is_claimed_again,
            a_worker_that_lost_its_lease_cannot_commit,
            a_job_step_commits_its_writes_and_checkpoint_together,
            a_failed_step_keeps_nothing,
            classifying_rows_answers_like_an_upsert_and_writes_nothing,
            a_job_lists_the_outputs_it_recorded_in_its_own_org,
            job_files_expire_per_org_and_are_found_once_due_until_marked_deleted,
            counts_of_any_names_read_back_in_order,
            an_idempotency_key_gives_back_the_job_that_holds_it,
            canceling_a_queued_job_ends_it_and_a_running_job_is_asked_to_stop,
            jobs_of_another_org_are_invisible,
            a_job_is_found_by_its_id_alone_whatever_its_org,
            queued_and_running_jobs_are_counted_per_org_and_kind,
            content_cannot_point_across_orgs,
            messages_list_newest_first_with_a_cursor_and_are_read_within_their_org,
            attachments_are_stored_only_on_a_message_of_their_org,
            actions_and_connectors_are_listed_and_read_by_kind_within_their_org,
            items_are_published_to_groups_of_their_org_and_unpublished_once,
            a_group_report_counts_members_activity_and_content_of_that_group_alone,
            telemetry_is_recorded_for_the_org_named_only,
            audit_events_are_appended_per_org,
            audit_events_list_newest_first_with_filters_and_a_cursor,
            accounts_are_found_by_email_in_any_case_and_unique,
            disabling_an_account_ends_its_sessions_but_only_in_its_own_org,
            sessions_are_found_touched_and_deleted_by_hash,
            a_one_time_code_is_used_once_within_its_attempts_and_lifetime,
            tokens_are_listed_and_revoked_per_org,
            a_phone_is_found_in_every_org_and_its_group_roles_per_org,
            the_sms_outbox_lists_newest_first,
            a_user_is_created_once_and_updated_in_place,
            an_attribute_schema_save_removes_and_rewrites_values,
            groups_are_updated_and_their_members_managed_within_one_org,
            user_lists_filter_by_attribute_values_and_sort_by_name_with_a_cursor,
            a_throttle_counts_up_to_its_limit_per_key_and_window,
            a_released_attempt_is_given_back_once,
            concurrent_hits_never_get_more_than_the_limit_through,
            a_lease_taken_during_a_step_never_lets_the_step_be_done_twice,
            an_unknown_org_has_no_data_and_takes_no_writes,
            a_snapshot_keeps_the_org_as_it_was_when_opened_whatever_is_written_after,
            a_snapshot_reads_every_kind_of_its_org_alone_in_the_named_columns,
            a_per_user_read_keeps_their_rows_and_names_no_one_else,
            a_date_range_selects_dated_rows_and_reads_state_whole,
            beginning_an_org_deletion_hides_it_and_ends_its_credentials_alone,
            a_deleted_org_forgets_its_phones_and_leaves_only_its_receipt,
            deleting_a_user_hides_their_org_content_and_a_restore_brings_it_back_exactly,
            a_purge_removes_a_deleted_users_rows_in_steps_then_the_user_with_a_receipt,
            a_purge_walks_the_attachments_batch_after_batch_in_message_order,
            a_legal_hold_refuses_purge_steps_until_it_is_removed,
            the_purge_window_salt_and_schedule_are_kept_per_org,
        );
    };
    (@each $factory:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                let (store, guard) = ($factory)();
                $crate::$check(&store);
                // The store lets go of its storage before the guard removes it.
                drop(store);
                drop(guard);
            }
        )*
    };
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0)
        .single()
        .expect("a valid date")
}

fn new_org(store: &dyn Store, name: &str) -> Org {
    let org = Org {
        id: OrgId::new(),
        name: OrgName::parse(name).expect("a valid name"),
        region: Region::parse("IN").expect("a known region"),
        plan: Plan::Standard,
        created_at: t0(),
    };
    store.create_org(&org).expect("create org");
    org
}

fn phone(raw: &str) -> PhoneNumber {
    PhoneNumber::from_e164(raw).expect("a valid phone")
}

fn upsert(raw_phone: &str, name: &str, attributes: AttributeChanges) -> UserUpsert {
    UserUpsert {
        phone: phone(raw_phone),
        name: PersonName::parse(name).expect("a valid name"),
        source: UserSource::Upload,
        attributes,
    }
}

fn key(raw: &str) -> AttributeKey {
    AttributeKey::parse(raw).expect("a valid key")
}

fn set(pairs: &[(&str, AttributeValue)]) -> AttributeChanges {
    pairs
        .iter()
        .map(|(k, v)| (key(k), Some(v.clone())))
        .collect()
}

fn attrs(pairs: &[(&str, AttributeValue)]) -> Attributes {
    pairs.iter().map(|(k, v)| (key(k), v.clone())).collect()
}

/// Phones of several countries, in E.164.
const PHONES: [&str; 4] = [
    "+919876543210",
    "+919876543211",
    "+14155550123",
    "+447400123456",
];

fn new_account(store: &dyn Store, org: OrgId, email: &str) -> Account {
    let account = Account {
        id: AccountId::new(),
        org_id: org,
        email: Email::parse(email).unwrap(),
        created_at: t0(),
        disabled_at: None,
    };
    store.create_account(&account, "$argon2id$hash").unwrap();
    account
}

fn new_session(store: &dyn Store, owner: SessionOwner, hash: u8) -> TokenHash {
    let session = Session {
        owner,
        csrf_token: format!("csrf-{hash}"),
        created_at: t0(),
        last_seen_at: t0(),
        expires_at: t0() + Duration::hours(12),
    };
    store
        .create_session(&session, &TokenHash([hash; 32]))
        .unwrap();
    TokenHash([hash; 32])
}

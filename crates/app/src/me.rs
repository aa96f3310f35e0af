//! A member's own data: who they are (`GET /api/v1/me`) and deleting what is theirs
//! (`DELETE /api/v1/me`).
//!
//! The split, after the seed: a member's *consumer data* is theirs — their messages
//! (with attachments), action responses and memberships in groups that are not mapped
//! to an org — and so is their sign-in (sessions, one-time codes, the texts that
//! carried them, sign-in throttles). Self-delete removes both, in every org. What an
//! org keeps about them (their user record and attributes, their content and roles in
//! org groups, the actions and connectors they made for the org, the audit log) stays
//! under that org's control: an org admin deletes it (`DELETE .../users/{phone}`), or
//! it goes with the org.

use steward_domain::Counts;

use crate::audit::{self, AuditContext};
use crate::security::{Principal, Proof, throttle_keys_of};
use crate::{App, AppError, AppResult};

/// What a self-delete removed, summed over every org.
#[derive(Clone, Debug, Default)]
pub struct SelfDeletion {
    /// `messages`, `attachments`, `responses`, `memberships` (consumer content), and
    /// `sessions`, `sign_in_codes`, `text_messages`, `throttles` (sign-in).
    pub removed: Counts,
    /// How many orgs keep a record of the member (under their own control).
    pub orgs_keeping_records: u64,
}

/// Deletes the calling member's consumer data in every org, and their sign-in, once
/// they have confirmed with a fresh one-time code. Every org where they have content
/// gets an audit entry (their record there is the org's).
pub fn delete_me(
    app: &App,
    principal: &Principal,
    proof: Proof<'_>,
    ctx: &AuditContext,
) -> AppResult<SelfDeletion> {
    let Principal::Member(phone) = principal else {
        return Err(AppError::Forbidden(
            "only a member signed in with their phone deletes their own data here; admin accounts and API tokens are removed by an org admin".into(),
        ));
    };
    proof.check(app)?;
    let mut result = SelfDeletion::default();
    for user in app.store.find_users_by_phone(phone)? {
        let (removed, blobs) = app.store.delete_consumer_content(user.org_id, user.id)?;
        // The rows are gone first: a crash here leaves a file no row points to, never
        // a row pointing to no file.
        for key in &blobs {
            app.blobs.delete(key)?;
        }
        let summary: Vec<String> = removed.iter().map(|(k, n)| format!("{k} {n}")).collect();
        audit::record(
            app,
            ctx,
            user.org_id,
            "me.delete",
            phone.as_str(),
            &format!("ok: consumer content removed ({})", summary.join(", ")),
        )?;
        result.removed.add_all(&removed);
        result.orgs_keeping_records += 1;
    }
    let signed_out = app.store.forget_sign_in(phone, &throttle_keys_of)?;
    result.removed.add_all(&signed_out);
    Ok(result)
}

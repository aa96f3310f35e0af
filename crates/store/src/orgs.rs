//! Orgs and their credentials: the orgs themselves, API tokens and admin accounts.

use chrono::{DateTime, Utc};
use steward_domain::{Account, AccountId, ApiToken, Org, OrgId, Plan, TokenId};

use crate::{StoreResult, TokenHash};

/// Orgs, API tokens and admin accounts.
pub trait OrgStore {
    fn create_org(&self, org: &Org) -> StoreResult<()>;
    fn get_org(&self, id: OrgId) -> StoreResult<Option<Org>>;
    fn find_orgs_by_name(&self, name: &str) -> StoreResult<Vec<Org>>;
    /// Puts the org on `plan`; false if there is no such org.
    fn set_org_plan(&self, id: OrgId, plan: Plan) -> StoreResult<bool>;
    fn create_api_token(&self, token: &ApiToken, hash: &TokenHash) -> StoreResult<()>;
    fn find_api_token(&self, hash: &TokenHash) -> StoreResult<Option<ApiToken>>;
    fn touch_api_token(&self, id: TokenId, at: DateTime<Utc>) -> StoreResult<()>;
    fn list_api_tokens(&self, org: OrgId) -> StoreResult<Vec<ApiToken>>;
    /// Revokes a token of the org; false if there is none.
    fn revoke_api_token(&self, org: OrgId, id: TokenId, at: DateTime<Utc>) -> StoreResult<bool>;

    fn create_account(&self, account: &Account, password_hash: &str) -> StoreResult<()>;
    /// The account with this email, and its password hash.
    fn find_account_by_email(&self, email: &str) -> StoreResult<Option<(Account, String)>>;
    fn get_account(&self, id: AccountId) -> StoreResult<Option<Account>>;
    /// Disables an account of the org and ends its sessions; false if there is none.
    fn disable_account(&self, org: OrgId, id: AccountId, at: DateTime<Utc>) -> StoreResult<bool>;
}

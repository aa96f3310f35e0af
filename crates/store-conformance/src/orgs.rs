//! Checks of orgs and their credentials: orgs, API tokens and admin accounts.

use chrono::Duration;
use steward_domain::{Account, AccountId, ApiToken, OrgId, Plan, Role, SessionOwner, TokenId};
use steward_store::{Store, StoreError, TokenHash};

use crate::{new_account, new_org, new_session, t0};

pub fn orgs_read_back_as_written(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    assert_eq!(store.get_org(org.id).unwrap(), Some(org.clone()));
    assert_eq!(store.find_orgs_by_name("Contoso").unwrap(), vec![org]);
    assert_eq!(store.get_org(OrgId::new()).unwrap(), None);
    store.ping().unwrap();
}

pub fn an_org_changes_plan_and_no_other_org_does(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let other = new_org(store, "Fabrikam");
    assert!(store.set_org_plan(org.id, Plan::Free).unwrap());
    assert_eq!(
        store.get_org(org.id).unwrap().map(|o| o.plan),
        Some(Plan::Free)
    );
    assert!(store.set_org_plan(org.id, Plan::Enterprise).unwrap());
    assert_eq!(
        store.get_org(org.id).unwrap().map(|o| o.plan),
        Some(Plan::Enterprise)
    );
    assert_eq!(store.get_org(other.id).unwrap(), Some(other));
    assert!(!store.set_org_plan(OrgId::new(), Plan::Free).unwrap());
}

pub fn tokens_are_found_by_their_hash_alone(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let token = ApiToken {
        id: TokenId::new(),
        org_id: org.id,
        role: Role::OrgAdmin,
        label: "ci".into(),
        created_at: t0(),
        expires_at: None,
        last_used_at: None,
        revoked_at: None,
    };
    let hash = TokenHash([7; 32]);
    store.create_api_token(&token, &hash).unwrap();
    assert_eq!(store.find_api_token(&hash).unwrap(), Some(token.clone()));
    assert_eq!(store.find_api_token(&TokenHash([8; 32])).unwrap(), None);
    store
        .touch_api_token(token.id, t0() + Duration::hours(1))
        .unwrap();
    let used = store.find_api_token(&hash).unwrap().unwrap();
    assert_eq!(used.last_used_at, Some(t0() + Duration::hours(1)));
    let again = ApiToken {
        id: TokenId::new(),
        ..token
    };
    assert!(matches!(
        store.create_api_token(&again, &hash),
        Err(StoreError::Conflict(_))
    ));
}

pub fn tokens_are_listed_and_revoked_per_org(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let other = new_org(store, "Fabrikam");
    let token = ApiToken {
        id: TokenId::new(),
        org_id: org.id,
        role: Role::OrgAdmin,
        label: "ci".into(),
        created_at: t0(),
        expires_at: None,
        last_used_at: None,
        revoked_at: None,
    };
    store.create_api_token(&token, &TokenHash([5; 32])).unwrap();
    assert_eq!(store.list_api_tokens(org.id).unwrap(), vec![token.clone()]);
    assert_eq!(store.list_api_tokens(other.id).unwrap(), vec![]);
    assert!(!store.revoke_api_token(other.id, token.id, t0()).unwrap());
    assert!(store.revoke_api_token(org.id, token.id, t0()).unwrap());
    let revoked = store.find_api_token(&TokenHash([5; 32])).unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(t0()));
    assert!(!revoked.is_usable_at(t0()));
}

pub fn accounts_are_found_by_email_in_any_case_and_unique(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let account = new_account(store, org.id, "ada@contoso.example");
    let (found, hash) = store
        .find_account_by_email("ADA@Contoso.example ")
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.clone(), hash.as_str()),
        (account.clone(), "$argon2id$hash")
    );
    assert_eq!(store.get_account(account.id).unwrap(), Some(account));
    assert_eq!(
        store.find_account_by_email("bob@contoso.example").unwrap(),
        None
    );
    let other = new_org(store, "Fabrikam");
    let twin = Account {
        id: AccountId::new(),
        org_id: other.id,
        ..found
    };
    assert!(matches!(
        store.create_account(&twin, "h"),
        Err(StoreError::Conflict(_))
    ));
}

pub fn disabling_an_account_ends_its_sessions_but_only_in_its_own_org(store: &dyn Store) {
    let org = new_org(store, "Contoso");
    let other = new_org(store, "Fabrikam");
    let account = new_account(store, org.id, "ada@contoso.example");
    let session = new_session(store, SessionOwner::Account(account.id), 1);
    assert!(!store.disable_account(other.id, account.id, t0()).unwrap());
    assert!(
        store.find_session(&session).unwrap().is_some(),
        "another org cannot touch it"
    );
    assert!(store.disable_account(org.id, account.id, t0()).unwrap());
    assert_eq!(store.find_session(&session).unwrap(), None);
    assert_eq!(
        store.get_account(account.id).unwrap().unwrap().disabled_at,
        Some(t0())
    );
}

/// An org that does not exist (never created, or deleted) holds nothing and takes no
/// writes; reading it creates nothing either.
pub fn an_unknown_org_has_no_data_and_takes_no_writes(store: &dyn Store) {
    let known = new_org(store, "Contoso");
    let unknown = OrgId::new();
    assert_eq!(store.attribute_defs(unknown).unwrap(), vec![]);
    assert_eq!(store.count_users(unknown).unwrap(), 0);
    let page = store
        .list_users(
            unknown,
            &steward_store::UserQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!((page.items.len(), page.total), (0, 0));
    assert_eq!(store.list_groups(unknown).unwrap(), vec![]);
    let someone = crate::upsert(crate::PHONES[0], "Asha", Default::default());
    assert!(store.create_user(unknown, &someone, t0()).is_err());
    assert!(
        store
            .upsert_users(unknown, std::slice::from_ref(&someone), t0())
            .is_err()
    );
    assert_eq!(store.find_users_by_phone(&someone.phone).unwrap(), vec![]);
    assert!(
        store
            .data_counts(unknown)
            .unwrap()
            .0
            .iter()
            .all(|(_, n)| *n == 0)
    );
    // The known org is untouched by all this.
    store.create_user(known.id, &someone, t0()).unwrap();
    assert_eq!(store.find_users_by_phone(&someone.phone).unwrap().len(), 1);
}

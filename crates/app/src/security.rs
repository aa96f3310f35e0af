//! Sign-in: admin accounts with passwords, sessions, one-time codes for members, API
//! token principals, and the throttles that slow down guessing.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::Duration;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use steward_domain::access::{Action, Actor, AdminTask};
use steward_domain::{
    Account, AccountId, ApiToken, Email, OrgId, OtpCode, PhoneNumber, Region, Session,
    SessionOwner, SmsMessage, User, UserStatus,
};
use steward_store::{Conflict, StoreError};

use crate::audit::{self, AuditContext};
use crate::tokens::hash_secret;
use crate::{App, AppError, AppResult, Caller};

/// Session lifetimes.
#[derive(Clone, Copy, Debug)]
pub struct SessionPolicy {
    /// A session unused this long ends.
    pub idle: Duration,
    /// A session ends this long after sign-in, however active.
    pub absolute: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle: Duration::minutes(30),
            absolute: Duration::hours(12),
        }
    }
}

/// Attempts allowed per key in one window before the key is refused. The counts live
/// in the store, checked and counted in one transaction: every process on the same
/// store shares them, concurrent attempts cannot slip past the limit, and a restart
/// lifts no lockout.
#[derive(Clone, Copy, Debug)]
pub struct Throttle {
    /// Names the throttle in the store; throttles with the same name share counts.
    name: &'static str,
    limit: u32,
    window: Duration,
}

impl Throttle {
    pub const fn new(name: &'static str, limit: u32, window: Duration) -> Throttle {
        Throttle {
            name,
            limit,
            window,
        }
    }

    /// The store's key: the throttle's name and a hash of the key, so the table holds
    /// no email, phone or IP and every key has the same short length.
    pub(crate) fn store_key(&self, key: &str) -> String {
        let digest = Sha256::digest(key.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("{}:{hex}", self.name)
    }

    /// Counts an attempt against `key`, unless the key is at its limit; true if the
    /// attempt may go ahead.
    pub fn try_hit(&self, app: &App, key: &str) -> AppResult<bool> {
        let now = app.clock.now();
        Ok(app
            .store
            .throttle_hit(&self.store_key(key), now - self.window, self.limit, now)?)
    }

    /// Gives back an attempt that turned out not to count (it succeeded).
    pub fn release(&self, app: &App, key: &str) -> AppResult<()> {
        Ok(app
            .store
            .throttle_release(&self.store_key(key), app.clock.now())?)
    }
}

/// Counts an attempt against each `(throttle, key)`; if any is at its limit, gives
/// back the ones counted and answers false.
fn try_hit_all(app: &App, checks: &[(&Throttle, &str)]) -> AppResult<bool> {
    for (i, (throttle, key)) in checks.iter().enumerate() {
        if !throttle.try_hit(app, key)? {
            for (counted, key) in &checks[..i] {
                counted.release(app, key)?;
            }
            return Ok(false);
        }
    }
    Ok(true)
}

/// The sign-in throttles' limits and windows (their counts are in the store).
#[derive(Clone, Copy, Debug)]
pub struct Throttles {
    pub login_per_account: Throttle,
    pub login_per_ip: Throttle,
    pub otp_per_phone: Throttle,
    pub otp_per_ip: Throttle,
}

impl Default for Throttles {
    fn default() -> Self {
        Throttles {
            login_per_account: Throttle::new("login-account", 5, Duration::minutes(15)),
            login_per_ip: Throttle::new("login-ip", 50, Duration::minutes(15)),
            otp_per_phone: Throttle::new("otp-phone", 5, Duration::hours(1)),
            // Code requests and wrong codes from one IP share one budget.
            otp_per_ip: Throttle::new("otp-ip", 50, Duration::hours(1)),
        }
    }
}

/// Sends text messages. The default keeps them in the store's outbox, where
/// `steward otp outbox` shows them; a real gateway implements this trait.
pub trait SmsSender: Send + Sync + 'static {
    fn send(&self, app: &App, phone: &PhoneNumber, body: &str) -> AppResult<()>;
}

/// The development sender: messages go to the outbox table.
#[derive(Debug, Default)]
pub struct OutboxSender;

impl SmsSender for OutboxSender {
    fn send(&self, app: &App, phone: &PhoneNumber, body: &str) -> AppResult<()> {
        let message = SmsMessage {
            phone: phone.clone(),
            body: body.to_owned(),
            created_at: app.clock.now(),
        };
        Ok(app.store.push_sms(&message)?)
    }
}

/// Who is calling, once their credential is checked.
#[derive(Clone, Debug, PartialEq)]
pub enum Principal {
    /// An API token: one org, one role.
    Token(ApiToken),
    /// A signed-in org admin.
    Admin(Account),
    /// A member signed in by phone; acts in each org as that org's records say.
    Member(PhoneNumber),
}

impl Principal {
    /// How the audit log names this principal.
    pub fn audit_name(&self) -> String {
        match self {
            Principal::Token(t) => format!("token:{}", t.id),
            Principal::Admin(a) => format!("account:{}", a.email),
            Principal::Member(p) => format!("user:{p}"),
        }
    }

    /// What the principal may be in `org`. Another org, or an org where a member has no
    /// active record, is not found: nothing tells it apart from a missing org.
    pub fn actor_in(&self, app: &App, org: OrgId) -> AppResult<Actor> {
        let not_found = || AppError::NotFound("org");
        match self {
            Principal::Token(t) if t.org_id == org => Ok(Actor {
                role: t.role,
                user: None,
                admin_of: Default::default(),
                member_of: Default::default(),
            }),
            Principal::Admin(a) if a.org_id == org => Ok(Actor::org_admin()),
            Principal::Member(phone) => {
                // An org being deleted is gone at once, also for a process whose
                // cache still holds its file open.
                app.store.get_org(org)?.ok_or_else(not_found)?;
                let user = app
                    .store
                    .get_user(org, phone)?
                    .filter(|u| u.status == UserStatus::Active);
                let user = user.ok_or_else(not_found)?;
                let mut admin_of = std::collections::BTreeSet::new();
                let mut member_of = std::collections::BTreeSet::new();
                for (group, role) in app.store.group_roles(org, user.id)? {
                    if role == steward_domain::GroupRole::Admin {
                        admin_of.insert(group);
                    }
                    member_of.insert(group);
                }
                Ok(Actor::person(user.id, admin_of, member_of))
            }
            _ => Err(not_found()),
        }
    }
}

/// The principal acting in `org`, as a use case's caller. An org the principal has no
/// place in is not found, exactly like one that does not exist.
pub fn caller_in(
    app: &App,
    principal: &Principal,
    org: OrgId,
    request_id: Option<String>,
    ip: Option<String>,
) -> AppResult<Caller> {
    let actor = principal.actor_in(app, org)?;
    let audit = AuditContext {
        actor: principal.audit_name(),
        request_id,
        ip,
    };
    Ok(Caller::new(org, actor, audit))
}

/// argon2id with OWASP's minimum: 19 MiB of memory, 2 iterations, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

pub(crate) fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    std::iter::once(prefix.to_owned())
        .chain(bytes.iter().map(|b| format!("{b:02x}")))
        .collect()
}

/// Adds an org admin account. Without a password, one is generated and returned.
pub fn add_admin(
    app: &App,
    caller: &Caller,
    email: &str,
    password: Option<&str>,
) -> AppResult<(Account, Option<String>)> {
    let org = caller.authorize(&Action::OrgAdminOnly(AdminTask::ManageAdmins))?;
    let email = Email::parse(email).map_err(|e| AppError::invalid("email", e))?;
    let generated = password.is_none().then(|| {
        let mut bytes = [0u8; 18];
        rand::rng().fill_bytes(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    });
    let password = password.or(generated.as_deref()).unwrap_or_default();
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::invalid(
            "password",
            format!("the password must have at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    let salt = SaltString::generate(&mut OsRng);
    let hash = argon2()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| AppError::Internal(format!("cannot hash the password: {e}")))?
        .to_string();
    let account = Account {
        id: AccountId::new(),
        org_id: org,
        email,
        created_at: app.clock.now(),
        disabled_at: None,
    };
    app.store
        .create_account(&account, &hash)
        .map_err(|e| match e {
            StoreError::Conflict(Conflict::Duplicate) => AppError::Conflict(format!(
                "an account with the email {} already exists",
                account.email
            )),
            other => other.into(),
        })?;
    let email = account.email.as_str();
    audit::record(app, caller.audit(), org, "admin.add", email, "ok")?;
    Ok((account, generated))
}

/// Disables an admin account of the org and ends its sessions at once.
pub fn disable_admin(app: &App, caller: &Caller, email: &str) -> AppResult<Account> {
    let org = caller.authorize(&Action::OrgAdminOnly(AdminTask::ManageAdmins))?;
    let account = app
        .store
        .find_account_by_email(&email.trim().to_lowercase())?
        .map(|(account, _)| account)
        .filter(|account| account.org_id == org)
        .ok_or(AppError::NotFound("admin account"))?;
    if !app
        .store
        .disable_account(org, account.id, app.clock.now())?
    {
        return Err(AppError::NotFound("admin account"));
    }
    let email = account.email.as_str();
    audit::record(app, caller.audit(), org, "admin.disable", email, "ok")?;
    Ok(account)
}

/// The most messages [`sms_outbox`] returns.
pub const MAX_OUTBOX: u32 = 1000;

/// The newest messages the built-in SMS sender kept (for the operator).
pub fn sms_outbox(app: &App, limit: u32) -> AppResult<Vec<SmsMessage>> {
    Ok(app.store.sms_outbox(limit.clamp(1, MAX_OUTBOX))?)
}

/// A new session's secret (for the cookie or bearer header) and its CSRF token.
#[derive(Debug)]
pub struct NewSession {
    pub secret: String,
    pub session: Session,
}

fn start_session(app: &App, owner: SessionOwner, policy: SessionPolicy) -> AppResult<NewSession> {
    let now = app.clock.now();
    let secret = random_secret("sts_");
    let session = Session {
        owner,
        csrf_token: random_secret(""),
        created_at: now,
        last_seen_at: now,
        expires_at: now + policy.absolute,
    };
    app.store.create_session(&session, &hash_secret(&secret))?;
    Ok(NewSession { secret, session })
}

/// The one answer to every failed sign-in, whatever the reason.
const BAD_LOGIN: &str = "the email or password is wrong";

/// Checks an admin's email and password and starts a fresh session.
pub fn login(
    app: &App,
    throttles: &Throttles,
    policy: SessionPolicy,
    email: &str,
    password: &str,
    ip: &str,
    request_id: Option<String>,
) -> AppResult<(Account, NewSession)> {
    let account_key = email.trim().to_lowercase();
    // Every attempt is counted before the password is checked, so concurrent guesses
    // cannot all pass the check; a successful one is given back below.
    let checks = [
        (&throttles.login_per_account, account_key.as_str()),
        (&throttles.login_per_ip, ip),
    ];
    if !try_hit_all(app, &checks)? {
        return Err(AppError::TooManyAttempts(
            "too many failed sign-ins; wait 15 minutes".into(),
        ));
    }
    let found = app.store.find_account_by_email(&account_key)?;
    // Verify against a real hash even for an unknown email, so the answer takes as
    // long as for a known one and timing tells nothing.
    let dummy = DUMMY_HASH.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(b"not a password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    });
    let stored = found
        .as_ref()
        .map_or(dummy.as_str(), |(_, hash)| hash.as_str());
    let matches = password_matches(stored, password);
    match found {
        Some((account, _)) if matches && account.disabled_at.is_none() => {
            for (throttle, key) in checks {
                throttle.release(app, key)?;
            }
            let session = start_session(app, SessionOwner::Account(account.id), policy)?;
            let properties = serde_json::json!({"method": "password"});
            crate::content::record_telemetry(app, account.org_id, None, "sign_in", properties);
            let ctx = AuditContext {
                actor: Principal::Admin(account.clone()).audit_name(),
                request_id,
                ip: Some(ip.to_owned()),
            };
            let email = account.email.as_str();
            audit::record(app, &ctx, account.org_id, "auth.login", email, "ok")?;
            Ok((account, session))
        }
        // The failed attempt stays counted.
        _ => Err(AppError::BadCredentials(BAD_LOGIN.into())),
    }
}

static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Whether `password` is the one `stored` (an argon2 PHC string) was made from.
fn password_matches(stored: &str, password: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// The principal behind a session secret, if the session is alive; keeps it alive.
pub fn resolve_session(
    app: &App,
    policy: SessionPolicy,
    secret: &str,
) -> AppResult<(Principal, Session)> {
    let hash = hash_secret(secret);
    let session = app
        .store
        .find_session(&hash)?
        .ok_or(AppError::Unauthenticated)?;
    let now = app.clock.now();
    if now >= session.expires_at || now - session.last_seen_at >= policy.idle {
        app.store.delete_session(&hash)?;
        return Err(AppError::Unauthenticated);
    }
    let principal = match &session.owner {
        SessionOwner::Account(id) => {
            let account = app
                .store
                .get_account(*id)?
                .filter(|a| a.disabled_at.is_none());
            Principal::Admin(account.ok_or(AppError::Unauthenticated)?)
        }
        SessionOwner::Member(phone) => Principal::Member(phone.clone()),
    };
    // Writing on every request would turn reads into writes; a minute is precise
    // enough for a 30-minute idle timeout.
    if now - session.last_seen_at >= Duration::minutes(1) {
        app.store.touch_session(&hash, now)?;
    }
    Ok((principal, session))
}

/// The orgs a member belongs to: their active user records, one per org.
pub fn member_orgs(app: &App, phone: &PhoneNumber) -> AppResult<Vec<User>> {
    Ok(app
        .store
        .find_users_by_phone(phone)?
        .into_iter()
        .filter(|u| u.status == UserStatus::Active)
        .collect())
}

pub fn logout(app: &App, secret: &str) -> AppResult<()> {
    Ok(app.store.delete_session(&hash_secret(secret))?)
}

/// How long a code is valid, and how many wrong guesses it survives.
pub const OTP_LIFETIME: Duration = Duration::minutes(10);
pub const OTP_MAX_ATTEMPTS: u32 = 5;
const OTP_DIGITS: u32 = 6;

fn otp_hash(salt: &[u8; 16], code: &str) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(code.as_bytes());
    hasher.finalize().to_vec()
}

/// Sends a sign-in code to a phone. Answers the same whether or not the phone belongs
/// to anyone, so it tells nothing about who is a member.
pub fn start_otp(
    app: &App,
    sms: &dyn SmsSender,
    throttles: &Throttles,
    raw_phone: &str,
    ip: &str,
) -> AppResult<()> {
    let now = app.clock.now();
    // Members type numbers with their country code; E.164 without '+' is fine too.
    let phone = parse_international(raw_phone).map_err(|e| AppError::invalid("phone", e))?;
    let checks = [
        (&throttles.otp_per_phone, phone.as_str()),
        (&throttles.otp_per_ip, ip),
    ];
    if !try_hit_all(app, &checks)? {
        return Err(AppError::TooManyAttempts(
            "too many codes requested; wait an hour".into(),
        ));
    }
    if app
        .store
        .find_users_by_phone(&phone)?
        .iter()
        .all(|u| u.status != UserStatus::Active)
    {
        return Ok(());
    }
    let code = format!(
        "{:0width$}",
        rand::rng().random_range(0..10u32.pow(OTP_DIGITS)),
        width = OTP_DIGITS as usize
    );
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let otp = OtpCode {
        id: uuid::Uuid::now_v7(),
        phone: phone.clone(),
        code_hash: otp_hash(&salt, &code),
        salt,
        created_at: now,
        expires_at: now + OTP_LIFETIME,
        attempts: 0,
        used_at: None,
    };
    app.store.create_otp(&otp)?;
    sms.send(
        app,
        &phone,
        &format!("Your Steward sign-in code is {code}. It expires in 10 minutes."),
    )
}

/// Checks a code and starts a member session; returns its bearer secret.
pub fn verify_otp(
    app: &App,
    throttles: &Throttles,
    policy: SessionPolicy,
    raw_phone: &str,
    code: &str,
    ip: &str,
) -> AppResult<NewSession> {
    let phone = parse_international(raw_phone).ok();
    let phone = use_code(app, throttles, phone, code, ip)?;
    for user in app.store.find_users_by_phone(&phone)? {
        let properties = serde_json::json!({"method": "otp"});
        crate::content::record_telemetry(app, user.org_id, Some(user.id), "sign_in", properties);
    }
    start_session(app, SessionOwner::Member(phone), policy)
}

/// Checks the newest code sent to `phone` and uses it up (a code works once).
/// Counted against the IP's budget before the code is checked, so concurrent guesses
/// from one IP cannot all pass; given back only when the code was right.
fn use_code(
    app: &App,
    throttles: &Throttles,
    phone: Option<PhoneNumber>,
    code: &str,
    ip: &str,
) -> AppResult<PhoneNumber> {
    let now = app.clock.now();
    let wrong =
        || AppError::BadCredentials("the code is wrong or has expired; ask for a new one".into());
    if !throttles.otp_per_ip.try_hit(app, ip)? {
        return Err(AppError::TooManyAttempts(
            "too many attempts; wait an hour".into(),
        ));
    }
    let phone = phone.ok_or_else(wrong)?;
    let Some(otp) = app.store.latest_otp(&phone)? else {
        return Err(wrong());
    };
    let given = otp_hash(&otp.salt, code.trim());
    let equal = given.len() == otp.code_hash.len()
        && given
            .iter()
            .zip(&otp.code_hash)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !equal {
        app.store.fail_otp(otp.id)?;
        return Err(wrong());
    }
    // The right code: not a guess, whether or not it is still usable.
    throttles.otp_per_ip.release(app, ip)?;
    if !app.store.use_otp(otp.id, OTP_MAX_ATTEMPTS, now)? {
        return Err(wrong());
    }
    Ok(phone)
}

/// How recent a member's sign-in with a one-time code must be for it to confirm
/// something irreversible without a new code.
pub const FRESH_CODE: Duration = Duration::minutes(5);

/// What a caller sends to confirm who they are, just before something irreversible:
/// an admin's password, or a member's new one-time code.
#[derive(Clone, Debug, Default)]
pub struct Reconfirm {
    pub password: Option<String>,
    pub code: Option<String>,
}

/// How the caller of an irreversible use case proves, again, who they are.
#[derive(Clone, Copy, Debug)]
pub enum Proof<'a> {
    /// The operator at the command line, trusted like [`Caller::operator`].
    Operator,
    /// A signed-in principal, with what they sent to confirm.
    Signed {
        principal: &'a Principal,
        /// The session the request came with (none for an API token).
        session: Option<&'a Session>,
        given: &'a Reconfirm,
        throttles: &'a Throttles,
        ip: &'a str,
    },
}

impl Proof<'_> {
    /// Checks the proof; answers how the caller confirmed (`operator`, `password`,
    /// `code`, `recent code`), for the audit log. An API token cannot confirm: it is a
    /// script's credential, not a person's.
    pub(crate) fn check(&self, app: &App) -> AppResult<&'static str> {
        let Proof::Signed {
            principal,
            session,
            given,
            throttles,
            ip,
        } = *self
        else {
            return Ok("operator");
        };
        match principal {
            Principal::Token(_) => Err(AppError::Forbidden(
                "an API token cannot confirm this; sign in as an org admin and give your password"
                    .into(),
            )),
            Principal::Admin(account) => {
                let password = given.password.as_deref().ok_or_else(|| {
                    AppError::invalid("password", "give your password again to confirm this")
                })?;
                let key = account.email.as_str();
                if !throttles.login_per_account.try_hit(app, key)? {
                    return Err(AppError::TooManyAttempts(
                        "too many wrong passwords; wait 15 minutes".into(),
                    ));
                }
                let stored = app.store.find_account_by_email(key)?;
                match stored {
                    Some((_, hash)) if password_matches(&hash, password) => {
                        throttles.login_per_account.release(app, key)?;
                        Ok("password")
                    }
                    _ => Err(AppError::Forbidden("the password is wrong".into())),
                }
            }
            Principal::Member(phone) => {
                if let Some(code) = &given.code {
                    use_code(app, throttles, Some(phone.clone()), code, ip)?;
                    return Ok("code");
                }
                let recent = session.is_some_and(|s| app.clock.now() - s.created_at <= FRESH_CODE);
                if recent {
                    return Ok("recent code");
                }
                Err(AppError::Forbidden(format!(
                    "this needs a fresh one-time code: ask for one (POST /api/v1/auth/otp/start) and send it as \"code\", or sign in again and do this within {} minutes",
                    FRESH_CODE.num_minutes()
                )))
            }
        }
    }
}

/// The keys under which the sign-in throttles count attempts for an email, phone or
/// IP, so that a deletion can remove them with the rest of a person's data.
pub(crate) fn throttle_keys_of(identifier: &str) -> Vec<String> {
    let t = Throttles::default();
    [
        t.login_per_account,
        t.login_per_ip,
        t.otp_per_phone,
        t.otp_per_ip,
    ]
    .iter()
    .map(|throttle| throttle.store_key(identifier))
    .collect()
}

/// A phone as a member types it to sign in: with its country code, `+` optional.
fn parse_international(raw: &str) -> Result<PhoneNumber, steward_domain::PhoneError> {
    let trimmed = raw.trim();
    if trimmed.starts_with('+') {
        // With a '+' the region only matters for numbers without a country code.
        PhoneNumber::parse(trimmed, Region::parse("US").expect("US is a region"))
    } else {
        PhoneNumber::from_e164(trimmed)
    }
}

//! The portal's request context: who is signed in ([`PortalSession`]), what they are
//! in the org of the URL ([`OrgPage`]), plain HTML forms ([`Form`]) and the error
//! pages ([`PageError`]: 404, 403 and friends, never a blank page).

use std::sync::Arc;

use askama::Template;
use axum::extract::{
    FromRef, FromRequest, FromRequestParts, OptionalFromRequestParts, Path, Request,
};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use bytes::Bytes;
use cookie::{Cookie, SameSite};
use steward_app::security::{self, Principal};
use steward_app::{self as app, App, AppError, FieldError, orgs};
use steward_domain::OrgId;

use super::SIGN_IN;
use super::frame::{Frame, Nav, Section};
use crate::auth::{Credential, Origin, SESSION_COOKIE};
use crate::state::Security;

/// Someone signed in to the portal by the session cookie.
#[derive(Clone, Debug)]
pub(crate) struct PortalSession {
    pub principal: Principal,
    /// The cookie's secret, to end the session on sign-out.
    pub secret: String,
    /// The session's CSRF token, echoed in every form's hidden `csrf` field.
    pub csrf: String,
    pub origin: Origin,
}

impl PortalSession {
    /// Refuses a form whose hidden CSRF field is missing or wrong.
    pub fn check_csrf(&self, given: Option<&str>) -> Result<(), PageError> {
        let given = given.unwrap_or_default().as_bytes();
        let expected = self.csrf.as_bytes();
        // Compared in constant time: the token guards every change.
        let same = given.len() == expected.len()
            && given
                .iter()
                .zip(expected)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same { Ok(()) } else { Err(PageError::Csrf) }
    }

    /// How the header names who is signed in.
    pub fn who(&self) -> String {
        match &self.principal {
            Principal::Admin(a) => a.email.as_str().to_owned(),
            Principal::Member(phone) => phone.to_string(),
            Principal::Token(t) => format!("token {}", t.label),
        }
    }
}

impl<S> FromRequestParts<S> for PortalSession
where
    App: FromRef<S>,
    Arc<Security>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let app = App::from_ref(state);
        let policy = Arc::<Security>::from_ref(state).policy;
        let origin = Origin::from_request_parts(parts, state)
            .await
            .map_err(|_| PageError::Internal)?;
        // Only the cookie signs in to the portal: a bearer header is for scripts.
        let Some(Credential::Cookie(secret)) =
            Credential::from_headers(&parts.headers).filter(|c| matches!(c, Credential::Cookie(_)))
        else {
            return Err(PageError::SignIn);
        };
        let lookup = secret.clone();
        let (principal, session) =
            blocking(move || security::resolve_session(&app, policy, &lookup)).await?;
        Ok(PortalSession {
            principal,
            secret,
            csrf: session.csrf_token,
            origin,
        })
    }
}

impl<S> OptionalFromRequestParts<S> for PortalSession
where
    App: FromRef<S>,
    Arc<Security>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match <PortalSession as FromRequestParts<S>>::from_request_parts(parts, state).await {
            Ok(session) => Ok(Some(session)),
            Err(PageError::SignIn) => Ok(None),
            Err(other) => Err(other),
        }
    }
}

/// A signed-in person acting in the org of the URL's `{org}`: the use cases' caller,
/// and what the page frame shows. Another org's id is the 404 page.
#[derive(Debug)]
pub(crate) struct OrgPage {
    pub session: PortalSession,
    pub caller: app::Caller,
    pub org: OrgId,
    pub org_name: String,
    /// Mark the portal's own cookies `Secure`, as the session cookie is.
    pub secure_cookies: bool,
    app: App,
}

impl<S> FromRequestParts<S> for OrgPage
where
    App: FromRef<S>,
    Arc<Security>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session =
            <PortalSession as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        let Path(params) = <Path<std::collections::HashMap<String, String>> as FromRequestParts<
            S,
        >>::from_request_parts(parts, state)
        .await
        .map_err(|_| PageError::NotFound)?;
        let org: OrgId = params
            .get("org")
            .and_then(|raw| raw.parse().ok())
            .ok_or(PageError::NotFound)?;
        let app = App::from_ref(state);
        let secure_cookies = Arc::<Security>::from_ref(state).secure_cookies;
        let principal = session.principal.clone();
        let origin = session.origin.clone();
        let lookup = app.clone();
        let (caller, org_name) = blocking(move || {
            let caller =
                security::caller_in(&lookup, &principal, org, origin.request_id, Some(origin.ip))?;
            Ok((caller, orgs::get_org(&lookup, org)?.name.to_string()))
        })
        .await?;
        let page = OrgPage {
            session,
            caller,
            org,
            org_name,
            secure_cookies,
            app,
        };
        if let Some(slot) = parts.extensions.get::<FrameSlot>()
            && let Ok(mut frame) = slot.0.lock()
        {
            *frame = Some(page.frame(String::new(), Section::Other));
        }
        Ok(page)
    }
}

impl OrgPage {
    /// Runs a use case as this caller, off the async executor.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&App, &app::Caller) -> app::AppResult<T> + Send + 'static,
    ) -> Result<T, PageError> {
        let app = self.app.clone();
        let caller = self.caller.clone();
        blocking(move || work(&app, &caller)).await
    }

    /// The frame of a page of this org: title, navigation for the caller's role, and
    /// the CSRF token for its forms.
    pub fn frame(&self, title: impl Into<String>, section: Section) -> Frame {
        Frame {
            title: title.into(),
            nav: Some(Nav::for_caller(
                &self.caller,
                self.org,
                &self.org_name,
                self.session.who(),
                section,
            )),
            csrf: self.session.csrf.clone(),
        }
    }

    /// The use cases, for work that runs outside [`OrgPage::run`] (streamed uploads).
    pub fn app(&self) -> App {
        self.app.clone()
    }

    /// A path under this org's pages: `/portal/orgs/{org}{rest}`.
    pub fn path(&self, rest: &str) -> String {
        format!("/portal/orgs/{}{rest}", self.org)
    }

    /// Checks a form's hidden CSRF field.
    pub fn check_csrf(&self, form: &Form) -> Result<(), PageError> {
        self.session.check_csrf(form.get("csrf"))
    }
}

/// Runs blocking use-case work off the async executor.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> app::AppResult<T> + Send + 'static,
) -> Result<T, PageError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(PageError::from),
        Err(e) => {
            tracing::error!(error = %e, "blocking task failed");
            Err(PageError::Internal)
        }
    }
}

/// `GET /portal`: an admin's Users page; a member's groups in their one org, or the
/// choice of orgs when they belong to several.
pub(crate) async fn home(app: App, session: PortalSession) -> Result<Response, PageError> {
    match session.principal.clone() {
        Principal::Admin(account) => {
            Ok(Redirect::to(&format!("/portal/orgs/{}/users", account.org_id)).into_response())
        }
        Principal::Member(phone) => {
            // Each org the member belongs to, by name.
            let orgs = blocking(move || {
                security::member_orgs(&app, &phone)?
                    .into_iter()
                    .map(|u| Ok((u.org_id, orgs::get_org(&app, u.org_id)?.name.to_string())))
                    .collect::<app::AppResult<Vec<_>>>()
            })
            .await?;
            if let [(only, _)] = orgs.as_slice() {
                return Ok(Redirect::to(&format!("/portal/orgs/{only}/groups")).into_response());
            }
            let frame = Frame {
                title: "Your organizations".into(),
                nav: None,
                csrf: session.csrf.clone(),
            };
            let orgs = orgs
                .into_iter()
                .map(|(id, name)| (format!("/portal/orgs/{id}/groups"), name))
                .collect();
            render(&OrgChoice {
                frame,
                who: session.who(),
                orgs,
            })
        }
        Principal::Token(_) => Err(PageError::SignIn),
    }
}

#[derive(Template)]
#[template(path = "org_choice.html")]
struct OrgChoice {
    frame: Frame,
    who: String,
    orgs: Vec<(String, String)>,
}

/// Renders a page as HTML.
pub(crate) fn render<T: Template>(page: &T) -> Result<Response, PageError> {
    match page.render() {
        Ok(html) => Ok(Html(html).into_response()),
        Err(e) => {
            tracing::error!(error = %e, "a portal template failed to render");
            Err(PageError::Internal)
        }
    }
}

/// A failure shown as a page, never as a blank one.
#[derive(Debug)]
pub(crate) enum PageError {
    /// Not signed in (or the session ended): go to the sign-in page.
    SignIn,
    NotFound,
    Forbidden(String),
    /// A form without this session's (or this browser's sign-in) CSRF token.
    Csrf,
    /// Input the page could not show next to a field.
    Invalid(Vec<FieldError>),
    Conflict(String),
    TooManyAttempts(String),
    Internal,
}

impl From<AppError> for PageError {
    fn from(e: AppError) -> PageError {
        match e {
            AppError::NotFound(_) => PageError::NotFound,
            AppError::Unauthenticated => PageError::SignIn,
            AppError::Forbidden(reason) => PageError::Forbidden(reason),
            // The page says which plan includes the feature.
            e @ AppError::PlanRequired { .. } => PageError::Forbidden(e.to_string()),
            AppError::Invalid(errors) => PageError::Invalid(errors),
            AppError::Conflict(reason)
            | AppError::Gone(reason)
            | AppError::JobsPending {
                message: reason, ..
            } => PageError::Conflict(reason),
            AppError::BadCredentials(reason) => {
                PageError::Invalid(vec![FieldError::new("", reason)])
            }
            AppError::TooManyAttempts(reason) => PageError::TooManyAttempts(reason),
            AppError::TooLarge(reason) => PageError::Invalid(vec![FieldError::new("", reason)]),
            other => {
                tracing::error!(error = %other, "portal request failed");
                PageError::Internal
            }
        }
    }
}

#[derive(Clone, Debug, Template)]
#[template(path = "error.html")]
pub(crate) struct ErrorPage {
    frame: Frame,
    status: u16,
    heading: &'static str,
    message: String,
    details: Vec<String>,
}

impl ErrorPage {
    fn respond(&self, status: StatusCode) -> Response {
        match self.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, self.heading).into_response(),
        }
    }
}

/// Where a page of an org leaves its frame, so an error page inside that org (such as
/// a 403 on a page the role may not use) shows the person's navigation too.
#[derive(Clone, Debug, Default)]
pub(crate) struct FrameSlot(Arc<std::sync::Mutex<Option<Frame>>>);

/// Middleware: renders error pages with the navigation of the org page that failed,
/// when the caller's place in that org was known.
pub(crate) async fn error_frame(mut request: Request, next: axum::middleware::Next) -> Response {
    let slot = FrameSlot::default();
    request.extensions_mut().insert(slot.clone());
    let response = next.run(request).await;
    let Some(page) = response.extensions().get::<ErrorPage>().cloned() else {
        return response;
    };
    let frame = slot.0.lock().ok().and_then(|mut f| f.take());
    match frame {
        Some(frame) => {
            let frame = Frame {
                title: page.frame.title.clone(),
                ..frame
            };
            ErrorPage { frame, ..page }.respond(response.status())
        }
        None => response,
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, heading, message, details) = match self {
            PageError::SignIn => return Redirect::to(SIGN_IN).into_response(),
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is nothing here, or it belongs to an organization you are not part of."
                    .to_owned(),
                Vec::new(),
            ),
            PageError::Forbidden(reason) => (
                StatusCode::FORBIDDEN,
                "You don't have access to this page",
                format!("Your role does not allow this: {reason}."),
                Vec::new(),
            ),
            PageError::Csrf => (
                StatusCode::FORBIDDEN,
                "This form has expired",
                "This form has expired or did not come from this site. Go back, reload the page and try again."
                    .to_owned(),
                Vec::new(),
            ),
            PageError::Invalid(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Please check what you entered",
                "The request could not be carried out:".to_owned(),
                errors
                    .into_iter()
                    .map(|e| {
                        if e.field.is_empty() {
                            e.reason
                        } else {
                            format!("{}: {}", e.field, e.reason)
                        }
                    })
                    .collect(),
            ),
            PageError::Conflict(reason) => (
                StatusCode::CONFLICT,
                "That conflicts with what is there",
                reason,
                Vec::new(),
            ),
            PageError::TooManyAttempts(reason) => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                reason,
                Vec::new(),
            ),
            PageError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Something went wrong on our side; the server log has the details.".to_owned(),
                Vec::new(),
            ),
        };
        let page = ErrorPage {
            frame: Frame {
                title: heading.to_owned(),
                nav: None,
                csrf: String::new(),
            },
            status: status.as_u16(),
            heading,
            message,
            details,
        };
        let mut response = page.respond(status);
        // Kept for `error_frame`, which adds the navigation inside an org.
        response.extensions_mut().insert(page);
        response
    }
}

/// A submitted `application/x-www-form-urlencoded` form, as its name/value pairs in
/// order (repeated names, such as the checkboxes of Select Columns, stay apart).
#[derive(Debug, Default)]
pub(crate) struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A field's value, trimmed, or "" when absent.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().trim().to_owned()
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Whether a checkbox was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| PageError::Invalid(vec![FieldError::new("form", e.body_text())]))?;
        serde_urlencoded::from_bytes(&bytes)
            .map(Form)
            .map_err(|e| PageError::Invalid(vec![FieldError::new("form", e)]))
    }
}

/// The session cookie, as `POST /api/v1/auth/login` sets it.
pub(crate) fn session_cookie(
    security: &Security,
    value: String,
    max_age: chrono::Duration,
) -> HeaderValue {
    let cookie = Cookie::build((SESSION_COOKIE, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(security.secure_cookies)
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age.num_seconds()))
        .build();
    HeaderValue::from_str(&cookie.to_string()).unwrap_or(HeaderValue::from_static(""))
}

/// A redirect after a successful form (post/redirect/get), with a notice code the
/// next page turns into a sentence (never text from the request).
pub(crate) fn see_other(path: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, path.to_owned())]).into_response()
}

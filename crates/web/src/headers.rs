//! Security headers on every response: what a browser may load, frame and send along,
//! and that API answers (secrets, personal data) are never cached.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The policy for everything that is not a page: JSON, CSV and files load nothing
/// and may not be framed. A handler that renders HTML sets its own policy, which is kept.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// HSTS for a year, sent only when the server is reached over HTTPS (secure cookies):
/// over plain HTTP it would be ignored, and on a test host it would stick.
const HSTS: &str = "max-age=31536000; includeSubDomains";

fn set_if_absent(headers: &mut HeaderMap, name: HeaderName, value: &'static str) {
    if !headers.contains_key(&name) {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// The middleware: `hsts` is whether cookies are secure (HTTPS).
pub async fn security_headers(State(hsts): State<bool>, request: Request, next: Next) -> Response {
    // Every API answer may carry a secret (sign-in, tokens, codes) or personal data
    // (users, audit, imports): none may be kept by a browser or a proxy.
    let api = request.uri().path().starts_with("/api/v1/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    set_if_absent(headers, header::CONTENT_SECURITY_POLICY, API_CSP);
    set_if_absent(headers, header::X_FRAME_OPTIONS, "DENY");
    set_if_absent(headers, header::REFERRER_POLICY, "no-referrer");
    set_if_absent(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if hsts {
        set_if_absent(headers, header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    if api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn a_policy_a_handler_set_is_kept() {
        let page_csp = "default-src 'self'; frame-ancestors 'none'";
        let router = Router::new()
            .route(
                "/page",
                get(move || async move { ([(header::CONTENT_SECURITY_POLICY, page_csp)], "<p>") }),
            )
            .layer(axum::middleware::from_fn_with_state(
                false,
                security_headers,
            ));
        let request = Request::builder().uri("/page").body(Body::empty());
        let response = router.oneshot(request.expect("a valid request")).await;
        let response = response.expect("the router answers");
        assert_eq!(
            response.headers()[header::CONTENT_SECURITY_POLICY],
            page_csp
        );
        assert_eq!(response.headers()[header::X_FRAME_OPTIONS], "DENY");
        assert!(
            !response
                .headers()
                .contains_key(header::STRICT_TRANSPORT_SECURITY)
        );
        assert!(!response.headers().contains_key(header::CACHE_CONTROL));
    }
}

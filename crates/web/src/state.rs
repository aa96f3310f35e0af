//! What every handler can reach: the use cases, and this server's sign-in settings.

use std::sync::Arc;

use axum::extract::FromRef;
use steward_app::App;
use steward_app::security::{OutboxSender, SessionPolicy, SmsSender, Throttles};

/// Sign-in settings and state of one server process.
pub struct Security {
    pub policy: SessionPolicy,
    pub throttles: Throttles,
    pub sms: Arc<dyn SmsSender>,
    /// Mark cookies `Secure`: set when the server is reached over HTTPS.
    pub secure_cookies: bool,
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Default for Security {
    fn default() -> Self {
        Security {
            policy: SessionPolicy::default(),
            throttles: Throttles::default(),
            sms: Arc::new(OutboxSender),
            secure_cookies: false,
        }
    }
}

#[derive(Clone, Debug)]
pub struct WebState {
    pub app: App,
    pub security: Arc<Security>,
}

impl FromRef<WebState> for App {
    fn from_ref(state: &WebState) -> App {
        state.app.clone()
    }
}

impl FromRef<WebState> for Arc<Security> {
    fn from_ref(state: &WebState) -> Arc<Security> {
        state.security.clone()
    }
}

//! `talos-api`: the REST API under `/api/v1` (axum).
//!
//! Owns: request parsing and validation, authentication (API keys as bearer tokens,
//! Argon2id password helpers), role checks, the mapping of every failure to
//! `{code, message}` JSON, `/healthz`, `/readyz`, `/metrics`, the OpenAPI document, and the
//! API's side of the director ([`LiveHub`]: fleet reload requests in, tick frames out to
//! the SSE stream; pass prediction through [`DirectorStatus`]).
//!
//! Must never: answer 403 where the resource belongs to another organization (that is
//! a 404, like a missing one), return internals on a 500, or store a secret (only
//! Argon2id password hashes and SHA-256 key hashes reach the store).
//!
//! Design: [`app`] builds the whole router from an [`AppState`], so tests drive it with
//! `tower::ServiceExt::oneshot`; time comes from the injected clock.

mod auth;
mod error;
mod health;
mod live;
mod openapi;
mod routes;
mod satellites;
mod session;

pub use auth::{HashCost, Principal, hash_password, mint_api_key, sha256_hex, verify_password};
pub use error::ApiError;
pub use health::{DirectorStatus, Metrics};
pub use live::{
    DirectorRequest, LiveEvent, LiveEventKind, LiveFrame, LiveHub, LiveState, LiveStation, PassCandidate, PassRequest,
    PredictedPass, mark_policy_choice,
};
pub use openapi::{ROUTES, openapi_document, undescribed_routes};
pub use session::{COOKIE_NAME, LoginLimiter};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use std::sync::Arc;
use talos_core::UnixMs;

/// Largest request body accepted (413 above).
pub const BODY_LIMIT: usize = 64 * 1024;

/// The clock the API reads (injected so tests control time).
pub type Clock = Arc<dyn Fn() -> UnixMs + Send + Sync>;

/// Everything a handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: talos_store::Store,
    pub director: Arc<dyn DirectorStatus>,
    pub clock: Clock,
    /// Argon2 cost for password hashing (tests use [`HashCost::Light`]).
    pub hash_cost: HashCost,
    pub metrics: Arc<Metrics>,
    pub limiter: Arc<LoginLimiter>,
    /// Whether the session cookie carries `Secure` (on behind HTTPS).
    pub secure_cookie: bool,
    /// Channels to and from the director (requests in, tick frames out).
    pub live: LiveHub,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("store", &self.store).field("hash_cost", &self.hash_cost).finish()
    }
}

impl AppState {
    pub fn new(store: talos_store::Store, director: Arc<dyn DirectorStatus>, clock: Clock) -> Self {
        Self {
            store,
            director,
            clock,
            hash_cost: HashCost::Default,
            metrics: Arc::new(Metrics::default()),
            limiter: Arc::new(LoginLimiter::default()),
            secure_cookie: true,
            live: LiveHub::detached(),
        }
    }

    /// The same state wired to a running director's hub.
    pub fn with_live(mut self, live: LiveHub) -> Self {
        self.live = live;
        self
    }
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let metrics = state.metrics.clone();
    Router::new()
        .nest(
            "/api/v1",
            routes::router()
                .merge(live::router())
                .layer(axum::middleware::from_fn_with_state(state.clone(), session::csrf)),
        )
        .merge(health::router())
        .layer(axum::middleware::from_fn_with_state(state.live.clone(), live::notify_fleet_changes))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(metrics, health::track))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

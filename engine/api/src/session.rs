//! Login/logout with a session cookie, CSRF on cookie-authenticated mutations, and
//! the login rate limit.

use crate::auth::{random_token, sha256_hex, verify_password};
use crate::{ApiError, AppState, hash_password};
use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock};
use talos_core::UnixMs;
use talos_store::{Session, StoreError};

pub const COOKIE_NAME: &str = "talos_session";
/// How long a session lasts.
pub const SESSION_TTL_MS: i64 = 12 * 3_600_000;
/// Login attempts allowed per email and client per minute.
pub const LOGIN_ATTEMPTS_PER_MINUTE: usize = 5;

/// Login attempts per (email, client), by the injected clock.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    attempts: Mutex<HashMap<String, Vec<i64>>>,
}

impl LoginLimiter {
    /// Records an attempt; false when the key already used its minute's allowance.
    fn allow(&self, key: &str, now: UnixMs) -> bool {
        let mut map = self.attempts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let times = map.entry(key.to_owned()).or_default();
        times.retain(|t| now.0 - t < 60_000);
        if times.len() >= LOGIN_ATTEMPTS_PER_MINUTE {
            return false;
        }
        times.push(now.0);
        true
    }

    /// Forgets clients with no attempt in the last minute (run periodically, so the map
    /// does not grow with every address that ever tried); returns how many remain.
    pub fn prune(&self, now: UnixMs) -> usize {
        let mut map = self.attempts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, times| {
            times.retain(|t| now.0 - t < 60_000);
            !times.is_empty()
        });
        map.len()
    }
}

/// The session token from the `talos_session` cookie, if any.
pub(crate) fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(COOKIE_NAME).and_then(|r| r.strip_prefix('=')).map(str::to_owned))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Login {
    email: String,
    password: String,
}

/// A hash to verify against when the email is unknown, so both failures cost one Argon2id verification.
fn dummy_hash(cost: crate::HashCost) -> &'static str {
    static DEFAULT: OnceLock<String> = OnceLock::new();
    static LIGHT: OnceLock<String> = OnceLock::new();
    let cell = match cost {
        crate::HashCost::Default => &DEFAULT,
        crate::HashCost::Light => &LIGHT,
    };
    cell.get_or_init(|| hash_password(cost, &random_token()).unwrap_or_default())
}

pub(crate) async fn login(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    crate::routes::Body(body): crate::routes::Body<Login>,
) -> Result<Response, ApiError> {
    let now = (state.clock)();
    // The peer address as the server saw it (never a client-supplied header).
    let client = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "-".to_owned(), |ConnectInfo(addr)| addr.ip().to_string());
    if !state.limiter.allow(&format!("{}|{client}", body.email.to_lowercase()), now) {
        return Err(ApiError::RateLimited);
    }
    // An email no account can have (PostgreSQL text cannot hold NUL) is an unknown one.
    let user = if body.email.contains('\0') {
        None
    } else {
        match state.store.find_user_by_email(&body.email).await {
            Ok(u) => Some(u),
            Err(StoreError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        }
    };
    let phc = user.as_ref().map_or_else(|| dummy_hash(state.hash_cost).to_owned(), |u| u.password_hash.clone());
    let cost = state.hash_cost;
    let password = body.password;
    let ok = tokio::task::spawn_blocking(move || verify_password(cost, &password, &phc))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let Some(user) = user.filter(|_| ok) else { return Err(ApiError::BadCredentials) };
    // A new session id at every login; the one presented, if any, ends.
    if let Some(old) = session_token(&headers) {
        let _ = state.store.delete_session(&sha256_hex(&old)).await;
    }
    let token = random_token();
    let csrf = random_token();
    state
        .store
        .create_session(&Session {
            id: sha256_hex(&token),
            user: user.id,
            csrf_hash: sha256_hex(&csrf),
            created_at: now,
            expires_at: UnixMs(now.0 + SESSION_TTL_MS),
        })
        .await?;
    let secure = if state.secure_cookie { "; Secure" } else { "" };
    let cookie =
        format!("{COOKIE_NAME}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}", SESSION_TTL_MS / 1000);
    let body = json!({ "csrf_token": csrf, "user": { "id": user.id, "email": user.email } });
    Ok(([(SET_COOKIE, cookie)], Json(body)).into_response())
}

/// Ends the session of the cookie. Needs that live session and its CSRF token, whatever
/// else the request carries (a bearer key does not stand in for either).
pub(crate) async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let token = session_token(&headers).ok_or(ApiError::Unauthorized)?;
    let session = match state.store.find_session(&sha256_hex(&token), (state.clock)()).await {
        Ok(s) => s,
        Err(StoreError::NotFound { .. }) => return Err(ApiError::Unauthorized),
        Err(e) => return Err(e.into()),
    };
    if !csrf_matches(&headers, &session) {
        return Err(ApiError::CsrfRequired);
    }
    match state.store.delete_session(&session.id).await {
        Ok(()) | Err(StoreError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let cookie = format!("{COOKIE_NAME}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    Ok(([(SET_COOKIE, cookie)], StatusCode::NO_CONTENT).into_response())
}

/// Middleware: a cookie-authenticated POST/PUT/PATCH/DELETE (no bearer key) needs the
/// session's CSRF token in `X-CSRF-Token` (403 `csrf_required` otherwise). Login is exempt.
pub(crate) async fn csrf(State(state): State<AppState>, req: Request, next: Next) -> Result<Response, ApiError> {
    let mutating = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE);
    let bearer = req.headers().contains_key(axum::http::header::AUTHORIZATION);
    let is_login = req.uri().path().ends_with("/auth/login");
    if mutating
        && !bearer
        && !is_login
        && let Some(token) = session_token(req.headers())
        && let Ok(session) = state.store.find_session(&sha256_hex(&token), (state.clock)()).await
        && !csrf_matches(req.headers(), &session)
    {
        return Err(ApiError::CsrfRequired);
    }
    Ok(next.run(req).await)
}

/// Whether `X-CSRF-Token` is the session's CSRF token (compared in constant time).
fn csrf_matches(headers: &HeaderMap, session: &Session) -> bool {
    let sent = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).map(sha256_hex);
    sent.is_some_and(|s| bool::from(subtle::ConstantTimeEq::ct_eq(s.as_bytes(), session.csrf_hash.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HashCost;

    /// Unknown emails verify against a real Argon2id hash of the same cost as real users'
    /// (no timing gap that tells which emails exist).
    #[test]
    fn dummy_hash_costs_what_a_real_one_does() {
        let dummy = dummy_hash(HashCost::Light);
        let real = hash_password(HashCost::Light, "pw").unwrap();
        assert!(dummy.starts_with("$argon2id$v=19$"));
        let params = |h: &str| h.split('$').nth(3).map(str::to_owned);
        assert_eq!(params(dummy), params(&real));
        assert!(!verify_password(HashCost::Light, "", dummy));
    }

    #[test]
    fn limiter_allows_five_a_minute() {
        let l = LoginLimiter::default();
        for i in 0..5 {
            assert!(l.allow("a|ip", UnixMs(i)));
        }
        assert!(!l.allow("a|ip", UnixMs(59_999)));
        assert!(l.allow("b|ip", UnixMs(59_999)));
        assert!(l.allow("a|ip", UnixMs(60_001)));
    }

    #[test]
    fn limiter_prune_forgets_quiet_clients_only() {
        let l = LoginLimiter::default();
        assert!(l.allow("a|ip", UnixMs(0)));
        assert!(l.allow("b|ip", UnixMs(50_000)));
        assert_eq!(l.prune(UnixMs(70_000)), 1, "a is a minute quiet, b is not");
        assert_eq!(l.prune(UnixMs(120_000)), 0);
    }
}

//! Passwords (Argon2id), API keys (`talos_<prefix>_<secret>`, SHA-256 of the secret
//! stored) and the authenticated principal of a request.

use crate::{ApiError, AppState};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use talos_core::OrgId;
use talos_store::{Actor, NewApiKey, Role, UserId};

/// Argon2 cost: production keeps the crate's defaults (Argon2id v19, 19 MiB, t=2);
/// tests pick a lighter one so the suite stays quick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HashCost {
    #[default]
    Default,
    /// 8 MiB, t=1: for tests only.
    Light,
}

impl HashCost {
    fn argon2(self) -> Argon2<'static> {
        match self {
            Self::Default => Argon2::default(),
            Self::Light => {
                Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8 * 1024, 1, 1, None).unwrap_or_default())
            }
        }
    }
}

/// Hashes a password into an Argon2id PHC string (`$argon2id$v=19$...`).
pub fn hash_password(cost: HashCost, password: &str) -> Result<String, ApiError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| ApiError::Internal(e.to_string()))?;
    let hash =
        cost.argon2().hash_password(password.as_bytes(), &salt).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(hash.to_string())
}

/// Checks a password against a PHC string; any unreadable hash is a mismatch.
pub fn verify_password(cost: HashCost, password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| cost.argon2().verify_password(password.as_bytes(), &h).is_ok())
}

/// SHA-256 of a secret, hex.
pub fn sha256_hex(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// 32 random bytes, base64url.
pub(crate) fn random_token() -> String {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    URL_SAFE_NO_PAD.encode(raw)
}

/// The scope an API key's role is stored as (`role:operator`).
fn role_scope(role: Role) -> String {
    format!("role:{}", role.as_str())
}

pub(crate) fn parse_role(s: &str) -> Option<Role> {
    match s {
        "owner" => Some(Role::Owner),
        "admin" => Some(Role::Admin),
        "operator" => Some(Role::Operator),
        "viewer" => Some(Role::Viewer),
        _ => None,
    }
}

/// Mints an API key: the full key (shown once) and the record the store keeps.
pub fn mint_api_key(role: Role, created_by: Option<UserId>) -> (String, NewApiKey) {
    let mut raw = [0u8; 4];
    rand::rng().fill_bytes(&mut raw);
    let prefix: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let secret = URL_SAFE_NO_PAD.encode(secret);
    let key = format!("talos_{prefix}_{secret}");
    let record = NewApiKey {
        prefix,
        key_hash: sha256_hex(&secret),
        scopes: vec![role_scope(role)],
        expires_at: None,
        created_by,
    };
    (key, record)
}

/// Who is calling, for one organization.
#[derive(Debug, Clone)]
pub struct Principal {
    pub org: OrgId,
    pub role: Role,
    pub actor: Actor,
}

/// Rank for comparisons: owner > admin > operator > viewer.
pub(crate) fn rank(role: Role) -> u8 {
    match role {
        Role::Owner => 3,
        Role::Admin => 2,
        Role::Operator => 1,
        Role::Viewer => 0,
    }
}

impl Principal {
    /// Requires at least `min`; viewers and others below get 403 `forbidden`.
    pub fn require(&self, min: Role) -> Result<(), ApiError> {
        if rank(self.role) >= rank(min) { Ok(()) } else { Err(ApiError::Forbidden) }
    }
}

/// Authenticates a bearer API key for organization `org`. A key of another
/// organization reads as 404 for that organization (its existence is not revealed).
pub async fn authenticate(state: &AppState, headers: &HeaderMap, org: OrgId) -> Result<Principal, ApiError> {
    if !headers.contains_key(axum::http::header::AUTHORIZATION)
        && let Some(token) = crate::session::session_token(headers)
    {
        return session_principal(state, &token, org).await;
    }
    let key = bearer_key(state, headers).await?;
    if key.org != org {
        return Err(ApiError::NotFound("organization".into()));
    }
    touch(state, &key).await?;
    let role = key.scopes.iter().find_map(|s| s.strip_prefix("role:").and_then(parse_role)).unwrap_or(Role::Viewer);
    Ok(Principal { org, role, actor: Actor::ApiKey(key.prefix) })
}

/// Authenticates any caller, whatever its organization (for what every organization shares,
/// such as the catalog): a valid API key or a live session. Missing or bad credentials: 401.
pub(crate) async fn authenticate_any(state: &AppState, headers: &HeaderMap) -> Result<Actor, ApiError> {
    if !headers.contains_key(axum::http::header::AUTHORIZATION)
        && let Some(token) = crate::session::session_token(headers)
    {
        return match state.store.find_session(&sha256_hex(&token), (state.clock)()).await {
            Ok(s) => Ok(Actor::User(s.user)),
            Err(talos_store::StoreError::NotFound { .. }) => Err(ApiError::Unauthorized),
            Err(e) => Err(e.into()),
        };
    }
    let key = bearer_key(state, headers).await?;
    touch(state, &key).await?;
    Ok(Actor::ApiKey(key.prefix))
}

/// How stale an API key's `last_used_at` may get before a request refreshes it.
pub const LAST_USED_RESOLUTION_MS: i64 = 60_000;

/// Records the key's use, to the minute: one write per key per minute, not one per
/// request. A key revoked since it was read no longer authenticates.
async fn touch(state: &AppState, key: &talos_store::ApiKey) -> Result<(), ApiError> {
    let now = (state.clock)();
    if key.last_used_at.is_some_and(|t| now.0 - t.0 < LAST_USED_RESOLUTION_MS) {
        return Ok(());
    }
    match state.store.touch_api_key(key.org, key.id, now).await {
        Ok(()) => Ok(()),
        Err(talos_store::StoreError::NotFound { .. }) => Err(ApiError::Unauthorized),
        Err(e) => Err(e.into()),
    }
}

/// The stored record of the request's bearer key, once its secret and expiry check out.
async fn bearer_key(state: &AppState, headers: &HeaderMap) -> Result<talos_store::ApiKey, ApiError> {
    let header = headers.get(axum::http::header::AUTHORIZATION).ok_or(ApiError::Unauthorized)?;
    let token = header.to_str().ok().and_then(|h| h.strip_prefix("Bearer ")).ok_or(ApiError::Unauthorized)?;
    let (prefix, secret) =
        token.strip_prefix("talos_").and_then(|t| t.split_once('_')).ok_or(ApiError::Unauthorized)?;
    let key = match state.store.find_api_key_by_prefix(prefix).await {
        Ok(k) => k,
        Err(talos_store::StoreError::NotFound { .. }) => return Err(ApiError::Unauthorized),
        Err(e) => return Err(e.into()),
    };
    let good: bool = sha256_hex(secret).as_bytes().ct_eq(key.key_hash.as_bytes()).into();
    let now = (state.clock)();
    if !good || key.expires_at.is_some_and(|t| t <= now) {
        return Err(ApiError::Unauthorized);
    }
    Ok(key)
}

/// A session cookie's user, with their role in `org` (not a member: 404).
async fn session_principal(state: &AppState, token: &str, org: OrgId) -> Result<Principal, ApiError> {
    let session = match state.store.find_session(&sha256_hex(token), (state.clock)()).await {
        Ok(s) => s,
        Err(talos_store::StoreError::NotFound { .. }) => return Err(ApiError::Unauthorized),
        Err(e) => return Err(e.into()),
    };
    let orgs = state.store.list_user_organizations(session.user).await?;
    let role = orgs.iter().find(|(o, _)| o.id == org).map(|(_, r)| *r);
    let role = role.ok_or_else(|| ApiError::NotFound("organization".into()))?;
    Ok(Principal { org, role, actor: Actor::User(session.user) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_to_argon2id_and_verify() {
        let h = hash_password(HashCost::Light, "hunter2").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password(HashCost::Light, "hunter2", &h));
        assert!(!verify_password(HashCost::Light, "hunter3", &h));
        assert!(!verify_password(HashCost::Light, "hunter2", "not a hash"));
    }

    #[test]
    fn minted_keys_store_only_the_hash() {
        let (key, record) = mint_api_key(Role::Operator, None);
        let secret = key.strip_prefix(&format!("talos_{}_", record.prefix)).unwrap();
        assert_eq!(record.key_hash, sha256_hex(secret));
        assert!(!record.key_hash.contains(secret));
        assert_eq!(record.scopes, vec!["role:operator".to_owned()]);
    }
}

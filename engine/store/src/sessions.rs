//! Browser sessions (login/logout). Ids and CSRF tokens arrive hashed; sessions are
//! not org-scoped (a user's role is read per organization through memberships).

use crate::{Actor, Store, StoreError, UserId, audit, db_id, row_id};
use serde_json::json;
use sqlx::Row;
use talos_core::UnixMs;

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 (hex) of the cookie token.
    pub id: String,
    pub user: UserId,
    /// SHA-256 (hex) of the CSRF token.
    pub csrf_hash: String,
    pub created_at: UnixMs,
    pub expires_at: UnixMs,
}

impl Store {
    /// Stores a new session and audits the login.
    pub async fn create_session(&self, s: &Session) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, csrf_hash, created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&s.id)
        .bind(db_id(s.user.0))
        .bind(&s.csrf_hash)
        .bind(s.created_at.0)
        .bind(s.expires_at.0)
        .execute(&mut *tx)
        .await?;
        audit(&mut tx, &Actor::User(s.user), None, "session.login", &format!("user:{}", s.user.0), &json!({})).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The session with this id hash, if it exists and has not expired at `now`.
    pub async fn find_session(&self, id: &str, now: UnixMs) -> Result<Session, StoreError> {
        let row = sqlx::query(
            "SELECT id, user_id, csrf_hash, created_at_ms, expires_at_ms FROM sessions \
             WHERE id = $1 AND expires_at_ms > $2",
        )
        .bind(id)
        .bind(now.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("session", ""))?;
        Ok(Session {
            id: row.try_get("id")?,
            user: UserId(row_id(&row, "user_id")?),
            csrf_hash: row.try_get("csrf_hash")?,
            created_at: UnixMs(row.try_get("created_at_ms")?),
            expires_at: UnixMs(row.try_get("expires_at_ms")?),
        })
    }

    /// Deletes a session (logout) and audits it; a missing one is NotFound.
    pub async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query("DELETE FROM sessions WHERE id = $1 RETURNING user_id")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::not_found("session", ""))?;
        let user = UserId(row_id(&row, "user_id")?);
        audit(&mut tx, &Actor::User(user), None, "session.logout", &format!("user:{}", user.0), &json!({})).await?;
        tx.commit().await?;
        Ok(())
    }
}

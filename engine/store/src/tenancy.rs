//! Organizations, users, memberships and API key records.

use crate::{
    ApiKey, ApiKeyId, Member, NewApiKey, Organization, Page, Role, Store, StoreError, User, UserId, audit, db_id,
    next_cursor, now, page_limit, row_id,
};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use talos_core::{OrgId, UnixMs};

impl Store {
    /// Creates an organization; `creator`, when given, becomes its owner in the same transaction.
    pub async fn create_organization(
        &self,
        actor: &crate::Actor,
        name: &str,
        creator: Option<UserId>,
    ) -> Result<Organization, StoreError> {
        let at = now();
        let mut tx = self.begin().await?;
        let id = insert_organization(&mut tx, name, at).await?;
        if let Some(user) = creator {
            sqlx::query("INSERT INTO memberships (org_id, user_id, role, created_at_ms) VALUES ($1, $2, 'owner', $3)")
                .bind(db_id(id.0))
                .bind(db_id(user.0))
                .bind(at.0)
                .execute(&mut *tx)
                .await?;
        }
        audit(&mut tx, actor, Some(id), "organization.create", &format!("organization:{id}"), &json!({ "name": name }))
            .await?;
        tx.commit().await?;
        Ok(Organization { id, name: name.to_owned(), created_at: at })
    }

    pub async fn get_organization(&self, org: OrgId) -> Result<Organization, StoreError> {
        let row = sqlx::query("SELECT id, name, created_at_ms FROM organizations WHERE id = $1")
            .bind(db_id(org.0))
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("organization", org))?;
        Ok(Organization {
            id: OrgId(row_id(&row, "id")?),
            name: row.try_get("name")?,
            created_at: UnixMs(row.try_get("created_at_ms")?),
        })
    }

    /// Looks an organization up by its (unique) name.
    pub async fn find_organization_by_name(&self, name: &str) -> Result<Organization, StoreError> {
        let row = sqlx::query("SELECT id, name, created_at_ms FROM organizations WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("organization", name))?;
        Ok(Organization {
            id: OrgId(row_id(&row, "id")?),
            name: row.try_get("name")?,
            created_at: UnixMs(row.try_get("created_at_ms")?),
        })
    }

    /// The organizations a user belongs to, with the user's role in each, by id.
    pub async fn list_user_organizations(&self, user: UserId) -> Result<Vec<(Organization, Role)>, StoreError> {
        let rows = sqlx::query(
            "SELECT o.id, o.name, o.created_at_ms, m.role FROM organizations o \
             JOIN memberships m ON m.org_id = o.id WHERE m.user_id = $1 ORDER BY o.id",
        )
        .bind(db_id(user.0))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let org = Organization {
                    id: OrgId(row_id(row, "id")?),
                    name: row.try_get("name")?,
                    created_at: UnixMs(row.try_get("created_at_ms")?),
                };
                Ok((org, role_from_row(row)?))
            })
            .collect()
    }

    pub async fn rename_organization(&self, actor: &crate::Actor, org: OrgId, name: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("UPDATE organizations SET name = $2 WHERE id = $1")
            .bind(db_id(org.0))
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("organization", org));
        }
        audit(
            &mut tx,
            actor,
            Some(org),
            "organization.rename",
            &format!("organization:{org}"),
            &json!({ "name": name }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes an organization and everything it owns (its audit rows stay).
    pub async fn delete_organization(&self, actor: &crate::Actor, org: OrgId) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("DELETE FROM organizations WHERE id = $1").bind(db_id(org.0)).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("organization", org));
        }
        audit(&mut tx, actor, Some(org), "organization.delete", &format!("organization:{org}"), &json!({})).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates a user. `password_hash` must be an Argon2id PHC string (the schema checks the prefix).
    pub async fn create_user(
        &self,
        actor: &crate::Actor,
        email: &str,
        password_hash: &str,
    ) -> Result<User, StoreError> {
        let at = now();
        let mut tx = self.begin().await?;
        let id = insert_user(&mut tx, email, password_hash, at).await?;
        audit(&mut tx, actor, None, "user.create", &format!("user:{}", id.0), &json!({ "email": email })).await?;
        tx.commit().await?;
        Ok(User { id, email: email.to_owned(), password_hash: password_hash.to_owned(), created_at: at })
    }

    pub async fn find_user_by_email(&self, email: &str) -> Result<User, StoreError> {
        let row = sqlx::query("SELECT id, email, password_hash, created_at_ms FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("user", email))?;
        Ok(User {
            id: UserId(row_id(&row, "id")?),
            email: row.try_get("email")?,
            password_hash: row.try_get("password_hash")?,
            created_at: UnixMs(row.try_get("created_at_ms")?),
        })
    }

    pub async fn add_member(
        &self,
        actor: &crate::Actor,
        org: OrgId,
        user: UserId,
        role: Role,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        // Existence checks first so a missing org or user reads as NotFound, not as a foreign-key error.
        for (table, what, id) in [("organizations", "organization", org.0), ("users", "user", user.0)] {
            let found = sqlx::query(&format!("SELECT 1 FROM {table} WHERE id = $1"))
                .bind(db_id(id))
                .fetch_optional(&mut *tx)
                .await?;
            if found.is_none() {
                return Err(StoreError::not_found(what, id));
            }
        }
        sqlx::query("INSERT INTO memberships (org_id, user_id, role, created_at_ms) VALUES ($1, $2, $3, $4)")
            .bind(db_id(org.0))
            .bind(db_id(user.0))
            .bind(role.as_str())
            .bind(now().0)
            .execute(&mut *tx)
            .await?;
        audit(&mut tx, actor, Some(org), "member.add", &format!("user:{}", user.0), &json!({ "role": role.as_str() }))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_members(&self, org: OrgId) -> Result<Vec<Member>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.id, u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = $1 ORDER BY u.id",
        )
        .bind(db_id(org.0))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Member { user: UserId(row_id(row, "id")?), email: row.try_get("email")?, role: role_from_row(row)? })
            })
            .collect()
    }

    pub async fn set_role(&self, actor: &crate::Actor, org: OrgId, user: UserId, role: Role) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        if role != Role::Owner {
            crate::accounts::ensure_not_last_owner(&mut tx, org, user).await?;
        }
        let done = sqlx::query("UPDATE memberships SET role = $3 WHERE org_id = $1 AND user_id = $2")
            .bind(db_id(org.0))
            .bind(db_id(user.0))
            .bind(role.as_str())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("member", user.0));
        }
        audit(
            &mut tx,
            actor,
            Some(org),
            "member.set_role",
            &format!("user:{}", user.0),
            &json!({ "role": role.as_str() }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores an API key record (the hash, never the secret).
    pub async fn create_api_key(
        &self,
        actor: &crate::Actor,
        org: OrgId,
        key: &NewApiKey,
    ) -> Result<ApiKey, StoreError> {
        let at = now();
        let mut tx = self.begin().await?;
        let exists = sqlx::query("SELECT 1 FROM organizations WHERE id = $1")
            .bind(db_id(org.0))
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::not_found("organization", org));
        }
        let row = sqlx::query(
            "INSERT INTO api_keys (org_id, prefix, key_hash, scopes, expires_at_ms, created_by, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(db_id(org.0))
        .bind(&key.prefix)
        .bind(&key.key_hash)
        .bind(serde_json::to_string(&key.scopes).map_err(|e| StoreError::Database(e.to_string()))?)
        .bind(key.expires_at.map(|t| t.0))
        .bind(key.created_by.map(|u| db_id(u.0)))
        .bind(at.0)
        .fetch_one(&mut *tx)
        .await?;
        let id = ApiKeyId(row_id(&row, "id")?);
        audit(
            &mut tx,
            actor,
            Some(org),
            "api_key.create",
            &format!("api_key:{}", key.prefix),
            &json!({ "scopes": key.scopes }),
        )
        .await?;
        tx.commit().await?;
        Ok(ApiKey {
            id,
            org,
            prefix: key.prefix.clone(),
            key_hash: key.key_hash.clone(),
            scopes: key.scopes.clone(),
            expires_at: key.expires_at,
            last_used_at: None,
            created_by: key.created_by,
            created_at: at,
        })
    }

    /// Looks a key up by its public prefix, as authentication does before knowing the org.
    pub async fn find_api_key_by_prefix(&self, prefix: &str) -> Result<ApiKey, StoreError> {
        let row = sqlx::query(
            "SELECT id, org_id, prefix, key_hash, scopes, expires_at_ms, last_used_at_ms, created_by, created_at_ms \
             FROM api_keys WHERE prefix = $1",
        )
        .bind(prefix)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("api key", prefix))?;
        api_key_from_row(&row)
    }

    /// An organization's API key records by id, `limit` at a time, after the cursor.
    pub async fn list_api_keys(
        &self,
        org: OrgId,
        after: Option<ApiKeyId>,
        limit: u32,
    ) -> Result<Page<ApiKey, ApiKeyId>, StoreError> {
        let limit = page_limit(limit)?;
        let rows = sqlx::query(
            "SELECT id, org_id, prefix, key_hash, scopes, expires_at_ms, last_used_at_ms, created_by, created_at_ms \
             FROM api_keys WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(db_id(org.0))
        .bind(after.map_or(0, |a| db_id(a.0)))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(api_key_from_row).collect::<Result<Vec<_>, _>>()?;
        let next = next_cursor(&items, limit, |k| k.id);
        Ok(Page { items, next })
    }

    /// Revokes (deletes) an API key of `org`; from the commit on it authenticates nothing.
    /// Audited as `api_key.revoke` in the same transaction. Returns the key's prefix.
    pub async fn revoke_api_key(&self, actor: &crate::Actor, org: OrgId, id: ApiKeyId) -> Result<String, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query("DELETE FROM api_keys WHERE org_id = $1 AND id = $2 RETURNING prefix")
            .bind(db_id(org.0))
            .bind(db_id(id.0))
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::not_found("api key", id.0))?;
        let prefix: String = row.try_get("prefix")?;
        audit(&mut tx, actor, Some(org), "api_key.revoke", &format!("api_key:{prefix}"), &json!({ "id": id.0 }))
            .await?;
        tx.commit().await?;
        Ok(prefix)
    }

    /// One API key record of `org` (another organization's: `NotFound`).
    pub async fn get_api_key(&self, org: OrgId, id: ApiKeyId) -> Result<ApiKey, StoreError> {
        let row = sqlx::query(
            "SELECT id, org_id, prefix, key_hash, scopes, expires_at_ms, last_used_at_ms, created_by, created_at_ms \
             FROM api_keys WHERE org_id = $1 AND id = $2",
        )
        .bind(db_id(org.0))
        .bind(db_id(id.0))
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("api key", id.0))?;
        api_key_from_row(&row)
    }

    /// Records that a key was used (not audited: it is not a change anyone made).
    pub async fn touch_api_key(&self, org: OrgId, id: ApiKeyId, at: UnixMs) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE api_keys SET last_used_at_ms = $3 WHERE org_id = $1 AND id = $2")
            .bind(db_id(org.0))
            .bind(db_id(id.0))
            .bind(at.0)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("api key", id.0));
        }
        Ok(())
    }
}

fn role_from_row(row: &AnyRow) -> Result<Role, StoreError> {
    let role: String = row.try_get("role")?;
    Role::parse(&role).ok_or_else(|| StoreError::Database(format!("unknown role '{role}'")))
}

fn api_key_from_row(row: &AnyRow) -> Result<ApiKey, StoreError> {
    let scopes: String = row.try_get("scopes")?;
    Ok(ApiKey {
        id: ApiKeyId(row_id(row, "id")?),
        org: OrgId(row_id(row, "org_id")?),
        prefix: row.try_get("prefix")?,
        key_hash: row.try_get("key_hash")?,
        scopes: serde_json::from_str(&scopes).map_err(|e| StoreError::Database(e.to_string()))?,
        expires_at: row.try_get::<Option<i64>, _>("expires_at_ms")?.map(UnixMs),
        last_used_at: row.try_get::<Option<i64>, _>("last_used_at_ms")?.map(UnixMs),
        created_by: row.try_get::<Option<i64>, _>("created_by")?.map(|u| UserId(u as u64)),
        created_at: UnixMs(row.try_get("created_at_ms")?),
    })
}

/// Inserts one user row (the caller audits and commits).
pub(crate) async fn insert_user(
    tx: &mut crate::Tx<'_>,
    email: &str,
    password_hash: &str,
    at: UnixMs,
) -> Result<UserId, StoreError> {
    let row = sqlx::query("INSERT INTO users (email, password_hash, created_at_ms) VALUES ($1, $2, $3) RETURNING id")
        .bind(email)
        .bind(password_hash)
        .bind(at.0)
        .fetch_one(&mut **tx)
        .await?;
    Ok(UserId(row_id(&row, "id")?))
}

/// Inserts one organization row (the caller audits and commits).
pub(crate) async fn insert_organization(tx: &mut crate::Tx<'_>, name: &str, at: UnixMs) -> Result<OrgId, StoreError> {
    let row = sqlx::query("INSERT INTO organizations (name, created_at_ms) VALUES ($1, $2) RETURNING id")
        .bind(name)
        .bind(at.0)
        .fetch_one(&mut **tx)
        .await?;
    Ok(OrgId(row_id(&row, "id")?))
}

//! Account administration done from the command line and at start: enrolling a user
//! into an organization in one transaction, password resets, expired-session pruning,
//! and bulk fleet imports.

use crate::{
    Actor, NewCampaign, NewStation, Organization, Role, Store, StoreError, User, UserId, audit, db_id, now, row_id,
};
use serde_json::json;
use sqlx::Row;
use talos_core::{OrgId, UnixMs};

/// What [`Store::enroll_user`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment {
    pub user: User,
    pub org: Organization,
    /// The organization did not exist and was created (the user is its first owner).
    pub created_org: bool,
}

/// What [`Store::import_fleet`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FleetImport {
    pub stations: usize,
    pub campaigns: usize,
    pub assignments: usize,
}

impl Store {
    /// Creates a user and its membership of the organization named `org_name`, in one
    /// transaction: a missing organization is created when `role` is owner, and is an
    /// error otherwise; any failure (duplicate email, bad name) leaves nothing behind.
    pub async fn enroll_user(
        &self,
        actor: &Actor,
        email: &str,
        password_hash: &str,
        org_name: &str,
        role: Role,
    ) -> Result<Enrollment, StoreError> {
        let at = now();
        let mut tx = self.begin().await?;
        let user = User {
            id: crate::tenancy::insert_user(&mut tx, email, password_hash, at).await?,
            email: email.to_owned(),
            password_hash: password_hash.to_owned(),
            created_at: at,
        };
        audit(&mut tx, actor, None, "user.create", &format!("user:{}", user.id.0), &json!({ "email": email })).await?;
        let found = sqlx::query("SELECT id, created_at_ms FROM organizations WHERE name = $1")
            .bind(org_name)
            .fetch_optional(&mut *tx)
            .await?;
        let (org, created_org) = match found {
            Some(row) => (
                Organization {
                    id: OrgId(row_id(&row, "id")?),
                    name: org_name.to_owned(),
                    created_at: UnixMs(row.try_get("created_at_ms")?),
                },
                false,
            ),
            None if role == Role::Owner => {
                let id = crate::tenancy::insert_organization(&mut tx, org_name, at).await?;
                audit(
                    &mut tx,
                    actor,
                    Some(id),
                    "organization.create",
                    &format!("organization:{id}"),
                    &json!({ "name": org_name }),
                )
                .await?;
                (Organization { id, name: org_name.to_owned(), created_at: at }, true)
            }
            None => return Err(StoreError::not_found("organization", org_name)),
        };
        sqlx::query("INSERT INTO memberships (org_id, user_id, role, created_at_ms) VALUES ($1, $2, $3, $4)")
            .bind(db_id(org.id.0))
            .bind(db_id(user.id.0))
            .bind(role.as_str())
            .bind(at.0)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            actor,
            Some(org.id),
            "member.add",
            &format!("user:{}", user.id.0),
            &json!({ "role": role.as_str() }),
        )
        .await?;
        tx.commit().await?;
        Ok(Enrollment { user, org, created_org })
    }

    /// Replaces a user's password hash (an Argon2id PHC string) and ends their sessions.
    pub async fn set_password(&self, actor: &Actor, user: UserId, password_hash: &str) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(db_id(user.0))
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("user", user.0));
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(db_id(user.0)).execute(&mut *tx).await?;
        audit(&mut tx, actor, None, "user.password_reset", &format!("user:{}", user.0), &json!({})).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a member from an organization (the user and their other memberships stay).
    /// The last owner cannot be removed: an organization always keeps one.
    pub async fn remove_member(&self, actor: &Actor, org: OrgId, user: UserId) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        ensure_not_last_owner(&mut tx, org, user).await?;
        let done = sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
            .bind(db_id(org.0))
            .bind(db_id(user.0))
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("member", user.0));
        }
        audit(&mut tx, actor, Some(org), "member.remove", &format!("user:{}", user.0), &json!({})).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes sessions that expired before `at`; returns how many.
    pub async fn delete_expired_sessions(&self, at: UnixMs) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at_ms <= $1").bind(at.0).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    /// Creates many stations and campaigns of one organization and the assignments
    /// between them (`(station index, campaign index)` into the two slices) in one
    /// transaction with one audit row: provisioning a network, where thousands of
    /// single-row API calls would take minutes. All or nothing.
    pub async fn import_fleet(
        &self,
        actor: &Actor,
        org: OrgId,
        stations: &[NewStation],
        campaigns: &[NewCampaign],
        assignments: &[(usize, usize)],
    ) -> Result<FleetImport, StoreError> {
        for &(s, c) in assignments {
            if s >= stations.len() || c >= campaigns.len() {
                return Err(StoreError::invalid(
                    "assignments",
                    format!("({s}, {c}) refers past {} stations / {} campaigns", stations.len(), campaigns.len()),
                ));
            }
        }
        let at = now();
        let mut tx = self.begin().await?;
        let exists = sqlx::query("SELECT 1 FROM organizations WHERE id = $1")
            .bind(db_id(org.0))
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::not_found("organization", org));
        }
        let mut station_ids = Vec::with_capacity(stations.len());
        for s in stations {
            station_ids.push(crate::fleet::insert_station(&mut tx, org, s, at).await?.0);
        }
        let mut campaign_ids = Vec::with_capacity(campaigns.len());
        for c in campaigns {
            campaign_ids.push(crate::fleet::insert_campaign(&mut tx, org, c, at).await?.0);
        }
        for &(s, c) in assignments {
            sqlx::query(
                "INSERT INTO assignments (org_id, station_id, campaign_id, created_at_ms) VALUES ($1, $2, $3, $4)",
            )
            .bind(db_id(org.0))
            .bind(db_id(station_ids[s]))
            .bind(db_id(campaign_ids[c]))
            .bind(at.0)
            .execute(&mut *tx)
            .await?;
        }
        let counts =
            FleetImport { stations: stations.len(), campaigns: campaigns.len(), assignments: assignments.len() };
        audit(
            &mut tx,
            actor,
            Some(org),
            "fleet.import",
            &format!("organization:{org}"),
            &json!({ "stations": counts.stations, "campaigns": counts.campaigns, "assignments": counts.assignments }),
        )
        .await?;
        tx.commit().await?;
        Ok(counts)
    }
}

/// Refuses to take away the only owner of `org` (removal or demotion of `user`).
pub(crate) async fn ensure_not_last_owner(tx: &mut crate::Tx<'_>, org: OrgId, user: UserId) -> Result<(), StoreError> {
    let owners = sqlx::query("SELECT user_id FROM memberships WHERE org_id = $1 AND role = 'owner'")
        .bind(db_id(org.0))
        .fetch_all(&mut **tx)
        .await?;
    let ids: Vec<i64> = owners.iter().map(|r| r.try_get::<i64, _>("user_id")).collect::<Result<_, _>>()?;
    if ids == [db_id(user.0)] {
        return Err(StoreError::Refused(
            "the organization's last owner cannot be removed or demoted; make another member owner first".to_owned(),
        ));
    }
    Ok(())
}

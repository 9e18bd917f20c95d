//! Stations, campaigns and assignments: the org-owned things the director runs.

use crate::{
    Actor, Assignment, Campaign, NewCampaign, NewStation, Page, Station, Store, StoreError, Tx, audit, db_id, json_opt,
    next_cursor, now, page_limit, row_id,
};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use talos_core::{AssignmentId, CampaignId, NoradId, OrgId, StationId, UnixMs};

const STATION_COLUMNS: &str = "id, org_id, name, lat_deg, lon_deg, alt_m, min_el_deg, horizon_mask, az_min_deg, \
    az_max_deg, el_min_deg, el_max_deg, az_slew_deg_s, el_slew_deg_s, park_az_deg, park_el_deg, rig, \
    agent_credential_hash, held_since_ms, created_at_ms, updated_at_ms";

const CAMPAIGN_COLUMNS: &str = "id, org_id, name, norad_id, priority, window_start_ms, window_end_ms, min_el_deg, \
    policy, transmitter_uuids, created_at_ms, updated_at_ms";

const ASSIGNMENT_COLUMNS: &str = "id, org_id, station_id, campaign_id, created_at_ms";

impl Store {
    pub async fn create_station(&self, actor: &Actor, org: OrgId, s: &NewStation) -> Result<Station, StoreError> {
        let at = now();
        let mut tx = self.begin().await?;
        ensure_org(&mut tx, org).await?;
        let id = insert_station(&mut tx, org, s, at).await?;
        audit(&mut tx, actor, Some(org), "station.create", &format!("station:{id}"), &json!({ "name": s.name }))
            .await?;
        tx.commit().await?;
        Ok(Station { id, org, settings: s.clone(), held_since: None, created_at: at, updated_at: at })
    }

    pub async fn get_station(&self, org: OrgId, id: StationId) -> Result<Station, StoreError> {
        let row = sqlx::query(&format!("SELECT {STATION_COLUMNS} FROM stations WHERE org_id = $1 AND id = $2"))
            .bind(db_id(org.0))
            .bind(db_id(id.0))
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("station", id))?;
        station_from_row(&row)
    }

    /// An organization's stations by id, `limit` at a time, after the cursor.
    pub async fn list_stations(
        &self,
        org: OrgId,
        after: Option<StationId>,
        limit: u32,
    ) -> Result<Page<Station, StationId>, StoreError> {
        let limit = page_limit(limit)?;
        let rows = sqlx::query(&format!(
            "SELECT {STATION_COLUMNS} FROM stations WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(db_id(org.0))
        .bind(after.map_or(0, |a| db_id(a.0)))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(station_from_row).collect::<Result<Vec<_>, _>>()?;
        let next = next_cursor(&items, limit, |s| s.id);
        Ok(Page { items, next })
    }

    /// Replaces a station's settings.
    pub async fn update_station(
        &self,
        actor: &Actor,
        org: OrgId,
        id: StationId,
        s: &NewStation,
    ) -> Result<Station, StoreError> {
        validate_station(s)?;
        let at = now();
        let mut tx = self.begin().await?;
        let update = sqlx::query(
            "UPDATE stations SET name = $3, lat_deg = $4, lon_deg = $5, alt_m = $6, min_el_deg = $7, \
             horizon_mask = $8, az_min_deg = $9, az_max_deg = $10, el_min_deg = $11, el_max_deg = $12, \
             az_slew_deg_s = $13, el_slew_deg_s = $14, park_az_deg = $15, park_el_deg = $16, rig = $17, \
             agent_credential_hash = $18, updated_at_ms = $19 WHERE org_id = $1 AND id = $2 RETURNING created_at_ms, held_since_ms",
        )
        .bind(db_id(org.0))
        .bind(db_id(id.0));
        let row = bind_station_settings(update, s)
            .bind(at.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::not_found("station", id))?;
        let created_at = UnixMs(row.try_get("created_at_ms")?);
        let held_since = row.try_get::<Option<i64>, _>("held_since_ms")?.map(UnixMs);
        audit(&mut tx, actor, Some(org), "station.update", &format!("station:{id}"), &json!({ "name": s.name }))
            .await?;
        tx.commit().await?;
        Ok(Station { id, org, settings: s.clone(), held_since, created_at, updated_at: at })
    }

    /// Holds a station parked (`held = true`) or releases it, as an operator command:
    /// audited as `station.park` / `station.resume` in the same transaction. Holding an
    /// already held station keeps its original `held_since`.
    pub async fn set_station_hold(
        &self,
        actor: &Actor,
        org: OrgId,
        id: StationId,
        held: bool,
        reason: &str,
    ) -> Result<Station, StoreError> {
        let at = now();
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE stations SET held_since_ms = CASE WHEN $3 = 0 THEN NULL ELSE COALESCE(held_since_ms, $4) END \
             WHERE org_id = $1 AND id = $2",
        )
        .bind(db_id(org.0))
        .bind(db_id(id.0))
        .bind(i64::from(held))
        .bind(at.0)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("station", id));
        }
        let action = if held { "station.park" } else { "station.resume" };
        audit(&mut tx, actor, Some(org), action, &format!("station:{id}"), &json!({ "reason": reason })).await?;
        let row = sqlx::query(&format!("SELECT {STATION_COLUMNS} FROM stations WHERE org_id = $1 AND id = $2"))
            .bind(db_id(org.0))
            .bind(db_id(id.0))
            .fetch_one(&mut *tx)
            .await?;
        let station = station_from_row(&row)?;
        tx.commit().await?;
        Ok(station)
    }

    /// Deletes a station and its assignments.
    pub async fn delete_station(&self, actor: &Actor, org: OrgId, id: StationId) -> Result<(), StoreError> {
        self.delete_owned(actor, org, "stations", "station", id.0).await
    }

    pub async fn create_campaign(&self, actor: &Actor, org: OrgId, c: &NewCampaign) -> Result<Campaign, StoreError> {
        let at = now();
        let mut tx = self.begin().await?;
        ensure_org(&mut tx, org).await?;
        let id = insert_campaign(&mut tx, org, c, at).await?;
        audit(&mut tx, actor, Some(org), "campaign.create", &format!("campaign:{id}"), &json!({ "name": c.name }))
            .await?;
        tx.commit().await?;
        Ok(Campaign { id, org, settings: c.clone(), created_at: at, updated_at: at })
    }

    pub async fn get_campaign(&self, org: OrgId, id: CampaignId) -> Result<Campaign, StoreError> {
        let row = sqlx::query(&format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE org_id = $1 AND id = $2"))
            .bind(db_id(org.0))
            .bind(db_id(id.0))
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("campaign", id))?;
        campaign_from_row(&row)
    }

    pub async fn list_campaigns(
        &self,
        org: OrgId,
        after: Option<CampaignId>,
        limit: u32,
    ) -> Result<Page<Campaign, CampaignId>, StoreError> {
        let limit = page_limit(limit)?;
        let rows = sqlx::query(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(db_id(org.0))
        .bind(after.map_or(0, |a| db_id(a.0)))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(campaign_from_row).collect::<Result<Vec<_>, _>>()?;
        let next = next_cursor(&items, limit, |c| c.id);
        Ok(Page { items, next })
    }

    /// Replaces a campaign's settings.
    pub async fn update_campaign(
        &self,
        actor: &Actor,
        org: OrgId,
        id: CampaignId,
        c: &NewCampaign,
    ) -> Result<Campaign, StoreError> {
        let at = now();
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "UPDATE campaigns SET name = $3, norad_id = $4, priority = $5, window_start_ms = $6, window_end_ms = $7, \
             min_el_deg = $8, policy = $9, transmitter_uuids = $10, updated_at_ms = $11 \
             WHERE org_id = $1 AND id = $2 RETURNING created_at_ms",
        )
        .bind(db_id(org.0))
        .bind(db_id(id.0))
        .bind(&c.name)
        .bind(i64::from(c.norad_id.get()))
        .bind(i64::from(c.priority))
        .bind(c.window_start.map(|t| t.0))
        .bind(c.window_end.map(|t| t.0))
        .bind(c.min_el_deg)
        .bind(&c.policy)
        .bind(json!(c.transmitter_uuids).to_string())
        .bind(at.0)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::not_found("campaign", id))?;
        let created_at = UnixMs(row.try_get("created_at_ms")?);
        audit(&mut tx, actor, Some(org), "campaign.update", &format!("campaign:{id}"), &json!({ "name": c.name }))
            .await?;
        tx.commit().await?;
        Ok(Campaign { id, org, settings: c.clone(), created_at, updated_at: at })
    }

    /// Deletes a campaign and its assignments.
    pub async fn delete_campaign(&self, actor: &Actor, org: OrgId, id: CampaignId) -> Result<(), StoreError> {
        self.delete_owned(actor, org, "campaigns", "campaign", id.0).await
    }

    /// Assigns one of the org's stations to one of its campaigns. A station or campaign
    /// of another organization reads as NotFound.
    pub async fn create_assignment(
        &self,
        actor: &Actor,
        org: OrgId,
        station: StationId,
        campaign: CampaignId,
    ) -> Result<Assignment, StoreError> {
        let at = now();
        let mut tx = self.begin().await?;
        for (table, what, id) in [("stations", "station", station.0), ("campaigns", "campaign", campaign.0)] {
            let found = sqlx::query(&format!("SELECT 1 FROM {table} WHERE org_id = $1 AND id = $2"))
                .bind(db_id(org.0))
                .bind(db_id(id))
                .fetch_optional(&mut *tx)
                .await?;
            if found.is_none() {
                return Err(StoreError::not_found(what, id));
            }
        }
        let row = sqlx::query(
            "INSERT INTO assignments (org_id, station_id, campaign_id, created_at_ms) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .bind(db_id(org.0))
        .bind(db_id(station.0))
        .bind(db_id(campaign.0))
        .bind(at.0)
        .fetch_one(&mut *tx)
        .await?;
        let id = AssignmentId(row_id(&row, "id")?);
        let details = json!({ "station": station.0, "campaign": campaign.0 });
        audit(&mut tx, actor, Some(org), "assignment.create", &format!("assignment:{id}"), &details).await?;
        tx.commit().await?;
        Ok(Assignment { id, org, station, campaign, created_at: at })
    }

    pub async fn get_assignment(&self, org: OrgId, id: AssignmentId) -> Result<Assignment, StoreError> {
        let row = sqlx::query(&format!("SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE org_id = $1 AND id = $2"))
            .bind(db_id(org.0))
            .bind(db_id(id.0))
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("assignment", id))?;
        assignment_from_row(&row)
    }

    pub async fn list_assignments(
        &self,
        org: OrgId,
        after: Option<AssignmentId>,
        limit: u32,
    ) -> Result<Page<Assignment, AssignmentId>, StoreError> {
        let limit = page_limit(limit)?;
        let rows = sqlx::query(&format!(
            "SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(db_id(org.0))
        .bind(after.map_or(0, |a| db_id(a.0)))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(assignment_from_row).collect::<Result<Vec<_>, _>>()?;
        let next = next_cursor(&items, limit, |a| a.id);
        Ok(Page { items, next })
    }

    pub async fn delete_assignment(&self, actor: &Actor, org: OrgId, id: AssignmentId) -> Result<(), StoreError> {
        self.delete_owned(actor, org, "assignments", "assignment", id.0).await
    }

    /// One station's assignments with their campaigns (what its pass timeline shows), by assignment id.
    pub async fn station_campaigns(
        &self,
        org: OrgId,
        station: StationId,
    ) -> Result<Vec<(Assignment, Campaign)>, StoreError> {
        let columns: String = CAMPAIGN_COLUMNS.split(", ").map(|c| format!("c.{c}")).collect::<Vec<_>>().join(", ");
        let rows = sqlx::query(&format!(
            "SELECT a.id AS assignment_id, a.created_at_ms AS assignment_created_at_ms, {columns} \
             FROM assignments a JOIN campaigns c ON c.id = a.campaign_id \
             WHERE a.org_id = $1 AND a.station_id = $2 ORDER BY a.id"
        ))
        .bind(db_id(org.0))
        .bind(db_id(station.0))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let campaign = campaign_from_row(row)?;
                let assignment = Assignment {
                    id: AssignmentId(row_id(row, "assignment_id")?),
                    org,
                    station,
                    campaign: campaign.id,
                    created_at: UnixMs(row.try_get("assignment_created_at_ms")?),
                };
                Ok((assignment, campaign))
            })
            .collect()
    }

    /// All stations, campaigns and assignments of every organization, by id (director start).
    pub(crate) async fn load_fleet(&self) -> Result<(Vec<Station>, Vec<Campaign>, Vec<Assignment>), StoreError> {
        let stations = sqlx::query(&format!("SELECT {STATION_COLUMNS} FROM stations ORDER BY id"))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(station_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let campaigns = sqlx::query(&format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns ORDER BY id"))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(campaign_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let assignments = sqlx::query(&format!("SELECT {ASSIGNMENT_COLUMNS} FROM assignments ORDER BY id"))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(assignment_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((stations, campaigns, assignments))
    }

    async fn delete_owned(
        &self,
        actor: &Actor,
        org: OrgId,
        table: &'static str,
        what: &'static str,
        id: u64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(&format!("DELETE FROM {table} WHERE org_id = $1 AND id = $2"))
            .bind(db_id(org.0))
            .bind(db_id(id))
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(what, id));
        }
        audit(&mut tx, actor, Some(org), &format!("{what}.delete"), &format!("{what}:{id}"), &json!({})).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Checks what the schema cannot: the horizon mask's shape and ranges (the director
/// reads it as `[[az_deg, el_deg], ...]` and would otherwise have to leave the station out).
fn validate_station(s: &NewStation) -> Result<(), StoreError> {
    let Some(mask) = &s.horizon_mask else { return Ok(()) };
    let invalid = |reason: String| StoreError::invalid("horizon_mask", reason);
    let points = mask.as_array().ok_or_else(|| invalid("expected an array of [az_deg, el_deg] pairs".into()))?;
    if points.is_empty() || points.len() > 3600 {
        return Err(invalid(format!("expected 1 to 3600 points, got {}", points.len())));
    }
    let mut azimuths = Vec::with_capacity(points.len());
    for (i, p) in points.iter().enumerate() {
        let pair = p.as_array().filter(|a| a.len() == 2);
        let (az, el) = match pair.map(|a| (a[0].as_f64(), a[1].as_f64())) {
            Some((Some(az), Some(el))) => (az, el),
            _ => return Err(invalid(format!("point {i}: expected [az_deg, el_deg] numbers, got {p}"))),
        };
        if !(0.0..360.0).contains(&az) {
            return Err(invalid(format!("point {i}: az_deg {az} outside [0, 360)")));
        }
        if !(-5.0..=90.0).contains(&el) {
            return Err(invalid(format!("point {i}: el_deg {el} outside [-5, 90]")));
        }
        if azimuths.contains(&az.to_bits()) {
            return Err(invalid(format!("point {i}: azimuth {az} appears twice")));
        }
        azimuths.push(az.to_bits());
    }
    Ok(())
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds a station's settings in column order (`name` .. `agent_credential_hash`), the
/// same for insert and update.
fn bind_station_settings<'q>(q: AnyQuery<'q>, s: &'q NewStation) -> AnyQuery<'q> {
    q.bind(&s.name)
        .bind(s.lat_deg)
        .bind(s.lon_deg)
        .bind(s.alt_m)
        .bind(s.min_el_deg)
        .bind(s.horizon_mask.as_ref().map(|v| v.to_string()))
        .bind(s.az_min_deg)
        .bind(s.az_max_deg)
        .bind(s.el_min_deg)
        .bind(s.el_max_deg)
        .bind(s.az_slew_deg_s)
        .bind(s.el_slew_deg_s)
        .bind(s.park_az_deg)
        .bind(s.park_el_deg)
        .bind(s.rig.as_ref().map(|v| v.to_string()))
        .bind(s.agent_credential_hash.as_deref())
}

/// Inserts one station row (the caller audits and commits).
pub(crate) async fn insert_station(
    tx: &mut Tx<'_>,
    org: OrgId,
    s: &NewStation,
    at: UnixMs,
) -> Result<StationId, StoreError> {
    validate_station(s)?;
    let insert = sqlx::query(
        "INSERT INTO stations (org_id, name, lat_deg, lon_deg, alt_m, min_el_deg, horizon_mask, az_min_deg, \
         az_max_deg, el_min_deg, el_max_deg, az_slew_deg_s, el_slew_deg_s, park_az_deg, park_el_deg, rig, \
         agent_credential_hash, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18) RETURNING id",
    )
    .bind(db_id(org.0));
    let row = bind_station_settings(insert, s).bind(at.0).fetch_one(&mut **tx).await?;
    Ok(StationId(row_id(&row, "id")?))
}

/// Inserts one campaign row (the caller audits and commits).
pub(crate) async fn insert_campaign(
    tx: &mut Tx<'_>,
    org: OrgId,
    c: &NewCampaign,
    at: UnixMs,
) -> Result<CampaignId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO campaigns (org_id, name, norad_id, priority, window_start_ms, window_end_ms, min_el_deg, \
         policy, transmitter_uuids, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
    )
    .bind(db_id(org.0))
    .bind(&c.name)
    .bind(i64::from(c.norad_id.get()))
    .bind(i64::from(c.priority))
    .bind(c.window_start.map(|t| t.0))
    .bind(c.window_end.map(|t| t.0))
    .bind(c.min_el_deg)
    .bind(&c.policy)
    .bind(json!(c.transmitter_uuids).to_string())
    .bind(at.0)
    .fetch_one(&mut **tx)
    .await?;
    Ok(CampaignId(row_id(&row, "id")?))
}

async fn ensure_org(tx: &mut Tx<'_>, org: OrgId) -> Result<(), StoreError> {
    let found =
        sqlx::query("SELECT 1 FROM organizations WHERE id = $1").bind(db_id(org.0)).fetch_optional(&mut **tx).await?;
    found.map(|_| ()).ok_or_else(|| StoreError::not_found("organization", org))
}

fn station_from_row(row: &AnyRow) -> Result<Station, StoreError> {
    Ok(Station {
        id: StationId(row_id(row, "id")?),
        org: OrgId(row_id(row, "org_id")?),
        settings: NewStation {
            name: row.try_get("name")?,
            lat_deg: row.try_get("lat_deg")?,
            lon_deg: row.try_get("lon_deg")?,
            alt_m: row.try_get("alt_m")?,
            min_el_deg: row.try_get("min_el_deg")?,
            horizon_mask: json_opt(row, "horizon_mask")?,
            az_min_deg: row.try_get("az_min_deg")?,
            az_max_deg: row.try_get("az_max_deg")?,
            el_min_deg: row.try_get("el_min_deg")?,
            el_max_deg: row.try_get("el_max_deg")?,
            az_slew_deg_s: row.try_get("az_slew_deg_s")?,
            el_slew_deg_s: row.try_get("el_slew_deg_s")?,
            park_az_deg: row.try_get("park_az_deg")?,
            park_el_deg: row.try_get("park_el_deg")?,
            rig: json_opt(row, "rig")?,
            agent_credential_hash: row.try_get("agent_credential_hash")?,
        },
        held_since: row.try_get::<Option<i64>, _>("held_since_ms")?.map(UnixMs),
        created_at: UnixMs(row.try_get("created_at_ms")?),
        updated_at: UnixMs(row.try_get("updated_at_ms")?),
    })
}

fn campaign_from_row(row: &AnyRow) -> Result<Campaign, StoreError> {
    let norad: i64 = row.try_get("norad_id")?;
    let priority: i64 = row.try_get("priority")?;
    let uuids: String = row.try_get("transmitter_uuids")?;
    Ok(Campaign {
        id: CampaignId(row_id(row, "id")?),
        org: OrgId(row_id(row, "org_id")?),
        settings: NewCampaign {
            name: row.try_get("name")?,
            norad_id: NoradId::new(norad as u64).map_err(|e| StoreError::Database(e.to_string()))?,
            priority: i32::try_from(priority).map_err(|e| StoreError::Database(e.to_string()))?,
            window_start: row.try_get::<Option<i64>, _>("window_start_ms")?.map(UnixMs),
            window_end: row.try_get::<Option<i64>, _>("window_end_ms")?.map(UnixMs),
            min_el_deg: row.try_get("min_el_deg")?,
            policy: row.try_get("policy")?,
            transmitter_uuids: serde_json::from_str(&uuids).map_err(|e| StoreError::Database(e.to_string()))?,
        },
        created_at: UnixMs(row.try_get("created_at_ms")?),
        updated_at: UnixMs(row.try_get("updated_at_ms")?),
    })
}

fn assignment_from_row(row: &AnyRow) -> Result<Assignment, StoreError> {
    Ok(Assignment {
        id: AssignmentId(row_id(row, "id")?),
        org: OrgId(row_id(row, "org_id")?),
        station: StationId(row_id(row, "station_id")?),
        campaign: CampaignId(row_id(row, "campaign_id")?),
        created_at: UnixMs(row.try_get("created_at_ms")?),
    })
}

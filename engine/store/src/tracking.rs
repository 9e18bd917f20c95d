//! What the director did: its discrete commands (audited) and the tracking sessions
//! they open and close.

use crate::{Actor, Page, Store, StoreError, audit, db_id, next_cursor, page_limit, row_id};
use serde::Serialize;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::HashMap;
use talos_core::{AssignmentId, NoradId, OrgId, StationId, UnixMs};

/// How a tracking session ended (`in_progress` while open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionOutcome {
    InProgress,
    /// Tracked to LOS (or to the end of the campaign window).
    Completed,
    /// Another assignment took the station.
    Preempted,
    /// An operator held the station parked.
    Held,
    /// The assignment or campaign was removed mid-pass.
    Removed,
    /// The director stopped (or restarted) during the session.
    Interrupted,
}

impl SessionOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Preempted => "preempted",
            Self::Held => "held",
            Self::Removed => "removed",
            Self::Interrupted => "interrupted",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::InProgress, Self::Completed, Self::Preempted, Self::Held, Self::Removed, Self::Interrupted]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// A discrete command the director sent to a station (setpoints are not recorded:
/// they are continuous and regenerated every tick).
#[derive(Debug, Clone, PartialEq)]
pub struct DirectorCommand {
    pub org: OrgId,
    pub station: StationId,
    pub at: UnixMs,
    pub kind: DirectorCommandKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DirectorCommandKind {
    SessionStart { assignment: AssignmentId, norad_id: NoradId },
    SessionStop { assignment: AssignmentId, norad_id: NoradId, outcome: SessionOutcome },
    Park { az_deg: f64, el_deg: f64 },
}

/// One row of `tracking_sessions`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackingSession {
    pub id: u64,
    pub org: OrgId,
    pub station: StationId,
    pub assignment: AssignmentId,
    pub norad_id: NoradId,
    pub started_at: UnixMs,
    pub ended_at: Option<UnixMs>,
    pub outcome: SessionOutcome,
}

const SESSION_COLUMNS: &str = "id, org_id, station_id, assignment_id, norad_id, started_at_ms, ended_at_ms, outcome";

impl Store {
    /// Records a batch of director commands in one transaction: an audit row each
    /// (actor `system`) and the sessions they open or close. Commands for an
    /// organization deleted meanwhile are skipped (no session, no audit row: the org's
    /// log is gone with it, and an id that does not exist must not collect rows) rather
    /// than failing the batch.
    pub async fn record_director_commands(&self, commands: &[DirectorCommand]) -> Result<(), StoreError> {
        if commands.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        let mut org_exists: HashMap<OrgId, bool> = HashMap::new();
        for c in commands {
            let exists = match org_exists.get(&c.org) {
                Some(&exists) => exists,
                None => {
                    let found = sqlx::query("SELECT 1 FROM organizations WHERE id = $1")
                        .bind(db_id(c.org.0))
                        .fetch_optional(&mut *tx)
                        .await?
                        .is_some();
                    org_exists.insert(c.org, found);
                    found
                }
            };
            if !exists {
                continue;
            }
            let target = format!("station:{}", c.station);
            let (action, details) = match &c.kind {
                DirectorCommandKind::SessionStart { assignment, norad_id } => {
                    sqlx::query(
                        "INSERT INTO tracking_sessions \
                         (org_id, station_id, assignment_id, norad_id, started_at_ms, outcome) \
                         VALUES ($1, $2, $3, $4, $5, 'in_progress')",
                    )
                    .bind(db_id(c.org.0))
                    .bind(db_id(c.station.0))
                    .bind(db_id(assignment.0))
                    .bind(i64::from(norad_id.get()))
                    .bind(c.at.0)
                    .execute(&mut *tx)
                    .await?;
                    ("command.session_start", json!({ "assignment": assignment, "norad_id": norad_id }))
                }
                DirectorCommandKind::SessionStop { assignment, norad_id, outcome } => {
                    sqlx::query(
                        "UPDATE tracking_sessions SET ended_at_ms = $1, outcome = $2 \
                         WHERE org_id = $3 AND station_id = $4 AND assignment_id = $5 AND ended_at_ms IS NULL",
                    )
                    .bind(c.at.0)
                    .bind(outcome.as_str())
                    .bind(db_id(c.org.0))
                    .bind(db_id(c.station.0))
                    .bind(db_id(assignment.0))
                    .execute(&mut *tx)
                    .await?;
                    (
                        "command.session_stop",
                        json!({ "assignment": assignment, "norad_id": norad_id, "outcome": outcome }),
                    )
                }
                DirectorCommandKind::Park { az_deg, el_deg } => {
                    ("command.park", json!({ "az_deg": az_deg, "el_deg": el_deg }))
                }
            };
            audit(&mut tx, &Actor::System, Some(c.org), action, &target, &details).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Marks sessions left open by a director that stopped as `interrupted` at `at`
    /// (called at director start). Returns how many were closed.
    pub async fn interrupt_open_sessions(&self, at: UnixMs) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE tracking_sessions SET ended_at_ms = CASE WHEN started_at_ms > $1 THEN started_at_ms ELSE $1 END, \
             outcome = 'interrupted' WHERE ended_at_ms IS NULL",
        )
        .bind(at.0)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// An organization's tracking sessions (optionally one station's), newest first;
    /// pass the last id seen as `before`.
    pub async fn list_tracking_sessions(
        &self,
        org: OrgId,
        station: Option<StationId>,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Page<TrackingSession, u64>, StoreError> {
        let limit = page_limit(limit)?;
        let rows = sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM tracking_sessions \
             WHERE org_id = $1 AND ($2 = 0 OR station_id = $2) AND id < $3 ORDER BY id DESC LIMIT $4"
        ))
        .bind(db_id(org.0))
        .bind(station.map_or(0, |s| db_id(s.0)))
        .bind(before.map_or(i64::MAX, db_id))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(session_from_row).collect::<Result<Vec<_>, _>>()?;
        let next = next_cursor(&items, limit, |s| s.id);
        Ok(Page { items, next })
    }
}

fn session_from_row(row: &AnyRow) -> Result<TrackingSession, StoreError> {
    let norad: i64 = row.try_get("norad_id")?;
    let outcome: String = row.try_get("outcome")?;
    Ok(TrackingSession {
        id: row_id(row, "id")?,
        org: OrgId(row_id(row, "org_id")?),
        station: StationId(row_id(row, "station_id")?),
        assignment: AssignmentId(row_id(row, "assignment_id")?),
        norad_id: NoradId::new(norad as u64).map_err(|e| StoreError::Database(e.to_string()))?,
        started_at: UnixMs(row.try_get("started_at_ms")?),
        ended_at: row.try_get::<Option<i64>, _>("ended_at_ms")?.map(UnixMs),
        outcome: SessionOutcome::parse(&outcome)
            .ok_or_else(|| StoreError::Database(format!("unknown session outcome '{outcome}'")))?,
    })
}

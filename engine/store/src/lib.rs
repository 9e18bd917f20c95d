//! `talos-store`: the one place TALOS keeps durable state, over PostgreSQL (production)
//! or SQLite (embedded default) through sqlx.
//!
//! Owns: the schema (migrations in `migrations/{postgres,sqlite}` at the repository
//! root, applied at connect), org-scoped reads and writes of organizations, users,
//! memberships, API key records, stations, campaigns and assignments, the shared
//! element-set and transmitter catalogs, station agents' MQTT credentials (Mosquitto `$7$`
//! hashes), and the append-only audit log.
//!
//! Must never: return a row of another organization than the one asked for (every
//! org-owned query carries `org_id`), write a mutation without its audit row in the
//! same transaction, hash or see secrets (callers hand over hashes; the one exception is a
//! station agent's MQTT password, which the store creates, returns once and keeps only as
//! a hash: `mqtt_credentials`), or leak SQL text in its errors.
//!
//! Design: one [`Store`] over sqlx's `Any` driver; both backends run the same SQL
//! (`$N` placeholders work in both) and the [`Backend`] only picks the migrations and
//! the connection pragmas, so the two implementations cannot drift apart.

mod accounts;
mod catalog;
mod error;
mod fleet;
mod mqtt_credentials;
mod sessions;
mod tenancy;
#[cfg(feature = "testing")]
pub mod testing;
mod tracking;
mod types;

pub use accounts::{Enrollment, FleetImport};
pub use catalog::parse_satnogs_transmitters;
pub use error::StoreError;
pub use mqtt_credentials::{
    AgentCredential, MQTT_HASH_ITERATIONS, StationCredentialHash, generate_mqtt_password, hash_mqtt_password,
    verify_mqtt_password,
};
pub use sessions::Session;
pub use tracking::{DirectorCommand, DirectorCommandKind, SessionOutcome, TrackingSession};
pub use types::*;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor, Row};
use talos_core::{OrgId, UnixMs};

static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");

/// Longest page a list call returns.
pub const MAX_PAGE: u32 = 1_000;

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// The store: a connection pool plus the backend it points at. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

pub(crate) type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

impl Store {
    /// Connects to `postgres://...` or `sqlite://path?mode=rwc` and applies pending
    /// migrations. SQLite connections use WAL, `foreign_keys=ON` and a 5 s busy timeout.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreError::invalid("url", "expected postgres://... or sqlite://..."));
        };
        let mut options = AnyPoolOptions::new().max_connections(8);
        if backend == Backend::Sqlite {
            options = options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")
                        .await?;
                    Ok(())
                })
            });
        }
        let pool = options.connect(url).await?;
        let migrator = match backend {
            Backend::Postgres => &POSTGRES_MIGRATIONS,
            Backend::Sqlite => &SQLITE_MIGRATIONS,
        };
        migrator.run(&pool).await?;
        Ok(Self { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a write transaction. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads first and then writes
    /// fails at once with "database is locked" when another writer is active, instead of
    /// waiting out the busy timeout.
    pub(crate) async fn begin(&self) -> Result<Tx<'static>, StoreError> {
        Ok(match self.backend {
            Backend::Postgres => self.pool.begin().await?,
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
        })
    }

    /// Appends an audit entry on its own (for events that change nothing else, such
    /// as a denied command); mutating methods write theirs in their own transaction.
    pub async fn append_audit(
        &self,
        actor: &Actor,
        org: Option<OrgId>,
        action: &str,
        target: &str,
        details: serde_json::Value,
    ) -> Result<AuditId, StoreError> {
        let mut tx = self.begin().await?;
        let id = audit(&mut tx, actor, org, action, target, &details).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// An organization's audit log, newest first; pass the last id seen as `before`.
    pub async fn list_audit(
        &self,
        org: OrgId,
        before: Option<AuditId>,
        limit: u32,
    ) -> Result<Page<AuditEntry, AuditId>, StoreError> {
        let limit = page_limit(limit)?;
        let rows = sqlx::query(
            "SELECT id, at_ms, org_id, actor, action, target, details FROM audit_log \
             WHERE org_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(db_id(org.0))
        .bind(before.map_or(i64::MAX, |b| db_id(b.0)))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(audit_from_row).collect::<Result<Vec<_>, _>>()?;
        let next = next_cursor(&items, limit, |e| e.id);
        Ok(Page { items, next })
    }

    /// The migrations applied to this database, oldest first, as (version, description).
    pub async fn applied_migrations(&self) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = sqlx::query("SELECT version, description FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get::<i64, _>("version")?, row.try_get::<String, _>("description")?)))
            .collect()
    }

    /// Checks that the database answers (`SELECT 1`), for readiness probes.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await?;
        Ok(())
    }

    /// Counts the rows of one table (tests and diagnostics; `table` is checked against the schema).
    pub async fn count_rows(&self, table: &str) -> Result<i64, StoreError> {
        const TABLES: &[&str] = &[
            "organizations",
            "users",
            "memberships",
            "api_keys",
            "stations",
            "element_sets",
            "transmitters",
            "campaigns",
            "assignments",
            "audit_log",
            "sessions",
            "tracking_sessions",
        ];
        if !TABLES.contains(&table) {
            return Err(StoreError::invalid("table", format!("'{table}' is not a store table")));
        }
        let row = sqlx::query(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&self.pool).await?;
        Ok(row.try_get::<i64, _>(0)?)
    }
}

/// Writes one audit row inside the caller's transaction.
pub(crate) async fn audit(
    tx: &mut Tx<'_>,
    actor: &Actor,
    org: Option<OrgId>,
    action: &str,
    target: &str,
    details: &serde_json::Value,
) -> Result<AuditId, StoreError> {
    let row = sqlx::query(
        "INSERT INTO audit_log (at_ms, org_id, actor, action, target, details) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(now().0)
    .bind(org.map(|o| db_id(o.0)))
    .bind(actor.to_db())
    .bind(action)
    .bind(target)
    .bind(details.to_string())
    .fetch_one(&mut **tx)
    .await?;
    Ok(AuditId(row_id(&row, "id")?))
}

fn audit_from_row(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    let actor: String = row.try_get("actor")?;
    let details: String = row.try_get("details")?;
    Ok(AuditEntry {
        id: AuditId(row_id(row, "id")?),
        at: UnixMs(row.try_get("at_ms")?),
        org: row.try_get::<Option<i64>, _>("org_id")?.map(|o| OrgId(o as u64)),
        actor: Actor::from_db(&actor).ok_or_else(|| StoreError::Database(format!("unreadable actor '{actor}'")))?,
        action: row.try_get("action")?,
        target: row.try_get("target")?,
        details: serde_json::from_str(&details).map_err(|e| StoreError::Database(e.to_string()))?,
    })
}

/// The wall clock, for `created_at` and audit times (the tick's clock is not the store's).
pub(crate) fn now() -> UnixMs {
    UnixMs(chrono::Utc::now().timestamp_millis())
}

/// Ids are positive `BIGINT`s in the database.
pub(crate) fn db_id(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

pub(crate) fn row_id(row: &AnyRow, column: &str) -> Result<u64, StoreError> {
    let v: i64 = row.try_get(column)?;
    Ok(v as u64)
}

pub(crate) fn page_limit(limit: u32) -> Result<i64, StoreError> {
    if limit == 0 || limit > MAX_PAGE {
        return Err(StoreError::invalid("limit", format!("must be 1..={MAX_PAGE}")));
    }
    Ok(i64::from(limit))
}

/// A full page may have more after it; a short page is the last.
pub(crate) fn next_cursor<T, Id>(items: &[T], limit: i64, id: impl Fn(&T) -> Id) -> Option<Id> {
    if items.len() as i64 == limit { items.last().map(id) } else { None }
}

pub(crate) fn json_opt(row: &AnyRow, column: &str) -> Result<Option<serde_json::Value>, StoreError> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| {
        serde_json::from_str::<serde_json::Value>(&t).map_err(|e| StoreError::Database(format!("{column}: {e}")))
    })
    .transpose()
}

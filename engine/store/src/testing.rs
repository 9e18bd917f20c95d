//! Throwaway databases for test suites (feature `testing`): a fresh SQLite file or a fresh
//! PostgreSQL database per test, so suites run in parallel and never see each other's rows.
//! PostgreSQL comes from `TALOS_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`, trust auth, allowed to CREATE DATABASE);
//! when it is unreachable the test fails with a message saying so, it is never skipped.

use std::future::Future;

/// Generates `name::sqlite` and `name::postgres` tests for each async `fn name(Store)`;
/// the calling crate needs tokio (with `macros`) as a dev-dependency.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                $crate::testing::with_sqlite("talos_test", super::$name).await;
            }

            #[tokio::test]
            async fn postgres() {
                $crate::testing::with_postgres("talos_test", super::$name).await;
            }
        }
    )+};
}
use std::sync::atomic::{AtomicU32, Ordering};

use crate::Store;

static NEXT: AtomicU32 = AtomicU32::new(0);

fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed), nanos)
}

/// Runs `test` against a store on a new SQLite file named after `prefix`, then removes the file.
pub async fn with_sqlite<F, Fut>(prefix: &str, test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let path = std::env::temp_dir().join(format!("{prefix}_{}.db", unique_suffix()));
    let store = Store::connect(&format!("sqlite://{}?mode=rwc", path.display())).await.unwrap();
    test(store.clone()).await;
    store.close().await;
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
    }
}

/// Runs `test` against a store on a new PostgreSQL database named after `prefix`, then drops it.
pub async fn with_postgres<F, Fut>(prefix: &str, test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    use sqlx::{Connection, Executor};
    sqlx::any::install_default_drivers();
    let admin_url = std::env::var("TALOS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let mut admin = sqlx::AnyConnection::connect(&admin_url).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL at {admin_url} is unreachable ({e}). This suite runs against PostgreSQL for real: \
             start it or point TALOS_TEST_POSTGRES_URL at one (trust auth, may CREATE DATABASE)."
        )
    });
    let db = format!("{prefix}_{}", unique_suffix());
    admin.execute(format!("CREATE DATABASE {db}").as_str()).await.unwrap();
    let (base, query) = admin_url.split_once('?').map_or((admin_url.as_str(), None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    let url = match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    };
    let store = Store::connect(&url).await.unwrap();
    test(store.clone()).await;
    store.close().await;
    // Best effort: a failed test above leaves its database behind for inspection.
    let _ = admin.execute(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)").as_str()).await;
}

//! Runs one async test body against a fresh SQLite file and a fresh PostgreSQL database
//! (same scheme as the store's tests: TALOS_TEST_POSTGRES_URL, trust auth).

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use talos_store::Store;

/// Generates `name::sqlite` and `name::postgres` tests for each async `fn name(Store)`.
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                crate::harness::run_sqlite(super::$name).await;
            }

            #[tokio::test]
            async fn postgres() {
                crate::harness::run_postgres(super::$name).await;
            }
        }
    )+};
}

static NEXT: AtomicU32 = AtomicU32::new(0);

fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed), nanos)
}

pub async fn run_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let path = std::env::temp_dir().join(format!("talos_api_test_{}.db", unique_suffix()));
    let store = Store::connect(&format!("sqlite://{}?mode=rwc", path.display())).await.unwrap();
    test(store.clone()).await;
    store.close().await;
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
    }
}

pub async fn run_postgres<F, Fut>(test: F)
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
            "PostgreSQL at {admin_url} is unreachable ({e}). The API suite runs against PostgreSQL for real: \
             start it or point TALOS_TEST_POSTGRES_URL at one (trust auth, may CREATE DATABASE)."
        )
    });
    let db = format!("talos_api_test_{}", unique_suffix());
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
    let _ = admin.execute(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)").as_str()).await;
}

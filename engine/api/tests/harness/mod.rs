//! Runs one async test body against a fresh SQLite file and a fresh PostgreSQL database
//! (same scheme as the store's tests: TALOS_TEST_POSTGRES_URL, trust auth).

use std::future::Future;
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

pub async fn run_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    talos_store::testing::with_sqlite("talos_api_test", test).await;
}

pub async fn run_postgres<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    talos_store::testing::with_postgres("talos_api_test", test).await;
}

//! Runs one async test body against a fresh SQLite file and a fresh PostgreSQL database.

use std::future::Future;
use std::path::PathBuf;
use std::sync::OnceLock;
use talos_orbit::elements::{ElementSet, parse_catalog};
use talos_store::{Store, TransmitterRecord, parse_satnogs_transmitters};

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
    talos_store::testing::with_sqlite("talos_store_test", test).await;
}

pub async fn run_postgres<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    talos_store::testing::with_postgres("talos_store_test", test).await;
}

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

/// The 15,347-object CelesTrak active catalog, parsed once per test binary.
pub fn catalog() -> Vec<ElementSet> {
    static SETS: OnceLock<Vec<ElementSet>> = OnceLock::new();
    SETS.get_or_init(|| {
        let text = std::fs::read_to_string(repo_file("data/tle/celestrak_active_2026-05-07.txt")).unwrap();
        parse_catalog(&text).unwrap().element_sets
    })
    .clone()
}

/// The SatNOGS amateur transmitter export (224 records).
pub fn transmitters() -> Vec<TransmitterRecord> {
    let text = std::fs::read_to_string(repo_file("data/satnogs/satnogs_transmitters_amateur_2024-09.json")).unwrap();
    parse_satnogs_transmitters(&text).unwrap()
}

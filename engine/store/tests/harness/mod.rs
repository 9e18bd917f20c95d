//! Shared data for the store's tests (the throwaway databases come from `talos_store::testing`).

use std::path::PathBuf;
use std::sync::OnceLock;
use talos_orbit::elements::{ElementSet, parse_catalog};
use talos_store::{TransmitterRecord, parse_satnogs_transmitters};

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

//! Real public data shipped inside the binary (see data/*/README.md for sources), so
//! the demo and the benchmarks run from any directory on a fresh machine.

use anyhow::{Context, bail};
use std::sync::Arc;
use talos_orbit::elements::{ParsedCatalog, parse_catalog};
use talos_orbit::{ElementSet, Satellite};

/// CelesTrak `active` catalog, 15,347 objects, epochs 2026-04-13 .. 2026-05-10.
pub const ACTIVE_CATALOG: &str = include_str!("../../../data/tle/celestrak_active_2026-05-07.txt");
/// CelesTrak `amateur` group, 96 objects, epochs 2026-08-22 .. 2026-08-29.
pub const AMATEUR_CATALOG: &str = include_str!("../../../data/tle/celestrak_amateur_2026-08-29.txt");
/// SatNOGS Network stations as of 2024-01-08 (3,026, a few with invalid positions).
pub const SATNOGS_STATIONS: &str =
    include_str!("../../../data/ground_stations/satnogs_network_stations_2024-01-08.json");
/// SatNOGS DB transmitters of the amateur catalog's satellites (2024-09).
pub const AMATEUR_TRANSMITTERS: &str = include_str!("../../../data/satnogs/satnogs_transmitters_amateur_2024-09.json");

/// Reads an element-set file in any supported format, reporting rejected records on stderr.
pub fn load_elements_file(path: &std::path::Path) -> anyhow::Result<ParsedCatalog> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read element sets from {}", path.display()))?;
    let catalog = parse_catalog(&text).with_context(|| format!("{}: not an element-set file", path.display()))?;
    report_rejected(&path.display().to_string(), &catalog);
    if catalog.element_sets.is_empty() {
        bail!("{}: no valid element sets ({} rejected)", path.display(), catalog.rejected.len());
    }
    Ok(catalog)
}

pub fn report_rejected(source: &str, catalog: &ParsedCatalog) {
    if catalog.rejected.is_empty() {
        return;
    }
    eprintln!("{source}: {} record(s) rejected, {} loaded:", catalog.rejected.len(), catalog.element_sets.len());
    for rejected in catalog.rejected.iter().take(20) {
        eprintln!("  {rejected}");
    }
    if catalog.rejected.len() > 20 {
        eprintln!("  ... and {} more", catalog.rejected.len() - 20);
    }
}

/// Builds propagators for element sets; a set SGP4 cannot initialise is reported and skipped.
pub fn satellites_from(sets: &[ElementSet]) -> Vec<Arc<Satellite>> {
    sets.iter()
        .filter_map(|set| match Satellite::new(set) {
            Ok(sat) => Some(Arc::new(sat)),
            Err(e) => {
                eprintln!("skipping: {e}");
                None
            }
        })
        .collect()
}

/// The shipped catalog parsed, with its rejects (none expected).
pub fn active_catalog() -> anyhow::Result<ParsedCatalog> {
    parse_catalog(ACTIVE_CATALOG).context("the shipped active catalog")
}

//! The pass finder against brute force: random satellites from the whole active catalog
//! (LEO, MEO, GEO, HEO, debris-like orbits alike), random observers and thresholds, checked
//! against direct SGP4 sampled every 5 s. Guards the search's shortcuts (coarse grid,
//! Hermite interpolation, jumping over stretches where the satellite cannot be up).

use proptest::prelude::*;
use std::sync::OnceLock;
use talos_core::{GeodeticPosition, UnixMs};
use talos_orbit::elements::parse_catalog;
use talos_orbit::{Observer, PassQuery, SampledTrajectory, Satellite, find_passes, look_angles};

const CATALOG: &str = include_str!("../../../data/tle/celestrak_active_2026-05-07.txt");

fn satellites() -> &'static Vec<Satellite> {
    static SATS: OnceLock<Vec<Satellite>> = OnceLock::new();
    SATS.get_or_init(|| {
        parse_catalog(CATALOG).unwrap().element_sets.iter().filter_map(|e| Satellite::new(e).ok()).collect()
    })
}

/// Intervals (start, end) in ms where direct SGP4 puts the satellite at or above `min_el_deg`.
fn brute_force(sat: &Satellite, observer: &Observer, min_el_deg: f64, start: UnixMs, end: UnixMs) -> Vec<(i64, i64)> {
    let mut intervals = Vec::new();
    let mut open: Option<i64> = None;
    let mut t = start;
    while t <= end {
        let Ok(state) = sat.state_ecef(t) else { break };
        let up = look_angles(observer, &state).el_deg >= min_el_deg;
        match (up, open) {
            (true, None) => open = Some(t.0),
            (false, Some(s)) => {
                intervals.push((s, t.0));
                open = None;
            }
            _ => {}
        }
        t = t.plus_ms(5_000);
    }
    if let Some(s) = open {
        intervals.push((s, end.0));
    }
    intervals
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_brute_force_pass_is_found_and_every_found_pass_is_real(
        index in 0usize..15_000,
        lat in -89.0f64..89.0,
        lon in -180.0f64..180.0,
        min_el_deg in prop_oneof![Just(0.0), 0.0f64..45.0],
    ) {
        let sats = satellites();
        let sat = &sats[index % sats.len()];
        let observer = Observer::new(GeodeticPosition::new(lat, lon, 100.0).unwrap());
        let start = UnixMs::parse_rfc3339("2026-05-08T00:00:00Z").unwrap();
        let end = start.plus_ms(12 * 3_600_000);
        let Ok(trajectory) = SampledTrajectory::sample(sat, start, end) else { return Ok(()) };
        if trajectory.diverged.is_some() {
            return Ok(());
        }
        let found = find_passes(&trajectory, &PassQuery { observer: &observer, min_el_deg, mask: None });
        let brute = brute_force(sat, &observer, min_el_deg, start, end);
        let context = format!("NORAD {} from ({lat:.2}, {lon:.2}) above {min_el_deg:.2}", sat.norad_id);
        for (b_start, b_end) in &brute {
            let matches = found.iter().filter(|p| p.aos.0 <= *b_end && p.los.0 >= *b_start).count();
            prop_assert_eq!(matches, 1, "{}: brute-force interval {}..{} matched {} passes", context, UnixMs(*b_start), UnixMs(*b_end), matches);
        }
        for p in &found {
            // A pass shorter than the 5 s brute-force step may fall between its samples.
            if p.duration_s() > 10.0 {
                let seen = brute.iter().any(|(s, e)| p.aos.0 <= *e && p.los.0 >= *s);
                prop_assert!(seen, "{}: found pass {:?} is not in the brute force", context, p);
            }
            let mid = UnixMs((p.aos.0 + p.los.0) / 2);
            let el_mid = look_angles(&observer, &sat.state_ecef(mid).unwrap()).el_deg;
            prop_assert!(el_mid >= min_el_deg - 1e-3, "{}: {:?} el at mid-pass {}", context, p, el_mid);
        }
    }
}

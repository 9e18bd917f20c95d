//! Published pass predictions (Skyfield docs, pyorbital, satnogs-auto-scheduler), from
//! data/passes/reference_passes.json. Published times are rounded or come from other
//! SGP4 variants; we compare to the file's Skyfield cross-check (sub-second) and to the
//! published values within the tolerance each source states.

use serde_json::Value;
use talos_core::{GeodeticPosition, UnixMs};
use talos_orbit::elements::parse_tle;
use talos_orbit::{Observer, Pass, PassQuery, SampledTrajectory, Satellite, find_passes};

const REFERENCE: &str = include_str!("../../../data/passes/reference_passes.json");

fn case(id: &str) -> Value {
    let all: Value = serde_json::from_str(REFERENCE).unwrap();
    all["cases"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap().clone()
}

fn passes_of(c: &Value) -> Vec<Pass> {
    let elements =
        parse_tle(c["tle"]["name"].as_str(), c["tle"]["line1"].as_str().unwrap(), c["tle"]["line2"].as_str().unwrap())
            .unwrap();
    let sat = Satellite::new(&elements).unwrap();
    let o = &c["observer"];
    let observer = Observer::new(
        GeodeticPosition::new(
            o["lat_deg"].as_f64().unwrap(),
            o["lon_deg"].as_f64().unwrap(),
            o["alt_m"].as_f64().unwrap(),
        )
        .unwrap(),
    );
    let start = UnixMs::parse_rfc3339(c["window_utc"][0].as_str().unwrap()).unwrap();
    let end = UnixMs::parse_rfc3339(c["window_utc"][1].as_str().unwrap()).unwrap();
    let trajectory = SampledTrajectory::sample(&sat, start, end).unwrap();
    let min_el_deg = c["threshold_alt_deg"].as_f64().unwrap();
    find_passes(&trajectory, &PassQuery { observer: &observer, min_el_deg, mask: None })
}

fn t(s: &Value) -> i64 {
    UnixMs::parse_rfc3339(s.as_str().unwrap()).unwrap().0
}

fn crosscheck<'a>(c: &'a Value, event: &str) -> Vec<&'a Value> {
    c["crosscheck"]["events"].as_array().unwrap().iter().filter(|e| e["event"] == event).collect()
}

#[test]
fn skyfield_docs_iss_over_bluffton_matches_to_the_second() {
    let c = case("skyfield-docs-iss-bluffton-2014-01-23");
    let passes = passes_of(&c);
    assert_eq!(
        passes.len(),
        2,
        "{:#?}",
        passes.iter().map(|p| (p.aos.to_rfc3339(), p.los.to_rfc3339(), p.max_el_deg)).collect::<Vec<_>>()
    );
    let expected = c["expected"].as_array().unwrap();
    for (i, pass) in passes.iter().enumerate() {
        // Published to the second (rounded): within 1 s.
        assert!((pass.aos.0 - t(&expected[3 * i]["utc"])).abs() <= 1000);
        assert!((pass.tca.0 - t(&expected[3 * i + 1]["utc"])).abs() <= 1000);
        assert!((pass.los.0 - t(&expected[3 * i + 2]["utc"])).abs() <= 1000);
        // Against the Skyfield cross-check: its find_events stops refining at ~0.2 s (the
        // altitude it prints at "set" is 29.952 deg, not 30), so 0.25 s here; our own
        // Skyfield fixtures are refined to 1 ms and checked tighter in tests/skyfield.rs.
        assert!((pass.aos.0 - t(&crosscheck(&c, "rise")[i]["utc"])).abs() <= 250, "{pass:?}");
        assert!((pass.los.0 - t(&crosscheck(&c, "set")[i]["utc"])).abs() <= 250, "{pass:?}");
        let culmination = crosscheck(&c, "culminate")[i];
        assert!((pass.tca.0 - t(&culmination["utc"])).abs() <= 500, "{pass:?}");
        assert!((pass.max_el_deg - culmination["alt_deg"].as_f64().unwrap()).abs() < 0.05, "{pass:?}");
    }
}

#[test]
fn pyorbital_iridium_7_culminates_when_published() {
    let c = case("pyorbital-iridium7-2018-03-07");
    let passes = passes_of(&c);
    assert_eq!(passes.len(), 1);
    // pyorbital's own SGP4 differs from Vallado's by ~0.05 s (the file's note): 0.1 s.
    assert!((passes[0].tca.0 - t(&c["expected"][0]["utc"])).abs() <= 100, "{:?}", passes[0]);
    assert!((passes[0].max_el_deg - 89.976).abs() < 0.05);
}

#[test]
fn pyorbital_lemur2_has_fifteen_passes_in_three_days() {
    let c = case("pyorbital-lemur2-browncow-2018-09-08");
    let passes = passes_of(&c);
    assert_eq!(passes.len(), 15);
    assert!((passes[0].tca.0 - t(&c["expected"]["first_culmination_utc"])).abs() <= 200, "{:?}", passes[0]);
    assert!((passes[14].tca.0 - t(&c["expected"]["last_culmination_utc"])).abs() <= 200, "{:?}", passes[14]);
    // The first pass barely clears 5 deg (5.151 deg for 65 s): a grazing pass must not be missed.
    assert!((passes[0].max_el_deg - 5.151).abs() < 0.05);
}

#[test]
fn satnogs_auto_scheduler_first_pass_matches_pyephem_within_refraction() {
    let c = case("satnogs-auto-scheduler-kb9jhu-2019-11-05");
    let passes = passes_of(&c);
    let first = &passes[0];
    let e = &c["expected"]["first_pass"];
    // PyEphem adds refraction at 5 deg: ~2 s at rise/set, < 1 s at culmination.
    assert!((first.aos.0 - t(&e["rise_utc"])).abs() <= 3000);
    assert!((first.tca.0 - t(&e["culminate_utc"])).abs() <= 1000);
    assert!((first.los.0 - t(&e["set_utc"])).abs() <= 3000);
    assert_eq!(first.aos_az_deg.round(), e["rise_az_deg"].as_f64().unwrap());
    assert_eq!(first.max_el_deg.round(), e["max_alt_deg"].as_f64().unwrap());
    assert_eq!(first.los_az_deg.round(), e["set_az_deg"].as_f64().unwrap());
}

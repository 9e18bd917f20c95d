//! SatNOGS Network station list parsing against the real 2024-01-08 dump.

use proptest::prelude::*;
use talos_orbit::stations::{StationsError, parse_satnogs_stations};

const STATIONS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/ground_stations/satnogs_network_stations_2024-01-08.json"
));

#[test]
fn the_satnogs_dump_loads_all_but_the_six_impossible_positions() {
    let parsed = parse_satnogs_stations(STATIONS).unwrap();
    assert_eq!(parsed.stations.len() + parsed.rejected.len(), 3_026);
    let mut rejected: Vec<_> = parsed.rejected.iter().map(|r| r.id.unwrap()).collect();
    rejected.sort_unstable();
    assert_eq!(rejected, [2114, 2351, 3222, 3263, 3370, 3371]);
    assert_eq!(parsed.stations.len(), 3_020);
}

#[test]
fn rejected_stations_carry_the_geo_error_reason() {
    let parsed = parse_satnogs_stations(STATIONS).unwrap();
    let reason = |id| parsed.rejected.iter().find(|r| r.id == Some(id)).unwrap().to_string();
    assert_eq!(reason(2114), "station 2114 'OK1IN, Slany': latitude 501120 deg is outside [-90, 90]");
    assert_eq!(
        reason(3370),
        "station 3370 'CUBESAT XI-IV': altitude 838850 m is outside [-500, 9000] m for a ground station"
    );
    for id in [2351, 3222, 3263, 3371] {
        assert!(reason(id).contains("altitude"), "{}", reason(id));
    }
}

#[test]
fn station_fields_are_read_with_units() {
    let parsed = parse_satnogs_stations(STATIONS).unwrap();
    let first = &parsed.stations[0];
    assert_eq!((first.id, first.name.as_str(), first.status.as_str()), (1, "Hackerspace.gr 1", "Offline"));
    assert_eq!(first.position.lat_deg(), 38.01697);
    assert_eq!(first.position.lon_deg(), 23.7314);
    assert_eq!(first.position.alt_m(), 104.0);
    assert_eq!(first.min_horizon_deg, 40.0);
    let online = parsed.stations.iter().filter(|s| s.status == "Online").count();
    assert_eq!(online, 261);
}

#[test]
fn text_that_is_not_a_json_array_is_an_error() {
    assert!(matches!(parse_satnogs_stations(""), Err(StationsError::Json(_))));
    assert!(matches!(parse_satnogs_stations(&STATIONS[..5000]), Err(StationsError::Json(_))));
    assert_eq!(parse_satnogs_stations("\"stations\"").unwrap_err(), StationsError::NotAnArray { found: "a string" });
    let empty = parse_satnogs_stations("[]").unwrap();
    assert!(empty.stations.is_empty() && empty.rejected.is_empty());
}

proptest! {
    #[test]
    fn random_text_never_panics_the_station_parser(text in "(?s).{0,200}") {
        let _ = parse_satnogs_stations(&text);
        let _ = parse_satnogs_stations(&format!("[{text}]"));
        let _ = parse_satnogs_stations(&format!("[{{\"id\": 1, {text}}}]"));
    }

    #[test]
    fn any_in_range_position_loads_and_any_out_of_range_one_is_rejected(
        lat in -200.0f64..200.0,
        lng in -400.0f64..400.0,
        alt in -1000.0f64..20_000.0,
    ) {
        let json = format!(
            r#"[{{"id": 9, "name": "P", "altitude": {alt}, "min_horizon": 0, "lat": {lat}, "lng": {lng}, "status": "Online"}}]"#
        );
        let parsed = parse_satnogs_stations(&json).unwrap();
        let valid = talos_core::GeodeticPosition::new(lat, lng, alt).is_ok();
        prop_assert_eq!(parsed.stations.len(), usize::from(valid));
        prop_assert_eq!(parsed.rejected.len(), usize::from(!valid));
    }
}

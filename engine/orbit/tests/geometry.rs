//! Property tests of the geometry: look angles, geodetic round trips, Doppler,
//! coverage circles, footprints, and the pass finder against direct SGP4 on the ISS.
//!
//! Tolerances are stated next to each property with the reason for them.

use proptest::prelude::*;
use std::sync::LazyLock;
use talos_core::{GeodeticPosition, UnixMs};
use talos_orbit::elements::parse_tle;
use talos_orbit::frames::ecef_to_geodetic;
use talos_orbit::passes::coverage_half_angle_deg;
use talos_orbit::track::{SubPoint, footprint};
use talos_orbit::{
    EcefState, Observer, Pass, PassQuery, SampledTrajectory, Satellite, downlink_hz, find_passes, look_angles,
    uplink_hz,
};

const ACTIVE: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/tle/celestrak_active_2026-05-07.txt"));

/// The ISS from the shipped active catalog (epoch 2026-05-07 10:12 UTC).
static ISS: LazyLock<Satellite> = LazyLock::new(|| {
    let lines: Vec<&str> = ACTIVE.lines().collect();
    let name = lines.iter().position(|l| l.trim_end() == "ISS (ZARYA)").expect("ISS in the active catalog");
    let elements = parse_tle(Some(lines[name]), lines[name + 1], lines[name + 2]).unwrap();
    Satellite::new(&elements).unwrap()
});

/// Latitudes including the poles exactly (the degenerate case for longitude).
fn latitude_deg() -> impl Strategy<Value = f64> {
    prop_oneof![8 => -90.0f64..=90.0, 1 => Just(90.0), 1 => Just(-90.0)]
}

/// Any position `GeodeticPosition::new` accepts.
fn position() -> impl Strategy<Value = GeodeticPosition> {
    (latitude_deg(), -180.0f64..=180.0, -500.0f64..=9_000.0)
        .prop_map(|(lat, lon, alt_m)| GeodeticPosition::new(lat, lon, alt_m).unwrap())
}

fn observer() -> impl Strategy<Value = Observer> {
    position().prop_map(Observer::new)
}

/// An earth-fixed state anywhere from just above the highest station to beyond GEO.
fn ecef_state() -> impl Strategy<Value = EcefState> {
    let direction = (-1.0f64..1.0, -1.0f64..1.0, -1.0f64..1.0)
        .prop_filter("not the zero vector", |(x, y, z)| x * x + y * y + z * z > 1e-6);
    (direction, 6_400.0f64..100_000.0, [-10.0f64..10.0, -10.0f64..10.0, -10.0f64..10.0]).prop_map(
        |((x, y, z), radius_km, vel_km_s)| {
            let norm = (x * x + y * y + z * z).sqrt();
            EcefState { pos_km: [x / norm * radius_km, y / norm * radius_km, z / norm * radius_km], vel_km_s }
        },
    )
}

/// Longitude difference wrapped into [-180, 180).
fn lon_diff_deg(a: f64, b: f64) -> f64 {
    (a - b + 180.0).rem_euclid(360.0) - 180.0
}

/// Great-circle angle between two (lat, lon) points, radians, well-conditioned at every
/// distance (atan2 of cross and dot product of unit vectors).
fn central_angle_rad((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    let unit = |lat: f64, lon: f64| {
        let (lat, lon) = (lat.to_radians(), lon.to_radians());
        [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
    };
    let (a, b) = (unit(lat1, lon1), unit(lat2, lon2));
    let cross = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
    let sin = (cross[0] * cross[0] + cross[1] * cross[1] + cross[2] * cross[2]).sqrt();
    let cos = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    sin.atan2(cos)
}

/// Elevation by direct SGP4 (no interpolation), deg.
fn el_deg_at(sat: &Satellite, observer: &Observer, t: UnixMs) -> f64 {
    look_angles(observer, &sat.state_ecef(t).unwrap()).el_deg
}

proptest! {
    #[test]
    fn look_angles_are_always_in_range(observer in observer(), state in ecef_state()) {
        let look = look_angles(&observer, &state);
        prop_assert!((0.0..360.0).contains(&look.az_deg), "{look:?}");
        prop_assert!((-90.0..=90.0).contains(&look.el_deg), "{look:?}");
        prop_assert!(look.range_km > 0.0 && look.range_km.is_finite(), "{look:?}");
        prop_assert!(look.range_rate_km_s.is_finite(), "{look:?}");
        // The range-rate is a projection of the velocity, never larger than the speed.
        let speed = state.vel_km_s.iter().map(|v| v * v).sum::<f64>().sqrt();
        prop_assert!(look.range_rate_km_s.abs() <= speed * (1.0 + 1e-12), "{look:?}");
    }

    #[test]
    fn a_satellite_straight_up_the_local_vertical_is_at_the_zenith(observer in observer(), height_km in 0.1f64..40_000.0) {
        let pos_km = std::array::from_fn(|k| observer.ecef_km[k] + observer.up[k] * height_km);
        let look = look_angles(&observer, &EcefState { pos_km, vel_km_s: [0.0; 3] });
        prop_assert!((look.el_deg - 90.0).abs() < 1e-6, "{look:?}");
        prop_assert!((look.range_km - height_km).abs() < 1e-6 * height_km.max(1.0), "{look:?}");
    }

    #[test]
    fn a_satellite_on_the_horizon_plane_is_at_zero_elevation_and_its_azimuth(
        observer in observer(),
        az_deg in 0.0f64..360.0,
        distance_km in 1.0f64..5_000.0,
    ) {
        let (sin_az, cos_az) = az_deg.to_radians().sin_cos();
        let pos_km = std::array::from_fn(|k| {
            observer.ecef_km[k] + distance_km * (observer.north[k] * cos_az + observer.east[k] * sin_az)
        });
        let look = look_angles(&observer, &EcefState { pos_km, vel_km_s: [0.0; 3] });
        prop_assert!(look.el_deg.abs() < 1e-6, "{look:?}");
        prop_assert!(lon_diff_deg(look.az_deg, az_deg).abs() < 1e-6, "{look:?} vs {az_deg}");
    }

    #[test]
    fn geodetic_position_round_trips_through_ecef(position in position()) {
        let (lat_deg, lon_deg, alt_km) = ecef_to_geodetic(Observer::new(position).ecef_km);
        prop_assert!((lat_deg - position.lat_deg()).abs() < 1e-6, "lat {} -> {lat_deg}", position.lat_deg());
        prop_assert!((alt_km * 1000.0 - position.alt_m()).abs() < 1e-3, "alt {} m -> {} m", position.alt_m(), alt_km * 1000.0);
        // Longitude is undefined on the polar axis; elsewhere it comes back (modulo 360: -180 == 180).
        if position.lat_deg().abs() < 90.0 - 1e-9 {
            let dlon = lon_diff_deg(lon_deg, position.lon_deg());
            prop_assert!(dlon.abs() < 1e-6, "lon {} -> {lon_deg}", position.lon_deg());
        }
    }

    #[test]
    fn uplink_then_downlink_doppler_returns_the_frequency(freq_hz in 1.0e5f64..4.0e9, range_rate_km_s in -12.0f64..12.0) {
        // Below 2^32 Hz one ulp is under 1e-6 Hz, so the round trip is exact to 1e-6 Hz.
        let back = downlink_hz(uplink_hz(freq_hz, range_rate_km_s), range_rate_km_s);
        prop_assert!((back - freq_hz).abs() < 1e-6, "{freq_hz} -> {back}");
    }

    #[test]
    fn doppler_round_trip_is_exact_to_rounding_up_to_the_ka_band(freq_hz in 1.0e5f64..1.0e11, range_rate_km_s in -12.0f64..12.0) {
        let back = downlink_hz(uplink_hz(freq_hz, range_rate_km_s), range_rate_km_s);
        prop_assert!((back - freq_hz).abs() <= 4.0 * f64::EPSILON * freq_hz, "{freq_hz} -> {back}");
        // An approaching satellite (negative range-rate) is heard higher.
        let heard = downlink_hz(freq_hz, range_rate_km_s);
        prop_assert_eq!(heard > freq_hz, range_rate_km_s < 0.0);
    }

    #[test]
    fn coverage_angle_decreases_with_minimum_elevation(alt_km in 0.0f64..100_000.0, el_a in -5.0f64..90.0, el_b in -5.0f64..90.0) {
        let (low, high) = if el_a <= el_b { (el_a, el_b) } else { (el_b, el_a) };
        let (wide, narrow) = (coverage_half_angle_deg(alt_km, low), coverage_half_angle_deg(alt_km, high));
        prop_assert!(wide >= narrow - 1e-12, "alt {alt_km} km: {low} deg -> {wide}, {high} deg -> {narrow}");
        prop_assert!((0.0..=180.0).contains(&narrow) && wide.is_finite());
        if alt_km > 1.0 && high - low > 0.1 && high < 89.0 {
            prop_assert!(wide > narrow, "alt {alt_km} km: {low} deg -> {wide}, {high} deg -> {narrow}");
        }
    }

    #[test]
    fn coverage_angle_increases_with_altitude(alt_a in 0.0f64..100_000.0, alt_b in 0.0f64..100_000.0, el_deg in -5.0f64..90.0) {
        let (low, high) = if alt_a <= alt_b { (alt_a, alt_b) } else { (alt_b, alt_a) };
        let (narrow, wide) = (coverage_half_angle_deg(low, el_deg), coverage_half_angle_deg(high, el_deg));
        prop_assert!(wide >= narrow - 1e-12, "{el_deg} deg: {low} km -> {narrow}, {high} km -> {wide}");
        if high - low > 1.0 && el_deg < 89.0 {
            prop_assert!(wide > narrow, "{el_deg} deg: {low} km -> {narrow}, {high} km -> {wide}");
        }
    }

    #[test]
    fn footprint_vertices_lie_at_the_coverage_radius_from_the_sub_point(
        lat_deg in latitude_deg(),
        lon_deg in -180.0f64..180.0,
        alt_km in 150.0f64..40_000.0,
        min_el_deg in 0.0f64..60.0,
        n_points in 3usize..72,
    ) {
        let sub = SubPoint { t: UnixMs(0), lat_deg, lon_deg, alt_km };
        let radius_rad = coverage_half_angle_deg(alt_km, min_el_deg).to_radians();
        let vertices = footprint(&sub, min_el_deg, n_points);
        prop_assert_eq!(vertices.len(), n_points);
        for (lat, lon) in vertices {
            prop_assert!((-90.0..=90.0).contains(&lat) && (-180.0..180.0).contains(&lon), "({lat}, {lon})");
            // 1e-7 rad (0.6 m on the ground): asin loses digits for a vertex within metres of a pole.
            let angle = central_angle_rad((lat_deg, lon_deg), (lat, lon));
            prop_assert!((angle - radius_rad).abs() < 1e-7, "({lat}, {lon}) is {angle} rad away, radius {radius_rad}");
        }
    }
}

proptest! {
    // Each case samples the ISS over up to 12 h and checks every pass against direct
    // SGP4, so a few dozen cases keep the test under a couple of seconds in debug.
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn iss_passes_are_ordered_above_the_threshold_inside_and_below_it_outside(
        observer in observer(),
        start_offset_min in 0i64..(3 * 24 * 60),
        hours in 1.0f64..12.0,
        min_el_deg in -5.0f64..45.0,
    ) {
        let sat = &*ISS;
        let start = UnixMs::parse_rfc3339("2026-05-08T00:00:00Z").unwrap().plus_ms(start_offset_min * 60_000);
        let end = start.plus_seconds_f64(hours * 3_600.0);
        let trajectory = SampledTrajectory::sample(sat, start, end).unwrap();
        prop_assert!(trajectory.diverged.is_none());
        let passes = find_passes(&trajectory, &PassQuery { observer: &observer, min_el_deg, mask: None });
        // The trajectory is a cubic Hermite interpolant of SGP4 (sub-metre), events are found
        // to 1 ms: direct SGP4 agrees with the finder's side of the threshold to 1e-3 deg.
        let tolerance_deg = 1e-3;
        for pass in &passes {
            prop_assert!(start <= pass.aos && pass.aos <= pass.tca && pass.tca <= pass.los && pass.los <= end, "{pass:?}");
            prop_assert_eq!(pass.aos_cut, pass.aos == start);
            prop_assert_eq!(pass.los_cut, pass.los == end, "{:?}", pass);
            prop_assert!(pass.max_el_deg >= min_el_deg - 1e-6, "{pass:?}");
            let el_tca = el_deg_at(sat, &observer, pass.tca);
            prop_assert!((el_tca - pass.max_el_deg).abs() < tolerance_deg, "{pass:?}: direct {el_tca}");
            for inside in [
                UnixMs((pass.aos.0 + pass.tca.0) / 2),
                UnixMs((pass.tca.0 + pass.los.0) / 2),
                UnixMs((pass.aos.0 + pass.los.0) / 2),
            ] {
                if pass.aos < inside && inside < pass.los {
                    let el = el_deg_at(sat, &observer, inside);
                    prop_assert!(el > min_el_deg - tolerance_deg, "{pass:?}: {el} deg at {inside}");
                }
            }
            if !pass.aos_cut {
                let el = el_deg_at(sat, &observer, pass.aos.plus_ms(-5_000));
                prop_assert!(el < min_el_deg, "{pass:?}: {el} deg 5 s before AOS");
                // AOS is within 1.5 ms of the crossing and the ISS climbs at most ~1 deg/s.
                prop_assert!((el_deg_at(sat, &observer, pass.aos) - min_el_deg).abs() < 5e-3, "{pass:?}");
            }
            if pass.los < end {
                let el = el_deg_at(sat, &observer, pass.los.plus_ms(5_000));
                prop_assert!(el < min_el_deg, "{pass:?}: {el} deg 5 s after LOS");
                prop_assert!((el_deg_at(sat, &observer, pass.los) - min_el_deg).abs() < 5e-3, "{pass:?}");
            }
        }
        for pair in passes.windows(2) {
            prop_assert!(pair[0].los < pair[1].aos, "overlapping passes: {:?} and {:?}", pair[0], pair[1]);
        }
    }
}

/// Passes of the ISS over `lat_deg, lon_deg` (sea level) for the 24 h from 2026-05-08T00:00Z, 0 deg mask.
fn iss_passes_over(lat_deg: f64, lon_deg: f64) -> (Observer, UnixMs, Vec<Pass>) {
    let observer = Observer::new(GeodeticPosition::new(lat_deg, lon_deg, 0.0).unwrap());
    let start = UnixMs::parse_rfc3339("2026-05-08T00:00:00Z").unwrap();
    let end = start.plus_ms(24 * 3_600_000);
    let trajectory = SampledTrajectory::sample(&ISS, start, end).unwrap();
    let passes = find_passes(&trajectory, &PassQuery { observer: &observer, min_el_deg: 0.0, mask: None });
    (observer, end, passes)
}

#[test]
fn the_iss_passes_over_berlin_hold_every_property_of_the_random_cases() {
    let (observer, end, passes) = iss_passes_over(52.52, 13.40);
    assert!(passes.len() >= 4, "{passes:?}");
    for pass in &passes {
        assert!(
            pass.aos < pass.tca && pass.tca < pass.los && pass.los < end && !pass.aos_cut && !pass.los_cut,
            "{pass:?}"
        );
        assert!(el_deg_at(&ISS, &observer, pass.aos.plus_ms(-5_000)) < 0.0, "{pass:?}");
        assert!(el_deg_at(&ISS, &observer, pass.los.plus_ms(5_000)) < 0.0, "{pass:?}");
        assert!((el_deg_at(&ISS, &observer, pass.tca) - pass.max_el_deg).abs() < 1e-3, "{pass:?}");
    }
}

#[test]
fn window_end_no_pass_is_reported_while_the_satellite_is_still_below_the_threshold() {
    // The ISS rises over (1.8 N, 68 E) about 40 s after 2026-05-09T00:00Z.
    let (observer, end, passes) = iss_passes_over(1.8, 68.0);
    assert!(el_deg_at(&ISS, &observer, end) < -2.0);
    for pass in &passes {
        assert!(pass.max_el_deg >= 0.0, "{pass:?}");
        assert!(pass.aos < pass.los, "{pass:?}");
    }
}

#[test]
fn window_end_a_pass_still_in_progress_at_the_window_end_is_marked_cut() {
    // The ISS sets over (11.3 N, 50 E) a few seconds after 2026-05-09T00:00Z.
    let (observer, end, passes) = iss_passes_over(11.3, 50.0);
    assert!(el_deg_at(&ISS, &observer, end) > 0.0);
    let last = passes.last().unwrap();
    assert_eq!(last.los, end);
    assert!(last.los_cut, "{last:?}");
}

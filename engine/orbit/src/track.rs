//! Ground tracks and coverage footprints, for the dashboard's map.

use crate::frames::{EcefState, ecef_to_geodetic};
use crate::passes::coverage_half_angle_deg;
use crate::propagate::{PropagationError, Satellite};
use serde::Serialize;
use talos_core::UnixMs;

/// The point on the ground directly below a satellite.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SubPoint {
    pub t: UnixMs,
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub alt_km: f64,
}

/// Sub-satellite point of an earth-fixed state (WGS84 geodetic).
pub fn sub_point(t: UnixMs, state: &EcefState) -> SubPoint {
    let (lat_deg, lon_deg, alt_km) = ecef_to_geodetic(state.pos_km);
    SubPoint { t, lat_deg, lon_deg, alt_km }
}

/// Sub-satellite points from `start` to `end` every `step_s` seconds. Stops early (with the
/// points so far) if SGP4 fails part-way, and fails only if the first point fails.
pub fn ground_track(
    sat: &Satellite,
    start: UnixMs,
    end: UnixMs,
    step_s: f64,
) -> Result<Vec<SubPoint>, PropagationError> {
    let step_ms = (step_s * 1000.0).round().max(1.0) as i64;
    let mut points = Vec::new();
    let mut t = start;
    while t <= end {
        match sat.state_ecef(t) {
            Ok(state) => points.push(sub_point(t, &state)),
            Err(e) if points.is_empty() => return Err(e),
            Err(_) => break,
        }
        t = t.plus_ms(step_ms);
    }
    Ok(points)
}

/// The coverage footprint: the circle on the ground from which the satellite is above
/// `min_el_deg`, as `n_points` (lat, lon) vertices (spherical earth; longitudes in [-180, 180)).
pub fn footprint(sub: &SubPoint, min_el_deg: f64, n_points: usize) -> Vec<(f64, f64)> {
    let radius = coverage_half_angle_deg(sub.alt_km, min_el_deg).to_radians();
    let (lat0, lon0) = (sub.lat_deg.to_radians(), sub.lon_deg.to_radians());
    (0..n_points)
        .map(|k| {
            let bearing = std::f64::consts::TAU * k as f64 / n_points as f64;
            let lat = (lat0.sin() * radius.cos() + lat0.cos() * radius.sin() * bearing.cos()).clamp(-1.0, 1.0).asin();
            let lon = lon0 + (bearing.sin() * radius.sin() * lat0.cos()).atan2(radius.cos() - lat0.sin() * lat.sin());
            (lat.to_degrees(), (lon.to_degrees() + 180.0).rem_euclid(360.0) - 180.0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footprint_vertices_are_at_the_coverage_radius() {
        let sub = SubPoint { t: UnixMs(0), lat_deg: 60.0, lon_deg: 170.0, alt_km: 800.0 };
        let radius = coverage_half_angle_deg(800.0, 0.0).to_radians();
        for (lat, lon) in footprint(&sub, 0.0, 36) {
            let (p1, p2) = (sub.lat_deg.to_radians(), lat.to_radians());
            let dl = (lon - sub.lon_deg).to_radians();
            let central = (p1.sin() * p2.sin() + p1.cos() * p2.cos() * dl.cos()).clamp(-1.0, 1.0).acos();
            assert!((central - radius).abs() < 1e-9);
            assert!((-180.0..180.0).contains(&lon));
        }
    }
}

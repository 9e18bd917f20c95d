//! Topocentric look angles and range-rate of a satellite from a ground observer.

use crate::frames::{EcefState, Observer, dot, sub};
use serde::Serialize;

/// Where to point and how fast the distance changes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LookAngles {
    /// Azimuth from true north, clockwise, [0, 360).
    pub az_deg: f64,
    /// Geometric elevation above the local WGS84 horizon (no refraction), [-90, 90].
    pub el_deg: f64,
    pub range_km: f64,
    /// d(range)/dt, positive when the satellite recedes.
    pub range_rate_km_s: f64,
}

/// Look angles from `observer` to a satellite's earth-fixed state.
#[inline]
pub fn look_angles(observer: &Observer, sat: &EcefState) -> LookAngles {
    let d = sub(sat.pos_km, observer.ecef_km);
    let east = dot(d, observer.east);
    let north = dot(d, observer.north);
    let up = dot(d, observer.up);
    let range_km = dot(d, d).sqrt();
    let mut az_deg = east.atan2(north).to_degrees();
    if az_deg < 0.0 {
        az_deg += 360.0;
    }
    // sqrt rather than hypot: no overflow is possible at these magnitudes and hypot is 3x slower.
    let el_deg = up.atan2((east * east + north * north).sqrt()).to_degrees();
    // The observer is fixed in ECEF, so the relative velocity is the satellite's ECEF velocity.
    let range_rate_km_s = dot(d, sat.vel_km_s) / range_km;
    LookAngles { az_deg, el_deg, range_km, range_rate_km_s }
}

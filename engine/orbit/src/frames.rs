//! Reference frames: TEME (SGP4 output) -> ECEF (ITRS without polar motion) and
//! WGS84 geodetic stations with their local east-north-up basis.

use talos_core::{GeodeticPosition, UnixMs};

/// WGS84 equatorial radius, km.
pub const WGS84_A_KM: f64 = 6378.137;
/// WGS84 flattening.
pub const WGS84_F: f64 = 1.0 / 298.257_223_563;
/// First eccentricity squared of WGS84.
pub const WGS84_E2: f64 = WGS84_F * (2.0 - WGS84_F);
/// Julian date of the Unix epoch, 1970-01-01T00:00:00 UTC.
const JD_UNIX_EPOCH: f64 = 2_440_587.5;
const MS_PER_DAY: i64 = 86_400_000;
const SECONDS_PER_DAY: f64 = 86_400.0;
const TAU: f64 = std::f64::consts::TAU;
/// Mean angular velocity of the earth (IERS), rad/s.
pub const EARTH_ROTATION_RAD_S: f64 = 7.292_115_146_706_979e-5;

/// Position (km) and velocity (km/s) in an earth-fixed frame.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EcefState {
    pub pos_km: [f64; 3],
    pub vel_km_s: [f64; 3],
}

/// Greenwich mean sidereal time (IAU 1982) in radians and its rate in rad/s,
/// for a time given as whole Julian days plus a fraction (kept apart for precision).
/// The same expression as Vallado's `gstime` and Skyfield's `theta_GMST1982`.
pub fn gmst_1982(jd_whole: f64, jd_fraction: f64) -> (f64, f64) {
    let t = (jd_whole - 2_451_545.0 + jd_fraction) / 36_525.0;
    let g = 67_310.548_41 + (8_640_184.812_866 + (0.093_104 + (-6.2e-6) * t) * t) * t;
    let dg = 8_640_184.812_866 + (0.093_104 * 2.0 + (-6.2e-6 * 3.0) * t) * t;
    let theta = ((jd_whole % 1.0) + jd_fraction + (g / SECONDS_PER_DAY) % 1.0).rem_euclid(1.0) * TAU;
    let theta_dot_rad_per_day = (1.0 + dg / (SECONDS_PER_DAY * 36_525.0)) * TAU;
    (theta, theta_dot_rad_per_day / SECONDS_PER_DAY)
}

/// GMST at a UTC instant, taking UT1 = UTC.
pub fn gmst_at(t: UnixMs) -> (f64, f64) {
    let days = t.0.div_euclid(MS_PER_DAY);
    let fraction = t.0.rem_euclid(MS_PER_DAY) as f64 / MS_PER_DAY as f64;
    gmst_1982(JD_UNIX_EPOCH + days as f64, fraction)
}

/// The rotation TEME -> ECEF at one instant. Computed once per tick and applied to
/// every satellite, since the sidereal angle does not depend on the satellite.
#[derive(Debug, Clone, Copy)]
pub struct TemeToEcef {
    cos_theta: f64,
    sin_theta: f64,
    theta_dot_rad_s: f64,
}

impl TemeToEcef {
    pub fn at(t: UnixMs) -> Self {
        let (theta, theta_dot_rad_s) = gmst_at(t);
        Self { cos_theta: theta.cos(), sin_theta: theta.sin(), theta_dot_rad_s }
    }

    /// Rotates a TEME state into ECEF; the velocity gains the earth-rotation term
    /// `-omega x r` so it is the time derivative of the ECEF position.
    #[inline]
    pub fn apply(&self, pos_teme_km: [f64; 3], vel_teme_km_s: [f64; 3]) -> EcefState {
        let (c, s) = (self.cos_theta, self.sin_theta);
        let pos = [c * pos_teme_km[0] + s * pos_teme_km[1], -s * pos_teme_km[0] + c * pos_teme_km[1], pos_teme_km[2]];
        let w = self.theta_dot_rad_s;
        let vel = [
            c * vel_teme_km_s[0] + s * vel_teme_km_s[1] + w * pos[1],
            -s * vel_teme_km_s[0] + c * vel_teme_km_s[1] - w * pos[0],
            vel_teme_km_s[2],
        ];
        EcefState { pos_km: pos, vel_km_s: vel }
    }
}

/// A ground observer with everything the look-angle math needs precomputed:
/// the ECEF position and the unit east/north/up vectors of the local horizon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observer {
    pub position: GeodeticPosition,
    pub ecef_km: [f64; 3],
    pub east: [f64; 3],
    pub north: [f64; 3],
    pub up: [f64; 3],
}

impl Observer {
    pub fn new(position: GeodeticPosition) -> Self {
        let lat = position.lat_deg().to_radians();
        let lon = position.lon_deg().to_radians();
        let (sin_lat, cos_lat) = lat.sin_cos();
        let (sin_lon, cos_lon) = lon.sin_cos();
        let alt_km = position.alt_m() / 1000.0;
        let n = WGS84_A_KM / (1.0 - WGS84_E2 * sin_lat * sin_lat).sqrt();
        let ecef_km = [
            (n + alt_km) * cos_lat * cos_lon,
            (n + alt_km) * cos_lat * sin_lon,
            (n * (1.0 - WGS84_E2) + alt_km) * sin_lat,
        ];
        Self {
            position,
            ecef_km,
            east: [-sin_lon, cos_lon, 0.0],
            north: [-sin_lat * cos_lon, -sin_lat * sin_lon, cos_lat],
            up: [cos_lat * cos_lon, cos_lat * sin_lon, sin_lat],
        }
    }
}

/// WGS84 geodetic latitude/longitude (deg) and height (km) of an ECEF point,
/// by Bowring's iteration (converges to < 1 mm in 3 rounds for any altitude).
pub fn ecef_to_geodetic(pos_km: [f64; 3]) -> (f64, f64, f64) {
    let [x, y, z] = pos_km;
    let lon = y.atan2(x);
    let p = (x * x + y * y).sqrt();
    let mut lat = z.atan2(p * (1.0 - WGS84_E2));
    let mut alt_km = 0.0;
    for _ in 0..4 {
        let sin_lat = lat.sin();
        let n = WGS84_A_KM / (1.0 - WGS84_E2 * sin_lat * sin_lat).sqrt();
        alt_km = if lat.cos().abs() > 1e-10 { p / lat.cos() - n } else { z.abs() - n * (1.0 - WGS84_E2) };
        lat = z.atan2(p * (1.0 - WGS84_E2 * n / (n + alt_km)));
    }
    (lat.to_degrees(), lon.to_degrees(), alt_km)
}

/// Dot product of two 3-vectors.
#[inline]
pub fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Difference of two 3-vectors.
#[inline]
pub fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmst_matches_vallado_example_3_5() {
        // Vallado, Fundamentals of Astrodynamics, Example 3-5: 1992-08-20 12:14 UT1 -> GMST 152.578788 deg.
        let t = UnixMs::parse_rfc3339("1992-08-20T12:14:00Z").unwrap();
        let (theta, _) = gmst_at(t);
        assert!((theta.to_degrees() - 152.578_788).abs() < 1e-5, "{}", theta.to_degrees());
    }

    #[test]
    fn geodetic_round_trips_through_ecef() {
        for (lat, lon, alt_m) in
            [(78.23, 15.39, 500.0), (-77.85, 166.67, 10.0), (0.0, -179.9, 2850.0), (90.0, 0.0, 0.0)]
        {
            let obs = Observer::new(GeodeticPosition::new(lat, lon, alt_m).unwrap());
            let (lat2, lon2, alt_km) = ecef_to_geodetic(obs.ecef_km);
            assert!((lat2 - lat).abs() < 1e-9, "{lat} {lat2}");
            if lat.abs() < 90.0 {
                assert!((lon2 - lon).abs() < 1e-9, "{lon} {lon2}");
            }
            assert!((alt_km * 1000.0 - alt_m).abs() < 1e-3, "{alt_m} {alt_km}");
        }
    }
}

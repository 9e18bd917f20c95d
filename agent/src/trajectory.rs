//! Interpolation of the director's time-tagged trajectories between its ticks.
//!
//! The director sends a point every 500 ms covering the next few seconds; the agent moves
//! at 10 Hz, so it interpolates linearly between the two points around `now`. Before the
//! first point it holds the first (pre-positioning), after the last it holds the last: it
//! never extrapolates a path the director did not send.
//!
//! Azimuth is interpolated as a plain number: the contract puts points in the rotator's own
//! azimuth range (which may run past 360 for an overlap rotator), so the director has
//! already chosen which way round to go, and 359 -> 361 is a 2-degree move, not a wrap.

use talos_core::UnixMs;
use talos_link::{Pointing, RigPoint, RotPoint};

/// Linear interpolation over `(t_ms, value)` samples sorted by strictly increasing time
/// (what validation guarantees). `None` only for no samples.
pub fn interpolate(samples: &[(i64, f64)], t: UnixMs) -> Option<f64> {
    let (first, last) = (samples.first()?, samples.last()?);
    if t.0 <= first.0 {
        return Some(first.1);
    }
    if t.0 >= last.0 {
        return Some(last.1);
    }
    let i = samples.partition_point(|(ts, _)| *ts <= t.0);
    let (t0, v0) = samples[i - 1];
    let (t1, v1) = samples[i];
    let f = (t.0 - t0) as f64 / (t1 - t0) as f64;
    Some(v0 + (v1 - v0) * f)
}

/// Where a rotator trajectory points at `t`.
pub fn pointing_at(points: &[RotPoint], t: UnixMs) -> Option<Pointing> {
    let az: Vec<(i64, f64)> = points.iter().map(|p| (p.t_ms.0, p.az_deg)).collect();
    let el: Vec<(i64, f64)> = points.iter().map(|p| (p.t_ms.0, p.el_deg)).collect();
    Some(Pointing { az_deg: interpolate(&az, t)?, el_deg: interpolate(&el, t)? })
}

/// The downlink frequency of a rig trajectory at `t`, over the points that carry one.
pub fn downlink_at(points: &[RigPoint], t: UnixMs) -> Option<f64> {
    let samples: Vec<(i64, f64)> = points.iter().filter_map(|p| Some((p.t_ms.0, p.downlink_hz?))).collect();
    interpolate(&samples, t)
}

/// The uplink frequency of a rig trajectory at `t`, over the points that carry one.
pub fn uplink_at(points: &[RigPoint], t: UnixMs) -> Option<f64> {
    let samples: Vec<(i64, f64)> = points.iter().filter_map(|p| Some((p.t_ms.0, p.uplink_hz?))).collect();
    interpolate(&samples, t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp(t_ms: i64, az_deg: f64, el_deg: f64) -> RotPoint {
        RotPoint { t_ms: UnixMs(t_ms), az_deg, el_deg }
    }

    #[test]
    fn interpolates_linearly_between_the_points_around_now() {
        let points = [rp(1_000, 100.0, 10.0), rp(1_500, 101.0, 12.0), rp(2_000, 103.0, 13.0)];
        let at = |t| pointing_at(&points, UnixMs(t)).unwrap();
        assert_eq!(at(1_000), Pointing { az_deg: 100.0, el_deg: 10.0 });
        assert_eq!(at(1_250), Pointing { az_deg: 100.5, el_deg: 11.0 });
        assert_eq!(at(1_500), Pointing { az_deg: 101.0, el_deg: 12.0 });
        assert_eq!(at(1_750), Pointing { az_deg: 102.0, el_deg: 12.5 });
    }

    #[test]
    fn holds_the_ends_instead_of_extrapolating() {
        let points = [rp(1_000, 100.0, 10.0), rp(2_000, 110.0, 20.0)];
        assert_eq!(pointing_at(&points, UnixMs(0)).unwrap(), Pointing { az_deg: 100.0, el_deg: 10.0 });
        assert_eq!(pointing_at(&points, UnixMs(9_000)).unwrap(), Pointing { az_deg: 110.0, el_deg: 20.0 });
        assert_eq!(pointing_at(&[rp(5, 1.0, 2.0)], UnixMs(4)).unwrap(), Pointing { az_deg: 1.0, el_deg: 2.0 });
        assert_eq!(pointing_at(&[], UnixMs(4)), None);
    }

    #[test]
    fn azimuth_past_360_is_not_wrapped() {
        let points = [rp(0, 359.0, 10.0), rp(1_000, 361.0, 10.0)];
        assert_eq!(pointing_at(&points, UnixMs(500)).unwrap().az_deg, 360.0);
    }

    #[test]
    fn rig_channels_interpolate_over_the_points_that_carry_them() {
        let p = |t, d: Option<f64>, u: Option<f64>| RigPoint { t_ms: UnixMs(t), downlink_hz: d, uplink_hz: u };
        let points = [p(0, Some(100.0), None), p(500, None, Some(50.0)), p(1_000, Some(200.0), Some(70.0))];
        assert_eq!(downlink_at(&points, UnixMs(250)), Some(125.0));
        assert_eq!(uplink_at(&points, UnixMs(250)), Some(50.0));
        assert_eq!(uplink_at(&points, UnixMs(750)), Some(60.0));
        assert_eq!(uplink_at(&[p(0, Some(1.0), None)], UnixMs(0)), None);
    }
}

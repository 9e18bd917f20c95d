//! Per-azimuth horizon masks: the elevation below which a station cannot see
//! (buildings, hills, trees), linearly interpolated between measured azimuths.

use serde::{Deserialize, Serialize};

/// Why a mask is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HorizonMaskError {
    #[error("horizon mask needs at least one point")]
    Empty,
    #[error("horizon mask point {index}: azimuth {az_deg} deg is outside [0, 360)")]
    Azimuth { index: usize, az_deg: f64 },
    #[error("horizon mask point {index}: elevation {el_deg} deg is outside [-5, 90]")]
    Elevation { index: usize, el_deg: f64 },
    #[error("horizon mask point {index}: azimuth {az_deg} deg appears twice")]
    Duplicate { index: usize, az_deg: f64 },
}

/// A horizon mask: points (azimuth, minimum elevation), sorted by azimuth, wrapping at 360.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<(f64, f64)>", into = "Vec<(f64, f64)>")]
pub struct HorizonMask {
    points: Vec<(f64, f64)>,
    min_el_deg: f64,
}

impl HorizonMask {
    pub fn new(mut points: Vec<(f64, f64)>) -> Result<Self, HorizonMaskError> {
        if points.is_empty() {
            return Err(HorizonMaskError::Empty);
        }
        for (index, &(az_deg, el_deg)) in points.iter().enumerate() {
            if !(0.0..360.0).contains(&az_deg) {
                return Err(HorizonMaskError::Azimuth { index, az_deg });
            }
            if !(-5.0..=90.0).contains(&el_deg) {
                return Err(HorizonMaskError::Elevation { index, el_deg });
            }
        }
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        if let Some(index) = points.windows(2).position(|w| w[0].0 == w[1].0) {
            return Err(HorizonMaskError::Duplicate { index: index + 1, az_deg: points[index].0 });
        }
        let min_el_deg = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        Ok(Self { points, min_el_deg })
    }

    /// The lowest elevation anywhere on the mask.
    pub fn min_el_deg(&self) -> f64 {
        self.min_el_deg
    }

    pub fn points(&self) -> &[(f64, f64)] {
        &self.points
    }

    /// Mask elevation at an azimuth, interpolating linearly and wrapping through north.
    pub fn el_at_deg(&self, az_deg: f64) -> f64 {
        let az = az_deg.rem_euclid(360.0);
        let p = &self.points;
        let upper = p.partition_point(|q| q.0 <= az);
        let (a, b) = match upper {
            0 => ((p[p.len() - 1].0 - 360.0, p[p.len() - 1].1), p[0]),
            n if n == p.len() => (p[n - 1], (p[0].0 + 360.0, p[0].1)),
            n => (p[n - 1], p[n]),
        };
        if b.0 == a.0 {
            return a.1;
        }
        a.1 + (b.1 - a.1) * (az - a.0) / (b.0 - a.0)
    }
}

impl TryFrom<Vec<(f64, f64)>> for HorizonMask {
    type Error = HorizonMaskError;
    fn try_from(v: Vec<(f64, f64)>) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}

impl From<HorizonMask> for Vec<(f64, f64)> {
    fn from(m: HorizonMask) -> Self {
        m.points
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn interpolates_and_wraps_through_north() {
        let m = HorizonMask::new(vec![(90.0, 10.0), (270.0, 30.0)]).unwrap();
        assert_eq!(m.el_at_deg(90.0), 10.0);
        assert_eq!(m.el_at_deg(180.0), 20.0);
        assert_eq!(m.el_at_deg(0.0), 20.0);
        assert_eq!(m.el_at_deg(315.0), 25.0);
        assert_eq!(m.el_at_deg(45.0), 15.0);
        assert_eq!(m.min_el_deg(), 10.0);
    }

    #[test]
    fn bad_points_are_named() {
        assert_eq!(HorizonMask::new(vec![]), Err(HorizonMaskError::Empty));
        let e = HorizonMask::new(vec![(10.0, 0.0), (400.0, 5.0)]).unwrap_err();
        assert_eq!(e, HorizonMaskError::Azimuth { index: 1, az_deg: 400.0 });
        assert!(HorizonMask::new(vec![(10.0, 0.0), (10.0, 5.0)]).is_err());
    }

    proptest! {
        #[test]
        fn mask_value_stays_between_its_extremes(points in proptest::collection::vec((0.0f64..360.0, -5.0f64..90.0), 1..12), az in -720.0f64..720.0) {
            if let Ok(m) = HorizonMask::new(points.clone()) {
                let max = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
                let v = m.el_at_deg(az);
                prop_assert!(v >= m.min_el_deg() - 1e-9 && v <= max + 1e-9);
            }
        }
    }
}

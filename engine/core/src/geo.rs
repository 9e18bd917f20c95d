//! Validated geodetic positions (WGS84) of ground stations.

use serde::{Deserialize, Serialize};

/// Lowest plausible antenna altitude: the Dead Sea shore is about -430 m.
pub const MIN_ALT_M: f64 = -500.0;
/// Highest plausible ground-station altitude. Above this it is an aircraft or a typo
/// (the SatNOGS list has a station "at" 838 km).
pub const MAX_ALT_M: f64 = 9_000.0;

/// A point on or near the WGS84 ellipsoid. Constructed only through [`GeodeticPosition::new`],
/// so every value in the system has a latitude in [-90, 90], a longitude in [-180, 180]
/// and a ground-station altitude.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawGeodetic")]
pub struct GeodeticPosition {
    lat_deg: f64,
    lon_deg: f64,
    alt_m: f64,
}

#[derive(Deserialize)]
struct RawGeodetic {
    lat_deg: f64,
    lon_deg: f64,
    alt_m: f64,
}

impl TryFrom<RawGeodetic> for GeodeticPosition {
    type Error = GeoError;
    fn try_from(r: RawGeodetic) -> Result<Self, GeoError> {
        Self::new(r.lat_deg, r.lon_deg, r.alt_m)
    }
}

/// Why a position is not a usable ground-station position.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeoError {
    #[error("latitude {0} deg is outside [-90, 90]")]
    Latitude(f64),
    #[error("longitude {0} deg is outside [-180, 180]")]
    Longitude(f64),
    #[error("altitude {0} m is outside [{MIN_ALT_M}, {MAX_ALT_M}] m for a ground station")]
    Altitude(f64),
}

impl GeodeticPosition {
    pub fn new(lat_deg: f64, lon_deg: f64, alt_m: f64) -> Result<Self, GeoError> {
        if !(-90.0..=90.0).contains(&lat_deg) {
            return Err(GeoError::Latitude(lat_deg));
        }
        if !(-180.0..=180.0).contains(&lon_deg) {
            return Err(GeoError::Longitude(lon_deg));
        }
        if !(MIN_ALT_M..=MAX_ALT_M).contains(&alt_m) {
            return Err(GeoError::Altitude(alt_m));
        }
        Ok(Self { lat_deg, lon_deg, alt_m })
    }

    pub fn lat_deg(&self) -> f64 {
        self.lat_deg
    }
    pub fn lon_deg(&self) -> f64 {
        self.lon_deg
    }
    pub fn alt_m(&self) -> f64 {
        self.alt_m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn satnogs_bad_values_are_rejected_with_reason() {
        assert_eq!(GeodeticPosition::new(501120.0, 135958.0, 10.0), Err(GeoError::Latitude(501120.0)));
        let err = GeodeticPosition::new(10.0, 20.0, 838_850.0).unwrap_err();
        assert!(err.to_string().contains("838850"), "{err}");
        assert!(GeodeticPosition::new(f64::NAN, 0.0, 0.0).is_err());
    }

    proptest! {
        #[test]
        fn constructor_accepts_exactly_the_valid_box(lat in -200.0f64..200.0, lon in -400.0f64..400.0, alt in -1000.0f64..20_000.0) {
            let ok = (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) && (MIN_ALT_M..=MAX_ALT_M).contains(&alt);
            prop_assert_eq!(GeodeticPosition::new(lat, lon, alt).is_ok(), ok);
        }
    }
}

//! SGP4 propagation of one element set, through the `sgp4` crate.

use crate::elements::ElementSet;
use crate::frames::{EcefState, TemeToEcef};
use talos_core::{NoradId, UnixMs};

/// Earth gravitational parameter (WGS72, as SGP4 uses), km^3/s^2.
const MU_KM3_S2: f64 = 398_600.8;
/// WGS72 equatorial radius, km.
const EARTH_RADIUS_KM: f64 = 6378.135;

/// Which flavour of SGP4 to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SgpMode {
    /// WGS72 constants with the IAU sidereal-time expression: python-sgp4 / Skyfield's
    /// default ("improved" mode). What TALOS tracks with.
    #[default]
    Improved,
    /// Bit-for-bit AFSPC compatibility, for Vallado's verification vectors.
    AfspcCompatibility,
}

/// Why a satellite cannot be propagated. The error names the object and the time so
/// that one decayed satellite never hides which one it was, and never stops the others.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PropagationError {
    /// The elements are not a valid SGP4 initial state (e.g. eccentricity outside [0, 1)).
    #[error("NORAD {norad_id}: element set cannot initialise SGP4: {reason}")]
    BadElements { norad_id: NoradId, reason: String },
    /// SGP4 diverged at this time: decayed orbit, or perturbed eccentricity out of range.
    #[error("NORAD {norad_id}: SGP4 failed {minutes_since_epoch:.1} min after epoch: {reason}")]
    Diverged { norad_id: NoradId, minutes_since_epoch: f64, reason: String },
}

/// State in the TEME frame (km, km/s).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TemeState {
    pub pos_km: [f64; 3],
    pub vel_km_s: [f64; 3],
}

/// A satellite ready to propagate: the element set's SGP4 constants plus orbit facts
/// the pass finder uses to size its search.
#[derive(Debug)]
pub struct Satellite {
    pub norad_id: NoradId,
    pub name: Option<String>,
    /// Epoch, seconds since the Unix epoch (UTC), with the element set's microseconds.
    pub epoch_unix_s: f64,
    pub period_s: f64,
    pub perigee_alt_km: f64,
    pub apogee_alt_km: f64,
    pub inclination_deg: f64,
    mode: SgpMode,
    constants: sgp4::Constants,
}

impl Satellite {
    pub fn new(elements: &ElementSet) -> Result<Self, PropagationError> {
        Self::with_mode(elements, SgpMode::Improved)
    }

    pub fn with_mode(elements: &ElementSet, mode: SgpMode) -> Result<Self, PropagationError> {
        let norad_id = elements.norad_id;
        let sgp4_elements = to_sgp4_elements(elements);
        let bad = |reason: String| PropagationError::BadElements { norad_id, reason };
        let constants = match mode {
            SgpMode::Improved => {
                let orbit = sgp4::Orbit::from_kozai_elements(
                    &sgp4::WGS72,
                    elements.inclination_deg.to_radians(),
                    elements.raan_deg.to_radians(),
                    elements.eccentricity,
                    elements.arg_perigee_deg.to_radians(),
                    elements.mean_anomaly_deg.to_radians(),
                    elements.mean_motion_rev_per_day * (std::f64::consts::PI / 720.0),
                )
                .map_err(|e| bad(e.to_string()))?;
                sgp4::Constants::new(
                    sgp4::WGS72,
                    sgp4::iau_epoch_to_sidereal_time,
                    sgp4_elements.epoch(),
                    elements.bstar,
                    orbit,
                )
                .map_err(|e| bad(e.to_string()))?
            }
            SgpMode::AfspcCompatibility => sgp4::Constants::from_elements_afspc_compatibility_mode(&sgp4_elements)
                .map_err(|e| bad(e.to_string()))?,
        };
        let mean_motion_rad_s = elements.mean_motion_rev_per_day * std::f64::consts::TAU / 86_400.0;
        if mean_motion_rad_s.is_nan() || mean_motion_rad_s <= 0.0 {
            return Err(bad(format!("mean motion {} rev/day is not positive", elements.mean_motion_rev_per_day)));
        }
        let semi_major_km = (MU_KM3_S2 / (mean_motion_rad_s * mean_motion_rad_s)).cbrt();
        let epoch_utc = elements.epoch.and_utc();
        let epoch_unix_s = epoch_utc.timestamp() as f64 + f64::from(epoch_utc.timestamp_subsec_nanos()) * 1e-9;
        Ok(Self {
            norad_id,
            name: elements.name.clone(),
            epoch_unix_s,
            period_s: std::f64::consts::TAU / mean_motion_rad_s,
            perigee_alt_km: semi_major_km * (1.0 - elements.eccentricity) - EARTH_RADIUS_KM,
            apogee_alt_km: semi_major_km * (1.0 + elements.eccentricity) - EARTH_RADIUS_KM,
            inclination_deg: elements.inclination_deg,
            mode,
            constants,
        })
    }

    pub fn minutes_since_epoch(&self, t: UnixMs) -> f64 {
        (t.as_seconds_f64() - self.epoch_unix_s) / 60.0
    }

    /// Element-set age at `t`, days (negative when the epoch is in the future).
    pub fn age_days(&self, t: UnixMs) -> f64 {
        self.minutes_since_epoch(t) / 1440.0
    }

    /// Propagates to a number of minutes since epoch, TEME frame.
    pub fn propagate_minutes(&self, minutes_since_epoch: f64) -> Result<TemeState, PropagationError> {
        let t = sgp4::MinutesSinceEpoch(minutes_since_epoch);
        let prediction = match self.mode {
            SgpMode::Improved => self.constants.propagate(t),
            SgpMode::AfspcCompatibility => self.constants.propagate_afspc_compatibility_mode(t),
        }
        .map_err(|e| PropagationError::Diverged {
            norad_id: self.norad_id,
            minutes_since_epoch,
            reason: e.to_string(),
        })?;
        if prediction.position.iter().chain(&prediction.velocity).any(|v| !v.is_finite()) {
            return Err(PropagationError::Diverged {
                norad_id: self.norad_id,
                minutes_since_epoch,
                reason: "non-finite state".to_owned(),
            });
        }
        Ok(TemeState { pos_km: prediction.position, vel_km_s: prediction.velocity })
    }

    pub fn propagate_teme(&self, t: UnixMs) -> Result<TemeState, PropagationError> {
        self.propagate_minutes(self.minutes_since_epoch(t))
    }

    /// Earth-fixed state at `t`, with a rotation the caller already computed for that
    /// instant (the tick computes it once for all satellites).
    pub fn state_ecef_with(&self, t: UnixMs, rotation: &TemeToEcef) -> Result<EcefState, PropagationError> {
        let teme = self.propagate_teme(t)?;
        Ok(rotation.apply(teme.pos_km, teme.vel_km_s))
    }

    pub fn state_ecef(&self, t: UnixMs) -> Result<EcefState, PropagationError> {
        self.state_ecef_with(t, &TemeToEcef::at(t))
    }

    /// True for orbits the pass finder treats as geosynchronous (period within 5 % of a sidereal day
    /// and nearly circular): their look angles barely change, so no fine search is needed.
    pub fn is_geosynchronous_like(&self) -> bool {
        (self.period_s / 86_164.1 - 1.0).abs() < 0.05 && self.apogee_alt_km - self.perigee_alt_km < 2_000.0
    }
}

fn to_sgp4_elements(e: &ElementSet) -> sgp4::Elements {
    sgp4::Elements {
        object_name: None,
        international_designator: None,
        norad_id: u64::from(e.norad_id.get()),
        classification: match e.classification {
            'C' => sgp4::Classification::Classified,
            'S' => sgp4::Classification::Secret,
            _ => sgp4::Classification::Unclassified,
        },
        datetime: e.epoch,
        mean_motion_dot: e.mean_motion_dot,
        mean_motion_ddot: e.mean_motion_ddot,
        drag_term: e.bstar,
        element_set_number: u64::from(e.element_set_number),
        inclination: e.inclination_deg,
        right_ascension: e.raan_deg,
        eccentricity: e.eccentricity,
        argument_of_perigee: e.arg_perigee_deg,
        mean_anomaly: e.mean_anomaly_deg,
        mean_motion: e.mean_motion_rev_per_day,
        revolution_number: u64::from(e.rev_number),
        ephemeris_type: 0,
    }
}

//! Components: the nouns of the director's world.

use bevy_ecs::prelude::*;
use std::sync::Arc;
use talos_core::{AssignmentId, CampaignId, NoradId, OrgId, StationId, UnixMs};
use talos_orbit::{HorizonMask, Observer, Satellite};

/// An azimuth/elevation pair, degrees.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AzEl {
    pub az_deg: f64,
    pub el_deg: f64,
}

/// What the rotator can physically do.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RotatorLimits {
    pub az_min_deg: f64,
    pub az_max_deg: f64,
    pub el_min_deg: f64,
    pub el_max_deg: f64,
    pub az_slew_deg_s: f64,
    pub el_slew_deg_s: f64,
}

impl Default for RotatorLimits {
    /// A common az/el rotator (Yaesu G-5500 class): 0-450 az, 0-180 el, ~6 deg/s az, ~3 deg/s el.
    fn default() -> Self {
        Self {
            az_min_deg: 0.0,
            az_max_deg: 450.0,
            el_min_deg: 0.0,
            el_max_deg: 180.0,
            az_slew_deg_s: 6.0,
            el_slew_deg_s: 3.0,
        }
    }
}

/// A ground station: one antenna with its rotator and radio.
#[derive(Component, Debug, Clone, PartialEq)]
pub struct Station {
    pub id: StationId,
    pub org: OrgId,
    pub observer: Observer,
    /// Station-wide minimum elevation, deg.
    pub min_el_deg: f64,
    pub mask: Option<HorizonMask>,
    pub rotator: RotatorLimits,
    pub park: AzEl,
    /// Held parked by an operator command: the station tracks nothing until resumed.
    pub held: bool,
}

/// A satellite with its current element set, ready to propagate.
#[derive(Component, Debug, Clone)]
pub struct SatelliteOrbit {
    pub satellite: Arc<Satellite>,
}

impl SatelliteOrbit {
    pub fn norad_id(&self) -> NoradId {
        self.satellite.norad_id
    }
}

/// One transmitter of a satellite, as the rig must be tuned for it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Transmitter {
    /// Nominal downlink (satellite transmits), Hz.
    pub downlink_hz: Option<f64>,
    /// Nominal uplink (satellite receives), Hz.
    pub uplink_hz: Option<f64>,
    /// Modulation as the rig names it (FM, USB, CW, ...).
    pub mode: String,
}

/// A campaign: observe one satellite with a priority inside an optional window.
#[derive(Component, Debug, Clone, PartialEq)]
pub struct Campaign {
    pub id: CampaignId,
    pub org: OrgId,
    pub norad_id: NoradId,
    /// Higher wins when passes overlap at a station.
    pub priority: i32,
    pub window_start: Option<UnixMs>,
    pub window_end: Option<UnixMs>,
    pub min_el_deg: f64,
    pub transmitter: Option<Transmitter>,
}

/// A station taking part in a campaign.
#[derive(Component, Debug, Clone, Copy)]
pub struct Assignment {
    pub id: AssignmentId,
    pub station: Entity,
    pub campaign: Entity,
}

//! The store's snapshot turned into what the director runs: tick components for
//! stations, campaigns and assignments, and propagators for the satellites the
//! campaigns track.
//!
//! A row the physics cannot use (a stored position or horizon mask out of range, an
//! element set SGP4 refuses) is left out with a reason, never a panic: one bad row
//! must not stop the other stations from tracking.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use talos_core::{GeodeticPosition, NoradId, UnixMs};
use talos_orbit::{HorizonMask, Observer, Satellite};
use talos_store::{DirectorSnapshot, StoredElementSet, TransmitterRecord};
use talos_tick::{AssignmentSpec, AzEl, Campaign, FleetSpec, RotatorLimits, Station, Transmitter};

/// A loaded fleet: the spec for [`talos_tick::Director::sync_fleet`] plus what the
/// API and the console need to know about it.
#[derive(Debug, Clone, Default)]
pub struct LoadedFleet {
    pub spec: FleetSpec,
    /// Propagators by NORAD id (the campaigns' satellites), shared with pass prediction.
    pub satellites: HashMap<NoradId, Arc<Satellite>>,
    /// Rows left out, with why.
    pub skipped: Vec<String>,
}

/// Reads a stored horizon mask (`[[az_deg, el_deg], ...]`).
pub fn horizon_mask(value: &serde_json::Value) -> Result<HorizonMask, String> {
    let points: Vec<(f64, f64)> =
        serde_json::from_value(value.clone()).map_err(|e| format!("expected [[az_deg, el_deg], ...]: {e}"))?;
    HorizonMask::new(points).map_err(|e| e.to_string())
}

fn station_of(s: &talos_store::Station) -> Result<Station, String> {
    let c = &s.settings;
    let position = GeodeticPosition::new(c.lat_deg, c.lon_deg, c.alt_m).map_err(|e| e.to_string())?;
    let mask = c.horizon_mask.as_ref().map(horizon_mask).transpose().map_err(|e| format!("horizon mask: {e}"))?;
    Ok(Station {
        id: s.id,
        org: s.org,
        observer: Observer::new(position),
        min_el_deg: c.min_el_deg,
        mask,
        rotator: RotatorLimits {
            az_min_deg: c.az_min_deg,
            az_max_deg: c.az_max_deg,
            el_min_deg: c.el_min_deg,
            el_max_deg: c.el_max_deg,
            az_slew_deg_s: c.az_slew_deg_s,
            el_slew_deg_s: c.el_slew_deg_s,
        },
        park: AzEl { az_deg: c.park_az_deg, el_deg: c.park_el_deg },
        held: s.held_since.is_some(),
    })
}

/// The rig tuning of a campaign: its first listed transmitter that the catalog knows.
fn transmitter_of(uuids: &[String], catalog: &HashMap<&str, &TransmitterRecord>) -> Option<Transmitter> {
    uuids.iter().find_map(|u| catalog.get(u.as_str())).map(|t| Transmitter {
        downlink_hz: t.downlink_low_hz.map(|f| f as f64),
        uplink_hz: t.uplink_low_hz.map(|f| f as f64),
        mode: t.mode.clone().unwrap_or_else(|| "FM".to_owned()),
    })
}

/// Builds the director's fleet from a store snapshot. `element_sets` must be the
/// current set per object (as `Store::current_element_sets` returns them).
pub fn load_fleet(snapshot: &DirectorSnapshot) -> LoadedFleet {
    let mut fleet = LoadedFleet::default();
    let mut station_ids = HashSet::new();
    for s in &snapshot.stations {
        match station_of(s) {
            Ok(station) => {
                station_ids.insert(s.id);
                fleet.spec.stations.push(station);
            }
            Err(e) => fleet.skipped.push(format!("station {} ({}): {e}", s.id, s.settings.name)),
        }
    }
    let transmitters: HashMap<&str, &TransmitterRecord> =
        snapshot.transmitters.iter().map(|t| (t.uuid.as_str(), t)).collect();
    let wanted: HashSet<NoradId> = snapshot.campaigns.iter().map(|c| c.settings.norad_id).collect();
    let sets: HashMap<NoradId, &StoredElementSet> = snapshot
        .element_sets
        .iter()
        .filter(|s| wanted.contains(&s.elements.norad_id))
        .map(|s| (s.elements.norad_id, s))
        .collect();
    for (&norad, set) in &sets {
        match Satellite::new(&set.elements) {
            Ok(sat) => {
                fleet.satellites.insert(norad, Arc::new(sat));
            }
            Err(e) => fleet.skipped.push(format!("satellite {norad} (source {}): {e}", set.source)),
        }
    }
    let mut norad_ids: Vec<_> = fleet.satellites.keys().copied().collect();
    norad_ids.sort();
    fleet.spec.satellites = norad_ids.iter().map(|n| fleet.satellites[n].clone()).collect();
    let mut campaign_ids = HashSet::new();
    for c in &snapshot.campaigns {
        let settings = &c.settings;
        if !fleet.satellites.contains_key(&settings.norad_id) {
            fleet.skipped.push(format!(
                "campaign {} ({}): no usable element set for NORAD {} (import one with `talos catalog import`)",
                c.id, settings.name, settings.norad_id
            ));
            continue;
        }
        campaign_ids.insert(c.id);
        fleet.spec.campaigns.push(Campaign {
            id: c.id,
            org: c.org,
            norad_id: settings.norad_id,
            priority: settings.priority,
            window_start: settings.window_start,
            window_end: settings.window_end,
            min_el_deg: settings.min_el_deg,
            transmitter: transmitter_of(&settings.transmitter_uuids, &transmitters),
        });
    }
    fleet.spec.assignments = snapshot
        .assignments
        .iter()
        .filter(|a| station_ids.contains(&a.station) && campaign_ids.contains(&a.campaign))
        .map(|a| AssignmentSpec { id: a.id, station: a.station, campaign: a.campaign })
        .collect();
    fleet
}

/// Element-set ages of the satellites in use, for the staleness metric.
pub fn element_epochs_s(fleet: &LoadedFleet) -> Vec<f64> {
    let mut epochs: Vec<f64> = fleet.satellites.values().map(|s| s.epoch_unix_s).collect();
    epochs.sort_by(f64::total_cmp);
    epochs
}

/// Age in days of the oldest element set in use at `now`.
pub fn oldest_age_days(fleet: &LoadedFleet, now: UnixMs) -> f64 {
    fleet.satellites.values().map(|s| s.age_days(now)).fold(0.0, f64::max)
}

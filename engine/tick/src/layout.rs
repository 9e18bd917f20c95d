//! The dense layout: the world's entities gathered into contiguous arrays that the
//! heavy stages index directly (no per-row entity lookups in the hot loops).
//!
//! Rebuilt only when a station, satellite, campaign or assignment is added, changed
//! or removed; per-row state is carried across a rebuild by entity.

use bevy_ecs::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use talos_core::{AssignmentId, CampaignId, NoradId, OrgId};
use talos_orbit::Satellite;

use crate::components::{Assignment, Campaign, SatelliteOrbit, Station, Transmitter};
use crate::planner::PlannedPass;
use crate::resources::PassPlan;

#[derive(Debug, Clone)]
pub struct StationRow {
    pub entity: Entity,
    pub station: Station,
    /// This station's assignment rows: `assignments[first_row..end_row]`.
    pub first_row: u32,
    pub end_row: u32,
}

#[derive(Debug, Clone)]
pub struct SatelliteRow {
    pub entity: Entity,
    pub norad_id: NoradId,
    pub satellite: Arc<Satellite>,
}

#[derive(Debug, Clone)]
pub struct AssignmentRow {
    pub entity: Entity,
    pub id: AssignmentId,
    pub station: u32,
    /// Index into `satellites`; `None` while the campaign's satellite has no element set.
    pub satellite: Option<u32>,
    pub campaign_id: CampaignId,
    pub org: OrgId,
    pub norad_id: NoradId,
    pub priority: i32,
    /// The higher of the station's and the campaign's minimum elevation, deg.
    pub min_el_deg: f64,
    /// Sine of the lowest elevation at which this assignment can be up (its minimum
    /// elevation or its station mask's lowest point, whichever is higher): below it the
    /// look stage skips azimuth and range-rate.
    pub sin_lowest_threshold: f64,
    pub window_start_ms: i64,
    pub window_end_ms: i64,
    pub transmitter: Option<Arc<Transmitter>>,
    /// Planned passes (from [`PassPlan`]), in time order, for pre-positioning.
    pub planned: Arc<[PlannedPass]>,
}

/// Per-assignment state that lives across ticks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AssignmentTrack {
    /// Above the effective threshold at the last tick.
    pub above: bool,
    /// Evaluated at least once: the first evaluation of a row has no "before" to compare with.
    pub seen: bool,
    /// When the current pass was acquired.
    pub aos_at_ms: Option<i64>,
    /// Index of the first planned pass not yet over (advances with time, reset when the plan changes).
    pub next_pass: u32,
    /// AOS and LOS of that pass, cached here so the policy scans only this dense array
    /// (`i64::MAX` when no pass is planned).
    pub next_aos_ms: i64,
    pub next_los_ms: i64,
}

impl Default for AssignmentTrack {
    fn default() -> Self {
        Self { above: false, seen: false, aos_at_ms: None, next_pass: 0, next_aos_ms: i64::MAX, next_los_ms: i64::MIN }
    }
}

impl AssignmentTrack {
    /// Moves the cursor past the planned passes that are over at `now_ms`.
    pub fn advance_to(&mut self, planned: &[PlannedPass], now_ms: i64) {
        while planned.get(self.next_pass as usize).is_some_and(|p| p.los.0 <= now_ms) {
            self.next_pass += 1;
        }
        let next = planned.get(self.next_pass as usize);
        self.next_aos_ms = next.map_or(i64::MAX, |p| p.aos.0);
        self.next_los_ms = next.map_or(i64::MAX, |p| p.los.0);
    }
}

#[derive(Resource, Debug, Default)]
pub struct Layout {
    /// Bumped on each rebuild.
    pub version: u64,
    pub stations: Vec<StationRow>,
    pub satellites: Vec<SatelliteRow>,
    /// Grouped by station, in station order.
    pub assignments: Vec<AssignmentRow>,
    /// Satellites referenced by at least one assignment: the only ones propagated.
    pub active_satellites: Vec<u32>,
    pub tracks: Vec<AssignmentTrack>,
    plan_version: u64,
}

type ChangedAny<'w, 's> = (
    Query<'w, 's, (), Changed<Station>>,
    Query<'w, 's, (), Changed<SatelliteOrbit>>,
    Query<'w, 's, (), Changed<Campaign>>,
    Query<'w, 's, (), Changed<Assignment>>,
);

type RemovedAny<'w, 's> = (
    RemovedComponents<'w, 's, Station>,
    RemovedComponents<'w, 's, SatelliteOrbit>,
    RemovedComponents<'w, 's, Campaign>,
    RemovedComponents<'w, 's, Assignment>,
);

/// Rebuilds the layout when any entity it mirrors changed; re-gathers the next passes
/// when the plan changed.
#[expect(
    clippy::too_many_arguments,
    reason = "one query per mirrored component; a system's parameters show its data access"
)]
pub fn rebuild_layout(
    mut layout: ResMut<Layout>,
    plan: Res<PassPlan>,
    changed: ChangedAny<'_, '_>,
    mut removed: RemovedAny<'_, '_>,
    stations: Query<(Entity, &Station)>,
    satellites: Query<(Entity, &SatelliteOrbit)>,
    campaigns: Query<&Campaign>,
    assignments: Query<(Entity, &Assignment)>,
) {
    let any_removed =
        removed.0.read().count() + removed.1.read().count() + removed.2.read().count() + removed.3.read().count() > 0;
    let any_changed = !changed.0.is_empty() || !changed.1.is_empty() || !changed.2.is_empty() || !changed.3.is_empty();
    if any_changed || any_removed || layout.version == 0 {
        let old_tracks: HashMap<Entity, AssignmentTrack> =
            layout.assignments.iter().zip(&layout.tracks).map(|(row, track)| (row.entity, *track)).collect();
        *layout = build(&stations, &satellites, &campaigns, &assignments, layout.version + 1);
        layout.tracks =
            layout.assignments.iter().map(|row| old_tracks.get(&row.entity).copied().unwrap_or_default()).collect();
        layout.plan_version = u64::MAX;
    }
    if layout.plan_version != plan.version {
        gather_next_passes(&mut layout, &plan);
    }
}

fn build(
    stations: &Query<(Entity, &Station)>,
    satellites: &Query<(Entity, &SatelliteOrbit)>,
    campaigns: &Query<&Campaign>,
    assignments: &Query<(Entity, &Assignment)>,
    version: u64,
) -> Layout {
    let mut station_rows: Vec<StationRow> = stations
        .iter()
        .map(|(entity, station)| StationRow { entity, station: station.clone(), first_row: 0, end_row: 0 })
        .collect();
    // Stable order by station id so replays and tests see the same layout.
    station_rows.sort_by_key(|row| row.station.id);
    let station_index: HashMap<Entity, u32> =
        station_rows.iter().enumerate().map(|(i, r)| (r.entity, i as u32)).collect();

    let mut satellite_rows: Vec<SatelliteRow> = satellites
        .iter()
        .map(|(entity, orbit)| SatelliteRow { entity, norad_id: orbit.norad_id(), satellite: orbit.satellite.clone() })
        .collect();
    satellite_rows.sort_by_key(|row| row.norad_id);
    let satellite_index: HashMap<NoradId, u32> =
        satellite_rows.iter().enumerate().map(|(i, r)| (r.norad_id, i as u32)).collect();

    let mut transmitters: HashMap<CampaignId, Option<Arc<Transmitter>>> = HashMap::new();
    let mut rows: Vec<AssignmentRow> = assignments
        .iter()
        .filter_map(|(entity, a)| {
            let station = *station_index.get(&a.station)?;
            let campaign = campaigns.get(a.campaign).ok()?;
            let station_row = &station_rows[station as usize].station;
            let min_el_deg = campaign.min_el_deg.max(station_row.min_el_deg);
            let mask_min_deg = station_row.mask.as_ref().map_or(f64::NEG_INFINITY, |m| m.min_el_deg());
            let transmitter =
                transmitters.entry(campaign.id).or_insert_with(|| campaign.transmitter.clone().map(Arc::new)).clone();
            Some(AssignmentRow {
                entity,
                id: a.id,
                station,
                satellite: satellite_index.get(&campaign.norad_id).copied(),
                campaign_id: campaign.id,
                org: campaign.org,
                norad_id: campaign.norad_id,
                priority: campaign.priority,
                min_el_deg,
                sin_lowest_threshold: min_el_deg.max(mask_min_deg).clamp(-90.0, 90.0).to_radians().sin(),
                window_start_ms: campaign.window_start.map_or(i64::MIN, |t| t.0),
                window_end_ms: campaign.window_end.map_or(i64::MAX, |t| t.0),
                transmitter,
                planned: Arc::from(Vec::new()),
            })
        })
        .collect();
    rows.sort_by_key(|row| (row.station, row.id));

    let mut start = 0usize;
    for (i, station) in station_rows.iter_mut().enumerate() {
        let end = start + rows[start..].iter().take_while(|r| r.station as usize == i).count();
        station.first_row = start as u32;
        station.end_row = end as u32;
        start = end;
    }

    let mut active: Vec<u32> = rows.iter().filter_map(|r| r.satellite).collect();
    active.sort_unstable();
    active.dedup();

    Layout {
        version,
        stations: station_rows,
        satellites: satellite_rows,
        assignments: rows,
        active_satellites: active,
        tracks: Vec::new(),
        plan_version: 0,
    }
}

fn gather_next_passes(layout: &mut Layout, plan: &PassPlan) {
    for row in &mut layout.assignments {
        row.planned = plan.by_assignment.get(&row.id).cloned().unwrap_or_else(|| Arc::from(Vec::new()));
    }
    for track in &mut layout.tracks {
        // Re-resolved against the new plan on the next policy run.
        track.next_pass = 0;
        track.next_los_ms = i64::MIN;
    }
    layout.plan_version = plan.version;
}

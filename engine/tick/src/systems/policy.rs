//! Which satellite each station tracks: the built-in rule (highest campaign priority,
//! then highest elevation) until policy plugins take over.

use bevy_ecs::prelude::*;
use std::collections::HashMap;
use talos_core::{AssignmentId, NoradId};

use crate::layout::Layout;
use crate::planner::PlannedPass;
use crate::resources::{TickClock, TickConfig};
use crate::systems::look::LookTable;

/// Row index meaning "this assignment no longer exists".
pub const GONE_ROW: u32 = u32::MAX;

/// What a station does this tick.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Target {
    /// Nothing to do: parked (or parking).
    #[default]
    Idle,
    /// Tracking the satellite of assignment row `row`.
    Track { row: u32, assignment: AssignmentId, norad_id: NoradId },
    /// Waiting at the AOS azimuth of the next pass of assignment row `row`.
    PrePosition { row: u32, assignment: AssignmentId, aos_az_deg: f64, el_deg: f64 },
}

impl Target {
    pub fn is_busy(&self) -> bool {
        !matches!(self, Target::Idle)
    }
}

/// Per station row: this tick's target and the previous tick's, for transitions.
#[derive(Resource, Debug, Default)]
pub struct StationTargets {
    pub current: Vec<Target>,
    pub previous: Vec<Target>,
    stations: Vec<Entity>,
    layout_version: u64,
}

pub fn choose_targets(
    clock: Res<TickClock>,
    config: Res<TickConfig>,
    mut layout: ResMut<Layout>,
    table: Res<LookTable>,
    mut targets: ResMut<StationTargets>,
) {
    let targets = &mut *targets;
    if targets.layout_version != layout.version {
        remap_targets(targets, &layout);
    }
    std::mem::swap(&mut targets.previous, &mut targets.current);
    targets.current.clear();
    let now_ms = clock.now.0;
    let lead_ms = config.preposition_lead_s * 1000;
    let layout = &mut *layout;
    for station in &layout.stations {
        let rows = station.first_row as usize..station.end_row as usize;
        let tracked = rows.clone().filter(|&r| layout.tracks[r].above).max_by(|&a, &b| {
            let (ra, rb) = (&layout.assignments[a], &layout.assignments[b]);
            ra.priority.cmp(&rb.priority).then(table.looks[a].el_deg.total_cmp(&table.looks[b].el_deg))
        });
        if station.station.held {
            targets.current.push(Target::Idle);
            continue;
        }
        let target = match tracked {
            Some(r) => {
                let row = &layout.assignments[r];
                Target::Track { row: r as u32, assignment: row.id, norad_id: row.norad_id }
            }
            None => {
                // Highest priority first, then the earliest AOS, among passes starting within the lead.
                let mut best: Option<(usize, i32, PlannedPass)> = None;
                for r in rows {
                    let track = &mut layout.tracks[r];
                    if now_ms >= track.next_los_ms {
                        track.advance_to(&layout.assignments[r].planned, now_ms);
                    }
                    if track.next_aos_ms <= now_ms || track.next_aos_ms - now_ms > lead_ms {
                        continue;
                    }
                    let row = &layout.assignments[r];
                    let pass = row.planned[track.next_pass as usize];
                    let better = best.is_none_or(|(_, priority, b)| {
                        row.priority > priority || (row.priority == priority && pass.aos < b.aos)
                    });
                    if better {
                        best = Some((r, row.priority, pass));
                    }
                }
                best.map_or(Target::Idle, |(r, _, pass)| {
                    let row = &layout.assignments[r];
                    Target::PrePosition {
                        row: r as u32,
                        assignment: row.id,
                        aos_az_deg: pass.aos_az_deg,
                        el_deg: row.min_el_deg.max(0.0),
                    }
                })
            }
        };
        targets.current.push(target);
    }
}

/// After a layout rebuild rows move: carry each station's last target over by station
/// entity, re-resolving its row by assignment id (or `GONE_ROW` if it was removed).
fn remap_targets(targets: &mut StationTargets, layout: &Layout) {
    let old: HashMap<Entity, Target> = targets.stations.iter().copied().zip(targets.current.iter().copied()).collect();
    let row_of: HashMap<AssignmentId, u32> =
        layout.assignments.iter().enumerate().map(|(i, r)| (r.id, i as u32)).collect();
    let resolve = |assignment: &AssignmentId| row_of.get(assignment).copied().unwrap_or(GONE_ROW);
    targets.current = layout
        .stations
        .iter()
        .map(|s| match old.get(&s.entity).copied().unwrap_or_default() {
            Target::Idle => Target::Idle,
            Target::Track { assignment, norad_id, .. } => {
                Target::Track { row: resolve(&assignment), assignment, norad_id }
            }
            Target::PrePosition { assignment, aos_az_deg, el_deg, .. } => {
                Target::PrePosition { row: resolve(&assignment), assignment, aos_az_deg, el_deg }
            }
        })
        .collect();
    targets.stations = layout.stations.iter().map(|s| s.entity).collect();
    targets.layout_version = layout.version;
}

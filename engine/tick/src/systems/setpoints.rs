//! Rotator and radio setpoints for every busy station, and the discrete commands
//! (session start/stop, park) on target changes.

use bevy_ecs::prelude::*;
use rayon::prelude::*;
use talos_core::{NoradId, UnixMs};

use crate::components::Station;
use talos_orbit::frames::EARTH_ROTATION_RAD_S;
use talos_orbit::{EcefState, downlink_hz, look_angles, uplink_hz};

use crate::layout::Layout;
use crate::outbox::{
    Outbox, RigSetpoint, RotSetpoint, SessionEnd, StationCommand, StationCommandKind, TrajectoryPoint,
};
use crate::resources::{ComputePool, LeaseEpoch, TickClock, TickConfig};
use crate::systems::policy::{GONE_ROW, StationTargets, Target};
use crate::systems::propagate::SatelliteStates;

/// Earth gravitational parameter, km^3/s^2 (WGS84).
const MU_KM3_S2: f64 = 398_600.441_8;

/// The satellite's earth-fixed state `dt_s` seconds ahead, by a second-order Taylor
/// step with two-body gravity plus the Coriolis and centrifugal terms of the rotating
/// frame. Over the few seconds of a setpoint trajectory the error is centimetres,
/// so the tick needs one SGP4 call per satellite, not one per trajectory point.
pub fn trajectory_state(state: &EcefState, dt_s: f64) -> EcefState {
    let omega = EARTH_ROTATION_RAD_S;
    let [x, y, z] = state.pos_km;
    let [vx, vy, _] = state.vel_km_s;
    let r3 = (x * x + y * y + z * z).powf(1.5);
    let g = -MU_KM3_S2 / r3;
    let acc = [g * x + 2.0 * omega * vy + omega * omega * x, g * y - 2.0 * omega * vx + omega * omega * y, g * z];
    let mut out = EcefState::default();
    for (k, a) in acc.iter().enumerate() {
        out.pos_km[k] = state.pos_km[k] + state.vel_km_s[k] * dt_s + 0.5 * a * dt_s * dt_s;
        out.vel_km_s[k] = state.vel_km_s[k] + a * dt_s;
    }
    out
}

/// What one station contributes to the outbox this tick.
#[derive(Default)]
struct StationOutput {
    rot: Option<RotSetpoint>,
    rig: Option<RigSetpoint>,
    commands: Vec<StationCommand>,
    tracking: bool,
    prepositioning: bool,
}

/// Everything a station's setpoints depend on, shared read-only by the workers.
struct SetpointInputs<'a> {
    now: UnixMs,
    seq: u64,
    valid_until: UnixMs,
    lease_epoch: u64,
    config: &'a TickConfig,
    layout: &'a Layout,
    states: &'a SatelliteStates,
}

impl SetpointInputs<'_> {
    fn rot_setpoint(&self, station: &Station, norad_id: Option<NoradId>, points: Vec<TrajectoryPoint>) -> RotSetpoint {
        RotSetpoint {
            station: station.id,
            org: station.org,
            seq: self.seq,
            valid_until: self.valid_until,
            lease_epoch: self.lease_epoch,
            norad_id,
            points,
        }
    }

    fn station_output(&self, index: usize, previous: Target, target: Target) -> StationOutput {
        let station = &self.layout.stations[index].station;
        let mut out = StationOutput::default();
        session_commands(station, previous, target, self.now, &mut out.commands);
        match target {
            Target::Idle => {
                if previous.is_busy() {
                    out.commands.push(StationCommand {
                        station: station.id,
                        org: station.org,
                        kind: StationCommandKind::Park { az_deg: station.park.az_deg, el_deg: station.park.el_deg },
                    });
                }
            }
            Target::PrePosition { aos_az_deg, el_deg, .. } => {
                out.prepositioning = true;
                let hold = TrajectoryPoint { t: self.now, az_deg: aos_az_deg, el_deg, range_rate_km_s: 0.0 };
                out.rot = Some(self.rot_setpoint(station, None, vec![hold]));
            }
            Target::Track { row, .. } => {
                let Some(row) = self.layout.assignments.get(row as usize) else { return out };
                let Some(sat) = row.satellite.filter(|&s| self.states.ok[s as usize]) else { return out };
                out.tracking = true;
                let sat_state = self.states.ecef[sat as usize];
                let points: Vec<TrajectoryPoint> = (0..self.config.trajectory_points)
                    .map(|k| {
                        let dt_ms = k as i64 * self.config.trajectory_step_ms;
                        let look = look_angles(&station.observer, &trajectory_state(&sat_state, dt_ms as f64 / 1000.0));
                        TrajectoryPoint {
                            t: self.now.plus_ms(dt_ms),
                            az_deg: look.az_deg,
                            el_deg: look.el_deg,
                            range_rate_km_s: look.range_rate_km_s,
                        }
                    })
                    .collect();
                out.rig = row.transmitter.as_ref().map(|tx| RigSetpoint {
                    station: station.id,
                    org: station.org,
                    seq: self.seq,
                    valid_until: self.valid_until,
                    lease_epoch: self.lease_epoch,
                    norad_id: row.norad_id,
                    mode: tx.mode.clone(),
                    points: points
                        .iter()
                        .map(|p| {
                            let down = tx.downlink_hz.map(|f| downlink_hz(f, p.range_rate_km_s));
                            let up = tx.uplink_hz.map(|f| uplink_hz(f, p.range_rate_km_s));
                            (p.t, down, up)
                        })
                        .collect(),
                });
                out.rot = Some(self.rot_setpoint(station, Some(row.norad_id), points));
            }
        }
        out
    }
}

/// Cost of one busy station's setpoints, in look-angle units (four look angles, two allocations).
const BUSY_STATION_COST: usize = 12;

#[expect(clippy::too_many_arguments, reason = "a system's parameters show its data access")]
pub fn build_setpoints(
    clock: Res<'_, TickClock>,
    config: Res<'_, TickConfig>,
    lease: Res<'_, LeaseEpoch>,
    layout: Res<'_, Layout>,
    states: Res<'_, SatelliteStates>,
    targets: Res<'_, StationTargets>,
    pool: Res<'_, ComputePool>,
    mut outbox: ResMut<'_, Outbox>,
) {
    let now = clock.now;
    let inputs = SetpointInputs {
        now,
        seq: now.0.max(0) as u64,
        valid_until: now.plus_ms(config.setpoint_validity_ms),
        lease_epoch: lease.0,
        config: &config,
        layout: &layout,
        states: &states,
    };
    // Only stations that are or were busy produce anything.
    let build = |index: usize| {
        let previous = targets.previous.get(index).copied().unwrap_or_default();
        let current = targets.current[index];
        (previous.is_busy() || current.is_busy()).then(|| inputs.station_output(index, previous, current))
    };
    let busy = targets.current.iter().filter(|t| t.is_busy()).count();
    let outputs: Vec<StationOutput> = if pool.parallel_for(busy * BUSY_STATION_COST) {
        pool.pool.install(|| (0..layout.stations.len()).into_par_iter().with_min_len(256).filter_map(build).collect())
    } else {
        (0..layout.stations.len()).filter_map(build).collect()
    };
    let outbox = &mut *outbox;
    for out in outputs {
        outbox.summary.stations_tracking += usize::from(out.tracking);
        outbox.summary.stations_prepositioning += usize::from(out.prepositioning);
        outbox.commands.extend(out.commands);
        outbox.rot.extend(out.rot);
        outbox.rig.extend(out.rig);
    }
}

/// Session stop when a station stops tracking an assignment, session start when it
/// begins tracking one (a switch between assignments is a stop then a start).
fn session_commands(
    station: &crate::components::Station,
    previous: Target,
    target: Target,
    now: UnixMs,
    commands: &mut Vec<StationCommand>,
) {
    let tracked = |t: Target| match t {
        Target::Track { assignment, norad_id, .. } => Some((assignment, norad_id)),
        _ => None,
    };
    let (before, after) = (tracked(previous), tracked(target));
    if before.map(|b| b.0) == after.map(|a| a.0) {
        return;
    }
    if let Some((assignment, norad_id)) = before {
        let reason = match (previous, target) {
            _ if station.held => SessionEnd::Held,
            (Target::Track { row: GONE_ROW, .. }, _) => SessionEnd::Removed,
            (_, Target::Track { .. }) => SessionEnd::Preempted,
            _ => SessionEnd::Los,
        };
        commands.push(StationCommand {
            station: station.id,
            org: station.org,
            kind: StationCommandKind::SessionStop { assignment, norad_id, los: now, reason },
        });
    }
    if let Some((assignment, norad_id)) = after {
        commands.push(StationCommand {
            station: station.id,
            org: station.org,
            kind: StationCommandKind::SessionStart { assignment, norad_id, aos: now },
        });
    }
}

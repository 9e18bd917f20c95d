//! Rotator and radio setpoints for every busy station, and the discrete commands
//! (session start/stop, park) on target changes.

use bevy_ecs::prelude::*;
use talos_core::UnixMs;
use talos_orbit::frames::EARTH_ROTATION_RAD_S;
use talos_orbit::{EcefState, downlink_hz, look_angles, uplink_hz};

use crate::layout::Layout;
use crate::outbox::{Outbox, RigSetpoint, RotSetpoint, StationCommand, StationCommandKind, TrajectoryPoint};
use crate::resources::{LeaseEpoch, TickClock, TickConfig};
use crate::systems::policy::{StationTargets, Target};
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
    let acc = [
        g * x + 2.0 * omega * vy + omega * omega * x,
        g * y - 2.0 * omega * vx + omega * omega * y,
        g * z,
    ];
    let mut out = EcefState::default();
    for (k, a) in acc.iter().enumerate() {
        out.pos_km[k] = state.pos_km[k] + state.vel_km_s[k] * dt_s + 0.5 * a * dt_s * dt_s;
        out.vel_km_s[k] = state.vel_km_s[k] + a * dt_s;
    }
    out
}

pub fn build_setpoints(
    clock: Res<TickClock>,
    config: Res<TickConfig>,
    lease: Res<LeaseEpoch>,
    layout: Res<Layout>,
    states: Res<SatelliteStates>,
    targets: Res<StationTargets>,
    mut outbox: ResMut<Outbox>,
) {
    let now = clock.now;
    let seq = now.0.max(0) as u64;
    let valid_until = now.plus_ms(config.setpoint_validity_ms);
    let outbox = &mut *outbox;
    for (index, station_row) in layout.stations.iter().enumerate() {
        let station = &station_row.station;
        let target = targets.current[index];
        let previous = targets.previous.get(index).copied().unwrap_or_default();
        session_commands(station, previous, target, now, outbox);
        match target {
            Target::Idle => {
                if previous.is_busy() {
                    outbox.commands.push(StationCommand {
                        station: station.id,
                        org: station.org,
                        kind: StationCommandKind::Park { az_deg: station.park.az_deg, el_deg: station.park.el_deg },
                    });
                }
            }
            Target::PrePosition { aos_az_deg, el_deg, .. } => {
                outbox.summary.stations_prepositioning += 1;
                outbox.rot.push(RotSetpoint {
                    station: station.id,
                    org: station.org,
                    seq,
                    valid_until,
                    lease_epoch: lease.0,
                    norad_id: None,
                    points: vec![TrajectoryPoint { t: now, az_deg: aos_az_deg, el_deg, range_rate_km_s: 0.0 }],
                });
            }
            Target::Track { row, .. } => {
                let row = &layout.assignments[row as usize];
                let Some(sat) = row.satellite.filter(|&s| states.ok[s as usize]) else { continue };
                outbox.summary.stations_tracking += 1;
                let sat_state = states.ecef[sat as usize];
                let points: Vec<TrajectoryPoint> = (0..config.trajectory_points)
                    .map(|k| {
                        let dt_ms = k as i64 * config.trajectory_step_ms;
                        let look = look_angles(&station.observer, &trajectory_state(&sat_state, dt_ms as f64 / 1000.0));
                        TrajectoryPoint { t: now.plus_ms(dt_ms), az_deg: look.az_deg, el_deg: look.el_deg, range_rate_km_s: look.range_rate_km_s }
                    })
                    .collect();
                if let Some(tx) = &row.transmitter {
                    outbox.rig.push(RigSetpoint {
                        station: station.id,
                        org: station.org,
                        seq,
                        valid_until,
                        lease_epoch: lease.0,
                        norad_id: row.norad_id,
                        mode: tx.mode.clone(),
                        points: points
                            .iter()
                            .map(|p| {
                                (p.t, tx.downlink_hz.map(|f| downlink_hz(f, p.range_rate_km_s)), tx.uplink_hz.map(|f| uplink_hz(f, p.range_rate_km_s)))
                            })
                            .collect(),
                    });
                }
                outbox.rot.push(RotSetpoint {
                    station: station.id,
                    org: station.org,
                    seq,
                    valid_until,
                    lease_epoch: lease.0,
                    norad_id: Some(row.norad_id),
                    points,
                });
            }
        }
    }
}

/// Session stop when a station stops tracking an assignment, session start when it
/// begins tracking one (a switch between assignments is a stop then a start).
fn session_commands(station: &crate::components::Station, previous: Target, target: Target, now: UnixMs, outbox: &mut Outbox) {
    let tracked = |t: Target| match t {
        Target::Track { assignment, norad_id, .. } => Some((assignment, norad_id)),
        _ => None,
    };
    let (before, after) = (tracked(previous), tracked(target));
    if before.map(|b| b.0) == after.map(|a| a.0) {
        return;
    }
    if let Some((assignment, norad_id)) = before {
        outbox.commands.push(StationCommand {
            station: station.id,
            org: station.org,
            kind: StationCommandKind::SessionStop { assignment, norad_id, los: now },
        });
    }
    if let Some((assignment, norad_id)) = after {
        outbox.commands.push(StationCommand {
            station: station.id,
            org: station.org,
            kind: StationCommandKind::SessionStart { assignment, norad_id, aos: now },
        });
    }
}

//! What a tick produces: plain data for the link (MQTT) and the API, no I/O here.

use bevy_ecs::prelude::*;
use serde::Serialize;
use talos_core::{AssignmentId, NoradId, OrgId, StationId, UnixMs};

/// One point of a setpoint's short trajectory.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TrajectoryPoint {
    pub t: UnixMs,
    pub az_deg: f64,
    pub el_deg: f64,
    pub range_rate_km_s: f64,
}

/// Where the rotator should point over the next seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RotSetpoint {
    pub station: StationId,
    pub org: OrgId,
    /// Monotonic per station: the tick's time in ms, so it also grows across director restarts.
    pub seq: u64,
    pub valid_until: UnixMs,
    pub lease_epoch: u64,
    /// `None` while pre-positioning for a pass that has not started.
    pub norad_id: Option<NoradId>,
    pub points: Vec<TrajectoryPoint>,
}

/// What the radio should be tuned to, Doppler-corrected, over the next seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RigSetpoint {
    pub station: StationId,
    pub org: OrgId,
    pub seq: u64,
    pub valid_until: UnixMs,
    pub lease_epoch: u64,
    pub norad_id: NoradId,
    pub mode: String,
    /// (time, corrected downlink Hz, corrected uplink Hz) per trajectory point.
    pub points: Vec<(UnixMs, Option<f64>, Option<f64>)>,
}

/// Discrete commands, sent reliably (QoS 1) by the link.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StationCommand {
    pub station: StationId,
    pub org: OrgId,
    pub kind: StationCommandKind,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StationCommandKind {
    SessionStart { assignment: AssignmentId, norad_id: NoradId, aos: UnixMs },
    SessionStop { assignment: AssignmentId, norad_id: NoradId, los: UnixMs, reason: SessionEnd },
    Park { az_deg: f64, el_deg: f64 },
}

/// Why a tracking session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionEnd {
    /// The satellite set (or the campaign window closed): the pass is complete.
    Los,
    /// The policy switched the station to another assignment.
    Preempted,
    /// An operator held the station parked.
    Held,
    /// The assignment, campaign or satellite was removed.
    Removed,
}

/// The satellite rose above an assignment's effective threshold.
#[derive(Message, Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AosReached {
    pub assignment: AssignmentId,
    pub station: StationId,
    pub org: OrgId,
    pub norad_id: NoradId,
    pub t: UnixMs,
    pub az_deg: f64,
    /// The pass was already in progress when the director first saw this assignment
    /// (director start, new assignment): `t` is first sight, not the rise.
    pub in_progress: bool,
}

/// The satellite set below an assignment's effective threshold (or its campaign window closed).
#[derive(Message, Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LosReached {
    pub assignment: AssignmentId,
    pub station: StationId,
    pub org: OrgId,
    pub norad_id: NoradId,
    pub t: UnixMs,
    pub az_deg: f64,
}

/// AOS/LOS as one stream for the API's live view.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TrackingEvent {
    Aos(AosReached),
    Los(LosReached),
}

/// One line per tick: what the heartbeat and the live stream report.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct TickSummary {
    pub tick: u64,
    pub t: UnixMs,
    pub stations: usize,
    pub satellites_propagated: usize,
    pub satellites_failed: usize,
    pub assignments: usize,
    pub assignments_visible: usize,
    pub stations_tracking: usize,
    pub stations_prepositioning: usize,
    /// True rises this tick.
    pub aos_events: usize,
    /// Assignments first seen already above their threshold (director start, new assignment).
    pub aos_first_sight: usize,
    pub los_events: usize,
}

/// Everything one tick produced. Cleared at the start of each tick.
#[derive(Resource, Debug, Default)]
pub struct Outbox {
    pub rot: Vec<RotSetpoint>,
    pub rig: Vec<RigSetpoint>,
    pub commands: Vec<StationCommand>,
    pub events: Vec<TrackingEvent>,
    /// Satellites whose SGP4 failed this tick, with the reason (each fails alone).
    pub propagation_failures: Vec<(NoradId, String)>,
    pub summary: TickSummary,
}

//! The payload types, one per `schema`. Field names carry their units (`az_deg`, `t_ms`,
//! `frequency_hz`); times are integer milliseconds since the Unix epoch (UTC).
//!
//! Every struct denies unknown fields: a typo or a field from a newer schema is rejected,
//! never silently dropped. Optional fields are left out of the encoding when absent and
//! read back from either an absent key or `null`. The ranges each value must lie in are
//! checked by [`crate::validate()`], not here.

use serde::{Deserialize, Serialize};
use talos_core::{AssignmentId, NoradId, UnixMs};

/// Most points a setpoint trajectory may carry (8 s at the director's 500 ms tick).
pub const MAX_POINTS: usize = 16;

/// Largest integer on the wire (2^53 - 1), so agents whose JSON numbers are doubles
/// (JavaScript, many embedded parsers) read every id, seq and time exactly.
pub const MAX_WIRE_INT: u64 = (1 << 53) - 1;

/// Most bytes a rig-driver payload may carry (before base64).
pub const MAX_DRIVER_BYTES: usize = 4096;

/// Dead-man default: no valid setpoint for this long and the agent stops the rotator.
pub const DEFAULT_DEAD_MAN_MS: u64 = 3_000;

/// Heartbeat-loss default: no director heartbeat for this long and the agent parks.
pub const DEFAULT_HEARTBEAT_TIMEOUT_MS: u64 = 10_000;

/// An azimuth/elevation pair (degrees, topocentric, azimuth clockwise from true north).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pointing {
    pub az_deg: f64,
    pub el_deg: f64,
}

/// One time-tagged point of a rotator trajectory.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotPoint {
    pub t_ms: UnixMs,
    pub az_deg: f64,
    pub el_deg: f64,
}

/// `talos.rot.v1` on `cmd/rot`: where the rotator should point over the next seconds.
/// The agent interpolates between points and drops the setpoint once `valid_until_ms` passes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotSetpoint {
    /// Per station and lease epoch, strictly increasing (the director uses its tick time in ms).
    pub seq: u64,
    pub valid_until_ms: UnixMs,
    /// The director lease this setpoint was issued under; an agent obeys only the newest.
    pub lease_epoch: u64,
    /// Absent while pre-positioning for a pass that has not started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub norad_id: Option<NoradId>,
    /// 1..=16 points, `t_ms` strictly increasing.
    pub points: Vec<RotPoint>,
}

/// One time-tagged point of a radio trajectory: Doppler-corrected frequencies.
/// At least one of the two frequencies is present.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RigPoint {
    pub t_ms: UnixMs,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downlink_hz: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uplink_hz: Option<f64>,
}

/// Opaque bytes from a rig-driver plugin, for radios the agent drives over a serial line
/// instead of through `rigctld`. The agent writes `bytes` verbatim to the radio when it
/// applies the setpoint, and only if `plugin` is the driver its configuration names.
/// On the wire the bytes are standard base64 with padding (RFC 4648 §4) in `bytes_b64`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriverPayload {
    /// The rig-driver plugin that produced the bytes (e.g. `icom-ic9700@0.1.0`).
    pub plugin: String,
    /// At most [`MAX_DRIVER_BYTES`].
    #[serde(rename = "bytes_b64", with = "base64_bytes")]
    pub bytes: Vec<u8>,
}

/// `talos.rig.v1` on `cmd/rig`: what the radio should be tuned to over the next seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RigSetpoint {
    pub seq: u64,
    pub valid_until_ms: UnixMs,
    pub lease_epoch: u64,
    pub norad_id: NoradId,
    /// A Hamlib mode name, upper case (`FM`, `USB`, `PKTFM`, `CW`, ...).
    pub mode: String,
    /// 1..=16 points, `t_ms` strictly increasing.
    pub points: Vec<RigPoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<DriverPayload>,
}

/// `talos.session.v1` on `cmd/session`: a tracking session starts or stops.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SessionWire", into = "SessionWire")]
pub struct SessionCommand {
    /// Echoed in logs and state so a command can be traced end to end; a QoS 1 duplicate
    /// carries the same id.
    pub correlation_id: String,
    pub lease_epoch: u64,
    pub assignment_id: AssignmentId,
    pub norad_id: NoradId,
    pub action: SessionAction,
}

/// What a session command does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SessionAction {
    /// The pass rises at `aos_ms` (the agent pre-positions before it); `los_ms` is the
    /// predicted set, when known.
    Start { aos_ms: UnixMs, los_ms: Option<UnixMs> },
    /// The session ended at `los_ms` (set, window closed, or preempted).
    Stop { los_ms: UnixMs },
}

/// `talos.park.v1` on `cmd/session`: park the rotator, or stop it where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ParkWire", into = "ParkWire")]
pub struct ParkCommand {
    pub correlation_id: String,
    pub lease_epoch: u64,
    pub action: ParkAction,
}

/// What a park command does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParkAction {
    /// Move to this position and hold it.
    Park { az_deg: f64, el_deg: f64 },
    /// Stop all motion now (Hamlib `S`).
    Stop,
}

/// The rotator's mechanical limits, in the rotator's own azimuth range (which may
/// overlap north, e.g. -180..=540).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotatorLimits {
    pub az_min_deg: f64,
    pub az_max_deg: f64,
    pub el_min_deg: f64,
    pub el_max_deg: f64,
}

/// Slew rates of the rotator (what the director plans with and a simulator models).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlewRates {
    pub az_deg_s: f64,
    pub el_deg_s: f64,
}

/// `talos.config.v1` on `cmd/config`, retained: the station's safety configuration.
/// The agent applies a config whose `version` is newer than the one it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationConfig {
    pub version: u64,
    pub limits: RotatorLimits,
    /// Inside `limits`.
    pub park: Pointing,
    pub slew: SlewRates,
    /// No valid setpoint for this long: stop. Defaults to 3000 when absent.
    #[serde(default = "default_dead_man_ms")]
    pub dead_man_ms: u64,
    /// No director heartbeat for this long: park. Defaults to 10000 when absent.
    #[serde(default = "default_heartbeat_timeout_ms")]
    pub heartbeat_timeout_ms: u64,
}

fn default_dead_man_ms() -> u64 {
    DEFAULT_DEAD_MAN_MS
}

fn default_heartbeat_timeout_ms() -> u64 {
    DEFAULT_HEARTBEAT_TIMEOUT_MS
}

impl StationConfig {
    /// A config with the default dead-man (3 s) and heartbeat timeout (10 s).
    pub fn new(version: u64, limits: RotatorLimits, park: Pointing, slew: SlewRates) -> Self {
        Self {
            version,
            limits,
            park,
            slew,
            dead_man_ms: DEFAULT_DEAD_MAN_MS,
            heartbeat_timeout_ms: DEFAULT_HEARTBEAT_TIMEOUT_MS,
        }
    }
}

/// An agent's state as its status reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    Online,
    /// Disconnected: the Last Will, or a clean shutdown after parking.
    Offline,
    /// Connected but unable to do its job (rotctld unreachable, rotator stuck, ...).
    Fault,
}

/// `talos.status.v1` on `state/status`, retained; also the agent's Last Will.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusReport {
    pub state: AgentState,
    /// The agent's version (e.g. `0.1.0`).
    pub agent_version: String,
    /// Why the agent is offline or faulty, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The `talos.config.v1` version the agent runs, once it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_version: Option<u64>,
    /// How many commands the agent has refused since it started, by reason, so an operator
    /// sees a misbehaving director or a hostile publisher without reading the agent's logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejects: Option<RejectTally>,
}

/// Messages refused by reason (the names of [`crate::RejectReason`]), as an agent reports
/// them in its status. A count left out is 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RejectTally {
    pub bad_topic: u64,
    pub oversize: u64,
    pub malformed: u64,
    pub unknown_schema: u64,
    pub wrong_topic: u64,
    pub out_of_range: u64,
    pub stale: u64,
    pub out_of_order: u64,
    pub old_epoch: u64,
}

/// The reason the Last Will gives.
pub const LAST_WILL_REASON: &str = "connection lost";

impl StatusReport {
    pub fn online(agent_version: &str, config_version: Option<u64>) -> Self {
        Self {
            state: AgentState::Online,
            agent_version: agent_version.to_owned(),
            reason: None,
            config_version,
            rejects: None,
        }
    }

    pub fn fault(agent_version: &str, reason: &str, config_version: Option<u64>) -> Self {
        Self {
            state: AgentState::Fault,
            agent_version: agent_version.to_owned(),
            reason: Some(reason.to_owned()),
            config_version,
            rejects: None,
        }
    }

    /// The Last Will the agent registers when it connects: `offline`, "connection lost".
    /// The broker publishes it (retained) if the agent vanishes without disconnecting.
    pub fn last_will(agent_version: &str) -> Self {
        Self {
            state: AgentState::Offline,
            agent_version: agent_version.to_owned(),
            reason: Some(LAST_WILL_REASON.to_owned()),
            config_version: None,
            rejects: None,
        }
    }

    /// The same report carrying the agent's reject counters.
    pub fn with_rejects(mut self, counters: &crate::RejectCounters) -> Self {
        self.rejects = Some(RejectTally::from(counters));
        self
    }
}

/// `talos.rotstate.v1` on `state/rot`: rotator telemetry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotState {
    /// When the position was read back (agent clock).
    pub t_ms: UnixMs,
    /// Read back from the rotator; absent when it cannot be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported: Option<Pointing>,
    /// What the agent last commanded (after interpolation and limits); absent when idle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commanded: Option<Pointing>,
    /// Commanded and reported positions have drifted apart beyond what the slew allows.
    pub stuck: bool,
    /// `seq` of the setpoint being applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_seq: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

/// `talos.rigstate.v1` on `state/rig`: radio telemetry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RigState {
    pub t_ms: UnixMs,
    /// The frequency read back from the radio (`f`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_hz: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commanded_downlink_hz: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commanded_uplink_hz: Option<f64>,
    /// The mode read back from the radio (`m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_seq: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

/// `talos.heartbeat.v1` on `talos/v1/director/heartbeat`: published every tick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// Which director process (a shard runs one).
    pub director_id: String,
    pub lease_epoch: u64,
    /// The tick's time.
    pub t_ms: UnixMs,
    /// The tick counter.
    pub tick: u64,
}

/// The flat wire form of [`SessionCommand`]: `action` selects which times are present.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionWire {
    correlation_id: String,
    lease_epoch: u64,
    action: SessionActionName,
    assignment_id: AssignmentId,
    norad_id: NoradId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aos_ms: Option<UnixMs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    los_ms: Option<UnixMs>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SessionActionName {
    Start,
    Stop,
}

impl TryFrom<SessionWire> for SessionCommand {
    type Error = &'static str;
    fn try_from(w: SessionWire) -> Result<Self, Self::Error> {
        let action = match (w.action, w.aos_ms, w.los_ms) {
            (SessionActionName::Start, Some(aos_ms), los_ms) => SessionAction::Start { aos_ms, los_ms },
            (SessionActionName::Start, None, _) => return Err("action start needs aos_ms"),
            (SessionActionName::Stop, None, Some(los_ms)) => SessionAction::Stop { los_ms },
            (SessionActionName::Stop, Some(_), _) => return Err("action stop takes no aos_ms"),
            (SessionActionName::Stop, None, None) => return Err("action stop needs los_ms"),
        };
        Ok(Self {
            correlation_id: w.correlation_id,
            lease_epoch: w.lease_epoch,
            assignment_id: w.assignment_id,
            norad_id: w.norad_id,
            action,
        })
    }
}

impl From<SessionCommand> for SessionWire {
    fn from(c: SessionCommand) -> Self {
        let (action, aos_ms, los_ms) = match c.action {
            SessionAction::Start { aos_ms, los_ms } => (SessionActionName::Start, Some(aos_ms), los_ms),
            SessionAction::Stop { los_ms } => (SessionActionName::Stop, None, Some(los_ms)),
        };
        Self {
            correlation_id: c.correlation_id,
            lease_epoch: c.lease_epoch,
            action,
            assignment_id: c.assignment_id,
            norad_id: c.norad_id,
            aos_ms,
            los_ms,
        }
    }
}

/// The flat wire form of [`ParkCommand`]: `az_deg`/`el_deg` only with `action: park`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParkWire {
    correlation_id: String,
    lease_epoch: u64,
    action: ParkActionName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    az_deg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    el_deg: Option<f64>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ParkActionName {
    Park,
    Stop,
}

impl TryFrom<ParkWire> for ParkCommand {
    type Error = &'static str;
    fn try_from(w: ParkWire) -> Result<Self, Self::Error> {
        let action = match (w.action, w.az_deg, w.el_deg) {
            (ParkActionName::Park, Some(az_deg), Some(el_deg)) => ParkAction::Park { az_deg, el_deg },
            (ParkActionName::Park, _, _) => return Err("action park needs az_deg and el_deg"),
            (ParkActionName::Stop, None, None) => ParkAction::Stop,
            (ParkActionName::Stop, _, _) => return Err("action stop takes no az_deg or el_deg"),
        };
        Ok(Self { correlation_id: w.correlation_id, lease_epoch: w.lease_epoch, action })
    }
}

impl From<ParkCommand> for ParkWire {
    fn from(c: ParkCommand) -> Self {
        let (action, az_deg, el_deg) = match c.action {
            ParkAction::Park { az_deg, el_deg } => (ParkActionName::Park, Some(az_deg), Some(el_deg)),
            ParkAction::Stop => (ParkActionName::Stop, None, None),
        };
        Self { correlation_id: c.correlation_id, lease_epoch: c.lease_epoch, action, az_deg, el_deg }
    }
}

/// Standard base64 with padding, strict: non-canonical trailing bits are rejected, so a
/// payload has exactly one encoding.
mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD.decode(text.as_bytes()).map_err(|e| serde::de::Error::custom(format_args!("bytes_b64: {e}")))
    }
}

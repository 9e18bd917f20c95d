//! The agent's decisions, sans-IO: a state machine whose inputs are received MQTT payloads,
//! read-backs from the rotator and the radio, and the time, and whose outputs are Hamlib
//! commands and telemetry. No sockets, no clock, no sleeping: the shell in [`crate::run`]
//! feeds it, and the tests drive it with virtual time.
//!
//! What it decides, each control tick, in this order of precedence:
//! 1. shutting down: park at the configured position;
//! 2. no director heartbeat for `heartbeat_timeout_ms` (counted from start if none ever came):
//!    park — a station without a director must not stay pointed wherever it was;
//! 3. a park, stop or session-stop command: park there / stop / park, until a session start
//!    or a setpoint newer than the command releases it;
//! 4. a valid rotator setpoint: follow its trajectory, interpolated at now, clamped to the
//!    limits, sent only when it moved more than the deadband from the last command;
//! 5. no setpoint applied for `dead_man_ms`: stop (`S`) once, and stay stopped.
//!
//! Setpoints reach the state only through talos-link's [`decode`] and [`SetpointGate`]
//! (newest `seq` of the newest `lease_epoch`, `valid_until_ms` ahead); every refusal is
//! counted by reason and reported in the status.
//!
//! Two clocks: `Time::unix` (wall clock) is compared with the director's times
//! (`valid_until_ms`, trajectory points); the safety timers (dead-man, heartbeat, stuck)
//! run on `Time::mono_ms`, so a wall-clock step (NTP at boot) can neither delay nor skip them.

use talos_core::{OrgId, StationId, UnixMs};
use talos_link::{
    AgentState, Message, ParkAction, Pointing, Reject, RejectCounters, RejectReason, RigSetpoint, RigState,
    RotSetpoint, RotState, RotatorLimits, SessionAction, StationConfig, StatusReport, Topic, decode_on,
};

use crate::config::AgentConfig;
use crate::trajectory;

/// A rotator that has not moved this far (deg, either axis) is not making progress.
pub const STUCK_PROGRESS_DEG: f64 = 1.0;

/// Longest free text on the wire (`fault`, `reason`).
const MAX_TEXT_BYTES: usize = 256;

/// The time as the controller sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time {
    /// Wall clock, compared with the director's times.
    pub unix: UnixMs,
    /// A monotonic millisecond count (any origin) for the safety timers.
    pub mono_ms: u64,
}

impl Time {
    /// `ms` later on both clocks.
    pub fn plus_ms(self, ms: u64) -> Self {
        Self { unix: self.unix.plus_ms(ms as i64), mono_ms: self.mono_ms + ms }
    }
}

/// What the controller enforces: the local configuration, tightened by the director's.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub limits: RotatorLimits,
    pub park: Pointing,
    pub deadband_deg: f64,
    pub park_tolerance_deg: f64,
    pub stuck_threshold_deg: f64,
    pub stuck_time_ms: u64,
    pub dead_man_ms: u64,
    pub heartbeat_timeout_ms: u64,
    /// `None` when the agent drives no radio.
    pub rig: Option<RigSettings>,
}

/// How the radio is driven.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RigSettings {
    pub deadband_hz: f64,
    /// Send the uplink as the split transmit frequency (`I`).
    pub split_uplink: bool,
}

impl Settings {
    pub fn from_config(c: &AgentConfig) -> Self {
        Self {
            limits: c.rotator.limits,
            park: c.rotator.park,
            deadband_deg: c.rotator.deadband_deg,
            park_tolerance_deg: c.rotator.park_tolerance_deg,
            stuck_threshold_deg: c.rotator.stuck_threshold_deg,
            stuck_time_ms: c.rotator.stuck_time_ms,
            dead_man_ms: c.safety.dead_man_ms,
            heartbeat_timeout_ms: c.safety.heartbeat_timeout_ms,
            rig: c.rig.as_ref().map(|r| RigSettings { deadband_hz: r.deadband_hz, split_uplink: r.split_uplink }),
        }
    }

    /// The local settings tightened by the director's `talos.config.v1`: limits intersected
    /// (never widened), timers shortened (never lengthened), the director's park position if
    /// it lies inside the result. An error says why the config cannot be applied.
    pub fn tightened_by(&self, c: &StationConfig) -> Result<Settings, String> {
        let l = RotatorLimits {
            az_min_deg: self.limits.az_min_deg.max(c.limits.az_min_deg),
            az_max_deg: self.limits.az_max_deg.min(c.limits.az_max_deg),
            el_min_deg: self.limits.el_min_deg.max(c.limits.el_min_deg),
            el_max_deg: self.limits.el_max_deg.min(c.limits.el_max_deg),
        };
        if l.az_max_deg <= l.az_min_deg || l.el_max_deg <= l.el_min_deg {
            return Err(format!(
                "its limits (az {}..{}, el {}..{}) do not overlap the local limits (az {}..{}, el {}..{})",
                c.limits.az_min_deg,
                c.limits.az_max_deg,
                c.limits.el_min_deg,
                c.limits.el_max_deg,
                self.limits.az_min_deg,
                self.limits.az_max_deg,
                self.limits.el_min_deg,
                self.limits.el_max_deg
            ));
        }
        let park = if clamp(c.park, &l).1 { clamp(self.park, &l).0 } else { c.park };
        Ok(Settings {
            limits: l,
            park,
            dead_man_ms: self.dead_man_ms.min(c.dead_man_ms),
            heartbeat_timeout_ms: self.heartbeat_timeout_ms.min(c.heartbeat_timeout_ms),
            ..self.clone()
        })
    }
}

/// A command for `rotctld`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RotCommand {
    /// `P az el`, already inside the limits.
    Point(Pointing),
    /// `S`.
    Stop,
}

/// A command for `rigctld`.
#[derive(Debug, Clone, PartialEq)]
pub enum RigCommand {
    /// `M mode 0`.
    Mode(String),
    /// `F hz` (receive / main VFO).
    Frequency(f64),
    /// `I hz` (split transmit).
    SplitFrequency(f64),
}

/// What one tick asks of the hardware.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Commands {
    pub rot: Option<RotCommand>,
    /// In order: mode first, then frequencies.
    pub rig: Vec<RigCommand>,
}

/// Why the rotator is being parked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParkReason {
    Shutdown,
    HeartbeatLost,
    Commanded,
    SessionEnded,
}

/// Why the rotator was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    DeadMan,
    Commanded,
}

/// What the rotator is doing, as last decided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activity {
    /// Nothing to do yet (or after a park the director has not followed up).
    Idle,
    /// Following a setpoint.
    Tracking,
    /// The setpoint expired; waiting for the next one, or for the dead-man.
    Holding,
    Stopped(StopReason),
    Parking(ParkReason, Pointing),
}

/// A park, stop or session stop that holds until released.
#[derive(Debug, Clone, PartialEq)]
struct Latch {
    hold: Hold,
    /// When it was received (wall clock): only a setpoint whose trajectory starts at or
    /// after this instant was sent after it and releases it.
    since: UnixMs,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Hold {
    Park(Pointing),
    Stop,
    SessionEnded,
}

#[derive(Debug, Clone, PartialEq)]
struct Active<T> {
    setpoint: T,
    received_mono_ms: u64,
}

/// "Not moving" detection: drift above the threshold while the rotator stays put.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct StuckWatch {
    /// Since when, and from where, the rotator has not moved by [`STUCK_PROGRESS_DEG`].
    anchor: Option<(u64, Pointing)>,
    stuck: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct RotChannel {
    activity: Option<Activity>,
    /// Last position command sent and not known to be lost.
    last_sent: Option<Pointing>,
    stop_sent: bool,
    /// What the rotator is meant to be at (telemetry).
    commanded: Option<Pointing>,
    /// Last read-back, with its time.
    reported: Option<(UnixMs, Pointing)>,
    link_fault: Option<String>,
    refusal: Option<String>,
    clamp_notice: Option<String>,
    stuck: StuckWatch,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct RigChannel {
    last_mode: Option<String>,
    last_downlink_hz: Option<f64>,
    last_uplink_hz: Option<f64>,
    applied_seq: Option<u64>,
    reported: Option<(UnixMs, Option<f64>, Option<String>)>,
    link_fault: Option<String>,
    refusal: Option<String>,
}

/// The station agent's state machine. See the module documentation.
#[derive(Debug, Clone)]
pub struct Controller {
    org: OrgId,
    station: StationId,
    agent_version: String,
    local: Settings,
    settings: Settings,
    config_version: Option<u64>,
    config_fault: Option<String>,
    gate: talos_link::SetpointGate,
    rejects: RejectCounters,
    started_mono_ms: u64,
    last_heartbeat_mono_ms: Option<u64>,
    last_correlation_id: Option<String>,
    rot_setpoint: Option<Active<RotSetpoint>>,
    rig_setpoint: Option<Active<RigSetpoint>>,
    dead_man_fired: bool,
    latch: Option<Latch>,
    shutting_down: bool,
    rot: RotChannel,
    rig: RigChannel,
}

impl Controller {
    pub fn new(org: OrgId, station: StationId, settings: Settings, agent_version: &str, start: Time) -> Self {
        Self {
            org,
            station,
            agent_version: agent_version.to_owned(),
            local: settings.clone(),
            settings,
            config_version: None,
            config_fault: None,
            gate: talos_link::SetpointGate::new(),
            rejects: RejectCounters::new(),
            started_mono_ms: start.mono_ms,
            last_heartbeat_mono_ms: None,
            last_correlation_id: None,
            rot_setpoint: None,
            rig_setpoint: None,
            dead_man_fired: false,
            latch: None,
            shutting_down: false,
            rot: RotChannel::default(),
            rig: RigChannel::default(),
        }
    }

    /// The settings in force (local, tightened by the director's config).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn rejects(&self) -> &RejectCounters {
        &self.rejects
    }

    pub fn config_version(&self) -> Option<u64> {
        self.config_version
    }

    /// What the rotator was last decided to do (`Idle` before the first tick).
    pub fn activity(&self) -> Activity {
        self.rot.activity.unwrap_or(Activity::Idle)
    }

    pub fn is_stuck(&self) -> bool {
        self.rot.stuck.stuck
    }

    /// Where the rotator is meant to point as of the last tick (the trajectory's target,
    /// clamped to the limits, or the park position); `None` when idle or stopped.
    pub fn commanded(&self) -> Option<Pointing> {
        self.rot.commanded
    }

    // ---- inputs: messages ----

    /// One MQTT message as received. Decodes and gates it with talos-link, then applies it.
    /// A refusal is counted (and returned for the caller's log); it changes nothing else.
    pub fn receive(&mut self, topic: &str, payload: &[u8], t: Time) -> Result<(), Reject> {
        match self.admit(topic, payload, t) {
            Ok(message) => {
                self.apply(message, t);
                Ok(())
            }
            Err(reject) => {
                let reason = self.rejects.record(&reject);
                let count = self.rejects.get(reason);
                // A flood must not flood the log: the first few of each reason, then every 1000th.
                if count <= 10 || count.is_multiple_of(1000) {
                    tracing::warn!(reason = reason.as_str(), count, topic = %echo(topic), "rejected: {reject}");
                } else {
                    tracing::debug!(reason = reason.as_str(), count, "rejected: {reject}");
                }
                Err(reject)
            }
        }
    }

    fn admit(&mut self, topic: &str, payload: &[u8], t: Time) -> Result<Message, Reject> {
        let parsed = Topic::parse(topic).map_err(|error| Reject::BadTopic { topic: echo(topic).to_owned(), error })?;
        let message = decode_on(&parsed, payload)?;
        let ours = match parsed {
            Topic::Cmd { org, station, .. } => (org, station) == (self.org, self.station),
            Topic::Heartbeat => true,
            Topic::State { .. } => false,
        };
        if !ours {
            // A broker that delivers another station's commands (or anyone's telemetry) to
            // this agent is misconfigured; nothing of it is for this station.
            return Err(Reject::WrongTopic { schema: message.schema(), topic: parsed.to_string() });
        }
        self.gate.admit(&message, t.unix)?;
        Ok(message)
    }

    fn apply(&mut self, message: Message, t: Time) {
        match message {
            Message::Rot(setpoint) => {
                let first_t = setpoint.points.first().map(|p| p.t_ms);
                if let Some(latch) = &self.latch
                    && first_t.is_some_and(|first| first >= latch.since)
                {
                    tracing::info!(seq = setpoint.seq, "a new trajectory releases the {:?}", latch.hold);
                    self.latch = None;
                }
                self.dead_man_fired = false;
                self.rot_setpoint = Some(Active { setpoint, received_mono_ms: t.mono_ms });
            }
            Message::Rig(setpoint) => {
                self.rig_setpoint = Some(Active { setpoint, received_mono_ms: t.mono_ms });
            }
            Message::Heartbeat(_) => {
                if self.heartbeat_lost(t) {
                    tracing::info!("director heartbeat back");
                }
                self.last_heartbeat_mono_ms = Some(t.mono_ms);
            }
            Message::Session(cmd) => {
                if self.duplicate(&cmd.correlation_id) {
                    return;
                }
                match cmd.action {
                    SessionAction::Start { aos_ms, .. } => {
                        tracing::info!(correlation_id = %cmd.correlation_id, norad_id = %cmd.norad_id,
                            assignment_id = cmd.assignment_id.0, aos = %aos_ms, "session start");
                        self.latch = None;
                    }
                    SessionAction::Stop { los_ms } => {
                        tracing::info!(correlation_id = %cmd.correlation_id, norad_id = %cmd.norad_id,
                            los = %los_ms, "session stop: parking");
                        self.latch = Some(Latch { hold: Hold::SessionEnded, since: t.unix });
                    }
                }
            }
            Message::Park(cmd) => {
                if self.duplicate(&cmd.correlation_id) {
                    return;
                }
                let hold = match cmd.action {
                    ParkAction::Park { az_deg, el_deg } => Hold::Park(Pointing { az_deg, el_deg }),
                    ParkAction::Stop => Hold::Stop,
                };
                tracing::info!(correlation_id = %cmd.correlation_id, "{hold:?} commanded");
                self.latch = Some(Latch { hold, since: t.unix });
            }
            Message::Config(config) => self.apply_config(&config),
            // `admit` lets only this station's commands and the heartbeat through.
            Message::Status(_) | Message::RotState(_) | Message::RigState(_) => {}
        }
    }

    /// A QoS 1 command delivered twice carries the same correlation id; act on it once.
    fn duplicate(&mut self, correlation_id: &str) -> bool {
        if self.last_correlation_id.as_deref() == Some(correlation_id) {
            tracing::debug!(correlation_id, "duplicate command ignored");
            return true;
        }
        self.last_correlation_id = Some(correlation_id.to_owned());
        false
    }

    fn apply_config(&mut self, config: &StationConfig) {
        if self.config_version.is_some_and(|v| config.version <= v) {
            return;
        }
        match self.local.tightened_by(config) {
            Ok(settings) => {
                tracing::info!(version = config.version, limits = ?settings.limits, park = ?settings.park,
                    dead_man_ms = settings.dead_man_ms, heartbeat_timeout_ms = settings.heartbeat_timeout_ms,
                    "station config applied");
                self.settings = settings;
                self.config_version = Some(config.version);
                self.config_fault = None;
            }
            Err(problem) => {
                let fault = format!("director config v{} refused: {problem}", config.version);
                tracing::error!("{fault}");
                self.config_fault = Some(fault);
            }
        }
    }

    /// SIGTERM or SIGINT: park and stay parked whatever arrives.
    pub fn begin_shutdown(&mut self) {
        self.shutting_down = true;
    }

    // ---- inputs: read-backs ----

    /// `p` answered.
    pub fn on_rot_position(&mut self, t: Time, reported: Pointing) {
        if let Some(fault) = self.rot.link_fault.take() {
            tracing::info!("rotctld back after: {fault}");
        }
        self.rot.reported = Some((t.unix, reported));
        let (threshold, time_ms) = (self.settings.stuck_threshold_deg, self.settings.stuck_time_ms);
        let watch = &mut self.rot.stuck;
        let Some(commanded) = self.rot.last_sent else {
            *watch = StuckWatch::default();
            return;
        };
        if drift_deg(commanded, reported) <= threshold {
            *watch = StuckWatch::default();
            return;
        }
        match watch.anchor {
            Some((_, at)) if drift_deg(at, reported) >= STUCK_PROGRESS_DEG => {
                // Moving, however slowly: not stuck.
                *watch = StuckWatch { anchor: Some((t.mono_ms, reported)), stuck: false };
            }
            Some((since, _)) => {
                if !watch.stuck && t.mono_ms.saturating_sub(since) >= time_ms {
                    tracing::error!(?commanded, ?reported, "rotator stuck: not moving towards the commanded position");
                    watch.stuck = true;
                }
            }
            None => watch.anchor = Some((t.mono_ms, reported)),
        }
    }

    /// The connection to rotctld is down (or a command was lost with it): what was sent may
    /// not have arrived, so everything is sent again once it is back.
    pub fn on_rot_link_down(&mut self, reason: &str) {
        if self.rot.link_fault.is_none() {
            tracing::error!("rotator unreachable: {reason}");
        }
        self.rot.link_fault = Some(text(reason));
        self.rot.reported = None;
        self.rot.last_sent = None;
        self.rot.stop_sent = false;
        self.rot.stuck = StuckWatch::default();
    }

    /// rotctld answered `RPRT -n` to a command. It is not sent again until the target moves
    /// beyond the deadband (a refused position would otherwise be retried at 10 Hz).
    pub fn on_rot_refused(&mut self, reason: &str) {
        tracing::warn!("{reason}");
        self.rot.refusal = Some(text(reason));
    }

    /// A rotator command was acknowledged with `RPRT 0`.
    pub fn on_rot_done(&mut self) {
        self.rot.refusal = None;
    }

    /// `f` and `m` answered (either may have failed on its own).
    pub fn on_rig_readback(&mut self, t: Time, frequency_hz: Option<f64>, mode: Option<String>) {
        if let Some(fault) = self.rig.link_fault.take() {
            tracing::info!("rigctld back after: {fault}");
        }
        self.rig.reported = Some((t.unix, frequency_hz, mode));
    }

    pub fn on_rig_link_down(&mut self, reason: &str) {
        if self.rig.link_fault.is_none() {
            tracing::error!("radio unreachable: {reason}");
        }
        self.rig.link_fault = Some(text(reason));
        self.rig.reported = None;
        self.rig.last_mode = None;
        self.rig.last_downlink_hz = None;
        self.rig.last_uplink_hz = None;
    }

    pub fn on_rig_refused(&mut self, reason: &str) {
        tracing::warn!("{reason}");
        self.rig.refusal = Some(text(reason));
    }

    pub fn on_rig_done(&mut self) {
        self.rig.refusal = None;
    }

    // ---- the tick ----

    fn heartbeat_lost(&self, t: Time) -> bool {
        let since = self.last_heartbeat_mono_ms.unwrap_or(self.started_mono_ms);
        t.mono_ms.saturating_sub(since) >= self.settings.heartbeat_timeout_ms
    }

    fn decide(&mut self, t: Time) -> Activity {
        if self.shutting_down {
            return Activity::Parking(ParkReason::Shutdown, self.settings.park);
        }
        if self.heartbeat_lost(t) {
            // After the park, a returning director must send a setpoint to move it again.
            self.dead_man_fired = false;
            return Activity::Parking(ParkReason::HeartbeatLost, self.settings.park);
        }
        if let Some(latch) = &self.latch {
            return match latch.hold {
                Hold::Park(at) => Activity::Parking(ParkReason::Commanded, at),
                Hold::Stop => Activity::Stopped(StopReason::Commanded),
                Hold::SessionEnded => Activity::Parking(ParkReason::SessionEnded, self.settings.park),
            };
        }
        match &self.rot_setpoint {
            Some(a) if t.mono_ms.saturating_sub(a.received_mono_ms) >= self.settings.dead_man_ms => {
                self.rot_setpoint = None;
                self.dead_man_fired = true;
                Activity::Stopped(StopReason::DeadMan)
            }
            Some(a) if t.unix < a.setpoint.valid_until_ms => Activity::Tracking,
            Some(_) => Activity::Holding,
            None if self.dead_man_fired => Activity::Stopped(StopReason::DeadMan),
            None => Activity::Idle,
        }
    }

    /// One control tick at `t`: decides, and returns what to send. Call after feeding the
    /// tick's read-backs; report each command's outcome with `on_*_done`, `on_*_refused` or
    /// `on_*_link_down`.
    pub fn tick(&mut self, t: Time) -> Commands {
        let activity = self.decide(t);
        if self.rot.activity != Some(activity) {
            log_transition(self.rot.activity, activity);
            self.rot.activity = Some(activity);
        }
        if !matches!(activity, Activity::Stopped(_)) {
            self.rot.stop_sent = false;
        }
        if !matches!(activity, Activity::Tracking) {
            self.rot.clamp_notice = None;
        }
        let rot = match activity {
            Activity::Tracking => self.track(t),
            Activity::Parking(_, at) => {
                let (target, _) = clamp(at, &self.settings.limits);
                self.rot.commanded = Some(target);
                self.point(target, 0.0)
            }
            Activity::Stopped(_) => {
                self.rot.commanded = None;
                self.rot.last_sent = None;
                if self.rot.stop_sent || self.rot.link_fault.is_some() {
                    None
                } else {
                    self.rot.stop_sent = true;
                    Some(RotCommand::Stop)
                }
            }
            Activity::Holding => None,
            Activity::Idle => {
                self.rot.commanded = None;
                None
            }
        };
        Commands { rot, rig: self.rig_commands(t) }
    }

    fn track(&mut self, t: Time) -> Option<RotCommand> {
        let a = self.rot_setpoint.as_ref()?;
        let wanted = trajectory::pointing_at(&a.setpoint.points, t.unix)?;
        let (target, clamped) = clamp(wanted, &self.settings.limits);
        if clamped {
            if self.rot.clamp_notice.is_none() {
                tracing::warn!(?wanted, ?target, limits = ?self.settings.limits, "target outside the limits: clamped");
            }
            self.rot.clamp_notice = Some(format!(
                "target az {:.2} el {:.2} outside the limits, clamped to az {:.2} el {:.2}",
                wanted.az_deg, wanted.el_deg, target.az_deg, target.el_deg
            ));
        } else {
            self.rot.clamp_notice = None;
        }
        self.rot.commanded = Some(target);
        self.point(target, self.settings.deadband_deg)
    }

    /// `P target` unless the last command is within `deadband_deg` of it (0: unless equal).
    fn point(&mut self, target: Pointing, deadband_deg: f64) -> Option<RotCommand> {
        if self.rot.link_fault.is_some() {
            return None;
        }
        let due = match self.rot.last_sent {
            None => true,
            Some(last) if deadband_deg == 0.0 => last != target,
            Some(last) => drift_deg(last, target) > deadband_deg,
        };
        if !due {
            return None;
        }
        self.rot.last_sent = Some(target);
        Some(RotCommand::Point(target))
    }

    fn rig_commands(&mut self, t: Time) -> Vec<RigCommand> {
        let Some(rig) = self.settings.rig else { return Vec::new() };
        let mut out = Vec::new();
        if self.shutting_down || self.heartbeat_lost(t) || self.rig.link_fault.is_some() {
            self.rig.applied_seq = None;
            return out;
        }
        let Some(a) = &self.rig_setpoint else { return out };
        if t.mono_ms.saturating_sub(a.received_mono_ms) >= self.settings.dead_man_ms {
            self.rig_setpoint = None;
            self.rig.applied_seq = None;
            return out;
        }
        if t.unix >= a.setpoint.valid_until_ms {
            self.rig.applied_seq = None;
            return out;
        }
        let sp = &a.setpoint;
        self.rig.applied_seq = Some(sp.seq);
        if self.rig.last_mode.as_deref() != Some(sp.mode.as_str()) {
            self.rig.last_mode = Some(sp.mode.clone());
            out.push(RigCommand::Mode(sp.mode.clone()));
        }
        let beyond = |last: Option<f64>, hz: f64| last.is_none_or(|l| (l - hz).abs() > rig.deadband_hz);
        if let Some(hz) = trajectory::downlink_at(&sp.points, t.unix)
            && beyond(self.rig.last_downlink_hz, hz)
        {
            self.rig.last_downlink_hz = Some(hz);
            out.push(RigCommand::Frequency(hz));
        }
        if rig.split_uplink
            && let Some(hz) = trajectory::uplink_at(&sp.points, t.unix)
            && beyond(self.rig.last_uplink_hz, hz)
        {
            self.rig.last_uplink_hz = Some(hz);
            out.push(RigCommand::SplitFrequency(hz));
        }
        out
    }

    /// Whether the rotator has reached the park position it was sent to (read back within
    /// `park_tolerance_deg` on both axes).
    pub fn is_parked(&self) -> bool {
        let Some(Activity::Parking(_, _)) = self.rot.activity else { return false };
        match (self.rot.last_sent, self.rot.reported, &self.rot.link_fault) {
            (Some(target), Some((_, at)), None) => drift_deg(target, at) <= self.settings.park_tolerance_deg,
            _ => false,
        }
    }

    // ---- outputs: telemetry ----

    /// `talos.rotstate.v1`.
    pub fn rot_state(&self, t: Time) -> RotState {
        let applied_seq = match self.rot.activity {
            Some(Activity::Tracking | Activity::Holding) => self.rot_setpoint.as_ref().map(|a| a.setpoint.seq),
            _ => None,
        };
        let fault = self.rot.link_fault.clone().or_else(|| self.rot.refusal.clone()).or_else(|| {
            self.rot.stuck.stuck.then(|| "rotator stuck: not moving towards the commanded position".to_owned())
        });
        RotState {
            t_ms: self.rot.reported.map_or(t.unix, |(at, _)| at),
            reported: self.rot.reported.map(|(_, p)| p).filter(|p| on_wire(*p)),
            commanded: self.rot.commanded.filter(|p| on_wire(*p)),
            stuck: self.rot.stuck.stuck,
            applied_seq,
            fault: fault.or_else(|| self.rot.clamp_notice.clone()),
        }
    }

    /// `talos.rigstate.v1`, when the agent drives a radio.
    pub fn rig_state(&self, t: Time) -> Option<RigState> {
        self.settings.rig?;
        let (t_ms, frequency_hz, mode) = match &self.rig.reported {
            Some((at, f, m)) => (*at, *f, m.clone()),
            None => (t.unix, None, None),
        };
        let freq_ok = |f: &f64| (talos_link::validate::FREQ_MIN_HZ..=talos_link::validate::FREQ_MAX_HZ).contains(f);
        let mode_ok =
            |m: &String| (1..=16).contains(&m.len()) && m.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        Some(RigState {
            t_ms,
            frequency_hz: frequency_hz.filter(freq_ok),
            commanded_downlink_hz: self.rig.last_downlink_hz.filter(freq_ok),
            commanded_uplink_hz: self.rig.last_uplink_hz.filter(freq_ok),
            mode: mode.filter(mode_ok),
            applied_seq: self.rig.applied_seq,
            fault: self.rig.link_fault.clone().or_else(|| self.rig.refusal.clone()),
        })
    }

    /// `talos.status.v1`: `fault` with the first problem, else `online`; with the counters.
    pub fn status(&self) -> StatusReport {
        let fault = self
            .rot
            .link_fault
            .clone()
            .or_else(|| self.rig.link_fault.clone())
            .or_else(|| self.config_fault.clone())
            .or_else(|| self.rot.stuck.stuck.then(|| "rotator stuck".to_owned()));
        let report = match fault {
            Some(reason) => StatusReport::fault(&self.agent_version, &reason, self.config_version),
            None => StatusReport::online(&self.agent_version, self.config_version),
        };
        report.with_rejects(&self.rejects)
    }

    /// The `offline` status of a clean shutdown.
    pub fn offline_status(&self, reason: &str) -> StatusReport {
        StatusReport {
            state: AgentState::Offline,
            agent_version: self.agent_version.clone(),
            reason: Some(text(reason)),
            config_version: self.config_version,
            rejects: None,
        }
        .with_rejects(&self.rejects)
    }

    /// Count of refusals for one reason (tests and logs).
    pub fn rejected(&self, reason: RejectReason) -> u64 {
        self.rejects.get(reason)
    }
}

fn log_transition(from: Option<Activity>, to: Activity) {
    match to {
        Activity::Stopped(StopReason::DeadMan) => {
            tracing::warn!(?from, "dead-man: no valid setpoint within the timeout, stopping the rotator");
        }
        Activity::Parking(ParkReason::HeartbeatLost, at) => {
            tracing::warn!(?from, ?at, "director heartbeat lost: parking");
        }
        _ => tracing::info!(?from, ?to, "rotator activity"),
    }
}

/// The larger of the two axis differences, in degrees.
pub fn drift_deg(a: Pointing, b: Pointing) -> f64 {
    (a.az_deg - b.az_deg).abs().max((a.el_deg - b.el_deg).abs())
}

/// `p` moved inside `limits`, and whether it had to be.
pub fn clamp(p: Pointing, limits: &RotatorLimits) -> (Pointing, bool) {
    let c = Pointing {
        az_deg: p.az_deg.clamp(limits.az_min_deg, limits.az_max_deg),
        el_deg: p.el_deg.clamp(limits.el_min_deg, limits.el_max_deg),
    };
    (c, c != p)
}

/// Whether a position may go on the wire (a broken read-back must not make the whole
/// telemetry message invalid).
fn on_wire(p: Pointing) -> bool {
    (talos_link::validate::AZ_MIN_DEG..=talos_link::validate::AZ_MAX_DEG).contains(&p.az_deg)
        && (talos_link::validate::EL_MIN_DEG..=talos_link::validate::EL_MAX_DEG).contains(&p.el_deg)
}

/// Free text for the wire: no control characters, at most 256 bytes.
fn text(s: &str) -> String {
    let mut out: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if out.is_empty() {
        out.push('?');
    }
    if out.len() > MAX_TEXT_BYTES {
        let mut cut = MAX_TEXT_BYTES - 3;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("...");
    }
    out
}

/// At most 64 characters of an untrusted topic, for logs.
fn echo(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((cut, _)) => &s[..cut],
        None => s,
    }
}

#[cfg(test)]
mod tests;

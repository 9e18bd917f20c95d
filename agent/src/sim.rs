//! A simulated fleet: N station agents in one process, for load tests of the director and
//! the broker (`talos simulate`).
//!
//! Each simulated station is the real agent minus its hardware: the same [`Controller`]
//! (talos-link's decoder and gate, trajectory interpolation, deadband, limits, dead-man,
//! heartbeat-loss park, latches), the same MQTT options (clean session, Last Will, packet
//! limits), subscriptions and telemetry as [`crate::run`], each station on its own
//! connection with its own credentials. Only `rotctld` is replaced, by a [`RotatorModel`]
//! that slews towards the commanded position at the station's rates and never leaves its
//! limits. Stations have no radio: rig setpoints are received, decoded, gated and counted,
//! and drive nothing.
//!
//! What it measures (see [`SimReport`]): every figure is counted or timed here, per
//! station, and summed or merged at the end; nothing is estimated.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use rumqttc::{AsyncClient, MqttOptions};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, MissedTickBehavior};

use talos_core::{OrgId, StationId, UnixMs};
use talos_link::{Message, Pointing, RejectCounters, RejectReason, RotatorLimits, SlewRates, StationConfig, decode};

use crate::config::{
    DEFAULT_DEADBAND_DEG, DEFAULT_PARK_TOLERANCE_DEG, DEFAULT_STUCK_THRESHOLD_DEG, DEFAULT_STUCK_TIME_MS,
    DEFAULT_TELEMETRY_INTERVAL_MS,
};
use crate::controller::{Activity, Controller, RotCommand, Settings};
use crate::mqtt::{self, MqttEvent};
use crate::run::{AGENT_VERSION, Clock, Telemetry};

/// Stations started together; the next batch starts once all of these are connected (or
/// [`RAMP_BATCH_WAIT`] has passed), so a thousand CONNECTs do not arrive at once.
pub const RAMP_BATCH: usize = 50;

/// Longest wait for one batch of the ramp to connect.
pub const RAMP_BATCH_WAIT: Duration = Duration::from_secs(5);

/// Keep-alive of each station's connection (the agent's default).
const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// Longest wait between two connection attempts of one station.
const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// Requests queued per connection (the agent's).
const REQUEST_QUEUE: usize = 64;

/// Messages from one station's connection waiting for its control task.
const EVENT_QUEUE: usize = 256;

/// The reason of the `offline` status a simulated station publishes when the run ends.
pub const SIGN_OFF_REASON: &str = "simulation ended";

/// A rotator without a daemon: az/el that move towards the commanded target at the slew
/// rates, each axis on its own, and never outside the limits. Pure: time passes only
/// through [`RotatorModel::step`].
#[derive(Debug, Clone, PartialEq)]
pub struct RotatorModel {
    limits: RotatorLimits,
    slew: SlewRates,
    position: Pointing,
    target: Option<Pointing>,
}

/// A position command outside the rotator's limits (rotctld would answer `RPRT -1`).
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("simulated rotator: az {} el {} is outside its limits", .0.az_deg, .0.el_deg)]
pub struct OutsideLimits(pub Pointing);

impl RotatorModel {
    /// A rotator at rest at `at` (moved inside the limits if it lies outside).
    pub fn new(limits: RotatorLimits, slew: SlewRates, at: Pointing) -> Self {
        let position = crate::controller::clamp(at, &limits).0;
        Self { limits, slew, position, target: None }
    }

    pub fn position(&self) -> Pointing {
        self.position
    }

    /// Where it is heading; `None` at rest after [`RotatorModel::stop`] or before any command.
    pub fn target(&self) -> Option<Pointing> {
        self.target
    }

    pub fn limits(&self) -> RotatorLimits {
        self.limits
    }

    /// `P az el`: head for `target`. A target outside the limits (or not finite) is refused
    /// and changes nothing, as a real rotator controller refuses it.
    pub fn point(&mut self, target: Pointing) -> Result<(), OutsideLimits> {
        let l = &self.limits;
        let inside = (l.az_min_deg..=l.az_max_deg).contains(&target.az_deg)
            && (l.el_min_deg..=l.el_max_deg).contains(&target.el_deg);
        if !inside {
            return Err(OutsideLimits(target));
        }
        self.target = Some(target);
        Ok(())
    }

    /// `S`: stop where it is.
    pub fn stop(&mut self) {
        self.target = None;
    }

    /// Lets `dt` pass: each axis moves towards the target by at most its slew rate times
    /// `dt`, and lands exactly on it when closer than that.
    pub fn step(&mut self, dt: Duration) {
        let Some(target) = self.target else { return };
        let s = dt.as_secs_f64();
        // `max` also turns a NaN rate into 0: a broken rate leaves the rotator still.
        let az = approach(self.position.az_deg, target.az_deg, (self.slew.az_deg_s * s).max(0.0));
        let el = approach(self.position.el_deg, target.el_deg, (self.slew.el_deg_s * s).max(0.0));
        self.position = Pointing { az_deg: az, el_deg: el };
    }

    /// Whether it is still on its way to a target.
    pub fn is_moving(&self) -> bool {
        self.target.is_some_and(|t| t != self.position)
    }
}

fn approach(from: f64, to: f64, max_step: f64) -> f64 {
    let d = to - from;
    if d.abs() <= max_step { to } else { from + max_step.copysign(d) }
}

/// One simulated station: its ids, MQTT credentials and rotator.
#[derive(Debug, Clone)]
pub struct SimStation {
    pub org: OrgId,
    pub station: StationId,
    /// MQTT login; an empty username connects without credentials.
    pub username: String,
    pub password: String,
    pub limits: RotatorLimits,
    /// Where the rotator starts, and where the controller parks it.
    pub park: Pointing,
    pub slew: SlewRates,
}

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub broker_host: String,
    pub broker_port: u16,
    pub stations: Vec<SimStation>,
    /// How long the run lasts, from the call of [`run_fleet`] (the connection ramp included).
    pub duration: Duration,
    /// Control ticks per second of each station (the agent's `control.rate_hz`, 1..=50).
    pub control_rate_hz: f64,
}

impl SimOptions {
    /// Options with the agent's default control rate (10 Hz).
    pub fn new(broker_host: &str, broker_port: u16, stations: Vec<SimStation>, duration: Duration) -> Self {
        Self { broker_host: broker_host.to_owned(), broker_port, stations, duration, control_rate_hz: 10.0 }
    }
}

/// What a run measured, summed over the fleet.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SimReport {
    /// Stations asked for.
    pub stations: usize,
    /// Stations connected to the broker when the run ended.
    pub connected: usize,
    /// Measured length of the run: from the call until the last station stopped counting.
    pub seconds: f64,
    /// Rotator and rig setpoints received that talos-link decoded.
    pub setpoints_received: u64,
    /// Of those, the ones the controller accepted (the rest the gate refused).
    pub setpoints_applied: u64,
    /// Receive time (wall clock, as the station's control task takes the message) minus the
    /// setpoint's first trajectory point (the director's tick time), over every setpoint
    /// received, nearest-rank percentiles. `NaN` (JSON `null`) when none was received.
    pub setpoint_latency_p50_ms: f64,
    pub setpoint_latency_p99_ms: f64,
    pub setpoint_latency_max_ms: f64,
    /// MQTT publishes received by the stations (anything on their subscriptions).
    pub messages_received: u64,
    /// MQTT publishes the stations wrote to their connections (telemetry, status).
    pub messages_sent: u64,
    /// `(messages_received + messages_sent) / seconds`.
    pub messages_per_s: f64,
    /// Setpoints refused as stale, out of order or from an older lease epoch.
    pub stale_rejected: u64,
    /// Every refusal by talos-link reason (all reasons, zeros included).
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Director heartbeats received (decoded), all stations together.
    pub heartbeats_received: u64,
    /// The largest distance (larger axis, deg) between the controller's target and the
    /// simulated rotator at a control tick while tracking, counted from when the rotator
    /// has reached the trajectory (within twice the deadband) and only while the target
    /// moves no faster than the rotator can slew (a faster move, such as the jump to the
    /// next pass, starts a new approach). `NaN` (JSON `null`) when no station got on track.
    pub max_tracking_error_deg: f64,
    /// Stations whose rotator reached the trajectory it was given at least once.
    pub stations_on_track: usize,
}

/// Runs the fleet for `options.duration` and reports what it measured. Stations connect in
/// batches of [`RAMP_BATCH`]; each then runs its controller at `control_rate_hz` against its
/// rotator model, publishes its state every second and its status (retained) as the agent
/// does, and at the end publishes `offline` ([`SIGN_OFF_REASON`]) and disconnects.
///
/// Errors: invalid options (a station's limits, park or slew rates outside the contract's
/// ranges, the same station twice, a control rate outside 1..=50 Hz), or a station task
/// that failed.
pub async fn run_fleet(options: SimOptions) -> anyhow::Result<SimReport> {
    check(&options)?;
    let start = Instant::now();
    let deadline = start + options.duration;
    let clock = Clock::start();
    let period = Duration::from_secs_f64(1.0 / options.control_rate_hz);
    let version = format!("{AGENT_VERSION}+sim");
    let n = options.stations.len();

    let mut tasks = Vec::with_capacity(n);
    for (i, batch) in options.stations.chunks(RAMP_BATCH).enumerate() {
        if Instant::now() >= deadline {
            tracing::warn!(started = i * RAMP_BATCH, of = n, "the run ended before every station was started");
            break;
        }
        let mut connected = Vec::with_capacity(batch.len());
        for station in batch {
            let (tx, rx) = oneshot::channel();
            let run = StationRun {
                station: station.clone(),
                host: options.broker_host.clone(),
                port: options.broker_port,
                version: version.clone(),
                clock,
                period,
                deadline,
                first_connect: Some(tx),
            };
            tasks.push(tokio::spawn(run.run()));
            connected.push(rx);
        }
        let batch_deadline = (Instant::now() + RAMP_BATCH_WAIT).min(deadline);
        let mut waited = 0;
        for rx in connected {
            match tokio::time::timeout_at(batch_deadline, rx).await {
                Ok(_) => waited += 1,
                Err(_) => break,
            }
        }
        if waited < batch.len() {
            tracing::warn!(batch = i, connected = waited, of = batch.len(), "ramp: batch not all connected in time");
        }
    }

    let mut outcomes = Vec::with_capacity(tasks.len());
    for task in tasks {
        outcomes.push(task.await.context("a simulated station's task failed")??);
    }
    Ok(report(n, start, outcomes))
}

fn check(options: &SimOptions) -> anyhow::Result<()> {
    let rate = options.control_rate_hz;
    if !(rate.is_finite() && (1.0..=50.0).contains(&rate)) {
        bail!("control rate {rate} Hz is outside 1..=50 Hz");
    }
    let mut seen = HashSet::new();
    for s in &options.stations {
        if !seen.insert((s.org, s.station)) {
            bail!("station {} of org {} is listed twice", s.station, s.org);
        }
        // The contract's own ranges for a station's limits, park and slew rates.
        let as_config = StationConfig {
            version: 1,
            limits: s.limits,
            park: s.park,
            slew: s.slew,
            dead_man_ms: talos_link::payload::DEFAULT_DEAD_MAN_MS,
            heartbeat_timeout_ms: talos_link::payload::DEFAULT_HEARTBEAT_TIMEOUT_MS,
        };
        talos_link::validate(&Message::Config(as_config))
            .with_context(|| format!("station {} of org {}", s.station, s.org))?;
    }
    Ok(())
}

/// One station's task.
#[derive(Debug)]
struct StationRun {
    station: SimStation,
    host: String,
    port: u16,
    version: String,
    clock: Clock,
    period: Duration,
    deadline: Instant,
    first_connect: Option<oneshot::Sender<()>>,
}

/// What one station counted.
#[derive(Debug, Default)]
struct Outcome {
    connected_at_end: bool,
    /// When it stopped counting.
    stopped: Option<Instant>,
    setpoints_received: u64,
    setpoints_applied: u64,
    /// Setpoint latencies, µs (negative if the director's clock ran ahead).
    latencies_us: Vec<i64>,
    messages_received: u64,
    messages_sent: u64,
    heartbeats_received: u64,
    rejects: RejectCounters,
    tracking: TrackingWatch,
}

impl StationRun {
    async fn run(mut self) -> anyhow::Result<Outcome> {
        let s = &self.station;
        let (org, station) = (s.org, s.station);
        let settings = Settings {
            limits: s.limits,
            park: s.park,
            deadband_deg: DEFAULT_DEADBAND_DEG,
            park_tolerance_deg: DEFAULT_PARK_TOLERANCE_DEG,
            stuck_threshold_deg: DEFAULT_STUCK_THRESHOLD_DEG,
            stuck_time_ms: DEFAULT_STUCK_TIME_MS,
            dead_man_ms: talos_link::payload::DEFAULT_DEAD_MAN_MS,
            heartbeat_timeout_ms: talos_link::payload::DEFAULT_HEARTBEAT_TIMEOUT_MS,
            rig: None,
        };
        let acquire_deg = 2.0 * settings.deadband_deg;
        let mut ctl = Controller::new(org, station, settings, &self.version, self.clock.now());
        let mut model = RotatorModel::new(s.limits, s.slew, s.park);

        let mut options = MqttOptions::new(format!("talos-sim-{org}-{station}"), self.host.clone(), self.port);
        options.set_keep_alive(KEEP_ALIVE);
        mqtt::set_station_defaults(&mut options, org, station, &self.version)?;
        if !s.username.is_empty() {
            options.set_credentials(s.username.clone(), s.password.clone());
        }
        let (client, eventloop) = AsyncClient::new(options, REQUEST_QUEUE);
        let published = Arc::new(AtomicU64::new(0));
        let (events_tx, mut events) = mpsc::channel(EVENT_QUEUE);
        let mut mqtt_task = tokio::spawn(mqtt::drive(eventloop, events_tx, RECONNECT_MAX, Some(published.clone())));
        let mut telemetry = Telemetry::new(org, station, Duration::from_millis(DEFAULT_TELEMETRY_INTERVAL_MS));

        let mut out = Outcome::default();
        let mut ticks = tokio::time::interval(self.period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut last_step = Instant::now();
        let stop = tokio::time::sleep_until(self.deadline);
        tokio::pin!(stop);

        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = ticks.tick() => {
                    let now = Instant::now();
                    model.step(now - last_step);
                    last_step = now;
                    let t = self.clock.now();
                    ctl.on_rot_position(t, model.position());
                    // No radio: `rig` is `None` in the settings, so no rig commands come.
                    match ctl.tick(t).rot {
                        Some(RotCommand::Point(p)) => match model.point(p) {
                            Ok(()) => ctl.on_rot_done(),
                            Err(e) => ctl.on_rot_refused(&e.to_string()),
                        },
                        Some(RotCommand::Stop) => {
                            model.stop();
                            ctl.on_rot_done();
                        }
                        None => {}
                    }
                    let tracking = ctl.activity() == Activity::Tracking;
                    out.tracking.observe(
                        ctl.commanded().filter(|_| tracking), model.position(), s.slew, now, acquire_deg,
                    );
                    telemetry.publish_if_due(&client, &ctl, t);
                }
                Some(event) = events.recv() => match event {
                    MqttEvent::Connected => {
                        telemetry.on_connected(&client, &ctl);
                        if let Some(tx) = self.first_connect.take() {
                            let _ = tx.send(());
                        }
                    }
                    MqttEvent::Disconnected(_) => telemetry.on_disconnected(),
                    MqttEvent::Message { topic, payload } => {
                        let received_us = unix_us();
                        let t = self.clock.now();
                        out.messages_received += 1;
                        // Decoded here for the figures; the controller decodes it again, as the agent does.
                        let setpoint = match decode(&topic, &payload) {
                            Ok(Message::Rot(sp)) => out.setpoint(received_us, sp.points.first().map(|p| p.t_ms)),
                            Ok(Message::Rig(sp)) => out.setpoint(received_us, sp.points.first().map(|p| p.t_ms)),
                            Ok(Message::Heartbeat(_)) => {
                                out.heartbeats_received += 1;
                                false
                            }
                            _ => false,
                        };
                        // Refusals are counted (and logged) inside.
                        if ctl.receive(&topic, &payload, t).is_ok() && setpoint {
                            out.setpoints_applied += 1;
                        }
                    }
                },
            }
        }

        out.stopped = Some(Instant::now());
        out.messages_sent = published.load(Ordering::Relaxed);
        out.connected_at_end = telemetry.is_connected();
        out.rejects = ctl.rejects().clone();
        telemetry.sign_off(&client, &ctl, SIGN_OFF_REASON, &mut mqtt_task).await;
        Ok(out)
    }
}

impl Outcome {
    /// A decoded setpoint (returns true, for the caller's match).
    fn setpoint(&mut self, received_us: i64, first_point: Option<UnixMs>) -> bool {
        self.setpoints_received += 1;
        // talos-link refuses a setpoint without points, so a decoded one always has one.
        if let Some(t) = first_point {
            self.latencies_us.push(received_us - t.0 * 1_000);
        }
        true
    }
}

/// The wall clock in µs since the Unix epoch.
fn unix_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

/// Tracking error of one station (see [`SimReport::max_tracking_error_deg`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct TrackingWatch {
    /// The previous tick's target while tracking, and when.
    last: Option<(Instant, Pointing)>,
    on_track: bool,
    ever_on_track: bool,
    max_error_deg: Option<f64>,
}

impl TrackingWatch {
    /// One control tick: `target` is the controller's target while tracking (`None`
    /// otherwise), `position` the rotator's at the same tick.
    fn observe(&mut self, target: Option<Pointing>, position: Pointing, slew: SlewRates, now: Instant, acquire: f64) {
        let Some(target) = target else {
            *self = Self { last: None, on_track: false, ..*self };
            return;
        };
        if let Some((then, before)) = self.last {
            let dt = (now - then).as_secs_f64();
            let reachable = (target.az_deg - before.az_deg).abs() <= slew.az_deg_s * dt + 1e-9
                && (target.el_deg - before.el_deg).abs() <= slew.el_deg_s * dt + 1e-9;
            if !reachable {
                self.on_track = false;
            }
        }
        self.last = Some((now, target));
        let error = crate::controller::drift_deg(target, position);
        if !self.on_track && error <= acquire {
            self.on_track = true;
            self.ever_on_track = true;
        }
        if self.on_track {
            self.max_error_deg = Some(self.max_error_deg.map_or(error, |m| m.max(error)));
        }
    }
}

fn report(stations: usize, start: Instant, outcomes: Vec<Outcome>) -> SimReport {
    let mut latencies: Vec<i64> = Vec::with_capacity(outcomes.iter().map(|o| o.latencies_us.len()).sum());
    let mut rejects: BTreeMap<String, u64> =
        RejectReason::ALL.into_iter().map(|r| (r.as_str().to_owned(), 0)).collect();
    let mut r = SimReport {
        stations,
        connected: 0,
        seconds: 0.0,
        setpoints_received: 0,
        setpoints_applied: 0,
        setpoint_latency_p50_ms: f64::NAN,
        setpoint_latency_p99_ms: f64::NAN,
        setpoint_latency_max_ms: f64::NAN,
        messages_received: 0,
        messages_sent: 0,
        messages_per_s: f64::NAN,
        stale_rejected: 0,
        rejected_by_reason: BTreeMap::new(),
        heartbeats_received: 0,
        max_tracking_error_deg: f64::NAN,
        stations_on_track: 0,
    };
    let mut stopped = start;
    for o in outcomes {
        r.connected += usize::from(o.connected_at_end);
        stopped = stopped.max(o.stopped.unwrap_or(start));
        r.setpoints_received += o.setpoints_received;
        r.setpoints_applied += o.setpoints_applied;
        latencies.extend_from_slice(&o.latencies_us);
        r.messages_received += o.messages_received;
        r.messages_sent += o.messages_sent;
        r.heartbeats_received += o.heartbeats_received;
        for (reason, count) in o.rejects.iter() {
            *rejects.entry(reason.as_str().to_owned()).or_default() += count;
        }
        r.stale_rejected += [RejectReason::Stale, RejectReason::OutOfOrder, RejectReason::OldEpoch]
            .into_iter()
            .map(|reason| o.rejects.get(reason))
            .sum::<u64>();
        r.stations_on_track += usize::from(o.tracking.ever_on_track);
        if let Some(e) = o.tracking.max_error_deg {
            r.max_tracking_error_deg =
                if r.max_tracking_error_deg.is_nan() { e } else { r.max_tracking_error_deg.max(e) };
        }
    }
    r.rejected_by_reason = rejects;
    r.seconds = (stopped - start).as_secs_f64();
    if r.seconds > 0.0 {
        r.messages_per_s = (r.messages_received + r.messages_sent) as f64 / r.seconds;
    }
    latencies.sort_unstable();
    if let Some(&max) = latencies.last() {
        r.setpoint_latency_p50_ms = percentile(&latencies, 50.0) as f64 / 1_000.0;
        r.setpoint_latency_p99_ms = percentile(&latencies, 99.0) as f64 / 1_000.0;
        r.setpoint_latency_max_ms = max as f64 / 1_000.0;
    }
    r
}

/// The nearest-rank `p`-th percentile of sorted, non-empty `values`.
fn percentile(sorted: &[i64], p: f64) -> i64 {
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: RotatorLimits =
        RotatorLimits { az_min_deg: 0.0, az_max_deg: 450.0, el_min_deg: 0.0, el_max_deg: 90.0 };
    const SLEW: SlewRates = SlewRates { az_deg_s: 6.0, el_deg_s: 3.0 };

    fn p(az_deg: f64, el_deg: f64) -> Pointing {
        Pointing { az_deg, el_deg }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_model_reaches_its_target_at_its_slew_rates() {
        let mut m = RotatorModel::new(LIMITS, SLEW, p(0.0, 0.0));
        m.point(p(30.0, 9.0)).unwrap();
        let mut t = 0;
        while m.is_moving() {
            let before = m.position();
            m.step(ms(100));
            t += 100;
            let after = m.position();
            // Never faster than the rate on either axis (0.6 and 0.3 deg per 100 ms).
            assert!((after.az_deg - before.az_deg).abs() <= 0.6 + 1e-9, "{before:?} -> {after:?}");
            assert!((after.el_deg - before.el_deg).abs() <= 0.3 + 1e-9, "{before:?} -> {after:?}");
            assert!(t <= 10_000, "still moving after 10 s: {after:?}");
        }
        assert_eq!(m.position(), p(30.0, 9.0));
        // 30 deg at 6 deg/s: 5 s; the elevation (9 deg at 3 deg/s) was there after 3 s.
        assert_eq!(t, 5_000);
    }

    #[test]
    fn the_model_moves_at_exactly_its_rate_over_any_step() {
        let mut m = RotatorModel::new(LIMITS, SLEW, p(100.0, 45.0));
        m.point(p(10.0, 80.0)).unwrap();
        m.step(ms(2_500));
        let at = m.position();
        assert!((at.az_deg - 85.0).abs() < 1e-9, "{at:?}");
        assert!((at.el_deg - 52.5).abs() < 1e-9, "{at:?}");
    }

    #[test]
    fn the_model_refuses_targets_outside_its_limits_and_never_leaves_them() {
        let mut m = RotatorModel::new(LIMITS, SLEW, p(500.0, -5.0));
        assert_eq!(m.position(), p(450.0, 0.0), "a start outside the limits is moved inside");
        for bad in [p(-1.0, 10.0), p(451.0, 10.0), p(10.0, -0.1), p(10.0, 90.5), p(f64::NAN, 10.0)] {
            assert!(m.point(bad).is_err(), "{bad:?}");
            assert_eq!(m.target(), None);
        }
        m.point(p(0.0, 90.0)).unwrap();
        for _ in 0..2_000 {
            m.step(ms(50));
            let at = m.position();
            assert!((0.0..=450.0).contains(&at.az_deg) && (0.0..=90.0).contains(&at.el_deg), "{at:?}");
        }
        assert_eq!(m.position(), p(0.0, 90.0));
    }

    #[test]
    fn a_stopped_model_holds_its_position() {
        let mut m = RotatorModel::new(LIMITS, SLEW, p(0.0, 0.0));
        m.point(p(90.0, 45.0)).unwrap();
        m.step(ms(1_000));
        let at = m.position();
        assert_eq!(at, p(6.0, 3.0));
        m.stop();
        assert!(!m.is_moving());
        for _ in 0..10 {
            m.step(ms(1_000));
        }
        assert_eq!(m.position(), at);
    }

    #[test]
    fn a_zero_or_broken_rate_leaves_the_axis_still() {
        let mut m = RotatorModel::new(LIMITS, SlewRates { az_deg_s: 0.0, el_deg_s: f64::NAN }, p(10.0, 10.0));
        m.point(p(20.0, 20.0)).unwrap();
        m.step(ms(1_000));
        assert_eq!(m.position(), p(10.0, 10.0));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&[7], 50.0), 7);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[1, 2, 3], 50.0), 2);
    }

    #[test]
    fn tracking_error_counts_from_acquisition_and_restarts_after_a_jump() {
        let t0 = Instant::now();
        let at = |s: f64| t0 + Duration::from_secs_f64(s);
        let mut w = TrackingWatch::default();
        // Far off: approaching, not counted.
        w.observe(Some(p(50.0, 10.0)), p(0.0, 0.0), SLEW, at(0.0), 1.0);
        w.observe(Some(p(50.1, 10.0)), p(25.0, 5.0), SLEW, at(0.1), 1.0);
        assert_eq!(w.max_error_deg, None);
        // On track, then lagging by 2 deg: counted.
        w.observe(Some(p(50.2, 10.0)), p(50.0, 10.0), SLEW, at(0.2), 1.0);
        w.observe(Some(p(50.3, 10.0)), p(48.3, 10.0), SLEW, at(0.3), 1.0);
        assert!(w.ever_on_track);
        assert!((w.max_error_deg.unwrap() - 2.0).abs() < 1e-9);
        // The target jumps faster than the rotator can slew: a new approach, not counted.
        w.observe(Some(p(200.0, 40.0)), p(50.3, 10.0), SLEW, at(0.4), 1.0);
        assert!(!w.on_track);
        assert!((w.max_error_deg.unwrap() - 2.0).abs() < 1e-9);
        // Leaving tracking resets the approach too.
        w.observe(None, p(60.0, 12.0), SLEW, at(0.5), 1.0);
        assert_eq!(w.last, None);
    }

    fn station(n: u64) -> SimStation {
        SimStation {
            org: OrgId(1),
            station: StationId(n),
            username: String::new(),
            password: String::new(),
            limits: LIMITS,
            park: p(0.0, 0.0),
            slew: SLEW,
        }
    }

    #[test]
    fn bad_options_are_refused_before_anything_connects() {
        let ok = SimOptions::new("127.0.0.1", 1, vec![station(1), station(2)], ms(100));
        assert!(check(&ok).is_ok());
        let twice = SimOptions { stations: vec![station(1), station(1)], ..ok.clone() };
        assert!(check(&twice).unwrap_err().to_string().contains("twice"));
        let rate = SimOptions { control_rate_hz: 0.0, ..ok.clone() };
        assert!(check(&rate).is_err());
        let mut s = station(3);
        s.slew.az_deg_s = 0.0;
        assert!(check(&SimOptions { stations: vec![s], ..ok.clone() }).is_err());
        let mut s = station(4);
        s.park = p(10.0, 95.0);
        assert!(check(&SimOptions { stations: vec![s], ..ok.clone() }).is_err());
        let mut s = station(5);
        s.limits.az_max_deg = -10.0;
        assert!(check(&SimOptions { stations: vec![s], ..ok }).is_err());
    }
}

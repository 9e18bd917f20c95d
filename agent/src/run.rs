//! The I/O shell around the [`Controller`]: the control loop at `control.rate_hz`, the
//! Hamlib clients, the MQTT event-loop task, telemetry, and the shutdown sequence.
//!
//! One control tick: read the rotator (`p`) and, when due, the radio (`f`, `m`) at the same
//! time; feed the read-backs to the controller; let it decide; send its commands to both
//! daemons at the same time; feed back the outcomes. Each daemon exchange is bounded by
//! `hamlib.timeout_ms`, and a daemon that is down costs nothing between reconnect attempts,
//! so a tick is short whatever the hardware does. Messages from the broker are applied as
//! they arrive, between ticks.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rumqttc::AsyncClient;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use talos_core::{OrgId, StationId, UnixMs};
use talos_link::{Message, StateLeaf, StatusReport, Topic, publication};

use crate::config::AgentConfig;
use crate::controller::{Commands, Controller, RigCommand, RotCommand, Settings, Time};
use crate::hamlib::{HamlibError, LinkSettings, Rigctld, Rotctld};
use crate::mqtt::{self, MqttEvent, MqttSetupError};

/// The agent's version, as its status reports it.
pub const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// How long the shutdown waits for the broker to take the `offline` status.
const DISCONNECT_WAIT: Duration = Duration::from_secs(3);

/// How the agent ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Exit {
    /// Parked and confirmed by read-back.
    Parked,
    /// Shut down without a confirmed park (rotctld down, timeout, second signal).
    NotParked(String),
}

/// Both clocks of [`Time`], from the process's clocks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    origin: Instant,
}

impl Clock {
    pub(crate) fn start() -> Self {
        Self { origin: Instant::now() }
    }

    pub(crate) fn now(&self) -> Time {
        let unix_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        Time { unix: UnixMs(unix_ms), mono_ms: self.origin.elapsed().as_millis() as u64 }
    }
}

/// Runs the agent until a shutdown request on `signals` (one: park, confirm, go offline;
/// a second one while parking: give up waiting). Errors only if the MQTT options cannot be
/// built.
pub async fn run(
    config: AgentConfig,
    mut signals: mpsc::UnboundedReceiver<&'static str>,
) -> Result<Exit, MqttSetupError> {
    let clock = Clock::start();
    let mut ctl =
        Controller::new(config.org, config.station, Settings::from_config(&config), AGENT_VERSION, clock.now());
    let link = LinkSettings {
        timeout: Duration::from_millis(config.hamlib.timeout_ms),
        reconnect_min: Duration::from_millis(config.hamlib.reconnect_min_ms),
        reconnect_max: Duration::from_millis(config.hamlib.reconnect_max_ms),
    };
    let mut rot = Rotctld::new(config.rotator.address.clone(), link);
    let mut rig = config.rig.as_ref().map(|r| Rigctld::new(r.address.clone(), link));

    let options = mqtt::options(&config, AGENT_VERSION)?;
    let (client, eventloop) = AsyncClient::new(options, 64);
    let (events_tx, mut events) = mpsc::channel(1024);
    let reconnect_max = Duration::from_millis(config.broker.reconnect_max_ms);
    let mut mqtt_task = tokio::spawn(mqtt::drive(eventloop, events_tx, reconnect_max, None));
    tracing::info!(org = %config.org, station = %config.station, broker = %format!("{}:{}", config.broker.host, config.broker.port),
        rotctld = %config.rotator.address, rigctld = ?config.rig.as_ref().map(|r| &r.address), "talos-agent {AGENT_VERSION} starting");

    let period = Duration::from_secs_f64(1.0 / config.control.rate_hz);
    let telemetry_every = Duration::from_millis(config.control.telemetry_interval_ms);
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut telemetry = Telemetry::new(config.org, config.station, telemetry_every);
    let mut next_rig_readback = Instant::now();
    let mut rig_sent = false;
    let mut parking_deadline: Option<Instant> = None;

    let exit = loop {
        tokio::select! {
            _ = ticks.tick() => {
                let rig_due = rig_sent || Instant::now() >= next_rig_readback;
                if rig_due {
                    next_rig_readback = Instant::now() + telemetry_every;
                }
                rig_sent = control_tick(&mut ctl, &mut rot, rig.as_mut(), clock, rig_due).await;
                if let Some(deadline) = parking_deadline {
                    if ctl.is_parked() {
                        tracing::info!("parked: position confirmed by read-back");
                        break Exit::Parked;
                    }
                    if Instant::now() >= deadline {
                        break Exit::NotParked(format!(
                            "park not confirmed within {} ms", config.safety.shutdown_park_timeout_ms
                        ));
                    }
                }
                telemetry.publish_if_due(&client, &ctl, clock.now());
            }
            Some(event) = events.recv() => match event {
                MqttEvent::Connected => telemetry.on_connected(&client, &ctl),
                MqttEvent::Disconnected(_) => telemetry.on_disconnected(),
                MqttEvent::Message { topic, payload } => {
                    // Refusals are counted and logged inside.
                    let _ = ctl.receive(&topic, &payload, clock.now());
                }
            },
            Some(signal) = signals.recv() => {
                if parking_deadline.is_some() {
                    break Exit::NotParked(format!("{signal} again while parking"));
                }
                tracing::info!(signal, "shutting down: parking first");
                ctl.begin_shutdown();
                parking_deadline = Some(Instant::now() + Duration::from_millis(config.safety.shutdown_park_timeout_ms));
            }
        }
    };

    let reason = match &exit {
        Exit::Parked => "shutdown: parked".to_owned(),
        Exit::NotParked(why) => {
            tracing::error!("shutting down without a confirmed park: {why}");
            format!("shutdown: {why}")
        }
    };
    telemetry.sign_off(&client, &ctl, &reason, &mut mqtt_task).await;
    Ok(exit)
}

/// One control tick (see the module docs). Returns whether rig commands were sent (so the
/// radio is read back on the next tick).
async fn control_tick(
    ctl: &mut Controller,
    rot: &mut Rotctld,
    rig: Option<&mut Rigctld>,
    clock: Clock,
    rig_due: bool,
) -> bool {
    let t = clock.now();
    let mut rig = rig;
    let rig_read = async {
        match rig.as_deref_mut() {
            Some(r) if rig_due => Some(read_rig(r).await),
            _ => None,
        }
    };
    let (position, rig_readback) = tokio::join!(rot.get_position(), rig_read);
    match position {
        Ok(p) => ctl.on_rot_position(t, p),
        Err(e) => rot_error(ctl, &e),
    }
    match rig_readback {
        Some(Ok((frequency_hz, mode))) => ctl.on_rig_readback(t, frequency_hz, mode),
        Some(Err(e)) => rig_error(ctl, &e),
        None => {}
    }

    let Commands { rot: rot_command, rig: rig_commands } = ctl.tick(t);
    let rig_sent = !rig_commands.is_empty();
    let rot_send = async {
        match rot_command {
            Some(RotCommand::Point(p)) => Some(rot.set_position(p).await),
            Some(RotCommand::Stop) => Some(rot.stop().await),
            None => None,
        }
    };
    let rig_send = async {
        let mut results = Vec::new();
        if let Some(r) = rig.as_deref_mut() {
            for command in rig_commands {
                let result = match &command {
                    RigCommand::Mode(mode) => r.set_mode(mode).await,
                    RigCommand::Frequency(hz) => r.set_frequency(*hz).await,
                    RigCommand::SplitFrequency(hz) => r.set_split_frequency(*hz).await,
                };
                let link_down = result.as_ref().is_err_and(HamlibError::is_link_down);
                results.push(result);
                if link_down {
                    break;
                }
            }
        }
        results
    };
    let (rot_result, rig_results) = tokio::join!(rot_send, rig_send);
    match rot_result {
        Some(Ok(())) => ctl.on_rot_done(),
        Some(Err(e)) => rot_error(ctl, &e),
        None => {}
    }
    for result in rig_results {
        match result {
            Ok(()) => ctl.on_rig_done(),
            Err(e) => rig_error(ctl, &e),
        }
    }
    rig_sent
}

async fn read_rig(rig: &mut Rigctld) -> Result<(Option<f64>, Option<String>), HamlibError> {
    let frequency_hz = rig.get_frequency().await?;
    let mode = match rig.get_mode().await {
        Ok((mode, _passband_hz)) => Some(mode),
        Err(e) if e.is_link_down() => return Err(e),
        Err(_) => None,
    };
    Ok((Some(frequency_hz), mode))
}

fn rot_error(ctl: &mut Controller, e: &HamlibError) {
    match e {
        // Already reported when the link went down; the backoff is just running.
        HamlibError::Backoff { .. } => {}
        HamlibError::Refused { .. } => ctl.on_rot_refused(&e.to_string()),
        _ => ctl.on_rot_link_down(&e.to_string()),
    }
}

fn rig_error(ctl: &mut Controller, e: &HamlibError) {
    match e {
        HamlibError::Backoff { .. } => {}
        HamlibError::Refused { .. } => ctl.on_rig_refused(&e.to_string()),
        _ => ctl.on_rig_link_down(&e.to_string()),
    }
}

/// Encodes through talos-link (topic, validation, QoS, retain) and queues without waiting.
/// Returns whether it was queued.
pub(crate) fn publish(client: &AsyncClient, topic: Topic, message: Message) -> bool {
    match publication(&topic, &message) {
        Ok(p) => {
            let queued = mqtt::try_publish(client, p);
            if !queued {
                tracing::debug!(%topic, "publish queue full: dropped");
            }
            queued
        }
        // The controller sanitizes what it reports; this would be a bug, not bad input.
        Err(e) => {
            tracing::error!(%topic, "telemetry refused by talos-link: {e}");
            false
        }
    }
}

/// When telemetry goes out.
#[derive(Debug)]
pub(crate) struct Telemetry {
    org: OrgId,
    station: StationId,
    connected: bool,
    next: Instant,
    every: Duration,
    /// The retained status last published; it is published again only when it changes.
    last_status: Option<StatusReport>,
}

impl Telemetry {
    pub(crate) fn new(org: OrgId, station: StationId, every: Duration) -> Self {
        Self { org, station, connected: false, next: Instant::now(), every, last_status: None }
    }

    /// Connected (again): subscribe, and publish the status afresh.
    pub(crate) fn on_connected(&mut self, client: &AsyncClient, ctl: &Controller) {
        self.connected = true;
        if !mqtt::subscribe(client, self.org, self.station) {
            tracing::error!("could not queue the subscriptions");
        }
        self.last_status = None;
        self.publish_status(client, ctl);
    }

    pub(crate) fn on_disconnected(&mut self) {
        self.connected = false;
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.connected
    }

    /// The end of a run: the `offline` status with `reason`, then a clean disconnect (the
    /// broker drops the Last Will), waiting at most [`DISCONNECT_WAIT`] for the event loop
    /// to finish; the event-loop task is aborted in any case. Returns whether the event loop
    /// ended with the disconnect.
    pub(crate) async fn sign_off(
        &mut self,
        client: &AsyncClient,
        ctl: &Controller,
        reason: &str,
        mqtt_task: &mut JoinHandle<()>,
    ) -> bool {
        let mut clean = false;
        if self.connected {
            let status = ctl.offline_status(reason);
            if !publish(client, Topic::state(self.org, self.station, StateLeaf::Status), Message::Status(status)) {
                tracing::warn!("could not queue the offline status; the broker's Last Will reports the agent offline");
            }
            // In order after the publish: the broker stores the offline status, then drops the Will.
            let _ = client.try_disconnect();
            clean = tokio::time::timeout(DISCONNECT_WAIT, &mut *mqtt_task).await.is_ok();
            if !clean {
                tracing::warn!("broker did not take the disconnect in time");
            }
        }
        mqtt_task.abort();
        clean
    }

    pub(crate) fn publish_if_due(&mut self, client: &AsyncClient, ctl: &Controller, t: Time) {
        if !self.connected || Instant::now() < self.next {
            return;
        }
        self.next = Instant::now() + self.every;
        let (org, station) = (self.org, self.station);
        // Telemetry is superseded every interval: a dropped one is not retried.
        let _ = publish(client, Topic::state(org, station, StateLeaf::Rot), Message::RotState(ctl.rot_state(t)));
        if let Some(rig) = ctl.rig_state(t) {
            let _ = publish(client, Topic::state(org, station, StateLeaf::Rig), Message::RigState(rig));
        }
        self.publish_status(client, ctl);
    }

    pub(crate) fn publish_status(&mut self, client: &AsyncClient, ctl: &Controller) {
        let status = ctl.status();
        if self.last_status.as_ref() == Some(&status) {
            return;
        }
        if self.last_status.as_ref().is_none_or(|s| s.state != status.state || s.reason != status.reason) {
            tracing::info!(state = ?status.state, reason = ?status.reason, "status");
        }
        let topic = Topic::state(self.org, self.station, StateLeaf::Status);
        if publish(client, topic, Message::Status(status.clone())) {
            self.last_status = Some(status);
        }
    }
}

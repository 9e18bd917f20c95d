//! The director's MQTT connection: each tick's publications out, the agents' state in.
//!
//! The director thread never touches a socket: it hands a tick's publications (already
//! validated and encoded by [`crate::link_out`]) to this task through a channel and goes
//! on. The task owns the rumqttc client:
//!
//! - **Setpoints are never replayed stale.** Only the newest tick's setpoints are sent; if
//!   the task falls behind, older ones are counted as superseded. While disconnected they
//!   are dropped (counted). Each connection gets a fresh client, so nothing queued inside
//!   rumqttc for a dead connection is sent on the next one. (Agents also refuse anything
//!   past `valid_until_ms` or out of order: two independent guards.)
//! - **Commands are not lost.** Session and park commands (QoS 1) wait while disconnected,
//!   in order, and go out first on the next connection; beyond [`MAX_PENDING_COMMANDS`]
//!   the oldest are dropped, counted and logged.
//! - **Configs are retained** (QoS 1) and published again on every connection; a fleet
//!   change publishes only the stations whose config changed.
//! - **Reconnect with backoff**: 250 ms doubling to 10 s.
//! - **Agents' state** (`state/status|rot|rig` of every station) is decoded and validated
//!   by talos-link; refusals are counted by reason, never fatal.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, TlsConfiguration, Transport};
use tokio::sync::mpsc;
use tokio::time::Instant;

use talos_core::{OrgId, StationId, UnixMs};

use crate::serve::lock;
use talos_link::{Message, Publication, QoS, RejectCounters, RigState, RotState, StateLeaf, StatusReport, Topic};

/// Session and park commands held while the broker is unreachable.
pub const MAX_PENDING_COMMANDS: usize = 10_000;
/// Requests rumqttc queues between the task and the socket (one tick of 1,000 stations is
/// about 2,000 publications).
const REQUEST_CAPACITY: usize = 16_384;
const RECONNECT_MIN: Duration = Duration::from_millis(250);
const RECONNECT_MAX: Duration = Duration::from_secs(10);

/// Where the director's broker is and how it logs in.
#[derive(Clone)]
pub struct LinkSettings {
    pub host: String,
    pub port: u16,
    /// PEM of the CA that signs the broker's certificate: TLS on.
    pub tls_ca_pem: Option<Vec<u8>>,
    pub username: String,
    pub password: String,
    pub client_id: String,
    pub keep_alive: Duration,
}

impl std::fmt::Debug for LinkSettings {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls_ca_pem.is_some())
            .field("username", &self.username)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl LinkSettings {
    /// The director's login on the broker embedded in this process.
    pub fn embedded(broker: crate::broker::EmbeddedBroker, director_password: String) -> Self {
        Self {
            host: broker.address.ip().to_string(),
            port: broker.address.port(),
            tls_ca_pem: None,
            username: talos_link::DIRECTOR_USERNAME.to_owned(),
            password: director_password,
            client_id: "talos-director".to_owned(),
            keep_alive: Duration::from_secs(5),
        }
    }
}

/// A broker URL: `mqtt://HOST[:PORT]` (plain, default port 1883) or `mqtts://HOST[:PORT]`
/// (TLS, default 8883). Returns host, port and whether TLS is on.
pub fn parse_broker_url(url: &str) -> anyhow::Result<(String, u16, bool)> {
    let (tls, rest) = if let Some(rest) = url.strip_prefix("mqtts://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("mqtt://") {
        (false, rest)
    } else {
        bail!("--mqtt-url {url:?}: expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]");
    };
    let rest = rest.trim_end_matches('/');
    if rest.contains('@') || rest.contains('/') {
        bail!("--mqtt-url {url:?}: only HOST[:PORT] (credentials go in --mqtt-username and --mqtt-password-file)");
    }
    let default_port = if tls { 8883 } else { 1883 };
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => {
            let port = port.parse::<u16>().ok().filter(|p| *p != 0);
            (host, port.with_context(|| format!("--mqtt-url {url:?}: the port must be 1-65535"))?)
        }
        _ => (rest, default_port),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        bail!("--mqtt-url {url:?}: no host");
    }
    Ok((host.to_owned(), port, tls))
}

/// One tick's publications, sorted by how they travel.
#[derive(Debug, Default)]
pub struct TickPublications {
    /// Rotator and rig setpoints (QoS 0): only the newest tick's matter.
    pub setpoints: Vec<Publication>,
    /// Session and park commands (QoS 1): every one matters.
    pub commands: Vec<Publication>,
    pub heartbeat: Option<Publication>,
}

impl TickPublications {
    pub fn sort(publications: Vec<Publication>) -> Self {
        let mut out = Self::default();
        for p in publications {
            if p.topic == talos_link::HEARTBEAT_TOPIC {
                out.heartbeat = Some(p);
            } else if p.qos == QoS::AtLeastOnce {
                out.commands.push(p);
            } else {
                out.setpoints.push(p);
            }
        }
        out
    }
}

/// What the director side sends the task.
#[derive(Debug)]
pub enum LinkInput {
    Tick(TickPublications),
    /// The retained config of every station (after a fleet load).
    Configs(Vec<Publication>),
}

/// What the director last heard from a station's agent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentView {
    pub status: Option<StatusReport>,
    pub rot: Option<RotState>,
    pub rig: Option<RigState>,
    /// When the last message arrived (director clock).
    pub received: Option<UnixMs>,
}

/// Counters and the agents' last state, shared with metrics and the API.
#[derive(Debug, Default)]
pub struct LinkStats {
    pub connected: AtomicBool,
    pub connects: AtomicU64,
    pub connection_failures: AtomicU64,
    pub setpoints_published: AtomicU64,
    pub commands_published: AtomicU64,
    pub configs_published: AtomicU64,
    pub heartbeats_published: AtomicU64,
    /// Setpoints not sent because the broker was unreachable.
    pub setpoints_dropped_offline: AtomicU64,
    /// Setpoints replaced by a newer tick's before they could be sent.
    pub setpoints_superseded: AtomicU64,
    /// Setpoints not sent because rumqttc's queue was full (the broker is slower than the tick).
    pub setpoints_dropped_backpressure: AtomicU64,
    /// Commands dropped because more than [`MAX_PENDING_COMMANDS`] waited.
    pub commands_dropped_overflow: AtomicU64,
    pub state_received: AtomicU64,
    pub state_rejected: Mutex<RejectCounters>,
    pub agents: Mutex<HashMap<(OrgId, StationId), AgentView>>,
}

impl LinkStats {
    pub fn agent(&self, org: OrgId, station: StationId) -> Option<AgentView> {
        lock(&self.agents).get(&(org, station)).cloned()
    }

    /// Agents by their last status: (online, fault, offline).
    pub fn agent_counts(&self) -> (usize, usize, usize) {
        let agents = lock(&self.agents);
        let mut counts = (0, 0, 0);
        for view in agents.values() {
            match view.status.as_ref().map(|s| s.state) {
                Some(talos_link::AgentState::Online) => counts.0 += 1,
                Some(talos_link::AgentState::Fault) => counts.1 += 1,
                Some(talos_link::AgentState::Offline) => counts.2 += 1,
                None => {}
            }
        }
        counts
    }

    /// Prometheus text lines.
    pub fn write_metrics(&self, out: &mut String) {
        use std::fmt::Write as _;
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let _ = writeln!(out, "# HELP talos_mqtt_connected Whether the director is connected to the MQTT broker.");
        let _ = writeln!(out, "# TYPE talos_mqtt_connected gauge");
        let _ = writeln!(out, "talos_mqtt_connected {}", u8::from(self.connected.load(Ordering::Relaxed)));
        let _ = writeln!(out, "# TYPE talos_mqtt_connects_total counter");
        let _ = writeln!(out, "talos_mqtt_connects_total {}", get(&self.connects));
        let _ = writeln!(out, "talos_mqtt_connection_failures_total {}", get(&self.connection_failures));
        let _ = writeln!(out, "# HELP talos_mqtt_published_total Messages handed to the broker, by kind.");
        let _ = writeln!(out, "# TYPE talos_mqtt_published_total counter");
        for (kind, c) in [
            ("setpoint", &self.setpoints_published),
            ("command", &self.commands_published),
            ("config", &self.configs_published),
            ("heartbeat", &self.heartbeats_published),
        ] {
            let _ = writeln!(out, "talos_mqtt_published_total{{kind=\"{kind}\"}} {}", get(c));
        }
        let _ = writeln!(out, "# HELP talos_mqtt_not_sent_total Messages not sent, by reason.");
        let _ = writeln!(out, "# TYPE talos_mqtt_not_sent_total counter");
        for (reason, c) in [
            ("setpoint_offline", &self.setpoints_dropped_offline),
            ("setpoint_superseded", &self.setpoints_superseded),
            ("setpoint_backpressure", &self.setpoints_dropped_backpressure),
            ("command_overflow", &self.commands_dropped_overflow),
        ] {
            let _ = writeln!(out, "talos_mqtt_not_sent_total{{reason=\"{reason}\"}} {}", get(c));
        }
        let _ = writeln!(out, "# TYPE talos_mqtt_state_received_total counter");
        let _ = writeln!(out, "talos_mqtt_state_received_total {}", get(&self.state_received));
        let _ =
            writeln!(out, "# HELP talos_mqtt_state_rejected_total Agent messages refused by talos-link, by reason.");
        let _ = writeln!(out, "# TYPE talos_mqtt_state_rejected_total counter");
        for (reason, n) in lock(&self.state_rejected).iter() {
            let _ = writeln!(out, "talos_mqtt_state_rejected_total{{reason=\"{}\"}} {n}", reason.as_str());
        }
        let (online, fault, offline) = self.agent_counts();
        let _ = writeln!(out, "# HELP talos_agents Station agents by their last reported status.");
        let _ = writeln!(out, "# TYPE talos_agents gauge");
        let _ = writeln!(out, "talos_agents{{state=\"online\"}} {online}");
        let _ = writeln!(out, "talos_agents{{state=\"fault\"}} {fault}");
        let _ = writeln!(out, "talos_agents{{state=\"offline\"}} {offline}");
    }

    /// Takes one message from an agent: validated by talos-link, or counted and logged.
    fn intake(&self, topic: &str, payload: &[u8], now: UnixMs) {
        let message = match talos_link::decode(topic, payload) {
            Ok(m) => m,
            Err(reject) => {
                let reason = lock(&self.state_rejected).record(&reject);
                tracing::debug!(topic, %reason, "agent message refused: {reject}");
                return;
            }
        };
        // decode has parsed the topic; only state topics are subscribed to.
        let Ok(Topic::State { org, station, leaf }) = Topic::parse(topic) else { return };
        self.state_received.fetch_add(1, Ordering::Relaxed);
        let mut agents = lock(&self.agents);
        let view = agents.entry((org, station)).or_default();
        view.received = Some(now);
        match (leaf, message) {
            (StateLeaf::Status, Message::Status(s)) => {
                if view.status.as_ref().is_none_or(|old| old.state != s.state) {
                    tracing::info!(%org, %station, state = ?s.state, reason = ?s.reason, "agent status");
                }
                view.status = Some(s);
            }
            (StateLeaf::Rot, Message::RotState(s)) => view.rot = Some(s),
            (StateLeaf::Rig, Message::RigState(s)) => view.rig = Some(s),
            // decode checks that the schema belongs on the topic.
            _ => {}
        }
    }
}

/// The director's side of the task.
#[derive(Debug, Clone)]
pub struct DirectorLink {
    tx: mpsc::UnboundedSender<LinkInput>,
    pub stats: Arc<LinkStats>,
}

impl DirectorLink {
    /// Hands a tick's publications over without waiting. False once the task has ended.
    pub fn send_tick(&self, publications: Vec<Publication>) -> bool {
        self.tx.send(LinkInput::Tick(TickPublications::sort(publications))).is_ok()
    }

    pub fn send_configs(&self, configs: Vec<Publication>) -> bool {
        self.tx.send(LinkInput::Configs(configs)).is_ok()
    }
}

/// Starts the task. It ends (disconnecting cleanly) when every [`DirectorLink`] is dropped.
pub fn spawn(
    settings: LinkSettings,
    clock: talos_api::Clock,
) -> anyhow::Result<(DirectorLink, tokio::task::JoinHandle<()>)> {
    let options = options(&settings)?;
    let (tx, rx) = mpsc::unbounded_channel();
    let stats = Arc::new(LinkStats::default());
    let task = tokio::spawn(run(options, rx, stats.clone(), clock));
    Ok((DirectorLink { tx, stats }, task))
}

fn options(s: &LinkSettings) -> anyhow::Result<MqttOptions> {
    let mut options = MqttOptions::new(s.client_id.clone(), s.host.clone(), s.port);
    options.set_keep_alive(s.keep_alive);
    // Nothing of an earlier session is wanted: setpoints are superseded, and state is
    // republished by the agents (status retained).
    options.set_clean_session(true);
    options.set_credentials(s.username.clone(), s.password.clone());
    options.set_max_packet_size(1 << 20, 64 * 1024);
    options.set_request_channel_capacity(REQUEST_CAPACITY);
    options.set_inflight(1_000);
    if let Some(pem) = &s.tls_ca_pem {
        use rustls::pki_types::pem::PemObject as _;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pem) {
            roots.add(cert.context("--mqtt-ca-file: not a PEM certificate")?).context("--mqtt-ca-file")?;
        }
        if roots.is_empty() {
            bail!("--mqtt-ca-file: no certificate in the file");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS")?
            .with_root_certificates(roots)
            .with_no_client_auth();
        options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(Arc::new(tls))));
    }
    Ok(options)
}

fn rumqttc_qos(q: QoS) -> rumqttc::QoS {
    match q {
        QoS::AtMostOnce => rumqttc::QoS::AtMostOnce,
        QoS::AtLeastOnce => rumqttc::QoS::AtLeastOnce,
    }
}

/// The task's memory across connections.
struct Pending {
    commands: VecDeque<Publication>,
    /// The retained config of every station, by topic, as last published or to publish.
    configs: HashMap<String, Publication>,
    /// Config topics not yet published on the current connection.
    configs_due: Vec<String>,
}

impl Pending {
    /// Takes an input while there is no connection (or before it is used).
    fn absorb(&mut self, input: LinkInput, stats: &LinkStats) -> Option<TickPublications> {
        match input {
            LinkInput::Tick(mut tick) => {
                self.queue_commands(std::mem::take(&mut tick.commands), stats);
                Some(tick)
            }
            LinkInput::Configs(configs) => {
                for c in configs {
                    if self.configs.get(&c.topic).is_none_or(|old| old.payload != c.payload) {
                        self.configs_due.push(c.topic.clone());
                        self.configs.insert(c.topic.clone(), c);
                    }
                }
                None
            }
        }
    }

    fn queue_commands(&mut self, commands: Vec<Publication>, stats: &LinkStats) {
        self.commands.extend(commands);
        let excess = self.commands.len().saturating_sub(MAX_PENDING_COMMANDS);
        if excess > 0 {
            self.commands.drain(..excess);
            stats.commands_dropped_overflow.fetch_add(excess as u64, Ordering::Relaxed);
            tracing::error!(dropped = excess, "broker unreachable too long: oldest session/park commands dropped");
        }
    }
}

async fn run(
    options: MqttOptions,
    mut inputs: mpsc::UnboundedReceiver<LinkInput>,
    stats: Arc<LinkStats>,
    clock: talos_api::Clock,
) {
    let mut pending = Pending { commands: VecDeque::new(), configs: HashMap::new(), configs_due: Vec::new() };
    let mut delay = RECONNECT_MIN;
    loop {
        // A fresh client per connection: nothing queued for a dead one is ever sent.
        let (client, mut eventloop) = AsyncClient::new(options.clone(), REQUEST_CAPACITY);
        match connect(&mut eventloop, &mut inputs, &mut pending, &stats).await {
            Connect::Closed => return,
            Connect::Failed(reason) => {
                stats.connection_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(retry_in_ms = delay.as_millis() as u64, "MQTT broker: {reason}");
                if !wait_offline(delay, &mut inputs, &mut pending, &stats).await {
                    return;
                }
                delay = (delay * 2).min(RECONNECT_MAX);
                continue;
            }
            Connect::Up => {}
        }
        delay = RECONNECT_MIN;
        stats.connects.fetch_add(1, Ordering::Relaxed);
        stats.connected.store(true, Ordering::Relaxed);
        tracing::info!("connected to the MQTT broker");
        for filter in talos_link::director_subscriptions() {
            // QoS 1 so the retained statuses arrive reliably.
            let _ = client.try_subscribe(filter, rumqttc::QoS::AtLeastOnce);
        }
        pending.configs_due = pending.configs.keys().cloned().collect();
        let closed = connected(&client, &mut eventloop, &mut inputs, &mut pending, &stats, &clock).await;
        stats.connected.store(false, Ordering::Relaxed);
        if closed {
            let _ = client.try_disconnect();
            let _ =
                tokio::time::timeout(Duration::from_secs(2), async { while eventloop.poll().await.is_ok() {} }).await;
            return;
        }
    }
}

enum Connect {
    Up,
    Failed(String),
    Closed,
}

/// Polls until CONNACK, taking inputs meanwhile (setpoints dropped, commands kept).
async fn connect(
    eventloop: &mut EventLoop,
    inputs: &mut mpsc::UnboundedReceiver<LinkInput>,
    pending: &mut Pending,
    stats: &LinkStats,
) -> Connect {
    loop {
        tokio::select! {
            event = eventloop.poll() => match event {
                Ok(Event::Incoming(Packet::ConnAck(ack))) if ack.code == rumqttc::ConnectReturnCode::Success => {
                    return Connect::Up;
                }
                Ok(Event::Incoming(Packet::ConnAck(ack))) => return Connect::Failed(format!("refused: {:?}", ack.code)),
                Ok(_) => {}
                Err(e) => return Connect::Failed(e.to_string()),
            },
            input = inputs.recv() => match input {
                Some(input) => drop_setpoints(pending.absorb(input, stats), stats),
                None => return Connect::Closed,
            },
        }
    }
}

fn drop_setpoints(tick: Option<TickPublications>, stats: &LinkStats) {
    if let Some(tick) = tick {
        stats.setpoints_dropped_offline.fetch_add(tick.setpoints.len() as u64, Ordering::Relaxed);
    }
}

/// Waits out the backoff, taking inputs. False when the director side is gone.
async fn wait_offline(
    delay: Duration,
    inputs: &mut mpsc::UnboundedReceiver<LinkInput>,
    pending: &mut Pending,
    stats: &LinkStats,
) -> bool {
    let until = Instant::now() + delay;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(until) => return true,
            input = inputs.recv() => match input {
                Some(input) => drop_setpoints(pending.absorb(input, stats), stats),
                None => return false,
            },
        }
    }
}

/// Runs one connection until it drops (false) or the director side is gone (true).
async fn connected(
    client: &AsyncClient,
    eventloop: &mut EventLoop,
    inputs: &mut mpsc::UnboundedReceiver<LinkInput>,
    pending: &mut Pending,
    stats: &LinkStats,
    clock: &talos_api::Clock,
) -> bool {
    flush_queued(client, pending, stats);
    loop {
        tokio::select! {
            event = eventloop.poll() => match event {
                Ok(Event::Incoming(Packet::Publish(p))) => stats.intake(&p.topic, &p.payload, clock()),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!("MQTT broker connection lost: {e}");
                    return false;
                }
            },
            input = inputs.recv() => {
                let Some(input) = input else { return true };
                // Everything already waiting: only the newest tick's setpoints go out.
                let mut newest = pending.absorb(input, stats);
                while let Ok(more) = inputs.try_recv() {
                    if let Some(tick) = pending.absorb(more, stats)
                        && let Some(older) = newest.replace(tick)
                    {
                        stats.setpoints_superseded.fetch_add(older.setpoints.len() as u64, Ordering::Relaxed);
                    }
                }
                flush_queued(client, pending, stats);
                if let Some(tick) = newest {
                    send_tick(client, tick, stats);
                }
            }
        }
    }
}

/// Sends queued commands (in order) and due configs, keeping what does not fit.
fn flush_queued(client: &AsyncClient, pending: &mut Pending, stats: &LinkStats) {
    while let Some(p) = pending.commands.front() {
        if client.try_publish(p.topic.clone(), rumqttc_qos(p.qos), p.retain, p.payload.clone()).is_err() {
            return;
        }
        pending.commands.pop_front();
        stats.commands_published.fetch_add(1, Ordering::Relaxed);
    }
    while let Some(topic) = pending.configs_due.last() {
        let Some(p) = pending.configs.get(topic) else {
            pending.configs_due.pop();
            continue;
        };
        if client.try_publish(p.topic.clone(), rumqttc_qos(p.qos), p.retain, p.payload.clone()).is_err() {
            return;
        }
        pending.configs_due.pop();
        stats.configs_published.fetch_add(1, Ordering::Relaxed);
    }
}

fn send_tick(client: &AsyncClient, tick: TickPublications, stats: &LinkStats) {
    let total = tick.setpoints.len();
    let mut sent = 0u64;
    for p in tick.setpoints {
        if client.try_publish(p.topic, rumqttc_qos(p.qos), p.retain, p.payload).is_err() {
            break;
        }
        sent += 1;
    }
    stats.setpoints_published.fetch_add(sent, Ordering::Relaxed);
    if sent < total as u64 {
        stats.setpoints_dropped_backpressure.fetch_add(total as u64 - sent, Ordering::Relaxed);
        tracing::warn!(dropped = total as u64 - sent, "MQTT queue full: setpoints of this tick dropped");
    }
    if let Some(p) = tick.heartbeat
        && client.try_publish(p.topic, rumqttc_qos(p.qos), p.retain, p.payload).is_ok()
    {
        stats.heartbeats_published.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_parse_with_defaults_and_name_what_is_wrong() {
        assert_eq!(parse_broker_url("mqtt://broker.example").unwrap(), ("broker.example".into(), 1883, false));
        assert_eq!(parse_broker_url("mqtts://broker.example").unwrap(), ("broker.example".into(), 8883, true));
        assert_eq!(parse_broker_url("mqtts://10.0.0.2:18883/").unwrap(), ("10.0.0.2".into(), 18883, true));
        assert_eq!(parse_broker_url("mqtt://[::1]:1884").unwrap(), ("::1".into(), 1884, false));
        for (bad, says) in [
            ("tcp://h", "expected mqtt://"),
            ("mqtt://user:pw@h", "credentials go in"),
            ("mqtt://h:0", "port"),
            ("mqtt://h:99999", "port"),
            ("mqtt://", "no host"),
        ] {
            let e = parse_broker_url(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    fn publication(topic: Topic, message: Message) -> Publication {
        talos_link::publication(&topic, &message).unwrap()
    }

    #[test]
    fn ticks_sort_by_how_they_travel_and_commands_wait_in_order_bounded() {
        let rot = publication(
            Topic::cmd(OrgId(1), StationId(2), talos_link::CmdLeaf::Rot),
            Message::Rot(talos_link::RotSetpoint {
                seq: 1,
                valid_until_ms: UnixMs(2_000),
                lease_epoch: 1,
                norad_id: None,
                points: vec![talos_link::RotPoint { t_ms: UnixMs(1_000), az_deg: 1.0, el_deg: 2.0 }],
            }),
        );
        let park = |i: u64| {
            publication(
                Topic::cmd(OrgId(1), StationId(2), talos_link::CmdLeaf::Session),
                Message::Park(talos_link::ParkCommand {
                    correlation_id: format!("c{i}"),
                    lease_epoch: 1,
                    action: talos_link::ParkAction::Stop,
                }),
            )
        };
        let heartbeat = publication(
            Topic::Heartbeat,
            Message::Heartbeat(talos_link::Heartbeat {
                director_id: "d".into(),
                lease_epoch: 1,
                t_ms: UnixMs(1_000),
                tick: 1,
            }),
        );
        let tick = TickPublications::sort(vec![rot.clone(), park(0), heartbeat.clone()]);
        assert_eq!((tick.setpoints.len(), tick.commands.len(), tick.heartbeat.is_some()), (1, 1, true));

        let stats = LinkStats::default();
        let mut pending = Pending { commands: VecDeque::new(), configs: HashMap::new(), configs_due: Vec::new() };
        let commands: Vec<_> = (0..MAX_PENDING_COMMANDS as u64 + 5).map(park).collect();
        let left = pending
            .absorb(LinkInput::Tick(TickPublications { setpoints: vec![rot], commands, heartbeat: None }), &stats);
        assert_eq!(left.unwrap().setpoints.len(), 1, "setpoints are handed back, not queued");
        assert_eq!(pending.commands.len(), MAX_PENDING_COMMANDS);
        assert_eq!(stats.commands_dropped_overflow.load(Ordering::Relaxed), 5);
        assert!(pending.commands.front().unwrap().payload.windows(3).any(|w| w == b"c5\""), "oldest dropped first");

        // A config is due again only when it changed.
        let config = |version: u64| {
            publication(
                Topic::cmd(OrgId(1), StationId(2), talos_link::CmdLeaf::Config),
                Message::Config(talos_link::StationConfig::new(
                    version,
                    talos_link::RotatorLimits { az_min_deg: 0.0, az_max_deg: 450.0, el_min_deg: 0.0, el_max_deg: 90.0 },
                    talos_link::Pointing { az_deg: 0.0, el_deg: 90.0 },
                    talos_link::SlewRates { az_deg_s: 6.0, el_deg_s: 3.0 },
                )),
            )
        };
        pending.absorb(LinkInput::Configs(vec![config(1)]), &stats);
        assert_eq!(pending.configs_due.len(), 1);
        pending.configs_due.clear();
        pending.absorb(LinkInput::Configs(vec![config(1)]), &stats);
        assert!(pending.configs_due.is_empty());
        pending.absorb(LinkInput::Configs(vec![config(2)]), &stats);
        assert_eq!(pending.configs_due.len(), 1);
    }

    #[test]
    fn agent_state_is_validated_recorded_and_refusals_counted() {
        let stats = LinkStats::default();
        let status = publication(
            Topic::state(OrgId(3), StationId(4), StateLeaf::Status),
            Message::Status(StatusReport::online("0.1.0", None)),
        );
        stats.intake(&status.topic, &status.payload, UnixMs(5));
        assert_eq!(stats.agent_counts(), (1, 0, 0));
        assert_eq!(stats.agent(OrgId(3), StationId(4)).unwrap().received, Some(UnixMs(5)));
        stats.intake("talos/v1/3/4/state/rot", b"{not json", UnixMs(6));
        stats.intake("talos/v1/3/4/state/rot", br#"{"schema":"talos.rotstate.v9"}"#, UnixMs(6));
        stats.intake(&status.topic, &vec![b' '; 20_000], UnixMs(6));
        let rejected = lock(&stats.state_rejected);
        assert_eq!(rejected.get(talos_link::RejectReason::Malformed), 1);
        assert_eq!(rejected.get(talos_link::RejectReason::UnknownSchema), 1);
        assert_eq!(rejected.get(talos_link::RejectReason::Oversize), 1);
        assert_eq!(stats.state_received.load(Ordering::Relaxed), 1);
    }
}

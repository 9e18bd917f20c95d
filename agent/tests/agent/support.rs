//! Real parts for the end-to-end tests: Hamlib's dummy daemons and a Mosquitto broker, each
//! on a free loopback port and killed when the test ends; the real `talos-agent` binary; a
//! stand-in director that publishes what the real one would, built with talos-link; and an
//! observer of what the agent publishes.

use std::collections::HashMap;
use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet};
use talos_core::{NoradId, OrgId, StationId, UnixMs};
use talos_link::{
    AgentState, CmdLeaf, Heartbeat, Message, Pointing, RigPoint, RigSetpoint, RotPoint, RotSetpoint, RotState,
    StateLeaf, StatusReport, Topic, decode, publication,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep};

/// The wall clock in ms, as the agent and the director use it.
pub fn now() -> UnixMs {
    UnixMs(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64)
}

/// A port nobody listens on right now (another process may still take it: callers retry).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Unique org/station ids per test, so tests never see each other's messages.
pub fn ids() -> (OrgId, StationId) {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    (OrgId(u64::from(std::process::id()) % 100_000 + 1), StationId(n))
}

/// Polls `check` every 100 ms until it returns `Some` or `within` runs out.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {within:?} waiting for: {what}");
        sleep(Duration::from_millis(100)).await;
    }
}

// ---- child processes ----

/// A child process killed (and reaped) on drop.
#[derive(Debug)]
pub struct Proc {
    child: Option<Child>,
}

impl Proc {
    fn spawn(cmd: &mut Command) -> Self {
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e} (is it installed?)"));
        Self { child: Some(child) }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `program args... PORT-args` on a free port, retrying if the port was taken
/// between the probe and the bind; returns once the port accepts connections.
async fn listen_on_free_port(make: impl Fn(u16) -> Command, what: &str) -> (Proc, u16) {
    for _ in 0..10 {
        let port = free_port();
        if let Some(p) = start_on(&make, port).await {
            return (p, port);
        }
    }
    panic!("could not start {what} on a free port");
}

async fn start_on(make: &impl Fn(u16) -> Command, port: u16) -> Option<Proc> {
    let mut p = Proc::spawn(make(port).stdout(Stdio::null()).stderr(Stdio::null()));
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if p.exited().is_some() {
            return None;
        }
        if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Some(p);
        }
        sleep(Duration::from_millis(20)).await;
    }
    None
}

/// Hamlib's dummy rotator or rig daemon (`-m 1`).
#[derive(Debug)]
pub struct Hamlib {
    program: &'static str,
    pub port: u16,
    proc: Proc,
}

impl Hamlib {
    fn command(program: &'static str, port: u16) -> Command {
        let mut c = Command::new(program);
        c.args(["-m", "1", "-T", "127.0.0.1", "-t", &port.to_string()]);
        c
    }

    pub async fn rotctld() -> Self {
        let (proc, port) = listen_on_free_port(|p| Self::command("rotctld", p), "rotctld").await;
        Self { program: "rotctld", port, proc }
    }

    pub async fn rigctld() -> Self {
        let (proc, port) = listen_on_free_port(|p| Self::command("rigctld", p), "rigctld").await;
        Self { program: "rigctld", port, proc }
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn kill(&mut self) {
        self.proc.kill();
    }

    /// Starts it again on the same port (a fresh dummy: position 0/0).
    pub async fn restart(&mut self) {
        self.proc.kill();
        let program = self.program;
        for _ in 0..50 {
            if let Some(p) = start_on(&|port| Self::command(program, port), self.port).await {
                self.proc = p;
                return;
            }
            sleep(Duration::from_millis(100)).await;
        }
        panic!("could not restart {program} on port {}", self.port);
    }

    /// One command on a fresh connection, as a person with `nc` would; `lines` value lines.
    pub async fn ask(&self, command: &str, lines: usize) -> Vec<String> {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).await.expect("daemon reachable");
        let mut stream = BufReader::new(stream);
        stream.get_mut().write_all(format!("{command}\n").as_bytes()).await.unwrap();
        let mut out = Vec::new();
        for _ in 0..lines {
            let mut line = String::new();
            tokio::time::timeout(Duration::from_secs(2), stream.read_line(&mut line)).await.unwrap().unwrap();
            out.push(line.trim().to_owned());
        }
        out
    }

    /// The rotator's read-back (`p`).
    pub async fn position(&self) -> Pointing {
        let v = self.ask("p", 2).await;
        Pointing { az_deg: v[0].parse().unwrap(), el_deg: v[1].parse().unwrap() }
    }

    /// The radio's frequency (`f`).
    pub async fn frequency_hz(&self) -> f64 {
        self.ask("f", 1).await[0].parse().unwrap()
    }

    /// The radio's mode (`m`).
    pub async fn mode(&self) -> String {
        self.ask("m", 2).await.swap_remove(0)
    }
}

/// A Mosquitto broker of the test's own: loopback only, anonymous, no persistence.
#[derive(Debug)]
pub struct Broker {
    /// The plain, anonymous listener.
    pub port: u16,
    /// The TLS listener that wants a password, when started with [`Broker::start_tls`].
    pub tls: Option<TlsListener>,
    conf: PathBuf,
    proc: Proc,
    _dir: tempfile::TempDir,
}

/// A TLS listener with a password file.
#[derive(Debug, Clone)]
pub struct TlsListener {
    pub port: u16,
    /// PEM of the test CA that signed the broker's certificate (for `localhost`).
    pub ca_file: PathBuf,
    pub username: String,
    pub password: String,
}

impl Broker {
    fn command(conf: &Path) -> Command {
        let mut c = Command::new("mosquitto");
        c.arg("-c").arg(conf);
        c
    }

    fn write_conf(dir: &Path, port: u16) -> PathBuf {
        let conf = dir.join(format!("mosquitto-{port}.conf"));
        std::fs::write(&conf, format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")).unwrap();
        conf
    }

    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for _ in 0..10 {
            let port = free_port();
            let conf = Self::write_conf(dir.path(), port);
            if let Some(proc) = start_on(&|_| Self::command(&conf), port).await {
                return Self { port, tls: None, conf, proc, _dir: dir };
            }
        }
        panic!("could not start mosquitto on a free port");
    }

    /// A broker with a plain anonymous listener (for the test's own clients) and a TLS
    /// listener that accepts only `username`/`password`, with a certificate for `localhost`
    /// signed by a CA made here with `openssl`.
    pub async fn start_tls(username: &str, password: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let run = |args: &[&str]| {
            let out = Command::new(args[0]).args(&args[1..]).current_dir(d).output().unwrap_or_else(|e| {
                panic!("cannot run {} (is it installed?): {e}", args[0]);
            });
            assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        let subj_ca = "/CN=talos-test-ca";
        run(&["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem"]
            .iter()
            .copied()
            .chain(["-days", "2", "-subj", subj_ca])
            .collect::<Vec<_>>());
        run(&["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr"]
            .iter()
            .copied()
            .chain(["-subj", "/CN=localhost"])
            .collect::<Vec<_>>());
        std::fs::write(d.join("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
        run(&[
            "openssl",
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ]);
        run(&["mosquitto_passwd", "-c", "-b", "passwd", username, password]);
        for _ in 0..10 {
            let (port, tls_port) = (free_port(), free_port());
            let conf = d.join(format!("mosquitto-{port}.conf"));
            // `user root`: a broker started by root keeps the rights to read these files.
            std::fs::write(
                &conf,
                format!(
                    "user root\nper_listener_settings true\npersistence false\n\
                     listener {port} 127.0.0.1\nallow_anonymous true\n\
                     listener {tls_port} 127.0.0.1\nallow_anonymous false\npassword_file {dir}/passwd\n\
                     cafile {dir}/ca.pem\ncertfile {dir}/server.pem\nkeyfile {dir}/server.key\n",
                    dir = d.display()
                ),
            )
            .unwrap();
            if let Some(proc) = start_on(&|_| Self::command(&conf), port).await {
                let tls = TlsListener {
                    port: tls_port,
                    ca_file: d.join("ca.pem"),
                    username: username.to_owned(),
                    password: password.to_owned(),
                };
                return Self { port, tls: Some(tls), conf, proc, _dir: dir };
            }
        }
        panic!("could not start mosquitto with TLS on free ports");
    }

    pub async fn restart(&mut self) {
        self.proc.kill();
        for _ in 0..50 {
            if let Some(p) = start_on(&|_| Self::command(&self.conf), self.port).await {
                self.proc = p;
                return;
            }
            sleep(Duration::from_millis(100)).await;
        }
        panic!("could not restart mosquitto on port {}", self.port);
    }
}

// ---- the agent ----

/// Settings of one agent under test.
#[derive(Debug, Clone)]
pub struct AgentSetup {
    pub org: OrgId,
    pub station: StationId,
    pub broker_port: u16,
    pub rotctld: String,
    pub rigctld: Option<String>,
    pub park: Pointing,
    pub az_max_deg: f64,
    pub dead_man_ms: u64,
    pub heartbeat_timeout_ms: u64,
    pub stuck_time_ms: u64,
    /// Connect over TLS with these credentials instead of the plain listener.
    pub tls: Option<TlsListener>,
}

impl AgentSetup {
    pub fn new(broker: &Broker, rot: &Hamlib) -> Self {
        let (org, station) = ids();
        Self {
            org,
            station,
            broker_port: broker.port,
            rotctld: rot.address(),
            rigctld: None,
            park: Pointing { az_deg: 0.0, el_deg: 0.0 },
            az_max_deg: 450.0,
            dead_man_ms: 3_000,
            heartbeat_timeout_ms: 10_000,
            stuck_time_ms: 10_000,
            tls: None,
        }
    }

    pub fn toml(&self) -> String {
        let rig = match &self.rigctld {
            Some(a) => format!("[rig]\naddress = \"{a}\"\ndeadband_hz = 10.0\n"),
            None => String::new(),
        };
        let broker = match &self.tls {
            Some(t) => format!(
                "host = \"localhost\"\nport = {}\ntls = true\nca_file = \"{}\"\nusername = \"{}\"\npassword = \"{}\"",
                t.port,
                t.ca_file.display(),
                t.username,
                t.password
            ),
            None => format!("host = \"127.0.0.1\"\nport = {}", self.broker_port),
        };
        format!(
            r#"[station]
org_id = {org}
station_id = {station}

[broker]
{broker}
keep_alive_s = 2
reconnect_max_ms = 1000

[rotator]
address = "{rot}"
az_min_deg = 0.0
az_max_deg = {az_max}
el_min_deg = 0.0
el_max_deg = 90.0
park_az_deg = {park_az}
park_el_deg = {park_el}
deadband_deg = 0.5
park_tolerance_deg = 1.0
stuck_threshold_deg = 5.0
stuck_time_ms = {stuck}

{rig}
[safety]
dead_man_ms = {dead}
heartbeat_timeout_ms = {hb}
shutdown_park_timeout_ms = 15000

[control]
rate_hz = 10.0
telemetry_interval_ms = 500

[hamlib]
timeout_ms = 1000
reconnect_min_ms = 100
reconnect_max_ms = 500
"#,
            org = self.org,
            station = self.station,
            rot = self.rotctld,
            az_max = self.az_max_deg,
            park_az = self.park.az_deg,
            park_el = self.park.el_deg,
            stuck = self.stuck_time_ms,
            dead = self.dead_man_ms,
            hb = self.heartbeat_timeout_ms,
        )
    }
}

/// The real `talos-agent` binary, its log kept in a file and printed if the test fails.
#[derive(Debug)]
pub struct Agent {
    proc: Proc,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Agent {
    pub fn start(setup: &AgentSetup) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("agent.toml");
        std::fs::write(&config, setup.toml()).unwrap();
        let log = dir.path().join("agent.log");
        let log_file = std::fs::File::create(&log).unwrap();
        let proc = Proc::spawn(
            Command::new(env!("CARGO_BIN_EXE_talos-agent"))
                .arg("--config")
                .arg(&config)
                .env("RUST_LOG", "info,talos_agent=debug")
                .env_remove(talos_agent::config::PASSWORD_ENV)
                .stdout(Stdio::null())
                .stderr(log_file),
        );
        Self { proc, log, _dir: dir }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn sigterm(&self) {
        let status = Command::new("kill").args(["-TERM", &self.proc.pid().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit on its own.
    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        eventually(within, "the agent to exit", || {
            let status = self.proc.exited();
            async move { status }
        })
        .await
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.proc.kill();
        if std::thread::panicking() {
            eprintln!("---- talos-agent log ----\n{}---- end of log ----", self.log());
        }
    }
}

// ---- MQTT clients ----

type Inbox = tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>;

/// A connected client, its inbox and its event-loop task. Client ids are unique, so a
/// client left behind can never take over a newer one's connection. A SUBACK shows in the
/// inbox as an empty topic and payload.
async fn connect(port: u16, role: &str) -> (AsyncClient, Inbox, tokio::task::JoinHandle<()>) {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let id = format!("{role}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let mut options = MqttOptions::new(id, "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(5));
    options.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = AsyncClient::new(options, 256);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let mut ready = Some(ready_tx);
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if tx.send((p.topic, p.payload.to_vec())).is_err() {
                        return;
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if tx.send((String::new(), Vec::new())).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => sleep(Duration::from_millis(100)).await,
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(5), ready_rx).await.expect("broker reachable").unwrap();
    (client, rx, task)
}

/// What the agent publishes, decoded with talos-link.
#[derive(Debug)]
pub struct Observer {
    seen: Arc<Mutex<Vec<(Topic, Message)>>>,
    /// Anything the agent published that talos-link refuses (must stay empty).
    invalid: Arc<Mutex<Vec<String>>>,
    org: OrgId,
    station: StationId,
    tasks: [tokio::task::JoinHandle<()>; 2],
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.tasks.iter().for_each(|t| t.abort());
    }
}

impl Observer {
    pub async fn start(broker: &Broker, org: OrgId, station: StationId) -> Self {
        let (client, mut rx, loop_task) = connect(broker.port, "observer").await;
        client.subscribe(format!("talos/v1/{org}/{station}/state/#"), rumqttc::QoS::AtLeastOnce).await.unwrap();
        // Nothing the agent publishes from here on is missed.
        let subscribed = async {
            while let Some((topic, _)) = rx.recv().await {
                if topic.is_empty() {
                    return;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(5), subscribed)
            .await
            .expect("the broker acknowledges the subscription");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let invalid = Arc::new(Mutex::new(Vec::new()));
        let (sink, bad) = (seen.clone(), invalid.clone());
        let task = tokio::spawn(async move {
            let _client = client;
            while let Some((topic, payload)) = rx.recv().await {
                if payload.is_empty() {
                    continue;
                }
                match (decode(&topic, &payload), Topic::parse(&topic)) {
                    (Ok(message), Ok(parsed)) => sink.lock().unwrap().push((parsed, message)),
                    (Err(e), _) => bad.lock().unwrap().push(format!("{topic}: {e}")),
                    (_, Err(e)) => bad.lock().unwrap().push(format!("{topic}: {e}")),
                }
            }
        });
        Self { seen, invalid, org, station, tasks: [loop_task, task] }
    }

    /// Everything seen so far, after checking the agent published nothing invalid.
    fn messages(&self) -> Vec<(Topic, Message)> {
        let invalid = self.invalid.lock().unwrap().clone();
        assert!(invalid.is_empty(), "the agent published messages talos-link refuses: {invalid:?}");
        self.seen.lock().unwrap().clone()
    }

    pub fn statuses(&self) -> Vec<StatusReport> {
        let topic = Topic::state(self.org, self.station, StateLeaf::Status);
        self.messages()
            .iter()
            .filter_map(|(t, m)| match m {
                Message::Status(s) if *t == topic => Some(s.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn last_status(&self) -> Option<StatusReport> {
        self.statuses().pop()
    }

    pub fn rot_states(&self) -> Vec<RotState> {
        self.messages()
            .iter()
            .filter_map(|(_, m)| match m {
                Message::RotState(s) => Some(s.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn last_rot_state(&self) -> Option<RotState> {
        self.rot_states().pop()
    }

    pub fn last_rig_state(&self) -> Option<talos_link::RigState> {
        self.messages().iter().rev().find_map(|(_, m)| match m {
            Message::RigState(s) => Some(s.clone()),
            _ => None,
        })
    }

    /// Waits for a status in `state`, whose reason (if `reason` is given) contains it.
    pub async fn wait_status(&self, within: Duration, state: AgentState, reason: Option<&str>) -> StatusReport {
        eventually(within, &format!("a {state:?} status (reason {reason:?})"), || {
            let found = self.statuses().into_iter().rev().find(|s| {
                s.state == state && reason.is_none_or(|r| s.reason.as_deref().is_some_and(|x| x.contains(r)))
            });
            async move { found }
        })
        .await
    }
}

/// A trajectory: where the antenna should point at a time.
pub type Path2 = Arc<dyn Fn(UnixMs) -> Pointing + Send + Sync>;
/// A downlink frequency curve.
pub type Curve = Arc<dyn Fn(UnixMs) -> f64 + Send + Sync>;

/// What the stand-in director publishes each 500 ms tick.
#[derive(Clone)]
pub struct Plan {
    pub heartbeat: bool,
    pub rot: Option<Path2>,
    pub rig: Option<Curve>,
}

/// Publishes as the director would: a heartbeat and setpoints every 500 ms (seq = tick time
/// in ms, valid for 2 s, points every 500 ms over the next 2 s), built with talos-link.
pub struct Director {
    pub client: AsyncClient,
    plan: Arc<Mutex<Plan>>,
    org: OrgId,
    station: StationId,
    tasks: [tokio::task::JoinHandle<()>; 2],
}

impl std::fmt::Debug for Director {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Director").field("org", &self.org).field("station", &self.station).finish()
    }
}

pub const EPOCH: u64 = 7;

impl Director {
    pub async fn start(broker: &Broker, org: OrgId, station: StationId, plan: Plan) -> Self {
        let (client, _rx, loop_task) = connect(broker.port, "director").await;
        let plan = Arc::new(Mutex::new(plan));
        let (c, p) = (client.clone(), plan.clone());
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            let mut n = 0u64;
            loop {
                tick.tick().await;
                n += 1;
                let plan = p.lock().unwrap().clone();
                let t = now();
                if plan.heartbeat {
                    let hb = Heartbeat { director_id: "test-director".into(), lease_epoch: EPOCH, t_ms: t, tick: n };
                    send(&c, Topic::Heartbeat, Message::Heartbeat(hb)).await;
                }
                if let Some(path) = &plan.rot {
                    send(&c, Topic::cmd(org, station, CmdLeaf::Rot), Message::Rot(rot_setpoint(t, EPOCH, path))).await;
                }
                if let Some(curve) = &plan.rig {
                    send(&c, Topic::cmd(org, station, CmdLeaf::Rig), Message::Rig(rig_setpoint(t, curve))).await;
                }
            }
        });
        Self { client, plan, org, station, tasks: [loop_task, task] }
    }

    pub fn set_plan(&self, plan: Plan) {
        *self.plan.lock().unwrap() = plan;
    }

    /// Publishes one message to this station (outside the 500 ms plan).
    pub async fn send(&self, leaf: CmdLeaf, message: Message) {
        send(&self.client, Topic::cmd(self.org, self.station, leaf), message).await;
    }

    /// Publishes raw bytes on one of this station's command topics.
    pub async fn send_raw(&self, leaf: CmdLeaf, payload: Vec<u8>) {
        let topic = Topic::cmd(self.org, self.station, leaf).to_string();
        self.client.publish(topic, rumqttc::QoS::AtLeastOnce, false, payload).await.unwrap();
    }
}

impl Drop for Director {
    fn drop(&mut self) {
        self.tasks.iter().for_each(|t| t.abort());
    }
}

async fn send(client: &AsyncClient, topic: Topic, message: Message) {
    let p = publication(&topic, &message).expect("the test director builds valid messages");
    let qos = if p.qos.level() == 0 { rumqttc::QoS::AtMostOnce } else { rumqttc::QoS::AtLeastOnce };
    client.publish(p.topic, qos, p.retain, p.payload).await.unwrap();
}

/// A rotator setpoint as the director makes it at `t`.
pub fn rot_setpoint(t: UnixMs, lease_epoch: u64, path: &Path2) -> RotSetpoint {
    RotSetpoint {
        seq: t.0 as u64,
        valid_until_ms: t.plus_ms(2_000),
        lease_epoch,
        norad_id: NoradId::new(25544).ok(),
        points: (0..=4)
            .map(|i| {
                let at = t.plus_ms(i * 500);
                let p = path(at);
                RotPoint { t_ms: at, az_deg: p.az_deg, el_deg: p.el_deg }
            })
            .collect(),
    }
}

fn rig_setpoint(t: UnixMs, curve: &Curve) -> RigSetpoint {
    RigSetpoint {
        seq: t.0 as u64,
        valid_until_ms: t.plus_ms(2_000),
        lease_epoch: EPOCH,
        norad_id: NoradId::new(25544).unwrap(),
        mode: "FM".into(),
        points: (0..=4)
            .map(|i| {
                let at = t.plus_ms(i * 500);
                RigPoint { t_ms: at, downlink_hz: Some(curve(at)), uplink_hz: None }
            })
            .collect(),
        driver: None,
    }
}

/// The larger axis difference, deg.
pub fn off_by(a: Pointing, b: Pointing) -> f64 {
    (a.az_deg - b.az_deg).abs().max((a.el_deg - b.el_deg).abs())
}

/// Counts of refused messages by reason, from a status.
pub fn rejects(status: &StatusReport) -> HashMap<&'static str, u64> {
    let t = status.rejects.unwrap_or_default();
    HashMap::from([
        ("bad_topic", t.bad_topic),
        ("oversize", t.oversize),
        ("malformed", t.malformed),
        ("unknown_schema", t.unknown_schema),
        ("wrong_topic", t.wrong_topic),
        ("out_of_range", t.out_of_range),
        ("stale", t.stale),
        ("out_of_order", t.out_of_order),
        ("old_epoch", t.old_epoch),
    ])
}

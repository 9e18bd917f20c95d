//! The MQTT edge end to end, with real parts only: `talos serve --demo` (director, API and
//! the embedded broker) on the wall clock, a station's credentials and agent.toml from
//! `talos station agent-config`, the real `talos-agent`, and Hamlib's dummy `rotctld` and
//! `rigctld` on free ports. The dummy rotator's read-back must follow what the director
//! commands for a real pass, the dummy rig's frequency the Doppler-corrected downlink; bad
//! payloads are counted by the director; killing the director stops the rotator within the
//! dead-man time and parks it after the heartbeat timeout.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TALOS: &str = env!("CARGO_BIN_EXE_talos");
/// ES'HAIL 2 (geostationary): tracked all day by the demo's European stations, never a pass.
const ESHAIL2: u64 = 43700;

/// The `talos-agent` binary beside `talos` (built by `cargo test --workspace`; built here
/// when only this package's tests run).
fn agent_binary() -> PathBuf {
    let path = Path::new(TALOS).with_file_name("talos-agent");
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "talos-agent", "--bin", "talos-agent"])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building talos-agent failed");
    }
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A child process killed when the test ends; its stderr lines kept for assertions and
/// failure messages.
struct Proc {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Proc {
    fn spawn(command: &mut Command) -> Proc {
        let mut child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("the program runs");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Proc { child, lines }
    }

    fn text(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A Hamlib dummy daemon (`rotctld -m 1` or `rigctld -m 1`) on a free port.
struct Hamlib {
    port: u16,
    _proc: Proc,
}

impl Hamlib {
    fn start(program: &str) -> Hamlib {
        for _ in 0..20 {
            let port = free_port();
            let mut proc =
                Proc::spawn(Command::new(program).args(["-m", "1", "-T", "127.0.0.1", "-t", &port.to_string()]));
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Hamlib { port, _proc: proc };
                }
                if let Ok(Some(_)) = proc.child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            proc.kill();
        }
        panic!("{program} did not start (apt-get install libhamlib-utils)");
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// One command on a fresh connection; `lines` value lines back.
    fn ask(&self, command: &str, lines: usize) -> Vec<String> {
        use std::io::Write;
        let stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("daemon reachable");
        stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        (&stream).write_all(format!("{command}\n").as_bytes()).unwrap();
        (0..lines)
            .map(|_| {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                line.trim().to_owned()
            })
            .collect()
    }

    fn position(&self) -> (f64, f64) {
        let v = self.ask("p", 2);
        (v[0].parse().unwrap(), v[1].parse().unwrap())
    }

    fn frequency_hz(&self) -> f64 {
        self.ask("f", 1)[0].parse().unwrap()
    }
}

/// `talos serve --demo` on the wall clock, the API and the embedded broker on free ports.
struct Serve {
    proc: Proc,
    url: String,
    mqtt_port: u16,
    api_key: String,
    data_dir: tempfile::TempDir,
}

impl Serve {
    /// With the embedded broker (`mosquitto: None`), or with Mosquitto on `port` and the
    /// director's password from the files of `talos mqtt mosquitto-config`.
    fn start(data_dir: tempfile::TempDir, mosquitto: Option<(u16, &Path)>) -> Serve {
        let mut command = Command::new(TALOS);
        command
            .args(["serve", "--demo", "--quiet", "--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(data_dir.path())
            .env_remove("TALOS_DATABASE_URL")
            .env_remove("TALOS_MQTT_URL")
            .env("TALOS_LOG", "info,sqlx=warn,rumqttd=warn");
        match mosquitto {
            Some((port, files)) => command
                .args(["--mqtt-url", &format!("mqtt://127.0.0.1:{port}"), "--mqtt-password-file"])
                .arg(files.join("director-password")),
            None => command.args(["--mqtt-listen", "127.0.0.1:0"]),
        };
        let proc = Proc::spawn(&mut command);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let text = proc.text();
            let find = |prefix: &str| text.lines().find_map(|l| l.strip_prefix(prefix)).map(str::to_owned);
            let mqtt_port = match mosquitto {
                Some((port, _)) => Some(port),
                None => find("talos: MQTT broker (embedded) listening on ")
                    .map(|at| at.rsplit_once(':').unwrap().1.parse().unwrap()),
            };
            if let (Some(url), Some(mqtt_port), Some(key)) =
                (find("talos: API listening on "), mqtt_port, find("talos: demo API key "))
            {
                let api_key = key.split_whitespace().next().unwrap().to_owned();
                return Serve { proc, url, mqtt_port, api_key, data_dir };
            }
            assert!(Instant::now() < deadline, "talos serve did not start within 120 s:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `talos station agent-config` for one station: a fresh credential and agent.toml.
    fn agent_config(&self, org: u64, station: u64, rot: &Hamlib, rig: &Hamlib) -> String {
        let out = Command::new(TALOS)
            .args(["station", "agent-config", &station.to_string(), "--org", &org.to_string()])
            .args(["--broker-host", "127.0.0.1", "--broker-port", &self.mqtt_port.to_string()])
            .args(["--rotctld", &rot.address(), "--rigctld", &rig.address()])
            .arg("--data-dir")
            .arg(self.data_dir.path())
            .env_remove("TALOS_DATABASE_URL")
            .output()
            .unwrap();
        assert!(out.status.success(), "agent-config failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
}

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

async fn get(http: &reqwest::Client, serve: &Serve, path: &str) -> Value {
    let res = http.get(format!("{}{path}", serve.url)).bearer_auth(&serve.api_key).send().await.unwrap();
    assert_eq!(res.status(), 200, "GET {path}");
    serde_json::from_str(&res.text().await.unwrap()).unwrap()
}

async fn metrics(http: &reqwest::Client, serve: &Serve) -> String {
    http.get(format!("{}/metrics", serve.url)).send().await.unwrap().text().await.unwrap()
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines().find_map(|l| l.strip_prefix(name)?.trim().parse().ok()).unwrap_or(0.0)
}

/// What the director commands a station, tick by tick, from the SSE stream.
#[derive(Debug, Clone, Copy)]
struct Commanded {
    at: Instant,
    az_deg: f64,
    el_deg: f64,
    downlink_hz: Option<f64>,
    norad_id: u64,
}

/// Follows the live stream in the background, keeping each station's last commanded state.
fn watch(http: reqwest::Client, serve: &Serve, org: u64) -> Arc<Mutex<std::collections::HashMap<u64, Commanded>>> {
    let board = Arc::new(Mutex::new(std::collections::HashMap::new()));
    let sink = board.clone();
    let url = format!("{}/api/v1/stream?org={org}", serve.url);
    let key = serve.api_key.clone();
    tokio::spawn(async move {
        let mut res = http.get(url).bearer_auth(key).timeout(Duration::from_secs(3600)).send().await.unwrap();
        let mut buffer = String::new();
        while let Ok(Some(chunk)) = res.chunk().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                if !block.lines().any(|l| l == "event: tracking") {
                    continue;
                }
                let data = block.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or("null");
                let frame: Value = serde_json::from_str(data).unwrap();
                let at = Instant::now();
                let mut board = sink.lock().unwrap();
                board.clear();
                for s in frame["stations"].as_array().into_iter().flatten() {
                    if s["state"] != "tracking" {
                        continue;
                    }
                    board.insert(
                        s["station"].as_u64().unwrap(),
                        Commanded {
                            at,
                            az_deg: s["az_deg"].as_f64().unwrap(),
                            el_deg: s["el_deg"].as_f64().unwrap(),
                            downlink_hz: s["downlink_hz"].as_f64(),
                            norad_id: s["norad_id"].as_u64().unwrap_or(0),
                        },
                    );
                }
            }
        }
    });
    board
}

/// Angular distance on the az/el grid (azimuth modulo 360), degrees.
fn off_by((az, el): (f64, f64), c: &Commanded) -> f64 {
    let daz = (az - c.az_deg).rem_euclid(360.0);
    daz.min(360.0 - daz).hypot(el - c.el_deg)
}

fn toml_value(toml: &str, key: &str) -> f64 {
    toml.lines()
        .find_map(|l| l.trim().strip_prefix(key)?.trim().strip_prefix('=')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{key} in the agent config:\n{toml}"))
}

fn set_toml_value(toml: &str, key: &str, value: &str) -> String {
    let mut found = false;
    let out: Vec<String> = toml
        .lines()
        .map(|l| {
            if l.trim_start().starts_with(&format!("{key} ")) || l.trim_start().starts_with(&format!("{key}=")) {
                found = true;
                format!("{key} = {value}")
            } else {
                l.to_owned()
            }
        })
        .collect();
    assert!(found, "{key} in the agent config:\n{toml}");
    out.join("\n")
}

async fn eventually<T>(within: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {within:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_agent_follows_a_real_pass_through_the_embedded_broker_and_parks_when_the_director_dies() {
    follow_a_pass_then_lose_the_director(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_agent_follows_a_real_pass_through_mosquitto_with_the_generated_acl_and_parks_when_the_director_dies() {
    follow_a_pass_then_lose_the_director(true).await;
}

/// The whole path, through the embedded broker or through Mosquitto configured by
/// `talos mqtt mosquitto-config` (the director's password file; the station's credentials
/// added once `agent-config` issued them, as an operator would).
async fn follow_a_pass_then_lose_the_director(through_mosquitto: bool) {
    let agent_bin = agent_binary();
    let data_dir = tempfile::tempdir().unwrap();
    let files = data_dir.path().join("mosquitto");
    let mosquitto_port = free_port();
    if through_mosquitto {
        // The director's password file first: the director logs in with it from the start.
        talos_verb(data_dir.path(), &["mqtt", "mosquitto-config", "--out", files.to_str().unwrap()]);
    }
    let mut serve = Serve::start(data_dir, through_mosquitto.then_some((mosquitto_port, files.as_path())));
    let http = http();
    let orgs = get(&http, &serve, "/api/v1/orgs").await;
    let org = orgs["items"][0]["id"].as_u64().expect("the demo organization");
    let board = watch(http.clone(), &serve, org);

    // A station in a pass that lasts long enough for the dummy rotator (6 deg/s) to catch up
    // and be watched: the director's own pass prediction says when its LOS is.
    let now_ms = || chrono::Utc::now().timestamp_millis();
    let (station, los_ms) = {
        let mut chosen = None;
        let deadline = Instant::now() + Duration::from_secs(60);
        while chosen.is_none() {
            assert!(Instant::now() < deadline, "no demo station in a long enough pass:\n{}", serve.proc.text());
            tokio::time::sleep(Duration::from_millis(500)).await;
            let mut candidates: Vec<(u64, Commanded)> = board.lock().unwrap().iter().map(|(s, c)| (*s, *c)).collect();
            // Prefer low-orbit passes (a real Doppler curve), highest first.
            candidates.sort_by(|a, b| {
                (a.1.norad_id == ESHAIL2).cmp(&(b.1.norad_id == ESHAIL2)).then(b.1.el_deg.total_cmp(&a.1.el_deg))
            });
            for (station, c) in candidates.into_iter().take(12) {
                let passes = get(&http, &serve, &format!("/api/v1/orgs/{org}/stations/{station}/passes?hours=1")).await;
                let now = now_ms();
                let current = passes["passes"].as_array().unwrap().iter().find(|p| {
                    p["norad_id"].as_u64() == Some(c.norad_id)
                        && p["aos"].as_i64().unwrap_or(i64::MAX) <= now
                        && p["los"].as_i64().unwrap_or(0) > now + 150_000
                });
                if let Some(p) = current {
                    chosen = Some((station, p["los"].as_i64().unwrap()));
                    break;
                }
                if c.norad_id == ESHAIL2 {
                    // Geostationary: "in pass" all day.
                    chosen = Some((station, i64::MAX));
                    break;
                }
            }
        }
        chosen.unwrap()
    };

    let rot = Hamlib::start("rotctld");
    let rig = Hamlib::start("rigctld");
    let config = serve.agent_config(org, station, &rot, &rig);
    // Mosquitto learns of the station's credentials from the regenerated files; the director
    // has been retrying (with backoff) until the broker is up.
    let _mosquitto = through_mosquitto.then(|| {
        let summary =
            talos_verb(serve.data_dir.path(), &["mqtt", "mosquitto-config", "--out", files.to_str().unwrap()]);
        assert!(summary.contains("director + 1 stations") && summary.contains("(kept)"), "{summary}");
        Mosquitto::start(mosquitto_port, &files)
    });
    assert!(config.contains(&format!("station_id = {station}")), "{config}");
    // A short heartbeat timeout keeps the test quick; the dead-man stays at its 3 s default.
    let config = set_toml_value(&config, "heartbeat_timeout_ms", "5000");
    assert_eq!(toml_value(&config, "dead_man_ms"), 3000.0);
    let park = (toml_value(&config, "park_az_deg"), toml_value(&config, "park_el_deg"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("agent.toml"), &config).unwrap();
    let agent = Proc::spawn(
        Command::new(&agent_bin)
            .arg("--config")
            .arg(dir.path().join("agent.toml"))
            .env_remove("TALOS_AGENT_MQTT_PASSWORD")
            .env("RUST_LOG", "info"),
    );
    let commanded = || board.lock().unwrap().get(&station).copied();

    // The rotator catches up with the pass (up to 360 deg of azimuth at 6 deg/s)...
    let context = || format!("agent:\n{}\nserve:\n{}", agent.text(), serve.proc.text());
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let at = rot.position();
        if let Some(c) = commanded()
            && off_by(at, &c) < 1.0
        {
            break;
        }
        assert!(Instant::now() < deadline, "rotator at {at:?}, commanded {:?}\n{}", commanded(), context());
        assert!(now_ms() < los_ms, "the pass ended before the rotator caught up\n{}", context());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // ... and stays on it, tick after tick, as the satellite moves.
    let first = commanded().unwrap();
    let mut moved_deg: f64 = 0.0;
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let c = commanded().expect("still tracking");
        assert!(c.at.elapsed() < Duration::from_secs(2), "the stream is live");
        let at = rot.position();
        assert!(off_by(at, &c) < 1.5, "rotator at {at:?}, commanded {c:?}\n{}", context());
        moved_deg = moved_deg.max(off_by((c.az_deg, c.el_deg), &first));
    }
    if first.norad_id != ESHAIL2 {
        assert!(moved_deg > 0.5, "a low-orbit satellite moves across the sky: {moved_deg} deg in 6 s");
    }

    // The rig follows the Doppler-corrected downlink the director computes.
    let c = commanded().unwrap();
    let want = c.downlink_hz.expect("a tuned downlink");
    let hz = rig.frequency_hz();
    assert!((hz - want).abs() < 2_000.0, "rig at {hz} Hz, director commands {want} Hz\n{}", context());

    // The director hears the agent: online, with its telemetry.
    let deadline = Instant::now() + Duration::from_secs(5);
    while metric(&metrics(&http, &serve).await, "talos_agents{state=\"online\"}") != 1.0 {
        assert!(Instant::now() < deadline, "the director never saw the agent online\n{}", context());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let m = metrics(&http, &serve).await;
    assert_eq!(metric(&m, "talos_agents{state=\"online\"}"), 1.0, "{m}");
    assert!(metric(&m, "talos_mqtt_state_received_total") > 0.0, "{m}");
    assert!(metric(&m, "talos_mqtt_published_total{kind=\"setpoint\"}") > 0.0, "{m}");

    // Hostile payloads with the station's own credentials: counted, nothing breaks.
    let username = format!("station-{org}-{station}");
    let password = config
        .lines()
        .find_map(|l| l.trim().strip_prefix("password =").map(|v| v.trim().trim_matches('"').to_owned()))
        .expect("the password in agent.toml");
    let mut options = rumqttc::MqttOptions::new("hostile", "127.0.0.1", serve.mqtt_port);
    options.set_credentials(username, password);
    options.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 16);
    let base = format!("talos/v1/{org}/{station}/state");
    client.publish(format!("{base}/rot"), rumqttc::QoS::AtLeastOnce, false, "{not json").await.unwrap();
    client
        .publish(format!("{base}/rot"), rumqttc::QoS::AtLeastOnce, false, r#"{"schema":"talos.rotstate.v9"}"#)
        .await
        .unwrap();
    client.publish(format!("{base}/rig"), rumqttc::QoS::AtLeastOnce, false, vec![b'x'; 20_000]).await.unwrap();
    let pump = tokio::spawn(async move {
        let mut acks = 0;
        while acks < 3 {
            if let Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) = eventloop.poll().await {
                acks += 1;
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(5), pump).await.unwrap().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let m = metrics(&http, &serve).await;
        let rejected = |r: &str| metric(&m, &format!("talos_mqtt_state_rejected_total{{reason=\"{r}\"}}"));
        if rejected("malformed") >= 1.0 && rejected("unknown_schema") >= 1.0 && rejected("oversize") >= 1.0 {
            assert_eq!(metric(&m, "talos_missed_ticks_total"), 0.0, "{m}");
            break;
        }
        assert!(Instant::now() < deadline, "the director did not count the bad payloads:\n{m}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let c = commanded().unwrap();
    assert!(off_by(rot.position(), &c) < 1.5, "still tracking after the bad payloads");

    // The director dies (SIGKILL: no goodbye; the embedded broker goes with it). The agent's
    // log says when it acted: dead-man stop within 3 s, park after the 5 s heartbeat timeout.
    serve.proc.kill();
    let killed_ms = now_ms();
    let parked_pos = Commanded { az_deg: park.0, el_deg: park.1, ..c };
    // Up to 450 deg of azimuth back to park at the dummy rotator's 6 deg/s.
    let deadline = Instant::now() + Duration::from_secs(90);
    while off_by(rot.position(), &parked_pos) >= 1.0 {
        assert!(Instant::now() < deadline, "rotator at {:?}, not parked at {park:?}\n{}", rot.position(), agent.text());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = agent.text();
    let logged_at = |needle: &str| -> i64 {
        let line =
            log.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle:?} in the agent log:\n{log}"));
        let stamp = line.split_whitespace().next().unwrap();
        let stamp = stamp.trim_start_matches(|ch: char| !ch.is_ascii_digit());
        chrono::DateTime::parse_from_rfc3339(stamp.trim_end_matches(|ch: char| !ch.is_ascii_alphanumeric()))
            .unwrap_or_else(|e| panic!("timestamp {stamp:?}: {e}"))
            .timestamp_millis()
    };
    let stopped_after_ms = logged_at("dead-man") - killed_ms;
    let parked_after_ms = logged_at("director heartbeat lost") - killed_ms;
    assert!((0..3_600).contains(&stopped_after_ms), "dead-man stop {stopped_after_ms} ms after the kill\n{log}");
    assert!((4_400..6_500).contains(&parked_after_ms), "park {parked_after_ms} ms after the kill\n{log}");
}

/// Runs a `talos` verb on a data directory; its stdout.
fn talos_verb(data_dir: &Path, args: &[&str]) -> String {
    let out = Command::new(TALOS)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("TALOS_DATABASE_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "talos {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Mosquitto with the files of `talos mqtt mosquitto-config` on a free loopback port.
struct Mosquitto {
    port: u16,
    conf: PathBuf,
    proc: Proc,
}

impl Mosquitto {
    fn start(port: u16, files: &Path) -> Mosquitto {
        let generated = std::fs::read_to_string(files.join("talos.conf")).unwrap();
        let conf = files.join("test-mosquitto.conf");
        // `user root`: a broker started by root keeps the rights to read the 0600 files.
        std::fs::write(&conf, format!("user root\npersistence false\n{generated}listener {port} 127.0.0.1\n")).unwrap();
        let proc = Self::spawn(&conf, port);
        Mosquitto { port, conf, proc }
    }

    fn spawn(conf: &Path, port: u16) -> Proc {
        let mut proc = Proc::spawn(Command::new("mosquitto").arg("-c").arg(conf));
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "mosquitto did not listen on {port}:\n{}", proc.text());
            assert!(proc.child.try_wait().unwrap().is_none(), "mosquitto exited:\n{}", proc.text());
            std::thread::sleep(Duration::from_millis(20));
        }
        proc
    }

    fn restart(&mut self) {
        self.proc.kill();
        self.proc = Self::spawn(&self.conf, self.port);
    }
}

/// An MQTT client whose packets are collected; `None` credentials: anonymous.
struct Client {
    client: rumqttc::AsyncClient,
    packets: Arc<Mutex<Vec<rumqttc::Packet>>>,
    connack: tokio::sync::oneshot::Receiver<Result<rumqttc::ConnectReturnCode, String>>,
}

impl Client {
    fn connect(port: u16, id: &str, login: Option<(&str, &str)>) -> Client {
        let mut options = rumqttc::MqttOptions::new(id, "127.0.0.1", port);
        if let Some((u, p)) = login {
            options.set_credentials(u, p);
        }
        let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 16);
        let packets = Arc::new(Mutex::new(Vec::new()));
        let sink = packets.clone();
        let (tx, connack) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let mut tx = Some(tx);
            loop {
                match eventloop.poll().await {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(ack))) => {
                        if let Some(tx) = tx.take() {
                            let _ = tx.send(Ok(ack.code));
                        }
                    }
                    Ok(rumqttc::Event::Incoming(p)) => sink.lock().unwrap().push(p),
                    Ok(_) => {}
                    Err(e) => {
                        if let Some(tx) = tx.take() {
                            let _ = tx.send(Err(e.to_string()));
                        }
                        return;
                    }
                }
            }
        });
        Client { client, packets, connack }
    }

    /// The broker's answer to the CONNECT: `Ok(Success)`, another code, or why none came.
    async fn connack(&mut self) -> Result<rumqttc::ConnectReturnCode, String> {
        match tokio::time::timeout(Duration::from_secs(10), &mut self.connack).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err("the event loop ended".to_owned()),
            Err(_) => Err("no CONNACK within 10 s".to_owned()),
        }
    }

    async fn accepted(&mut self) -> bool {
        self.connack().await == Ok(rumqttc::ConnectReturnCode::Success)
    }

    /// The return codes of the SUBACK for a subscription to `filter`.
    async fn subscribe(&self, filter: &str) -> Vec<rumqttc::SubscribeReasonCode> {
        let before = self.packets.lock().unwrap().len();
        self.client.subscribe(filter, rumqttc::QoS::AtLeastOnce).await.unwrap();
        eventually(Duration::from_secs(5), "a SUBACK", || {
            self.packets.lock().unwrap()[before..].iter().find_map(|p| match p {
                rumqttc::Packet::SubAck(ack) => Some(ack.return_codes.clone()),
                _ => None,
            })
        })
        .await
    }

    fn received(&self, topic: &str) -> usize {
        let packets = self.packets.lock().unwrap();
        packets.iter().filter(|p| matches!(p, rumqttc::Packet::Publish(m) if m.topic == topic)).count()
    }

    async fn publish(&self, topic: &str, payload: &str) {
        self.client.publish(topic, rumqttc::QoS::AtLeastOnce, false, payload.as_bytes().to_vec()).await.unwrap();
    }
}

fn password_in(toml: &str) -> String {
    toml.lines()
        .find_map(|l| l.trim().strip_prefix("password =").map(|v| v.trim().trim_matches('"').to_owned()))
        .expect("the password in agent.toml")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_mosquitto_and_the_generated_acl_each_station_touches_only_its_own_topics_and_links_survive_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path();
    talos_verb(data_dir, &["user", "add", "--org", "acme", "--email", "ops@acme.example", "--role", "owner"]);
    let add = |name: &str| -> u64 {
        let out = talos_verb(
            data_dir,
            &["station", "add", "--org", "acme", "--name", name, "--lat", "52.52", "--lon", "13.40", "--alt-m", "40"],
        );
        out.split_whitespace().nth(1).and_then(|id| id.parse().ok()).unwrap_or_else(|| panic!("station id in {out:?}"))
    };
    let (a, b) = (add("Roof A"), add("Roof B"));
    let port = free_port();
    let rot = Hamlib::start("rotctld");
    let config_of = |station: u64| {
        talos_verb(
            data_dir,
            &[
                "station",
                "agent-config",
                &station.to_string(),
                "--org",
                "acme",
                "--broker-port",
                &port.to_string(),
                "--rotctld",
                &rot.address(),
                "--no-rig",
            ],
        )
    };
    let (config_a, config_b) = (config_of(a), config_of(b));
    let files = data_dir.join("mosquitto");
    let summary = talos_verb(data_dir, &["mqtt", "mosquitto-config", "--out", files.to_str().unwrap()]);
    assert!(summary.contains("director + 2 stations"), "{summary}");
    let acl = std::fs::read_to_string(files.join("acl")).unwrap();
    assert!(acl.contains(&format!("user station-1-{a}\ntopic read talos/v1/1/{a}/cmd/#\n")), "{acl}");
    for secret in ["passwd", "director-password"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(files.join(secret)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{secret}");
    }
    let director_password = std::fs::read_to_string(files.join("director-password")).unwrap().trim().to_owned();
    let mut broker = Mosquitto::start(port, &files);

    // Anonymous, a wrong password and a revoked one are refused.
    assert!(!Client::connect(port, "anon", None).accepted().await, "anonymous");
    let (user_a, user_b) = (format!("station-1-{a}"), format!("station-1-{b}"));
    assert!(!Client::connect(port, "wrong", Some((&user_a, "not-the-password"))).accepted().await);
    let mut station_a = Client::connect(port, "a", Some((&user_a, &password_in(&config_a))));
    let mut station_b = Client::connect(port, "b", Some((&user_b, &password_in(&config_b))));
    let mut director = Client::connect(port, "d", Some((talos_link::DIRECTOR_USERNAME, &director_password)));
    for (who, client) in [("A", &mut station_a), ("B", &mut station_b), ("the director", &mut director)] {
        let answer = client.connack().await;
        assert_eq!(answer, Ok(rumqttc::ConnectReturnCode::Success), "{who}: mosquitto says:\n{}", broker.proc.text());
    }

    // Subscriptions: Mosquitto grants the SUBACK but delivers A nothing that its ACL does not
    // let it read (B's commands, anyone's state); B reads its own, the director all state.
    for filter in [format!("talos/v1/1/{b}/cmd/#"), "talos/v1/+/+/state/#".to_owned(), "#".to_owned()] {
        station_a.subscribe(&filter).await;
    }
    use rumqttc::SubscribeReasonCode::Success;
    assert!(matches!(station_b.subscribe(&format!("talos/v1/1/{b}/cmd/#")).await[..], [Success(_)]));
    assert!(matches!(director.subscribe("talos/v1/+/+/state/#").await[..], [Success(_)]));

    // Publications: A's on B's topics (and on the heartbeat) are dropped; the controls on
    // allowed topics arrive.
    let (b_rot, b_status) = (format!("talos/v1/1/{b}/cmd/rot"), format!("talos/v1/1/{b}/state/status"));
    station_a.publish(&b_rot, "forged setpoint").await;
    station_a.publish(&b_status, "forged status").await;
    station_a.publish(talos_link::HEARTBEAT_TOPIC, "forged heartbeat").await;
    let a_status = format!("talos/v1/1/{a}/state/status");
    station_a.publish(&a_status, "own status").await;
    director.publish(&b_rot, "director setpoint").await;
    station_b.publish(&b_status, "B's own status").await;
    director.publish(talos_link::HEARTBEAT_TOPIC, "director heartbeat").await;
    eventually(Duration::from_secs(5), "the allowed publications", || {
        (director.received(&a_status) == 1
            && station_b.received(&b_rot) == 1
            && director.received(&b_status) == 1
            && station_a.received(talos_link::HEARTBEAT_TOPIC) == 1)
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(director.received(&b_status), 1, "A's forged status for B reached the director");
    assert_eq!(station_b.received(&b_rot), 1, "A's forged setpoint reached B");
    assert_eq!(station_a.received(talos_link::HEARTBEAT_TOPIC), 1, "A's forged heartbeat was delivered");
    assert_eq!(station_a.received(&b_rot) + station_a.received(&b_status), 0, "A read B's topics");
    drop((station_a, station_b, director));

    // The director and a real agent on this broker; both come back after a broker restart.
    let mut serve = Proc::spawn(
        Command::new(TALOS)
            .args(["serve", "--quiet", "--listen", "127.0.0.1:0"])
            .args(["--mqtt-url", &format!("mqtt://127.0.0.1:{port}")])
            .arg("--mqtt-password-file")
            .arg(files.join("director-password"))
            .arg("--data-dir")
            .arg(data_dir)
            .env_remove("TALOS_DATABASE_URL")
            .env("TALOS_LOG", "info,sqlx=warn"),
    );
    let url = eventually(Duration::from_secs(60), "the API", || {
        serve.text().lines().find_map(|l| l.strip_prefix("talos: API listening on ").map(str::to_owned))
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("agent.toml"), &config_a).unwrap();
    let agent = Proc::spawn(
        Command::new(agent_binary())
            .arg("--config")
            .arg(dir.path().join("agent.toml"))
            .env_remove("TALOS_AGENT_MQTT_PASSWORD")
            .env("RUST_LOG", "info"),
    );
    let http = http();
    let scrape = || async { http.get(format!("{url}/metrics")).send().await.unwrap().text().await.unwrap() };
    let context = |serve: &Proc| format!("agent:\n{}\nserve:\n{}", agent.text(), serve.text());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let m = scrape().await;
        if metric(&m, "talos_mqtt_connected") == 1.0
            && metric(&m, "talos_agents{state=\"online\"}") == 1.0
            && metric(&m, "talos_mqtt_published_total{kind=\"heartbeat\"}") > 0.0
        {
            break;
        }
        assert!(Instant::now() < deadline, "director or agent not up on Mosquitto:\n{m}\n{}", context(&serve));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let received_before = metric(&scrape().await, "talos_mqtt_state_received_total");

    broker.restart();
    let restarted = Instant::now();
    loop {
        let m = scrape().await;
        // Reconnected, and fresh state from the agent arrived over the new connection.
        if metric(&m, "talos_mqtt_connects_total") >= 2.0
            && metric(&m, "talos_mqtt_connected") == 1.0
            && metric(&m, "talos_mqtt_state_received_total") > received_before + 2.0
        {
            break;
        }
        assert!(restarted.elapsed() < Duration::from_secs(10), "not back within 10 s:\n{m}\n{}", context(&serve));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        agent.text().lines().filter(|l| l.contains("connected to the broker")).count() >= 2,
        "the agent reconnected:\n{}",
        agent.text()
    );
    serve.kill();
}

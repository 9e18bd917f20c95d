//! `talos serve --demo` end to end, as an operator runs it: the real binary on a fresh
//! data directory (SQLite) or a fresh PostgreSQL database, a free port, the clock set to
//! the shipped catalog's epoch. Everything goes through HTTP: readiness, login, the
//! live stream, an operator command reaching the director, tracking sessions, the
//! audit log, metrics, pass prediction, and a clean shutdown on SIGTERM.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TALOS: &str = env!("CARGO_BIN_EXE_talos");
/// The shipped amateur catalog's epoch: passes computed now are accurate.
const START: &str = "2026-08-29T12:00:00Z";
/// ES'HAIL 2 (geostationary): a satellite the demo's European stations track all the time.
const ESHAIL2: u64 = 43700;

struct Server {
    child: Child,
    url: String,
    api_key: String,
    email: String,
    password: String,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `talos serve` and waits for its API address and demo credentials.
    fn start(store_args: &[&str]) -> Server {
        let mut child = Command::new(TALOS)
            .args(["serve", "--demo", "--quiet", "--listen", "127.0.0.1:0", "--start", START])
            .args(store_args)
            .env_remove("TALOS_DATA_DIR")
            .env_remove("TALOS_DATABASE_URL")
            .env("TALOS_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the talos binary runs");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let lines = stderr.clone();
        let pipe = child.stderr.take().expect("stderr is piped");
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let text = stderr.lock().unwrap().join("\n");
            let find = |prefix: &str| text.lines().find_map(|l| l.strip_prefix(prefix)).map(str::to_owned);
            if let (Some(url), Some(login), Some(key)) =
                (find("talos: API listening on "), find("talos: demo login "), find("talos: demo API key "))
            {
                let field = |name: &str| {
                    login.split_whitespace().find_map(|w| w.strip_prefix(name)).expect("credential field").to_owned()
                };
                let api_key = key.split_whitespace().next().expect("the key").to_owned();
                return Server { child, url, api_key, email: field("email="), password: field("password="), stderr };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("talos serve exited with {status} before listening:\n{text}");
            }
            assert!(Instant::now() < deadline, "talos serve did not start within 120 s:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stderr_text(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// SIGTERM, then the exit status (within 20 s).
    fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                return (status, self.stderr_text());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("talos serve ignored SIGTERM for 20 s:\n{}", self.stderr_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap()
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    key: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http.request(method, url).bearer_auth(key);
    if let Some(body) = body {
        req = req.header("content-type", "application/json").body(body.to_string());
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let bytes = res.bytes().await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn get(http: &reqwest::Client, server: &Server, path: &str) -> (u16, Value) {
    call(http, reqwest::Method::GET, format!("{}{path}", server.url), &server.api_key, None).await
}

/// Polls `check` every 100 ms until it gives a value (or panics after `secs`).
async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {secs} s waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads SSE events (name, data) from an open stream until `count` are collected.
async fn read_events(res: &mut reqwest::Response, count: usize) -> Vec<(String, Value)> {
    let mut buffer = String::new();
    let mut events = Vec::new();
    while events.len() < count {
        let chunk = tokio::time::timeout(Duration::from_secs(10), res.chunk())
            .await
            .expect("a frame within 10 s")
            .unwrap()
            .expect("the stream stays open");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let name = block.lines().find_map(|l| l.strip_prefix("event: ")).unwrap_or("").to_owned();
            let data = block.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or("null");
            if !name.is_empty() {
                events.push((name, serde_json::from_str(data).unwrap()));
            }
        }
    }
    events
}

/// The whole operator path against one running server; returns the station it parked.
async fn exercise(server: &Server) -> u64 {
    let http = client();
    // Ready: store reachable and the director ticking.
    eventually(30, "/readyz", || async {
        let res = http.get(format!("{}/readyz", server.url)).send().await.ok()?;
        (res.status() == 200).then_some(())
    })
    .await;

    // Login with the printed password: a session cookie that reads the demo org.
    let res = http
        .post(format!("{}/api/v1/auth/login", server.url))
        .header("content-type", "application/json")
        .body(json!({ "email": server.email, "password": server.password }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let orgs: Value = serde_json::from_slice(
        &http
            .get(format!("{}/api/v1/orgs", server.url))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(orgs["items"][0]["name"], "demo", "{orgs}");
    assert_eq!(orgs["items"][0]["role"], "owner");
    let org = orgs["items"][0]["id"].as_u64().unwrap();

    // The live stream: tick summaries and the stations tracking, for this org.
    let mut stream =
        http.get(format!("{}/api/v1/stream", server.url)).bearer_auth(&server.api_key).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let events = read_events(&mut stream, 4).await;
    let (_, tick) = events.iter().find(|(n, _)| n == "tick").expect("a tick event");
    let (_, tracking) = events.iter().find(|(n, _)| n == "tracking").expect("a tracking event");
    let stations = tracking["stations"].as_array().unwrap();
    assert!(tick["stations_tracking"].as_u64().unwrap() > 100, "the demo tracks: {tick}");
    for s in stations {
        let (az, el) = (s["az_deg"].as_f64().unwrap(), s["el_deg"].as_f64().unwrap());
        assert!((0.0..360.0).contains(&az) && (-5.0..=90.0).contains(&el), "{s}");
        if s["state"] == "tracking" {
            let down = s["downlink_hz"].as_f64().expect("tracking stations are tuned");
            assert!(down > 1e6, "{s}");
        }
    }
    let parked = stations
        .iter()
        .find(|s| s["state"] == "tracking" && s["norad_id"] == ESHAIL2)
        .expect("a station tracking ES'HAIL 2")["station"]
        .as_u64()
        .unwrap();

    // Passes: the next 2 h at that station, with the built-in policy's choice.
    let (status, passes) = get(&http, server, &format!("/api/v1/orgs/{org}/stations/{parked}/passes?hours=2")).await;
    assert_eq!(status, 200, "{passes}");
    let list = passes["passes"].as_array().unwrap();
    assert!(!list.is_empty() && list.iter().any(|p| p["chosen"] == true), "{passes}");
    for p in list {
        let (aos, tca, los) = (p["aos"].as_i64().unwrap(), p["tca"].as_i64().unwrap(), p["los"].as_i64().unwrap());
        assert!(aos <= tca && tca <= los && p["max_el_deg"].as_f64().unwrap() <= 90.0, "{p}");
    }

    // An operator command: park the station. The director drops its session within
    // a few ticks (fleet reload), recorded as `held`, and the audit log names the key.
    let (status, station) = call(
        &http,
        reqwest::Method::POST,
        format!("{}/api/v1/orgs/{org}/stations/{parked}/commands", server.url),
        &server.api_key,
        Some(json!({ "command": "park", "reason": "end-to-end test" })),
    )
    .await;
    assert_eq!(status, 200, "{station}");
    assert!(station["held_since"].is_i64(), "{station}");
    let held = eventually(10, "the held session", || async {
        let (_, page) = get(&http, server, &format!("/api/v1/orgs/{org}/sessions?station={parked}")).await;
        page["items"].as_array()?.iter().find(|s| s["outcome"] == "held").cloned()
    })
    .await;
    assert_eq!(held["norad_id"], ESHAIL2);
    let (_, audit) = get(&http, server, &format!("/api/v1/orgs/{org}/audit?limit=1000")).await;
    let entries = audit["items"].as_array().unwrap();
    let prefix = server.api_key.split('_').nth(1).unwrap();
    assert!(
        entries.iter().any(|e| e["action"] == "station.park"
            && e["actor"] == format!("key:{prefix}")
            && e["target"] == format!("station:{parked}")),
        "{audit}"
    );
    assert!(
        entries.iter().any(|e| e["action"] == "command.session_stop"
            && e["actor"] == "system"
            && e["details"]["outcome"] == "held"
            && e["target"] == format!("station:{parked}")),
        "the director's stop is audited: {audit}"
    );
    // Nothing tracked at the held station after the hold (frames buffered before it are skipped).
    let held_at = held["ended_at"].as_i64().expect("the held session ended");
    let mut checked = 0;
    while checked < 2 {
        for (_, frame) in read_events(&mut stream, 2).await.iter().filter(|(n, _)| n == "tracking") {
            if frame["t"].as_i64().unwrap() > held_at {
                assert!(frame["stations"].as_array().unwrap().iter().all(|s| s["station"] != parked));
                checked += 1;
            }
        }
    }

    // Resume: the station takes a session again.
    let (status, _) = call(
        &http,
        reqwest::Method::POST,
        format!("{}/api/v1/orgs/{org}/stations/{parked}/commands", server.url),
        &server.api_key,
        Some(json!({ "command": "resume" })),
    )
    .await;
    assert_eq!(status, 200);
    eventually(10, "a new session after resume", || async {
        let (_, page) = get(&http, server, &format!("/api/v1/orgs/{org}/sessions?station={parked}")).await;
        page["items"].as_array()?.iter().find(|s| s["outcome"] == "in_progress").cloned()
    })
    .await;

    // Metrics: the tick histogram, per-stage timings, element-set age, API latency.
    let metrics = http.get(format!("{}/metrics", server.url)).send().await.unwrap().text().await.unwrap();
    for needle in [
        "talos_tick_duration_seconds_count",
        "talos_tick_stage_seconds_total{stage=\"look\"}",
        "talos_element_set_age_seconds{which=\"oldest\"}",
        "talos_api_request_duration_seconds_bucket",
        "talos_director_commands_recorded_total",
    ] {
        assert!(metrics.contains(needle), "{needle} missing from /metrics:\n{metrics}");
    }
    // The stream is still open: SIGTERM must not wait for it.
    std::mem::forget(stream);
    parked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_runs_director_and_api_end_to_end_on_sqlite_and_restarts_cleanly() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("talos");
    let dir_arg = dir.to_str().unwrap().to_owned();
    let server = Server::start(&["--data-dir", &dir_arg]);
    let (old_email, old_password) = (server.email.clone(), server.password.clone());
    let parked = exercise(&server).await;
    let (status, stderr) = server.terminate();
    assert!(status.success(), "exit {status}:\n{stderr}");
    assert!(stderr.contains("talos: stopped after"), "{stderr}");

    // The secrets at rest are the owner's alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("talos.db")), 0o600);
    }

    // Restart on the same directory: same fleet (no second demo), new credentials, the
    // old password refused, the hold still in force, last run's sessions interrupted.
    let server = Server::start(&["--data-dir", &dir_arg]);
    assert_ne!(server.password, old_password);
    let http = client();
    let res = http
        .post(format!("{}/api/v1/auth/login", server.url))
        .header("content-type", "application/json")
        .body(json!({ "email": old_email, "password": old_password }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let (_, stations) = get(&http, &server, "/api/v1/orgs/1/stations?limit=1000").await;
    assert_eq!(stations["items"].as_array().unwrap().len(), 261, "the demo fleet is created once");
    let (_, sessions) = get(&http, &server, &format!("/api/v1/orgs/1/sessions?station={parked}")).await;
    let outcomes: Vec<&str> =
        sessions["items"].as_array().unwrap().iter().filter_map(|s| s["outcome"].as_str()).collect();
    assert!(outcomes.contains(&"interrupted") && outcomes.contains(&"held"), "{outcomes:?}");
    let (status, stderr) = server.terminate();
    assert!(status.success(), "exit {status}:\n{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_runs_end_to_end_on_postgresql() {
    use sqlx::{Connection, Executor};
    sqlx::any::install_default_drivers();
    let admin_url = std::env::var("TALOS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let db = format!("talos_serve_test_{}", std::process::id());
    let mut admin = sqlx::AnyConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} is unreachable ({e}); set TALOS_TEST_POSTGRES_URL"));
    admin.execute(format!("CREATE DATABASE {db}").as_str()).await.unwrap();
    let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base).to_owned();
    let url = format!("{base}/{db}");
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(&["--database", &url, "--data-dir", data.path().to_str().unwrap()]);
    exercise(&server).await;
    let (status, stderr) = server.terminate();
    let _ = admin.execute(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)").as_str()).await;
    assert!(status.success(), "exit {status}:\n{stderr}");
}

//! Scheduled catalog fetch against a real HTTP server on 127.0.0.1 (axum, port 0) that
//! serves the shipped CelesTrak amateur catalog and a set of broken answers; SQLite
//! stores in temporary directories. No outside network; timeouts shrunk to fractions
//! of a second through `FetchLimits`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::get;
use futures_util::{StreamExt, stream};
use talos::catalog_fetch::{
    CatalogSource, FetchBoard, FetchClient, FetchError, FetchLimits, LastGood, cached_copy_path, cached_copy_time,
    fetch_once, load_last_good, spawn_scheduler,
};
use talos_core::UnixMs;
use talos_store::Store;

/// CelesTrak's amateur group, 96 objects as 3LE (the real shipped file).
const AMATEUR: &str = include_str!("../../../data/tle/celestrak_amateur_2026-08-29.txt");
const AMATEUR_SETS: usize = 96;
/// 2026-08-29T12:00:00Z, near the catalog's epoch.
const T0: UnixMs = UnixMs(1_788_004_800_000);

const TALOS: &str = env!("CARGO_BIN_EXE_talos");

/// Small enough that the broken routes fail in well under a second.
fn test_limits() -> FetchLimits {
    FetchLimits {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_millis(300),
        total_timeout: Duration::from_secs(5),
        max_body_bytes: 256 * 1024,
    }
}

/// Starts the catalog server; returns its base URL (`http://127.0.0.1:PORT`).
async fn serve_catalogs() -> String {
    let app = Router::new()
        .route("/amateur.txt", get(|| async { AMATEUR }))
        .route("/error", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "upstream database unavailable") }))
        .route(
            "/html",
            get(|| async { Html("<!DOCTYPE html>\n<html><body><h1>Down for maintenance</h1></body></html>") }),
        )
        .route("/empty", get(|| async { "" }))
        .route("/binary", get(|| async { vec![0xffu8, 0xfe, 0x00, 0x31] }))
        // Declares its size: refused before reading.
        .route("/big-declared", get(|| async { "1".repeat(1024 * 1024) }))
        // Never ends and declares nothing: only a check while streaming stops it.
        .route(
            "/big-streamed",
            get(|| async { Body::from_stream(stream::repeat_with(|| Ok::<_, std::io::Error>(vec![b'1'; 16 * 1024]))) }),
        )
        .route(
            "/stalled-headers",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                AMATEUR
            }),
        )
        // The start of a real catalog, then silence.
        .route(
            "/stalled-body",
            get(|| async {
                let start = stream::iter([Ok::<_, std::io::Error>(&AMATEUR.as_bytes()[..1000])]);
                Body::from_stream(start.chain(stream::pending()))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let addr = listener.local_addr().expect("the bound address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// A URL nothing listens on (a port just released).
async fn refused_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let addr = listener.local_addr().expect("the bound address");
    drop(listener);
    format!("http://{addr}/catalog.txt")
}

async fn sqlite_store(dir: &Path, name: &str) -> Store {
    Store::connect(&format!("sqlite://{}?mode=rwc", dir.join(name).display())).await.expect("a SQLite store")
}

async fn element_set_rows(store: &Store) -> i64 {
    store.count_rows("element_sets").await.expect("counting element sets")
}

fn source(name: &str, url: &str) -> CatalogSource {
    CatalogSource::new(name, url, 0).expect("a valid source")
}

fn client() -> FetchClient {
    FetchClient::new(test_limits()).expect("an HTTP client")
}

#[tokio::test]
async fn a_fetch_imports_the_catalog_and_keeps_the_body_as_the_last_good_copy() {
    let base = serve_catalogs().await;
    let tmp = tempfile::tempdir().unwrap();
    let store = sqlite_store(tmp.path(), "talos.db").await;
    let cache_dir = tmp.path().join("catalog");
    let amateur = CatalogSource::new("amateur", &format!("{base}/amateur.txt"), 7).unwrap();

    let report = fetch_once(&store, &amateur, &cache_dir, T0, &client()).await.expect("the fetch succeeds");
    assert_eq!((report.element_sets, report.inserted, report.unchanged, report.rejected), (AMATEUR_SETS, 96, 0, 0));
    assert_eq!(report.body_bytes, AMATEUR.len() as u64);
    assert!(report.cache_written);
    assert_eq!(element_set_rows(&store).await, 96);
    let cached = cached_copy_path(&cache_dir, "amateur");
    assert_eq!(std::fs::read_to_string(&cached).unwrap(), AMATEUR);
    let current = store.current_element_sets().await.unwrap();
    assert!(current.iter().all(|s| s.source == "amateur" && s.source_priority == 7 && s.fetched_at == T0));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cached).unwrap().permissions().mode() & 0o777;
        assert!(mode == 0o600 || mode == 0o644, "cached copy mode {mode:o}");
    }
    // No temporary file is left beside it.
    let names: Vec<_> = std::fs::read_dir(&cache_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["amateur.txt"]);

    let again = fetch_once(&store, &amateur, &cache_dir, T0.plus_ms(7_200_000), &client()).await.unwrap();
    assert_eq!((again.inserted, again.unchanged), (0, 96), "the same epochs are not stored twice");
    assert_eq!(element_set_rows(&store).await, 96);
}

#[tokio::test]
async fn each_failure_leaves_the_store_and_the_cached_copy_untouched_and_is_counted_with_its_cause() {
    let base = serve_catalogs().await;
    let tmp = tempfile::tempdir().unwrap();
    let store = sqlite_store(tmp.path(), "talos.db").await;
    let cache_dir = tmp.path().join("catalog");
    let client = client();
    let board = FetchBoard::new();
    let good = source("amateur", &format!("{base}/amateur.txt"));
    let outcome = fetch_once(&store, &good, &cache_dir, T0, &client).await;
    board.record("amateur", T0, &outcome);
    outcome.expect("the first fetch succeeds");
    let cached = cached_copy_path(&cache_dir, "amateur");
    let cached_before = std::fs::read(&cached).unwrap();
    let cached_mtime_before = cached_copy_time(&cache_dir, "amateur");

    let refused = refused_url().await;
    let cases: [(&str, String, &str); 11] = [
        ("HTTP 500", format!("{base}/error"), "answered HTTP 500 Internal Server Error"),
        ("HTTP 404", format!("{base}/no-such-catalog"), "answered HTTP 404 Not Found"),
        ("an HTML page", format!("{base}/html"), "not element sets"),
        ("an empty body", format!("{base}/empty"), "the element-set text is empty"),
        ("a binary body", format!("{base}/binary"), "not UTF-8 text"),
        ("a declared oversize body", format!("{base}/big-declared"), "larger than the limit of 262144 bytes"),
        ("an endless body", format!("{base}/big-streamed"), "larger than the limit of 262144 bytes"),
        ("no response", format!("{base}/stalled-headers"), "timed out"),
        ("a stalled body", format!("{base}/stalled-body"), "timed out"),
        ("a refused connection", refused, "Connection refused"),
        ("TLS to a plain-HTTP server", base.replace("http://", "https://") + "/amateur.txt", "failed"),
    ];
    for (round, (what, url, cause)) in cases.into_iter().enumerate() {
        let broken = source("amateur", &url);
        let at = T0.plus_ms(60_000 * (round as i64 + 1));
        let outcome = fetch_once(&store, &broken, &cache_dir, at, &client).await;
        board.record("amateur", at, &outcome);
        let error = outcome.expect_err(what);
        let message = error.to_string();
        assert!(message.contains(cause), "{what}: {message:?} does not name {cause:?}");
        assert!(message.contains("'amateur'"), "{what}: {message:?} does not name the source");
        assert_eq!(element_set_rows(&store).await, 96, "{what}: the store changed");
        assert_eq!(std::fs::read(&cached).unwrap(), cached_before, "{what}: the cached copy changed");
        assert_eq!(
            cached_copy_time(&cache_dir, "amateur"),
            cached_mtime_before,
            "{what}: the cached copy was rewritten"
        );
        let status = board.status("amateur").unwrap();
        assert_eq!(status.consecutive_failures as usize, round + 1, "{what}");
        assert_eq!(status.failures_total as usize, round + 1, "{what}");
        assert_eq!(status.last_error.as_deref(), Some(message.as_str()), "{what}");
        assert_eq!(status.last_success, Some(T0), "{what}");
        assert_eq!(status.last_attempt, Some(at), "{what}");
        if what.contains("oversize") || what.contains("endless") {
            assert!(matches!(error, FetchError::TooLarge { .. }), "{what}: {error:?}");
        }
    }
    let names: Vec<_> = std::fs::read_dir(&cache_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["amateur.txt"], "no temporary or partial file is left");

    // A success clears the run of failures but not the total.
    let outcome = fetch_once(&store, &good, &cache_dir, T0.plus_ms(3_600_000), &client).await;
    board.record("amateur", T0.plus_ms(3_600_000), &outcome);
    let status = board.status("amateur").unwrap();
    assert_eq!((status.consecutive_failures, status.failures_total), (0, 11));
}

#[tokio::test]
async fn the_last_good_copy_fills_a_fresh_store_when_the_source_is_unreachable() {
    let base = serve_catalogs().await;
    let tmp = tempfile::tempdir().unwrap();
    let cache_dir = tmp.path().join("catalog");
    let first = sqlite_store(tmp.path(), "first.db").await;
    fetch_once(&first, &source("amateur", &format!("{base}/amateur.txt")), &cache_dir, T0, &client())
        .await
        .expect("the fetch that leaves a cached copy");
    first.close().await;

    let fresh = sqlite_store(tmp.path(), "fresh.db").await;
    let offline = source("amateur", &refused_url().await);
    fetch_once(&fresh, &offline, &cache_dir, T0.plus_ms(86_400_000), &client()).await.expect_err("the outage");
    assert_eq!(element_set_rows(&fresh).await, 0);

    let imported = match load_last_good(&fresh, &offline, &cache_dir).await.unwrap() {
        LastGood::Imported(report) => report,
        other => panic!("expected an import of the cached copy, got {other:?}"),
    };
    assert_eq!((imported.element_sets, imported.inserted), (AMATEUR_SETS, 96));
    assert_eq!(element_set_rows(&fresh).await, 96);
    // The sets carry the time the copy was downloaded, not the time of the outage.
    let written = cached_copy_time(&cache_dir, "amateur").unwrap();
    assert!(fresh.current_element_sets().await.unwrap().iter().all(|s| s.fetched_at == written));

    assert_eq!(load_last_good(&fresh, &offline, &cache_dir).await.unwrap(), LastGood::AlreadyInStore);
    let never_fetched = source("visual", &refused_url().await);
    assert_eq!(load_last_good(&fresh, &never_fetched, &cache_dir).await.unwrap(), LastGood::NoCachedCopy);
    assert_eq!(element_set_rows(&fresh).await, 96);
}

#[tokio::test]
async fn a_corrupt_cached_copy_is_refused_and_imports_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cache_dir = tmp.path().join("catalog");
    std::fs::create_dir_all(&cache_dir).unwrap();
    std::fs::write(cached_copy_path(&cache_dir, "amateur"), "<html>gateway timeout</html>").unwrap();
    let store = sqlite_store(tmp.path(), "talos.db").await;
    let error = load_last_good(&store, &source("amateur", "http://127.0.0.1:9/x"), &cache_dir).await.unwrap_err();
    assert!(error.to_string().contains("amateur.txt"), "{error}");
    assert_eq!(element_set_rows(&store).await, 0);
}

#[tokio::test]
async fn prometheus_text_gives_staleness_from_the_injected_clock() {
    let base = serve_catalogs().await;
    let tmp = tempfile::tempdir().unwrap();
    let store = sqlite_store(tmp.path(), "talos.db").await;
    let cache_dir = tmp.path().join("catalog");
    let board = FetchBoard::new();
    let amateur = source("amateur", &format!("{base}/amateur.txt"));
    let outcome = fetch_once(&store, &amateur, &cache_dir, T0, &client()).await;
    board.record("amateur", T0, &outcome);
    let failed_at = T0.plus_ms(3_600_000);
    let outcome =
        fetch_once(&store, &source("amateur", &format!("{base}/error")), &cache_dir, failed_at, &client()).await;
    board.record("amateur", failed_at, &outcome);
    // Never fetched, but a copy from a day before T0 is on disk.
    board.register("visual", Some(T0.plus_ms(-86_400_000)));
    // Never fetched, nothing on disk; a name that needs escaping.
    board.register("odd \"name\" \\ here", None);

    let text = board.render_prometheus(T0.plus_ms(7_200_500));
    let lines: Vec<&str> = text.lines().collect();
    for expected in [
        "# HELP talos_catalog_fetch_staleness_seconds Seconds since the last successful fetch of each source (before any, the age of its cached copy).",
        "# TYPE talos_catalog_fetch_staleness_seconds gauge",
        "talos_catalog_fetch_staleness_seconds{source=\"amateur\"} 7200.5",
        "talos_catalog_fetch_staleness_seconds{source=\"visual\"} 93600.5",
        "# TYPE talos_catalog_fetch_last_success_timestamp_seconds gauge",
        "talos_catalog_fetch_last_success_timestamp_seconds{source=\"amateur\"} 1788004800",
        "# TYPE talos_catalog_fetch_failures_total counter",
        "talos_catalog_fetch_failures_total{source=\"amateur\"} 1",
        "talos_catalog_fetch_failures_total{source=\"visual\"} 0",
        "talos_catalog_fetch_failures_total{source=\"odd \\\"name\\\" \\\\ here\"} 0",
        "# TYPE talos_catalog_fetch_consecutive_failures gauge",
        "talos_catalog_fetch_consecutive_failures{source=\"amateur\"} 1",
    ] {
        assert!(lines.contains(&expected), "missing line {expected:?} in:\n{text}");
    }
    assert!(!text.contains("staleness_seconds{source=\"odd"), "no staleness without any copy:\n{text}");
    assert!(!text.contains("last_success_timestamp_seconds{source=\"visual\""), "{text}");
    // Every sample line is `name{source="..."} value` with a number.
    for line in lines.iter().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit_once(' ').map(|(_, v)| v).unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
}

/// A clock that moves one second per reading, so attempts are distinguishable.
fn stepping_clock() -> Arc<dyn Fn() -> UnixMs + Send + Sync> {
    let now = Arc::new(AtomicI64::new(T0.0));
    Arc::new(move || UnixMs(now.fetch_add(1_000, Ordering::Relaxed)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_signals_an_update_after_an_import_and_keeps_fetching() {
    let base = serve_catalogs().await;
    let tmp = tempfile::tempdir().unwrap();
    let store = sqlite_store(tmp.path(), "talos.db").await;
    let cache_dir = tmp.path().join("catalog");
    let board = Arc::new(FetchBoard::new());
    let (updates, mut updated) = tokio::sync::mpsc::channel(1);
    let interval = Duration::from_millis(100);
    let sources = vec![source("amateur", &format!("{base}/amateur.txt"))];
    let task =
        spawn_scheduler(store.clone(), sources, cache_dir.clone(), interval, board.clone(), stepping_clock(), updates);

    tokio::time::timeout(Duration::from_secs(10), updated.recv())
        .await
        .expect("an update within 10 s")
        .expect("the scheduler holds the sender");
    assert_eq!(element_set_rows(&store).await, 96);
    assert!(cached_copy_path(&cache_dir, "amateur").is_file());
    // Later fetches insert nothing new, so they signal nothing, but they do happen.
    assert!(tokio::time::timeout(Duration::from_millis(350), updated.recv()).await.is_err(), "no new rows, no update");
    let status = board.status("amateur").unwrap();
    assert_eq!(status.failures_total, 0, "{:?}", status.last_error);
    assert!(status.last_attempt > Some(T0), "refetched every interval: {status:?}");
    assert_eq!(status.inserted_total, 96);

    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_falls_back_to_the_last_good_copy_when_the_first_fetch_fails() {
    let base = serve_catalogs().await;
    let tmp = tempfile::tempdir().unwrap();
    let cache_dir = tmp.path().join("catalog");
    std::fs::create_dir_all(&cache_dir).unwrap();
    std::fs::write(cached_copy_path(&cache_dir, "amateur"), AMATEUR).unwrap();
    let store = sqlite_store(tmp.path(), "talos.db").await;
    let board = Arc::new(FetchBoard::new());
    let (updates, mut updated) = tokio::sync::mpsc::channel(1);
    let sources = vec![source("amateur", &format!("{base}/error"))];
    let task = spawn_scheduler(
        store.clone(),
        sources,
        cache_dir.clone(),
        Duration::from_millis(100),
        board.clone(),
        stepping_clock(),
        updates,
    );

    tokio::time::timeout(Duration::from_secs(10), updated.recv()).await.expect("an update within 10 s");
    assert_eq!(element_set_rows(&store).await, 96);
    let status = board.status("amateur").unwrap();
    assert!(status.failures_total >= 1 && status.consecutive_failures >= 1, "{status:?}");
    assert_eq!(status.last_success, None);
    assert!(status.last_error.unwrap().contains("HTTP 500"));
    assert!(board.render_prometheus(T0).contains("talos_catalog_fetch_staleness_seconds{source=\"amateur\"}"));
    assert_eq!(std::fs::read_to_string(cached_copy_path(&cache_dir, "amateur")).unwrap(), AMATEUR);
    task.abort();
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn talos(args: Vec<String>) -> std::process::Output {
    Command::new(TALOS)
        .args(args)
        .env_remove("TALOS_LOG")
        .env_remove("TALOS_DATA_DIR")
        .env_remove("TALOS_DATABASE_URL")
        .output()
        .expect("the talos binary runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_fetch_verb_imports_each_source_and_exits_1_when_one_failed() {
    let base = serve_catalogs().await;
    let tmp = tempfile::tempdir().unwrap();
    let data_dir: PathBuf = tmp.path().join("talos");
    let args: Vec<String> = [
        "catalog",
        "fetch",
        "--source-url",
        &format!("amateur={base}/amateur.txt@3"),
        "--source-url",
        &format!("broken={base}/error"),
        "--data-dir",
        &data_dir.display().to_string(),
    ]
    .map(String::from)
    .to_vec();
    let out = tokio::task::spawn_blocking(move || talos(args)).await.unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains("amateur: 96 element sets, 96 inserted, 0 unchanged, 0 rejected (TLE, 15840 bytes, "),
        "{stdout}"
    );
    assert!(stderr.contains("source 'broken'") && stderr.contains("HTTP 500"), "{stderr}");
    assert!(stderr.contains("1 of 2 source(s) not fetched: broken"), "{stderr}");
    assert_eq!(std::fs::read_to_string(data_dir.join("catalog/amateur.txt")).unwrap(), AMATEUR);
    assert!(!data_dir.join("catalog/broken.txt").exists());

    let store = Store::connect(&format!("sqlite://{}?mode=rwc", data_dir.join("talos.db").display())).await.unwrap();
    let current = store.current_element_sets().await.unwrap();
    assert_eq!(current.len(), 96);
    assert!(current.iter().all(|s| s.source == "amateur" && s.source_priority == 3));

    let bad = vec!["catalog".into(), "fetch".into(), "--source-url".into(), "amateur=ftp://host/x".into()];
    let out = tokio::task::spawn_blocking(move || talos(bad)).await.unwrap();
    assert_eq!(out.status.code(), Some(2), "a bad source is a usage error");
    assert!(text(&out.stderr).contains("use http or https"), "{}", text(&out.stderr));
}

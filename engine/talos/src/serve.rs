//! `talos serve`: the director and the API in one process, over one store.
//!
//! Threads and tasks:
//! - the director loop on its own OS thread (the 500 ms tick must not share a
//!   scheduler with HTTP), with rayon workers for the heavy stages;
//! - the pass planner on its own thread, fed between ticks;
//! - tokio tasks: the HTTP server, the fleet reloader (store -> director on every
//!   change the API makes), the command recorder (director commands -> audit log and
//!   tracking sessions, batched) and periodic maintenance (expired sessions, limiter).
//!
//! The director never queries the store per tick: it loads the fleet once, then gets
//! whole new fleets through a channel between ticks (`DirectorHandle`: requests in
//! through [`talos_api::LiveHub`], frames out through the same hub).

use anyhow::{Context, bail};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use talos_api::{
    AppState, DirectorRequest, DirectorStatus, LiveEvent, LiveEventKind, LiveFrame, LiveHub, LiveState, LiveStation,
    PassRequest, PredictedPass,
};
use talos_core::{NoradId, UnixMs};
use talos_orbit::{Observer, PassQuery, SampledTrajectory, Satellite, find_passes};
use talos_store::{DirectorCommand, DirectorCommandKind, SessionOutcome, Store};
use talos_tick::{
    ComputePool, Director, Outbox, PassPlanner, SessionEnd, StationCommandKind, TickConfig, TickStage, TrackingEvent,
};

use crate::director_loop::{self, LoopConfig, LoopStats, STAGES, SystemClock, TickOutcome};
use crate::fleet_load::{LoadedFleet, horizon_mask, load_fleet};
use crate::store_cli::DataLocation;

/// Everything `talos serve` is told.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub location: DataLocation,
    pub listen: SocketAddr,
    /// Seed the demo organization, user and fleet (first start) and print fresh credentials.
    pub demo: bool,
    /// Element sets to import (source: the file's stem, priority 100) before loading.
    pub elements: Option<PathBuf>,
    /// Run the clock from this time instead of now.
    pub start: Option<UnixMs>,
    /// Stop after this many seconds of ticking.
    pub seconds: Option<f64>,
    pub threads: usize,
    /// Mark the session cookie `Secure` (behind HTTPS).
    pub secure_cookie: bool,
    /// Print one status line per second on stdout.
    pub console: bool,
    /// Element-set sources fetched at start and then every `catalog_interval`.
    pub catalog_sources: Vec<crate::catalog_fetch::CatalogSource>,
    pub catalog_interval: Duration,
    /// Where the director's MQTT broker is.
    pub mqtt: MqttChoice,
}

/// The broker the director publishes to.
#[derive(Debug, Clone)]
pub enum MqttChoice {
    /// rumqttd inside this process (see [`crate::broker`]).
    Embedded(crate::broker::BrokerSettings),
    /// An external broker (Mosquitto in production), with the director's credentials.
    External(crate::mqtt_link::LinkSettings),
}

/// Hours of passes the planner keeps ahead of the tick.
const PLAN_HOURS: i64 = 26;
/// How often expired sessions and idle limiter entries are pruned.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(300);
/// Most director commands written in one transaction.
const RECORD_BATCH: usize = 2_000;

/// Tick duration histogram bounds, ms.
const TICK_BUCKETS_MS: [f64; 11] = [0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 25.0, 50.0, 100.0, 250.0, 500.0];

#[derive(Debug, Default)]
struct TickMetrics {
    buckets: [u64; TICK_BUCKETS_MS.len()],
    count: u64,
    sum_ms: f64,
    stage_sum_ms: [f64; STAGES],
    stats: LoopStats,
    stations: usize,
    assignments: usize,
    stations_busy: usize,
    aos_total: u64,
    los_total: u64,
    fleet_reloads: u64,
    /// Element-set epochs of the satellites in use, seconds since the Unix epoch, sorted.
    epochs_s: Vec<f64>,
}

/// The director's state shared with the API: heartbeat, metrics, propagators for
/// pass prediction. Written by the director thread between ticks; read by handlers.
pub struct DirectorShared {
    last_tick_ms: AtomicI64,
    metrics: Mutex<TickMetrics>,
    satellites: RwLock<Arc<HashMap<NoradId, Arc<Satellite>>>>,
    commands_recorded: AtomicU64,
    commands_unrecorded: AtomicU64,
    clock: talos_api::Clock,
    /// Scheduled catalog fetches, when sources are configured.
    fetch_board: Option<Arc<crate::catalog_fetch::FetchBoard>>,
    /// The director's MQTT link: its counters and the agents' last state.
    link: Option<Arc<crate::mqtt_link::LinkStats>>,
    /// Publications talos-link refused (a bug or a bad stored value, logged when seen).
    publications_refused: AtomicU64,
}

impl std::fmt::Debug for DirectorShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectorShared").field("last_tick_ms", &self.last_tick_ms).finish_non_exhaustive()
    }
}

/// The guard even if a panicking holder poisoned the mutex (the data are counters and
/// last-seen state, valid after any partial update).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl DirectorShared {
    pub fn new(clock: talos_api::Clock) -> Self {
        Self {
            last_tick_ms: AtomicI64::new(i64::MIN),
            metrics: Mutex::new(TickMetrics::default()),
            satellites: RwLock::new(Arc::new(HashMap::new())),
            commands_recorded: AtomicU64::new(0),
            commands_unrecorded: AtomicU64::new(0),
            clock,
            fetch_board: None,
            link: None,
            publications_refused: AtomicU64::new(0),
        }
    }

    /// Adds the MQTT link's metrics (connection, messages, agents) to `/metrics`.
    pub fn with_link(mut self, stats: Arc<crate::mqtt_link::LinkStats>) -> Self {
        self.link = Some(stats);
        self
    }

    fn count_refused(&self, refused: &[crate::link_out::Refused]) {
        crate::link_out::log_refused(refused);
        self.publications_refused.fetch_add(refused.len() as u64, Ordering::Relaxed);
    }

    /// Adds the catalog fetch board's metrics (staleness per source) to `/metrics`.
    pub fn with_fetch_board(mut self, board: Arc<crate::catalog_fetch::FetchBoard>) -> Self {
        self.fetch_board = Some(board);
        self
    }

    /// A new fleet was loaded: its propagators serve pass prediction from now on.
    fn set_fleet(&self, fleet: &LoadedFleet) {
        *self.satellites.write().unwrap_or_else(std::sync::PoisonError::into_inner) =
            Arc::new(fleet.satellites.clone());
        let mut m = lock(&self.metrics);
        m.epochs_s = crate::fleet_load::element_epochs_s(fleet);
        m.stations = fleet.spec.stations.len();
        m.assignments = fleet.spec.assignments.len();
        m.fleet_reloads += 1;
    }

    fn record_tick(&self, outcome: TickOutcome, stats: &LoopStats, outbox: &Outbox) {
        let mut m = lock(&self.metrics);
        m.stats = *stats;
        if outcome == TickOutcome::Ticked {
            self.last_tick_ms.store(stats.last_tick.0, Ordering::Relaxed);
            let ms = stats.last_tick_duration_ms;
            for (i, bound) in TICK_BUCKETS_MS.iter().enumerate() {
                if ms <= *bound {
                    m.buckets[i] += 1;
                }
            }
            m.count += 1;
            m.sum_ms += ms;
            for (sum, stage) in m.stage_sum_ms.iter_mut().zip(stats.stage_ms) {
                *sum += stage;
            }
            m.stations_busy = outbox.summary.stations_tracking + outbox.summary.stations_prepositioning;
            m.aos_total += outbox.summary.aos_events as u64;
            m.los_total += outbox.summary.los_events as u64;
        }
    }
}

impl DirectorStatus for DirectorShared {
    fn last_tick(&self) -> Option<UnixMs> {
        let t = self.last_tick_ms.load(Ordering::Relaxed);
        (t != i64::MIN).then_some(UnixMs(t))
    }

    fn write_metrics(&self, out: &mut String) {
        let m = lock(&self.metrics);
        let mut line = |name: &str, kind: &str, help: &str, value: String| {
            let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n");
        };
        line("talos_ticks_total", "counter", "Director ticks completed.", m.stats.ticks.to_string());
        line(
            "talos_ticks_missed_total",
            "counter",
            "Tick deadlines skipped after an overrun.",
            m.stats.missed_ticks.to_string(),
        );
        line(
            "talos_tick_panics_total",
            "counter",
            "Ticks that panicked (caught and counted).",
            m.stats.panics.to_string(),
        );
        line(
            "talos_last_tick_timestamp_seconds",
            "gauge",
            "Time of the last completed tick.",
            format!("{:.3}", m.stats.last_tick.0 as f64 / 1000.0),
        );
        line("talos_stations", "gauge", "Stations the director runs.", m.stations.to_string());
        line("talos_assignments", "gauge", "Assignments the director runs.", m.assignments.to_string());
        line(
            "talos_stations_busy",
            "gauge",
            "Stations tracking or pre-positioning at the last tick.",
            m.stations_busy.to_string(),
        );
        line("talos_aos_total", "counter", "AOS events.", m.aos_total.to_string());
        line("talos_los_total", "counter", "LOS events.", m.los_total.to_string());
        line("talos_fleet_reloads_total", "counter", "Fleets loaded from the store.", m.fleet_reloads.to_string());
        line(
            "talos_director_commands_recorded_total",
            "counter",
            "Director commands written to the audit log.",
            self.commands_recorded.load(Ordering::Relaxed).to_string(),
        );
        line(
            "talos_director_commands_unrecorded_total",
            "counter",
            "Director commands the audit log could not take (see the error log).",
            self.commands_unrecorded.load(Ordering::Relaxed).to_string(),
        );
        out.push_str("# HELP talos_tick_duration_seconds Director tick duration.\n# TYPE talos_tick_duration_seconds histogram\n");
        for (bound, n) in TICK_BUCKETS_MS.iter().zip(m.buckets) {
            let _ = writeln!(out, "talos_tick_duration_seconds_bucket{{le=\"{}\"}} {n}", bound / 1000.0);
        }
        let _ = writeln!(out, "talos_tick_duration_seconds_bucket{{le=\"+Inf\"}} {}", m.count);
        let _ = writeln!(out, "talos_tick_duration_seconds_sum {}", m.sum_ms / 1000.0);
        let _ = writeln!(out, "talos_tick_duration_seconds_count {}", m.count);
        out.push_str("# HELP talos_tick_stage_seconds_total Time spent in each tick stage.\n# TYPE talos_tick_stage_seconds_total counter\n");
        for (stage, sum) in TickStage::ALL.iter().zip(m.stage_sum_ms) {
            let _ = writeln!(out, "talos_tick_stage_seconds_total{{stage=\"{}\"}} {}", stage.name(), sum / 1000.0);
        }
        out.push_str("# HELP talos_tick_stage_last_seconds Each stage's duration in the last tick.\n# TYPE talos_tick_stage_last_seconds gauge\n");
        for (stage, ms) in TickStage::ALL.iter().zip(m.stats.stage_ms) {
            let _ = writeln!(out, "talos_tick_stage_last_seconds{{stage=\"{}\"}} {}", stage.name(), ms / 1000.0);
        }
        if !m.epochs_s.is_empty() {
            let now_s = (self.clock)().0 as f64 / 1000.0;
            let age = |epoch: f64| now_s - epoch;
            let newest = m.epochs_s[m.epochs_s.len() - 1];
            let median = m.epochs_s[m.epochs_s.len() / 2];
            out.push_str("# HELP talos_element_set_age_seconds Age of the element sets in use (oldest, median, newest).\n# TYPE talos_element_set_age_seconds gauge\n");
            let _ = writeln!(out, "talos_element_set_age_seconds{{which=\"oldest\"}} {:.0}", age(m.epochs_s[0]));
            let _ = writeln!(out, "talos_element_set_age_seconds{{which=\"median\"}} {:.0}", age(median));
            let _ = writeln!(out, "talos_element_set_age_seconds{{which=\"newest\"}} {:.0}", age(newest));
        }
        drop(m);
        if let Some(board) = &self.fetch_board {
            out.push_str(&board.render_prometheus((self.clock)()));
        }
        if let Some(link) = &self.link {
            link.write_metrics(out);
        }
        let refused = self.publications_refused.load(Ordering::Relaxed);
        let _ = write!(
            out,
            "# HELP talos_publications_refused_total Director messages talos-link refused to publish.\n\
             # TYPE talos_publications_refused_total counter\ntalos_publications_refused_total {refused}\n"
        );
    }

    fn predict_passes(&self, request: &PassRequest) -> Result<Vec<PredictedPass>, String> {
        let satellites = self.satellites.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let observer = Observer::new(request.position);
        let mask =
            request.horizon_mask.as_ref().map(horizon_mask).transpose().map_err(|e| format!("horizon mask: {e}"))?;
        let mut trajectories: HashMap<NoradId, SampledTrajectory> = HashMap::new();
        let mut passes = Vec::new();
        for c in &request.candidates {
            let Some(sat) = satellites.get(&c.norad_id) else { continue };
            let trajectory = match trajectories.entry(c.norad_id) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    match SampledTrajectory::sample(sat, request.from, request.to) {
                        Ok(t) => e.insert(t),
                        Err(err) => {
                            tracing::debug!(norad = %c.norad_id, "pass prediction: {err}");
                            continue;
                        }
                    }
                }
            };
            let query = PassQuery {
                observer: &observer,
                min_el_deg: c.min_el_deg.max(request.station_min_el_deg),
                mask: mask.as_ref(),
            };
            let window = c.window_start.unwrap_or(UnixMs(i64::MIN))..c.window_end.unwrap_or(UnixMs(i64::MAX));
            for p in find_passes(trajectory, &query) {
                if p.los <= window.start || p.aos >= window.end {
                    continue;
                }
                passes.push(PredictedPass {
                    assignment: c.assignment,
                    campaign: c.campaign,
                    norad_id: c.norad_id,
                    satellite_name: sat.name.as_ref().map(|n| n.trim().to_owned()),
                    priority: c.priority,
                    aos: p.aos,
                    tca: p.tca,
                    los: p.los,
                    max_el_deg: p.max_el_deg,
                    aos_az_deg: p.aos_az_deg,
                    los_az_deg: p.los_az_deg,
                    aos_cut: p.aos_cut,
                    los_cut: p.los_cut,
                    chosen: false,
                    conflicts_with: Vec::new(),
                });
            }
        }
        passes.sort_by_key(|p| (p.aos, p.assignment));
        Ok(passes)
    }
}

/// The live frame of one tick (busy stations, AOS/LOS).
pub fn live_frame(outbox: &Outbox, duration_ms: f64) -> LiveFrame {
    let rig: HashMap<_, _> = outbox.rig.iter().map(|r| (r.station, r)).collect();
    let stations = outbox
        .rot
        .iter()
        .filter_map(|rot| {
            let first = rot.points.first()?;
            let tuning = rig.get(&rot.station).and_then(|r| r.points.first());
            Some(LiveStation {
                org: rot.org,
                station: rot.station,
                state: if rot.norad_id.is_some() { LiveState::Tracking } else { LiveState::Prepositioning },
                norad_id: rot.norad_id,
                az_deg: first.az_deg,
                el_deg: first.el_deg,
                range_rate_km_s: rot.norad_id.map(|_| first.range_rate_km_s),
                downlink_hz: tuning.and_then(|p| p.1),
                uplink_hz: tuning.and_then(|p| p.2),
            })
        })
        .collect();
    let events = outbox
        .events
        .iter()
        .map(|e| match e {
            TrackingEvent::Aos(a) => LiveEvent {
                org: a.org,
                kind: LiveEventKind::Aos,
                station: a.station,
                assignment: a.assignment,
                norad_id: a.norad_id,
                t: a.t,
                az_deg: a.az_deg,
                in_progress: a.in_progress,
            },
            TrackingEvent::Los(l) => LiveEvent {
                org: l.org,
                kind: LiveEventKind::Los,
                station: l.station,
                assignment: l.assignment,
                norad_id: l.norad_id,
                t: l.t,
                az_deg: l.az_deg,
                in_progress: false,
            },
        })
        .collect();
    LiveFrame { tick: outbox.summary.tick, t: outbox.summary.t, duration_ms, stations, events }
}

/// The director's discrete commands of one tick, as the audit log records them.
pub fn command_records(outbox: &Outbox) -> Vec<DirectorCommand> {
    outbox
        .commands
        .iter()
        .map(|c| DirectorCommand {
            org: c.org,
            station: c.station,
            at: outbox.summary.t,
            kind: match &c.kind {
                StationCommandKind::SessionStart { assignment, norad_id, .. } => {
                    DirectorCommandKind::SessionStart { assignment: *assignment, norad_id: *norad_id }
                }
                StationCommandKind::SessionStop { assignment, norad_id, reason, .. } => {
                    DirectorCommandKind::SessionStop {
                        assignment: *assignment,
                        norad_id: *norad_id,
                        outcome: match reason {
                            SessionEnd::Los => SessionOutcome::Completed,
                            SessionEnd::Preempted => SessionOutcome::Preempted,
                            SessionEnd::Held => SessionOutcome::Held,
                            SessionEnd::Removed => SessionOutcome::Removed,
                        },
                    }
                }
                StationCommandKind::Park { az_deg, el_deg } => {
                    DirectorCommandKind::Park { az_deg: *az_deg, el_deg: *el_deg }
                }
            },
        })
        .collect()
}

/// Runs `talos serve` until interrupted (SIGINT/SIGTERM), `--seconds` elapse, or the
/// director fails (repeated panics: the error says so and the exit code is 1).
pub fn serve(options: ServeOptions, stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("talos-api")
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve_async(options, stop))
}

async fn serve_async(options: ServeOptions, stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    let wall = SystemClock::default();
    let time_offset_ms = options.start.map_or(0, |start| start.0 - director_loop::LoopClock::utc_now(&wall).0);
    let clock: talos_api::Clock = Arc::new(move || UnixMs(chrono::Utc::now().timestamp_millis() + time_offset_ms));
    let now = clock();

    let store = options.location.connect().await?;
    options.location.protect_database_file()?;
    let demo = if options.demo {
        Some(crate::demo::ensure_demo(&store, talos_api::HashCost::Default, now).await?)
    } else {
        None
    };
    if let Some(path) = &options.elements {
        crate::store_cli::import_catalog_into(&store, path, None, 100).await?;
    }

    let snapshot = store.load_director_snapshot().await.context("loading the fleet")?;
    let fleet = load_fleet(&snapshot);
    for skipped in &fleet.skipped {
        tracing::warn!("fleet: left out {skipped}");
    }
    let interrupted = store.interrupt_open_sessions(now).await.context("closing the last run's sessions")?;
    if interrupted > 0 {
        tracing::warn!(interrupted, "tracking sessions left open by the last run were marked interrupted");
    }
    let oldest_days = crate::fleet_load::oldest_age_days(&fleet, now);
    eprintln!(
        "talos: {} stations, {} satellites, {} campaigns, {} assignments ({} left out); clock {now}",
        fleet.spec.stations.len(),
        fleet.satellites.len(),
        fleet.spec.campaigns.len(),
        fleet.spec.assignments.len(),
        fleet.skipped.len()
    );
    if oldest_days > 14.0 {
        eprintln!(
            "warning: the oldest element set in use is {oldest_days:.0} days old at {now}; SGP4 errors grow with age \
             (km per day for LEO). Import fresh elements (`talos catalog import`, --elements FILE) or rehearse at \
             the catalog's time (--start 2026-08-29T12:00:00Z)."
        );
    }
    if fleet.spec.stations.is_empty() {
        eprintln!(
            "talos: the store holds no stations yet: add them through the API (POST /api/v1/orgs/{{org}}/stations) \
             or start with --demo"
        );
    }

    let (link, link_task) = start_mqtt(&options.mqtt, &store, clock.clone()).await?;
    let fetch_board = Arc::new(crate::catalog_fetch::FetchBoard::new());
    let shared = Arc::new(
        DirectorShared::new(clock.clone()).with_fetch_board(fetch_board.clone()).with_link(link.stats.clone()),
    );
    shared.set_fleet(&fleet);
    publish_configs(&link, &snapshot.stations, &shared);
    let (hub, requests) = LiveHub::new();
    let state = AppState::new(store.clone(), shared.clone(), clock.clone()).with_live(hub.clone());
    let state = AppState { secure_cookie: options.secure_cookie, ..state };
    let limiter = state.limiter.clone();

    // Director thread <-> tasks.
    let (fleet_tx, fleet_rx) = std::sync::mpsc::channel::<LoadedFleet>();
    let (commands_tx, commands_rx) = tokio::sync::mpsc::unbounded_channel::<Vec<DirectorCommand>>();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<anyhow::Result<LoopStats>>();
    let director_thread = spawn_director(DirectorThread {
        fleet,
        fleet_rx,
        commands_tx,
        hub: hub.clone(),
        shared: shared.clone(),
        threads: options.threads,
        time_offset_ms,
        deadline: options.seconds.map(|s| now.plus_seconds_f64(s)),
        stop: stop.clone(),
        console: options.console,
        link: link.clone(),
        lease_epoch: now.0.max(1) as u64,
    })?;
    let director_done = tokio::spawn(async move {
        let result = tokio::task::spawn_blocking(move || director_thread.join()).await;
        let outcome = match result {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(anyhow::anyhow!("the director thread panicked outside a tick")),
            Err(e) => Err(anyhow::anyhow!("waiting for the director thread: {e}")),
        };
        let _ = done_tx.send(outcome);
    });
    let reloader = tokio::spawn(reload_fleets(store.clone(), requests, fleet_tx, shared.clone(), link.clone()));
    // The director thread holds the other sender; the task ends (disconnecting) with it.
    drop(link);
    let recorder = tokio::spawn(record_commands(store.clone(), commands_rx, shared.clone()));
    let maintenance = tokio::spawn(maintain(store.clone(), limiter, clock.clone()));
    let catalog = (!options.catalog_sources.is_empty()).then(|| {
        let (updated_tx, mut updated_rx) = tokio::sync::mpsc::channel::<()>(1);
        let scheduler = crate::catalog_fetch::spawn_scheduler(
            store.clone(),
            options.catalog_sources.clone(),
            options.location.data_dir.join("catalog"),
            options.catalog_interval,
            fetch_board.clone(),
            clock.clone(),
            updated_tx,
        );
        // New element sets reach the director like any fleet change.
        let hub = hub.clone();
        let forwarder = tokio::spawn(async move {
            while updated_rx.recv().await.is_some() {
                hub.request(DirectorRequest::ReloadFleet);
            }
        });
        (scheduler, forwarder)
    });

    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("cannot listen on {} (in use? pass --listen ADDR:PORT)", options.listen))?;
    let address = listener.local_addr().context("reading the bound address")?;
    eprintln!("talos: API listening on http://{address}");
    if let Some(demo) = &demo {
        eprintln!("talos: demo login email={} password={} (organization id {})", demo.email, demo.password, demo.org);
        eprintln!("talos: demo API key {} (owner of the demo organization, valid 24 h)", demo.api_key);
        eprintln!("talos: (new credentials at every start; only their hashes are stored)");
    }
    let app = talos_api::app(state);
    let outcome = Arc::new(Mutex::new(None));
    let slot = outcome.clone();
    let hub_for_shutdown = hub.clone();
    let server = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(
        async move {
            let result = done_rx.await.unwrap_or_else(|_| Err(anyhow::anyhow!("the director stopped unexpectedly")));
            *lock(&slot) = Some(result);
            hub_for_shutdown.close();
        },
    );
    let served = server.await;
    let _ = director_done.await;
    reloader.abort();
    maintenance.abort();
    if let Some((scheduler, forwarder)) = catalog {
        scheduler.abort();
        forwarder.abort();
    }
    if tokio::time::timeout(Duration::from_secs(5), link_task).await.is_err() {
        tracing::warn!("the MQTT link did not disconnect within 5 s");
    }
    // The recorder ends when the director's sender is gone, after writing what it holds.
    if tokio::time::timeout(Duration::from_secs(10), recorder).await.is_err() {
        tracing::error!("the command recorder did not finish within 10 s; some commands may be unrecorded");
    }
    store.close().await;
    served.context("the HTTP server failed")?;
    let result = lock(&outcome).take().unwrap_or_else(|| Err(anyhow::anyhow!("the director result was lost")));
    let stats = result?;
    eprintln!("talos: stopped after {} ticks ({} missed, {} panics)", stats.ticks, stats.missed_ticks, stats.panics);
    Ok(())
}

struct DirectorThread {
    fleet: LoadedFleet,
    fleet_rx: std::sync::mpsc::Receiver<LoadedFleet>,
    commands_tx: tokio::sync::mpsc::UnboundedSender<Vec<DirectorCommand>>,
    hub: LiveHub,
    shared: Arc<DirectorShared>,
    threads: usize,
    time_offset_ms: i64,
    deadline: Option<UnixMs>,
    stop: Arc<AtomicBool>,
    console: bool,
    link: crate::mqtt_link::DirectorLink,
    /// This director run's lease: agents follow the newest epoch (so a restarted director
    /// with fresh `seq` numbers is followed, a stale one is not). Its start time in ms.
    lease_epoch: u64,
}

fn spawn_director(t: DirectorThread) -> anyhow::Result<std::thread::JoinHandle<anyhow::Result<LoopStats>>> {
    let pool = ComputePool::new(t.threads, crate::bench::DEFAULT_MIN_PARALLEL_ITEMS)?;
    let planner_pool = pool.pool.clone();
    // Pass planning off the tick path: a worker plans the next hours on the hour and
    // after each fleet change; the loop hands the results to the director between ticks.
    let (plan_requests, plan_inbox) = std::sync::mpsc::channel::<(Vec<talos_tick::planner::PlanInput>, UnixMs)>();
    let (plan_results, plans) = std::sync::mpsc::channel();
    std::thread::Builder::new().name("talos-planner".into()).spawn(move || {
        let mut planner = PassPlanner::new(planner_pool);
        while let Ok((mut inputs, mut start)) = plan_inbox.recv() {
            // Only the newest request matters.
            while let Ok((newer, newer_start)) = plan_inbox.try_recv() {
                (inputs, start) = (newer, newer_start);
            }
            let (plan, stats) = planner.plan(&inputs, start, start.plus_ms(PLAN_HOURS * 3_600_000));
            tracing::info!(
                pairs = stats.pairs,
                computed = stats.pairs_computed,
                passes = stats.passes,
                "pass plan ready"
            );
            for failure in &stats.failures {
                tracing::warn!("pass planning: {failure}");
            }
            if plan_results.send(plan).is_err() {
                break;
            }
        }
    })?;
    Ok(std::thread::Builder::new().name("talos-director".into()).spawn(move || {
        let DirectorThread {
            fleet,
            fleet_rx,
            commands_tx,
            hub,
            shared,
            time_offset_ms,
            deadline,
            stop,
            console,
            link,
            lease_epoch,
            ..
        } = t;
        let director_id = format!("director-{lease_epoch}");
        // Satellite names for the console line, from every fleet the director has held.
        let mut names: HashMap<NoradId, String> = satellite_names(&fleet).collect();
        let mut director = Director::new(pool, TickConfig::default());
        director.set_lease_epoch(lease_epoch);
        let report = director.sync_fleet(fleet.spec);
        tracing::info!(?report, "fleet loaded");
        let clock = SystemClock::default();
        let config = LoopConfig { time_offset_ms, ..LoopConfig::default() };
        let mut planned_hour = i64::MIN;
        let mut replan = false;
        let mut last_line_s = i64::MIN;
        let mut stdout = std::io::stdout();
        let result = director_loop::run(&mut director, &clock, &config, &stop, |director, outcome, stats| {
            while let Ok(fleet) = fleet_rx.try_recv() {
                names.extend(satellite_names(&fleet));
                let report = director.sync_fleet(fleet.spec);
                tracing::info!(?report, "fleet reloaded");
                replan |= report.changed();
            }
            if let Ok(plan) = plans.try_recv() {
                director.set_pass_plan(plan);
            }
            let hour = stats.last_tick.0.div_euclid(3_600_000);
            if hour != planned_hour || replan {
                planned_hour = hour;
                replan = false;
                let _ = plan_requests.send((director.plan_inputs(), UnixMs(hour * 3_600_000)));
            }
            let outbox = director.outbox();
            shared.record_tick(outcome, stats, outbox);
            if outcome == TickOutcome::Ticked {
                let (publications, refused) = crate::link_out::publications(outbox, &director_id, lease_epoch);
                shared.count_refused(&refused);
                if !link.send_tick(publications) {
                    tracing::error!("the MQTT link task is gone; this tick's setpoints were not sent");
                }
                if !outbox.commands.is_empty() && commands_tx.send(command_records(outbox)).is_err() {
                    tracing::error!(
                        commands = outbox.commands.len(),
                        "the command recorder is gone; commands unrecorded"
                    );
                }
                if hub.has_subscribers() {
                    hub.publish(live_frame(outbox, stats.last_tick_duration_ms));
                }
                if console {
                    let second = outbox.summary.t.0.div_euclid(1000);
                    if second != last_line_s {
                        last_line_s = second;
                        let _ = writeln!(stdout, "{}", console_line(outbox, stats, &names));
                    }
                }
            }
            if deadline.is_some_and(|d| stats.last_tick >= d) {
                stop.store(true, Ordering::Relaxed);
            }
        });
        result.map_err(anyhow::Error::from)
    })?)
}

/// Each satellite of a fleet by its name (its NORAD id when it has none).
fn satellite_names(fleet: &LoadedFleet) -> impl Iterator<Item = (NoradId, String)> + '_ {
    fleet.satellites.iter().map(|(n, s)| (*n, s.name.clone().unwrap_or_else(|| n.to_string())))
}

/// One status line: tick, duration, stations busy, events, the most tracked satellites.
fn console_line(outbox: &Outbox, stats: &LoopStats, names: &HashMap<NoradId, String>) -> String {
    let summary = &outbox.summary;
    let mut tracked: HashMap<NoradId, usize> = HashMap::new();
    for n in outbox.rot.iter().filter_map(|s| s.norad_id) {
        *tracked.entry(n).or_default() += 1;
    }
    let mut top: Vec<_> = tracked.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let top: Vec<String> =
        top.iter().take(3).map(|(n, c)| format!("{} x{c}", names.get(n).map_or("?", |s| s.trim()))).collect();
    format!(
        "{} tick {:>6} {:>6.2} ms | tracking {:>3} stations, preposition {:>3} | aos {:>2} (+{} in progress) los {:>2} | sats ok {:>3} failed {} | missed {} panics {} | {}",
        summary.t,
        summary.tick,
        stats.last_tick_duration_ms,
        summary.stations_tracking,
        summary.stations_prepositioning,
        summary.aos_events,
        summary.aos_first_sight,
        summary.los_events,
        summary.satellites_propagated,
        summary.satellites_failed,
        stats.missed_ticks,
        stats.panics,
        top.join(", ")
    )
}

/// Reloads the fleet from the store on each request and hands it to the director.
/// A failed load is logged and the director keeps the fleet it has.
async fn reload_fleets(
    store: Store,
    mut requests: tokio::sync::mpsc::Receiver<DirectorRequest>,
    fleet_tx: std::sync::mpsc::Sender<LoadedFleet>,
    shared: Arc<DirectorShared>,
    link: crate::mqtt_link::DirectorLink,
) {
    while let Some(DirectorRequest::ReloadFleet) = requests.recv().await {
        let snapshot = match store.load_director_snapshot().await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("fleet reload failed, the director keeps its current fleet: {e}");
                continue;
            }
        };
        publish_configs(&link, &snapshot.stations, &shared);
        let fleet = match tokio::task::spawn_blocking(move || load_fleet(&snapshot)).await {
            Ok(f) => f,
            Err(e) => {
                tracing::error!("fleet reload failed: {e}");
                continue;
            }
        };
        for skipped in &fleet.skipped {
            tracing::warn!("fleet: left out {skipped}");
        }
        shared.set_fleet(&fleet);
        if fleet_tx.send(fleet).is_err() {
            break;
        }
    }
}

/// Hands every station's retained config to the MQTT link (it publishes the changed ones).
fn publish_configs(link: &crate::mqtt_link::DirectorLink, stations: &[talos_store::Station], shared: &DirectorShared) {
    let (configs, refused) = crate::link_out::station_configs(stations);
    shared.count_refused(&refused);
    let _ = link.send_configs(configs);
}

/// Connects the director to its broker: starts the embedded one (with a fresh director
/// password and station credentials checked against the store) or uses `--mqtt-url`.
async fn start_mqtt(
    choice: &MqttChoice,
    store: &Store,
    clock: talos_api::Clock,
) -> anyhow::Result<(crate::mqtt_link::DirectorLink, tokio::task::JoinHandle<()>)> {
    let settings = match choice {
        MqttChoice::External(settings) => {
            eprintln!("talos: MQTT broker {}:{} (external, as {})", settings.host, settings.port, settings.username);
            settings.clone()
        }
        MqttChoice::Embedded(broker) => {
            let director_password = talos_store::generate_mqtt_password();
            let verify = crate::broker::store_verifier(store.clone(), director_password.clone());
            let runtime = tokio::runtime::Handle::current();
            let broker = tokio::task::block_in_place(|| crate::broker::start(broker, verify, runtime))?;
            eprintln!("talos: MQTT broker (embedded) listening on {}", broker.address);
            crate::mqtt_link::LinkSettings::embedded(broker, director_password)
        }
    };
    crate::mqtt_link::spawn(settings, clock)
}

/// Writes the director's commands to the audit log and tracking sessions, batching
/// what queued up meanwhile. Ends when the director is gone and the queue is empty.
async fn record_commands(
    store: Store,
    mut commands: tokio::sync::mpsc::UnboundedReceiver<Vec<DirectorCommand>>,
    shared: Arc<DirectorShared>,
) {
    while let Some(mut batch) = commands.recv().await {
        while batch.len() < RECORD_BATCH {
            match commands.try_recv() {
                Ok(more) => batch.extend(more),
                Err(_) => break,
            }
        }
        let mut result = store.record_director_commands(&batch).await;
        if let Err(e) = &result {
            tracing::warn!(commands = batch.len(), "recording director commands failed, retrying once: {e}");
            tokio::time::sleep(Duration::from_millis(500)).await;
            result = store.record_director_commands(&batch).await;
        }
        match result {
            Ok(()) => {
                shared.commands_recorded.fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
            Err(e) => {
                shared.commands_unrecorded.fetch_add(batch.len() as u64, Ordering::Relaxed);
                tracing::error!(
                    commands = batch.len(),
                    "director commands could not be recorded in the audit log: {e}"
                );
            }
        }
    }
}

/// Periodic clean-up: expired browser sessions, idle login-limiter entries.
async fn maintain(store: Store, limiter: Arc<talos_api::LoginLimiter>, clock: talos_api::Clock) {
    let mut every = tokio::time::interval(MAINTENANCE_EVERY);
    loop {
        every.tick().await;
        let now = clock();
        match store.delete_expired_sessions(now).await {
            Ok(n) if n > 0 => tracing::info!(deleted = n, "expired sessions pruned"),
            Ok(_) => {}
            Err(e) => tracing::warn!("pruning expired sessions: {e}"),
        }
        limiter.prune(now);
    }
}

/// `--listen` values: `ADDR:PORT`, with a clear error.
pub fn parse_listen(text: &str) -> anyhow::Result<SocketAddr> {
    match text.parse::<SocketAddr>() {
        Ok(a) => Ok(a),
        Err(_) => bail!("--listen {text:?}: expected ADDR:PORT, e.g. 127.0.0.1:8080 or [::1]:8080"),
    }
}

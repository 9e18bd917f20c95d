//! `talos simulate`: the director, the embedded broker and N simulated station agents in
//! one process, on the wall clock, for as long as asked; then one report.
//!
//! Nothing is shortcut: the director runs the same loop, tick and MQTT link as `talos
//! serve` (setpoints validated and encoded by talos-link, published by rumqttc through
//! rumqttd with authentication on); each simulated agent is the real agent `Controller`
//! (gate, deadband, dead-man, limits) on its own MQTT connection with its own credentials,
//! driving a rotator model with slew rates and limits (`talos_agent::sim`). Only the
//! network (a benchmark network of real SatNOGS positions and real satellites) and the
//! credentials (made in memory) do not come from a store.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use talos_core::UnixMs;
use talos_link::{Pointing, RotatorLimits, SlewRates};
use talos_tick::{ComputePool, Director, PassPlanner, TickConfig};

use crate::director_loop::{self, LoopConfig, SystemClock};
use crate::network::{NetworkSize, benchmark_network};

/// What `talos simulate` is told.
#[derive(Debug, Clone)]
pub struct SimulateOptions {
    pub size: NetworkSize,
    pub seconds: f64,
    pub threads: usize,
}

/// Everything measured, as `--format json` prints it.
#[derive(Debug, Serialize)]
pub struct SimulateReport {
    pub ticks: u64,
    pub missed_ticks: u64,
    pub tick_p50_ms: f64,
    pub tick_p99_ms: f64,
    pub tick_max_ms: f64,
    #[serde(flatten)]
    pub agents: talos_agent::sim::SimReport,
    /// Published by the director: setpoints, session/park commands, heartbeats.
    pub director_published: u64,
    /// Setpoints the director's link could not send (queue full, superseded, offline).
    pub director_setpoints_not_sent: u64,
    /// CPU over the run, percent of one core, by thread group.
    pub cpu_percent: CpuShare,
    /// Resident memory of the whole process (director, broker and all simulated agents).
    pub rss_mb_end: f64,
    pub rss_mb_peak: f64,
    pub threads: usize,
}

#[derive(Debug, Default, Serialize)]
pub struct CpuShare {
    /// The director thread, its compute workers and the pass planner.
    pub director: f64,
    /// rumqttd's server and router threads.
    pub broker: f64,
    /// The async runtime: the simulated agents and the director's MQTT link task.
    pub agents_and_link: f64,
}

/// CPU seconds per thread group so far, from /proc/self/task (USER_HZ is 100 on Linux).
fn cpu_seconds_by_group() -> [f64; 3] {
    let mut out = [0.0; 3];
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return out };
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 = fields.get(11..13).map_or(0.0, |f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum());
        let name = comm.trim();
        let group = if name.starts_with("talos-director") || name.starts_with("talos-tick") || name == "talos-planner" {
            0
        } else if name.starts_with("talos-mqtt") || name.starts_with("router") {
            1
        } else {
            2
        };
        out[group] += ticks / 100.0;
    }
    out
}

/// (current, peak) resident memory in MB, from /proc/self/status.
fn rss_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key)?.trim().strip_suffix("kB")?.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kb("VmRSS:") / 1024.0, kb("VmHWM:") / 1024.0)
}

pub fn simulate(options: SimulateOptions) -> anyhow::Result<SimulateReport> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(simulate_async(options))
}

async fn simulate_async(options: SimulateOptions) -> anyhow::Result<SimulateReport> {
    let now = director_loop::LoopClock::utc_now(&SystemClock::default());
    let pool = ComputePool::new(options.threads, crate::bench::DEFAULT_MIN_PARALLEL_ITEMS)?;
    let planner_pool = pool.pool.clone();
    let mut director = Director::new(pool, TickConfig::default());
    let spawned = benchmark_network(&mut director, options.size, now)?;
    let lease_epoch = now.0 as u64;
    director.set_lease_epoch(lease_epoch);
    let (plan, _) = PassPlanner::new(planner_pool).plan(&director.plan_inputs(), now, now.plus_ms(3_600_000));
    director.set_pass_plan(plan);

    // Credentials in memory: one per station, and the director's.
    let stations: Vec<talos_agent::sim::SimStation> = spawned
        .into_iter()
        .map(|(org, station)| {
            let defaults = talos_tick::RotatorLimits::default();
            talos_agent::sim::SimStation {
                org,
                station,
                username: talos_link::station_username(org, station),
                password: talos_store::generate_mqtt_password(),
                limits: RotatorLimits {
                    az_min_deg: defaults.az_min_deg,
                    az_max_deg: defaults.az_max_deg,
                    el_min_deg: defaults.el_min_deg,
                    // The wire contract carries elevations 0..=90 (no flip mode): a G-5500's 180 deg
                    // of elevation is offered to agents as 90.
                    el_max_deg: defaults.el_max_deg.min(talos_link::EL_MAX_DEG),
                },
                park: Pointing { az_deg: 0.0, el_deg: 90.0 },
                slew: SlewRates { az_deg_s: defaults.az_slew_deg_s, el_deg_s: defaults.el_slew_deg_s },
            }
        })
        .collect();
    let director_password = talos_store::generate_mqtt_password();
    let mut logins: HashMap<String, String> =
        stations.iter().map(|s| (s.username.clone(), s.password.clone())).collect();
    logins.insert(talos_link::DIRECTOR_USERNAME.to_owned(), director_password.clone());
    let logins = Arc::new(logins);
    let verify: crate::broker::Verify = Arc::new(move |user, password| {
        let ok = logins.get(&user).is_some_and(|p| *p == password);
        Box::pin(async move { ok })
    });
    let settings = crate::broker::BrokerSettings {
        listen: "127.0.0.1:0".parse().expect("a loopback address"),
        fallback_to_free_port: false,
        max_connections: stations.len() + 64,
    };
    let runtime = tokio::runtime::Handle::current();
    let broker = tokio::task::block_in_place(|| crate::broker::start(&settings, verify, runtime))?;
    let clock: talos_api::Clock = Arc::new(|| UnixMs(chrono::Utc::now().timestamp_millis()));
    let (link, link_task) =
        crate::mqtt_link::spawn(crate::mqtt_link::LinkSettings::embedded(broker, director_password), clock)?;
    let link_stats = link.stats.clone();

    // The director loop on its own thread, as in serve.
    let stop = Arc::new(AtomicBool::new(false));
    let director_stop = stop.clone();
    let director_thread = std::thread::Builder::new().name("talos-director".into()).spawn(move || {
        let director_id = format!("director-{lease_epoch}");
        let mut durations_ms = Vec::new();
        let result = director_loop::run(
            &mut director,
            &SystemClock::default(),
            &LoopConfig::default(),
            &director_stop,
            |director, outcome, stats| {
                if outcome == director_loop::TickOutcome::Ticked {
                    durations_ms.push(stats.last_tick_duration_ms);
                    let (publications, refused) =
                        crate::link_out::publications(director.outbox(), &director_id, lease_epoch);
                    crate::link_out::log_refused(&refused);
                    let _ = link.send_tick(publications);
                }
            },
        );
        (result, durations_ms)
    })?;

    let cpu_before = cpu_seconds_by_group();
    let began = Instant::now();
    let fleet = talos_agent::sim::SimOptions::new(
        &broker.address.ip().to_string(),
        broker.address.port(),
        stations,
        Duration::from_secs_f64(options.seconds),
    );
    let sampler_stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = sampler_stop.clone();
        tokio::spawn(async move {
            let mut peak: f64 = 0.0;
            while !stop.load(Ordering::Relaxed) {
                peak = peak.max(rss_mb().0);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            peak
        })
    };
    let agents = talos_agent::sim::run_fleet(fleet).await;
    let elapsed_s = began.elapsed().as_secs_f64();
    let cpu_after = cpu_seconds_by_group();
    sampler_stop.store(true, Ordering::Relaxed);
    let rss_peak_sampled = sampler.await.unwrap_or(0.0);
    stop.store(true, Ordering::Relaxed);
    let (result, mut durations_ms) = tokio::task::spawn_blocking(move || director_thread.join())
        .await
        .context("waiting for the director")?
        .map_err(|_| anyhow::anyhow!("the director thread panicked"))?;
    let stats = result?;
    let _ = tokio::time::timeout(Duration::from_secs(5), link_task).await;
    let agents = agents?;

    durations_ms.sort_by(f64::total_cmp);
    let pct = |p: f64| crate::bench::percentile(&durations_ms, p);
    let share = |i: usize| ((cpu_after[i] - cpu_before[i]) / elapsed_s * 100.0 * 10.0).round() / 10.0;
    let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let (rss_end, rss_hwm) = rss_mb();
    Ok(SimulateReport {
        ticks: stats.ticks,
        missed_ticks: stats.missed_ticks,
        tick_p50_ms: round3(pct(50.0)),
        tick_p99_ms: round3(pct(99.0)),
        tick_max_ms: round3(durations_ms.last().copied().unwrap_or(f64::NAN)),
        agents,
        director_published: get(&link_stats.setpoints_published)
            + get(&link_stats.commands_published)
            + get(&link_stats.heartbeats_published),
        director_setpoints_not_sent: get(&link_stats.setpoints_dropped_backpressure)
            + get(&link_stats.setpoints_superseded)
            + get(&link_stats.setpoints_dropped_offline),
        cpu_percent: CpuShare { director: share(0), broker: share(1), agents_and_link: share(2) },
        rss_mb_end: (rss_end * 10.0).round() / 10.0,
        rss_mb_peak: (rss_hwm.max(rss_peak_sampled) * 10.0).round() / 10.0,
        threads: options.threads,
    })
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

//! `talos bench`: the tick and the pass planner on real data, timed from outside the
//! tick (the tick itself never reads a clock).

use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;
use talos_core::UnixMs;
use talos_tick::{ComputePool, Director, PassPlanner, TickConfig};

use crate::network::{NetworkSize, benchmark_network};

/// Benchmarks start at this UTC time: the shipped active catalog's median epoch is
/// 2026-05-07 16:01, so element sets are hours old, as in operation.
pub const BENCH_START: &str = "2026-05-08T00:00:00Z";

/// Work (in look-angle units) under which a stage stays on one thread. Measured on a
/// 2-core machine: waking a sleeping rayon worker costs ~2 ms at a 2 Hz cadence, more
/// than it saves for small ticks.
pub const DEFAULT_MIN_PARALLEL_ITEMS: usize = 20_000;

#[derive(Debug, Clone, Serialize)]
pub struct TickBenchReport {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Median time of each stage.
    pub systems: BTreeMap<String, f64>,
    pub stations: usize,
    pub satellites: usize,
    pub assignments: usize,
    pub ticks: usize,
    pub threads: usize,
    /// The first tick, which mirrors the world into the dense layout (not in the percentiles).
    pub layout_build_ms: f64,
    pub mean_stations_tracking: f64,
    pub mean_rot_setpoints: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PassBenchReport {
    pub pairs: usize,
    pub passes: usize,
    pub seconds: f64,
    pub satellites: usize,
    pub threads: usize,
    pub hours: f64,
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A director holding the benchmark network, the pool it computes on, and the start time.
fn bench_director(
    size: NetworkSize,
    threads: usize,
    min_parallel_items: usize,
) -> anyhow::Result<(Director, std::sync::Arc<rayon::ThreadPool>, UnixMs)> {
    let start = UnixMs::parse_rfc3339(BENCH_START)?;
    let pool = ComputePool::new(threads, min_parallel_items)?;
    let planner_pool = pool.pool.clone();
    let mut director = Director::new(pool, TickConfig::default());
    benchmark_network(&mut director, size, start)?;
    Ok((director, planner_pool, start))
}

pub fn bench_tick(
    size: NetworkSize,
    ticks: usize,
    threads: usize,
    min_parallel_items: usize,
) -> anyhow::Result<TickBenchReport> {
    let (mut director, planner_pool, start) = bench_director(size, threads, min_parallel_items)?;
    // Pre-positioning reads the plan, so plan first (off the tick path, as in serve).
    let inputs = director.plan_inputs();
    let (plan, _) = PassPlanner::new(planner_pool).plan(&inputs, start, start.plus_ms(3_600_000));
    director.set_pass_plan(plan);

    let first = Instant::now();
    director.tick(start);
    let layout_build_ms = first.elapsed().as_secs_f64() * 1000.0;

    let mut totals = Vec::with_capacity(ticks);
    let mut per_stage: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    let (mut tracking, mut setpoints) = (0usize, 0usize);
    for i in 1..=ticks {
        let t = start.plus_ms(i as i64 * 500);
        let began = Instant::now();
        let outbox = director.tick_with(t, |stage, run| {
            let s = Instant::now();
            run();
            per_stage.entry(stage.name()).or_default().push(s.elapsed().as_secs_f64() * 1000.0);
        });
        totals.push(began.elapsed().as_secs_f64() * 1000.0);
        tracking += outbox.summary.stations_tracking;
        setpoints += outbox.rot.len();
    }
    totals.sort_by(f64::total_cmp);
    let systems = per_stage
        .into_iter()
        .map(|(name, mut v)| {
            v.sort_by(f64::total_cmp);
            (name.to_owned(), round3(percentile(&v, 50.0)))
        })
        .collect();
    let summary = director.outbox().summary;
    Ok(TickBenchReport {
        p50_ms: round3(percentile(&totals, 50.0)),
        p99_ms: round3(percentile(&totals, 99.0)),
        max_ms: round3(totals.last().copied().unwrap_or(f64::NAN)),
        systems,
        stations: summary.stations,
        satellites: size.satellites,
        assignments: summary.assignments,
        ticks,
        threads,
        layout_build_ms: round3(layout_build_ms),
        mean_stations_tracking: tracking as f64 / ticks.max(1) as f64,
        mean_rot_setpoints: setpoints as f64 / ticks.max(1) as f64,
    })
}

pub fn bench_passes(size: NetworkSize, hours: f64, threads: usize) -> anyhow::Result<PassBenchReport> {
    let (mut director, planner_pool, start) = bench_director(size, threads, DEFAULT_MIN_PARALLEL_ITEMS)?;
    let inputs = director.plan_inputs();
    let mut planner = PassPlanner::new(planner_pool);
    let began = Instant::now();
    let (_, stats) = planner.plan(&inputs, start, start.plus_seconds_f64(hours * 3600.0));
    let seconds = began.elapsed().as_secs_f64();
    Ok(PassBenchReport {
        pairs: stats.pairs,
        passes: stats.passes,
        seconds: round3(seconds),
        satellites: size.satellites,
        threads,
        hours,
    })
}

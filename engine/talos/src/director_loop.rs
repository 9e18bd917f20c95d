//! The director's 500 ms loop: drift-free, supervised, with a heartbeat.
//!
//! - Drift-free: deadline n = start + n * period, never "now + period", so the
//!   cadence does not creep; a tick that overran makes the loop skip the deadlines
//!   it missed (counted), never burst to catch up.
//! - Supervised: a panicking tick is caught, logged and counted, and the loop goes
//!   on; `max_consecutive_panics` in a row end the loop with an error that says so
//!   (the v0.3 director died silently; this one either ticks or exits loudly).
//! - The tick's time is the deadline's UTC time, on the exact period grid.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use talos_core::UnixMs;
use talos_tick::{Director, TickStage};

/// The loop's view of time, injectable so tests run on virtual time.
pub trait LoopClock {
    /// Monotonic time since an arbitrary origin.
    fn monotonic(&self) -> Duration;
    /// UTC now.
    fn utc_now(&self) -> UnixMs;
    /// Blocks until `monotonic() >= deadline`.
    fn sleep_until(&self, deadline: Duration);
}

/// The real clock.
#[derive(Debug)]
pub struct SystemClock {
    origin: std::time::Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        Self { origin: std::time::Instant::now() }
    }
}

impl LoopClock for SystemClock {
    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }
    fn utc_now(&self) -> UnixMs {
        UnixMs(chrono::Utc::now().timestamp_millis())
    }
    fn sleep_until(&self, deadline: Duration) {
        let now = self.monotonic();
        if deadline > now {
            std::thread::sleep(deadline - now);
        }
    }
}

#[derive(Debug, Clone)]
pub struct LoopConfig {
    pub period: Duration,
    pub max_consecutive_panics: u32,
    /// Shift applied to UTC (for replaying a past or future time); zero in production.
    pub time_offset_ms: i64,
}

impl Default for LoopConfig {
    fn default() -> Self {
        Self { period: Duration::from_millis(500), max_consecutive_panics: 5, time_offset_ms: 0 }
    }
}

/// What the heartbeat reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct LoopStats {
    pub ticks: u64,
    pub missed_ticks: u64,
    pub panics: u64,
    pub last_tick: UnixMs,
    pub last_tick_duration_ms: f64,
    /// The last tick's stage durations, in `TickStage::ALL` order.
    pub stage_ms: [f64; STAGES],
}

/// Number of tick stages.
pub const STAGES: usize = TickStage::ALL.len();

#[derive(Debug, thiserror::Error)]
pub enum LoopError {
    #[error("director tick panicked {count} times in a row (last: {last}); stopping so a supervisor can restart it")]
    RepeatedPanics { count: u32, last: String },
}

/// How the last tick ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickOutcome {
    /// The tick ran; `Director::outbox` holds what it produced.
    Ticked,
    /// The tick panicked and was skipped.
    Panicked,
}

/// Runs ticks until `stop` is set. `between_ticks` runs after each tick (publishing,
/// feeding plan updates into the director).
pub fn run(
    director: &mut Director,
    clock: &dyn LoopClock,
    config: &LoopConfig,
    stop: &Arc<AtomicBool>,
    mut between_ticks: impl FnMut(&mut Director, TickOutcome, &LoopStats),
) -> Result<LoopStats, LoopError> {
    let period = config.period;
    let start_mono = clock.monotonic();
    // Align tick times to the period grid in UTC.
    let utc0 = clock.utc_now().0 + config.time_offset_ms;
    let period_ms = period.as_millis() as i64;
    let first_ms = (utc0.div_euclid(period_ms) + 1) * period_ms;
    let start_deadline = start_mono + Duration::from_millis((first_ms - utc0) as u64);
    let mut stats = LoopStats::default();
    let mut consecutive_panics = 0;
    let mut n: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        let deadline = start_deadline + nth(period, n);
        clock.sleep_until(deadline);
        let began = clock.monotonic();
        let tick_time = UnixMs(first_ms + n as i64 * period_ms);
        let mut stage_ms = [0.0; STAGES];
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let _span = tracing::info_span!("tick", t = tick_time.0).entered();
            director.tick_with(tick_time, |stage, run| {
                let _stage = tracing::info_span!("stage", name = stage.name()).entered();
                let began = clock.monotonic();
                run();
                if let Some(i) = TickStage::ALL.iter().position(|s| *s == stage) {
                    stage_ms[i] = (clock.monotonic() - began).as_secs_f64() * 1000.0;
                }
            });
        }));
        stats.stage_ms = stage_ms;
        let took = clock.monotonic() - began;
        stats.last_tick_duration_ms = took.as_secs_f64() * 1000.0;
        match result {
            Ok(()) => {
                consecutive_panics = 0;
                stats.ticks += 1;
                stats.last_tick = tick_time;
                between_ticks(director, TickOutcome::Ticked, &stats);
            }
            Err(payload) => {
                let message = panic_message(payload.as_ref());
                stats.panics += 1;
                consecutive_panics += 1;
                tracing::error!(tick_time = %tick_time, panics = stats.panics, "director tick panicked: {message}");
                if consecutive_panics >= config.max_consecutive_panics {
                    return Err(LoopError::RepeatedPanics { count: consecutive_panics, last: message });
                }
                between_ticks(director, TickOutcome::Panicked, &stats);
            }
        }
        // Next deadline: the first one still in the future; the ones skipped are missed ticks.
        let now = clock.monotonic();
        let mut next = n + 1;
        let next_deadline = start_deadline + nth(period, next);
        if now > next_deadline {
            let behind = (now - start_deadline).as_nanos() / period.as_nanos();
            let skip_to = behind as u64 + 1;
            stats.missed_ticks += skip_to - next;
            tracing::warn!(missed = skip_to - next, "tick overran; skipping missed deadlines");
            next = skip_to;
        }
        n = next;
    }
    Ok(stats)
}

fn nth(period: Duration, n: u64) -> Duration {
    Duration::from_nanos((period.as_nanos() as u64).saturating_mul(n))
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

//! The supervised drift-free loop, on virtual time: deterministic and instant.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use talos::director_loop::{LoopClock, LoopConfig, LoopError, TickOutcome, run};
use talos_core::UnixMs;
use talos_tick::{ComputePool, Director, TickClock, TickConfig, TickStage};

/// Virtual time: sleeping jumps to the deadline; tests add "work" time explicitly.
struct VirtualClock {
    now: Cell<Duration>,
    utc_origin_ms: i64,
}

impl VirtualClock {
    fn new(utc_origin: &str) -> Self {
        Self { now: Cell::new(Duration::ZERO), utc_origin_ms: UnixMs::parse_rfc3339(utc_origin).unwrap().0 }
    }
    fn spend(&self, d: Duration) {
        self.now.set(self.now.get() + d);
    }
}

impl LoopClock for VirtualClock {
    fn monotonic(&self) -> Duration {
        self.now.get()
    }
    fn utc_now(&self) -> UnixMs {
        UnixMs(self.utc_origin_ms + self.now.get().as_millis() as i64)
    }
    fn sleep_until(&self, deadline: Duration) {
        if deadline > self.now.get() {
            self.now.set(deadline);
        }
    }
}

fn director() -> Director {
    Director::new(ComputePool::new(1, usize::MAX).unwrap(), TickConfig::default())
}

#[test]
fn ticks_land_on_the_500_ms_grid_without_drift() {
    let clock = VirtualClock::new("2026-05-08T00:00:00.123Z");
    let stop = Arc::new(AtomicBool::new(false));
    let mut times = Vec::new();
    let stats = run(&mut director(), &clock, &LoopConfig::default(), &stop, |d, outcome, stats| {
        assert_eq!(outcome, TickOutcome::Ticked);
        times.push(d.outbox().summary.t);
        // Each tick takes 137 ms of work: a "sleep 500 ms after work" loop would drift 137 ms per tick.
        clock.spend(Duration::from_millis(137));
        if stats.ticks == 1000 {
            stop.store(true, Ordering::Relaxed);
        }
    })
    .unwrap();
    assert_eq!(stats.ticks, 1000);
    assert_eq!(stats.missed_ticks, 0);
    assert_eq!(times[0], UnixMs::parse_rfc3339("2026-05-08T00:00:00.500Z").unwrap());
    assert!(times.windows(2).all(|w| w[1].0 - w[0].0 == 500), "every tick exactly 500 ms after the last");
    // After 1000 ticks the loop is exactly 500 s in, not 500 s + 1000 x 137 ms.
    assert_eq!(times[999].0 - times[0].0, 999 * 500);
}

#[test]
fn an_overrunning_tick_skips_and_counts_missed_ticks_instead_of_bursting() {
    let clock = VirtualClock::new("2026-05-08T00:00:00Z");
    let stop = Arc::new(AtomicBool::new(false));
    let mut times = Vec::new();
    let stats = run(&mut director(), &clock, &LoopConfig::default(), &stop, |d, _, stats| {
        times.push(d.outbox().summary.t.0);
        if stats.ticks == 3 {
            clock.spend(Duration::from_millis(1_700)); // overruns 3 deadlines
        }
        if stats.ticks == 6 {
            stop.store(true, Ordering::Relaxed);
        }
    })
    .unwrap();
    assert_eq!(stats.missed_ticks, 3);
    let base = times[0];
    let offsets: Vec<i64> = times.iter().map(|t| t - base).collect();
    // Ticks 1-3 on time, deadlines at 1.5, 2.0 and 2.5 s skipped, then back on the grid.
    assert_eq!(offsets, vec![0, 500, 1000, 3000, 3500, 4000]);
}

#[test]
fn a_panicking_tick_is_logged_counted_and_the_loop_goes_on() {
    let clock = VirtualClock::new("2026-05-08T00:00:00Z");
    let stop = Arc::new(AtomicBool::new(false));
    let mut d = director();
    d.add_system(TickStage::Policy, |clock: bevy_ecs::prelude::Res<'_, TickClock>| {
        if clock.tick == 3 {
            panic!("injected fault in tick 3");
        }
    });
    let mut outcomes = Vec::new();
    let stats = run(&mut d, &clock, &LoopConfig::default(), &stop, |_, outcome, stats| {
        outcomes.push(outcome);
        if stats.ticks + stats.panics == 6 {
            stop.store(true, Ordering::Relaxed);
        }
    })
    .unwrap();
    assert_eq!(stats.panics, 1);
    assert_eq!(stats.ticks, 5);
    assert_eq!(outcomes[2], TickOutcome::Panicked);
    assert!(outcomes[3..].iter().all(|o| *o == TickOutcome::Ticked), "the loop recovered: {outcomes:?}");
}

#[test]
fn repeated_panics_end_the_loop_with_an_error_that_says_why() {
    let clock = VirtualClock::new("2026-05-08T00:00:00Z");
    let stop = Arc::new(AtomicBool::new(false));
    let mut d = director();
    d.add_system(TickStage::Look, || panic!("store of look angles is corrupt"));
    let err = run(&mut d, &clock, &LoopConfig::default(), &stop, |_, _, _| {}).unwrap_err();
    let LoopError::RepeatedPanics { count, ref last } = err;
    assert_eq!(count, 5);
    assert!(last.contains("corrupt"), "{last}");
    assert!(err.to_string().contains("panicked 5 times in a row"), "{err}");
}

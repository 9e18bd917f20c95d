//! Resources: the tick's inputs that are not entities.

use bevy_ecs::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use talos_core::{AssignmentId, UnixMs};

use crate::planner::PlannedPass;

/// The only way time enters the tick: the caller sets it before each tick.
#[derive(Resource, Debug, Clone, Copy, Default)]
pub struct TickClock {
    pub now: UnixMs,
    /// Ticks run so far (the first tick is 1).
    pub tick: u64,
}

/// Tunables of the tick, validated by the caller.
#[derive(Resource, Debug, Clone)]
pub struct TickConfig {
    /// How long a setpoint may be applied, ms. A little over two periods, so one lost
    /// message does not stop the antenna, but well under the agent's 3 s dead-man.
    pub setpoint_validity_ms: i64,
    /// Trajectory points per setpoint and their spacing: the agent interpolates between them.
    pub trajectory_points: usize,
    pub trajectory_step_ms: i64,
    /// Point the antenna at the next pass's AOS azimuth this long before AOS, s.
    pub preposition_lead_s: i64,
}

impl Default for TickConfig {
    fn default() -> Self {
        Self { setpoint_validity_ms: 1_500, trajectory_points: 4, trajectory_step_ms: 1_000, preposition_lead_s: 120 }
    }
}

/// The rayon pool the heavy stages run on, and the size under which they stay on
/// the calling thread (waking a sleeping worker costs more than small work saves).
#[derive(Resource, Debug, Clone)]
pub struct ComputePool {
    pub pool: Arc<rayon::ThreadPool>,
    pub min_parallel_items: usize,
}

impl ComputePool {
    /// A pool of `threads` workers (at least 1).
    pub fn new(threads: usize, min_parallel_items: usize) -> Result<Self, rayon::ThreadPoolBuildError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(|i| format!("talos-tick-{i}"))
            .build()?;
        Ok(Self { pool: Arc::new(pool), min_parallel_items })
    }

    pub fn parallel_for(&self, items: usize) -> bool {
        self.pool.current_num_threads() > 1 && items >= self.min_parallel_items
    }
}

/// The lease epoch this director holds; every setpoint carries it so agents obey only the current owner.
#[derive(Resource, Debug, Clone, Copy, Default)]
pub struct LeaseEpoch(pub u64);

/// Upcoming passes per assignment, computed off the tick path by the pass planner.
#[derive(Resource, Debug, Clone, Default)]
pub struct PassPlan {
    pub by_assignment: HashMap<AssignmentId, Arc<[PlannedPass]>>,
    /// Bumped on every replacement so the tick re-gathers only when it changed.
    pub version: u64,
}

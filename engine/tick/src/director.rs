//! The director: a world plus the ordered stages of one tick.
//!
//! Each stage is its own bevy `Schedule` (single-threaded executor; the parallelism is
//! rayon inside the heavy systems), run in a fixed chain. Keeping the schedules here,
//! outside the world, means a panicking system cannot lose a schedule: the caller
//! catches the panic and the next tick runs normally.

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::{ScheduleLabel, SingleThreadedExecutor};
use bevy_ecs::system::ScheduleSystem;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use talos_core::UnixMs;

use crate::components::{Assignment, Campaign, SatelliteOrbit, Station};
use crate::layout::{Layout, rebuild_layout};
use crate::outbox::{AosReached, LosReached, Outbox};
use crate::planner::{PlanInput, PlannedPass};
use crate::resources::{ComputePool, LeaseEpoch, PassPlan, TickClock, TickConfig};
use crate::systems::*;

/// The stages of one tick, in the order they run.
#[derive(ScheduleLabel, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TickStage {
    /// Clear the outbox, mirror changed entities into the dense layout.
    Ingest,
    /// One SGP4 call per assigned satellite.
    Propagate,
    /// Look angles and range-rate per assignment.
    Look,
    /// AOS/LOS state machine.
    Visibility,
    /// What each station tracks.
    Policy,
    /// Rotator/radio setpoints and session/park commands.
    Setpoints,
    /// Events and the tick summary.
    Outbox,
}

impl TickStage {
    pub const ALL: [TickStage; 7] = [
        TickStage::Ingest,
        TickStage::Propagate,
        TickStage::Look,
        TickStage::Visibility,
        TickStage::Policy,
        TickStage::Setpoints,
        TickStage::Outbox,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TickStage::Ingest => "ingest",
            TickStage::Propagate => "propagate",
            TickStage::Look => "look",
            TickStage::Visibility => "visibility",
            TickStage::Policy => "policy",
            TickStage::Setpoints => "setpoints",
            TickStage::Outbox => "outbox",
        }
    }
}

pub struct Director {
    world: World,
    stages: Vec<(TickStage, Schedule)>,
}

impl std::fmt::Debug for Director {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Director").field("entities", &self.world.entities().len()).finish_non_exhaustive()
    }
}

impl Director {
    pub fn new(pool: ComputePool, config: TickConfig) -> Self {
        let mut world = World::new();
        world.insert_resource(pool);
        world.insert_resource(config);
        world.init_resource::<TickClock>();
        world.init_resource::<LeaseEpoch>();
        world.init_resource::<PassPlan>();
        world.init_resource::<Layout>();
        world.init_resource::<Outbox>();
        world.init_resource::<SatelliteStates>();
        world.init_resource::<LookTable>();
        world.init_resource::<StationTargets>();
        world.init_resource::<Messages<AosReached>>();
        world.init_resource::<Messages<LosReached>>();
        let stages = TickStage::ALL
            .into_iter()
            .map(|stage| {
                let mut schedule = Schedule::new(stage);
                schedule.set_executor(SingleThreadedExecutor::new());
                match stage {
                    TickStage::Ingest => schedule.add_systems((begin_outbox, rebuild_layout).chain()),
                    TickStage::Propagate => schedule.add_systems(propagate_satellites),
                    TickStage::Look => schedule.add_systems(compute_look_angles),
                    TickStage::Visibility => schedule.add_systems(update_visibility),
                    TickStage::Policy => schedule.add_systems(choose_targets),
                    TickStage::Setpoints => schedule.add_systems(build_setpoints),
                    TickStage::Outbox => schedule.add_systems((collect_events, summarize_tick).chain()),
                };
                (stage, schedule)
            })
            .collect();
        Self { world, stages }
    }

    pub fn world(&self) -> &World {
        &self.world
    }

    pub fn world_mut(&mut self) -> &mut World {
        &mut self.world
    }

    /// Adds a system to the end of a stage (tests use this to inject faults).
    pub fn add_system<M>(&mut self, stage: TickStage, system: impl IntoScheduleConfigs<ScheduleSystem, M>) {
        if let Some((_, schedule)) = self.stages.iter_mut().find(|(s, _)| *s == stage) {
            schedule.add_systems(system);
        }
    }

    pub fn spawn_station(&mut self, station: Station) -> Entity {
        self.world.spawn(station).id()
    }

    pub fn spawn_satellite(&mut self, orbit: SatelliteOrbit) -> Entity {
        self.world.spawn(orbit).id()
    }

    pub fn spawn_campaign(&mut self, campaign: Campaign) -> Entity {
        self.world.spawn(campaign).id()
    }

    pub fn spawn_assignment(&mut self, assignment: Assignment) -> Entity {
        self.world.spawn(assignment).id()
    }

    /// Replaces the pass plan the policy pre-positions from.
    pub fn set_pass_plan(&mut self, by_assignment: HashMap<talos_core::AssignmentId, Arc<[PlannedPass]>>) {
        let mut plan = self.world.resource_mut::<PassPlan>();
        plan.version += 1;
        plan.by_assignment = by_assignment;
    }

    pub fn set_lease_epoch(&mut self, epoch: u64) {
        self.world.resource_mut::<LeaseEpoch>().0 = epoch;
    }

    /// Runs one tick at `now`.
    pub fn tick(&mut self, now: UnixMs) -> &Outbox {
        self.tick_with(now, |_, run| run())
    }

    /// Runs one tick, handing each stage to `around` (which must call it once): the
    /// caller can time or trace stages without the tick reading a clock.
    pub fn tick_with(&mut self, now: UnixMs, mut around: impl FnMut(TickStage, &mut dyn FnMut())) -> &Outbox {
        {
            let mut clock = self.world.resource_mut::<TickClock>();
            clock.now = now;
            clock.tick += 1;
        }
        let world = &mut self.world;
        for (stage, schedule) in &mut self.stages {
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| around(*stage, &mut || schedule.run(world))));
            if let Err(payload) = result {
                // bevy's executor keeps per-run bookkeeping that a panic leaves half-updated:
                // run again as is, it would silently skip the rest of the stage's systems.
                // Start that stage's executor afresh, then let the caller count the panic.
                schedule.set_executor(SingleThreadedExecutor::new());
                let message = format!("stage {}: {}", stage.name(), panic_text(payload.as_ref()));
                std::panic::resume_unwind(Box::new(message));
            }
        }
        self.world.clear_trackers();
        self.world.resource::<Outbox>()
    }

    pub fn outbox(&self) -> &Outbox {
        self.world.resource::<Outbox>()
    }

    /// The inputs for the pass planner, from the current entities.
    pub fn plan_inputs(&mut self) -> Vec<PlanInput> {
        let mut stations = self.world.query::<&Station>();
        let mut satellites = self.world.query::<&SatelliteOrbit>();
        let mut campaigns = self.world.query::<&Campaign>();
        let mut assignments = self.world.query::<&Assignment>();
        let by_norad: HashMap<_, _> =
            satellites.iter(&self.world).map(|s| (s.norad_id(), s.satellite.clone())).collect();
        assignments
            .iter(&self.world)
            .filter_map(|a| {
                let station = stations.get(&self.world, a.station).ok()?;
                let campaign = campaigns.get(&self.world, a.campaign).ok()?;
                Some(PlanInput {
                    assignment: a.id,
                    observer: station.observer,
                    min_el_deg: campaign.min_el_deg.max(station.min_el_deg),
                    mask: station.mask.clone(),
                    satellite: by_norad.get(&campaign.norad_id)?.clone(),
                })
            })
            .collect()
    }
}

/// The text of a panic payload: a plain panic message, or bevy's error wrapping a system's panic.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else if let Some(error) = payload.downcast_ref::<bevy_ecs::error::BevyError>() {
        error.to_string()
    } else {
        "panic with a non-text payload".to_owned()
    }
}

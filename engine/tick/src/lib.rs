//! talos-tick: the director's tick, a bevy_ecs world advanced every 500 ms.
//!
//! Owns: the entities (stations, satellites, campaigns, assignments), the chained
//! stages of one tick (ingest -> propagate -> look -> visibility -> policy ->
//! setpoints -> outbox), the dense arrays the heavy stages run over with rayon, and
//! the off-tick pass planner whose results the tick reads as data.
//!
//! Must never: do I/O, read the clock or sleep. Time enters only as the
//! [`TickClock`] resource the caller sets, so a tick is a pure function of
//! (clock, world state, plan) and can be replayed and simulated.

pub mod components;
pub mod director;
pub mod fleet;
pub mod layout;
pub mod outbox;
pub mod planner;
pub mod resources;
pub mod systems;

pub use components::{Assignment, AzEl, Campaign, RotatorLimits, SatelliteOrbit, Station, Transmitter};
pub use director::{Director, TickStage};
pub use fleet::{AssignmentSpec, FleetSpec, FleetSyncReport};
pub use outbox::{
    AosReached, LosReached, Outbox, RigSetpoint, RotSetpoint, SessionEnd, StationCommand, StationCommandKind,
    TickSummary, TrackingEvent, TrajectoryPoint,
};
pub use planner::{PassPlanner, PlannedPass};
pub use resources::{ComputePool, LeaseEpoch, PassPlan, TickClock, TickConfig};

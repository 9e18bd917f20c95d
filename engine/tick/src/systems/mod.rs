//! The systems of one tick, one concern each, in the order the stages run them.

mod look;
mod outbox;
mod policy;
mod propagate;
mod setpoints;
mod visibility;

pub use look::{LookTable, compute_look_angles};
pub use outbox::{begin_outbox, collect_events, summarize_tick};
pub use policy::{StationTargets, Target, choose_targets};
pub use propagate::{SatelliteStates, propagate_satellites};
pub use setpoints::{build_setpoints, trajectory_state};
pub use visibility::update_visibility;

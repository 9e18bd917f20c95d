//! talos-core: the vocabulary every TALOS crate shares.
//!
//! Owns: identifiers (`NoradId`, `StationId`, `OrgId`, ...), UTC time as integer
//! milliseconds (`UnixMs`), validated geodetic positions and the errors for them.
//!
//! Must never: do I/O, read the clock, or depend on any other TALOS crate.

pub mod geo;
pub mod ids;
pub mod time;

pub use geo::{GeoError, GeodeticPosition};
pub use ids::{AssignmentId, CampaignId, NoradId, NoradIdError, OrgId, StationId};
pub use time::{TimeError, UnixMs};

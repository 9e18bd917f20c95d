//! talos-orbit: the physics of tracking, pure and deterministic.
//!
//! Owns: element-set parsing (TLE, OMM JSON/XML/CSV), SGP4 propagation (the `sgp4`
//! crate), TEME -> ECEF -> topocentric frames, look angles and range-rate, Doppler,
//! horizon masks, pass finding (AOS/TCA/LOS), ground tracks and coverage footprints.
//!
//! Must never: do I/O, read the clock, sleep, or know about ECS, MQTT or storage.
//! Every function takes the time it works at as an argument (`UnixMs`), so the same
//! inputs always give the same outputs.
//!
//! Frames and conventions: SGP4 outputs TEME (km, km/s). TEME -> ECEF uses the
//! IAU-1982 GMST with UT1 = UTC (|UT1-UTC| < 0.9 s) and no polar motion, which is
//! the convention of Vallado's `teme2ecef` and of Skyfield without an IERS table.
//! Stations are WGS84 geodetic. Elevations are geometric (no refraction).

pub mod doppler;
pub mod elements;
pub mod frames;
pub mod horizon;
pub mod look;
pub mod passes;
pub mod propagate;
pub mod stations;
pub mod track;

pub use doppler::{downlink_hz, uplink_hz};
pub use elements::{ElementFormat, ElementSet};
pub use frames::{EcefState, Observer};
pub use horizon::{HorizonMask, HorizonMaskError};
pub use look::{LookAngles, look_angles};
pub use passes::{Pass, PassQuery, SampledTrajectory, find_passes};
pub use propagate::{PropagationError, Satellite, SgpMode};

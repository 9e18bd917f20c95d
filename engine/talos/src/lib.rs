//! talos: the composition root. Wires the pure crates (orbit, tick) to the clock, the
//! store, the API and the shipped data.
//!
//! Owns: the supervised drift-free director loop, `talos serve` (director thread, pass
//! planner, HTTP server, fleet reloader, command recorder, catalog fetch scheduler), the
//! store snapshot -> director fleet conversion, the demo network seeded into the store,
//! the benchmarks, and the store-facing verbs (imports, users). Everything that reads the
//! wall clock lives here, never in talos-orbit or talos-tick.

pub mod bench;
pub mod broker;
pub mod catalog_fetch;
pub mod data;
pub mod demo;
pub mod director_loop;
pub mod fleet_load;
pub mod link_out;
pub mod mqtt_link;
pub mod network;
pub mod provision;
pub mod serve;
pub mod simulate;
pub mod store_cli;

//! talos: the composition root. Wires the pure crates (orbit, tick) to the clock,
//! the shipped data and the command line.
//!
//! Owns: the supervised drift-free director loop, the demo network built from the
//! shipped real data, the benchmarks, and the store-facing verbs (imports, users). Everything that reads the wall clock lives
//! here, never in talos-orbit or talos-tick.

pub mod bench;
pub mod catalog_fetch;
pub mod data;
pub mod demo;
pub mod director_loop;
pub mod fleet_load;
pub mod network;
pub mod serve;
pub mod store_cli;

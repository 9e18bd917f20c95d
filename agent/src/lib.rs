//! talos-agent: the station agent. It connects a ground station's Hamlib daemons
//! (`rotctld`, `rigctld`) to the TALOS director over MQTT, and it owns the antenna's safety.
//!
//! Owns: the agent's configuration file ([`config`]); the Hamlib line-protocol clients with
//! timeouts and reconnect ([`hamlib`]); the sans-IO [`controller::Controller`] that turns
//! received setpoints and commands into rotator and radio commands (trajectory
//! interpolation, deadband, limits, dead-man, heartbeat-loss park, stuck detection) and
//! telemetry; the MQTT connection ([`mqtt`]) and the I/O shell ([`run`]); a simulated fleet
//! of agents on rotator models, for load tests ([`sim`]).
//!
//! Must never: command the rotator outside its configured limits; apply a setpoint that
//! talos-link's decoder or [`talos_link::SetpointGate`] refused (stale, out of order, older
//! lease epoch); keep a rotator moving on a dead director's last word (dead-man, heartbeat
//! loss); panic on anything received from the broker or the daemons; define its own
//! version of the wire contract (topics and payloads come from talos-link only); depend on
//! the director's crates.

pub mod config;
pub mod controller;
pub mod hamlib;
pub mod mqtt;
pub mod run;
pub mod sim;
pub mod trajectory;

pub use config::{AgentConfig, ConfigError};
pub use controller::Controller;
pub use run::{AGENT_VERSION, Exit, run};

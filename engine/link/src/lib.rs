//! talos-link: the MQTT wire contract between the director and station agents, sans-IO.
//!
//! Owns: topic names (builders, the parser, the subscription filters of agent and
//! director, the broker ACL rules per station and for the director); the versioned JSON
//! payloads (`"schema": "talos.rot.v1"`, ...) and the QoS/retain each must be published
//! with; decoding with validation into a typed [`Reject`] with a stable reason; the
//! ordering and staleness rules for setpoints ([`SetpointGate`]); reject counters.
//!
//! Must never: do I/O (no sockets, no broker client, no clock: `now` is an argument),
//! depend on a TALOS crate other than talos-core (the agent links this crate and nothing
//! of the director), or hand out a decoded message it has not fully validated.
//!
//! Design: the wire types are their own, not the tick's outbox types (the director
//! converts), so the contract changes only on purpose. A payload is one JSON object whose
//! `schema` names type and version; a new version is a new schema (`talos.rot.v2`) beside
//! the old, never an edit. [`decode`] checks the topic, size (16 KiB), syntax, that the
//! schema is known and belongs on the topic, every field (unknown ones included) and every
//! range. Encoding is compact JSON in declaration order, pinned byte for byte by the
//! golden files in `tests/golden/`. `engine/link/README.md` is the reference for agent
//! authors.
//!
//! ```
//! use talos_core::{OrgId, StationId, UnixMs};
//! use talos_link::{CmdLeaf, Message, RotPoint, RotSetpoint, SetpointGate, Topic, decode, publication};
//!
//! let topic = Topic::cmd(OrgId(1), StationId(7), CmdLeaf::Rot);
//! let setpoint = Message::Rot(RotSetpoint {
//!     seq: 1,
//!     valid_until_ms: UnixMs(2_000),
//!     lease_epoch: 0,
//!     norad_id: None,
//!     points: vec![RotPoint { t_ms: UnixMs(1_000), az_deg: 120.0, el_deg: 10.0 }],
//! });
//! let out = publication(&topic, &setpoint).unwrap();
//! assert_eq!((out.topic.as_str(), out.qos.level(), out.retain), ("talos/v1/1/7/cmd/rot", 0, false));
//!
//! // At the agent:
//! let received = decode(&out.topic, &out.payload).unwrap();
//! let mut gate = SetpointGate::new();
//! assert!(gate.admit(&received, UnixMs(1_500)).is_ok());
//! assert_eq!(gate.admit(&received, UnixMs(1_500)).unwrap_err().reason(), "out_of_order");
//! ```

pub mod codec;
pub mod gate;
pub mod message;
pub mod payload;
pub mod reject;
pub mod topic;
pub mod validate;

pub use codec::{MAX_PAYLOAD_BYTES, decode, decode_on, encode};
pub use gate::{SetpointGate, SetpointMeta, SetpointStream};
pub use message::{Delivery, Message, Publication, QoS, Schema, last_will, publication};
pub use payload::{
    AgentState, DriverPayload, Heartbeat, ParkAction, ParkCommand, Pointing, RejectTally, RigPoint, RigSetpoint,
    RigState, RotPoint, RotSetpoint, RotState, RotatorLimits, SessionAction, SessionCommand, SlewRates, StationConfig,
    StatusReport,
};
pub use reject::{Reject, RejectCounters, RejectReason};
pub use topic::{
    Access, AclRule, CmdLeaf, DIRECTOR_USERNAME, HEARTBEAT_TOPIC, StateLeaf, Topic, TopicError, agent_subscriptions,
    director_acl, director_subscriptions, parse_station_username, station_acl, station_username,
};
pub use validate::{AZ_MAX_DEG, AZ_MIN_DEG, EL_MAX_DEG, EL_MIN_DEG, validate};

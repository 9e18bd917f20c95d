//! One enum over every payload, its `schema` name, the topic it belongs on and how it is
//! delivered (QoS and retain).

use std::fmt;

use serde::{Deserialize, Serialize};
use talos_core::{OrgId, StationId};

use crate::payload::{
    Heartbeat, ParkCommand, RigSetpoint, RigState, RotSetpoint, RotState, SessionCommand, StationConfig, StatusReport,
};
use crate::topic::{CmdLeaf, StateLeaf, Topic};

/// Every message of the contract. Serialized as one JSON object whose first key is
/// `schema` (e.g. `{"schema":"talos.rot.v1","seq":...}`).
///
/// Read messages with [`crate::decode`], never with serde directly: the `Deserialize`
/// impl alone checks neither the topic, nor the shape, nor the ranges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "schema")]
pub enum Message {
    #[serde(rename = "talos.rot.v1")]
    Rot(RotSetpoint),
    #[serde(rename = "talos.rig.v1")]
    Rig(RigSetpoint),
    #[serde(rename = "talos.session.v1")]
    Session(SessionCommand),
    #[serde(rename = "talos.park.v1")]
    Park(ParkCommand),
    #[serde(rename = "talos.config.v1")]
    Config(StationConfig),
    #[serde(rename = "talos.status.v1")]
    Status(StatusReport),
    #[serde(rename = "talos.rotstate.v1")]
    RotState(RotState),
    #[serde(rename = "talos.rigstate.v1")]
    RigState(RigState),
    #[serde(rename = "talos.heartbeat.v1")]
    Heartbeat(Heartbeat),
}

/// The `schema` of a payload: its name and version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Schema {
    Rot,
    Rig,
    Session,
    Park,
    Config,
    Status,
    RotState,
    RigState,
    Heartbeat,
}

impl Schema {
    pub const ALL: [Schema; 9] = [
        Schema::Rot,
        Schema::Rig,
        Schema::Session,
        Schema::Park,
        Schema::Config,
        Schema::Status,
        Schema::RotState,
        Schema::RigState,
        Schema::Heartbeat,
    ];

    /// The wire name, e.g. `talos.rot.v1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Schema::Rot => "talos.rot.v1",
            Schema::Rig => "talos.rig.v1",
            Schema::Session => "talos.session.v1",
            Schema::Park => "talos.park.v1",
            Schema::Config => "talos.config.v1",
            Schema::Status => "talos.status.v1",
            Schema::RotState => "talos.rotstate.v1",
            Schema::RigState => "talos.rigstate.v1",
            Schema::Heartbeat => "talos.heartbeat.v1",
        }
    }

    /// The schema with this exact wire name.
    pub fn from_name(name: &str) -> Option<Schema> {
        Schema::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether a message of this schema may be published on `topic`. Each topic carries one
    /// schema, except `cmd/session`, which carries session and park commands.
    pub fn fits(self, topic: &Topic) -> bool {
        match topic {
            Topic::Cmd { leaf, .. } => match leaf {
                CmdLeaf::Rot => self == Schema::Rot,
                CmdLeaf::Rig => self == Schema::Rig,
                CmdLeaf::Session => matches!(self, Schema::Session | Schema::Park),
                CmdLeaf::Config => self == Schema::Config,
            },
            Topic::State { leaf, .. } => match leaf {
                StateLeaf::Rot => self == Schema::RotState,
                StateLeaf::Rig => self == Schema::RigState,
                StateLeaf::Status => self == Schema::Status,
            },
            Topic::Heartbeat => self == Schema::Heartbeat,
        }
    }

    /// How messages of this schema are published. Exhaustive on purpose: a new schema
    /// must decide.
    pub fn delivery(self) -> Delivery {
        match self {
            // Superseded every tick: a lost one is replaced 500 ms later, a late one is stale.
            Schema::Rot | Schema::Rig | Schema::RotState | Schema::RigState | Schema::Heartbeat => Delivery::BestEffort,
            Schema::Session | Schema::Park => Delivery::Reliable,
            // The latest value is what a (re)connecting subscriber needs.
            Schema::Config | Schema::Status => Delivery::ReliableRetained,
        }
    }
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// MQTT quality of service. TALOS never uses QoS 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QoS {
    AtMostOnce = 0,
    AtLeastOnce = 1,
}

impl QoS {
    /// The QoS number on the wire.
    pub fn level(self) -> u8 {
        self as u8
    }
}

/// How a message kind is published: QoS and the retain flag together, so a publisher
/// cannot pair them wrongly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// QoS 0, not retained: setpoints, telemetry, heartbeat.
    BestEffort,
    /// QoS 1, not retained: session and park commands.
    Reliable,
    /// QoS 1, retained: config and status (and the Last Will).
    ReliableRetained,
}

impl Delivery {
    pub fn qos(self) -> QoS {
        match self {
            Delivery::BestEffort => QoS::AtMostOnce,
            Delivery::Reliable | Delivery::ReliableRetained => QoS::AtLeastOnce,
        }
    }

    pub fn retain(self) -> bool {
        matches!(self, Delivery::ReliableRetained)
    }
}

impl Message {
    pub fn schema(&self) -> Schema {
        match self {
            Message::Rot(_) => Schema::Rot,
            Message::Rig(_) => Schema::Rig,
            Message::Session(_) => Schema::Session,
            Message::Park(_) => Schema::Park,
            Message::Config(_) => Schema::Config,
            Message::Status(_) => Schema::Status,
            Message::RotState(_) => Schema::RotState,
            Message::RigState(_) => Schema::RigState,
            Message::Heartbeat(_) => Schema::Heartbeat,
        }
    }

    pub fn delivery(&self) -> Delivery {
        self.schema().delivery()
    }
}

/// Everything a publisher hands to its MQTT client: built by [`publication`], so the
/// topic fits the schema, the payload is valid and QoS/retain are the contract's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: QoS,
    pub retain: bool,
}

/// Validates `message`, checks it belongs on `topic` and encodes it with its delivery.
pub fn publication(topic: &Topic, message: &Message) -> Result<Publication, crate::Reject> {
    let schema = message.schema();
    if !schema.fits(topic) {
        return Err(crate::Reject::WrongTopic { schema, topic: topic.to_string() });
    }
    crate::validate::validate(message)?;
    let delivery = schema.delivery();
    Ok(Publication {
        topic: topic.to_string(),
        payload: crate::codec::encode(message),
        qos: delivery.qos(),
        retain: delivery.retain(),
    })
}

/// The Last Will an agent registers at connect: a retained `talos.status.v1` `offline` on
/// its own `state/status`. Fails only if `agent_version` is not a token
/// (`[A-Za-z0-9._:@+-]`, 1..=64 bytes).
pub fn last_will(org: OrgId, station: StationId, agent_version: &str) -> Result<Publication, crate::Reject> {
    let topic = Topic::state(org, station, StateLeaf::Status);
    publication(&topic, &Message::Status(StatusReport::last_will(agent_version)))
}

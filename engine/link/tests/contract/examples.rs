//! One realistic message per schema (and per action where a schema has several): the
//! golden files, the README and the reject tests are built from these.

use talos_core::{AssignmentId, NoradId, OrgId, StationId, UnixMs};
use talos_link::{
    CmdLeaf, DriverPayload, Heartbeat, Message, ParkAction, ParkCommand, Pointing, RejectCounters, RejectReason,
    RigPoint, RigSetpoint, RigState, RotPoint, RotSetpoint, RotState, RotatorLimits, SessionAction, SessionCommand,
    SlewRates, StateLeaf, StationConfig, StatusReport, Topic,
};

pub const ORG: OrgId = OrgId(1);
pub const STATION: StationId = StationId(7);
/// 2026-05-07T12:00:00Z, one director tick.
pub const T0: UnixMs = UnixMs(1_778_155_200_000);

pub struct Example {
    /// File name under tests/golden/.
    pub file: &'static str,
    pub topic: Topic,
    pub message: Message,
}

/// Two stale setpoints and one from a fenced-off director.
fn rejects() -> RejectCounters {
    let mut c = RejectCounters::new();
    for reject in [
        talos_link::Reject::Stale { valid_until_ms: T0.0, now_ms: T0.0 + 5 },
        talos_link::Reject::Stale { valid_until_ms: T0.0, now_ms: T0.0 + 9 },
        talos_link::Reject::OldEpoch { lease_epoch: 2, current: 3 },
    ] {
        c.record(&reject);
    }
    assert_eq!(c.get(RejectReason::Stale), 2);
    c
}

fn iss() -> NoradId {
    NoradId::new(25544).unwrap()
}

pub fn rot() -> RotSetpoint {
    RotSetpoint {
        seq: T0.0 as u64,
        valid_until_ms: T0.plus_ms(2_000),
        lease_epoch: 3,
        norad_id: Some(iss()),
        points: vec![
            RotPoint { t_ms: T0, az_deg: 212.41, el_deg: 12.07 },
            RotPoint { t_ms: T0.plus_ms(500), az_deg: 212.63, el_deg: 12.31 },
            RotPoint { t_ms: T0.plus_ms(1_000), az_deg: 212.86, el_deg: 12.55 },
        ],
    }
}

pub fn rig() -> RigSetpoint {
    RigSetpoint {
        seq: T0.0 as u64,
        valid_until_ms: T0.plus_ms(2_000),
        lease_epoch: 3,
        norad_id: iss(),
        mode: "FM".to_owned(),
        points: vec![
            RigPoint { t_ms: T0, downlink_hz: Some(145_803_412.7), uplink_hz: Some(145_986_591.2) },
            RigPoint { t_ms: T0.plus_ms(500), downlink_hz: Some(145_803_398.1), uplink_hz: Some(145_986_605.8) },
        ],
        driver: Some(DriverPayload {
            plugin: "icom-ic9700@0.1.0".to_owned(),
            // A CI-V "set frequency" frame: FE FE <radio> <controller> 05 <BCD freq> FD.
            bytes: vec![0xFE, 0xFE, 0xA2, 0xE0, 0x05, 0x12, 0x34, 0x80, 0x45, 0x01, 0xFD],
        }),
    }
}

pub fn config() -> StationConfig {
    StationConfig::new(
        4,
        RotatorLimits { az_min_deg: 0.0, az_max_deg: 450.0, el_min_deg: 0.0, el_max_deg: 90.0 },
        Pointing { az_deg: 0.0, el_deg: 90.0 },
        SlewRates { az_deg_s: 6.0, el_deg_s: 3.5 },
    )
}

pub fn all() -> Vec<Example> {
    let cmd = |leaf| Topic::cmd(ORG, STATION, leaf);
    let state = |leaf| Topic::state(ORG, STATION, leaf);
    vec![
        Example { file: "rot.json", topic: cmd(CmdLeaf::Rot), message: Message::Rot(rot()) },
        Example { file: "rig.json", topic: cmd(CmdLeaf::Rig), message: Message::Rig(rig()) },
        Example {
            file: "session_start.json",
            topic: cmd(CmdLeaf::Session),
            message: Message::Session(SessionCommand {
                correlation_id: "sess-42-1778155140000".to_owned(),
                lease_epoch: 3,
                assignment_id: AssignmentId(42),
                norad_id: iss(),
                action: SessionAction::Start { aos_ms: T0.plus_ms(60_000), los_ms: Some(T0.plus_ms(660_000)) },
            }),
        },
        Example {
            file: "session_stop.json",
            topic: cmd(CmdLeaf::Session),
            message: Message::Session(SessionCommand {
                correlation_id: "sess-42-1778155860000".to_owned(),
                lease_epoch: 3,
                assignment_id: AssignmentId(42),
                norad_id: iss(),
                action: SessionAction::Stop { los_ms: T0.plus_ms(660_000) },
            }),
        },
        Example {
            file: "park.json",
            topic: cmd(CmdLeaf::Session),
            message: Message::Park(ParkCommand {
                correlation_id: "park-7-1778155870000".to_owned(),
                lease_epoch: 3,
                action: ParkAction::Park { az_deg: 0.0, el_deg: 90.0 },
            }),
        },
        Example {
            file: "park_stop.json",
            topic: cmd(CmdLeaf::Session),
            message: Message::Park(ParkCommand {
                correlation_id: "stop-7-1778155871000".to_owned(),
                lease_epoch: 3,
                action: ParkAction::Stop,
            }),
        },
        Example { file: "config.json", topic: cmd(CmdLeaf::Config), message: Message::Config(config()) },
        Example {
            file: "status.json",
            topic: state(StateLeaf::Status),
            message: Message::Status(StatusReport::online("0.1.0", Some(4))),
        },
        Example {
            file: "status_fault.json",
            topic: state(StateLeaf::Status),
            message: Message::Status(
                StatusReport::fault("0.1.0", "rotctld 127.0.0.1:4533 unreachable: connection refused", Some(4))
                    .with_rejects(&rejects()),
            ),
        },
        Example {
            file: "status_last_will.json",
            topic: state(StateLeaf::Status),
            message: Message::Status(StatusReport::last_will("0.1.0")),
        },
        Example {
            file: "rotstate.json",
            topic: state(StateLeaf::Rot),
            message: Message::RotState(RotState {
                t_ms: T0.plus_ms(120),
                reported: Some(Pointing { az_deg: 212.3, el_deg: 12.0 }),
                commanded: Some(Pointing { az_deg: 212.41, el_deg: 12.07 }),
                stuck: false,
                applied_seq: Some(T0.0 as u64),
                fault: None,
            }),
        },
        Example {
            file: "rigstate.json",
            topic: state(StateLeaf::Rig),
            message: Message::RigState(RigState {
                t_ms: T0.plus_ms(130),
                frequency_hz: Some(145_803_410.0),
                commanded_downlink_hz: Some(145_803_412.7),
                commanded_uplink_hz: Some(145_986_591.2),
                mode: Some("FM".to_owned()),
                applied_seq: Some(T0.0 as u64),
                fault: None,
            }),
        },
        Example {
            file: "heartbeat.json",
            topic: Topic::Heartbeat,
            message: Message::Heartbeat(Heartbeat {
                director_id: "director-0".to_owned(),
                lease_epoch: 3,
                t_ms: T0,
                tick: 86_400,
            }),
        },
    ]
}

/// The example with this file name, as JSON to be edited by a test.
pub fn json(file: &str) -> (Topic, serde_json::Value) {
    let e = all().into_iter().find(|e| e.file == file).unwrap_or_else(|| panic!("no example {file}"));
    (e.topic, serde_json::to_value(&e.message).unwrap())
}

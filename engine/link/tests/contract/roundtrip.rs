//! Property tests: every valid message of every schema survives encode -> decode exactly,
//! on its topic, and decoding arbitrary input never panics.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use talos_core::{AssignmentId, NoradId, OrgId, StationId, UnixMs};
use talos_link::payload::{MAX_DRIVER_BYTES, MAX_POINTS, MAX_WIRE_INT};
use talos_link::{
    AgentState, CmdLeaf, DriverPayload, Heartbeat, Message, ParkAction, ParkCommand, Pointing, RejectTally, RigPoint,
    RigSetpoint, RigState, RotPoint, RotSetpoint, RotState, RotatorLimits, SessionAction, SessionCommand, SlewRates,
    StateLeaf, StationConfig, StatusReport, Topic, decode, encode, publication, validate,
};

const MAX_TIME: i64 = MAX_WIRE_INT as i64;

fn time() -> impl Strategy<Value = UnixMs> {
    (0..=MAX_TIME).prop_map(UnixMs)
}

fn seq() -> impl Strategy<Value = u64> {
    1..=MAX_WIRE_INT
}

fn epoch() -> impl Strategy<Value = u64> {
    0..=MAX_WIRE_INT
}

fn norad() -> impl Strategy<Value = NoradId> {
    (1..=999_999_999u64).prop_map(|n| NoradId::new(n).unwrap())
}

fn az() -> impl Strategy<Value = f64> {
    prop_oneof![Just(-360.0), Just(720.0), Just(0.0), Just(-0.0), -360.0..=720.0f64]
}

fn el() -> impl Strategy<Value = f64> {
    prop_oneof![Just(-90.0), Just(90.0), -90.0..=90.0f64]
}

fn freq() -> impl Strategy<Value = f64> {
    prop_oneof![Just(1.0), Just(300e9), 1.0..=300e9f64, 1e6..=3e9f64]
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._:@+-]{1,64}"
}

fn text() -> impl Strategy<Value = String> {
    // 1..=64 characters of at most 4 bytes: within the 256-byte cap.
    "[^\\p{Cc}]{1,64}"
}

fn mode() -> impl Strategy<Value = String> {
    "[A-Z0-9]{1,16}"
}

/// 1..=16 strictly increasing times.
fn times() -> impl Strategy<Value = Vec<UnixMs>> {
    (0..=MAX_TIME - 16 * 10_000, vec(1..=10_000i64, 1..=MAX_POINTS)).prop_map(|(start, steps)| {
        steps
            .iter()
            .scan(start, |t, step| {
                *t += step;
                Some(UnixMs(*t))
            })
            .collect()
    })
}

fn pointing() -> impl Strategy<Value = Pointing> {
    (az(), el()).prop_map(|(az_deg, el_deg)| Pointing { az_deg, el_deg })
}

fn rot() -> impl Strategy<Value = RotSetpoint> {
    (seq(), time(), epoch(), option::of(norad()), times())
        .prop_flat_map(|(seq, valid_until_ms, lease_epoch, norad_id, ts)| {
            let n = ts.len();
            (vec((az(), el()), n), Just((seq, valid_until_ms, lease_epoch, norad_id, ts)))
        })
        .prop_map(|(angles, (seq, valid_until_ms, lease_epoch, norad_id, ts))| RotSetpoint {
            seq,
            valid_until_ms,
            lease_epoch,
            norad_id,
            points: ts
                .into_iter()
                .zip(angles)
                .map(|(t_ms, (az_deg, el_deg))| RotPoint { t_ms, az_deg, el_deg })
                .collect(),
        })
}

fn rig_frequencies() -> impl Strategy<Value = (Option<f64>, Option<f64>)> {
    prop_oneof![
        (freq(), freq()).prop_map(|(d, u)| (Some(d), Some(u))),
        freq().prop_map(|d| (Some(d), None)),
        freq().prop_map(|u| (None, Some(u))),
    ]
}

fn driver() -> impl Strategy<Value = DriverPayload> {
    let bytes = prop_oneof![vec(any::<u8>(), 0..=64), vec(any::<u8>(), MAX_DRIVER_BYTES..=MAX_DRIVER_BYTES)];
    (token(), bytes).prop_map(|(plugin, bytes)| DriverPayload { plugin, bytes })
}

fn rig() -> impl Strategy<Value = RigSetpoint> {
    (seq(), time(), epoch(), norad(), mode(), option::of(driver()), times())
        .prop_flat_map(|(seq, valid_until_ms, lease_epoch, norad_id, mode, driver, ts)| {
            let n = ts.len();
            (vec(rig_frequencies(), n), Just((seq, valid_until_ms, lease_epoch, norad_id, mode, driver, ts)))
        })
        .prop_map(|(freqs, (seq, valid_until_ms, lease_epoch, norad_id, mode, driver, ts))| RigSetpoint {
            seq,
            valid_until_ms,
            lease_epoch,
            norad_id,
            mode,
            points: ts
                .into_iter()
                .zip(freqs)
                .map(|(t_ms, (downlink_hz, uplink_hz))| RigPoint { t_ms, downlink_hz, uplink_hz })
                .collect(),
            driver,
        })
}

fn session() -> impl Strategy<Value = SessionCommand> {
    let action = prop_oneof![
        (0..MAX_TIME, option::of(1..=3_600_000i64)).prop_map(|(aos, span)| SessionAction::Start {
            aos_ms: UnixMs(aos),
            los_ms: span.map(|s| UnixMs((aos + s).min(MAX_TIME))),
        }),
        time().prop_map(|los_ms| SessionAction::Stop { los_ms }),
    ];
    (token(), epoch(), seq(), norad(), action).prop_map(
        |(correlation_id, lease_epoch, assignment, norad_id, action)| SessionCommand {
            correlation_id,
            lease_epoch,
            assignment_id: AssignmentId(assignment),
            norad_id,
            action,
        },
    )
}

fn park() -> impl Strategy<Value = ParkCommand> {
    let action = prop_oneof![
        (az(), el()).prop_map(|(az_deg, el_deg)| ParkAction::Park { az_deg, el_deg }),
        Just(ParkAction::Stop)
    ];
    (token(), epoch(), action).prop_map(|(correlation_id, lease_epoch, action)| ParkCommand {
        correlation_id,
        lease_epoch,
        action,
    })
}

fn config() -> impl Strategy<Value = StationConfig> {
    let slew = || prop_oneof![Just(360.0), 0.001..=360.0f64];
    (
        seq(),
        (az(), az()).prop_filter("distinct", |(a, b)| a != b),
        (el(), el()).prop_filter("distinct", |(a, b)| a != b),
        (0.0..=1.0f64, 0.0..=1.0f64),
        (slew(), slew()),
        (1_000..=60_000u64, 1_000..=600_000u64),
    )
        .prop_map(
            |(version, (a1, a2), (e1, e2), (fa, fe), (az_deg_s, el_deg_s), (dead_man_ms, heartbeat_timeout_ms))| {
                let limits = RotatorLimits {
                    az_min_deg: a1.min(a2),
                    az_max_deg: a1.max(a2),
                    el_min_deg: e1.min(e2),
                    el_max_deg: e1.max(e2),
                };
                // A park position inside the limits.
                let park = Pointing {
                    az_deg: (limits.az_min_deg + fa * (limits.az_max_deg - limits.az_min_deg)).min(limits.az_max_deg),
                    el_deg: (limits.el_min_deg + fe * (limits.el_max_deg - limits.el_min_deg)).min(limits.el_max_deg),
                };
                StationConfig {
                    version,
                    limits,
                    park,
                    slew: SlewRates { az_deg_s, el_deg_s },
                    dead_man_ms,
                    heartbeat_timeout_ms,
                }
            },
        )
}

fn status() -> impl Strategy<Value = StatusReport> {
    let state = prop_oneof![Just(AgentState::Online), Just(AgentState::Offline), Just(AgentState::Fault)];
    let rejects = option::of(prop::array::uniform9(0..=MAX_WIRE_INT)).prop_map(|counts| {
        counts.map(|[a, b, c, d, e, f, g, h, i]| RejectTally {
            bad_topic: a,
            oversize: b,
            malformed: c,
            unknown_schema: d,
            wrong_topic: e,
            out_of_range: f,
            stale: g,
            out_of_order: h,
            old_epoch: i,
        })
    });
    (state, token(), option::of(text()), option::of(seq()), rejects).prop_map(
        |(state, agent_version, reason, config_version, rejects)| StatusReport {
            state,
            agent_version,
            reason,
            config_version,
            rejects,
        },
    )
}

fn rot_state() -> impl Strategy<Value = RotState> {
    (time(), option::of(pointing()), option::of(pointing()), any::<bool>(), option::of(seq()), option::of(text()))
        .prop_map(|(t_ms, reported, commanded, stuck, applied_seq, fault)| RotState {
            t_ms,
            reported,
            commanded,
            stuck,
            applied_seq,
            fault,
        })
}

fn rig_state() -> impl Strategy<Value = RigState> {
    (
        time(),
        option::of(freq()),
        option::of(freq()),
        option::of(freq()),
        option::of(mode()),
        option::of(seq()),
        option::of(text()),
    )
        .prop_map(|(t_ms, frequency_hz, commanded_downlink_hz, commanded_uplink_hz, mode, applied_seq, fault)| {
            RigState { t_ms, frequency_hz, commanded_downlink_hz, commanded_uplink_hz, mode, applied_seq, fault }
        })
}

fn heartbeat() -> impl Strategy<Value = Heartbeat> {
    (token(), epoch(), time(), epoch()).prop_map(|(director_id, lease_epoch, t_ms, tick)| Heartbeat {
        director_id,
        lease_epoch,
        t_ms,
        tick,
    })
}

fn ids() -> impl Strategy<Value = (OrgId, StationId)> {
    (1..=u64::MAX, 1..=u64::MAX).prop_map(|(o, s)| (OrgId(o), StationId(s)))
}

/// Encodes on the message's own topic, decodes, and expects the same message back.
fn round_trips(topic: Topic, message: Message) -> Result<(), TestCaseError> {
    prop_assert_eq!(validate(&message), Ok(()));
    let published = publication(&topic, &message).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&published.payload, &encode(&message));
    let decoded = decode(&published.topic, &published.payload);
    prop_assert_eq!(decoded.as_ref(), Ok(&message));
    // Encoding is canonical: the decoded message encodes to the same bytes.
    prop_assert_eq!(encode(&decoded.unwrap()), published.payload);
    Ok(())
}

proptest! {
    #[test]
    fn rot_setpoints_round_trip((org, station) in ids(), m in rot()) {
        round_trips(Topic::cmd(org, station, CmdLeaf::Rot), Message::Rot(m))?;
    }

    #[test]
    fn rig_setpoints_round_trip((org, station) in ids(), m in rig()) {
        round_trips(Topic::cmd(org, station, CmdLeaf::Rig), Message::Rig(m))?;
    }

    #[test]
    fn session_commands_round_trip((org, station) in ids(), m in session()) {
        round_trips(Topic::cmd(org, station, CmdLeaf::Session), Message::Session(m))?;
    }

    #[test]
    fn park_commands_round_trip((org, station) in ids(), m in park()) {
        round_trips(Topic::cmd(org, station, CmdLeaf::Session), Message::Park(m))?;
    }

    #[test]
    fn configs_round_trip((org, station) in ids(), m in config()) {
        round_trips(Topic::cmd(org, station, CmdLeaf::Config), Message::Config(m))?;
    }

    #[test]
    fn status_reports_round_trip((org, station) in ids(), m in status()) {
        round_trips(Topic::state(org, station, StateLeaf::Status), Message::Status(m))?;
    }

    #[test]
    fn rotator_states_round_trip((org, station) in ids(), m in rot_state()) {
        round_trips(Topic::state(org, station, StateLeaf::Rot), Message::RotState(m))?;
    }

    #[test]
    fn rig_states_round_trip((org, station) in ids(), m in rig_state()) {
        round_trips(Topic::state(org, station, StateLeaf::Rig), Message::RigState(m))?;
    }

    #[test]
    fn heartbeats_round_trip(m in heartbeat()) {
        round_trips(Topic::Heartbeat, Message::Heartbeat(m))?;
    }

    #[test]
    fn topics_round_trip((org, station) in ids(), leaf in 0usize..7) {
        let topic = match leaf {
            0..4 => Topic::cmd(org, station, CmdLeaf::ALL[leaf]),
            _ => Topic::state(org, station, StateLeaf::ALL[leaf - 4]),
        };
        prop_assert_eq!(topic.to_string().parse::<Topic>(), Ok(topic));
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(topic in "\\PC{0,40}", bytes in vec(any::<u8>(), 0..512)) {
        let _ = decode(&topic, &bytes);
        let _ = decode("talos/v1/1/7/cmd/rot", &bytes);
    }

    #[test]
    fn decoding_arbitrary_json_text_never_panics(text in "[{}\\[\\]\":,0-9a-z._ -]{0,200}") {
        let _ = decode("talos/v1/1/7/cmd/rot", text.as_bytes());
        let _ = decode("talos/v1/1/7/cmd/session", format!("{{\"schema\":\"talos.park.v1\",{text}").as_bytes());
    }

    #[test]
    fn every_truncation_of_a_valid_payload_is_rejected(m in rot(), cut in any::<prop::sample::Index>()) {
        let bytes = encode(&Message::Rot(m));
        let cut = cut.index(bytes.len());
        prop_assert!(decode("talos/v1/1/7/cmd/rot", &bytes[..cut]).is_err());
    }
}

//! The simulated fleet against a real Mosquitto, with the stand-in director of `support`
//! publishing talos-link setpoints and heartbeats at 2 Hz.

use std::sync::Arc;
use std::time::Duration;

use talos_agent::sim::{SIGN_OFF_REASON, SimOptions, SimStation, run_fleet};
use talos_core::{OrgId, StationId, UnixMs};
use talos_link::{
    AgentState, CmdLeaf, Message, Pointing, RotPoint, RotSetpoint, RotatorLimits, SlewRates, station_username,
};
use tokio::time::Instant;

use crate::support::*;

const LIMITS: RotatorLimits = RotatorLimits { az_min_deg: 0.0, az_max_deg: 450.0, el_min_deg: 0.0, el_max_deg: 90.0 };
const SLEW: SlewRates = SlewRates { az_deg_s: 20.0, el_deg_s: 10.0 };
const PARK: Pointing = Pointing { az_deg: 0.0, el_deg: 0.0 };

fn p(az_deg: f64, el_deg: f64) -> Pointing {
    Pointing { az_deg, el_deg }
}

fn sim_station(org: OrgId, station: StationId) -> SimStation {
    SimStation {
        org,
        station,
        username: station_username(org, station),
        password: format!("secret-{station}"),
        limits: LIMITS,
        park: PARK,
        slew: SLEW,
    }
}

/// A one-point setpoint for the injections.
fn setpoint(seq: u64, valid_until_ms: UnixMs, lease_epoch: u64, t_ms: UnixMs, at: Pointing) -> Message {
    Message::Rot(RotSetpoint {
        seq,
        valid_until_ms,
        lease_epoch,
        norad_id: None,
        points: vec![RotPoint { t_ms, az_deg: at.az_deg, el_deg: at.el_deg }],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_fleet_follows_the_director_and_counts_what_it_refuses() {
    let broker = Broker::start().await;
    let (org, a) = ids();
    let (_, b) = ids();
    let observer = Observer::start(&broker, org, a).await;

    // Station a: a fixed target. Station b: a target moving 1 deg/s in azimuth.
    let target_a = p(20.0, 10.0);
    let t0 = now();
    let path_b: Path2 = Arc::new(move |t: UnixMs| p(15.0 + (t.0 - t0.0) as f64 / 1000.0, 8.0));
    let director_a =
        Director::start(&broker, org, a, Plan { heartbeat: true, rot: Some(Arc::new(move |_| target_a)), rig: None })
            .await;
    let _director_b = Director::start(&broker, org, b, Plan { heartbeat: false, rot: Some(path_b), rig: None }).await;

    let duration = Duration::from_secs(4);
    let options = SimOptions::new("127.0.0.1", broker.port, vec![sim_station(org, a), sim_station(org, b)], duration);
    let started = Instant::now();
    let fleet = tokio::spawn(run_fleet(options));

    // Mid-run, three setpoints the gate must refuse, to station a: an old seq of the current
    // epoch, a newer seq already past its validity, and a newer seq from an older epoch.
    // The stale one's trajectory starts 1.5 s before it is sent.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let t = now();
    let far = p(300.0, 80.0);
    director_a.send(CmdLeaf::Rot, setpoint(1, t.plus_ms(2_000), EPOCH, t, far)).await;
    director_a.send(CmdLeaf::Rot, setpoint(t.0 as u64 + 60_000, t.plus_ms(-1), EPOCH, t.plus_ms(-1_500), far)).await;
    director_a.send(CmdLeaf::Rot, setpoint(t.0 as u64 + 60_000, t.plus_ms(2_000), EPOCH - 1, t, far)).await;

    let report = fleet.await.unwrap().unwrap();
    let elapsed = started.elapsed();
    println!("{}", serde_json::to_string_pretty(&report).unwrap());

    // It ends on time, having connected every station.
    assert!(elapsed >= duration && elapsed < duration + Duration::from_secs(2), "run took {elapsed:?}");
    assert!(report.seconds >= 4.0 && report.seconds < 4.5, "{report:?}");
    assert_eq!((report.stations, report.connected), (2, 2), "{report:?}");

    // Setpoints: about 2 Hz per station for ~4 s, plus the 3 injected; every one decoded is
    // either applied or refused by the gate.
    assert!(report.setpoints_received >= 10, "{report:?}");
    assert_eq!(report.setpoints_received, report.setpoints_applied + report.stale_rejected, "{report:?}");
    let by = |reason: &str| report.rejected_by_reason[reason];
    assert!(by("out_of_order") >= 1 && by("stale") >= 1 && by("old_epoch") >= 1, "{report:?}");
    assert_eq!(report.stale_rejected, by("out_of_order") + by("stale") + by("old_epoch"));
    for other in ["bad_topic", "oversize", "malformed", "unknown_schema", "wrong_topic", "out_of_range"] {
        assert_eq!(by(other), 0, "{other}: {report:?}");
    }

    // Latency: on loopback the director's setpoints arrive within a fraction of a second;
    // the stale one was 1.5 s old when sent, so the maximum is at least that.
    let (p50, p99, max) =
        (report.setpoint_latency_p50_ms, report.setpoint_latency_p99_ms, report.setpoint_latency_max_ms);
    assert!(p50.is_finite() && p99.is_finite() && max.is_finite(), "{report:?}");
    assert!(0.0 <= p50 && p50 <= p99 && p99 <= max, "{report:?}");
    assert!(p50 < 250.0, "{report:?}");
    assert!(max >= 1_500.0, "the injected stale setpoint's latency is missing: {report:?}");

    // Heartbeats from director a reach both stations; the stations received nothing else.
    assert!(report.heartbeats_received >= 10, "{report:?}");
    assert_eq!(report.messages_received, report.setpoints_received + report.heartbeats_received, "{report:?}");

    // Both stations' rotators reached their trajectories and stayed on them: the deadband
    // (0.5 deg) plus what station b's target moves in a control tick (0.1 deg), with room
    // for a late tick.
    assert_eq!(report.stations_on_track, 2, "{report:?}");
    assert!(report.max_tracking_error_deg < 1.5, "{report:?}");

    // What the stations published: station a's status on connecting, its rotator state every
    // second (from park to the target), and at the end a clean `offline`.
    let rot_states = observer.rot_states();
    assert!(rot_states.len() >= 3, "{rot_states:?}");
    let first = rot_states.first().unwrap().reported.expect("a read-back");
    let last = rot_states.last().unwrap();
    assert!(off_by(first, target_a) > 10.0, "started at {first:?}");
    assert!(off_by(last.reported.expect("a read-back"), target_a) < 0.5, "{last:?}");
    assert_eq!(last.commanded, Some(target_a), "{last:?}");
    let status = observer.wait_status(Duration::from_secs(2), AgentState::Offline, Some(SIGN_OFF_REASON)).await;
    assert!(status.agent_version.ends_with("+sim"), "{status:?}");
    let seen_from_a = observer.statuses().len() + rot_states.len();
    assert!(report.messages_sent as usize >= seen_from_a, "{report:?}: station a alone published {seen_from_a}");
    let rate = (report.messages_received + report.messages_sent) as f64 / report.seconds;
    assert!((report.messages_per_s - rate).abs() < 1e-9, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_broker_the_run_still_ends_on_time_and_reports_no_data() {
    let port = free_port();
    let (org, a) = ids();
    let duration = Duration::from_millis(1_500);
    let started = Instant::now();
    let report = run_fleet(SimOptions::new("127.0.0.1", port, vec![sim_station(org, a)], duration)).await.unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed >= duration && elapsed < duration + Duration::from_secs(1), "run took {elapsed:?}");
    assert_eq!((report.stations, report.connected), (1, 0));
    assert_eq!((report.setpoints_received, report.messages_received, report.messages_sent), (0, 0, 0));
    // No samples: no figure, rather than a made-up zero.
    assert!(report.setpoint_latency_p50_ms.is_nan() && report.max_tracking_error_deg.is_nan(), "{report:?}");
    let json = serde_json::to_value(&report).unwrap();
    assert!(json["setpoint_latency_p99_ms"].is_null(), "{json}");
    assert_eq!(json["messages_per_s"], 0.0, "{json}");
}

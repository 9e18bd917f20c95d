//! End to end with real parts: the `talos-agent` binary, Hamlib's dummy `rotctld -m 1` and
//! `rigctld -m 1`, and Mosquitto, each on its own free loopback port. Positions and
//! frequencies are asserted on what the daemons themselves report (`p`, `f`, `m`).
//!
//! Hamlib's dummy rotator moves at about 6 deg/s on each axis, so paths here move slower
//! than that and waits allow for the slew. Every wait is a deadline on a condition.

mod hamlib;
mod sim;
mod support;

use std::time::Duration;

use talos_core::UnixMs;
use talos_link::{AgentState, CmdLeaf, Message, Pointing, RotPoint, RotSetpoint};

use support::*;

const SECONDS: fn(u64) -> Duration = Duration::from_secs;

fn p(az_deg: f64, el_deg: f64) -> Pointing {
    Pointing { az_deg, el_deg }
}

/// A path that moves 1 deg/s in azimuth from `start` (and 0.5 deg/s in elevation).
fn slow_path(start: Pointing, t0: UnixMs) -> Path2 {
    std::sync::Arc::new(move |t: UnixMs| {
        let s = (t.0 - t0.0) as f64 / 1000.0;
        p(start.az_deg + s, start.el_deg + 0.5 * s)
    })
}

fn fixed(at: Pointing) -> Path2 {
    std::sync::Arc::new(move |_| at)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rotator_follows_the_trajectory_and_the_rig_the_doppler_curve() {
    let broker = Broker::start().await;
    let rot = Hamlib::rotctld().await;
    let rig = Hamlib::rigctld().await;
    let mut setup = AgentSetup::new(&broker, &rot);
    setup.rigctld = Some(rig.address());
    let observer = Observer::start(&broker, setup.org, setup.station).await;
    let _agent = Agent::start(&setup);

    let t0 = now();
    let path = slow_path(p(10.0, 5.0), t0);
    // 145.8 MHz falling 300 Hz/s, like a LEO pass's Doppler near TCA.
    let curve: Curve = std::sync::Arc::new(move |t: UnixMs| 145_800_000.0 - 0.3 * (t.0 - t0.0) as f64);
    let _director = Director::start(
        &broker,
        setup.org,
        setup.station,
        Plan { heartbeat: true, rot: Some(path.clone()), rig: Some(curve.clone()) },
    )
    .await;

    // The dummy starts at 0/0 and slews at 6 deg/s: it catches the path within a few seconds,
    // then stays on it (within the deadband, plus what the path moves between two reads).
    eventually(SECONDS(12), "the rotator to be on the trajectory", || async {
        (off_by(rot.position().await, path(now())) < 1.0).then_some(())
    })
    .await;
    for _ in 0..10 {
        let (before, at, after) = (path(now()), rot.position().await, path(now()));
        let off = off_by(at, before).min(off_by(at, after));
        assert!(off < 1.2, "rotator at {at:?}, trajectory at {before:?}..{after:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let hz = rig.frequency_hz().await;
    let want = curve(now());
    assert!((hz - want).abs() < 500.0, "rig at {hz} Hz, the curve at {want} Hz");
    assert_eq!(rig.mode().await, "FM");

    // Telemetry tells the same story.
    let state = eventually(SECONDS(3), "rotator telemetry with a read-back", || async {
        observer.last_rot_state().filter(|s| s.reported.is_some() && s.applied_seq.is_some())
    })
    .await;
    assert!(!state.stuck, "{state:?}");
    assert_eq!(state.fault, None);
    let rig_state = observer.last_rig_state().expect("rig telemetry");
    assert_eq!(rig_state.mode.as_deref(), Some("FM"));
    assert!(rig_state.frequency_hz.is_some() && rig_state.commanded_downlink_hz.is_some(), "{rig_state:?}");
    let status = observer.wait_status(SECONDS(2), AgentState::Online, None).await;
    assert_eq!(status.rejects.unwrap_or_default(), Default::default(), "nothing refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_from_the_director_stops_the_rotator_then_parks_it() {
    let broker = Broker::start().await;
    let rot = Hamlib::rotctld().await;
    let mut setup = AgentSetup::new(&broker, &rot);
    setup.heartbeat_timeout_ms = 6_000;
    setup.park = p(0.0, 0.0);
    let observer = Observer::start(&broker, setup.org, setup.station).await;
    let _agent = Agent::start(&setup);
    let director = Director::start(
        &broker,
        setup.org,
        setup.station,
        Plan { heartbeat: true, rot: Some(fixed(p(100.0, 60.0))), rig: None },
    )
    .await;

    eventually(SECONDS(8), "the rotator to be on its way", || async {
        (rot.position().await.az_deg > 8.0).then_some(())
    })
    .await;
    director.set_plan(Plan { heartbeat: false, rot: None, rig: None });
    let silent_since = tokio::time::Instant::now();

    // Dead-man: stopped well short of the target within 3 s (plus a tick and a read).
    let stopped_at = eventually(SECONDS(5), "the rotator to stop", || async {
        let a = rot.position().await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        let b = rot.position().await;
        (a == b).then_some(b)
    })
    .await;
    let stopped_after = silent_since.elapsed();
    assert!(stopped_after < Duration::from_millis(5_000), "stopped after {stopped_after:?}");
    assert!(stopped_at.az_deg < 80.0, "stopped at {stopped_at:?}, not at the target");

    // Heartbeat loss: parked (0/0) after the 6 s timeout, and not before it.
    assert!(off_by(rot.position().await, p(0.0, 0.0)) > 5.0);
    eventually(SECONDS(12), "the rotator to be parked", || async {
        (off_by(rot.position().await, p(0.0, 0.0)) < 1.0).then_some(())
    })
    .await;
    assert!(silent_since.elapsed() > Duration::from_millis(5_500), "parked before the heartbeat timeout");
    let state = observer.last_rot_state().unwrap();
    assert_eq!(state.commanded, Some(p(0.0, 0.0)), "{state:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_parks_confirms_publishes_offline_and_exits_zero() {
    let broker = Broker::start().await;
    let rot = Hamlib::rotctld().await;
    let mut setup = AgentSetup::new(&broker, &rot);
    setup.park = p(5.0, 0.0);
    let observer = Observer::start(&broker, setup.org, setup.station).await;
    let mut agent = Agent::start(&setup);
    let _director = Director::start(
        &broker,
        setup.org,
        setup.station,
        Plan { heartbeat: true, rot: Some(fixed(p(25.0, 20.0))), rig: None },
    )
    .await;
    observer.wait_status(SECONDS(5), AgentState::Online, None).await;
    eventually(SECONDS(10), "the rotator at the target", || async {
        (off_by(rot.position().await, p(25.0, 20.0)) < 1.0).then_some(())
    })
    .await;

    agent.sigterm();
    let status = agent.wait_exit(SECONDS(15)).await;
    assert_eq!(status.code(), Some(0), "exit status {status:?}");
    let at = rot.position().await;
    assert!(off_by(at, p(5.0, 0.0)) <= 1.0, "rotator at {at:?} after the shutdown, park is 5/0");
    let last = observer.wait_status(SECONDS(3), AgentState::Offline, Some("shutdown: parked")).await;
    assert_eq!(last.agent_version, talos_agent::AGENT_VERSION);
    assert!(agent.log().contains("parked: position confirmed by read-back"));
    // The broker keeps it (retained), and the Last Will did not overwrite it.
    let late = Observer::start(&broker, setup.org, setup.station).await;
    let retained = late.wait_status(SECONDS(3), AgentState::Offline, None).await;
    assert_eq!(retained.reason.as_deref(), Some("shutdown: parked"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_rotctld_is_reported_and_the_agent_recovers_when_it_returns() {
    let broker = Broker::start().await;
    let mut rot = Hamlib::rotctld().await;
    let setup = AgentSetup::new(&broker, &rot);
    let observer = Observer::start(&broker, setup.org, setup.station).await;
    let _agent = Agent::start(&setup);
    let _director = Director::start(
        &broker,
        setup.org,
        setup.station,
        Plan { heartbeat: true, rot: Some(fixed(p(12.0, 6.0))), rig: None },
    )
    .await;
    eventually(SECONDS(8), "the rotator at the target", || async {
        (off_by(rot.position().await, p(12.0, 6.0)) < 1.0).then_some(())
    })
    .await;

    rot.kill();
    let fault = observer.wait_status(SECONDS(5), AgentState::Fault, Some("rotctld")).await;
    assert!(fault.reason.unwrap().contains(&rot.address()));
    eventually(SECONDS(3), "rotator telemetry with the fault", || async {
        observer.last_rot_state().filter(|s| s.fault.is_some() && s.reported.is_none())
    })
    .await;

    // A fresh dummy starts at 0/0: the agent reconnects and points it again.
    rot.restart().await;
    observer.wait_status(SECONDS(5), AgentState::Online, None).await;
    eventually(SECONDS(8), "the rotator back at the target", || async {
        (off_by(rot.position().await, p(12.0, 6.0)) < 1.0).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_stale_and_fenced_setpoints_never_reach_the_rotator_and_bad_payloads_are_counted() {
    let broker = Broker::start().await;
    let rot = Hamlib::rotctld().await;
    let setup = AgentSetup::new(&broker, &rot);
    let observer = Observer::start(&broker, setup.org, setup.station).await;
    let _agent = Agent::start(&setup);
    // Heartbeats only: the test sends the setpoints itself.
    let director =
        Director::start(&broker, setup.org, setup.station, Plan { heartbeat: true, rot: None, rig: None }).await;
    observer.wait_status(SECONDS(5), AgentState::Online, None).await;

    let first = rot_setpoint(now(), EPOCH, &fixed(p(40.0, 10.0)));
    let mut second = rot_setpoint(now(), EPOCH, &fixed(p(8.0, 8.0)));
    second.seq = first.seq + 1;
    // Both valid for 10 s, so only the seq can refuse the replay.
    let long = |mut s: RotSetpoint| {
        s.valid_until_ms = now().plus_ms(10_000);
        s
    };
    let (first, second) = (long(first), long(second));
    director.send(CmdLeaf::Rot, Message::Rot(first.clone())).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    director.send(CmdLeaf::Rot, Message::Rot(second.clone())).await;
    eventually(SECONDS(6), "the rotator at the second setpoint", || async {
        (off_by(rot.position().await, p(8.0, 8.0)) < 1.0).then_some(())
    })
    .await;

    // The replay of seq N, a setpoint from a fenced-off lease and an expired one.
    director.send(CmdLeaf::Rot, Message::Rot(first.clone())).await;
    let mut fenced = long(rot_setpoint(now(), EPOCH - 1, &fixed(p(60.0, 30.0))));
    fenced.seq = second.seq + 1_000;
    director.send(CmdLeaf::Rot, Message::Rot(fenced)).await;
    let stale = RotSetpoint {
        seq: second.seq + 2_000,
        valid_until_ms: now().plus_ms(-1_000),
        points: vec![RotPoint { t_ms: now().plus_ms(-2_000), az_deg: 70.0, el_deg: 30.0 }],
        ..second.clone()
    };
    director.send(CmdLeaf::Rot, Message::Rot(stale)).await;
    // And garbage on every command topic.
    director.send_raw(CmdLeaf::Rot, b"{\"schema\":\"talos.rot.v1\",".to_vec()).await;
    director.send_raw(CmdLeaf::Rig, vec![b'x'; 20_000]).await;
    director.send_raw(CmdLeaf::Session, br#"{"schema":"talos.park.v2","action":"park"}"#.to_vec()).await;
    director.send_raw(CmdLeaf::Config, b"\xff\xfe".to_vec()).await;

    let status = eventually(SECONDS(5), "every refusal counted in the status", || async {
        observer.statuses().into_iter().rev().find(|s| {
            let r = rejects(s);
            r["out_of_order"] >= 1 && r["old_epoch"] >= 1 && r["stale"] >= 1 && r["oversize"] >= 1
        })
    })
    .await;
    let r = rejects(&status);
    assert_eq!((r["out_of_order"], r["old_epoch"], r["stale"], r["oversize"]), (1, 1, 1, 1), "{r:?}");
    assert_eq!((r["malformed"], r["unknown_schema"]), (2, 1), "{r:?}");

    // None of it moved the rotator: it stays at the second setpoint.
    for _ in 0..8 {
        let at = rot.position().await;
        assert!(off_by(at, p(8.0, 8.0)) < 1.0, "rotator moved to {at:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(observer.last_status().unwrap().state, AgentState::Online, "bad input is not a fault");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_broker_restart_the_agent_reconnects_and_refuses_what_it_already_applied() {
    let mut broker = Broker::start().await;
    let rot = Hamlib::rotctld().await;
    let setup = AgentSetup::new(&broker, &rot);
    let _agent = Agent::start(&setup);
    let observer = Observer::start(&broker, setup.org, setup.station).await;
    let director =
        Director::start(&broker, setup.org, setup.station, Plan { heartbeat: true, rot: None, rig: None }).await;
    observer.wait_status(SECONDS(5), AgentState::Online, None).await;
    let mut applied = rot_setpoint(now(), EPOCH, &fixed(p(9.0, 4.0)));
    applied.valid_until_ms = now().plus_ms(20_000);
    director.send(CmdLeaf::Rot, Message::Rot(applied.clone())).await;
    eventually(SECONDS(5), "the rotator at the setpoint", || async {
        (off_by(rot.position().await, p(9.0, 4.0)) < 1.0).then_some(())
    })
    .await;
    drop(director);
    drop(observer);

    broker.restart().await;
    let observer = Observer::start(&broker, setup.org, setup.station).await;
    let director =
        Director::start(&broker, setup.org, setup.station, Plan { heartbeat: true, rot: None, rig: None }).await;
    observer.wait_status(SECONDS(10), AgentState::Online, None).await;
    // A confused director (or a broker) sends the applied setpoint again, still valid, with a
    // different target: the gate the agent kept across the reconnect refuses it.
    let mut replay = applied.clone();
    replay.points = vec![RotPoint { t_ms: now(), az_deg: 45.0, el_deg: 30.0 }];
    director.send(CmdLeaf::Rot, Message::Rot(replay)).await;
    eventually(SECONDS(5), "the replay counted as out of order", || async {
        observer.last_status().filter(|s| rejects(s)["out_of_order"] == 1)
    })
    .await;
    for _ in 0..6 {
        let at = rot.position().await;
        assert!(off_by(at, p(9.0, 4.0)) < 1.0, "the replay moved the rotator to {at:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotator_that_refuses_a_position_inside_the_limits_is_reported_stuck() {
    let broker = Broker::start().await;
    let rot = Hamlib::rotctld().await;
    let mut setup = AgentSetup::new(&broker, &rot);
    // The station claims 0..540 deg; the dummy only goes to 450 and answers RPRT -1.
    setup.az_max_deg = 540.0;
    setup.stuck_time_ms = 2_000;
    let observer = Observer::start(&broker, setup.org, setup.station).await;
    let _agent = Agent::start(&setup);
    let _director = Director::start(
        &broker,
        setup.org,
        setup.station,
        Plan { heartbeat: true, rot: Some(fixed(p(500.0, 10.0))), rig: None },
    )
    .await;
    let state = eventually(SECONDS(8), "a stuck rotator in the telemetry", || async {
        observer.last_rot_state().filter(|s| s.stuck)
    })
    .await;
    assert!(state.fault.as_deref().is_some_and(|f| f.contains("RPRT -1")), "{state:?}");
    assert_eq!(state.commanded, Some(p(500.0, 10.0)));
    observer.wait_status(SECONDS(3), AgentState::Fault, Some("stuck")).await;
    assert_eq!(rot.position().await, p(0.0, 0.0), "the dummy never moved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_beyond_the_limits_are_clamped_on_the_real_rotator() {
    let broker = Broker::start().await;
    let rot = Hamlib::rotctld().await;
    let mut setup = AgentSetup::new(&broker, &rot);
    setup.az_max_deg = 15.0;
    let observer = Observer::start(&broker, setup.org, setup.station).await;
    let _agent = Agent::start(&setup);
    let _director = Director::start(
        &broker,
        setup.org,
        setup.station,
        Plan { heartbeat: true, rot: Some(fixed(p(200.0, 10.0))), rig: None },
    )
    .await;
    eventually(SECONDS(8), "the rotator at the azimuth limit", || async {
        (off_by(rot.position().await, p(15.0, 10.0)) < 0.5).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let at = rot.position().await;
    assert!(at.az_deg <= 15.0 + 1e-9, "rotator beyond the limit: {at:?}");
    let state = eventually(SECONDS(3), "the clamp in the telemetry", || async {
        observer.last_rot_state().filter(|s| s.fault.as_deref().is_some_and(|f| f.contains("clamped")))
    })
    .await;
    assert_eq!(state.commanded, Some(p(15.0, 10.0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_over_tls_with_its_credentials_and_is_refused_without_them() {
    let broker = Broker::start_tls("station-7", "s3cret").await;
    let tls = broker.tls.clone().unwrap();
    let rot = Hamlib::rotctld().await;
    let mut setup = AgentSetup::new(&broker, &rot);
    setup.tls = Some(tls.clone());
    let observer = Observer::start(&broker, setup.org, setup.station).await;
    let _agent = Agent::start(&setup);
    observer.wait_status(SECONDS(8), AgentState::Online, None).await;

    let mut wrong = AgentSetup::new(&broker, &rot);
    wrong.tls = Some(TlsListener { password: "guess".into(), ..tls });
    let wrong_observer = Observer::start(&broker, wrong.org, wrong.station).await;
    let wrong_agent = Agent::start(&wrong);
    eventually(SECONDS(5), "the broker's refusal in the agent's log", || async {
        wrong_agent.log().contains("NotAuthorized").then_some(())
    })
    .await;
    assert!(wrong_observer.statuses().is_empty(), "an agent with a wrong password got a status through");
}

#[test]
fn a_bad_config_file_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.toml");
    let example = talos_agent::config::EXAMPLE_TOML.replace("el_max_deg = 90.0", "el_max_deg = 95.0");
    std::fs::write(&config, example).unwrap();
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_talos-agent")).arg("--config").arg(&config).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rotator.el_max_deg: 95 is outside -90..=90 deg"), "{stderr}");

    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_talos-agent"))
        .args(["--config", "/nonexistent/agent.toml"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read /nonexistent/agent.toml"));

    let example =
        std::process::Command::new(env!("CARGO_BIN_EXE_talos-agent")).arg("--print-example-config").output().unwrap();
    assert!(example.status.success());
    std::fs::write(&config, &example.stdout).unwrap();
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_talos-agent"))
        .arg("--config")
        .arg(&config)
        .arg("--check")
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(0), "{}", String::from_utf8_lossy(&check.stderr));
}

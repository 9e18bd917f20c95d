//! The controller with virtual time: every safety rule, step by step.

use talos_core::{AssignmentId, NoradId, OrgId, StationId, UnixMs};
use talos_link::{
    CmdLeaf, Heartbeat, Message, ParkAction, ParkCommand, Pointing, RigPoint, RigSetpoint, RotPoint, RotSetpoint,
    RotatorLimits, SessionAction, SessionCommand, SlewRates, StateLeaf, StationConfig, Topic, encode, publication,
};

use super::*;

const ORG: OrgId = OrgId(3);
const STATION: StationId = StationId(7);
const T0: Time = Time { unix: UnixMs(1_778_155_200_000), mono_ms: 5_000_000 };
const PARK: Pointing = Pointing { az_deg: 0.0, el_deg: 90.0 };

fn settings() -> Settings {
    Settings {
        limits: RotatorLimits { az_min_deg: 0.0, az_max_deg: 450.0, el_min_deg: 0.0, el_max_deg: 90.0 },
        park: PARK,
        deadband_deg: 0.5,
        park_tolerance_deg: 1.0,
        stuck_threshold_deg: 5.0,
        stuck_time_ms: 10_000,
        dead_man_ms: 3_000,
        heartbeat_timeout_ms: 10_000,
        rig: Some(RigSettings { deadband_hz: 10.0, split_uplink: false }),
    }
}

fn p(az_deg: f64, el_deg: f64) -> Pointing {
    Pointing { az_deg, el_deg }
}

/// A controller at virtual time `t`, with a director that has just sent a heartbeat.
struct Harness {
    ctl: Controller,
    t: Time,
}

impl Harness {
    fn new() -> Self {
        Self::with(settings())
    }

    fn with(settings: Settings) -> Self {
        let mut h = Self { ctl: Controller::new(ORG, STATION, settings, "0.1.0", T0), t: T0 };
        h.heartbeat();
        h
    }

    fn at(&self, ms: u64) -> Time {
        T0.plus_ms(ms)
    }

    /// Moves virtual time to `T0 + ms`.
    fn to(&mut self, ms: u64) {
        assert!(self.at(ms).mono_ms >= self.t.mono_ms, "virtual time only moves forward");
        self.t = self.at(ms);
    }

    fn send(&mut self, topic: Topic, message: Message) -> Result<(), Reject> {
        let out = publication(&topic, &message).expect("test messages are valid");
        let t = self.t;
        self.ctl.receive(&out.topic, &out.payload, t)
    }

    fn raw(&mut self, topic: &str, payload: &[u8]) -> Result<(), Reject> {
        let t = self.t;
        self.ctl.receive(topic, payload, t)
    }

    fn heartbeat(&mut self) {
        let hb = Heartbeat { director_id: "director-0".into(), lease_epoch: 1, t_ms: self.t.unix, tick: 1 };
        self.send(Topic::Heartbeat, Message::Heartbeat(hb)).unwrap();
    }

    /// A rotator setpoint of `seq` in `epoch`, valid for `valid_ms` from now, with points
    /// `(offset from now in ms, az, el)`.
    fn rot(&mut self, epoch: u64, seq: u64, valid_ms: i64, points: &[(i64, f64, f64)]) -> Result<(), Reject> {
        let now = self.t.unix;
        let sp = RotSetpoint {
            seq,
            valid_until_ms: now.plus_ms(valid_ms),
            lease_epoch: epoch,
            norad_id: None,
            points: points
                .iter()
                .map(|&(dt, az_deg, el_deg)| RotPoint { t_ms: now.plus_ms(dt), az_deg, el_deg })
                .collect(),
        };
        self.send(Topic::cmd(ORG, STATION, CmdLeaf::Rot), Message::Rot(sp))
    }

    fn rig(&mut self, seq: u64, mode: &str, points: &[(i64, Option<f64>, Option<f64>)]) -> Result<(), Reject> {
        let now = self.t.unix;
        let sp = RigSetpoint {
            seq,
            valid_until_ms: now.plus_ms(2_000),
            lease_epoch: 1,
            norad_id: NoradId::new(25544).unwrap(),
            mode: mode.into(),
            points: points
                .iter()
                .map(|&(dt, downlink_hz, uplink_hz)| RigPoint { t_ms: now.plus_ms(dt), downlink_hz, uplink_hz })
                .collect(),
            driver: None,
        };
        self.send(Topic::cmd(ORG, STATION, CmdLeaf::Rig), Message::Rig(sp))
    }

    fn park_cmd(&mut self, id: &str, action: ParkAction) -> Result<(), Reject> {
        let cmd = ParkCommand { correlation_id: id.into(), lease_epoch: 1, action };
        self.send(Topic::cmd(ORG, STATION, CmdLeaf::Session), Message::Park(cmd))
    }

    fn session(&mut self, id: &str, start: bool) -> Result<(), Reject> {
        let now = self.t.unix;
        let action = if start {
            SessionAction::Start { aos_ms: now.plus_ms(60_000), los_ms: None }
        } else {
            SessionAction::Stop { los_ms: now }
        };
        let cmd = SessionCommand {
            correlation_id: id.into(),
            lease_epoch: 1,
            assignment_id: AssignmentId(42),
            norad_id: NoradId::new(25544).unwrap(),
            action,
        };
        self.send(Topic::cmd(ORG, STATION, CmdLeaf::Session), Message::Session(cmd))
    }

    fn tick(&mut self) -> Option<RotCommand> {
        let t = self.t;
        self.ctl.tick(t).rot
    }

    fn rig_tick(&mut self) -> Vec<RigCommand> {
        let t = self.t;
        self.ctl.tick(t).rig
    }

    /// The rotator reads back at `at`, then a tick; returns the rotator command.
    fn readback_tick(&mut self, at: Pointing) -> Option<RotCommand> {
        let t = self.t;
        self.ctl.on_rot_position(t, at);
        self.tick()
    }
}

fn point(az_deg: f64, el_deg: f64) -> Option<RotCommand> {
    Some(RotCommand::Point(p(az_deg, el_deg)))
}

fn assert_close(cmd: Option<RotCommand>, az_deg: f64, el_deg: f64) {
    match cmd {
        Some(RotCommand::Point(at)) => {
            assert!((at.az_deg - az_deg).abs() < 1e-9 && (at.el_deg - el_deg).abs() < 1e-9, "{at:?}")
        }
        other => panic!("expected P {az_deg} {el_deg}, got {other:?}"),
    }
}

// ---- following the trajectory ----

#[test]
fn follows_the_trajectory_interpolated_at_each_tick() {
    let mut h = Harness::new();
    h.rot(1, 1, 2_000, &[(0, 100.0, 10.0), (1_000, 110.0, 20.0), (2_000, 112.0, 20.0)]).unwrap();
    assert_eq!(h.tick(), point(100.0, 10.0));
    h.to(300);
    assert_close(h.tick(), 103.0, 13.0);
    h.to(500);
    assert_close(h.tick(), 105.0, 15.0);
    h.to(1_500);
    assert_close(h.tick(), 111.0, 20.0);
    assert_eq!(h.ctl.activity(), Activity::Tracking);
    assert_eq!(h.ctl.rot_state(h.t).applied_seq, Some(1));
}

#[test]
fn a_pre_positioning_trajectory_in_the_future_holds_its_first_point() {
    let mut h = Harness::new();
    h.rot(1, 1, 8_000, &[(5_000, 200.0, 0.0), (6_000, 201.0, 1.0)]).unwrap();
    assert_eq!(h.tick(), point(200.0, 0.0));
}

#[test]
fn moves_smaller_than_the_deadband_are_not_sent() {
    let mut h = Harness::new();
    // 0.1 deg per 100 ms tick: one command every ~0.6 deg with a 0.5 deg deadband.
    h.rot(1, 1, 2_000, &[(0, 100.0, 30.0), (2_000, 102.0, 30.0)]).unwrap();
    let mut sent = Vec::new();
    for i in 0..=20 {
        h.to(i * 100);
        if let Some(RotCommand::Point(at)) = h.tick() {
            sent.push((i, at.az_deg));
        }
    }
    let ticks: Vec<u64> = sent.iter().map(|(i, _)| *i).collect();
    assert_eq!(ticks, [0, 6, 12, 18], "{sent:?}");
    for pair in sent.windows(2) {
        assert!(pair[1].1 - pair[0].1 > 0.5, "{sent:?}");
    }
}

#[test]
fn targets_outside_the_limits_are_clamped_and_reported() {
    let mut s = settings();
    s.limits = RotatorLimits { az_min_deg: 10.0, az_max_deg: 350.0, el_min_deg: 5.0, el_max_deg: 85.0 };
    let mut h = Harness::with(s);
    h.rot(1, 1, 2_000, &[(0, 400.0, 89.0)]).unwrap();
    assert_eq!(h.tick(), point(350.0, 85.0));
    let state = h.ctl.rot_state(h.t);
    assert_eq!(state.commanded, Some(p(350.0, 85.0)));
    assert!(state.fault.as_deref().is_some_and(|f| f.contains("clamped")), "{state:?}");
    h.to(100);
    h.rot(1, 2, 2_000, &[(0, -20.0, -3.0)]).unwrap();
    assert_eq!(h.tick(), point(10.0, 5.0));
    h.to(200);
    h.rot(1, 3, 2_000, &[(0, 100.0, 45.0)]).unwrap();
    assert_eq!(h.tick(), point(100.0, 45.0));
    assert_eq!(h.ctl.rot_state(h.t).fault, None, "the notice clears once the target is inside");
}

#[test]
fn a_commanded_park_outside_the_limits_is_clamped_too() {
    let mut h = Harness::new();
    h.park_cmd("park-1", ParkAction::Park { az_deg: 600.0, el_deg: -10.0 }).unwrap();
    assert_eq!(h.tick(), point(450.0, 0.0));
}

// ---- dead-man ----

#[test]
fn dead_man_stops_once_when_no_setpoint_arrives_for_three_seconds() {
    let mut h = Harness::new();
    h.rot(1, 1, 1_500, &[(0, 100.0, 10.0), (1_500, 101.5, 10.0)]).unwrap();
    assert!(h.tick().is_some());
    h.to(1_600);
    assert_eq!(h.tick(), None, "expired: hold, no new command");
    assert_eq!(h.ctl.activity(), Activity::Holding);
    h.to(2_999);
    assert_eq!(h.tick(), None);
    h.to(3_000);
    assert_eq!(h.tick(), Some(RotCommand::Stop));
    assert_eq!(h.ctl.activity(), Activity::Stopped(StopReason::DeadMan));
    for ms in [3_100, 4_000, 5_000] {
        h.to(ms);
        assert_eq!(h.tick(), None, "S is sent once");
    }
    assert_eq!(h.ctl.rot_state(h.t).commanded, None);
    // A fresh setpoint takes over again.
    h.heartbeat();
    h.rot(1, 2, 2_000, &[(0, 120.0, 20.0)]).unwrap();
    assert_eq!(h.tick(), point(120.0, 20.0));
}

#[test]
fn dead_man_counts_from_the_last_accepted_setpoint_not_from_a_long_valid_until() {
    let mut h = Harness::new();
    h.rot(1, 1, 8_000, &[(0, 100.0, 10.0), (8_000, 108.0, 10.0)]).unwrap();
    h.tick();
    h.to(3_000);
    assert_eq!(h.tick(), Some(RotCommand::Stop), "a dead director must not steer for 8 s");
}

#[test]
fn refused_setpoints_do_not_feed_the_dead_man() {
    let mut h = Harness::new();
    h.rot(1, 10, 2_000, &[(0, 100.0, 10.0)]).unwrap();
    h.tick();
    for (i, ms) in [1_000, 2_000].into_iter().enumerate() {
        h.to(ms);
        // A replay of seq 10 keeps arriving: refused, so the dead-man still fires.
        assert!(h.rot(1, 10 - i as u64, 2_000, &[(0, 100.0, 10.0)]).is_err());
        h.tick();
    }
    h.to(3_000);
    assert_eq!(h.tick(), Some(RotCommand::Stop));
}

// ---- heartbeat ----

#[test]
fn director_heartbeat_loss_parks_after_the_timeout() {
    let mut h = Harness::new();
    h.rot(1, 1, 2_000, &[(0, 100.0, 10.0)]).unwrap();
    h.tick();
    h.to(3_000);
    assert_eq!(h.tick(), Some(RotCommand::Stop));
    h.to(9_999);
    assert_eq!(h.tick(), None);
    h.to(10_000);
    assert_eq!(h.tick(), Some(RotCommand::Point(PARK)));
    assert_eq!(h.ctl.activity(), Activity::Parking(ParkReason::HeartbeatLost, PARK));
    h.to(10_100);
    assert_eq!(h.tick(), None, "the park is sent once");
    assert!(!h.ctl.is_parked());
    h.ctl.on_rot_position(h.t, p(0.4, 89.5));
    assert!(h.ctl.is_parked(), "read back within the tolerance");
    // The director comes back: no setpoint yet, so the rotator stays where it parked.
    h.to(12_000);
    h.heartbeat();
    assert_eq!(h.tick(), None);
    assert_eq!(h.ctl.activity(), Activity::Idle);
    h.rot(1, 2, 2_000, &[(0, 50.0, 10.0)]).unwrap();
    assert_eq!(h.tick(), point(50.0, 10.0));
}

#[test]
fn an_agent_that_never_hears_a_director_parks_after_the_timeout_from_start() {
    let mut h = Harness { ctl: Controller::new(ORG, STATION, settings(), "0.1.0", T0), t: T0 };
    h.to(9_900);
    assert_eq!(h.tick(), None);
    h.to(10_000);
    assert_eq!(h.tick(), Some(RotCommand::Point(PARK)));
}

#[test]
fn setpoints_without_a_heartbeat_do_not_unpark() {
    let mut h = Harness::new();
    h.to(10_000);
    assert_eq!(h.tick(), Some(RotCommand::Point(PARK)));
    h.rot(1, 1, 2_000, &[(0, 100.0, 10.0)]).unwrap();
    assert_eq!(h.tick(), None, "still parking: a director that sends no heartbeat is not trusted");
    h.heartbeat();
    assert_eq!(h.tick(), point(100.0, 10.0));
}

// ---- ordering, staleness, epochs ----

#[test]
fn stale_out_of_order_and_old_epoch_setpoints_are_rejected_counted_and_not_applied() {
    let mut h = Harness::new();
    h.rot(5, 100, 2_000, &[(0, 100.0, 10.0)]).unwrap();
    assert_eq!(h.tick(), point(100.0, 10.0));
    h.to(100);
    let stale = h.rot(5, 101, -1, &[(0, 200.0, 10.0)]).unwrap_err();
    assert_eq!(stale.reason(), "stale");
    let replay = h.rot(5, 100, 2_000, &[(0, 200.0, 10.0)]).unwrap_err();
    assert_eq!(replay.reason(), "out_of_order");
    let older = h.rot(5, 99, 2_000, &[(0, 200.0, 10.0)]).unwrap_err();
    assert_eq!(older.reason(), "out_of_order");
    let fenced = h.rot(4, 1_000, 2_000, &[(0, 200.0, 10.0)]).unwrap_err();
    assert_eq!(fenced.reason(), "old_epoch");
    assert_eq!(h.tick(), None, "nothing of the refused setpoints reached the rotator");
    assert_eq!(h.ctl.rot_state(h.t).applied_seq, Some(100));
    assert_eq!(h.ctl.rejected(RejectReason::Stale), 1);
    assert_eq!(h.ctl.rejected(RejectReason::OutOfOrder), 2);
    assert_eq!(h.ctl.rejected(RejectReason::OldEpoch), 1);
    let tally = h.ctl.status().rejects.unwrap();
    assert_eq!((tally.stale, tally.out_of_order, tally.old_epoch), (1, 2, 1));
    // A newer lease takes over, whatever its seq.
    h.rot(6, 1, 2_000, &[(0, 150.0, 10.0)]).unwrap();
    assert_eq!(h.tick(), point(150.0, 10.0));
}

#[test]
fn an_old_epoch_park_command_is_refused() {
    let mut h = Harness::new();
    h.rot(2, 1, 2_000, &[(0, 100.0, 10.0)]).unwrap();
    h.tick();
    let r = h.park_cmd("old", ParkAction::Stop).unwrap_err(); // epoch 1 < 2
    assert_eq!(r.reason(), "old_epoch");
    assert_eq!(h.tick(), None);
    assert_eq!(h.ctl.activity(), Activity::Tracking);
}

// ---- discrete commands ----

#[test]
fn session_stop_parks_until_a_newer_trajectory_or_a_session_start() {
    let mut h = Harness::new();
    h.rot(1, 1, 2_000, &[(0, 100.0, 10.0)]).unwrap();
    h.tick();
    h.to(100);
    h.session("stop-1", false).unwrap();
    assert_eq!(h.tick(), Some(RotCommand::Point(PARK)));
    assert_eq!(h.ctl.activity(), Activity::Parking(ParkReason::SessionEnded, PARK));
    // A setpoint the director made before the stop (its trajectory starts earlier) arrives late.
    h.to(200);
    h.rot(1, 2, 2_000, &[(-150, 101.0, 10.0)]).unwrap();
    assert_eq!(h.tick(), None, "a late setpoint from before the stop does not unpark");
    h.to(700);
    h.rot(1, 3, 2_000, &[(0, 102.0, 10.0)]).unwrap();
    assert_eq!(h.tick(), point(102.0, 10.0));
    // Park again, then a session start releases it for pre-positioning.
    h.to(800);
    h.park_cmd("park-2", ParkAction::Park { az_deg: 180.0, el_deg: 45.0 }).unwrap();
    assert_eq!(h.tick(), point(180.0, 45.0));
    h.session("start-3", true).unwrap();
    assert_eq!(h.tick(), point(102.0, 10.0), "the last valid setpoint applies again");
}

#[test]
fn a_stop_command_stops_once_and_holds() {
    let mut h = Harness::new();
    h.rot(1, 1, 2_000, &[(0, 100.0, 10.0)]).unwrap();
    h.tick();
    h.park_cmd("stop-1", ParkAction::Stop).unwrap();
    assert_eq!(h.tick(), Some(RotCommand::Stop));
    assert_eq!(h.tick(), None);
    assert_eq!(h.ctl.activity(), Activity::Stopped(StopReason::Commanded));
}

#[test]
fn a_duplicated_qos1_command_is_applied_once() {
    let mut h = Harness::new();
    h.to(100);
    h.park_cmd("park-9", ParkAction::Park { az_deg: 10.0, el_deg: 10.0 }).unwrap();
    h.to(600);
    h.rot(1, 1, 2_000, &[(0, 100.0, 10.0)]).unwrap();
    assert_eq!(h.tick(), point(100.0, 10.0));
    // The broker re-delivers the park (same correlation id): it must not park again.
    h.park_cmd("park-9", ParkAction::Park { az_deg: 10.0, el_deg: 10.0 }).unwrap();
    assert_eq!(h.tick(), None);
    assert_eq!(h.ctl.activity(), Activity::Tracking);
}

// ---- shutdown ----

#[test]
fn shutdown_parks_confirms_by_read_back_and_ignores_later_setpoints() {
    let mut h = Harness::new();
    h.rot(1, 1, 2_000, &[(0, 100.0, 10.0)]).unwrap();
    h.tick();
    h.ctl.begin_shutdown();
    assert_eq!(h.tick(), Some(RotCommand::Point(PARK)));
    assert!(!h.ctl.is_parked());
    h.rot(1, 2, 2_000, &[(0, 120.0, 10.0)]).unwrap();
    h.to(100);
    assert_eq!(h.readback_tick(p(50.0, 50.0)), None);
    assert!(!h.ctl.is_parked());
    h.to(200);
    assert_eq!(h.readback_tick(p(0.0, 90.0)), None);
    assert!(h.ctl.is_parked());
    let offline = h.ctl.offline_status("shutdown: parked");
    assert_eq!(offline.state, AgentState::Offline);
}

// ---- stuck ----

#[test]
fn a_rotator_that_does_not_move_is_reported_stuck_after_the_configured_time() {
    let mut h = Harness::new();
    h.rot(1, 1, 2_000, &[(0, 100.0, 10.0)]).unwrap();
    h.tick();
    for ms in (0..=9_900).step_by(100) {
        h.to(ms);
        h.ctl.on_rot_position(h.t, p(0.0, 0.0));
        if ms % 1_000 == 0 {
            h.heartbeat();
            h.rot(1, 2 + ms / 100, 2_000, &[(0, 100.0, 10.0)]).unwrap();
        }
        h.tick();
        assert!(!h.ctl.is_stuck(), "at {ms} ms");
    }
    h.to(10_000);
    h.ctl.on_rot_position(h.t, p(0.0, 0.0));
    assert!(h.ctl.is_stuck());
    assert!(h.ctl.rot_state(h.t).stuck);
    assert_eq!(h.ctl.status().state, AgentState::Fault);
    // It moves again: no longer stuck; it arrives: all clear.
    h.to(10_100);
    h.ctl.on_rot_position(h.t, p(2.0, 0.5));
    assert!(!h.ctl.is_stuck());
    h.ctl.on_rot_position(h.t, p(98.0, 10.0));
    assert!(!h.ctl.is_stuck());
    assert_eq!(h.ctl.status().state, AgentState::Online);
}

#[test]
fn a_long_slew_is_not_stuck() {
    let mut h = Harness::new();
    h.rot(1, 1, 2_000, &[(0, 350.0, 10.0)]).unwrap();
    h.tick();
    // 6 deg/s, like Hamlib's dummy: 58 s to get there.
    for ms in (0..=30_000).step_by(100) {
        h.to(ms);
        if ms % 1_000 == 0 {
            h.heartbeat();
            h.rot(1, 2 + ms / 100, 2_000, &[(0, 350.0, 10.0)]).unwrap();
        }
        h.ctl.on_rot_position(h.t, p(ms as f64 * 0.006, 10.0));
        h.tick();
        assert!(!h.ctl.is_stuck(), "at {ms} ms");
    }
}

// ---- faults of the daemons ----

#[test]
fn rotctld_down_is_a_fault_and_everything_is_sent_again_when_it_is_back() {
    let mut h = Harness::new();
    h.rot(1, 1, 2_000, &[(0, 100.0, 10.0)]).unwrap();
    assert_eq!(h.tick(), point(100.0, 10.0));
    h.ctl.on_rot_link_down("rotctld 127.0.0.1:4533 unreachable: connection refused");
    h.to(100);
    assert_eq!(h.tick(), None, "nothing is sent while the link is down");
    let status = h.ctl.status();
    assert_eq!(status.state, AgentState::Fault);
    assert!(status.reason.unwrap().contains("rotctld"));
    let state = h.ctl.rot_state(h.t);
    assert_eq!(state.reported, None);
    assert!(state.fault.unwrap().contains("unreachable"));
    h.to(200);
    assert_eq!(h.readback_tick(p(0.0, 0.0)), point(100.0, 10.0), "re-sent after the reconnect");
    assert_eq!(h.ctl.status().state, AgentState::Online);
}

#[test]
fn a_refused_position_is_not_retried_at_every_tick() {
    let mut h = Harness::new();
    h.rot(1, 1, 2_000, &[(0, 100.0, 10.0)]).unwrap();
    assert!(h.tick().is_some());
    h.ctl.on_rot_refused("rotctld refused \"P 100.00 10.00\": RPRT -1 (invalid parameter)");
    h.to(100);
    assert_eq!(h.tick(), None);
    assert!(h.ctl.rot_state(h.t).fault.unwrap().contains("RPRT -1"));
    h.ctl.on_rot_done();
    assert_eq!(h.ctl.rot_state(h.t).fault, None);
}

#[test]
fn a_stop_lost_with_the_link_is_sent_again() {
    let mut h = Harness::new();
    h.park_cmd("stop", ParkAction::Stop).unwrap();
    assert_eq!(h.tick(), Some(RotCommand::Stop));
    h.ctl.on_rot_link_down("lost");
    assert_eq!(h.tick(), None);
    assert_eq!(h.readback_tick(p(1.0, 1.0)), Some(RotCommand::Stop));
}

// ---- bad input ----

#[test]
fn malformed_oversize_unknown_and_foreign_payloads_are_counted_never_applied() {
    let mut h = Harness::new();
    let rot = Topic::cmd(ORG, STATION, CmdLeaf::Rot).to_string();
    assert_eq!(h.raw(&rot, b"{not json").unwrap_err().reason(), "malformed");
    assert_eq!(h.raw(&rot, b"").unwrap_err().reason(), "malformed");
    assert_eq!(h.raw(&rot, &[0xff, 0xfe, 0x00]).unwrap_err().reason(), "malformed");
    assert_eq!(h.raw(&rot, &vec![b' '; 20_000]).unwrap_err().reason(), "oversize");
    assert_eq!(h.raw(&rot, br#"{"schema":"talos.rot.v9","seq":1}"#).unwrap_err().reason(), "unknown_schema");
    let hb =
        encode(&Message::Heartbeat(Heartbeat { director_id: "d".into(), lease_epoch: 1, t_ms: h.t.unix, tick: 1 }));
    assert_eq!(h.raw(&rot, &hb).unwrap_err().reason(), "wrong_topic");
    assert_eq!(h.raw("talos/v1/3/7/cmd/antenna", b"{}").unwrap_err().reason(), "bad_topic");
    // Another station's (valid) command, delivered by a misconfigured broker.
    let other = publication(
        &Topic::cmd(ORG, StationId(8), CmdLeaf::Session),
        &Message::Park(ParkCommand { correlation_id: "x".into(), lease_epoch: 1, action: ParkAction::Stop }),
    )
    .unwrap();
    assert_eq!(h.raw(&other.topic, &other.payload).unwrap_err().reason(), "wrong_topic");
    let own_state = Topic::state(ORG, STATION, StateLeaf::Status).to_string();
    let status = encode(&Message::Status(StatusReport::online("0.1.0", None)));
    assert_eq!(h.raw(&own_state, &status).unwrap_err().reason(), "wrong_topic");
    let out_of_range = br#"{"schema":"talos.rot.v1","seq":1,"valid_until_ms":1778155202000,"lease_epoch":1,
        "points":[{"t_ms":1778155200000,"az_deg":800.0,"el_deg":0.0}]}"#;
    assert_eq!(h.raw(&rot, out_of_range).unwrap_err().reason(), "out_of_range");
    assert_eq!(h.tick(), None);
    assert_eq!(h.ctl.activity(), Activity::Idle);
    let tally = h.ctl.status().rejects.unwrap();
    assert_eq!(tally.malformed, 3);
    assert_eq!((tally.oversize, tally.unknown_schema, tally.bad_topic), (1, 1, 1));
    assert_eq!((tally.wrong_topic, tally.out_of_range), (3, 1));
    assert_eq!(h.ctl.rejects().total(), 10);
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut h = Harness::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let alphabet = b"{}[]\":,0123456789.-eE truefalsnull\\schema";
    let topics =
        ["talos/v1/3/7/cmd/rot", "talos/v1/3/7/cmd/rig", "talos/v1/3/7/cmd/session", "talos/v1/director/heartbeat"];
    for i in 0..2_000 {
        let len = (seed % 300) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                alphabet[(seed % alphabet.len() as u64) as usize]
            })
            .collect();
        let _ = h.raw(topics[i % topics.len()], &bytes);
        h.tick();
    }
}

// ---- the radio ----

#[test]
fn the_rig_gets_its_mode_then_the_interpolated_downlink_beyond_the_deadband() {
    let mut h = Harness::new();
    h.rig(1, "FM", &[(0, Some(145_800_000.0), Some(435_000_000.0)), (1_000, Some(145_799_000.0), None)]).unwrap();
    assert_eq!(h.rig_tick(), [RigCommand::Mode("FM".into()), RigCommand::Frequency(145_800_000.0)]);
    h.to(5);
    assert_eq!(h.rig_tick(), [], "5 Hz of Doppler is inside the 10 Hz deadband");
    h.to(500);
    assert_eq!(h.rig_tick(), [RigCommand::Frequency(145_799_500.0)]);
    let state = h.ctl.rig_state(h.t).unwrap();
    assert_eq!(state.commanded_downlink_hz, Some(145_799_500.0));
    assert_eq!(state.commanded_uplink_hz, None, "uplink is not sent unless split_uplink is on");
    assert_eq!(state.applied_seq, Some(1));
    h.to(2_000);
    assert_eq!(h.rig_tick(), [], "expired");
    assert_eq!(h.ctl.rig_state(h.t).unwrap().applied_seq, None);
}

#[test]
fn split_uplink_sends_the_transmit_frequency() {
    let mut s = settings();
    s.rig = Some(RigSettings { deadband_hz: 1.0, split_uplink: true });
    let mut h = Harness::with(s);
    h.rig(1, "USB", &[(0, None, Some(435_000_000.0))]).unwrap();
    assert_eq!(h.rig_tick(), [RigCommand::Mode("USB".into()), RigCommand::SplitFrequency(435_000_000.0)]);
}

#[test]
fn the_rig_is_left_alone_without_a_radio_configured_or_while_its_link_is_down() {
    let mut s = settings();
    s.rig = None;
    let mut h = Harness::with(s);
    h.rig(1, "FM", &[(0, Some(145_800_000.0), None)]).unwrap();
    assert_eq!(h.rig_tick(), []);
    assert_eq!(h.ctl.rig_state(h.t), None);

    let mut h = Harness::new();
    h.rig(1, "FM", &[(0, Some(145_800_000.0), None)]).unwrap();
    h.ctl.on_rig_link_down("rigctld 127.0.0.1:4532 unreachable: connection refused");
    assert_eq!(h.rig_tick(), []);
    assert_eq!(h.ctl.status().state, AgentState::Fault);
    h.ctl.on_rig_readback(h.t, Some(145_000_000.0), Some("FM".into()));
    assert_eq!(h.rig_tick(), [RigCommand::Mode("FM".into()), RigCommand::Frequency(145_800_000.0)]);
}

// ---- the director's config ----

fn station_config(version: u64, limits: RotatorLimits, park: Pointing) -> StationConfig {
    let mut c = StationConfig::new(version, limits, park, SlewRates { az_deg_s: 6.0, el_deg_s: 6.0 });
    c.dead_man_ms = 2_000;
    c.heartbeat_timeout_ms = 60_000;
    c
}

#[test]
fn the_directors_config_can_only_tighten_the_local_one() {
    let mut h = Harness::new();
    let limits = RotatorLimits { az_min_deg: -180.0, az_max_deg: 360.0, el_min_deg: 10.0, el_max_deg: 90.0 };
    let config = station_config(4, limits, p(180.0, 45.0));
    h.send(Topic::cmd(ORG, STATION, CmdLeaf::Config), Message::Config(config.clone())).unwrap();
    let s = h.ctl.settings();
    assert_eq!(s.limits, RotatorLimits { az_min_deg: 0.0, az_max_deg: 360.0, el_min_deg: 10.0, el_max_deg: 90.0 });
    assert_eq!(s.park, p(180.0, 45.0));
    assert_eq!((s.dead_man_ms, s.heartbeat_timeout_ms), (2_000, 10_000), "the shorter timer of each");
    assert_eq!(h.ctl.status().config_version, Some(4));
    // An older or re-delivered version changes nothing.
    let older = station_config(3, RotatorLimits { az_min_deg: 0.0, az_max_deg: 90.0, ..limits }, p(45.0, 45.0));
    h.send(Topic::cmd(ORG, STATION, CmdLeaf::Config), Message::Config(older)).unwrap();
    assert_eq!(h.ctl.settings().park, p(180.0, 45.0));
    // The tighter limits now clamp setpoints.
    h.rot(1, 1, 2_000, &[(0, 400.0, 5.0)]).unwrap();
    assert_eq!(h.tick(), point(360.0, 10.0));
    // A config whose limits do not overlap the local ones is refused and reported.
    let disjoint = station_config(
        5,
        RotatorLimits { az_min_deg: 500.0, az_max_deg: 600.0, el_min_deg: 0.0, el_max_deg: 90.0 },
        p(550.0, 45.0),
    );
    h.send(Topic::cmd(ORG, STATION, CmdLeaf::Config), Message::Config(disjoint)).unwrap();
    assert_eq!(h.ctl.config_version(), Some(4));
    let status = h.ctl.status();
    assert_eq!(status.state, AgentState::Fault);
    assert!(status.reason.unwrap().contains("director config v5 refused"));
}

#[test]
fn a_director_park_outside_the_local_limits_falls_back_to_the_local_park() {
    let local = settings();
    let limits = RotatorLimits { az_min_deg: 0.0, az_max_deg: 720.0, el_min_deg: 0.0, el_max_deg: 90.0 };
    let s = local.tightened_by(&station_config(1, limits, p(600.0, 10.0))).unwrap();
    assert_eq!(s.park, PARK);
}

// ---- telemetry on the wire ----

#[test]
fn telemetry_is_always_valid_on_the_wire() {
    let mut h = Harness::new();
    let check = |h: &Harness| {
        let t = h.t;
        publication(&Topic::state(ORG, STATION, StateLeaf::Rot), &Message::RotState(h.ctl.rot_state(t))).unwrap();
        let rig = h.ctl.rig_state(t).unwrap();
        publication(&Topic::state(ORG, STATION, StateLeaf::Rig), &Message::RigState(rig)).unwrap();
        publication(&Topic::state(ORG, STATION, StateLeaf::Status), &Message::Status(h.ctl.status())).unwrap();
    };
    check(&h);
    h.rot(1, 1, 2_000, &[(0, 100.0, 10.0)]).unwrap();
    h.tick();
    // Garbage from the daemons: a fault text with control characters and 1 KiB long, a
    // read-back outside the wire's range, a zero frequency and a lower-case mode.
    h.ctl.on_rot_link_down(&format!("line\none\t{}", "é".repeat(600)));
    h.ctl.on_rig_readback(h.t, Some(0.0), Some("fm\n".into()));
    check(&h);
    h.ctl.on_rot_position(h.t, p(1_000.0, -200.0));
    check(&h);
    assert!(h.ctl.rot_state(h.t).reported.is_none());
}

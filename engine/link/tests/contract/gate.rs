//! The setpoint gate over decoded messages: what an agent sees across a director's ticks,
//! a broker reconnect and a lease handover.

use talos_core::UnixMs;
use talos_link::{CmdLeaf, Message, Reject, RotSetpoint, SetpointGate, SetpointStream, Topic, decode, publication};

use crate::examples::{self, ORG, STATION, T0};

/// The director's setpoint for the tick at `t` under `lease_epoch`, as published bytes.
fn tick(t: UnixMs, lease_epoch: u64) -> Vec<u8> {
    let mut m: RotSetpoint = examples::rot();
    m.seq = t.0 as u64;
    m.lease_epoch = lease_epoch;
    m.valid_until_ms = t.plus_ms(2_000);
    for (i, p) in m.points.iter_mut().enumerate() {
        p.t_ms = t.plus_ms(500 * i as i64);
    }
    publication(&Topic::cmd(ORG, STATION, CmdLeaf::Rot), &Message::Rot(m)).unwrap().payload
}

fn admit(gate: &mut SetpointGate, bytes: &[u8], now: UnixMs) -> Result<(), Reject> {
    let m = decode("talos/v1/1/7/cmd/rot", bytes)?;
    gate.admit(&m, now)
}

#[test]
fn a_steady_stream_of_ticks_is_accepted() {
    let mut gate = SetpointGate::new();
    for i in 0..20 {
        let t = T0.plus_ms(500 * i);
        assert_eq!(admit(&mut gate, &tick(t, 1), t.plus_ms(40)), Ok(()), "tick {i}");
    }
    assert_eq!(gate.last_seq(SetpointStream::Rot), Some(T0.plus_ms(9_500).0 as u64));
}

#[test]
fn after_a_broker_reconnect_old_setpoints_are_never_applied() {
    let mut gate = SetpointGate::new();
    let sent: Vec<(UnixMs, Vec<u8>)> = (0..6).map(|i| T0.plus_ms(500 * i)).map(|t| (t, tick(t, 1))).collect();
    for (t, bytes) in &sent {
        admit(&mut gate, bytes, t.plus_ms(30)).unwrap();
    }
    // Ten seconds offline; then everything ever sent arrives again, oldest first, and the
    // first new tick.
    let back = T0.plus_ms(12_500);
    for (_, bytes) in &sent {
        let r = admit(&mut gate, bytes, back).unwrap_err();
        assert_eq!(r.reason(), "out_of_order");
    }
    assert_eq!(admit(&mut gate, &tick(back, 1), back.plus_ms(30)), Ok(()));
}

#[test]
fn a_setpoint_delayed_past_valid_until_is_stale() {
    let mut gate = SetpointGate::new();
    let r = admit(&mut gate, &tick(T0, 1), T0.plus_ms(2_000)).unwrap_err();
    assert_eq!(r, Reject::Stale { valid_until_ms: T0.plus_ms(2_000).0, now_ms: T0.plus_ms(2_000).0 });
    assert_eq!(admit(&mut gate, &tick(T0, 1), T0.plus_ms(1_999)), Ok(()));
}

#[test]
fn a_lease_handover_fences_the_old_director() {
    let mut gate = SetpointGate::new();
    admit(&mut gate, &tick(T0, 4), T0).unwrap();
    // The new owner's clock is 300 ms behind: its seq is lower, its epoch higher.
    let new_owner = T0.plus_ms(200);
    assert_eq!(admit(&mut gate, &tick(new_owner, 5), T0.plus_ms(500)), Ok(()));
    // The old director, not yet aware it lost the lease, keeps publishing.
    let r = admit(&mut gate, &tick(T0.plus_ms(500), 4), T0.plus_ms(520)).unwrap_err();
    assert_eq!(r, Reject::OldEpoch { lease_epoch: 4, current: 5 });
    // And its discrete commands are refused too.
    let park = decode(&examples::all()[4].topic.to_string(), &talos_link::encode(&examples::all()[4].message)).unwrap();
    let Message::Park(p) = &park else { panic!("{park:?}") };
    assert_eq!(p.lease_epoch, 3);
    assert_eq!(gate.admit(&park, T0).unwrap_err().reason(), "old_epoch");
}

#[test]
fn non_commands_pass_the_gate() {
    let mut gate = SetpointGate::new();
    gate.admit_epoch(100).unwrap();
    for e in examples::all() {
        let expect_pass =
            !matches!(e.message, Message::Rot(_) | Message::Rig(_) | Message::Session(_) | Message::Park(_));
        assert_eq!(gate.admit(&e.message, T0).is_ok(), expect_pass, "{}", e.file);
    }
}

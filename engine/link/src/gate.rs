//! Which decoded commands an agent may act on: the newest lease epoch, the newest `seq`
//! in it, and only while `valid_until_ms` lies ahead. Sans-IO: the caller passes `now`.

use talos_core::UnixMs;

use crate::message::Message;
use crate::payload::{RigSetpoint, RotSetpoint};
use crate::reject::Reject;

/// The two setpoint streams of a station. Each has its own `seq` (the director may give a
/// rotator and a rig setpoint of the same tick the same `seq`); the lease epoch is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetpointStream {
    Rot,
    Rig,
}

/// The ordering fields of a setpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetpointMeta {
    pub seq: u64,
    pub valid_until_ms: UnixMs,
    pub lease_epoch: u64,
}

impl From<&RotSetpoint> for SetpointMeta {
    fn from(m: &RotSetpoint) -> Self {
        Self { seq: m.seq, valid_until_ms: m.valid_until_ms, lease_epoch: m.lease_epoch }
    }
}

impl From<&RigSetpoint> for SetpointMeta {
    fn from(m: &RigSetpoint) -> Self {
        Self { seq: m.seq, valid_until_ms: m.valid_until_ms, lease_epoch: m.lease_epoch }
    }
}

/// One per station, kept by the agent for as long as it runs (across broker reconnects,
/// so a replayed setpoint is recognised).
///
/// Rules, checked in this order, state changed only when all pass:
/// 1. `lease_epoch` older than the newest seen: [`Reject::OldEpoch`]. A newer epoch is a new
///    director lease: it becomes current and the `seq` of both streams starts over.
/// 2. Same epoch and `seq` not after the last accepted in that stream: [`Reject::OutOfOrder`].
/// 3. `valid_until_ms <= now`: [`Reject::Stale`].
///
/// Session and park commands carry a `lease_epoch` too and go through rule 1 only (they
/// are QoS 1: a duplicate is the same command, recognisable by its `correlation_id`).
/// Config, status, telemetry and heartbeats are not the gate's business and pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetpointGate {
    lease_epoch: Option<u64>,
    last_seq: [Option<u64>; 2],
}

impl SetpointGate {
    pub fn new() -> Self {
        Self::default()
    }

    /// The newest lease epoch accepted, if any.
    pub fn lease_epoch(&self) -> Option<u64> {
        self.lease_epoch
    }

    /// The last `seq` accepted on `stream` in the current epoch.
    pub fn last_seq(&self, stream: SetpointStream) -> Option<u64> {
        self.last_seq[stream as usize]
    }

    /// Applies the rules to any decoded message (see the type's documentation).
    pub fn admit(&mut self, message: &Message, now: UnixMs) -> Result<(), Reject> {
        match message {
            Message::Rot(m) => self.admit_setpoint(SetpointStream::Rot, m.into(), now),
            Message::Rig(m) => self.admit_setpoint(SetpointStream::Rig, m.into(), now),
            Message::Session(m) => self.admit_epoch(m.lease_epoch),
            Message::Park(m) => self.admit_epoch(m.lease_epoch),
            Message::Config(_)
            | Message::Status(_)
            | Message::RotState(_)
            | Message::RigState(_)
            | Message::Heartbeat(_) => Ok(()),
        }
    }

    /// Rules 1-3 for one setpoint; on success it is the newest of its stream.
    pub fn admit_setpoint(&mut self, stream: SetpointStream, meta: SetpointMeta, now: UnixMs) -> Result<(), Reject> {
        self.check_epoch(meta.lease_epoch)?;
        if self.lease_epoch == Some(meta.lease_epoch)
            && let Some(last_seq) = self.last_seq[stream as usize]
            && meta.seq <= last_seq
        {
            return Err(Reject::OutOfOrder { seq: meta.seq, last_seq, lease_epoch: meta.lease_epoch });
        }
        if meta.valid_until_ms <= now {
            return Err(Reject::Stale { valid_until_ms: meta.valid_until_ms.0, now_ms: now.0 });
        }
        self.adopt_epoch(meta.lease_epoch);
        self.last_seq[stream as usize] = Some(meta.seq);
        Ok(())
    }

    /// Rule 1 for a discrete command.
    pub fn admit_epoch(&mut self, lease_epoch: u64) -> Result<(), Reject> {
        self.check_epoch(lease_epoch)?;
        self.adopt_epoch(lease_epoch);
        Ok(())
    }

    fn check_epoch(&self, lease_epoch: u64) -> Result<(), Reject> {
        match self.lease_epoch {
            Some(current) if lease_epoch < current => Err(Reject::OldEpoch { lease_epoch, current }),
            _ => Ok(()),
        }
    }

    fn adopt_epoch(&mut self, lease_epoch: u64) {
        if self.lease_epoch != Some(lease_epoch) {
            self.lease_epoch = Some(lease_epoch);
            self.last_seq = [None; 2];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixMs = UnixMs(1_778_150_000_000);

    fn meta(lease_epoch: u64, seq: u64, valid_for_ms: i64) -> SetpointMeta {
        SetpointMeta { seq, valid_until_ms: NOW.plus_ms(valid_for_ms), lease_epoch }
    }

    #[test]
    fn accepts_increasing_seq_and_refuses_repeats() {
        let mut g = SetpointGate::new();
        assert_eq!(g.admit_setpoint(SetpointStream::Rot, meta(1, 10, 1000), NOW), Ok(()));
        assert_eq!(g.admit_setpoint(SetpointStream::Rot, meta(1, 11, 1000), NOW), Ok(()));
        assert_eq!(
            g.admit_setpoint(SetpointStream::Rot, meta(1, 11, 1000), NOW),
            Err(Reject::OutOfOrder { seq: 11, last_seq: 11, lease_epoch: 1 })
        );
        assert_eq!(
            g.admit_setpoint(SetpointStream::Rot, meta(1, 9, 1000), NOW),
            Err(Reject::OutOfOrder { seq: 9, last_seq: 11, lease_epoch: 1 })
        );
        assert_eq!(g.last_seq(SetpointStream::Rot), Some(11));
    }

    #[test]
    fn rot_and_rig_streams_have_their_own_seq() {
        let mut g = SetpointGate::new();
        assert_eq!(g.admit_setpoint(SetpointStream::Rot, meta(1, 500, 1000), NOW), Ok(()));
        assert_eq!(g.admit_setpoint(SetpointStream::Rig, meta(1, 500, 1000), NOW), Ok(()));
        assert_eq!(g.last_seq(SetpointStream::Rig), Some(500));
    }

    #[test]
    fn a_newer_epoch_resets_seq_and_fences_the_old_one() {
        let mut g = SetpointGate::new();
        g.admit_setpoint(SetpointStream::Rot, meta(1, 1_000, 1000), NOW).unwrap();
        g.admit_setpoint(SetpointStream::Rig, meta(1, 1_000, 1000), NOW).unwrap();
        // The new lease holder's clock (and so its seq) may be behind the old one's.
        assert_eq!(g.admit_setpoint(SetpointStream::Rot, meta(2, 5, 1000), NOW), Ok(()));
        assert_eq!(g.lease_epoch(), Some(2));
        assert_eq!(g.last_seq(SetpointStream::Rig), None);
        assert_eq!(
            g.admit_setpoint(SetpointStream::Rot, meta(1, 2_000, 1000), NOW),
            Err(Reject::OldEpoch { lease_epoch: 1, current: 2 })
        );
        assert_eq!(
            g.admit_setpoint(SetpointStream::Rig, meta(1, 2_000, 1000), NOW),
            Err(Reject::OldEpoch { lease_epoch: 1, current: 2 })
        );
        assert_eq!(g.admit_epoch(1), Err(Reject::OldEpoch { lease_epoch: 1, current: 2 }));
        assert_eq!(g.admit_epoch(2), Ok(()));
        assert_eq!(g.last_seq(SetpointStream::Rot), Some(5), "a command of the same epoch keeps seq");
    }

    #[test]
    fn a_command_from_a_newer_epoch_also_resets_seq() {
        let mut g = SetpointGate::new();
        g.admit_setpoint(SetpointStream::Rot, meta(3, 100, 1000), NOW).unwrap();
        assert_eq!(g.admit_epoch(4), Ok(()));
        assert_eq!(g.last_seq(SetpointStream::Rot), None);
        assert_eq!(g.admit_setpoint(SetpointStream::Rot, meta(4, 1, 1000), NOW), Ok(()));
    }

    #[test]
    fn expired_setpoints_are_stale_and_change_nothing() {
        let mut g = SetpointGate::new();
        assert_eq!(
            g.admit_setpoint(SetpointStream::Rot, meta(7, 10, 0), NOW),
            Err(Reject::Stale { valid_until_ms: NOW.0, now_ms: NOW.0 })
        );
        assert!(matches!(g.admit_setpoint(SetpointStream::Rot, meta(7, 10, -1), NOW), Err(Reject::Stale { .. })));
        assert_eq!(g.lease_epoch(), None, "a stale setpoint must not move the epoch");
        assert_eq!(g.admit_setpoint(SetpointStream::Rot, meta(7, 10, 1), NOW), Ok(()));
    }

    #[test]
    fn a_stale_setpoint_of_a_newer_epoch_does_not_fence_the_current_one() {
        let mut g = SetpointGate::new();
        g.admit_setpoint(SetpointStream::Rot, meta(1, 10, 1000), NOW).unwrap();
        assert!(matches!(g.admit_setpoint(SetpointStream::Rot, meta(2, 1, -5), NOW), Err(Reject::Stale { .. })));
        assert_eq!(g.lease_epoch(), Some(1));
        assert_eq!(g.admit_setpoint(SetpointStream::Rot, meta(1, 11, 1000), NOW), Ok(()));
    }

    #[test]
    fn replay_after_reconnect_is_refused() {
        // The agent keeps its gate across a broker reconnect; whatever the broker or a
        // confused director re-sends afterwards is either out of order or stale.
        let mut g = SetpointGate::new();
        let before: Vec<_> = (1..=5).map(|i| meta(1, 1_000 + i, 1_000)).collect();
        for m in &before {
            g.admit_setpoint(SetpointStream::Rot, *m, NOW).unwrap();
        }
        let after_reconnect = NOW.plus_ms(4_000);
        for m in &before {
            assert!(matches!(
                g.admit_setpoint(SetpointStream::Rot, *m, after_reconnect),
                Err(Reject::OutOfOrder { .. })
            ));
        }
        // A fresh setpoint with an older seq but still valid is refused too.
        let late = SetpointMeta { seq: 1_004, valid_until_ms: after_reconnect.plus_ms(1_000), lease_epoch: 1 };
        assert!(matches!(g.admit_setpoint(SetpointStream::Rot, late, after_reconnect), Err(Reject::OutOfOrder { .. })));
        let fresh = SetpointMeta { seq: 5_000, valid_until_ms: after_reconnect.plus_ms(1_000), lease_epoch: 1 };
        assert_eq!(g.admit_setpoint(SetpointStream::Rot, fresh, after_reconnect), Ok(()));
    }

    #[test]
    fn an_agent_restart_still_refuses_expired_replays() {
        // A restarted agent has an empty gate: only valid_until_ms protects it.
        let mut g = SetpointGate::new();
        let replay = meta(1, 1_000, 500);
        assert!(matches!(g.admit_setpoint(SetpointStream::Rot, replay, NOW.plus_ms(2_000)), Err(Reject::Stale { .. })));
    }
}

//! A tick's outbox in the MQTT wire form (talos-link): what the director publishes,
//! sans I/O. Every message goes through [`talos_link::publication`], so it is validated,
//! put on its topic and given its QoS and retain flag by the contract, not by hand here.
//!
//! A message the contract refuses (say, a setpoint whose numbers left the valid range) is
//! returned with its reason instead of being published: the caller counts and logs it.
//! Nothing is dropped silently.

use talos_core::UnixMs;
use talos_link::{
    CmdLeaf, Heartbeat, Message, ParkAction, ParkCommand, Publication, Reject, RigPoint, RotPoint, SessionAction,
    SessionCommand, Topic,
};
use talos_tick::{Outbox, StationCommandKind};

/// Hamlib's name for a SatNOGS DB mode: data modes sent over an FM radio use `FM`,
/// single-sideband and PSK data `USB`, the rest their own name when Hamlib has it. A
/// rig-driver plugin can refine this per radio (issue 5).
pub fn hamlib_mode(satnogs_mode: &str) -> &'static str {
    match satnogs_mode.trim().to_ascii_uppercase().as_str() {
        "CW" => "CW",
        "LSB" => "LSB",
        "AM" => "AM",
        "WFM" => "WFM",
        "USB" | "SSB" | "BPSK" | "QPSK" | "PSK" | "PSK31" | "BPSK PMT-A3" => "USB",
        _ => "FM",
    }
}

/// What could not be published, with why.
#[derive(Debug)]
pub struct Refused {
    pub topic: String,
    pub reject: Reject,
}

/// The publications of one tick: rotator and rig setpoints (QoS 0), session and park
/// commands (QoS 1, with a correlation id), and the director heartbeat.
pub fn publications(outbox: &Outbox, director_id: &str, lease_epoch: u64) -> (Vec<Publication>, Vec<Refused>) {
    let mut out = Vec::with_capacity(outbox.rot.len() + outbox.rig.len() + outbox.commands.len() + 1);
    let mut refused = Vec::new();
    let mut push = |topic: Topic, message: Message| match talos_link::publication(&topic, &message) {
        Ok(p) => out.push(p),
        Err(reject) => refused.push(Refused { topic: topic.to_string(), reject }),
    };
    for sp in &outbox.rot {
        let points = sp.points.iter().map(|p| RotPoint { t_ms: p.t, az_deg: p.az_deg, el_deg: p.el_deg }).collect();
        push(
            Topic::cmd(sp.org, sp.station, CmdLeaf::Rot),
            Message::Rot(talos_link::RotSetpoint {
                seq: sp.seq,
                valid_until_ms: sp.valid_until,
                lease_epoch: sp.lease_epoch,
                norad_id: sp.norad_id,
                points,
            }),
        );
    }
    for sp in &outbox.rig {
        let points: Vec<RigPoint> = sp
            .points
            .iter()
            .filter(|(_, down, up)| down.is_some() || up.is_some())
            .map(|&(t_ms, downlink_hz, uplink_hz)| RigPoint { t_ms, downlink_hz, uplink_hz })
            .collect();
        if points.is_empty() {
            continue;
        }
        push(
            Topic::cmd(sp.org, sp.station, CmdLeaf::Rig),
            Message::Rig(talos_link::RigSetpoint {
                seq: sp.seq,
                valid_until_ms: sp.valid_until,
                lease_epoch: sp.lease_epoch,
                norad_id: sp.norad_id,
                mode: hamlib_mode(&sp.mode).to_owned(),
                points,
                driver: None,
            }),
        );
    }
    let t = outbox.summary.t;
    for (i, c) in outbox.commands.iter().enumerate() {
        // Unique per director, tick and command: a QoS 1 duplicate carries the same id.
        let correlation_id = format!("{director_id}:{}:{i}", t.0);
        let topic = Topic::cmd(c.org, c.station, CmdLeaf::Session);
        let message = match &c.kind {
            StationCommandKind::SessionStart { assignment, norad_id, aos } => Message::Session(SessionCommand {
                correlation_id,
                lease_epoch,
                assignment_id: *assignment,
                norad_id: *norad_id,
                action: SessionAction::Start { aos_ms: *aos, los_ms: None },
            }),
            StationCommandKind::SessionStop { assignment, norad_id, los, .. } => Message::Session(SessionCommand {
                correlation_id,
                lease_epoch,
                assignment_id: *assignment,
                norad_id: *norad_id,
                action: SessionAction::Stop { los_ms: *los },
            }),
            StationCommandKind::Park { az_deg, el_deg } => Message::Park(ParkCommand {
                correlation_id,
                lease_epoch,
                action: ParkAction::Park { az_deg: *az_deg, el_deg: *el_deg },
            }),
        };
        push(topic, message);
    }
    push(Topic::Heartbeat, heartbeat(director_id, lease_epoch, t, outbox.summary.tick));
    (out, refused)
}

/// Logs each publication talos-link refused (a bug or a bad stored value: never silent).
pub fn log_refused(refused: &[Refused]) {
    for r in refused {
        tracing::error!(topic = %r.topic, "publication refused by talos-link: {}", r.reject);
    }
}

/// The retained `talos.config.v1` of each station: limits, park and slew rates from the
/// store, versioned by the row's `updated_at` (so any edit is a newer config). A station
/// whose values the contract refuses is left out and named in the second list.
pub fn station_configs(stations: &[talos_store::Station]) -> (Vec<Publication>, Vec<Refused>) {
    let mut out = Vec::with_capacity(stations.len());
    let mut refused = Vec::new();
    for s in stations {
        let c = &s.settings;
        let config = talos_link::StationConfig::new(
            s.updated_at.0.max(1) as u64,
            talos_link::RotatorLimits {
                az_min_deg: c.az_min_deg,
                az_max_deg: c.az_max_deg,
                el_min_deg: c.el_min_deg,
                el_max_deg: c.el_max_deg,
            },
            talos_link::Pointing { az_deg: c.park_az_deg, el_deg: c.park_el_deg },
            talos_link::SlewRates { az_deg_s: c.az_slew_deg_s, el_deg_s: c.el_slew_deg_s },
        );
        let topic = Topic::cmd(s.org, s.id, CmdLeaf::Config);
        match talos_link::publication(&topic, &Message::Config(config)) {
            Ok(p) => out.push(p),
            Err(reject) => refused.push(Refused { topic: topic.to_string(), reject }),
        }
    }
    (out, refused)
}

fn heartbeat(director_id: &str, lease_epoch: u64, t: UnixMs, tick: u64) -> Message {
    Message::Heartbeat(Heartbeat { director_id: director_id.to_owned(), lease_epoch, t_ms: t, tick })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn satnogs_modes_map_to_hamlib_names() {
        assert_eq!(hamlib_mode("FM"), "FM");
        assert_eq!(hamlib_mode("AFSK"), "FM");
        assert_eq!(hamlib_mode("GMSK"), "FM");
        assert_eq!(hamlib_mode("cw"), "CW");
        assert_eq!(hamlib_mode("BPSK"), "USB");
        assert_eq!(hamlib_mode("LSB"), "LSB");
        assert_eq!(hamlib_mode(""), "FM");
    }
}

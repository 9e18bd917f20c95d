//! Feeds arbitrary topic + payload bytes to `talos_link::decode`, the first parser every
//! MQTT message meets in the agent and the director. Checked: no panic, no hang, no
//! unbounded allocation; and whatever is accepted is valid, re-encodes canonically (the
//! encoding decodes to the same message and encodes to the same bytes again) and can go
//! through the setpoint gate.
//!
//! Input layout: the first byte picks the topic. 0..=7 pick one of the eight TALOS topic
//! kinds (so most inputs reach the payload parser); anything else takes the topic from the
//! bytes up to the first newline. The rest is the payload.

#![no_main]

use libfuzzer_sys::fuzz_target;
use talos_core::{OrgId, StationId, UnixMs};
use talos_link::{CmdLeaf, SetpointGate, StateLeaf, Topic, decode, encode, validate};

fn topic_for(selector: u8) -> Option<Topic> {
    let (org, station) = (OrgId(1), StationId(7));
    match selector {
        0..=3 => Some(Topic::cmd(org, station, CmdLeaf::ALL[usize::from(selector)])),
        4..=6 => Some(Topic::state(org, station, StateLeaf::ALL[usize::from(selector - 4)])),
        7 => Some(Topic::Heartbeat),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let (topic, payload) = match topic_for(selector) {
        Some(t) => (t.to_string(), rest),
        None => match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (String::from_utf8_lossy(&rest[..i]).into_owned(), &rest[i + 1..]),
            None => (String::from_utf8_lossy(rest).into_owned(), &[][..]),
        },
    };
    let Ok(message) = decode(&topic, payload) else { return };
    assert_eq!(validate(&message), Ok(()));
    let encoded = encode(&message);
    let again = decode(&topic, &encoded).expect("an accepted message re-encodes to an accepted payload");
    assert_eq!(again, message);
    assert_eq!(encode(&again), encoded);
    let mut gate = SetpointGate::new();
    let _ = gate.admit(&message, UnixMs(0));
    let _ = gate.admit(&message, UnixMs(i64::MAX));
});

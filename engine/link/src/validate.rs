//! The value ranges of the contract. [`crate::decode`] runs these on every message it
//! accepts and [`crate::publication`] on every message it sends.
//!
//! Ranges are the wire's, not a station's: azimuth -360..=720 covers every rotator's
//! overlap range and elevation -90..=90 every mount; the agent then applies its own
//! configured limits.

use std::fmt::Display;

use talos_core::UnixMs;

use crate::message::Message;
use crate::payload::{
    DriverPayload, Heartbeat, MAX_DRIVER_BYTES, MAX_POINTS, MAX_WIRE_INT, ParkAction, ParkCommand, Pointing, RigPoint,
    RigSetpoint, RigState, RotPoint, RotSetpoint, RotState, SessionAction, SessionCommand, StationConfig, StatusReport,
};
use crate::reject::Reject;
use crate::topic::echo;

pub const AZ_MIN_DEG: f64 = -360.0;
pub const AZ_MAX_DEG: f64 = 720.0;
pub const EL_MIN_DEG: f64 = -90.0;
pub const EL_MAX_DEG: f64 = 90.0;
/// Lowest frequency on the wire (1 Hz).
pub const FREQ_MIN_HZ: f64 = 1.0;
/// Highest frequency on the wire (300 GHz, the top of EHF).
pub const FREQ_MAX_HZ: f64 = 300e9;
/// Fastest slew rate a config may declare.
pub const SLEW_MAX_DEG_S: f64 = 360.0;
/// Longest token (`correlation_id`, `director_id`, `agent_version`, `plugin`).
pub const MAX_TOKEN_LEN: usize = 64;
/// Longest free text (`reason`, `fault`), in bytes.
pub const MAX_TEXT_LEN: usize = 256;
/// Longest mode name.
pub const MAX_MODE_LEN: usize = 16;
/// Dead-man bounds a config may set, in ms.
pub const DEAD_MAN_MS_RANGE: (u64, u64) = (1_000, 60_000);
/// Heartbeat-timeout bounds a config may set, in ms.
pub const HEARTBEAT_TIMEOUT_MS_RANGE: (u64, u64) = (1_000, 600_000);

/// Checks every value of `message` against the contract's ranges.
pub fn validate(message: &Message) -> Result<(), Reject> {
    match message {
        Message::Rot(m) => rot(m),
        Message::Rig(m) => rig(m),
        Message::Session(m) => session(m),
        Message::Park(m) => park(m),
        Message::Config(m) => config(m),
        Message::Status(m) => status(m),
        Message::RotState(m) => rot_state(m),
        Message::RigState(m) => rig_state(m),
        Message::Heartbeat(m) => heartbeat(m),
    }
}

/// A value outside its range, before the field it belongs to is named.
struct Bad {
    value: String,
    expected: &'static str,
}

trait At {
    /// Names the field of a failed check (lazily: the name is only built on failure).
    fn at(self, field: impl FnOnce() -> String) -> Result<(), Reject>;
}

impl At for Result<(), Bad> {
    fn at(self, field: impl FnOnce() -> String) -> Result<(), Reject> {
        self.map_err(|b| Reject::OutOfRange { field: field(), value: b.value, expected: b.expected })
    }
}

fn name(s: &'static str) -> impl FnOnce() -> String {
    move || s.to_owned()
}

fn bad(value: impl Display, expected: &'static str) -> Bad {
    Bad { value: value.to_string(), expected }
}

fn check(ok: bool, value: impl Display, expected: &'static str) -> Result<(), Bad> {
    if ok { Ok(()) } else { Err(bad(value, expected)) }
}

fn az(v: f64) -> Result<(), Bad> {
    check((AZ_MIN_DEG..=AZ_MAX_DEG).contains(&v), v, "a finite azimuth in -360..=720 deg")
}

fn el(v: f64) -> Result<(), Bad> {
    check((EL_MIN_DEG..=EL_MAX_DEG).contains(&v), v, "a finite elevation in -90..=90 deg")
}

fn freq(v: f64) -> Result<(), Bad> {
    check((FREQ_MIN_HZ..=FREQ_MAX_HZ).contains(&v), v, "a finite frequency in 1..=300e9 Hz")
}

fn time(t: UnixMs) -> Result<(), Bad> {
    check((0..=MAX_WIRE_INT as i64).contains(&t.0), t.0, "ms since the Unix epoch in 0..=2^53-1")
}

/// Counters and ids that start at 1 (`seq`, `version`, ids).
fn positive(v: u64) -> Result<(), Bad> {
    check((1..=MAX_WIRE_INT).contains(&v), v, "an integer in 1..=2^53-1")
}

/// Counters that may be 0 (`lease_epoch`, `tick`).
fn counter(v: u64) -> Result<(), Bad> {
    check(v <= MAX_WIRE_INT, v, "an integer in 0..=2^53-1")
}

/// Ids and versions: 1..=64 bytes of `[A-Za-z0-9._:@+-]`.
fn token(s: &str) -> Result<(), Bad> {
    let ok = !s.is_empty()
        && s.len() <= MAX_TOKEN_LEN
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:@+-".contains(&b));
    check(ok, format_args!("{:?}", echo(s)), "1..=64 characters of [A-Za-z0-9._:@+-]")
}

/// Text for people: 1..=256 bytes, no control characters.
fn text(s: &str) -> Result<(), Bad> {
    let ok = !s.is_empty() && s.len() <= MAX_TEXT_LEN && !s.chars().any(char::is_control);
    check(ok, format_args!("{:?}", echo(s)), "1..=256 bytes of text without control characters")
}

fn mode(s: &str) -> Result<(), Bad> {
    let ok =
        !s.is_empty() && s.len() <= MAX_MODE_LEN && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    check(ok, format_args!("{:?}", echo(s)), "a Hamlib mode: 1..=16 characters of [A-Z0-9]")
}

fn optional<T: Copy>(v: Option<T>, f: impl FnOnce(T) -> Result<(), Bad>) -> Result<(), Bad> {
    v.map_or(Ok(()), f)
}

fn pointing(prefix: &'static str, p: &Pointing) -> Result<(), Reject> {
    az(p.az_deg).at(|| format!("{prefix}.az_deg"))?;
    el(p.el_deg).at(|| format!("{prefix}.el_deg"))
}

/// 1..=16 points with strictly increasing times.
fn trajectory<P>(points: &[P], t_ms: impl Fn(&P) -> UnixMs) -> Result<(), Reject> {
    check((1..=MAX_POINTS).contains(&points.len()), points.len(), "1..=16 points").at(name("points"))?;
    let mut previous: Option<UnixMs> = None;
    for (i, p) in points.iter().enumerate() {
        let t = t_ms(p);
        time(t).at(|| format!("points[{i}].t_ms"))?;
        if let Some(prev) = previous {
            check(t > prev, t.0, "a t_ms after the previous point's").at(|| format!("points[{i}].t_ms"))?;
        }
        previous = Some(t);
    }
    Ok(())
}

fn setpoint_header(seq: u64, valid_until_ms: UnixMs, lease_epoch: u64) -> Result<(), Reject> {
    positive(seq).at(name("seq"))?;
    time(valid_until_ms).at(name("valid_until_ms"))?;
    counter(lease_epoch).at(name("lease_epoch"))
}

fn rot(m: &RotSetpoint) -> Result<(), Reject> {
    setpoint_header(m.seq, m.valid_until_ms, m.lease_epoch)?;
    trajectory(&m.points, |p: &RotPoint| p.t_ms)?;
    for (i, p) in m.points.iter().enumerate() {
        az(p.az_deg).at(|| format!("points[{i}].az_deg"))?;
        el(p.el_deg).at(|| format!("points[{i}].el_deg"))?;
    }
    Ok(())
}

fn rig(m: &RigSetpoint) -> Result<(), Reject> {
    setpoint_header(m.seq, m.valid_until_ms, m.lease_epoch)?;
    mode(&m.mode).at(name("mode"))?;
    trajectory(&m.points, |p: &RigPoint| p.t_ms)?;
    for (i, p) in m.points.iter().enumerate() {
        check(p.downlink_hz.is_some() || p.uplink_hz.is_some(), "{}", "downlink_hz, uplink_hz or both")
            .at(|| format!("points[{i}]"))?;
        optional(p.downlink_hz, freq).at(|| format!("points[{i}].downlink_hz"))?;
        optional(p.uplink_hz, freq).at(|| format!("points[{i}].uplink_hz"))?;
    }
    if let Some(d) = &m.driver {
        driver(d)?;
    }
    Ok(())
}

fn driver(d: &DriverPayload) -> Result<(), Reject> {
    token(&d.plugin).at(name("driver.plugin"))?;
    check(d.bytes.len() <= MAX_DRIVER_BYTES, format_args!("{} bytes", d.bytes.len()), "at most 4096 bytes")
        .at(name("driver.bytes_b64"))
}

fn session(m: &SessionCommand) -> Result<(), Reject> {
    token(&m.correlation_id).at(name("correlation_id"))?;
    counter(m.lease_epoch).at(name("lease_epoch"))?;
    positive(m.assignment_id.0).at(name("assignment_id"))?;
    match m.action {
        SessionAction::Start { aos_ms, los_ms } => {
            time(aos_ms).at(name("aos_ms"))?;
            if let Some(los) = los_ms {
                time(los).at(name("los_ms"))?;
                check(los > aos_ms, los.0, "a los_ms after aos_ms").at(name("los_ms"))?;
            }
            Ok(())
        }
        SessionAction::Stop { los_ms } => time(los_ms).at(name("los_ms")),
    }
}

fn park(m: &ParkCommand) -> Result<(), Reject> {
    token(&m.correlation_id).at(name("correlation_id"))?;
    counter(m.lease_epoch).at(name("lease_epoch"))?;
    match m.action {
        ParkAction::Park { az_deg, el_deg } => {
            az(az_deg).at(name("az_deg"))?;
            el(el_deg).at(name("el_deg"))
        }
        ParkAction::Stop => Ok(()),
    }
}

fn config(m: &StationConfig) -> Result<(), Reject> {
    positive(m.version).at(name("version"))?;
    let l = &m.limits;
    az(l.az_min_deg).at(name("limits.az_min_deg"))?;
    az(l.az_max_deg).at(name("limits.az_max_deg"))?;
    el(l.el_min_deg).at(name("limits.el_min_deg"))?;
    el(l.el_max_deg).at(name("limits.el_max_deg"))?;
    check(l.az_max_deg > l.az_min_deg, l.az_max_deg, "greater than limits.az_min_deg").at(name("limits.az_max_deg"))?;
    check(l.el_max_deg > l.el_min_deg, l.el_max_deg, "greater than limits.el_min_deg").at(name("limits.el_max_deg"))?;
    pointing("park", &m.park)?;
    check((l.az_min_deg..=l.az_max_deg).contains(&m.park.az_deg), m.park.az_deg, "inside limits.az_*_deg")
        .at(name("park.az_deg"))?;
    check((l.el_min_deg..=l.el_max_deg).contains(&m.park.el_deg), m.park.el_deg, "inside limits.el_*_deg")
        .at(name("park.el_deg"))?;
    let slew_ok = |v: f64| v > 0.0 && v <= SLEW_MAX_DEG_S;
    check(slew_ok(m.slew.az_deg_s), m.slew.az_deg_s, "a slew rate in (0, 360] deg/s").at(name("slew.az_deg_s"))?;
    check(slew_ok(m.slew.el_deg_s), m.slew.el_deg_s, "a slew rate in (0, 360] deg/s").at(name("slew.el_deg_s"))?;
    let (lo, hi) = DEAD_MAN_MS_RANGE;
    check((lo..=hi).contains(&m.dead_man_ms), m.dead_man_ms, "1000..=60000 ms").at(name("dead_man_ms"))?;
    let (lo, hi) = HEARTBEAT_TIMEOUT_MS_RANGE;
    check((lo..=hi).contains(&m.heartbeat_timeout_ms), m.heartbeat_timeout_ms, "1000..=600000 ms")
        .at(name("heartbeat_timeout_ms"))
}

fn status(m: &StatusReport) -> Result<(), Reject> {
    token(&m.agent_version).at(name("agent_version"))?;
    if let Some(r) = &m.reason {
        text(r).at(name("reason"))?;
    }
    optional(m.config_version, positive).at(name("config_version"))?;
    if let Some(t) = &m.rejects {
        for (field, n) in [
            ("rejects.bad_topic", t.bad_topic),
            ("rejects.oversize", t.oversize),
            ("rejects.malformed", t.malformed),
            ("rejects.unknown_schema", t.unknown_schema),
            ("rejects.wrong_topic", t.wrong_topic),
            ("rejects.out_of_range", t.out_of_range),
            ("rejects.stale", t.stale),
            ("rejects.out_of_order", t.out_of_order),
            ("rejects.old_epoch", t.old_epoch),
        ] {
            counter(n).at(name(field))?;
        }
    }
    Ok(())
}

fn rot_state(m: &RotState) -> Result<(), Reject> {
    time(m.t_ms).at(name("t_ms"))?;
    if let Some(p) = &m.reported {
        pointing("reported", p)?;
    }
    if let Some(p) = &m.commanded {
        pointing("commanded", p)?;
    }
    optional(m.applied_seq, positive).at(name("applied_seq"))?;
    if let Some(f) = &m.fault {
        text(f).at(name("fault"))?;
    }
    Ok(())
}

fn rig_state(m: &RigState) -> Result<(), Reject> {
    time(m.t_ms).at(name("t_ms"))?;
    optional(m.frequency_hz, freq).at(name("frequency_hz"))?;
    optional(m.commanded_downlink_hz, freq).at(name("commanded_downlink_hz"))?;
    optional(m.commanded_uplink_hz, freq).at(name("commanded_uplink_hz"))?;
    if let Some(s) = &m.mode {
        mode(s).at(name("mode"))?;
    }
    optional(m.applied_seq, positive).at(name("applied_seq"))?;
    if let Some(f) = &m.fault {
        text(f).at(name("fault"))?;
    }
    Ok(())
}

fn heartbeat(m: &Heartbeat) -> Result<(), Reject> {
    token(&m.director_id).at(name("director_id"))?;
    counter(m.lease_epoch).at(name("lease_epoch"))?;
    time(m.t_ms).at(name("t_ms"))?;
    counter(m.tick).at(name("tick"))
}

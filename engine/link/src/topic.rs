//! MQTT topic names: builders, the parser, subscription filters and broker ACL rules.
//!
//! Every topic is org-scoped with the station id in it, so a broker ACL can confine a
//! station's credentials to its own subtree:
//!
//! ```text
//! talos/v1/{org}/{station}/cmd/{rot|rig|session|config}     director -> agent
//! talos/v1/{org}/{station}/state/{rot|rig|status}           agent -> director
//! talos/v1/director/heartbeat                               director -> every agent
//! ```
//!
//! Ids are written in canonical decimal (no sign, no leading zero, never 0), so that one
//! topic has exactly one spelling: broker ACLs match strings, not numbers.

use std::fmt;
use std::str::FromStr;

use talos_core::{OrgId, StationId};

/// First level of every TALOS topic.
pub const ROOT: &str = "talos";
/// Second level: the version of the topic layout (not of the payloads, which carry `schema`).
pub const VERSION: &str = "v1";
/// The director's heartbeat topic.
pub const HEARTBEAT_TOPIC: &str = "talos/v1/director/heartbeat";

/// A command leaf under `talos/v1/{org}/{station}/cmd/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CmdLeaf {
    /// Rotator setpoints (`talos.rot.v1`).
    Rot,
    /// Radio setpoints (`talos.rig.v1`).
    Rig,
    /// Session start/stop (`talos.session.v1`) and park/stop (`talos.park.v1`).
    Session,
    /// The station's configuration (`talos.config.v1`, retained).
    Config,
}

/// A state leaf under `talos/v1/{org}/{station}/state/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StateLeaf {
    /// Rotator telemetry (`talos.rotstate.v1`).
    Rot,
    /// Radio telemetry (`talos.rigstate.v1`).
    Rig,
    /// Agent status and its Last Will (`talos.status.v1`, retained).
    Status,
}

impl CmdLeaf {
    pub const ALL: [CmdLeaf; 4] = [CmdLeaf::Rot, CmdLeaf::Rig, CmdLeaf::Session, CmdLeaf::Config];

    pub fn as_str(self) -> &'static str {
        match self {
            CmdLeaf::Rot => "rot",
            CmdLeaf::Rig => "rig",
            CmdLeaf::Session => "session",
            CmdLeaf::Config => "config",
        }
    }
}

impl StateLeaf {
    pub const ALL: [StateLeaf; 3] = [StateLeaf::Rot, StateLeaf::Rig, StateLeaf::Status];

    pub fn as_str(self) -> &'static str {
        match self {
            StateLeaf::Rot => "rot",
            StateLeaf::Rig => "rig",
            StateLeaf::Status => "status",
        }
    }
}

/// One concrete TALOS topic (never a filter: no wildcards).
///
/// `Display` writes the topic string, [`Topic::parse`] (or `str::parse`) reads it back;
/// the two are exact inverses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// `talos/v1/{org}/{station}/cmd/{leaf}`: the director commands one station.
    Cmd { org: OrgId, station: StationId, leaf: CmdLeaf },
    /// `talos/v1/{org}/{station}/state/{leaf}`: one station reports.
    State { org: OrgId, station: StationId, leaf: StateLeaf },
    /// `talos/v1/director/heartbeat`.
    Heartbeat,
}

/// Why a string is not a TALOS topic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    /// Empty, or longer than [`MAX_TOPIC_LEN`].
    #[error("topic length {len} is outside 1..={MAX_TOPIC_LEN}")]
    Length { len: usize },
    /// Contains `+` or `#`: a filter, not a topic a message can be published on.
    #[error("topic contains the wildcard '{0}'")]
    Wildcard(char),
    /// The first level is not `talos`.
    #[error("topic does not start with 'talos/': first level is {0:?}")]
    WrongPrefix(String),
    /// The second level is not `v1`.
    #[error("topic version {0:?} is not supported (expected 'v1')")]
    WrongVersion(String),
    /// An org or station level that is not a canonical positive decimal u64.
    #[error("{level} id {value:?} is invalid: {reason}")]
    BadId { level: &'static str, value: String, reason: &'static str },
    /// A level that names no known topic (e.g. `cmd/antenna`, `telemetry/rot`, `director/foo`).
    #[error("unknown topic level {0:?}")]
    UnknownLeaf(String),
    /// Too many or too few levels for the kind of topic.
    #[error("topic has {found} levels, expected {expected}")]
    Levels { found: usize, expected: usize },
}

/// Longest topic accepted by the parser; real ones are under 64 bytes.
pub const MAX_TOPIC_LEN: usize = 256;

/// At most this many characters of untrusted input are kept in an error.
const MAX_ECHO: usize = 64;

pub(crate) fn echo(s: &str) -> String {
    match s.char_indices().nth(MAX_ECHO) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s.to_owned(),
    }
}

impl Topic {
    /// `talos/v1/{org}/{station}/cmd/{leaf}`.
    pub fn cmd(org: OrgId, station: StationId, leaf: CmdLeaf) -> Self {
        Topic::Cmd { org, station, leaf }
    }

    /// `talos/v1/{org}/{station}/state/{leaf}`.
    pub fn state(org: OrgId, station: StationId, leaf: StateLeaf) -> Self {
        Topic::State { org, station, leaf }
    }

    /// The org and station a per-station topic belongs to; `None` for the heartbeat.
    pub fn station(&self) -> Option<(OrgId, StationId)> {
        match *self {
            Topic::Cmd { org, station, .. } | Topic::State { org, station, .. } => Some((org, station)),
            Topic::Heartbeat => None,
        }
    }

    /// Parses a concrete topic; anything but the exact TALOS layout is an error.
    pub fn parse(topic: &str) -> Result<Self, TopicError> {
        if topic.is_empty() || topic.len() > MAX_TOPIC_LEN {
            return Err(TopicError::Length { len: topic.len() });
        }
        if let Some(w) = topic.chars().find(|c| matches!(c, '+' | '#')) {
            return Err(TopicError::Wildcard(w));
        }
        let levels: Vec<&str> = topic.split('/').collect();
        if levels[0] != ROOT {
            return Err(TopicError::WrongPrefix(echo(levels[0])));
        }
        match levels.get(1) {
            Some(&VERSION) => {}
            Some(v) => return Err(TopicError::WrongVersion(echo(v))),
            None => return Err(TopicError::Levels { found: levels.len(), expected: 6 }),
        }
        if levels.get(2) == Some(&"director") {
            return match levels.get(3) {
                Some(&"heartbeat") if levels.len() == 4 => Ok(Topic::Heartbeat),
                Some(&"heartbeat") => Err(TopicError::Levels { found: levels.len(), expected: 4 }),
                Some(other) => Err(TopicError::UnknownLeaf(echo(other))),
                None => Err(TopicError::Levels { found: levels.len(), expected: 4 }),
            };
        }
        if levels.len() != 6 {
            return Err(TopicError::Levels { found: levels.len(), expected: 6 });
        }
        let org = OrgId(parse_id("org", levels[2])?);
        let station = StationId(parse_id("station", levels[3])?);
        match (levels[4], levels[5]) {
            ("cmd", leaf) => CmdLeaf::ALL
                .into_iter()
                .find(|l| l.as_str() == leaf)
                .map(|leaf| Topic::Cmd { org, station, leaf })
                .ok_or_else(|| TopicError::UnknownLeaf(echo(leaf))),
            ("state", leaf) => StateLeaf::ALL
                .into_iter()
                .find(|l| l.as_str() == leaf)
                .map(|leaf| Topic::State { org, station, leaf })
                .ok_or_else(|| TopicError::UnknownLeaf(echo(leaf))),
            (kind, _) => Err(TopicError::UnknownLeaf(echo(kind))),
        }
    }
}

/// A canonical positive decimal: `[1-9][0-9]*`, fitting in u64.
fn parse_id(level: &'static str, value: &str) -> Result<u64, TopicError> {
    let bad = |reason| TopicError::BadId { level, value: echo(value), reason };
    if value.is_empty() {
        return Err(bad("empty"));
    }
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("not a decimal number"));
    }
    if value == "0" {
        return Err(bad("ids start at 1"));
    }
    if value.starts_with('0') {
        return Err(bad("leading zero (ids are written in canonical decimal)"));
    }
    value.parse().map_err(|_| bad("larger than a u64"))
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topic::Cmd { org, station, leaf } => write!(f, "{ROOT}/{VERSION}/{org}/{station}/cmd/{}", leaf.as_str()),
            Topic::State { org, station, leaf } => {
                write!(f, "{ROOT}/{VERSION}/{org}/{station}/state/{}", leaf.as_str())
            }
            Topic::Heartbeat => f.write_str(HEARTBEAT_TOPIC),
        }
    }
}

impl FromStr for Topic {
    type Err = TopicError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Topic::parse(s)
    }
}

/// The filters a station's agent subscribes to: its own commands (config arrives retained)
/// and the director heartbeat.
pub fn agent_subscriptions(org: OrgId, station: StationId) -> [String; 2] {
    [format!("{ROOT}/{VERSION}/{org}/{station}/cmd/#"), HEARTBEAT_TOPIC.to_owned()]
}

/// The filter the director subscribes to: every station's state, all orgs.
pub fn director_subscriptions() -> [String; 1] {
    [format!("{ROOT}/{VERSION}/+/+/state/#")]
}

/// What an ACL rule lets a client do on the topics its pattern matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Subscribe and receive.
    Read,
    /// Publish (including a Last Will).
    Write,
}

/// One broker ACL rule. `Display` writes it as a Mosquitto `acl_file` line
/// (`topic read talos/v1/1/7/cmd/#`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclRule {
    pub access: Access,
    /// An MQTT topic filter (may hold `+` and `#`).
    pub pattern: String,
}

impl fmt::Display for AclRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let access = match self.access {
            Access::Read => "read",
            Access::Write => "write",
        };
        write!(f, "topic {access} {}", self.pattern)
    }
}

/// Everything a station's credentials may touch: read its own commands, write its own state
/// (status and Last Will included), read the heartbeat. Nothing of any other station.
pub fn station_acl(org: OrgId, station: StationId) -> Vec<AclRule> {
    vec![
        AclRule { access: Access::Read, pattern: format!("{ROOT}/{VERSION}/{org}/{station}/cmd/#") },
        AclRule { access: Access::Write, pattern: format!("{ROOT}/{VERSION}/{org}/{station}/state/#") },
        AclRule { access: Access::Read, pattern: HEARTBEAT_TOPIC.to_owned() },
    ]
}

/// Everything the director's credentials may touch: write every station's commands and the
/// heartbeat, read every station's state.
pub fn director_acl() -> Vec<AclRule> {
    vec![
        AclRule { access: Access::Write, pattern: format!("{ROOT}/{VERSION}/+/+/cmd/#") },
        AclRule { access: Access::Read, pattern: format!("{ROOT}/{VERSION}/+/+/state/#") },
        AclRule { access: Access::Write, pattern: HEARTBEAT_TOPIC.to_owned() },
    ]
}

/// The MQTT username of the director's credentials (the ACL rules of [`director_acl`]).
pub const DIRECTOR_USERNAME: &str = "talos-director";

/// The MQTT username of a station's agent: `station-{org}-{station}`. The broker confines
/// it to [`station_acl`] for the same ids; the embedded broker checks the pair too.
pub fn station_username(org: OrgId, station: StationId) -> String {
    format!("station-{org}-{station}")
}

/// The ids in a username written by [`station_username`], or `None` for any other name
/// (canonical decimal only, as in topics).
pub fn parse_station_username(username: &str) -> Option<(OrgId, StationId)> {
    let rest = username.strip_prefix("station-")?;
    let (org, station) = rest.split_once('-')?;
    Some((OrgId(parse_id("org", org).ok()?), StationId(parse_id("station", station).ok()?)))
}

/// Whether an MQTT filter matches a concrete topic (MQTT 3.1.1 §4.7 rules, without the
/// `$`-topic exception, which TALOS topics never need). Used to check the filters and ACL
/// rules above against the topics they are meant to cover.
pub fn filter_matches(filter: &str, topic: &str) -> bool {
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(org: u64, station: u64) -> (OrgId, StationId) {
        (OrgId(org), StationId(station))
    }

    #[test]
    fn station_usernames_round_trip_and_only_canonical_ones_parse() {
        let (o, s) = st(3, 1207);
        assert_eq!(station_username(o, s), "station-3-1207");
        assert_eq!(parse_station_username("station-3-1207"), Some((o, s)));
        for bad in [
            "station-03-1207",
            "station-3-",
            "station--1",
            "station-3-1207-1",
            "talos-director",
            "station-0-1",
            "station-+3-1",
        ] {
            assert_eq!(parse_station_username(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_topic_round_trips_through_its_string() {
        let (o, s) = st(3, 1207);
        let mut all: Vec<Topic> = CmdLeaf::ALL.into_iter().map(|l| Topic::cmd(o, s, l)).collect();
        all.extend(StateLeaf::ALL.into_iter().map(|l| Topic::state(o, s, l)));
        all.push(Topic::Heartbeat);
        for t in all {
            assert_eq!(Topic::parse(&t.to_string()), Ok(t), "{t}");
        }
        assert_eq!(Topic::cmd(o, s, CmdLeaf::Rot).to_string(), "talos/v1/3/1207/cmd/rot");
        assert_eq!(Topic::state(o, s, StateLeaf::Status).to_string(), "talos/v1/3/1207/state/status");
    }

    #[test]
    fn rejects_wrong_prefix_and_version() {
        assert!(matches!(Topic::parse("tal0s/v1/1/2/cmd/rot"), Err(TopicError::WrongPrefix(_))));
        assert!(matches!(Topic::parse("/talos/v1/1/2/cmd/rot"), Err(TopicError::WrongPrefix(_))));
        assert!(matches!(Topic::parse("talos/v2/1/2/cmd/rot"), Err(TopicError::WrongVersion(v)) if v == "v2"));
        assert!(matches!(Topic::parse("talos"), Err(TopicError::Levels { .. })));
        assert!(matches!(Topic::parse(""), Err(TopicError::Length { len: 0 })));
        assert!(matches!(Topic::parse(&"a".repeat(300)), Err(TopicError::Length { len: 300 })));
    }

    #[test]
    fn rejects_non_numeric_zero_and_non_canonical_ids() {
        for (topic, level) in [
            ("talos/v1/acme/2/cmd/rot", "org"),
            ("talos/v1/1/x2/cmd/rot", "station"),
            ("talos/v1/0/2/cmd/rot", "org"),
            ("talos/v1/1/0/cmd/rot", "station"),
            ("talos/v1/1/007/cmd/rot", "station"),
            ("talos/v1/-1/2/cmd/rot", "org"),
            ("talos/v1/1/ 2/cmd/rot", "station"),
            ("talos/v1//2/cmd/rot", "org"),
            ("talos/v1/1/99999999999999999999/cmd/rot", "station"),
        ] {
            match Topic::parse(topic) {
                Err(TopicError::BadId { level: l, .. }) => assert_eq!(l, level, "{topic}"),
                other => panic!("{topic}: {other:?}"),
            }
        }
    }

    #[test]
    fn rejects_unknown_leaves_wildcards_and_extra_levels() {
        assert!(matches!(Topic::parse("talos/v1/1/2/cmd/antenna"), Err(TopicError::UnknownLeaf(l)) if l == "antenna"));
        assert!(matches!(Topic::parse("talos/v1/1/2/state/config"), Err(TopicError::UnknownLeaf(_))));
        assert!(matches!(Topic::parse("talos/v1/1/2/telemetry/rot"), Err(TopicError::UnknownLeaf(_))));
        assert!(matches!(Topic::parse("talos/v1/director/lease"), Err(TopicError::UnknownLeaf(_))));
        assert!(matches!(Topic::parse("talos/v1/1/2/cmd/+"), Err(TopicError::Wildcard('+'))));
        assert!(matches!(Topic::parse("talos/v1/1/2/cmd/#"), Err(TopicError::Wildcard('#'))));
        assert!(matches!(Topic::parse("talos/v1/1/2/cmd/rot/x"), Err(TopicError::Levels { found: 7, .. })));
        assert!(matches!(Topic::parse("talos/v1/1/2/cmd/rot/"), Err(TopicError::Levels { found: 7, .. })));
        assert!(matches!(Topic::parse("talos/v1/1/2/cmd"), Err(TopicError::Levels { found: 5, .. })));
        assert!(matches!(Topic::parse("talos/v1/director/heartbeat/x"), Err(TopicError::Levels { .. })));
    }

    #[test]
    fn long_garbage_is_truncated_in_the_error() {
        let topic = format!("talos/v1/1/2/cmd/{}", "x".repeat(200));
        let msg = Topic::parse(&topic).unwrap_err().to_string();
        assert!(msg.len() < 120, "{msg}");
    }

    #[test]
    fn agent_filters_cover_its_commands_and_the_heartbeat_only() {
        let (o, s) = st(3, 7);
        let subs = agent_subscriptions(o, s);
        let covered = |t: &Topic| subs.iter().any(|f| filter_matches(f, &t.to_string()));
        for leaf in CmdLeaf::ALL {
            assert!(covered(&Topic::cmd(o, s, leaf)));
            assert!(!covered(&Topic::cmd(o, StationId(8), leaf)));
            assert!(!covered(&Topic::cmd(OrgId(4), s, leaf)));
        }
        for leaf in StateLeaf::ALL {
            assert!(!covered(&Topic::state(o, s, leaf)));
        }
        assert!(covered(&Topic::Heartbeat));
    }

    #[test]
    fn director_filter_covers_every_state_and_no_command() {
        let [f] = director_subscriptions();
        for leaf in StateLeaf::ALL {
            assert!(filter_matches(&f, &Topic::state(OrgId(9), StationId(123), leaf).to_string()));
        }
        for leaf in CmdLeaf::ALL {
            assert!(!filter_matches(&f, &Topic::cmd(OrgId(9), StationId(123), leaf).to_string()));
        }
        assert!(!filter_matches(&f, HEARTBEAT_TOPIC));
    }

    #[test]
    fn station_acl_confines_a_station_to_its_own_subtree() {
        let (o, s) = st(3, 7);
        let acl = station_acl(o, s);
        let allowed = |access: Access, t: Topic| {
            acl.iter().any(|r| r.access == access && filter_matches(&r.pattern, &t.to_string()))
        };
        for leaf in CmdLeaf::ALL {
            assert!(allowed(Access::Read, Topic::cmd(o, s, leaf)));
            assert!(!allowed(Access::Write, Topic::cmd(o, s, leaf)));
            assert!(!allowed(Access::Read, Topic::cmd(o, StationId(70), leaf)));
        }
        for leaf in StateLeaf::ALL {
            assert!(allowed(Access::Write, Topic::state(o, s, leaf)));
            assert!(!allowed(Access::Write, Topic::state(o, StationId(70), leaf)));
            assert!(!allowed(Access::Write, Topic::state(OrgId(30), s, leaf)));
            assert!(!allowed(Access::Read, Topic::state(o, s, leaf)));
        }
        assert!(allowed(Access::Read, Topic::Heartbeat));
        assert!(!allowed(Access::Write, Topic::Heartbeat));
        assert_eq!(acl[0].to_string(), "topic read talos/v1/3/7/cmd/#");
        assert_eq!(acl[1].to_string(), "topic write talos/v1/3/7/state/#");
        assert_eq!(acl[2].to_string(), "topic read talos/v1/director/heartbeat");
    }

    #[test]
    fn director_acl_writes_commands_and_heartbeat_reads_state() {
        let acl = director_acl();
        let allowed = |access: Access, t: Topic| {
            acl.iter().any(|r| r.access == access && filter_matches(&r.pattern, &t.to_string()))
        };
        let (o, s) = st(12, 99);
        for leaf in CmdLeaf::ALL {
            assert!(allowed(Access::Write, Topic::cmd(o, s, leaf)));
        }
        for leaf in StateLeaf::ALL {
            assert!(allowed(Access::Read, Topic::state(o, s, leaf)));
            assert!(!allowed(Access::Write, Topic::state(o, s, leaf)));
        }
        assert!(allowed(Access::Write, Topic::Heartbeat));
    }

    #[test]
    fn filter_matching_follows_mqtt_rules() {
        assert!(filter_matches("a/#", "a"));
        assert!(filter_matches("a/#", "a/b/c"));
        assert!(filter_matches("a/+/c", "a/b/c"));
        assert!(!filter_matches("a/+/c", "a/b/d"));
        assert!(!filter_matches("a/+", "a/b/c"));
        assert!(!filter_matches("a/b", "a"));
    }
}

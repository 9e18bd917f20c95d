//! Why a message was refused, and the counters an agent or the director keeps of it.

use std::fmt;

use crate::message::Schema;
use crate::topic::TopicError;

/// A refused message. Every variant maps to one stable [`RejectReason`] (what counters and
/// metrics use); `Display` names the field and value for the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    /// The topic is not a TALOS topic.
    #[error("topic {topic:?} rejected: {error}")]
    BadTopic { topic: String, error: TopicError },
    /// The payload is larger than [`crate::MAX_PAYLOAD_BYTES`].
    #[error("payload of {len} bytes exceeds the {max}-byte cap")]
    Oversize { len: usize, max: usize },
    /// Not UTF-8, not JSON, not an object, no `schema`, a missing or unknown field, a value
    /// of the wrong type or one its type cannot hold (negative seq, NORAD id 0, bad base64).
    #[error("malformed payload: {detail}")]
    Malformed { detail: String },
    /// A `schema` this build does not know (e.g. `talos.rot.v2`).
    #[error("unknown schema {schema:?}")]
    UnknownSchema { schema: String },
    /// A known schema on a topic that does not carry it.
    #[error("schema {schema} does not belong on topic {topic}")]
    WrongTopic { schema: Schema, topic: String },
    /// A value the contract forbids: non-finite or out-of-range number, unsorted or too
    /// many points, bad token, time out of order within the message.
    #[error("{field} = {value} is out of range (expected {expected})")]
    OutOfRange { field: String, value: String, expected: &'static str },
    /// A setpoint whose `valid_until_ms` is not after now.
    #[error("stale setpoint: valid_until_ms = {valid_until_ms} is not after now = {now_ms}")]
    Stale { valid_until_ms: i64, now_ms: i64 },
    /// A setpoint whose `seq` is not after the last one accepted in the same lease epoch
    /// and stream (a duplicate, a reordering or a replay).
    #[error(
        "out-of-order setpoint: seq = {seq} is not after the last accepted seq {last_seq} (lease_epoch {lease_epoch})"
    )]
    OutOfOrder { seq: u64, last_seq: u64, lease_epoch: u64 },
    /// A command from a lease epoch older than the newest one seen: a fenced-off director.
    #[error("old lease: lease_epoch = {lease_epoch} is older than the current epoch {current}")]
    OldEpoch { lease_epoch: u64, current: u64 },
}

/// The stable name of a reject, for counters, metrics labels and log fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    BadTopic,
    Oversize,
    Malformed,
    UnknownSchema,
    WrongTopic,
    OutOfRange,
    Stale,
    OutOfOrder,
    OldEpoch,
}

impl RejectReason {
    pub const ALL: [RejectReason; 9] = [
        RejectReason::BadTopic,
        RejectReason::Oversize,
        RejectReason::Malformed,
        RejectReason::UnknownSchema,
        RejectReason::WrongTopic,
        RejectReason::OutOfRange,
        RejectReason::Stale,
        RejectReason::OutOfOrder,
        RejectReason::OldEpoch,
    ];

    /// `bad_topic`, `oversize`, `malformed`, `unknown_schema`, `wrong_topic`,
    /// `out_of_range`, `stale`, `out_of_order` or `old_epoch`. Never renamed.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::BadTopic => "bad_topic",
            RejectReason::Oversize => "oversize",
            RejectReason::Malformed => "malformed",
            RejectReason::UnknownSchema => "unknown_schema",
            RejectReason::WrongTopic => "wrong_topic",
            RejectReason::OutOfRange => "out_of_range",
            RejectReason::Stale => "stale",
            RejectReason::OutOfOrder => "out_of_order",
            RejectReason::OldEpoch => "old_epoch",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Reject {
    pub fn kind(&self) -> RejectReason {
        match self {
            Reject::BadTopic { .. } => RejectReason::BadTopic,
            Reject::Oversize { .. } => RejectReason::Oversize,
            Reject::Malformed { .. } => RejectReason::Malformed,
            Reject::UnknownSchema { .. } => RejectReason::UnknownSchema,
            Reject::WrongTopic { .. } => RejectReason::WrongTopic,
            Reject::OutOfRange { .. } => RejectReason::OutOfRange,
            Reject::Stale { .. } => RejectReason::Stale,
            Reject::OutOfOrder { .. } => RejectReason::OutOfOrder,
            Reject::OldEpoch { .. } => RejectReason::OldEpoch,
        }
    }

    /// The stable reason string (see [`RejectReason::as_str`]).
    pub fn reason(&self) -> &'static str {
        self.kind().as_str()
    }
}

/// Rejects counted by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RejectCounters {
    counts: [u64; RejectReason::ALL.len()],
}

impl RejectCounters {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one reject and returns its reason (handy for the log line).
    pub fn record(&mut self, reject: &Reject) -> RejectReason {
        let reason = reject.kind();
        self.counts[reason.index()] = self.counts[reason.index()].saturating_add(1);
        reason
    }

    pub fn get(&self, reason: RejectReason) -> u64 {
        self.counts[reason.index()]
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().fold(0u64, |a, &c| a.saturating_add(c))
    }

    /// Every reason with its count, zeros included, in [`RejectReason::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (RejectReason, u64)> + '_ {
        RejectReason::ALL.into_iter().map(|r| (r, self.get(r)))
    }
}

impl From<&RejectCounters> for crate::payload::RejectTally {
    fn from(c: &RejectCounters) -> Self {
        Self {
            bad_topic: c.get(RejectReason::BadTopic),
            oversize: c.get(RejectReason::Oversize),
            malformed: c.get(RejectReason::Malformed),
            unknown_schema: c.get(RejectReason::UnknownSchema),
            wrong_topic: c.get(RejectReason::WrongTopic),
            out_of_range: c.get(RejectReason::OutOfRange),
            stale: c.get(RejectReason::Stale),
            out_of_order: c.get(RejectReason::OutOfOrder),
            old_epoch: c.get(RejectReason::OldEpoch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_distinct_and_indexed_in_order() {
        for (i, r) in RejectReason::ALL.into_iter().enumerate() {
            assert_eq!(r.index(), i);
        }
        let mut names: Vec<_> = RejectReason::ALL.iter().map(|r| r.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), RejectReason::ALL.len());
    }

    #[test]
    fn counters_count_by_reason() {
        let mut c = RejectCounters::new();
        let stale = Reject::Stale { valid_until_ms: 1, now_ms: 2 };
        assert_eq!(c.record(&stale), RejectReason::Stale);
        c.record(&stale);
        c.record(&Reject::Oversize { len: 20_000, max: 16_384 });
        assert_eq!(c.get(RejectReason::Stale), 2);
        assert_eq!(c.get(RejectReason::Oversize), 1);
        assert_eq!(c.get(RejectReason::Malformed), 0);
        assert_eq!(c.total(), 3);
        let listed: Vec<_> = c.iter().filter(|(_, n)| *n > 0).map(|(r, n)| (r.as_str(), n)).collect();
        assert_eq!(listed, [("oversize", 1), ("stale", 2)]);
    }

    #[test]
    fn a_tally_names_each_count_by_its_reason() {
        let mut c = RejectCounters::new();
        c.record(&Reject::OldEpoch { lease_epoch: 1, current: 2 });
        c.record(&Reject::Malformed { detail: "x".into() });
        c.record(&Reject::Malformed { detail: "y".into() });
        let tally = crate::payload::RejectTally::from(&c);
        let json = serde_json::to_value(tally).unwrap();
        for (reason, count) in c.iter() {
            assert_eq!(json[reason.as_str()], count, "{reason}");
        }
    }
}

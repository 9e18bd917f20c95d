//! UTC time as integer milliseconds since the Unix epoch.
//!
//! Integer milliseconds keep the tick exactly reproducible (no float drift over a
//! long run) and match the wire contract (`valid_until` is ms since epoch).
//! Leap seconds are not represented, as in every Unix-time system; SGP4 epochs and
//! RFC 3339 input are UTC.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Milliseconds since 1970-01-01T00:00:00Z (UTC, no leap seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct UnixMs(pub i64);

/// Why a time could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Not an RFC 3339 timestamp (e.g. `2026-05-07T12:00:00Z`).
    #[error("'{input}' is not an RFC 3339 UTC time (expected e.g. 2026-05-07T12:00:00Z): {reason}")]
    NotRfc3339 { input: String, reason: String },
    /// Outside the range chrono can represent.
    #[error("time {0} ms since the Unix epoch is out of range")]
    OutOfRange(i64),
}

impl UnixMs {
    pub const MS_PER_SECOND: i64 = 1_000;

    /// Parses an RFC 3339 timestamp with any offset; the result is UTC.
    pub fn parse_rfc3339(input: &str) -> Result<Self, TimeError> {
        let parsed = DateTime::parse_from_rfc3339(input.trim())
            .map_err(|e| TimeError::NotRfc3339 { input: input.to_owned(), reason: e.to_string() })?;
        Ok(Self(parsed.timestamp_millis()))
    }

    /// Formats as RFC 3339 UTC with milliseconds: `2026-05-07T12:00:00.000Z`.
    pub fn to_rfc3339(self) -> String {
        match self.to_datetime() {
            Ok(dt) => dt.to_rfc3339_opts(SecondsFormat::Millis, true),
            Err(_) => format!("<invalid time {} ms>", self.0),
        }
    }

    pub fn to_datetime(self) -> Result<DateTime<Utc>, TimeError> {
        DateTime::from_timestamp_millis(self.0).ok_or(TimeError::OutOfRange(self.0))
    }

    /// Converts a naive UTC date-time (as element sets carry) to milliseconds, rounding
    /// sub-millisecond parts to the nearest millisecond.
    pub fn from_naive_utc(dt: &NaiveDateTime) -> Self {
        let utc = dt.and_utc();
        let micros = utc.timestamp_micros();
        Self((micros as f64 / 1000.0).round() as i64)
    }

    /// Seconds since the Unix epoch as a float (for physics, which works in seconds).
    pub fn as_seconds_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    pub fn plus_ms(self, ms: i64) -> Self {
        Self(self.0 + ms)
    }

    pub fn plus_seconds_f64(self, s: f64) -> Self {
        Self(self.0 + (s * 1000.0).round() as i64)
    }
}

impl fmt::Display for UnixMs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_with_milliseconds() {
        let t = UnixMs::parse_rfc3339("2026-05-07T12:34:56.789Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-05-07T12:34:56.789Z");
        let offset = UnixMs::parse_rfc3339("2026-05-07T14:34:56.789+02:00").unwrap();
        assert_eq!(offset, t);
    }

    #[test]
    fn bad_time_names_the_input() {
        let err = UnixMs::parse_rfc3339("yesterday").unwrap_err();
        assert!(err.to_string().contains("'yesterday'"), "{err}");
    }
}

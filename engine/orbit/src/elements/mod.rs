//! Element sets (mean orbital elements for SGP4) and the parsers for every format
//! operators receive them in: TLE (2- and 3-line, Alpha-5), CelesTrak OMM JSON,
//! CCSDS OMM XML 2.0 and CelesTrak OMM CSV. The format is detected from content.
//!
//! Parsing is per record: a bad record is reported with its line and field and the
//! rest of the file still loads.

mod error;
mod omm;
mod omm_csv;
mod omm_json;
mod omm_xml;
mod tle;

use std::fmt;

use chrono::NaiveDateTime;
use serde::Serialize;
use talos_core::NoradId;

pub use error::{CatalogError, ElementsError};
pub use omm_csv::parse_omm_csv;
pub use omm_json::parse_omm_json;
pub use omm_xml::parse_omm_xml;
pub use tle::{parse_tle, parse_tle_catalog};

/// The wire formats element sets arrive in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ElementFormat {
    /// Two-line elements, with or without a name line (3LE).
    Tle,
    /// CelesTrak OMM JSON (`gp.php?FORMAT=json`): an array of flat objects.
    OmmJson,
    /// CCSDS OMM XML 2.0 (`gp.php?FORMAT=xml`), one or many `<omm>` in an `<ndm>`.
    OmmXml,
    /// CelesTrak OMM CSV (`gp.php?FORMAT=csv`) with a header row.
    OmmCsv,
}

/// One set of SGP4 mean elements for one object, in TLE/OMM units.
///
/// Angles are degrees, mean motion is revolutions per day, the epoch is UTC.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ElementSet {
    pub norad_id: NoradId,
    /// Object name from the 3LE name line or OMM `OBJECT_NAME` (trimmed), if any.
    pub name: Option<String>,
    /// COSPAR id as written (e.g. `98067A` in a TLE, `1998-067A` in OMM), if any.
    pub international_designator: Option<String>,
    /// `U`, `C` or `S`.
    pub classification: char,
    /// Epoch, UTC.
    pub epoch: NaiveDateTime,
    /// First derivative of mean motion divided by two, rev/day^2 (TLE line 1 cols 34-43).
    pub mean_motion_dot: f64,
    /// Second derivative of mean motion divided by six, rev/day^3.
    pub mean_motion_ddot: f64,
    /// B* drag term, 1/earth radii.
    pub bstar: f64,
    pub inclination_deg: f64,
    pub raan_deg: f64,
    pub eccentricity: f64,
    pub arg_perigee_deg: f64,
    pub mean_anomaly_deg: f64,
    pub mean_motion_rev_per_day: f64,
    pub element_set_number: u32,
    pub rev_number: u32,
    /// The format this record was read from.
    pub format: ElementFormat,
}

/// The result of reading one catalog file: every element set that parsed and
/// validated, plus one entry per record that did not, so one bad record never
/// costs the operator the rest of the file.
#[derive(Debug, Clone)]
pub struct ParsedCatalog {
    pub format: ElementFormat,
    pub element_sets: Vec<ElementSet>,
    pub rejected: Vec<RejectedRecord>,
}

/// A record that was skipped, with where it is and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedRecord {
    /// Where the record is, 1-based. For TLE, OMM XML and OMM CSV this is the line of
    /// the record's first line (the name line of a 3LE, the `<omm>` tag, the CSV row).
    /// For OMM JSON it is the index of the record in the top-level array (a compact
    /// CelesTrak JSON file is a single line, so a line number would not help);
    /// [`Display`](fmt::Display) then says `record N` instead of `line N`.
    pub line: usize,
    /// The catalog number, when it could still be read from the broken record.
    pub norad_id: Option<NoradId>,
    pub error: ElementsError,
    /// The format of the file the record came from; decides whether `line` is a
    /// line number or a JSON record index.
    pub format: ElementFormat,
}

impl fmt::Display for RejectedRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = match self.format {
            ElementFormat::OmmJson => "record",
            ElementFormat::Tle | ElementFormat::OmmXml | ElementFormat::OmmCsv => "line",
        };
        write!(f, "{place} {}", self.line)?;
        if let Some(id) = self.norad_id {
            write!(f, " (NORAD {id})")?;
        }
        write!(f, ": {}", self.error)
    }
}

/// Guesses the format from the content alone (file names and MIME types from
/// operators are unreliable). A leading UTF-8 BOM and whitespace are skipped.
///
/// `[` or `{` means OMM JSON, `<` OMM XML, a first line naming `OBJECT_NAME` with
/// commas a CelesTrak OMM CSV header, and any line starting `1 ` followed by a line
/// starting `2 ` a TLE catalog. Anything else is `None`.
pub fn detect_format(text: &str) -> Option<ElementFormat> {
    let body = strip_bom(text).trim_start();
    match body.as_bytes().first()? {
        b'[' | b'{' => return Some(ElementFormat::OmmJson),
        b'<' => return Some(ElementFormat::OmmXml),
        _ => {}
    }
    let first_line = body.lines().next().unwrap_or_default();
    if first_line.contains("OBJECT_NAME") && first_line.contains(',') {
        return Some(ElementFormat::OmmCsv);
    }
    tle::has_tle_pair(body).then_some(ElementFormat::Tle)
}

/// Detects the format of `text` and parses it with the matching parser.
///
/// Errors only when the file as a whole is unusable (empty, unknown format, not
/// well-formed JSON/XML/CSV); bad records are listed in [`ParsedCatalog::rejected`].
pub fn parse_catalog(text: &str) -> Result<ParsedCatalog, CatalogError> {
    let body = strip_bom(text).trim_start();
    if body.is_empty() {
        return Err(CatalogError::Empty);
    }
    // The parsers get the whole text so the line numbers they report match the file.
    match detect_format(text) {
        Some(ElementFormat::Tle) => Ok(parse_tle_catalog(text)),
        Some(ElementFormat::OmmJson) => parse_omm_json(text),
        Some(ElementFormat::OmmXml) => parse_omm_xml(text),
        Some(ElementFormat::OmmCsv) => parse_omm_csv(text),
        None => Err(CatalogError::UnknownFormat {
            start: body
                .chars()
                .take_while(|c| *c != '\n' && *c != '\r')
                .take(40)
                .flat_map(char::escape_debug)
                .collect(),
        }),
    }
}

/// Files saved by Windows editors often start with a UTF-8 byte-order mark.
fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Physical limits shared by every format, checked after a record has been read so
/// TLE and OMM reject the same impossible orbits with the same error.
fn check_ranges(set: &ElementSet) -> Result<(), ElementsError> {
    let range = |field, value, reason| Err(ElementsError::Range { field, value, reason });
    let e = set.eccentricity;
    if !(0.0..1.0).contains(&e) {
        return range("eccentricity", e, "must be in [0, 1) for a closed orbit");
    }
    let n = set.mean_motion_rev_per_day;
    if !(n > 0.0 && n.is_finite()) {
        return range("mean motion (rev/day)", n, "must be positive and finite");
    }
    let i = set.inclination_deg;
    if !(0.0..=180.0).contains(&i) {
        return range("inclination (deg)", i, "must be in [0, 180]");
    }
    for (field, value) in [
        ("right ascension of the ascending node (deg)", set.raan_deg),
        ("argument of perigee (deg)", set.arg_perigee_deg),
        ("mean anomaly (deg)", set.mean_anomaly_deg),
    ] {
        if !(0.0..=360.0).contains(&value) {
            return range(field, value, "must be in [0, 360]");
        }
    }
    for (field, value) in [
        ("B* (1/earth radii)", set.bstar),
        ("mean motion dot / 2 (rev/day^2)", set.mean_motion_dot),
        ("mean motion ddot / 6 (rev/day^3)", set.mean_motion_ddot),
    ] {
        if !value.is_finite() {
            return range(field, value, "must be finite");
        }
    }
    Ok(())
}

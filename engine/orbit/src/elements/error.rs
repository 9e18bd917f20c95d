//! Why an element set or a whole catalog could not be read.
//!
//! Each [`ElementsError`] variant carries the physical or textual cause (which TLE
//! line, which field and columns, the offending text), so an operator can find and
//! fix the record without re-running the parser under a debugger.

/// Why one record (one TLE pair or one OMM object) was rejected.
///
/// TLE line numbers (`line: u8`) are 1 or 2, the line *within the element set*;
/// the file position of the record is in [`RejectedRecord::line`](super::RejectedRecord).
/// Columns are 1-based and inclusive, as in the TLE standard.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ElementsError {
    /// The column-69 check digit does not match the mod-10 sum of columns 1-68
    /// (digits count their value, `-` counts 1). `expected` is the computed sum,
    /// `found` is what column 69 holds. Usually a transmission or transcription error.
    #[error("line {line} checksum: expected {expected}, found {found}")]
    Checksum { line: u8, expected: u8, found: char },
    /// The line (trailing whitespace removed) is shorter than the 69 columns of a TLE
    /// line, so fields would be read from the wrong columns. Typically a truncated copy.
    #[error("line {line} is {len} columns long; a TLE line needs 69")]
    LineLength { line: u8, len: usize },
    /// The line does not start with its line number (`1` or `2`) in column 1,
    /// e.g. lines given in the wrong order.
    #[error("line {line} must start with '{line}', found '{found}'")]
    LineNumber { line: u8, found: String },
    /// A non-ASCII character inside columns 1-69: TLEs are pure ASCII, so the line
    /// was mangled (e.g. a non-breaking space from a web page).
    #[error("line {line} has a non-ASCII character at column {column}")]
    NonAscii { line: u8, column: usize },
    /// A fixed-column TLE field whose text is not valid for that field.
    #[error("line {line} {field} (columns {}-{}) '{text}': {reason}", columns.0, columns.1)]
    Field {
        line: u8,
        field: &'static str,
        /// 1-based, inclusive.
        columns: (usize, usize),
        text: String,
        reason: &'static str,
    },
    /// Lines 1 and 2 carry different catalog numbers: the lines belong to two
    /// different objects, so a mixed element set would be silently wrong.
    #[error("catalog number differs between line 1 ({line1}) and line 2 ({line2})")]
    CatalogMismatch { line1: u32, line2: u32 },
    /// A value that parsed but is physically impossible for SGP4 mean elements
    /// (e.g. eccentricity 1 or more, non-positive mean motion, inclination over 180 deg).
    #[error("{field} {value} {reason}")]
    Range { field: &'static str, value: f64, reason: &'static str },
    /// A required OMM key (e.g. `EPOCH`, `MEAN_MOTION`, `NORAD_CAT_ID`) is absent or null.
    #[error("missing field {0}")]
    MissingField(&'static str),
    /// An OMM key whose value cannot be read as what the key holds.
    #[error("{field} '{text}': {reason}")]
    OmmField { field: &'static str, text: String, reason: &'static str },
    /// An OMM record that is not a key/value object (e.g. a number inside the JSON array).
    #[error("record is not an OMM object: {reason}")]
    OmmRecord { reason: &'static str },
    /// A TLE line 1 not followed by a line 2 (truncated file or a lost line).
    #[error("line 1 is not followed by a line 2")]
    MissingLine2,
    /// A TLE line 2 with no line 1 before it (its line 1 was lost or mangled).
    #[error("line 2 has no line 1 before it")]
    OrphanLine2,
}

/// Why a whole catalog could not be read (as opposed to single records, which are
/// reported in [`ParsedCatalog::rejected`](super::ParsedCatalog)).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogError {
    /// The content is not recognisably TLE, OMM JSON, OMM XML or OMM CSV.
    /// `start` is the first few characters that were seen (after BOM and whitespace).
    #[error("unknown element-set format; the text starts with '{start}'")]
    UnknownFormat { start: String },
    /// The text is not well-formed JSON (or not an object/array at the top level).
    #[error("OMM JSON: {0}")]
    Json(String),
    /// The text is not well-formed XML.
    #[error("OMM XML: {0}")]
    Xml(String),
    /// The CSV is malformed or its header lacks a required column.
    #[error("OMM CSV: {0}")]
    Csv(String),
    /// The text is empty or whitespace only.
    #[error("the element-set text is empty")]
    Empty,
}

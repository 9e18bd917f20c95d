//! What the three OMM encodings (JSON, XML, CSV) share: the CelesTrak/CCSDS key
//! names and the conversion of one record's key/value pairs into an [`ElementSet`].
//!
//! Each encoding only has to say how to look a key up; the reading of values,
//! defaults and validation are done once here so all three behave the same.

use std::borrow::Cow;

use chrono::{NaiveDateTime, SubsecRound};
use talos_core::NoradId;

use super::{ElementFormat, ElementSet, ElementsError, check_ranges};

pub(super) const OBJECT_NAME: &str = "OBJECT_NAME";
pub(super) const OBJECT_ID: &str = "OBJECT_ID";
pub(super) const EPOCH: &str = "EPOCH";
pub(super) const MEAN_MOTION: &str = "MEAN_MOTION";
pub(super) const ECCENTRICITY: &str = "ECCENTRICITY";
pub(super) const INCLINATION: &str = "INCLINATION";
pub(super) const RA_OF_ASC_NODE: &str = "RA_OF_ASC_NODE";
pub(super) const ARG_OF_PERICENTER: &str = "ARG_OF_PERICENTER";
pub(super) const MEAN_ANOMALY: &str = "MEAN_ANOMALY";
pub(super) const EPHEMERIS_TYPE: &str = "EPHEMERIS_TYPE";
pub(super) const CLASSIFICATION_TYPE: &str = "CLASSIFICATION_TYPE";
pub(super) const NORAD_CAT_ID: &str = "NORAD_CAT_ID";
pub(super) const ELEMENT_SET_NO: &str = "ELEMENT_SET_NO";
pub(super) const REV_AT_EPOCH: &str = "REV_AT_EPOCH";
pub(super) const BSTAR: &str = "BSTAR";
pub(super) const MEAN_MOTION_DOT: &str = "MEAN_MOTION_DOT";
pub(super) const MEAN_MOTION_DDOT: &str = "MEAN_MOTION_DDOT";

/// Every key the parsers read, in one list so XML and CSV can index their values.
pub(super) const KEYS: [&str; 17] = [
    OBJECT_NAME,
    OBJECT_ID,
    EPOCH,
    MEAN_MOTION,
    ECCENTRICITY,
    INCLINATION,
    RA_OF_ASC_NODE,
    ARG_OF_PERICENTER,
    MEAN_ANOMALY,
    EPHEMERIS_TYPE,
    CLASSIFICATION_TYPE,
    NORAD_CAT_ID,
    ELEMENT_SET_NO,
    REV_AT_EPOCH,
    BSTAR,
    MEAN_MOTION_DOT,
    MEAN_MOTION_DDOT,
];

/// Keys without which SGP4 cannot run. `MEAN_MOTION_DOT`/`DDOT` are not used by SGP4
/// and default to 0; element set and revolution numbers default to 0, the
/// classification to `U`.
pub(super) const REQUIRED: [&str; 9] = [
    NORAD_CAT_ID,
    EPOCH,
    MEAN_MOTION,
    ECCENTRICITY,
    INCLINATION,
    RA_OF_ASC_NODE,
    ARG_OF_PERICENTER,
    MEAN_ANOMALY,
    BSTAR,
];

/// A value as an encoding holds it: text (XML, CSV, JSON strings) or a JSON number.
pub(super) enum OmmValue<'a> {
    Text(Cow<'a, str>),
    Number(&'a serde_json::Number),
}

/// How an encoding looks up one key of one record. `None` means absent, null or blank.
pub(super) trait OmmSource {
    fn get(&self, key: &'static str) -> Option<OmmValue<'_>>;
}

/// Reads and validates one OMM record.
pub(super) fn element_set_from_omm(src: &impl OmmSource, format: ElementFormat) -> Result<ElementSet, ElementsError> {
    let norad_id = norad_id(src)?;
    let epoch = epoch(src)?;
    let classification = match src.get(CLASSIFICATION_TYPE) {
        None => 'U',
        Some(value) => {
            let text = as_text(&value);
            match text.trim() {
                "U" => 'U',
                "C" => 'C',
                "S" => 'S',
                _ => return Err(field_error(CLASSIFICATION_TYPE, &text, "must be U, C or S")),
            }
        }
    };
    if let Some(value) = src.get(EPHEMERIS_TYPE) {
        unsigned(EPHEMERIS_TYPE, &value)?;
    }
    let set = ElementSet {
        norad_id,
        name: optional_text(src, OBJECT_NAME),
        international_designator: optional_text(src, OBJECT_ID),
        classification,
        epoch,
        mean_motion_dot: float_or_zero(src, MEAN_MOTION_DOT)?,
        mean_motion_ddot: float_or_zero(src, MEAN_MOTION_DDOT)?,
        bstar: float(src, BSTAR)?,
        inclination_deg: float(src, INCLINATION)?,
        raan_deg: float(src, RA_OF_ASC_NODE)?,
        eccentricity: float(src, ECCENTRICITY)?,
        arg_perigee_deg: float(src, ARG_OF_PERICENTER)?,
        mean_anomaly_deg: float(src, MEAN_ANOMALY)?,
        mean_motion_rev_per_day: float(src, MEAN_MOTION)?,
        element_set_number: unsigned_or_zero(src, ELEMENT_SET_NO)?,
        rev_number: unsigned_or_zero(src, REV_AT_EPOCH)?,
        format,
    };
    check_ranges(&set)?;
    Ok(set)
}

/// The catalog number of a record that may be broken elsewhere, so its rejection can
/// name the object.
pub(super) fn norad_hint(src: &impl OmmSource) -> Option<NoradId> {
    norad_id(src).ok()
}

fn norad_id(src: &impl OmmSource) -> Result<NoradId, ElementsError> {
    let value = src.get(NORAD_CAT_ID).ok_or(ElementsError::MissingField(NORAD_CAT_ID))?;
    let id = unsigned(NORAD_CAT_ID, &value)?;
    NoradId::new(u64::from(id))
        .map_err(|_| field_error(NORAD_CAT_ID, &as_text(&value), "must be a catalog number in 1..=999999999"))
}

/// `EPOCH` as CelesTrak writes it (`2026-06-22T06:05:14.123456`), optionally with a
/// trailing `Z`, or in the CCSDS day-of-year form (`2026-173T06:05:14.123456`).
/// Rounded to the microsecond, the precision of a TLE epoch.
fn epoch(src: &impl OmmSource) -> Result<NaiveDateTime, ElementsError> {
    let value = src.get(EPOCH).ok_or(ElementsError::MissingField(EPOCH))?;
    let text = as_text(&value);
    let trimmed = text.trim();
    let trimmed = trimmed.strip_suffix(['Z', 'z']).unwrap_or(trimmed);
    NaiveDateTime::parse_from_str(trimmed, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(trimmed, "%Y-%jT%H:%M:%S%.f"))
        .map(|t| t.round_subsecs(6))
        .map_err(|_| field_error(EPOCH, &text, "must be an ISO 8601 UTC time like 2026-06-22T06:05:14.123456"))
}

fn float(src: &impl OmmSource, key: &'static str) -> Result<f64, ElementsError> {
    let value = src.get(key).ok_or(ElementsError::MissingField(key))?;
    to_f64(key, &value)
}

fn float_or_zero(src: &impl OmmSource, key: &'static str) -> Result<f64, ElementsError> {
    src.get(key).map_or(Ok(0.0), |value| to_f64(key, &value))
}

fn unsigned_or_zero(src: &impl OmmSource, key: &'static str) -> Result<u32, ElementsError> {
    src.get(key).map_or(Ok(0), |value| unsigned(key, &value))
}

fn optional_text(src: &impl OmmSource, key: &'static str) -> Option<String> {
    let value = src.get(key)?;
    let text = as_text(&value);
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// Numbers may come as JSON numbers or as text (`.43229E-3`, `8.376e-5`, `"0.0001"`).
fn to_f64(key: &'static str, value: &OmmValue<'_>) -> Result<f64, ElementsError> {
    let parsed = match value {
        OmmValue::Number(n) => n.as_f64(),
        OmmValue::Text(t) => t.trim().parse::<f64>().ok(),
    };
    match parsed {
        Some(x) if x.is_finite() => Ok(x),
        _ => Err(field_error(key, &as_text(value), "must be a finite number")),
    }
}

fn unsigned(key: &'static str, value: &OmmValue<'_>) -> Result<u32, ElementsError> {
    let parsed = match value {
        OmmValue::Number(n) => n.as_u64().and_then(|v| u32::try_from(v).ok()),
        OmmValue::Text(t) => t.trim().parse::<u32>().ok(),
    };
    parsed.ok_or_else(|| field_error(key, &as_text(value), "must be a whole number in 0..=4294967295"))
}

fn as_text<'a>(value: &'a OmmValue<'_>) -> Cow<'a, str> {
    match value {
        OmmValue::Text(t) => Cow::Borrowed(t.as_ref()),
        OmmValue::Number(n) => Cow::Owned(n.to_string()),
    }
}

fn field_error(field: &'static str, text: &str, reason: &'static str) -> ElementsError {
    // Cap the echoed text: a hostile file must not make error messages huge.
    let text: String = text.chars().take(64).collect();
    ElementsError::OmmField { field, text, reason }
}

/// A record held as one optional text value per entry of [`KEYS`] (XML and CSV).
#[derive(Debug, Default)]
pub(super) struct TextRecord<'a> {
    pub(super) values: [Option<Cow<'a, str>>; KEYS.len()],
}

impl OmmSource for TextRecord<'_> {
    fn get(&self, key: &'static str) -> Option<OmmValue<'_>> {
        let index = KEYS.iter().position(|k| *k == key)?;
        let text = self.values.get(index)?.as_ref()?;
        (!text.trim().is_empty()).then(|| OmmValue::Text(Cow::Borrowed(text.as_ref())))
    }
}

/// Turns byte offsets from the reader into 1-based line numbers, scanning the text
/// only once however many times it is asked (offsets only grow).
pub(super) struct LineCounter<'a> {
    text: &'a [u8],
    offset: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Self { text: text.as_bytes(), offset: 0, line: 1 }
    }

    pub(super) fn line_at(&mut self, position: u64) -> usize {
        let target = usize::try_from(position).unwrap_or(usize::MAX).min(self.text.len());
        if target > self.offset {
            let skipped = self.text.get(self.offset..target).unwrap_or_default();
            self.line += skipped.iter().filter(|&&b| b == b'\n').count();
            self.offset = target;
        }
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(pairs: &[(&'static str, &'static str)]) -> TextRecord<'static> {
        let mut r = TextRecord::default();
        for (k, v) in pairs {
            if let Some(i) = KEYS.iter().position(|key| key == k) {
                r.values[i] = Some(Cow::Borrowed(v));
            }
        }
        r
    }

    const VANGUARD: [(&str, &str); 17] = [
        (OBJECT_NAME, "VANGUARD 1"),
        (OBJECT_ID, "1958-002B"),
        (EPOCH, "2020-10-13T04:52:48.472320"),
        (MEAN_MOTION, "10.84869164"),
        (ECCENTRICITY, ".1845686"),
        (INCLINATION, "34.2443"),
        (RA_OF_ASC_NODE, "225.5254"),
        (ARG_OF_PERICENTER, "162.2516"),
        (MEAN_ANOMALY, "205.2356"),
        (EPHEMERIS_TYPE, "0"),
        (CLASSIFICATION_TYPE, "U"),
        (NORAD_CAT_ID, "5"),
        (ELEMENT_SET_NO, "999"),
        (REV_AT_EPOCH, "21814"),
        (BSTAR, "-.22483E-4"),
        (MEAN_MOTION_DOT, "-1.6E-7"),
        (MEAN_MOTION_DDOT, "0"),
    ];

    #[test]
    fn text_values_with_leading_point_and_exponent_are_read() {
        let set = element_set_from_omm(&record(&VANGUARD), ElementFormat::OmmCsv).unwrap();
        assert_eq!(set.norad_id.get(), 5);
        assert_eq!(set.bstar, -0.22483e-4);
        assert_eq!(set.eccentricity, 0.1845686);
        assert_eq!(set.epoch.to_string(), "2020-10-13 04:52:48.472320");
    }

    #[test]
    fn day_of_year_epochs_and_trailing_z_are_accepted() {
        let mut pairs = VANGUARD;
        pairs[2] = (EPOCH, "2020-287T04:52:48.472320Z");
        let set = element_set_from_omm(&record(&pairs), ElementFormat::OmmXml).unwrap();
        assert_eq!(set.epoch.to_string(), "2020-10-13 04:52:48.472320");
    }

    #[test]
    fn missing_required_key_is_named() {
        let pairs: Vec<_> = VANGUARD.iter().copied().filter(|(k, _)| *k != BSTAR).collect();
        let err = element_set_from_omm(&record(&pairs), ElementFormat::OmmCsv).unwrap_err();
        assert_eq!(err, ElementsError::MissingField(BSTAR));
    }

    #[test]
    fn nan_and_infinity_are_not_numbers() {
        for bad in ["NaN", "inf", "-infinity", "1e999"] {
            let mut pairs = VANGUARD;
            pairs[3] = (MEAN_MOTION, bad);
            let err = element_set_from_omm(&record(&pairs), ElementFormat::OmmCsv).unwrap_err();
            assert!(matches!(err, ElementsError::OmmField { field: MEAN_MOTION, .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn optional_keys_default_when_blank() {
        let mut pairs = VANGUARD;
        pairs[10] = (CLASSIFICATION_TYPE, " ");
        pairs[12] = (ELEMENT_SET_NO, "");
        pairs[16] = (MEAN_MOTION_DDOT, "");
        let set = element_set_from_omm(&record(&pairs), ElementFormat::OmmCsv).unwrap();
        assert_eq!((set.classification, set.element_set_number, set.mean_motion_ddot), ('U', 0, 0.0));
    }
}

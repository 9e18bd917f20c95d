//! CelesTrak OMM JSON (`gp.php?FORMAT=json`): an array of flat objects, or a single
//! object. Values may be JSON numbers or strings (some mirrors quote every value).

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::omm::{OmmSource, OmmValue, element_set_from_omm, norad_hint};
use super::{CatalogError, ElementFormat, ElementsError, ParsedCatalog, RejectedRecord, strip_bom};

/// Parses OMM JSON. A record that is not an object or fails validation is rejected
/// (its [`RejectedRecord::line`] is its 1-based index in the array) and the others
/// still load; text that is not JSON at all is a [`CatalogError::Json`].
pub fn parse_omm_json(text: &str) -> Result<ParsedCatalog, CatalogError> {
    let body = strip_bom(text);
    if body.trim().is_empty() {
        return Err(CatalogError::Empty);
    }
    let value: Value = serde_json::from_str(body).map_err(|e| CatalogError::Json(e.to_string()))?;
    let records = match &value {
        Value::Array(records) => records.as_slice(),
        Value::Object(_) => std::slice::from_ref(&value),
        _ => {
            return Err(CatalogError::Json("the top level must be an array of OMM objects or one object".to_owned()));
        }
    };
    let mut element_sets = Vec::with_capacity(records.len());
    let mut rejected = Vec::new();
    for (index, record) in records.iter().enumerate() {
        let result = match record {
            Value::Object(map) => {
                let src = JsonRecord(map);
                element_set_from_omm(&src, ElementFormat::OmmJson).map_err(|e| (norad_hint(&src), e))
            }
            _ => Err((None, ElementsError::OmmRecord { reason: "an array element is not a JSON object" })),
        };
        match result {
            Ok(set) => element_sets.push(set),
            Err((norad_id, error)) => {
                rejected.push(RejectedRecord { line: index + 1, norad_id, error, format: ElementFormat::OmmJson })
            }
        }
    }
    Ok(ParsedCatalog { format: ElementFormat::OmmJson, element_sets, rejected })
}

struct JsonRecord<'a>(&'a Map<String, Value>);

impl OmmSource for JsonRecord<'_> {
    fn get(&self, key: &'static str) -> Option<OmmValue<'_>> {
        match self.0.get(key)? {
            Value::Number(n) => Some(OmmValue::Number(n)),
            Value::String(s) if !s.trim().is_empty() => Some(OmmValue::Text(Cow::Borrowed(s))),
            Value::String(_) | Value::Null => None,
            // Booleans, arrays and objects are never valid values; show them as text
            // so the error names what was found.
            other => Some(OmmValue::Text(Cow::Owned(other.to_string()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VANGUARD: &str = r#"{"OBJECT_NAME":"VANGUARD 1","OBJECT_ID":"1958-002B","EPOCH":"2025-02-14T14:36:48.662784","MEAN_MOTION":"10.85873516","ECCENTRICITY":0.1841322,"INCLINATION":34.2493,"RA_OF_ASC_NODE":19.2327,"ARG_OF_PERICENTER":100.1057,"MEAN_ANOMALY":281.1229,"EPHEMERIS_TYPE":0,"CLASSIFICATION_TYPE":"U","NORAD_CAT_ID":"5","ELEMENT_SET_NO":999,"REV_AT_EPOCH":39027,"BSTAR":0.00035436,"MEAN_MOTION_DOT":2.64e-6,"MEAN_MOTION_DDOT":0}"#;

    #[test]
    fn a_single_object_with_quoted_numbers_loads() {
        let parsed = parse_omm_json(VANGUARD).unwrap();
        assert_eq!(parsed.element_sets.len(), 1);
        assert_eq!(parsed.element_sets[0].mean_motion_rev_per_day, 10.85873516);
        assert_eq!(parsed.element_sets[0].norad_id.get(), 5);
    }

    #[test]
    fn non_object_elements_are_rejected_by_index() {
        let parsed = parse_omm_json(&format!("[1, {VANGUARD}, true]")).unwrap();
        assert_eq!(parsed.element_sets.len(), 1);
        let lines: Vec<_> = parsed.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, [1, 3]);
        assert!(parsed.rejected[0].to_string().starts_with("record 1: "), "{}", parsed.rejected[0]);
    }

    #[test]
    fn scalar_top_level_and_broken_json_are_catalog_errors() {
        assert!(matches!(parse_omm_json("42"), Err(CatalogError::Json(_))));
        assert!(matches!(parse_omm_json("[{"), Err(CatalogError::Json(_))));
        assert_eq!(parse_omm_json(" \n").unwrap_err(), CatalogError::Empty);
    }
}

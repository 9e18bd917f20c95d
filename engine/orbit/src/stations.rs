//! SatNOGS Network station lists (`https://network.satnogs.org/api/stations/`).
//!
//! The public list is user-entered and contains impossible positions (a latitude of
//! 501120, altitudes up to 838 km). Each station's position goes through
//! [`GeodeticPosition::new`], so a bad station is reported with the reason and the
//! rest of the list still loads.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use talos_core::GeodeticPosition;

/// One station from the SatNOGS Network list, with a validated position.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SatnogsStation {
    /// SatNOGS Network station id (not a TALOS `StationId`: the id spaces differ).
    pub id: u64,
    pub name: String,
    /// WGS84 latitude/longitude (deg) and altitude (m) from `lat`, `lng`, `altitude`.
    pub position: GeodeticPosition,
    /// Elevation below which the station does not observe, deg, as the owner entered
    /// it. Loaded as given: a few stations hold values above 90 (e.g. 360), which
    /// simply never see a pass.
    pub min_horizon_deg: f64,
    /// `Online`, `Offline` or `Testing`.
    pub status: String,
}

/// The stations that loaded and the ones that did not.
#[derive(Debug, Clone)]
pub struct ParsedStations {
    pub stations: Vec<SatnogsStation>,
    pub rejected: Vec<RejectedStation>,
}

/// A station entry that was skipped, with as much identification as could be read.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedStation {
    pub id: Option<u64>,
    pub name: Option<String>,
    pub reason: String,
}

impl fmt::Display for RejectedStation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("station")?;
        if let Some(id) = self.id {
            write!(f, " {id}")?;
        }
        if let Some(name) = &self.name {
            write!(f, " '{name}'")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Why a station list as a whole could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StationsError {
    /// The text is not well-formed JSON.
    #[error("SatNOGS stations JSON: {0}")]
    Json(String),
    /// The JSON is well-formed but the top level is not the array the API returns.
    #[error("SatNOGS stations JSON: the top level must be an array of stations, found {found}")]
    NotAnArray { found: &'static str },
}

/// The fields TALOS uses; the API's other fields (antennas, observations, ...) are
/// ignored. `lat`/`lng` may be JSON integers.
#[derive(Deserialize)]
struct RawStation {
    id: u64,
    name: String,
    altitude: f64,
    min_horizon: f64,
    lat: f64,
    lng: f64,
    status: String,
}

/// Parses the SatNOGS Network stations JSON array. A station with missing or
/// mistyped fields, or a position [`GeodeticPosition::new`] refuses, is listed in
/// `rejected` with the reason; text that is not a JSON array is an error.
pub fn parse_satnogs_stations(json: &str) -> Result<ParsedStations, StationsError> {
    let json = json.strip_prefix('\u{feff}').unwrap_or(json);
    let value: Value = serde_json::from_str(json).map_err(|e| StationsError::Json(e.to_string()))?;
    let Value::Array(entries) = value else {
        return Err(StationsError::NotAnArray { found: json_kind(&value) });
    };
    let mut stations = Vec::with_capacity(entries.len());
    let mut rejected = Vec::new();
    for entry in &entries {
        match station_from_json(entry) {
            Ok(station) => stations.push(station),
            Err(reason) => rejected.push(RejectedStation {
                id: entry.get("id").and_then(Value::as_u64),
                name: entry.get("name").and_then(Value::as_str).map(str::to_owned),
                reason,
            }),
        }
    }
    Ok(ParsedStations { stations, rejected })
}

fn station_from_json(entry: &Value) -> Result<SatnogsStation, String> {
    let raw = RawStation::deserialize(entry).map_err(|e| e.to_string())?;
    let position = GeodeticPosition::new(raw.lat, raw.lng, raw.altitude).map_err(|e| e.to_string())?;
    if !raw.min_horizon.is_finite() {
        return Err(format!("min_horizon {} deg is not a finite angle", raw.min_horizon));
    }
    Ok(SatnogsStation { id: raw.id, name: raw.name, position, min_horizon_deg: raw.min_horizon, status: raw.status })
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_coordinates_load_and_bad_latitude_is_rejected_with_the_geo_reason() {
        let json = r#"[
            {"id": 1, "name": "Int", "altitude": 104, "min_horizon": 10, "lat": 38, "lng": -23, "status": "Online"},
            {"id": 2114, "name": "OK1IN, Slany", "altitude": 370, "min_horizon": 0, "lat": 501120, "lng": 135958, "status": "Offline"}
        ]"#;
        let parsed = parse_satnogs_stations(json).unwrap();
        assert_eq!(parsed.stations.len(), 1);
        assert_eq!(parsed.stations[0].position.lat_deg(), 38.0);
        assert_eq!(
            parsed.rejected[0].to_string(),
            "station 2114 'OK1IN, Slany': latitude 501120 deg is outside [-90, 90]"
        );
    }

    #[test]
    fn entries_with_missing_or_mistyped_fields_are_rejected_not_fatal() {
        let json = r#"[{"id": 7, "name": "No lat"}, 42, {"id": 8, "name": "S", "altitude": "high", "min_horizon": 0, "lat": 0, "lng": 0, "status": "Online"}]"#;
        let parsed = parse_satnogs_stations(json).unwrap();
        assert!(parsed.stations.is_empty());
        assert_eq!(parsed.rejected.len(), 3);
        assert_eq!(parsed.rejected[0].id, Some(7));
        assert!(parsed.rejected[0].reason.contains("missing field"), "{}", parsed.rejected[0]);
        assert!(parsed.rejected[1].to_string().starts_with("station: "), "{}", parsed.rejected[1]);
    }

    #[test]
    fn non_array_json_is_an_error() {
        assert_eq!(parse_satnogs_stations("{}").unwrap_err(), StationsError::NotAnArray { found: "an object" });
        assert!(matches!(parse_satnogs_stations("[{"), Err(StationsError::Json(_))));
    }
}

//! The shared catalog, read-only: satellites (one current element set per object, with
//! search), one satellite with its mean elements and transmitters, and an object's
//! element-set history. Any authenticated caller of any organization may read it.

use crate::auth::authenticate_any;
use crate::routes::{Params, check_limit, check_text, path_id};
use crate::{ApiError, AppState};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use chrono::SecondsFormat;
use serde::Deserialize;
use serde_json::{Value, json};
use talos_core::{NoradId, UnixMs};
use talos_store::{ElementSetId, StoredElementSet, TransmitterRecord};

/// Longest `search` accepted (a name or designator fragment, never a document).
pub(crate) const MAX_SEARCH_CHARS: usize = 100;

const MS_PER_DAY: f64 = 86_400_000.0;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SatelliteQuery {
    #[serde(default)]
    search: String,
    cursor: Option<u64>,
    limit: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HistoryQuery {
    cursor: Option<u64>,
    limit: Option<u32>,
}

fn norad_param(params: &std::collections::HashMap<String, String>) -> Result<NoradId, ApiError> {
    let id = path_id(params, "norad_id")?;
    NoradId::new(id).map_err(|e| ApiError::bad_request("bad_id", format!("path parameter 'norad_id': {e}")))
}

/// The fields every element-set view shares; `age_days` by the API clock.
fn summary(s: &StoredElementSet, now: UnixMs) -> serde_json::Map<String, Value> {
    let e = &s.elements;
    let epoch = e.epoch.and_utc();
    let age_days = (now.0 as f64 - epoch.timestamp_micros() as f64 / 1000.0) / MS_PER_DAY;
    let mut m = serde_json::Map::new();
    m.insert("norad_id".into(), json!(e.norad_id.get()));
    m.insert("name".into(), json!(e.name));
    m.insert("international_designator".into(), json!(e.international_designator));
    m.insert("epoch".into(), json!(epoch.to_rfc3339_opts(SecondsFormat::Micros, true)));
    m.insert("age_days".into(), json!((age_days * 1e6).round() / 1e6));
    m.insert("source".into(), json!(s.source));
    m.insert("source_priority".into(), json!(s.source_priority));
    m.insert("fetched_at".into(), json!(s.fetched_at.to_rfc3339()));
    m
}

/// A summary plus the mean elements.
fn with_elements(s: &StoredElementSet, now: UnixMs) -> serde_json::Map<String, Value> {
    let e = &s.elements;
    let mut m = summary(s, now);
    m.insert(
        "elements".into(),
        json!({
            "classification": e.classification.to_string(),
            "inclination_deg": e.inclination_deg,
            "raan_deg": e.raan_deg,
            "eccentricity": e.eccentricity,
            "arg_perigee_deg": e.arg_perigee_deg,
            "mean_anomaly_deg": e.mean_anomaly_deg,
            "mean_motion_rev_per_day": e.mean_motion_rev_per_day,
            "mean_motion_dot": e.mean_motion_dot,
            "mean_motion_ddot": e.mean_motion_ddot,
            "bstar": e.bstar,
            "element_set_number": e.element_set_number,
            "rev_number": e.rev_number,
            "format": e.format,
        }),
    );
    m
}

fn transmitter_json(t: &TransmitterRecord) -> Value {
    json!({
        "uuid": t.uuid,
        "description": t.description,
        "downlink_low_hz": t.downlink_low_hz,
        "downlink_high_hz": t.downlink_high_hz,
        "uplink_low_hz": t.uplink_low_hz,
        "uplink_high_hz": t.uplink_high_hz,
        "mode": t.mode,
        "invert": t.invert,
        "alive": t.alive,
        "status": t.status,
        "updated": t.updated,
    })
}

/// `GET /satellites?search=&cursor=&limit=`: current element sets by NORAD id.
pub(crate) async fn list_satellites(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<SatelliteQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    authenticate_any(&state, &headers).await?;
    let Query(q) = q.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let limit = check_limit(q.limit)?;
    check_text("search", &q.search, MAX_SEARCH_CHARS).map_err(|m| ApiError::bad_request("bad_query", m))?;
    let after = match q.cursor {
        None | Some(0) => None,
        Some(c) => Some(NoradId::new(c).map_err(|e| ApiError::bad_request("bad_query", format!("cursor: {e}")))?),
    };
    let page = state.store.list_current_element_sets(&q.search, after, limit).await?;
    let now = (state.clock)();
    let items: Vec<Value> = page.items.iter().map(|s| Value::Object(summary(s, now))).collect();
    Ok(Json(json!({ "items": items, "next": page.next.map(NoradId::get) })))
}

/// `GET /satellites/{norad_id}`: the current set with its elements and the object's transmitters.
pub(crate) async fn get_satellite(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
) -> Result<Json<Value>, ApiError> {
    authenticate_any(&state, &headers).await?;
    let norad = norad_param(&params)?;
    let current = state.store.current_element_set(norad).await?;
    let transmitters = state.store.list_transmitters(Some(norad)).await?;
    let mut m = with_elements(&current, (state.clock)());
    m.insert("transmitters".into(), transmitters.iter().map(transmitter_json).collect());
    Ok(Json(Value::Object(m)))
}

/// `GET /satellites/{norad_id}/element-sets?cursor=&limit=`: every source's sets, newest epoch first.
pub(crate) async fn list_element_sets(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
    q: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    authenticate_any(&state, &headers).await?;
    let norad = norad_param(&params)?;
    let Query(q) = q.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let limit = check_limit(q.limit)?;
    let before = q.cursor.filter(|c| *c > 0).map(ElementSetId);
    let page = state.store.element_set_history(norad, before, limit).await?;
    let now = (state.clock)();
    let items: Vec<Value> = page.items.iter().map(|s| Value::Object(with_elements(s, now))).collect();
    Ok(Json(json!({ "items": items, "next": page.next.map(|n| n.0) })))
}

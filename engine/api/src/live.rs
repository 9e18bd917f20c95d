//! The API's side of the director: requests in ([`LiveHub::request`]), tick frames out
//! ([`LiveHub::publish`] -> `GET /api/v1/stream`), pass predictions, operator commands
//! and tracking sessions.
//!
//! The director runs in the `talos` binary; this crate knows it only through
//! [`DirectorStatus`](crate::DirectorStatus) (reads) and the [`LiveHub`] channels, so
//! the API never depends on the tick or the physics crates.

use crate::auth::authenticate;
use crate::routes::{Body, Params, path_id, principal, station_json};
use crate::{ApiError, AppState};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::{self, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use talos_core::{AssignmentId, CampaignId, GeodeticPosition, NoradId, OrgId, StationId, UnixMs};
use talos_store::Role;
use tokio::sync::{broadcast, mpsc, watch};

/// Frames a slow stream client may fall behind before it is told it lagged (8 s at 2 Hz).
pub const FRAME_BUFFER: usize = 16;

/// How often a long-lived stream re-checks its credentials (a revoked key or an
/// expired session ends the stream).
const STREAM_REAUTH: Duration = Duration::from_secs(30);

/// Longest pass window `GET .../passes` computes.
pub const MAX_PASS_HOURS: f64 = 48.0;

/// How far from now a pass window may start: element sets are good for days, not years.
pub const MAX_PASS_OFFSET_MS: i64 = 30 * 86_400_000;

/// What the API asks of the director.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectorRequest {
    /// Stations, campaigns, assignments or holds changed in the store: reload them.
    ReloadFleet,
}

/// The channels between the API and the director. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LiveHub {
    frames: broadcast::Sender<Arc<LiveFrame>>,
    requests: mpsc::Sender<DirectorRequest>,
    /// Set at shutdown: open streams end so a graceful shutdown does not wait on them.
    closing: watch::Sender<bool>,
    /// Pass predictions running at once: one per core, so a burst of requests queues
    /// instead of holding a trajectory buffer (about 5 MB a day per station) each.
    pass_slots: Arc<tokio::sync::Semaphore>,
}

impl LiveHub {
    /// A hub and the receiving end of its requests (for the director's side).
    pub fn new() -> (Self, mpsc::Receiver<DirectorRequest>) {
        let (frames, _) = broadcast::channel(FRAME_BUFFER);
        // One slot: a reload already queued covers every change made before it runs.
        let (requests, inbox) = mpsc::channel(1);
        let (closing, _) = watch::channel(false);
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let pass_slots = Arc::new(tokio::sync::Semaphore::new(cores));
        (Self { frames, requests, closing, pass_slots }, inbox)
    }

    /// A hub with no director behind it (tests of the REST routes alone).
    pub fn detached() -> Self {
        Self::new().0
    }

    /// Hands one tick's frame to every stream client; returns how many there are.
    pub fn publish(&self, frame: LiveFrame) -> usize {
        self.frames.send(Arc::new(frame)).unwrap_or(0)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveFrame>> {
        self.frames.subscribe()
    }

    /// Whether any stream client is listening (the director skips building frames otherwise).
    pub fn has_subscribers(&self) -> bool {
        self.frames.receiver_count() > 0
    }

    /// Ends every open stream (at shutdown).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Asks the director for something. A full queue already holds the same request
    /// (coalesced); a closed one means no director is attached, which is logged.
    pub fn request(&self, request: DirectorRequest) {
        match self.requests.try_send(request) {
            Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => {}
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::debug!(?request, "no director attached; request dropped");
            }
        }
    }
}

/// One tick, as the live stream sees it (all organizations; each client gets its own).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LiveFrame {
    pub tick: u64,
    pub t: UnixMs,
    pub duration_ms: f64,
    /// Busy stations only (tracking or pre-positioning); a station absent is idle/parked.
    pub stations: Vec<LiveStation>,
    pub events: Vec<LiveEvent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveState {
    Tracking,
    Prepositioning,
}

/// A busy station's commanded pointing and tuning this tick.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveStation {
    #[serde(skip)]
    pub org: OrgId,
    pub station: StationId,
    pub state: LiveState,
    pub norad_id: Option<NoradId>,
    pub az_deg: f64,
    pub el_deg: f64,
    pub range_rate_km_s: Option<f64>,
    /// Doppler-corrected downlink the rig is tuned to, Hz.
    pub downlink_hz: Option<f64>,
    pub uplink_hz: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LiveEventKind {
    Aos,
    Los,
}

/// An AOS or LOS of one assignment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveEvent {
    #[serde(skip)]
    pub org: OrgId,
    pub kind: LiveEventKind,
    pub station: StationId,
    pub assignment: AssignmentId,
    pub norad_id: NoradId,
    pub t: UnixMs,
    pub az_deg: f64,
    /// AOS only: the pass was already up when the director first saw it.
    pub in_progress: bool,
}

/// What `GET .../stations/{id}/passes` asks the director to compute.
#[derive(Debug, Clone, PartialEq)]
pub struct PassRequest {
    pub position: GeodeticPosition,
    pub station_min_el_deg: f64,
    /// The station's horizon mask as stored (`[[az_deg, el_deg], ...]`).
    pub horizon_mask: Option<Value>,
    pub from: UnixMs,
    pub to: UnixMs,
    pub candidates: Vec<PassCandidate>,
}

/// One assignment of the station, with what the prediction needs of its campaign.
#[derive(Debug, Clone, PartialEq)]
pub struct PassCandidate {
    pub assignment: AssignmentId,
    pub campaign: CampaignId,
    pub norad_id: NoradId,
    pub priority: i32,
    pub min_el_deg: f64,
    pub window_start: Option<UnixMs>,
    pub window_end: Option<UnixMs>,
}

/// A predicted pass of one assignment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictedPass {
    pub assignment: AssignmentId,
    pub campaign: CampaignId,
    pub norad_id: NoradId,
    pub satellite_name: Option<String>,
    pub priority: i32,
    pub aos: UnixMs,
    pub tca: UnixMs,
    pub los: UnixMs,
    pub max_el_deg: f64,
    pub aos_az_deg: f64,
    pub los_az_deg: f64,
    /// The pass was already up at the window start (`aos` is the window start).
    pub aos_cut: bool,
    /// The pass is still up at the window end (`los` is the window end).
    pub los_cut: bool,
    /// Whether the built-in policy (priority, then elevation) gives the station this
    /// pass over the passes it overlaps. Whole passes are compared; live, the policy
    /// can also hand over mid-pass.
    pub chosen: bool,
    /// Assignment ids of the other passes overlapping this one.
    pub conflicts_with: Vec<AssignmentId>,
}

/// Marks which of a station's passes the built-in policy would track: highest
/// priority first, then the higher culmination, each taking the station for its
/// whole pass unless a better one already holds an overlapping interval.
pub fn mark_policy_choice(passes: &mut [PredictedPass]) {
    let overlaps = |a: &PredictedPass, b: &PredictedPass| a.aos < b.los && b.aos < a.los;
    let mut order: Vec<usize> = (0..passes.len()).collect();
    order.sort_by(|&a, &b| {
        let (pa, pb) = (&passes[a], &passes[b]);
        pb.priority.cmp(&pa.priority).then(pb.max_el_deg.total_cmp(&pa.max_el_deg)).then(pa.aos.cmp(&pb.aos))
    });
    let mut chosen: Vec<usize> = Vec::new();
    for i in order {
        let free = chosen.iter().all(|&c| !overlaps(&passes[c], &passes[i]));
        passes[i].chosen = free;
        if free {
            chosen.push(i);
        }
    }
    for i in 0..passes.len() {
        let conflicts: Vec<AssignmentId> = (0..passes.len())
            .filter(|&j| j != i && overlaps(&passes[i], &passes[j]))
            .map(|j| passes[j].assignment)
            .collect();
        passes[i].conflicts_with = conflicts;
    }
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/stream", get(stream_events))
        .route("/orgs/{org}/stations/{id}/passes", get(station_passes))
        .route("/orgs/{org}/stations/{id}/commands", post(station_command))
        .route("/orgs/{org}/sessions", get(list_sessions))
}

/// Middleware: a successful change to stations, campaigns, assignments (or the
/// deletion of an organization) asks the director to reload its fleet.
pub(crate) async fn notify_fleet_changes(State(hub): State<LiveHub>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    if response.status().is_success() && is_fleet_change(&method, &path) {
        hub.request(DirectorRequest::ReloadFleet);
    }
    response
}

fn is_fleet_change(method: &Method, path: &str) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let Some(rest) = path.strip_prefix("/api/v1/orgs/") else { return false };
    let segments: Vec<&str> = rest.split('/').collect();
    match segments.as_slice() {
        [_org] => *method == Method::DELETE,
        [_org, kind, ..] => matches!(*kind, "stations" | "campaigns" | "assignments"),
        _ => false,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamQuery {
    org: Option<u64>,
}

/// The organization a stream is for: `?org=`, else the API key's, else the user's only one.
async fn stream_org(state: &AppState, headers: &HeaderMap, asked: Option<u64>) -> Result<OrgId, ApiError> {
    if let Some(org) = asked {
        if org == 0 || i64::try_from(org).is_err() {
            return Err(ApiError::bad_request("bad_query", format!("org must be a positive integer id, got {org}")));
        }
        return Ok(OrgId(org));
    }
    let orgs = crate::routes::caller_orgs(state, headers).await?;
    match orgs.as_slice() {
        [(only, _)] => Ok(only.id),
        _ => Err(ApiError::bad_request(
            "org_required",
            format!("you belong to {} organizations: say which with ?org=ID", orgs.len()),
        )),
    }
}

/// `GET /api/v1/stream`: Server-Sent Events for one organization, at tick rate:
/// `tick` (summary), `tracking` (busy stations), `aos`, `los`, and `lagged` when the
/// client fell behind and frames were skipped.
async fn stream_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<StreamQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let org = stream_org(&state, &headers, q.org).await?;
    authenticate(&state, &headers, org).await?;
    let frames = state.live.subscribe();
    let mut closing = state.live.closing.subscribe();
    closing.mark_changed();
    let checked_at = tokio::time::Instant::now();
    let events = stream::unfold(
        (frames, closing, state, headers, checked_at, false),
        move |(mut frames, mut closing, state, headers, mut checked_at, done)| async move {
            if done || *closing.borrow_and_update() {
                return None;
            }
            if checked_at.elapsed() >= STREAM_REAUTH {
                checked_at = tokio::time::Instant::now();
                if let Err(e) = authenticate(&state, &headers, org).await {
                    let (_, code, message) = e.parts();
                    let end = vec![sse("error", &json!({ "code": code, "message": message }))];
                    return Some((end, (frames, closing, state, headers, checked_at, true)));
                }
            }
            let received = tokio::select! {
                received = frames.recv() => received,
                _ = closing.changed() => return None,
            };
            let batch = match received {
                Ok(frame) => org_events(&frame, org),
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    vec![sse("lagged", &json!({ "skipped": skipped }))]
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            Some((batch, (frames, closing, state, headers, checked_at, false)))
        },
    )
    .flat_map(stream::iter)
    .map(Ok);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn sse(name: &str, data: &impl Serialize) -> Event {
    Event::default().event(name).json_data(data).unwrap_or_else(|_| Event::default().event(name))
}

/// One organization's share of a frame, as SSE events.
fn org_events(frame: &LiveFrame, org: OrgId) -> Vec<Event> {
    let stations: Vec<&LiveStation> = frame.stations.iter().filter(|s| s.org == org).collect();
    let events: Vec<&LiveEvent> = frame.events.iter().filter(|e| e.org == org).collect();
    let count = |state: LiveState| stations.iter().filter(|s| s.state == state).count();
    let count_events = |kind: LiveEventKind| events.iter().filter(|e| e.kind == kind).count();
    let mut out = Vec::with_capacity(2 + events.len());
    out.push(sse(
        "tick",
        &json!({
            "tick": frame.tick,
            "t": frame.t,
            "duration_ms": frame.duration_ms,
            "stations_tracking": count(LiveState::Tracking),
            "stations_prepositioning": count(LiveState::Prepositioning),
            "aos": count_events(LiveEventKind::Aos),
            "los": count_events(LiveEventKind::Los),
        }),
    ));
    out.push(sse("tracking", &json!({ "t": frame.t, "stations": stations })));
    for e in events {
        out.push(sse(
            match e.kind {
                LiveEventKind::Aos => "aos",
                LiveEventKind::Los => "los",
            },
            e,
        ));
    }
    out
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PassesQuery {
    /// Window length from now, hours (default 24).
    hours: Option<f64>,
    /// Window start, RFC 3339 (default: now).
    from: Option<String>,
}

/// `GET /orgs/{org}/stations/{id}/passes?hours=&from=`: the station's passes for every
/// assignment, computed by the director's physics off the tick, with the policy's choice.
async fn station_passes(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
    q: Result<Query<PassesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    let id = StationId(path_id(&params, "id")?);
    let Query(q) = q.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let hours = q.hours.unwrap_or(24.0);
    if !(hours > 0.0 && hours <= MAX_PASS_HOURS) {
        return Err(ApiError::bad_request("bad_query", format!("hours must be in (0, {MAX_PASS_HOURS}], got {hours}")));
    }
    let from = match q.from.as_deref() {
        Some(text) => UnixMs::parse_rfc3339(text).map_err(|e| {
            ApiError::bad_request("bad_query", format!("from: {e} (expected RFC 3339, e.g. 2026-11-23T12:00:00Z)"))
        })?,
        None => (state.clock)(),
    };
    let now = (state.clock)();
    if (from.0 - now.0).abs() > MAX_PASS_OFFSET_MS {
        return Err(ApiError::bad_request(
            "bad_query",
            format!(
                "from must be within {} days of now ({now}); SGP4 elements do not reach further",
                MAX_PASS_OFFSET_MS / 86_400_000
            ),
        ));
    }
    let station = state.store.get_station(p.org, id).await?;
    let pairs = state.store.station_campaigns(p.org, id).await?;
    let s = &station.settings;
    let position = GeodeticPosition::new(s.lat_deg, s.lon_deg, s.alt_m)
        .map_err(|e| ApiError::Internal(format!("stored station {id} has an invalid position: {e}")))?;
    let request = PassRequest {
        position,
        station_min_el_deg: s.min_el_deg,
        horizon_mask: s.horizon_mask.clone(),
        from,
        to: from.plus_seconds_f64(hours * 3600.0),
        candidates: pairs
            .iter()
            .map(|(a, c)| PassCandidate {
                assignment: a.id,
                campaign: c.id,
                norad_id: c.settings.norad_id,
                priority: c.settings.priority,
                min_el_deg: c.settings.min_el_deg,
                window_start: c.settings.window_start,
                window_end: c.settings.window_end,
            })
            .collect(),
    };
    let _slot =
        state.live.pass_slots.acquire().await.map_err(|e| ApiError::Internal(format!("pass prediction slots: {e}")))?;
    let director = state.director.clone();
    let (request, mut passes) = tokio::task::spawn_blocking(move || {
        let passes = director.predict_passes(&request);
        (request, passes)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("pass prediction task: {e}")))?;
    let passes = passes.as_mut().map_err(|e| ApiError::NotReady(format!("pass prediction unavailable: {e}")))?;
    mark_policy_choice(passes);
    Ok(Json(json!({
        "station": id,
        "from": request.from,
        "to": request.to,
        "assignments": request.candidates.len(),
        "passes": passes,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
enum StationCommandName {
    /// Hold the station parked: any session stops, nothing is tracked until `resume`.
    Park,
    /// Release a hold: the policy picks the station's passes again.
    Resume,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StationCommandBody {
    command: StationCommandName,
    /// Why (kept in the audit log).
    #[serde(default)]
    reason: String,
}

/// `POST /orgs/{org}/stations/{id}/commands` (operator): park or resume a station.
/// The hold is stored (it survives a director restart), audited with the caller, and
/// the director applies it on its next fleet reload.
async fn station_command(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
    Body(body): Body<StationCommandBody>,
) -> Result<Json<Value>, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    let id = StationId(path_id(&params, "id")?);
    p.require(Role::Operator)?;
    if body.reason.chars().count() > 500 {
        return Err(ApiError::Invalid { field: "reason".into(), reason: "at most 500 characters".into() });
    }
    let held = matches!(body.command, StationCommandName::Park);
    let station = state.store.set_station_hold(&p.actor, p.org, id, held, &body.reason).await?;
    Ok(Json(station_json(&station)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionsQuery {
    station: Option<u64>,
    #[serde(alias = "after")]
    cursor: Option<u64>,
    limit: Option<u32>,
}

/// `GET /orgs/{org}/sessions?station=&cursor=&limit=`: tracking sessions, newest first.
async fn list_sessions(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
    q: Result<Query<SessionsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    let Query(q) = q.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let limit = crate::routes::check_limit(q.limit)?;
    let station = match q.station {
        Some(0) => return Err(ApiError::bad_request("bad_query", "station must be a positive integer id")),
        Some(s) => Some(StationId(s)),
        None => None,
    };
    let page = state.store.list_tracking_sessions(p.org, station, q.cursor, limit).await?;
    Ok(Json(json!({ "items": page.items, "next": page.next })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(assignment: u64, priority: i32, aos: i64, los: i64, max_el_deg: f64) -> PredictedPass {
        PredictedPass {
            assignment: AssignmentId(assignment),
            campaign: CampaignId(assignment),
            norad_id: NoradId::new(25544).unwrap(),
            satellite_name: None,
            priority,
            aos: UnixMs(aos),
            tca: UnixMs((aos + los) / 2),
            los: UnixMs(los),
            max_el_deg,
            aos_az_deg: 0.0,
            los_az_deg: 0.0,
            aos_cut: false,
            los_cut: false,
            chosen: false,
            conflicts_with: vec![],
        }
    }

    #[test]
    fn policy_choice_prefers_priority_then_elevation_and_lists_conflicts() {
        let mut passes = vec![
            pass(1, 1, 0, 600, 80.0),     // overlaps 2 (higher priority) -> not chosen
            pass(2, 5, 300, 900, 10.0),   // highest priority -> chosen
            pass(3, 1, 1000, 1500, 20.0), // overlaps 4 (same priority, higher elevation) -> chosen
            pass(4, 1, 1400, 2000, 15.0), // -> not chosen
            pass(5, 0, 3000, 3600, 5.0),  // alone -> chosen
        ];
        mark_policy_choice(&mut passes);
        let chosen: Vec<bool> = passes.iter().map(|p| p.chosen).collect();
        assert_eq!(chosen, [false, true, true, false, true]);
        assert_eq!(passes[0].conflicts_with, [AssignmentId(2)]);
        assert_eq!(passes[2].conflicts_with, [AssignmentId(4)]);
        assert!(passes[4].conflicts_with.is_empty());
    }

    #[test]
    fn fleet_changes_are_recognised_by_method_and_path() {
        assert!(is_fleet_change(&Method::POST, "/api/v1/orgs/1/stations"));
        assert!(is_fleet_change(&Method::PATCH, "/api/v1/orgs/1/campaigns/3"));
        assert!(is_fleet_change(&Method::DELETE, "/api/v1/orgs/1/assignments/9"));
        assert!(is_fleet_change(&Method::POST, "/api/v1/orgs/1/stations/2/commands"));
        assert!(is_fleet_change(&Method::DELETE, "/api/v1/orgs/1"));
        assert!(!is_fleet_change(&Method::PATCH, "/api/v1/orgs/1"), "a rename changes no fleet");
        assert!(!is_fleet_change(&Method::GET, "/api/v1/orgs/1/stations"));
        assert!(!is_fleet_change(&Method::POST, "/api/v1/orgs/1/api-keys"));
        assert!(!is_fleet_change(&Method::POST, "/api/v1/auth/login"));
    }
}

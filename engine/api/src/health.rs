//! `/healthz`, `/readyz` and `/metrics` (Prometheus text, written by hand).

use crate::{ApiError, AppState};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use talos_core::UnixMs;

/// How long after its last tick the director still counts as alive.
pub const DIRECTOR_STALE_MS: i64 = 2_000;

/// What `/readyz` asks the director (implemented by the binary; no dependency on the tick crate).
pub trait DirectorStatus: Send + Sync {
    /// When the director last completed a tick, if ever.
    fn last_tick(&self) -> Option<UnixMs>;

    /// Appends the director's Prometheus metrics (tick durations, stage timings,
    /// element-set age, catalog fetches) to `/metrics`.
    fn write_metrics(&self, _out: &mut String) {}

    /// Predicts a station's passes (blocking: the API calls it off the async threads).
    fn predict_passes(&self, _request: &crate::PassRequest) -> Result<Vec<crate::PredictedPass>, String> {
        Err("no director is attached to this API".to_owned())
    }
}

const BUCKETS_S: [f64; 8] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Debug, Default)]
struct RouteStats {
    /// Requests by status code.
    by_status: BTreeMap<u16, u64>,
    /// Cumulative counts per bucket of [`BUCKETS_S`].
    buckets: [u64; BUCKETS_S.len()],
    count: u64,
    sum_s: f64,
}

/// Request counts and latency histograms per (method, route).
#[derive(Debug, Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<(String, String), RouteStats>>,
}

impl Metrics {
    fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut routes = self.routes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let s = routes.entry((method.to_owned(), route.to_owned())).or_default();
        *s.by_status.entry(status).or_default() += 1;
        for (i, b) in BUCKETS_S.iter().enumerate() {
            if seconds <= *b {
                s.buckets[i] += 1;
            }
        }
        s.count += 1;
        s.sum_s += seconds;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let routes = self.routes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        out.push_str("# HELP talos_api_requests_total API requests by method, route and status.\n");
        out.push_str("# TYPE talos_api_requests_total counter\n");
        for ((method, route), s) in routes.iter() {
            for (status, n) in &s.by_status {
                let _ = writeln!(
                    out,
                    "talos_api_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP talos_api_request_duration_seconds API request latency by method and route.\n");
        out.push_str("# TYPE talos_api_request_duration_seconds histogram\n");
        for ((method, route), s) in routes.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            for (b, n) in BUCKETS_S.iter().zip(s.buckets) {
                let _ = writeln!(out, "talos_api_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {n}");
            }
            let _ = writeln!(out, "talos_api_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", s.count);
            let _ = writeln!(out, "talos_api_request_duration_seconds_sum{{{labels}}} {}", s.sum_s);
            let _ = writeln!(out, "talos_api_request_duration_seconds_count{{{labels}}} {}", s.count);
        }
        out
    }
}

/// Middleware: counts and times every request under its route template (unmatched: `unmatched`).
pub(crate) async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_owned();
    let method = req.method().to_string();
    let start = Instant::now();
    let response = next.run(req).await;
    metrics.record(&method, &route, response.status().as_u16(), start.elapsed().as_secs_f64());
    response
}

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "alive" }))
}

async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "readyz: store unreachable");
        return Err(ApiError::NotReady("store unreachable".into()));
    }
    let now = (state.clock)();
    match state.director.last_tick() {
        None => Err(ApiError::NotReady("director has not ticked yet".into())),
        Some(t) if now.0 - t.0 > DIRECTOR_STALE_MS => {
            Err(ApiError::NotReady(format!("director last ticked {} ms ago", now.0 - t.0)))
        }
        Some(_) => Ok(Json(json!({ "status": "ready" }))),
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut text = state.metrics.render();
    state.director.write_metrics(&mut text);
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

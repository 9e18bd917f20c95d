//! The OpenAPI 3.1 document, built from one table of the routes [`crate::app`] serves
//! (a test checks each entry is routed, so the table cannot silently drift).

use crate::AppState;
use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

/// Every route: (method, path under the server root, summary, minimum role or `None` when public).
pub const ROUTES: &[(&str, &str, &str)] = &[
    ("get", "/healthz", "Liveness"),
    ("get", "/readyz", "Readiness: store reachable and director ticking"),
    ("get", "/metrics", "Prometheus metrics"),
    ("get", "/api/v1/openapi.json", "This document"),
    ("post", "/api/v1/auth/login", "Log in: session cookie and CSRF token"),
    ("post", "/api/v1/auth/logout", "Log out"),
    ("get", "/api/v1/orgs", "Organizations of the caller"),
    ("get", "/api/v1/orgs/{org}", "One organization"),
    ("patch", "/api/v1/orgs/{org}", "Rename (owner)"),
    ("delete", "/api/v1/orgs/{org}", "Delete with everything it owns (owner)"),
    ("get", "/api/v1/orgs/{org}/members", "Members"),
    ("post", "/api/v1/orgs/{org}/members", "Add an existing user (admin)"),
    ("patch", "/api/v1/orgs/{org}/members/{user}", "Change a member's role (admin)"),
    ("post", "/api/v1/orgs/{org}/api-keys", "Create an API key, shown once (admin)"),
    ("get", "/api/v1/orgs/{org}/stations", "Stations, cursor-paginated"),
    ("post", "/api/v1/orgs/{org}/stations", "Create a station (admin)"),
    ("get", "/api/v1/orgs/{org}/stations/{id}", "One station"),
    ("patch", "/api/v1/orgs/{org}/stations/{id}", "Update a station (admin)"),
    ("delete", "/api/v1/orgs/{org}/stations/{id}", "Delete a station (admin)"),
    ("get", "/api/v1/orgs/{org}/campaigns", "Campaigns, cursor-paginated"),
    ("post", "/api/v1/orgs/{org}/campaigns", "Create a campaign (operator)"),
    ("get", "/api/v1/orgs/{org}/campaigns/{id}", "One campaign"),
    ("patch", "/api/v1/orgs/{org}/campaigns/{id}", "Update a campaign (operator)"),
    ("delete", "/api/v1/orgs/{org}/campaigns/{id}", "Delete a campaign (operator)"),
    ("get", "/api/v1/orgs/{org}/assignments", "Assignments, cursor-paginated"),
    ("post", "/api/v1/orgs/{org}/assignments", "Assign a station to a campaign (operator)"),
    ("get", "/api/v1/orgs/{org}/assignments/{id}", "One assignment"),
    ("delete", "/api/v1/orgs/{org}/assignments/{id}", "Remove an assignment (operator)"),
    ("get", "/api/v1/orgs/{org}/audit", "Audit log, newest first (admin)"),
];

/// Builds the document from [`ROUTES`].
pub fn openapi_document() -> Value {
    let mut paths = Map::new();
    for (method, path, summary) in ROUTES {
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "integer", "minimum": 1 } }))
            .collect();
        let entry = paths.entry((*path).to_owned()).or_insert_with(|| json!({}));
        entry[*method] = json!({
            "summary": summary,
            "parameters": params,
            "responses": {
                "default": { "description": "Error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "200": { "description": "OK" }
            }
        });
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": "TALOS API", "version": env!("CARGO_PKG_VERSION") },
        "paths": paths,
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": { "code": { "type": "string" }, "message": { "type": "string" } }
                }
            },
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } }
        },
        "security": [{ "bearer": [] }]
    })
}

pub(crate) async fn serve(State(_): State<AppState>) -> Json<Value> {
    Json(openapi_document())
}

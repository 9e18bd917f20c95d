//! The OpenAPI 3.1 document, built from one table of the routes [`crate::app`] serves
//! (a test checks each entry is routed, so the table cannot silently drift) and one
//! description per route: what it takes (path and query parameters, body schema), who may
//! call it, and every status it can answer with its schema. The API test suite validates
//! every response it receives against this document, so the schemas cannot drift from
//! what the handlers write either.

use crate::AppState;
use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

/// Every route: (method, path under the server root, summary).
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
    ("delete", "/api/v1/orgs/{org}/members/{user}", "Remove a member; the last owner stays (admin)"),
    ("get", "/api/v1/orgs/{org}/api-keys", "API keys, cursor-paginated, never their secrets (admin)"),
    ("post", "/api/v1/orgs/{org}/api-keys", "Create an API key, shown once (admin)"),
    ("delete", "/api/v1/orgs/{org}/api-keys/{id}", "Revoke an API key at once (admin)"),
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
    ("get", "/api/v1/satellites", "Satellites: the current element set per object, with search"),
    ("get", "/api/v1/satellites/{norad_id}", "One satellite: current mean elements and transmitters"),
    ("get", "/api/v1/satellites/{norad_id}/element-sets", "An object's element sets from every source, newest first"),
    ("get", "/api/v1/orgs/{org}/stations/{id}/passes", "A station's predicted passes with the policy's choice"),
    ("post", "/api/v1/orgs/{org}/stations/{id}/commands", "Park (hold) or resume a station (operator)"),
    ("get", "/api/v1/orgs/{org}/sessions", "Tracking sessions, newest first"),
    ("get", "/api/v1/stream", "Live Server-Sent Events at tick rate for one organization"),
];

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    /// No credentials.
    Public,
    /// A bearer API key, or a session cookie (plus `X-CSRF-Token` on mutations).
    Caller,
    /// A session cookie and its CSRF token only (logout).
    Session,
}

/// The query a route reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QueryKind {
    None,
    /// `cursor` (an id) and `limit`.
    Page,
    /// `search`, `cursor` (a NORAD id) and `limit`.
    Satellites,
    /// `hours` and `from`.
    Passes,
    /// `station`, `cursor` and `limit`.
    Sessions,
    /// `org`.
    Stream,
}

/// What the document says about one route beyond its summary.
#[derive(Debug, Clone, Copy)]
struct Spec {
    auth: Auth,
    query: QueryKind,
    /// Request body schema (a component name), if the route reads one.
    body: Option<&'static str>,
    /// Success status and its schema (a component name; `None`: no body).
    ok: (u16, Option<&'static str>),
    /// Statuses beyond those implied by the path, query, body and auth (role checks,
    /// conflicts, store-side validation, missing rows, rate limits).
    extra: &'static [u16],
}

const fn spec(auth: Auth, ok: (u16, Option<&'static str>)) -> Spec {
    Spec { auth, query: QueryKind::None, body: None, ok, extra: &[] }
}

impl Spec {
    const fn query(mut self, q: QueryKind) -> Self {
        self.query = q;
        self
    }
    const fn body(mut self, schema: &'static str) -> Self {
        self.body = Some(schema);
        self
    }
    const fn extra(mut self, statuses: &'static [u16]) -> Self {
        self.extra = statuses;
        self
    }
}

/// The description of each route of [`ROUTES`]; `None` for a route nobody described yet
/// (the document still lists it, and a test fails until it is described).
fn describe(method: &str, path: &str) -> Option<Spec> {
    use Auth::{Caller, Public, Session};
    use QueryKind::{Page, Passes, Satellites, Sessions, Stream};
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    Some(match (method, path) {
        ("get", "/healthz") => spec(Public, (200, Some("Health"))),
        ("get", "/readyz") => spec(Public, (200, Some("Health"))).extra(&[503]),
        ("get", "/metrics") => spec(Public, (200, None)),
        ("get", "/openapi.json") => spec(Public, (200, Some("OpenApiDocument"))),
        ("post", "/auth/login") => spec(Public, (200, Some("LoginResult"))).body("Login").extra(&[401, 429]),
        ("post", "/auth/logout") => spec(Session, (204, None)),
        ("get", "/orgs") => spec(Caller, (200, Some("OrganizationPage"))),
        ("get", "/orgs/{org}") => spec(Caller, (200, Some("Organization"))),
        ("patch", "/orgs/{org}") => {
            spec(Caller, (200, Some("OrganizationRenamed"))).body("OrganizationRename").extra(&[409])
        }
        ("delete", "/orgs/{org}") => spec(Caller, (204, None)),
        ("get", "/orgs/{org}/members") => spec(Caller, (200, Some("MemberPage"))),
        ("post", "/orgs/{org}/members") => spec(Caller, (201, Some("Member"))).body("MemberAdd").extra(&[409]),
        ("patch", "/orgs/{org}/members/{user}") => {
            spec(Caller, (200, Some("MemberRole"))).body("MemberRoleChange").extra(&[409])
        }
        ("delete", "/orgs/{org}/members/{user}") => spec(Caller, (204, None)).extra(&[409]),
        ("get", "/orgs/{org}/api-keys") => spec(Caller, (200, Some("ApiKeyPage"))).query(Page),
        ("post", "/orgs/{org}/api-keys") => {
            spec(Caller, (201, Some("ApiKeyCreated"))).body("ApiKeyCreate").extra(&[409])
        }
        ("delete", "/orgs/{org}/api-keys/{id}") => spec(Caller, (204, None)),
        ("get", "/orgs/{org}/stations") => spec(Caller, (200, Some("StationPage"))).query(Page),
        ("post", "/orgs/{org}/stations") => spec(Caller, (201, Some("Station"))).body("StationCreate").extra(&[409]),
        ("get", "/orgs/{org}/stations/{id}") => spec(Caller, (200, Some("Station"))),
        ("patch", "/orgs/{org}/stations/{id}") => {
            spec(Caller, (200, Some("Station"))).body("StationPatch").extra(&[409])
        }
        ("delete", "/orgs/{org}/stations/{id}") => spec(Caller, (204, None)),
        ("get", "/orgs/{org}/campaigns") => spec(Caller, (200, Some("CampaignPage"))).query(Page),
        ("post", "/orgs/{org}/campaigns") => spec(Caller, (201, Some("Campaign"))).body("CampaignCreate").extra(&[409]),
        ("get", "/orgs/{org}/campaigns/{id}") => spec(Caller, (200, Some("Campaign"))),
        ("patch", "/orgs/{org}/campaigns/{id}") => {
            spec(Caller, (200, Some("Campaign"))).body("CampaignPatch").extra(&[409])
        }
        ("delete", "/orgs/{org}/campaigns/{id}") => spec(Caller, (204, None)),
        ("get", "/orgs/{org}/assignments") => spec(Caller, (200, Some("AssignmentPage"))).query(Page),
        ("post", "/orgs/{org}/assignments") => {
            spec(Caller, (201, Some("Assignment"))).body("AssignmentCreate").extra(&[409])
        }
        ("get", "/orgs/{org}/assignments/{id}") => spec(Caller, (200, Some("Assignment"))),
        ("delete", "/orgs/{org}/assignments/{id}") => spec(Caller, (204, None)),
        ("get", "/orgs/{org}/audit") => spec(Caller, (200, Some("AuditPage"))).query(Page),
        ("get", "/satellites") => spec(Caller, (200, Some("SatellitePage"))).query(Satellites),
        ("get", "/satellites/{norad_id}") => spec(Caller, (200, Some("SatelliteDetail"))).extra(&[404]),
        ("get", "/satellites/{norad_id}/element-sets") => {
            spec(Caller, (200, Some("ElementSetPage"))).query(Page).extra(&[404])
        }
        ("get", "/orgs/{org}/stations/{id}/passes") => {
            spec(Caller, (200, Some("StationPasses"))).query(Passes).extra(&[503])
        }
        ("post", "/orgs/{org}/stations/{id}/commands") => spec(Caller, (200, Some("Station"))).body("StationCommand"),
        ("get", "/orgs/{org}/sessions") => spec(Caller, (200, Some("TrackingSessionPage"))).query(Sessions),
        ("get", "/stream") => spec(Caller, (200, None)).query(Stream).extra(&[404]),
        _ => return None,
    })
}

/// Routes of [`ROUTES`] without a description (the document is incomplete while any remain).
pub fn undescribed_routes() -> Vec<(&'static str, &'static str)> {
    ROUTES.iter().filter(|(m, p, _)| describe(m, p).is_none()).map(|(m, p, _)| (*m, *p)).collect()
}

/// What each error status means, wherever it is listed.
fn status_description(status: u16) -> &'static str {
    match status {
        400 => {
            "Malformed JSON (`bad_json`), a path id that is not a positive integer (`bad_id`) or a bad query \
                parameter (`bad_query`)"
        }
        401 => "Missing or invalid credentials (`unauthorized`), or a failed login (`invalid_credentials`)",
        403 => {
            "The caller's role does not allow this (`forbidden`), or a cookie-authenticated change without its \
                X-CSRF-Token (`csrf_required`)"
        }
        404 => "Not found, or it belongs to another organization (the two are indistinguishable)",
        409 => {
            "It already exists (`conflict`: a unique name, membership or pair), or the current state forbids it \
                (`refused`, e.g. removing or demoting the last owner)"
        }
        413 => "The body is larger than 64 KiB",
        415 => "The body is not `Content-Type: application/json`",
        422 => {
            "The body does not fit the schema (`invalid_body`: a wrong type, an unknown or missing field) or a value \
                is out of range (`invalid`, naming the field)"
        }
        429 => "Too many login attempts for this email and client; retry in a minute",
        500 => "Internal error; the detail is logged, never returned",
        503 => "Not ready: the store is unreachable or the director is not ticking",
        _ => "Error",
    }
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// Path parameters of `path`, with the ranges the handlers enforce (anything else: 400).
fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            let schema = if name == "norad_id" {
                json!({ "type": "integer", "minimum": 1, "maximum": talos_core::ids::NORAD_ID_MAX })
            } else {
                json!({ "type": "integer", "minimum": 1, "maximum": i64::MAX })
            };
            json!({ "name": name, "in": "path", "required": true, "schema": schema })
        })
        .collect()
}

fn query_parameters(kind: QueryKind) -> Vec<Value> {
    let limit = json!({
        "name": "limit", "in": "query", "required": false,
        "description": format!("Page length (default {})", crate::routes::DEFAULT_PAGE),
        "schema": { "type": "integer", "minimum": 1, "maximum": talos_store::MAX_PAGE }
    });
    let cursor = json!({
        "name": "cursor", "in": "query", "required": false,
        "description": "The previous page's `next` (`after` is read as an older name for it)",
        "schema": { "type": "integer", "minimum": 0, "maximum": u64::MAX }
    });
    match kind {
        QueryKind::None => Vec::new(),
        QueryKind::Passes => vec![
            json!({
                "name": "hours", "in": "query", "required": false,
                "description": format!("Window length from `from`, hours (default 24, at most {})", crate::live::MAX_PASS_HOURS),
                "schema": { "type": "number", "exclusiveMinimum": 0, "maximum": crate::live::MAX_PASS_HOURS }
            }),
            json!({
                "name": "from", "in": "query", "required": false,
                "description": "Window start, RFC 3339, within 30 days of now (default: now)",
                "schema": { "type": "string", "format": "date-time" }
            }),
        ],
        QueryKind::Sessions => vec![
            json!({
                "name": "station", "in": "query", "required": false,
                "description": "Only this station's sessions",
                "schema": { "type": "integer", "minimum": 1, "maximum": i64::MAX }
            }),
            cursor,
            limit,
        ],
        QueryKind::Stream => vec![json!({
            "name": "org", "in": "query", "required": false,
            "description": "The organization to stream (default: the API key's, or the user's only one)",
            "schema": { "type": "integer", "minimum": 1, "maximum": i64::MAX }
        })],
        QueryKind::Page => vec![
            json!({
                "name": "cursor", "in": "query", "required": false,
                "description": "The previous page's `next` (`after` is read as an older name for it)",
                "schema": { "type": "integer", "minimum": 0, "maximum": u64::MAX }
            }),
            limit,
        ],
        QueryKind::Satellites => vec![
            json!({
                "name": "search", "in": "query", "required": false,
                "description": "All digits: that NORAD id exactly; otherwise a case-insensitive substring of the name \
                    or international designator",
                "schema": text_schema(0, crate::satellites::MAX_SEARCH_CHARS)
            }),
            json!({
                "name": "cursor", "in": "query", "required": false,
                "description": "The previous page's `next` (the last NORAD id seen)",
                "schema": { "type": "integer", "minimum": 0, "maximum": talos_core::ids::NORAD_ID_MAX }
            }),
            limit,
        ],
    }
}

/// Every status a route can answer: its own success and extras, plus what its shape implies.
fn statuses(method: &str, path: &str, s: &Spec) -> Vec<u16> {
    let mut out = vec![s.ok.0];
    let mutating = method != "get";
    if path.contains('{') || s.query != QueryKind::None || s.body.is_some() {
        out.push(400);
    }
    if s.auth != Auth::Public {
        out.push(401);
        // Every change can meet a role check or, with a session cookie, a missing CSRF token;
        // two reads are for admins only.
        if mutating || path.ends_with("/audit") || path.ends_with("/api-keys") {
            out.push(403);
        }
        // Any store call can fail inside.
        out.push(500);
    }
    if path.contains('{') {
        out.push(404);
    }
    if s.body.is_some() {
        out.extend([413, 415, 422, 500]);
    }
    out.extend_from_slice(s.extra);
    out.sort_unstable();
    out.dedup();
    out
}

fn security(auth: Auth, mutating: bool) -> Value {
    match auth {
        Auth::Public => json!([]),
        Auth::Session => json!([{ "session": [], "csrf": [] }]),
        Auth::Caller if mutating => json!([{ "bearer": [] }, { "session": [], "csrf": [] }]),
        Auth::Caller => json!([{ "bearer": [] }, { "session": [] }]),
    }
}

fn operation(method: &str, path: &str, summary: &str, s: &Spec) -> Value {
    let mut params = path_parameters(path);
    params.extend(query_parameters(s.query));
    let mut responses = Map::new();
    for status in statuses(method, path, s) {
        let response = if status == s.ok.0 {
            match (s.ok.1, path) {
                (_, "/metrics") => json!({
                    "description": "Prometheus text exposition",
                    "content": { "text/plain": { "schema": { "type": "string" } } }
                }),
                (_, "/api/v1/stream") => json!({
                    "description": "Server-Sent Events, one batch per tick: `tick` (the organization's summary), \
                        `tracking` (its busy stations: commanded az/el, range-rate, Doppler-corrected frequencies), \
                        `aos` and `los` (LiveEvent), `lagged` (frames skipped for a slow client), `error` (the \
                        credentials stopped working; the stream ends)",
                    "content": { "text/event-stream": { "schema": {
                        "description": "One event (OpenAPI 3.1: the schema describes each event of the stream)",
                        "type": "object",
                        "properties": {
                            "event": { "type": "string", "enum": ["tick", "tracking", "aos", "los", "lagged", "error"] },
                            "data": { "type": "string", "contentMediaType": "application/json" },
                            "id": { "type": "string" },
                            "retry": { "type": "integer" }
                        },
                        "required": ["data"]
                    } } }
                }),
                (Some(schema), "/api/v1/auth/login") => json!({
                    "description": "Logged in",
                    "headers": { "Set-Cookie": {
                        "description": "`talos_session=...; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200` (plus \
                            `Secure` behind HTTPS)",
                        "schema": { "type": "string" }
                    } },
                    "content": { "application/json": { "schema": schema_ref(schema) } }
                }),
                (Some(schema), _) => {
                    let mut r = json!({
                        "description": if status == 201 { "Created" } else { "OK" },
                        "content": { "application/json": { "schema": schema_ref(schema) } }
                    });
                    let links = links(method, path);
                    if !links.is_empty() {
                        r["links"] = Value::Object(links);
                    }
                    r
                }
                (None, _) => json!({ "description": "Done, no content" }),
            }
        } else {
            json!({
                "description": status_description(status),
                "content": { "application/json": { "schema": schema_ref("Error") } }
            })
        };
        responses.insert(status.to_string(), response);
    }
    let mutating = method != "get";
    let mut op = json!({
        "summary": summary,
        "operationId": operation_id(method, path),
        "parameters": params,
        "responses": responses,
        "security": security(s.auth, mutating),
    });
    if let Some(body) = s.body {
        op["requestBody"] = json!({
            "required": true,
            "content": { "application/json": { "schema": schema_ref(body) } }
        });
    }
    op
}

/// Where the ids in a success response lead: from a created resource (`id` of the body) or
/// a list (`items/0/...`) to the routes one path parameter further down, with the request's
/// own path parameters passed along; and from a created station or campaign to a new
/// assignment of it.
fn links(method: &str, path: &str) -> Map<String, Value> {
    let mut out = Map::new();
    let creates = method == "post";
    if !(creates || method == "get") {
        return out;
    }
    for (m, target, _) in ROUTES {
        let Some(rest) = target.strip_prefix(path).and_then(|r| r.strip_prefix("/{")) else { continue };
        let Some((param, tail)) = rest.split_once('}') else { continue };
        // The route itself or one literal segment below it (`/satellites/{norad_id}/element-sets`).
        if tail.matches('/').count() > 1 || tail.contains('{') {
            continue;
        }
        let field = match param {
            "org" | "id" => "id",
            other => other,
        };
        let value =
            if creates { format!("$response.body#/{field}") } else { format!("$response.body#/items/0/{field}") };
        let mut parameters = Map::new();
        for p in path_parameters(path) {
            let name = p["name"].as_str().unwrap_or_default().to_owned();
            parameters.insert(name.clone(), json!(format!("$request.path.{name}")));
        }
        parameters.insert(param.to_owned(), json!(value));
        let id = operation_id(m, target);
        out.insert(id.clone(), json!({ "operationId": id, "parameters": parameters }));
    }
    if creates && (path.ends_with("/stations") || path.ends_with("/campaigns")) {
        let field = if path.ends_with("/stations") { "station" } else { "campaign" };
        out.insert(
            "post_orgs_org_assignments".into(),
            json!({
                "operationId": "post_orgs_org_assignments",
                "parameters": { "org": "$request.path.org" },
                "requestBody": { field: "$response.body#/id" }
            }),
        );
    }
    out
}

/// `get /api/v1/orgs/{org}/stations/{id}` -> `get_orgs_org_stations_id`.
fn operation_id(method: &str, path: &str) -> String {
    let tail: Vec<String> = path
        .trim_start_matches("/api/v1")
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_matches(['{', '}']).replace(['-', '.'], "_"))
        .collect();
    format!("{method}_{}", tail.join("_"))
}

/// The whole document.
pub fn openapi_document() -> Value {
    let mut paths = Map::new();
    for (method, path, summary) in ROUTES {
        let entry = paths.entry((*path).to_owned()).or_insert_with(|| json!({}));
        entry[*method] = match describe(method, path) {
            Some(s) => operation(method, path, summary, &s),
            None => json!({
                "summary": summary,
                "parameters": path_parameters(path),
                "responses": { "default": { "description": "Not described yet" } }
            }),
        };
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "TALOS API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Satellite ground-station network controller. Every error is `{code, message}`. \
                Organization-owned resources of another organization answer 404, like missing ones. \
                Times named `*_at` and `window_*` are milliseconds since the Unix epoch (UTC) unless the \
                schema says RFC 3339."
        },
        "paths": paths,
        "components": { "schemas": schemas(), "securitySchemes": security_schemes() },
    })
}

fn security_schemes() -> Value {
    json!({
        "bearer": {
            "type": "http", "scheme": "bearer",
            "description": "An API key `talos_<prefix>_<secret>`, created by POST /api/v1/orgs/{org}/api-keys. Takes \
                precedence over a session cookie."
        },
        "session": {
            "type": "apiKey", "in": "cookie", "name": crate::COOKIE_NAME,
            "description": "The session cookie set by POST /api/v1/auth/login (12 h)."
        },
        "csrf": {
            "type": "apiKey", "in": "header", "name": "X-CSRF-Token",
            "description": "The `csrf_token` of the login response; required with the session cookie on POST, PATCH \
                and DELETE."
        }
    })
}

/// A string the store keeps: no NUL character (PostgreSQL text cannot hold one).
fn text_schema(min: usize, max: usize) -> Value {
    let mut s = json!({ "type": "string", "pattern": "^[^\\u0000]*$" });
    if min > 0 {
        s["minLength"] = json!(min);
    }
    if max < usize::MAX {
        s["maxLength"] = json!(max);
    }
    s
}

/// A station's or campaign's name.
fn name_schema() -> Value {
    merge(&text_schema(1, crate::routes::NAME_CHARS), &json!({ "description": "Unique in the organization" }))
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({ "type": "object", "additionalProperties": false, "required": required, "properties": properties })
}

/// Every key of `properties` required (responses always carry every field).
fn full_object(properties: Value) -> Value {
    let required: Vec<&str> = properties.as_object().map_or(Vec::new(), |m| m.keys().map(String::as_str).collect());
    object(properties.clone(), &required)
}

fn page_of(item: &str) -> Value {
    full_object(json!({
        "items": { "type": "array", "items": schema_ref(item) },
        "next": { "type": ["integer", "null"], "minimum": 1, "description": "Pass as `cursor` for the next page; null \
            on the last" }
    }))
}

fn merge(a: &Value, b: &Value) -> Value {
    let mut out = a.clone();
    if let (Some(o), Some(b)) = (out.as_object_mut(), b.as_object()) {
        o.extend(b.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    out
}

fn id() -> Value {
    json!({ "type": "integer", "minimum": 1 })
}

fn time_ms() -> Value {
    json!({ "type": "integer", "description": "Milliseconds since the Unix epoch (UTC)" })
}

fn station_properties() -> Value {
    let num = |min: Option<f64>, max: Option<f64>, default: f64, what: &str| {
        let mut s = json!({ "type": "number", "default": default, "description": what });
        if let Some(m) = min {
            s["minimum"] = json!(m);
        }
        if let Some(m) = max {
            s["maximum"] = json!(m);
        }
        s
    };
    json!({
        "name": name_schema(),
        "lat_deg": { "type": "number", "minimum": -90, "maximum": 90, "description": "WGS84 latitude" },
        "lon_deg": { "type": "number", "minimum": -180, "maximum": 180, "description": "WGS84 longitude" },
        "alt_m": num(Some(-500.0), Some(9000.0), 0.0, "Height above the WGS84 ellipsoid"),
        "min_el_deg": num(Some(-5.0), Some(90.0), 0.0, "Lowest elevation worth tracking"),
        "horizon_mask": { "description": "Horizon mask, e.g. `[[az_deg, el_deg], ...]`, or null", "default": null },
        "az_min_deg": num(None, None, 0.0, "Rotator azimuth limit; must be below az_max_deg (422 otherwise)"),
        "az_max_deg": num(None, None, 360.0, "Rotator azimuth limit; must be above az_min_deg"),
        "el_min_deg": num(None, None, 0.0, "Rotator elevation limit; must be below el_max_deg (422 otherwise)"),
        "el_max_deg": num(None, None, 90.0, "Rotator elevation limit; must be above el_min_deg"),
        "az_slew_deg_s": { "type": "number", "exclusiveMinimum": 0, "default": 5.0 },
        "el_slew_deg_s": { "type": "number", "exclusiveMinimum": 0, "default": 5.0 },
        "park_az_deg": num(None, None, 0.0, "Park position azimuth"),
        "park_el_deg": num(None, None, 90.0, "Park position elevation"),
        "rig": { "description": "Rig settings (driver, radio model, ...) as any JSON, or null", "default": null },
    })
}

fn campaign_properties() -> Value {
    json!({
        "name": name_schema(),
        "norad_id": { "type": "integer", "minimum": 1, "maximum": talos_core::ids::NORAD_ID_MAX },
        "priority": { "type": "integer", "minimum": i32::MIN, "maximum": i32::MAX, "default": 0 },
        "window_start": { "type": ["integer", "null"], "minimum": i64::MIN, "maximum": i64::MAX, "default": null,
            "description": "Milliseconds since the Unix epoch; must be before window_end when both are set (422 \
                otherwise)" },
        "window_end": { "type": ["integer", "null"], "minimum": i64::MIN, "maximum": i64::MAX, "default": null,
            "description": "Milliseconds since the Unix epoch" },
        "min_el_deg": { "type": "number", "minimum": -5, "maximum": 90, "default": 0 },
        "policy": merge(&text_schema(0, usize::MAX), &json!({ "default": "priority", "description": "A built-in \
            policy or a campaign-policy plugin" })),
        "transmitter_uuids": { "type": "array", "items": text_schema(0, usize::MAX), "default": [],
            "description": "SatNOGS transmitter uuids to tune to" },
    })
}

fn element_set_summary() -> Value {
    json!({
        "norad_id": { "type": "integer", "minimum": 1, "maximum": talos_core::ids::NORAD_ID_MAX },
        "name": { "type": ["string", "null"] },
        "international_designator": { "type": ["string", "null"], "description": "COSPAR id as the source wrote it" },
        "epoch": { "type": "string", "format": "date-time", "description": "RFC 3339, UTC, microseconds" },
        "age_days": { "type": "number", "description": "Days from the epoch to the server's now (negative: epoch \
            ahead)" },
        "source": { "type": "string" },
        "source_priority": { "type": "integer", "description": "Higher wins when several sources have the object" },
        "fetched_at": { "type": "string", "format": "date-time", "description": "RFC 3339, UTC, milliseconds" },
    })
}

fn schemas() -> Value {
    let role = schema_ref("Role");
    let station_out = merge(
        &station_properties(),
        &json!({
            "id": id(),
            "held_since": { "type": ["integer", "null"], "description": "Since when an operator holds it parked" },
            "created_at": time_ms(),
            "updated_at": time_ms()
        }),
    );
    let campaign_out =
        merge(&campaign_properties(), &json!({ "id": id(), "created_at": time_ms(), "updated_at": time_ms() }));
    let element_set = merge(&element_set_summary(), &json!({ "elements": schema_ref("MeanElements") }));
    let entries: Vec<(&str, Value)> = vec![
        (
            "Error",
            merge(
                &full_object(json!({ "code": { "type": "string" }, "message": { "type": "string", "minLength": 1 } })),
                &json!({ "description": "Every error: a stable code and a message naming what was wrong" }),
            ),
        ),
        ("Role", json!({ "type": "string", "enum": ["owner", "admin", "operator", "viewer"] })),
        ("Health", full_object(json!({ "status": { "type": "string", "enum": ["alive", "ready"] } }))),
        ("OpenApiDocument", json!({ "type": "object", "required": ["openapi", "paths"] })),
        (
            "Login",
            object(json!({ "email": { "type": "string" }, "password": { "type": "string" } }), &["email", "password"]),
        ),
        (
            "LoginResult",
            full_object(json!({
                "csrf_token": { "type": "string", "description": "Send as X-CSRF-Token on cookie-authenticated \
                    changes" },
                "user": full_object(json!({ "id": id(), "email": { "type": "string" } })),
            })),
        ),
        ("OrganizationSummary", full_object(json!({ "id": id(), "name": { "type": "string" }, "role": role }))),
        ("OrganizationPage", page_of("OrganizationSummary")),
        (
            "Organization",
            full_object(json!({
                "id": id(), "name": { "type": "string" }, "created_at": time_ms(), "role": role
            })),
        ),
        ("OrganizationRename", object(json!({ "name": text_schema(1, crate::routes::NAME_CHARS) }), &["name"])),
        ("OrganizationRenamed", full_object(json!({ "id": id(), "name": { "type": "string" } }))),
        ("Member", full_object(json!({ "user": id(), "email": { "type": "string" }, "role": role }))),
        ("MemberPage", page_of("Member")),
        (
            "MemberAdd",
            object(json!({ "email": text_schema(0, crate::routes::EMAIL_CHARS), "role": role }), &["email", "role"]),
        ),
        ("MemberRoleChange", object(json!({ "role": role }), &["role"])),
        ("MemberRole", full_object(json!({ "user": id(), "role": role }))),
        (
            "ApiKey",
            full_object(json!({
                "id": id(),
                "prefix": { "type": "string", "description": "Public part of the key: talos_<prefix>_..." },
                "role": { "anyOf": [role, { "type": "null" }], "description": "The role its scopes grant" },
                "scopes": { "type": "array", "items": { "type": "string" } },
                "expires_at": { "type": ["integer", "null"] },
                "last_used_at": { "type": ["integer", "null"] },
                "created_by": { "type": ["integer", "null"], "description": "User id, if a user made it" },
                "created_at": time_ms(),
            })),
        ),
        ("ApiKeyPage", page_of("ApiKey")),
        ("ApiKeyCreate", object(json!({ "role": role }), &["role"])),
        (
            "ApiKeyCreated",
            full_object(json!({
                "id": id(), "prefix": { "type": "string" }, "role": role,
                "key": { "type": "string", "description": "The whole key; shown in this response only" }
            })),
        ),
        ("StationCreate", object(station_properties(), &["name", "lat_deg", "lon_deg"])),
        (
            "StationPatch",
            merge(
                &object(station_properties(), &[]),
                &json!({ "description": "Top-level fields to replace; the result is checked like a create" }),
            ),
        ),
        ("Station", full_object(station_out)),
        (
            "StationCommand",
            object(
                json!({
                    "command": { "type": "string", "enum": ["park", "resume"], "description": "park: hold the station \
                        parked (any session stops) until resume" },
                    "reason": text_schema(0, 500),
                }),
                &["command"],
            ),
        ),
        (
            "PredictedPass",
            full_object(json!({
                "assignment": id(), "campaign": id(), "norad_id": id(),
                "satellite_name": { "type": ["string", "null"] },
                "priority": { "type": "integer" },
                "aos": time_ms(), "tca": time_ms(), "los": time_ms(),
                "max_el_deg": { "type": "number" },
                "aos_az_deg": { "type": "number" }, "los_az_deg": { "type": "number" },
                "aos_cut": { "type": "boolean", "description": "Already up at the window start" },
                "los_cut": { "type": "boolean", "description": "Still up at the window end" },
                "chosen": { "type": "boolean", "description": "The built-in policy (priority, then elevation) \
                    gives the station this pass over those it overlaps" },
                "conflicts_with": { "type": "array", "items": id(), "description": "Assignments of overlapping passes" },
            })),
        ),
        (
            "StationPasses",
            full_object(json!({
                "station": id(), "from": time_ms(), "to": time_ms(),
                "assignments": { "type": "integer", "minimum": 0 },
                "passes": { "type": "array", "items": schema_ref("PredictedPass") },
            })),
        ),
        (
            "TrackingSession",
            full_object(json!({
                "id": id(), "org": id(), "station": id(), "assignment": id(), "norad_id": id(),
                "started_at": time_ms(),
                "ended_at": { "type": ["integer", "null"] },
                "outcome": { "type": "string", "enum": ["in_progress", "completed", "preempted", "held", "removed", "interrupted"] },
            })),
        ),
        ("TrackingSessionPage", page_of("TrackingSession")),
        ("StationPage", page_of("Station")),
        ("CampaignCreate", object(campaign_properties(), &["name", "norad_id"])),
        (
            "CampaignPatch",
            merge(
                &object(campaign_properties(), &[]),
                &json!({ "description": "Top-level fields to replace; the result is checked like a create" }),
            ),
        ),
        ("Campaign", full_object(campaign_out)),
        ("CampaignPage", page_of("Campaign")),
        (
            "AssignmentCreate",
            object(
                json!({
                    "station": { "type": "integer", "minimum": 1, "maximum": i64::MAX },
                    "campaign": { "type": "integer", "minimum": 1, "maximum": i64::MAX }
                }),
                &["station", "campaign"],
            ),
        ),
        (
            "Assignment",
            full_object(json!({
                "id": id(), "station": id(), "campaign": id(), "created_at": time_ms()
            })),
        ),
        ("AssignmentPage", page_of("Assignment")),
        (
            "AuditEntry",
            full_object(json!({
                "id": id(),
                "at": time_ms(),
                "actor": { "type": "string", "description": "`user:<id>`, `key:<prefix>` or `system`" },
                "action": { "type": "string", "description": "Dotted verb, e.g. station.create" },
                "target": { "type": "string", "description": "What was acted on, e.g. station:12" },
                "details": { "description": "Any JSON" },
            })),
        ),
        ("AuditPage", page_of("AuditEntry")),
        ("Satellite", full_object(element_set_summary())),
        ("SatellitePage", page_of("Satellite")),
        (
            "MeanElements",
            full_object(json!({
                "classification": { "type": "string", "minLength": 1, "maxLength": 1 },
                "inclination_deg": { "type": "number" },
                "raan_deg": { "type": "number" },
                "eccentricity": { "type": "number" },
                "arg_perigee_deg": { "type": "number" },
                "mean_anomaly_deg": { "type": "number" },
                "mean_motion_rev_per_day": { "type": "number" },
                "mean_motion_dot": { "type": "number", "description": "rev/day^2, halved as in a TLE" },
                "mean_motion_ddot": { "type": "number", "description": "rev/day^3, divided by six as in a TLE" },
                "bstar": { "type": "number", "description": "1/earth radii" },
                "element_set_number": { "type": "integer", "minimum": 0 },
                "rev_number": { "type": "integer", "minimum": 0 },
                "format": { "type": "string", "enum": ["tle", "omm_json", "omm_xml", "omm_csv"] },
            })),
        ),
        ("ElementSet", full_object(element_set.clone())),
        ("ElementSetPage", page_of("ElementSet")),
        (
            "Transmitter",
            full_object(json!({
                "uuid": { "type": "string" },
                "description": { "type": "string" },
                "downlink_low_hz": { "type": ["integer", "null"] },
                "downlink_high_hz": { "type": ["integer", "null"] },
                "uplink_low_hz": { "type": ["integer", "null"] },
                "uplink_high_hz": { "type": ["integer", "null"] },
                "mode": { "type": ["string", "null"] },
                "invert": { "type": "boolean" },
                "alive": { "type": "boolean" },
                "status": { "type": "string" },
                "updated": { "type": "string", "format": "date-time" },
            })),
        ),
        (
            "SatelliteDetail",
            full_object(merge(
                &element_set,
                &json!({ "transmitters": { "type": "array", "items": schema_ref("Transmitter") } }),
            )),
        ),
    ];
    Value::Object(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

pub(crate) async fn serve(State(_): State<AppState>) -> Json<Value> {
    Json(openapi_document())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_described() {
        assert_eq!(undescribed_routes(), Vec::<(&str, &str)>::new());
    }

    #[test]
    fn every_schema_reference_resolves() {
        let doc = openapi_document();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for part in text.split("#/components/schemas/").skip(1) {
            let name: String = part.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            assert!(schemas.contains_key(&name), "dangling $ref to {name}");
        }
    }

    #[test]
    fn operation_ids_are_unique() {
        let mut ids: Vec<String> = ROUTES.iter().map(|(m, p, _)| operation_id(m, p)).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }
}

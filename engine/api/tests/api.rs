//! The API over HTTP (`oneshot` on `app(state)`), against SQLite and PostgreSQL.

use talos_store::both_backends;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use talos_api::{AppState, DirectorStatus, HashCost, app, hash_password, mint_api_key};
use talos_core::{OrgId, UnixMs};
use talos_store::{Actor, Role, Store};
use tower::ServiceExt;

const ROLES: [Role; 4] = [Role::Owner, Role::Admin, Role::Operator, Role::Viewer];

#[derive(Debug, Default)]
struct Director(Mutex<Option<UnixMs>>);

impl DirectorStatus for Director {
    fn last_tick(&self) -> Option<UnixMs> {
        *self.0.lock().unwrap()
    }
}

struct Tenant {
    org: OrgId,
    /// One API key per role, in [`ROLES`] order.
    keys: Vec<String>,
    station: u64,
    campaign: u64,
    assignment: u64,
    member: u64,
}

struct World {
    app: Router,
    store: Store,
    now: Arc<AtomicI64>,
    director: Arc<Director>,
    a: Tenant,
    b: Tenant,
}

impl World {
    fn key(&self, tenant: &Tenant, role: Role) -> String {
        tenant.keys[ROLES.iter().position(|r| *r == role).unwrap()].clone()
    }
}

async fn tenant(store: &Store, name: &str) -> Tenant {
    let hash = hash_password(HashCost::Light, "correct horse").unwrap();
    let user = store.create_user(&Actor::System, &format!("owner@{name}.example"), &hash).await.unwrap();
    let org = store.create_organization(&Actor::System, name, Some(user.id)).await.unwrap().id;
    let mut keys = Vec::new();
    for role in ROLES {
        let (key, record) = mint_api_key(role, Some(user.id));
        store.create_api_key(&Actor::System, org, &record).await.unwrap();
        keys.push(key);
    }
    Tenant { org, keys, station: 0, campaign: 0, assignment: 0, member: user.id.0 }
}

async fn world(store: Store) -> World {
    let now = Arc::new(AtomicI64::new(1_800_000_000_000));
    let director = Arc::new(Director::default());
    let clock_now = now.clone();
    let mut state =
        AppState::new(store.clone(), director.clone(), Arc::new(move || UnixMs(clock_now.load(Ordering::SeqCst))));
    state.hash_cost = HashCost::Light;
    let app = app(state);
    let mut a = tenant(&store, "alpha").await;
    let mut b = tenant(&store, "bravo").await;
    for t in [&mut a, &mut b] {
        let key = t.keys[0].clone();
        let org = t.org.0;
        let (s, st) = send_raw(
            Some(&app),
            Method::POST,
            format!("/api/v1/orgs/{org}/stations"),
            Some(&key),
            Some(json!({ "name": "roof", "lat_deg": 48.1, "lon_deg": 11.6 }).to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{st}");
        t.station = st["id"].as_u64().unwrap();
        let (s, c) = send_raw(
            Some(&app),
            Method::POST,
            format!("/api/v1/orgs/{org}/campaigns"),
            Some(&key),
            Some(json!({ "name": "iss", "norad_id": 25544 }).to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        t.campaign = c["id"].as_u64().unwrap();
        let (s, asg) = send_raw(
            Some(&app),
            Method::POST,
            format!("/api/v1/orgs/{org}/assignments"),
            Some(&key),
            Some(json!({ "station": t.station, "campaign": t.campaign }).to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{asg}");
        t.assignment = asg["id"].as_u64().unwrap();
    }
    World { app, store, now, director, a, b }
}

/// Sends one request; `body` is sent as `application/json`. Returns status and JSON (or the text as a string).
async fn send_raw(
    app: Option<&Router>,
    method: Method,
    uri: String,
    key: Option<&str>,
    body: Option<String>,
) -> (StatusCode, Value) {
    let Some(app) = app else { return (StatusCode::OK, Value::Null) };
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(key) = key {
        req = req.header("authorization", format!("Bearer {key}"));
    }
    let req = match body {
        Some(b) => req.header("content-type", "application/json").body(Body::from(b)).unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, v)
}

async fn send(w: &World, method: Method, uri: String, key: &str, body: Option<Value>) -> (StatusCode, Value) {
    send_raw(Some(&w.app), method, uri, Some(key), body.map(|b| b.to_string())).await
}

/// Every id-taking route of `t`'s org, with a body valid for it.
fn id_routes(org: u64, t: &Tenant) -> Vec<(Method, String, Option<Value>)> {
    let station = json!({ "name": "x", "lat_deg": 1.0, "lon_deg": 2.0 });
    let campaign = json!({ "name": "x", "norad_id": 25544 });
    let o = format!("/api/v1/orgs/{org}");
    vec![
        (Method::GET, o.clone(), None),
        (Method::PATCH, o.clone(), Some(json!({ "name": "renamed" }))),
        (Method::GET, format!("{o}/members"), None),
        (Method::POST, format!("{o}/members"), Some(json!({ "email": "owner@alpha.example", "role": "viewer" }))),
        (Method::PATCH, format!("{o}/members/{}", t.member), Some(json!({ "role": "viewer" }))),
        (Method::POST, format!("{o}/api-keys"), Some(json!({ "role": "viewer" }))),
        (Method::GET, format!("{o}/stations"), None),
        (Method::POST, format!("{o}/stations"), Some(station.clone())),
        (Method::GET, format!("{o}/stations/{}", t.station), None),
        (Method::PATCH, format!("{o}/stations/{}", t.station), Some(json!({ "name": "y" }))),
        (Method::GET, format!("{o}/campaigns"), None),
        (Method::POST, format!("{o}/campaigns"), Some(campaign)),
        (Method::GET, format!("{o}/campaigns/{}", t.campaign), None),
        (Method::PATCH, format!("{o}/campaigns/{}", t.campaign), Some(json!({ "priority": 3 }))),
        (Method::GET, format!("{o}/assignments"), None),
        (Method::POST, format!("{o}/assignments"), Some(json!({ "station": t.station, "campaign": t.campaign }))),
        (Method::GET, format!("{o}/assignments/{}", t.assignment), None),
        (Method::GET, format!("{o}/audit"), None),
        (Method::DELETE, format!("{o}/assignments/{}", t.assignment), None),
        (Method::DELETE, format!("{o}/campaigns/{}", t.campaign), None),
        (Method::DELETE, format!("{o}/stations/{}", t.station), None),
        (Method::DELETE, o, None),
    ]
}

/// Org A's keys, every role, on every route of org B: 404 `not_found`, nothing written.
async fn cross_tenant_org_is_404_for_every_role(store: Store) {
    let w = world(store).await;
    let audit_before = w.store.count_rows("audit_log").await.unwrap();
    for role in ROLES {
        let key = w.key(&w.a, role);
        for (method, uri, body) in id_routes(w.b.org.0, &w.b) {
            let (status, body) = send(&w, method.clone(), uri.clone(), &key, body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{role:?} {method} {uri}: {body}");
            assert_eq!(body["code"], "not_found", "{role:?} {method} {uri}: {body}");
        }
    }
    assert_eq!(w.store.count_rows("audit_log").await.unwrap(), audit_before);
    assert_eq!(w.store.count_rows("stations").await.unwrap(), 2);
}

/// Org A's keys on org A's path but org B's resource ids: 404 for reads (every role)
/// and for mutations by every role allowed to make them.
async fn cross_tenant_resource_ids_are_404(store: Store) {
    let w = world(store).await;
    let o = format!("/api/v1/orgs/{}", w.a.org);
    let b = &w.b;
    let reads = [
        format!("{o}/stations/{}", b.station),
        format!("{o}/campaigns/{}", b.campaign),
        format!("{o}/assignments/{}", b.assignment),
    ];
    for role in ROLES {
        let key = w.key(&w.a, role);
        for uri in &reads {
            let (status, body) = send(&w, Method::GET, uri.clone(), &key, None).await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{role:?} {uri}");
        }
    }
    let mutations = [
        (Role::Admin, Method::PATCH, format!("{o}/stations/{}", b.station), Some(json!({ "name": "z" }))),
        (Role::Operator, Method::PATCH, format!("{o}/campaigns/{}", b.campaign), Some(json!({ "priority": 9 }))),
        (
            Role::Operator,
            Method::POST,
            format!("{o}/assignments"),
            Some(json!({ "station": b.station, "campaign": w.a.campaign })),
        ),
        (
            Role::Operator,
            Method::POST,
            format!("{o}/assignments"),
            Some(json!({ "station": w.a.station, "campaign": b.campaign })),
        ),
        (Role::Admin, Method::PATCH, format!("{o}/members/{}", b.member), Some(json!({ "role": "viewer" }))),
        (Role::Operator, Method::DELETE, format!("{o}/assignments/{}", b.assignment), None),
        (Role::Operator, Method::DELETE, format!("{o}/campaigns/{}", b.campaign), None),
        (Role::Admin, Method::DELETE, format!("{o}/stations/{}", b.station), None),
    ];
    for role in [Role::Owner, Role::Admin, Role::Operator] {
        let key = w.key(&w.a, role);
        for (min, method, uri, body) in &mutations {
            if talos_rank(role) < talos_rank(*min) {
                continue;
            }
            let (status, resp) = send(&w, method.clone(), uri.clone(), &key, body.clone()).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{role:?} {method} {uri}: {resp}");
        }
    }
    // Org B's rows are untouched.
    let (_, st) =
        send(&w, Method::GET, format!("/api/v1/orgs/{}/stations/{}", b.org, b.station), &w.key(b, Role::Viewer), None)
            .await;
    assert_eq!(st["name"], "roof");
}

fn talos_rank(r: Role) -> u8 {
    match r {
        Role::Owner => 3,
        Role::Admin => 2,
        Role::Operator => 1,
        Role::Viewer => 0,
    }
}

/// A viewer gets 403 `forbidden` on every mutation of its own org, and nothing is written.
async fn viewer_cannot_mutate(store: Store) {
    let w = world(store).await;
    let key = w.key(&w.a, Role::Viewer);
    let audit_before = w.store.count_rows("audit_log").await.unwrap();
    for (method, uri, body) in id_routes(w.a.org.0, &w.a) {
        let (status, resp) = send(&w, method.clone(), uri.clone(), &key, body).await;
        if method == Method::GET {
            if uri.ends_with("/audit") {
                assert_eq!(status, StatusCode::FORBIDDEN, "{uri}");
            } else {
                assert_eq!(status, StatusCode::OK, "{uri}: {resp}");
            }
        } else {
            assert_eq!((status, resp["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{method} {uri}");
        }
    }
    assert_eq!(w.store.count_rows("audit_log").await.unwrap(), audit_before);
    assert_eq!(w.store.count_rows("organizations").await.unwrap(), 2);
}

/// Operators manage campaigns and assignments but not stations, members or keys.
async fn operator_limits(store: Store) {
    let w = world(store).await;
    let key = w.key(&w.a, Role::Operator);
    let o = format!("/api/v1/orgs/{}", w.a.org);
    let (s, _) =
        send(&w, Method::PATCH, format!("{o}/campaigns/{}", w.a.campaign), &key, Some(json!({ "priority": 5 }))).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) =
        send(&w, Method::PATCH, format!("{o}/stations/{}", w.a.station), &key, Some(json!({ "name": "n" }))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = send(&w, Method::POST, format!("{o}/api-keys"), &key, Some(json!({ "role": "viewer" }))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // An admin cannot demote the owner.
    let admin = w.key(&w.a, Role::Admin);
    let uri = format!("{o}/members/{}", w.a.member);
    let (s, _) = send(&w, Method::PATCH, uri.clone(), &admin, Some(json!({ "role": "viewer" }))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, members) = send(&w, Method::GET, format!("{o}/members"), &admin, None).await;
    assert_eq!(members["items"][0]["role"], "owner");
}

/// An admin mints a key (shown once, stored as a SHA-256 hash), which then works; no escalation to owner.
async fn api_keys(store: Store) {
    let w = world(store).await;
    let o = format!("/api/v1/orgs/{}", w.a.org);
    let admin = w.key(&w.a, Role::Admin);
    let (s, resp) = send(&w, Method::POST, format!("{o}/api-keys"), &admin, Some(json!({ "role": "owner" }))).await;
    assert_eq!((s, resp["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    let (s, resp) = send(&w, Method::POST, format!("{o}/api-keys"), &admin, Some(json!({ "role": "operator" }))).await;
    assert_eq!(s, StatusCode::CREATED, "{resp}");
    let key = resp["key"].as_str().unwrap().to_owned();
    let prefix = resp["prefix"].as_str().unwrap();
    let record = w.store.find_api_key_by_prefix(prefix).await.unwrap();
    let secret = key.rsplit_once(&format!("{prefix}_")).unwrap().1;
    assert_eq!(record.key_hash, talos_api::sha256_hex(secret));
    assert!(!record.key_hash.contains(secret));
    assert_eq!(record.last_used_at, None);
    let (s, _) = send(&w, Method::GET, format!("{o}/stations"), &key, None).await;
    assert_eq!(s, StatusCode::OK);
    let used = w.store.find_api_key_by_prefix(prefix).await.unwrap().last_used_at;
    assert_eq!(used, Some(UnixMs(w.now.load(Ordering::SeqCst))));
    // A wrong secret, a garbage header, no header: 401 with one body.
    let wrong = format!("talos_{prefix}_{}", "A".repeat(43));
    for bad in [Some(wrong.as_str()), Some("nonsense"), None] {
        let (s, resp) = send_raw(Some(&w.app), Method::GET, format!("{o}/stations"), bad, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(resp, json!({ "code": "unauthorized", "message": "missing or invalid credentials" }));
    }
    // GET /orgs lists the key's org with its role.
    let (s, resp) = send(&w, Method::GET, "/api/v1/orgs".into(), &key, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(resp["items"][0]["id"], w.a.org.0);
    assert_eq!(resp["items"][0]["role"], "operator");
}

/// Only Argon2id PHC strings are stored for passwords.
async fn password_rows_are_argon2id(store: Store) {
    let w = world(store).await;
    for email in ["owner@alpha.example", "owner@bravo.example"] {
        let user = w.store.find_user_by_email(email).await.unwrap();
        assert!(user.password_hash.starts_with("$argon2id$v=19$"), "{}", user.password_hash);
        assert!(!user.password_hash.contains("correct horse"));
        assert!(talos_api::verify_password(HashCost::Light, "correct horse", &user.password_hash));
    }
}

/// Malformed JSON, wrong types, unknown fields, missing content type, oversize bodies and
/// bad ids: 4xx JSON with a clear message, never 500, nothing written.
async fn bad_input_is_4xx_and_writes_nothing(store: Store) {
    let w = world(store).await;
    let key = w.key(&w.a, Role::Owner);
    let o = format!("/api/v1/orgs/{}", w.a.org);
    let stations = w.store.count_rows("stations").await.unwrap();
    let audit = w.store.count_rows("audit_log").await.unwrap();
    let big = format!("{{\"name\":\"{}\",\"lat_deg\":1,\"lon_deg\":2}}", "x".repeat(70 * 1024));
    let cases: Vec<(Method, String, Option<String>, StatusCode, &str)> = vec![
        (Method::POST, format!("{o}/stations"), Some("{\"name\": ".into()), StatusCode::BAD_REQUEST, "bad_json"),
        (
            Method::POST,
            format!("{o}/stations"),
            Some(r#"{"name":"n","lat_deg":"north","lon_deg":2}"#.into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Method::POST,
            format!("{o}/stations"),
            Some(r#"{"name":"n","lat_deg":1,"lon_deg":2,"admin":true}"#.into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Method::POST,
            format!("{o}/stations"),
            Some(r#"{"name":"n"}"#.into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Method::POST,
            format!("{o}/stations"),
            Some(r#"{"name":"n","lat_deg":95,"lon_deg":2}"#.into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (Method::POST, format!("{o}/stations"), Some(big), StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
        (
            Method::PATCH,
            format!("{o}/stations/{}", w.a.station),
            Some(r#"{"bogus":1}"#.into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Method::PATCH,
            format!("{o}/stations/{}", w.a.station),
            Some(r#"{"lat_deg":[1]}"#.into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Method::POST,
            format!("{o}/campaigns"),
            Some(r#"{"name":"n","norad_id":0}"#.into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (Method::GET, format!("{o}/stations/abc"), None, StatusCode::BAD_REQUEST, "bad_id"),
        (Method::GET, format!("{o}/stations/-1"), None, StatusCode::BAD_REQUEST, "bad_id"),
        (Method::GET, format!("{o}/stations/99999999999999999999"), None, StatusCode::BAD_REQUEST, "bad_id"),
        (Method::GET, "/api/v1/orgs/zero/stations".into(), None, StatusCode::BAD_REQUEST, "bad_id"),
        (Method::GET, format!("{o}/stations?limit=0"), None, StatusCode::BAD_REQUEST, "bad_query"),
        (Method::GET, format!("{o}/stations?after=x"), None, StatusCode::BAD_REQUEST, "bad_query"),
        (Method::GET, format!("{o}/stations?sort=name"), None, StatusCode::BAD_REQUEST, "bad_query"),
    ];
    for (method, uri, body, want, code) in cases {
        let (status, resp) = send_raw(Some(&w.app), method.clone(), uri.clone(), Some(&key), body).await;
        assert_eq!((status, resp["code"].as_str()), (want, Some(code)), "{method} {uri}: {resp}");
        assert!(!resp["message"].as_str().unwrap().is_empty());
    }
    // No content type: 415.
    let req = Request::post(format!("{o}/stations"))
        .header("authorization", format!("Bearer {key}"))
        .body(Body::from(r#"{"name":"n","lat_deg":1,"lon_deg":2}"#))
        .unwrap();
    let resp = w.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(w.store.count_rows("stations").await.unwrap(), stations);
    assert_eq!(w.store.count_rows("audit_log").await.unwrap(), audit);
}

/// `?after=&limit=` walks a list in id order, `next` is null on the last page.
async fn pagination(store: Store) {
    let w = world(store).await;
    let key = w.key(&w.a, Role::Admin);
    let o = format!("/api/v1/orgs/{}", w.a.org);
    for i in 0..4 {
        let (s, _) = send(
            &w,
            Method::POST,
            format!("{o}/stations"),
            &key,
            Some(json!({ "name": format!("s{i}"), "lat_deg": 0, "lon_deg": 0 })),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let mut names = Vec::new();
    let mut after: Option<u64> = None;
    let mut pages = 0;
    loop {
        let uri = match after {
            Some(a) => format!("{o}/stations?limit=2&after={a}"),
            None => format!("{o}/stations?limit=2"),
        };
        let (s, resp) = send(&w, Method::GET, uri, &key, None).await;
        assert_eq!(s, StatusCode::OK);
        pages += 1;
        names.extend(resp["items"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_owned()));
        match resp["next"].as_u64() {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(names, ["roof", "s0", "s1", "s2", "s3"]);
    assert_eq!(pages, 3);
}

/// Mutations leave audit rows naming the key that made them.
async fn audit_rows_name_the_actor(store: Store) {
    let w = world(store).await;
    let key = w.key(&w.a, Role::Operator);
    let o = format!("/api/v1/orgs/{}", w.a.org);
    let (s, _) =
        send(&w, Method::PATCH, format!("{o}/campaigns/{}", w.a.campaign), &key, Some(json!({ "priority": 7 }))).await;
    assert_eq!(s, StatusCode::OK);
    let (s, resp) = send(&w, Method::GET, format!("{o}/audit?limit=1"), &w.key(&w.a, Role::Admin), None).await;
    assert_eq!(s, StatusCode::OK);
    let prefix = key.split('_').nth(1).unwrap();
    assert_eq!(resp["items"][0]["action"], "campaign.update");
    assert_eq!(resp["items"][0]["actor"], format!("key:{prefix}"));
    assert!(resp["next"].is_u64());
}

/// /healthz is alive; /readyz needs the store and a director tick within 2 s.
async fn health_and_readiness(store: Store) {
    let w = world(store).await;
    let (s, resp) = send_raw(Some(&w.app), Method::GET, "/healthz".into(), None, None).await;
    assert_eq!((s, resp), (StatusCode::OK, json!({ "status": "alive" })));
    let (s, resp) = send_raw(Some(&w.app), Method::GET, "/readyz".into(), None, None).await;
    assert_eq!((s, resp["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("not_ready")));
    let now = w.now.load(Ordering::SeqCst);
    *w.director.0.lock().unwrap() = Some(UnixMs(now - 500));
    let (s, _) = send_raw(Some(&w.app), Method::GET, "/readyz".into(), None, None).await;
    assert_eq!(s, StatusCode::OK);
    w.now.store(now + 5_000, Ordering::SeqCst);
    let (s, resp) = send_raw(Some(&w.app), Method::GET, "/readyz".into(), None, None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp["message"].as_str().unwrap().contains("director"), "{resp}");
    let (s, text) = send_raw(Some(&w.app), Method::GET, "/metrics".into(), None, None).await;
    assert_eq!(s, StatusCode::OK);
    let text = text.as_str().unwrap();
    assert!(
        text.contains(r#"talos_api_requests_total{method="POST",route="/api/v1/orgs/{org}/stations",status="201"} 2"#),
        "{text}"
    );
    assert!(text.contains(r#"talos_api_request_duration_seconds_count{method="GET",route="/readyz"} 3"#), "{text}");
}

/// Every route in the OpenAPI table is served (not the fallback, not 405), and the document lists it.
async fn openapi_covers_every_route(store: Store) {
    let w = world(store).await;
    let (s, doc) = send_raw(Some(&w.app), Method::GET, "/api/v1/openapi.json".into(), None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    for (method, path, _) in talos_api::ROUTES {
        assert!(doc["paths"][*path][*method].is_object(), "{method} {path} missing from the document");
        let uri = path.replace("{org}", &w.a.org.0.to_string()).replace("{id}", "1").replace("{user}", "1");
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let (s, resp) = send_raw(Some(&w.app), m, uri, None, None).await;
        assert_ne!(s, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_ne!(resp["message"], "route not found", "{method} {path}");
        assert!(s != StatusCode::NOT_FOUND || resp.is_object(), "{method} {path} fell through: {resp}");
    }
}

both_backends!(
    cross_tenant_org_is_404_for_every_role,
    cross_tenant_resource_ids_are_404,
    viewer_cannot_mutate,
    operator_limits,
    api_keys,
    password_rows_are_argon2id,
    bad_input_is_4xx_and_writes_nothing,
    pagination,
    audit_rows_name_the_actor,
    health_and_readiness,
    openapi_covers_every_route,
);

async fn login_req(w: &World, email: &str, password: &str, ip: &str) -> (StatusCode, Option<String>, Value) {
    let req = Request::post("/api/v1/auth/login")
        .header("content-type", "application/json")
        .extension(axum::extract::ConnectInfo(std::net::SocketAddr::new(ip.parse().unwrap(), 40000)))
        .body(Body::from(json!({ "email": email, "password": password }).to_string()))
        .unwrap();
    let resp = w.app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let cookie = resp.headers().get("set-cookie").map(|c| c.to_str().unwrap().to_owned());
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, cookie, serde_json::from_slice(&bytes).unwrap())
}

async fn cookie_req(
    w: &World,
    method: Method,
    uri: String,
    cookie: &str,
    csrf: Option<&str>,
    body: Option<Value>,
) -> StatusCode {
    let mut req = Request::builder().method(method).uri(uri).header("cookie", cookie);
    if let Some(c) = csrf {
        req = req.header("x-csrf-token", c);
    }
    let req = match body {
        Some(b) => req.header("content-type", "application/json").body(Body::from(b.to_string())).unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    w.app.clone().oneshot(req).await.unwrap().status()
}

/// Login sets an HttpOnly SameSite=Strict cookie and returns a CSRF token; wrong password
/// and unknown email get the same 401 body; cookie mutations need the CSRF token, bearer
/// ones do not; logout ends the session; a new login gives a new session id.
async fn login_sessions_and_csrf(store: Store) {
    let w = world(store).await;
    let email = "owner@alpha.example";
    let (s1, _, wrong) = login_req(&w, email, "wrong", "10.0.0.1").await;
    let (s2, _, unknown) = login_req(&w, "nobody@alpha.example", "wrong", "10.0.0.1").await;
    assert_eq!((s1, s2), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["code"], "invalid_credentials");
    let (s, cookie, body) = login_req(&w, email, "correct horse", "10.0.0.1").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let set = cookie.unwrap();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Secure"), "{set}");
    let cookie = set.split(';').next().unwrap().to_owned();
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();
    assert_eq!(body["user"]["email"], email);
    let o = format!("/api/v1/orgs/{}", w.a.org);
    assert_eq!(cookie_req(&w, Method::GET, format!("{o}/stations"), &cookie, None, None).await, StatusCode::OK);
    // A session on every id-taking route of another org: 404, with or without the CSRF token.
    for (method, uri, body) in id_routes(w.b.org.0, &w.b) {
        let s = cookie_req(&w, method.clone(), uri.clone(), &cookie, Some(&csrf), body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "session {method} {uri}");
    }
    // Not a member of bravo: 404.
    let ob = format!("/api/v1/orgs/{}/stations", w.b.org);
    assert_eq!(cookie_req(&w, Method::GET, ob, &cookie, None, None).await, StatusCode::NOT_FOUND);
    let station = json!({ "name": "cookie", "lat_deg": 1, "lon_deg": 2 });
    let before = w.store.count_rows("stations").await.unwrap();
    let s = cookie_req(&w, Method::POST, format!("{o}/stations"), &cookie, None, Some(station.clone())).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let s = cookie_req(&w, Method::POST, format!("{o}/stations"), &cookie, Some("forged"), Some(station.clone())).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(w.store.count_rows("stations").await.unwrap(), before);
    let s = cookie_req(&w, Method::POST, format!("{o}/stations"), &cookie, Some(&csrf), Some(station.clone())).await;
    assert_eq!(s, StatusCode::CREATED);
    // Bearer mutations need no CSRF token.
    let (s, _) = send(
        &w,
        Method::POST,
        format!("{o}/stations"),
        &w.key(&w.a, Role::Admin),
        Some(json!({ "name": "bearer", "lat_deg": 1, "lon_deg": 2 })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    // A second login renews the session id.
    let (_, cookie2, _) = login_req(&w, email, "correct horse", "10.0.0.2").await;
    let cookie2 = cookie2.unwrap().split(';').next().unwrap().to_owned();
    assert_ne!(cookie, cookie2);
    // Logout ends the session.
    let s = cookie_req(&w, Method::POST, "/api/v1/auth/logout".into(), &cookie2, None, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "logout is a cookie mutation: CSRF required");
    let s = cookie_req(&w, Method::POST, "/api/v1/auth/logout".into(), &cookie, Some(&csrf), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        cookie_req(&w, Method::GET, format!("{o}/stations"), &cookie, None, None).await,
        StatusCode::UNAUTHORIZED
    );
}

/// The sixth login attempt in a minute for one email and client is 429; a minute later it is allowed.
async fn login_rate_limit(store: Store) {
    let w = world(store).await;
    for _ in 0..5 {
        let (s, _, _) = login_req(&w, "owner@alpha.example", "wrong", "10.1.1.1").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, _, body) = login_req(&w, "owner@alpha.example", "correct horse", "10.1.1.1").await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    let (s, _, _) = login_req(&w, "owner@alpha.example", "correct horse", "10.1.1.2").await;
    assert_eq!(s, StatusCode::OK);
    w.now.fetch_add(61_000, Ordering::SeqCst);
    let (s, _, _) = login_req(&w, "owner@alpha.example", "correct horse", "10.1.1.1").await;
    assert_eq!(s, StatusCode::OK);
}

both_backends!(login_sessions_and_csrf, login_rate_limit);

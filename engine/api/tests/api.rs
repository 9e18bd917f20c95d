//! The API over HTTP (`oneshot` on `app(state)`), against SQLite and PostgreSQL.

use talos_store::both_backends;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
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
    /// A viewer key besides [`Tenant::keys`], for the routes that revoke keys by id.
    spare_key: u64,
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
    let (_, record) = mint_api_key(Role::Viewer, Some(user.id));
    let spare_key = store.create_api_key(&Actor::System, org, &record).await.unwrap().id.0;
    Tenant { org, keys, station: 0, campaign: 0, assignment: 0, member: user.id.0, spare_key }
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
    let sent = method.to_string();
    let mut req = Request::builder().method(method).uri(uri.clone());
    if let Some(key) = key {
        req = req.header("authorization", format!("Bearer {key}"));
    }
    let req = match body {
        Some(b) => req.header("content-type", "application/json").body(Body::from(b)).unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let resp = app.clone().oneshot(req).await.unwrap();
    let (status, _, bytes) = conforming(&sent, &uri, resp).await;
    let v = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, v)
}

// ---- every response against the OpenAPI document ----------------------------------------

/// The document, and one compiled validator per (path, method, status, media type).
fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(talos_api::openapi_document)
}

fn validator(key: &str, schema: &Value) -> Arc<jsonschema::Validator> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap();
    cache
        .entry(key.to_owned())
        .or_insert_with(|| {
            // The operation's schema as the root, with the components beside it so that
            // `#/components/schemas/...` resolves.
            let mut root = schema.clone();
            root["components"] = document()["components"].clone();
            let v = jsonschema::draft202012::options().should_validate_formats(true).build(&root);
            Arc::new(v.unwrap_or_else(|e| panic!("{key}: schema does not compile: {e}")))
        })
        .clone()
}

/// The documented path template a request path falls under (the most literal match), if any.
fn template_of(method: &str, path: &str) -> Option<&'static str> {
    let segs: Vec<&str> = path.split('/').collect();
    talos_api::ROUTES
        .iter()
        .filter(|(m, _, _)| m.eq_ignore_ascii_case(method))
        .filter_map(|(_, t, _)| {
            let tsegs: Vec<&str> = t.split('/').collect();
            if tsegs.len() != segs.len() {
                return None;
            }
            let mut literal = 0;
            for (a, b) in tsegs.iter().zip(&segs) {
                if a.starts_with('{') {
                    continue;
                }
                if a != b {
                    return None;
                }
                literal += 1;
            }
            Some((literal, *t))
        })
        .max_by_key(|(l, _)| *l)
        .map(|(_, t)| t)
}

/// Reads a response and checks it against the document: the status is listed for the
/// operation, the media type is the documented one, and a JSON body fits its schema.
/// Routes outside the document (the JSON 404 fallback) are not checked.
async fn conforming(
    method: &str,
    uri: &str,
    resp: axum::response::Response,
) -> (StatusCode, HeaderMapOwned, axum::body::Bytes) {
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let path = uri.split('?').next().unwrap_or(uri);
    let Some(template) = template_of(method, path) else { return (status, headers, bytes) };
    let op = &document()["paths"][template][method.to_ascii_lowercase()];
    let text = String::from_utf8_lossy(&bytes);
    let Some(response) = op["responses"].get(status.as_str()) else {
        panic!("{method} {template}: status {status} is not in the document (body: {text})")
    };
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        assert!(bytes.is_empty(), "{method} {template} {status}: documented without a body, got {text}");
        return (status, headers, bytes);
    };
    let (media, spec) = content
        .iter()
        .find(|(media, _)| content_type.starts_with(media.as_str()))
        .unwrap_or_else(|| panic!("{method} {template} {status}: content type '{content_type}' is not documented"));
    if media == "application/json" {
        let body: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{method} {template} {status}: not JSON ({e}): {text}"));
        let v = validator(&format!("{method} {template} {status}"), &spec["schema"]);
        let errors: Vec<String> = v.iter_errors(&body).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(
            errors.is_empty(),
            "{method} {template} {status}: response does not fit the document: {errors:#?}\n{body:#}"
        );
    }
    (status, headers, bytes)
}

type HeaderMapOwned = axum::http::HeaderMap;

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
        (Method::GET, format!("{o}/api-keys"), None),
        (Method::POST, format!("{o}/api-keys"), Some(json!({ "role": "viewer" }))),
        (Method::GET, format!("{o}/stations"), None),
        (Method::POST, format!("{o}/stations"), Some(station.clone())),
        (Method::GET, format!("{o}/stations/{}", t.station), None),
        (Method::PATCH, format!("{o}/stations/{}", t.station), Some(json!({ "name": "y" }))),
        (Method::POST, format!("{o}/stations/{}/commands", t.station), Some(json!({ "command": "park" }))),
        (Method::POST, format!("{o}/stations/{}/commands", t.station), Some(json!({ "command": "resume" }))),
        (Method::GET, format!("{o}/campaigns"), None),
        (Method::POST, format!("{o}/campaigns"), Some(campaign)),
        (Method::GET, format!("{o}/campaigns/{}", t.campaign), None),
        (Method::PATCH, format!("{o}/campaigns/{}", t.campaign), Some(json!({ "priority": 3 }))),
        (Method::GET, format!("{o}/assignments"), None),
        (Method::POST, format!("{o}/assignments"), Some(json!({ "station": t.station, "campaign": t.campaign }))),
        (Method::GET, format!("{o}/assignments/{}", t.assignment), None),
        (Method::GET, format!("{o}/audit"), None),
        (Method::GET, format!("{o}/sessions"), None),
        (Method::GET, format!("{o}/sessions?station={}&limit=5", t.station), None),
        (Method::DELETE, format!("{o}/api-keys/{}", t.spare_key), None),
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
        (Role::Admin, Method::DELETE, format!("{o}/api-keys/{}", b.spare_key), None),
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
    // Org A's key list holds none of org B's keys.
    let (_, keys) = send(&w, Method::GET, format!("{o}/api-keys"), &w.key(&w.a, Role::Admin), None).await;
    assert!(keys["items"].as_array().unwrap().iter().all(|k| k["id"] != b.spare_key), "{keys}");
    assert!(w.store.get_api_key(b.org, talos_store::ApiKeyId(b.spare_key)).await.is_ok());
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
            if uri.ends_with("/audit") || uri.ends_with("/api-keys") {
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

/// Admins list keys (prefix, role, scopes, times; never a hash or secret) and revoke them:
/// the revoked key answers 401 on its very next request, the revocation is audited, and
/// nobody revokes a key that outranks them.
async fn api_keys_are_listed_without_secrets_and_revoked_at_once(store: Store) {
    let w = world(store).await;
    let o = format!("/api/v1/orgs/{}", w.a.org);
    let admin = w.key(&w.a, Role::Admin);
    let (s, resp) = send(&w, Method::GET, format!("{o}/api-keys?limit=2"), &admin, None).await;
    assert_eq!(s, StatusCode::OK, "{resp}");
    assert_eq!(resp["items"].as_array().unwrap().len(), 2);
    let (_, rest) =
        send(&w, Method::GET, format!("{o}/api-keys?cursor={}", resp["next"].as_u64().unwrap()), &admin, None).await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 3);
    assert!(rest["next"].is_null());
    let text = format!("{resp}{rest}");
    for key in &w.a.keys {
        // `talos_<prefix>_<secret>`; the base64url secret may itself contain '_'.
        let secret = key.splitn(3, '_').nth(2).unwrap();
        assert!(!text.contains(secret), "a secret leaked: {text}");
        let record = w.store.find_api_key_by_prefix(key.split('_').nth(1).unwrap()).await.unwrap();
        assert!(!text.contains(&record.key_hash), "a hash leaked: {text}");
    }
    let first = &resp["items"][0];
    assert_eq!(first["role"], "owner");
    assert_eq!(first["scopes"], json!(["role:owner"]));
    assert_eq!(first["created_by"], w.a.member);
    let (s, _) = send(&w, Method::GET, format!("{o}/api-keys"), &w.key(&w.a, Role::Operator), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // An admin cannot revoke the owner's key; it can revoke the operator's, which stops at once.
    let id_of = |key: &str| {
        let prefix = key.split('_').nth(1).unwrap().to_owned();
        let items = rest["items"].as_array().unwrap().iter().chain(resp["items"].as_array().unwrap());
        items.clone().find(|k| k["prefix"] == prefix.as_str()).unwrap()["id"].as_u64().unwrap()
    };
    let owner_key = w.key(&w.a, Role::Owner);
    let (s, body) = send(&w, Method::DELETE, format!("{o}/api-keys/{}", id_of(&owner_key)), &admin, None).await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    let operator = w.key(&w.a, Role::Operator);
    let (s, _) = send(&w, Method::GET, format!("{o}/stations"), &operator, None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = send(&w, Method::DELETE, format!("{o}/api-keys/{}", id_of(&operator)), &admin, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    for uri in [format!("{o}/stations"), "/api/v1/satellites".to_owned(), "/api/v1/orgs".to_owned()] {
        let (s, body) = send(&w, Method::GET, uri.clone(), &operator, None).await;
        assert_eq!((s, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")), "{uri}");
    }
    let (s, body) = send(&w, Method::DELETE, format!("{o}/api-keys/{}", id_of(&operator)), &admin, None).await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let (_, audit) = send(&w, Method::GET, format!("{o}/audit?limit=1"), &admin, None).await;
    let entry = &audit["items"][0];
    assert_eq!(entry["action"], "api_key.revoke");
    assert_eq!(entry["actor"], format!("key:{}", admin.split('_').nth(1).unwrap()));
    assert_eq!(entry["target"], format!("api_key:{}", operator.split('_').nth(1).unwrap()));
    // A key may revoke itself; it is then gone too.
    let (s, _) = send(&w, Method::DELETE, format!("{o}/api-keys/{}", id_of(&admin)), &admin, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = send(&w, Method::GET, format!("{o}/stations"), &admin, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// The ISS from two sources (the higher priority one current), Hubble, and AO-7's transmitters.
async fn seed_catalog(store: &Store) {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/tle/celestrak_active_2026-05-07.txt"))
            .unwrap();
    let sets = talos_orbit_sets(&text);
    let pick = |id: u32| sets.iter().find(|s| s.norad_id.get() == id).unwrap().clone();
    let (iss, hubble, ao7) = (pick(25544), pick(20580), pick(7530));
    let mut older = iss.clone();
    older.epoch -= chrono::Duration::days(2);
    store
        .upsert_element_sets(&Actor::System, "satnogs", 1, UnixMs(1_700_000_000_000), &[iss.clone(), hubble])
        .await
        .unwrap();
    store.upsert_element_sets(&Actor::System, "celestrak", 10, UnixMs(1_700_000_001_000), &[older, ao7]).await.unwrap();
    let json = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/satnogs/satnogs_transmitters_amateur_2024-09.json"
    ))
    .unwrap();
    store.upsert_transmitters(&Actor::System, &talos_store::parse_satnogs_transmitters(&json).unwrap()).await.unwrap();
}

/// The 3LE records of AO-7, Hubble and the ISS out of the full catalog text.
fn talos_orbit_sets(text: &str) -> Vec<talos_orbit::elements::ElementSet> {
    let lines: Vec<&str> = text.lines().collect();
    let wanted: String = lines
        .windows(3)
        .filter(|w| ["1 07530U", "1 20580U", "1 25544U"].iter().any(|p| w[1].starts_with(p)))
        .map(|w| w.join("\n") + "\n")
        .collect();
    let sets = talos_orbit::elements::parse_catalog(&wanted).unwrap().element_sets;
    assert_eq!(sets.len(), 3);
    sets
}

/// Satellites: any org's key reads the shared catalog, unauthenticated is 401; search by id or
/// name; one satellite with elements and transmitters; its history newest first; 404 and 400.
async fn satellites_are_shared_searchable_and_paged(store: Store) {
    let w = world(store).await;
    seed_catalog(&w.store).await;
    for key in [w.key(&w.a, Role::Viewer), w.key(&w.b, Role::Owner)] {
        let (s, resp) = send(&w, Method::GET, "/api/v1/satellites".into(), &key, None).await;
        assert_eq!(s, StatusCode::OK, "{resp}");
        let ids: Vec<u64> = resp["items"].as_array().unwrap().iter().map(|i| i["norad_id"].as_u64().unwrap()).collect();
        assert_eq!(ids, [7530, 20580, 25544]);
    }
    let (s, resp) = send_raw(Some(&w.app), Method::GET, "/api/v1/satellites".into(), None, None).await;
    assert_eq!((s, resp["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
    let key = w.key(&w.a, Role::Viewer);
    let get = |uri: &str| send(&w, Method::GET, uri.to_owned(), &key, None);
    let (_, resp) = get("/api/v1/satellites?search=zarya").await;
    let iss = &resp["items"][0];
    assert_eq!(resp["items"].as_array().unwrap().len(), 1);
    assert_eq!((iss["norad_id"].as_u64(), iss["source"].as_str()), (Some(25544), Some("celestrak")));
    assert_eq!(iss["source_priority"], 10);
    assert_eq!(iss["fetched_at"], "2023-11-14T22:13:21.000Z");
    // The clock is 2027-01-15T08:00:00Z; the celestrak ISS set is two days older than the file's.
    let age = iss["age_days"].as_f64().unwrap();
    let epoch = chrono::DateTime::parse_from_rfc3339(iss["epoch"].as_str().unwrap()).unwrap();
    let want = (w.now.load(Ordering::SeqCst) - epoch.timestamp_millis()) as f64 / 86_400_000.0;
    assert!((age - want).abs() < 1e-5, "{age} vs {want}");
    let (_, resp) = get("/api/v1/satellites?search=25544").await;
    assert_eq!(resp["items"][0]["norad_id"], 25544);
    let (_, resp) = get("/api/v1/satellites?search=2554").await;
    assert_eq!(resp["items"], json!([]));
    let (_, resp) = get("/api/v1/satellites?search=90037b").await;
    assert_eq!(resp["items"][0]["norad_id"], 20580, "by international designator");
    let (_, resp) = get("/api/v1/satellites?limit=2").await;
    assert_eq!(resp["next"], 20580);
    let (_, resp) = get("/api/v1/satellites?limit=2&cursor=20580").await;
    assert_eq!((resp["items"][0]["norad_id"].as_u64(), resp["next"].as_u64()), (Some(25544), None));

    let (s, ao7) = get("/api/v1/satellites/7530").await;
    assert_eq!(s, StatusCode::OK, "{ao7}");
    assert_eq!(ao7["elements"]["format"], "tle");
    assert!(ao7["elements"]["mean_motion_rev_per_day"].as_f64().unwrap() > 12.0);
    let tx = ao7["transmitters"].as_array().unwrap();
    assert!(!tx.is_empty());
    assert!(tx.iter().any(|t| t["downlink_low_hz"] == 2_304_100_000_i64), "{ao7}");
    let (s, hist) = get("/api/v1/satellites/25544/element-sets?limit=1").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(hist["items"][0]["source"], "satnogs", "the newest epoch first, whatever its priority");
    let (_, rest) = get(&format!("/api/v1/satellites/25544/element-sets?cursor={}", hist["next"])).await;
    assert_eq!((rest["items"][0]["source"].as_str(), rest["next"].as_u64()), (Some("celestrak"), None));
    assert!(rest["items"][0]["epoch"].as_str() < hist["items"][0]["epoch"].as_str());

    for (uri, want, code) in [
        ("/api/v1/satellites/99999", StatusCode::NOT_FOUND, "not_found"),
        ("/api/v1/satellites/99999/element-sets", StatusCode::NOT_FOUND, "not_found"),
        ("/api/v1/satellites/0", StatusCode::BAD_REQUEST, "bad_id"),
        ("/api/v1/satellites/1000000000", StatusCode::BAD_REQUEST, "bad_id"),
        ("/api/v1/satellites/iss", StatusCode::BAD_REQUEST, "bad_id"),
        ("/api/v1/satellites?limit=1001", StatusCode::BAD_REQUEST, "bad_query"),
        ("/api/v1/satellites?cursor=1000000000", StatusCode::BAD_REQUEST, "bad_query"),
        ("/api/v1/satellites?sort=name", StatusCode::BAD_REQUEST, "bad_query"),
        ("/api/v1/satellites?search=%00", StatusCode::BAD_REQUEST, "bad_query"),
        ("/api/v1/satellites/25544/element-sets?limit=0", StatusCode::BAD_REQUEST, "bad_query"),
    ] {
        let (s, resp) = get(uri).await;
        assert_eq!((s, resp["code"].as_str()), (want, Some(code)), "{uri}: {resp}");
    }
    let long = format!("/api/v1/satellites?search={}", "a".repeat(101));
    let (s, resp) = get(&long).await;
    assert_eq!((s, resp["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_query")));
    // LIKE wildcards are literal.
    let (_, resp) = get("/api/v1/satellites?search=%25").await;
    assert_eq!(resp["items"], json!([]));
}

/// Text with a NUL character (which PostgreSQL text cannot hold) is refused with a 4xx that
/// names the field, on both backends, and nothing is written.
async fn nul_characters_are_refused_not_a_500(store: Store) {
    let w = world(store).await;
    let key = w.key(&w.a, Role::Owner);
    let o = format!("/api/v1/orgs/{}", w.a.org);
    let audit = w.store.count_rows("audit_log").await.unwrap();
    for (method, uri, body, field) in [
        (Method::POST, format!("{o}/stations"), json!({ "name": "a\u{0}b", "lat_deg": 1, "lon_deg": 2 }), "name"),
        (Method::PATCH, format!("{o}/stations/{}", w.a.station), json!({ "name": "\u{0}" }), "name"),
        (Method::POST, format!("{o}/campaigns"), json!({ "name": "c", "norad_id": 1, "policy": "\u{0}" }), "policy"),
        (
            Method::POST,
            format!("{o}/campaigns"),
            json!({ "name": "c", "norad_id": 1, "transmitter_uuids": ["\u{0}"] }),
            "transmitter_uuids",
        ),
        (Method::PATCH, o.clone(), json!({ "name": "x\u{0}" }), "name"),
        (Method::POST, format!("{o}/members"), json!({ "email": "a\u{0}@b", "role": "viewer" }), "email"),
    ] {
        let (s, resp) = send(&w, method.clone(), uri.clone(), &key, Some(body)).await;
        assert_eq!(
            (s, resp["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid")),
            "{method} {uri}: {resp}"
        );
        assert!(resp["message"].as_str().unwrap().contains(field), "{resp}");
    }
    let (s, _, body) = login_req(&w, "owner@alpha.example\u{0}", "correct horse", "10.9.9.9").await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_credentials")));
    assert_eq!(w.store.count_rows("audit_log").await.unwrap(), audit);
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
    let cases = cases.into_iter().chain([
        (
            Method::POST,
            format!("{o}/campaigns"),
            Some(r#"{"name":"n","norad_id":25544,"priority":1.5}"#.into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Method::POST,
            format!("{o}/campaigns"),
            Some(r#"{"name":"n","norad_id":25544,"priority":2147483648}"#.into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            Method::POST,
            format!("{o}/assignments"),
            Some(r#"{"station":-1,"campaign":1}"#.into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
    ]);
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
    let (status, _, _) = conforming("POST", &format!("{o}/stations"), resp).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(w.store.count_rows("stations").await.unwrap(), stations);
    assert_eq!(w.store.count_rows("audit_log").await.unwrap(), audit);
}

/// JSON has one number type: an integer field takes `25544.0` (JSON Schema's `integer` allows
/// it), in creates and in PATCH merges alike.
async fn integer_fields_take_integral_floats(store: Store) {
    let w = world(store).await;
    let key = w.key(&w.a, Role::Owner);
    let o = format!("/api/v1/orgs/{}", w.a.org);
    let body =
        json!({ "name": "f", "norad_id": 25544.0, "priority": -3.0, "window_start": 1.0e12, "window_end": null });
    let (s, c) = send(&w, Method::POST, format!("{o}/campaigns"), &key, Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!((c["norad_id"].as_u64(), c["priority"].as_i64()), (Some(25544), Some(-3)));
    assert_eq!(c["window_start"], 1_000_000_000_000_i64);
    let uri = format!("{o}/campaigns/{}", c["id"]);
    let (s, c) = send(&w, Method::PATCH, uri, &key, Some(json!({ "priority": 7.0 }))).await;
    assert_eq!((s, c["priority"].as_i64()), (StatusCode::OK, Some(7)));
    let body = json!({ "station": w.a.station as f64, "campaign": c["id"].as_u64().unwrap() as f64 });
    let (s, a) = send(&w, Method::POST, format!("{o}/assignments"), &key, Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
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
        let uri = path
            .replace("{org}", &w.a.org.0.to_string())
            .replace("{id}", "1")
            .replace("{user}", "1")
            .replace("{norad_id}", "25544");
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
    api_keys_are_listed_without_secrets_and_revoked_at_once,
    satellites_are_shared_searchable_and_paged,
    nul_characters_are_refused_not_a_500,
    password_rows_are_argon2id,
    bad_input_is_4xx_and_writes_nothing,
    integer_fields_take_integral_floats,
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
    let (status, headers, bytes) = conforming("POST", "/api/v1/auth/login", resp).await;
    let cookie = headers.get("set-cookie").map(|c| c.to_str().unwrap().to_owned());
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
    let sent = method.to_string();
    let mut req = Request::builder().method(method).uri(uri.clone()).header("cookie", cookie);
    if let Some(c) = csrf {
        req = req.header("x-csrf-token", c);
    }
    let req = match body {
        Some(b) => req.header("content-type", "application/json").body(Body::from(b.to_string())).unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    conforming(&sent, &uri, w.app.clone().oneshot(req).await.unwrap()).await.0
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
    // Logging out needs a live session (an ended or made-up one: 401) and its CSRF token even
    // beside a bearer key (which stands in for neither).
    let s = cookie_req(&w, Method::POST, "/api/v1/auth/logout".into(), &cookie, Some(&csrf), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "already ended");
    let s = cookie_req(&w, Method::POST, "/api/v1/auth/logout".into(), "talos_session=made-up", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let req = Request::post("/api/v1/auth/logout")
        .header("cookie", &cookie2)
        .header("authorization", format!("Bearer {}", w.key(&w.a, Role::Owner)))
        .body(Body::empty())
        .unwrap();
    let (s, _, _) = conforming("POST", "/api/v1/auth/logout", w.app.clone().oneshot(req).await.unwrap()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(cookie_req(&w, Method::GET, format!("{o}/stations"), &cookie2, None, None).await, StatusCode::OK);
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

// ---- the director's side: operator commands, fleet reloads, sessions, passes, stream ----

use std::time::Duration;
use talos_api::{
    DirectorRequest, LiveEvent, LiveEventKind, LiveFrame, LiveHub, LiveState, LiveStation, PassRequest, PredictedPass,
};
use talos_core::{AssignmentId, CampaignId, NoradId, StationId};
use talos_store::{DirectorCommand, DirectorCommandKind, SessionOutcome};
use tokio::sync::mpsc::error::TryRecvError;

/// A second app on the world's store and clock, with another director behind it.
fn state_with(w: &World, director: Arc<dyn DirectorStatus>) -> AppState {
    let now = w.now.clone();
    let mut state = AppState::new(w.store.clone(), director, Arc::new(move || UnixMs(now.load(Ordering::SeqCst))));
    state.hash_cost = HashCost::Light;
    state
}

fn key_prefix(key: &str) -> &str {
    key.split('_').nth(1).unwrap()
}

/// Operators and above park and resume a station; a second park keeps the first time;
/// the change is audited with the caller; viewers get 403, other orgs' stations 404.
async fn station_commands_park_and_resume(store: Store) {
    let w = world(store).await;
    let o = format!("/api/v1/orgs/{}", w.a.org);
    let uri = format!("{o}/stations/{}/commands", w.a.station);
    let station = StationId(w.a.station);
    for role in [Role::Owner, Role::Admin, Role::Operator] {
        let key = w.key(&w.a, role);
        let (s, parked) =
            send(&w, Method::POST, uri.clone(), &key, Some(json!({ "command": "park", "reason": "lightning" }))).await;
        assert_eq!(s, StatusCode::OK, "{role:?}: {parked}");
        assert_eq!((parked["id"].as_u64(), parked["name"].as_str()), (Some(w.a.station), Some("roof")));
        let since = parked["held_since"].as_i64().unwrap_or_else(|| panic!("{role:?}: {parked}"));
        assert_eq!(w.store.get_station(w.a.org, station).await.unwrap().held_since, Some(UnixMs(since)));
        let (s, again) = send(&w, Method::POST, uri.clone(), &key, Some(json!({ "command": "park" }))).await;
        assert_eq!(
            (s, again["held_since"].as_i64()),
            (StatusCode::OK, Some(since)),
            "{role:?}: a re-park keeps the time"
        );
        let (_, got) = send(&w, Method::GET, format!("{o}/stations/{}", w.a.station), &key, None).await;
        assert_eq!(got["held_since"].as_i64(), Some(since));
        let (s, resumed) = send(&w, Method::POST, uri.clone(), &key, Some(json!({ "command": "resume" }))).await;
        assert_eq!((s, &resumed["held_since"]), (StatusCode::OK, &Value::Null), "{role:?}: {resumed}");
        assert_eq!(w.store.get_station(w.a.org, station).await.unwrap().held_since, None);
    }
    // The audit log names the key that parked and keeps the reason.
    let operator = w.key(&w.a, Role::Operator);
    let (_, log) = send(&w, Method::GET, format!("{o}/audit?limit=3"), &w.key(&w.a, Role::Admin), None).await;
    let actions: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["station.resume", "station.park", "station.park"]);
    let first_park = &log["items"][2];
    assert_eq!(first_park["actor"], format!("key:{}", key_prefix(&operator)));
    assert_eq!(first_park["target"], format!("station:{}", w.a.station));
    assert_eq!(first_park["details"]["reason"], "lightning");
    // A reason of 500 characters (not bytes) is fine.
    let (s, _) =
        send(&w, Method::POST, uri.clone(), &operator, Some(json!({ "command": "park", "reason": "é".repeat(500) })))
            .await;
    assert_eq!(s, StatusCode::OK);
    let since = w.store.get_station(w.a.org, station).await.unwrap().held_since;
    assert!(since.is_some());

    // Viewers may not; another org's station on our path, or our key on theirs: 404.
    let audit = w.store.count_rows("audit_log").await.unwrap();
    let viewer = w.key(&w.a, Role::Viewer);
    for cmd in ["park", "resume"] {
        let (s, resp) = send(&w, Method::POST, uri.clone(), &viewer, Some(json!({ "command": cmd }))).await;
        assert_eq!((s, resp["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "viewer {cmd}");
        let theirs = format!("{o}/stations/{}/commands", w.b.station);
        let (s, resp) = send(&w, Method::POST, theirs, &operator, Some(json!({ "command": cmd }))).await;
        assert_eq!((s, resp["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{cmd} {resp}");
        let their_path = format!("/api/v1/orgs/{}/stations/{}/commands", w.b.org, w.b.station);
        let (s, _) =
            send(&w, Method::POST, their_path, &w.key(&w.a, Role::Owner), Some(json!({ "command": cmd }))).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let missing = format!("{o}/stations/999999/commands");
        let (s, _) = send(&w, Method::POST, missing, &operator, Some(json!({ "command": cmd }))).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    assert_eq!(w.store.count_rows("audit_log").await.unwrap(), audit);
    assert_eq!(w.store.get_station(w.a.org, station).await.unwrap().held_since, since);
    assert_eq!(w.store.get_station(w.b.org, StationId(w.b.station)).await.unwrap().held_since, None);
}

/// Unknown commands, unknown fields, wrong types, malformed JSON, an overlong reason, a
/// missing content type and bad ids: 4xx `{code, message}`, never 500, nothing written.
async fn station_commands_reject_bad_input_with_4xx(store: Store) {
    let w = world(store).await;
    let key = w.key(&w.a, Role::Operator);
    let uri = format!("/api/v1/orgs/{}/stations/{}/commands", w.a.org, w.a.station);
    let audit = w.store.count_rows("audit_log").await.unwrap();
    let cases: Vec<(String, Option<&str>, StatusCode, &str)> = vec![
        (uri.clone(), Some(r#"{"command":"reboot"}"#), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (uri.clone(), Some(r#"{"command":"Park"}"#), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (uri.clone(), Some(r#"{"command":"park","force":true}"#), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (uri.clone(), Some(r#"{"command":"park","reason":7}"#), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        // serde_json reports a null where an enum belongs as a syntax error: 400, still 4xx JSON.
        (uri.clone(), Some(r#"{"command":null}"#), StatusCode::BAD_REQUEST, "bad_json"),
        (uri.clone(), Some(r#"{}"#), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (uri.clone(), Some(r#""park""#), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (uri.clone(), Some(r#"{"command":"park""#), StatusCode::BAD_REQUEST, "bad_json"),
        (uri.clone(), Some(""), StatusCode::BAD_REQUEST, "bad_json"),
        (uri.clone(), None, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        (
            format!("/api/v1/orgs/{}/stations/abc/commands", w.a.org),
            Some(r#"{"command":"park"}"#),
            StatusCode::BAD_REQUEST,
            "bad_id",
        ),
        (
            format!("/api/v1/orgs/{}/stations/0/commands", w.a.org),
            Some(r#"{"command":"park"}"#),
            StatusCode::BAD_REQUEST,
            "bad_id",
        ),
    ];
    let long = json!({ "command": "park", "reason": "x".repeat(501) }).to_string();
    let cases =
        cases.into_iter().chain([(uri.clone(), Some(long.as_str()), StatusCode::UNPROCESSABLE_ENTITY, "invalid")]);
    for (uri, body, want, code) in cases {
        let mut req = Request::post(uri.clone()).header("authorization", format!("Bearer {key}"));
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let resp = w.app.clone().oneshot(req.body(Body::from(body.unwrap_or("").to_owned())).unwrap()).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let v: Value = serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("{body:?}: not JSON: {bytes:?}"));
        assert_eq!((status, v["code"].as_str()), (want, Some(code)), "{uri} {body:?}: {v}");
        assert!(!v["message"].as_str().unwrap().is_empty(), "{v}");
    }
    // A GET on the commands route is not allowed; it is not a 500 either.
    let (s, _) = send(&w, Method::GET, uri.clone(), &key, None).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(w.store.count_rows("audit_log").await.unwrap(), audit);
    assert_eq!(w.store.get_station(w.a.org, StationId(w.a.station)).await.unwrap().held_since, None);
}

/// (method, uri, key, body, status, whether it asks for a reload)
type ReloadStep<'a> = (Method, String, &'a str, Option<String>, StatusCode, bool);

/// Every successful change to stations, campaigns, assignments or holds (and an org's
/// deletion) asks the director to reload; reads, failures and other changes do not.
async fn fleet_changes_ask_the_director_to_reload(store: Store) {
    let w = world(store).await;
    let (hub, mut rx) = LiveHub::new();
    let app = app(state_with(&w, w.director.clone()).with_live(hub));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "the world was built on a detached hub");
    let (a, b) = (&w.a, &w.b);
    let o = format!("/api/v1/orgs/{}", a.org);
    let (owner, admin, operator, viewer) =
        (w.key(a, Role::Owner), w.key(a, Role::Admin), w.key(a, Role::Operator), w.key(a, Role::Viewer));
    let (owner, admin, operator, viewer) = (owner.as_str(), admin.as_str(), operator.as_str(), viewer.as_str());
    let station = json!({ "name": "new", "lat_deg": 1.0, "lon_deg": 2.0 });
    let park = json!({ "command": "park" });
    let cmds = format!("{o}/stations/{}/commands", a.station);
    let steps: Vec<ReloadStep> = vec![
        (Method::GET, format!("{o}/stations"), viewer, None, StatusCode::OK, false),
        (Method::GET, format!("{o}/stations/{}", a.station), viewer, None, StatusCode::OK, false),
        (Method::GET, format!("{o}/sessions"), viewer, None, StatusCode::OK, false),
        (
            Method::GET,
            format!("{o}/stations/{}/passes", a.station),
            viewer,
            None,
            StatusCode::SERVICE_UNAVAILABLE,
            false,
        ),
        (Method::POST, format!("{o}/stations"), admin, Some(station.to_string()), StatusCode::CREATED, true),
        (Method::POST, format!("{o}/stations"), admin, Some(station.to_string()), StatusCode::CONFLICT, false),
        (Method::POST, format!("{o}/stations"), viewer, Some(station.to_string()), StatusCode::FORBIDDEN, false),
        (Method::POST, format!("{o}/stations"), admin, Some("{".into()), StatusCode::BAD_REQUEST, false),
        (
            Method::POST,
            format!("/api/v1/orgs/{}/stations", b.org),
            admin,
            Some(json!({ "name": "x", "lat_deg": 1, "lon_deg": 2 }).to_string()),
            StatusCode::NOT_FOUND,
            false,
        ),
        (
            Method::PATCH,
            format!("{o}/stations/{}", a.station),
            admin,
            Some(json!({ "min_el_deg": 10 }).to_string()),
            StatusCode::OK,
            true,
        ),
        (
            Method::POST,
            format!("{o}/campaigns"),
            operator,
            Some(json!({ "name": "ao-7", "norad_id": 7530 }).to_string()),
            StatusCode::CREATED,
            true,
        ),
        (
            Method::PATCH,
            format!("{o}/campaigns/{}", a.campaign),
            operator,
            Some(json!({ "priority": 4 }).to_string()),
            StatusCode::OK,
            true,
        ),
        (
            Method::PATCH,
            format!("{o}/campaigns/{}", b.campaign),
            operator,
            Some(json!({ "priority": 4 }).to_string()),
            StatusCode::NOT_FOUND,
            false,
        ),
        (Method::POST, cmds.clone(), operator, Some(park.to_string()), StatusCode::OK, true),
        (Method::POST, cmds.clone(), viewer, Some(park.to_string()), StatusCode::FORBIDDEN, false),
        (
            Method::POST,
            cmds.clone(),
            operator,
            Some(r#"{"command":"reboot"}"#.into()),
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
        ),
        (
            Method::POST,
            format!("{o}/stations/{}/commands", b.station),
            operator,
            Some(park.to_string()),
            StatusCode::NOT_FOUND,
            false,
        ),
        (Method::POST, cmds.clone(), operator, Some(json!({ "command": "resume" }).to_string()), StatusCode::OK, true),
        (Method::DELETE, format!("{o}/assignments/{}", a.assignment), operator, None, StatusCode::NO_CONTENT, true),
        (Method::DELETE, format!("{o}/assignments/{}", a.assignment), operator, None, StatusCode::NOT_FOUND, false),
        (
            Method::POST,
            format!("{o}/assignments"),
            operator,
            Some(json!({ "station": a.station, "campaign": a.campaign }).to_string()),
            StatusCode::CREATED,
            true,
        ),
        // Not fleet changes: keys, members, a rename.
        (
            Method::POST,
            format!("{o}/api-keys"),
            admin,
            Some(json!({ "role": "viewer" }).to_string()),
            StatusCode::CREATED,
            false,
        ),
        (Method::PATCH, o.clone(), owner, Some(json!({ "name": "alpha-2" }).to_string()), StatusCode::OK, false),
        (Method::DELETE, format!("{o}/campaigns/{}", a.campaign), operator, None, StatusCode::NO_CONTENT, true),
        (Method::DELETE, format!("{o}/stations/{}", a.station), admin, None, StatusCode::NO_CONTENT, true),
        (Method::DELETE, o.clone(), admin, None, StatusCode::FORBIDDEN, false),
        (Method::DELETE, o.clone(), owner, None, StatusCode::NO_CONTENT, true),
    ];
    for (method, uri, key, body, want, reloads) in steps {
        let (s, resp) = send_raw(Some(&app), method.clone(), uri.clone(), Some(key), body).await;
        assert_eq!(s, want, "{method} {uri}: {resp}");
        if reloads {
            assert_eq!(rx.try_recv(), Ok(DirectorRequest::ReloadFleet), "{method} {uri} asked for no reload");
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "{method} {uri} asked for a reload ({s})");
    }
    // Changes made while a reload is already queued coalesce into it (one slot, nothing lost).
    let ob = format!("/api/v1/orgs/{}", b.org);
    for name in ["q1", "q2", "q3"] {
        let body = json!({ "name": name, "lat_deg": 1, "lon_deg": 2 }).to_string();
        let (s, _) =
            send_raw(Some(&app), Method::POST, format!("{ob}/stations"), Some(&w.key(b, Role::Admin)), Some(body))
                .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    assert_eq!(rx.try_recv(), Ok(DirectorRequest::ReloadFleet));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    // With the director gone, changes still succeed.
    drop(rx);
    let body = json!({ "name": "q4", "lat_deg": 1, "lon_deg": 2 }).to_string();
    let (s, _) =
        send_raw(Some(&app), Method::POST, format!("{ob}/stations"), Some(&w.key(b, Role::Admin)), Some(body)).await;
    assert_eq!(s, StatusCode::CREATED);
}

fn session_cmd(org: OrgId, station: u64, assignment: u64, at: i64, stop: Option<SessionOutcome>) -> DirectorCommand {
    let (assignment, norad_id) = (AssignmentId(assignment), NoradId::new(25544).unwrap());
    DirectorCommand {
        org,
        station: StationId(station),
        at: UnixMs(at),
        kind: match stop {
            None => DirectorCommandKind::SessionStart { assignment, norad_id },
            Some(outcome) => DirectorCommandKind::SessionStop { assignment, norad_id, outcome },
        },
    }
}

/// `GET .../sessions` lists what the director recorded, newest first, by station, with a
/// cursor; bad queries are 400; another org's sessions never show.
async fn tracking_sessions_are_listed_newest_first(store: Store) {
    let w = world(store).await;
    let (a, b) = (&w.a, &w.b);
    let o = format!("/api/v1/orgs/{}", a.org);
    let admin = w.key(a, Role::Admin);
    let (s, second) = send(
        &w,
        Method::POST,
        format!("{o}/stations"),
        &admin,
        Some(json!({ "name": "second", "lat_deg": 1, "lon_deg": 2 })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let second = second["id"].as_u64().unwrap();
    let mut batch = Vec::new();
    for i in 0..5 {
        let on = if i % 2 == 0 { a.station } else { second };
        batch.push(session_cmd(a.org, on, a.assignment, 1_000 * i, None));
        if i < 4 {
            batch.push(session_cmd(a.org, on, a.assignment, 1_000 * i + 600, Some(SessionOutcome::Completed)));
        }
    }
    batch.push(session_cmd(b.org, b.station, b.assignment, 500, None));
    w.store.record_director_commands(&batch).await.unwrap();

    let viewer = w.key(a, Role::Viewer);
    let (s, all) = send(&w, Method::GET, format!("{o}/sessions"), &viewer, None).await;
    assert_eq!(s, StatusCode::OK, "{all}");
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(all["next"], Value::Null);
    assert_eq!(
        items.iter().map(|x| x["started_at"].as_i64().unwrap()).collect::<Vec<_>>(),
        [4_000, 3_000, 2_000, 1_000, 0]
    );
    assert_eq!(
        items[0],
        json!({
            "id": items[0]["id"],
            "org": a.org.0,
            "station": a.station,
            "assignment": a.assignment,
            "norad_id": 25544,
            "started_at": 4_000,
            "ended_at": null,
            "outcome": "in_progress",
        })
    );
    assert_eq!((items[1]["ended_at"].as_i64(), items[1]["outcome"].as_str()), (Some(3_600), Some("completed")));
    assert!(items.iter().all(|x| x["org"] == a.org.0));

    // Pages of two: 2 + 2 + 1, ids decreasing, each seen once.
    let (mut ids, mut after, mut pages) = (Vec::new(), None::<u64>, 0);
    loop {
        let uri = match after {
            Some(c) => format!("{o}/sessions?limit=2&after={c}"),
            None => format!("{o}/sessions?limit=2"),
        };
        let (s, page) = send(&w, Method::GET, uri, &viewer, None).await;
        assert_eq!(s, StatusCode::OK);
        pages += 1;
        ids.extend(page["items"].as_array().unwrap().iter().map(|x| x["id"].as_u64().unwrap()));
        match page["next"].as_u64() {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(ids, items.iter().map(|x| x["id"].as_u64().unwrap()).collect::<Vec<_>>());

    // By station: ours, the second one, and another org's (empty, not an error).
    for (st, want) in [(a.station, vec![4_000, 2_000, 0]), (second, vec![3_000, 1_000]), (b.station, vec![])] {
        let (s, page) = send(&w, Method::GET, format!("{o}/sessions?station={st}"), &viewer, None).await;
        assert_eq!(s, StatusCode::OK);
        let got: Vec<i64> =
            page["items"].as_array().unwrap().iter().map(|x| x["started_at"].as_i64().unwrap()).collect();
        assert_eq!(got, want, "station {st}");
    }
    // Org B sees only its own.
    let (_, theirs) =
        send(&w, Method::GET, format!("/api/v1/orgs/{}/sessions", b.org), &w.key(b, Role::Viewer), None).await;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1);
    assert_eq!(theirs["items"][0]["station"], b.station);

    for q in [
        "limit=0",
        "limit=1001",
        "limit=x",
        "limit=-1",
        "after=x",
        "after=-3",
        "station=0",
        "station=x",
        "station=-1",
        "sort=id",
    ] {
        let (s, resp) = send(&w, Method::GET, format!("{o}/sessions?{q}"), &viewer, None).await;
        assert_eq!((s, resp["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_query")), "{q}: {resp}");
    }
    let (s, resp) = send(&w, Method::GET, format!("{o}/sessions"), &w.key(b, Role::Owner), None).await;
    assert_eq!((s, resp["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let (s, _) = send_raw(Some(&w.app), Method::GET, format!("{o}/sessions"), None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// Without a director, `GET .../passes` is 503 `not_ready` (not 500); a bad window or
/// query is 400; another org's station or credentials 404.
async fn passes_without_a_director_are_not_ready_and_bad_windows_are_400(store: Store) {
    let w = world(store).await;
    let o = format!("/api/v1/orgs/{}", w.a.org);
    let viewer = w.key(&w.a, Role::Viewer);
    let uri = format!("{o}/stations/{}/passes", w.a.station);
    for q in ["", "?hours=1", "?hours=48", "?hours=0.5", "?from=2027-01-10T12:00:00Z&hours=2"] {
        let (s, resp) = send(&w, Method::GET, format!("{uri}{q}"), &viewer, None).await;
        assert_eq!((s, resp["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("not_ready")), "{q}: {resp}");
        assert!(resp["message"].as_str().unwrap().contains("director"), "{resp}");
    }
    for q in [
        "hours=0",
        "hours=-1",
        "hours=49",
        "hours=48.01",
        "hours=x",
        "hours=NaN",
        "hours=inf",
        "hours=",
        "from=yesterday",
        "from=2026-13-01T00:00:00Z",
        "from=2026-11-23T12:00:00Z",
        "from=4462-06-02T17:05:25Z",
        "station=1",
        "hours=1&hours=2",
    ] {
        let (s, resp) = send(&w, Method::GET, format!("{uri}?{q}"), &viewer, None).await;
        assert_eq!((s, resp["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_query")), "{q}: {resp}");
        assert!(!resp["message"].as_str().unwrap().is_empty());
    }
    let their_station = format!("{o}/stations/{}/passes", w.b.station);
    let missing = format!("{o}/stations/999999/passes");
    let their_path = format!("/api/v1/orgs/{}/stations/{}/passes", w.b.org, w.b.station);
    for uri in [their_station, missing, their_path] {
        let (s, resp) = send(&w, Method::GET, uri.clone(), &viewer, None).await;
        assert_eq!((s, resp["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{uri}: {resp}");
    }
    let (s, resp) = send(&w, Method::GET, format!("{o}/stations/x/passes"), &viewer, None).await;
    assert_eq!((s, resp["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_id")));
    let (s, _) = send_raw(Some(&w.app), Method::GET, uri, None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// A director that predicts fixed passes (seconds after the window start) and remembers what it was asked.
#[derive(Default)]
struct FixedPasses(Mutex<Vec<PassRequest>>);

/// (assignment, priority, aos s, los s, max elevation deg)
const FIXED_PASSES: [(u64, i32, i64, i64, f64); 5] = [
    (11, 1, 0, 600, 80.0),     // overlaps 12, which has the higher priority
    (12, 5, 300, 900, 10.0),   // highest priority
    (13, 1, 1000, 1500, 20.0), // overlaps 14, same priority, higher culmination
    (14, 1, 1400, 2000, 15.0),
    (15, 0, 3000, 3600, 5.0), // alone
];

impl DirectorStatus for FixedPasses {
    fn last_tick(&self) -> Option<UnixMs> {
        None
    }

    fn predict_passes(&self, request: &PassRequest) -> Result<Vec<PredictedPass>, String> {
        self.0.lock().unwrap().push(request.clone());
        let at = |s: i64| request.from.plus_ms(s * 1_000);
        Ok(FIXED_PASSES
            .iter()
            .map(|&(assignment, priority, aos, los, max_el_deg)| PredictedPass {
                assignment: AssignmentId(assignment),
                campaign: CampaignId(assignment + 100),
                norad_id: NoradId::new(25544).unwrap(),
                satellite_name: Some("ISS (ZARYA)".into()),
                priority,
                aos: at(aos),
                tca: at((aos + los) / 2),
                los: at(los),
                max_el_deg,
                aos_az_deg: 10.0,
                los_az_deg: 200.0,
                aos_cut: false,
                los_cut: false,
                // Garbage the API must overwrite with the policy's choice.
                chosen: true,
                conflicts_with: vec![AssignmentId(999)],
            })
            .collect())
    }
}

/// With a director, `GET .../passes` hands it the station and its assignments and marks
/// which overlapping passes the built-in policy takes (as `mark_policy_choice` defines).
async fn passes_mark_the_policy_choice_among_overlapping_passes(store: Store) {
    let w = world(store).await;
    let director = Arc::new(FixedPasses::default());
    let app = app(state_with(&w, director.clone()));
    let o = format!("/api/v1/orgs/{}", w.a.org);
    let uri = format!("{o}/stations/{}/passes?hours=6", w.a.station);
    let (s, resp) = send_raw(Some(&app), Method::GET, uri, Some(&w.key(&w.a, Role::Viewer)), None).await;
    assert_eq!(s, StatusCode::OK, "{resp}");
    let now = w.now.load(Ordering::SeqCst);
    assert_eq!(resp["station"], w.a.station);
    assert_eq!((resp["from"].as_i64(), resp["to"].as_i64()), (Some(now), Some(now + 6 * 3_600_000)));
    assert_eq!(resp["assignments"], 1);
    let passes = resp["passes"].as_array().unwrap();
    let marks: Vec<(u64, bool, Vec<u64>)> = passes
        .iter()
        .map(|p| {
            let conflicts = p["conflicts_with"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap()).collect();
            (p["assignment"].as_u64().unwrap(), p["chosen"].as_bool().unwrap(), conflicts)
        })
        .collect();
    assert_eq!(
        marks,
        [(11, false, vec![12]), (12, true, vec![11]), (13, true, vec![14]), (14, false, vec![13]), (15, true, vec![])]
    );
    // The same as the library's own marking of the director's answer.
    let first = director.0.lock().unwrap()[0].clone();
    let mut expected = director.predict_passes(&first).unwrap();
    talos_api::mark_policy_choice(&mut expected);
    assert_eq!(resp["passes"], serde_json::to_value(&expected).unwrap());
    assert_eq!(passes[0]["aos"].as_i64(), Some(now));
    assert_eq!(passes[0]["satellite_name"], "ISS (ZARYA)");

    // What the director was asked: the station's position and mask, its one assignment.
    let asked = director.0.lock().unwrap()[0].clone();
    let station = w.store.get_station(w.a.org, StationId(w.a.station)).await.unwrap();
    let campaign = w.store.get_campaign(w.a.org, CampaignId(w.a.campaign)).await.unwrap();
    assert_eq!((asked.position.lat_deg(), asked.position.lon_deg()), (48.1, 11.6));
    assert_eq!(asked.station_min_el_deg, station.settings.min_el_deg);
    assert_eq!(asked.horizon_mask, station.settings.horizon_mask);
    assert_eq!(asked.candidates.len(), 1);
    let c = &asked.candidates[0];
    assert_eq!(
        (c.assignment, c.campaign, c.norad_id),
        (AssignmentId(w.a.assignment), campaign.id, campaign.settings.norad_id)
    );
    assert_eq!((c.priority, c.min_el_deg), (campaign.settings.priority, campaign.settings.min_el_deg));

    // `from` moves the window; another org's station is still 404 and asks nothing.
    let uri = format!("{o}/stations/{}/passes?from=2027-01-10T12:00:00Z&hours=1", w.a.station);
    let (s, resp) = send_raw(Some(&app), Method::GET, uri, Some(&w.key(&w.a, Role::Viewer)), None).await;
    assert_eq!(s, StatusCode::OK);
    let from = UnixMs::parse_rfc3339("2027-01-10T12:00:00Z").unwrap().0;
    assert_eq!((resp["from"].as_i64(), resp["to"].as_i64()), (Some(from), Some(from + 3_600_000)));
    let uri = format!("{o}/stations/{}/passes", w.b.station);
    let (s, _) = send_raw(Some(&app), Method::GET, uri, Some(&w.key(&w.a, Role::Viewer)), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(director.0.lock().unwrap().len(), 3, "two answered requests and the test's own call");
}

/// Opens `GET /api/v1/stream{query}` with a bearer key (or none) and returns the response.
async fn open_stream(app: &Router, query: &str, key: Option<&str>) -> axum::response::Response {
    let mut req = Request::get(format!("/api/v1/stream{query}"));
    if let Some(key) = key {
        req = req.header("authorization", format!("Bearer {key}"));
    }
    app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap()
}

async fn json_of(resp: axum::response::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Server-sent events as (event, data) pairs; `text` must end on an event boundary.
fn sse_events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut event = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(e) = line.strip_prefix("event: ") {
                    event = e.to_owned();
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data.push_str(d);
                }
            }
            (event, serde_json::from_str(&data).unwrap_or(Value::Null))
        })
        .collect()
}

/// Reads the stream body until `done` holds for its events (5 s guard against a stall).
async fn read_events(body: &mut Body, text: &mut String, done: impl Fn(&[(String, Value)]) -> bool) {
    loop {
        if text.ends_with("\n\n") && done(&sse_events(text)) {
            return;
        }
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .unwrap_or_else(|_| panic!("stream stalled; so far: {text}"))
            .unwrap_or_else(|| panic!("stream ended early; so far: {text}"))
            .unwrap();
        if let Ok(data) = frame.into_data() {
            text.push_str(std::str::from_utf8(&data).unwrap());
        }
    }
}

/// The stream needs credentials and an organization the caller can see.
async fn the_live_stream_needs_credentials_and_an_org_it_can_see(store: Store) {
    let w = world(store).await;
    let key = w.key(&w.a, Role::Viewer);
    let key = key.as_str();
    let cases: Vec<(String, Option<&str>, StatusCode, &str)> = vec![
        (String::new(), None, StatusCode::UNAUTHORIZED, "unauthorized"),
        (format!("?org={}", w.a.org), None, StatusCode::UNAUTHORIZED, "unauthorized"),
        (String::new(), Some("talos_nope_nope"), StatusCode::UNAUTHORIZED, "unauthorized"),
        (format!("?org={}", w.b.org), Some(key), StatusCode::NOT_FOUND, "not_found"),
        ("?org=999999".into(), Some(key), StatusCode::NOT_FOUND, "not_found"),
        ("?org=0".into(), Some(key), StatusCode::BAD_REQUEST, "bad_query"),
        ("?org=-1".into(), Some(key), StatusCode::BAD_REQUEST, "bad_query"),
        ("?org=abc".into(), Some(key), StatusCode::BAD_REQUEST, "bad_query"),
        ("?org=99999999999999999999".into(), Some(key), StatusCode::BAD_REQUEST, "bad_query"),
        ("?org=18446744073709551615".into(), Some(key), StatusCode::BAD_REQUEST, "bad_query"),
        ("?station=1".into(), Some(key), StatusCode::BAD_REQUEST, "bad_query"),
    ];
    for (query, key, want, code) in cases {
        let (s, resp) = json_of(open_stream(&w.app, &query, key).await).await;
        assert_eq!((s, resp["code"].as_str()), (want, Some(code)), "{query} {key:?}: {resp}");
    }
    for query in [String::new(), format!("?org={}", w.a.org)] {
        let resp = open_stream(&w.app, &query, Some(key)).await;
        assert_eq!(resp.status(), StatusCode::OK, "{query}");
        assert_eq!(resp.headers()["content-type"], "text/event-stream", "{query}");
    }
    // A browser session: its only organization by default, another one is 404.
    let (s, cookie, _) = login_req(&w, "owner@alpha.example", "correct horse", "10.9.9.9").await;
    assert_eq!(s, StatusCode::OK);
    let cookie = cookie.unwrap().split(';').next().unwrap().to_owned();
    for (query, want) in [(String::new(), StatusCode::OK), (format!("?org={}", w.b.org), StatusCode::NOT_FOUND)] {
        let req = Request::get(format!("/api/v1/stream{query}")).header("cookie", &cookie).body(Body::empty()).unwrap();
        assert_eq!(w.app.clone().oneshot(req).await.unwrap().status(), want, "session {query}");
    }
    // A member of two organizations must say which.
    w.store.add_member(&Actor::System, w.b.org, talos_store::UserId(w.a.member), Role::Viewer).await.unwrap();
    let req = Request::get("/api/v1/stream").header("cookie", &cookie).body(Body::empty()).unwrap();
    let (s, resp) = json_of(w.app.clone().oneshot(req).await.unwrap()).await;
    assert_eq!((s, resp["code"].as_str()), (StatusCode::BAD_REQUEST, Some("org_required")), "{resp}");
    for org in [w.a.org, w.b.org] {
        let req =
            Request::get(format!("/api/v1/stream?org={org}")).header("cookie", &cookie).body(Body::empty()).unwrap();
        assert_eq!(w.app.clone().oneshot(req).await.unwrap().status(), StatusCode::OK, "session ?org={org}");
    }
}

fn live_station(org: OrgId, station: u64, state: LiveState) -> LiveStation {
    LiveStation {
        org,
        station: StationId(station),
        state,
        norad_id: Some(NoradId::new(25544).unwrap()),
        az_deg: 123.5,
        el_deg: 45.25,
        range_rate_km_s: Some(-3.5),
        downlink_hz: Some(145_800_000.0),
        uplink_hz: None,
    }
}

fn live_event(org: OrgId, kind: LiveEventKind, station: u64, assignment: u64, t: i64) -> LiveEvent {
    LiveEvent {
        org,
        kind,
        station: StationId(station),
        assignment: AssignmentId(assignment),
        norad_id: NoradId::new(25544).unwrap(),
        t: UnixMs(t),
        az_deg: 210.0,
        in_progress: false,
    }
}

/// With an API key and no `org`, the stream is the key's organization: each published
/// frame becomes `tick`, `tracking` (its stations only) and its `aos`/`los` events; a
/// client that fell behind is told it lagged; `hub.close()` ends the stream.
async fn the_live_stream_sends_only_the_callers_org_and_ends_on_close(store: Store) {
    let w = world(store).await;
    let (hub, _rx) = LiveHub::new();
    let app = app(state_with(&w, w.director.clone()).with_live(hub.clone()));
    let (a, b) = (w.a.org, w.b.org);
    let resp = open_stream(&app, "", Some(&w.key(&w.a, Role::Viewer))).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(hub.has_subscribers());
    let mut body = resp.into_body();
    let mut text = String::new();

    let t = 1_800_000_000_500;
    let frame = LiveFrame {
        tick: 7,
        t: UnixMs(t),
        duration_ms: 1.5,
        stations: vec![
            live_station(b, w.b.station, LiveState::Tracking),
            live_station(a, w.a.station, LiveState::Tracking),
            live_station(b, 999_999, LiveState::Prepositioning),
        ],
        events: vec![
            live_event(b, LiveEventKind::Los, w.b.station, w.b.assignment, t),
            live_event(a, LiveEventKind::Aos, w.a.station, w.a.assignment, t),
        ],
    };
    assert_eq!(hub.publish(frame), 1);
    read_events(&mut body, &mut text, |e| e.iter().any(|(name, _)| name == "aos")).await;
    let events = sse_events(&text);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["tick", "tracking", "aos"], "{text}");
    assert_eq!(
        events[0].1,
        json!({
            "tick": 7,
            "t": t,
            "duration_ms": 1.5,
            "stations_tracking": 1,
            "stations_prepositioning": 0,
            "aos": 1,
            "los": 0,
        })
    );
    assert_eq!(
        events[1].1,
        json!({
            "t": t,
            "stations": [{
                "station": w.a.station,
                "state": "tracking",
                "norad_id": 25544,
                "az_deg": 123.5,
                "el_deg": 45.25,
                "range_rate_km_s": -3.5,
                "downlink_hz": 145_800_000.0,
                "uplink_hz": null,
            }],
        })
    );
    assert_eq!(
        events[2].1,
        json!({
            "kind": "aos",
            "station": w.a.station,
            "assignment": w.a.assignment,
            "norad_id": 25544,
            "t": t,
            "az_deg": 210.0,
            "in_progress": false,
        })
    );

    // A frame with nothing of ours: an empty tick and tracking, no events.
    text.clear();
    let frame = LiveFrame {
        tick: 8,
        t: UnixMs(t + 500),
        duration_ms: 1.0,
        stations: vec![live_station(b, w.b.station, LiveState::Prepositioning)],
        events: vec![live_event(b, LiveEventKind::Aos, w.b.station, w.b.assignment, t + 500)],
    };
    hub.publish(frame);
    read_events(&mut body, &mut text, |e| e.iter().any(|(name, _)| name == "tracking")).await;
    let events = sse_events(&text);
    assert_eq!(events.len(), 2, "{text}");
    assert_eq!((events[0].1["tick"].as_u64(), events[0].1["stations_prepositioning"].as_u64()), (Some(8), Some(0)));
    assert_eq!(events[0].1["aos"], 0);
    assert_eq!(events[1].1["stations"], json!([]));

    // Far more frames than the buffer holds before the client reads: `lagged`, then the newest.
    text.clear();
    for tick in 100..140 {
        hub.publish(LiveFrame { tick, t: UnixMs(t + tick as i64), ..LiveFrame::default() });
    }
    let last_t = t + 139;
    read_events(&mut body, &mut text, |e| e.last().is_some_and(|(name, d)| name == "tracking" && d["t"] == last_t))
        .await;
    let events = sse_events(&text);
    assert_eq!(events[0].0, "lagged", "{text}");
    let skipped = events[0].1["skipped"].as_u64().unwrap();
    let ticks: Vec<u64> =
        events.iter().filter(|(n, _)| n == "tick").map(|(_, d)| d["tick"].as_u64().unwrap()).collect();
    assert!(skipped > 0 && skipped as usize + ticks.len() == 40, "skipped {skipped}, got {ticks:?}");
    assert_eq!(ticks, (100 + skipped..140).collect::<Vec<_>>());

    // Closing the hub ends the body.
    hub.close();
    let rest = tokio::time::timeout(Duration::from_secs(5), body.collect()).await.expect("stream did not end on close");
    assert!(rest.unwrap().to_bytes().is_empty());
    assert!(!hub.has_subscribers());
    // A stream opened after close ends at once.
    let resp = open_stream(&app, &format!("?org={a}"), Some(&w.key(&w.a, Role::Viewer))).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let rest = tokio::time::timeout(Duration::from_secs(5), resp.into_body().collect()).await.expect("did not end");
    assert!(rest.unwrap().to_bytes().is_empty());
}

both_backends!(
    station_commands_park_and_resume,
    station_commands_reject_bad_input_with_4xx,
    fleet_changes_ask_the_director_to_reload,
    tracking_sessions_are_listed_newest_first,
    passes_without_a_director_are_not_ready_and_bad_windows_are_400,
    passes_mark_the_policy_choice_among_overlapping_passes,
    the_live_stream_needs_credentials_and_an_org_it_can_see,
    the_live_stream_sends_only_the_callers_org_and_ends_on_close,
);
/// The response check above is not vacuous: a station with a field the document does not
/// list, or without one it requires, or an error without its message, fails it.
#[test]
fn the_document_check_rejects_drifted_responses() {
    let get = &document()["paths"]["/api/v1/orgs/{org}/stations/{id}"]["get"];
    let station = &get["responses"]["200"]["content"]["application/json"]["schema"];
    let v = validator("drift station", station);
    let good = json!({
        "id": 1, "name": "roof", "lat_deg": 1.0, "lon_deg": 2.0, "alt_m": 0.0, "min_el_deg": 0.0,
        "horizon_mask": null, "az_min_deg": 0.0, "az_max_deg": 360.0, "el_min_deg": 0.0, "el_max_deg": 90.0,
        "az_slew_deg_s": 5.0, "el_slew_deg_s": 5.0, "park_az_deg": 0.0, "park_el_deg": 90.0, "rig": null,
        "held_since": null, "created_at": 1, "updated_at": 1
    });
    assert!(v.is_valid(&good), "{:?}", v.iter_errors(&good).map(|e| e.to_string()).collect::<Vec<_>>());
    let mut extra = good.clone();
    extra["agent_credential_hash"] = json!("secret");
    assert!(!v.is_valid(&extra));
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("lat_deg");
    assert!(!v.is_valid(&missing));
    let error = &document()["components"]["schemas"]["Error"];
    let v = validator("drift error", error);
    assert!(v.is_valid(&json!({ "code": "x", "message": "y" })));
    assert!(!v.is_valid(&json!({ "code": "x" })));
}

/// Removing members: admins remove those they outrank or equal, nobody removes or demotes
/// the last owner (409 `refused`, the organization keeps one), another org's member is 404, and the
/// removal is audited.
async fn members_are_removed_but_the_last_owner_stays(store: Store) {
    let w = world(store).await;
    let o = format!("/api/v1/orgs/{}", w.a.org);
    let (owner, admin) = (w.key(&w.a, Role::Owner), w.key(&w.a, Role::Admin));
    let hash = hash_password(HashCost::Light, "correct horse").unwrap();
    let viewer = w.store.create_user(&Actor::System, "viewer@alpha.example", &hash).await.unwrap().id;
    w.store.add_member(&Actor::System, w.a.org, viewer, Role::Viewer).await.unwrap();

    // The sole owner can be neither removed nor demoted, by anyone.
    let (s, resp) = send(&w, Method::DELETE, format!("{o}/members/{}", w.a.member), &owner, None).await;
    assert_eq!((s, resp["code"].as_str()), (StatusCode::CONFLICT, Some("refused")), "{resp}");
    assert!(resp["message"].as_str().unwrap().contains("last owner"), "{resp}");
    let (s, _) =
        send(&w, Method::PATCH, format!("{o}/members/{}", w.a.member), &owner, Some(json!({ "role": "admin" }))).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = send(&w, Method::DELETE, format!("{o}/members/{}", w.a.member), &admin, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "an admin does not remove an owner");

    // Another organization's member, a viewer key, an unknown user: 404, 403, 404.
    let (s, _) = send(&w, Method::DELETE, format!("{o}/members/{}", w.b.member), &owner, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) =
        send(&w, Method::DELETE, format!("{o}/members/{viewer}", viewer = viewer.0), &w.key(&w.a, Role::Viewer), None)
            .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = send(&w, Method::DELETE, format!("{o}/members/999999"), &owner, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // An admin removes the viewer: gone from the list, audited with the key.
    let (s, _) = send(&w, Method::DELETE, format!("{o}/members/{}", viewer.0), &admin, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, members) = send(&w, Method::GET, format!("{o}/members"), &admin, None).await;
    assert!(members["items"].as_array().unwrap().iter().all(|m| m["user"] != viewer.0), "{members}");
    let audit = w.store.list_audit(w.a.org, None, 10).await.unwrap();
    assert!(audit.items.iter().any(|e| e.action == "member.remove" && e.target == format!("user:{}", viewer.0)));

    // With a second owner, the first may step down.
    w.store.add_member(&Actor::System, w.a.org, viewer, Role::Owner).await.unwrap();
    let (s, _) =
        send(&w, Method::PATCH, format!("{o}/members/{}", w.a.member), &owner, Some(json!({ "role": "admin" }))).await;
    assert_eq!(s, StatusCode::OK);
}

both_backends!(members_are_removed_but_the_last_owner_stays);

//! The `/api/v1` routes: org-scoped CRUD, API keys, members, audit.

use crate::auth::{authenticate, parse_role, rank};
use crate::{ApiError, AppState, Principal, mint_api_key};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use talos_core::{AssignmentId, CampaignId, NoradId, OrgId, StationId, UnixMs};
use talos_store::{
    ApiKey, ApiKeyId, Assignment, AuditId, Campaign, NewCampaign, NewStation, Organization, Role, Station, UserId,
};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(crate::openapi::serve))
        .route("/auth/login", post(crate::session::login))
        .route("/auth/logout", post(crate::session::logout))
        .route("/orgs", get(list_orgs))
        .route("/orgs/{org}", get(get_org).patch(rename_org).delete(delete_org))
        .route("/orgs/{org}/members", get(list_members).post(add_member))
        .route("/orgs/{org}/members/{user}", axum::routing::patch(set_role).delete(remove_member))
        .route("/orgs/{org}/api-keys", get(list_api_keys).post(create_api_key))
        .route("/orgs/{org}/api-keys/{id}", axum::routing::delete(revoke_api_key))
        .route("/orgs/{org}/stations", get(list_stations).post(create_station))
        .route("/orgs/{org}/stations/{id}", get(get_station).patch(update_station).delete(delete_station))
        .route("/orgs/{org}/campaigns", get(list_campaigns).post(create_campaign))
        .route("/orgs/{org}/campaigns/{id}", get(get_campaign).patch(update_campaign).delete(delete_campaign))
        .route("/orgs/{org}/assignments", get(list_assignments).post(create_assignment))
        .route("/orgs/{org}/assignments/{id}", get(get_assignment).delete(delete_assignment))
        .route("/orgs/{org}/audit", get(list_audit))
        .route("/satellites", get(crate::satellites::list_satellites))
        .route("/satellites/{norad_id}", get(crate::satellites::get_satellite))
        .route("/satellites/{norad_id}/element-sets", get(crate::satellites::list_element_sets))
        .fallback(|| async { ApiError::NotFound("route".into()) })
}

/// A JSON body whose every rejection (syntax, types, unknown fields, size, content
/// type) becomes an [`ApiError`] with the extractor's message.
#[derive(Debug)]
pub(crate) struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(rejection) => Err(rejection_error(&rejection)),
        }
    }
}

fn rejection_error(rejection: &JsonRejection) -> ApiError {
    ApiError::Rejected { status: rejection.status(), message: rejection.body_text() }
}

/// An integer field of a body. JSON has one number type and JSON Schema's `integer` is any
/// number without a fraction, so `1553.0` is read as 1553; a fraction or a value outside
/// the field's type is refused (422, naming the field).
fn integral<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i128>,
{
    let v = d.deserialize_any(IntegralVisitor)?;
    T::try_from(v).map_err(|_| serde::de::Error::custom(format!("integer {v} is out of range")))
}

/// [`integral`] for an optional field (`null` is `None`).
fn optional_integral<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i128>,
{
    #[derive(Debug)]
    struct Int(i128);
    impl<'de> Deserialize<'de> for Int {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(IntegralVisitor).map(Int)
        }
    }
    match Option::<Int>::deserialize(d)? {
        None => Ok(None),
        Some(Int(v)) => {
            T::try_from(v).map(Some).map_err(|_| serde::de::Error::custom(format!("integer {v} is out of range")))
        }
    }
}

#[derive(Debug)]
struct IntegralVisitor;

impl serde::de::Visitor<'_> for IntegralVisitor {
    type Value = i128;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an integer")
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<i128, E> {
        Ok(i128::from(v))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<i128, E> {
        Ok(i128::from(v))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<i128, E> {
        // Beyond 2^100 no field's type can hold it anyway; the bound keeps the cast exact.
        if v.is_finite() && v.fract() == 0.0 && v.abs() < 2f64.powi(100) {
            Ok(v as i128)
        } else {
            Err(E::invalid_type(serde::de::Unexpected::Float(v), &self))
        }
    }
}

/// Path parameters, read by name so garbage ids get a clear 400.
pub(crate) type Params = Path<HashMap<String, String>>;

pub(crate) fn path_id(params: &HashMap<String, String>, name: &str) -> Result<u64, ApiError> {
    let raw = params.get(name).map_or("", String::as_str);
    raw.parse::<u64>().ok().filter(|v| *v > 0 && i64::try_from(*v).is_ok()).ok_or_else(|| {
        ApiError::bad_request("bad_id", format!("path parameter '{name}' must be a positive integer id, got '{raw}'"))
    })
}

/// Authenticates the caller for the `{org}` of the path.
pub(crate) async fn principal(
    state: &AppState,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<Principal, ApiError> {
    let org = OrgId(path_id(params, "org")?);
    authenticate(state, headers, org).await
}

/// `?cursor=&limit=`; `after` is the older name of `cursor` and still read.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    #[serde(alias = "after")]
    cursor: Option<u64>,
    limit: Option<u32>,
}

/// Default page length when `limit` is not given.
pub(crate) const DEFAULT_PAGE: u32 = 100;

fn page_query(
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<(Option<u64>, u32), ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    Ok((q.cursor, check_limit(q.limit)?))
}

/// `limit` (default [`DEFAULT_PAGE`]) must be 1..=[`talos_store::MAX_PAGE`].
pub(crate) fn check_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > talos_store::MAX_PAGE {
        return Err(ApiError::bad_request("bad_query", format!("limit must be 1..={}", talos_store::MAX_PAGE)));
    }
    Ok(limit)
}

/// Text the store can keep on either backend: no NUL character (PostgreSQL text cannot
/// hold one) and at most `max_chars` characters. The error names the field.
pub(crate) fn check_text(field: &str, value: &str, max_chars: usize) -> Result<(), String> {
    if value.contains('\0') {
        return Err(format!("{field} must not contain a NUL character"));
    }
    if value.chars().count() > max_chars {
        return Err(format!("{field} is longer than {max_chars} characters"));
    }
    Ok(())
}

/// Longest organization, station and campaign name (the schema's limit).
pub(crate) const NAME_CHARS: usize = 200;
/// Longest email (the schema's limit).
pub(crate) const EMAIL_CHARS: usize = 320;

/// [`check_text`] for a body field: 422 `invalid` naming it.
fn body_text(field: &str, value: &str, max_chars: usize) -> Result<(), ApiError> {
    check_text(field, value, max_chars).map_err(|reason| ApiError::Invalid { field: field.to_owned(), reason })
}

fn page<T: Serialize>(items: Vec<T>, next: Option<u64>) -> Json<Value> {
    Json(json!({ "items": items, "next": next }))
}

// ---- organizations -------------------------------------------------------------

/// The organizations the caller may act in, with its role in each: a session's user's
/// memberships, or an API key's one organization (its secret and expiry checked).
pub(crate) async fn caller_orgs(state: &AppState, headers: &HeaderMap) -> Result<Vec<(Organization, Role)>, ApiError> {
    if !headers.contains_key(axum::http::header::AUTHORIZATION)
        && let Some(token) = crate::session::session_token(headers)
    {
        let session = state
            .store
            .find_session(&crate::sha256_hex(&token), (state.clock)())
            .await
            .map_err(|_| ApiError::Unauthorized)?;
        return Ok(state.store.list_user_organizations(session.user).await?);
    }
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer talos_"))
        .and_then(|t| t.split_once('_'))
        .ok_or(ApiError::Unauthorized)?;
    let key = state.store.find_api_key_by_prefix(token.0).await.map_err(|_| ApiError::Unauthorized)?;
    let p = authenticate(state, headers, key.org).await?;
    Ok(vec![(state.store.get_organization(p.org).await?, p.role)])
}

/// The caller's organizations (with an API key: the key's, with the key's role).
async fn list_orgs(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let orgs = caller_orgs(&state, &headers).await?;
    let items: Vec<Value> = orgs.iter().map(|(o, r)| json!({ "id": o.id, "name": o.name, "role": r })).collect();
    Ok(page(items, None))
}

async fn get_org(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
) -> Result<Json<Value>, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    let org = state.store.get_organization(p.org).await?;
    Ok(Json(json!({ "id": org.id, "name": org.name, "created_at": org.created_at.0, "role": p.role })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RenameOrg {
    name: String,
}

async fn rename_org(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
    Body(body): Body<RenameOrg>,
) -> Result<Json<Value>, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    p.require(Role::Owner)?;
    body_text("name", &body.name, NAME_CHARS)?;
    state.store.rename_organization(&p.actor, p.org, &body.name).await?;
    Ok(Json(json!({ "id": p.org, "name": body.name })))
}

async fn delete_org(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
) -> Result<StatusCode, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    p.require(Role::Owner)?;
    state.store.delete_organization(&p.actor, p.org).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- members and API keys -------------------------------------------------------

async fn list_members(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
) -> Result<Json<Value>, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    let members = state.store.list_members(p.org).await?;
    let items: Vec<Value> =
        members.iter().map(|m| json!({ "user": m.user, "email": m.email, "role": m.role })).collect();
    Ok(page(items, None))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddMember {
    email: String,
    role: Role,
}

/// Adds an existing user (by email) to the organization. Only an owner may grant owner.
async fn add_member(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
    Body(body): Body<AddMember>,
) -> Result<impl IntoResponse, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    p.require(Role::Admin)?;
    if rank(body.role) > rank(p.role) {
        return Err(ApiError::Forbidden);
    }
    body_text("email", &body.email, EMAIL_CHARS)?;
    let user = state.store.find_user_by_email(&body.email).await?;
    state.store.add_member(&p.actor, p.org, user.id, body.role).await?;
    Ok((StatusCode::CREATED, Json(json!({ "user": user.id, "email": user.email, "role": body.role }))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetRole {
    role: Role,
}

async fn set_role(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
    Body(body): Body<SetRole>,
) -> Result<Json<Value>, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    let user = UserId(path_id(&params, "user")?);
    p.require(Role::Admin)?;
    if rank(body.role) > rank(p.role) {
        return Err(ApiError::Forbidden);
    }
    // Nobody changes the role of a member who outranks them (an admin cannot demote an owner).
    let members = state.store.list_members(p.org).await?;
    let target = members.iter().find(|m| m.user == user).ok_or_else(|| ApiError::NotFound("member".into()))?;
    if rank(target.role) > rank(p.role) {
        return Err(ApiError::Forbidden);
    }
    state.store.set_role(&p.actor, p.org, user, body.role).await?;
    Ok(Json(json!({ "user": user, "role": body.role })))
}

/// Removes a member (admin); nobody removes a member who outranks them, and the last
/// owner stays (422).
async fn remove_member(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
) -> Result<StatusCode, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    let user = UserId(path_id(&params, "user")?);
    p.require(Role::Admin)?;
    let members = state.store.list_members(p.org).await?;
    let target = members.iter().find(|m| m.user == user).ok_or_else(|| ApiError::NotFound("member".into()))?;
    if rank(target.role) > rank(p.role) {
        return Err(ApiError::Forbidden);
    }
    state.store.remove_member(&p.actor, p.org, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateKey {
    role: String,
}

/// Creates an API key; the full key is in this response only.
async fn create_api_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
    Body(body): Body<CreateKey>,
) -> Result<impl IntoResponse, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    p.require(Role::Admin)?;
    let role = parse_role(&body.role)
        .ok_or_else(|| ApiError::Invalid { field: "role".into(), reason: "owner, admin, operator or viewer".into() })?;
    if rank(role) > rank(p.role) {
        return Err(ApiError::Forbidden);
    }
    let created_by = match &p.actor {
        talos_store::Actor::User(u) => Some(*u),
        _ => None,
    };
    let (key, record) = mint_api_key(role, created_by);
    let stored = state.store.create_api_key(&p.actor, p.org, &record).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": stored.id, "prefix": stored.prefix, "role": role, "key": key }))))
}

/// The organization's API keys (never their hashes), by id.
async fn list_api_keys(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    p.require(Role::Admin)?;
    let (after, limit) = page_query(q)?;
    let pg = state.store.list_api_keys(p.org, after.map(ApiKeyId), limit).await?;
    Ok(page(pg.items.iter().map(api_key_json).collect(), pg.next.map(|i| i.0)))
}

fn key_role(k: &ApiKey) -> Option<Role> {
    k.scopes.iter().find_map(|s| s.strip_prefix("role:").and_then(parse_role))
}

fn api_key_json(k: &ApiKey) -> Value {
    json!({
        "id": k.id,
        "prefix": k.prefix,
        "role": key_role(k),
        "scopes": k.scopes,
        "expires_at": k.expires_at.map(|t| t.0),
        "last_used_at": k.last_used_at.map(|t| t.0),
        "created_by": k.created_by,
        "created_at": k.created_at.0,
    })
}

/// Revokes an API key at once (admin; a key whose role outranks the caller's: 403).
async fn revoke_api_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
) -> Result<StatusCode, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    let id = ApiKeyId(path_id(&params, "id")?);
    p.require(Role::Admin)?;
    let key = state.store.get_api_key(p.org, id).await?;
    if rank(key_role(&key).unwrap_or(Role::Viewer)) > rank(p.role) {
        return Err(ApiError::Forbidden);
    }
    state.store.revoke_api_key(&p.actor, p.org, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- stations ----------------------------------------------------------------------

/// A station as the API reads and writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StationBody {
    name: String,
    lat_deg: f64,
    lon_deg: f64,
    #[serde(default)]
    alt_m: f64,
    #[serde(default)]
    min_el_deg: f64,
    #[serde(default)]
    horizon_mask: Option<Value>,
    #[serde(default)]
    az_min_deg: f64,
    #[serde(default = "d360")]
    az_max_deg: f64,
    #[serde(default)]
    el_min_deg: f64,
    #[serde(default = "d90")]
    el_max_deg: f64,
    #[serde(default = "d5")]
    az_slew_deg_s: f64,
    #[serde(default = "d5")]
    el_slew_deg_s: f64,
    #[serde(default)]
    park_az_deg: f64,
    #[serde(default = "d90")]
    park_el_deg: f64,
    #[serde(default)]
    rig: Option<Value>,
}

fn d360() -> f64 {
    360.0
}
fn d90() -> f64 {
    90.0
}
fn d5() -> f64 {
    5.0
}

impl StationBody {
    fn into_new(self, agent_credential_hash: Option<String>) -> Result<NewStation, ApiError> {
        body_text("name", &self.name, NAME_CHARS)?;
        Ok(NewStation {
            name: self.name,
            lat_deg: self.lat_deg,
            lon_deg: self.lon_deg,
            alt_m: self.alt_m,
            min_el_deg: self.min_el_deg,
            horizon_mask: self.horizon_mask,
            az_min_deg: self.az_min_deg,
            az_max_deg: self.az_max_deg,
            el_min_deg: self.el_min_deg,
            el_max_deg: self.el_max_deg,
            az_slew_deg_s: self.az_slew_deg_s,
            el_slew_deg_s: self.el_slew_deg_s,
            park_az_deg: self.park_az_deg,
            park_el_deg: self.park_el_deg,
            rig: self.rig,
            agent_credential_hash,
        })
    }

    fn from_new(s: &NewStation) -> Self {
        Self {
            name: s.name.clone(),
            lat_deg: s.lat_deg,
            lon_deg: s.lon_deg,
            alt_m: s.alt_m,
            min_el_deg: s.min_el_deg,
            horizon_mask: s.horizon_mask.clone(),
            az_min_deg: s.az_min_deg,
            az_max_deg: s.az_max_deg,
            el_min_deg: s.el_min_deg,
            el_max_deg: s.el_max_deg,
            az_slew_deg_s: s.az_slew_deg_s,
            el_slew_deg_s: s.el_slew_deg_s,
            park_az_deg: s.park_az_deg,
            park_el_deg: s.park_el_deg,
            rig: s.rig.clone(),
        }
    }
}

pub(crate) fn station_json(s: &Station) -> Value {
    let mut v = serde_json::to_value(StationBody::from_new(&s.settings)).unwrap_or_default();
    if let Value::Object(m) = &mut v {
        m.insert("id".into(), json!(s.id));
        m.insert("held_since".into(), json!(s.held_since.map(|t| t.0)));
        m.insert("created_at".into(), json!(s.created_at.0));
        m.insert("updated_at".into(), json!(s.updated_at.0));
    }
    v
}

/// Applies a JSON merge (top-level keys) to `current` and reads the result back,
/// so a PATCH is checked exactly like a create (types, unknown fields).
fn merge<T: Serialize + DeserializeOwned>(current: &T, patch: serde_json::Map<String, Value>) -> Result<T, ApiError> {
    let mut v = serde_json::to_value(current).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Value::Object(m) = &mut v {
        m.extend(patch);
    }
    serde_json::from_value(v)
        .map_err(|e| ApiError::Rejected { status: StatusCode::UNPROCESSABLE_ENTITY, message: e.to_string() })
}

async fn list_stations(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    let (after, limit) = page_query(q)?;
    let pg = state.store.list_stations(p.org, after.map(StationId), limit).await?;
    Ok(page(pg.items.iter().map(station_json).collect(), pg.next.map(|i| i.0)))
}

async fn create_station(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
    Body(body): Body<StationBody>,
) -> Result<impl IntoResponse, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    p.require(Role::Admin)?;
    let s = state.store.create_station(&p.actor, p.org, &body.into_new(None)?).await?;
    Ok((StatusCode::CREATED, Json(station_json(&s))))
}

async fn get_station(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
) -> Result<Json<Value>, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    let id = StationId(path_id(&params, "id")?);
    Ok(Json(station_json(&state.store.get_station(p.org, id).await?)))
}

async fn update_station(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
    Body(patch): Body<serde_json::Map<String, Value>>,
) -> Result<Json<Value>, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    let id = StationId(path_id(&params, "id")?);
    p.require(Role::Admin)?;
    let current = state.store.get_station(p.org, id).await?;
    let body = merge(&StationBody::from_new(&current.settings), patch)?;
    let s = state
        .store
        .update_station(&p.actor, p.org, id, &body.into_new(current.settings.agent_credential_hash)?)
        .await?;
    Ok(Json(station_json(&s)))
}

async fn delete_station(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
) -> Result<StatusCode, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    let id = StationId(path_id(&params, "id")?);
    p.require(Role::Admin)?;
    state.store.delete_station(&p.actor, p.org, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- campaigns ---------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CampaignBody {
    name: String,
    #[serde(deserialize_with = "integral")]
    norad_id: u64,
    #[serde(default, deserialize_with = "integral")]
    priority: i32,
    #[serde(default, deserialize_with = "optional_integral")]
    window_start: Option<i64>,
    #[serde(default, deserialize_with = "optional_integral")]
    window_end: Option<i64>,
    #[serde(default)]
    min_el_deg: f64,
    #[serde(default = "default_policy")]
    policy: String,
    #[serde(default)]
    transmitter_uuids: Vec<String>,
}

fn default_policy() -> String {
    "priority".to_owned()
}

impl CampaignBody {
    fn into_new(self) -> Result<NewCampaign, ApiError> {
        body_text("name", &self.name, NAME_CHARS)?;
        body_text("policy", &self.policy, usize::MAX)?;
        for uuid in &self.transmitter_uuids {
            body_text("transmitter_uuids", uuid, usize::MAX)?;
        }
        let norad_id = NoradId::new(self.norad_id)
            .map_err(|e| ApiError::Invalid { field: "norad_id".into(), reason: e.to_string() })?;
        Ok(NewCampaign {
            name: self.name,
            norad_id,
            priority: self.priority,
            window_start: self.window_start.map(UnixMs),
            window_end: self.window_end.map(UnixMs),
            min_el_deg: self.min_el_deg,
            policy: self.policy,
            transmitter_uuids: self.transmitter_uuids,
        })
    }

    fn from_new(c: &NewCampaign) -> Self {
        Self {
            name: c.name.clone(),
            norad_id: u64::from(c.norad_id.get()),
            priority: c.priority,
            window_start: c.window_start.map(|t| t.0),
            window_end: c.window_end.map(|t| t.0),
            min_el_deg: c.min_el_deg,
            policy: c.policy.clone(),
            transmitter_uuids: c.transmitter_uuids.clone(),
        }
    }
}

fn campaign_json(c: &Campaign) -> Value {
    let mut v = serde_json::to_value(CampaignBody::from_new(&c.settings)).unwrap_or_default();
    if let Value::Object(m) = &mut v {
        m.insert("id".into(), json!(c.id));
        m.insert("created_at".into(), json!(c.created_at.0));
        m.insert("updated_at".into(), json!(c.updated_at.0));
    }
    v
}

async fn list_campaigns(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    let (after, limit) = page_query(q)?;
    let pg = state.store.list_campaigns(p.org, after.map(CampaignId), limit).await?;
    Ok(page(pg.items.iter().map(campaign_json).collect(), pg.next.map(|i| i.0)))
}

async fn create_campaign(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
    Body(body): Body<CampaignBody>,
) -> Result<impl IntoResponse, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    p.require(Role::Operator)?;
    let c = state.store.create_campaign(&p.actor, p.org, &body.into_new()?).await?;
    Ok((StatusCode::CREATED, Json(campaign_json(&c))))
}

async fn get_campaign(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
) -> Result<Json<Value>, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    let id = CampaignId(path_id(&params, "id")?);
    Ok(Json(campaign_json(&state.store.get_campaign(p.org, id).await?)))
}

async fn update_campaign(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
    Body(patch): Body<serde_json::Map<String, Value>>,
) -> Result<Json<Value>, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    let id = CampaignId(path_id(&params, "id")?);
    p.require(Role::Operator)?;
    let current = state.store.get_campaign(p.org, id).await?;
    let body = merge(&CampaignBody::from_new(&current.settings), patch)?;
    let c = state.store.update_campaign(&p.actor, p.org, id, &body.into_new()?).await?;
    Ok(Json(campaign_json(&c)))
}

async fn delete_campaign(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
) -> Result<StatusCode, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    let id = CampaignId(path_id(&params, "id")?);
    p.require(Role::Operator)?;
    state.store.delete_campaign(&p.actor, p.org, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- assignments -------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignmentBody {
    #[serde(deserialize_with = "integral")]
    station: u64,
    #[serde(deserialize_with = "integral")]
    campaign: u64,
}

fn assignment_json(a: &Assignment) -> Value {
    json!({ "id": a.id, "station": a.station, "campaign": a.campaign, "created_at": a.created_at.0 })
}

async fn list_assignments(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    let (after, limit) = page_query(q)?;
    let pg = state.store.list_assignments(p.org, after.map(AssignmentId), limit).await?;
    Ok(page(pg.items.iter().map(assignment_json).collect(), pg.next.map(|i| i.0)))
}

async fn create_assignment(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
    Body(body): Body<AssignmentBody>,
) -> Result<impl IntoResponse, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    p.require(Role::Operator)?;
    let a = state.store.create_assignment(&p.actor, p.org, StationId(body.station), CampaignId(body.campaign)).await?;
    Ok((StatusCode::CREATED, Json(assignment_json(&a))))
}

async fn get_assignment(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
) -> Result<Json<Value>, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    let id = AssignmentId(path_id(&params, "id")?);
    Ok(Json(assignment_json(&state.store.get_assignment(p.org, id).await?)))
}

async fn delete_assignment(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
) -> Result<StatusCode, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    let id = AssignmentId(path_id(&params, "id")?);
    p.require(Role::Operator)?;
    state.store.delete_assignment(&p.actor, p.org, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- audit -------------------------------------------------------------------------

/// The organization's audit log, newest first; `after` is the last id seen (older follow).
async fn list_audit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(params): Params,
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let p = principal(&state, &headers, &params).await?;
    p.require(Role::Admin)?;
    let (after, limit) = page_query(q)?;
    let pg = state.store.list_audit(p.org, after.map(AuditId), limit).await?;
    let items: Vec<Value> = pg
        .items
        .iter()
        .map(|e| {
            json!({ "id": e.id, "at": e.at.0, "actor": e.actor.to_db(), "action": e.action, "target": e.target, "details": e.details })
        })
        .collect();
    Ok(page(items, pg.next.map(|i| i.0)))
}

//! The records the store reads and writes. Ids are the core newtypes; times are
//! [`UnixMs`]; JSON columns are [`serde_json::Value`].

use serde::{Deserialize, Serialize};
use talos_core::{AssignmentId, CampaignId, NoradId, OrgId, StationId, UnixMs};

/// A user account (global; organizations are joined through memberships).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub u64);

/// An API key record's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ApiKeyId(pub u64);

/// An audit-log row's id (monotonic: newer rows have larger ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AuditId(pub u64);

/// A stored element set's row id (a cursor through an object's history).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ElementSetId(pub u64);

/// Who did something, as recorded in the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Actor {
    User(UserId),
    /// An API key, by its public prefix (never the secret).
    ApiKey(String),
    /// The director or a maintenance task.
    System,
}

impl Actor {
    /// The text stored in `audit_log.actor`: `user:7`, `key:tk_ab12`, `system`.
    pub fn to_db(&self) -> String {
        match self {
            Self::User(id) => format!("user:{}", id.0),
            Self::ApiKey(prefix) => format!("key:{prefix}"),
            Self::System => "system".to_owned(),
        }
    }

    pub(crate) fn from_db(s: &str) -> Option<Self> {
        if s == "system" {
            return Some(Self::System);
        }
        if let Some(id) = s.strip_prefix("user:") {
            return id.parse().ok().map(|id| Self::User(UserId(id)));
        }
        s.strip_prefix("key:").map(|p| Self::ApiKey(p.to_owned()))
    }
}

/// A role in one organization, most to least powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Operator,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Operator => "operator",
            Self::Viewer => "viewer",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(Self::Owner),
            "admin" => Some(Self::Admin),
            "operator" => Some(Self::Operator),
            "viewer" => Some(Self::Viewer),
            _ => None,
        }
    }
}

/// One page of a cursor-paginated list. Pass `next` as `after` to get the next page;
/// `None` means this was the last page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T, Id> {
    pub items: Vec<T>,
    pub next: Option<Id>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub created_at: UnixMs,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: String,
    /// An Argon2id PHC string; the schema refuses anything else.
    pub password_hash: String,
    pub created_at: UnixMs,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user: UserId,
    pub email: String,
    pub role: Role,
}

/// What the API crate hands over when it mints a key (the secret is shown once and never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    /// Public, unique lookup prefix.
    pub prefix: String,
    /// Hash of the secret part.
    pub key_hash: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<UnixMs>,
    pub created_by: Option<UserId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub org: OrgId,
    pub prefix: String,
    pub key_hash: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<UnixMs>,
    pub last_used_at: Option<UnixMs>,
    pub created_by: Option<UserId>,
    pub created_at: UnixMs,
}

/// A station's settings as written by the API (create and full update).
#[derive(Debug, Clone, PartialEq)]
pub struct NewStation {
    pub name: String,
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub alt_m: f64,
    pub min_el_deg: f64,
    /// Horizon mask as JSON (e.g. `[[az_deg, el_deg], ...]`), if any.
    pub horizon_mask: Option<serde_json::Value>,
    pub az_min_deg: f64,
    pub az_max_deg: f64,
    pub el_min_deg: f64,
    pub el_max_deg: f64,
    pub az_slew_deg_s: f64,
    pub el_slew_deg_s: f64,
    pub park_az_deg: f64,
    pub park_el_deg: f64,
    /// Rig settings (driver plugin, radio model, ...) as JSON, if any.
    pub rig: Option<serde_json::Value>,
    /// Hash of the agent's broker credential, if one was issued.
    pub agent_credential_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Station {
    pub id: StationId,
    pub org: OrgId,
    pub settings: NewStation,
    /// Since when an operator holds the station parked, if so.
    pub held_since: Option<UnixMs>,
    pub created_at: UnixMs,
    pub updated_at: UnixMs,
}

/// A campaign as written by the API (create and full update).
#[derive(Debug, Clone, PartialEq)]
pub struct NewCampaign {
    pub name: String,
    pub norad_id: NoradId,
    pub priority: i32,
    pub window_start: Option<UnixMs>,
    pub window_end: Option<UnixMs>,
    pub min_el_deg: f64,
    /// Policy name (a built-in or a campaign-policy plugin).
    pub policy: String,
    /// SatNOGS transmitter uuids to tune to.
    pub transmitter_uuids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    pub id: CampaignId,
    pub org: OrgId,
    pub settings: NewCampaign,
    pub created_at: UnixMs,
    pub updated_at: UnixMs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    pub id: AssignmentId,
    pub org: OrgId,
    pub station: StationId,
    pub campaign: CampaignId,
    pub created_at: UnixMs,
}

/// One SatNOGS DB transmitter (the fields TALOS uses), read with [`parse_satnogs_transmitters`](crate::parse_satnogs_transmitters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransmitterRecord {
    pub uuid: String,
    #[serde(rename = "norad_cat_id")]
    pub norad_id: NoradId,
    pub description: String,
    #[serde(rename = "downlink_low")]
    pub downlink_low_hz: Option<i64>,
    #[serde(rename = "downlink_high")]
    pub downlink_high_hz: Option<i64>,
    #[serde(rename = "uplink_low")]
    pub uplink_low_hz: Option<i64>,
    #[serde(rename = "uplink_high")]
    pub uplink_high_hz: Option<i64>,
    pub mode: Option<String>,
    pub invert: bool,
    pub alive: bool,
    pub status: String,
    /// SatNOGS `updated`, RFC 3339. Stored to the millisecond; an import updates a stored
    /// transmitter only when this time differs.
    pub updated: String,
}

/// What a bulk import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportCounts {
    /// New rows (a new epoch, a new transmitter, or a changed transmitter).
    pub inserted: usize,
    /// Rows already stored exactly so.
    pub unchanged: usize,
}

/// An element set as stored, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredElementSet {
    pub source: String,
    /// Higher wins when several sources have the object.
    pub source_priority: i32,
    pub fetched_at: UnixMs,
    pub elements: talos_orbit::elements::ElementSet,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: AuditId,
    pub at: UnixMs,
    /// `None` for actions outside any organization (catalog imports, user creation).
    pub org: Option<OrgId>,
    pub actor: Actor,
    /// Dotted verb, e.g. `station.create`.
    pub action: String,
    /// What was acted on, e.g. `station:12`.
    pub target: String,
    pub details: serde_json::Value,
}

/// Everything the director loads at start, in a handful of queries.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectorSnapshot {
    pub stations: Vec<Station>,
    pub campaigns: Vec<Campaign>,
    pub assignments: Vec<Assignment>,
    pub element_sets: Vec<StoredElementSet>,
    pub transmitters: Vec<TransmitterRecord>,
}

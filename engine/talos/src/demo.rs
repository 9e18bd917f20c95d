//! The demo network, written into the store like any operator's network: the shipped
//! CelesTrak amateur catalog and SatNOGS transmitters, an organization `demo` with the
//! SatNOGS stations that were online and one campaign per satellite with a known
//! transmitter, every station assigned to every campaign (ISS first).
//!
//! The director then loads it through the same path as a production network. The
//! demo user's password and an API key are generated at every start and printed once;
//! only their hashes are stored.

use anyhow::Context;
use std::collections::HashMap;
use talos_core::{OrgId, UnixMs};
use talos_orbit::elements::parse_catalog;
use talos_store::{Actor, NewCampaign, NewStation, Role, Store, StoreError, parse_satnogs_transmitters};

use crate::data;
use crate::network::satnogs_stations;

pub const DEMO_ORG: &str = "demo";
pub const DEMO_EMAIL: &str = "demo@talos.example";
/// Source name of the shipped amateur catalog in the store.
pub const DEMO_CATALOG_SOURCE: &str = "celestrak-amateur-2026-08-29";
/// How long the printed demo API key stays valid.
pub const DEMO_KEY_TTL_MS: i64 = 24 * 3_600_000;

/// What the operator needs to log in to the demo.
#[derive(Debug, Clone)]
pub struct DemoCredentials {
    pub org: OrgId,
    pub email: String,
    pub password: String,
    /// An owner API key (bearer token) of the demo organization, valid for [`DEMO_KEY_TTL_MS`].
    pub api_key: String,
    /// The fleet was created now (first start on this database).
    pub created: bool,
}

fn demo_stations() -> anyhow::Result<Vec<NewStation>> {
    let stations = satnogs_stations()?;
    let defaults = talos_tick::RotatorLimits::default();
    Ok(stations
        .into_iter()
        .filter(|s| s.status == "Online")
        .map(|s| NewStation {
            // SatNOGS names are not unique; the SatNOGS id makes them so.
            name: format!("{} (SatNOGS {})", s.name.trim(), s.id),
            lat_deg: s.position.lat_deg(),
            lon_deg: s.position.lon_deg(),
            alt_m: s.position.alt_m(),
            min_el_deg: s.min_horizon_deg.clamp(-5.0, 90.0),
            horizon_mask: None,
            az_min_deg: defaults.az_min_deg,
            az_max_deg: defaults.az_max_deg,
            el_min_deg: defaults.el_min_deg,
            // The wire contract carries elevations 0..=90 (no flip mode): a G-5500's 180 deg
            // of elevation is offered to agents as 90.
            el_max_deg: defaults.el_max_deg.min(talos_link::EL_MAX_DEG),
            az_slew_deg_s: defaults.az_slew_deg_s,
            el_slew_deg_s: defaults.el_slew_deg_s,
            park_az_deg: 0.0,
            park_el_deg: 90.0,
            rig: None,
            agent_credential_hash: None,
        })
        .collect())
}

/// Imports the shipped catalog and transmitters (idempotent: unchanged rows are kept)
/// and creates the demo organization, user and fleet when missing. Returns fresh credentials.
pub async fn ensure_demo(
    store: &Store,
    hash_cost: talos_api::HashCost,
    now: UnixMs,
) -> anyhow::Result<DemoCredentials> {
    let catalog = parse_catalog(data::AMATEUR_CATALOG).context("the shipped amateur catalog")?;
    store
        .upsert_element_sets(&Actor::System, DEMO_CATALOG_SOURCE, 0, now, &catalog.element_sets)
        .await
        .context("importing the shipped amateur catalog")?;
    let transmitters = parse_satnogs_transmitters(data::AMATEUR_TRANSMITTERS).context("the shipped transmitters")?;
    store.upsert_transmitters(&Actor::System, &transmitters).await.context("importing the shipped transmitters")?;

    let password = crate::store_cli::generate_password();
    let hash = talos_api::hash_password(hash_cost, &password).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let (org, created) = match store.find_organization_by_name(DEMO_ORG).await {
        Ok(org) => {
            match store.find_user_by_email(DEMO_EMAIL).await {
                Ok(user) => store.set_password(&Actor::System, user.id, &hash).await?,
                Err(StoreError::NotFound { .. }) => {
                    store.enroll_user(&Actor::System, DEMO_EMAIL, &hash, DEMO_ORG, Role::Owner).await?;
                }
                Err(e) => return Err(e.into()),
            }
            (org.id, false)
        }
        Err(StoreError::NotFound { .. }) => {
            let enrolled = store
                .enroll_user(&Actor::System, DEMO_EMAIL, &hash, DEMO_ORG, Role::Owner)
                .await
                .context("creating the demo user and organization")?;
            create_demo_fleet(store, enrolled.org.id, &catalog.element_sets, &transmitters).await?;
            (enrolled.org.id, true)
        }
        Err(e) => return Err(e.into()),
    };
    let (api_key, mut record) = talos_api::mint_api_key(Role::Owner, None);
    record.expires_at = Some(now.plus_ms(DEMO_KEY_TTL_MS));
    store.create_api_key(&Actor::System, org, &record).await.context("creating the demo API key")?;
    Ok(DemoCredentials { org, email: DEMO_EMAIL.to_owned(), password, api_key, created })
}

async fn create_demo_fleet(
    store: &Store,
    org: OrgId,
    element_sets: &[talos_orbit::elements::ElementSet],
    transmitters: &[talos_store::TransmitterRecord],
) -> anyhow::Result<()> {
    let stations = demo_stations()?;
    // One campaign per satellite with an alive downlink, tuned to its first such transmitter.
    let mut by_norad: HashMap<u32, &talos_store::TransmitterRecord> = HashMap::new();
    for t in transmitters.iter().filter(|t| t.alive && t.downlink_low_hz.is_some()) {
        by_norad.entry(t.norad_id.get()).or_insert(t);
    }
    let mut campaigns: Vec<NewCampaign> = Vec::new();
    for set in element_sets {
        let Some(t) = by_norad.get(&set.norad_id.get()) else { continue };
        if campaigns.iter().any(|c| c.norad_id == set.norad_id) {
            continue;
        }
        let name = set.name.as_deref().unwrap_or("").trim();
        campaigns.push(NewCampaign {
            name: format!("{} {} ({})", if name.is_empty() { "NORAD" } else { name }, set.norad_id, t.description)
                .chars()
                .take(200)
                .collect(),
            norad_id: set.norad_id,
            priority: if set.norad_id.get() == 25544 { 10 } else { 1 },
            window_start: None,
            window_end: None,
            min_el_deg: 0.0,
            policy: "priority".to_owned(),
            transmitter_uuids: vec![t.uuid.clone()],
        });
    }
    let assignments: Vec<(usize, usize)> =
        (0..stations.len()).flat_map(|s| (0..campaigns.len()).map(move |c| (s, c))).collect();
    store
        .import_fleet(&Actor::System, org, &stations, &campaigns, &assignments)
        .await
        .context("creating the demo fleet")?;
    Ok(())
}

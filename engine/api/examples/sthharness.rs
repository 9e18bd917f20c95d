//! Throwaway (not committed): serves talos_api::app over a store with a seeded org, for Schemathesis.
//! Usage: sthharness DB_URL PORT  (prints the API key on stdout)

use std::net::SocketAddr;
use std::sync::Arc;
use talos_api::{AppState, DirectorStatus, app, hash_password, mint_api_key};
use talos_core::UnixMs;
use talos_store::{Actor, Role, Store};

#[derive(Debug)]
struct Ticking;
impl DirectorStatus for Ticking {
    fn last_tick(&self) -> Option<UnixMs> {
        Some(UnixMs(chrono::Utc::now().timestamp_millis()))
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap();
    let port: u16 = args.next().unwrap().parse().unwrap();
    let role = args.next().unwrap_or_else(|| "owner".into());
    let store = Store::connect(&url).await.unwrap();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data");
    let text = std::fs::read_to_string(format!("{root}/tle/celestrak_active_2026-05-07.txt")).unwrap();
    let sets = talos_orbit::elements::parse_catalog(&text).unwrap().element_sets;
    store.upsert_element_sets(&Actor::System, "celestrak", 10, UnixMs(1_778_000_000_000), &sets).await.unwrap();
    let json = std::fs::read_to_string(format!("{root}/satnogs/satnogs_transmitters_amateur_2024-09.json")).unwrap();
    store.upsert_transmitters(&Actor::System, &talos_store::parse_satnogs_transmitters(&json).unwrap()).await.unwrap();
    let hash = hash_password(talos_api::HashCost::Light, "correct horse battery").unwrap();
    let user = store.create_user(&Actor::System, "demo@example.org", &hash).await.unwrap();
    let org = store.create_organization(&Actor::System, "demo", Some(user.id)).await.unwrap().id;
    let role = match role.as_str() {
        "admin" => Role::Admin,
        "operator" => Role::Operator,
        "viewer" => Role::Viewer,
        _ => Role::Owner,
    };
    let (key, record) = mint_api_key(role, Some(user.id));
    store.create_api_key(&Actor::System, org, &record).await.unwrap();
    for i in 0..3 {
        let station = talos_store::NewStation {
            name: format!("gs-{i}"),
            lat_deg: 48.0 + f64::from(i),
            lon_deg: 11.0,
            alt_m: 500.0,
            min_el_deg: 0.0,
            horizon_mask: None,
            az_min_deg: 0.0,
            az_max_deg: 360.0,
            el_min_deg: 0.0,
            el_max_deg: 90.0,
            az_slew_deg_s: 5.0,
            el_slew_deg_s: 5.0,
            park_az_deg: 0.0,
            park_el_deg: 90.0,
            rig: None,
            agent_credential_hash: None,
        };
        let s = store.create_station(&Actor::System, org, &station).await.unwrap();
        let campaign = talos_store::NewCampaign {
            name: format!("c-{i}"),
            norad_id: talos_core::NoradId::new(25544).unwrap(),
            priority: 0,
            window_start: None,
            window_end: None,
            min_el_deg: 0.0,
            policy: "priority".into(),
            transmitter_uuids: vec![],
        };
        let c = store.create_campaign(&Actor::System, org, &campaign).await.unwrap();
        store.create_assignment(&Actor::System, org, s.id, c.id).await.unwrap();
    }
    println!("{key}");
    println!("org={org}");
    let mut state = AppState::new(store, Arc::new(Ticking), Arc::new(|| UnixMs(chrono::Utc::now().timestamp_millis())));
    state.hash_cost = talos_api::HashCost::Light;
    state.secure_cookie = false;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    eprintln!("listening on {port}");
    axum::serve(listener, app(state).into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
}

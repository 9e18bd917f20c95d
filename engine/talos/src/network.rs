//! The benchmark networks, built from the shipped real data (real SatNOGS station
//! positions, real CelesTrak element sets, real SatNOGS DB transmitter frequencies).

use anyhow::{Context, bail};
use serde::Deserialize;
use std::sync::Arc;
use talos_core::{AssignmentId, CampaignId, OrgId, StationId, UnixMs};
use talos_orbit::stations::{SatnogsStation, parse_satnogs_stations};
use talos_orbit::{Observer, Satellite};
use talos_tick::{Assignment, AzEl, Campaign, Director, RotatorLimits, SatelliteOrbit, Station, Transmitter};

use crate::data;

/// Valid SatNOGS stations (the invalid ones are reported by the parser and left out).
pub fn satnogs_stations() -> anyhow::Result<Vec<SatnogsStation>> {
    let parsed = parse_satnogs_stations(data::SATNOGS_STATIONS).context("the shipped SatNOGS station list")?;
    Ok(parsed.stations)
}

/// A SatNOGS DB transmitter record (the fields TALOS uses).
#[derive(Debug, Clone, Deserialize)]
pub struct SatnogsTransmitter {
    pub norad_cat_id: Option<u32>,
    pub description: String,
    pub downlink_low: Option<u64>,
    pub uplink_low: Option<u64>,
    pub mode: Option<String>,
}

pub fn amateur_transmitters() -> anyhow::Result<Vec<SatnogsTransmitter>> {
    serde_json::from_str(data::AMATEUR_TRANSMITTERS).context("the shipped SatNOGS transmitter list")
}

fn transmitter_of(t: &SatnogsTransmitter) -> Transmitter {
    Transmitter {
        downlink_hz: t.downlink_low.map(|f| f as f64),
        uplink_hz: t.uplink_low.map(|f| f as f64),
        mode: t.mode.clone().unwrap_or_else(|| "FM".to_owned()),
    }
}

fn station_from(id: u64, org: u64, s: &SatnogsStation) -> Station {
    Station {
        id: StationId(id),
        org: OrgId(org),
        observer: Observer::new(s.position),
        min_el_deg: s.min_horizon_deg,
        mask: None,
        rotator: RotatorLimits::default(),
        park: AzEl { az_deg: 0.0, el_deg: 90.0 },
        held: false,
    }
}

/// Size of a benchmark network.
#[derive(Debug, Clone, Copy)]
pub struct NetworkSize {
    pub stations: usize,
    pub satellites: usize,
    pub assignments_per_station: usize,
}

/// splitmix64: a fixed, seedable mix so benchmark networks are identical on every run.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// `count` satellites spread evenly over the active catalog, skipping any that SGP4
/// cannot propagate at `at`.
pub fn catalog_sample(count: usize, at: UnixMs) -> anyhow::Result<Vec<Arc<Satellite>>> {
    let catalog = data::active_catalog()?;
    let all = data::satellites_from(&catalog.element_sets);
    let usable: Vec<_> = all.into_iter().filter(|s| s.state_ecef(at).is_ok()).collect();
    if count > usable.len() {
        bail!("asked for {count} satellites; the shipped catalog has {} usable", usable.len());
    }
    Ok((0..count).map(|i| usable[i * usable.len() / count].clone()).collect())
}

/// A benchmark network: stations at real SatNOGS positions (cycled when more stations
/// are asked for than SatNOGS has: co-located antennas), satellites from the real
/// catalog, one campaign per satellite listening to a real SatNOGS transmitter
/// frequency, and `assignments_per_station` distinct campaigns per station chosen by
/// a fixed hash.
/// Returns the stations it spawned, by organization and id.
pub fn benchmark_network(
    director: &mut Director,
    size: NetworkSize,
    at: UnixMs,
) -> anyhow::Result<Vec<(OrgId, StationId)>> {
    if size.assignments_per_station > size.satellites {
        bail!("--assignments-per-station {} exceeds --satellites {}", size.assignments_per_station, size.satellites);
    }
    let positions = satnogs_stations()?;
    let satellites = catalog_sample(size.satellites, at)?;
    let transmitters = amateur_transmitters()?;
    let mut campaigns = Vec::with_capacity(satellites.len());
    for (i, sat) in satellites.iter().enumerate() {
        director.spawn_satellite(SatelliteOrbit { satellite: sat.clone() });
        campaigns.push(director.spawn_campaign(Campaign {
            id: CampaignId(i as u64 + 1),
            org: OrgId(i as u64 % 10 + 1),
            norad_id: sat.norad_id,
            priority: (mix(i as u64) % 5) as i32,
            window_start: None,
            window_end: None,
            min_el_deg: 0.0,
            transmitter: Some(transmitter_of(&transmitters[i % transmitters.len()])),
        }));
    }
    let mut next_assignment = 1;
    let mut spawned = Vec::with_capacity(size.stations);
    for i in 0..size.stations {
        let spec = station_from(i as u64 + 1, i as u64 % 10 + 1, &positions[i % positions.len()]);
        spawned.push((spec.org, spec.id));
        let station = director.spawn_station(spec);
        let mut chosen = Vec::with_capacity(size.assignments_per_station);
        let mut k = 0u64;
        while chosen.len() < size.assignments_per_station {
            let pick = (mix((i as u64) << 20 | k) % size.satellites as u64) as usize;
            k += 1;
            if !chosen.contains(&pick) {
                chosen.push(pick);
            }
        }
        for pick in chosen {
            director.spawn_assignment(Assignment {
                id: AssignmentId(next_assignment),
                station,
                campaign: campaigns[pick],
            });
            next_assignment += 1;
        }
    }
    Ok(spawned)
}

//! Orbit math on the shipped real data: the CelesTrak active catalog (2026-05-07) and
//! the SatNOGS Network station list (2024-01-08). Times start at 2026-05-08T00:00Z,
//! hours after the catalog's median epoch, as in operation.
//!
//! Run: `cargo bench -p talos-orbit` (quick look: `-- --warm-up-time 1 --measurement-time 2`).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use talos_core::UnixMs;
use talos_orbit::elements::parse_catalog;
use talos_orbit::frames::TemeToEcef;
use talos_orbit::stations::parse_satnogs_stations;
use talos_orbit::{ElementSet, Observer, PassQuery, SampledTrajectory, Satellite, find_passes, look_angles};

const ACTIVE: &str = include_str!("../../../data/tle/celestrak_active_2026-05-07.txt");
const SATNOGS_STATIONS: &str = include_str!("../../../data/ground_stations/satnogs_network_stations_2024-01-08.json");
const START: &str = "2026-05-08T00:00:00Z";
const ISS: u32 = 25544;
/// ES'HAIL 2, geostationary at 25.5 E (mean motion 1.0027 rev/day), visible from Berlin.
const ESHAIL_2: u32 = 43700;

fn catalog() -> Vec<ElementSet> {
    let parsed = parse_catalog(ACTIVE).expect("the shipped active catalog parses");
    assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
    parsed.element_sets
}

fn satellite(sets: &[ElementSet], norad_id: u32) -> Satellite {
    let set = sets.iter().find(|s| s.norad_id.get() == norad_id).expect("in the active catalog");
    Satellite::new(set).unwrap()
}

fn start() -> UnixMs {
    UnixMs::parse_rfc3339(START).unwrap()
}

fn berlin() -> Observer {
    Observer::new(talos_core::GeodeticPosition::new(52.52, 13.40, 35.0).unwrap())
}

fn elements(c: &mut Criterion) {
    let sets = catalog();
    let mut group = c.benchmark_group("catalog");
    group.sample_size(20);
    group.throughput(Throughput::Elements(sets.len() as u64));
    group.bench_function("parse_active_catalog", |b| b.iter(|| parse_catalog(black_box(ACTIVE)).unwrap()));
    group.bench_function("satellite_new_active_catalog", |b| {
        b.iter(|| black_box(&sets).iter().filter_map(|s| Satellite::new(s).ok()).count())
    });
    group.finish();
}

fn single_satellite(c: &mut Criterion) {
    let sets = catalog();
    let iss = satellite(&sets, ISS);
    let t = start();
    let observer = berlin();
    let state = iss.state_ecef(t).unwrap();

    c.bench_function("sgp4_propagate_iss", |b| {
        b.iter(|| iss.propagate_minutes(black_box(iss.minutes_since_epoch(t))).unwrap())
    });
    c.bench_function("state_ecef_iss", |b| {
        let rotation = TemeToEcef::at(t);
        b.iter(|| iss.state_ecef_with(black_box(t), &rotation).unwrap())
    });
    c.bench_function("look_angles", |b| b.iter(|| look_angles(black_box(&observer), black_box(&state))));
}

fn passes(c: &mut Criterion) {
    let sets = catalog();
    let (iss, geo) = (satellite(&sets, ISS), satellite(&sets, ESHAIL_2));
    assert!(geo.is_geosynchronous_like());
    let (start, end) = (start(), start().plus_ms(24 * 3_600_000));
    let observer = berlin();
    let query = PassQuery { observer: &observer, min_el_deg: 0.0, mask: None };
    let iss_24h = SampledTrajectory::sample(&iss, start, end).unwrap();
    let geo_24h = SampledTrajectory::sample(&geo, start, end).unwrap();

    let stations = parse_satnogs_stations(SATNOGS_STATIONS).unwrap().stations;
    // 100 stations spread through the list (it is ordered by id, so across the world).
    let stations: Vec<(Observer, f64)> = stations
        .iter()
        .step_by(stations.len() / 100)
        .take(100)
        .map(|s| (Observer::new(s.position), s.min_horizon_deg))
        .collect();
    assert_eq!(stations.len(), 100);

    let mut group = c.benchmark_group("passes");
    group.bench_function("sample_trajectory_iss_24h", |b| {
        b.iter(|| SampledTrajectory::sample(black_box(&iss), start, end).unwrap())
    });
    group.bench_function("find_passes_iss_24h_one_station", |b| {
        b.iter(|| find_passes(black_box(&iss_24h), black_box(&query)))
    });
    group.bench_function("find_passes_geo_24h_one_station", |b| {
        b.iter(|| find_passes(black_box(&geo_24h), black_box(&query)))
    });
    group.throughput(Throughput::Elements(stations.len() as u64));
    group.bench_function("find_passes_iss_24h_100_satnogs_stations", |b| {
        b.iter(|| {
            stations
                .iter()
                .map(|(observer, min_el_deg)| {
                    let query = PassQuery { observer, min_el_deg: *min_el_deg, mask: None };
                    find_passes(black_box(&iss_24h), &query).len()
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, elements, single_satellite, passes);
criterion_main!(benches);

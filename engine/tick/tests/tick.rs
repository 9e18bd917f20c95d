//! The tick end to end on real element sets: AOS/LOS, the policy, setpoints, Doppler,
//! pre-positioning, failures that stay local, and determinism.

use std::collections::HashMap;
use std::sync::Arc;
use talos_core::{AssignmentId, CampaignId, GeodeticPosition, NoradId, OrgId, StationId, UnixMs};
use talos_orbit::elements::{parse_tle, parse_tle_catalog};
use talos_orbit::{
    HorizonMask, Observer, PassQuery, SampledTrajectory, Satellite, downlink_hz, find_passes, look_angles,
};
use talos_tick::systems::trajectory_state;
use talos_tick::*;

const CATALOG: &str = include_str!("../../../data/tle/celestrak_active_2026-05-07.txt");

fn satellite(norad: u32) -> Arc<Satellite> {
    let catalog = parse_tle_catalog(CATALOG);
    let set = catalog.element_sets.iter().find(|s| s.norad_id.get() == norad).expect("in catalog");
    Arc::new(Satellite::new(set).unwrap())
}

fn berlin() -> Observer {
    Observer::new(GeodeticPosition::new(52.52, 13.40, 35.0).unwrap())
}

fn station(id: u64, observer: Observer) -> Station {
    Station {
        id: StationId(id),
        org: OrgId(1),
        observer,
        min_el_deg: 0.0,
        mask: None,
        rotator: RotatorLimits::default(),
        park: AzEl { az_deg: 0.0, el_deg: 90.0 },
        held: false,
    }
}

fn campaign(id: u64, norad: NoradId, priority: i32) -> Campaign {
    Campaign {
        id: CampaignId(id),
        org: OrgId(1),
        norad_id: norad,
        priority,
        window_start: None,
        window_end: None,
        min_el_deg: 0.0,
        transmitter: Some(Transmitter { downlink_hz: Some(145.800e6), uplink_hz: Some(437.800e6), mode: "FM".into() }),
    }
}

fn director() -> Director {
    Director::new(ComputePool::new(2, 1).unwrap(), TickConfig::default())
}

/// A director with the ISS, one station and one assignment (id `assignment`) to it.
fn iss_director(
    station_spec: Station,
    assignment: u64,
) -> (Director, Arc<Satellite>, bevy_ecs::entity::Entity, bevy_ecs::entity::Entity) {
    let mut d = director();
    let iss = satellite(25544);
    d.spawn_satellite(SatelliteOrbit { satellite: iss.clone() });
    let s = d.spawn_station(station_spec);
    let c = d.spawn_campaign(campaign(1, iss.norad_id, 1));
    let a = d.spawn_assignment(Assignment { id: AssignmentId(assignment), station: s, campaign: c });
    (d, iss, s, a)
}

/// The first ISS pass over Berlin after 2026-05-08T00:00Z, from the pass finder.
fn iss_pass() -> talos_orbit::Pass {
    let iss = satellite(25544);
    let start = UnixMs::parse_rfc3339("2026-05-08T00:00:00Z").unwrap();
    let trajectory = SampledTrajectory::sample(&iss, start, start.plus_ms(6 * 3_600_000)).unwrap();
    let observer = berlin();
    find_passes(&trajectory, &PassQuery { observer: &observer, min_el_deg: 0.0, mask: None }).remove(0)
}

/// Ticks every 500 ms from `from` to `to`, collecting the outboxes' events, commands and setpoints.
struct Recording {
    events: Vec<TrackingEvent>,
    commands: Vec<(UnixMs, StationCommand)>,
    rot: Vec<RotSetpoint>,
    rig: Vec<RigSetpoint>,
}

fn run(director: &mut Director, from: UnixMs, to: UnixMs) -> Recording {
    let mut rec = Recording { events: vec![], commands: vec![], rot: vec![], rig: vec![] };
    let mut t = from;
    while t <= to {
        let outbox = director.tick(t);
        rec.events.extend(outbox.events.iter().copied());
        rec.commands.extend(outbox.commands.iter().cloned().map(|c| (t, c)));
        rec.rot.extend(outbox.rot.iter().cloned());
        rec.rig.extend(outbox.rig.iter().cloned());
        t = t.plus_ms(500);
    }
    rec
}

#[test]
fn aos_and_los_follow_a_real_iss_pass_with_session_and_park_commands() {
    let pass = iss_pass();
    let (mut d, iss, _, _) = iss_director(station(1, berlin()), 7);

    let from = UnixMs((pass.aos.0 / 500 - 20) * 500);
    let rec = run(&mut d, from, pass.los.plus_ms(10_000));
    let aos: Vec<_> =
        rec.events.iter().filter_map(|e| if let TrackingEvent::Aos(a) = e { Some(*a) } else { None }).collect();
    let los: Vec<_> =
        rec.events.iter().filter_map(|e| if let TrackingEvent::Los(l) = e { Some(*l) } else { None }).collect();
    assert_eq!((aos.len(), los.len()), (1, 1), "{:?}", rec.events);
    // The first tick at or after the predicted AOS/LOS (500 ms cadence).
    assert!(aos[0].t >= pass.aos && aos[0].t.0 - pass.aos.0 < 500, "{:?} vs {}", aos[0], pass.aos);
    assert!(los[0].t >= pass.los && los[0].t.0 - pass.los.0 < 500, "{:?} vs {}", los[0], pass.los);
    assert_eq!(aos[0].assignment, AssignmentId(7));
    assert!(!aos[0].in_progress, "a real rise, seen from before AOS");

    let kinds: Vec<_> = rec.commands.iter().map(|(_, c)| c.kind.clone()).collect();
    assert!(matches!(kinds[0], StationCommandKind::SessionStart { assignment: AssignmentId(7), .. }), "{kinds:?}");
    assert!(
        matches!(
            kinds[1],
            StationCommandKind::SessionStop { assignment: AssignmentId(7), reason: SessionEnd::Los, .. }
        ),
        "{kinds:?}"
    );
    assert!(matches!(kinds[2], StationCommandKind::Park { az_deg: 0.0, el_deg: 90.0 }), "{kinds:?}");
    assert_eq!(kinds.len(), 3);

    // One rotator setpoint per tick in the pass; its first point is the true look angle now.
    let expected_ticks = (los[0].t.0 - aos[0].t.0) / 500;
    assert_eq!(rec.rot.len() as i64, expected_ticks, "setpoints only while tracking");
    for sp in &rec.rot {
        let truth = look_angles(&berlin(), &iss.state_ecef(sp.points[0].t).unwrap());
        assert!((sp.points[0].az_deg - truth.az_deg).abs() < 1e-9 && (sp.points[0].el_deg - truth.el_deg).abs() < 1e-9);
        assert_eq!(sp.seq, sp.points[0].t.0 as u64);
        assert_eq!(sp.valid_until.0 - sp.points[0].t.0, 1_500);
        assert_eq!(sp.points.len(), 4);
        // Later points come from the Taylor step: within 0.001 deg of SGP4.
        for p in &sp.points[1..] {
            let truth = look_angles(&berlin(), &iss.state_ecef(p.t).unwrap());
            assert!((p.el_deg - truth.el_deg).abs() < 1e-3, "{} vs {}", p.el_deg, truth.el_deg);
        }
    }
    let max_el = rec.rot.iter().map(|s| s.points[0].el_deg).fold(f64::MIN, f64::max);
    assert!((max_el - pass.max_el_deg).abs() < 0.05, "{max_el} vs {}", pass.max_el_deg);
    // Doppler: downlink high while approaching, low while receding; corrected by range-rate.
    for rig in &rec.rig {
        let rr = rec.rot.iter().find(|r| r.seq == rig.seq).unwrap().points[0].range_rate_km_s;
        assert!((rig.points[0].1.unwrap() - downlink_hz(145.800e6, rr)).abs() < 1e-6);
    }
    assert!(rec.rig.first().unwrap().points[0].1.unwrap() > 145.800e6 + 2_000.0);
    assert!(rec.rig.last().unwrap().points[0].1.unwrap() < 145.800e6 - 2_000.0);
}

#[test]
fn taylor_trajectory_stays_within_ten_metres_of_sgp4_over_three_seconds() {
    let iss = satellite(25544);
    let t0 = UnixMs::parse_rfc3339("2026-05-08T00:00:00Z").unwrap();
    let s0 = iss.state_ecef(t0).unwrap();
    for dt_s in [0.5, 1.0, 2.0, 3.0] {
        let predicted = trajectory_state(&s0, dt_s);
        let truth = iss.state_ecef(t0.plus_seconds_f64(dt_s)).unwrap();
        let err_km: f64 = (0..3).map(|k| (predicted.pos_km[k] - truth.pos_km[k]).powi(2)).sum::<f64>().sqrt();
        assert!(err_km < 0.01, "{dt_s} s: {err_km} km");
    }
}

#[test]
fn higher_priority_wins_then_higher_elevation() {
    // Two satellites up at once over one station: find a moment from the shipped catalog.
    let sats: Vec<Arc<Satellite>> =
        [25544u32, 43017, 40069, 27607, 24278, 39444, 7530].iter().map(|&n| satellite(n)).collect();
    let observer = berlin();
    let start = UnixMs::parse_rfc3339("2026-05-08T00:00:00Z").unwrap();
    let mut overlap = None;
    'search: for step in 0..(48 * 60) {
        let t = start.plus_ms(step * 60_000);
        let up: Vec<_> =
            sats.iter().filter(|s| look_angles(&observer, &s.state_ecef(t).unwrap()).el_deg > 5.0).collect();
        if up.len() >= 2 {
            overlap = Some((t, up[0].clone(), up[1].clone()));
            break 'search;
        }
    }
    let (t, a, b) = overlap.expect("two of these satellites overlap within 48 h");
    let (el_a, el_b) = (
        look_angles(&observer, &a.state_ecef(t).unwrap()).el_deg,
        look_angles(&observer, &b.state_ecef(t).unwrap()).el_deg,
    );
    for (prio_a, prio_b, expect_a) in [(1, 5, false), (5, 1, true), (1, 1, el_a > el_b)] {
        let mut d = director();
        d.spawn_satellite(SatelliteOrbit { satellite: a.clone() });
        d.spawn_satellite(SatelliteOrbit { satellite: b.clone() });
        let s = d.spawn_station(station(1, observer));
        let ca = d.spawn_campaign(campaign(1, a.norad_id, prio_a));
        let cb = d.spawn_campaign(campaign(2, b.norad_id, prio_b));
        d.spawn_assignment(Assignment { id: AssignmentId(1), station: s, campaign: ca });
        d.spawn_assignment(Assignment { id: AssignmentId(2), station: s, campaign: cb });
        let outbox = d.tick(t);
        let tracked = outbox.rot[0].norad_id.unwrap();
        assert_eq!(tracked == a.norad_id, expect_a, "priorities {prio_a}/{prio_b}, el {el_a:.1}/{el_b:.1}");
    }
}

#[test]
fn a_station_prepositions_at_the_planned_aos_azimuth() {
    let pass = iss_pass();
    let (mut d, _, _, _) = iss_director(station(1, berlin()), 1);
    let inputs = d.plan_inputs();
    let start = UnixMs::parse_rfc3339("2026-05-08T00:00:00Z").unwrap();
    let (plan, stats) = PassPlanner::new(Arc::new(rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap()))
        .plan(&inputs, start, start.plus_ms(6 * 3_600_000));
    assert_eq!(stats.pairs_computed, 1);
    d.set_pass_plan(plan);
    // 3 minutes before AOS: idle; 60 s before: pre-positioned at the AOS azimuth.
    assert!(d.tick(pass.aos.plus_ms(-180_000)).rot.is_empty());
    let outbox = d.tick(pass.aos.plus_ms(-60_000));
    assert_eq!(outbox.rot.len(), 1);
    let sp = &outbox.rot[0];
    assert_eq!(sp.norad_id, None);
    assert!((sp.points[0].az_deg - pass.aos_az_deg).abs() < 1e-9);
    assert_eq!(outbox.summary.stations_prepositioning, 1);
}

#[test]
fn a_diverging_satellite_fails_alone() {
    // Vallado's 33334 "should fail at epoch"; the ISS keeps being tracked beside it.
    let bad = parse_tle(
        None,
        "1 33334U 78066F   06174.85818871  .00000620  00000-0  10000-3 0  6806",
        "2 33334  68.4714 236.1303 5602877 123.7484 302.5767  0.00001000 67521",
    )
    .unwrap();
    let bad = Arc::new(Satellite::new(&bad).unwrap());
    let pass = iss_pass();
    let (mut d, iss, s, _) = iss_director(station(1, berlin()), 1);
    d.spawn_satellite(SatelliteOrbit { satellite: bad.clone() });
    let cb = d.spawn_campaign(campaign(2, bad.norad_id, 9));
    d.spawn_assignment(Assignment { id: AssignmentId(2), station: s, campaign: cb });
    let outbox = d.tick(pass.tca);
    // First sight at TCA: the AOS event says the pass was already in progress.
    assert!(
        matches!(outbox.events[..], [TrackingEvent::Aos(AosReached { in_progress: true, .. })]),
        "{:?}",
        outbox.events
    );
    assert_eq!(outbox.rot.len(), 1, "the ISS is still tracked");
    assert_eq!(outbox.rot[0].norad_id, Some(iss.norad_id));
    assert_eq!(outbox.summary.satellites_failed, 1);
    assert!(outbox.propagation_failures[0].1.contains("NORAD 33334"), "{:?}", outbox.propagation_failures);
}

#[test]
fn a_horizon_mask_delays_aos_and_removing_the_assignment_ends_the_session() {
    let pass = iss_pass();
    // A 10-degree wall over the whole horizon: AOS later than the 0-degree prediction.
    let mut masked = station(1, berlin());
    masked.mask = Some(HorizonMask::new(vec![(0.0, 10.0), (180.0, 10.0)]).unwrap());
    let (mut d, iss, _, a) = iss_director(masked, 1);
    let rec = run(&mut d, pass.aos, pass.tca);
    let TrackingEvent::Aos(aos) = rec.events[0] else { panic!("{:?}", rec.events) };
    assert!(!aos.in_progress, "first seen below the mask at the 0-degree AOS: this is a true rise over the mask");
    let el_at_aos = look_angles(&berlin(), &iss.state_ecef(aos.t).unwrap()).el_deg;
    assert!((10.0..10.5).contains(&el_at_aos), "{el_at_aos}");
    // Mid-pass the operator removes the assignment: the session stops and the station parks.
    d.world_mut().despawn(a);
    let outbox = d.tick(pass.tca.plus_ms(500));
    let kinds: Vec<_> = outbox.commands.iter().map(|c| c.kind.clone()).collect();
    assert!(
        matches!(kinds[..], [StationCommandKind::SessionStop { .. }, StationCommandKind::Park { .. }]),
        "{kinds:?}"
    );
    assert!(outbox.rot.is_empty());
}

#[test]
fn the_same_inputs_give_the_same_outputs() {
    let pass = iss_pass();
    let record = || {
        let mut d = director();
        let mut ids = HashMap::new();
        for (i, norad) in [25544u32, 43017, 40069, 27607].iter().enumerate() {
            let sat = satellite(*norad);
            d.spawn_satellite(SatelliteOrbit { satellite: sat.clone() });
            ids.insert(i, d.spawn_campaign(campaign(i as u64 + 1, sat.norad_id, i as i32)));
        }
        for st in 0..20u64 {
            let obs = Observer::new(GeodeticPosition::new(40.0 + st as f64, -10.0 + 2.0 * st as f64, 100.0).unwrap());
            let s = d.spawn_station(station(st + 1, obs));
            for (i, c) in &ids {
                d.spawn_assignment(Assignment { id: AssignmentId(st * 10 + *i as u64), station: s, campaign: *c });
            }
        }
        let rec = run(&mut d, pass.aos.plus_ms(-30_000), pass.los);
        format!("{:?}{:?}{:?}{:?}", rec.events, rec.commands, rec.rot, rec.rig)
    };
    let (a, b) = (record(), record());
    assert!(a.len() > 10_000);
    assert_eq!(a, b);
}

/// The fleet of [`iss_director`] as a spec, for `sync_fleet`.
fn iss_fleet(station_spec: Station, assignments: &[u64]) -> FleetSpec {
    let iss = satellite(25544);
    FleetSpec {
        campaigns: vec![campaign(1, iss.norad_id, 1)],
        assignments: assignments
            .iter()
            .map(|&id| AssignmentSpec { id: AssignmentId(id), station: station_spec.id, campaign: CampaignId(1) })
            .collect(),
        stations: vec![station_spec],
        satellites: vec![iss],
    }
}

fn session_stops(rec: &Recording) -> Vec<SessionEnd> {
    rec.commands
        .iter()
        .filter_map(|(_, c)| match c.kind {
            StationCommandKind::SessionStop { reason, .. } => Some(reason),
            _ => None,
        })
        .collect()
}

#[test]
fn fleet_sync_keeps_unchanged_entities_and_their_tracking_state() {
    let pass = iss_pass();
    let mut d = director();
    let report = d.sync_fleet(iss_fleet(station(1, berlin()), &[7]));
    assert_eq!(
        (report.stations, report.satellites, report.campaigns, report.assignments),
        ((1, 0, 0), (1, 0, 0), (1, 0, 0), (1, 0, 0))
    );
    let mid = UnixMs(((pass.aos.0 + pass.los.0) / 2 / 500) * 500);
    let first = run(&mut d, mid.plus_ms(-5_000), mid);
    assert_eq!(first.events.len(), 1, "first sight of the pass in progress");

    // The same fleet again (a reload after an unrelated change): nothing changes, no new session.
    let again = d.sync_fleet(iss_fleet(station(1, berlin()), &[7]));
    assert!(!again.changed(), "{again:?}");
    let rec = run(&mut d, mid.plus_ms(500), mid.plus_ms(5_000));
    assert!(rec.events.is_empty() && rec.commands.is_empty(), "{:?} {:?}", rec.events, rec.commands);
    assert_eq!(rec.rot.len(), 10, "still tracking");

    // A changed station setting replaces the component in place: tracking goes on.
    let mut moved = station(1, berlin());
    moved.min_el_deg = 1.0;
    let changed = d.sync_fleet(iss_fleet(moved, &[7]));
    assert_eq!(changed.stations, (0, 1, 0));
    let rec = run(&mut d, mid.plus_ms(5_500), mid.plus_ms(6_000));
    assert!(rec.commands.is_empty(), "{:?}", rec.commands);
    assert_eq!(rec.rot.len(), 2);
}

#[test]
fn fleet_sync_removal_and_operator_hold_end_sessions_with_their_reason() {
    let pass = iss_pass();
    let mid = UnixMs(((pass.aos.0 + pass.los.0) / 2 / 500) * 500);

    // Removing the assignment mid-pass: the session stops as removed, the rotator parks.
    let mut d = director();
    d.sync_fleet(iss_fleet(station(1, berlin()), &[7]));
    run(&mut d, mid.plus_ms(-2_000), mid);
    let report = d.sync_fleet(iss_fleet(station(1, berlin()), &[]));
    assert_eq!(report.assignments, (0, 0, 1));
    let rec = run(&mut d, mid.plus_ms(500), mid.plus_ms(2_000));
    assert_eq!(session_stops(&rec), vec![SessionEnd::Removed]);
    assert!(rec.commands.iter().any(|(_, c)| matches!(c.kind, StationCommandKind::Park { .. })));
    assert!(rec.rot.is_empty());

    // Holding the station mid-pass: the session stops as held and nothing is tracked until resumed.
    let mut d = director();
    d.sync_fleet(iss_fleet(station(1, berlin()), &[7]));
    run(&mut d, mid.plus_ms(-2_000), mid);
    let mut held = station(1, berlin());
    held.held = true;
    d.sync_fleet(iss_fleet(held, &[7]));
    let rec = run(&mut d, mid.plus_ms(500), mid.plus_ms(2_000));
    assert_eq!(session_stops(&rec), vec![SessionEnd::Held]);
    assert!(rec.rot.is_empty(), "a held station gets no setpoints");
    d.sync_fleet(iss_fleet(station(1, berlin()), &[7]));
    let rec = run(&mut d, mid.plus_ms(2_500), mid.plus_ms(3_000));
    assert!(matches!(rec.commands[0].1.kind, StationCommandKind::SessionStart { .. }), "{:?}", rec.commands);
    assert_eq!(rec.rot.len(), 2, "resumed");

    // A station whose campaign is missing from the spec: its assignment is reported dangling, not spawned.
    let mut spec = iss_fleet(station(1, berlin()), &[7]);
    spec.campaigns.clear();
    let report = director().sync_fleet(spec);
    assert_eq!((report.dangling_assignments, report.assignments), (1, (0, 0, 0)));
}

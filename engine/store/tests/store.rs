//! The store suite: every test runs against SQLite (a temp file) and PostgreSQL (a fresh
//! database on `TALOS_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`).
//! PostgreSQL being unreachable fails the PostgreSQL half; it never skips.

mod harness;

use talos_store::both_backends;

use std::time::Instant;
use talos_core::{AssignmentId, CampaignId, NoradId, OrgId, StationId, UnixMs};
use talos_store::{Actor, NewApiKey, NewCampaign, NewStation, Role, Store, StoreError, UserId};

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

fn station(name: &str) -> NewStation {
    NewStation {
        name: name.to_owned(),
        lat_deg: 52.2,
        lon_deg: 0.1,
        alt_m: 20.0,
        min_el_deg: 5.0,
        horizon_mask: Some(serde_json::json!([[0.0, 3.0], [180.0, 8.0]])),
        az_min_deg: 0.0,
        az_max_deg: 450.0,
        el_min_deg: 0.0,
        el_max_deg: 180.0,
        az_slew_deg_s: 6.0,
        el_slew_deg_s: 6.0,
        park_az_deg: 0.0,
        park_el_deg: 90.0,
        rig: Some(serde_json::json!({ "driver": "icom-ic9700" })),
        agent_credential_hash: None,
    }
}

fn campaign(name: &str, norad: u64) -> NewCampaign {
    NewCampaign {
        name: name.to_owned(),
        norad_id: NoradId::new(norad).unwrap(),
        priority: 10,
        window_start: Some(UnixMs(1_780_000_000_000)),
        window_end: None,
        min_el_deg: 10.0,
        policy: "highest-priority".to_owned(),
        transmitter_uuids: vec!["JH4TSATzvpNJ46SkgH59Vd".to_owned()],
    }
}

async fn org(store: &Store, name: &str) -> OrgId {
    store.create_organization(&Actor::System, name, None).await.unwrap().id
}

async fn crud_round_trips_stations_campaigns_and_assignments(store: Store) {
    let a = org(&store, "acme").await;
    let s = store.create_station(&Actor::System, a, &station("gs-1")).await.unwrap();
    assert_eq!(store.get_station(a, s.id).await.unwrap().settings, station("gs-1"));
    let mut moved = station("gs-1b");
    moved.lat_deg = -33.9;
    moved.rig = None;
    store.update_station(&Actor::System, a, s.id, &moved).await.unwrap();
    assert_eq!(store.get_station(a, s.id).await.unwrap().settings, moved);

    let c = store.create_campaign(&Actor::System, a, &campaign("iss", 25544)).await.unwrap();
    assert_eq!(store.get_campaign(a, c.id).await.unwrap().settings, campaign("iss", 25544));
    let mut later = campaign("iss-voice", 25544);
    later.window_end = Some(UnixMs(1_790_000_000_000));
    store.update_campaign(&Actor::System, a, c.id, &later).await.unwrap();
    assert_eq!(store.get_campaign(a, c.id).await.unwrap().settings, later);

    let asg = store.create_assignment(&Actor::System, a, s.id, c.id).await.unwrap();
    assert_eq!(store.get_assignment(a, asg.id).await.unwrap(), asg);
    assert!(matches!(store.create_assignment(&Actor::System, a, s.id, c.id).await, Err(StoreError::Conflict { .. })));

    // Deleting the station cascades to its assignment.
    store.delete_station(&Actor::System, a, s.id).await.unwrap();
    assert!(matches!(store.get_assignment(a, asg.id).await, Err(StoreError::NotFound { .. })));
    store.delete_campaign(&Actor::System, a, c.id).await.unwrap();
    store.rename_organization(&Actor::System, a, "acme-2").await.unwrap();
    assert_eq!(store.get_organization(a).await.unwrap().name, "acme-2");
    store.delete_organization(&Actor::System, a).await.unwrap();
    assert!(matches!(store.get_organization(a).await, Err(StoreError::NotFound { .. })));
}

async fn another_orgs_ids_read_as_not_found_for_every_id_taking_method(store: Store) {
    let mine = org(&store, "mine").await;
    let theirs = org(&store, "theirs").await;
    let s = store.create_station(&Actor::System, theirs, &station("their-gs")).await.unwrap();
    let c = store.create_campaign(&Actor::System, theirs, &campaign("their-c", 25544)).await.unwrap();
    let a = store.create_assignment(&Actor::System, theirs, s.id, c.id).await.unwrap();
    let my_s = store.create_station(&Actor::System, mine, &station("my-gs")).await.unwrap();
    let my_c = store.create_campaign(&Actor::System, mine, &campaign("my-c", 25544)).await.unwrap();
    let key = store
        .create_api_key(
            &Actor::System,
            theirs,
            &NewApiKey {
                prefix: "tk_theirs".into(),
                key_hash: "h".into(),
                scopes: vec![],
                expires_at: None,
                created_by: None,
            },
        )
        .await
        .unwrap();
    let user = store.create_user(&Actor::System, "them@example.org", HASH).await.unwrap();
    store.add_member(&Actor::System, theirs, user.id, Role::Viewer).await.unwrap();
    let sys = &Actor::System;

    fn nf<T: std::fmt::Debug>(r: Result<T, StoreError>) {
        assert!(matches!(r, Err(StoreError::NotFound { .. })), "expected NotFound, got {r:?}");
    }
    nf(store.get_station(mine, s.id).await);
    nf(store.update_station(sys, mine, s.id, &station("x")).await);
    nf(store.delete_station(sys, mine, s.id).await);
    nf(store.get_campaign(mine, c.id).await);
    nf(store.update_campaign(sys, mine, c.id, &campaign("x", 1)).await);
    nf(store.delete_campaign(sys, mine, c.id).await);
    nf(store.get_assignment(mine, a.id).await);
    nf(store.delete_assignment(sys, mine, a.id).await);
    nf(store.create_assignment(sys, mine, s.id, my_c.id).await);
    nf(store.create_assignment(sys, mine, my_s.id, c.id).await);
    nf(store.touch_api_key(mine, key.id, UnixMs(1)).await);
    nf(store.set_role(sys, mine, user.id, Role::Owner).await);
    assert!(store.list_stations(mine, None, 100).await.unwrap().items.iter().all(|x| x.org == mine));
    assert!(store.list_campaigns(mine, None, 100).await.unwrap().items.iter().all(|x| x.org == mine));
    assert!(store.list_assignments(mine, None, 100).await.unwrap().items.is_empty());
    assert!(store.list_members(mine).await.unwrap().is_empty());
    assert!(store.list_audit(mine, None, 100).await.unwrap().items.iter().all(|e| e.org == Some(mine)));

    // Their rows are untouched.
    assert_eq!(store.get_station(theirs, s.id).await.unwrap().settings.name, "their-gs");
    assert_eq!(store.get_campaign(theirs, c.id).await.unwrap().settings.name, "their-c");
    assert_eq!(store.list_members(theirs).await.unwrap()[0].role, Role::Viewer);
}

async fn a_duplicate_station_name_is_a_conflict_and_writes_nothing(store: Store) {
    let a = org(&store, "acme").await;
    let b = org(&store, "other").await;
    store.create_station(&Actor::System, a, &station("gs")).await.unwrap();
    let (stations, audits) =
        (store.count_rows("stations").await.unwrap(), store.count_rows("audit_log").await.unwrap());
    let err = store.create_station(&Actor::System, a, &station("gs")).await.unwrap_err();
    match err {
        StoreError::Conflict { what } => assert!(what.contains("name"), "{what}"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(store.count_rows("stations").await.unwrap(), stations);
    assert_eq!(store.count_rows("audit_log").await.unwrap(), audits);
    // The same name in another organization is fine.
    store.create_station(&Actor::System, b, &station("gs")).await.unwrap();
}

async fn out_of_range_values_are_invalid_and_name_the_field(store: Store) {
    let a = org(&store, "acme").await;
    let audits = store.count_rows("audit_log").await.unwrap();
    let mut bad = station("gs");
    bad.lat_deg = 91.0;
    match store.create_station(&Actor::System, a, &bad).await {
        Err(StoreError::Invalid { field, .. }) => assert_eq!(field, "lat_deg"),
        other => panic!("expected Invalid lat_deg, got {other:?}"),
    }
    let mut bad = campaign("c", 25544);
    bad.min_el_deg = 95.0;
    match store.create_campaign(&Actor::System, a, &bad).await {
        Err(StoreError::Invalid { field, .. }) => assert_eq!(field, "min_el_deg"),
        other => panic!("expected Invalid min_el_deg, got {other:?}"),
    }
    match store.create_user(&Actor::System, "a@example.org", "plaintext").await {
        Err(StoreError::Invalid { field, .. }) => assert_eq!(field, "password_hash"),
        other => panic!("expected Invalid password_hash, got {other:?}"),
    }
    assert_eq!(store.count_rows("stations").await.unwrap(), 0);
    assert_eq!(store.count_rows("campaigns").await.unwrap(), 0);
    assert_eq!(store.count_rows("users").await.unwrap(), 0);
    assert_eq!(store.count_rows("audit_log").await.unwrap(), audits);
    assert!(matches!(store.list_stations(a, None, 0).await, Err(StoreError::Invalid { .. })));
}

async fn a_bulk_import_that_fails_midway_rolls_back_every_row(store: Store) {
    let mut records = harness::transmitters();
    records[150].downlink_low_hz = Some(-1);
    match store.upsert_transmitters(&Actor::System, &records).await {
        Err(StoreError::Invalid { field, .. }) => assert_eq!(field, "downlink_low_hz"),
        other => panic!("expected Invalid downlink_low_hz, got {other:?}"),
    }
    assert_eq!(store.count_rows("transmitters").await.unwrap(), 0);
    assert_eq!(store.count_rows("audit_log").await.unwrap(), 0);
}

async fn cursor_pagination_covers_every_row_exactly_once(store: Store) {
    let a = org(&store, "acme").await;
    let b = org(&store, "other").await;
    let mut made = Vec::new();
    for i in 0..23 {
        made.push(store.create_station(&Actor::System, a, &station(&format!("gs-{i}"))).await.unwrap().id);
        store.create_station(&Actor::System, b, &station(&format!("gs-{i}"))).await.unwrap();
    }
    let c = store.create_campaign(&Actor::System, a, &campaign("c", 25544)).await.unwrap();
    for s in &made {
        store.create_assignment(&Actor::System, a, *s, c.id).await.unwrap();
    }
    let (mut seen, mut after, mut pages) = (Vec::<StationId>::new(), None, 0);
    loop {
        let page = store.list_stations(a, after, 5).await.unwrap();
        seen.extend(page.items.iter().map(|s| s.id));
        pages += 1;
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, made);
    assert_eq!(pages, 5);
    let (mut seen_a, mut after) = (Vec::<AssignmentId>::new(), None);
    loop {
        let page = store.list_assignments(a, after, 7).await.unwrap();
        seen_a.extend(page.items.iter().map(|x| x.id));
        if page.next.is_none() {
            break;
        }
        after = page.next;
    }
    assert_eq!(seen_a.len(), 23);
    seen_a.dedup();
    assert_eq!(seen_a.len(), 23);
    // Audit, newest first, 23 stations + 1 campaign + 23 assignments + org creation.
    let (mut audit, mut before) = (Vec::new(), None);
    loop {
        let page = store.list_audit(a, before, 10).await.unwrap();
        audit.extend(page.items.iter().map(|e| e.id));
        if page.next.is_none() {
            break;
        }
        before = page.next;
    }
    assert_eq!(audit.len(), 48);
    assert!(audit.windows(2).all(|w| w[0] > w[1]));
    let campaigns = store.list_campaigns(a, Some(CampaignId(0)), 1).await.unwrap();
    assert_eq!(campaigns.items.len(), 1);
}

async fn every_mutation_writes_an_audit_row_with_actor_and_org(store: Store) {
    let user = store.create_user(&Actor::System, "op@example.org", HASH).await.unwrap();
    let by = Actor::User(user.id);
    let a = store.create_organization(&by, "acme", Some(user.id)).await.unwrap().id;
    let key = NewApiKey {
        prefix: "tk_abc".into(),
        key_hash: "hash".into(),
        scopes: vec!["stations:write".into()],
        expires_at: None,
        created_by: Some(user.id),
    };
    store.create_api_key(&by, a, &key).await.unwrap();
    let k = Actor::ApiKey("tk_abc".into());
    let s = store.create_station(&k, a, &station("gs")).await.unwrap();
    store.update_station(&k, a, s.id, &station("gs2")).await.unwrap();
    let c = store.create_campaign(&k, a, &campaign("c", 25544)).await.unwrap();
    store.update_campaign(&k, a, c.id, &campaign("c2", 25544)).await.unwrap();
    let asg = store.create_assignment(&k, a, s.id, c.id).await.unwrap();
    store.delete_assignment(&k, a, asg.id).await.unwrap();
    store.delete_campaign(&k, a, c.id).await.unwrap();
    store.delete_station(&k, a, s.id).await.unwrap();
    let other = store.create_user(&Actor::System, "v@example.org", HASH).await.unwrap();
    store.add_member(&by, a, other.id, Role::Viewer).await.unwrap();
    store.set_role(&by, a, other.id, Role::Operator).await.unwrap();
    store.rename_organization(&by, a, "acme2").await.unwrap();
    store.append_audit(&k, Some(a), "command.denied", "station:1", serde_json::json!({"why": "viewer"})).await.unwrap();

    let mut log = store.list_audit(a, None, 100).await.unwrap().items;
    log.reverse();
    let got: Vec<(String, Actor)> = log.iter().map(|e| (e.action.clone(), e.actor.clone())).collect();
    let want = [
        ("organization.create", by.clone()),
        ("api_key.create", by.clone()),
        ("station.create", k.clone()),
        ("station.update", k.clone()),
        ("campaign.create", k.clone()),
        ("campaign.update", k.clone()),
        ("assignment.create", k.clone()),
        ("assignment.delete", k.clone()),
        ("campaign.delete", k.clone()),
        ("station.delete", k.clone()),
        ("member.add", by.clone()),
        ("member.set_role", by.clone()),
        ("organization.rename", by.clone()),
        ("command.denied", k.clone()),
    ];
    assert_eq!(got, want.iter().map(|(a, b)| (a.to_string(), b.clone())).collect::<Vec<_>>());
    assert!(log.iter().all(|e| e.org == Some(a) && e.at.0 > 1_600_000_000_000));
    assert_eq!(log[2].target, format!("station:{}", s.id));
    assert_eq!(log[2].details["name"], "gs");
}

async fn members_roles_and_api_keys_round_trip(store: Store) {
    let owner = store.create_user(&Actor::System, "owner@example.org", HASH).await.unwrap();
    let a = store.create_organization(&Actor::System, "acme", Some(owner.id)).await.unwrap().id;
    let op = store.create_user(&Actor::System, "op@example.org", HASH).await.unwrap();
    assert!(matches!(
        store.create_user(&Actor::System, "op@example.org", HASH).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(store.find_user_by_email("op@example.org").await.unwrap(), op);
    store.add_member(&Actor::System, a, op.id, Role::Viewer).await.unwrap();
    assert!(matches!(store.add_member(&Actor::System, a, op.id, Role::Admin).await, Err(StoreError::Conflict { .. })));
    assert!(matches!(
        store.add_member(&Actor::System, a, UserId(9_999), Role::Admin).await,
        Err(StoreError::NotFound { .. })
    ));
    store.set_role(&Actor::System, a, op.id, Role::Operator).await.unwrap();
    let members = store.list_members(a).await.unwrap();
    assert_eq!(
        members.iter().map(|m| (m.user, m.role)).collect::<Vec<_>>(),
        [(owner.id, Role::Owner), (op.id, Role::Operator)]
    );
    let orgs = store.list_user_organizations(op.id).await.unwrap();
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0].1, Role::Operator);

    let key = NewApiKey {
        prefix: "tk_1234".into(),
        key_hash: "hash".into(),
        scopes: vec!["read".into()],
        expires_at: Some(UnixMs(2_000_000_000_000)),
        created_by: Some(owner.id),
    };
    let made = store.create_api_key(&Actor::System, a, &key).await.unwrap();
    assert!(matches!(store.create_api_key(&Actor::System, a, &key).await, Err(StoreError::Conflict { .. })));
    store.touch_api_key(a, made.id, UnixMs(1_780_000_000_000)).await.unwrap();
    let found = store.find_api_key_by_prefix("tk_1234").await.unwrap();
    assert_eq!(found.org, a);
    assert_eq!(found.scopes, ["read"]);
    assert_eq!(found.last_used_at, Some(UnixMs(1_780_000_000_000)));
    assert!(matches!(store.find_api_key_by_prefix("tk_none").await, Err(StoreError::NotFound { .. })));
}

async fn the_full_catalog_imports_every_object_and_a_second_import_changes_nothing(store: Store) {
    let sets = harness::catalog();
    assert_eq!(sets.len(), 15_347);
    let started = Instant::now();
    let first =
        store.upsert_element_sets(&Actor::System, "celestrak", 10, UnixMs(1_778_000_000_000), &sets).await.unwrap();
    let took = started.elapsed();
    eprintln!("{:?}: full catalog import (15,347 sets) took {:.3} s", store.backend(), took.as_secs_f64());
    assert_eq!(first.inserted + first.unchanged, 15_347);
    assert_eq!(store.count_rows("element_sets").await.unwrap() as usize, first.inserted);
    let second =
        store.upsert_element_sets(&Actor::System, "celestrak", 10, UnixMs(1_778_000_000_001), &sets).await.unwrap();
    assert_eq!(second.inserted, 0);
    assert_eq!(second.unchanged, 15_347);
    let current = store.current_element_sets().await.unwrap();
    let mut objects: Vec<NoradId> = sets.iter().map(|s| s.norad_id).collect();
    objects.sort();
    objects.dedup();
    assert_eq!(current.len(), objects.len());
    let iss = current.iter().find(|s| s.elements.norad_id.get() == 25544).unwrap();
    let original = sets.iter().find(|s| s.norad_id.get() == 25544).unwrap();
    assert_eq!(iss.elements.mean_motion_rev_per_day, original.mean_motion_rev_per_day);
    assert_eq!(iss.elements.name, original.name);
    let drift_us = (iss.elements.epoch - original.epoch).num_microseconds().unwrap().abs();
    assert!(drift_us <= 1, "epoch stored to the microsecond, drifted {drift_us} us");
    assert!(took.as_secs_f64() < 2.0, "import took {took:?}");
}

async fn current_element_sets_take_the_newest_epoch_of_the_highest_priority_source(store: Store) {
    let sets = harness::catalog();
    let iss = sets.iter().find(|s| s.norad_id.get() == 25544).unwrap().clone();
    let hubble = sets.iter().find(|s| s.norad_id.get() == 20580).unwrap().clone();
    let shifted = |s: &talos_orbit::elements::ElementSet, hours: i64, mm: f64| {
        let mut s = s.clone();
        s.epoch += chrono::Duration::hours(hours);
        s.mean_motion_rev_per_day = mm;
        s
    };
    // Low-priority source: ISS newest overall; Hubble only here.
    let low = [shifted(&iss, 48, 1.0), shifted(&iss, 0, 2.0), hubble.clone()];
    store.upsert_element_sets(&Actor::System, "satnogs", 1, UnixMs(1), &low).await.unwrap();
    // High-priority source: two ISS epochs, the second newer; an older one arriving later too.
    store.upsert_element_sets(&Actor::System, "space-track", 5, UnixMs(2), &[shifted(&iss, 12, 3.0)]).await.unwrap();
    store.upsert_element_sets(&Actor::System, "space-track", 5, UnixMs(3), &[shifted(&iss, 24, 4.0)]).await.unwrap();
    store.upsert_element_sets(&Actor::System, "space-track", 5, UnixMs(4), &[shifted(&iss, 6, 5.0)]).await.unwrap();
    let current = store.current_element_sets().await.unwrap();
    assert_eq!(current.len(), 2);
    assert_eq!(current[0].elements.norad_id.get(), 20580);
    assert_eq!(current[0].source, "satnogs");
    assert_eq!(current[1].source, "space-track");
    assert_eq!(current[1].source_priority, 5);
    assert_eq!(current[1].elements.mean_motion_rev_per_day, 4.0);
    assert_eq!(current[1].fetched_at, UnixMs(3));
    assert_eq!(store.count_rows("element_sets").await.unwrap(), 6);
}

async fn satnogs_transmitters_import_and_a_second_import_is_unchanged(store: Store) {
    let records = harness::transmitters();
    assert_eq!(records.len(), 224);
    let first = store.upsert_transmitters(&Actor::System, &records).await.unwrap();
    assert_eq!((first.inserted, first.unchanged), (224, 0));
    let again = store.upsert_transmitters(&Actor::System, &records).await.unwrap();
    assert_eq!((again.inserted, again.unchanged), (0, 224));
    let mut changed = records[0].clone();
    changed.alive = !changed.alive;
    changed.updated = "2026-01-01T00:00:00Z".into();
    let third = store.upsert_transmitters(&Actor::System, &[changed.clone()]).await.unwrap();
    assert_eq!((third.inserted, third.unchanged), (1, 0));
    let ao7 = store.list_transmitters(Some(changed.norad_id)).await.unwrap();
    let stored = ao7.iter().find(|t| t.uuid == changed.uuid).unwrap();
    assert_eq!(stored.alive, changed.alive);
    assert_eq!(stored.downlink_low_hz, Some(2_304_100_000));
    assert_eq!(store.list_transmitters(None).await.unwrap().len(), 224);
}

async fn the_director_snapshot_holds_every_fleet_and_the_current_catalog(store: Store) {
    store.upsert_element_sets(&Actor::System, "celestrak", 10, UnixMs(1), &harness::catalog()).await.unwrap();
    store.upsert_transmitters(&Actor::System, &harness::transmitters()).await.unwrap();
    for name in ["a", "b"] {
        let o = org(&store, name).await;
        let c = store.create_campaign(&Actor::System, o, &campaign("iss", 25544)).await.unwrap();
        for i in 0..3 {
            let s = store.create_station(&Actor::System, o, &station(&format!("gs-{i}"))).await.unwrap();
            store.create_assignment(&Actor::System, o, s.id, c.id).await.unwrap();
        }
    }
    let started = Instant::now();
    let snap = store.load_director_snapshot().await.unwrap();
    eprintln!("{:?}: director snapshot took {:.3} s", store.backend(), started.elapsed().as_secs_f64());
    assert_eq!(snap.stations.len(), 6);
    assert_eq!(snap.campaigns.len(), 2);
    assert_eq!(snap.assignments.len(), 6);
    assert_eq!(snap.transmitters.len(), 224);
    assert!(snap.element_sets.len() > 15_000);
    for a in &snap.assignments {
        let s = snap.stations.iter().find(|s| s.id == a.station).unwrap();
        let c = snap.campaigns.iter().find(|c| c.id == a.campaign).unwrap();
        assert_eq!((s.org, c.org), (a.org, a.org));
    }
}

async fn concurrent_writers_wait_for_each_other_instead_of_failing(store: Store) {
    let a = org(&store, "acme").await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.spawn(async move {
            let mut bad = station(&format!("gs-{i}"));
            bad.lat_deg = 100.0;
            assert!(matches!(store.create_station(&Actor::System, a, &bad).await, Err(StoreError::Invalid { .. })));
            store.create_station(&Actor::System, a, &station(&format!("gs-{i}"))).await.unwrap();
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    assert_eq!(store.list_stations(a, None, 100).await.unwrap().items.len(), 16);
}

async fn api_keys_list_by_org_and_a_revoked_key_is_gone_and_audited(store: Store) {
    let a = org(&store, "acme").await;
    let b = org(&store, "other").await;
    let key = |prefix: &str| NewApiKey {
        prefix: prefix.into(),
        key_hash: format!("hash-{prefix}"),
        scopes: vec!["role:viewer".into()],
        expires_at: None,
        created_by: None,
    };
    let mut mine = Vec::new();
    for i in 0..5 {
        mine.push(store.create_api_key(&Actor::System, a, &key(&format!("tk_a{i}"))).await.unwrap().id);
    }
    let theirs = store.create_api_key(&Actor::System, b, &key("tk_b")).await.unwrap();
    let (mut seen, mut after) = (Vec::new(), None);
    loop {
        let page = store.list_api_keys(a, after, 2).await.unwrap();
        assert!(page.items.iter().all(|k| k.org == a));
        seen.extend(page.items.iter().map(|k| k.id));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, mine);
    assert!(matches!(store.list_api_keys(a, None, 0).await, Err(StoreError::Invalid { .. })));

    // Another organization's key: NotFound, nothing written.
    let audits = store.count_rows("audit_log").await.unwrap();
    assert!(matches!(store.revoke_api_key(&Actor::System, a, theirs.id).await, Err(StoreError::NotFound { .. })));
    assert_eq!(store.count_rows("audit_log").await.unwrap(), audits);
    assert_eq!(store.find_api_key_by_prefix("tk_b").await.unwrap().id, theirs.id);

    let by = Actor::ApiKey("tk_a0".into());
    assert_eq!(store.revoke_api_key(&by, a, mine[1]).await.unwrap(), "tk_a1");
    assert!(matches!(store.find_api_key_by_prefix("tk_a1").await, Err(StoreError::NotFound { .. })));
    assert!(matches!(store.revoke_api_key(&by, a, mine[1]).await, Err(StoreError::NotFound { .. })));
    assert_eq!(store.list_api_keys(a, None, 100).await.unwrap().items.len(), 4);
    let last = &store.list_audit(a, None, 1).await.unwrap().items[0];
    assert_eq!((last.action.as_str(), last.target.as_str(), &last.actor), ("api_key.revoke", "api_key:tk_a1", &by));
}

/// Three objects: the ISS (two sources, several epochs), Hubble, and a renamed object whose
/// older, lower-priority set still carries its old name.
async fn seed_small_catalog(store: &Store) {
    let sets = harness::catalog();
    let iss = sets.iter().find(|s| s.norad_id.get() == 25544).unwrap().clone();
    let hubble = sets.iter().find(|s| s.norad_id.get() == 20580).unwrap().clone();
    let mut renamed = hubble.clone();
    renamed.norad_id = NoradId::new(99_001).unwrap();
    renamed.international_designator = Some("26001A".into());
    let shifted = |s: &talos_orbit::elements::ElementSet, hours: i64, name: &str| {
        let mut s = s.clone();
        s.epoch += chrono::Duration::hours(hours);
        s.name = Some(name.to_owned());
        s
    };
    let low = [shifted(&iss, 48, "ISS (ZARYA)"), hubble, shifted(&renamed, 0, "OLD_NAME 50%")];
    store.upsert_element_sets(&Actor::System, "satnogs", 1, UnixMs(1), &low).await.unwrap();
    let high = [shifted(&iss, 0, "ISS (ZARYA)"), shifted(&iss, 24, "ISS (ZARYA)"), shifted(&renamed, -24, "NEW-NAME")];
    store.upsert_element_sets(&Actor::System, "space-track", 5, UnixMs(2), &high).await.unwrap();
}

async fn satellite_search_reads_current_sets_by_id_or_name_substring(store: Store) {
    seed_small_catalog(&store).await;
    let ids = |page: talos_store::Page<talos_store::StoredElementSet, NoradId>| {
        page.items.iter().map(|s| s.elements.norad_id.get()).collect::<Vec<_>>()
    };
    assert_eq!(ids(store.list_current_element_sets("", None, 100).await.unwrap()), [20580, 25544, 99001]);
    assert_eq!(ids(store.list_current_element_sets("25544", None, 100).await.unwrap()), [25544]);
    // Numeric means the id exactly, never a substring of it or of a name.
    assert!(ids(store.list_current_element_sets("2554", None, 100).await.unwrap()).is_empty());
    assert!(ids(store.list_current_element_sets("0", None, 100).await.unwrap()).is_empty());
    assert!(ids(store.list_current_element_sets("99999999999999999999999", None, 100).await.unwrap()).is_empty());
    assert_eq!(ids(store.list_current_element_sets("zArYa", None, 100).await.unwrap()), [25544]);
    assert_eq!(ids(store.list_current_element_sets("98067a", None, 100).await.unwrap()), [25544]);
    assert_eq!(ids(store.list_current_element_sets("-name", None, 100).await.unwrap()), [99001]);
    // The current set's name counts, not an older one's; LIKE wildcards match themselves.
    assert!(ids(store.list_current_element_sets("old", None, 100).await.unwrap()).is_empty());
    assert!(ids(store.list_current_element_sets("%", None, 100).await.unwrap()).is_empty());
    assert!(ids(store.list_current_element_sets("_", None, 100).await.unwrap()).is_empty());
    assert!(ids(store.list_current_element_sets("\\", None, 100).await.unwrap()).is_empty());
    // Paging with limit 1 walks every object once.
    let (mut seen, mut after) = (Vec::new(), None);
    loop {
        let page = store.list_current_element_sets("", after, 1).await.unwrap();
        seen.extend(page.items.iter().map(|s| s.elements.norad_id.get()));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, [20580, 25544, 99001]);
    let current = store.current_element_set(NoradId::new(25544).unwrap()).await.unwrap();
    assert_eq!((current.source.as_str(), current.fetched_at), ("space-track", UnixMs(2)));
    let listed = store.list_current_element_sets("25544", None, 1).await.unwrap().items;
    assert_eq!(listed, [current]);
    assert!(matches!(
        store.current_element_set(NoradId::new(1).unwrap()).await,
        Err(StoreError::NotFound { what: "satellite", .. })
    ));
}

async fn element_set_history_is_newest_epoch_first_across_sources(store: Store) {
    seed_small_catalog(&store).await;
    let iss = NoradId::new(25544).unwrap();
    let (mut seen, mut before, mut pages) = (Vec::new(), None, 0);
    loop {
        let page = store.element_set_history(iss, before, 2).await.unwrap();
        pages += 1;
        seen.extend(page.items.iter().map(|s| (s.elements.epoch, s.source.clone())));
        match page.next {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    assert_eq!(pages, 2);
    let sources: Vec<&str> = seen.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(sources, ["satnogs", "space-track", "space-track"]);
    assert!(seen.windows(2).all(|w| w[0].0 > w[1].0), "{seen:?}");
    assert!(matches!(
        store.element_set_history(NoradId::new(1).unwrap(), None, 10).await,
        Err(StoreError::NotFound { what: "satellite", .. })
    ));
    // A cursor that names no set of this object: an empty last page.
    let page = store.element_set_history(iss, Some(talos_store::ElementSetId(999_999)), 10).await.unwrap();
    assert_eq!((page.items.len(), page.next), (0, None));
}

both_backends!(
    concurrent_writers_wait_for_each_other_instead_of_failing,
    crud_round_trips_stations_campaigns_and_assignments,
    another_orgs_ids_read_as_not_found_for_every_id_taking_method,
    a_duplicate_station_name_is_a_conflict_and_writes_nothing,
    out_of_range_values_are_invalid_and_name_the_field,
    a_bulk_import_that_fails_midway_rolls_back_every_row,
    cursor_pagination_covers_every_row_exactly_once,
    every_mutation_writes_an_audit_row_with_actor_and_org,
    members_roles_and_api_keys_round_trip,
    the_full_catalog_imports_every_object_and_a_second_import_changes_nothing,
    current_element_sets_take_the_newest_epoch_of_the_highest_priority_source,
    satnogs_transmitters_import_and_a_second_import_is_unchanged,
    the_director_snapshot_holds_every_fleet_and_the_current_catalog,
    api_keys_list_by_org_and_a_revoked_key_is_gone_and_audited,
    satellite_search_reads_current_sets_by_id_or_name_substring,
    element_set_history_is_newest_epoch_first_across_sources,
);

#[tokio::test]
async fn sqlite_runs_in_wal_mode() {
    let path = std::env::temp_dir().join(format!("talos_store_wal_{}.db", std::process::id()));
    let store = Store::connect(&format!("sqlite://{}?mode=rwc", path.display())).await.unwrap();
    org(&store, "acme").await;
    assert!(std::path::Path::new(&format!("{}-wal", path.display())).exists());
    store.close().await;
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
    }
}

#[tokio::test]
async fn connect_rejects_an_unknown_url_scheme() {
    assert!(matches!(Store::connect("mysql://localhost/x").await, Err(StoreError::Invalid { .. })));
}

// ---- accounts: enrollment, password resets, session pruning, fleet imports ----------

/// Row counts of the tables an account or fleet change may touch, to prove "nothing written".
async fn counts(store: &Store) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for table in [
        "organizations",
        "users",
        "memberships",
        "stations",
        "campaigns",
        "assignments",
        "audit_log",
        "sessions",
        "tracking_sessions",
    ] {
        out.push((table, store.count_rows(table).await.unwrap()));
    }
    out
}

/// The audit actions of `org`, oldest first.
async fn actions(store: &Store, org: OrgId) -> Vec<String> {
    let mut log = store.list_audit(org, None, 1_000).await.unwrap().items;
    log.reverse();
    log.into_iter().map(|e| e.action).collect()
}

async fn enrolling_an_owner_creates_the_missing_org_and_a_member_joins_an_existing_one(store: Store) {
    let admin = Actor::System;
    let first = store.enroll_user(&admin, "owner@acme.example", HASH, "acme", Role::Owner).await.unwrap();
    assert!(first.created_org);
    assert_eq!(first.org.name, "acme");
    assert_eq!(first.user.email, "owner@acme.example");
    assert_eq!(first.user.password_hash, HASH);
    assert_eq!(store.find_user_by_email("owner@acme.example").await.unwrap(), first.user);
    assert_eq!(store.get_organization(first.org.id).await.unwrap(), first.org);
    let orgs = store.list_user_organizations(first.user.id).await.unwrap();
    assert_eq!(orgs, [(first.org.clone(), Role::Owner)]);

    // A second user joins the existing organization (any role), which is not recreated.
    let second = store.enroll_user(&admin, "op@acme.example", HASH, "acme", Role::Operator).await.unwrap();
    assert!(!second.created_org);
    assert_eq!(second.org, first.org);
    // An owner enrolled into an existing organization joins it too.
    let third = store.enroll_user(&admin, "co@acme.example", HASH, "acme", Role::Owner).await.unwrap();
    assert!(!third.created_org);
    assert_eq!(third.org.id, first.org.id);
    let members: Vec<_> = store.list_members(first.org.id).await.unwrap().iter().map(|m| (m.user, m.role)).collect();
    assert_eq!(members, [(first.user.id, Role::Owner), (second.user.id, Role::Operator), (third.user.id, Role::Owner)]);
    assert_eq!(store.count_rows("organizations").await.unwrap(), 1);

    // Audit: user.create (no org), organization.create and member.add (the org's).
    assert_eq!(actions(&store, first.org.id).await, ["organization.create", "member.add", "member.add", "member.add"]);
    let log = store.list_audit(first.org.id, None, 100).await.unwrap().items;
    let add_op = log.iter().find(|e| e.target == format!("user:{}", second.user.id.0)).unwrap();
    assert_eq!((add_op.action.as_str(), &add_op.details["role"]), ("member.add", &serde_json::json!("operator")));
    assert!(log.iter().all(|e| e.actor == Actor::System));
    // 3 user.create rows (org-less) + 4 org rows.
    assert_eq!(store.count_rows("audit_log").await.unwrap(), 7);
}

async fn enrolling_into_a_missing_org_without_owner_role_is_not_found_and_writes_nothing(store: Store) {
    store.enroll_user(&Actor::System, "owner@acme.example", HASH, "acme", Role::Owner).await.unwrap();
    let before = counts(&store).await;
    for role in [Role::Admin, Role::Operator, Role::Viewer] {
        match store.enroll_user(&Actor::System, "new@nowhere.example", HASH, "nowhere", role).await {
            Err(StoreError::NotFound { what, id }) => assert_eq!((what, id.as_str()), ("organization", "nowhere")),
            other => panic!("{role:?}: expected NotFound organization, got {other:?}"),
        }
        assert_eq!(counts(&store).await, before, "{role:?} left rows behind");
    }
    assert!(matches!(store.find_user_by_email("new@nowhere.example").await, Err(StoreError::NotFound { .. })));
    // The same email then enrolls fine: nothing half-written blocks it.
    store.enroll_user(&Actor::System, "new@nowhere.example", HASH, "acme", Role::Viewer).await.unwrap();
}

async fn enrolling_a_duplicate_email_is_a_conflict_and_leaves_no_orphan_org(store: Store) {
    store.enroll_user(&Actor::System, "dup@acme.example", HASH, "acme", Role::Owner).await.unwrap();
    let before = counts(&store).await;
    // Into a new organization (which would be created), into the existing one, any role.
    for (org_name, role) in [("fresh", Role::Owner), ("acme", Role::Viewer), ("acme", Role::Owner)] {
        match store.enroll_user(&Actor::System, "dup@acme.example", HASH, org_name, role).await {
            Err(StoreError::Conflict { what }) => assert!(what.contains("email"), "{what}"),
            other => panic!("{org_name}/{role:?}: expected Conflict, got {other:?}"),
        }
        assert_eq!(counts(&store).await, before, "{org_name}/{role:?} left rows behind");
    }
    // Values the schema refuses are Invalid, also with nothing written.
    for (email, hash, field) in [("x", HASH, "email"), ("ok@acme.example", "plaintext", "password_hash")] {
        match store.enroll_user(&Actor::System, email, hash, "fresh", Role::Owner).await {
            Err(StoreError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{email}: expected Invalid {field}, got {other:?}"),
        }
        assert_eq!(counts(&store).await, before);
    }
    // A bad organization name fails after the user row was written: rolled back too.
    let long = "o".repeat(201);
    match store.enroll_user(&Actor::System, "ok@acme.example", HASH, &long, Role::Owner).await {
        Err(StoreError::Invalid { field, .. }) => assert_eq!(field, "name"),
        other => panic!("expected Invalid name, got {other:?}"),
    }
    assert_eq!(counts(&store).await, before);
}

fn session_row(id: &str, user: UserId, expires_at: i64) -> talos_store::Session {
    talos_store::Session {
        id: id.to_owned(),
        user,
        csrf_hash: format!("csrf-{id}"),
        created_at: UnixMs(1_000),
        expires_at: UnixMs(expires_at),
    }
}

async fn set_password_replaces_the_hash_and_ends_the_users_sessions(store: Store) {
    let a = store.enroll_user(&Actor::System, "a@acme.example", HASH, "acme", Role::Owner).await.unwrap();
    let b = store.enroll_user(&Actor::System, "b@acme.example", HASH, "acme", Role::Viewer).await.unwrap();
    for (id, user) in [("a1", a.user.id), ("a2", a.user.id), ("b1", b.user.id)] {
        store.create_session(&session_row(id, user, 9_000_000_000_000)).await.unwrap();
    }
    let audits = store.count_rows("audit_log").await.unwrap();
    let new_hash = "$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdA$bmV3aGFzaG5ld2hhc2g";
    let by = Actor::User(b.user.id);
    store.set_password(&by, a.user.id, new_hash).await.unwrap();
    assert_eq!(store.find_user_by_email("a@acme.example").await.unwrap().password_hash, new_hash);
    assert_eq!(store.find_user_by_email("b@acme.example").await.unwrap().password_hash, HASH);
    for id in ["a1", "a2"] {
        assert!(matches!(store.find_session(id, UnixMs(2_000)).await, Err(StoreError::NotFound { .. })), "{id}");
    }
    assert_eq!(store.find_session("b1", UnixMs(2_000)).await.unwrap().user, b.user.id);
    assert_eq!(store.count_rows("sessions").await.unwrap(), 1);
    assert_eq!(store.count_rows("audit_log").await.unwrap(), audits + 1);
    // The reset is audited without an organization: read it back through the raw count
    // and the org log (which must not show it).
    assert!(!actions(&store, a.org.id).await.contains(&"user.password_reset".to_owned()));

    // An unknown user is NotFound; a hash the schema refuses is Invalid; neither writes.
    let before = counts(&store).await;
    match store.set_password(&Actor::System, UserId(999_999), new_hash).await {
        Err(StoreError::NotFound { what, .. }) => assert_eq!(what, "user"),
        other => panic!("expected NotFound user, got {other:?}"),
    }
    assert!(matches!(
        store.set_password(&Actor::System, b.user.id, "plaintext").await,
        Err(StoreError::Invalid { .. })
    ));
    assert_eq!(counts(&store).await, before);
    assert_eq!(store.find_session("b1", UnixMs(2_000)).await.unwrap().user, b.user.id);
}

async fn deleting_expired_sessions_keeps_the_live_ones(store: Store) {
    let u = store.enroll_user(&Actor::System, "u@acme.example", HASH, "acme", Role::Owner).await.unwrap().user.id;
    for (id, expires) in [("old", 1_000), ("edge", 5_000), ("live", 5_001), ("later", 9_000)] {
        store.create_session(&session_row(id, u, expires)).await.unwrap();
    }
    assert_eq!(store.delete_expired_sessions(UnixMs(500)).await.unwrap(), 0);
    // A session expiring exactly at `at` is already unusable (find_session wants expires > now): deleted.
    assert_eq!(store.delete_expired_sessions(UnixMs(5_000)).await.unwrap(), 2);
    assert_eq!(store.count_rows("sessions").await.unwrap(), 2);
    for id in ["live", "later"] {
        assert_eq!(store.find_session(id, UnixMs(5_000)).await.unwrap().id, id);
    }
    assert_eq!(store.delete_expired_sessions(UnixMs(5_000)).await.unwrap(), 0);
    assert_eq!(store.delete_expired_sessions(UnixMs(i64::MAX)).await.unwrap(), 2);
    assert_eq!(store.count_rows("sessions").await.unwrap(), 0);
}

async fn a_fleet_import_writes_every_row_and_one_audit_row(store: Store) {
    let a = org(&store, "acme").await;
    let other = org(&store, "other").await;
    store.create_station(&Actor::System, other, &station("gs-0")).await.unwrap();
    let stations: Vec<NewStation> = (0..3).map(|i| station(&format!("gs-{i}"))).collect();
    let campaigns = [campaign("iss", 25544), campaign("ao-7", 7530)];
    let assignments = [(0, 0), (1, 0), (2, 1), (0, 1)];
    let audits = store.count_rows("audit_log").await.unwrap();
    let by = Actor::ApiKey("tk_import".into());
    let done = store.import_fleet(&by, a, &stations, &campaigns, &assignments).await.unwrap();
    assert_eq!(done, talos_store::FleetImport { stations: 3, campaigns: 2, assignments: 4 });

    let s = store.list_stations(a, None, 100).await.unwrap().items;
    assert_eq!(s.iter().map(|s| s.settings.clone()).collect::<Vec<_>>(), stations);
    assert!(s.iter().all(|s| s.org == a && s.held_since.is_none()));
    let c = store.list_campaigns(a, None, 100).await.unwrap().items;
    assert_eq!(c.iter().map(|c| c.settings.clone()).collect::<Vec<_>>(), campaigns);
    let asg = store.list_assignments(a, None, 100).await.unwrap().items;
    let pairs: Vec<(StationId, CampaignId)> = asg.iter().map(|x| (x.station, x.campaign)).collect();
    let want: Vec<(StationId, CampaignId)> = assignments.iter().map(|&(i, j)| (s[i].id, c[j].id)).collect();
    assert_eq!(pairs, want);

    assert_eq!(store.count_rows("audit_log").await.unwrap(), audits + 1);
    let log = store.list_audit(a, None, 1).await.unwrap().items;
    assert_eq!(log[0].action, "fleet.import");
    assert_eq!(log[0].actor, by);
    assert_eq!(log[0].target, format!("organization:{a}"));
    assert_eq!(log[0].details, serde_json::json!({ "stations": 3, "campaigns": 2, "assignments": 4 }));
    // The other organization is untouched.
    assert_eq!(store.list_stations(other, None, 100).await.unwrap().items.len(), 1);
    assert!(actions(&store, other).await.iter().all(|x| x != "fleet.import"));

    // An empty import is fine (and still audited).
    let empty = store.import_fleet(&by, a, &[], &[], &[]).await.unwrap();
    assert_eq!(empty, talos_store::FleetImport::default());
}

async fn a_fleet_import_is_all_or_nothing(store: Store) {
    let a = org(&store, "acme").await;
    store.create_station(&Actor::System, a, &station("existing")).await.unwrap();
    let stations: Vec<NewStation> = (0..3).map(|i| station(&format!("gs-{i}"))).collect();
    let campaigns = [campaign("iss", 25544), campaign("ao-7", 7530)];
    let before = counts(&store).await;
    let sys = &Actor::System;

    for bad in [[(0, 0), (3, 0)], [(0, 2), (0, 0)]] {
        match store.import_fleet(sys, a, &stations, &campaigns, &bad).await {
            Err(StoreError::Invalid { field, .. }) => assert_eq!(field, "assignments"),
            other => panic!("{bad:?}: expected Invalid assignments, got {other:?}"),
        }
        assert_eq!(counts(&store).await, before, "{bad:?}");
    }
    // An index into an empty slice is out of range too.
    assert!(matches!(store.import_fleet(sys, a, &[], &campaigns, &[(0, 0)]).await, Err(StoreError::Invalid { .. })));

    // A duplicate name within the import, and one clashing with a station already there:
    // the rows before it were written in the transaction and are rolled back.
    let mut twice = stations.clone();
    twice.push(station("gs-1"));
    let mut clash = stations.clone();
    clash.push(station("existing"));
    for list in [twice, clash] {
        match store.import_fleet(sys, a, &list, &campaigns, &[(0, 0)]).await {
            Err(StoreError::Conflict { what }) => assert!(what.contains("name"), "{what}"),
            other => panic!("expected Conflict, got {other:?}"),
        }
        assert_eq!(counts(&store).await, before);
    }
    let dup_campaign = [campaign("iss", 25544), campaign("iss", 7530)];
    assert!(matches!(
        store.import_fleet(sys, a, &stations, &dup_campaign, &[]).await,
        Err(StoreError::Conflict { .. })
    ));
    // The same assignment twice.
    assert!(matches!(
        store.import_fleet(sys, a, &stations, &campaigns, &[(1, 1), (1, 1)]).await,
        Err(StoreError::Conflict { .. })
    ));
    // A value the schema refuses in the last station.
    let mut bad = stations.clone();
    bad[2].lat_deg = 91.0;
    match store.import_fleet(sys, a, &bad, &campaigns, &[(0, 0)]).await {
        Err(StoreError::Invalid { field, .. }) => assert_eq!(field, "lat_deg"),
        other => panic!("expected Invalid lat_deg, got {other:?}"),
    }
    assert_eq!(counts(&store).await, before);

    // An unknown organization.
    match store.import_fleet(sys, OrgId(999_999), &stations, &campaigns, &[(0, 0)]).await {
        Err(StoreError::NotFound { what, .. }) => assert_eq!(what, "organization"),
        other => panic!("expected NotFound organization, got {other:?}"),
    }
    assert_eq!(counts(&store).await, before);

    // After all that, the good import goes through.
    store.import_fleet(sys, a, &stations, &campaigns, &[(0, 0)]).await.unwrap();
    assert_eq!(store.count_rows("stations").await.unwrap(), 4);
}

// ---- operator holds and station timelines -------------------------------------------

async fn a_station_hold_keeps_its_first_park_time_and_resume_clears_it(store: Store) {
    let a = org(&store, "acme").await;
    let b = org(&store, "other").await;
    let s = store.create_station(&Actor::System, a, &station("gs")).await.unwrap();
    let theirs = store.create_station(&Actor::System, b, &station("gs")).await.unwrap();
    let op = Actor::ApiKey("tk_op".into());

    let t0 = chrono::Utc::now().timestamp_millis();
    let parked = store.set_station_hold(&op, a, s.id, true, "feed horn swap").await.unwrap();
    let t1 = chrono::Utc::now().timestamp_millis();
    let since = parked.held_since.expect("parked station has held_since");
    assert!((t0..=t1).contains(&since.0), "{since:?} not in {t0}..={t1}");
    assert_eq!(parked.settings, station("gs"));
    assert_eq!(store.get_station(a, s.id).await.unwrap().held_since, Some(since));

    // A second park (a few ms later) keeps the original time.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let again = store.set_station_hold(&op, a, s.id, true, "still swapping").await.unwrap();
    assert_eq!(again.held_since, Some(since));
    // Editing the station's settings keeps the hold.
    let updated = store.update_station(&Actor::System, a, s.id, &station("gs-renamed")).await.unwrap();
    assert_eq!(updated.held_since, Some(since));
    assert_eq!(store.get_station(a, s.id).await.unwrap().held_since, Some(since));
    assert_eq!(store.list_stations(a, None, 10).await.unwrap().items[0].held_since, Some(since));

    let resumed = store.set_station_hold(&op, a, s.id, false, "done").await.unwrap();
    assert_eq!(resumed.held_since, None);
    assert_eq!(store.get_station(a, s.id).await.unwrap().held_since, None);
    // Resuming a station that is not held is harmless (and still audited).
    assert_eq!(store.set_station_hold(&op, a, s.id, false, "").await.unwrap().held_since, None);

    let log = store.list_audit(a, None, 100).await.unwrap().items;
    let holds: Vec<(&str, &serde_json::Value)> = log
        .iter()
        .rev()
        .filter(|e| e.action.starts_with("station.park") || e.action.starts_with("station.resume"))
        .map(|e| (e.action.as_str(), &e.details["reason"]))
        .collect();
    assert_eq!(
        holds,
        [
            ("station.park", &serde_json::json!("feed horn swap")),
            ("station.park", &serde_json::json!("still swapping")),
            ("station.resume", &serde_json::json!("done")),
            ("station.resume", &serde_json::json!("")),
        ]
    );
    let park = log.iter().find(|e| e.action == "station.park").unwrap();
    assert_eq!((park.actor.clone(), park.target.clone()), (op.clone(), format!("station:{}", s.id)));

    // Another organization's station, or no station at all: NotFound, nothing written.
    let before = counts(&store).await;
    for (o, id) in [(a, theirs.id), (b, s.id), (a, StationId(999_999))] {
        for held in [true, false] {
            match store.set_station_hold(&op, o, id, held, "x").await {
                Err(StoreError::NotFound { what, .. }) => assert_eq!(what, "station"),
                other => panic!("{o}/{id}: expected NotFound station, got {other:?}"),
            }
        }
    }
    assert_eq!(counts(&store).await, before);
    assert_eq!(store.get_station(b, theirs.id).await.unwrap().held_since, None);
    assert_eq!(store.get_station(a, s.id).await.unwrap().held_since, None);
}

async fn station_campaigns_lists_one_stations_assignments_within_its_org(store: Store) {
    let a = org(&store, "acme").await;
    let b = org(&store, "other").await;
    let sys = &Actor::System;
    let s1 = store.create_station(sys, a, &station("gs-1")).await.unwrap();
    let s2 = store.create_station(sys, a, &station("gs-2")).await.unwrap();
    let idle = store.create_station(sys, a, &station("gs-idle")).await.unwrap();
    let c1 = store.create_campaign(sys, a, &campaign("iss", 25544)).await.unwrap();
    let c2 = store.create_campaign(sys, a, &campaign("ao-7", 7530)).await.unwrap();
    let c3 = store.create_campaign(sys, a, &campaign("hubble", 20580)).await.unwrap();
    let a13 = store.create_assignment(sys, a, s1.id, c3.id).await.unwrap();
    let a11 = store.create_assignment(sys, a, s1.id, c1.id).await.unwrap();
    store.create_assignment(sys, a, s2.id, c2.id).await.unwrap();
    let t = store.create_station(sys, b, &station("gs-1")).await.unwrap();
    let d = store.create_campaign(sys, b, &campaign("iss", 25544)).await.unwrap();
    store.create_assignment(sys, b, t.id, d.id).await.unwrap();

    let got = store.station_campaigns(a, s1.id).await.unwrap();
    // By assignment id, with the full assignment and campaign rows.
    assert_eq!(got, [(a13, c3.clone()), (a11, c1.clone())]);
    let got = store.station_campaigns(a, s2.id).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].0.station, got[0].1.id, got[0].1.settings.name.as_str()), (s2.id, c2.id, "ao-7"));
    assert!(store.station_campaigns(a, idle.id).await.unwrap().is_empty());
    // Never across organizations, in either direction.
    assert!(store.station_campaigns(a, t.id).await.unwrap().is_empty());
    assert!(store.station_campaigns(b, s1.id).await.unwrap().is_empty());
    assert!(store.station_campaigns(a, StationId(999_999)).await.unwrap().is_empty());
    let theirs = store.station_campaigns(b, t.id).await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!((theirs[0].0.org, theirs[0].1.org, theirs[0].1.id), (b, b, d.id));
    // A deleted campaign drops out of the timeline.
    store.delete_campaign(sys, a, c3.id).await.unwrap();
    assert_eq!(store.station_campaigns(a, s1.id).await.unwrap(), [(a11, c1)]);
}

// ---- director commands and tracking sessions ----------------------------------------

use talos_store::{DirectorCommand, DirectorCommandKind, SessionOutcome, TrackingSession};

const ISS: u64 = 25544;

fn start(org: OrgId, station: StationId, assignment: AssignmentId, at: i64) -> DirectorCommand {
    DirectorCommand {
        org,
        station,
        at: UnixMs(at),
        kind: DirectorCommandKind::SessionStart { assignment, norad_id: NoradId::new(ISS).unwrap() },
    }
}

fn stop(org: OrgId, station: StationId, assignment: AssignmentId, at: i64, outcome: SessionOutcome) -> DirectorCommand {
    DirectorCommand {
        org,
        station,
        at: UnixMs(at),
        kind: DirectorCommandKind::SessionStop { assignment, norad_id: NoradId::new(ISS).unwrap(), outcome },
    }
}

fn park(org: OrgId, station: StationId, at: i64) -> DirectorCommand {
    DirectorCommand { org, station, at: UnixMs(at), kind: DirectorCommandKind::Park { az_deg: 180.0, el_deg: 90.0 } }
}

/// One organization with a station, a campaign and an assignment between them.
async fn tracked(store: &Store, name: &str) -> (OrgId, StationId, AssignmentId) {
    let o = org(store, name).await;
    let s = store.create_station(&Actor::System, o, &station("gs")).await.unwrap();
    let c = store.create_campaign(&Actor::System, o, &campaign("iss", ISS)).await.unwrap();
    let asg = store.create_assignment(&Actor::System, o, s.id, c.id).await.unwrap();
    (o, s.id, asg.id)
}

async fn sessions_of(store: &Store, org: OrgId) -> Vec<TrackingSession> {
    store.list_tracking_sessions(org, None, None, 1_000).await.unwrap().items
}

async fn director_commands_open_and_close_tracking_sessions_and_are_audited_as_system(store: Store) {
    let (a, s, asg) = tracked(&store, "acme").await;
    let audits = store.count_rows("audit_log").await.unwrap();
    store.record_director_commands(&[]).await.unwrap();
    assert_eq!(store.count_rows("audit_log").await.unwrap(), audits);

    store.record_director_commands(&[start(a, s, asg, 10_000)]).await.unwrap();
    let open = sessions_of(&store, a).await;
    assert_eq!(open.len(), 1);
    let want = TrackingSession {
        id: open[0].id,
        org: a,
        station: s,
        assignment: asg,
        norad_id: NoradId::new(ISS).unwrap(),
        started_at: UnixMs(10_000),
        ended_at: None,
        outcome: SessionOutcome::InProgress,
    };
    assert_eq!(open[0], want);

    store
        .record_director_commands(&[stop(a, s, asg, 70_000, SessionOutcome::Completed), park(a, s, 70_000)])
        .await
        .unwrap();
    let closed = sessions_of(&store, a).await;
    assert_eq!(
        closed,
        [TrackingSession { ended_at: Some(UnixMs(70_000)), outcome: SessionOutcome::Completed, ..want.clone() }]
    );

    // A stop for a session never started (or already stopped) changes nothing and does not fail.
    let before = counts(&store).await;
    store
        .record_director_commands(&[
            stop(a, s, asg, 80_000, SessionOutcome::Preempted),
            stop(a, s, AssignmentId(999_999), 80_000, SessionOutcome::Held),
            stop(a, StationId(999_999), asg, 80_000, SessionOutcome::Removed),
        ])
        .await
        .unwrap();
    assert_eq!(sessions_of(&store, a).await, closed);
    assert_eq!(store.count_rows("tracking_sessions").await.unwrap(), 1);
    // Only the three audit rows were added.
    let after = counts(&store).await;
    let diff: Vec<_> = before.iter().zip(&after).filter(|(x, y)| x != y).map(|(x, y)| (x.0, y.1 - x.1)).collect();
    assert_eq!(diff, [("audit_log", 3)]);

    // Every outcome round-trips.
    for (i, outcome) in
        [SessionOutcome::Preempted, SessionOutcome::Held, SessionOutcome::Removed].into_iter().enumerate()
    {
        let t = 100_000 + 10_000 * i as i64;
        store.record_director_commands(&[start(a, s, asg, t), stop(a, s, asg, t + 1, outcome)]).await.unwrap();
        assert_eq!(sessions_of(&store, a).await[0].outcome, outcome);
    }

    // One audit row per command, actor system, target the station, the org's.
    let log: Vec<_> = store.list_audit(a, None, 100).await.unwrap().items.into_iter().rev().collect();
    let commands: Vec<_> = log.iter().filter(|e| e.action.starts_with("command.")).collect();
    let names: Vec<&str> = commands.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        names,
        [
            "command.session_start",
            "command.session_stop",
            "command.park",
            "command.session_stop",
            "command.session_stop",
            "command.session_stop",
            "command.session_start",
            "command.session_stop",
            "command.session_start",
            "command.session_stop",
            "command.session_start",
            "command.session_stop",
        ]
    );
    assert!(commands.iter().all(|e| e.actor == Actor::System && e.org == Some(a)));
    assert!(commands.iter().all(|e| e.target == format!("station:{s}") || e.target == "station:999999"));
    assert_eq!(commands[0].details, serde_json::json!({ "assignment": asg.0, "norad_id": ISS }));
    assert_eq!(commands[1].details["outcome"], "completed");
    assert_eq!(commands[2].details, serde_json::json!({ "az_deg": 180.0, "el_deg": 90.0 }));
}

async fn director_commands_for_a_deleted_or_unknown_org_are_skipped_without_failing_the_batch(store: Store) {
    let (a, s, asg) = tracked(&store, "acme").await;
    let (gone, gs, gasg) = tracked(&store, "gone").await;
    store.record_director_commands(&[start(gone, gs, gasg, 1_000)]).await.unwrap();
    store.delete_organization(&Actor::System, gone).await.unwrap();
    assert_eq!(store.count_rows("tracking_sessions").await.unwrap(), 0, "cascaded with the org");
    let gone_audit = store.list_audit(gone, None, 1_000).await.unwrap().items.len();
    let unknown = OrgId(999_999);

    let batch = [
        start(gone, gs, gasg, 2_000),
        start(unknown, StationId(999_998), AssignmentId(999_997), 2_000),
        start(a, s, asg, 2_000),
        park(gone, gs, 2_000),
        stop(gone, gs, gasg, 3_000, SessionOutcome::Completed),
        park(unknown, StationId(999_998), 2_000),
    ];
    store.record_director_commands(&batch).await.unwrap();
    // The live organization's command went through; nothing was written for the others.
    assert_eq!(store.count_rows("tracking_sessions").await.unwrap(), 1);
    assert_eq!(sessions_of(&store, a).await[0].station, s);
    assert!(sessions_of(&store, gone).await.is_empty());
    assert!(sessions_of(&store, unknown).await.is_empty());
    assert_eq!(store.list_audit(gone, None, 1_000).await.unwrap().items.len(), gone_audit);
    assert!(store.list_audit(unknown, None, 1_000).await.unwrap().items.is_empty());
    assert_eq!(actions(&store, a).await.last().map(String::as_str), Some("command.session_start"));
}

async fn interrupting_closes_only_open_sessions_of_every_org(store: Store) {
    let (a, s, asg) = tracked(&store, "acme").await;
    let (b, t, tasg) = tracked(&store, "other").await;
    let s2 = store.create_station(&Actor::System, a, &station("gs-2")).await.unwrap().id;
    store
        .record_director_commands(&[
            start(a, s, asg, 1_000),
            stop(a, s, asg, 2_000, SessionOutcome::Completed),
            start(a, s, asg, 3_000),
            start(b, t, tasg, 4_000),
            // Started after the interrupt time (a clock that ran ahead): closed at its own start.
            start(a, s2, asg, 9_000),
        ])
        .await
        .unwrap();
    assert_eq!(store.interrupt_open_sessions(UnixMs(5_000)).await.unwrap(), 3);
    let mut all = sessions_of(&store, a).await;
    all.extend(sessions_of(&store, b).await);
    all.sort_by_key(|x| x.id);
    let got: Vec<(i64, Option<i64>, SessionOutcome)> =
        all.iter().map(|x| (x.started_at.0, x.ended_at.map(|e| e.0), x.outcome)).collect();
    assert_eq!(
        got,
        [
            (1_000, Some(2_000), SessionOutcome::Completed),
            (3_000, Some(5_000), SessionOutcome::Interrupted),
            (4_000, Some(5_000), SessionOutcome::Interrupted),
            (9_000, Some(9_000), SessionOutcome::Interrupted),
        ]
    );
    assert_eq!(store.interrupt_open_sessions(UnixMs(6_000)).await.unwrap(), 0);
    // A late stop for an interrupted session changes nothing.
    store.record_director_commands(&[stop(a, s, asg, 7_000, SessionOutcome::Completed)]).await.unwrap();
    assert_eq!(sessions_of(&store, a).await.iter().filter(|x| x.outcome == SessionOutcome::Completed).count(), 1);
}

async fn tracking_sessions_list_newest_first_by_station_with_a_cursor_and_never_another_orgs(store: Store) {
    let (a, s, asg) = tracked(&store, "acme").await;
    let (b, t, tasg) = tracked(&store, "other").await;
    let s2 = store.create_station(&Actor::System, a, &station("gs-2")).await.unwrap().id;
    let mut batch = Vec::new();
    for i in 0..7 {
        let at = 1_000 * i;
        let on = if i % 2 == 0 { s } else { s2 };
        batch.push(start(a, on, asg, at));
        batch.push(stop(a, on, asg, at + 500, SessionOutcome::Completed));
        if i < 3 {
            batch.push(start(b, t, tasg, at));
        }
    }
    store.record_director_commands(&batch).await.unwrap();
    assert_eq!(store.count_rows("tracking_sessions").await.unwrap(), 10);

    let (mut seen, mut before, mut pages) = (Vec::new(), None, 0);
    loop {
        let page = store.list_tracking_sessions(a, None, before, 3).await.unwrap();
        assert!(page.items.iter().all(|x| x.org == a));
        seen.extend(page.items.iter().map(|x| (x.id, x.started_at.0)));
        pages += 1;
        match page.next {
            Some(n) => before = Some(n),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7);
    assert!(seen.windows(2).all(|w| w[0].0 > w[1].0), "newest first: {seen:?}");
    assert_eq!(seen.iter().map(|x| x.1).collect::<Vec<_>>(), [6_000, 5_000, 4_000, 3_000, 2_000, 1_000, 0]);

    let on_s2 = store.list_tracking_sessions(a, Some(s2), None, 100).await.unwrap();
    assert_eq!(on_s2.items.iter().map(|x| x.started_at.0).collect::<Vec<_>>(), [5_000, 3_000, 1_000]);
    assert!(on_s2.items.iter().all(|x| x.station == s2 && x.ended_at == Some(x.started_at.plus_ms(500))));
    assert_eq!(on_s2.next, None);
    let on_s_page = store.list_tracking_sessions(a, Some(s), None, 2).await.unwrap();
    assert_eq!(on_s_page.items.len(), 2);
    let rest = store.list_tracking_sessions(a, Some(s), on_s_page.next, 100).await.unwrap();
    assert_eq!(rest.items.iter().map(|x| x.started_at.0).collect::<Vec<_>>(), [2_000, 0]);

    // A stop recorded for one organization never closes another's session, even when it
    // names that organization's station and assignment.
    store.record_director_commands(&[stop(a, t, tasg, 9_000, SessionOutcome::Removed)]).await.unwrap();
    // Another organization's rows never show, by org or by its station id.
    let theirs = sessions_of(&store, b).await;
    assert_eq!(theirs.len(), 3);
    assert!(theirs.iter().all(|x| x.org == b && x.station == t && x.outcome == SessionOutcome::InProgress));
    assert!(store.list_tracking_sessions(a, Some(t), None, 100).await.unwrap().items.is_empty());
    assert!(store.list_tracking_sessions(b, Some(s), None, 100).await.unwrap().items.is_empty());
    assert!(store.list_tracking_sessions(OrgId(999_999), None, None, 100).await.unwrap().items.is_empty());
    // A cursor past the start is an empty page; bad limits are Invalid.
    let oldest = seen.last().unwrap().0;
    assert!(store.list_tracking_sessions(a, None, Some(oldest), 100).await.unwrap().items.is_empty());
    for limit in [0, talos_store::MAX_PAGE + 1] {
        assert!(matches!(store.list_tracking_sessions(a, None, None, limit).await, Err(StoreError::Invalid { .. })));
    }
}

both_backends!(
    enrolling_an_owner_creates_the_missing_org_and_a_member_joins_an_existing_one,
    enrolling_into_a_missing_org_without_owner_role_is_not_found_and_writes_nothing,
    enrolling_a_duplicate_email_is_a_conflict_and_leaves_no_orphan_org,
    set_password_replaces_the_hash_and_ends_the_users_sessions,
    deleting_expired_sessions_keeps_the_live_ones,
    a_fleet_import_writes_every_row_and_one_audit_row,
    a_fleet_import_is_all_or_nothing,
    a_station_hold_keeps_its_first_park_time_and_resume_clears_it,
    station_campaigns_lists_one_stations_assignments_within_its_org,
    director_commands_open_and_close_tracking_sessions_and_are_audited_as_system,
    director_commands_for_a_deleted_or_unknown_org_are_skipped_without_failing_the_batch,
    interrupting_closes_only_open_sessions_of_every_org,
    tracking_sessions_list_newest_first_by_station_with_a_cursor_and_never_another_orgs,
);

//! The director's outbox in the wire form of talos-link, on the demo network at the shipped
//! catalog's epoch: everything the tick produces is accepted by the contract, decodes as an
//! agent would read it, has the delivery the contract prescribes, and passes the agent's
//! ordering gate once (and only once).

use std::collections::HashMap;
use talos::bench::DEFAULT_MIN_PARALLEL_ITEMS;
use talos::link_out::publications;
use talos_core::UnixMs;
use talos_link::{Message, QoS, SetpointGate, Topic};
use talos_tick::{ComputePool, Director, TickConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticks_outbox_becomes_valid_publications_with_the_contracts_delivery() {
    // The demo as `talos serve --demo` builds it: seeded into a store, loaded from its snapshot.
    let dir = tempfile::tempdir().unwrap();
    let store =
        talos_store::Store::connect(&format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display())).await.unwrap();
    let t0 = UnixMs::parse_rfc3339("2026-08-29T12:00:00Z").unwrap();
    talos::demo::ensure_demo(&store, talos_api::HashCost::Light, t0).await.unwrap();
    let fleet = talos::fleet_load::load_fleet(&store.load_director_snapshot().await.unwrap());
    assert!(fleet.skipped.is_empty(), "{:?}", fleet.skipped);
    let mut director = Director::new(ComputePool::new(2, DEFAULT_MIN_PARALLEL_ITEMS).unwrap(), TickConfig::default());
    director.sync_fleet(fleet.spec);
    director.set_lease_epoch(7);
    director.tick(t0);
    let mut gates: HashMap<String, SetpointGate> = HashMap::new();
    let mut commands = 0;
    for tick in 1..=4 {
        let now = t0.plus_ms(tick * 500);
        let outbox = director.tick(now);
        let (rot, rig) = (outbox.rot.len(), outbox.rig.len());
        assert!(rot > 100, "the demo tracks at the catalog's epoch: {rot}");
        let (published, refused) = publications(outbox, "director-test", 7);
        assert!(refused.is_empty(), "{refused:?}");
        commands += outbox.commands.len();
        let mut counts = (0, 0, 0);
        for p in &published {
            let message = talos_link::decode(&p.topic, &p.payload).unwrap_or_else(|e| panic!("{}: {e}", p.topic));
            let topic: Topic = p.topic.parse().unwrap();
            match &message {
                Message::Rot(_) | Message::Rig(_) => {
                    assert_eq!((p.qos, p.retain), (QoS::AtMostOnce, false), "setpoints: QoS 0, never retained");
                    // The agent's gate takes each setpoint once; a replay is refused.
                    let station = topic.station().unwrap().1;
                    let gate = gates.entry(station.to_string()).or_default();
                    gate.admit(&message, now).unwrap();
                    assert!(gate.admit(&message, now).is_err(), "a replayed setpoint is refused");
                    if matches!(message, Message::Rot(_)) { counts.0 += 1 } else { counts.1 += 1 }
                }
                Message::Session(_) | Message::Park(_) => {
                    assert_eq!(p.qos, QoS::AtLeastOnce, "discrete commands: QoS 1");
                }
                Message::Heartbeat(h) => {
                    assert_eq!((h.t_ms, h.lease_epoch), (now, 7));
                    counts.2 += 1;
                }
                other => panic!("the director does not publish {other:?}"),
            }
        }
        assert_eq!(counts.0, rot, "one rotator setpoint per busy station");
        assert!(counts.1 <= rig && counts.1 > 0, "rig setpoints for tuned stations: {} of {rig}", counts.1);
        assert_eq!(counts.2, 1, "one heartbeat per tick");
    }
    assert!(commands > 0, "sessions start and stop over two seconds of a 261-station network");
}

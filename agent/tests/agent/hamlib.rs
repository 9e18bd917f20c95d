//! The Hamlib clients against the real daemons, and against daemons that die, hang or
//! answer nonsense.

use std::time::Duration;

use talos_agent::hamlib::{HamlibError, LinkSettings, Rigctld, Rotctld};
use talos_link::Pointing;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::support::{Hamlib, eventually, off_by};

const LINK: LinkSettings = LinkSettings {
    timeout: Duration::from_millis(500),
    reconnect_min: Duration::from_millis(50),
    reconnect_max: Duration::from_millis(200),
};

fn p(az_deg: f64, el_deg: f64) -> Pointing {
    Pointing { az_deg, el_deg }
}

#[tokio::test]
async fn the_clients_speak_rotctld_and_rigctld() {
    let rot_daemon = Hamlib::rotctld().await;
    let rig_daemon = Hamlib::rigctld().await;
    let mut rot = Rotctld::new(rot_daemon.address(), LINK);
    assert_eq!(rot.get_position().await.unwrap(), p(0.0, 0.0));
    rot.set_position(p(3.0, 2.0)).await.unwrap();
    eventually(Duration::from_secs(3), "the dummy at 3/2", || async {
        (off_by(rot_daemon.position().await, p(3.0, 2.0)) < 0.01).then_some(())
    })
    .await;
    rot.set_position(p(100.0, 50.0)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    rot.stop().await.unwrap();
    let stopped = rot.get_position().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rot.get_position().await.unwrap(), stopped, "S stops the motion");
    match rot.set_position(p(500.0, 0.0)).await {
        Err(e @ HamlibError::Refused { code: -1, .. }) => {
            assert!(!e.is_link_down());
            assert!(e.to_string().contains("invalid parameter"), "{e}");
        }
        other => panic!("the dummy only goes to 450 deg: {other:?}"),
    }
    rot.park().await.unwrap();
    assert!(rot.get_position().await.is_ok(), "the connection survives a refusal");

    let mut rig = Rigctld::new(rig_daemon.address(), LINK);
    rig.set_mode("USB").await.unwrap();
    assert_eq!(rig.get_mode().await.unwrap().0, "USB");
    rig.set_frequency(435_123_456.4).await.unwrap();
    assert_eq!(rig.get_frequency().await.unwrap(), 435_123_456.0);
    assert_eq!(rig_daemon.frequency_hz().await, 435_123_456.0);
    rig.set_split_frequency(145_900_000.0).await.unwrap();
}

#[tokio::test]
async fn a_daemon_that_dies_is_a_link_error_then_a_backoff_then_a_reconnect() {
    let mut daemon = Hamlib::rotctld().await;
    let link =
        LinkSettings { reconnect_min: Duration::from_millis(300), reconnect_max: Duration::from_millis(600), ..LINK };
    let mut rot = Rotctld::new(daemon.address(), link);
    rot.get_position().await.unwrap();
    daemon.kill();
    let e = rot.get_position().await.unwrap_err();
    assert!(matches!(e, HamlibError::Link { .. }), "{e:?}");
    assert!(e.is_link_down());
    let e = rot.get_position().await.unwrap_err();
    assert!(matches!(e, HamlibError::Backoff { .. }), "the next attempt waits: {e:?}");
    tokio::time::sleep(Duration::from_millis(350)).await;
    let e = rot.get_position().await.unwrap_err();
    assert!(matches!(e, HamlibError::Connect { .. }), "{e:?}");
    assert!(e.to_string().contains(&daemon.address()), "{e}");
    daemon.restart().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while rot.get_position().await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "the client did not reconnect");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_daemon_that_never_answers_times_out_and_one_that_answers_nonsense_is_dropped() {
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_address = silent.local_addr().unwrap().to_string();
    let hold = tokio::spawn(async move {
        let (_socket, _) = silent.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let mut rot = Rotctld::new(silent_address, LINK);
    let started = tokio::time::Instant::now();
    let e = rot.get_position().await.unwrap_err();
    assert!(e.to_string().contains("no answer within 500 ms"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(2));
    hold.abort();

    let liar = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let liar_address = liar.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (socket, _) = liar.accept().await.unwrap();
        let mut socket = BufReader::new(socket);
        let mut line = String::new();
        socket.read_line(&mut line).await.unwrap();
        socket.get_mut().write_all(b"banana\nsplit\n").await.unwrap();
        // And a line without end, longer than any reply.
        socket.get_mut().write_all(&[b'x'; 4096]).await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let mut rot = Rotctld::new(liar_address, LINK);
    match rot.get_position().await {
        Err(HamlibError::Protocol { reply, .. }) => assert_eq!(reply, "banana"),
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

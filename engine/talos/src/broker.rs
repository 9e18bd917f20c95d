//! The MQTT broker embedded in `talos serve` (rumqttd): the default when no `--mqtt-url`
//! names an external one, so a single binary runs a whole network.
//!
//! Bound to loopback by default, with authentication always on: every CONNECT's username
//! and password go to a [`Verify`] function that runs on the serve's own runtime (station
//! credentials are looked up in the store, the director's is an in-memory secret made at
//! start). rumqttd's console, websocket and Prometheus listeners are never configured.
//!
//! rumqttd has no per-topic ACLs. On loopback the only clients are local processes; for
//! stations on other machines use Mosquitto with the files `talos mqtt mosquitto-config`
//! writes, which confine each station's credentials to its own topics.

use std::collections::HashMap;
use std::future::Future;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

/// Decides a CONNECT from its username and password.
pub type Verify = Arc<dyn Fn(String, String) -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// Largest PUBLISH payload the broker takes. Above talos-link's 16 KiB cap, so an oversize
/// payload still reaches the receiver's decoder and is counted there as `oversize`;
/// anything larger makes the broker drop the sender's connection.
pub const MAX_PAYLOAD_BYTES: usize = 32 * 1024;

/// Where and how the embedded broker listens.
#[derive(Debug, Clone)]
pub struct BrokerSettings {
    pub listen: SocketAddr,
    /// When `listen`'s port is taken, take a free port on the same address instead (the
    /// default address only; an address given explicitly must be used or fail).
    pub fallback_to_free_port: bool,
    /// Concurrent connections (agents, the director, simulators).
    pub max_connections: usize,
}

/// A running embedded broker. rumqttd has no shutdown: it lives until the process exits.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedBroker {
    pub address: SocketAddr,
}

/// The port to hand rumqttd: `listen`'s, or (see [`BrokerSettings::fallback_to_free_port`])
/// a free one. rumqttd does not report the port it bound, so port 0 is resolved here.
fn resolve_listen(settings: &BrokerSettings) -> anyhow::Result<SocketAddr> {
    match TcpListener::bind(settings.listen) {
        Ok(probe) => probe.local_addr().context("reading the probed MQTT address"),
        Err(e) if settings.fallback_to_free_port && e.kind() == std::io::ErrorKind::AddrInUse => {
            let free = TcpListener::bind(SocketAddr::new(settings.listen.ip(), 0))
                .and_then(|l| l.local_addr())
                .context("finding a free port for the embedded MQTT broker")?;
            tracing::warn!(
                wanted = %settings.listen, using = %free,
                "MQTT port in use (another broker?); the embedded broker takes a free port"
            );
            Ok(free)
        }
        Err(e) => Err(e).with_context(|| {
            format!(
                "cannot listen for MQTT on {} (in use? pass --mqtt-listen ADDR:PORT, or --mqtt-url for an external broker)",
                settings.listen
            )
        }),
    }
}

/// Starts rumqttd on its own threads and waits (up to 5 s) until it accepts connections.
/// `verify` runs on `runtime` (the caller's), so it may use the store.
pub fn start(
    settings: &BrokerSettings,
    verify: Verify,
    runtime: tokio::runtime::Handle,
) -> anyhow::Result<EmbeddedBroker> {
    let address = resolve_listen(settings)?;
    let mut connections = ConnectionSettings {
        connection_timeout_ms: 5_000,
        max_payload_size: MAX_PAYLOAD_BYTES,
        max_inflight_count: 100,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    connections.set_auth_handler(move |_client_id: String, username: String, password: String| {
        let verify = verify.clone();
        let runtime = runtime.clone();
        async move { runtime.spawn(verify(username, password)).await.unwrap_or(false) }
    });
    let server = ServerSettings {
        name: "talos-mqtt".to_owned(),
        listen: address,
        tls: None,
        next_connection_delay_ms: 0,
        connections,
    };
    let config = Config {
        id: 0,
        router: RouterConfig {
            max_connections: settings.max_connections,
            max_outgoing_packet_count: 200,
            // rumqttd keeps a commit log per subscription filter; TALOS messages are
            // superseded within a second, so each log stays small: 2 x 64 KiB.
            max_segment_size: 64 * 1024,
            max_segment_count: 2,
            ..RouterConfig::default()
        },
        v4: Some(HashMap::from([("talos".to_owned(), server)])),
        ..Config::default()
    };
    let mut broker = Broker::new(config);
    std::thread::Builder::new()
        .name("talos-mqtt-broker".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                tracing::error!("embedded MQTT broker stopped: {e}");
            }
        })
        .context("starting the embedded MQTT broker thread")?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !is_listening(address) {
        if Instant::now() >= deadline {
            bail!("the embedded MQTT broker did not start listening on {address} within 5 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(EmbeddedBroker { address })
}

/// Whether something listens on `address`. On Linux this reads the kernel's socket table
/// (`/proc/net/tcp`, `/proc/net/tcp6`), so no probe connection reaches the broker (rumqttd
/// logs a dropped connection as an error); elsewhere it connects and hangs up.
fn is_listening(address: SocketAddr) -> bool {
    const LISTEN: &str = "0A";
    let (table, local) = match address {
        SocketAddr::V4(a) => ("/proc/net/tcp", format!("{:08X}:{:04X}", u32::from_le_bytes(a.ip().octets()), a.port())),
        SocketAddr::V6(a) => {
            let words: String = a
                .ip()
                .octets()
                .chunks(4)
                .map(|w| format!("{:08X}", u32::from_le_bytes([w[0], w[1], w[2], w[3]])))
                .collect();
            ("/proc/net/tcp6", format!("{words}:{:04X}", a.port()))
        }
    };
    match std::fs::read_to_string(table) {
        Ok(text) => text.lines().skip(1).any(|line| {
            let mut fields = line.split_whitespace().skip(1);
            let (Some(at), Some(state)) = (fields.next(), fields.nth(1)) else { return false };
            at == local && state == LISTEN
        }),
        Err(_) => TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok(),
    }
}

/// The serve's [`Verify`]: the director's in-memory password, or a station's credential
/// as issued by `talos station agent-config` (its hash looked up in the store on each
/// CONNECT, so a re-issued credential takes effect at once). Refusals are logged with the
/// username, never the password.
pub fn store_verifier(store: talos_store::Store, director_password: String) -> Verify {
    let director_password = Arc::new(director_password);
    Arc::new(move |username: String, password: String| {
        let store = store.clone();
        let director_password = director_password.clone();
        Box::pin(async move {
            if username == talos_link::DIRECTOR_USERNAME {
                let ok: bool = subtle::ConstantTimeEq::ct_eq(password.as_bytes(), director_password.as_bytes()).into();
                if !ok {
                    tracing::warn!(username, "MQTT login refused: wrong director password");
                }
                return ok;
            }
            let Some((org, station)) = talos_link::parse_station_username(&username) else {
                tracing::warn!(username, "MQTT login refused: not a TALOS username");
                return false;
            };
            match store.agent_credential_hash(org, station).await {
                Ok(Some(hash)) => {
                    let ok = talos_store::verify_mqtt_password(&password, &hash);
                    if !ok {
                        tracing::warn!(username, "MQTT login refused: wrong password");
                    }
                    ok
                }
                Ok(None) => {
                    tracing::warn!(username, "MQTT login refused: no credential issued for this station");
                    false
                }
                Err(e) => {
                    tracing::error!(username, "MQTT login refused: the store failed: {e}");
                    false
                }
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumqttc::{AsyncClient, ConnectReturnCode, Event, MqttOptions, Packet, QoS};

    fn verify_only(user: &'static str, pass: &'static str) -> Verify {
        Arc::new(move |u, p| Box::pin(async move { u == user && p == pass }))
    }

    fn local() -> BrokerSettings {
        BrokerSettings { listen: "127.0.0.1:0".parse().unwrap(), fallback_to_free_port: false, max_connections: 64 }
    }

    /// Connects and returns the CONNACK code, or the error text if the broker closed on us.
    async fn connect(address: SocketAddr, login: Option<(&str, &str)>, id: &str) -> Result<ConnectReturnCode, String> {
        let mut options = MqttOptions::new(id, address.ip().to_string(), address.port());
        if let Some((u, p)) = login {
            options.set_credentials(u, p);
        }
        let (_client, mut eventloop) = AsyncClient::new(options, 8);
        let wait = async {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(ack))) => return Ok(ack.code),
                    Ok(_) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(5), wait).await.map_err(|_| "timeout".to_owned())?
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_verified_logins_connect_and_messages_flow() {
        let broker = start(&local(), verify_only("alice", "s3cret"), tokio::runtime::Handle::current()).unwrap();
        assert!(broker.address.ip().is_loopback());
        assert_ne!(broker.address.port(), 0);
        assert_eq!(connect(broker.address, Some(("alice", "s3cret")), "a").await, Ok(ConnectReturnCode::Success));
        assert!(connect(broker.address, Some(("alice", "wrong")), "b").await != Ok(ConnectReturnCode::Success));
        assert!(connect(broker.address, None, "c").await != Ok(ConnectReturnCode::Success), "anonymous");

        // A retained message reaches a later subscriber.
        let mut options = MqttOptions::new("pub", "127.0.0.1", broker.address.port());
        options.set_credentials("alice", "s3cret");
        let (client, mut eventloop) = AsyncClient::new(options, 8);
        client.publish("talos/v1/1/2/cmd/config", QoS::AtLeastOnce, true, "cfg").await.unwrap();
        let flushed = async {
            loop {
                if let Event::Incoming(Packet::PubAck(_)) = eventloop.poll().await.unwrap() {
                    break;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(5), flushed).await.unwrap();
        let mut options = MqttOptions::new("sub", "127.0.0.1", broker.address.port());
        options.set_credentials("alice", "s3cret");
        let (client, mut eventloop) = AsyncClient::new(options, 8);
        client.subscribe("talos/v1/1/2/cmd/#", QoS::AtLeastOnce).await.unwrap();
        let received = async {
            loop {
                if let Event::Incoming(Packet::Publish(p)) = eventloop.poll().await.unwrap() {
                    return (p.topic, p.payload.to_vec(), p.retain);
                }
            }
        };
        let (topic, payload, retain) = tokio::time::timeout(Duration::from_secs(5), received).await.unwrap();
        assert_eq!((topic.as_str(), payload.as_slice(), retain), ("talos/v1/1/2/cmd/config", &b"cfg"[..], true));
    }

    #[test]
    fn a_listening_socket_is_seen_and_a_closed_port_is_not() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        assert!(is_listening(address));
        drop(listener);
        assert!(!is_listening(address));
        if let Ok(v6) = TcpListener::bind("[::1]:0") {
            assert!(is_listening(v6.local_addr().unwrap()));
        }
    }

    #[test]
    fn a_taken_port_fails_when_explicit_and_falls_back_when_default() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = taken.local_addr().unwrap();
        let explicit = BrokerSettings { listen: address, fallback_to_free_port: false, max_connections: 8 };
        let error = resolve_listen(&explicit).unwrap_err();
        assert!(format!("{error:#}").contains("--mqtt-listen"), "{error:#}");
        let default = BrokerSettings { fallback_to_free_port: true, ..explicit };
        let free = resolve_listen(&default).unwrap();
        assert_ne!(free.port(), address.port());
    }
}

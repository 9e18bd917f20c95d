//! The MQTT side: rumqttc options (Last Will, credentials, TLS, packet limits) and the
//! event-loop task that keeps the connection up with backoff and hands received messages
//! to the control loop. Topics, payloads, QoS and retain all come from talos-link.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, LastWill, MqttOptions, Outgoing, Packet, TlsConfiguration, Transport};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::sync::mpsc;
use tokio::time::Instant;

use talos_core::{OrgId, StationId};
use talos_link::{Publication, QoS};

use crate::config::AgentConfig;

/// Largest packet accepted from the broker. Well above talos-link's 16 KiB payload cap, so
/// an oversize payload reaches `decode` and is counted as `oversize`; a larger packet makes
/// rumqttc drop the connection (production brokers should set `message_size_limit`).
pub const MAX_INCOMING_PACKET_BYTES: usize = 1 << 20;

/// Largest packet the agent sends (its messages are under 1 KiB).
const MAX_OUTGOING_PACKET_BYTES: usize = 64 * 1024;

/// Requests (publishes, subscribes) queued for the event loop before `try_publish` fails.
const REQUEST_CAPACITY: usize = 64;

/// Why the MQTT options could not be built.
#[derive(Debug, thiserror::Error)]
pub enum MqttSetupError {
    /// The CA file holds no usable certificate, or rustls refused it.
    #[error("TLS: {0}")]
    Tls(String),
    /// talos-link refused the Last Will (an agent version that is not a token).
    #[error("last will: {0}")]
    LastWill(#[from] talos_link::Reject),
}

/// Checks that PEM bytes hold at least one certificate rustls accepts as a root.
pub fn check_ca_pem(pem: &[u8]) -> Result<(), String> {
    roots(pem).map(drop)
}

fn roots(pem: &[u8]) -> Result<rustls::RootCertStore, String> {
    let mut store = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| format!("not a PEM certificate: {e}"))?;
        store.add(cert).map_err(|e| format!("certificate refused: {e}"))?;
    }
    if store.is_empty() {
        return Err("no certificate in the file".to_owned());
    }
    Ok(store)
}

/// A TLS client config on the ring provider (the workspace builds no aws-lc).
fn tls_config(pem: &[u8]) -> Result<rustls::ClientConfig, MqttSetupError> {
    let roots = roots(pem).map_err(MqttSetupError::Tls)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| MqttSetupError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

fn qos(q: QoS) -> rumqttc::QoS {
    match q {
        QoS::AtMostOnce => rumqttc::QoS::AtMostOnce,
        QoS::AtLeastOnce => rumqttc::QoS::AtLeastOnce,
    }
}

/// Connection options: client id, keep-alive, clean session (nothing of a previous session
/// is replayed: setpoints are superseded anyway, and the gate refuses old ones), the Last
/// Will (talos-link's retained `offline`), credentials and TLS.
pub fn options(config: &AgentConfig, agent_version: &str) -> Result<MqttOptions, MqttSetupError> {
    let b = &config.broker;
    let mut options = MqttOptions::new(b.client_id.clone(), b.host.clone(), b.port);
    options.set_keep_alive(Duration::from_secs(b.keep_alive_s));
    set_station_defaults(&mut options, config.org, config.station, agent_version)?;
    if let Some(user) = &b.username {
        options.set_credentials(user.clone(), b.password.clone().unwrap_or_default());
    }
    if let Some(pem) = &b.tls_ca_pem {
        options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(Arc::new(tls_config(pem)?))));
    }
    Ok(options)
}

/// What every station connection sets, whoever drives it (the agent, the simulated fleet):
/// clean session, the packet limits, the request queue and the station's Last Will.
pub fn set_station_defaults(
    options: &mut MqttOptions,
    org: OrgId,
    station: StationId,
    agent_version: &str,
) -> Result<(), MqttSetupError> {
    options.set_clean_session(true);
    options.set_max_packet_size(MAX_INCOMING_PACKET_BYTES, MAX_OUTGOING_PACKET_BYTES);
    options.set_request_channel_capacity(REQUEST_CAPACITY);
    let will = talos_link::last_will(org, station, agent_version)?;
    options.set_last_will(LastWill::new(will.topic, will.payload, qos(will.qos), will.retain));
    Ok(())
}

/// What the event-loop task tells the control loop.
#[derive(Debug)]
pub enum MqttEvent {
    /// Connected (again): subscribe and publish the status.
    Connected,
    /// The connection dropped (or could not be made); the task retries after a backoff.
    Disconnected(String),
    /// A message on a subscribed topic.
    Message { topic: String, payload: Vec<u8> },
}

/// Publishes a talos-link publication without waiting. Returns false when the request queue
/// is full (the event loop is stalled): telemetry is then dropped, never queued up stale.
pub fn try_publish(client: &AsyncClient, p: Publication) -> bool {
    client.try_publish(p.topic, qos(p.qos), p.retain, p.payload).is_ok()
}

/// Subscribes to the station's command topics (QoS 1, so session and park commands keep
/// their at-least-once delivery) and the director heartbeat.
pub fn subscribe(client: &AsyncClient, org: OrgId, station: StationId) -> bool {
    let [commands, heartbeat] = talos_link::agent_subscriptions(org, station);
    client.try_subscribe(commands, rumqttc::QoS::AtLeastOnce).is_ok()
        && client.try_subscribe(heartbeat, rumqttc::QoS::AtMostOnce).is_ok()
}

/// Polls the event loop until the client disconnects cleanly or `events` closes. On an
/// error it waits (250 ms, doubling to `reconnect_max`) before the next attempt; rumqttc
/// reconnects on the next poll. Received messages are forwarded with backpressure: if the
/// control loop falls behind, the socket is not read and the broker holds or drops.
/// `published`, if given, counts the publishes written to the connection.
pub async fn drive(
    mut eventloop: EventLoop,
    events: mpsc::Sender<MqttEvent>,
    reconnect_max: Duration,
    published: Option<Arc<AtomicU64>>,
) {
    let reconnect_min = Duration::from_millis(250);
    let mut delay = reconnect_min;
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                if ack.code != rumqttc::ConnectReturnCode::Success {
                    tracing::error!(code = ?ack.code, "broker refused the connection");
                    continue;
                }
                delay = reconnect_min;
                tracing::info!("connected to the broker");
                if events.send(MqttEvent::Connected).await.is_err() {
                    return;
                }
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                let message = MqttEvent::Message { topic: publish.topic, payload: publish.payload.to_vec() };
                if events.send(message).await.is_err() {
                    return;
                }
            }
            Ok(Event::Outgoing(Outgoing::Publish(_))) => {
                if let Some(count) = &published {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => {
                tracing::info!("disconnected from the broker");
                return;
            }
            Ok(_) => {}
            Err(e) => {
                let reason = e.to_string();
                tracing::warn!(retry_in_ms = delay.as_millis() as u64, "broker connection: {reason}");
                if events.send(MqttEvent::Disconnected(reason)).await.is_err() {
                    return;
                }
                let until = Instant::now() + delay;
                tokio::time::sleep_until(until).await;
                delay = (delay * 2).min(reconnect_max);
            }
        }
    }
}

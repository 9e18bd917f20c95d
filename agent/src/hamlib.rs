//! Clients of Hamlib's network daemons, `rotctld` and `rigctld`, over their line protocol
//! (`rotctld(1)`, "default protocol"): one command per line, a get answers one value per
//! line, a set answers `RPRT 0`, a failure answers `RPRT -n` with Hamlib's error code.
//!
//! Every exchange has a deadline; a timeout, an I/O error or a reply that is not the protocol
//! drops the connection (the stream may be out of step) and the next call reconnects after a
//! backoff that doubles up to a maximum, so a dead daemon costs one refused connect per
//! backoff period rather than a stall per control tick. A `RPRT` error keeps the connection:
//! the daemon answered, it just refused.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

use talos_link::Pointing;

/// Longest reply line accepted; real ones are under 32 bytes.
const MAX_LINE_BYTES: u64 = 256;

/// Which daemon a client talks to (for messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Daemon {
    Rotctld,
    Rigctld,
}

impl std::fmt::Display for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Daemon::Rotctld => "rotctld",
            Daemon::Rigctld => "rigctld",
        })
    }
}

/// Why an exchange with a daemon failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HamlibError {
    /// No connection, and the backoff after the last failure has not run out.
    #[error("{daemon} {address} unreachable ({last}); next attempt in {retry_in_ms} ms")]
    Backoff { daemon: Daemon, address: String, last: String, retry_in_ms: u64 },
    /// Connecting failed (refused, unresolvable, timed out).
    #[error("{daemon} {address} unreachable: {reason}")]
    Connect { daemon: Daemon, address: String, reason: String },
    /// The connection broke, timed out or closed during `command`.
    #[error("{daemon} {address} lost during {command:?}: {reason}")]
    Link { daemon: Daemon, address: String, command: String, reason: String },
    /// The daemon answered something that is not the protocol.
    #[error("{daemon} {address} answered {reply:?} to {command:?}")]
    Protocol { daemon: Daemon, address: String, command: String, reply: String },
    /// The daemon refused the command with a Hamlib error code.
    #[error("{daemon} refused {command:?}: RPRT {code} ({})", rprt_meaning(*code))]
    Refused { daemon: Daemon, command: String, code: i32 },
}

impl HamlibError {
    /// Whether the connection to the daemon is down (as opposed to a refused command).
    pub fn is_link_down(&self) -> bool {
        !matches!(self, HamlibError::Refused { .. })
    }
}

/// Hamlib's `rig_errcode_e`, for messages.
pub fn rprt_meaning(code: i32) -> &'static str {
    match code {
        0 => "ok",
        -1 => "invalid parameter",
        -2 => "invalid configuration",
        -3 => "out of memory",
        -4 => "not implemented",
        -5 => "communication timed out",
        -6 => "I/O error",
        -7 => "internal Hamlib error",
        -8 => "protocol error",
        -9 => "command rejected by the device",
        -10 => "argument truncated",
        -11 => "function not available",
        -12 => "VFO not targetable",
        -13 => "bus error",
        -14 => "bus busy",
        -15 => "invalid argument",
        -16 => "invalid VFO",
        -17 => "argument out of domain",
        -18 => "deprecated",
        -19 => "security error",
        -20 => "device powered off",
        _ => "unknown Hamlib error",
    }
}

/// Doubling backoff between connection attempts.
#[derive(Debug, Clone)]
struct Backoff {
    min: Duration,
    max: Duration,
    next_delay: Duration,
    not_before: Option<Instant>,
    last_error: String,
}

impl Backoff {
    fn new(min: Duration, max: Duration) -> Self {
        Self { min, max, next_delay: min, not_before: None, last_error: String::new() }
    }

    fn failed(&mut self, now: Instant, error: String) {
        self.not_before = Some(now + self.next_delay);
        self.next_delay = (self.next_delay * 2).min(self.max);
        self.last_error = error;
    }

    fn succeeded(&mut self) {
        self.next_delay = self.min;
        self.not_before = None;
    }

    fn wait_left(&self, now: Instant) -> Option<Duration> {
        self.not_before.filter(|t| *t > now).map(|t| t - now)
    }
}

/// Connection settings shared by both clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkSettings {
    /// Deadline of a connect and of each command's whole exchange.
    pub timeout: Duration,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
}

/// One line-protocol connection with reconnect and backoff.
#[derive(Debug)]
struct Link {
    daemon: Daemon,
    address: String,
    settings: LinkSettings,
    stream: Option<BufReader<TcpStream>>,
    backoff: Backoff,
}

impl Link {
    fn new(daemon: Daemon, address: String, settings: LinkSettings) -> Self {
        let backoff = Backoff::new(settings.reconnect_min, settings.reconnect_max);
        Self { daemon, address, settings, stream: None, backoff }
    }

    async fn connect(&mut self) -> Result<(), HamlibError> {
        if self.stream.is_some() {
            return Ok(());
        }
        let now = Instant::now();
        if let Some(left) = self.backoff.wait_left(now) {
            return Err(HamlibError::Backoff {
                daemon: self.daemon,
                address: self.address.clone(),
                last: self.backoff.last_error.clone(),
                retry_in_ms: left.as_millis() as u64,
            });
        }
        let result = match timeout(self.settings.timeout, TcpStream::connect(&self.address)).await {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("connect timed out after {} ms", self.settings.timeout.as_millis())),
        };
        match result {
            Ok(stream) => {
                // Commands are tiny and latency matters more than throughput.
                let _ = stream.set_nodelay(true);
                self.stream = Some(BufReader::new(stream));
                self.backoff.succeeded();
                tracing::info!(daemon = %self.daemon, address = %self.address, "connected");
                Ok(())
            }
            Err(reason) => {
                self.backoff.failed(now, reason.clone());
                Err(HamlibError::Connect { daemon: self.daemon, address: self.address.clone(), reason })
            }
        }
    }

    fn drop_link(&mut self, error: &HamlibError) {
        if self.stream.take().is_some() {
            tracing::warn!(daemon = %self.daemon, address = %self.address, "{error}");
        }
        self.backoff.failed(Instant::now(), error.to_string());
    }

    /// Sends `command` and reads `lines` value lines (0 for a set, which answers `RPRT`).
    async fn exchange(&mut self, command: &str, lines: usize) -> Result<Vec<String>, HamlibError> {
        self.connect().await?;
        let deadline = self.settings.timeout;
        let result = match self.stream.as_mut() {
            Some(stream) => match timeout(deadline, exchange_on(stream, command, lines)).await {
                Ok(r) => r,
                Err(_) => Err(Exchange::Link(format!("no answer within {} ms", deadline.as_millis()))),
            },
            None => Err(Exchange::Link("not connected".to_owned())),
        };
        match result {
            Ok(values) => Ok(values),
            Err(Exchange::Refused(code)) => {
                Err(HamlibError::Refused { daemon: self.daemon, command: command.to_owned(), code })
            }
            Err(Exchange::Link(reason)) => {
                let e = HamlibError::Link {
                    daemon: self.daemon,
                    address: self.address.clone(),
                    command: command.to_owned(),
                    reason,
                };
                self.drop_link(&e);
                Err(e)
            }
            Err(Exchange::Protocol(reply)) => {
                let e = HamlibError::Protocol {
                    daemon: self.daemon,
                    address: self.address.clone(),
                    command: command.to_owned(),
                    reply,
                };
                self.drop_link(&e);
                Err(e)
            }
        }
    }

    /// A get whose values must parse as numbers.
    async fn get_numbers<const N: usize>(&mut self, command: &str) -> Result<[f64; N], HamlibError> {
        let values = self.exchange(command, N).await?;
        let mut out = [0.0; N];
        for (slot, text) in out.iter_mut().zip(&values) {
            match text.trim().parse::<f64>() {
                Ok(v) if v.is_finite() => *slot = v,
                _ => {
                    let e = HamlibError::Protocol {
                        daemon: self.daemon,
                        address: self.address.clone(),
                        command: command.to_owned(),
                        reply: text.clone(),
                    };
                    self.drop_link(&e);
                    return Err(e);
                }
            }
        }
        Ok(out)
    }

    async fn set(&mut self, command: &str) -> Result<(), HamlibError> {
        self.exchange(command, 0).await.map(drop)
    }
}

enum Exchange {
    Refused(i32),
    Link(String),
    Protocol(String),
}

async fn read_line(stream: &mut BufReader<TcpStream>) -> Result<String, Exchange> {
    let mut buf = Vec::new();
    let n = (&mut *stream).take(MAX_LINE_BYTES).read_until(b'\n', &mut buf).await;
    match n {
        Ok(0) => Err(Exchange::Link("connection closed by the daemon".to_owned())),
        Ok(_) if buf.last() != Some(&b'\n') => {
            Err(Exchange::Protocol(String::from_utf8_lossy(&buf).chars().take(64).collect()))
        }
        Ok(_) => Ok(String::from_utf8_lossy(&buf).trim_end().to_owned()),
        Err(e) => Err(Exchange::Link(e.to_string())),
    }
}

/// Parses `RPRT n`; `None` if the line is something else.
fn rprt(line: &str) -> Option<Result<i32, ()>> {
    line.strip_prefix("RPRT ").map(|code| code.trim().parse::<i32>().map_err(drop))
}

async fn exchange_on(stream: &mut BufReader<TcpStream>, command: &str, lines: usize) -> Result<Vec<String>, Exchange> {
    let mut wire = command.as_bytes().to_vec();
    wire.push(b'\n');
    stream.get_mut().write_all(&wire).await.map_err(|e| Exchange::Link(e.to_string()))?;
    let first = read_line(stream).await?;
    match rprt(&first) {
        Some(Ok(0)) if lines == 0 => return Ok(Vec::new()),
        Some(Ok(code)) if code != 0 => return Err(Exchange::Refused(code)),
        Some(_) => return Err(Exchange::Protocol(first)),
        None if lines == 0 => return Err(Exchange::Protocol(first)),
        None => {}
    }
    let mut values = vec![first];
    while values.len() < lines {
        values.push(read_line(stream).await?);
    }
    Ok(values)
}

/// A `rotctld` client: position read-back, set position, stop.
#[derive(Debug)]
pub struct Rotctld {
    link: Link,
}

impl Rotctld {
    /// Does not connect yet: the first command does.
    pub fn new(address: impl Into<String>, settings: LinkSettings) -> Self {
        Self { link: Link::new(Daemon::Rotctld, address.into(), settings) }
    }

    /// `p`: where the rotator is (its own azimuth range, elevation).
    pub async fn get_position(&mut self) -> Result<Pointing, HamlibError> {
        let [az_deg, el_deg] = self.link.get_numbers::<2>("p").await?;
        Ok(Pointing { az_deg, el_deg })
    }

    /// `P az el`: move there. The caller has already applied the limits.
    pub async fn set_position(&mut self, target: Pointing) -> Result<(), HamlibError> {
        self.link.set(&format!("P {:.2} {:.2}", target.az_deg, target.el_deg)).await
    }

    /// `S`: stop all motion where it is.
    pub async fn stop(&mut self) -> Result<(), HamlibError> {
        self.link.set("S").await
    }

    /// `K`: the backend's own park. The agent parks with [`Rotctld::set_position`] at its
    /// configured park position instead, which it can confirm by reading back.
    pub async fn park(&mut self) -> Result<(), HamlibError> {
        self.link.set("K").await
    }
}

/// A `rigctld` client: frequency and mode, set and read back.
#[derive(Debug)]
pub struct Rigctld {
    link: Link,
}

impl Rigctld {
    pub fn new(address: impl Into<String>, settings: LinkSettings) -> Self {
        Self { link: Link::new(Daemon::Rigctld, address.into(), settings) }
    }

    /// `f`: the current VFO's frequency.
    pub async fn get_frequency(&mut self) -> Result<f64, HamlibError> {
        let [hz] = self.link.get_numbers::<1>("f").await?;
        Ok(hz)
    }

    /// `F hz`, rounded to whole Hz (what every radio resolves at best).
    pub async fn set_frequency(&mut self, freq_hz: f64) -> Result<(), HamlibError> {
        self.link.set(&format!("F {freq_hz:.0}")).await
    }

    /// `I hz`: the transmit frequency in split operation.
    pub async fn set_split_frequency(&mut self, freq_hz: f64) -> Result<(), HamlibError> {
        self.link.set(&format!("I {freq_hz:.0}")).await
    }

    /// `m`: the mode name and passband (Hz).
    pub async fn get_mode(&mut self) -> Result<(String, i64), HamlibError> {
        let values = self.link.exchange("m", 2).await?;
        let passband_hz = values[1].trim().parse::<i64>().unwrap_or(0);
        Ok((values[0].trim().to_owned(), passband_hz))
    }

    /// `M mode 0`: the mode with the radio's default passband. `mode` is a validated Hamlib
    /// mode name (`[A-Z0-9]{1,16}`), so it cannot inject a second command.
    pub async fn set_mode(&mut self, mode: &str) -> Result<(), HamlibError> {
        self.link.set(&format!("M {mode} 0")).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rprt_lines_parse() {
        assert_eq!(rprt("RPRT 0"), Some(Ok(0)));
        assert_eq!(rprt("RPRT -1"), Some(Ok(-1)));
        assert_eq!(rprt("RPRT x"), Some(Err(())));
        assert_eq!(rprt("12.5"), None);
    }

    #[test]
    fn refusals_name_the_hamlib_error() {
        let e = HamlibError::Refused { daemon: Daemon::Rotctld, command: "P 500.00 0.00".into(), code: -1 };
        assert_eq!(e.to_string(), "rotctld refused \"P 500.00 0.00\": RPRT -1 (invalid parameter)");
        assert!(!e.is_link_down());
    }

    #[test]
    fn backoff_doubles_to_its_maximum_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(350));
        let t = Instant::now();
        b.failed(t, "refused".into());
        assert_eq!(b.wait_left(t), Some(Duration::from_millis(100)));
        b.failed(t, "refused".into());
        assert_eq!(b.wait_left(t), Some(Duration::from_millis(200)));
        b.failed(t, "refused".into());
        b.failed(t, "refused".into());
        assert_eq!(b.wait_left(t), Some(Duration::from_millis(350)));
        b.succeeded();
        assert_eq!(b.wait_left(t), None);
        b.failed(t, "refused".into());
        assert_eq!(b.wait_left(t), Some(Duration::from_millis(100)));
    }
}

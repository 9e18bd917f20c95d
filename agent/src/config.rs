//! The agent's TOML configuration: read, then validated into an [`AgentConfig`] the rest of
//! the agent trusts. Every error names the key (`rotator.az_max_deg`) and the problem, so a
//! station operator can fix the file without reading code.
//!
//! The documented example is `agent/agent.example.toml` (also printed by
//! `talos-agent --print-example-config`); its keys are the ones below.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use talos_core::{OrgId, StationId};
use talos_link::validate::{
    AZ_MAX_DEG, AZ_MIN_DEG, DEAD_MAN_MS_RANGE, EL_MAX_DEG, EL_MIN_DEG, HEARTBEAT_TIMEOUT_MS_RANGE,
};
use talos_link::{Pointing, RotatorLimits};

/// The documented example configuration, embedded so the binary can print it.
pub const EXAMPLE_TOML: &str = include_str!("../agent.example.toml");

/// Environment variable that overrides `broker.password` (keeps the secret out of the file).
pub const PASSWORD_ENV: &str = "TALOS_AGENT_MQTT_PASSWORD";

/// Why a configuration file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    /// Not TOML, an unknown key, a missing key or a value of the wrong type (toml's message
    /// names the key, the line and the column).
    #[error("{0}")]
    Syntax(String),
    /// A value that parses but is not acceptable.
    #[error("{key}: {problem}")]
    Invalid { key: &'static str, problem: String },
}

fn invalid(key: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key, problem: problem.into() }
}

/// A validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentConfig {
    pub org: OrgId,
    pub station: StationId,
    pub broker: BrokerConfig,
    pub rotator: RotatorConfig,
    /// `None` when the station has no radio under the agent's control.
    pub rig: Option<RigConfig>,
    pub safety: SafetyConfig,
    pub control: ControlConfig,
    pub hamlib: HamlibConfig,
}

/// Where the MQTT broker is and how to log in.
#[derive(Clone, PartialEq)]
pub struct BrokerConfig {
    pub host: String,
    pub port: u16,
    /// PEM bytes of the CA that signs the broker's certificate; `None` for plain TCP.
    pub tls_ca_pem: Option<Vec<u8>>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub client_id: String,
    pub keep_alive_s: u64,
    pub reconnect_max_ms: u64,
}

impl std::fmt::Debug for BrokerConfig {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls_ca_pem.is_some())
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("client_id", &self.client_id)
            .field("keep_alive_s", &self.keep_alive_s)
            .field("reconnect_max_ms", &self.reconnect_max_ms)
            .finish()
    }
}

/// The rotator: where rotctld listens and what the agent may command.
#[derive(Debug, Clone, PartialEq)]
pub struct RotatorConfig {
    pub address: String,
    pub limits: RotatorLimits,
    pub park: Pointing,
    pub deadband_deg: f64,
    pub park_tolerance_deg: f64,
    pub stuck_threshold_deg: f64,
    pub stuck_time_ms: u64,
}

/// The radio: where rigctld listens and how finely to follow the Doppler curve.
#[derive(Debug, Clone, PartialEq)]
pub struct RigConfig {
    pub address: String,
    pub deadband_hz: f64,
    pub split_uplink: bool,
}

/// The agent's own safety timers (the director's config may only shorten them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SafetyConfig {
    pub dead_man_ms: u64,
    pub heartbeat_timeout_ms: u64,
    pub shutdown_park_timeout_ms: u64,
}

/// Loop rates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ControlConfig {
    pub rate_hz: f64,
    pub telemetry_interval_ms: u64,
}

/// Hamlib daemon connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HamlibConfig {
    pub timeout_ms: u64,
    pub reconnect_min_ms: u64,
    pub reconnect_max_ms: u64,
}

// ---- the file as written ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    station: RawStation,
    broker: RawBroker,
    rotator: RawRotator,
    rig: Option<RawRig>,
    #[serde(default)]
    safety: RawSafety,
    #[serde(default)]
    control: RawControl,
    #[serde(default)]
    hamlib: RawHamlib,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStation {
    org_id: u64,
    station_id: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBroker {
    host: String,
    #[serde(default = "default_broker_port")]
    port: u32,
    #[serde(default)]
    tls: bool,
    ca_file: Option<PathBuf>,
    username: Option<String>,
    password: Option<String>,
    password_file: Option<PathBuf>,
    client_id: Option<String>,
    #[serde(default = "default_keep_alive_s")]
    keep_alive_s: u64,
    #[serde(default = "default_broker_reconnect_max_ms")]
    reconnect_max_ms: u64,
}

fn default_broker_port() -> u32 {
    1883
}
fn default_keep_alive_s() -> u64 {
    5
}
fn default_broker_reconnect_max_ms() -> u64 {
    10_000
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRotator {
    address: String,
    az_min_deg: f64,
    az_max_deg: f64,
    el_min_deg: f64,
    el_max_deg: f64,
    park_az_deg: f64,
    park_el_deg: f64,
    #[serde(default = "default_deadband_deg")]
    deadband_deg: f64,
    #[serde(default = "default_park_tolerance_deg")]
    park_tolerance_deg: f64,
    #[serde(default = "default_stuck_threshold_deg")]
    stuck_threshold_deg: f64,
    #[serde(default = "default_stuck_time_ms")]
    stuck_time_ms: u64,
}

/// `rotator.deadband_deg` when the file does not set it.
pub const DEFAULT_DEADBAND_DEG: f64 = 0.5;
/// `rotator.park_tolerance_deg` when the file does not set it.
pub const DEFAULT_PARK_TOLERANCE_DEG: f64 = 1.0;
/// `rotator.stuck_threshold_deg` when the file does not set it.
pub const DEFAULT_STUCK_THRESHOLD_DEG: f64 = 5.0;
/// `rotator.stuck_time_ms` when the file does not set it.
pub const DEFAULT_STUCK_TIME_MS: u64 = 10_000;
/// `control.telemetry_interval_ms` when the file does not set it.
pub const DEFAULT_TELEMETRY_INTERVAL_MS: u64 = 1_000;

fn default_deadband_deg() -> f64 {
    DEFAULT_DEADBAND_DEG
}
fn default_park_tolerance_deg() -> f64 {
    DEFAULT_PARK_TOLERANCE_DEG
}
fn default_stuck_threshold_deg() -> f64 {
    DEFAULT_STUCK_THRESHOLD_DEG
}
fn default_stuck_time_ms() -> u64 {
    DEFAULT_STUCK_TIME_MS
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRig {
    address: String,
    #[serde(default = "default_deadband_hz")]
    deadband_hz: f64,
    #[serde(default)]
    split_uplink: bool,
}

fn default_deadband_hz() -> f64 {
    10.0
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawSafety {
    dead_man_ms: u64,
    heartbeat_timeout_ms: u64,
    shutdown_park_timeout_ms: u64,
}

impl Default for RawSafety {
    fn default() -> Self {
        Self {
            dead_man_ms: talos_link::payload::DEFAULT_DEAD_MAN_MS,
            heartbeat_timeout_ms: talos_link::payload::DEFAULT_HEARTBEAT_TIMEOUT_MS,
            shutdown_park_timeout_ms: 60_000,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawControl {
    rate_hz: f64,
    telemetry_interval_ms: u64,
}

impl Default for RawControl {
    fn default() -> Self {
        Self { rate_hz: 10.0, telemetry_interval_ms: DEFAULT_TELEMETRY_INTERVAL_MS }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawHamlib {
    timeout_ms: u64,
    reconnect_min_ms: u64,
    reconnect_max_ms: u64,
}

impl Default for RawHamlib {
    fn default() -> Self {
        Self { timeout_ms: 2_000, reconnect_min_ms: 250, reconnect_max_ms: 5_000 }
    }
}

// ---- loading and validation ----

impl AgentConfig {
    /// Reads and validates the file at `path`. `password_env` is the value of
    /// [`PASSWORD_ENV`], if set (passed in so tests do not touch the process environment).
    pub fn load(path: &Path, password_env: Option<String>) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Read { path: path.display().to_string(), reason: e.to_string() })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_toml(&text, base, password_env)
    }

    /// Parses and validates TOML text; relative file paths in it are resolved against `base`.
    pub fn from_toml(text: &str, base: &Path, password_env: Option<String>) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string().trim().to_owned()))?;
        validate(raw, base, password_env)
    }
}

fn validate(raw: RawConfig, base: &Path, password_env: Option<String>) -> Result<AgentConfig, ConfigError> {
    if raw.station.org_id == 0 {
        return Err(invalid("station.org_id", "must be at least 1"));
    }
    if raw.station.station_id == 0 {
        return Err(invalid("station.station_id", "must be at least 1"));
    }
    let org = OrgId(raw.station.org_id);
    let station = StationId(raw.station.station_id);
    let broker = broker(raw.broker, org, station, base, password_env)?;
    let rotator = rotator(raw.rotator)?;
    let rig = raw.rig.map(rig).transpose()?;
    let safety = safety(raw.safety)?;
    let control = control(raw.control)?;
    let hamlib = hamlib(raw.hamlib)?;
    Ok(AgentConfig { org, station, broker, rotator, rig, safety, control, hamlib })
}

fn broker(
    raw: RawBroker,
    org: OrgId,
    station: StationId,
    base: &Path,
    password_env: Option<String>,
) -> Result<BrokerConfig, ConfigError> {
    if raw.host.trim().is_empty() {
        return Err(invalid("broker.host", "must not be empty"));
    }
    let port = match u16::try_from(raw.port) {
        Ok(p) if p != 0 => p,
        _ => return Err(invalid("broker.port", format!("{} is not a TCP port (1..=65535)", raw.port))),
    };
    let tls_ca_pem = match (raw.tls, raw.ca_file) {
        (true, Some(file)) => {
            let path = base.join(file);
            let pem = std::fs::read(&path)
                .map_err(|e| invalid("broker.ca_file", format!("cannot read {}: {e}", path.display())))?;
            crate::mqtt::check_ca_pem(&pem)
                .map_err(|e| invalid("broker.ca_file", format!("{}: {e}", path.display())))?;
            Some(pem)
        }
        (true, None) => {
            return Err(invalid(
                "broker.ca_file",
                "is required when broker.tls = true (for a public CA use the system bundle, e.g. \
                 /etc/ssl/certs/ca-certificates.crt)",
            ));
        }
        (false, Some(_)) => return Err(invalid("broker.ca_file", "is set but broker.tls = false")),
        (false, None) => None,
    };
    let file_password = match (&raw.password, raw.password_file) {
        (Some(_), Some(_)) => return Err(invalid("broker.password_file", "set either password or password_file")),
        (_, Some(file)) => {
            let path = base.join(file);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| invalid("broker.password_file", format!("cannot read {}: {e}", path.display())))?;
            Some(text.trim_end_matches(['\n', '\r']).to_owned())
        }
        (_, None) => None,
    };
    let password = password_env.or(file_password).or(raw.password);
    if let Some(u) = &raw.username
        && u.is_empty()
    {
        return Err(invalid("broker.username", "must not be empty (leave it out for anonymous access)"));
    }
    if password.is_some() && raw.username.is_none() {
        return Err(invalid("broker.username", "is required when a password is given"));
    }
    let client_id = raw.client_id.unwrap_or_else(|| format!("talos-agent-{org}-{station}"));
    if client_id.is_empty() || client_id.len() > 64 || !client_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid("broker.client_id", "must be 1..=64 printable ASCII characters"));
    }
    if !(1..=600).contains(&raw.keep_alive_s) {
        return Err(invalid("broker.keep_alive_s", format!("{} is outside 1..=600 s", raw.keep_alive_s)));
    }
    if !(100..=300_000).contains(&raw.reconnect_max_ms) {
        return Err(invalid("broker.reconnect_max_ms", format!("{} is outside 100..=300000 ms", raw.reconnect_max_ms)));
    }
    Ok(BrokerConfig {
        host: raw.host,
        port,
        tls_ca_pem,
        username: raw.username,
        password,
        client_id,
        keep_alive_s: raw.keep_alive_s,
        reconnect_max_ms: raw.reconnect_max_ms,
    })
}

/// `host:port` with a non-zero port (a name or an address; `[::1]:4533` for IPv6).
fn address(key: &'static str, value: &str) -> Result<String, ConfigError> {
    if value.parse::<SocketAddr>().is_ok() {
        return Ok(value.to_owned());
    }
    match value.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !host.contains(':') && port.parse::<u16>().is_ok_and(|p| p != 0) => {
            Ok(value.to_owned())
        }
        _ => Err(invalid(key, format!("{value:?} is not host:port (e.g. \"127.0.0.1:4533\")"))),
    }
}

fn finite_in(key: &'static str, v: f64, lo: f64, hi: f64, unit: &str) -> Result<f64, ConfigError> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(invalid(key, format!("{v} is outside {lo}..={hi} {unit}")))
    }
}

fn rotator(raw: RawRotator) -> Result<RotatorConfig, ConfigError> {
    let address = address("rotator.address", &raw.address)?;
    let az_min = finite_in("rotator.az_min_deg", raw.az_min_deg, AZ_MIN_DEG, AZ_MAX_DEG, "deg")?;
    let az_max = finite_in("rotator.az_max_deg", raw.az_max_deg, AZ_MIN_DEG, AZ_MAX_DEG, "deg")?;
    let el_min = finite_in("rotator.el_min_deg", raw.el_min_deg, EL_MIN_DEG, EL_MAX_DEG, "deg")?;
    let el_max = finite_in("rotator.el_max_deg", raw.el_max_deg, EL_MIN_DEG, EL_MAX_DEG, "deg")?;
    if az_max <= az_min {
        return Err(invalid(
            "rotator.az_max_deg",
            format!("{az_max} must be greater than rotator.az_min_deg = {az_min}"),
        ));
    }
    if el_max <= el_min {
        return Err(invalid(
            "rotator.el_max_deg",
            format!("{el_max} must be greater than rotator.el_min_deg = {el_min}"),
        ));
    }
    let park_az = finite_in("rotator.park_az_deg", raw.park_az_deg, az_min, az_max, "deg (the azimuth limits)")?;
    let park_el = finite_in("rotator.park_el_deg", raw.park_el_deg, el_min, el_max, "deg (the elevation limits)")?;
    let deadband_deg = finite_in("rotator.deadband_deg", raw.deadband_deg, 0.0, 10.0, "deg")?;
    let park_tolerance_deg = finite_in("rotator.park_tolerance_deg", raw.park_tolerance_deg, 0.01, 10.0, "deg")?;
    let stuck_threshold_deg = finite_in("rotator.stuck_threshold_deg", raw.stuck_threshold_deg, 0.1, 180.0, "deg")?;
    if stuck_threshold_deg <= deadband_deg {
        return Err(invalid(
            "rotator.stuck_threshold_deg",
            format!("{stuck_threshold_deg} must be greater than rotator.deadband_deg = {deadband_deg}"),
        ));
    }
    if !(1_000..=600_000).contains(&raw.stuck_time_ms) {
        return Err(invalid("rotator.stuck_time_ms", format!("{} is outside 1000..=600000 ms", raw.stuck_time_ms)));
    }
    Ok(RotatorConfig {
        address,
        limits: RotatorLimits { az_min_deg: az_min, az_max_deg: az_max, el_min_deg: el_min, el_max_deg: el_max },
        park: Pointing { az_deg: park_az, el_deg: park_el },
        deadband_deg,
        park_tolerance_deg,
        stuck_threshold_deg,
        stuck_time_ms: raw.stuck_time_ms,
    })
}

fn rig(raw: RawRig) -> Result<RigConfig, ConfigError> {
    Ok(RigConfig {
        address: address("rig.address", &raw.address)?,
        deadband_hz: finite_in("rig.deadband_hz", raw.deadband_hz, 0.0, 100_000.0, "Hz")?,
        split_uplink: raw.split_uplink,
    })
}

fn safety(raw: RawSafety) -> Result<SafetyConfig, ConfigError> {
    let (lo, hi) = DEAD_MAN_MS_RANGE;
    if !(lo..=hi).contains(&raw.dead_man_ms) {
        return Err(invalid("safety.dead_man_ms", format!("{} is outside {lo}..={hi} ms", raw.dead_man_ms)));
    }
    let (lo, hi) = HEARTBEAT_TIMEOUT_MS_RANGE;
    if !(lo..=hi).contains(&raw.heartbeat_timeout_ms) {
        return Err(invalid(
            "safety.heartbeat_timeout_ms",
            format!("{} is outside {lo}..={hi} ms", raw.heartbeat_timeout_ms),
        ));
    }
    if !(1_000..=600_000).contains(&raw.shutdown_park_timeout_ms) {
        return Err(invalid(
            "safety.shutdown_park_timeout_ms",
            format!("{} is outside 1000..=600000 ms", raw.shutdown_park_timeout_ms),
        ));
    }
    Ok(SafetyConfig {
        dead_man_ms: raw.dead_man_ms,
        heartbeat_timeout_ms: raw.heartbeat_timeout_ms,
        shutdown_park_timeout_ms: raw.shutdown_park_timeout_ms,
    })
}

fn control(raw: RawControl) -> Result<ControlConfig, ConfigError> {
    let rate_hz = finite_in("control.rate_hz", raw.rate_hz, 1.0, 50.0, "Hz")?;
    if !(100..=60_000).contains(&raw.telemetry_interval_ms) {
        return Err(invalid(
            "control.telemetry_interval_ms",
            format!("{} is outside 100..=60000 ms", raw.telemetry_interval_ms),
        ));
    }
    Ok(ControlConfig { rate_hz, telemetry_interval_ms: raw.telemetry_interval_ms })
}

fn hamlib(raw: RawHamlib) -> Result<HamlibConfig, ConfigError> {
    if !(100..=30_000).contains(&raw.timeout_ms) {
        return Err(invalid("hamlib.timeout_ms", format!("{} is outside 100..=30000 ms", raw.timeout_ms)));
    }
    if !(10..=60_000).contains(&raw.reconnect_min_ms) {
        return Err(invalid("hamlib.reconnect_min_ms", format!("{} is outside 10..=60000 ms", raw.reconnect_min_ms)));
    }
    if raw.reconnect_max_ms < raw.reconnect_min_ms || raw.reconnect_max_ms > 300_000 {
        return Err(invalid(
            "hamlib.reconnect_max_ms",
            format!("{} must lie in hamlib.reconnect_min_ms..=300000 ms", raw.reconnect_max_ms),
        ));
    }
    Ok(HamlibConfig {
        timeout_ms: raw.timeout_ms,
        reconnect_min_ms: raw.reconnect_min_ms,
        reconnect_max_ms: raw.reconnect_max_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[station]
org_id = 3
station_id = 7

[broker]
host = "127.0.0.1"

[rotator]
address = "127.0.0.1:4533"
az_min_deg = 0.0
az_max_deg = 450.0
el_min_deg = 0.0
el_max_deg = 90.0
park_az_deg = 0.0
park_el_deg = 90.0
"#;

    fn load(text: &str) -> Result<AgentConfig, ConfigError> {
        AgentConfig::from_toml(text, Path::new("."), None)
    }

    fn problem(text: &str) -> String {
        load(text).unwrap_err().to_string()
    }

    #[test]
    fn the_shipped_example_is_valid_and_matches_the_defaults() {
        let c = load(EXAMPLE_TOML).unwrap();
        assert_eq!(c.safety.dead_man_ms, 3_000);
        assert_eq!(c.safety.heartbeat_timeout_ms, 10_000);
        assert_eq!(c.control.rate_hz, 10.0);
        assert!(c.rig.is_some());
    }

    #[test]
    fn a_minimal_file_gets_the_documented_defaults() {
        let c = load(MINIMAL).unwrap();
        assert_eq!((c.org, c.station), (OrgId(3), StationId(7)));
        assert_eq!(c.broker.port, 1883);
        assert_eq!(c.broker.client_id, "talos-agent-3-7");
        assert_eq!(c.rotator.deadband_deg, 0.5);
        assert_eq!(
            c.safety,
            SafetyConfig { dead_man_ms: 3_000, heartbeat_timeout_ms: 10_000, shutdown_park_timeout_ms: 60_000 }
        );
        assert_eq!(c.control, ControlConfig { rate_hz: 10.0, telemetry_interval_ms: 1_000 });
        assert_eq!(c.hamlib.timeout_ms, 2_000);
        assert!(c.rig.is_none());
    }

    #[test]
    fn errors_name_the_key() {
        let swapped = MINIMAL.replace("az_max_deg = 450.0", "az_max_deg = -10.0");
        assert!(problem(&swapped).starts_with("rotator.az_max_deg: -10 must be greater"), "{}", problem(&swapped));
        let park = MINIMAL.replace("park_el_deg = 90.0", "park_el_deg = 95.0");
        assert!(problem(&park).starts_with("rotator.park_el_deg: 95 is outside"), "{}", problem(&park));
        let port = MINIMAL.replace("host = \"127.0.0.1\"", "host = \"127.0.0.1\"\nport = 70000");
        assert!(problem(&port).starts_with("broker.port: 70000"), "{}", problem(&port));
        let addr = MINIMAL.replace("127.0.0.1:4533", "localhost");
        assert!(problem(&addr).starts_with("rotator.address:"), "{}", problem(&addr));
        let org = MINIMAL.replace("org_id = 3", "org_id = 0");
        assert!(problem(&org).starts_with("station.org_id:"), "{}", problem(&org));
        let dead = format!("{MINIMAL}\n[safety]\ndead_man_ms = 50\n");
        assert!(problem(&dead).starts_with("safety.dead_man_ms: 50 is outside"), "{}", problem(&dead));
    }

    #[test]
    fn unknown_missing_and_mistyped_keys_are_named_by_toml() {
        let unknown = MINIMAL.replace("deadband", "x").replace("[rotator]", "[rotator]\nspeed = 3");
        assert!(problem(&unknown).contains("unknown field `speed`"), "{}", problem(&unknown));
        let missing = MINIMAL.replace("station_id = 7\n", "");
        assert!(problem(&missing).contains("missing field `station_id`"), "{}", problem(&missing));
        let typed = MINIMAL.replace("org_id = 3", "org_id = \"three\"");
        let p = problem(&typed);
        assert!(p.contains("org_id") && p.contains("line 3"), "{p}");
    }

    #[test]
    fn tls_needs_a_readable_ca_and_a_password_needs_a_user() {
        let tls = MINIMAL.replace("host = \"127.0.0.1\"", "host = \"b\"\ntls = true");
        assert!(problem(&tls).starts_with("broker.ca_file: is required"), "{}", problem(&tls));
        let missing_ca = tls.replace("tls = true", "tls = true\nca_file = \"/nonexistent/ca.pem\"");
        assert!(problem(&missing_ca).starts_with("broker.ca_file: cannot read /nonexistent/ca.pem"));
        let pass = MINIMAL.replace("host = \"127.0.0.1\"", "host = \"b\"\npassword = \"x\"");
        assert!(problem(&pass).starts_with("broker.username: is required"), "{}", problem(&pass));
        let user = pass.replace("password = \"x\"", "username = \"st7\"\npassword = \"x\"");
        let c = AgentConfig::from_toml(&user, Path::new("."), Some("from-env".into())).unwrap();
        assert_eq!(c.broker.password.as_deref(), Some("from-env"), "the environment overrides the file");
        assert!(!format!("{:?}", c.broker).contains("from-env"), "Debug must not print the password");
    }
}

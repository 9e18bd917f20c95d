//! Provisioning the MQTT edge: `talos station add`, `talos station agent-config` and
//! `talos mqtt mosquitto-config`.
//!
//! A station's agent logs in with its own credentials (`station-{org}-{station}` and a
//! 256-bit random password). The password exists only in the agent.toml that
//! `agent-config` prints; the store keeps a Mosquitto `$7$` hash of it, which serves both
//! the embedded broker's check on CONNECT and the password file written for an external
//! Mosquitto. Issuing a new agent.toml revokes the station's previous password.
//!
//! The ACL file confines each station's credentials to its own topics
//! ([`talos_link::station_acl`]) and the director's to what it needs
//! ([`talos_link::director_acl`]); everything else is denied (Mosquitto denies what no rule
//! grants once an ACL file is set).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use talos_core::{OrgId, StationId};
use talos_store::{Actor, NewStation, Station, Store, StoreError};

use crate::store_cli::{DataLocation, write_private_atomic};

/// An organization as given on the command line: its id, or its name.
pub async fn resolve_org(store: &Store, org: &str) -> anyhow::Result<OrgId> {
    let found = match org.parse::<u64>() {
        Ok(id) => store.get_organization(OrgId(id)).await,
        Err(_) => store.find_organization_by_name(org).await,
    };
    match found {
        Ok(o) => Ok(o.id),
        Err(StoreError::NotFound { .. }) => bail!("--org {org:?}: no such organization (give its id or its name)"),
        Err(e) => Err(anyhow::Error::new(e).context(format!("looking up organization {org:?}"))),
    }
}

/// What `talos station add` is told, checked by [`StationRequest::validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct StationRequest {
    pub name: String,
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub alt_m: f64,
    pub min_el_deg: f64,
    /// az_min, az_max, el_min, el_max (degrees).
    pub rotator_limits_deg: [f64; 4],
    /// Azimuth and elevation slew rates, deg/s.
    pub slew_deg_s: [f64; 2],
    /// Park azimuth and elevation, degrees.
    pub park_deg: [f64; 2],
}

impl StationRequest {
    /// The station row, or an error naming the flag and the value at fault. Ranges are the
    /// store's and the wire contract's, so a station that is added can also be driven.
    pub fn validate(&self) -> anyhow::Result<NewStation> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            bail!("--name {:?}: expected 1 to 200 printable characters", self.name);
        }
        let within = |flag: &str, v: f64, lo: f64, hi: f64| -> anyhow::Result<f64> {
            if v.is_finite() && (lo..=hi).contains(&v) { Ok(v) } else { bail!("{flag} {v}: expected {lo} to {hi}") }
        };
        within("--lat", self.lat_deg, -90.0, 90.0)?;
        within("--lon", self.lon_deg, -180.0, 180.0)?;
        within("--alt-m", self.alt_m, -500.0, 9_000.0)?;
        within("--min-el", self.min_el_deg, -5.0, 90.0)?;
        let [az_min, az_max, el_min, el_max] = self.rotator_limits_deg;
        let limits = "--rotator-limits AZ_MIN,AZ_MAX,EL_MIN,EL_MAX";
        within(limits, az_min, talos_link::AZ_MIN_DEG, talos_link::AZ_MAX_DEG)?;
        within(limits, az_max, talos_link::AZ_MIN_DEG, talos_link::AZ_MAX_DEG)?;
        within(limits, el_min, talos_link::EL_MIN_DEG, talos_link::EL_MAX_DEG)?;
        within(limits, el_max, talos_link::EL_MIN_DEG, talos_link::EL_MAX_DEG)?;
        if az_min >= az_max || el_min >= el_max {
            bail!("{limits} {az_min},{az_max},{el_min},{el_max}: each minimum must be below its maximum");
        }
        let [az_slew, el_slew] = self.slew_deg_s;
        within("--slew AZ_DEG_S,EL_DEG_S", az_slew, 0.01, 360.0)?;
        within("--slew AZ_DEG_S,EL_DEG_S", el_slew, 0.01, 360.0)?;
        let [park_az, park_el] = self.park_deg;
        within("--park AZ,EL (azimuth, inside --rotator-limits)", park_az, az_min, az_max)?;
        within("--park AZ,EL (elevation, inside --rotator-limits)", park_el, el_min, el_max)?;
        Ok(NewStation {
            name: name.to_owned(),
            lat_deg: self.lat_deg,
            lon_deg: self.lon_deg,
            alt_m: self.alt_m,
            min_el_deg: self.min_el_deg,
            horizon_mask: None,
            az_min_deg: az_min,
            az_max_deg: az_max,
            el_min_deg: el_min,
            el_max_deg: el_max,
            az_slew_deg_s: az_slew,
            el_slew_deg_s: el_slew,
            park_az_deg: park_az,
            park_el_deg: park_el,
            rig: None,
            agent_credential_hash: None,
        })
    }
}

/// `talos station add`: validates, then creates the station (audited). A running
/// director picks it up at its next fleet reload (any API change, or a restart).
pub async fn add_station(location: &DataLocation, org: &str, request: &StationRequest) -> anyhow::Result<Station> {
    let new = request.validate()?;
    let store = location.connect().await?;
    let org_id = resolve_org(&store, org).await?;
    let station = store.create_station(&Actor::System, org_id, &new).await.map_err(|e| match e {
        StoreError::Conflict { .. } => {
            anyhow::anyhow!("--name {:?}: organization {org_id} already has a station of that name", new.name)
        }
        other => anyhow::Error::new(other).context(format!("adding station {:?}", new.name)),
    });
    store.close().await;
    station
}

/// Where the agent finds its broker and its Hamlib daemons (`talos station agent-config`).
#[derive(Debug, Clone)]
pub struct AgentConfigRequest {
    pub broker_host: String,
    pub broker_port: u16,
    /// TLS to the broker, with this CA file (as the agent will find it).
    pub tls_ca_file: Option<PathBuf>,
    pub rotctld: String,
    /// `None`: the agent drives no radio.
    pub rigctld: Option<String>,
}

/// `talos station agent-config`: issues the station a new credential (revoking the old
/// one; audited) and returns the agent.toml that holds it, already checked by the agent's
/// own config loader.
pub async fn agent_config(
    location: &DataLocation,
    org: &str,
    station: StationId,
    request: &AgentConfigRequest,
) -> anyhow::Result<String> {
    for (flag, address) in [("--rotctld", Some(&request.rotctld)), ("--rigctld", request.rigctld.as_ref())] {
        if let Some(address) = address
            && address.rsplit_once(':').is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err())
        {
            bail!("{flag} {address:?}: expected HOST:PORT");
        }
    }
    if request.broker_host.trim().is_empty() {
        bail!("--broker-host: empty");
    }
    let store = location.connect().await?;
    let result = async {
        let org_id = resolve_org(&store, org).await?;
        let row = store.get_station(org_id, station).await.map_err(|e| match e {
            StoreError::NotFound { .. } => anyhow::anyhow!("station {station} not found in organization {org_id}"),
            other => anyhow::Error::new(other),
        })?;
        let credential = store.issue_agent_credential(&Actor::System, org_id, station).await?;
        Ok::<_, anyhow::Error>(render_agent_config(&row, &credential, request))
    }
    .await;
    store.close().await;
    let text = result?;
    // The file must load as the agent loads it; a failure here is a bug, not a user error.
    talos_agent::AgentConfig::from_toml(&text, Path::new("."), None)
        .map_err(|e| anyhow::anyhow!("the generated agent config does not validate: {e}"))?;
    Ok(text)
}

/// A TOML string literal (quoted and escaped).
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The agent.toml for one station: every key the agent reads, documented.
fn render_agent_config(
    station: &Station,
    credential: &talos_store::AgentCredential,
    request: &AgentConfigRequest,
) -> String {
    use talos_agent::config as defaults;
    let s = &station.settings;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"# talos-agent configuration for station {station_id} "{name}" of organization {org_id},
# written by `talos station agent-config`. It holds this station's MQTT password: keep it
# readable by the agent only (chmod 600). Issuing a new one revokes this password.
#
#   talos-agent --config agent.toml --check    validate this file
#   talos-agent --config agent.toml            run the agent
#
# Units are in the key names: _deg degrees, _hz hertz, _ms milliseconds, _s seconds.
# `talos-agent --print-example-config` documents every key and its default.

[station]
# The ids the director knows this station by; they name its MQTT topics
# (talos/v1/{org_id}/{station_id}/...), and the broker confines the credentials below to them.
org_id = {org_id}
station_id = {station_id}

[broker]
# The director's MQTT broker (the one embedded in `talos serve`, or Mosquitto).
host = {host}
port = {port}
tls = {tls}
"#,
        station_id = station.id,
        name = s.name.replace(['\n', '\r'], " "),
        org_id = station.org,
        host = toml_str(&request.broker_host),
        port = request.broker_port,
        tls = request.tls_ca_file.is_some(),
    );
    if let Some(ca) = &request.tls_ca_file {
        let _ = writeln!(out, "# PEM file with the CA certificate(s) of the broker (relative: to this file).");
        let _ = writeln!(out, "ca_file = {}", toml_str(&ca.display().to_string()));
    }
    let _ = write!(
        out,
        r#"# This station's credentials. TALOS_AGENT_MQTT_PASSWORD, if set, wins over `password`.
username = {username}
password = {password}
# MQTT keep-alive, s: the broker publishes the agent's Last Will ("offline") about 1.5
# keep-alives after the agent vanishes.
keep_alive_s = 5
# Longest wait between two reconnect attempts, ms (from 250 ms, doubling).
reconnect_max_ms = 10000

[rotator]
# Where rotctld listens (host:port).
address = {rotctld}
# The rotator's limits as stored for the station; the agent never commands outside them.
az_min_deg = {az_min:?}
az_max_deg = {az_max:?}
el_min_deg = {el_min:?}
el_max_deg = {el_max:?}
# Where to park: on shutdown, on director heartbeat loss, after a session ends.
park_az_deg = {park_az:?}
park_el_deg = {park_el:?}
# Move only when the target moved more than this since the last command (either axis).
deadband_deg = {deadband:?}
# Parked means read back within this of the park position.
park_tolerance_deg = {park_tolerance:?}
# Stuck: commanded and read-back differ by more than stuck_threshold_deg while the rotator
# does not move for stuck_time_ms.
stuck_threshold_deg = {stuck_threshold:?}
stuck_time_ms = {stuck_time}
"#,
        username = toml_str(&credential.username),
        password = toml_str(&credential.password),
        rotctld = toml_str(&request.rotctld),
        az_min = s.az_min_deg,
        az_max = s.az_max_deg,
        el_min = s.el_min_deg,
        el_max = s.el_max_deg,
        park_az = s.park_az_deg,
        park_el = s.park_el_deg,
        deadband = defaults::DEFAULT_DEADBAND_DEG,
        park_tolerance = defaults::DEFAULT_PARK_TOLERANCE_DEG,
        stuck_threshold = defaults::DEFAULT_STUCK_THRESHOLD_DEG,
        stuck_time = defaults::DEFAULT_STUCK_TIME_MS,
    );
    match &request.rigctld {
        Some(rigctld) => {
            let _ = write!(
                out,
                r#"
[rig]
# Where rigctld listens (host:port).
address = {rigctld}
# Retune only when the Doppler-corrected target moved more than this.
deadband_hz = 10.0
# Also send the uplink as the split transmit frequency (rigctld `I`).
split_uplink = false
"#,
                rigctld = toml_str(rigctld),
            );
        }
        None => out.push_str("\n# No [rig] table: this agent drives no radio.\n"),
    }
    let _ = write!(
        out,
        r#"
[safety]
# Dead-man: no valid setpoint for this long while tracking -> stop the rotator.
dead_man_ms = 3000
# No director heartbeat for this long -> park.
heartbeat_timeout_ms = 10000
# On SIGTERM/SIGINT: park and wait for the read-back to confirm, at most this long.
shutdown_park_timeout_ms = 60000

[control]
# Control loop rate (interpolation, read-back, commands), Hz.
rate_hz = 10.0
# Telemetry (state/rot, state/rig, state/status) interval, ms.
telemetry_interval_ms = {telemetry}

[hamlib]
# Deadline of a connect and of each exchange with rotctld/rigctld, ms.
timeout_ms = 2000
# Reconnect backoff after a daemon went away, ms.
reconnect_min_ms = 250
reconnect_max_ms = 5000
"#,
        telemetry = defaults::DEFAULT_TELEMETRY_INTERVAL_MS,
    );
    out
}

/// What `talos mqtt mosquitto-config` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MosquittoFiles {
    pub password_file: PathBuf,
    pub acl_file: PathBuf,
    pub conf_file: PathBuf,
    pub director_password_file: PathBuf,
    /// Stations with a credential (the others cannot log in until `agent-config` issues one).
    pub stations: usize,
    /// Whether `director-password` was made now (else the existing one was kept).
    pub director_password_created: bool,
}

/// File names inside the output directory.
pub const PASSWORD_FILE: &str = "passwd";
pub const ACL_FILE: &str = "acl";
pub const CONF_FILE: &str = "talos.conf";
pub const DIRECTOR_PASSWORD_FILE: &str = "director-password";

/// `talos mqtt mosquitto-config --out DIR`: a Mosquitto password file (the director and
/// every station with a credential), the ACL file, a `talos.conf` to include from
/// mosquitto.conf, and the director's password (kept across runs; `talos serve
/// --mqtt-password-file DIR/director-password`). Every file is replaced atomically, the
/// secrets with mode 0600. Mosquitto rereads them on SIGHUP.
pub async fn mosquitto_config(location: &DataLocation, out_dir: &Path) -> anyhow::Result<MosquittoFiles> {
    let store = location.connect().await?;
    let hashes = store.agent_credential_hashes().await;
    store.close().await;
    let hashes = hashes.context("reading the stations' MQTT credentials")?;
    std::fs::create_dir_all(out_dir).with_context(|| format!("--out {}: cannot create it", out_dir.display()))?;
    let out_dir = out_dir.canonicalize().with_context(|| format!("--out {}", out_dir.display()))?;

    let director_password_file = out_dir.join(DIRECTOR_PASSWORD_FILE);
    let (director_password, created) = match std::fs::read_to_string(&director_password_file) {
        Ok(text) if text.trim().len() >= 32 => (text.trim().to_owned(), false),
        Ok(_) => bail!(
            "{}: shorter than 32 characters; delete it to have a new director password made",
            director_password_file.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (talos_store::generate_mqtt_password(), true),
        Err(e) => return Err(e).with_context(|| format!("reading {}", director_password_file.display())),
    };

    let mut passwd =
        format!("{}:{}\n", talos_link::DIRECTOR_USERNAME, talos_store::hash_mqtt_password(&director_password));
    let mut acl = String::from(
        "# Written by `talos mqtt mosquitto-config`; regenerate it rather than editing it.\n\
         # What no rule grants is denied.\n\n",
    );
    write_acl_user(&mut acl, talos_link::DIRECTOR_USERNAME, &talos_link::director_acl());
    for c in &hashes {
        let _ = writeln!(passwd, "{}:{}", c.username, c.hash);
        write_acl_user(&mut acl, &c.username, &talos_link::station_acl(c.org, c.station));
    }
    let password_file = out_dir.join(PASSWORD_FILE);
    let acl_file = out_dir.join(ACL_FILE);
    let conf_file = out_dir.join(CONF_FILE);
    let conf = format!(
        "# TALOS: authentication and ACLs for Mosquitto 2.x, written by `talos mqtt mosquitto-config`.\n\
         # Include it from mosquitto.conf (`include_dir` or copy these lines) next to your listener,\n\
         # e.g. a TLS one:\n\
         #   listener 8883\n\
         #   certfile /etc/mosquitto/certs/server.crt\n\
         #   keyfile /etc/mosquitto/certs/server.key\n\
         per_listener_settings false\n\
         allow_anonymous false\n\
         password_file {}\n\
         acl_file {}\n",
        password_file.display(),
        acl_file.display()
    );
    if created {
        write_private_atomic(&director_password_file, format!("{director_password}\n").as_bytes())
            .with_context(|| format!("writing {}", director_password_file.display()))?;
    }
    // Mosquitto reads the password file as its own user: 0600 is right when the file is
    // chowned to it (or Mosquitto runs as root); 0644 files are refused by Mosquitto 2.1.
    write_private_atomic(&password_file, passwd.as_bytes())
        .with_context(|| format!("writing {}", password_file.display()))?;
    write_private_atomic(&acl_file, acl.as_bytes()).with_context(|| format!("writing {}", acl_file.display()))?;
    write_private_atomic(&conf_file, conf.as_bytes()).with_context(|| format!("writing {}", conf_file.display()))?;
    Ok(MosquittoFiles {
        password_file,
        acl_file,
        conf_file,
        director_password_file,
        stations: hashes.len(),
        director_password_created: created,
    })
}

fn write_acl_user(acl: &mut String, username: &str, rules: &[talos_link::AclRule]) {
    let _ = writeln!(acl, "user {username}");
    for rule in rules {
        let _ = writeln!(acl, "{rule}");
    }
    acl.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> StationRequest {
        StationRequest {
            name: "Roof".into(),
            lat_deg: 52.5,
            lon_deg: 13.4,
            alt_m: 40.0,
            min_el_deg: 0.0,
            rotator_limits_deg: [0.0, 450.0, 0.0, 90.0],
            slew_deg_s: [6.0, 3.0],
            park_deg: [0.0, 90.0],
        }
    }

    #[test]
    fn a_station_request_names_the_flag_at_fault() {
        assert!(request().validate().is_ok());
        type Change = Box<dyn Fn(&mut StationRequest)>;
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|r| r.lat_deg = 91.0), "--lat 91"),
            (Box::new(|r| r.lon_deg = f64::NAN), "--lon NaN"),
            (Box::new(|r| r.alt_m = 10_000.0), "--alt-m"),
            (Box::new(|r| r.name = "  ".into()), "--name"),
            (Box::new(|r| r.rotator_limits_deg = [10.0, 5.0, 0.0, 90.0]), "minimum must be below"),
            (Box::new(|r| r.rotator_limits_deg = [0.0, 360.0, 0.0, 180.0]), "--rotator-limits"),
            (Box::new(|r| r.park_deg = [500.0, 90.0]), "--park"),
            (Box::new(|r| r.slew_deg_s = [0.0, 3.0]), "--slew"),
        ];
        for (change, says) in cases {
            let mut r = request();
            change(&mut r);
            let e = r.validate().unwrap_err().to_string();
            assert!(e.contains(says), "{says}: {e}");
        }
    }

    #[test]
    fn acl_blocks_name_each_user_and_its_rules() {
        let mut acl = String::new();
        write_acl_user(&mut acl, "station-1-7", &talos_link::station_acl(OrgId(1), StationId(7)));
        assert_eq!(
            acl,
            "user station-1-7\ntopic read talos/v1/1/7/cmd/#\ntopic write talos/v1/1/7/state/#\n\
             topic read talos/v1/director/heartbeat\n\n"
        );
    }

    #[test]
    fn toml_strings_read_back_as_written() {
        for text in [r#"a"b\c"#, "it's", "tab\there", "ünï", r#"'''"""#] {
            let line = format!("v = {}", toml_str(text));
            let table: toml::Table = toml::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(table["v"].as_str(), Some(text), "{line}");
        }
    }
}

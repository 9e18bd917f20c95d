//! The `talos` command line. Verbs and their flags are a stable interface: scripts
//! and other programs call them.

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use talos_core::{GeodeticPosition, NoradId, UnixMs};
use talos_orbit::{Observer, PassQuery, SampledTrajectory, Satellite, find_passes, look_angles};

use talos::bench::{self, DEFAULT_MIN_PARALLEL_ITEMS};
use talos::catalog_fetch;
use talos::data;
use talos::network::NetworkSize;
use talos::store_cli;

#[derive(Parser, Debug)]
#[command(name = "talos", version, about = "TALOS satellite ground-station network director")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Predict passes (AOS, TCA, LOS) of satellites over one location.
    Passes(PassesArgs),
    /// Look angles (azimuth, elevation, range, range-rate) of one satellite at given times.
    Look(LookArgs),
    /// Benchmarks on the shipped real data.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run the director (with --demo: on demo stations and real satellites).
    Serve(ServeArgs),
    /// Create or upgrade the database (apply pending migrations) and list the applied migrations.
    Migrate(StoreArgs),
    /// The element-set catalog in the store.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// The SatNOGS transmitter catalog in the store.
    #[command(subcommand)]
    Transmitters(TransmittersCommand),
    /// Users and their organization memberships.
    #[command(subcommand)]
    User(UserCommand),
    /// Run the director, the embedded broker and N simulated station agents (the real agent
    /// logic on simulated rotators) for a while on the wall clock, and report what was
    /// measured: missed ticks, setpoint latency, messages/s, refusals, CPU and memory.
    Simulate(SimulateArgs),
    /// Stations and their agents' credentials.
    #[command(subcommand)]
    Station(StationCommand),
    /// The MQTT broker's configuration (an external Mosquitto).
    #[command(subcommand)]
    Mqtt(MqttCommand),
}

#[derive(Subcommand, Debug)]
enum StationCommand {
    /// Add a station to an organization (audited; a running director picks it up at its
    /// next fleet reload).
    Add(StationAddArgs),
    /// Issue the station's agent new MQTT credentials (revoking the old ones) and print its
    /// agent.toml: `talos station agent-config 7 --org 1 > agent.toml`.
    AgentConfig(AgentConfigArgs),
}

/// Two or four comma-separated numbers.
fn parse_numbers<const N: usize>(text: &str) -> Result<[f64; N], String> {
    let values: Vec<f64> = text
        .split(',')
        .map(|v| v.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{text:?}: {e}"))?;
    values.try_into().map_err(|v: Vec<f64>| format!("{text:?}: expected {N} comma-separated numbers, got {}", v.len()))
}

#[derive(clap::Args, Debug)]
struct StationAddArgs {
    /// Organization id or name.
    #[arg(long)]
    org: String,
    #[arg(long)]
    name: String,
    #[command(flatten)]
    location: LocationArgs,
    /// Lowest elevation tracked, degrees.
    #[arg(long = "min-el", default_value_t = 0.0, allow_negative_numbers = true)]
    min_el: f64,
    /// The rotator's limits, degrees: AZ_MIN,AZ_MAX,EL_MIN,EL_MAX.
    #[arg(long = "rotator-limits", default_value = "0,450,0,90", value_parser = parse_numbers::<4>, allow_negative_numbers = true)]
    rotator_limits: [f64; 4],
    /// The rotator's slew rates, deg/s: AZ,EL.
    #[arg(long, default_value = "6,3", value_parser = parse_numbers::<2>)]
    slew: [f64; 2],
    /// Where the rotator parks, degrees: AZ,EL.
    #[arg(long, default_value = "0,90", value_parser = parse_numbers::<2>, allow_negative_numbers = true)]
    park: [f64; 2],
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(clap::Args, Debug)]
struct AgentConfigArgs {
    /// The station's id.
    #[arg(value_name = "STATION")]
    station: u64,
    /// Organization id or name.
    #[arg(long)]
    org: String,
    /// The broker's host name or address, as the agent reaches it.
    #[arg(long = "broker-host", default_value = "127.0.0.1")]
    broker_host: String,
    /// The broker's port [default: 1883, or 8883 with --broker-ca-file].
    #[arg(long = "broker-port")]
    broker_port: Option<u16>,
    /// TLS to the broker: the PEM file with its CA certificate(s), as the agent finds it.
    #[arg(long = "broker-ca-file", value_name = "FILE")]
    broker_ca_file: Option<PathBuf>,
    /// Where the station's rotctld listens.
    #[arg(long, default_value = "127.0.0.1:4533", value_name = "HOST:PORT")]
    rotctld: String,
    /// Where the station's rigctld listens.
    #[arg(long, default_value = "127.0.0.1:4532", value_name = "HOST:PORT", conflicts_with = "no_rig")]
    rigctld: String,
    /// The agent drives no radio (no [rig] table).
    #[arg(long = "no-rig")]
    no_rig: bool,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Subcommand, Debug)]
enum MqttCommand {
    /// Write a Mosquitto password file and ACL file (each station's credentials confined
    /// to its own topics, the director's to what it needs), a talos.conf to include, and
    /// the director's password file (kept across runs). Rerun after issuing credentials,
    /// then send Mosquitto SIGHUP.
    MosquittoConfig(MosquittoConfigArgs),
}

#[derive(clap::Args, Debug)]
struct MosquittoConfigArgs {
    /// Directory to write passwd, acl, talos.conf and director-password into.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(clap::Args, Debug)]
struct SimulateArgs {
    /// Simulated stations, each with its own agent and MQTT connection.
    #[arg(long)]
    stations: usize,
    /// How long to run, seconds.
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// Satellites in the network (spread over the shipped catalog).
    #[arg(long, default_value_t = 100)]
    satellites: usize,
    #[arg(long = "assignments-per-station", default_value_t = 4)]
    assignments_per_station: usize,
    /// Worker threads for the director's parallel stages (default: available cores).
    #[arg(long)]
    threads: Option<usize>,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
}

/// Where the store lives; shared by the verbs that use it.
#[derive(clap::Args, Debug)]
struct StoreArgs {
    /// Data directory, created with mode 0700 when the default database lives in it
    /// [default: $XDG_DATA_HOME/talos, else $HOME/.local/share/talos].
    #[arg(long = "data-dir", env = "TALOS_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL: postgres://USER@HOST/DB or sqlite://PATH?mode=rwc
    /// [default: sqlite://<data-dir>/talos.db?mode=rwc].
    #[arg(long, env = "TALOS_DATABASE_URL", value_name = "URL", hide_env_values = true)]
    database: Option<String>,
}

impl StoreArgs {
    fn location(self) -> anyhow::Result<store_cli::DataLocation> {
        store_cli::DataLocation::resolve(self.data_dir, self.database)
    }
}

#[derive(Subcommand, Debug)]
enum CatalogCommand {
    /// Import element-set files (each in its own transaction; exit 1 if any file failed).
    Import(CatalogImportArgs),
    /// Fetch element sets over HTTP(S) once per source into the store, keeping each body as
    /// the source's last good copy in <data-dir>/catalog (exit 1 if any source failed).
    Fetch(CatalogFetchArgs),
}

#[derive(clap::Args, Debug)]
struct CatalogFetchArgs {
    /// A source as NAME=URL or NAME=URL@PRIORITY (repeatable). NAME is stored with the sets
    /// and names the cached copy; the highest PRIORITY (default 0) wins per object.
    #[arg(long = "source-url", required = true, value_name = "NAME=URL[@PRIORITY]")]
    sources: Vec<catalog_fetch::CatalogSource>,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(clap::Args, Debug)]
struct CatalogImportArgs {
    /// Element-set files: TLE/3LE, OMM JSON, OMM XML or OMM CSV (detected from content).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Source name stored with the sets [default: each file's name without extension].
    #[arg(long)]
    source: Option<String>,
    /// Source priority: when several sources have an object, the highest wins.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    priority: i32,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Subcommand, Debug)]
enum TransmittersCommand {
    /// Import a SatNOGS DB transmitter export (JSON).
    Import(TransmittersImportArgs),
}

#[derive(clap::Args, Debug)]
struct TransmittersImportArgs {
    #[arg(value_name = "FILE")]
    file: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Create a user and add it to an organization (created when the role is owner).
    Add(UserAddArgs),
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum RoleArg {
    Owner,
    Admin,
    Operator,
    Viewer,
}

impl From<RoleArg> for talos_store::Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Owner => Self::Owner,
            RoleArg::Admin => Self::Admin,
            RoleArg::Operator => Self::Operator,
            RoleArg::Viewer => Self::Viewer,
        }
    }
}

#[derive(clap::Args, Debug)]
struct UserAddArgs {
    /// Organization name.
    #[arg(long)]
    org: String,
    #[arg(long)]
    email: String,
    #[arg(long, value_enum)]
    role: RoleArg,
    /// Read the password (one line, at least 12 characters) from stdin instead of
    /// generating one (a generated password is printed once).
    #[arg(long = "password-stdin")]
    password_stdin: bool,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Table,
}

#[derive(clap::Args, Debug)]
struct LocationArgs {
    /// Latitude, degrees north (WGS84).
    #[arg(long, allow_negative_numbers = true)]
    lat: f64,
    /// Longitude, degrees east (WGS84).
    #[arg(long, allow_negative_numbers = true)]
    lon: f64,
    /// Altitude above the WGS84 ellipsoid, metres.
    #[arg(long = "alt-m", allow_negative_numbers = true)]
    alt_m: f64,
}

impl LocationArgs {
    fn observer(&self) -> anyhow::Result<Observer> {
        let position = GeodeticPosition::new(self.lat, self.lon, self.alt_m).context("invalid --lat/--lon/--alt-m")?;
        Ok(Observer::new(position))
    }
}

#[derive(clap::Args, Debug)]
struct PassesArgs {
    /// Element sets: TLE/3LE, OMM JSON, OMM XML or OMM CSV (detected from content).
    #[arg(long)]
    elements: PathBuf,
    /// Only these NORAD catalog numbers (repeatable); default: every satellite in the file.
    #[arg(long = "norad")]
    norad: Vec<u64>,
    #[command(flatten)]
    location: LocationArgs,
    /// Window start, RFC 3339 (e.g. 2026-05-08T00:00:00Z).
    #[arg(long)]
    start: String,
    /// Window length, hours.
    #[arg(long, allow_negative_numbers = true)]
    hours: f64,
    /// Minimum elevation, degrees.
    #[arg(long = "min-el", default_value_t = 0.0, allow_negative_numbers = true)]
    min_el: f64,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
}

#[derive(clap::Args, Debug)]
struct LookArgs {
    #[arg(long)]
    elements: PathBuf,
    #[arg(long)]
    norad: u64,
    #[command(flatten)]
    location: LocationArgs,
    /// One or more RFC 3339 times, comma-separated.
    #[arg(long, value_delimiter = ',')]
    at: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Time the director tick on a network built from real data.
    Tick(BenchTickArgs),
    /// Time pass prediction for every (station, satellite) assignment pair.
    Passes(BenchPassesArgs),
}

#[derive(clap::Args, Debug)]
struct NetworkArgs {
    #[arg(long)]
    stations: usize,
    #[arg(long)]
    satellites: usize,
    #[arg(long = "assignments-per-station")]
    assignments_per_station: usize,
    /// Worker threads for the parallel stages (default: available cores).
    #[arg(long)]
    threads: Option<usize>,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
}

impl NetworkArgs {
    fn size(&self) -> anyhow::Result<NetworkSize> {
        if self.stations == 0 || self.satellites == 0 || self.assignments_per_station == 0 {
            bail!("--stations, --satellites and --assignments-per-station must be at least 1");
        }
        Ok(NetworkSize {
            stations: self.stations,
            satellites: self.satellites,
            assignments_per_station: self.assignments_per_station,
        })
    }
    fn threads(&self) -> usize {
        self.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}

#[derive(clap::Args, Debug)]
struct BenchTickArgs {
    #[command(flatten)]
    network: NetworkArgs,
    /// Ticks to time (after one warm-up tick).
    #[arg(long, default_value_t = 200)]
    ticks: usize,
    /// Work size under which stages stay single-threaded.
    #[arg(long = "min-parallel-items", default_value_t = DEFAULT_MIN_PARALLEL_ITEMS)]
    min_parallel_items: usize,
}

#[derive(clap::Args, Debug)]
struct BenchPassesArgs {
    #[command(flatten)]
    network: NetworkArgs,
    /// Window length, hours.
    #[arg(long, allow_negative_numbers = true)]
    hours: f64,
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Seed a demo organization (SatNOGS stations that were online, the shipped real
    /// satellites and transmitters) on first start, and print fresh demo credentials.
    #[arg(long)]
    demo: bool,
    /// HTTP API address.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    listen: String,
    /// Element sets to import before starting (source: the file's name, priority 100).
    #[arg(long)]
    elements: Option<PathBuf>,
    /// Run the clock from this UTC time instead of now (replay or rehearse a pass).
    #[arg(long)]
    start: Option<String>,
    /// Stop after this many seconds (default: run until interrupted).
    #[arg(long)]
    seconds: Option<f64>,
    /// Worker threads for the parallel stages and the pass planner.
    #[arg(long)]
    threads: Option<usize>,
    /// Mark the session cookie Secure (set this when a TLS proxy fronts the API).
    #[arg(long, env = "TALOS_SECURE_COOKIE")]
    secure_cookie: bool,
    /// No per-second status line on stdout.
    #[arg(long)]
    quiet: bool,
    /// Element-set source fetched at start and then every --catalog-interval-h, as
    /// NAME=URL[@PRIORITY] (repeatable), e.g.
    /// celestrak-amateur=https://celestrak.org/NORAD/elements/gp.php?GROUP=amateur&FORMAT=tle@10
    #[arg(long = "catalog-source", value_name = "NAME=URL[@PRIORITY]")]
    catalog_sources: Vec<talos::catalog_fetch::CatalogSource>,
    /// Hours between scheduled catalog fetches (CelesTrak asks for no more than one per 2 h).
    #[arg(long = "catalog-interval-h", default_value_t = 6.0)]
    catalog_interval_h: f64,
    #[command(flatten)]
    mqtt: MqttArgs,
    #[command(flatten)]
    store: StoreArgs,
}

/// The director's MQTT broker: embedded (default) or external.
#[derive(clap::Args, Debug)]
struct MqttArgs {
    /// Address of the embedded MQTT broker [default: 127.0.0.1:1883, or a free port on
    /// 127.0.0.1 when 1883 is taken]. Station credentials come from `talos station agent-config`.
    #[arg(long = "mqtt-listen", value_name = "ADDR:PORT", conflicts_with = "mqtt_url")]
    mqtt_listen: Option<String>,
    /// An external broker instead of the embedded one: mqtt://HOST[:PORT] or mqtts://HOST[:PORT]
    /// (Mosquitto configured by `talos mqtt mosquitto-config`).
    #[arg(long = "mqtt-url", env = "TALOS_MQTT_URL", value_name = "URL")]
    mqtt_url: Option<String>,
    /// The director's username on the external broker.
    #[arg(long = "mqtt-username", default_value = talos_link::DIRECTOR_USERNAME, requires = "mqtt_url")]
    mqtt_username: String,
    /// File holding the director's password on the external broker (the `director-password`
    /// that `talos mqtt mosquitto-config` writes).
    #[arg(long = "mqtt-password-file", value_name = "FILE", requires = "mqtt_url")]
    mqtt_password_file: Option<PathBuf>,
    /// PEM file with the CA certificate(s) of an mqtts:// broker [default: the system bundle
    /// /etc/ssl/certs/ca-certificates.crt].
    #[arg(long = "mqtt-ca-file", value_name = "FILE", requires = "mqtt_url")]
    mqtt_ca_file: Option<PathBuf>,
}

impl MqttArgs {
    fn choice(self) -> anyhow::Result<talos::serve::MqttChoice> {
        use talos::serve::MqttChoice;
        let Some(url) = self.mqtt_url else {
            let (listen, fallback) = match &self.mqtt_listen {
                Some(text) => {
                    (text.parse().with_context(|| format!("--mqtt-listen {text:?}: expected ADDR:PORT"))?, false)
                }
                None => (std::net::SocketAddr::from(([127, 0, 0, 1], 1883)), true),
            };
            return Ok(MqttChoice::Embedded(talos::broker::BrokerSettings {
                listen,
                fallback_to_free_port: fallback,
                max_connections: 20_000,
            }));
        };
        let (host, port, tls) = talos::mqtt_link::parse_broker_url(&url)?;
        let password_file = self.mqtt_password_file.context("--mqtt-url needs --mqtt-password-file")?;
        let password = std::fs::read_to_string(&password_file)
            .with_context(|| format!("--mqtt-password-file {}", password_file.display()))?
            .trim()
            .to_owned();
        if password.is_empty() {
            bail!("--mqtt-password-file {}: the file is empty", password_file.display());
        }
        let tls_ca_pem = if tls {
            let ca = self.mqtt_ca_file.unwrap_or_else(|| PathBuf::from("/etc/ssl/certs/ca-certificates.crt"));
            Some(std::fs::read(&ca).with_context(|| format!("--mqtt-ca-file {}", ca.display()))?)
        } else {
            None
        };
        Ok(MqttChoice::External(talos::mqtt_link::LinkSettings {
            host,
            port,
            tls_ca_pem,
            username: self.mqtt_username,
            password,
            client_id: "talos-director".to_owned(),
            keep_alive: std::time::Duration::from_secs(5),
        }))
    }
}

fn main() {
    let cli = Cli::parse();
    init_tracing();
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn init_tracing() {
    use tracing_subscriber::prelude::*;
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    let filter = tracing_subscriber::EnvFilter::try_from_env("TALOS_LOG")
        // sqlx logs PostgreSQL notices ("relation ... already exists, skipping") at info;
        // rumqttd logs every connection at info (a line per agent).
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,rumqttd=warn"));
    let registry = tracing_subscriber::registry().with(fmt.with_filter(filter));
    #[cfg(feature = "tracy")]
    let registry = registry.with(tracing_tracy::TracyLayer::default());
    registry.init();
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Passes(args) => passes(args),
        Command::Look(args) => look(args),
        Command::Bench(BenchCommand::Tick(args)) => {
            let report =
                bench::bench_tick(args.network.size()?, args.ticks, args.network.threads(), args.min_parallel_items)?;
            print_report(&report, args.network.format)
        }
        Command::Bench(BenchCommand::Passes(args)) => {
            if !args.hours.is_finite() || args.hours <= 0.0 {
                bail!("--hours must be positive");
            }
            let report = bench::bench_passes(args.network.size()?, args.hours, args.network.threads())?;
            print_report(&report, args.network.format)
        }
        Command::Serve(args) => serve(args),
        Command::Simulate(args) => {
            if !(args.seconds.is_finite() && (1.0..=86_400.0).contains(&args.seconds)) {
                bail!("--seconds {}: expected 1 to 86400", args.seconds);
            }
            let network = NetworkArgs {
                stations: args.stations,
                satellites: args.satellites,
                assignments_per_station: args.assignments_per_station,
                threads: args.threads,
                format: args.format,
            };
            let options = talos::simulate::SimulateOptions {
                size: network.size()?,
                seconds: args.seconds,
                threads: network.threads(),
            };
            print_report(&talos::simulate::simulate(options)?, args.format)
        }
        Command::Station(StationCommand::Add(args)) => {
            let location = args.store.location()?;
            let request = talos::provision::StationRequest {
                name: args.name,
                lat_deg: args.location.lat,
                lon_deg: args.location.lon,
                alt_m: args.location.alt_m,
                min_el_deg: args.min_el,
                rotator_limits_deg: args.rotator_limits,
                slew_deg_s: args.slew,
                park_deg: args.park,
            };
            block_on(async {
                let station = talos::provision::add_station(&location, &args.org, &request).await?;
                println!(
                    "station {} {:?} added to organization {}; next: talos station agent-config {} --org {} > agent.toml",
                    station.id, station.settings.name, station.org, station.id, station.org
                );
                Ok(())
            })
        }
        Command::Station(StationCommand::AgentConfig(args)) => {
            let location = args.store.location()?;
            let request = talos::provision::AgentConfigRequest {
                broker_host: args.broker_host,
                broker_port: args.broker_port.unwrap_or(if args.broker_ca_file.is_some() { 8883 } else { 1883 }),
                tls_ca_file: args.broker_ca_file,
                rotctld: args.rotctld,
                rigctld: (!args.no_rig).then_some(args.rigctld),
            };
            let station = talos_core::StationId(args.station);
            block_on(async {
                let text = talos::provision::agent_config(&location, &args.org, station, &request).await?;
                print!("{text}");
                eprintln!(
                    "talos: new MQTT credentials issued for station {station} (the previous password no longer works); \
                     keep the file private (chmod 600). For an external Mosquitto, rerun `talos mqtt mosquitto-config`."
                );
                Ok(())
            })
        }
        Command::Mqtt(MqttCommand::MosquittoConfig(args)) => {
            let location = args.store.location()?;
            block_on(async {
                let files = talos::provision::mosquitto_config(&location, &args.out).await?;
                println!(
                    "wrote {} (director + {} stations), {}, {}",
                    files.password_file.display(),
                    files.stations,
                    files.acl_file.display(),
                    files.conf_file.display()
                );
                println!(
                    "director password: {} ({}); run: talos serve --mqtt-url mqtt://HOST:PORT --mqtt-password-file {}",
                    files.director_password_file.display(),
                    if files.director_password_created { "new" } else { "kept" },
                    files.director_password_file.display()
                );
                println!(
                    "include {} in mosquitto.conf, then send Mosquitto SIGHUP to reload",
                    files.conf_file.display()
                );
                Ok(())
            })
        }
        Command::Migrate(store) => {
            let location = store.location()?;
            block_on(store_cli::migrate(&location))
        }
        Command::Catalog(CatalogCommand::Import(args)) => {
            let location = args.store.location()?;
            let options = store_cli::CatalogImportOptions { source: args.source, priority: args.priority };
            block_on(store_cli::import_catalog(&location, &args.files, &options))
        }
        Command::Catalog(CatalogCommand::Fetch(args)) => {
            let location = args.store.location()?;
            block_on(catalog_fetch::fetch_command(&location, &args.sources))
        }
        Command::Transmitters(TransmittersCommand::Import(args)) => {
            let location = args.store.location()?;
            block_on(store_cli::import_transmitters(&location, &args.file))
        }
        Command::User(UserCommand::Add(args)) => {
            let location = args.store.location()?;
            let password = if args.password_stdin {
                store_cli::PasswordSource::Stdin
            } else {
                store_cli::PasswordSource::Generate
            };
            block_on(store_cli::add_user(&location, &args.org, &args.email, args.role.into(), password))
        }
    }
}

/// Runs a store verb on a single-threaded runtime (only these verbs need one).
fn block_on(verb: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(verb)
}

fn print_report(report: &impl serde::Serialize, format: Format) -> anyhow::Result<()> {
    let text = match format {
        Format::Json => serde_json::to_string(report)?,
        Format::Table => serde_json::to_string_pretty(report)?,
    };
    println!("{text}");
    Ok(())
}

/// Loads the element file and keeps the requested NORAD ids (all when none are given).
fn select_satellites(path: &std::path::Path, norad: &[u64]) -> anyhow::Result<Vec<Arc<Satellite>>> {
    let catalog = data::load_elements_file(path)?;
    let wanted: Vec<NoradId> =
        norad.iter().map(|&n| NoradId::new(n).with_context(|| format!("--norad {n}"))).collect::<Result<_, _>>()?;
    let sets: Vec<_> =
        catalog.element_sets.into_iter().filter(|s| wanted.is_empty() || wanted.contains(&s.norad_id)).collect();
    for id in &wanted {
        if !sets.iter().any(|s| s.norad_id == *id) {
            bail!("NORAD {id} is not in {}", path.display());
        }
    }
    Ok(data::satellites_from(&sets))
}

#[derive(serde::Serialize)]
struct PassOut {
    norad_id: u32,
    name: String,
    aos: String,
    tca: String,
    los: String,
    max_el_deg: f64,
    aos_az_deg: f64,
    los_az_deg: f64,
}

fn passes(args: PassesArgs) -> anyhow::Result<()> {
    let observer = args.location.observer()?;
    let start = UnixMs::parse_rfc3339(&args.start).context("--start")?;
    if !args.hours.is_finite() || args.hours <= 0.0 || args.hours > 24.0 * 366.0 {
        bail!("--hours must be in (0, 8784], got {}", args.hours);
    }
    if !(-90.0..=90.0).contains(&args.min_el) {
        bail!("--min-el must be in [-90, 90], got {}", args.min_el);
    }
    let end = start.plus_seconds_f64(args.hours * 3600.0);
    let satellites = select_satellites(&args.elements, &args.norad)?;
    let query = PassQuery { observer: &observer, min_el_deg: args.min_el, mask: None };
    let mut out = Vec::new();
    for sat in &satellites {
        let trajectory = match SampledTrajectory::sample(sat, start, end) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("skipping: {e}");
                continue;
            }
        };
        if let Some(e) = &trajectory.diverged {
            eprintln!("warning: {e}; passes after that are not predicted");
        }
        let name = sat.name.clone().unwrap_or_default();
        for p in find_passes(&trajectory, &query) {
            out.push((
                p.aos,
                PassOut {
                    norad_id: p.norad_id.get(),
                    name: name.clone(),
                    aos: p.aos.to_rfc3339(),
                    tca: p.tca.to_rfc3339(),
                    los: p.los.to_rfc3339(),
                    max_el_deg: round(p.max_el_deg, 3),
                    aos_az_deg: round(p.aos_az_deg, 3),
                    los_az_deg: round(p.los_az_deg, 3),
                },
            ));
        }
    }
    out.sort_by_key(|(aos, p)| (*aos, p.norad_id));
    let out: Vec<PassOut> = out.into_iter().map(|(_, p)| p).collect();
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(stdout, "{}", serde_json::to_string_pretty(&out)?)?,
        Format::Table => {
            writeln!(
                stdout,
                "{:>9}  {:<24}  {:<24}  {:<24}  {:<24}  {:>6}  {:>7}  {:>7}",
                "NORAD", "NAME", "AOS (UTC)", "TCA (UTC)", "LOS (UTC)", "MAX EL", "AOS AZ", "LOS AZ"
            )?;
            for p in &out {
                writeln!(
                    stdout,
                    "{:>9}  {:<24}  {:<24}  {:<24}  {:<24}  {:>6.1}  {:>7.1}  {:>7.1}",
                    p.norad_id, p.name, p.aos, p.tca, p.los, p.max_el_deg, p.aos_az_deg, p.los_az_deg
                )?;
            }
        }
    }
    Ok(())
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

#[derive(serde::Serialize)]
struct LookOut {
    t: String,
    az_deg: f64,
    el_deg: f64,
    range_km: f64,
    range_rate_km_s: f64,
}

fn look(args: LookArgs) -> anyhow::Result<()> {
    let observer = args.location.observer()?;
    if args.at.is_empty() {
        bail!("--at needs at least one RFC 3339 time");
    }
    let times: Vec<UnixMs> =
        args.at.iter().map(|t| UnixMs::parse_rfc3339(t).context("--at")).collect::<Result<_, _>>()?;
    let satellites = select_satellites(&args.elements, &[args.norad])?;
    let sat = satellites.first().with_context(|| format!("NORAD {} could not be initialised", args.norad))?;
    let mut out = Vec::with_capacity(times.len());
    for t in times {
        let look = look_angles(&observer, &sat.state_ecef(t)?);
        out.push(LookOut {
            t: t.to_rfc3339(),
            az_deg: round(look.az_deg, 6),
            el_deg: round(look.el_deg, 6),
            range_km: round(look.range_km, 6),
            range_rate_km_s: round(look.range_rate_km_s, 9),
        });
    }
    let mut stdout = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(stdout, "{}", serde_json::to_string_pretty(&out)?)?,
        Format::Table => {
            writeln!(
                stdout,
                "{:<24}  {:>9}  {:>8}  {:>10}  {:>10}",
                "TIME (UTC)", "AZ", "EL", "RANGE km", "RATE km/s"
            )?;
            for l in &out {
                writeln!(
                    stdout,
                    "{:<24}  {:>9.3}  {:>8.3}  {:>10.3}  {:>10.4}",
                    l.t, l.az_deg, l.el_deg, l.range_km, l.range_rate_km_s
                )?;
            }
        }
    }
    Ok(())
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    talos::catalog_fetch::check_unique_names(&args.catalog_sources).context("--catalog-source")?;
    // Flags first, so a typo fails before any directory or database is touched.
    let listen = talos::serve::parse_listen(&args.listen)?;
    let catalog_interval = catalog_interval(args.catalog_interval_h)?;
    let start = args.start.as_deref().map(UnixMs::parse_rfc3339).transpose().context("--start")?;
    let mqtt = args.mqtt.choice()?;
    if start.is_some() {
        eprintln!(
            "talos: --start shifts the director's clock: its setpoints carry shifted times, which agents on the \
             wall clock refuse as stale (rehearsals and simulations only)"
        );
    }
    let options = talos::serve::ServeOptions {
        mqtt,
        location: args.store.location()?,
        listen,
        demo: args.demo,
        elements: args.elements,
        start,
        seconds: args.seconds,
        threads: args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        secure_cookie: args.secure_cookie,
        console: !args.quiet,
        catalog_interval,
        catalog_sources: args.catalog_sources,
    };
    let stop = Arc::new(AtomicBool::new(false));
    install_stop_handler(stop.clone())?;
    talos::serve::serve(options, stop)
}

fn catalog_interval(hours: f64) -> anyhow::Result<std::time::Duration> {
    if !(hours.is_finite() && (0.01..=24.0 * 30.0).contains(&hours)) {
        bail!("--catalog-interval-h {hours}: expected 0.01 to 720 hours");
    }
    Ok(std::time::Duration::from_secs_f64(hours * 3600.0))
}

/// SIGINT/SIGTERM set the stop flag; the loop finishes its tick and returns.
fn install_stop_handler(stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed)).context("installing the SIGINT/SIGTERM handler")
}

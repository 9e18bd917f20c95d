//! Scheduled HTTP fetch of element-set catalogs (CelesTrak and the like) into the store,
//! the last good copy of each source on disk, and a per-source board for `/metrics`.
//!
//! Why it is shaped so: element sets go stale within days, so they are fetched on a
//! schedule; but a network outage, an error page or a truncated download must never
//! replace good sets. A fetch therefore touches the store and the cached copy only after
//! the whole body arrived within its limits and parsed into at least one element set.
//! The cached copy (`<cache_dir>/<source>.txt`) lets a fresh database start with sets
//! when the network is down, and the board tells an operator how old the sets are.
//!
//! Must never: panic or stop the scheduler on a network or store error, fetch a source
//! more often than the caller's interval (CelesTrak asks for at most once per 2 h), or
//! print a URL's password.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use talos_core::UnixMs;
use talos_orbit::elements::{ElementFormat, ParsedCatalog, parse_catalog};
use talos_store::{Actor, Store, StoreError};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

use crate::store_cli::{DataLocation, redact_url};

/// How often a deployment fetches when it has no reason to choose otherwise: CelesTrak
/// updates most groups a few times a day and asks clients for at most one download per 2 h.
pub const DEFAULT_FETCH_INTERVAL: Duration = Duration::from_secs(6 * 3600);
/// Wait before retrying a failed source; doubled after each further failure, up to the interval.
pub const FIRST_RETRY_DELAY: Duration = Duration::from_secs(60);
/// Largest body accepted by default: the full CelesTrak active catalog is about 2.5 MB as
/// TLE and about 15 MB as OMM JSON, so this leaves room while bounding memory.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;
/// Default connect timeout and idle-read timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default deadline for a whole request, body included (a server trickling bytes just
/// under the read timeout would otherwise hold a fetch for hours).
pub const DEFAULT_TOTAL_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Longest source name: it becomes a file name and a metric label.
pub const MAX_SOURCE_NAME_CHARS: usize = 64;
/// Shortest scheduler interval; anything shorter is raised to it so a zero cannot spin.
const MIN_INTERVAL: Duration = Duration::from_millis(10);
/// Rejected records named in the log per fetch (the count is always given).
const REJECTED_LOGGED: usize = 5;

/// One catalog to fetch: a name (stored with its sets and naming the cached copy), an
/// http(s) URL and the priority its sets get against other sources of the same object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogSource {
    pub name: String,
    pub url: String,
    /// Higher wins when several sources have the object.
    pub priority: i32,
}

/// Why a `NAME=URL[@PRIORITY]` source could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceSpecError {
    /// No `=` separates the name from the URL.
    #[error("source '{spec}': expected NAME=URL or NAME=URL@PRIORITY")]
    MissingEquals { spec: String },
    /// The name is empty, too long, starts with a dot or has characters unfit for a file name.
    #[error(
        "source name '{name}': use 1 to {MAX_SOURCE_NAME_CHARS} letters, digits, '.', '_' or '-', not starting with '.'"
    )]
    BadName { name: String },
    /// The URL does not parse.
    #[error("source '{name}': '{url}' is not a URL: {reason}")]
    BadUrl { name: String, url: String, reason: String },
    /// The URL is not http or https.
    #[error("source '{name}': URL scheme '{scheme}' is not supported; use http or https")]
    BadScheme { name: String, scheme: String },
    /// The text after the last `@` looks like a priority but is not a 32-bit integer.
    #[error("source '{name}': priority '{priority}' is not an integer from {} to {}", i32::MIN, i32::MAX)]
    BadPriority { name: String, priority: String },
    /// Two sources share a name (they would share a cached copy and a metric label).
    #[error("source '{name}' is given more than once")]
    Duplicate { name: String },
}

impl CatalogSource {
    /// A source after checking its name (file-name safe) and URL (http or https).
    pub fn new(name: &str, url: &str, priority: i32) -> Result<Self, SourceSpecError> {
        let name_ok = !name.is_empty()
            && name.chars().count() <= MAX_SOURCE_NAME_CHARS
            && !name.starts_with('.')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !name_ok {
            return Err(SourceSpecError::BadName { name: name.to_owned() });
        }
        let parsed = reqwest::Url::parse(url).map_err(|e| SourceSpecError::BadUrl {
            name: name.to_owned(),
            url: redact_url(url),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(SourceSpecError::BadScheme { name: name.to_owned(), scheme: parsed.scheme().to_owned() });
        }
        Ok(Self { name: name.to_owned(), url: parsed.to_string(), priority })
    }

    /// The URL without its password, for messages and logs.
    pub fn shown_url(&self) -> String {
        redact_url(&self.url)
    }
}

/// `NAME=URL` or `NAME=URL@PRIORITY` (priority 0 when absent). The name ends at the first
/// `=`; a last `@` followed only by an optional sign and digits is the priority, so a URL
/// with user info (`https://user@host/x`) still reads as a URL.
impl FromStr for CatalogSource {
    type Err = SourceSpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let Some((name, rest)) = spec.split_once('=') else {
            return Err(SourceSpecError::MissingEquals { spec: redact_url(spec) });
        };
        let (url, priority) = match rest.rsplit_once('@') {
            Some((url, tail)) if looks_like_priority(tail) => {
                let priority = tail
                    .parse::<i32>()
                    .map_err(|_| SourceSpecError::BadPriority { name: name.to_owned(), priority: tail.to_owned() })?;
                (url, priority)
            }
            _ => (rest, 0),
        };
        Self::new(name, url, priority)
    }
}

impl fmt::Display for CatalogSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}@{}", self.name, self.shown_url(), self.priority)
    }
}

fn looks_like_priority(tail: &str) -> bool {
    let digits = tail.strip_prefix(['-', '+']).unwrap_or(tail);
    tail.is_empty() || (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// Fails on the first name given twice.
pub fn check_unique_names(sources: &[CatalogSource]) -> Result<(), SourceSpecError> {
    let mut seen = std::collections::HashSet::new();
    for source in sources {
        if !seen.insert(source.name.as_str()) {
            return Err(SourceSpecError::Duplicate { name: source.name.clone() });
        }
    }
    Ok(())
}

/// Where the last good copy of `source_name` lives.
pub fn cached_copy_path(cache_dir: &Path, source_name: &str) -> PathBuf {
    cache_dir.join(format!("{source_name}.txt"))
}

/// When the cached copy of `source_name` was written (its mtime), if there is one.
pub fn cached_copy_time(cache_dir: &Path, source_name: &str) -> Option<UnixMs> {
    let modified = std::fs::metadata(cached_copy_path(cache_dir, source_name)).ok()?.modified().ok()?;
    let since_epoch = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(UnixMs(i64::try_from(since_epoch.as_millis()).ok()?))
}

/// Bounds on one download; the defaults suit CelesTrak, tests shrink them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchLimits {
    /// Longest wait for the TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes (headers or body) once connected.
    pub read_timeout: Duration,
    /// Deadline for the whole request, body included.
    pub total_timeout: Duration,
    /// Largest body accepted, checked while it streams in.
    pub max_body_bytes: u64,
}

impl Default for FetchLimits {
    fn default() -> Self {
        Self {
            connect_timeout: DEFAULT_TIMEOUT,
            read_timeout: DEFAULT_TIMEOUT,
            total_timeout: DEFAULT_TOTAL_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// An HTTP client set up with [`FetchLimits`]; cheap to clone (connections are pooled).
#[derive(Debug, Clone)]
pub struct FetchClient {
    http: reqwest::Client,
    limits: FetchLimits,
}

impl FetchClient {
    /// Builds the client: rustls with the ring provider (installed process-wide unless
    /// another provider already is), the platform's trusted roots, at most 5 redirects.
    pub fn new(limits: FetchLimits) -> Result<Self, FetchError> {
        // Err means a provider is already installed, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("talos/", env!("CARGO_PKG_VERSION"), " (satellite ground-station network director)"))
            .connect_timeout(limits.connect_timeout)
            .read_timeout(limits.read_timeout)
            .timeout(limits.total_timeout)
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .map_err(|e| FetchError::Client(error_chain(&e)))?;
        Ok(Self { http, limits })
    }

    pub fn limits(&self) -> FetchLimits {
        self.limits
    }
}

/// What one successful fetch (or last-good import) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchReport {
    pub source: String,
    pub format: ElementFormat,
    /// Element sets that parsed.
    pub element_sets: usize,
    /// New rows in the store (a new epoch of an object for this source).
    pub inserted: usize,
    /// Sets already stored with the same epoch.
    pub unchanged: usize,
    /// Records skipped as invalid (logged; they do not fail the fetch).
    pub rejected: usize,
    pub body_bytes: u64,
    pub elapsed: Duration,
    /// Whether the body is now the cached last good copy (a failure to write it is logged,
    /// not fatal: the store already has the fresh sets).
    pub cache_written: bool,
}

/// What [`load_last_good`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LastGood {
    /// The store already has sets from this source; the cached copy was not read.
    AlreadyInStore,
    /// There is no cached copy of this source.
    NoCachedCopy,
    /// The cached copy was imported.
    Imported(FetchReport),
}

/// Why a fetch (or a last-good import) failed. In every case the store and the cached
/// copy are as they were before.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The HTTP client could not be set up (TLS roots, provider).
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
    /// Connecting, sending or reading failed (DNS, refused, reset, TLS, bad redirect).
    #[error("source '{name}': GET {url} failed: {reason}")]
    Request { name: String, url: String, reason: String },
    /// No bytes for the read timeout, or the whole request ran past its deadline.
    #[error("source '{name}': GET {url} timed out: {reason}")]
    Timeout { name: String, url: String, reason: String },
    /// The server answered with a status other than 2xx.
    #[error("source '{name}': GET {url} answered HTTP {status}")]
    Status { name: String, url: String, status: String },
    /// The body is larger than [`FetchLimits::max_body_bytes`].
    #[error("source '{name}': the body from {url} is larger than the limit of {limit_bytes} bytes")]
    TooLarge { name: String, url: String, limit_bytes: u64 },
    /// The body is not UTF-8 text.
    #[error("source '{name}': the body from {origin} is not UTF-8 text (byte {valid_up_to})")]
    NotText { name: String, origin: String, valid_up_to: usize },
    /// The body is not element sets at all (an HTML page, an empty body, broken JSON).
    #[error("source '{name}': the body from {origin} is not element sets: {reason}")]
    NotElementSets { name: String, origin: String, reason: talos_orbit::elements::CatalogError },
    /// The body has the shape of element sets but not one record is valid.
    #[error("source '{name}': no valid element set in the body from {origin} ({rejected} record(s) rejected)")]
    NoElementSets { name: String, origin: String, rejected: usize },
    /// Reading the store failed (checking what it holds before a last-good import).
    #[error("source '{name}': reading the stored element sets failed: {reason}")]
    StoreRead { name: String, reason: StoreError },
    /// Writing to the store failed; its transaction was rolled back.
    #[error("source '{name}': storing {count} element sets failed (nothing was imported): {reason}")]
    Store { name: String, count: usize, reason: StoreError },
    /// The cached copy exists but cannot be read.
    #[error("source '{name}': cannot read the cached copy {path}: {reason}")]
    Cache { name: String, path: String, reason: std::io::Error },
    /// The parsing task panicked or was cancelled.
    #[error("source '{name}': parsing was interrupted: {reason}")]
    Interrupted { name: String, reason: String },
}

/// Downloads `source`, parses it and, when at least one element set parsed, stores the
/// sets (with `now` as their fetch time) and replaces the cached last good copy.
pub async fn fetch_once(
    store: &Store,
    source: &CatalogSource,
    cache_dir: &Path,
    now: UnixMs,
    client: &FetchClient,
) -> Result<FetchReport, FetchError> {
    let started = Instant::now();
    let body = download(client, source).await?;
    let body_bytes = body.len() as u64;
    let (name, origin) = (source.name.clone(), source.shown_url());
    let (body, catalog) = tokio::task::spawn_blocking(move || {
        let text = decode_text(&name, &origin, body)?;
        let catalog = parse_element_sets(&name, &origin, &text)?;
        Ok::<_, FetchError>((text.into_bytes(), catalog))
    })
    .await
    .map_err(|e| FetchError::Interrupted { name: source.name.clone(), reason: e.to_string() })??;
    let counts = store_sets(store, &source.name, source.priority, now, &catalog).await?;
    let (cache_dir, name) = (cache_dir.to_owned(), source.name.clone());
    let written = tokio::task::spawn_blocking(move || write_cached_copy(&cache_dir, &name, &body)).await;
    let cache_written = match written {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::warn!(source = %source.name, "the sets were imported but the last good copy was not saved: {e}");
            false
        }
        Err(e) => {
            tracing::warn!(source = %source.name, "the sets were imported but saving the last good copy stopped: {e}");
            false
        }
    };
    Ok(FetchReport {
        source: source.name.clone(),
        format: catalog.format,
        element_sets: catalog.element_sets.len(),
        inserted: counts.inserted,
        unchanged: counts.unchanged,
        rejected: catalog.rejected.len(),
        body_bytes,
        elapsed: started.elapsed(),
        cache_written,
    })
}

/// Imports the cached copy of `source` when the store has no current element set from
/// it (a fresh database while the network is down). The sets get the copy's mtime as
/// their fetch time, which is when they were downloaded. When another source of higher
/// priority covers every object, this source has no current set and the copy is
/// re-imported; that is harmless, every row comes back unchanged.
pub async fn load_last_good(store: &Store, source: &CatalogSource, cache_dir: &Path) -> Result<LastGood, FetchError> {
    let current = store
        .current_element_sets()
        .await
        .map_err(|reason| FetchError::StoreRead { name: source.name.clone(), reason })?;
    if current.iter().any(|set| set.source == source.name) {
        return Ok(LastGood::AlreadyInStore);
    }
    let path = cached_copy_path(cache_dir, &source.name);
    let Some(fetched_at) = cached_copy_time(cache_dir, &source.name) else {
        return Ok(LastGood::NoCachedCopy);
    };
    let started = Instant::now();
    let (name, origin) = (source.name.clone(), path.display().to_string());
    let read_path = path.clone();
    let (body_bytes, catalog) = tokio::task::spawn_blocking(move || {
        let bytes = std::fs::read(&read_path).map_err(|reason| FetchError::Cache {
            name: name.clone(),
            path: origin.clone(),
            reason,
        })?;
        let body_bytes = bytes.len() as u64;
        let text = decode_text(&name, &origin, bytes)?;
        Ok::<_, FetchError>((body_bytes, parse_element_sets(&name, &origin, &text)?))
    })
    .await
    .map_err(|e| FetchError::Interrupted { name: source.name.clone(), reason: e.to_string() })??;
    let counts = store_sets(store, &source.name, source.priority, fetched_at, &catalog).await?;
    tracing::info!(
        source = %source.name,
        path = %path.display(),
        inserted = counts.inserted,
        "imported the last good copy (fetched {fetched_at})"
    );
    Ok(LastGood::Imported(FetchReport {
        source: source.name.clone(),
        format: catalog.format,
        element_sets: catalog.element_sets.len(),
        inserted: counts.inserted,
        unchanged: counts.unchanged,
        rejected: catalog.rejected.len(),
        body_bytes,
        elapsed: started.elapsed(),
        cache_written: false,
    }))
}

/// GETs the body, refusing it as soon as it passes the size limit (before it is all in memory).
async fn download(client: &FetchClient, source: &CatalogSource) -> Result<Vec<u8>, FetchError> {
    let url = source.shown_url();
    let limit_bytes = client.limits.max_body_bytes;
    let failed = |e: reqwest::Error| {
        let timed_out = e.is_timeout();
        // The URL is already in the message, and reqwest's copy of it would show a password.
        let (name, url, reason) = (source.name.clone(), url.clone(), error_chain(&e.without_url()));
        if timed_out { FetchError::Timeout { name, url, reason } } else { FetchError::Request { name, url, reason } }
    };
    let too_large = || FetchError::TooLarge { name: source.name.clone(), url: url.clone(), limit_bytes };
    let mut response = client.http.get(&source.url).send().await.map_err(failed)?;
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::Status { name: source.name.clone(), url: url.clone(), status: status.to_string() });
    }
    if response.content_length().is_some_and(|declared| declared > limit_bytes) {
        return Err(too_large());
    }
    // Capacity from the declared length, bounded so a lying header cannot reserve much.
    let capacity = response.content_length().unwrap_or(0).min(limit_bytes).min(16 * 1024 * 1024);
    let mut body = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(failed)? {
        if body.len() as u64 + chunk.len() as u64 > limit_bytes {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn decode_text(name: &str, origin: &str, bytes: Vec<u8>) -> Result<String, FetchError> {
    String::from_utf8(bytes).map_err(|e| FetchError::NotText {
        name: name.to_owned(),
        origin: origin.to_owned(),
        valid_up_to: e.utf8_error().valid_up_to(),
    })
}

/// Parses and requires at least one element set; rejected records are logged.
fn parse_element_sets(name: &str, origin: &str, text: &str) -> Result<ParsedCatalog, FetchError> {
    let catalog = parse_catalog(text).map_err(|reason| FetchError::NotElementSets {
        name: name.to_owned(),
        origin: origin.to_owned(),
        reason,
    })?;
    if !catalog.rejected.is_empty() {
        tracing::warn!(
            source = name,
            rejected = catalog.rejected.len(),
            parsed = catalog.element_sets.len(),
            "{origin}: records rejected, e.g. {}",
            catalog.rejected.iter().take(REJECTED_LOGGED).map(ToString::to_string).collect::<Vec<_>>().join("; ")
        );
    }
    if catalog.element_sets.is_empty() {
        return Err(FetchError::NoElementSets {
            name: name.to_owned(),
            origin: origin.to_owned(),
            rejected: catalog.rejected.len(),
        });
    }
    Ok(catalog)
}

async fn store_sets(
    store: &Store,
    name: &str,
    priority: i32,
    fetched_at: UnixMs,
    catalog: &ParsedCatalog,
) -> Result<talos_store::ImportCounts, FetchError> {
    store
        .upsert_element_sets(&Actor::System, name, priority, fetched_at, &catalog.element_sets)
        .await
        .map_err(|reason| FetchError::Store { name: name.to_owned(), count: catalog.element_sets.len(), reason })
}

/// Replaces the cached copy atomically: a temporary file in the same directory (mode
/// 0600), flushed to disk, then renamed over the old copy, so a crash leaves either the
/// old copy or the new one, never half of one.
fn write_cached_copy(cache_dir: &Path, name: &str, body: &[u8]) -> std::io::Result<()> {
    create_private_dir(cache_dir)?;
    crate::store_cli::write_private_atomic(&cached_copy_path(cache_dir, name), body)
}

/// The cache lives in the data directory, which holds secrets: created owner-only.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// An error with its causes, `a: b: c`, skipping a cause already contained in its parent.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = e.source();
    }
    text
}

/// How one source has been doing, as kept on the [`FetchBoard`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceStatus {
    pub last_attempt: Option<UnixMs>,
    pub last_success: Option<UnixMs>,
    /// Failures since the last success (0 after a success).
    pub consecutive_failures: u32,
    pub failures_total: u64,
    /// The last failure's message; kept after a success for diagnosis.
    pub last_error: Option<String>,
    /// Element sets in the last successful fetch.
    pub last_element_sets: usize,
    /// Rows inserted by every successful fetch so far.
    pub inserted_total: u64,
    /// When the cached copy was written, so staleness is known before a first success.
    pub cached_copy_at: Option<UnixMs>,
}

/// Per-source fetch outcomes, shared between the scheduler (which writes) and `/metrics`
/// (which reads). Share it as `Arc<FetchBoard>`.
#[derive(Debug, Default)]
pub struct FetchBoard {
    sources: Mutex<BTreeMap<String, SourceStatus>>,
}

impl FetchBoard {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes a source known before its first attempt, with the time of its cached copy if any.
    pub fn register(&self, source: &str, cached_copy_at: Option<UnixMs>) {
        let mut sources = self.lock();
        let status = sources.entry(source.to_owned()).or_default();
        status.cached_copy_at = status.cached_copy_at.max(cached_copy_at);
    }

    /// Records an attempt at `at` and its outcome.
    pub fn record(&self, source: &str, at: UnixMs, outcome: &Result<FetchReport, FetchError>) {
        let mut sources = self.lock();
        let status = sources.entry(source.to_owned()).or_default();
        status.last_attempt = Some(at);
        match outcome {
            Ok(report) => {
                status.last_success = Some(at);
                status.consecutive_failures = 0;
                status.last_element_sets = report.element_sets;
                status.inserted_total += report.inserted as u64;
                if report.cache_written {
                    status.cached_copy_at = Some(at);
                }
            }
            Err(error) => {
                status.consecutive_failures = status.consecutive_failures.saturating_add(1);
                status.failures_total += 1;
                status.last_error = Some(error.to_string());
            }
        }
    }

    pub fn status(&self, source: &str) -> Option<SourceStatus> {
        self.lock().get(source).cloned()
    }

    /// Every known source, by name.
    pub fn statuses(&self) -> Vec<(String, SourceStatus)> {
        self.lock().iter().map(|(name, status)| (name.clone(), status.clone())).collect()
    }

    /// The board as Prometheus text exposition. Staleness is `now` minus the last success;
    /// a source never fetched successfully reports the age of its cached copy instead, and
    /// no staleness at all when it has none.
    pub fn render_prometheus(&self, now: UnixMs) -> String {
        let sources = self.statuses();
        let mut out = String::new();
        let mut family = |metric: &str, kind: &str, help: &str, value: &dyn Fn(&SourceStatus) -> Option<String>| {
            let _ = writeln!(out, "# HELP {metric} {help}");
            let _ = writeln!(out, "# TYPE {metric} {kind}");
            for (name, status) in &sources {
                if let Some(v) = value(status) {
                    let _ = writeln!(out, "{metric}{{source=\"{}\"}} {v}", escape_label_value(name));
                }
            }
        };
        family(
            "talos_catalog_fetch_last_success_timestamp_seconds",
            "gauge",
            "Unix time of the last successful fetch of each element-set source.",
            &|s| s.last_success.map(|t| seconds(t.0)),
        );
        family(
            "talos_catalog_fetch_staleness_seconds",
            "gauge",
            "Seconds since the last successful fetch of each source (before any, the age of its cached copy).",
            &|s| s.last_success.or(s.cached_copy_at).map(|t| seconds((now.0 - t.0).max(0))),
        );
        family(
            "talos_catalog_fetch_failures_total",
            "counter",
            "Failed fetches of each element-set source since start.",
            &|s| Some(s.failures_total.to_string()),
        );
        family(
            "talos_catalog_fetch_consecutive_failures",
            "gauge",
            "Failed fetches of each source since its last success.",
            &|s| Some(s.consecutive_failures.to_string()),
        );
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, SourceStatus>> {
        // A panic while holding the lock cannot leave a half-written status worth refusing.
        self.sources.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Milliseconds as decimal seconds, without trailing zeros (`7200`, `1.5`).
fn seconds(ms: i64) -> String {
    let (whole, frac) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    if frac == 0 { whole.to_string() } else { format!("{whole}.{frac:03}").trim_end_matches('0').to_owned() }
}

/// Prometheus label value escaping: backslash, double quote and line feed.
pub fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Wait before the next try after `consecutive_failures` failures in a row: 1 min,
/// doubling, never more than `interval` (a failing source is still tried once per interval).
pub fn retry_delay(consecutive_failures: u32, interval: Duration) -> Duration {
    let doublings = consecutive_failures.saturating_sub(1).min(30);
    FIRST_RETRY_DELAY.saturating_mul(1 << doublings).min(interval)
}

/// The wall clock or a test's, in UTC milliseconds.
pub type Clock = Arc<dyn Fn() -> UnixMs + Send + Sync>;

/// Fetches every source now and then every `interval`, each on its own task so a slow
/// source does not delay the others. A failed source is retried after [`retry_delay`];
/// when a source's first fetch fails, its last good copy is imported if the store has
/// nothing from it. After any import that inserted rows, `()` is offered on `on_update`
/// (a full channel already holds the news). Errors are logged and counted on `board`,
/// never fatal; the task ends when it is aborted or the runtime shuts down.
pub fn spawn_scheduler(
    store: Store,
    sources: Vec<CatalogSource>,
    cache_dir: PathBuf,
    interval: Duration,
    board: Arc<FetchBoard>,
    clock: Clock,
    on_update: mpsc::Sender<()>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let client = match FetchClient::new(FetchLimits::default()) {
            Ok(client) => client,
            Err(e) => {
                tracing::error!("catalog fetch disabled: {e}");
                return;
            }
        };
        let interval = interval.max(MIN_INTERVAL);
        let mut tasks = JoinSet::new();
        let mut seen = std::collections::HashSet::new();
        for source in sources {
            if !seen.insert(source.name.clone()) {
                tracing::error!(source = %source.name, "catalog source given twice; fetching the first only");
                continue;
            }
            board.register(&source.name, cached_copy_time(&cache_dir, &source.name));
            let schedule = SourceSchedule {
                store: store.clone(),
                source,
                cache_dir: cache_dir.clone(),
                interval,
                board: board.clone(),
                clock: clock.clone(),
                on_update: on_update.clone(),
                client: client.clone(),
            };
            tasks.spawn(schedule.run());
        }
        // Dropping the set (when this task is aborted) aborts the per-source tasks.
        while let Some(ended) = tasks.join_next().await {
            if let Err(e) = ended
                && e.is_panic()
            {
                tracing::error!("a catalog fetch task panicked: {e}");
            }
        }
    })
}

/// One source's loop and what it needs.
struct SourceSchedule {
    store: Store,
    source: CatalogSource,
    cache_dir: PathBuf,
    interval: Duration,
    board: Arc<FetchBoard>,
    clock: Clock,
    on_update: mpsc::Sender<()>,
    client: FetchClient,
}

impl SourceSchedule {
    async fn run(self) {
        let name = &self.source.name;
        let mut first_attempt = true;
        let mut failures_in_a_row = 0u32;
        loop {
            let now = (self.clock)();
            let outcome = fetch_once(&self.store, &self.source, &self.cache_dir, now, &self.client).await;
            self.board.record(name, now, &outcome);
            let wait = match &outcome {
                Ok(report) => {
                    failures_in_a_row = 0;
                    tracing::info!(
                        source = %name,
                        element_sets = report.element_sets,
                        inserted = report.inserted,
                        rejected = report.rejected,
                        "catalog fetched"
                    );
                    self.notify_if_inserted(report.inserted);
                    self.interval
                }
                Err(e) => {
                    failures_in_a_row = failures_in_a_row.saturating_add(1);
                    let wait = retry_delay(failures_in_a_row, self.interval);
                    tracing::warn!(source = %name, retry_in_s = wait.as_secs_f64(), "catalog fetch failed: {e}");
                    if first_attempt {
                        self.fall_back().await;
                    }
                    wait
                }
            };
            first_attempt = false;
            tokio::time::sleep(wait).await;
        }
    }

    async fn fall_back(&self) {
        match load_last_good(&self.store, &self.source, &self.cache_dir).await {
            Ok(LastGood::Imported(report)) => self.notify_if_inserted(report.inserted),
            Ok(LastGood::AlreadyInStore) => {}
            Ok(LastGood::NoCachedCopy) => {
                tracing::warn!(source = %self.source.name, "no stored sets and no cached copy: none until a fetch succeeds");
            }
            Err(e) => tracing::error!(source = %self.source.name, "cannot use the last good copy: {e}"),
        }
    }

    fn notify_if_inserted(&self, inserted: usize) {
        if inserted > 0 {
            // Full: an update is already pending; closed: nobody listens any more.
            let _ = self.on_update.try_send(());
        }
    }
}

/// `talos catalog fetch`: one fetch per source (all are tried), a line per source on
/// stdout, and an error naming the failed sources at the end.
pub async fn fetch_command(location: &DataLocation, sources: &[CatalogSource]) -> anyhow::Result<()> {
    check_unique_names(sources)?;
    let store = Store::connect(&location.database_url)
        .await
        .with_context(|| format!("cannot open the database {}", redact_url(&location.database_url)))?;
    let client = FetchClient::new(FetchLimits::default())?;
    let cache_dir = location.data_dir.join("catalog");
    let mut failed = Vec::new();
    for source in sources {
        let now = UnixMs(chrono::Utc::now().timestamp_millis());
        match fetch_once(&store, source, &cache_dir, now, &client).await {
            Ok(report) => println!(
                "{}: {} element sets, {} inserted, {} unchanged, {} rejected ({}, {} bytes, {:.1} s)",
                report.source,
                report.element_sets,
                report.inserted,
                report.unchanged,
                report.rejected,
                format_name(report.format),
                report.body_bytes,
                report.elapsed.as_secs_f64()
            ),
            Err(e) => {
                eprintln!("error: {e}");
                failed.push(source.name.clone());
            }
        }
    }
    store.close().await;
    if !failed.is_empty() {
        bail!("{} of {} source(s) not fetched: {}", failed.len(), sources.len(), failed.join(", "));
    }
    Ok(())
}

fn format_name(format: ElementFormat) -> &'static str {
    match format {
        ElementFormat::Tle => "TLE",
        ElementFormat::OmmJson => "OMM JSON",
        ElementFormat::OmmXml => "OMM XML",
        ElementFormat::OmmCsv => "OMM CSV",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(spec: &str) -> Result<CatalogSource, SourceSpecError> {
        spec.parse()
    }

    #[test]
    fn source_spec_reads_name_url_and_optional_priority() {
        let plain = parse("celestrak-active=https://celestrak.org/NORAD/elements/gp.php?GROUP=active&FORMAT=tle");
        assert_eq!(
            plain,
            Ok(CatalogSource {
                name: "celestrak-active".into(),
                url: "https://celestrak.org/NORAD/elements/gp.php?GROUP=active&FORMAT=tle".into(),
                priority: 0,
            })
        );
        assert_eq!(parse("a=http://host/x.txt@5").map(|s| (s.url, s.priority)), Ok(("http://host/x.txt".into(), 5)));
        assert_eq!(parse("a=http://host/x@-3").map(|s| s.priority), Ok(-3));
        // User info is part of the URL, not a priority.
        let with_user = parse("a=https://user@host/x").unwrap();
        assert_eq!((with_user.url.as_str(), with_user.priority), ("https://user@host/x", 0));
        assert_eq!(parse("a=https://user@host/x@7").map(|s| s.priority), Ok(7));
    }

    #[test]
    fn source_spec_errors_name_what_is_wrong() {
        assert!(matches!(parse("https://host/x"), Err(SourceSpecError::MissingEquals { .. })));
        // A URL with a query but no name: the text before the first '=' is no name.
        assert!(matches!(parse("https://host/gp.php?GROUP=active"), Err(SourceSpecError::BadName { .. })));
        assert!(matches!(parse("no-equals-sign"), Err(SourceSpecError::MissingEquals { .. })));
        assert!(matches!(parse("=http://host/x"), Err(SourceSpecError::BadName { .. })));
        assert!(matches!(parse("../etc=http://host/x"), Err(SourceSpecError::BadName { .. })));
        assert!(matches!(parse(".hidden=http://host/x"), Err(SourceSpecError::BadName { .. })));
        assert!(matches!(parse("a=ftp://host/x"), Err(SourceSpecError::BadScheme { .. })));
        assert!(matches!(parse("a=file:///etc/passwd"), Err(SourceSpecError::BadScheme { .. })));
        assert!(matches!(parse("a=not a url"), Err(SourceSpecError::BadUrl { .. })));
        assert!(matches!(parse("a=http://host/x@99999999999"), Err(SourceSpecError::BadPriority { .. })));
        assert!(matches!(parse("a=http://host/x@"), Err(SourceSpecError::BadPriority { .. })));
        let message = parse("a=ftp://host/x").unwrap_err().to_string();
        assert!(message.contains("'a'") && message.contains("ftp") && message.contains("http or https"), "{message}");
    }

    #[test]
    fn passwords_in_urls_stay_out_of_messages() {
        let source = parse("a=https://user:s3cret@host/x").unwrap();
        assert!(!source.to_string().contains("s3cret"), "{source}");
        assert!(!source.shown_url().contains("s3cret"));
    }

    #[test]
    fn duplicate_names_are_refused() {
        let a = parse("a=http://host/1").unwrap();
        let b = parse("b=http://host/2").unwrap();
        assert_eq!(check_unique_names(&[a.clone(), b.clone()]), Ok(()));
        assert_eq!(check_unique_names(&[a.clone(), b, a]), Err(SourceSpecError::Duplicate { name: "a".into() }));
    }

    #[test]
    fn retry_delay_doubles_from_a_minute_up_to_the_interval() {
        let six_hours = Duration::from_secs(6 * 3600);
        let delays: Vec<u64> = (1..=5).map(|n| retry_delay(n, six_hours).as_secs()).collect();
        assert_eq!(delays, [60, 120, 240, 480, 960]);
        assert_eq!(retry_delay(20, six_hours), six_hours);
        assert_eq!(retry_delay(u32::MAX, six_hours), six_hours);
        assert_eq!(retry_delay(1, Duration::from_millis(50)), Duration::from_millis(50));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn seconds_keep_milliseconds_without_trailing_zeros() {
        assert_eq!(seconds(7_200_000), "7200");
        assert_eq!(seconds(1_500), "1.5");
        assert_eq!(seconds(1_001), "1.001");
        assert_eq!(seconds(0), "0");
    }

    proptest::proptest! {
        #[test]
        fn any_spec_parses_or_errors_without_panicking(spec in "\\PC{0,80}") {
            let _ = parse(&spec);
        }

        #[test]
        fn a_valid_source_round_trips_through_its_spec(
            name in "[A-Za-z0-9_-][A-Za-z0-9._-]{0,20}",
            path in "[a-z0-9/]{0,20}",
            priority in proptest::prelude::any::<i32>(),
        ) {
            let spec = format!("{name}=https://example.invalid/{path}@{priority}");
            let source = parse(&spec).unwrap();
            proptest::prop_assert_eq!(&source.name, &name);
            proptest::prop_assert_eq!(source.priority, priority);
            proptest::prop_assert_eq!(source.url, format!("https://example.invalid/{path}"));
        }
    }
}

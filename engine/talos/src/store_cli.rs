//! The store-facing verbs of the `talos` binary: where the data lives (`--data-dir`,
//! `--database`), `migrate`, `catalog import`, `transmitters import` and `user add`.
//!
//! Each verb connects (which applies pending migrations), does its work and closes the
//! pool. Outcomes go to stdout, one line each; rejected records, progress and errors go
//! to stderr. A password is never printed or logged, except a generated one, once.

use anyhow::{Context, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashSet;
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use talos_core::UnixMs;
use talos_orbit::elements::{ElementFormat, parse_catalog};
use talos_store::{Actor, Backend, Role, Store, StoreError, parse_satnogs_transmitters};

use crate::data;

/// Shortest password `user add` accepts.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Length of a generated password (alphanumeric: about 143 bits).
pub const GENERATED_PASSWORD_CHARS: usize = 24;

/// Where the store lives, with the defaults applied.
#[derive(Debug, Clone)]
pub struct DataLocation {
    pub data_dir: PathBuf,
    pub database_url: String,
}

impl DataLocation {
    /// `data_dir` and `database` as given (flag or environment). Defaults: the per-user
    /// data directory (`$XDG_DATA_HOME/talos`, else `$HOME/.local/share/talos`) and a
    /// SQLite file `talos.db` in it. The data directory is created (mode 0700) only when
    /// the database lives in it, so `--database postgres://...` leaves the disk alone.
    pub fn resolve(data_dir: Option<PathBuf>, database: Option<String>) -> anyhow::Result<Self> {
        let data_dir = match data_dir {
            Some(dir) => dir,
            None => default_data_dir()?,
        };
        let database_url = match database {
            Some(url) => url,
            None => {
                create_private_dir(&data_dir)?;
                format!("sqlite://{}?mode=rwc", data_dir.join("talos.db").display())
            }
        };
        Ok(Self { data_dir, database_url })
    }

    pub async fn connect(&self) -> anyhow::Result<Store> {
        Store::connect(&self.database_url)
            .await
            .with_context(|| format!("cannot open the database {}", redact_url(&self.database_url)))
    }
}

impl DataLocation {
    /// The SQLite file (and its WAL and shared-memory files) readable by the owner only:
    /// it holds password and key hashes. PostgreSQL manages its own files.
    pub fn protect_database_file(&self) -> anyhow::Result<()> {
        let Some(rest) = self.database_url.strip_prefix("sqlite://") else { return Ok(()) };
        let path = rest.split('?').next().unwrap_or(rest);
        #[cfg(unix)]
        for suffix in ["", "-wal", "-shm"] {
            use std::os::unix::fs::PermissionsExt;
            let file = PathBuf::from(format!("{path}{suffix}"));
            if file.exists() {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                    .with_context(|| format!("restricting {} to its owner", file.display()))?;
            }
        }
        Ok(())
    }
}

fn default_data_dir() -> anyhow::Result<PathBuf> {
    let from_env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(xdg) = from_env("XDG_DATA_HOME").filter(|p| p.is_absolute()) {
        return Ok(xdg.join("talos"));
    }
    if let Some(home) = from_env("HOME") {
        return Ok(home.join(".local/share/talos"));
    }
    bail!("no data directory: give --data-dir (or TALOS_DATA_DIR), or set XDG_DATA_HOME or HOME")
}

/// Replaces `path` atomically with `bytes`, readable by its owner only (0600): a temporary
/// file in the same directory, flushed to disk, then renamed over the old file, so a crash
/// leaves either the old file or the new one, never half of one.
pub fn write_private_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut file = tempfile::Builder::new().prefix(&format!(".{name}.")).suffix(".tmp").tempfile_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    // Makes the rename itself durable; not every filesystem supports it, hence no error.
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Creates `dir` (and missing parents) readable by its owner only; an existing directory is kept as it is.
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).with_context(|| format!("cannot create the data directory {}", dir.display()))
}

/// The URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let Some((userinfo, host)) = authority.rsplit_once('@') else { return url.to_owned() };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}{path}"),
        None => url.to_owned(),
    }
}

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "postgresql",
        Backend::Sqlite => "sqlite",
    }
}

fn format_name(format: ElementFormat) -> &'static str {
    match format {
        ElementFormat::Tle => "TLE",
        ElementFormat::OmmJson => "OMM JSON",
        ElementFormat::OmmXml => "OMM XML",
        ElementFormat::OmmCsv => "OMM CSV",
    }
}

/// The store's wall clock, for `fetched_at` (the composition root is where it enters).
fn now() -> UnixMs {
    UnixMs(chrono::Utc::now().timestamp_millis())
}

/// `talos migrate`: connects (applying what is pending) and lists the applied migrations.
pub async fn migrate(location: &DataLocation) -> anyhow::Result<()> {
    let store = location.connect().await?;
    let applied = store.applied_migrations().await.context("reading the applied migrations")?;
    println!("database {} ({})", redact_url(&location.database_url), backend_name(store.backend()));
    for (version, description) in &applied {
        println!("migration {version} ({description}): applied");
    }
    store.close().await;
    Ok(())
}

/// What `catalog import` does besides the files.
#[derive(Debug, Clone)]
pub struct CatalogImportOptions {
    /// Source recorded with every set; `None`: each file's stem.
    pub source: Option<String>,
    /// Higher wins when several sources have the object.
    pub priority: i32,
}

/// `talos catalog import`: each file is parsed and stored in its own transaction, so a
/// bad file writes nothing and the others are still imported; the verb fails at the end
/// when any file failed, naming them.
pub async fn import_catalog(
    location: &DataLocation,
    files: &[PathBuf],
    options: &CatalogImportOptions,
) -> anyhow::Result<()> {
    let store = location.connect().await?;
    let progress = progress_bar(files.len() as u64);
    let mut failed = Vec::new();
    for path in files {
        progress.set_message(path.display().to_string());
        match import_catalog_file(&store, path, options, &progress).await {
            Ok(summary) => progress.suspend(|| println!("{summary}")),
            Err(e) => {
                progress.suspend(|| eprintln!("error: {e:#}"));
                failed.push(path.display().to_string());
            }
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    store.close().await;
    if !failed.is_empty() {
        bail!("{} of {} file(s) not imported: {}", failed.len(), files.len(), failed.join(", "));
    }
    Ok(())
}

/// Imports one element-set file into an open store (`serve --elements`); returns the summary line.
pub async fn import_catalog_into(
    store: &Store,
    path: &Path,
    source: Option<String>,
    priority: i32,
) -> anyhow::Result<String> {
    let summary =
        import_catalog_file(store, path, &CatalogImportOptions { source, priority }, &ProgressBar::hidden()).await?;
    eprintln!("talos: {summary}");
    Ok(summary)
}

async fn import_catalog_file(
    store: &Store,
    path: &Path,
    options: &CatalogImportOptions,
    progress: &ProgressBar,
) -> anyhow::Result<String> {
    let started = Instant::now();
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read element sets from {shown}"))?;
    let catalog = parse_catalog(&text).with_context(|| format!("{shown}: not an element-set file"))?;
    progress.suspend(|| data::report_rejected(&shown, &catalog));
    if catalog.element_sets.is_empty() {
        bail!("{shown}: no valid element sets ({} rejected); nothing imported", catalog.rejected.len());
    }
    let source = match &options.source {
        Some(source) => source.clone(),
        None => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .filter(|s| !s.is_empty())
            .with_context(|| format!("{shown}: no file name to use as the source; give --source"))?,
    };
    let counts = store
        .upsert_element_sets(&Actor::System, &source, options.priority, now(), &catalog.element_sets)
        .await
        .with_context(|| {
            format!("{shown}: storing {} element sets (nothing was imported)", catalog.element_sets.len())
        })?;
    Ok(format!(
        "{shown}: {} element sets, {} inserted, {} unchanged, {} rejected (format {}, {} ms)",
        catalog.element_sets.len(),
        counts.inserted,
        counts.unchanged,
        catalog.rejected.len(),
        format_name(catalog.format),
        started.elapsed().as_millis()
    ))
}

/// A bar over the files on stderr when it is a terminal; hidden otherwise (logs, pipes, tests).
fn progress_bar(files: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(files);
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// `talos transmitters import`: a SatNOGS DB transmitter export, in one transaction.
pub async fn import_transmitters(location: &DataLocation, path: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read transmitters from {shown}"))?;
    let records =
        parse_satnogs_transmitters(&text).with_context(|| format!("{shown}: not a SatNOGS DB transmitter export"))?;
    let store = location.connect().await?;
    let known: HashSet<String> = store
        .list_transmitters(None)
        .await
        .context("reading the stored transmitters")?
        .into_iter()
        .map(|t| t.uuid)
        .collect();
    let new =
        records.iter().filter(|r| !known.contains(&r.uuid)).map(|r| r.uuid.as_str()).collect::<HashSet<_>>().len();
    let counts = store
        .upsert_transmitters(&Actor::System, &records)
        .await
        .with_context(|| format!("{shown}: storing {} transmitters (nothing was imported)", records.len()))?;
    store.close().await;
    println!(
        "{shown}: {} transmitters, {new} inserted, {} updated, {} unchanged ({} ms)",
        records.len(),
        counts.inserted.saturating_sub(new),
        counts.unchanged,
        started.elapsed().as_millis()
    );
    Ok(())
}

/// Where `user add` gets the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordSource {
    /// One line from stdin (the newline is not part of it).
    Stdin,
    /// Generated and printed once.
    Generate,
}

/// `talos user add`: creates the user with an Argon2id hash and makes it a member of
/// `org`. A missing organization is created when the role is owner (the user becomes its
/// first owner); for any other role it must exist.
pub async fn add_user(
    location: &DataLocation,
    org: &str,
    email: &str,
    role: Role,
    password_source: PasswordSource,
) -> anyhow::Result<()> {
    // Checked before anything is written: the user is created before the organization,
    // so a name the schema refuses would otherwise leave a user without one.
    if org.trim().is_empty() || org.chars().count() > 200 {
        bail!("--org must be 1 to 200 characters");
    }
    if !email.contains('@') || email.chars().any(char::is_whitespace) || !(3..=320).contains(&email.chars().count()) {
        bail!("--email {email:?} is not an email address");
    }
    let password = match password_source {
        PasswordSource::Stdin => read_password_line(std::io::stdin().lock())?,
        PasswordSource::Generate => generate_password(),
    };
    if password.chars().count() < MIN_PASSWORD_CHARS {
        bail!("the password read from stdin is too short: at least {MIN_PASSWORD_CHARS} characters are required");
    }
    let store = location.connect().await?;
    let hash = hash_password(&password)?;
    // One transaction: the user, the organization when it is created, the membership.
    let enrolled = store.enroll_user(&Actor::System, email, &hash, org, role).await.map_err(|e| match e {
        StoreError::Conflict { .. } => anyhow!("a user with email {email} already exists"),
        StoreError::NotFound { .. } => {
            anyhow!("organization {org:?} does not exist; create it by adding its first user with --role owner")
        }
        other => anyhow!(other).context(format!("adding {email} to organization {org:?}")),
    })?;
    let (user, org_id) = (enrolled.user, enrolled.org.id);
    store.close().await;
    println!("user {email} (id {}) added to organization {org:?} (id {org_id}) as {}", user.id.0, role.as_str());
    if password_source == PasswordSource::Generate {
        println!("password: {password}");
        println!("(shown once: only its Argon2id hash is stored, it is not kept in clear anywhere)");
    }
    Ok(())
}

/// One line, without its line ending; nothing else is trimmed (spaces may be part of it).
fn read_password_line(mut input: impl BufRead) -> anyhow::Result<String> {
    let mut line = String::new();
    input.read_line(&mut line).context("reading the password from stdin")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        bail!("--password-stdin: no password on stdin");
    }
    Ok(password.to_owned())
}

/// Random alphanumerics from the OS generator (rejection sampling keeps them uniform).
pub fn generate_password() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let limit = 256 - 256 % ALPHABET.len();
    let mut out = String::with_capacity(GENERATED_PASSWORD_CHARS);
    let mut buf = [0u8; 64];
    while out.len() < GENERATED_PASSWORD_CHARS {
        OsRng.fill_bytes(&mut buf);
        for &b in &buf {
            if usize::from(b) < limit && out.len() < GENERATED_PASSWORD_CHARS {
                out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
            }
        }
    }
    out
}

/// An Argon2id PHC string with default parameters and a random salt.
fn hash_password(password: &str) -> anyhow::Result<String> {
    use argon2::password_hash::rand_core::OsRng;
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut OsRng);
    let hash = argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow!("hashing the password: {e}"))?;
    Ok(hash.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_hides_only_the_password() {
        assert_eq!(redact_url("postgres://talos:s3cret@db:5432/talos"), "postgres://talos:***@db:5432/talos");
        assert_eq!(redact_url("postgres://postgres@127.0.0.1/x"), "postgres://postgres@127.0.0.1/x");
        assert_eq!(redact_url("sqlite:///tmp/a@b/talos.db?mode=rwc"), "sqlite:///tmp/a@b/talos.db?mode=rwc");
    }

    #[test]
    fn password_line_loses_its_line_ending_only() {
        assert_eq!(read_password_line(&b" correct horse \r\nrest"[..]).unwrap(), " correct horse ");
        assert!(read_password_line(&b"\n"[..]).is_err());
    }

    #[test]
    fn generated_passwords_are_long_alphanumeric_and_differ() {
        let (a, b) = (generate_password(), generate_password());
        assert_eq!(a.len(), GENERATED_PASSWORD_CHARS);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn password_hash_is_argon2id_and_verifies() {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(argon2::Argon2::default().verify_password(b"correct horse battery", &parsed).is_ok());
    }
}

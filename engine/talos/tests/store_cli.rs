//! The store-facing verbs (`migrate`, `catalog import`, `transmitters import`,
//! `user add`), run as the real binary against a fresh `--data-dir` (SQLite) and, for
//! one test, a fresh PostgreSQL database. No network.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use talos_store::Store;

const TALOS: &str = env!("CARGO_BIN_EXE_talos");

fn repo_file(path: &str) -> String {
    format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))
}

fn active() -> String {
    repo_file("data/tle/celestrak_active_2026-05-07.txt")
}

/// Runs `talos` with `stdin` fed in, isolated from the caller's data location.
fn talos_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(TALOS)
        .args(args)
        .env_remove("TALOS_LOG")
        .env_remove("TALOS_DATA_DIR")
        .env_remove("TALOS_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the talos binary runs");
    child.stdin.take().expect("stdin is piped").write_all(stdin.as_bytes()).expect("stdin takes the input");
    child.wait_with_output().expect("talos finishes")
}

fn talos(args: &[&str]) -> Output {
    talos_with_stdin(args, "")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn succeeds(args: &[&str]) -> String {
    let out = talos(args);
    assert!(out.status.success(), "talos {args:?} failed ({}): {}", out.status, text(&out.stderr));
    text(&out.stdout)
}

/// Requires failure (exit 1) and a stderr mentioning every needle; returns stderr.
fn fails_naming(out: &Output, needles: &[&str]) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "should fail with exit 1; stdout: {}; stderr: {stderr}", text(&out.stdout));
    for needle in needles {
        assert!(stderr.contains(needle), "stderr does not mention {needle:?}: {stderr}");
    }
    stderr
}

fn data_dir_arg(dir: &Path) -> Vec<String> {
    vec!["--data-dir".into(), dir.join("talos").display().to_string()]
}

fn with_dir<'a>(args: &[&'a str], extra: &'a [String]) -> Vec<&'a str> {
    args.iter().copied().chain(extra.iter().map(String::as_str)).collect()
}

#[test]
fn migrate_creates_a_private_data_dir_and_a_sqlite_database() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = data_dir_arg(tmp.path());
    let stdout = succeeds(&with_dir(&["migrate"], &dir));
    assert!(stdout.contains("(sqlite)"), "{stdout}");
    assert!(stdout.contains("migration 1 (initial): applied"), "{stdout}");
    let data_dir = tmp.path().join("talos");
    assert!(data_dir.join("talos.db").is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&data_dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "data dir mode {mode:o}");
    }
    // Running it again applies nothing new and still succeeds.
    assert_eq!(succeeds(&with_dir(&["migrate"], &dir)), stdout);
}

#[test]
fn catalog_import_stores_the_active_catalog_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = data_dir_arg(tmp.path());
    let file = active();
    let first = succeeds(&with_dir(&["catalog", "import", &file], &dir));
    assert!(first.contains(": 15347 element sets, 15347 inserted, 0 unchanged, 0 rejected (format TLE, "), "{first}");
    let second = succeeds(&with_dir(&["catalog", "import", &file], &dir));
    assert!(second.contains(": 15347 element sets, 0 inserted, 15347 unchanged, 0 rejected (format TLE, "), "{second}");
}

#[test]
fn catalog_import_reports_rejected_records_with_their_lines_and_stores_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = data_dir_arg(tmp.path());
    let file = repo_file("data/sgp4_verification/SGP4-VER.TLE");
    let out = talos(&with_dir(&["catalog", "import", &file, "--source", "vallado", "--priority", "-1"], &dir));
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains(": 30 element sets, "), "{stdout}");
    assert!(stdout.contains(", 3 rejected (format TLE, "), "{stdout}");
    assert!(stderr.contains("3 record(s) rejected"), "{stderr}");
    for line in ["line 100 (NORAD 33333)", "line 103 (NORAD 33334)", "line 106 (NORAD 33335)"] {
        assert!(stderr.contains(line), "stderr does not name {line}: {stderr}");
    }
}

#[test]
fn catalog_import_of_a_missing_file_fails_naming_it_and_still_imports_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = data_dir_arg(tmp.path());
    let missing = tmp.path().join("no-such-catalog.txt").display().to_string();
    let amateur = repo_file("data/tle/celestrak_amateur_2026-08-29.txt");
    let out = talos(&with_dir(&["catalog", "import", &missing, &amateur], &dir));
    fails_naming(&out, &["no-such-catalog.txt", "cannot read", "1 of 2 file(s) not imported"]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains(": 96 element sets, 96 inserted"), "{stdout}");
    assert!(!stdout.contains("no-such-catalog"), "{stdout}");
}

#[test]
fn catalog_import_of_a_file_that_is_not_element_sets_fails_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = data_dir_arg(tmp.path());
    let transmitters = repo_file("data/satnogs/satnogs_transmitters_amateur_2024-09.json");
    let out = talos(&with_dir(&["catalog", "import", &transmitters], &dir));
    fails_naming(&out, &["satnogs_transmitters_amateur_2024-09.json"]);
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let count = block_on(async {
        let store = connect_sqlite(tmp.path()).await;
        store.count_rows("element_sets").await.unwrap()
    });
    assert_eq!(count, 0);
}

#[test]
fn transmitters_import_inserts_then_finds_them_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = data_dir_arg(tmp.path());
    let file = repo_file("data/satnogs/satnogs_transmitters_amateur_2024-09.json");
    let first = succeeds(&with_dir(&["transmitters", "import", &file], &dir));
    assert!(first.contains(": 224 transmitters, 224 inserted, 0 updated, 0 unchanged ("), "{first}");
    let second = succeeds(&with_dir(&["transmitters", "import", &file], &dir));
    assert!(second.contains(": 224 transmitters, 0 inserted, 0 updated, 224 unchanged ("), "{second}");
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

async fn connect_sqlite(tmp: &Path) -> Store {
    Store::connect(&format!("sqlite://{}?mode=rwc", tmp.join("talos/talos.db").display())).await.unwrap()
}

#[test]
fn user_add_stores_only_an_argon2id_hash_and_refuses_a_second_user_with_the_same_email() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = data_dir_arg(tmp.path());
    let password = "correct horse battery staple";
    let add = ["user", "add", "--org", "acme", "--email", "ops@acme.test", "--role", "owner", "--password-stdin"];
    let out = talos_with_stdin(&with_dir(&add, &dir), &format!("{password}\n"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("ops@acme.test"), "{stdout}");
    assert!(!stdout.contains(password) && !text(&out.stderr).contains(password), "the password was printed");

    let again = talos_with_stdin(&with_dir(&add, &dir), "another long password\n");
    fails_naming(&again, &["ops@acme.test", "already exists"]);

    let (user, members) = block_on(async {
        let store = connect_sqlite(tmp.path()).await;
        let user = store.find_user_by_email("ops@acme.test").await.unwrap();
        let orgs = store.list_user_organizations(user.id).await.unwrap();
        let members = store.list_members(orgs[0].0.id).await.unwrap();
        (user, members)
    });
    assert!(user.password_hash.starts_with("$argon2id$"), "{}", user.password_hash);
    assert!(!user.password_hash.contains(password));
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].role, talos_store::Role::Owner);
}

#[test]
fn user_add_refuses_a_short_password_and_a_missing_org_for_non_owners() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = data_dir_arg(tmp.path());
    let short = talos_with_stdin(
        &with_dir(
            &["user", "add", "--org", "acme", "--email", "a@acme.test", "--role", "owner", "--password-stdin"],
            &dir,
        ),
        "tooshort\n",
    );
    fails_naming(&short, &["too short", "12 characters"]);
    let no_org =
        talos(&with_dir(&["user", "add", "--org", "nobody", "--email", "b@acme.test", "--role", "viewer"], &dir));
    fails_naming(&no_org, &["\"nobody\" does not exist", "--role owner"]);
    let long_name = "x".repeat(201);
    let long_org =
        talos(&with_dir(&["user", "add", "--org", &long_name, "--email", "c@acme.test", "--role", "owner"], &dir));
    fails_naming(&long_org, &["--org must be 1 to 200 characters"]);
    // Nothing was written by the refusals: not even a user without an organization.
    let users = block_on(async { connect_sqlite(tmp.path()).await.count_rows("users").await.unwrap() });
    assert_eq!(users, 0);
}

#[test]
fn user_add_without_password_stdin_prints_a_generated_password_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = data_dir_arg(tmp.path());
    let stdout =
        succeeds(&with_dir(&["user", "add", "--org", "acme", "--email", "a@acme.test", "--role", "owner"], &dir));
    let line = stdout.lines().find_map(|l| l.strip_prefix("password: ")).expect("a password line");
    assert!(line.len() >= 20, "{line}");
    assert_eq!(stdout.matches(line).count(), 1);
    assert!(stdout.contains("not kept in clear"), "{stdout}");
    let user = block_on(async { connect_sqlite(tmp.path()).await.find_user_by_email("a@acme.test").await.unwrap() });
    assert!(!user.password_hash.contains(line));
}

#[test]
fn store_verbs_work_on_postgres() {
    use sqlx::{Connection, Executor};
    sqlx::any::install_default_drivers();
    let admin_url = std::env::var("TALOS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let db = format!("talos_cli_test_{}", std::process::id());
    let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base).to_owned();
    block_on(async {
        let mut admin = sqlx::AnyConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} is unreachable ({e}); set TALOS_TEST_POSTGRES_URL"));
        admin.execute(format!("CREATE DATABASE {db}").as_str()).await.unwrap();
        admin.close().await.unwrap();
    });
    let url = format!("{base}/{db}");
    let file = active();
    let migrate = talos(&["migrate", "--database", &url]);
    let out = talos(&["catalog", "import", "--database", &url, &file]);
    let again = talos(&["catalog", "import", "--database", &url, &file]);
    let add = |email: &str, role: &str| {
        talos_with_stdin(
            &["user", "add", "--database", &url, "--org", "acme", "--email", email, "--role", role, "--password-stdin"],
            "correct horse battery staple\n",
        )
    };
    let (owner, viewer, duplicate) =
        (add("a@acme.test", "owner"), add("b@acme.test", "viewer"), add("b@acme.test", "viewer"));
    block_on(async {
        let mut admin = sqlx::AnyConnection::connect(&admin_url).await.unwrap();
        admin.execute(format!("DROP DATABASE {db} WITH (FORCE)").as_str()).await.unwrap();
    });
    let migrated = text(&migrate.stdout);
    assert!(migrated.contains("(postgresql)") && migrated.contains("migration 1 (initial): applied"), "{migrated}");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains(": 15347 element sets, 15347 inserted, 0 unchanged, 0 rejected"), "{stdout}");
    assert!(owner.status.success(), "{}", text(&owner.stderr));
    assert!(viewer.status.success(), "{}", text(&viewer.stderr));
    fails_naming(&duplicate, &["b@acme.test", "already exists"]);
    assert!(
        text(&again.stdout).contains(": 15347 element sets, 0 inserted, 15347 unchanged"),
        "{}",
        text(&again.stdout)
    );
}

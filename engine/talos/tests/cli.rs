//! The `talos` command line, run as a real process on the shipped real data.
//!
//! Verbs and flags are a stable interface (scripts call them), so these tests pin
//! the output shapes (exact JSON keys, RFC 3339 times with milliseconds), the
//! agreement between verbs (`look` at a pass's TCA sees the pass's maximum
//! elevation), and that every bad input fails with a non-zero exit, a message on
//! stderr naming what was wrong and nothing on stdout.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use talos_core::UnixMs;

const TALOS: &str = env!("CARGO_BIN_EXE_talos");
const ACTIVE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/tle/celestrak_active_2026-05-07.txt");
const OMM_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/omm");

/// Berlin, as in the README examples.
const BERLIN: [&str; 6] = ["--lat", "52.52", "--lon", "13.40", "--alt-m", "35"];
const START: &str = "2026-05-08T00:00:00Z";

fn talos(args: &[&str]) -> Output {
    talos_in(None, args)
}

fn talos_in(dir: Option<&Path>, args: &[&str]) -> Output {
    let mut command = Command::new(TALOS);
    command.args(args).env_remove("TALOS_LOG");
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    command.output().expect("the talos binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `talos`, requires success and returns stdout.
fn succeeds(args: &[&str]) -> String {
    let out = talos(args);
    assert!(out.status.success(), "talos {args:?} failed ({}): {}", out.status, text(&out.stderr));
    text(&out.stdout)
}

/// Runs `talos`, requires failure, an empty stdout and a stderr that contains every
/// needle; returns stderr.
fn fails_naming(args: &[&str], needles: &[&str]) -> String {
    let out = talos(args);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "talos {args:?} should fail; stdout: {}", text(&out.stdout));
    assert!(out.stdout.is_empty(), "talos {args:?} printed on stdout: {}", text(&out.stdout));
    for needle in needles {
        assert!(stderr.contains(needle), "talos {args:?}: stderr does not mention {needle:?}: {stderr}");
    }
    stderr
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {stdout}"))
}

fn passes_args<'a>(
    elements: &'a str,
    norads: &[&'a str],
    start: &'a str,
    hours: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec!["passes", "--elements", elements];
    for norad in norads {
        args.extend(["--norad", norad]);
    }
    args.extend(BERLIN);
    args.extend(["--start", start, "--hours", hours]);
    args.extend(extra);
    args
}

fn passes(elements: &str, norads: &[&str], start: &str, hours: &str, extra: &[&str]) -> Vec<Value> {
    let stdout = succeeds(&passes_args(elements, norads, start, hours, extra));
    match json(&stdout) {
        Value::Array(passes) => passes,
        other => panic!("passes output is not a JSON array: {other}"),
    }
}

fn iss_passes(extra: &[&str]) -> Vec<Value> {
    passes(ACTIVE, &["25544"], START, "24", extra)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, exactly (the regex `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`).
fn is_rfc3339_utc_millis(s: &str) -> bool {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd.dddZ";
    s.len() == SHAPE.len() && s.bytes().zip(SHAPE).all(|(c, &p)| if p == b'd' { c.is_ascii_digit() } else { c == p })
}

fn time_of(pass: &Value, key: &str) -> UnixMs {
    let s = pass[key].as_str().unwrap_or_else(|| panic!("{key} is not a string in {pass}"));
    assert!(is_rfc3339_utc_millis(s), "{key} = {s:?} is not RFC 3339 UTC with milliseconds");
    UnixMs::parse_rfc3339(s).unwrap()
}

fn f64_of(value: &Value, key: &str) -> f64 {
    value[key].as_f64().unwrap_or_else(|| panic!("{key} is not a number in {value}"))
}

fn paths_in(dir: &str, name: &str) -> String {
    Path::new(dir).join(name).display().to_string()
}

/// A fresh directory under the system temp dir, unique to this process and test; removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        let path = std::env::temp_dir().join(format!("talos-cli-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------------------
// passes

#[test]
fn passes_prints_json_objects_with_exactly_the_documented_keys() {
    let passes = iss_passes(&[]);
    assert!(passes.len() >= 4, "ISS over Berlin in 24 h: {} passes", passes.len());
    let expected: BTreeSet<&str> =
        ["norad_id", "name", "aos", "tca", "los", "max_el_deg", "aos_az_deg", "los_az_deg"].into_iter().collect();
    for pass in &passes {
        let keys: BTreeSet<&str> = pass.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, expected, "{pass}");
        assert_eq!(pass["norad_id"].as_u64(), Some(25544));
        assert_eq!(pass["name"].as_str().map(str::trim), Some("ISS (ZARYA)"));
        for key in ["max_el_deg", "aos_az_deg", "los_az_deg"] {
            assert!(f64_of(pass, key).is_finite());
        }
    }
}

#[test]
fn pass_times_are_rfc3339_utc_millis_ordered_within_each_pass_and_sorted_by_aos() {
    let passes = iss_passes(&[]);
    let start = UnixMs::parse_rfc3339(START).unwrap();
    let end = start.plus_ms(24 * 3_600_000);
    let mut previous_aos = UnixMs(i64::MIN);
    for pass in &passes {
        let (aos, tca, los) = (time_of(pass, "aos"), time_of(pass, "tca"), time_of(pass, "los"));
        assert!(start <= aos && aos < tca && tca < los && los <= end, "{pass}");
        assert!(aos >= previous_aos, "not sorted by aos at {pass}");
        previous_aos = aos;
        let max_el = f64_of(pass, "max_el_deg");
        assert!((0.0..=90.0).contains(&max_el), "{pass}");
        for key in ["aos_az_deg", "los_az_deg"] {
            assert!((0.0..360.0).contains(&f64_of(pass, key)), "{pass}");
        }
        // An ISS pass lasts minutes, never more than a quarter of an orbit.
        assert!((los.0 - aos.0) < 25 * 60_000, "{pass}");
    }
}

#[test]
fn table_format_prints_a_header_and_one_line_per_pass() {
    let json_count = iss_passes(&[]).len();
    let table = succeeds(&passes_args(ACTIVE, &["25544"], START, "24", &["--format", "table"]));
    let lines: Vec<&str> = table.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), json_count + 1, "{table}");
    for column in ["NORAD", "AOS", "TCA", "LOS"] {
        assert!(lines[0].contains(column), "header: {}", lines[0]);
    }
    for line in &lines[1..] {
        assert!(line.trim_start().starts_with("25544"), "{line}");
        assert!(line.contains("ISS (ZARYA)"), "{line}");
    }
}

#[test]
fn a_higher_minimum_elevation_gives_fewer_passes_all_above_it() {
    let all = iss_passes(&[]);
    let high = iss_passes(&["--min-el", "10"]);
    assert!(!high.is_empty() && high.len() < all.len(), "{} passes at 10 deg, {} at 0 deg", high.len(), all.len());
    for pass in &high {
        assert!(f64_of(pass, "max_el_deg") >= 10.0 - 1e-3, "{pass}");
    }
}

#[test]
fn two_norad_flags_give_passes_of_both_satellites_sorted_together() {
    let passes = passes(ACTIVE, &["25544", "43700"], START, "24", &[]);
    let ids: BTreeSet<u64> = passes.iter().map(|p| p["norad_id"].as_u64().unwrap()).collect();
    assert_eq!(ids, BTreeSet::from([25544, 43700]));
    // ES'HAIL 2 is geostationary over 25.5 E: one pass spanning the whole window from Berlin.
    let geo: Vec<_> = passes.iter().filter(|p| p["norad_id"] == 43700).collect();
    assert_eq!(geo.len(), 1, "{geo:?}");
    assert_eq!(geo[0]["aos"], "2026-05-08T00:00:00.000Z");
    assert_eq!(geo[0]["los"], "2026-05-09T00:00:00.000Z");
    let aos: Vec<UnixMs> = passes.iter().map(|p| time_of(p, "aos")).collect();
    assert!(aos.is_sorted(), "{aos:?}");
}

#[test]
fn every_omm_format_of_the_python_sgp4_sample_works_as_elements() {
    // Vanguard 1 (NORAD 5). The JSON holds a 2025 element set, the XML and CSV the same 2020 one.
    let json_passes =
        passes(&paths_in(OMM_DIR, "python-sgp4_sample_omm.json"), &["5"], "2025-02-15T00:00:00Z", "24", &[]);
    assert!(!json_passes.is_empty());
    let xml = passes(&paths_in(OMM_DIR, "python-sgp4_sample_omm.xml"), &["5"], "2020-10-14T00:00:00Z", "24", &[]);
    let csv = passes(&paths_in(OMM_DIR, "python-sgp4_sample_omm.csv"), &["5"], "2020-10-14T00:00:00Z", "24", &[]);
    assert!(!xml.is_empty());
    assert_eq!(xml, csv, "the XML and CSV carry the same element set");
    for pass in json_passes.iter().chain(&xml) {
        assert_eq!(pass["norad_id"].as_u64(), Some(5));
        assert_eq!(pass["name"].as_str(), Some("VANGUARD 1"));
    }
}

#[test]
fn the_same_element_set_as_tle_and_as_omm_xml_gives_the_same_passes() {
    // ORBCOMM FM113: the XML carries more digits (eccentricity, B*) than the TLE, so
    // times may differ by milliseconds, never by a second.
    let tle = passes(&paths_in(OMM_DIR, "celestrak_orbcomm_2026-127.tle"), &["41185"], START, "24", &[]);
    let xml = passes(&paths_in(OMM_DIR, "celestrak_orbcomm_2026-127_omm.xml"), &["41185"], START, "24", &[]);
    assert!(!tle.is_empty());
    assert_eq!(tle.len(), xml.len());
    for (a, b) in tle.iter().zip(&xml) {
        for key in ["aos", "tca", "los"] {
            let dt_ms = (time_of(a, key).0 - time_of(b, key).0).abs();
            assert!(dt_ms < 1_000, "{key}: {a} vs {b}");
        }
        assert!((f64_of(a, "max_el_deg") - f64_of(b, "max_el_deg")).abs() < 0.05, "{a} vs {b}");
    }
}

#[test]
fn no_pass_is_printed_at_the_window_end_while_the_satellite_is_below_the_horizon() {
    let mut args = vec!["passes", "--elements", ACTIVE, "--norad", "25544"];
    args.extend(["--lat", "1.8", "--lon", "68", "--alt-m", "0", "--start", START, "--hours", "24"]);
    let passes = json(&succeeds(&args));
    for pass in passes.as_array().unwrap() {
        assert!(f64_of(pass, "max_el_deg") >= 0.0, "{pass}");
        assert!(time_of(pass, "aos") < time_of(pass, "los"), "{pass}");
    }
}

#[test]
fn a_corrupted_tle_is_reported_with_its_line_and_the_others_still_give_passes() {
    let catalog = std::fs::read_to_string(ACTIVE).unwrap();
    let lines: Vec<&str> = catalog.lines().map(|l| l.trim_end_matches('\r')).collect();
    let iss = lines.iter().position(|l| l.trim_end() == "ISS (ZARYA)").unwrap();
    // ISS on lines 1-3, CALSPHERE 1 (NORAD 900) on lines 4-6 with its line-1 check digit
    // changed, CALSPHERE 2 (NORAD 902) on lines 7-9.
    let calsphere_line1 = lines[1];
    let last = calsphere_line1.len() - 1;
    let digit = calsphere_line1.as_bytes()[last] - b'0';
    let broken = format!("{}{}", &calsphere_line1[..last], (digit + 1) % 10);
    let mut file = String::new();
    for line in [lines[iss], lines[iss + 1], lines[iss + 2], lines[0], &broken, lines[2], lines[3], lines[4], lines[5]]
    {
        file.push_str(line);
        file.push('\n');
    }
    let dir = TempDir::new("corrupted-tle");
    let path = dir.0.join("three_with_one_broken.tle");
    std::fs::write(&path, file).unwrap();
    let path = path.display().to_string();

    let out = talos(&passes_args(&path, &[], START, "24", &[]));
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("1 record(s) rejected"), "{stderr}");
    assert!(stderr.contains("line 4 (NORAD 900)") && stderr.contains("checksum"), "{stderr}");
    let passes = json(&text(&out.stdout));
    let ids: BTreeSet<u64> = passes.as_array().unwrap().iter().map(|p| p["norad_id"].as_u64().unwrap()).collect();
    assert_eq!(ids, BTreeSet::from([902, 25544]));
}

// ---------------------------------------------------------------------------------------
// look

fn look_args(at: &str) -> Vec<&str> {
    let mut args = vec!["look", "--elements", ACTIVE, "--norad", "25544"];
    args.extend(BERLIN);
    args.extend(["--at", at]);
    args
}

#[test]
fn look_prints_one_json_object_per_time_with_angles_in_range() {
    let stdout = succeeds(&look_args("2026-05-08T00:30:00Z,2026-05-08T12:00:00Z"));
    let looks = json(&stdout);
    let looks = looks.as_array().unwrap();
    assert_eq!(looks.len(), 2);
    let expected: BTreeSet<&str> = ["t", "az_deg", "el_deg", "range_km", "range_rate_km_s"].into_iter().collect();
    for (look, t) in looks.iter().zip(["2026-05-08T00:30:00.000Z", "2026-05-08T12:00:00.000Z"]) {
        let keys: BTreeSet<&str> = look.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, expected, "{look}");
        assert_eq!(look["t"], t);
        assert!((0.0..360.0).contains(&f64_of(look, "az_deg")), "{look}");
        assert!((-90.0..=90.0).contains(&f64_of(look, "el_deg")), "{look}");
        // The ISS (about 420 km up) is never nearer than that nor beyond the far side of the earth.
        assert!((400.0..14_000.0).contains(&f64_of(look, "range_km")), "{look}");
        assert!(f64_of(look, "range_rate_km_s").abs() < 8.0, "{look}");
    }
    // 00:30 is inside the first pass over Berlin; at noon the ISS is below the horizon.
    assert!(f64_of(&looks[0], "el_deg") > 0.0);
    assert!(f64_of(&looks[1], "el_deg") < 0.0);
}

#[test]
fn look_at_a_pass_aos_and_tca_agrees_with_the_pass_prediction() {
    let passes = iss_passes(&[]);
    let pass = &passes[0];
    let (aos, tca) = (pass["aos"].as_str().unwrap(), pass["tca"].as_str().unwrap());
    let looks = json(&succeeds(&look_args(&format!("{aos},{tca}"))));
    let (at_aos, at_tca) = (&looks[0], &looks[1]);
    assert!(f64_of(at_aos, "el_deg").abs() < 0.01, "el at AOS: {at_aos}");
    assert!((f64_of(at_aos, "az_deg") - f64_of(pass, "aos_az_deg")).abs() < 0.01, "{at_aos} vs {pass}");
    assert!((f64_of(at_tca, "el_deg") - f64_of(pass, "max_el_deg")).abs() < 0.01, "{at_tca} vs {pass}");
    // At closest approach the range stops shrinking.
    assert!(f64_of(at_aos, "range_rate_km_s") < -1.0);
    assert!(f64_of(at_tca, "range_rate_km_s").abs() < 0.05, "{at_tca}");
}

// ---------------------------------------------------------------------------------------
// bad input

fn berlin_with(lat: &str, alt_m: &str) -> Vec<String> {
    let mut args: Vec<String> = ["passes", "--elements", ACTIVE, "--norad", "25544"].map(String::from).to_vec();
    args.extend(["--lat", lat, "--lon", "13.40", "--alt-m", alt_m].map(String::from));
    args.extend(["--start", START, "--hours", "24"].map(String::from));
    args
}

fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn an_impossible_latitude_is_refused_naming_the_latitude() {
    fails_naming(&refs(&berlin_with("501120", "35")), &["latitude", "501120"]);
}

#[test]
fn an_altitude_of_838_km_is_refused_naming_the_altitude() {
    fails_naming(&refs(&berlin_with("52.52", "838850")), &["altitude", "838850"]);
}

#[test]
fn an_unknown_norad_id_is_refused_naming_the_id_and_the_file() {
    fails_naming(
        &passes_args(ACTIVE, &["99999999"], START, "24", &[]),
        &["99999999", "celestrak_active_2026-05-07.txt"],
    );
}

#[test]
fn a_missing_elements_file_is_refused_naming_the_path() {
    let missing = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/tle/no_such_catalog.txt");
    fails_naming(&passes_args(missing, &["25544"], START, "24", &[]), &[missing]);
}

#[test]
fn a_file_that_is_not_an_element_set_is_refused_naming_it() {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    fails_naming(&passes_args(manifest, &["25544"], START, "24", &[]), &["Cargo.toml", "not an element-set file"]);
}

#[test]
fn a_start_that_is_not_rfc3339_is_refused_naming_the_flag_and_value() {
    fails_naming(&passes_args(ACTIVE, &["25544"], "yesterday", "24", &[]), &["--start", "'yesterday'", "RFC 3339"]);
}

#[test]
fn a_zero_or_negative_window_is_refused_naming_hours() {
    fails_naming(&passes_args(ACTIVE, &["25544"], START, "0", &[]), &["--hours"]);
    let mut args = passes_args(ACTIVE, &["25544"], START, "24", &[]);
    let hours = args.iter().position(|a| *a == "--hours").unwrap();
    args.splice(hours..hours + 2, ["--hours=-1"]);
    fails_naming(&args, &["--hours", "-1"]);
}

#[test]
fn a_negative_hours_value_given_as_a_separate_argument_is_refused_naming_hours() {
    let stderr = fails_naming(&passes_args(ACTIVE, &["25544"], START, "-1", &[]), &[]);
    let error_line = stderr.lines().find(|l| l.starts_with("error")).unwrap_or_default();
    assert!(error_line.contains("--hours"), "the error line does not name --hours: {stderr}");
}

#[test]
fn a_minimum_elevation_above_the_zenith_is_refused() {
    fails_naming(&passes_args(ACTIVE, &["25544"], START, "24", &["--min-el", "95"]), &["--min-el", "95"]);
}

#[test]
fn a_look_time_that_is_not_rfc3339_is_refused_naming_the_flag_and_value() {
    fails_naming(&look_args("notatime"), &["--at", "'notatime'"]);
    fails_naming(&look_args("2026-05-08T00:30:00Z,notatime"), &["--at", "'notatime'"]);
}

// ---------------------------------------------------------------------------------------
// bench

#[test]
fn bench_tick_reports_percentiles_and_every_stage() {
    let stdout = succeeds(&[
        "bench",
        "tick",
        "--stations",
        "50",
        "--satellites",
        "20",
        "--assignments-per-station",
        "3",
        "--ticks",
        "5",
        "--format",
        "json",
    ]);
    let report = json(&stdout);
    let (p50, p99, max) = (f64_of(&report, "p50_ms"), f64_of(&report, "p99_ms"), f64_of(&report, "max_ms"));
    assert!(0.0 <= p50 && p50 <= p99 && p99 <= max && max.is_finite(), "{report}");
    let systems = report["systems"].as_object().unwrap_or_else(|| panic!("systems is not an object: {report}"));
    let stages: BTreeSet<&str> = systems.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> =
        ["ingest", "propagate", "look", "visibility", "policy", "setpoints", "outbox"].into_iter().collect();
    assert_eq!(stages, expected);
    for (stage, ms) in systems {
        assert!(ms.as_f64().is_some_and(|ms| ms >= 0.0 && ms.is_finite()), "{stage}: {ms}");
    }
}

#[test]
fn bench_passes_reports_pairs_passes_and_seconds() {
    let stdout = succeeds(&[
        "bench",
        "passes",
        "--stations",
        "50",
        "--satellites",
        "20",
        "--assignments-per-station",
        "3",
        "--hours",
        "2",
        "--format",
        "json",
    ]);
    let report = json(&stdout);
    assert_eq!(report["pairs"].as_u64(), Some(150), "{report}");
    assert!(report["passes"].as_u64().is_some(), "{report}");
    assert!(f64_of(&report, "seconds") >= 0.0, "{report}");
}

#[test]
fn more_assignments_per_station_than_satellites_is_refused() {
    for verb in ["tick", "passes"] {
        let mut args = vec!["bench", verb, "--stations", "50", "--satellites", "20", "--assignments-per-station", "30"];
        args.extend(if verb == "tick" { ["--ticks", "5"] } else { ["--hours", "2"] });
        fails_naming(&args, &["--assignments-per-station", "30", "--satellites", "20"]);
    }
}

// ---------------------------------------------------------------------------------------
// serve

fn summary_lines(stdout: &str) -> Vec<(UnixMs, &str)> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let first = line.split_whitespace().next().unwrap_or_default();
            assert!(is_rfc3339_utc_millis(first), "summary line does not start with a time: {line}");
            assert!(line.contains(" tick "), "{line}");
            (UnixMs::parse_rfc3339(first).unwrap(), line)
        })
        .collect()
}

#[test]
fn serve_demo_runs_the_real_loop_from_any_directory_and_stops_after_the_given_seconds() {
    let dir = TempDir::new("serve-demo");
    let out =
        talos_in(Some(&dir.0), &["serve", "--demo", "--data-dir", "data", "--listen", "127.0.0.1:0", "--seconds", "3"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    let lines = summary_lines(&stdout);
    assert!(lines.len() >= 2, "{stdout}\n{stderr}");
    assert!(lines.windows(2).all(|w| w[0].0 < w[1].0), "{stdout}");
}

#[test]
fn serve_demo_with_a_start_time_runs_its_clock_from_that_time() {
    let dir = TempDir::new("serve-demo-start");
    let out = talos_in(
        Some(&dir.0),
        &[
            "serve",
            "--demo",
            "--data-dir",
            "data",
            "--listen",
            "127.0.0.1:0",
            "--start",
            "2026-08-29T12:00:00Z",
            "--seconds",
            "3",
        ],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    let lines = summary_lines(&stdout);
    assert!(lines.len() >= 2, "{stdout}\n{stderr}");
    let start = UnixMs::parse_rfc3339("2026-08-29T12:00:00Z").unwrap();
    for (t, line) in &lines {
        assert!(start <= *t && *t <= start.plus_ms(10_000), "{line}");
    }
    // The demo catalog's epochs are 2026-08-22..29: no stale-elements warning at its own time.
    assert!(!stderr.contains("days old"), "{stderr}");
}

#[test]
fn serve_without_demo_runs_an_empty_store_and_says_how_to_add_stations() {
    let dir = TempDir::new("serve-empty");
    let out = talos_in(Some(&dir.0), &["serve", "--data-dir", "data", "--listen", "127.0.0.1:0", "--seconds", "1"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("0 stations") && stderr.contains("no stations yet"), "{stderr}");
    assert!(!stderr.contains("demo login"), "no demo credentials without --demo: {stderr}");
}

#[test]
fn serve_refuses_a_bad_listen_address_or_catalog_source_with_a_message() {
    fails_naming(&["serve", "--listen", "localhost"], &["--listen", "ADDR:PORT"]);
    fails_naming(&["serve", "--catalog-source", "celestrak"], &["--catalog-source"]);
    fails_naming(&["serve", "--catalog-interval-h", "0"], &["--catalog-interval-h"]);
}

// ---------------------------------------------------------------------------------------
// help

#[test]
fn every_verb_has_help_that_exits_zero() {
    let verbs: [&[&str]; 7] =
        [&[], &["passes"], &["look"], &["bench"], &["bench", "tick"], &["bench", "passes"], &["serve"]];
    for verb in verbs {
        let mut args = verb.to_vec();
        args.push("--help");
        let stdout = succeeds(&args);
        assert!(stdout.contains("Usage:"), "talos {args:?}: {stdout}");
    }
}

#[test]
fn station_and_mqtt_verbs_name_bad_input_write_nothing_for_it_and_reissue_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    succeeds(&["user", "add", "--org", "acme", "--email", "ops@acme.example", "--role", "owner", "--data-dir", d]);
    let add: Vec<&str> = ["station", "add", "--org", "acme", "--name", "Roof", "--data-dir", d].into();
    let at: Vec<&str> = ["--lat", "52.5", "--lon", "13.4", "--alt-m", "40"].into();
    let with = |extra: &[&'static str]| -> Vec<&str> { [&add[..], &at[..], extra].concat() };
    fails_naming(&with(&["--park", "500,90"]), &["--park", "500"]);
    fails_naming(&with(&["--rotator-limits", "0,450,0"]), &["--rotator-limits", "expected 4"]);
    fails_naming(&with(&["--rotator-limits", "0,450,0,180"]), &["--rotator-limits", "180"]);
    fails_naming(&[&add[..], &["--lat", "95", "--lon", "13.4", "--alt-m", "40"]].concat(), &["--lat 95"]);
    let mut other_org = with(&[]);
    other_org[3] = "nope";
    fails_naming(&other_org, &["\"nope\"", "no such organization"]);
    // None of the refusals wrote a station: the first one added gets id 1.
    let out = succeeds(&with(&[]));
    assert!(out.starts_with("station 1 \"Roof\" added to organization 1"), "{out}");
    fails_naming(&with(&[]), &["\"Roof\"", "already has a station"]);

    let config = |extra: &[&'static str]| -> Vec<&str> {
        [&["station", "agent-config", "1", "--org", "acme", "--data-dir", d][..], extra].concat()
    };
    fails_naming(&config(&["--rotctld", "nohost"]), &["--rotctld", "HOST:PORT"]);
    fails_naming(
        &["station", "agent-config", "99", "--org", "acme", "--data-dir", d],
        &["station 99 not found in organization 1"],
    );
    let first = succeeds(&config(&["--no-rig"]));
    assert!(
        !first.contains("\n[rig]\n")
            && first.contains("station_id = 1")
            && first.contains("username = \"station-1-1\"")
    );
    let second = succeeds(&config(&["--broker-port", "18830"]));
    assert!(second.contains("\n[rig]\n") && second.contains("port = 18830"), "{second}");
    let password =
        |toml: &str| toml.lines().find_map(|l| l.strip_prefix("password = ")).unwrap().trim_matches('"').to_owned();
    assert_ne!(password(&first), password(&second), "a new agent-config issues a new password");

    // The password file holds the director and the station, with the newest password's hash only.
    let files = dir.path().join("mosquitto");
    let out = succeeds(&["mqtt", "mosquitto-config", "--out", files.to_str().unwrap(), "--data-dir", d]);
    assert!(out.contains("director + 1 stations") && out.contains("(new)"), "{out}");
    let passwd = std::fs::read_to_string(files.join("passwd")).unwrap();
    let hash = passwd.lines().find_map(|l| l.strip_prefix("station-1-1:")).expect("the station in passwd");
    assert!(talos_store::verify_mqtt_password(&password(&second), hash));
    assert!(!talos_store::verify_mqtt_password(&password(&first), hash));
    let director = std::fs::read_to_string(files.join("director-password")).unwrap();
    let again = succeeds(&["mqtt", "mosquitto-config", "--out", files.to_str().unwrap(), "--data-dir", d]);
    assert!(again.contains("(kept)"), "{again}");
    assert_eq!(std::fs::read_to_string(files.join("director-password")).unwrap(), director);
}

#[test]
fn simulate_runs_agents_against_the_director_and_reports_the_documented_figures() {
    fails_naming(&["simulate", "--stations", "5", "--seconds", "0"], &["--seconds 0"]);
    let report = json(&succeeds(&[
        "simulate",
        "--stations",
        "12",
        "--seconds",
        "3",
        "--satellites",
        "20",
        "--assignments-per-station",
        "3",
        "--threads",
        "1",
        "--format",
        "json",
    ]));
    for key in
        ["missed_ticks", "setpoint_latency_p50_ms", "setpoint_latency_p99_ms", "messages_per_s", "stale_rejected"]
    {
        assert!(report.get(key).is_some(), "{key} in {report}");
    }
    assert_eq!(report["stations"], 12, "{report}");
    assert_eq!(report["connected"], 12, "every simulated agent logged in: {report}");
    assert_eq!(report["stale_rejected"], 0, "{report}");
    assert!(report["ticks"].as_u64().unwrap() >= 4, "{report}");
    assert!(report["heartbeats_received"].as_u64().unwrap() > 0, "the agents heard the director: {report}");
    assert!(report["messages_per_s"].as_f64().unwrap() > 0.0, "{report}");
}

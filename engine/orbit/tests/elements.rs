//! Element-set parsing against the real catalogs in `data/` and against corrupted,
//! random and generated input.

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta};
use proptest::prelude::*;
use talos_orbit::elements::{
    CatalogError, ElementFormat, ElementSet, ElementsError, ParsedCatalog, detect_format, parse_catalog, parse_omm_csv,
    parse_omm_json, parse_omm_xml, parse_tle, parse_tle_catalog,
};

macro_rules! data {
    ($path:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/", $path))
    };
}

const ACTIVE: &str = data!("tle/celestrak_active_2026-05-07.txt");
const VISUAL: &str = data!("tle/celestrak_visual_2026-05-07.txt");
const AMATEUR: &str = data!("tle/celestrak_amateur_2026-08-29.txt");
const VALLADO: &str = data!("sgp4_verification/SGP4-VER.TLE");
const ORBCOMM_TLE: &str = data!("omm/celestrak_orbcomm_2026-127.tle");
const ORBCOMM_XML: &str = data!("omm/celestrak_orbcomm_2026-127_omm.xml");
const ACTIVE_JSON: &str = data!("omm/celestrak_active_omm_sample_2026-06-22.json");
const VANGUARD_JSON: &str = data!("omm/python-sgp4_sample_omm.json");
const VANGUARD_CSV: &str = data!("omm/python-sgp4_sample_omm.csv");
const VANGUARD_XML: &str = data!("omm/python-sgp4_sample_omm.xml");
const REFERENCE_PASSES: &str = data!("passes/reference_passes.json");

const ISS_1: &str = "1 25544U 98067A   14020.93268519  .00009878  00000-0  18200-3 0  5082";
const ISS_2: &str = "2 25544  51.6498 109.4756 0003572  55.9686 274.8005 15.49815350868473";

/// Mod-10 TLE checksum of columns 1-68: digits count their value, '-' counts 1.
fn checksum(line: &str) -> u32 {
    line.bytes()
        .take(68)
        .map(|b| match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'-' => 1,
            _ => 0,
        })
        .sum::<u32>()
        % 10
}

/// Replaces column 69 with the correct check digit, so a test can corrupt a field
/// without also tripping the checksum.
fn fix_checksum(line: &str) -> String {
    let body = &line[..68];
    format!("{body}{}", checksum(body))
}

/// Replaces columns `first..=last` (1-based) of a line.
fn splice(line: &str, first: usize, last: usize, with: &str) -> String {
    assert_eq!(with.len(), last - first + 1, "replacement must keep the columns");
    format!("{}{with}{}", &line[..first - 1], &line[last..])
}

fn ids(parsed: &ParsedCatalog) -> Vec<u32> {
    parsed.element_sets.iter().map(|s| s.norad_id.get()).collect()
}

fn only(parsed: &ParsedCatalog, norad: u32) -> &ElementSet {
    let mut matching = parsed.element_sets.iter().filter(|s| s.norad_id.get() == norad);
    let set = matching.next().unwrap_or_else(|| panic!("NORAD {norad} not loaded"));
    assert!(matching.next().is_none(), "NORAD {norad} loaded twice");
    set
}

fn dt(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").unwrap()
}

// ---- real catalogs ----

#[test]
fn the_whole_active_catalog_loads_with_nothing_rejected() {
    let parsed = parse_catalog(ACTIVE).unwrap();
    assert_eq!(parsed.format, ElementFormat::Tle);
    assert!(parsed.rejected.is_empty(), "first rejection: {}", parsed.rejected[0]);
    assert_eq!(parsed.element_sets.len(), 15_347);
    let mut unique = ids(&parsed);
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 15_347);
    assert!(parsed.element_sets.iter().all(|s| s.name.is_some()));
    let iss = only(&parsed, 25544);
    assert_eq!(iss.name.as_deref(), Some("ISS (ZARYA)"));
    assert_eq!(iss.international_designator.as_deref(), Some("98067A"));
    let first = parsed.element_sets.iter().map(|s| s.epoch).min().unwrap();
    let last = parsed.element_sets.iter().map(|s| s.epoch).max().unwrap();
    assert_eq!(first.date(), NaiveDate::from_ymd_opt(2026, 4, 13).unwrap());
    assert_eq!(last.date(), NaiveDate::from_ymd_opt(2026, 5, 10).unwrap());
}

#[test]
fn the_amateur_and_visual_catalogs_load() {
    for (text, count) in [(AMATEUR, 96), (VISUAL, 148)] {
        let parsed = parse_catalog(text).unwrap();
        assert!(parsed.rejected.is_empty(), "{}", parsed.rejected[0]);
        assert_eq!(parsed.element_sets.len(), count);
    }
    let amateur = parse_tle_catalog(AMATEUR);
    assert_eq!(amateur.element_sets[0].name.as_deref(), Some("OSCAR 7 (AO-7)"));
    assert_eq!(amateur.element_sets[0].mean_motion_dot, -0.00000032);
    assert_eq!(amateur.element_sets[0].bstar, 0.91679e-4);
}

#[test]
fn vallado_verification_file_rejects_only_the_deliberately_broken_cases() {
    let parsed = parse_catalog(VALLADO).unwrap();
    // 33 cases, 20413 twice; 33333, 33334 and 33335 are the deliberately bad ones.
    assert_eq!(parsed.element_sets.len(), 30);
    let rejected: Vec<_> = parsed.rejected.iter().map(|r| r.norad_id.map(|n| n.get())).collect();
    assert_eq!(rejected, [Some(33333), Some(33334), Some(33335)]);
    for r in &parsed.rejected {
        assert!(matches!(r.error, ElementsError::Checksum { line: 1, .. }), "{r}");
        let expected_line =
            VALLADO.lines().position(|l| l.starts_with(&format!("1 {}", r.norad_id.unwrap()))).unwrap() + 1;
        assert_eq!(r.line, expected_line);
    }
    assert_eq!(
        parsed.rejected[0].to_string(),
        format!("line {} (NORAD 33333): line 1 checksum: expected 2, found 4", parsed.rejected[0].line)
    );
    // Blank international designator and ephemeris type (case 11801) are accepted.
    let s11801 = only(&parsed, 11801);
    assert_eq!(s11801.international_designator, None);
    assert_eq!(s11801.element_set_number, 1);
    assert_eq!(s11801.rev_number, 1);
    // Columns past 69 (start/stop/step) are ignored.
    assert_eq!(only(&parsed, 5).rev_number, 41366);
}

#[test]
fn vallado_broken_cases_also_have_the_documented_line_2_checksum_errors() {
    // Repairing line 1 exposes the line-2 checksum errors the README lists:
    // 33333 and 33335 have both lines wrong, 33334 only line 1.
    let lines: Vec<&str> = VALLADO.lines().collect();
    for (norad, line2_bad) in [(33333, true), (33334, false), (33335, true)] {
        let at = lines.iter().position(|l| l.starts_with(&format!("1 {norad}"))).unwrap();
        let result = parse_tle(None, &fix_checksum(lines[at]), lines[at + 1]);
        if line2_bad {
            assert!(matches!(result, Err(ElementsError::Checksum { line: 2, .. })), "{norad}: {result:?}");
        } else {
            assert!(result.is_ok(), "{norad}: {result:?}");
        }
    }
}

#[test]
fn orbcomm_tle_and_omm_xml_agree_where_they_hold_the_same_element_set() {
    let tle = parse_catalog(ORBCOMM_TLE).unwrap();
    let xml = parse_catalog(ORBCOMM_XML).unwrap();
    assert_eq!(xml.format, ElementFormat::OmmXml);
    assert!(tle.rejected.is_empty() && xml.rejected.is_empty());
    assert_eq!((tle.element_sets.len(), xml.element_sets.len()), (15, 15));
    for (norad, epoch) in [(41185, "2026-05-05T23:58:50.042784"), (41189, "2026-05-06T07:39:13.334112")] {
        let t = only(&tle, norad);
        let x = only(&xml, norad);
        assert_eq!(t.epoch, dt(epoch));
        assert_eq!(x.epoch, dt(epoch));
        assert_eq!(t.name, x.name);
        for (a, b) in [
            (t.inclination_deg, x.inclination_deg),
            (t.raan_deg, x.raan_deg),
            (t.arg_perigee_deg, x.arg_perigee_deg),
            (t.mean_anomaly_deg, x.mean_anomaly_deg),
        ] {
            assert!((a - b).abs() < 1e-9, "{norad}: angle {a} vs {b}");
        }
        assert!((t.mean_motion_rev_per_day - x.mean_motion_rev_per_day).abs() < 1e-8);
        // The XML carries more digits (.00017709 vs 0001770): agree to the TLE's 1e-7.
        assert!((t.eccentricity - x.eccentricity).abs() < 1e-7);
        // The TLE B* has 5 significant digits; the XML more (.12297296E-3 vs 12297-3).
        assert!((t.bstar - x.bstar).abs() <= 5e-5 * x.bstar.abs(), "{} vs {}", t.bstar, x.bstar);
        assert_eq!(t.mean_motion_dot, x.mean_motion_dot);
        assert_eq!((t.mean_motion_ddot, x.mean_motion_ddot), (0.0, 0.0));
        assert_eq!((t.rev_number, t.element_set_number), (x.rev_number, x.element_set_number));
        assert_eq!(
            x.international_designator.as_deref().map(|d| d.replace('-', "")[2..].to_owned()),
            t.international_designator
        );
    }
}

#[test]
fn celestrak_omm_json_sample_loads_all_21_sets_including_geo_heo_and_exponents() {
    let parsed = parse_catalog(ACTIVE_JSON).unwrap();
    assert_eq!(parsed.format, ElementFormat::OmmJson);
    assert!(parsed.rejected.is_empty(), "{}", parsed.rejected[0]);
    assert_eq!(parsed.element_sets.len(), 21);
    let tdrs3 = only(&parsed, 19548);
    assert_eq!(tdrs3.mean_motion_rev_per_day, 1.00271828);
    let ao10 = only(&parsed, 14129);
    assert_eq!(ao10.eccentricity, 0.60094179);
    assert_eq!(ao10.epoch, dt("2026-06-21T06:05:53.442528"));
    let ops = only(&parsed, 2826);
    assert_eq!(ops.eccentricity, 8.376e-5);
    assert_eq!(ops.mean_motion_dot, 5.198e-5);
    assert_eq!(only(&parsed, 1361).bstar, -0.00074314265);
    assert_eq!(ops.international_designator.as_deref(), Some("1967-053A"));
}

#[test]
fn python_sgp4_vanguard_samples_load_in_json_csv_and_xml() {
    for (text, format, epoch) in [
        (VANGUARD_JSON, ElementFormat::OmmJson, "2025-02-14T14:36:48.662784"),
        (VANGUARD_CSV, ElementFormat::OmmCsv, "2020-10-13T04:52:48.472320"),
        (VANGUARD_XML, ElementFormat::OmmXml, "2020-10-13T04:52:48.472320"),
    ] {
        assert_eq!(detect_format(text), Some(format));
        let parsed = parse_catalog(text).unwrap();
        assert_eq!(parsed.format, format);
        assert!(parsed.rejected.is_empty(), "{format:?}: {}", parsed.rejected[0]);
        let [set] = parsed.element_sets.as_slice() else {
            panic!("{format:?}: expected one set, got {}", parsed.element_sets.len())
        };
        assert_eq!(set.norad_id.get(), 5);
        assert_eq!(set.name.as_deref(), Some("VANGUARD 1"));
        assert_eq!(set.epoch, dt(epoch));
        assert_eq!(set.format, format);
    }
    let csv = parse_omm_csv(VANGUARD_CSV).unwrap();
    assert_eq!(csv.element_sets[0].bstar, -0.22483e-4);
    assert_eq!(parse_omm_xml(VANGUARD_XML).unwrap().element_sets[0].mean_motion_dot, -1.6e-7);
    assert_eq!(parse_omm_json(VANGUARD_JSON).unwrap().element_sets[0].rev_number, 39027);
}

#[test]
fn pyorbital_tle_with_plus_signs_parses() {
    let passes: serde_json::Value = serde_json::from_str(REFERENCE_PASSES).unwrap();
    let case = passes["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["tle"]["line1"].as_str().is_some_and(|l| l.contains('+')))
        .unwrap();
    let set = parse_tle(None, case["tle"]["line1"].as_str().unwrap(), case["tle"]["line2"].as_str().unwrap()).unwrap();
    assert_eq!(set.norad_id.get(), 43125);
    assert_eq!(set.mean_motion_dot, 0.00001666);
    assert_eq!(set.mean_motion_ddot, 0.0);
    assert_eq!(set.bstar, 0.73564e-4);
    assert_eq!(set.inclination_deg, 97.5269);
    // Every reference TLE parses.
    for c in passes["cases"].as_array().unwrap() {
        parse_tle(None, c["tle"]["line1"].as_str().unwrap(), c["tle"]["line2"].as_str().unwrap()).unwrap();
    }
}

// ---- Alpha-5 ----

#[test]
fn alpha5_catalog_numbers_decode_and_i_and_o_are_rejected() {
    let with_catalog = |cat: &str| {
        let l1 = fix_checksum(&splice(ISS_1, 3, 7, cat));
        let l2 = fix_checksum(&splice(ISS_2, 3, 7, cat));
        parse_tle(None, &l1, &l2)
    };
    assert_eq!(with_catalog("A0000").unwrap().norad_id.get(), 100_000);
    assert_eq!(with_catalog("E8493").unwrap().norad_id.get(), 148_493);
    assert_eq!(with_catalog("Z9999").unwrap().norad_id.get(), 339_999);
    for bad in ["I0000", "O0000"] {
        let err = with_catalog(bad).unwrap_err();
        let ElementsError::Field { line: 1, field, columns, text, .. } = &err else { panic!("{bad}: {err}") };
        assert_eq!((*field, *columns, text.as_str()), ("catalog number", (3, 7), bad));
    }
}

// ---- corruption ----

/// Three valid records around a corrupted one, in 3-line form with CRLF.
fn catalog_around(name: &str, line1: &str, line2: &str) -> String {
    let amateur: Vec<&str> = AMATEUR.lines().collect();
    let before = amateur[..6].join("\r\n");
    let after = amateur[6..12].join("\r\n");
    format!("{before}\r\n{name}\r\n{line1}\r\n{line2}\r\n{after}\r\n")
}

/// Parses the catalog, checks the good records still load and returns the one error.
fn corrupted(line1: &str, line2: &str) -> ElementsError {
    let text = catalog_around("ISS (ZARYA)", line1, line2);
    let parsed = parse_tle_catalog(&text);
    assert_eq!(parsed.element_sets.len(), 4, "the other records must still load: {:?}", parsed.rejected);
    assert_eq!(parsed.rejected.len(), 1);
    let r = &parsed.rejected[0];
    assert_eq!(r.line, 7, "the record starts at its name line");
    assert_eq!(r.error, parse_tle(None, line1, line2).unwrap_err());
    r.error.clone()
}

#[test]
fn a_truncated_line_is_a_length_error() {
    let err = corrupted(&ISS_1[..60], ISS_2);
    assert_eq!(err, ElementsError::LineLength { line: 1, len: 60 });
    let err = corrupted(ISS_1, &ISS_2[..68]);
    assert_eq!(err, ElementsError::LineLength { line: 2, len: 68 });
}

#[test]
fn a_flipped_digit_is_a_checksum_error_naming_the_line() {
    // Column 25: 9 -> 7 lowers the digit sum by 2, so the check digit 2 should be 0.
    let err = corrupted(&splice(ISS_1, 25, 25, "7"), ISS_2);
    assert_eq!(err, ElementsError::Checksum { line: 1, expected: 0, found: '2' });
    // Column 10: 5 -> 2 lowers it by 3, so the check digit 3 should be 0.
    let err = corrupted(ISS_1, &splice(ISS_2, 10, 10, "2"));
    assert_eq!(err, ElementsError::Checksum { line: 2, expected: 0, found: '3' });
    assert_eq!(err.to_string(), "line 2 checksum: expected 0, found 3");
}

#[test]
fn letters_in_a_numeric_field_name_the_field_and_columns() {
    // With the checksum repaired (a generator bug) and without (line noise): either
    // way the field is named, since fields are checked before the checksum.
    for fix in [true, false] {
        let repair = |l: String| if fix { fix_checksum(&l) } else { l };
        let err = corrupted(ISS_1, &repair(splice(ISS_2, 53, 63, "15.4981535O")));
        assert_eq!(
            err,
            ElementsError::Field {
                line: 2,
                field: "mean motion",
                columns: (53, 63),
                text: "15.4981535O".to_owned(),
                reason: "must be a decimal number (digits, one '.', optional sign)",
            }
        );
        assert!(err.to_string().starts_with("line 2 mean motion (columns 53-63) '15.4981535O': "), "{err}");
        let err = corrupted(&repair(splice(ISS_1, 54, 61, " 182O0-3")), ISS_2);
        assert!(matches!(err, ElementsError::Field { line: 1, field: "B*", columns: (54, 61), .. }), "{err}");
        let err = corrupted(&repair(splice(ISS_1, 21, 32, "020.9X268519")), ISS_2);
        assert!(matches!(err, ElementsError::Field { field: "epoch day of year", columns: (21, 32), .. }), "{err}");
    }
}

#[test]
fn garbage_eccentricity_digits_are_a_field_error() {
    for garbage in ["00-3572", "0.03572", "000357 ", "ABCDEFG"] {
        let err = corrupted(ISS_1, &fix_checksum(&splice(ISS_2, 27, 33, garbage)));
        assert!(
            matches!(&err, ElementsError::Field { line: 2, field: "eccentricity", columns: (27, 33), text, .. } if text == garbage),
            "{garbage}: {err}"
        );
    }
}

#[test]
fn mismatched_catalog_numbers_are_rejected() {
    let err = corrupted(ISS_1, &fix_checksum(&splice(ISS_2, 3, 7, "25545")));
    assert_eq!(err, ElementsError::CatalogMismatch { line1: 25544, line2: 25545 });
}

#[test]
fn impossible_elements_are_range_errors() {
    let err = corrupted(ISS_1, &fix_checksum(&splice(ISS_2, 9, 16, "180.0001")));
    assert!(matches!(err, ElementsError::Range { field: "inclination (deg)", .. }), "{err}");
    let err = corrupted(ISS_1, &fix_checksum(&splice(ISS_2, 53, 63, " 0.00000000")));
    assert!(matches!(err, ElementsError::Range { value: 0.0, .. }), "{err}");
    let err = corrupted(ISS_1, &fix_checksum(&splice(ISS_2, 44, 51, "360.0001")));
    assert!(matches!(err, ElementsError::Range { field: "mean anomaly (deg)", .. }), "{err}");
}

#[test]
fn non_ascii_text_is_an_error_not_a_panic() {
    let err = corrupted(&ISS_1.replacen("98067A", "98067\u{e9}", 1), ISS_2);
    assert_eq!(err, ElementsError::NonAscii { line: 1, column: 15 });
    let err = corrupted(ISS_1, &format!("{}\u{a0}{}", &ISS_2[..16], &ISS_2[17..]));
    assert_eq!(err, ElementsError::NonAscii { line: 2, column: 17 });
    // A mangled line number makes the line unrecognisable; the record is still reported.
    let parsed = parse_tle_catalog(&catalog_around("ISS", ISS_1, &ISS_2.replacen(' ', "\u{a0}", 1)));
    assert_eq!(parsed.element_sets.len(), 4);
    let errors: Vec<_> = parsed.rejected.iter().map(|r| r.error.clone()).collect();
    assert_eq!(errors, [ElementsError::MissingLine2]);
}

#[test]
fn lost_lines_do_not_desynchronise_the_records_after_them() {
    let amateur: Vec<&str> = AMATEUR.lines().collect();
    // Drop line 2 of the first record and line 1 of the third.
    let mut lines = amateur[..12].to_vec();
    lines.remove(7);
    lines.remove(2);
    let parsed = parse_tle_catalog(&lines.join("\n"));
    assert_eq!(parsed.element_sets.len(), 2);
    let errors: Vec<_> = parsed.rejected.iter().map(|r| (r.line, r.error.clone())).collect();
    assert_eq!(errors, [(1, ElementsError::MissingLine2), (6, ElementsError::OrphanLine2)]);
    assert_eq!(parsed.element_sets[0].name.as_deref(), amateur[3].split("  ").next());
}

#[test]
fn two_line_and_three_line_records_mix_with_comments_and_blank_lines() {
    let text = format!(
        "\u{feff}# comment\n\n{ISS_1}\n{ISS_2}\n0 ISS (ZARYA)\r\n{ISS_1}\r\n{ISS_2}\r\n\n   \n{ISS_1}   \n{ISS_2}\t\n"
    );
    assert_eq!(detect_format(&text), Some(ElementFormat::Tle));
    let parsed = parse_catalog(&text).unwrap();
    assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
    let names: Vec<_> = parsed.element_sets.iter().map(|s| s.name.as_deref()).collect();
    assert_eq!(names, [None, Some("ISS (ZARYA)"), None]);
}

// ---- format detection ----

#[test]
fn formats_are_detected_from_content() {
    assert_eq!(detect_format(" \u{feff}[]"), None, "a BOM only counts at the very start");
    assert_eq!(detect_format("\u{feff}  \n[]"), Some(ElementFormat::OmmJson));
    assert_eq!(detect_format("{\"a\":1}"), Some(ElementFormat::OmmJson));
    assert_eq!(detect_format("\r\n<?xml version=\"1.0\"?>"), Some(ElementFormat::OmmXml));
    assert_eq!(detect_format(VANGUARD_CSV), Some(ElementFormat::OmmCsv));
    assert_eq!(detect_format(ACTIVE), Some(ElementFormat::Tle));
    assert_eq!(detect_format(&format!("{ISS_2}\n{ISS_1}")), None);
    assert_eq!(detect_format(""), None);
    assert_eq!(parse_catalog(" \r\n\t").unwrap_err(), CatalogError::Empty);
    let err = parse_catalog("hello world\nsecond line").unwrap_err();
    assert_eq!(err, CatalogError::UnknownFormat { start: "hello world".to_owned() });
    assert!(matches!(parse_catalog("[1, 2"), Err(CatalogError::Json(_))));
    assert!(matches!(parse_catalog("<ndm><omm></ndm>"), Err(CatalogError::Xml(_))));
}

#[test]
fn a_bad_omm_json_record_is_rejected_and_the_rest_still_load() {
    let mut records: Vec<serde_json::Value> = serde_json::from_str(ACTIVE_JSON).unwrap();
    records[3]["ECCENTRICITY"] = serde_json::json!(1.5);
    records[5]["EPOCH"] = serde_json::json!("22 June 2026");
    records[7].as_object_mut().unwrap().remove("MEAN_MOTION");
    records[9]["INCLINATION"] = serde_json::json!("51.6");
    let parsed = parse_omm_json(&serde_json::to_string(&records).unwrap()).unwrap();
    assert_eq!(parsed.element_sets.len(), 18);
    let rejected: Vec<_> = parsed.rejected.iter().map(|r| (r.line, r.error.to_string())).collect();
    assert_eq!(
        rejected,
        [
            (4, "eccentricity 1.5 must be in [0, 1) for a closed orbit".to_owned()),
            (6, "EPOCH '22 June 2026': must be an ISO 8601 UTC time like 2026-06-22T06:05:14.123456".to_owned()),
            (8, "missing field MEAN_MOTION".to_owned()),
        ]
    );
    assert_eq!(parsed.rejected[0].to_string(), format!("record 4 (NORAD 1512): {}", rejected[0].1));
    assert_eq!(only(&parsed, 5398).inclination_deg, 51.6);
}

#[test]
fn a_bad_omm_xml_segment_is_rejected_and_the_rest_still_load() {
    let broken = ORBCOMM_XML.replacen("<MEAN_MOTION>14.58811338</MEAN_MOTION>", "<MEAN_MOTION>-1</MEAN_MOTION>", 1);
    let parsed = parse_omm_xml(&broken).unwrap();
    assert_eq!(parsed.element_sets.len(), 14);
    let r = &parsed.rejected[0];
    assert_eq!(r.norad_id.map(|n| n.get()), Some(41185));
    let omm_line = broken.lines().position(|l| l.contains("ORBCOMM FM113")).unwrap();
    assert_eq!(r.line, omm_line, "the line of the <omm> tag, just before the segment");
    assert!(r.to_string().contains("mean motion (rev/day) -1 must be positive"), "{r}");
}

// ---- performance ----

/// Run with `cargo test --release -p talos-orbit --test elements -- --ignored --nocapture`.
#[test]
#[ignore = "timing: meaningful only in release builds"]
#[expect(clippy::disallowed_methods, reason = "the test measures wall-clock parse time")]
fn the_active_catalog_parses_in_well_under_50_ms_in_release() {
    let mut best = std::time::Duration::MAX;
    for _ in 0..20 {
        let start = std::time::Instant::now();
        let parsed = parse_tle_catalog(ACTIVE);
        best = best.min(start.elapsed());
        assert_eq!(parsed.element_sets.len(), 15_347);
    }
    println!("active catalog (15,347 sets, {} bytes): best of 20 = {best:?}", ACTIVE.len());
    if !cfg!(debug_assertions) {
        assert!(best.as_millis() < 50, "{best:?}");
    }
}

// ---- properties ----

/// Formats an element set as TLE lines with correct checksums, the way Space-Track
/// does (the test oracle for round-tripping).
fn format_tle(set: &ElementSet) -> (String, String) {
    let id = set.norad_id.get();
    let catalog = if id < 100_000 {
        format!("{id:05}")
    } else {
        let letters = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
        format!("{}{:04}", char::from(letters[(id / 10_000 - 10) as usize]), id % 10_000)
    };
    let year = set.epoch.date().format("%y");
    let start_of_year = NaiveDate::from_yo_opt(set.epoch.year(), 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
    let since = (set.epoch - start_of_year).num_microseconds().unwrap();
    let day = since / 86_400_000_000 + 1;
    let fraction = (since % 86_400_000_000) / 864; // exact: epochs are generated on this grid
    let ndot = format!(
        "{}.{:08}",
        if set.mean_motion_dot < 0.0 { '-' } else { ' ' },
        (set.mean_motion_dot.abs() * 1e8).round() as u64
    );
    let line1 = format!(
        "1 {catalog}{} {:<8} {year}{day:03}.{fraction:08} {ndot} {} {} 0 {:4}",
        set.classification,
        set.international_designator.as_deref().unwrap_or(""),
        implied_exponent(set.mean_motion_ddot),
        implied_exponent(set.bstar),
        set.element_set_number,
    );
    let line2 = format!(
        "2 {catalog} {:8.4} {:8.4} {:07} {:8.4} {:8.4} {:11.8}{:5}",
        set.inclination_deg,
        set.raan_deg,
        (set.eccentricity * 1e7).round() as u64,
        set.arg_perigee_deg,
        set.mean_anomaly_deg,
        set.mean_motion_rev_per_day,
        set.rev_number,
    );
    (fix_checksum(&format!("{line1} ")), fix_checksum(&format!("{line2} ")))
}

/// `-0.11606e-4` -> `-11606-4`.
fn implied_exponent(value: f64) -> String {
    let sign = if value < 0.0 { '-' } else { ' ' };
    if value == 0.0 {
        return format!("{sign}00000-0");
    }
    let mut exponent = value.abs().log10().floor() as i32 + 1;
    let mut mantissa = (value.abs() / 10f64.powi(exponent) * 1e5).round() as u64;
    if mantissa >= 100_000 {
        mantissa /= 10;
        exponent += 1;
    }
    format!("{sign}{mantissa:05}{}{}", if exponent < 0 { '-' } else { '+' }, exponent.abs())
}

fn epoch_strategy() -> impl Strategy<Value = NaiveDateTime> {
    // On the 8-digit day-fraction grid (864 us), so the TLE holds the epoch exactly.
    (1957i32..=2056, 0i64..365, 0i64..100_000_000).prop_map(|(year, day, fraction)| {
        NaiveDate::from_yo_opt(year, 1).unwrap().and_hms_opt(0, 0, 0).unwrap()
            + TimeDelta::days(day)
            + TimeDelta::microseconds(fraction * 864)
    })
}

fn drag_term() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), (-0.99f64..0.99).prop_filter("representable", |v| v.abs() > 1e-9)]
}

prop_compose! {
    fn element_set()(
        norad in 1u32..=339_999,
        classification in prop::sample::select(vec!['U', 'C', 'S']),
        designator in prop::option::of("[0-9]{5}[A-Z]{1,3}"),
        epoch in epoch_strategy(),
        mean_motion_dot in -0.99f64..0.99,
        mean_motion_ddot in drag_term(),
        bstar in drag_term(),
        angles in (0.0f64..=180.0, 0.0f64..360.0, 0.0f64..360.0, 0.0f64..360.0),
        eccentricity in 0.0f64..0.9999999,
        mean_motion_rev_per_day in 0.0001f64..17.0,
        numbers in (0u32..=9999, 0u32..=99_999),
    ) -> ElementSet {
        ElementSet {
            norad_id: talos_core::NoradId::new(u64::from(norad)).unwrap(),
            name: None,
            international_designator: designator,
            classification,
            epoch,
            mean_motion_dot,
            mean_motion_ddot,
            bstar,
            inclination_deg: angles.0,
            raan_deg: angles.1,
            eccentricity,
            arg_perigee_deg: angles.2,
            mean_anomaly_deg: angles.3,
            mean_motion_rev_per_day,
            element_set_number: numbers.0,
            rev_number: numbers.1,
            format: ElementFormat::Tle,
        }
    }
}

/// A valid TLE with a few characters overwritten by anything, including non-ASCII.
fn mutated_tle() -> impl Strategy<Value = String> {
    let text = format!("ISS (ZARYA)\n{ISS_1}\n{ISS_2}\n");
    prop::collection::vec((0usize..150, any::<char>()), 1..6).prop_map(move |edits| {
        let mut chars: Vec<char> = text.chars().collect();
        for (at, c) in edits {
            let at = at % chars.len();
            chars[at] = c;
        }
        chars.into_iter().collect()
    })
}

/// A sample file with a random slice replaced by random text.
fn mutated_sample() -> impl Strategy<Value = String> {
    let samples = [VANGUARD_JSON, VANGUARD_CSV, VANGUARD_XML, &ACTIVE_JSON[..2000]];
    (0usize..4, 0usize..2000, 0usize..40, ".{0,12}").prop_map(move |(which, at, len, with)| {
        let text = samples[which];
        let floor = |mut i: usize| {
            i = i.min(text.len());
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let (at, end) = (floor(at), floor(at + len));
        format!("{}{with}{}", &text[..at], &text[end..])
    })
}

fn parse_everything(text: &str) {
    let _ = detect_format(text);
    let _ = parse_catalog(text);
    let _ = parse_tle_catalog(text);
    let _ = parse_omm_json(text);
    let _ = parse_omm_xml(text);
    let _ = parse_omm_csv(text);
    let mut lines = text.lines();
    let _ = parse_tle(lines.next(), lines.next().unwrap_or(""), lines.next().unwrap_or(""));
    let _ = parse_tle(None, text, text);
}

proptest! {
    #[test]
    fn random_bytes_never_panic_any_parser(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        parse_everything(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_strings_never_panic_any_parser(text in "(?s).{0,300}") {
        parse_everything(&text);
        parse_everything(&format!("[{text}"));
        parse_everything(&format!("<omm>{text}"));
        parse_everything(&format!("OBJECT_NAME,{text}"));
    }

    #[test]
    fn mutated_tles_never_panic_and_fail_with_a_reason(text in mutated_tle()) {
        let parsed = parse_tle_catalog(&text);
        prop_assert!(parsed.element_sets.len() + parsed.rejected.len() <= text.lines().count());
        for r in &parsed.rejected {
            prop_assert!(!r.to_string().is_empty());
        }
        parse_everything(&text);
    }

    #[test]
    fn mutated_omm_samples_never_panic(text in mutated_sample()) {
        parse_everything(&text);
    }

    #[test]
    fn a_formatted_element_set_parses_back_within_tle_precision(set in element_set()) {
        let (line1, line2) = format_tle(&set);
        let parsed = parse_tle(None, &line1, &line2);
        prop_assert!(parsed.is_ok(), "{line1}\n{line2}\n{parsed:?}");
        let Ok(back) = parsed else { unreachable!() };
        prop_assert_eq!(back.norad_id, set.norad_id);
        prop_assert_eq!(back.classification, set.classification);
        prop_assert_eq!(&back.international_designator, &set.international_designator);
        prop_assert_eq!(back.epoch, set.epoch);
        prop_assert!((back.mean_motion_dot - set.mean_motion_dot).abs() <= 0.5e-8 + 1e-15);
        for (b, s) in [(back.mean_motion_ddot, set.mean_motion_ddot), (back.bstar, set.bstar)] {
            // Five significant digits: half a unit in the fifth digit, relative.
            prop_assert!((b - s).abs() <= 5.0001e-5 * s.abs() + 1e-15, "{b} vs {s}");
        }
        for (b, s) in [
            (back.inclination_deg, set.inclination_deg),
            (back.raan_deg, set.raan_deg),
            (back.arg_perigee_deg, set.arg_perigee_deg),
            (back.mean_anomaly_deg, set.mean_anomaly_deg),
        ] {
            prop_assert!((b - s).abs() <= 0.5e-4 + 1e-12, "{b} vs {s}");
        }
        prop_assert!((back.eccentricity - set.eccentricity).abs() <= 0.5e-7 + 1e-15);
        prop_assert!((back.mean_motion_rev_per_day - set.mean_motion_rev_per_day).abs() <= 0.5e-8 + 1e-12);
        prop_assert_eq!(back.element_set_number, set.element_set_number);
        prop_assert_eq!(back.rev_number, set.rev_number);
    }
}

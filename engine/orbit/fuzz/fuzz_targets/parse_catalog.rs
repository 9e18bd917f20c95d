//! Feeds arbitrary bytes to every element-set parser and the SatNOGS station parser.
//! The only property checked is the one that matters for outside input: no panic,
//! no hang, no unbounded allocation.

#![no_main]

use libfuzzer_sys::fuzz_target;
use talos_orbit::elements::{
    parse_catalog, parse_omm_csv, parse_omm_json, parse_omm_xml, parse_tle, parse_tle_catalog,
};
use talos_orbit::stations::parse_satnogs_stations;

fn parse_all(text: &str) {
    let _ = parse_catalog(text);
    let _ = parse_tle_catalog(text);
    let _ = parse_omm_json(text);
    let _ = parse_omm_xml(text);
    let _ = parse_omm_csv(text);
    let _ = parse_satnogs_stations(text);
    let mut lines = text.lines();
    let _ = parse_tle(
        lines.next(),
        lines.next().unwrap_or(""),
        lines.next().unwrap_or(""),
    );
}

fuzz_target!(|data: &[u8]| {
    // Valid UTF-8 goes in as is; anything else the way a caller reading a file
    // lossily would pass it.
    match std::str::from_utf8(data) {
        Ok(text) => parse_all(text),
        Err(_) => parse_all(&String::from_utf8_lossy(data)),
    }
});

//! Two-line element sets (TLE) and 3-line catalogs (3LE) as CelesTrak and
//! Space-Track serve them.
//!
//! Fields are read from fixed columns (1-based, inclusive, as in the standard), so
//! each error can name the field and its columns. Every slice is taken with `get`
//! after the line is known to be ASCII, so no input can make the parser panic.

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use talos_core::NoradId;

use super::{ElementFormat, ElementSet, ElementsError, ParsedCatalog, RejectedRecord, check_ranges};

/// Columns 1-69 are the element set; anything after (Vallado's start/stop/step) is ignored.
const TLE_COLUMNS: usize = 69;

const MICROS_PER_DAY: u128 = 86_400_000_000;

/// Parses one element set from its two lines, with the name from a 3LE name line.
///
/// Lines may be longer than 69 columns (only columns 1-69 are read) and may carry
/// trailing whitespace or `\r`. Blank international designator, ephemeris type and
/// element set number are accepted, as are `+` signs where the standard has a blank.
/// Checks, in order: line shape, each field, the checksum of each line, that both
/// lines name the same object, and the physical ranges of the elements.
pub fn parse_tle(name: Option<&str>, line1: &str, line2: &str) -> Result<ElementSet, ElementsError> {
    let l1 = TleLine::new(line1, 1)?;
    let l2 = TleLine::new(line2, 2)?;

    let catalog1 = l1.catalog_number()?;
    let classification = match l1.byte(8) {
        b'U' | b' ' => 'U',
        b'C' => 'C',
        b'S' => 'S',
        _ => return Err(l1.field_error("classification", (8, 8), "must be U, C, S or blank")),
    };
    let designator = l1.text(10, 17).trim();
    if !designator.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(l1.field_error(
            "international designator",
            (10, 17),
            "must be letters and digits (e.g. 98067A) or blank",
        ));
    }
    let epoch = l1.epoch()?;
    let mean_motion_dot = l1.decimal("mean motion dot / 2", (34, 43))?;
    let mean_motion_ddot = l1.implied_exponent("mean motion ddot / 6", (45, 52))?;
    let bstar = l1.implied_exponent("B*", (54, 61))?;
    if !matches!(l1.byte(63), b'0'..=b'9' | b' ') {
        return Err(l1.field_error("ephemeris type", (63, 63), "must be a digit or blank"));
    }
    let element_set_number = l1.unsigned("element set number", (65, 68))?;
    l1.check_checksum()?;

    let catalog2 = l2.catalog_number()?;
    let inclination_deg = l2.decimal("inclination", (9, 16))?;
    let raan_deg = l2.decimal("right ascension of the ascending node", (18, 25))?;
    let eccentricity = l2.eccentricity()?;
    let arg_perigee_deg = l2.decimal("argument of perigee", (35, 42))?;
    let mean_anomaly_deg = l2.decimal("mean anomaly", (44, 51))?;
    let mean_motion_rev_per_day = l2.decimal("mean motion", (53, 63))?;
    let rev_number = l2.unsigned("revolution number", (64, 68))?;
    l2.check_checksum()?;

    if catalog1 != catalog2 {
        return Err(ElementsError::CatalogMismatch { line1: catalog1.get(), line2: catalog2.get() });
    }

    let set = ElementSet {
        norad_id: catalog1,
        name: name.map(clean_name).filter(|n| !n.is_empty()).map(str::to_owned),
        international_designator: (!designator.is_empty()).then(|| designator.to_owned()),
        classification,
        epoch,
        mean_motion_dot,
        mean_motion_ddot,
        bstar,
        inclination_deg,
        raan_deg,
        eccentricity,
        arg_perigee_deg,
        mean_anomaly_deg,
        mean_motion_rev_per_day,
        element_set_number,
        rev_number,
        format: ElementFormat::Tle,
    };
    check_ranges(&set)?;
    Ok(set)
}

/// Parses a TLE catalog: 2-line and 3-line records mixed, CRLF or LF, blank lines
/// and `#` comment lines skipped.
///
/// A name line is any other non-empty line directly before a line 1; a leading `0 `
/// (Space-Track 3LE style) is stripped. A bad record is listed in `rejected` and the
/// parser resynchronises on the next line starting `1 `, so one corrupted record
/// never shifts the records after it.
pub fn parse_tle_catalog(text: &str) -> ParsedCatalog {
    let lines: Vec<(usize, &str)> = significant_lines(super::strip_bom(text)).collect();
    let mut element_sets = Vec::with_capacity(lines.len() / 3 + 1);
    let mut rejected = Vec::new();
    let mut name: Option<(usize, &str)> = None;
    let mut i = 0;
    while let Some(&(line_no, line)) = lines.get(i) {
        let next_is = |offset: usize, prefix: &str| lines.get(i + offset).is_some_and(|(_, l)| l.starts_with(prefix));
        let record_line = name.map_or(line_no, |(n, _)| n);
        if line.starts_with("1 ") {
            if next_is(1, "2 ") {
                let line2 = lines.get(i + 1).map_or("", |(_, l)| l);
                match parse_tle(name.map(|(_, n)| n), line, line2) {
                    Ok(set) => element_sets.push(set),
                    Err(error) => rejected.push(RejectedRecord {
                        line: record_line,
                        norad_id: catalog_hint(line).or_else(|| catalog_hint(line2)),
                        error,
                        format: ElementFormat::Tle,
                    }),
                }
                name = None;
                i += 2;
                continue;
            }
            if next_is(1, "1 ") && next_is(2, "2 ") {
                // An object whose name happens to start with "1 ": the real line 1 follows.
                name = Some((line_no, line));
                i += 1;
                continue;
            }
            rejected.push(RejectedRecord {
                line: record_line,
                norad_id: catalog_hint(line),
                error: ElementsError::MissingLine2,
                format: ElementFormat::Tle,
            });
            name = None;
        } else if line.starts_with("2 ") {
            rejected.push(RejectedRecord {
                line: record_line,
                norad_id: catalog_hint(line),
                error: ElementsError::OrphanLine2,
                format: ElementFormat::Tle,
            });
            name = None;
        } else {
            name = Some((line_no, line));
        }
        i += 1;
    }
    ParsedCatalog { format: ElementFormat::Tle, element_sets, rejected }
}

/// True when some line starting `1 ` is followed by one starting `2 ` (format detection).
pub(super) fn has_tle_pair(text: &str) -> bool {
    let mut previous_is_line1 = false;
    for (_, line) in significant_lines(text) {
        if previous_is_line1 && line.starts_with("2 ") {
            return true;
        }
        previous_is_line1 = line.starts_with("1 ");
    }
    false
}

/// Non-blank, non-comment lines with their 1-based line numbers, trimmed.
fn significant_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

/// Space-Track 3LE name lines start with `0 `; CelesTrak pads names with spaces.
fn clean_name(name: &str) -> &str {
    let name = name.trim();
    if name == "0" {
        return "";
    }
    name.strip_prefix("0 ").unwrap_or(name).trim()
}

/// The catalog number of a broken line, if columns 3-7 still hold one, so a rejected
/// record can name its object.
fn catalog_hint(line: &str) -> Option<NoradId> {
    let field = line.get(2..7)?;
    parse_catalog_number(field).ok()
}

/// Decodes columns 3-7: up to 5 digits, or Alpha-5 (a letter A-Z without I and O
/// standing for 10..=33, then 4 digits) for catalog numbers 100000..=339999.
fn parse_catalog_number(field: &str) -> Result<NoradId, &'static str> {
    let t = field.trim();
    let bytes = t.as_bytes();
    if bytes.len() > 5 {
        return Err("has more than 5 characters");
    }
    let (&first, rest) = bytes.split_first().ok_or("is blank")?;
    if !rest.iter().all(u8::is_ascii_digit) {
        return Err("must be digits, optionally led by one Alpha-5 letter");
    }
    let rest_value = rest.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    let value = match first {
        b'0'..=b'9' => u32::from(first - b'0') * 10u32.pow(rest.len() as u32) + rest_value,
        b'I' | b'O' => return Err("Alpha-5 excludes the letters I and O"),
        b'A'..=b'Z' => {
            if rest.len() != 4 {
                return Err("an Alpha-5 letter must be followed by 4 digits");
            }
            // A=10 .. H=17, J=18 .. N=22, P=23 .. Z=33: I and O are skipped.
            let skipped = u32::from(first > b'I') + u32::from(first > b'O');
            let letter_value = u32::from(first - b'A') + 10 - skipped;
            letter_value * 10_000 + rest_value
        }
        _ => return Err("must be digits, optionally led by one Alpha-5 letter"),
    };
    NoradId::new(u64::from(value)).map_err(|_| "catalog number 0 is not assigned to any object")
}

/// One TLE line, known to be ASCII and at least 69 columns long.
struct TleLine<'a> {
    text: &'a str,
    number: u8,
}

impl<'a> TleLine<'a> {
    fn new(line: &'a str, number: u8) -> Result<Self, ElementsError> {
        let text = line.trim_end();
        let first = text.chars().next();
        if first != Some(char::from(b'0' + number)) {
            return Err(ElementsError::LineNumber { line: number, found: first.map(String::from).unwrap_or_default() });
        }
        if let Some(pos) = text.bytes().take(TLE_COLUMNS).position(|b| !b.is_ascii()) {
            return Err(ElementsError::NonAscii { line: number, column: pos + 1 });
        }
        if text.len() < TLE_COLUMNS {
            return Err(ElementsError::LineLength { line: number, len: text.len() });
        }
        Ok(Self { text, number })
    }

    /// Columns `first..=last`, 1-based. Empty only if out of range, which `new` rules out.
    fn text(&self, first: usize, last: usize) -> &'a str {
        self.text.get(first - 1..last).unwrap_or_default()
    }

    fn byte(&self, column: usize) -> u8 {
        self.text.as_bytes().get(column - 1).copied().unwrap_or(b' ')
    }

    fn field_error(&self, field: &'static str, columns: (usize, usize), reason: &'static str) -> ElementsError {
        ElementsError::Field {
            line: self.number,
            field,
            columns,
            text: self.text(columns.0, columns.1).to_owned(),
            reason,
        }
    }

    fn catalog_number(&self) -> Result<NoradId, ElementsError> {
        parse_catalog_number(self.text(3, 7)).map_err(|reason| self.field_error("catalog number", (3, 7), reason))
    }

    fn check_checksum(&self) -> Result<(), ElementsError> {
        let expected = self
            .text
            .as_bytes()
            .get(..TLE_COLUMNS - 1)
            .unwrap_or_default()
            .iter()
            .map(|&b| match b {
                b'0'..=b'9' => u32::from(b - b'0'),
                b'-' => 1,
                _ => 0,
            })
            .sum::<u32>()
            % 10;
        let found = self.byte(TLE_COLUMNS);
        if u32::from(found.wrapping_sub(b'0')) == expected {
            Ok(())
        } else {
            Err(ElementsError::Checksum { line: self.number, expected: expected as u8, found: char::from(found) })
        }
    }

    /// A plain decimal with optional sign and point (`-.00000084`, `+.00001666`, `51.6416`).
    fn decimal(&self, field: &'static str, columns: (usize, usize)) -> Result<f64, ElementsError> {
        let t = self.text(columns.0, columns.1).trim();
        let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
        let digits = unsigned.bytes().filter(u8::is_ascii_digit).count();
        let points = unsigned.bytes().filter(|&b| b == b'.').count();
        if digits == 0 || points > 1 || digits + points != unsigned.len() {
            return Err(self.field_error(field, columns, "must be a decimal number (digits, one '.', optional sign)"));
        }
        t.parse().map_err(|_| self.field_error(field, columns, "must be a decimal number"))
    }

    /// The TLE implied-decimal exponent form: `-11606-4` = -0.11606e-4, ` 00000-0` = 0.
    fn implied_exponent(&self, field: &'static str, columns: (usize, usize)) -> Result<f64, ElementsError> {
        const REASON: &str = "must be the implied-decimal form [sign]ddddd[+-]d, e.g. -11606-4";
        let t = self.text(columns.0, columns.1).trim().as_bytes();
        let (sign, rest) = match t.split_first() {
            Some((&s @ (b'+' | b'-'), rest)) => (s, rest),
            _ => (b'+', t),
        };
        let [mantissa @ .., exp_sign @ (b'+' | b'-'), exp_digit @ b'0'..=b'9'] = rest else {
            return Err(self.field_error(field, columns, REASON));
        };
        if mantissa.is_empty() || mantissa.len() > 8 || !mantissa.iter().all(u8::is_ascii_digit) {
            return Err(self.field_error(field, columns, REASON));
        }
        // Build "-0.11606e-4" on the stack and let the standard library round it
        // correctly, so the value is the nearest f64 to what the text says.
        let mut buf = [0u8; 16];
        let mut len = 0;
        for &b in [sign, b'0', b'.'].iter().chain(mantissa).chain(&[b'e', *exp_sign, *exp_digit]) {
            buf[len] = b;
            len += 1;
        }
        std::str::from_utf8(&buf[..len])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| self.field_error(field, columns, REASON))
    }

    /// Digits right-aligned in the field; blank means 0 (the standard leaves element
    /// set and revolution numbers blank in some historical sets, e.g. Vallado's 11801).
    fn unsigned(&self, field: &'static str, columns: (usize, usize)) -> Result<u32, ElementsError> {
        let t = self.text(columns.0, columns.1).trim();
        if !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.field_error(field, columns, "must be digits or blank"));
        }
        Ok(t.bytes().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')))
    }

    /// Columns 27-33: seven digits after an implied leading decimal point.
    fn eccentricity(&self) -> Result<f64, ElementsError> {
        let t = self.text(27, 33).trim_start();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.field_error(
                "eccentricity",
                (27, 33),
                "must be 7 digits with an implied leading decimal point",
            ));
        }
        let value = t.bytes().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
        Ok(f64::from(value) / 1e7)
    }

    /// Columns 19-20 (two-digit year: 57-99 are 19xx, 00-56 are 20xx) and 21-32
    /// (day of year with fraction), to the nearest microsecond. The fraction is
    /// converted with integer arithmetic so the epoch is exact to the microsecond.
    fn epoch(&self) -> Result<NaiveDateTime, ElementsError> {
        let year_text = self.text(19, 20);
        let year_bytes = year_text.as_bytes();
        if year_bytes.len() != 2 || !year_bytes.iter().all(u8::is_ascii_digit) {
            return Err(self.field_error("epoch year", (19, 20), "must be two digits"));
        }
        let yy = i32::from(year_bytes[0] - b'0') * 10 + i32::from(year_bytes[1] - b'0');
        let year = if yy >= 57 { 1900 + yy } else { 2000 + yy };

        const DAY_COLUMNS: (usize, usize) = (21, 32);
        let day_text = self.text(DAY_COLUMNS.0, DAY_COLUMNS.1).trim();
        let (whole, fraction) = day_text.split_once('.').unwrap_or((day_text, ""));
        if whole.is_empty()
            || whole.len() > 3
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(self.field_error(
                "epoch day of year",
                DAY_COLUMNS,
                "must be a day of year with fraction, e.g. 127.09828712",
            ));
        }
        // At most 3 day digits and 11 fraction digits, so neither fold can overflow.
        let day = whole.bytes().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
        let numerator = fraction.bytes().fold(0u128, |acc, d| acc * 10 + u128::from(d - b'0'));
        let denominator = 10u128.pow(fraction.len() as u32);
        let micros = (numerator * MICROS_PER_DAY * 2 + denominator) / (denominator * 2);
        let start_of_day = NaiveDate::from_yo_opt(year, day).ok_or_else(|| {
            self.field_error("epoch day of year", DAY_COLUMNS, "day must be 1..=365 (366 in a leap year)")
        })?;
        let offset = TimeDelta::microseconds(micros as i64);
        start_of_day
            .and_time(chrono::NaiveTime::MIN)
            .checked_add_signed(offset)
            .ok_or_else(|| self.field_error("epoch day of year", DAY_COLUMNS, "epoch out of range"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS_1: &str = "1 25544U 98067A   14020.93268519  .00009878  00000-0  18200-3 0  5082";
    const ISS_2: &str = "2 25544  51.6498 109.4756 0003572  55.9686 274.8005 15.49815350868473";

    #[test]
    fn iss_reference_tle_reads_every_field() {
        let set = parse_tle(Some("0 ISS (ZARYA)   "), ISS_1, ISS_2).unwrap();
        assert_eq!(set.norad_id.get(), 25544);
        assert_eq!(set.name.as_deref(), Some("ISS (ZARYA)"));
        assert_eq!(set.international_designator.as_deref(), Some("98067A"));
        assert_eq!(set.classification, 'U');
        assert_eq!(set.epoch.to_string(), "2014-01-20 22:23:04.000416");
        assert_eq!(set.mean_motion_dot, 0.00009878);
        assert_eq!(set.mean_motion_ddot, 0.0);
        assert_eq!(set.bstar, 0.182e-3);
        assert_eq!(set.inclination_deg, 51.6498);
        assert_eq!(set.raan_deg, 109.4756);
        assert_eq!(set.eccentricity, 0.0003572);
        assert_eq!(set.arg_perigee_deg, 55.9686);
        assert_eq!(set.mean_anomaly_deg, 274.8005);
        assert_eq!(set.mean_motion_rev_per_day, 15.4981535);
        assert_eq!(set.element_set_number, 508);
        assert_eq!(set.rev_number, 86847);
    }

    #[test]
    fn alpha5_letters_map_around_i_and_o() {
        let n = |s| parse_catalog_number(s).map(NoradId::get);
        assert_eq!(n("A0000"), Ok(100_000));
        assert_eq!(n("H9999"), Ok(179_999));
        assert_eq!(n("J0000"), Ok(180_000));
        assert_eq!(n("N9999"), Ok(229_999));
        assert_eq!(n("P0000"), Ok(230_000));
        assert_eq!(n("Z9999"), Ok(339_999));
        assert_eq!(n("99999"), Ok(99_999));
        assert_eq!(n("   42"), Ok(42));
        assert!(n("I0000").is_err());
        assert!(n("O1234").is_err());
        assert!(n("a0000").is_err());
        assert!(n("00000").is_err());
        assert!(n("     ").is_err());
    }

    #[test]
    fn implied_exponent_fields_read_sign_mantissa_and_exponent() {
        let line = |field: &str| format!("1 25544U 98067A   14020.93268519  .00009878 {field}  18200-3 0  5082");
        let value = |field: &str| {
            let text = line(field);
            let l = TleLine::new(&text, 1).map_err(|e| e.to_string())?;
            l.implied_exponent("nddot", (45, 52)).map_err(|e| e.to_string())
        };
        assert_eq!(value(" 00000-0"), Ok(0.0));
        assert_eq!(value("-11606-4"), Ok(-0.11606e-4));
        assert_eq!(value("+73564-4"), Ok(0.73564e-4));
        assert_eq!(value(" 00000+0"), Ok(0.0));
        assert_eq!(value("  1234-5"), Ok(0.1234e-5));
        assert!(value(" 0000a-0").is_err());
        assert!(value(" 00000 0").is_err());
        assert!(value("        ").is_err());
    }

    #[test]
    fn epoch_day_fraction_rounds_to_the_microsecond() {
        let l1 = "1 41185U 16011A   26125.99919031  .00000000  00000-0  00000-0 0  9990";
        let l = TleLine::new(l1, 1).unwrap();
        assert_eq!(l.epoch().unwrap().to_string(), "2026-05-05 23:58:50.042784");
        let late = "1 41185U 16011A   99365.99999999  .00000000  00000-0  00000-0 0  9990";
        let l = TleLine::new(late, 1).unwrap();
        assert_eq!(l.epoch().unwrap().to_string(), "1999-12-31 23:59:59.999136");
        let bad_day = "1 41185U 16011A   25366.50000000  .00000000  00000-0  00000-0 0  9990";
        let l = TleLine::new(bad_day, 1).unwrap();
        assert!(matches!(l.epoch(), Err(ElementsError::Field { field: "epoch day of year", .. })));
    }

    #[test]
    fn a_twelve_digit_epoch_day_is_a_field_error_not_an_overflow() {
        // Found by fuzzing: the day-of-year fold overflowed u32 (a panic in debug builds).
        let line = "1 41185U 16011A   26123456789012  .00000000  00000-0  00000-0 0  9990";
        let l = TleLine::new(line, 1).unwrap();
        assert!(matches!(l.epoch(), Err(ElementsError::Field { field: "epoch day of year", .. })));
    }

    #[test]
    fn name_lines_lose_the_space_track_zero_prefix() {
        assert_eq!(clean_name("0 ISS (ZARYA)"), "ISS (ZARYA)");
        assert_eq!(clean_name("ORBCOMM FM06            "), "ORBCOMM FM06");
        assert_eq!(clean_name("0"), "");
        assert_eq!(clean_name("0RBITER"), "0RBITER");
    }

    #[test]
    fn a_name_starting_with_1_space_is_still_a_name() {
        let text = format!("1 HOPSAT\n{ISS_1}\n{ISS_2}\n");
        let parsed = parse_tle_catalog(&text);
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        assert_eq!(parsed.element_sets[0].name.as_deref(), Some("1 HOPSAT"));
    }

    #[test]
    fn detection_needs_a_line_1_followed_by_a_line_2() {
        assert!(has_tle_pair(&format!("NAME\r\n{ISS_1}\r\n{ISS_2}\r\n")));
        assert!(!has_tle_pair(&format!("{ISS_2}\n{ISS_1}\n")));
        assert!(!has_tle_pair("hello\nworld"));
    }
}

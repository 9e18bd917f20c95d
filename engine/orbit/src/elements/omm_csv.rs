//! CelesTrak OMM CSV (`gp.php?FORMAT=csv`): a header row naming the OMM keys, then
//! one object per row. Columns are found by header name, so their order is free.

use std::borrow::Cow;

use super::omm::{KEYS, LineCounter, REQUIRED, TextRecord, element_set_from_omm, norad_hint};
use super::{CatalogError, ElementFormat, ParsedCatalog, RejectedRecord, strip_bom};

/// Parses OMM CSV. A row that fails validation is rejected (with its line) and the
/// others still load. A header without one of the columns SGP4 needs is a
/// [`CatalogError::Csv`], since every row would fail the same way.
pub fn parse_omm_csv(text: &str) -> Result<ParsedCatalog, CatalogError> {
    let body = strip_bom(text);
    if body.trim().is_empty() {
        return Err(CatalogError::Empty);
    }
    let mut reader =
        csv::ReaderBuilder::new().has_headers(true).flexible(true).trim(csv::Trim::All).from_reader(body.as_bytes());
    let headers = reader.headers().map_err(|e| CatalogError::Csv(e.to_string()))?.clone();
    let columns: [Option<usize>; KEYS.len()] = KEYS.map(|key| headers.iter().position(|h| h == key));
    if let Some(missing) =
        REQUIRED.iter().find(|key| KEYS.iter().position(|k| k == *key).and_then(|i| columns[i]).is_none())
    {
        return Err(CatalogError::Csv(format!("the header row has no {missing} column")));
    }

    let mut element_sets = Vec::new();
    let mut rejected = Vec::new();
    let mut row = csv::StringRecord::new();
    let mut lines = LineCounter::new(body);
    loop {
        match reader.read_record(&mut row) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(CatalogError::Csv(e.to_string())),
        }
        // The csv crate's own line count lags one line behind after a CRLF, so the
        // line is counted here from the row's byte offset, which may point at the
        // line break that ended the previous row.
        let line = row.position().map_or(0, |p| {
            let mut start = usize::try_from(p.byte()).unwrap_or(usize::MAX);
            while matches!(body.as_bytes().get(start), Some(b'\r' | b'\n')) {
                start += 1;
            }
            lines.line_at(start as u64)
        });
        let mut record = TextRecord::default();
        for (slot, column) in record.values.iter_mut().zip(columns) {
            *slot = column.and_then(|c| row.get(c)).map(Cow::Borrowed);
        }
        match element_set_from_omm(&record, ElementFormat::OmmCsv) {
            Ok(set) => element_sets.push(set),
            Err(error) => rejected.push(RejectedRecord {
                line,
                norad_id: norad_hint(&record),
                error,
                format: ElementFormat::OmmCsv,
            }),
        }
    }
    Ok(ParsedCatalog { format: ElementFormat::OmmCsv, element_sets, rejected })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elements::ElementsError;

    const HEADER: &str = "OBJECT_NAME,OBJECT_ID,EPOCH,MEAN_MOTION,ECCENTRICITY,INCLINATION,RA_OF_ASC_NODE,ARG_OF_PERICENTER,MEAN_ANOMALY,EPHEMERIS_TYPE,CLASSIFICATION_TYPE,NORAD_CAT_ID,ELEMENT_SET_NO,REV_AT_EPOCH,BSTAR,MEAN_MOTION_DOT,MEAN_MOTION_DDOT";
    const ROW: &str = "\"VANGUARD 1, THE\",1958-002B,2020-10-13T04:52:48.472320,10.84869164,.1845686,34.2443,225.5254,162.2516,205.2356,0,U,5,999,21814,-.22483E-4,-1.6E-7,0";

    #[test]
    fn quoted_names_with_commas_load_and_short_rows_are_rejected_by_line() {
        let text = format!("{HEADER}\r\n{ROW}\r\nX,1958-002B,2020-10-13T04:52:48\r\n{ROW}\r\n");
        let parsed = parse_omm_csv(&text).unwrap();
        assert_eq!(parsed.element_sets.len(), 2);
        assert_eq!(parsed.element_sets[0].name.as_deref(), Some("VANGUARD 1, THE"));
        assert_eq!(parsed.rejected.len(), 1);
        assert_eq!(parsed.rejected[0].line, 3);
        assert!(matches!(parsed.rejected[0].error, ElementsError::MissingField(_)));
    }

    #[test]
    fn a_header_without_a_required_column_is_a_catalog_error() {
        let header = HEADER.replace(",BSTAR", ",B_STAR");
        let err = parse_omm_csv(&format!("{header}\n{ROW}\n")).unwrap_err();
        assert_eq!(err, CatalogError::Csv("the header row has no BSTAR column".to_owned()));
    }
}

//! CCSDS OMM XML 2.0 (`gp.php?FORMAT=xml`): one `<omm>`, or many inside an `<ndm>`.
//!
//! Each `<segment>` is one record. Values are read by element name wherever they
//! sit inside the segment (`<metadata>`, `<meanElements>`, `<tleParameters>`), so
//! producers that order or nest them differently still load. Namespace prefixes
//! are ignored.

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::events::Event;

use super::omm::{KEYS, LineCounter, TextRecord, element_set_from_omm, norad_hint};
use super::{CatalogError, ElementFormat, ParsedCatalog, RejectedRecord, strip_bom};

/// Parses OMM XML. A segment that fails validation is rejected (its
/// [`RejectedRecord::line`] is the line of its `<omm>` tag) and the others still
/// load; XML that is not well-formed is a [`CatalogError::Xml`] naming the line.
pub fn parse_omm_xml(text: &str) -> Result<ParsedCatalog, CatalogError> {
    let body = strip_bom(text);
    if body.trim().is_empty() {
        return Err(CatalogError::Empty);
    }
    // An XML declaration must come first, but files are often saved with leading
    // blank lines; skip them while keeping line numbers relative to the file.
    let xml = body.trim_start();
    let skipped = (body.len() - xml.len()) as u64;
    let mut reader = Reader::from_str(xml);
    let mut lines = LineCounter::new(body);
    let mut element_sets = Vec::new();
    let mut rejected = Vec::new();
    // Line of the most recent `<omm>` not yet claimed by a segment.
    let mut omm_line: Option<usize> = None;
    let mut record: Option<(usize, TextRecord<'_>)> = None;
    // Index into KEYS of the element whose text is being read.
    let mut open_key: Option<usize> = None;
    let mut root_checked = false;

    loop {
        let event = reader.read_event().map_err(|e| {
            let line = lines.line_at(skipped + reader.error_position());
            CatalogError::Xml(format!("line {line}: {e}"))
        })?;
        match event {
            Event::Start(start) => {
                let name = start.local_name();
                let name = name.as_ref();
                open_key = None;
                if !root_checked {
                    check_root(name)?;
                    root_checked = true;
                }
                if name == "omm" {
                    omm_line = Some(lines.line_at(skipped + reader.buffer_position()));
                } else if name == "segment" {
                    let line = omm_line.take().unwrap_or_else(|| lines.line_at(skipped + reader.buffer_position()));
                    record = Some((line, TextRecord::default()));
                } else if let Some((_, rec)) = record.as_mut() {
                    open_key = KEYS.iter().position(|k| *k == name);
                    if let Some(slot) = open_key.and_then(|i| rec.values.get_mut(i)) {
                        *slot = Some(Cow::Borrowed(""));
                    }
                }
            }
            Event::Text(t) => append(&mut record, open_key, t.into_inner()),
            Event::CData(t) => append(&mut record, open_key, t.into_inner()),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => match r.as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => {
                            let line = lines.line_at(skipped + reader.buffer_position());
                            return Err(CatalogError::Xml(format!("line {line}: unknown entity &{other};")));
                        }
                    },
                    Err(e) => {
                        let line = lines.line_at(skipped + reader.buffer_position());
                        return Err(CatalogError::Xml(format!("line {line}: {e}")));
                    }
                };
                append(&mut record, open_key, Cow::Owned(resolved.to_string()));
            }
            Event::End(end) => {
                open_key = None;
                if end.local_name().as_ref() == "segment"
                    && let Some((line, rec)) = record.take()
                {
                    match element_set_from_omm(&rec, ElementFormat::OmmXml) {
                        Ok(set) => element_sets.push(set),
                        Err(error) => rejected.push(RejectedRecord {
                            line,
                            norad_id: norad_hint(&rec),
                            error,
                            format: ElementFormat::OmmXml,
                        }),
                    }
                }
            }
            Event::Eof => break,
            Event::Empty(empty) => {
                open_key = None;
                if !root_checked {
                    check_root(empty.local_name().as_ref())?;
                    root_checked = true;
                }
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if let Some((line, _)) = record {
        return Err(CatalogError::Xml(format!("the <segment> opened at line {line} is not closed before the end")));
    }
    Ok(ParsedCatalog { format: ElementFormat::OmmXml, element_sets, rejected })
}

/// Other well-formed XML (an HTML error page, some unrelated document) would
/// otherwise load as an empty catalog without a word.
fn check_root(name: &str) -> Result<(), CatalogError> {
    if matches!(name, "ndm" | "omm") {
        return Ok(());
    }
    let shown: String = name.chars().take(40).collect();
    Err(CatalogError::Xml(format!("the root element is <{shown}>, not an OMM <ndm> or <omm>")))
}

/// Adds a piece of text to the value being read; values split by entity references
/// arrive in several pieces.
fn append<'a>(record: &mut Option<(usize, TextRecord<'a>)>, open_key: Option<usize>, piece: Cow<'a, str>) {
    let Some((_, rec)) = record.as_mut() else {
        return;
    };
    let Some(slot) = open_key.and_then(|i| rec.values.get_mut(i)) else {
        return;
    };
    match slot {
        Some(existing) if !existing.is_empty() => existing.to_mut().push_str(&piece),
        _ => *slot = Some(piece),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = "<omm><body><segment><metadata><OBJECT_NAME>A &amp; B</OBJECT_NAME></metadata><data><meanElements><EPOCH>2020-10-13T04:52:48.472320</EPOCH><MEAN_MOTION>10.84869164</MEAN_MOTION><ECCENTRICITY>.1845686</ECCENTRICITY><INCLINATION>34.2443</INCLINATION><RA_OF_ASC_NODE>225.5254</RA_OF_ASC_NODE><ARG_OF_PERICENTER>162.2516</ARG_OF_PERICENTER><MEAN_ANOMALY>205.2356</MEAN_ANOMALY></meanElements><tleParameters><NORAD_CAT_ID>5</NORAD_CAT_ID><BSTAR>-.22483E-4</BSTAR></tleParameters></data></segment></body></omm>";

    #[test]
    fn a_bare_omm_root_with_an_entity_in_the_name_loads() {
        let parsed = parse_omm_xml(ONE).unwrap();
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        assert_eq!(parsed.element_sets[0].name.as_deref(), Some("A & B"));
    }

    #[test]
    fn a_bad_segment_is_rejected_with_the_line_of_its_omm_tag() {
        let bad = ONE.replace("<BSTAR>-.22483E-4</BSTAR>", "<BSTAR>x</BSTAR>");
        let text = format!("<ndm>\r\n{ONE}\r\n{bad}\r\n</ndm>\r\n");
        let parsed = parse_omm_xml(&text).unwrap();
        assert_eq!(parsed.element_sets.len(), 1);
        assert_eq!(parsed.rejected.len(), 1);
        assert_eq!(parsed.rejected[0].line, 3);
        assert_eq!(parsed.rejected[0].norad_id.map(|n| n.get()), Some(5));
    }

    #[test]
    fn mismatched_tags_are_an_xml_error_with_a_line() {
        let err = parse_omm_xml("<ndm>\n<omm>\n</ndm>").unwrap_err();
        assert!(matches!(&err, CatalogError::Xml(m) if m.starts_with("line ")), "{err}");
        assert!(parse_omm_xml("<ndm><omm><body><segment>").is_err());
    }

    #[test]
    fn well_formed_xml_that_is_not_omm_is_an_error_not_an_empty_catalog() {
        let err = parse_omm_xml("<html><body>No GP data found</body></html>").unwrap_err();
        assert_eq!(err, CatalogError::Xml("the root element is <html>, not an OMM <ndm> or <omm>".to_owned()));
        assert!(parse_omm_xml("<?xml version=\"1.0\"?>\n<ndm/>").unwrap().element_sets.is_empty());
    }
}

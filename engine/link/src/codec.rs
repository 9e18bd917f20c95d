//! Bytes <-> [`Message`]: the one place outside input becomes a trusted value.

use std::collections::BTreeSet;
use std::fmt;

use serde::Deserializer;
use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};

use crate::message::{Message, Schema};
use crate::reject::Reject;
use crate::topic::{Topic, echo};
use crate::validate::validate;

/// Largest payload accepted (16 KiB). The largest legitimate message, a rig setpoint with 16
/// points and a full 4 KiB driver payload, is under 7 KiB.
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024;

/// Longest `Malformed` detail kept (serde's messages name the field and position).
const MAX_DETAIL: usize = 200;

/// Compact JSON, `schema` first, then the fields in the order the types declare them;
/// absent options are left out. Does not validate: publish through
/// [`crate::publication`], which does.
pub fn encode(message: &Message) -> Vec<u8> {
    match serde_json::to_vec(message) {
        Ok(bytes) => bytes,
        // Only maps with non-string keys or failing Serialize impls make serde_json fail;
        // the payload types have neither.
        Err(e) => unreachable!("payload types always serialize to JSON: {e}"),
    }
}

/// Parses and validates a message received on `topic`.
///
/// Checks, in order: the topic is a TALOS topic (`bad_topic`); the size
/// (`oversize`); UTF-8, JSON syntax, an object with a string `schema`, no duplicate keys,
/// no arrays but `points` (`malformed`); the schema is known (`unknown_schema`) and belongs
/// on the topic (`wrong_topic`); the fields (`malformed`: missing, unknown or mistyped, or
/// not fitting the `action`); the value ranges (`out_of_range`). Ordering and staleness
/// are the [`crate::SetpointGate`]'s job.
pub fn decode(topic: &str, payload: &[u8]) -> Result<Message, Reject> {
    let parsed = Topic::parse(topic).map_err(|error| Reject::BadTopic { topic: echo(topic), error })?;
    decode_on(&parsed, payload)
}

/// [`decode`] for an already parsed topic.
pub fn decode_on(topic: &Topic, payload: &[u8]) -> Result<Message, Reject> {
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(Reject::Oversize { len: payload.len(), max: MAX_PAYLOAD_BYTES });
    }
    if payload.is_empty() {
        return Err(malformed("empty payload (a cleared retained message?)"));
    }
    let text = std::str::from_utf8(payload).map_err(|e| malformed(format_args!("not UTF-8: {e}")))?;
    let name = shape(text).map_err(malformed)?;
    let schema = Schema::from_name(&name).ok_or_else(|| Reject::UnknownSchema { schema: echo(&name) })?;
    if !schema.fits(topic) {
        return Err(Reject::WrongTopic { schema, topic: topic.to_string() });
    }
    let message: Message = serde_json::from_str(text).map_err(malformed)?;
    validate(&message)?;
    Ok(message)
}

/// One pass over the JSON checking the shape every TALOS payload has, and returning its
/// `schema`: the top level is an object with a string `schema`; no object repeats a key;
/// the only arrays are `points`, and they hold objects. (serde's derived structs would
/// otherwise also accept a struct written as an array of its field values.)
fn shape(text: &str) -> Result<String, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let schema = de.deserialize_map(ObjectShape { top: true })?;
    de.end()?;
    schema.ok_or_else(|| serde_json::Error::missing_field("schema"))
}

/// An object; at the top level it yields the `schema` string.
struct ObjectShape {
    top: bool,
}

impl<'de> Visitor<'de> for ObjectShape {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = BTreeSet::new();
        let mut schema = None;
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                return Err(A::Error::custom(format_args!("duplicate field `{}`", echo(&key))));
            }
            if self.top && key == "schema" {
                schema = Some(map.next_value::<String>()?);
            } else {
                map.next_value_seed(ValueShape { key: &key })?;
            }
            seen.insert(key);
        }
        Ok(schema)
    }
}

impl<'de> DeserializeSeed<'de> for ObjectShape {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

/// Any value, found under `key`.
struct ValueShape<'k> {
    key: &'k str,
}

impl<'de> DeserializeSeed<'de> for ValueShape<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueShape<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        ObjectShape { top: false }.visit_map(map).map(drop)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.key != "points" {
            return Err(A::Error::custom(format_args!("`{}` must not be an array", echo(self.key))));
        }
        while seq.next_element_seed(ObjectShape { top: false })?.is_some() {}
        Ok(())
    }
}

fn malformed(detail: impl std::fmt::Display) -> Reject {
    Reject::Malformed { detail: truncate(detail.to_string(), MAX_DETAIL) }
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo".to_owned(), 2), "h...");
        assert_eq!(truncate("abc".to_owned(), 5), "abc");
    }
}

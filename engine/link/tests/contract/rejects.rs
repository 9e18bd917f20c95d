//! Every reject reason, reached through the public API the way an agent meets it.

use serde_json::{Value, json};
use talos_core::{OrgId, StationId};
use talos_link::{
    CmdLeaf, MAX_PAYLOAD_BYTES, Message, Reject, RejectCounters, RejectReason, Schema, StateLeaf, Topic, TopicError,
    decode, encode, publication,
};

use crate::examples::{self, ORG, STATION};

type Object = serde_json::Map<String, Value>;
type Edit = Box<dyn FnOnce(&mut Object)>;

/// Decodes the example `file` after `edit` changed its JSON, on the example's topic.
fn decode_edited(file: &str, edit: impl FnOnce(&mut Object)) -> Result<Message, Reject> {
    let (topic, mut value) = examples::json(file);
    edit(value.as_object_mut().unwrap());
    decode(&topic.to_string(), &serde_json::to_vec(&value).unwrap())
}

fn rejected(file: &str, edit: impl FnOnce(&mut Object)) -> Reject {
    match decode_edited(file, edit) {
        Ok(m) => panic!("{file}: accepted {m:?}"),
        Err(r) => r,
    }
}

fn assert_out_of_range(r: &Reject, field: &str) {
    match r {
        Reject::OutOfRange { field: f, .. } => assert_eq!(f, field, "{r}"),
        other => panic!("expected out_of_range on {field}, got {other:?}"),
    }
    assert_eq!(r.reason(), "out_of_range");
}

fn assert_malformed(r: &Reject, mentions: &str) {
    assert_eq!(r.reason(), "malformed", "{r}");
    assert!(r.to_string().contains(mentions), "{r:?} should mention {mentions:?}");
}

fn rot_bytes() -> Vec<u8> {
    encode(&Message::Rot(examples::rot()))
}

const ROT_TOPIC: &str = "talos/v1/1/7/cmd/rot";

#[test]
fn bad_topic_is_rejected_with_the_topic_error() {
    let r = decode("talos/v1/1/7/cmd/antenna", &rot_bytes()).unwrap_err();
    assert_eq!(r.reason(), "bad_topic");
    assert!(matches!(&r, Reject::BadTopic { error: TopicError::UnknownLeaf(l), .. } if l == "antenna"));
    assert!(r.to_string().contains("talos/v1/1/7/cmd/antenna"), "{r}");
    for topic in ["talos/v2/1/7/cmd/rot", "talos/v1/0/7/cmd/rot", "talos/v1/1/7/cmd/#", "talos/v1/1/7/cmd/rot/x"] {
        assert_eq!(decode(topic, &rot_bytes()).unwrap_err().reason(), "bad_topic", "{topic}");
    }
}

#[test]
fn oversize_is_rejected_before_parsing_and_the_cap_is_inclusive() {
    let mut padded = rot_bytes();
    padded.resize(MAX_PAYLOAD_BYTES, b' ');
    assert!(decode(ROT_TOPIC, &padded).is_ok(), "exactly the cap is accepted");
    padded.push(b' ');
    let r = decode(ROT_TOPIC, &padded).unwrap_err();
    assert_eq!(r, Reject::Oversize { len: MAX_PAYLOAD_BYTES + 1, max: MAX_PAYLOAD_BYTES });
    assert_eq!(r.reason(), "oversize");
    assert_eq!(r.to_string(), "payload of 16385 bytes exceeds the 16384-byte cap");
}

#[test]
fn malformed_syntax_is_rejected() {
    let cases: [(&[u8], &str); 8] = [
        (b"", "empty"),
        (b"\xff\xfe{}", "UTF-8"),
        (b"{\"schema\":\"talos.rot.v1\"", "EOF"),
        (b"[1,2,3]", "invalid type"),
        (b"{\"seq\":1}", "missing field `schema`"),
        (b"{\"schema\":1}", "invalid type"),
        (b"{\"schema\":\"talos.rot.v1\",\"seq\":NaN}", "expected value"),
        (b"{\"schema\":\"talos.heartbeat.v1\"} trailing", "trailing characters"),
    ];
    for (bytes, mentions) in cases {
        assert_malformed(&decode(ROT_TOPIC, bytes).unwrap_err(), mentions);
    }
    // Deep nesting is refused (serde_json's recursion limit), not a stack overflow.
    let arrays = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    assert_malformed(&decode(ROT_TOPIC, arrays.as_bytes()).unwrap_err(), "expected a JSON object");
    let objects = format!(r#"{{"schema":"talos.rot.v1","x":{}1{}"#, r#"{"a":"#.repeat(2_000), "}".repeat(2_001));
    assert_malformed(&decode(ROT_TOPIC, objects.as_bytes()).unwrap_err(), "recursion limit");
}

#[test]
fn malformed_fields_are_rejected_and_named() {
    assert_malformed(&rejected("rot.json", |m| drop(m.insert("speed".into(), json!(1)))), "unknown field `speed`");
    assert_malformed(&rejected("rot.json", |m| drop(m.remove("seq"))), "missing field `seq`");
    assert_malformed(&rejected("rot.json", |m| drop(m.insert("seq".into(), json!("12")))), "invalid type");
    assert_malformed(&rejected("rot.json", |m| drop(m.insert("seq".into(), json!(-1)))), "invalid value");
    assert_malformed(&rejected("rot.json", |m| drop(m.insert("seq".into(), json!(1.5)))), "invalid type");
    assert_malformed(&rejected("rot.json", |m| drop(m.insert("norad_id".into(), json!(0)))), "NORAD id 0");
    assert_malformed(
        &rejected("rot.json", |m| m["points"][0].as_object_mut().unwrap().extend([("range_km".into(), json!(1))])),
        "unknown field `range_km`",
    );
    assert_malformed(&rejected("rig.json", |m| m["driver"]["bytes_b64"] = json!("not base64!")), "bytes_b64");
    assert_malformed(&rejected("session_start.json", |m| drop(m.remove("aos_ms"))), "action start needs aos_ms");
    assert_malformed(&rejected("session_stop.json", |m| drop(m.insert("aos_ms".into(), json!(1)))), "no aos_ms");
    assert_malformed(
        &rejected("session_start.json", |m| drop(m.insert("action".into(), json!("pause")))),
        "unknown variant",
    );
    assert_malformed(&rejected("park.json", |m| drop(m.remove("el_deg"))), "needs az_deg and el_deg");
    assert_malformed(&rejected("park_stop.json", |m| drop(m.insert("az_deg".into(), json!(0.0)))), "takes no az_deg");
    assert_malformed(
        &rejected("status.json", |m| drop(m.insert("state".into(), json!("sleeping")))),
        "unknown variant",
    );
    assert_malformed(&rejected("config.json", |m| m["limits"]["az_min"] = json!(0.0)), "unknown field `az_min`");
}

#[test]
fn structs_written_as_arrays_are_malformed() {
    // serde's derived structs accept a sequence of field values; the contract does not.
    let as_array = br#"["talos.heartbeat.v1","director-0",3,1778155200000,86400]"#;
    assert_malformed(&decode("talos/v1/director/heartbeat", as_array).unwrap_err(), "expected a JSON object");
    assert_malformed(&rejected("rot.json", |m| drop(m.insert("points".into(), json!([[1, 2.0, 3.0]])))), "JSON object");
    assert_malformed(&rejected("config.json", |m| drop(m.insert("limits".into(), json!([0, 450, 0, 90])))), "`limits`");
    assert_malformed(&rejected("rot.json", |m| m["points"][0]["t_ms"] = json!([1])), "`t_ms` must not be an array");
}

#[test]
fn duplicate_keys_are_malformed_not_last_one_wins() {
    let dup_schema = br#"{"schema":"talos.heartbeat.v1","schema":"talos.heartbeat.v1","director_id":"d","lease_epoch":1,"t_ms":1,"tick":1}"#;
    assert_malformed(&decode("talos/v1/director/heartbeat", dup_schema).unwrap_err(), "duplicate field `schema`");
    let dup_field =
        br#"{"schema":"talos.heartbeat.v1","director_id":"d","lease_epoch":1,"lease_epoch":9,"t_ms":1,"tick":1}"#;
    assert_malformed(&decode("talos/v1/director/heartbeat", dup_field).unwrap_err(), "duplicate field `lease_epoch`");
    let dup_nested =
        br#"{"schema":"talos.park.v1","correlation_id":"c","lease_epoch":1,"action":"stop","x":{"a":1,"a":2}}"#;
    assert_malformed(&decode("talos/v1/1/7/cmd/session", dup_nested).unwrap_err(), "duplicate field `a`");
}

#[test]
fn long_malformed_details_are_truncated() {
    let field = "x".repeat(5_000);
    let r = rejected("heartbeat.json", |m| drop(m.insert(field.clone(), json!(1))));
    assert_eq!(r.reason(), "malformed");
    assert!(r.to_string().len() < 300, "{} bytes", r.to_string().len());
}

#[test]
fn config_defaults_apply_when_absent() {
    let m = decode_edited("config.json", |m| {
        m.remove("dead_man_ms");
        m.remove("heartbeat_timeout_ms");
    })
    .unwrap();
    let Message::Config(c) = m else { panic!("{m:?}") };
    assert_eq!((c.dead_man_ms, c.heartbeat_timeout_ms), (3_000, 10_000));
}

#[test]
fn optional_fields_may_be_null_or_absent() {
    let null = decode_edited("rot.json", |m| drop(m.insert("norad_id".into(), Value::Null))).unwrap();
    let absent = decode_edited("rot.json", |m| drop(m.remove("norad_id"))).unwrap();
    assert_eq!(null, absent);
    let Message::Rot(r) = null else { panic!() };
    assert_eq!(r.norad_id, None);
}

#[test]
fn unknown_schema_is_rejected_and_named() {
    for schema in ["talos.rot.v2", "talos.ROT.v1", "", "rot"] {
        let r = rejected("rot.json", |m| drop(m.insert("schema".into(), json!(schema))));
        assert_eq!(r, Reject::UnknownSchema { schema: schema.to_owned() });
        assert_eq!(r.reason(), "unknown_schema");
    }
    let long = "talos.".repeat(1_000);
    let r = rejected("rot.json", |m| drop(m.insert("schema".into(), json!(long))));
    assert!(r.to_string().len() < 120, "{r}");
}

#[test]
fn a_known_schema_on_the_wrong_topic_is_rejected() {
    let (o, s) = (ORG, STATION);
    let cases = [
        (Topic::cmd(o, s, CmdLeaf::Rig), Schema::Rot),
        (Topic::cmd(o, s, CmdLeaf::Config), Schema::Rot),
        (Topic::state(o, s, StateLeaf::Rot), Schema::Rot),
        (Topic::Heartbeat, Schema::Rot),
    ];
    for (topic, schema) in cases {
        let r = decode(&topic.to_string(), &rot_bytes()).unwrap_err();
        assert_eq!(r, Reject::WrongTopic { schema, topic: topic.to_string() });
        assert_eq!(r.reason(), "wrong_topic");
    }
    // Every example on every other topic.
    let topics: Vec<Topic> = CmdLeaf::ALL
        .into_iter()
        .map(|l| Topic::cmd(o, s, l))
        .chain(StateLeaf::ALL.into_iter().map(|l| Topic::state(o, s, l)))
        .chain([Topic::Heartbeat])
        .collect();
    for e in examples::all() {
        for t in &topics {
            let result = decode(&t.to_string(), &encode(&e.message));
            assert_eq!(result.is_ok(), e.message.schema().fits(t), "{} on {t}", e.file);
            if let Err(r) = result {
                assert_eq!(r.reason(), "wrong_topic");
            }
        }
    }
    // A publisher cannot send it there either.
    let r = publication(&Topic::cmd(o, s, CmdLeaf::Rig), &Message::Rot(examples::rot())).unwrap_err();
    assert_eq!(r.reason(), "wrong_topic");
}

#[test]
fn out_of_range_values_are_rejected_and_the_field_named() {
    let r = rejected("rot.json", |m| m["points"][1]["az_deg"] = json!(800.5));
    assert_out_of_range(&r, "points[1].az_deg");
    assert_eq!(r.to_string(), "points[1].az_deg = 800.5 is out of range (expected a finite azimuth in -360..=720 deg)");

    let point = |t: i64| json!({"t_ms": t, "az_deg": 1.0, "el_deg": 1.0});
    let cases: Vec<(&str, &str, Edit)> = vec![
        ("rot.json", "points[0].az_deg", Box::new(|m| m["points"][0]["az_deg"] = json!(-360.001))),
        ("rot.json", "points[2].el_deg", Box::new(|m| m["points"][2]["el_deg"] = json!(90.01))),
        ("rot.json", "points[0].el_deg", Box::new(|m| m["points"][0]["el_deg"] = json!(-1e308))),
        ("rot.json", "seq", Box::new(|m| drop(m.insert("seq".into(), json!(0))))),
        ("rot.json", "seq", Box::new(|m| drop(m.insert("seq".into(), json!(1u64 << 53))))),
        ("rot.json", "lease_epoch", Box::new(|m| drop(m.insert("lease_epoch".into(), json!(u64::MAX))))),
        ("rot.json", "valid_until_ms", Box::new(|m| drop(m.insert("valid_until_ms".into(), json!(-1))))),
        ("rot.json", "points", Box::new(|m| drop(m.insert("points".into(), json!([]))))),
        ("rot.json", "points", Box::new(move |m| drop(m.insert("points".into(), (1..=17).map(point).collect())))),
        ("rot.json", "points[1].t_ms", Box::new(move |m| drop(m.insert("points".into(), json!([point(5), point(5)]))))),
        (
            "rot.json",
            "points[2].t_ms",
            Box::new(move |m| drop(m.insert("points".into(), json!([point(5), point(9), point(7)])))),
        ),
        ("rot.json", "points[0].t_ms", Box::new(move |m| drop(m.insert("points".into(), json!([point(-5)]))))),
        ("rig.json", "points[0].downlink_hz", Box::new(|m| m["points"][0]["downlink_hz"] = json!(0.5))),
        ("rig.json", "points[1].uplink_hz", Box::new(|m| m["points"][1]["uplink_hz"] = json!(300.1e9))),
        ("rig.json", "points[0]", Box::new(|m| m["points"][0].as_object_mut().unwrap().retain(|k, _| k == "t_ms"))),
        ("rig.json", "mode", Box::new(|m| drop(m.insert("mode".into(), json!("fm"))))),
        ("rig.json", "mode", Box::new(|m| drop(m.insert("mode".into(), json!(""))))),
        ("rig.json", "driver.plugin", Box::new(|m| m["driver"]["plugin"] = json!("icom ic9700"))),
        ("rig.json", "driver.bytes_b64", Box::new(|m| m["driver"]["bytes_b64"] = json!("A".repeat(4 * 1366)))),
        ("session_start.json", "los_ms", Box::new(|m| m["los_ms"] = m["aos_ms"].clone())),
        ("session_start.json", "correlation_id", Box::new(|m| drop(m.insert("correlation_id".into(), json!(""))))),
        (
            "session_start.json",
            "correlation_id",
            Box::new(|m| drop(m.insert("correlation_id".into(), json!("x".repeat(65))))),
        ),
        ("session_start.json", "assignment_id", Box::new(|m| drop(m.insert("assignment_id".into(), json!(0))))),
        ("park.json", "el_deg", Box::new(|m| drop(m.insert("el_deg".into(), json!(-91.0))))),
        ("config.json", "version", Box::new(|m| drop(m.insert("version".into(), json!(0))))),
        ("config.json", "limits.az_max_deg", Box::new(|m| m["limits"]["az_max_deg"] = json!(-10.0))),
        ("config.json", "limits.el_max_deg", Box::new(|m| m["limits"]["el_max_deg"] = json!(180.0))),
        ("config.json", "park.el_deg", Box::new(|m| m["limits"]["el_max_deg"] = json!(80.0))),
        ("config.json", "park.az_deg", Box::new(|m| m["park"]["az_deg"] = json!(451.0))),
        ("config.json", "slew.az_deg_s", Box::new(|m| m["slew"]["az_deg_s"] = json!(0.0))),
        ("config.json", "dead_man_ms", Box::new(|m| drop(m.insert("dead_man_ms".into(), json!(500))))),
        (
            "config.json",
            "heartbeat_timeout_ms",
            Box::new(|m| drop(m.insert("heartbeat_timeout_ms".into(), json!(3_600_000)))),
        ),
        ("status.json", "agent_version", Box::new(|m| drop(m.insert("agent_version".into(), json!("0.1.0 beta"))))),
        ("status.json", "reason", Box::new(|m| drop(m.insert("reason".into(), json!("line one\nline two"))))),
        ("status.json", "reason", Box::new(|m| drop(m.insert("reason".into(), json!("é".repeat(129)))))),
        ("status.json", "config_version", Box::new(|m| drop(m.insert("config_version".into(), json!(0))))),
        ("status_fault.json", "rejects.stale", Box::new(|m| m["rejects"]["stale"] = json!(1u64 << 53))),
        ("rotstate.json", "reported.az_deg", Box::new(|m| m["reported"]["az_deg"] = json!(1000.0))),
        ("rotstate.json", "applied_seq", Box::new(|m| drop(m.insert("applied_seq".into(), json!(0))))),
        ("rotstate.json", "fault", Box::new(|m| drop(m.insert("fault".into(), json!(""))))),
        ("rigstate.json", "frequency_hz", Box::new(|m| drop(m.insert("frequency_hz".into(), json!(0.0))))),
        ("rigstate.json", "mode", Box::new(|m| drop(m.insert("mode".into(), json!("USB\u{0}"))))),
        ("heartbeat.json", "director_id", Box::new(|m| drop(m.insert("director_id".into(), json!("director/0"))))),
        ("heartbeat.json", "t_ms", Box::new(|m| drop(m.insert("t_ms".into(), json!(i64::MAX))))),
    ];
    for (file, field, edit) in cases {
        let r = rejected(file, edit);
        assert_out_of_range(&r, field);
        assert!(r.to_string().starts_with(field), "{r}");
    }
}

#[test]
fn publishing_an_invalid_message_is_refused() {
    let mut rot = examples::rot();
    rot.points[0].az_deg = f64::NAN;
    let r = publication(&Topic::cmd(ORG, STATION, CmdLeaf::Rot), &Message::Rot(rot)).unwrap_err();
    assert_out_of_range(&r, "points[0].az_deg");
    assert!(r.to_string().contains("NaN"), "{r}");
}

#[test]
fn counters_record_every_reason_from_decode_and_gate() {
    use talos_core::UnixMs;
    use talos_link::SetpointGate;

    let mut counters = RejectCounters::new();
    let mut gate = SetpointGate::new();
    let rot = rot_bytes();
    let now = examples::T0;
    let mut feed = |topic: &str, bytes: &[u8], now: UnixMs| match decode(topic, bytes).and_then(|m| gate.admit(&m, now))
    {
        Ok(()) => {}
        Err(r) => {
            counters.record(&r);
        }
    };
    feed("talos/v9/1/7/cmd/rot", &rot, now);
    feed(ROT_TOPIC, &vec![b' '; MAX_PAYLOAD_BYTES + 1], now);
    feed(ROT_TOPIC, b"{", now);
    feed(ROT_TOPIC, br#"{"schema":"talos.rot.v9"}"#, now);
    feed("talos/v1/1/7/cmd/rig", &rot, now);
    feed(ROT_TOPIC, &rot, now); // accepted
    feed(ROT_TOPIC, &rot, now); // the same seq again
    feed(ROT_TOPIC, &rot, now.plus_ms(3_000)); // out of order beats stale
    let mut later = examples::rot();
    later.seq += 500;
    feed(ROT_TOPIC, &encode(&Message::Rot(later.clone())), now.plus_ms(3_000)); // stale
    later.lease_epoch = 2;
    later.valid_until_ms = now.plus_ms(10_000);
    feed(ROT_TOPIC, &encode(&Message::Rot(later)), now);
    let mut bad = examples::rot();
    bad.points[0].el_deg = 95.0;
    feed(ROT_TOPIC, &encode(&Message::Rot(bad)), now);

    let expected = [
        (RejectReason::BadTopic, 1),
        (RejectReason::Oversize, 1),
        (RejectReason::Malformed, 1),
        (RejectReason::UnknownSchema, 1),
        (RejectReason::WrongTopic, 1),
        (RejectReason::OutOfRange, 1),
        (RejectReason::Stale, 1),
        (RejectReason::OutOfOrder, 2),
        (RejectReason::OldEpoch, 1),
    ];
    assert_eq!(counters.iter().collect::<Vec<_>>(), expected);
    assert_eq!(counters.total(), 10);
}

#[test]
fn ids_in_the_topic_are_not_in_the_payload_so_a_payload_fits_any_station() {
    // A station's ACL is what stops it reading another's commands; the payload itself is
    // the same for every station.
    let bytes = rot_bytes();
    for (o, s) in [(1, 7), (2, 7), (1, 8)] {
        let topic = Topic::cmd(OrgId(o), StationId(s), CmdLeaf::Rot).to_string();
        assert!(decode(&topic, &bytes).is_ok());
    }
}

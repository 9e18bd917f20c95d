//! Each example encodes to its file in tests/golden/ byte for byte, and the file decodes to
//! the example. `TALOS_UPDATE_GOLDEN=1 cargo test -p talos-link` rewrites the files after a
//! deliberate change (which, for a released schema, should be a new schema instead).

use std::path::PathBuf;

use talos_link::{Schema, decode, encode};

use crate::examples;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

#[test]
fn every_example_encodes_to_its_golden_file_byte_for_byte() {
    let update = std::env::var_os("TALOS_UPDATE_GOLDEN").is_some();
    for e in examples::all() {
        let path = golden_dir().join(e.file);
        let encoded = encode(&e.message);
        if update {
            std::fs::write(&path, &encoded).unwrap();
        }
        let golden = std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        assert_eq!(
            String::from_utf8_lossy(&encoded),
            String::from_utf8_lossy(&golden),
            "{} differs from encode()",
            e.file
        );
        assert_eq!(encoded, golden, "{}", e.file);
    }
}

#[test]
fn every_golden_file_decodes_to_its_example_on_its_topic() {
    for e in examples::all() {
        let golden = std::fs::read(golden_dir().join(e.file)).unwrap();
        assert_eq!(decode(&e.topic.to_string(), &golden), Ok(e.message.clone()), "{}", e.file);
    }
}

#[test]
fn every_schema_has_a_golden_example_and_no_file_is_orphaned() {
    let all = examples::all();
    for schema in Schema::ALL {
        assert!(all.iter().any(|e| e.message.schema() == schema), "no golden example for {schema}");
    }
    for entry in std::fs::read_dir(golden_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(all.iter().any(|e| e.file == name), "tests/golden/{name} has no example");
    }
}

#[test]
fn the_readme_shows_every_golden_example_with_its_topic() {
    let readme = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for e in examples::all() {
        let pretty = serde_json::to_string_pretty(&e.message).unwrap();
        assert!(readme.contains(&pretty), "README.md lacks the example of {} as:\n{pretty}", e.file);
        let shown = format!("tests/golden/{}", e.file);
        assert!(readme.contains(&shown), "README.md does not name {shown}");
    }
}

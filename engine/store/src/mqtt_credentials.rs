//! MQTT credentials of station agents: a random password per station, kept only as a
//! Mosquitto `$7$` hash in `stations.agent_credential_hash`.
//!
//! The hash format is Mosquitto's own (`password_file` lines written by `mosquitto_passwd`
//! since 2.0): `$7$<iterations>$<base64 salt>$<base64 hash>`, PBKDF2-HMAC-SHA512 over the
//! password with a 12-byte random salt, 64 bytes of output, standard base64 with padding.
//! So the same string serves the password file of an external Mosquitto (written by
//! `talos mqtt mosquitto-config`) and the embedded broker's check on CONNECT.
//!
//! This is the one place the store sees an agent secret: it creates the password, hands it
//! back once ([`AgentCredential`]) and keeps only the hash.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use serde_json::json;
use sha2::Sha512;
use sqlx::Row;
use subtle::ConstantTimeEq;
use talos_core::{OrgId, StationId};

use crate::{Actor, Store, StoreError, audit, db_id, now, row_id};

/// PBKDF2 iterations of a new hash: Mosquitto's default (`mosquitto_passwd` writes 101).
///
/// Iterations slow down guessing a weak password from a stolen hash. These passwords are
/// 256 bits from the OS-seeded generator ([`generate_mqtt_password`]), so no amount of
/// guessing finds one and the iteration count adds nothing to their safety; keeping
/// Mosquitto's default keeps a CONNECT check cheap for a broker with thousands of agents.
pub const MQTT_HASH_ITERATIONS: u32 = 101;

/// Salt bytes of a new hash (Mosquitto's `SALT_LEN`).
const SALT_LEN: usize = 12;
/// Bytes of a PBKDF2-HMAC-SHA512 output in the `$7$` format.
const HASH_LEN: usize = 64;
/// Most iterations [`verify_mqtt_password`] computes; a hash asking for more is malformed
/// (it would stall the caller, e.g. a broker checking a CONNECT).
const MAX_ITERATIONS: u32 = 1_000_000;

/// A new agent password: 32 random bytes (256 bits), base64url without padding (43 characters,
/// safe in TOML, shells and URLs).
pub fn generate_mqtt_password() -> String {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    URL_SAFE_NO_PAD.encode(raw)
}

/// Mosquitto's `$7$` hash of `password` with a fresh random salt and
/// [`MQTT_HASH_ITERATIONS`] iterations.
pub fn hash_mqtt_password(password: &str) -> String {
    let mut salt = [0u8; SALT_LEN];
    rand::rng().fill_bytes(&mut salt);
    let digest = pbkdf2_sha512(password.as_bytes(), &salt, MQTT_HASH_ITERATIONS);
    format!("$7${MQTT_HASH_ITERATIONS}${}${}", STANDARD.encode(salt), STANDARD.encode(digest))
}

/// Whether `password` matches a `$7$` hash (ours or `mosquitto_passwd`'s). The digests are
/// compared in constant time. A malformed hash (another scheme, missing fields, bad base64,
/// a digest that is not 64 bytes, 0 or more than a million iterations) matches nothing.
pub fn verify_mqtt_password(password: &str, hash: &str) -> bool {
    let Some((iterations, salt, expected)) = parse_hash(hash) else { return false };
    let digest = pbkdf2_sha512(password.as_bytes(), &salt, iterations);
    bool::from(digest.as_slice().ct_eq(&expected))
}

fn parse_hash(hash: &str) -> Option<(u32, Vec<u8>, Vec<u8>)> {
    let mut fields = hash.strip_prefix("$7$")?.split('$');
    let (iterations, salt, digest) = (fields.next()?, fields.next()?, fields.next()?);
    if fields.next().is_some() || !iterations.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let iterations: u32 = iterations.parse().ok().filter(|n| (1..=MAX_ITERATIONS).contains(n))?;
    let salt = STANDARD.decode(salt).ok().filter(|s| !s.is_empty())?;
    let digest = STANDARD.decode(digest).ok().filter(|d| d.len() == HASH_LEN)?;
    Some((iterations, salt, digest))
}

fn pbkdf2_sha512(password: &[u8], salt: &[u8], iterations: u32) -> [u8; HASH_LEN] {
    let mut out = [0u8; HASH_LEN];
    pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out);
    out
}

/// A station agent's MQTT login, as issued: the password exists only here (and in the agent
/// config it is written into), the store keeps its hash.
#[derive(Clone, PartialEq, Eq)]
pub struct AgentCredential {
    pub org: OrgId,
    pub station: StationId,
    /// `station-{org}-{station}` ([`talos_link::station_username`]).
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for AgentCredential {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentCredential")
            .field("org", &self.org)
            .field("station", &self.station)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A station's stored credential: its MQTT username and the `$7$` hash of its password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationCredentialHash {
    pub org: OrgId,
    pub station: StationId,
    pub username: String,
    pub hash: String,
}

impl Store {
    /// New random password for the station's agent; stores only its hash (replacing any
    /// earlier one, so the old password stops working), audited
    /// (`station.credential_issued`, with the username, never the password) in the same
    /// transaction. NotFound if the station is not in the org.
    pub async fn issue_agent_credential(
        &self,
        actor: &Actor,
        org: OrgId,
        station: StationId,
    ) -> Result<AgentCredential, StoreError> {
        let password = generate_mqtt_password();
        let hash = hash_mqtt_password(&password);
        let username = talos_link::station_username(org, station);
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE stations SET agent_credential_hash = $3, updated_at_ms = $4 WHERE org_id = $1 AND id = $2",
        )
        .bind(db_id(org.0))
        .bind(db_id(station.0))
        .bind(&hash)
        .bind(now().0)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("station", station));
        }
        let details = json!({ "username": username });
        audit(&mut tx, actor, Some(org), "station.credential_issued", &format!("station:{station}"), &details).await?;
        tx.commit().await?;
        Ok(AgentCredential { org, station, username, password })
    }

    /// Every station that has a credential, of every organization, by org and station id
    /// (for the broker's password file / the embedded broker's auth).
    pub async fn agent_credential_hashes(&self) -> Result<Vec<StationCredentialHash>, StoreError> {
        let rows = sqlx::query(
            "SELECT org_id, id, agent_credential_hash FROM stations WHERE agent_credential_hash IS NOT NULL \
             ORDER BY org_id, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let org = OrgId(row_id(row, "org_id")?);
                let station = StationId(row_id(row, "id")?);
                Ok(StationCredentialHash {
                    org,
                    station,
                    username: talos_link::station_username(org, station),
                    hash: row.try_get("agent_credential_hash")?,
                })
            })
            .collect()
    }

    /// One station's hash (the embedded broker looks it up on CONNECT); `None` when the
    /// station has no credential or is not in that org.
    pub async fn agent_credential_hash(&self, org: OrgId, station: StationId) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT agent_credential_hash FROM stations WHERE org_id = $1 AND id = $2")
            .bind(db_id(org.0))
            .bind(db_id(station.0))
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => row.try_get("agent_credential_hash")?,
            None => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by `mosquitto_passwd -b` 2.0.11 for the password `secret123`.
    const MOSQUITTO_SECRET123: &str = "$7$101$xZqoN9/qlKKOF2VG$Fj+B559jW/EOWBoeo0Ud1ZsHQ5MGO5Cj+6MxgS1CuO+39tQKiQiZI+TZ1QBPiE5UhiLpilFVliMTDU7tRjmHHA==";

    #[test]
    fn a_hash_written_by_mosquitto_passwd_verifies() {
        assert!(verify_mqtt_password("secret123", MOSQUITTO_SECRET123));
        assert!(!verify_mqtt_password("secret124", MOSQUITTO_SECRET123));
        assert!(!verify_mqtt_password("", MOSQUITTO_SECRET123));
    }

    #[test]
    fn our_hashes_have_mosquittos_layout_and_verify() {
        let password = generate_mqtt_password();
        let hash = hash_mqtt_password(&password);
        let fields: Vec<&str> = hash.split('$').collect();
        assert_eq!(fields.len(), 5, "{hash}");
        assert_eq!((fields[0], fields[1], fields[2]), ("", "7", "101"), "{hash}");
        assert_eq!(STANDARD.decode(fields[3]).unwrap().len(), SALT_LEN);
        assert_eq!(fields[4].len(), 88, "64 bytes in padded base64: {hash}");
        assert_eq!(STANDARD.decode(fields[4]).unwrap().len(), HASH_LEN);
        assert!(verify_mqtt_password(&password, &hash));
        assert!(!verify_mqtt_password(&format!("{password}x"), &hash));
        // A new salt every time: the same password never hashes to the same string.
        let again = hash_mqtt_password(&password);
        assert_ne!(hash, again);
        assert!(verify_mqtt_password(&password, &again));
    }

    #[test]
    fn pbkdf2_matches_the_published_sha512_vector() {
        // RFC 6070's inputs with HMAC-SHA512 (the widely published vector for 1 iteration).
        let out = pbkdf2_sha512(b"password", b"salt", 1);
        assert_eq!(
            out[..16],
            [0x86, 0x7f, 0x70, 0xcf, 0x1a, 0xde, 0x02, 0xcf, 0xf3, 0x75, 0x25, 0x99, 0xa3, 0xa5, 0x3d, 0xc4]
        );
    }

    #[test]
    fn generated_passwords_are_256_bit_base64url_and_differ() {
        let (a, b) = (generate_mqtt_password(), generate_mqtt_password());
        assert_eq!(a.len(), 43);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn malformed_hashes_match_nothing() {
        let good = MOSQUITTO_SECRET123;
        let (salt, digest) = (
            "xZqoN9/qlKKOF2VG",
            "Fj+B559jW/EOWBoeo0Ud1ZsHQ5MGO5Cj+6MxgS1CuO+39tQKiQiZI+TZ1QBPiE5UhiLpilFVliMTDU7tRjmHHA==",
        );
        for bad in [
            String::new(),
            "secret123".to_owned(),
            good.replacen("$7$", "$6$", 1),
            good.replacen("$7$101$", "$7$$", 1),
            good.replacen("$7$101$", "$7$0$", 1),
            good.replacen("$7$101$", "$7$+101$", 1),
            good.replacen("$7$101$", "$7$99999999999$", 1),
            good.replacen("$7$101$", "$7$2000000$", 1),
            format!("$7$101${salt}"),
            format!("$7$101$${digest}"),
            format!("$7$101${salt}${digest}$"),
            format!("$7$101${salt}!${digest}"),
            format!("$7$101${salt}${}", &digest[..84]),
            format!("$7$101${salt}${}", digest.trim_end_matches('=')),
            format!("$7$101${salt}${}", STANDARD.encode([0u8; 32])),
        ] {
            assert!(!verify_mqtt_password("secret123", &bad), "{bad:?}");
        }
        assert!(verify_mqtt_password("secret123", &format!("$7$101${salt}${digest}")));
    }

    #[test]
    fn the_credential_debug_output_hides_the_password() {
        let c = AgentCredential {
            org: OrgId(1),
            station: StationId(2),
            username: "station-1-2".into(),
            password: "hunter2-hunter2".into(),
        };
        let debug = format!("{c:?}");
        assert!(debug.contains("station-1-2") && !debug.contains("hunter2"), "{debug}");
    }

    /// Runs `mosquitto_passwd -b` (the README's test prerequisites install it).
    fn mosquitto_passwd_hash(password: &str) -> String {
        let dir =
            std::env::temp_dir().join(format!("talos_mosquitto_passwd_{}_{}", std::process::id(), password.len()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("passwd");
        let out = std::process::Command::new("mosquitto_passwd")
            .args(["-c", "-b"])
            .arg(&file)
            .args(["someone", password])
            .output()
            .unwrap_or_else(|e| panic!("cannot run mosquitto_passwd ({e}): apt-get install mosquitto"));
        assert!(out.status.success(), "mosquitto_passwd: {}", String::from_utf8_lossy(&out.stderr));
        let line = std::fs::read_to_string(&file).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        line.trim_end().strip_prefix("someone:").unwrap_or_else(|| panic!("unexpected line {line:?}")).to_owned()
    }

    #[test]
    fn hashes_of_the_real_mosquitto_passwd_verify() {
        for password in [generate_mqtt_password(), "p@ss wörd:$7$ with \"quotes\"".to_owned(), "x".to_owned()] {
            let hash = mosquitto_passwd_hash(&password);
            assert!(hash.starts_with("$7$101$"), "{hash}");
            assert!(verify_mqtt_password(&password, &hash), "{password:?} against {hash}");
            assert!(!verify_mqtt_password(&format!("{password}!"), &hash));
        }
    }

    /// One MQTT 3.1.1 CONNECT with a username and password; the CONNACK's return code
    /// (0 accepted, 4 bad user name or password, 5 not authorized).
    fn connack_code(port: u16, username: &str, password: &str) -> u8 {
        use std::io::{Read, Write};
        let field = |s: &str| {
            let mut v = (s.len() as u16).to_be_bytes().to_vec();
            v.extend_from_slice(s.as_bytes());
            v
        };
        let mut body = field("MQTT");
        body.extend([4, 0b1100_0010, 0, 10]); // level 4; username, password, clean session; keep-alive 10 s
        body.extend(field("talos-store-test"));
        body.extend(field(username));
        body.extend(field(password));
        assert!(body.len() < 128, "one-byte remaining length");
        let mut packet = vec![0x10, body.len() as u8];
        packet.extend(body);
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        stream.write_all(&packet).unwrap();
        let mut connack = [0u8; 4];
        stream.read_exact(&mut connack).unwrap();
        assert_eq!(connack[..2], [0x20, 2], "a CONNACK");
        connack[3]
    }

    #[test]
    fn a_real_mosquitto_accepts_our_hash_and_refuses_a_wrong_password() {
        let password = generate_mqtt_password();
        let dir = std::env::temp_dir().join(format!("talos_mosquitto_accepts_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("passwd"), format!("station-1-2:{}\n", hash_mqtt_password(&password))).unwrap();
        let mut broker = None;
        for _ in 0..10 {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let conf = dir.join("mosquitto.conf");
            // `user root`: a broker started by root keeps the rights to read the file.
            std::fs::write(
                &conf,
                format!(
                    "user root\npersistence false\nlistener {port} 127.0.0.1\nallow_anonymous false\npassword_file {}\n",
                    dir.join("passwd").display()
                ),
            )
            .unwrap();
            let mut child = std::process::Command::new("/usr/sbin/mosquitto")
                .arg("-c")
                .arg(&conf)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start mosquitto ({e}): apt-get install mosquitto"));
            let up = (0..50).any(|_| {
                std::thread::sleep(std::time::Duration::from_millis(50));
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            });
            if up && child.try_wait().unwrap().is_none() {
                broker = Some((child, port));
                break;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let (mut child, port) = broker.expect("mosquitto started on a free port");
        let accepted = connack_code(port, "station-1-2", &password);
        let wrong = connack_code(port, "station-1-2", &format!("{password}x"));
        let _ = child.kill();
        let _ = child.wait();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(accepted, 0, "mosquitto accepts our $7$ hash");
        assert_ne!(wrong, 0, "mosquitto refuses a wrong password");
    }

    // ---- the store, on both backends ----

    use crate::{NewStation, Organization};

    fn station(name: &str) -> NewStation {
        NewStation {
            name: name.to_owned(),
            lat_deg: 52.2,
            lon_deg: 0.1,
            alt_m: 20.0,
            min_el_deg: 5.0,
            horizon_mask: None,
            az_min_deg: 0.0,
            az_max_deg: 450.0,
            el_min_deg: 0.0,
            el_max_deg: 90.0,
            az_slew_deg_s: 6.0,
            el_slew_deg_s: 6.0,
            park_az_deg: 0.0,
            park_el_deg: 90.0,
            rig: None,
            agent_credential_hash: None,
        }
    }

    async fn org(store: &Store, name: &str) -> Organization {
        store.create_organization(&Actor::System, name, None).await.unwrap()
    }

    async fn audit_actions(store: &Store, org: OrgId) -> Vec<(String, String, String)> {
        let page = store.list_audit(org, None, 100).await.unwrap();
        page.items.into_iter().map(|e| (e.action, e.target, e.details.to_string())).collect()
    }

    async fn issuing_stores_only_a_hash_that_verifies_and_a_reissue_revokes_the_old_password(store: Store) {
        let a = org(&store, "acme").await.id;
        let s = store.create_station(&Actor::System, a, &station("gs-1")).await.unwrap().id;
        assert_eq!(store.agent_credential_hash(a, s).await.unwrap(), None);
        let actor = Actor::ApiKey("tk_cli".into());
        let first = store.issue_agent_credential(&actor, a, s).await.unwrap();
        assert_eq!((first.org, first.station), (a, s));
        assert_eq!(first.username, format!("station-{}-{}", a.0, s.0));
        assert_eq!(talos_link::parse_station_username(&first.username), Some((a, s)));
        let stored = store.agent_credential_hash(a, s).await.unwrap().expect("a hash is stored");
        assert!(stored.starts_with("$7$101$"), "{stored}");
        assert!(!stored.contains(&first.password));
        assert!(verify_mqtt_password(&first.password, &stored));
        assert_eq!(store.get_station(a, s).await.unwrap().settings.agent_credential_hash.as_deref(), Some(&*stored));

        let second = store.issue_agent_credential(&actor, a, s).await.unwrap();
        assert_ne!(second.password, first.password);
        let replaced = store.agent_credential_hash(a, s).await.unwrap().unwrap();
        assert!(verify_mqtt_password(&second.password, &replaced));
        assert!(!verify_mqtt_password(&first.password, &replaced), "the old password stops working");

        let log = audit_actions(&store, a).await;
        let issued: Vec<_> = log.iter().filter(|(action, ..)| action == "station.credential_issued").collect();
        assert_eq!(issued.len(), 2, "{log:?}");
        for (_, target, details) in issued {
            assert_eq!(target, &format!("station:{s}"));
            assert!(details.contains(&first.username), "{details}");
            assert!(!details.contains(&first.password) && !details.contains(&second.password), "{details}");
        }
        let entries = store.list_audit(a, None, 1).await.unwrap().items;
        assert_eq!(entries[0].actor, actor, "the audit row names the actor");
    }

    async fn another_orgs_station_is_not_found_and_nothing_is_written(store: Store) {
        let mine = org(&store, "mine").await.id;
        let theirs = org(&store, "theirs").await.id;
        let s = store.create_station(&Actor::System, theirs, &station("their-gs")).await.unwrap().id;
        let before = audit_actions(&store, mine).await.len();
        let r = store.issue_agent_credential(&Actor::System, mine, s).await;
        assert!(matches!(r, Err(StoreError::NotFound { what: "station", .. })), "{r:?}");
        let missing = store.issue_agent_credential(&Actor::System, theirs, StationId(s.0 + 1000)).await;
        assert!(matches!(missing, Err(StoreError::NotFound { .. })), "{missing:?}");
        assert_eq!(store.agent_credential_hash(theirs, s).await.unwrap(), None);
        assert_eq!(audit_actions(&store, mine).await.len(), before);
        assert!(store.agent_credential_hashes().await.unwrap().is_empty());
        // Issued in its own org, the hash is still invisible through another org's id.
        store.issue_agent_credential(&Actor::System, theirs, s).await.unwrap();
        assert_eq!(store.agent_credential_hash(mine, s).await.unwrap(), None);
        assert!(store.agent_credential_hash(theirs, s).await.unwrap().is_some());
    }

    async fn the_hash_list_holds_every_credentialed_station_of_every_org_in_order(store: Store) {
        let a = org(&store, "a").await.id;
        let b = org(&store, "b").await.id;
        let a1 = store.create_station(&Actor::System, a, &station("a1")).await.unwrap().id;
        let a2 = store.create_station(&Actor::System, a, &station("a2")).await.unwrap().id;
        let b1 = store.create_station(&Actor::System, b, &station("b1")).await.unwrap().id;
        let _uncredentialed = store.create_station(&Actor::System, b, &station("b2")).await.unwrap().id;
        let mut issued = Vec::new();
        for (o, s) in [(b, b1), (a, a2), (a, a1)] {
            issued.push(store.issue_agent_credential(&Actor::System, o, s).await.unwrap());
        }
        let list = store.agent_credential_hashes().await.unwrap();
        let ids: Vec<_> = list.iter().map(|h| (h.org, h.station)).collect();
        assert_eq!(ids, vec![(a, a1), (a, a2), (b, b1)]);
        for h in &list {
            assert_eq!(h.username, talos_link::station_username(h.org, h.station));
            let credential = issued.iter().find(|c| c.station == h.station).unwrap();
            assert!(verify_mqtt_password(&credential.password, &h.hash), "{}", h.username);
            assert_eq!(store.agent_credential_hash(h.org, h.station).await.unwrap().as_deref(), Some(&*h.hash));
        }
    }

    crate::both_backends!(
        issuing_stores_only_a_hash_that_verifies_and_a_reissue_revokes_the_old_password,
        another_orgs_station_is_not_found_and_nothing_is_written,
        the_hash_list_holds_every_credentialed_station_of_every_org_in_order,
    );
}

-- TALOS initial schema (SQLite). Times are INTEGER milliseconds since the Unix epoch (UTC),
-- element-set epochs INTEGER microseconds (a TLE epoch resolves 0.864 ms). JSON is TEXT.
-- Keep equivalent to migrations/postgres/0001_initial.sql. Never edit once applied.

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE CHECK (length(email) BETWEEN 3 AND 320),
    -- Argon2id PHC string ($argon2id$...); hashing lives in the API crate.
    password_hash TEXT NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE memberships (
    org_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'operator', 'viewer')),
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    prefix TEXT NOT NULL UNIQUE,
    key_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires_at_ms INTEGER,
    last_used_at_ms INTEGER,
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX api_keys_org ON api_keys (org_id, id);

CREATE TABLE stations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    lat_deg REAL NOT NULL CHECK (lat_deg BETWEEN -90 AND 90),
    lon_deg REAL NOT NULL CHECK (lon_deg BETWEEN -180 AND 180),
    alt_m REAL NOT NULL CHECK (alt_m BETWEEN -500 AND 9000),
    min_el_deg REAL NOT NULL CHECK (min_el_deg BETWEEN -5 AND 90),
    horizon_mask TEXT,
    az_min_deg REAL NOT NULL,
    az_max_deg REAL NOT NULL,
    el_min_deg REAL NOT NULL,
    el_max_deg REAL NOT NULL,
    az_slew_deg_s REAL NOT NULL CHECK (az_slew_deg_s > 0),
    el_slew_deg_s REAL NOT NULL CHECK (el_slew_deg_s > 0),
    park_az_deg REAL NOT NULL,
    park_el_deg REAL NOT NULL,
    rig TEXT,
    agent_credential_hash TEXT,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    UNIQUE (org_id, name),
    CONSTRAINT stations_az_limits_check CHECK (az_min_deg < az_max_deg),
    CONSTRAINT stations_el_limits_check CHECK (el_min_deg < el_max_deg)
);
CREATE INDEX stations_org ON stations (org_id, id);

CREATE TABLE element_sets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    norad_id INTEGER NOT NULL CHECK (norad_id BETWEEN 1 AND 999999999),
    source TEXT NOT NULL,
    source_priority INTEGER NOT NULL,
    epoch_us INTEGER NOT NULL,
    name TEXT,
    international_designator TEXT,
    classification TEXT NOT NULL,
    mean_motion_dot REAL NOT NULL,
    mean_motion_ddot REAL NOT NULL,
    bstar REAL NOT NULL,
    inclination_deg REAL NOT NULL,
    raan_deg REAL NOT NULL,
    eccentricity REAL NOT NULL,
    arg_perigee_deg REAL NOT NULL,
    mean_anomaly_deg REAL NOT NULL,
    mean_motion_rev_per_day REAL NOT NULL,
    element_set_number INTEGER NOT NULL,
    rev_number INTEGER NOT NULL,
    format TEXT NOT NULL,
    fetched_at_ms INTEGER NOT NULL,
    UNIQUE (norad_id, source, epoch_us)
);

CREATE TABLE transmitters (
    uuid TEXT PRIMARY KEY,
    norad_id INTEGER NOT NULL CHECK (norad_id BETWEEN 1 AND 999999999),
    description TEXT NOT NULL,
    downlink_low_hz INTEGER CHECK (downlink_low_hz > 0),
    downlink_high_hz INTEGER,
    uplink_low_hz INTEGER,
    uplink_high_hz INTEGER,
    mode TEXT,
    invert INTEGER NOT NULL CHECK (invert IN (0, 1)),
    alive INTEGER NOT NULL CHECK (alive IN (0, 1)),
    status TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX transmitters_norad ON transmitters (norad_id);

CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    norad_id INTEGER NOT NULL CHECK (norad_id BETWEEN 1 AND 999999999),
    priority INTEGER NOT NULL,
    window_start_ms INTEGER,
    window_end_ms INTEGER,
    min_el_deg REAL NOT NULL CHECK (min_el_deg BETWEEN -5 AND 90),
    policy TEXT NOT NULL,
    transmitter_uuids TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    UNIQUE (org_id, name),
    CONSTRAINT campaigns_window_check CHECK (window_start_ms IS NULL OR window_end_ms IS NULL OR window_start_ms < window_end_ms)
);
CREATE INDEX campaigns_org ON campaigns (org_id, id);

CREATE TABLE assignments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    station_id INTEGER NOT NULL REFERENCES stations (id) ON DELETE CASCADE,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    created_at_ms INTEGER NOT NULL,
    UNIQUE (station_id, campaign_id)
);
CREATE INDEX assignments_org ON assignments (org_id, id);
CREATE INDEX assignments_campaign ON assignments (campaign_id);

-- Append-only: the store never updates or deletes rows here (org deletion keeps them).
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL,
    org_id INTEGER,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX audit_log_org ON audit_log (org_id, id);

-- Operator holds and tracking sessions (SQLite). Keep equivalent to the PostgreSQL file.

-- Set while an operator holds the station parked (`POST .../stations/{id}/commands`).
ALTER TABLE stations ADD COLUMN held_since_ms INTEGER;

-- What each station actually tracked: opened by the director's session start, closed
-- by its session stop (or marked interrupted when the director restarts mid-session).
-- Station and assignment ids are kept as plain values so history outlives them.
CREATE TABLE tracking_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    station_id INTEGER NOT NULL,
    assignment_id INTEGER NOT NULL,
    norad_id INTEGER NOT NULL CHECK (norad_id BETWEEN 1 AND 999999999),
    started_at_ms INTEGER NOT NULL,
    ended_at_ms INTEGER,
    outcome TEXT NOT NULL CHECK (outcome IN ('in_progress', 'completed', 'preempted', 'held', 'removed', 'interrupted')),
    CONSTRAINT tracking_sessions_order_check CHECK (ended_at_ms IS NULL OR ended_at_ms >= started_at_ms)
);
CREATE INDEX tracking_sessions_org ON tracking_sessions (org_id, id);
CREATE INDEX tracking_sessions_open ON tracking_sessions (station_id, assignment_id) WHERE ended_at_ms IS NULL;

#!/usr/bin/env python3
"""Generate Skyfield reference fixtures for the TALOS orbit crate tests.

Writes, next to this script:
  look_angles.json  az/el/range/range-rate samples per (satellite, station)
  passes.json       refined passes per (satellite, station, min elevation)

Conventions (they match the Rust engine):
  * SGP4: python-sgp4 via Skyfield, WGS72 constants, "improved" opsmode ('i').
  * TLE epochs and all times are UTC; UT1 == UTC exactly (constant
    delta_t = TT - UT1 = 32.184 s + 37 leap seconds = 69.184 s).
  * TEME -> Earth-fixed with IAU-1982 GMST, no polar motion (Skyfield's
    default: no polar motion table is installed).
  * WGS84 geodetic stations; geometric topocentric vectors (no light time,
    no aberration, no refraction).

Deterministic: no network, no downloads (built-in timescale tables, constant
delta_t), fixed random seeds.  Run:  python3 make_fixtures.py
"""

import datetime as _dt
import json
import math
import os
import random
import sys

import numpy as np
import sgp4
import skyfield
from sgp4.api import Satrec, WGS72
from skyfield.api import EarthSatellite, load, wgs84

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..', '..', '..', '..'))
TLE_FILE = os.path.join(REPO, 'data', 'tle', 'celestrak_active_2026-05-07.txt')
TLE_FILE_REL = 'data/tle/celestrak_active_2026-05-07.txt'

DELTA_T_S = 69.184          # 32.184 s (TT - TAI) + 37 s (TAI - UTC since 2017)
LEAP_SECONDS = 37

# (NORAD id, orbit kind, window hours)
SATELLITES = [
    (25544, 'LEO (ISS)', 24),
    (38771, 'LEO sun-synchronous (weather)', 24),
    (39444, 'LEO amateur cubesat (sun-synchronous)', 24),
    (52145, 'HEO Molniya (12 h, e~0.68)', 48),
    (58584, 'HEO Molniya (12 h, e~0.69)', 48),
    (48859, 'MEO GPS', 48),
    (40545, 'MEO Galileo', 48),
    (51850, 'GEO', 48),
]

# name, lat_deg (WGS84 geodetic), lon_deg (east positive), alt_m (above ellipsoid)
STATIONS = [
    ('Svalbard', 78.2297, 15.3975, 500.0),
    ('McMurdo', -77.8463, 166.6682, 10.0),
    ('Quito', -0.1807, -78.4678, 2850.0),
    ('Singapore', 1.3521, 103.8198, 15.0),
    ('Hobart', -42.8821, 147.3272, 50.0),
    ('Berlin', 52.5200, 13.4050, 35.0),
    ('Boulder', 40.0150, -105.2705, 1650.0),
    ('Taveuni (date line)', -16.8000, -179.9500, 20.0),
]

MIN_ELEVATIONS = [0.0, 10.0]
N_UNIFORM_LOOK = 8          # spread over 24 h
N_VISIBLE_LOOK = 4          # taken from passes (culminations etc.)
REFINE_TOL_S = 1e-4         # bisection / golden-section stopping width

# ---------------------------------------------------------------------------
# time helpers: all times are handled as UTC unix seconds (float) or ms (int)

UNIX_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
BASE = _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)   # no leap second in 2026
BASE_UNIX = int((BASE - UNIX_EPOCH).total_seconds())

ts = load.timescale(builtin=True, delta_t=DELTA_T_S)


def T(unix_s):
    """Skyfield Time for UTC unix seconds (float or array)."""
    return ts.utc(2026, 1, 1, 0, 0, np.asarray(unix_s, dtype=float) - BASE_UNIX)


def rfc3339(ms):
    d = UNIX_EPOCH + _dt.timedelta(milliseconds=int(ms))
    return d.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (d.microsecond // 1000)


def check_timescale():
    # UTC <-> Skyfield round trip and UT1 == UTC.
    for ms in (BASE_UNIX * 1000, 1778150000123, 1778400000999):
        t = T(ms / 1000.0)
        ref = UNIX_EPOCH + _dt.timedelta(milliseconds=ms)
        assert abs((t.utc_datetime() - ref).total_seconds()) < 1e-5, (t.utc_datetime(), ref)
        assert float(t._leap_seconds()) == LEAP_SECONDS
        utc_jd = 2440587.5 + ms / 86400000.0
        ut1_minus_utc_s = ((t.whole - 2440587.5) + t.ut1_fraction - ms / 86400000.0) * 86400.0
        assert abs(ut1_minus_utc_s) < 1e-3, ut1_minus_utc_s
        assert abs(float(t.dut1)) < 1e-9, t.dut1
        assert abs((t.ut1 - utc_jd) * 86400.0) < 1e-3
        assert abs((t.tt - t.ut1) * 86400.0 - DELTA_T_S) < 1e-3
    assert ts.polar_motion_table is None if hasattr(ts, 'polar_motion_table') else True


# ---------------------------------------------------------------------------
# TLEs

def read_tles(path):
    with open(path, 'rb') as f:
        lines = f.read().decode('ascii').splitlines()
    assert len(lines) % 3 == 0
    out = {}
    for i in range(0, len(lines), 3):
        name, l1, l2 = lines[i].rstrip(), lines[i + 1], lines[i + 2]
        assert l1.startswith('1 ') and l2.startswith('2 ') and len(l1) == 69 and len(l2) == 69
        out[int(l1[2:7])] = (name, l1, l2)
    return out


def epoch_unix_s(satrec):
    return ((satrec.jdsatepoch - 2440587.5) + satrec.jdsatepochF) * 86400.0


def window_start_ms(satrec):
    """TLE epoch rounded to the next whole minute (strictly after the epoch)."""
    return (int(math.floor(epoch_unix_s(satrec) / 60.0)) + 1) * 60000


# ---------------------------------------------------------------------------
# independent re-implementation of the engine pipeline (cross-check only)

def gmst82(jd_ut1):
    tut1 = (jd_ut1 - 2451545.0) / 36525.0
    temp = (-6.2e-6 * tut1 ** 3 + 0.093104 * tut1 ** 2
            + (876600.0 * 3600 + 8640184.812866) * tut1 + 67310.54841)
    return math.fmod(math.radians(temp) / 240.0, 2 * math.pi)


def wgs84_ecef(lat, lon, alt_m):
    a, f = 6378.137, 1.0 / 298.257223563
    e2 = f * (2 - f)
    la, lo, h = math.radians(lat), math.radians(lon), alt_m / 1000.0
    n = a / math.sqrt(1 - e2 * math.sin(la) ** 2)
    return np.array([(n + h) * math.cos(la) * math.cos(lo),
                     (n + h) * math.cos(la) * math.sin(lo),
                     (n * (1 - e2) + h) * math.sin(la)])


def engine_like_look(satrec, st, unix_s):
    jd = 2440587.5 + math.floor(unix_s / 86400.0)
    fr = (unix_s - math.floor(unix_s / 86400.0) * 86400.0) / 86400.0
    e, r, v = satrec.sgp4(jd, fr)
    assert e == 0
    th = gmst82(jd + fr)
    c, s = math.cos(th), math.sin(th)
    rot = np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]])
    w = 7.292115855306589e-05  # rad/s, d(GMST82)/dt; range rate does not depend on it
    r_e = rot @ np.array(r)
    v_e = rot @ np.array(v) - np.cross([0, 0, w], r_e)
    name, lat, lon, alt = st
    rel = r_e - wgs84_ecef(lat, lon, alt)
    la, lo = math.radians(lat), math.radians(lon)
    east = np.array([-math.sin(lo), math.cos(lo), 0])
    north = np.array([-math.sin(la) * math.cos(lo), -math.sin(la) * math.sin(lo), math.cos(la)])
    up = np.array([math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)])
    rng = np.linalg.norm(rel)
    el = math.degrees(math.asin(rel @ up / rng))
    az = math.degrees(math.atan2(rel @ east, rel @ north)) % 360.0
    return az, el, rng, rel @ v_e / rng


# ---------------------------------------------------------------------------
# Skyfield geometry

class Geometry:
    def __init__(self, sat, topos):
        self.diff = sat - topos
        self.topos = topos

    def elev(self, unix_s):
        """Elevation in degrees (scalar or array)."""
        alt, _, _ = self.diff.at(T(unix_s)).altaz()
        return alt.degrees

    def look(self, unix_s):
        top = self.diff.at(T(unix_s))
        alt, az, dist = top.altaz()
        _, _, rng, _, _, rr = top.frame_latlon_and_rates(self.topos)
        return az.degrees, alt.degrees, dist.km, rr.km_per_s, rng.km


def bisect_crossing(f, lo, hi, rising):
    """f(lo) and f(hi) bracket the root; return the crossing time (s)."""
    flo, fhi = f(lo), f(hi)
    if rising:
        assert flo < 0 <= fhi, (flo, fhi)
    else:
        assert flo >= 0 > fhi, (flo, fhi)
    while hi - lo > REFINE_TOL_S:
        mid = 0.5 * (lo + hi)
        fm = f(mid)
        if (fm >= 0) == rising:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def golden_max(f, a, b):
    """Maximise a unimodal f on [a, b]; returns x."""
    gr = (math.sqrt(5) - 1) / 2
    c, d = b - gr * (b - a), a + gr * (b - a)
    fc, fd = f(c), f(d)
    while b - a > REFINE_TOL_S:
        if fc >= fd:
            b, d, fd = d, c, fc
            c = b - gr * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + gr * (b - a)
            fd = f(d)
    x = 0.5 * (a + b)
    # the maximum may sit on an edge (cut passes)
    best = max([(f(a0), a0) for a0 in (a, b, x)])
    return best[1]


def refine_edge(geo, min_el, t_coarse, rising, t_lo_lim, t_hi_lim):
    f = lambda t: float(geo.elev(t)) - min_el
    h = 2.0
    while True:
        lo, hi = max(t_coarse - h, t_lo_lim), min(t_coarse + h, t_hi_lim)
        flo, fhi = f(lo), f(hi)
        ok = (flo < 0 <= fhi) if rising else (flo >= 0 > fhi)
        if ok:
            return bisect_crossing(f, lo, hi, rising)
        h *= 2
        if h > 4000:
            raise RuntimeError('cannot bracket %s at %s' % ('rise' if rising else 'set', t_coarse))


def refine_tca(geo, aos_s, los_s, step):
    n = max(int(math.ceil((los_s - aos_s) / step)), 2)
    grid = np.linspace(aos_s, los_s, n + 1)
    el = geo.elev(grid)
    k = int(np.argmax(el))
    a, b = grid[max(k - 1, 0)], grid[min(k + 1, n)]
    f = lambda t: float(geo.elev(t))
    t = golden_max(f, a, b)
    # report the secondary local maxima (for ill-conditioned long passes)
    locmax = [float(el[i]) for i in range(1, n) if el[i] >= el[i - 1] and el[i] >= el[i + 1]]
    return t, f(t), locmax


TCA_FLAT_DEG = 1e-6


def tca_flat_halfwidth(geo, tca_s, max_el, lo_lim, hi_lim):
    """How well TCA is determined: the larger of the two half-widths (s) of the
    interval around TCA on which elevation stays within TCA_FLAT_DEG of max_el
    (clipped to the pass).  ~0.01 s for LEO, minutes for GEO."""
    el_at_tca = float(geo.elev(tca_s))
    thresh = min(max_el, el_at_tca) - TCA_FLAT_DEG
    widths = []
    for side, lim in ((-1.0, lo_lim), (1.0, hi_lim)):
        room = abs(lim - tca_s)
        if room == 0.0:
            widths.append(0.0)
            continue
        inside, w = 0.0, min(1e-3, room)
        while float(geo.elev(tca_s + side * w)) >= thresh:
            inside = w
            if w >= room:
                break
            w = min(2 * w, room)
        if inside == w:          # flat up to the pass edge
            widths.append(room)
            continue
        lo, hi = inside, w
        while hi - lo > 1e-3 and hi - lo > 1e-4 * hi:
            mid = 0.5 * (lo + hi)
            if float(geo.elev(tca_s + side * mid)) >= thresh:
                lo = mid
            else:
                hi = mid
        widths.append(lo)
    return max(widths)


def find_passes(sat, geo, min_el, start_ms, end_ms, is_leo):
    """Passes above min_el in [start, end].

    Horizon crossings come from two independent sources, each refined by
    bisection: Skyfield's find_events() and a dense elevation grid (2 s for
    LEO, 10 s otherwise).  find_events() alone is not enough: it assumes one
    set/rise pair between consecutive culminations and misses a short dip
    below min_el between two culminations (seen for Galileo and Molniya
    passes).  The grid alone could miss a grazing pass shorter than its step.
    """
    t0s, t1s = start_ms / 1000.0, end_ms / 1000.0
    f = lambda t: float(geo.elev(t)) - min_el
    notes = []

    # 1. Skyfield events
    times, events = sat.find_events(geo.topos, T(t0s), T(t1s), altitude_degrees=min_el)
    ev_s = [(float((tt.whole - 2440587.5 + tt.tt_fraction) * 86400.0 - DELTA_T_S), int(e))
            for tt, e in zip(times, events)]
    sky_edges = []
    for t, e in ev_s:
        if e in (0, 2):
            sky_edges.append((refine_edge(geo, min_el, t, e == 0, t0s, t1s), e))

    # 2. dense grid
    gstep = 2.0 if is_leo else 10.0
    grid = np.arange(t0s, t1s, gstep)
    grid = np.append(grid, t1s)
    up = (geo.elev(grid) - min_el) >= 0
    grid_edges = []
    for i in np.nonzero(up[1:] != up[:-1])[0]:
        rising = bool(up[i + 1])
        grid_edges.append((bisect_crossing(f, grid[i], grid[i + 1], rising), 0 if rising else 2))

    # 3. merge (same crossing found twice: within 0.01 s)
    edges = sorted(grid_edges)
    for t, e in sky_edges:
        if not any(e == e2 and abs(t - t2) < 0.01 for t2, e2 in edges):
            edges.append((t, e))
            notes.append('crossing at %s (%s) found only by find_events'
                         % (rfc3339(int(round(t * 1000))), 'rise' if e == 0 else 'set'))
    for t, e in grid_edges:
        if not any(e == e2 and abs(t - t2) < 0.01 for t2, e2 in sky_edges):
            notes.append('crossing at %s (%s) missed by find_events'
                         % (rfc3339(int(round(t * 1000))), 'rise' if e == 0 else 'set'))
    edges.sort()

    above = up[0]
    intervals, cur = [], (t0s if above else None)
    for t, e in edges:
        if e == 0:
            assert cur is None, 'rise while above'
            cur = t
        else:
            assert cur is not None, 'set while below'
            intervals.append((cur, t))
            cur = None
    if cur is not None:
        intervals.append((cur, t1s))
    # culminations below min_el are not passes; every culmination at or above
    # min_el must fall inside one of the intervals
    for t, e in ev_s:
        if e == 1 and float(geo.elev(t)) >= min_el:
            assert any(a - 2 <= t <= b + 2 for a, b in intervals), ('culmination outside pass', t)

    step = 1.0 if is_leo else 10.0
    passes = []
    for a, b in intervals:
        aos_cut, los_cut = bool(a == t0s), bool(b == t1s)
        aos_ms = start_ms if aos_cut else int(round(a * 1000))
        los_ms = end_ms if los_cut else int(round(b * 1000))
        tca, max_el, locmax = refine_tca(geo, aos_ms / 1000.0, los_ms / 1000.0, step)
        tca_ms = int(round(tca * 1000))
        tca_ms = min(max(tca_ms, aos_ms), los_ms)
        if max_el < min_el:
            notes.append('skipped interval with max_el < min_el')
            continue
        assert aos_ms <= tca_ms <= los_ms
        az_aos = float(geo.look(aos_ms / 1000.0)[0])
        az_los = float(geo.look(los_ms / 1000.0)[0])
        if len(locmax) > 1:
            locmax.sort(reverse=True)
            notes.append('pass at %s has %d local elevation maxima; top two %.6f / %.6f deg'
                         % (rfc3339(aos_ms), len(locmax), locmax[0], locmax[1]))
        flat = tca_flat_halfwidth(geo, tca_ms / 1000.0, max_el, aos_ms / 1000.0, los_ms / 1000.0)
        if max_el - min_el < 0.05:
            notes.append('marginal pass at %s: max_el - min_el = %.6f deg'
                         % (rfc3339(aos_ms), max_el - min_el))
        passes.append({
            'aos': rfc3339(aos_ms), 'tca': rfc3339(tca_ms), 'los': rfc3339(los_ms),
            'aos_unix_ms': aos_ms, 'tca_unix_ms': tca_ms, 'los_unix_ms': los_ms,
            'max_el_deg': round(max_el, 6),
            'aos_az_deg': round(az_aos, 6), 'los_az_deg': round(az_los, 6),
            'aos_cut': aos_cut, 'los_cut': los_cut,
            'tca_flat_s': round(flat, 3),
        })
    return passes, notes


# ---------------------------------------------------------------------------

def main():
    check_timescale()
    tles = read_tles(TLE_FILE)

    sats = []
    for norad, kind, hours in SATELLITES:
        assert norad in tles, 'NORAD %d not in %s' % (norad, TLE_FILE_REL)
        name, l1, l2 = tles[norad]
        sat = EarthSatellite(l1, l2, name, ts)
        rec = Satrec.twoline2rv(l1, l2, WGS72)  # independent copy, opsmode 'i'
        assert sat.model.operationmode == 'i' and rec.operationmode == 'i'
        start_ms = window_start_ms(sat.model)
        sats.append(dict(norad=norad, kind=kind, hours=hours, name=name, l1=l1, l2=l2,
                         sat=sat, rec=rec, start_ms=start_ms,
                         end_ms=start_ms + hours * 3600000,
                         is_leo=rec.no_kozai * 1440 / (2 * math.pi) > 6.4))
        print('satellite %5d %-24s %-40s epoch %s window %s +%dh  n=%.8f rev/day'
              % (norad, name, kind, rfc3339(int(round(epoch_unix_s(rec) * 1000))),
                 rfc3339(start_ms), hours, rec.no_kozai * 1440 / (2 * math.pi)))
    for st in STATIONS:
        print('station %-22s lat %9.4f lon %9.4f alt %6.0f m' % st)

    topo = {st[0]: wgs84.latlon(st[1], st[2], elevation_m=st[3]) for st in STATIONS}
    st_json = lambda st: {'name': st[0], 'lat_deg': st[1], 'lon_deg': st[2], 'alt_m': st[3]}

    generator = {
        'skyfield': skyfield.__version__, 'sgp4': sgp4.__version__, 'numpy': np.__version__,
        'python': sys.version.split()[0],
        'delta_t_s': DELTA_T_S,
        'notes': ('Skyfield EarthSatellite (python-sgp4, WGS72, opsmode i); timescale '
                  'load.timescale(builtin=True, delta_t=69.184) so UT1 == UTC; no polar motion; '
                  'TEME->ITRS via IAU-1982 GMST; WGS84 stations; geometric (no light time, '
                  'aberration or refraction). TLEs from ' + TLE_FILE_REL + ' (CelesTrak active, '
                  '2026-05-07). Windows start at the TLE epoch rounded up to the next whole '
                  'minute. AOS/LOS refined by bisection and TCA by golden-section search to '
                  '0.1 ms, then rounded to whole ms; crossings come from find_events() merged '
                  'with a dense elevation grid. tca_flat_s = half-width (s) of the interval '
                  'around TCA where elevation stays within 1e-6 deg of max_el (how well TCA is '
                  'defined: ~0.01-0.1 s for LEO, seconds for HEO/MEO, minutes for GEO). Range '
                  'rate = d|r|/dt in km/s (+ receding) from the SGP4 velocity (r.v/|r|, via '
                  'frame_latlon_and_rates); for SDP4 Molniya orbits this differs from a finite '
                  'difference of SGP4 positions by up to ~1.1 m/s near perigee (SGP4 property).'),
    }
    sat_json = [{'norad_id': s['norad'], 'name': s['name'], 'line1': s['l1'], 'line2': s['l2']}
                for s in sats]

    pass_entries, all_notes = [], []
    look_entries = []
    max_eng = 0.0
    fd_err = {}
    for si, s in enumerate(sats):
        for sti, st in enumerate(STATIONS):
            geo = Geometry(s['sat'], topo[st[0]])
            pair_passes = {}
            for min_el in MIN_ELEVATIONS:
                passes, notes = find_passes(s['sat'], geo, min_el, s['start_ms'], s['end_ms'],
                                            s['is_leo'])
                for n in notes:
                    all_notes.append('%s / %s / min_el %g: %s' % (s['name'], st[0], min_el, n))
                pair_passes[min_el] = passes
                for p in passes:
                    assert p['aos_unix_ms'] <= p['tca_unix_ms'] <= p['los_unix_ms']
                    assert p['max_el_deg'] >= min_el
                pass_entries.append({
                    'norad_id': s['norad'], 'name': s['name'], 'station': st_json(st),
                    'min_el_deg': min_el,
                    'start': rfc3339(s['start_ms']), 'end': rfc3339(s['end_ms']),
                    'start_unix_ms': s['start_ms'], 'end_unix_ms': s['end_ms'],
                    'passes': passes,
                })

            # look-angle sample times (first 24 h of the window)
            rng = random.Random(1000 * s['norad'] + sti)
            t24 = s['start_ms'] + 24 * 3600000
            times = set()
            for k in range(N_UNIFORM_LOOK):
                times.add(s['start_ms'] + k * 3 * 3600000 + rng.randrange(0, 3 * 3600000))
            vis = [p for p in pair_passes[0.0] if p['tca_unix_ms'] < t24]
            # culminations first, then points half-way between AOS and TCA and
            # between TCA and LOS (all above the horizon)
            cand = [p['tca_unix_ms'] for p in vis[:2]]
            for p in vis[:2]:
                cand.append((p['aos_unix_ms'] + p['tca_unix_ms']) // 2)
                cand.append((p['tca_unix_ms'] + p['los_unix_ms']) // 2)
            cand += [p['tca_unix_ms'] for p in vis[2:]]
            n_vis = 0
            for c in cand:
                if n_vis == N_VISIBLE_LOOK:
                    break
                if c not in times:
                    times.add(c)
                    n_vis += 1
            while len(times) < N_UNIFORM_LOOK + N_VISIBLE_LOOK:
                times.add(s['start_ms'] + rng.randrange(0, 24 * 3600000))
            times = sorted(times)
            az, el, dist, rr, rng_km = geo.look(np.array(times) / 1000.0)
            samples = []
            for i, ms in enumerate(times):
                # finite-difference check of range rate: central difference over
                # +-0.5 s.  For deep-space (SDP4) orbits the SGP4 velocity is not
                # exactly the derivative of the SGP4 position (the lunar-solar
                # periodics are applied to the elements but not differentiated):
                # up to ~1.2 m/s near a Molniya perigee.  Allow 2 m/s there.  The
                # fixture reports the SGP4-velocity-based value (what Skyfield and
                # an r.v/|r| engine compute), not the finite difference.
                d = geo.look(ms / 1000.0 + np.array([-0.5, 0.5]))[2]
                fd = d[1] - d[0]
                fd_err[s['norad']] = max(fd_err.get(s['norad'], 0.0), abs(fd - rr[i]))
                lim = 1e-4 if s['rec'].method == 'n' else 2e-3
                assert abs(fd - rr[i]) < lim, (s['name'], st[0], ms, fd, rr[i])
                assert abs(rng_km[i] - dist[i]) < 1e-9
                # independent engine-like pipeline
                e = engine_like_look(s['rec'], st, ms / 1000.0)
                daz = abs((e[0] - az[i] + 180.0) % 360.0 - 180.0) * math.cos(math.radians(el[i]))
                derr = max(daz, abs(e[1] - el[i]), abs(e[2] - dist[i]), 1000 * abs(e[3] - rr[i]))
                max_eng = max(max_eng, derr)
                assert derr < 1e-4, (s['name'], st[0], ms, e, az[i], el[i], dist[i], rr[i])
                samples.append({
                    't': rfc3339(ms), 't_unix_ms': ms,
                    'az_deg': round(float(az[i]), 6), 'el_deg': round(float(el[i]), 6),
                    'range_km': round(float(dist[i]), 6),
                    'range_rate_km_s': round(float(rr[i]), 9),
                })
            look_entries.append({'norad_id': s['norad'], 'name': s['name'],
                                 'station': st_json(st), 'samples': samples})
            print('%-24s %-22s passes(0deg)=%2d passes(10deg)=%2d visible looks=%d'
                  % (s['name'], st[0], len(pair_passes[0.0]), len(pair_passes[10.0]),
                     sum(1 for x in el if x > 0)))

    for s in sats:
        print('max |finite-difference(+-0.5 s) - range rate| %-24s (%s) = %.3e km/s'
              % (s['name'], 'SGP4' if s['rec'].method == 'n' else 'SDP4', fd_err[s['norad']]))
    print('max engine-like pipeline deviation (deg / km / m/s) = %.3e' % max_eng)
    for n in all_notes:
        print('NOTE', n)

    with open(os.path.join(HERE, 'look_angles.json'), 'w') as f:
        json.dump({'generator': generator, 'satellites': sat_json, 'pairs': look_entries},
                  f, indent=1)
        f.write('\n')
    with open(os.path.join(HERE, 'passes.json'), 'w') as f:
        json.dump({'generator': generator, 'satellites': sat_json, 'entries': pass_entries},
                  f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()

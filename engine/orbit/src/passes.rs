//! Pass finding: AOS, TCA and LOS of a satellite over a station within a window.
//!
//! Built for many stations per satellite (the director's case): the satellite is
//! propagated once over the window on a coarse grid (earth-fixed position and
//! velocity, one SGP4 call per sample), then each station scans that grid with a
//! handful of flops per sample, and only the few samples around a horizon crossing or
//! a culmination are refined, on a cubic Hermite interpolant of the grid (sub-metre
//! error at a 60 s step, so no further SGP4 calls). Stations that the satellite's
//! inclination and apogee can never bring above the horizon cost nothing.

use crate::frames::{EcefState, Observer, TemeToEcef, WGS84_A_KM, dot, sub};
use crate::horizon::HorizonMask;
use crate::look::{LookAngles, look_angles};
use crate::propagate::{PropagationError, Satellite};
use serde::Serialize;
use talos_core::{NoradId, UnixMs};

/// Refinement precision for event times, seconds.
const TIME_TOLERANCE_S: f64 = 1e-3;
/// Step of the fine scan used between coarse crossings when a horizon mask is set.
const MASK_SCAN_STEP_S: f64 = 5.0;
/// A culmination whose sampled sine of elevation is this far below the threshold
/// cannot reach it between samples (a LEO pass moves sin(el) by far less in one step
/// near its peak); closer ones are refined.
const PEAK_SEARCH_MARGIN: f64 = 0.3;
/// First, cheap location of a culmination between samples, s.
const COARSE_PEAK_TOLERANCE_S: f64 = 0.5;
/// How far below the threshold (in sin(el)) a coarse peak may be and still clear it once
/// refined: within 0.5 s of the true peak sin(el) is lower by at most curvature x 0.25 s^2 / 2,
/// under 1e-3 even for a 200 km orbit overhead.
const COARSE_PEAK_SLACK: f64 = 1e-3;

/// One pass of a satellite over a station.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pass {
    pub norad_id: NoradId,
    /// Acquisition of signal: rising through the threshold (or the window start when `aos_cut`).
    pub aos: UnixMs,
    /// Time of closest approach: maximum elevation.
    pub tca: UnixMs,
    /// Loss of signal: setting through the threshold (or the window end when `los_cut`).
    pub los: UnixMs,
    pub max_el_deg: f64,
    pub aos_az_deg: f64,
    pub los_az_deg: f64,
    /// The pass was already in progress at the window start.
    pub aos_cut: bool,
    /// The pass was still in progress at the window end.
    pub los_cut: bool,
}

impl Pass {
    pub fn duration_s(&self) -> f64 {
        (self.los.0 - self.aos.0) as f64 / 1000.0
    }
}

/// What counts as visible for one station.
#[derive(Debug, Clone, Copy)]
pub struct PassQuery<'a> {
    pub observer: &'a Observer,
    /// Minimum elevation everywhere, deg.
    pub min_el_deg: f64,
    /// Optional terrain mask; the effective threshold is the higher of the two.
    pub mask: Option<&'a HorizonMask>,
}

impl PassQuery<'_> {
    fn threshold_deg(&self, az_deg: f64) -> f64 {
        match self.mask {
            Some(mask) => self.min_el_deg.max(mask.el_at_deg(az_deg)),
            None => self.min_el_deg,
        }
    }

    /// The lowest threshold anywhere: the coarse scan's, so no pass above any part of the mask is missed.
    fn lowest_threshold_deg(&self) -> f64 {
        match self.mask {
            Some(mask) => self.min_el_deg.max(mask.min_el_deg()),
            None => self.min_el_deg,
        }
    }
}

/// A satellite's earth-fixed trajectory over a window, sampled on a uniform grid.
#[derive(Debug, Clone)]
pub struct SampledTrajectory {
    pub norad_id: NoradId,
    start: UnixMs,
    end: UnixMs,
    step_s: f64,
    states: Vec<EcefState>,
    /// Unit vectors from the earth's centre to each sample (shared by every station's scan).
    directions: Vec<[f64; 3]>,
    /// Largest geocentric distance and angular rate over the window: bound how fast the
    /// satellite can approach a station, so the scan can jump over samples where it cannot be up.
    max_radius_km: f64,
    max_angular_rate_rad_s: f64,
    apogee_alt_km: f64,
    inclination_deg: f64,
    /// Set when SGP4 failed inside the window; the trajectory stops at the last good sample.
    pub diverged: Option<PropagationError>,
}

impl SampledTrajectory {
    /// Samples `sat` from `start` to `end`. Fails only if the very first sample fails.
    pub fn sample(sat: &Satellite, start: UnixMs, end: UnixMs) -> Result<Self, PropagationError> {
        let step_s = grid_step_s(sat);
        let span_s = (end.0 - start.0).max(0) as f64 / 1000.0;
        let count = (span_s / step_s).ceil() as usize + 1;
        let mut states = Vec::with_capacity(count);
        let mut diverged = None;
        for i in 0..count {
            let t = start.plus_seconds_f64(i as f64 * step_s);
            match sat.state_ecef_with(t, &TemeToEcef::at(t)) {
                Ok(state) => states.push(state),
                Err(e) if i == 0 => return Err(e),
                Err(e) => {
                    diverged = Some(e);
                    break;
                }
            }
        }
        let mut directions = Vec::with_capacity(states.len());
        let (mut max_radius_km, mut max_angular_rate_rad_s) = (0f64, 0f64);
        for state in &states {
            let r = dot(state.pos_km, state.pos_km).sqrt();
            directions.push([state.pos_km[0] / r, state.pos_km[1] / r, state.pos_km[2] / r]);
            max_radius_km = max_radius_km.max(r);
            max_angular_rate_rad_s = max_angular_rate_rad_s.max(dot(state.vel_km_s, state.vel_km_s).sqrt() / r);
        }
        Ok(Self {
            norad_id: sat.norad_id,
            start,
            end,
            step_s,
            states,
            directions,
            max_radius_km,
            max_angular_rate_rad_s,
            apogee_alt_km: sat.apogee_alt_km,
            inclination_deg: sat.inclination_deg,
            diverged,
        })
    }

    pub fn start(&self) -> UnixMs {
        self.start
    }

    /// End of the usable window: the requested end, or the last good sample if SGP4 diverged.
    pub fn end(&self) -> UnixMs {
        let last_s = (self.states.len().saturating_sub(1)) as f64 * self.step_s;
        UnixMs(self.end.0.min(self.start.plus_seconds_f64(last_s).0))
    }

    fn span_s(&self) -> f64 {
        (self.end().0 - self.start.0) as f64 / 1000.0
    }

    fn time_at(&self, offset_s: f64) -> UnixMs {
        self.start.plus_seconds_f64(offset_s)
    }

    /// The grid segment holding `offset_s` and the position within it, u in [0, 1].
    #[inline]
    fn segment(&self, offset_s: f64) -> (usize, f64) {
        // Offsets are never negative: truncation is the floor, without a libm call.
        let segment = ((offset_s.max(0.0) / self.step_s) as usize).min(self.states.len() - 2);
        (segment, (offset_s - segment as f64 * self.step_s) / self.step_s)
    }

    /// Earth-fixed state at `offset_s` seconds after the start (cubic Hermite interpolation).
    pub fn state_at(&self, offset_s: f64) -> EcefState {
        if self.states.len() == 1 {
            return self.states[0];
        }
        let (segment, u) = self.segment(offset_s);
        let h = self.step_s;
        let (a, b) = (&self.states[segment], &self.states[segment + 1]);
        let (u2, u3) = (u * u, u * u * u);
        let (h00, h10, h01, h11) = (2.0 * u3 - 3.0 * u2 + 1.0, u3 - 2.0 * u2 + u, -2.0 * u3 + 3.0 * u2, u3 - u2);
        let (d00, d10, d01, d11) =
            (6.0 * u2 - 6.0 * u, 3.0 * u2 - 4.0 * u + 1.0, -6.0 * u2 + 6.0 * u, 3.0 * u2 - 2.0 * u);
        let mut state = EcefState::default();
        for k in 0..3 {
            state.pos_km[k] = h00 * a.pos_km[k] + h10 * h * a.vel_km_s[k] + h01 * b.pos_km[k] + h11 * h * b.vel_km_s[k];
            state.vel_km_s[k] =
                (d00 * a.pos_km[k] + d10 * h * a.vel_km_s[k] + d01 * b.pos_km[k] + d11 * h * b.vel_km_s[k]) / h;
        }
        state
    }

    /// Earth-fixed position only at `offset_s`: what the event searches evaluate, at half the cost.
    #[inline]
    fn position_at(&self, offset_s: f64) -> [f64; 3] {
        if self.states.len() == 1 {
            return self.states[0].pos_km;
        }
        let (segment, u) = self.segment(offset_s);
        let h = self.step_s;
        let (a, b) = (&self.states[segment], &self.states[segment + 1]);
        let (u2, u3) = (u * u, u * u * u);
        let (h00, h10, h01, h11) =
            (2.0 * u3 - 3.0 * u2 + 1.0, (u3 - 2.0 * u2 + u) * h, -2.0 * u3 + 3.0 * u2, (u3 - u2) * h);
        std::array::from_fn(|k| h00 * a.pos_km[k] + h10 * a.vel_km_s[k] + h01 * b.pos_km[k] + h11 * b.vel_km_s[k])
    }

    /// Look angles at `offset_s` from the interpolant.
    pub fn look_at(&self, observer: &Observer, offset_s: f64) -> LookAngles {
        look_angles(observer, &self.state_at(offset_s))
    }

    /// Whether the orbit can ever bring the satellite above `threshold_deg` for an
    /// observer: the sub-satellite latitude never exceeds the inclination, and the
    /// coverage circle at apogee bounds the reach (1 deg margin for geodetic latitude).
    fn can_ever_reach(&self, observer: &Observer, threshold_deg: f64) -> bool {
        let max_sub_lat_deg =
            if self.inclination_deg <= 90.0 { self.inclination_deg } else { 180.0 - self.inclination_deg };
        let reach_deg = coverage_half_angle_deg(self.apogee_alt_km, threshold_deg);
        observer.position.lat_deg().abs() - max_sub_lat_deg <= reach_deg + 1.0
    }
}

/// Grid step: about 100 samples per orbit, between 20 s and 60 s; geosynchronous
/// orbits barely move in the earth-fixed frame and take 300 s.
fn grid_step_s(sat: &Satellite) -> f64 {
    if sat.is_geosynchronous_like() { 300.0 } else { (sat.period_s / 100.0).clamp(20.0, 60.0) }
}

/// Earth-central half-angle of the circle from which a satellite at `alt_km` is seen
/// above `min_el_deg` (spherical earth).
pub fn coverage_half_angle_deg(alt_km: f64, min_el_deg: f64) -> f64 {
    let el = min_el_deg.to_radians();
    let ratio = WGS84_A_KM / (WGS84_A_KM + alt_km.max(0.0));
    ((ratio * el.cos()).clamp(-1.0, 1.0).acos() - el).to_degrees().max(0.0)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Crossing {
    Rise(f64),
    Set(f64),
}

/// Finds every pass of `traj`'s satellite for one station within the trajectory's window.
pub fn find_passes(traj: &SampledTrajectory, query: &PassQuery<'_>) -> Vec<Pass> {
    let lowest_deg = query.lowest_threshold_deg();
    if traj.states.is_empty() || !traj.can_ever_reach(query.observer, lowest_deg) {
        return Vec::new();
    }
    let observer = query.observer;
    let sin_threshold = lowest_deg.to_radians().sin();
    let span_s = traj.span_s();
    let step_s = traj.step_s;
    let usable = ((span_s / step_s).ceil() as usize + 1).min(traj.states.len());
    let g = |offset_s: f64| sin_elevation_at(traj, observer, offset_s) - sin_threshold;
    let sample_time = |i: usize| (i as f64 * step_s).min(span_s);

    // Jumping: the satellite cannot be above the lowest threshold while its geocentric
    // direction is farther from the observer's than the coverage half-angle at its highest
    // altitude (1 deg margin for the ellipsoid and the observer's height), and that angle
    // shrinks by at most `rate_per_step` per sample. Far from the station whole stretches
    // of the grid are skipped without evaluating them.
    let observer_radius_km = dot(observer.ecef_km, observer.ecef_km).sqrt();
    let observer_dir = observer.ecef_km.map(|x| x / observer_radius_km);
    let reach_rad = {
        let el = (lowest_deg - 1.0).clamp(-89.0, 89.0).to_radians();
        let ratio = (observer_radius_km / traj.max_radius_km).min(1.0);
        ((ratio * el.cos()).clamp(-1.0, 1.0).acos() - el + 1f64.to_radians()).max(0.0)
    };
    let rate_per_step = (traj.max_angular_rate_rad_s * 1.05 * step_s).max(1e-12);
    let cos_jump_limit = (reach_rad + 4.0 * rate_per_step).min(std::f64::consts::PI).cos();

    let mut crossings = Vec::new();
    let mut prev2 = f64::NAN;
    let mut prev = sin_el(observer, &traj.states[0]) - sin_threshold;
    let starts_visible = prev >= 0.0;
    let mut i = 1;
    while i < usable {
        if prev < 0.0 && dot(traj.directions[i], observer_dir) < cos_jump_limit {
            let theta = dot(traj.directions[i], observer_dir).clamp(-1.0, 1.0).acos();
            let clear_steps = ((theta - reach_rad) / rate_per_step).floor() as usize;
            // Samples i .. i + clear_steps are certainly below; resume two before the end of
            // that stretch so crossing and culmination checks have real neighbours again.
            let resume = (i + clear_steps).saturating_sub(2).min(usable - 1);
            if resume > i + 1 {
                prev = sin_el(observer, &traj.states[resume - 1]) - sin_threshold;
                prev2 = f64::NAN;
                i = resume;
                continue;
            }
        }
        // The last grid sample may lie past the window end: judge the window end itself.
        let cur =
            if i as f64 * step_s > span_s { g(span_s) } else { sin_el(observer, &traj.states[i]) - sin_threshold };
        let (ta, tb) = (sample_time(i - 1), sample_time(i));
        if prev < 0.0 && cur >= 0.0 {
            crossings.push(Crossing::Rise(find_root(&g, ta, tb)));
        } else if prev >= 0.0 && cur < 0.0 {
            crossings.push(Crossing::Set(find_root(&g, ta, tb)));
        } else if prev < 0.0 && prev > -PEAK_SEARCH_MARGIN && prev > prev2 && prev >= cur {
            // A culmination near sample i-1 that stayed below the threshold at the samples:
            // a short pass may peak above it in between.
            let t_lo = sample_time(i.saturating_sub(2));
            // Locate the culmination to 0.5 s first (sin(el) there is within ~1e-4 of the peak),
            // and refine to 1 ms only when it may clear the threshold.
            let (mut t_peak, mut g_peak) = maximize_to(&g, t_lo, tb, COARSE_PEAK_TOLERANCE_S);
            if g_peak >= -COARSE_PEAK_SLACK {
                (t_peak, g_peak) = maximize(&g, (t_peak - 1.0).max(t_lo), (t_peak + 1.0).min(tb));
            }
            if g_peak >= 0.0 {
                crossings.push(Crossing::Rise(find_root(&g, t_lo, t_peak)));
                crossings.push(Crossing::Set(find_root(&g, t_peak, tb)));
            }
        }
        prev2 = prev;
        prev = cur;
        i += 1;
    }

    let mut intervals = Vec::new();
    let mut open: Option<(f64, bool)> = starts_visible.then_some((0.0, true));
    for crossing in crossings {
        match (crossing, open) {
            (Crossing::Rise(t), None) => open = Some((t, false)),
            (Crossing::Set(t), Some((aos, cut))) => {
                intervals.push((aos, t, cut, false));
                open = None;
            }
            _ => {}
        }
    }
    if let Some((aos, cut)) = open {
        intervals.push((aos, span_s, cut, true));
    }

    let mut passes = Vec::with_capacity(intervals.len());
    for (aos_s, los_s, aos_cut, los_cut) in intervals {
        match query.mask {
            Some(_) => refine_with_mask(traj, query, aos_s, los_s, aos_cut, los_cut, &mut passes),
            None => passes.push(build_pass(traj, observer, aos_s, los_s, aos_cut, los_cut)),
        }
    }
    passes
}

/// Splits a coarse interval (found with the mask's lowest point) into the passes that
/// clear the mask at their own azimuths.
fn refine_with_mask(
    traj: &SampledTrajectory,
    query: &PassQuery<'_>,
    aos_s: f64,
    los_s: f64,
    aos_cut: bool,
    los_cut: bool,
    out: &mut Vec<Pass>,
) {
    let h = |offset_s: f64| {
        let look = traj.look_at(query.observer, offset_s);
        look.el_deg - query.threshold_deg(look.az_deg)
    };
    let steps = ((los_s - aos_s) / MASK_SCAN_STEP_S).ceil().max(1.0) as usize;
    let mut t_prev = aos_s;
    let mut h_prev = h(aos_s);
    let mut open = (h_prev >= 0.0).then_some((aos_s, aos_cut));
    for k in 1..=steps {
        let t = (aos_s + k as f64 * MASK_SCAN_STEP_S).min(los_s);
        let h_cur = h(t);
        if h_prev < 0.0 && h_cur >= 0.0 {
            open = Some((find_root(&h, t_prev, t), false));
        } else if h_prev >= 0.0
            && h_cur < 0.0
            && let Some((start, cut)) = open.take()
        {
            out.push(build_pass(traj, query.observer, start, find_root(&h, t_prev, t), cut, false));
        }
        t_prev = t;
        h_prev = h_cur;
    }
    if let Some((start, cut)) = open {
        out.push(build_pass(traj, query.observer, start, los_s, cut, los_cut));
    }
}

fn build_pass(
    traj: &SampledTrajectory,
    observer: &Observer,
    aos_s: f64,
    los_s: f64,
    aos_cut: bool,
    los_cut: bool,
) -> Pass {
    let s = |offset_s: f64| sin_elevation_at(traj, observer, offset_s);
    // Best grid sample inside the pass, then a bounded maximisation around it.
    let step_s = traj.step_s;
    let mut best_t = aos_s;
    let mut best_s = s(aos_s);
    let mut index = (aos_s / step_s).ceil() as usize;
    while (index as f64) * step_s < los_s && index < traj.states.len() {
        let v = sin_el(observer, &traj.states[index]);
        if v > best_s {
            (best_t, best_s) = (index as f64 * step_s, v);
        }
        index += 1;
    }
    if s(los_s) > best_s {
        best_t = los_s;
    }
    let (tca_s, _) = maximize(&s, (best_t - step_s).max(aos_s), (best_t + step_s).min(los_s));
    let tca_look = traj.look_at(observer, tca_s);
    Pass {
        norad_id: traj.norad_id,
        aos: traj.time_at(aos_s),
        tca: traj.time_at(tca_s),
        los: traj.time_at(los_s),
        max_el_deg: tca_look.el_deg,
        aos_az_deg: traj.look_at(observer, aos_s).az_deg,
        los_az_deg: traj.look_at(observer, los_s).az_deg,
        aos_cut,
        los_cut,
    }
}

#[inline]
fn sin_el(observer: &Observer, state: &EcefState) -> f64 {
    let d = sub(state.pos_km, observer.ecef_km);
    dot(d, observer.up) / dot(d, d).sqrt()
}

fn sin_elevation_at(traj: &SampledTrajectory, observer: &Observer, offset_s: f64) -> f64 {
    let d = sub(traj.position_at(offset_s), observer.ecef_km);
    dot(d, observer.up) / dot(d, d).sqrt()
}

/// Root of `f` in [a, b] where f(a) and f(b) differ in sign (Illinois false position,
/// falling back to bisection), to `TIME_TOLERANCE_S`.
fn find_root(f: &impl Fn(f64) -> f64, mut a: f64, mut b: f64) -> f64 {
    let (mut fa, mut fb) = (f(a), f(b));
    if fa == 0.0 {
        return a;
    }
    if fb == 0.0 || fa.signum() == fb.signum() {
        return b;
    }
    let mut side = 0i8;
    for _ in 0..60 {
        if b - a < TIME_TOLERANCE_S {
            break;
        }
        let mut c = (a * fb - b * fa) / (fb - fa);
        if !(c > a && c < b) {
            c = 0.5 * (a + b);
        }
        let fc = f(c);
        if fc == 0.0 {
            return c;
        }
        if fc.signum() == fa.signum() {
            a = c;
            fa = fc;
            if side == -1 {
                fb *= 0.5;
            }
            side = -1;
        } else {
            b = c;
            fb = fc;
            if side == 1 {
                fa *= 0.5;
            }
            side = 1;
        }
    }
    // The crossing time: the side that is visible (f >= 0) so AOS/LOS are never below the threshold.
    if fa >= 0.0 { a } else { b }
}

/// Maximum of a unimodal `f` on [a, b] by golden-section search, to `TIME_TOLERANCE_S`.
fn maximize(f: &impl Fn(f64) -> f64, a: f64, b: f64) -> (f64, f64) {
    maximize_to(f, a, b, TIME_TOLERANCE_S)
}

/// Golden-section maximisation to a given time tolerance.
fn maximize_to(f: &impl Fn(f64) -> f64, mut a: f64, mut b: f64, tolerance_s: f64) -> (f64, f64) {
    const INV_PHI: f64 = 0.618_033_988_749_894_9;
    let mut c = b - INV_PHI * (b - a);
    let mut d = a + INV_PHI * (b - a);
    let (mut fc, mut fd) = (f(c), f(d));
    while b - a > tolerance_s {
        if fc > fd {
            b = d;
            d = c;
            fd = fc;
            c = b - INV_PHI * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + INV_PHI * (b - a);
            fd = f(d);
        }
    }
    let t = 0.5 * (a + b);
    let candidates = [(t, f(t)), (a, f(a)), (b, f(b))];
    candidates.into_iter().fold((t, f64::NEG_INFINITY), |best, x| if x.1 > best.1 { x } else { best })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_angle_grows_with_altitude_and_shrinks_with_min_elevation() {
        let leo = coverage_half_angle_deg(500.0, 0.0);
        assert!((leo - 22.0).abs() < 0.5, "{leo}");
        assert!(coverage_half_angle_deg(35_786.0, 0.0) > 80.0);
        assert!(coverage_half_angle_deg(500.0, 10.0) < leo);
    }

    #[test]
    fn root_and_maximum_are_found_to_a_millisecond() {
        let root = find_root(&|t: f64| t - 12.3456, 0.0, 60.0);
        assert!((root - 12.3456).abs() < 1e-3);
        let (t, v) = maximize(&|t: f64| -(t - 40.5).powi(2) + 3.0, 0.0, 60.0);
        assert!((t - 40.5).abs() < 1e-3 && (v - 3.0).abs() < 1e-6);
    }
}

//! Pass planning off the tick path: upcoming passes for every assignment, computed
//! satellite by satellite (one trajectory per satellite shared by all its stations,
//! which keeps it in cache) and incrementally: a pair is recomputed only when its
//! element set, station, threshold or window changed.

use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use talos_core::{AssignmentId, UnixMs};
use talos_orbit::{HorizonMask, Observer, Pass, PassQuery, SampledTrajectory, Satellite, find_passes};

/// A pass as the tick and the API use it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PlannedPass {
    pub aos: UnixMs,
    pub tca: UnixMs,
    pub los: UnixMs,
    pub max_el_deg: f64,
    pub aos_az_deg: f64,
    pub los_az_deg: f64,
}

impl From<&Pass> for PlannedPass {
    fn from(p: &Pass) -> Self {
        Self {
            aos: p.aos,
            tca: p.tca,
            los: p.los,
            max_el_deg: p.max_el_deg,
            aos_az_deg: p.aos_az_deg,
            los_az_deg: p.los_az_deg,
        }
    }
}

/// One assignment to plan: a station and a satellite.
#[derive(Debug, Clone)]
pub struct PlanInput {
    pub assignment: AssignmentId,
    pub observer: Observer,
    pub min_el_deg: f64,
    pub mask: Option<HorizonMask>,
    pub satellite: Arc<Satellite>,
}

/// What a planning round did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PlanStats {
    pub pairs: usize,
    pub pairs_computed: usize,
    pub pairs_reused: usize,
    pub passes: usize,
    /// Satellites whose SGP4 failed for the window, with the reason.
    pub failures: Vec<String>,
}

/// Everything that decides a pair's passes; equal fingerprints give equal passes.
#[derive(Debug, Clone, PartialEq)]
struct Fingerprint {
    norad: u32,
    epoch_bits: u64,
    observer: [u64; 3],
    min_el_bits: u64,
    mask: Option<HorizonMask>,
    window: (i64, i64),
}

impl Fingerprint {
    fn of(input: &PlanInput, start: UnixMs, end: UnixMs) -> Self {
        let p = input.observer.position;
        Self {
            norad: input.satellite.norad_id.get(),
            epoch_bits: input.satellite.epoch_unix_s.to_bits(),
            observer: [p.lat_deg().to_bits(), p.lon_deg().to_bits(), p.alt_m().to_bits()],
            min_el_bits: input.min_el_deg.to_bits(),
            mask: input.mask.clone(),
            window: (start.0, end.0),
        }
    }
}

/// The passes computed for one assignment, with the fingerprint they were computed for.
type PlannedPair = (AssignmentId, Fingerprint, Arc<[PlannedPass]>);

/// Keeps the last plan and recomputes only what changed.
#[derive(Debug)]
pub struct PassPlanner {
    pool: Arc<rayon::ThreadPool>,
    cache: HashMap<AssignmentId, (Fingerprint, Arc<[PlannedPass]>)>,
}

impl PassPlanner {
    pub fn new(pool: Arc<rayon::ThreadPool>) -> Self {
        Self { pool, cache: HashMap::new() }
    }

    /// Passes in `[start, end]` for every input, by assignment. Assignments absent from
    /// `inputs` are forgotten.
    pub fn plan(
        &mut self,
        inputs: &[PlanInput],
        start: UnixMs,
        end: UnixMs,
    ) -> (HashMap<AssignmentId, Arc<[PlannedPass]>>, PlanStats) {
        let mut stats = PlanStats { pairs: inputs.len(), ..PlanStats::default() };
        let mut result = HashMap::with_capacity(inputs.len());
        // Group the stale pairs by satellite (pointer identity: one Arc per element set).
        let mut stale: HashMap<*const Satellite, Vec<(&PlanInput, Fingerprint)>> = HashMap::new();
        for input in inputs {
            let fingerprint = Fingerprint::of(input, start, end);
            match self.cache.get(&input.assignment) {
                Some((cached, passes)) if *cached == fingerprint => {
                    result.insert(input.assignment, passes.clone());
                }
                _ => stale.entry(Arc::as_ptr(&input.satellite)).or_default().push((input, fingerprint)),
            }
        }
        stats.pairs_reused = result.len();
        let groups: Vec<Vec<(&PlanInput, Fingerprint)>> = stale.into_values().collect();
        let computed: Vec<(Vec<PlannedPair>, Option<String>)> =
            self.pool.install(|| groups.into_par_iter().map(|group| plan_satellite(group, start, end)).collect());
        self.cache.retain(|id, _| result.contains_key(id));
        for (pairs, failure) in computed {
            stats.failures.extend(failure);
            for (assignment, fingerprint, passes) in pairs {
                stats.pairs_computed += 1;
                result.insert(assignment, passes.clone());
                self.cache.insert(assignment, (fingerprint, passes));
            }
        }
        stats.passes = result.values().map(|p| p.len()).sum();
        (result, stats)
    }
}

fn plan_satellite(
    group: Vec<(&PlanInput, Fingerprint)>,
    start: UnixMs,
    end: UnixMs,
) -> (Vec<PlannedPair>, Option<String>) {
    let satellite = &group[0].0.satellite;
    let trajectory = match SampledTrajectory::sample(satellite, start, end) {
        Ok(t) => t,
        Err(e) => {
            let empty: Arc<[PlannedPass]> = Arc::from(Vec::new());
            let pairs = group.into_iter().map(|(input, fp)| (input.assignment, fp, empty.clone())).collect();
            return (pairs, Some(e.to_string()));
        }
    };
    let failure = trajectory.diverged.as_ref().map(|e| e.to_string());
    let pairs = group
        .into_iter()
        .map(|(input, fingerprint)| {
            let query =
                PassQuery { observer: &input.observer, min_el_deg: input.min_el_deg, mask: input.mask.as_ref() };
            let passes: Vec<PlannedPass> = find_passes(&trajectory, &query).iter().map(PlannedPass::from).collect();
            (input.assignment, fingerprint, Arc::from(passes))
        })
        .collect();
    (pairs, failure)
}

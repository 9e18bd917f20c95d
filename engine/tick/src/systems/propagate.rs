//! Propagate each assigned satellite once per tick.

use bevy_ecs::prelude::*;
use rayon::prelude::*;
use talos_orbit::EcefState;
use talos_orbit::frames::TemeToEcef;

use crate::layout::Layout;
use crate::outbox::Outbox;
use crate::resources::{ComputePool, TickClock};

/// Earth-fixed state of every satellite row at the tick's time; `ok[i]` is false when
/// the satellite is not assigned or SGP4 failed for it this tick.
#[derive(Resource, Debug, Default)]
pub struct SatelliteStates {
    pub ecef: Vec<EcefState>,
    pub ok: Vec<bool>,
}

pub fn propagate_satellites(
    clock: Res<TickClock>,
    layout: Res<Layout>,
    pool: Res<ComputePool>,
    mut states: ResMut<SatelliteStates>,
    mut outbox: ResMut<Outbox>,
) {
    let rotation = TemeToEcef::at(clock.now);
    let count = layout.satellites.len();
    states.ecef.clear();
    states.ecef.resize(count, EcefState::default());
    states.ok.clear();
    states.ok.resize(count, false);
    let propagate = |&index: &u32| {
        let row = &layout.satellites[index as usize];
        (index, row.satellite.state_ecef_with(clock.now, &rotation))
    };
    // One SGP4 call plus the frame rotation costs about as much as ten look-angle computations (330 ns vs 33 ns).
    let results: Vec<_> = if pool.parallel_for(layout.active_satellites.len() * 10) {
        pool.pool.install(|| layout.active_satellites.par_iter().map(propagate).collect())
    } else {
        layout.active_satellites.iter().map(propagate).collect()
    };
    let mut failed = 0;
    for (index, result) in results {
        match result {
            Ok(state) => {
                states.ecef[index as usize] = state;
                states.ok[index as usize] = true;
            }
            Err(e) => {
                failed += 1;
                outbox.propagation_failures.push((layout.satellites[index as usize].norad_id, e.to_string()));
            }
        }
    }
    outbox.summary.satellites_propagated = layout.active_satellites.len() - failed;
    outbox.summary.satellites_failed = failed;
}

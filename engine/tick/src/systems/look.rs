//! Look angles and range-rate for every assignment.

use bevy_ecs::prelude::*;
use rayon::prelude::*;
use talos_orbit::frames::{dot, sub};
use talos_orbit::{LookAngles, look_angles};

use crate::layout::{AssignmentRow, Layout};
use crate::resources::ComputePool;
use crate::systems::propagate::SatelliteStates;

/// Look angles per assignment row, for the rows that can be up: a row whose satellite is
/// below its lowest possible threshold (its minimum elevation or its station mask's lowest
/// point) keeps only its range, with azimuth, elevation and range-rate NaN ("below, not
/// computed"), since nothing downstream uses them and the three transcendental calls they
/// cost are most of the stage for the large majority of rows, which are below the horizon.
/// NaN compares false, so such a row is never up. All NaN when the satellite has no state.
#[derive(Resource, Debug, Default)]
pub struct LookTable {
    pub looks: Vec<LookAngles>,
}

const NO_LOOK: LookAngles =
    LookAngles { az_deg: f64::NAN, el_deg: f64::NAN, range_km: f64::NAN, range_rate_km_s: f64::NAN };

pub fn compute_look_angles(
    layout: Res<Layout>,
    states: Res<SatelliteStates>,
    pool: Res<ComputePool>,
    mut table: ResMut<LookTable>,
) {
    let rows = &layout.assignments;
    table.looks.resize(rows.len(), NO_LOOK);
    let look = |(out, row): (&mut LookAngles, &AssignmentRow)| {
        *out = match row.satellite {
            Some(sat) if states.ok[sat as usize] => {
                let observer = &layout.stations[row.station as usize].station.observer;
                let state = &states.ecef[sat as usize];
                let d = sub(state.pos_km, observer.ecef_km);
                let up = dot(d, observer.up);
                let range_km = dot(d, d).sqrt();
                if up < row.sin_lowest_threshold * range_km {
                    LookAngles { az_deg: f64::NAN, el_deg: f64::NAN, range_km, range_rate_km_s: f64::NAN }
                } else {
                    look_angles(observer, state)
                }
            }
            _ => NO_LOOK,
        };
    };
    if pool.parallel_for(rows.len()) {
        pool.pool.install(|| table.looks.par_iter_mut().zip(rows.par_iter()).with_min_len(1024).for_each(look));
    } else {
        table.looks.iter_mut().zip(rows.iter()).for_each(look);
    }
}

//! Look angles and range-rate for every assignment.

use bevy_ecs::prelude::*;
use rayon::prelude::*;
use talos_orbit::frames::{dot, sub};
use talos_orbit::{LookAngles, look_angles};

use crate::layout::{AssignmentRow, Layout};
use crate::resources::ComputePool;
use crate::systems::propagate::SatelliteStates;

/// Look angles per assignment row. Elevation and range are always computed (NaN when
/// the satellite has no state this tick); azimuth and range-rate only for rows at or
/// above their lowest possible threshold (NaN below it), since nothing downstream
/// uses them there and two of the three transcendental calls are saved for the
/// large majority of rows that are below the horizon.
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
                    LookAngles {
                        az_deg: f64::NAN,
                        el_deg: (up / range_km).asin().to_degrees(),
                        range_km,
                        range_rate_km_s: f64::NAN,
                    }
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

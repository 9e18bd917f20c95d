//! Look angles and range-rate for every assignment.

use bevy_ecs::prelude::*;
use rayon::prelude::*;
use talos_orbit::{LookAngles, look_angles};

use crate::layout::{AssignmentRow, Layout};
use crate::resources::ComputePool;
use crate::systems::propagate::SatelliteStates;

/// Look angles per assignment row; elevation is NaN when the satellite has no state this tick.
#[derive(Resource, Debug, Default)]
pub struct LookTable {
    pub looks: Vec<LookAngles>,
}

const NO_LOOK: LookAngles = LookAngles { az_deg: f64::NAN, el_deg: f64::NAN, range_km: f64::NAN, range_rate_km_s: f64::NAN };

pub fn compute_look_angles(layout: Res<Layout>, states: Res<SatelliteStates>, pool: Res<ComputePool>, mut table: ResMut<LookTable>) {
    let rows = &layout.assignments;
    table.looks.resize(rows.len(), NO_LOOK);
    let look = |(out, row): (&mut LookAngles, &AssignmentRow)| {
        *out = match row.satellite {
            Some(sat) if states.ok[sat as usize] => {
                look_angles(&layout.stations[row.station as usize].station.observer, &states.ecef[sat as usize])
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

//! The AOS/LOS state machine per assignment.

use bevy_ecs::prelude::*;

use crate::layout::Layout;
use crate::outbox::{AosReached, LosReached};
use crate::resources::TickClock;
use crate::systems::look::LookTable;

/// An assignment is up when the satellite is above the higher of its minimum elevation
/// and the station's horizon mask at that azimuth, inside the campaign window.
pub fn update_visibility(
    clock: Res<TickClock>,
    mut layout: ResMut<Layout>,
    table: Res<LookTable>,
    mut aos: MessageWriter<'_, AosReached>,
    mut los: MessageWriter<'_, LosReached>,
) {
    let now = clock.now;
    let layout = &mut *layout;
    // Station by station (rows are grouped by station), so each station is read once.
    for station_row in &layout.stations {
        let station = &station_row.station;
        for r in station_row.first_row as usize..station_row.end_row as usize {
            let (row, track, look) = (&layout.assignments[r], &mut layout.tracks[r], &table.looks[r]);
            let in_window = (row.window_start_ms..row.window_end_ms).contains(&now.0);
            let above = in_window
                && look.el_deg >= row.min_el_deg
                && station.mask.as_ref().is_none_or(|mask| look.el_deg >= mask.el_at_deg(look.az_deg));
            let first_sight = !track.seen;
            track.seen = true;
            if above == track.above {
                continue;
            }
            track.above = above;
            if above {
                track.aos_at_ms = Some(now.0);
                aos.write(AosReached {
                    assignment: row.id,
                    station: station.id,
                    org: station.org,
                    norad_id: row.norad_id,
                    t: now,
                    az_deg: look.az_deg,
                    in_progress: first_sight,
                });
            } else {
                track.aos_at_ms = None;
                los.write(LosReached {
                    assignment: row.id,
                    station: station.id,
                    org: station.org,
                    norad_id: row.norad_id,
                    t: now,
                    az_deg: look.az_deg,
                });
            }
        }
    }
}

//! Start and finish the tick's outbox.

use bevy_ecs::prelude::*;

use crate::layout::Layout;
use crate::outbox::{AosReached, LosReached, Outbox, TrackingEvent};
use crate::resources::TickClock;

/// Clears last tick's outbox and rotates the message buffers.
pub fn begin_outbox(
    clock: Res<TickClock>,
    mut outbox: ResMut<Outbox>,
    mut aos: ResMut<Messages<AosReached>>,
    mut los: ResMut<Messages<LosReached>>,
) {
    aos.update();
    los.update();
    outbox.rot.clear();
    outbox.rig.clear();
    outbox.commands.clear();
    outbox.events.clear();
    outbox.propagation_failures.clear();
    outbox.summary = Default::default();
    outbox.summary.tick = clock.tick;
    outbox.summary.t = clock.now;
}

/// Copies this tick's AOS/LOS facts into the outbox for the link and the API.
pub fn collect_events(
    mut outbox: ResMut<Outbox>,
    mut aos: MessageReader<'_, '_, AosReached>,
    mut los: MessageReader<'_, '_, LosReached>,
) {
    let outbox = &mut *outbox;
    for event in aos.read() {
        if event.in_progress {
            outbox.summary.aos_first_sight += 1;
        } else {
            outbox.summary.aos_events += 1;
        }
        outbox.events.push(TrackingEvent::Aos(*event));
    }
    let before = outbox.events.len();
    outbox.events.extend(los.read().map(|e| TrackingEvent::Los(*e)));
    outbox.summary.los_events = outbox.events.len() - before;
}

pub fn summarize_tick(layout: Res<Layout>, mut outbox: ResMut<Outbox>) {
    outbox.summary.stations = layout.stations.len();
    outbox.summary.assignments = layout.assignments.len();
    outbox.summary.assignments_visible = layout.tracks.iter().filter(|t| t.above).count();
}

//! Bringing the world in line with the fleet the store holds.
//!
//! The director loads its fleet once at start and then receives whole new fleets
//! (after an API change or a catalog update) between ticks. [`Director::sync_fleet`]
//! reconciles by id: unchanged entities are left alone (so their tracking state,
//! AOS/LOS cursor and the station's current target survive), changed ones are
//! replaced in place, new ones spawned and missing ones despawned. The layout is then
//! rebuilt once, on the next tick, by the usual change detection.

use bevy_ecs::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use talos_core::{AssignmentId, CampaignId, NoradId, StationId};
use talos_orbit::Satellite;

use crate::components::{Assignment, Campaign, SatelliteOrbit, Station};
use crate::director::Director;

/// One assignment by ids (the store's form; entities are the director's business).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssignmentSpec {
    pub id: AssignmentId,
    pub station: StationId,
    pub campaign: CampaignId,
}

/// The whole fleet the director should hold.
#[derive(Debug, Clone, Default)]
pub struct FleetSpec {
    pub stations: Vec<Station>,
    /// The satellites the campaigns refer to (others need not be propagated).
    pub satellites: Vec<Arc<Satellite>>,
    pub campaigns: Vec<Campaign>,
    pub assignments: Vec<AssignmentSpec>,
}

/// What a sync changed, per kind: (added, updated, removed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FleetSyncReport {
    pub stations: (usize, usize, usize),
    pub satellites: (usize, usize, usize),
    pub campaigns: (usize, usize, usize),
    pub assignments: (usize, usize, usize),
    /// Assignments left out because their station or campaign is not in the spec.
    pub dangling_assignments: usize,
}

impl FleetSyncReport {
    /// Whether anything changed (the pass plan must then be recomputed).
    pub fn changed(&self) -> bool {
        let any = |(a, u, r): (usize, usize, usize)| a + u + r > 0;
        any(self.stations) || any(self.satellites) || any(self.campaigns) || any(self.assignments)
    }
}

/// Id -> entity maps of what [`Director::sync_fleet`] spawned.
#[derive(Resource, Debug, Default)]
pub(crate) struct FleetIndex {
    stations: HashMap<StationId, Entity>,
    satellites: HashMap<NoradId, Entity>,
    campaigns: HashMap<CampaignId, Entity>,
    assignments: HashMap<AssignmentId, Entity>,
}

/// Same orbit: same object, epoch and shape (a re-read of the same element set).
fn same_orbit(a: &Satellite, b: &Satellite) -> bool {
    a.norad_id == b.norad_id
        && a.epoch_unix_s == b.epoch_unix_s
        && a.period_s == b.period_s
        && a.inclination_deg == b.inclination_deg
        && a.perigee_alt_km == b.perigee_alt_km
}

/// Reconciles one kind of component: spawn, replace when `same` says it differs, despawn the rest.
fn reconcile<Id, C>(
    world: &mut World,
    index: &mut HashMap<Id, Entity>,
    wanted: Vec<(Id, C)>,
    same: impl Fn(&C, &C) -> bool,
) -> (usize, usize, usize)
where
    Id: std::hash::Hash + Eq + Copy,
    C: Component<Mutability = bevy_ecs::component::Mutable>,
{
    let (mut added, mut updated) = (0, 0);
    let mut keep: HashMap<Id, Entity> = HashMap::with_capacity(wanted.len());
    for (id, component) in wanted {
        match index.get(&id).copied().filter(|e| world.get_entity(*e).is_ok()) {
            Some(entity) => {
                if let Some(mut current) = world.get_mut::<C>(entity) {
                    if !same(&current, &component) {
                        *current = component;
                        updated += 1;
                    }
                } else {
                    world.entity_mut(entity).insert(component);
                    updated += 1;
                }
                keep.insert(id, entity);
            }
            None => {
                keep.insert(id, world.spawn(component).id());
                added += 1;
            }
        }
    }
    let mut removed = 0;
    for (id, entity) in index.drain() {
        if !keep.contains_key(&id) {
            world.despawn(entity);
            removed += 1;
        }
    }
    *index = keep;
    (added, updated, removed)
}

impl Director {
    /// Makes the world hold exactly `spec` (see the module doc). Duplicate ids in the
    /// spec: the last one wins. Runs between ticks; the next tick rebuilds the layout.
    pub fn sync_fleet(&mut self, spec: FleetSpec) -> FleetSyncReport {
        let world = self.world_mut();
        let mut index = world.remove_resource::<FleetIndex>().unwrap_or_default();
        let mut report = FleetSyncReport {
            stations: reconcile(
                world,
                &mut index.stations,
                spec.stations.into_iter().map(|s| (s.id, s)).collect(),
                |a, b| a == b,
            ),
            satellites: reconcile(
                world,
                &mut index.satellites,
                spec.satellites.into_iter().map(|s| (s.norad_id, SatelliteOrbit { satellite: s })).collect(),
                |a, b| same_orbit(&a.satellite, &b.satellite),
            ),
            campaigns: reconcile(
                world,
                &mut index.campaigns,
                spec.campaigns.into_iter().map(|c| (c.id, c)).collect(),
                |a, b| a == b,
            ),
            ..FleetSyncReport::default()
        };
        let mut assignments = Vec::with_capacity(spec.assignments.len());
        for a in spec.assignments {
            match (index.stations.get(&a.station), index.campaigns.get(&a.campaign)) {
                (Some(&station), Some(&campaign)) => {
                    assignments.push((a.id, Assignment { id: a.id, station, campaign }));
                }
                _ => report.dangling_assignments += 1,
            }
        }
        report.assignments = reconcile(world, &mut index.assignments, assignments, |a, b| {
            a.station == b.station && a.campaign == b.campaign
        });
        world.insert_resource(index);
        report
    }
}

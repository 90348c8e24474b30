//! Recording a run's metrics: a snapshot after every step, and one at every multiple of the
//! sampling interval (from the mesh's start) that a clock move crosses, so the series has the
//! regular spacing `promtool test rules` reads.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Snapshot;
use crate::SimTime;

/// The most sampling instants one recording holds (139 days at one a minute): memory stays
/// bounded whatever a scenario's clock moves are.
pub const MAX_POINTS: u64 = 200_000;

/// A run's recorded metrics.
#[derive(Debug, Clone)]
pub struct Recorder {
    start: SimTime,
    interval: Duration,
    /// The snapshot at each grid point k (time `start + k * interval`): the last one taken at
    /// that instant.
    grid: BTreeMap<u64, Snapshot>,
    /// After each step: what the step was, and the snapshot.
    steps: Vec<(String, Snapshot)>,
}

impl Recorder {
    /// An empty recording for a mesh started at `start`, sampled every `interval` (at least 1s).
    pub fn new(start: SimTime, interval: Duration) -> Recorder {
        Recorder {
            start,
            interval: interval.max(Duration::from_secs(1)),
            grid: BTreeMap::new(),
            steps: Vec::new(),
        }
    }

    /// The sampling interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Records the snapshot taken after a step (`what` says which).
    pub fn after_step(&mut self, what: String, snapshot: Snapshot) {
        self.on_grid(snapshot.clone());
        self.steps.push((what, snapshot));
    }

    /// Records a snapshot; kept when it falls on the sampling grid (the last one at an instant
    /// wins: a scrape at that instant sees the state after everything done at it).
    pub fn on_grid(&mut self, snapshot: Snapshot) {
        let offset = snapshot
            .at
            .unix_secs()
            .saturating_sub(self.start.unix_secs());
        let step = self.interval.as_secs();
        if snapshot.at >= self.start && offset.is_multiple_of(step) {
            self.grid.insert(offset / step, snapshot);
        }
    }

    /// The grid instants in `(from, to]`: where a clock move from `from` to `to` samples.
    pub fn grid_between(&self, from: SimTime, to: SimTime) -> Vec<SimTime> {
        let step = self.interval.as_secs();
        let first = from.unix_secs().saturating_sub(self.start.unix_secs()) / step + 1;
        let last = to.unix_secs().saturating_sub(self.start.unix_secs()) / step;
        (first..=last)
            .map(|k| SimTime(self.start.unix_secs() + k * step))
            .collect()
    }

    /// How many sampling instants a recording reaching `to` holds.
    pub fn points_until(&self, to: SimTime) -> u64 {
        to.unix_secs().saturating_sub(self.start.unix_secs()) / self.interval.as_secs() + 1
    }

    /// The step snapshots, in order.
    pub fn steps(&self) -> &[(String, Snapshot)] {
        &self.steps
    }

    /// The grid snapshots by index (time `start + k * interval`).
    pub fn grid(&self) -> &BTreeMap<u64, Snapshot> {
        &self.grid
    }

    /// When the mesh started (grid point 0, promtool's time 0).
    pub fn start(&self) -> SimTime {
        self.start
    }
}

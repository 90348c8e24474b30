//! Prometheus metrics of the simulated mesh, named, typed and labelled as Istio and Envoy expose
//! them (docs/metrics.md cites the source of each): istiod's CA counters and expiry gauges, the
//! istio-agent's CSR counters and certificate-expiry gauge, each sidecar's Envoy TLS stats and
//! Istio's standard request and TCP metrics.
//!
//! Counters grow with what the mesh does (CSRs at the CA, requests through the data path);
//! gauges are computed from the current certificates at the instant a [`Snapshot`] is taken, on
//! the virtual clock. Every series carries the target labels `namespace` and `pod` that the
//! `kubernetes-pods` job of Istio's sample Prometheus config (`samples/addons/prometheus.yaml`)
//! adds to a scraped pod, so the proxies' series do not collide in one exposition.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::{Mesh, SimTime};

mod access_log;
mod catalog;
mod control;
mod envoy;
mod exposition;
mod promtool;
mod series;
mod shape;
mod standard;
#[cfg(test)]
mod tests;

pub use catalog::{family, Family, MetricKind, FAMILIES};
pub use exposition::render;
pub use promtool::{fill_tests, input_series, InputSeries};
pub use series::{Recorder, MAX_POINTS};
pub use standard::RequestMeta;

/// A label set, sorted by label name (the order the exposition prints).
pub type Labels = BTreeMap<String, String>;

/// One sample: a series (name and labels) and its value at the snapshot's instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The metric name, as Prometheus shows it.
    pub name: &'static str,
    /// Its labels, target labels included.
    pub labels: Labels,
    /// The value.
    pub value: f64,
}

/// Every series of the mesh at one virtual instant, sorted by name, then labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// When it was taken.
    pub at: SimTime,
    /// The samples, sorted.
    pub samples: Vec<Sample>,
}

impl Snapshot {
    /// The samples of `name` whose labels include every pair of `selector`.
    pub fn matching<'a>(
        &'a self,
        name: &'a str,
        selector: &'a Labels,
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| {
            s.name == name
                && selector
                    .iter()
                    .all(|(k, v)| s.labels.get(k).is_some_and(|have| have == v))
        })
    }
}

/// The traffic counters the data path feeds: Envoy's TLS stats and Istio's standard metrics,
/// per proxy. One [`Traffic::observe_request`] call per finished request.
#[derive(Debug, Clone, Default)]
pub struct Traffic {
    /// Every counter: name, label set, value ([`snapshot`] sorts them).
    series: Vec<(&'static str, Labels, u64)>,
    /// Where each (name, label set) is in `series`.
    index: HashMap<&'static str, HashMap<Labels, usize>>,
    /// What a request of each shape seen adds, so its label sets are built once.
    shapes: shape::Shapes,
}

impl Traffic {
    /// Counts one finished request: each reporting proxy's TLS stats and its standard metrics.
    pub fn observe_request(&mut self, meta: &RequestMeta<'_>, outcome: &crate::Outcome) {
        let shape = shape::Shape::of(meta, outcome);
        if let Some(adds) = self.shapes.get(&shape) {
            for &(i, n) in adds {
                self.series[i].2 += n;
            }
            return;
        }
        let mut adds = Additions::default();
        envoy::observe(&mut adds, meta, outcome, &shape.lines);
        standard::observe(&mut adds, meta, outcome, &shape.lines);
        let adds: Vec<(usize, u64)> = adds
            .0
            .into_iter()
            .map(|(name, labels, n)| (self.series_index(name, labels), n))
            .collect();
        for &(i, n) in &adds {
            self.series[i].2 += n;
        }
        self.shapes.insert(shape, adds);
    }

    /// The configuration changed: a workload's labels, service account or Services may have,
    /// so requests are shaped anew (the counters stay).
    pub(crate) fn configuration_changed(&mut self) {
        self.shapes.clear();
    }

    /// The index of a counter in `series`, created at 0 if new (as Envoy creates a stat on
    /// first use).
    fn series_index(&mut self, name: &'static str, labels: Labels) -> usize {
        let family = self.index.entry(name).or_default();
        if let Some(&i) = family.get(&labels) {
            return i;
        }
        let i = self.series.len();
        family.insert(labels.clone(), i);
        self.series.push((name, labels, 0));
        i
    }

    /// Every counter, in no particular order ([`snapshot`] sorts them).
    fn samples(&self) -> impl Iterator<Item = Sample> + '_ {
        self.series.iter().map(|(name, labels, v)| Sample {
            name,
            labels: labels.clone(),
            value: *v as f64,
        })
    }
}

/// The counters one request adds to, with the amounts, in the order the reporters count them.
#[derive(Debug, Default)]
pub(crate) struct Additions(Vec<(&'static str, Labels, u64)>);

impl Additions {
    /// Adds `n` to the counter `name` with `labels` (creating it, even when `n` is 0).
    pub(crate) fn add(&mut self, name: &'static str, labels: &Labels, n: u64) {
        self.0.push((name, labels.clone(), n));
    }
}

/// Every series of `mesh` now: the control plane's counters and gauges and the traffic counters.
pub fn snapshot(mesh: &Mesh) -> Snapshot {
    let mut samples: Vec<Sample> = control::samples(mesh);
    samples.extend(mesh.traffic().samples());
    samples.sort_by(|a, b| (a.name, &a.labels).cmp(&(b.name, &b.labels)));
    Snapshot {
        at: mesh.now(),
        samples,
    }
}

/// The target labels of a proxy (`NAMESPACE/WORKLOAD`): `namespace` and `pod` (meshsim names a
/// workload's pod after the workload).
pub(crate) fn target(proxy: &str) -> Labels {
    let (namespace, pod) = proxy.split_once('/').unwrap_or(("", proxy));
    let pod = pod.split('/').next().unwrap_or(pod);
    labels(&[("namespace", namespace), ("pod", pod)])
}

/// A label set from pairs.
pub(crate) fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A series name with its labels in the exposition's notation: `name{a="1",b="2"}`.
pub struct SeriesName<'a>(pub &'a str, pub &'a Labels);

impl fmt::Display for SeriesName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)?;
        if self.1.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, (k, v)) in self.1.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{k}=\"{}\"", escape_label_value(v))?;
        }
        f.write_str("}")
    }
}

/// A label value escaped as the text format requires (`\\`, `\"`, `\n`).
fn escape_label_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

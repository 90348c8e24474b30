//! Scenario files: a mesh configuration, faults and steps (requests with expectations, clock
//! moves, applies, deletes, faults). See docs/scenarios.md for every key.
//!
//! A YAML file is a *scenario file* when its first document is a map with a top-level `name:`
//! or `steps:` key; any other YAML file (plain Kubernetes/Istio manifests, fixtures) is not, and
//! a folder run skips it.

mod config;
mod lines;
mod parse;
mod raw;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use sim::model::{Object, ObjectRef, Resources, Warning};
use sim::request::RequestSpec;
use sim::vocab::Status;
use sim::vocab::{FindingCode, ResponseFlag};
use sim::Fault;

use config::scenario_resources;
pub use config::{load_configuration, load_configuration_each, load_configuration_with};
pub use parse::{classify, parse_scenario, FileKind};

/// One parsed scenario, with its configuration already loaded and checked.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it was read from (as shown in reports).
    pub file: PathBuf,
    /// `name`.
    pub name: String,
    /// `description`.
    pub description: String,
    /// `seed` (0 by default): every random choice of the mesh derives from it.
    pub seed: u64,
    /// The configuration: includes, inline resources and the `mesh` section.
    pub resources: Resources,
    /// `faults`, injected when the mesh is built.
    pub faults: Vec<Fault>,
    /// `steps`, in order.
    pub steps: Vec<Step>,
    /// Loading notes (unknown fields, skipped kinds) from the configuration and `apply` steps.
    pub warnings: Vec<Warning>,
}

/// One step and the line it starts on.
#[derive(Debug, Clone)]
pub struct Step {
    /// 1-based line of the step in the scenario file (0 when unknown).
    pub line: usize,
    /// What the step does.
    pub action: Action,
    /// `expect.metrics`: figures that must hold after the step (any step may have them).
    pub metrics: Vec<MetricExpect>,
}

/// One `expect.metrics` entry: the sum of the series of `name` whose labels include `labels`
/// (0 when none matches, as `sum(...) or vector(0)`) must meet `bound`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricExpect {
    /// A metric meshsim exposes (docs/metrics.md).
    pub name: &'static str,
    /// Labels every counted series has (a subset of its labels).
    pub labels: BTreeMap<String, String>,
    /// What the sum must be.
    pub bound: MetricBound,
}

/// What a metric expectation requires.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MetricBound {
    /// `value: X`.
    Exactly(f64),
    /// `at_least: X` and/or `at_most: Y`.
    Range {
        /// The least acceptable value.
        at_least: Option<f64>,
        /// The greatest acceptable value.
        at_most: Option<f64>,
    },
}

impl MetricBound {
    /// Whether `v` meets the bound.
    pub fn holds(self, v: f64) -> bool {
        match self {
            MetricBound::Exactly(x) => v == x,
            MetricBound::Range { at_least, at_most } => {
                at_least.is_none_or(|lo| v >= lo) && at_most.is_none_or(|hi| v <= hi)
            }
        }
    }
}

impl std::fmt::Display for MetricBound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetricBound::Exactly(x) => write!(f, "{x}"),
            MetricBound::Range { at_least, at_most } => match (at_least, at_most) {
                (Some(lo), Some(hi)) => write!(f, "between {lo} and {hi}"),
                (Some(lo), None) => write!(f, "at least {lo}"),
                (None, Some(hi)) => write!(f, "at most {hi}"),
                (None, None) => write!(f, "anything"),
            },
        }
    }
}

/// What a step does.
// Steps are built once per parse and only read afterwards; boxing would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Action {
    /// Send request(s) and check the outcome(s).
    Request {
        /// The request.
        request: RequestSpec,
        /// What must hold.
        expect: Expect,
    },
    /// Move the virtual clock (the duration as written, and its value).
    Advance(String, Duration),
    /// Add or replace objects, as `kubectl apply`.
    Apply(Vec<Object>),
    /// Delete objects.
    Delete(Vec<ObjectRef>),
    /// Inject a fault now.
    Fault(Fault),
}

impl Action {
    /// The step's key as written (`request`, `advance`, ...).
    pub fn keyword(&self) -> &'static str {
        match self {
            Action::Request { .. } => "request",
            Action::Advance(..) => "advance",
            Action::Apply(_) => "apply",
            Action::Delete(_) => "delete",
            Action::Fault(_) => "fault",
        }
    }
}

/// How an `expect` block applies to the outcomes of a request step with `count > 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Match {
    /// Every request meets every field of the block (the default: the strict reading, so a
    /// regression in one request of many cannot pass unnoticed).
    #[default]
    All,
    /// At least one request meets every field of the block: "some requests are rejected with
    /// 503 UO" under connection-pool limits.
    Any,
}

/// `expect:` — every field given must hold; absent fields are not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expect {
    /// Acceptable statuses (one, or a list of which any is fine).
    pub status: Option<Vec<Status>>,
    /// Response flags, compared as a set (order-insensitive); `[]` means no flags.
    pub flags: Option<Vec<ResponseFlag>>,
    /// The TLS error (`Some(None)` when written as `null`: there must be none).
    pub tls_error: Option<Option<String>>,
    /// A substring of the response-code details.
    pub details_contains: Option<String>,
    /// Whether the hop used mutual TLS.
    pub mtls: Option<bool>,
    /// The client principal the server saw (`Some(None)`: none).
    pub peer_principal: Option<Option<String>>,
    /// Finding codes that must all be present.
    pub diagnosis: Option<Vec<FindingCode>>,
    /// The first finding's remedy must make the same request succeed.
    pub fix_verifies: bool,
    /// How the block applies with `count > 1`.
    pub matching: Match,
}

#[cfg(test)]
mod agreement_tests;
#[cfg(test)]
mod tests;

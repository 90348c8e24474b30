//! The scenario file as written: typed serde structs that reject unknown keys, so that every
//! error carries serde_yaml's line and column. Inline Kubernetes objects and faults stay as
//! `serde_yaml::Value` and are parsed by `sim` afterwards.

use sim::vocab::Kind;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use sim::vocab::Protocol;
use sim::vocab::Status;
use sim::vocab::{FindingCode, HostPort, ResponseFlag, WorkloadRef};

/// The top level of a scenario file.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a scenario: a map with `name:` and `steps:`"
)]
pub(super) struct RawScenario {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub mesh: Option<sim::model::StrictMeshConfigDoc>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub include: Vec<String>,
    #[serde(default)]
    pub resources: Vec<serde_yaml::Value>,
    #[serde(default)]
    pub faults: Vec<serde_yaml::Value>,
    #[serde(default)]
    pub steps: Vec<RawStep>,
}

/// One step; exactly one action key (checked after parsing, `expect` only beside `request`).
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a step: a map with one of request, advance, apply, delete, fault"
)]
pub(super) struct RawStep {
    #[serde(default)]
    pub request: Option<RawRequest>,
    #[serde(default)]
    pub expect: Option<RawExpect>,
    #[serde(default, deserialize_with = "duration")]
    pub advance: Option<(String, Duration)>,
    #[serde(default)]
    pub apply: Option<Vec<serde_yaml::Value>>,
    #[serde(default)]
    pub delete: Option<Vec<RawDelete>>,
    #[serde(default)]
    pub fault: Option<serde_yaml::Value>,
}

/// `request:`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a request: a map with from, to and optionally path, method, headers, protocol, count, concurrency"
)]
pub(super) struct RawRequest {
    #[serde(deserialize_with = "workload_ref")]
    pub from: WorkloadRef,
    #[serde(deserialize_with = "host_port")]
    pub to: HostPort,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "protocol")]
    pub protocol: Option<Protocol>,
    #[serde(default, deserialize_with = "positive")]
    pub count: Option<u32>,
    #[serde(default, deserialize_with = "positive")]
    pub concurrency: Option<u32>,
}

/// `expect:`.
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an expectation: a map of status, flags, tls_error, details_contains, mtls, peer_principal, diagnosis, fix_verifies, match, metrics"
)]
pub(super) struct RawExpect {
    #[serde(default, deserialize_with = "statuses")]
    pub status: Option<Vec<Status>>,
    #[serde(default)]
    pub flags: Option<Vec<ResponseFlag>>,
    #[serde(default, deserialize_with = "nullable")]
    pub tls_error: Option<Option<String>>,
    #[serde(default)]
    pub details_contains: Option<String>,
    #[serde(default)]
    pub mtls: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    pub peer_principal: Option<Option<String>>,
    #[serde(default)]
    pub diagnosis: Option<Vec<FindingCode>>,
    #[serde(default)]
    pub fix_verifies: Option<bool>,
    #[serde(default, rename = "match")]
    pub matching: Option<RawMatch>,
    #[serde(default)]
    pub metrics: Option<Vec<RawMetric>>,
}

/// One `expect.metrics` entry.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a metric expectation: a map with name, optionally labels, and value or at_least/at_most"
)]
pub(super) struct RawMetric {
    pub name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, serde_yaml::Value>,
    #[serde(default)]
    pub value: Option<f64>,
    #[serde(default)]
    pub at_least: Option<f64>,
    #[serde(default)]
    pub at_most: Option<f64>,
}

impl RawExpect {
    /// True when no field that checks anything is given.
    pub(super) fn is_empty(&self) -> bool {
        self.request_fields_empty() && self.metrics.as_ref().is_none_or(Vec::is_empty)
    }

    /// True when none of the fields about the request's outcome is given.
    fn request_fields_empty(&self) -> bool {
        self.status.is_none()
            && self.flags.is_none()
            && self.tls_error.is_none()
            && self.details_contains.is_none()
            && self.mtls.is_none()
            && self.peer_principal.is_none()
            && self.diagnosis.is_none()
            && !self.fix_verifies.unwrap_or(false)
    }
}

/// `expect.match`: how an expectation applies when `count > 1`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawMatch {
    Any,
    All,
}

/// One `delete:` entry.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an object reference: {kind, namespace, name}"
)]
pub(super) struct RawDelete {
    pub kind: Kind,
    #[serde(default)]
    pub namespace: Option<String>,
    pub name: String,
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    match OneOrMany::deserialize(d).map_err(|_| {
        de::Error::custom("`include` must be a path or a list of paths (files or folders)")
    })? {
        OneOrMany::One(s) => Ok(vec![s]),
        OneOrMany::Many(v) => Ok(v),
    }
}

fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<(String, Duration)>, D::Error> {
    let text = String::deserialize(d)?;
    sim::clock::parse_duration(&text)
        .map(|dur| Some((text.trim().to_string(), dur)))
        .map_err(de::Error::custom)
}

fn protocol<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Protocol>, D::Error> {
    let text = String::deserialize(d)?;
    match text.as_str() {
        "http" => Ok(Some(Protocol::Http)),
        "tcp" => Ok(Some(Protocol::Tcp)),
        other => Err(de::Error::custom(format!(
            "protocol must be `http` or `tcp`, got {other:?}"
        ))),
    }
}

fn positive<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let n = u32::deserialize(d)?;
    if n == 0 {
        return Err(de::Error::custom("expected a whole number of at least 1"));
    }
    Ok(Some(n))
}

/// `from:` through the one `NAMESPACE/WORKLOAD` parser ([`WorkloadRef`]).
fn workload_ref<'de, D: Deserializer<'de>>(d: D) -> Result<WorkloadRef, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(|e| {
        de::Error::custom(format!(
            "`from` must be NAMESPACE/WORKLOAD (e.g. foo/sleep), got {text:?}: {e}"
        ))
    })
}

/// `to:` through the one destination parser ([`HostPort`]).
fn host_port<'de, D: Deserializer<'de>>(d: D) -> Result<HostPort, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(|e| {
        de::Error::custom(format!(
            "`to` must be HOST:PORT (e.g. httpbin.foo:8000), got {text:?}: {e}"
        ))
    })
}

fn statuses<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Status>>, D::Error> {
    d.deserialize_any(StatusVisitor).map(Some)
}

/// Accepts `200`, `reset`, or a list of those (any one is acceptable).
struct StatusVisitor;

const STATUS_EXPECTED: &str =
    "an HTTP status (100-599), one of reset | refused | timeout, or a list of those";

impl<'de> Visitor<'de> for StatusVisitor {
    type Value = Vec<Status>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(STATUS_EXPECTED)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.visit_str(&v.to_string())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Status::parse(v)
            .map(|s| vec![s])
            .ok_or_else(|| E::custom(format!("status {v:?}: expected {STATUS_EXPECTED}")))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element::<serde_yaml::Value>()? {
            let text = match &v {
                serde_yaml::Value::Number(n) => n.to_string(),
                serde_yaml::Value::String(s) => s.clone(),
                _ => String::new(),
            };
            let status = Status::parse(&text).ok_or_else(|| {
                de::Error::custom(format!("status {v:?}: expected {STATUS_EXPECTED}"))
            })?;
            out.push(status);
        }
        if out.is_empty() {
            return Err(de::Error::custom("status list is empty"));
        }
        Ok(out)
    }
}

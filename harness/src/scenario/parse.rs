//! From text to a checked `Scenario`: typed parse (unknown keys rejected with a suggestion),
//! then one action per step, faults and objects parsed by `sim`, every error with its line.

use std::path::Path;

use serde::Deserialize;
use sim::model::split_documents;
use sim::model::{parse_object, ObjectRef, Origin, Warning};
use sim::request::RequestSpec;
use sim::Fault;

use super::lines::LineIndex;
use super::raw::{RawExpect, RawMatch, RawMetric, RawRequest, RawScenario, RawStep};
use super::scenario_resources;
use super::{Action, Expect, Match, MetricBound, MetricExpect, Scenario, Step};
use crate::error::InputError;
use crate::suggest::{did_you_mean, explain_fault_error, fault_keys_of};
use crate::tree::Tree;

/// The step keys, for "exactly one of" messages.
const STEP_ACTIONS: &str = "request, advance, apply, delete, fault";

/// What a YAML file stands for in a folder or behind `-f`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Its first document is a map with a top-level `name` or `steps` key.
    Scenario,
    /// Plain Kubernetes/Istio manifests (or nothing).
    Manifest,
}

/// Tells scenario files from plain manifests. Text that is not valid YAML, in any of its
/// documents (a bad indent, a tab, a duplicate key), is neither: its syntax error is returned
/// with its line, so a typo never makes a file drop out of a folder or pass as the other kind.
pub fn classify(file: &Path, text: &str) -> Result<FileKind, InputError> {
    let mut kind = FileKind::Manifest;
    for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        // Only mapping keys are kept: a 50 MB dump is checked for syntax without building a
        // value tree that the loader builds again.
        let keys = TopLevel::deserialize(doc).map_err(|e| InputError::from_yaml(file, &e))?;
        if i == 0 && keys.scenario {
            kind = FileKind::Scenario;
        }
    }
    Ok(kind)
}

/// Whether a document is a map with a `name` or `steps` key; any other document shape is
/// accepted.
struct TopLevel {
    scenario: bool,
}

impl<'de> Deserialize<'de> for TopLevel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut scenario = false;
        d.deserialize_any(Syntax {
            top_keys: Some(&mut scenario),
        })?;
        Ok(TopLevel { scenario })
    }
}

/// Walks a document as the loader will, without keeping scalars: what the text must satisfy
/// beyond the parser's own syntax check is that no mapping repeats a key (YAML forbids it and
/// the loader rejects it). At the top level it also notes the scenario keys.
struct Syntax<'a> {
    top_keys: Option<&'a mut bool>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Syntax<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Syntax<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = std::collections::HashSet::new();
        let mut top_keys = self.top_keys;
        while let Some(key) = map.next_key::<serde_yaml::Value>()? {
            if let Some(found) = top_keys.as_deref_mut() {
                *found |= matches!(key.as_str(), Some("name" | "steps"));
            }
            if seen.contains(&key) {
                let shown = serde_yaml::to_string(&key).unwrap_or_default();
                return Err(serde::de::Error::custom(format_args!(
                    "duplicate entry with key {}",
                    shown.trim_end()
                )));
            }
            map.next_value_seed(Syntax { top_keys: None })?;
            seen.insert(key);
        }
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Syntax { top_keys: None })?.is_some() {}
        Ok(())
    }

    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        // A tagged value (`!Tag ...`): its content is checked like any other.
        use serde::de::VariantAccess;
        let (_, variant): (serde::de::IgnoredAny, _) = data.variant()?;
        variant.newtype_variant_seed(Syntax { top_keys: None })
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// Parses and checks one scenario file; includes are read through `tree`.
pub fn parse_scenario(tree: &Tree, file: &Path, text: &str) -> Result<Scenario, InputError> {
    let lines = LineIndex::new(text);
    let mut docs = serde_yaml::Deserializer::from_str(text);
    let first = docs.next().ok_or_else(|| {
        InputError::at(
            file,
            1,
            "empty file: expected a scenario with `name:` and `steps:`",
        )
    })?;
    let raw = RawScenario::deserialize(first).map_err(|e| {
        let mut error = InputError::from_yaml(file, &e);
        let document = serde_yaml::Deserializer::from_str(text)
            .next()
            .and_then(|d| serde_yaml::Value::deserialize(d).ok());
        if let Some(hint) = document.as_ref().and_then(did_you_mean::<RawScenario>) {
            error.message = format!("{}; {hint}", error.message);
        }
        error
    })?;
    if let Some(second) = docs.next() {
        let extra =
            serde_yaml::Value::deserialize(second).map_err(|e| InputError::from_yaml(file, &e))?;
        if !extra.is_null() {
            // The second document's `---` line.
            let line = split_documents(text)
                .get(1)
                .map_or(0, |d| d.line_offset + 1);
            return Err(InputError::at(
                file,
                line,
                "a scenario file holds one YAML document; put manifests in a fixture file and \
                 `include:` it",
            ));
        }
    }
    if raw.name.trim().is_empty() {
        return Err(InputError::at(
            file,
            lines.key("name"),
            "`name` must not be empty",
        ));
    }

    let resources = scenario_resources(tree, file, &raw, &lines)?;
    let faults = raw
        .faults
        .iter()
        .enumerate()
        .map(|(i, v)| {
            Fault::from_yaml(v).map_err(|e| {
                InputError::at(
                    file,
                    lines.item("faults", i),
                    explain_fault_error(&e, &fault_keys_of(v)),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut warnings = resources.warnings.clone();
    let steps = raw
        .steps
        .into_iter()
        .enumerate()
        .map(|(i, s)| convert_step(file, lines.item("steps", i), s, &mut warnings))
        .collect::<Result<Vec<_>, _>>()?;

    Ok(Scenario {
        file: file.to_path_buf(),
        name: raw.name,
        description: raw.description.unwrap_or_default(),
        seed: raw.seed.unwrap_or(0),
        resources,
        faults,
        steps,
        warnings,
    })
}

fn convert_step(
    file: &Path,
    line: usize,
    raw: RawStep,
    warnings: &mut Vec<Warning>,
) -> Result<Step, InputError> {
    let err = |m: String| InputError::at(file, line, m);
    let given: Vec<&str> = [
        ("request", raw.request.is_some()),
        ("advance", raw.advance.is_some()),
        ("apply", raw.apply.is_some()),
        ("delete", raw.delete.is_some()),
        ("fault", raw.fault.is_some()),
    ]
    .iter()
    .filter(|(_, set)| *set)
    .map(|(k, _)| *k)
    .collect();
    if given.len() != 1 {
        return Err(err(format!(
            "a step needs exactly one of {STEP_ACTIONS}; found {}",
            if given.is_empty() {
                "none".to_string()
            } else {
                given.join(", ")
            }
        )));
    }
    let mut raw = raw;
    let metrics = match raw.expect.as_mut().and_then(|e| e.metrics.take()) {
        Some(list) => convert_metrics(list).map_err(err)?,
        None => Vec::new(),
    };
    if raw.request.is_none() {
        if let Some(e) = &raw.expect {
            if !(e.is_empty() && e.matching.is_none() && !metrics.is_empty()) {
                return Err(err(
                    "`expect` belongs beside a `request` step (beside other steps it may hold \
                     only `metrics`)"
                        .into(),
                ));
            }
        }
    }
    let action = if let Some(req) = raw.request {
        let expect = raw.expect.ok_or_else(|| {
            err("a `request` step needs an `expect:` block (what must hold)".into())
        })?;
        if expect.is_empty() && metrics.is_empty() {
            return Err(err(
                "`expect` needs at least one field (status, flags, tls_error, details_contains, \
                 mtls, peer_principal, diagnosis, fix_verifies, metrics): an empty expectation \
                 cannot fail"
                    .into(),
            ));
        }
        if expect.details_contains.as_deref() == Some("") {
            return Err(err(
                "`details_contains: \"\"` is contained in every details string, so it cannot \
                 fail: give the text the details must contain"
                    .into(),
            ));
        }
        let request = request_spec(req);
        request.check().map_err(|e| err(format!("request: {e}")))?;
        Action::Request {
            request,
            expect: convert_expect(expect),
        }
    } else if let Some((text, dur)) = raw.advance {
        Action::Advance(text, dur)
    } else if let Some(values) = raw.apply {
        let mut objects = Vec::new();
        for v in &values {
            let origin = Origin {
                file: file.to_path_buf(),
                line,
            };
            match parse_object(v, origin, warnings) {
                Ok(Some(o)) => objects.push(o),
                Ok(None) => {}
                Err(e) => return Err(InputError::at(&e.origin.file, e.origin.line, e.message)),
            }
        }
        Action::Apply(objects)
    } else if let Some(refs) = raw.delete {
        Action::Delete(
            refs.into_iter()
                .map(|r| ObjectRef {
                    kind: r.kind,
                    namespace: r.namespace.unwrap_or_default(),
                    name: r.name,
                })
                .collect(),
        )
    } else if let Some(v) = raw.fault {
        Action::Fault(
            Fault::from_yaml(&v).map_err(|e| err(explain_fault_error(&e, &fault_keys_of(&v))))?,
        )
    } else {
        unreachable!("exactly one action was checked above")
    };
    Ok(Step {
        line,
        action,
        metrics,
    })
}

/// `expect.metrics`: each entry names a metric meshsim exposes and gives `value`, or
/// `at_least` and/or `at_most`.
fn convert_metrics(list: Vec<RawMetric>) -> Result<Vec<MetricExpect>, String> {
    if list.is_empty() {
        return Err("`metrics: []` checks nothing: list at least one metric".into());
    }
    list.into_iter()
        .map(|m| {
            let Some(family) = sim::metrics::family(&m.name) else {
                let names: Vec<&str> = sim::metrics::FAMILIES.iter().map(|f| f.name).collect();
                let hint = crate::suggest::closest(&m.name, &names)
                    .map(|b| format!("; did you mean `{b}`?"))
                    .unwrap_or_default();
                return Err(format!(
                    "metrics: `{}` is not a metric meshsim exposes (docs/metrics.md lists them){hint}",
                    m.name
                ));
            };
            let bound = match (m.value, m.at_least, m.at_most) {
                (Some(v), None, None) => MetricBound::Exactly(v),
                (None, lo, hi) if lo.is_some() || hi.is_some() => {
                    if let (Some(lo), Some(hi)) = (lo, hi) {
                        if lo > hi {
                            return Err(format!(
                                "metrics: `{}`: at_least {lo} is above at_most {hi}, so it \
                                 cannot hold",
                                m.name
                            ));
                        }
                    }
                    MetricBound::Range {
                        at_least: lo,
                        at_most: hi,
                    }
                }
                _ => {
                    return Err(format!(
                        "metrics: `{}` needs `value`, or `at_least` and/or `at_most` (not \
                         `value` with them)",
                        m.name
                    ))
                }
            };
            let mut labels = std::collections::BTreeMap::new();
            for (k, v) in m.labels {
                let text = match v {
                    serde_yaml::Value::String(s) => s,
                    serde_yaml::Value::Number(n) => n.to_string(),
                    serde_yaml::Value::Bool(b) => b.to_string(),
                    _ => {
                        return Err(format!(
                            "metrics: `{}`: label `{k}` needs a text value (labels are strings)",
                            m.name
                        ))
                    }
                };
                labels.insert(k, text);
            }
            Ok(MetricExpect {
                name: family.name,
                labels,
                bound,
            })
        })
        .collect()
}

fn request_spec(raw: RawRequest) -> RequestSpec {
    let defaults = RequestSpec::default();
    RequestSpec {
        from: raw.from,
        to: raw.to,
        path: raw.path.unwrap_or(defaults.path),
        method: raw.method.unwrap_or(defaults.method),
        headers: raw.headers,
        protocol: raw.protocol,
        count: raw.count.unwrap_or(defaults.count),
        concurrency: raw.concurrency.unwrap_or(defaults.concurrency),
    }
}

fn convert_expect(raw: RawExpect) -> Expect {
    Expect {
        status: raw.status,
        flags: raw.flags,
        tls_error: raw.tls_error,
        details_contains: raw.details_contains,
        mtls: raw.mtls,
        peer_principal: raw.peer_principal,
        diagnosis: raw.diagnosis,
        fix_verifies: raw.fix_verifies.unwrap_or(false),
        matching: match raw.matching {
            Some(RawMatch::Any) => Match::Any,
            Some(RawMatch::All) | None => Match::All,
        },
    }
}

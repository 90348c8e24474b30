//! A recorded run as `promtool test rules` input: `interval` and `input_series` in promtool's
//! expanding notation (Prometheus `docs/configuration/unit_testing_rules.md`): `a+bxn` is the
//! n+1 values a, a+b, ..., `_` a missing sample, `_xn` n of them, `stale` a staleness marker.
//!
//! promtool's clock starts at 0, the recorded run at the mesh's start, so sample k is the grid
//! snapshot at `start + k * interval`. Gauges that hold a Unix timestamp
//! (`*_expiry_timestamp`) are rebased by the start, so that `X - time()` means the same in a
//! test as on the real clock. Envoy's `envoy_*` counters exist from the moment the cluster or
//! listener does (its first xDS push, before any request); meshsim creates them with the first
//! request that uses them, so their earlier samples are back-filled with 0. Every other series
//! is missing (`_`) before it first appears, and marked `stale` when it disappears, as a scrape
//! that no longer returns it does.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde_yaml::{Mapping, Value};

use super::exposition::format_value;
use super::{Labels, Recorder, SeriesName};

/// The `interval` and `input_series` of a promtool test group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSeries {
    /// The sampling interval.
    pub interval: Duration,
    /// `(series, values)` pairs, sorted by series.
    pub series: Vec<(String, String)>,
}

/// The grid of `recorder` as promtool input series.
pub fn input_series(recorder: &Recorder) -> InputSeries {
    let grid = recorder.grid();
    let points = grid.keys().next_back().map_or(0, |k| k + 1);
    let start = recorder.start().unix_secs() as f64;
    let mut by_series: BTreeMap<(&str, &Labels), Vec<Option<f64>>> = BTreeMap::new();
    for (k, snap) in grid {
        for s in &snap.samples {
            let values = by_series
                .entry((s.name, &s.labels))
                .or_insert_with(|| vec![None; points as usize]);
            let v = if s.name.ends_with("_expiry_timestamp") {
                s.value - start
            } else {
                s.value
            };
            values[*k as usize] = Some(v);
        }
    }
    let series = by_series
        .into_iter()
        .map(|((name, labels), mut values)| {
            if name.starts_with("envoy_") {
                back_fill_zero(&mut values);
            }
            (SeriesName(name, labels).to_string(), notation(&values))
        })
        .collect();
    InputSeries {
        interval: recorder.interval(),
        series,
    }
}

impl InputSeries {
    /// As YAML: `interval:` and `input_series:`, the keys of a promtool test group.
    pub fn to_yaml(&self) -> String {
        let mut m = Mapping::new();
        self.insert_into(&mut m);
        serde_yaml::to_string(&Value::Mapping(m)).unwrap_or_default()
    }

    fn insert_into(&self, group: &mut Mapping) {
        let list: Vec<Value> = self
            .series
            .iter()
            .map(|(series, values)| {
                let mut m = Mapping::new();
                m.insert("series".into(), series.clone().into());
                m.insert("values".into(), values.clone().into());
                Value::Mapping(m)
            })
            .collect();
        group.insert("interval".into(), prom_duration(self.interval).into());
        group.insert("input_series".into(), Value::Sequence(list));
    }
}

/// Fills a promtool test file: every test group whose `name` is a key of `series` (a scenario
/// file's stem) gets that scenario's `interval` and `input_series`; `rule_files` are made
/// absolute against `template_dir`, so the filled file can be written anywhere. A group naming
/// no recorded scenario is an error, as is a file that is not a promtool test file.
pub fn fill_tests(
    template: &str,
    template_dir: &Path,
    series: &BTreeMap<String, InputSeries>,
) -> Result<String, String> {
    let mut doc: Value = serde_yaml::from_str(template)
        .map_err(|e| format!("not YAML: {e} (expected a promtool test file)"))?;
    let root = doc
        .as_mapping_mut()
        .ok_or("expected a promtool test file: a map with rule_files and tests")?;
    if let Some(Value::Sequence(files)) = root.get_mut("rule_files") {
        for f in files.iter_mut() {
            if let Value::String(path) = f {
                let p = Path::new(path.as_str());
                if p.is_relative() {
                    *path = template_dir.join(p).display().to_string();
                }
            }
        }
    }
    let Some(Value::Sequence(tests)) = root.get_mut("tests") else {
        return Err("expected a `tests:` list of test groups".into());
    };
    for (i, group) in tests.iter_mut().enumerate() {
        let group = group
            .as_mapping_mut()
            .ok_or_else(|| format!("tests[{i}]: expected a map"))?;
        let name = group
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                format!("tests[{i}]: needs a `name:` naming the scenario file (its stem)")
            })?
            .to_string();
        let recorded = series.get(&name).ok_or_else(|| {
            let known: Vec<&str> = series.keys().map(String::as_str).collect();
            format!(
                "tests[{i}] `{name}`: no recorded scenario file has this stem (recorded: {})",
                known.join(", ")
            )
        })?;
        recorded.insert_into(group);
    }
    serde_yaml::to_string(&doc).map_err(|e| e.to_string())
}

/// A counter missing before its first sample was 0 then.
fn back_fill_zero(values: &mut [Option<f64>]) {
    for v in values.iter_mut() {
        if v.is_some() {
            break;
        }
        *v = Some(0.0);
    }
}

/// The values in promtool's notation: arithmetic runs folded into `a+bxn`, missing samples
/// `_` (`_xn` for a run), `stale` where a series disappears.
fn notation(values: &[Option<f64>]) -> String {
    let mut tokens: Vec<String> = Vec::new();
    let mut i = 0;
    let mut seen = false;
    while i < values.len() {
        match values[i] {
            None => {
                let mut j = i;
                while j < values.len() && values[j].is_none() {
                    j += 1;
                }
                let mut n = j - i;
                if seen {
                    tokens.push("stale".into());
                    n -= 1;
                }
                match n {
                    0 => {}
                    1 => tokens.push("_".into()),
                    n => tokens.push(format!("_x{n}")),
                }
                i = j;
            }
            Some(a) => {
                seen = true;
                let mut j = i + 1;
                let step = values.get(j).copied().flatten().map(|b| b - a);
                if let Some(d) = step {
                    while j < values.len() && values[j] == Some(a + d * (j - i) as f64) {
                        j += 1;
                    }
                }
                // Runs of three or more fold; two values read better as they are.
                if j - i < 3 {
                    j = i + 1;
                }
                let n = j - i - 1;
                let mut t = format_value(a);
                match (n, step) {
                    (0, _) | (_, None) => {}
                    (n, Some(d)) if d >= 0.0 => {
                        let _ = write!(t, "+{}x{n}", format_value(d));
                    }
                    (n, Some(d)) => {
                        let _ = write!(t, "-{}x{n}", format_value(-d));
                    }
                }
                tokens.push(t);
                i = j;
            }
        }
    }
    tokens.join(" ")
}

/// A duration as Prometheus writes one (`90s` as `1m30s`).
fn prom_duration(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        let _ = write!(out, "{h}h");
    }
    if m > 0 {
        let _ = write!(out, "{m}m");
    }
    if sec > 0 || out.is_empty() {
        let _ = write!(out, "{sec}s");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_fold_into_promtools_expanding_notation() {
        let cases: &[(&[Option<f64>], &str)] = &[
            (&[Some(1.0), Some(1.0), Some(1.0)], "1+0x2"),
            (&[Some(10.0), Some(7.0), Some(4.0)], "10-3x2"),
            (&[None, None, Some(2.0), Some(3.0)], "_x2 2 3"),
            (&[Some(5.0), None, None], "5 stale _"),
            (&[Some(1.0), Some(2.0), Some(4.0)], "1 2 4"),
            (&[Some(1.0), Some(2.0), Some(3.0), Some(3.0)], "1+1x2 3"),
            (&[None], "_"),
        ];
        for (values, want) in cases {
            assert_eq!(notation(values), *want, "{values:?}");
        }
    }

    #[test]
    fn a_test_file_gets_each_named_groups_series_and_absolute_rule_files() {
        let recorded = InputSeries {
            interval: Duration::from_secs(300),
            series: vec![("m{a=\"b\"}".into(), "1+1x2".into())],
        };
        let series = BTreeMap::from([("incident".to_string(), recorded)]);
        let template = "rule_files: [r.yaml, /abs/s.yaml]\ntests:\n  - name: incident\n    alert_rule_test: []\n";
        let filled = fill_tests(template, Path::new("/rules"), &series).unwrap();
        let doc: Value = serde_yaml::from_str(&filled).unwrap();
        assert_eq!(doc["rule_files"][0], Value::from("/rules/r.yaml"));
        assert_eq!(doc["rule_files"][1], Value::from("/abs/s.yaml"));
        let group = &doc["tests"][0];
        assert_eq!(group["interval"], Value::from("5m"));
        assert_eq!(
            group["input_series"][0]["series"],
            Value::from("m{a=\"b\"}")
        );
        assert_eq!(group["input_series"][0]["values"], Value::from("1+1x2"));
    }

    #[test]
    fn a_test_file_that_names_no_recording_or_is_not_promtools_is_refused() {
        let series = BTreeMap::new();
        let cases = [
            ("tests:\n  - name: other\n", "`other`: no recorded scenario"),
            ("tests:\n  - alert_rule_test: []\n", "needs a `name:`"),
            ("- a\n- b\n", "expected a promtool test file"),
            ("rule_files: []\n", "expected a `tests:` list"),
        ];
        for (text, wanted) in cases {
            let e = fill_tests(text, Path::new("/"), &series).unwrap_err();
            assert!(e.contains(wanted), "{text:?}: {e}");
        }
    }

    #[test]
    fn durations_print_as_prometheus_writes_them() {
        assert_eq!(prom_duration(Duration::from_secs(300)), "5m");
        assert_eq!(prom_duration(Duration::from_secs(3600 + 90)), "1h1m30s");
    }
}

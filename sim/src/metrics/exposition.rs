//! The Prometheus text exposition format (version 0.0.4): `# HELP` and `# TYPE` once per
//! family, then one line per series. Families and series are sorted, so the same mesh state
//! prints the same bytes.

use super::{family, SeriesName, Snapshot};

/// The snapshot as one exposition: every proxy's and istiod's series together, told apart by
/// their `namespace` and `pod` target labels. Starts with a comment saying the virtual time
/// (comments other than HELP and TYPE are ignored by Prometheus' parser).
pub fn render(snapshot: &Snapshot) -> String {
    let mut out = format!(
        "# meshsim: every proxy's and istiod's metrics at {} (virtual time); target labels \
         namespace and pod as Istio's sample Prometheus config adds them.\n",
        snapshot.at
    );
    if snapshot
        .samples
        .iter()
        .any(|s| s.name.starts_with("envoy_"))
    {
        out.push_str(
            "# meshsim: envoy_*_ssl_* and envoy_listener_no_filter_chain_match are not in \
             Istio's default stats inclusion list; a real sidecar exposes them with \
             proxyStatsMatcher (e.g. inclusionRegexps: [\".*ssl.*\"]).\n",
        );
    }
    let mut current = "";
    for s in &snapshot.samples {
        if s.name != current {
            current = s.name;
            if let Some(f) = family(s.name) {
                out.push_str(&format!("# HELP {} {}\n", f.name, f.help));
                out.push_str(&format!("# TYPE {} {}\n", f.name, f.kind.as_str()));
            }
        }
        out.push_str(&format!(
            "{} {}\n",
            SeriesName(s.name, &s.labels),
            format_value(s.value)
        ));
    }
    out
}

/// A value as Prometheus prints it: integral values without a fraction.
pub(crate) fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

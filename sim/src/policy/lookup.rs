//! Private lookups the policy engine needs over `Resources`: namespaces by name and sidecar
//! injection. The model will grow shared versions of these; until then they live here.

use crate::model::{Namespace, Resources, Workload};

/// Namespace label that turns injection on (`enabled`) or off (`disabled`, which always wins).
const INJECTION_LABEL: &str = "istio-injection";
/// Namespace label naming a control-plane revision; its presence turns injection on.
const REVISION_LABEL: &str = "istio.io/rev";
/// Pod label (or legacy annotation) that opts a pod in or out.
const POD_INJECT_KEY: &str = "sidecar.istio.io/inject";

/// The namespace object called `name`, if one was loaded.
pub(crate) fn namespace<'a>(res: &'a Resources, name: &str) -> Option<&'a Namespace> {
    res.namespaces.iter().find(|n| n.meta.name == name)
}

/// Whether the workload's pods get a sidecar, following the injection webhook's selectors
/// (`manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml`):
/// namespace `istio-injection=disabled` always wins; a namespace with `istio-injection=enabled`
/// or any `istio.io/rev` injects unless the pod opts out with `sidecar.istio.io/inject: "false"`
/// (the label takes precedence over the annotation); in an unlabelled namespace only the pod
/// *label* `sidecar.istio.io/inject: "true"` injects (the webhook's object selector reads labels).
pub(crate) fn has_sidecar(res: &Resources, workload: &Workload) -> bool {
    let ns_labels = namespace(res, &workload.meta.namespace).map(|n| &n.meta.labels);
    let ns_injection = ns_labels
        .and_then(|l| l.get(INJECTION_LABEL))
        .map(String::as_str);
    if ns_injection == Some("disabled") {
        return false;
    }
    let ns_enabled = ns_injection == Some("enabled")
        || ns_labels.is_some_and(|l| l.contains_key(REVISION_LABEL));
    let pod_label = workload.pod_labels.get(POD_INJECT_KEY).map(String::as_str);
    let pod_annotation = workload
        .pod_annotations
        .get(POD_INJECT_KEY)
        .map(String::as_str);
    if ns_enabled {
        match pod_label.or(pod_annotation) {
            Some(v) => !v.eq_ignore_ascii_case("false"),
            None => true,
        }
    } else {
        pod_label.is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::Fixture;

    #[test]
    fn sidecar_injection_follows_namespace_and_pod_labels() {
        // (namespace labels, pod labels, pod annotations, expected)
        type Labels<'a> = &'a [(&'a str, &'a str)];
        let cases: &[(Labels, Labels, Labels, bool)] = &[
            (&[("istio-injection", "enabled")], &[], &[], true),
            (&[("istio.io/rev", "canary")], &[], &[], true),
            (&[], &[], &[], false),
            (&[], &[("sidecar.istio.io/inject", "true")], &[], true),
            (&[], &[], &[("sidecar.istio.io/inject", "true")], false),
            (
                &[("istio-injection", "enabled")],
                &[("sidecar.istio.io/inject", "false")],
                &[],
                false,
            ),
            (
                &[("istio-injection", "enabled")],
                &[],
                &[("sidecar.istio.io/inject", "false")],
                false,
            ),
            (
                &[("istio-injection", "enabled")],
                &[("sidecar.istio.io/inject", "true")],
                &[("sidecar.istio.io/inject", "false")],
                true,
            ),
            (
                &[("istio-injection", "disabled")],
                &[("sidecar.istio.io/inject", "true")],
                &[],
                false,
            ),
            (
                &[("istio-injection", "disabled"), ("istio.io/rev", "canary")],
                &[],
                &[],
                false,
            ),
        ];
        for (i, (ns, pod, ann, want)) in cases.iter().enumerate() {
            let mut f = Fixture::new();
            f.namespace_labeled("app", ns);
            let w = f.workload("app", "w", pod);
            for (k, v) in *ann {
                f.res.workloads[w]
                    .pod_annotations
                    .insert(k.to_string(), v.to_string());
            }
            assert_eq!(has_sidecar(&f.res, &f.res.workloads[w]), *want, "case {i}");
        }
    }
}

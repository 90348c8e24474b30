//! Sidecar injection as Istio's default install decides it: the mutating webhook's
//! namespaceSelector/objectSelector pairs
//! (`manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml`), then the
//! injector's own `injectRequired` (`pkg/kube/inject/inject.go`).

use std::collections::BTreeMap;

use super::{Resources, Workload, WorkloadRole};
use crate::vocab::IstioRelease;

/// Namespace label that turns injection on (`enabled`) or off (`disabled`) for the default
/// revision.
pub(crate) const ISTIO_INJECTION: &str = "istio-injection";
/// Namespace or pod label naming the control-plane revision that injects.
pub(crate) const ISTIO_REV: &str = "istio.io/rev";
/// Pod label (and deprecated annotation) forcing injection on or off.
pub(crate) const SIDECAR_INJECT: &str = "sidecar.istio.io/inject";
/// Annotation the injector writes on pods it injected; a dumped pod carrying it has a sidecar.
pub(crate) const SIDECAR_STATUS: &str = "sidecar.istio.io/status";

/// `IgnoredNamespaces` in `pkg/kube/inject/initializer.go`: never injected.
const IGNORED_NAMESPACES: [&str; 4] = [
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "local-path-storage",
];

/// Whether the webhook is called for the pod at all. meshsim assumes the control plane of every
/// revision a label names is installed, so a revision webhook (`rev.namespace.*`,
/// `rev.object.*`) matches any `istio.io/rev` value.
fn webhook_matches(ns: &BTreeMap<String, String>, pod: &BTreeMap<String, String>) -> bool {
    let ns_injection = ns.get(ISTIO_INJECTION).map(String::as_str);
    let ns_rev = ns.get(ISTIO_REV);
    let pod_inject = pod.get(SIDECAR_INJECT).map(String::as_str);
    let pod_rev = pod.get(ISTIO_REV);
    let not_disabled = pod_inject != Some("false");
    // rev.namespace: namespace names a revision and has no istio-injection label.
    let rev_namespace = ns_rev.is_some() && ns_injection.is_none() && not_disabled;
    // rev.object: unlabelled namespace, pod names a revision.
    let rev_object =
        ns_rev.is_none() && ns_injection.is_none() && pod_rev.is_some() && not_disabled;
    // namespace: istio-injection=enabled.
    let namespace = ns_injection == Some("enabled") && not_disabled;
    // object: unlabelled namespace, pod label sidecar.istio.io/inject=true without a revision.
    let object = ns_injection.is_none()
        && ns_rev.is_none()
        && pod_inject == Some("true")
        && pod_rev.is_none();
    rev_namespace || rev_object || namespace || object
}

impl Resources {
    /// Whether Istio's default webhook would give this workload's pods a sidecar.
    ///
    /// `istio-injection=disabled` always wins; `istio-injection=enabled` or a namespace
    /// `istio.io/rev` injects unless the pod says `sidecar.istio.io/inject: "false"` (label, or
    /// the deprecated annotation when no label is set); in an unlabelled namespace only a pod
    /// label `sidecar.istio.io/inject: "true"` or a pod `istio.io/rev` label injects. Pods with
    /// `hostNetwork` and pods in kube-system-like namespaces are never injected. A pod from a
    /// dump that already carries `sidecar.istio.io/status` has one.
    ///
    /// An Istio gateway ([`WorkloadRole::Gateway`]) counts as having one: it is a proxy with its
    /// own workload certificate and, as a client, originates mTLS as a sidecar does (auto mTLS
    /// is built for every proxy type, `ClusterBuilder.buildUpstreamTLSSettings` in
    /// `pilot/pkg/networking/core/cluster_tls.go`), even when its pod says
    /// `sidecar.istio.io/inject: "false"` (the legacy gateway charts). istiod has none.
    pub fn has_sidecar(&self, workload: &Workload) -> bool {
        match workload.role {
            WorkloadRole::Gateway => return true,
            WorkloadRole::ControlPlane => return false,
            WorkloadRole::App => {}
        }
        // A dump's running pods were already admitted: their containers decide, not labels.
        if !workload.pods.is_empty() {
            return workload.pods.iter().all(|p| p.sidecar);
        }
        if workload.pod_annotations.contains_key(SIDECAR_STATUS) {
            return true;
        }
        let empty = BTreeMap::new();
        let ns_labels = self
            .namespace(&workload.meta.namespace)
            .map(|n| &n.meta.labels)
            .unwrap_or(&empty);
        if !webhook_matches(ns_labels, &workload.pod_labels) {
            return false;
        }
        if workload.host_network || IGNORED_NAMESPACES.contains(&workload.meta.namespace.as_str()) {
            return false;
        }
        let choice = workload
            .pod_labels
            .get(SIDECAR_INJECT)
            .or_else(|| workload.pod_annotations.get(SIDECAR_INJECT))
            .map(String::as_str);
        inject_required(choice, self.mesh_config.release())
    }
}

impl Resources {
    /// [`Resources::has_sidecar`] with the reason in words (`meshsim ls`): which label,
    /// annotation or rule decided it.
    pub fn sidecar_decision(&self, workload: &Workload) -> (bool, String) {
        let has = self.has_sidecar(workload);
        let ns = workload.meta.namespace.as_str();
        let empty = BTreeMap::new();
        let ns_labels = self.namespace(ns).map(|n| &n.meta.labels).unwrap_or(&empty);
        let ns_injection = ns_labels.get(ISTIO_INJECTION);
        let ns_rev = ns_labels.get(ISTIO_REV);
        let pod_inject = workload
            .pod_labels
            .get(SIDECAR_INJECT)
            .or_else(|| workload.pod_annotations.get(SIDECAR_INJECT));
        let pod_rev = workload.pod_labels.get(ISTIO_REV);
        let reason = if workload.role == WorkloadRole::Gateway {
            "Istio gateway: runs its own proxy, with its own identity".to_string()
        } else if workload.role == WorkloadRole::ControlPlane {
            "istiod (control plane): no proxy".to_string()
        } else if let Some(p) = workload.pods.iter().find(|p| p.sidecar != has) {
            format!(
                "running pod {} {} an istio-proxy container (the dump's pods decide)",
                p.name,
                if p.sidecar { "has" } else { "has no" }
            )
        } else if let Some(p) = workload.pods.first() {
            format!(
                "running pod {} {} an istio-proxy container (the dump's pods decide)",
                p.name,
                if p.sidecar { "has" } else { "has no" }
            )
        } else if workload.pod_annotations.contains_key(SIDECAR_STATUS) {
            format!("pod carries {SIDECAR_STATUS} (already injected)")
        } else if workload.host_network {
            "hostNetwork pods are never injected".to_string()
        } else if IGNORED_NAMESPACES.contains(&ns) {
            format!("namespace {ns} is never injected")
        } else if let Some(v) = pod_inject.filter(|_| !has) {
            format!("pod {SIDECAR_INJECT}={v}")
        } else if ns_injection.is_some_and(|v| v == "disabled") {
            format!("namespace {ns} has {ISTIO_INJECTION}=disabled")
        } else if let Some(v) = ns_injection {
            if v == "enabled" {
                format!("namespace {ns} has {ISTIO_INJECTION}=enabled")
            } else {
                format!("namespace {ns} has {ISTIO_INJECTION}={v} (only enabled injects)")
            }
        } else if let Some(rev) = ns_rev {
            format!("namespace {ns} has {ISTIO_REV}={rev}")
        } else if let Some(rev) = pod_rev {
            format!("pod {ISTIO_REV}={rev}")
        } else if let Some(v) = pod_inject {
            format!("pod {SIDECAR_INJECT}={v}")
        } else {
            format!("namespace {ns} has no {ISTIO_INJECTION} or {ISTIO_REV} label")
        };
        (has, reason)
    }
}

/// The pod's `sidecar.istio.io/inject` value (label, else annotation) as `injectRequired`
/// (`pkg/kube/inject/inject.go`) reads it under the default install's `policy: enabled`.
///
/// - Istio 1.22–1.26: `strings.ToLower(value)` in `y`, `yes`, `true`, `on` injects, an empty or
///   missing value falls back to the policy (inject), and **any other value does not inject**
///   (`False`, `no`, `off`, a typo).
/// - Istio 1.27 and later: only `true` injects and only `false` does not; anything else (with a
///   warning) falls back to the policy, so `no` or `False` **injects**.
///
/// The webhook's own selectors compare exact `true`/`false` in every release
/// ([`webhook_matches`]), so this only decides pods the webhook already sent.
fn inject_required(value: Option<&str>, release: IstioRelease) -> bool {
    let value = value.unwrap_or_default();
    if release >= IstioRelease::V1_27 {
        value != "false"
    } else {
        value.is_empty() || matches!(value.to_lowercase().as_str(), "y" | "yes" | "true" | "on")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateways_and_istiod_are_classified_as_their_charts_mark_them() {
        use WorkloadRole::{App, ControlPlane, Gateway};
        type Case = (
            &'static [(&'static str, &'static str)],
            &'static [(&'static str, &'static str)],
            bool,
            WorkloadRole,
        );
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        // (labels, annotations, istio-proxy runs `proxy router`, role)
        let cases: &[Case] = &[
            (&[("app", "httpbin")], &[], false, App),
            (
                &[
                    ("istio", "ingressgateway"),
                    ("sidecar.istio.io/inject", "false"),
                ],
                &[],
                false,
                Gateway,
            ),
            (&[("istio", "egressgateway")], &[], false, Gateway),
            (
                &[("istio", "ingress")],
                &[("inject.istio.io/templates", "gateway")],
                false,
                Gateway,
            ),
            (&[("app", "my-gw")], &[], true, Gateway),
            (
                &[("app", "istiod"), ("istio", "pilot")],
                &[],
                false,
                ControlPlane,
            ),
            (&[("istio", "pilot")], &[], false, App),
        ];
        for (labels, annotations, router, want) in cases {
            let got = WorkloadRole::classify(&map(labels), &map(annotations), *router);
            assert_eq!(got, *want, "{labels:?} {annotations:?} router={router}");
        }
    }

    #[test]
    fn inject_values_other_than_true_and_false_changed_meaning_in_1_27() {
        use IstioRelease::{V1_22, V1_26, V1_27, V1_28};
        // (value, injects on 1.22-1.26, injects on 1.27+)
        let cases: &[(Option<&str>, bool, bool)] = &[
            (None, true, true),
            (Some(""), true, true),
            (Some("true"), true, true),
            (Some("false"), false, false),
            (Some("yes"), true, true),
            (Some("On"), true, true),
            (Some("TRUE"), true, true),
            (Some("no"), false, true),
            (Some("False"), false, true),
            (Some("disabled"), false, true),
        ];
        for &(value, old, new) in cases {
            for r in [V1_22, V1_26] {
                assert_eq!(inject_required(value, r), old, "{value:?} on {r}");
            }
            for r in [V1_27, V1_28] {
                assert_eq!(inject_required(value, r), new, "{value:?} on {r}");
            }
        }
    }
}

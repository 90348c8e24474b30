//! Sidecar injection: the default webhook's selectors and the injector's own rules.

use super::load_ok;

/// A namespace with `ns_labels` and a Deployment whose pod template has `pod_labels` and
/// `pod_annotations` (YAML flow mappings), plus `extra` pod spec lines.
fn mesh(ns: &str, ns_labels: &str, pod_labels: &str, pod_annotations: &str, extra: &str) -> bool {
    let text = format!(
        "apiVersion: v1
kind: Namespace
metadata:
  name: {ns}
  labels: {ns_labels}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{app: app}}}}
  template:
    metadata:
      labels: {pod_labels}
      annotations: {pod_annotations}
    spec:
{extra}      containers: [{{name: app, image: app}}]
"
    );
    let res = load_ok(&text);
    let w = res.workload(ns, "app").expect("workload");
    res.has_sidecar(w)
}

#[test]
fn injection_follows_the_default_webhook_and_injector_rules() {
    let none = "{}";
    let host = "      hostNetwork: true\n";
    // (case, namespace, namespace labels, pod labels, pod annotations, extra spec, injected)
    let cases = [
        ("unlabelled namespace", "a", none, none, none, "", false),
        (
            "istio-injection=enabled",
            "a",
            "{istio-injection: enabled}",
            none,
            none,
            "",
            true,
        ),
        (
            "istio-injection=disabled",
            "a",
            "{istio-injection: disabled}",
            none,
            none,
            "",
            false,
        ),
        (
            "disabled beats pod label true",
            "a",
            "{istio-injection: disabled}",
            "{sidecar.istio.io/inject: 'true'}",
            none,
            "",
            false,
        ),
        (
            "disabled beats namespace revision",
            "a",
            "{istio-injection: disabled, istio.io/rev: default}",
            none,
            none,
            "",
            false,
        ),
        (
            "enabled but pod label false",
            "a",
            "{istio-injection: enabled}",
            "{sidecar.istio.io/inject: 'false'}",
            none,
            "",
            false,
        ),
        (
            "enabled but pod annotation false",
            "a",
            "{istio-injection: enabled}",
            none,
            "{sidecar.istio.io/inject: 'false'}",
            "",
            false,
        ),
        (
            "pod label true overrides annotation false",
            "a",
            "{istio-injection: enabled}",
            "{sidecar.istio.io/inject: 'true'}",
            "{sidecar.istio.io/inject: 'false'}",
            "",
            true,
        ),
        (
            "pod label false overrides annotation true",
            "a",
            "{istio-injection: enabled}",
            "{sidecar.istio.io/inject: 'false'}",
            "{sidecar.istio.io/inject: 'true'}",
            "",
            false,
        ),
        (
            "pod label true in unlabelled namespace",
            "a",
            none,
            "{sidecar.istio.io/inject: 'true'}",
            none,
            "",
            true,
        ),
        (
            "pod annotation true alone is not enough",
            "a",
            none,
            none,
            "{sidecar.istio.io/inject: 'true'}",
            "",
            false,
        ),
        (
            "namespace revision label",
            "a",
            "{istio.io/rev: canary}",
            none,
            none,
            "",
            true,
        ),
        (
            "namespace revision but pod false",
            "a",
            "{istio.io/rev: default}",
            "{sidecar.istio.io/inject: 'false'}",
            none,
            "",
            false,
        ),
        (
            "pod revision label in unlabelled namespace",
            "a",
            none,
            "{istio.io/rev: canary}",
            none,
            "",
            true,
        ),
        (
            "pod label true with a revision label uses the revision webhook",
            "a",
            none,
            "{sidecar.istio.io/inject: 'true', istio.io/rev: canary}",
            none,
            "",
            true,
        ),
        (
            "invalid label value falls back to the policy",
            "a",
            "{istio-injection: enabled}",
            "{sidecar.istio.io/inject: 'yes'}",
            none,
            "",
            true,
        ),
        (
            "host network pods are never injected",
            "a",
            "{istio-injection: enabled}",
            none,
            none,
            host,
            false,
        ),
        (
            "kube-system is ignored",
            "kube-system",
            "{istio-injection: enabled}",
            none,
            none,
            "",
            false,
        ),
        (
            "root namespace is not special",
            "istio-system",
            "{istio-injection: enabled}",
            none,
            none,
            "",
            true,
        ),
        (
            "root namespace unlabelled",
            "istio-system",
            none,
            none,
            none,
            "",
            false,
        ),
        (
            "already injected pod in a dump",
            "a",
            none,
            none,
            "{sidecar.istio.io/status: '{}'}",
            "",
            true,
        ),
    ];
    let mut failures = Vec::new();
    for (name, ns, ns_labels, pod_labels, pod_annotations, extra, want) in cases {
        if mesh(ns, ns_labels, pod_labels, pod_annotations, extra) != want {
            failures.push(format!("{name}: expected sidecar={want}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn a_namespace_that_is_never_declared_has_no_labels_so_no_injection() {
    let res = load_ok(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ghost}\nspec: {containers: [{name: c, image: c}]}\n",
    );
    let w = res.workload("ghost", "p").expect("pod");
    assert!(!res.has_sidecar(w));
    assert!(res
        .namespace("ghost")
        .is_some_and(|n| n.meta.labels.is_empty()));
}

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

/// A dumped pod: name, IP, whether its spec runs `istio-proxy`.
type DumpedPod = (&'static str, &'static str, bool);

/// A dump: namespace `foo` (injection on), Deployment `app` with ReplicaSet `app-5d9f` and one
/// Pod per entry of `pods`.
fn dump(pods: &[DumpedPod]) -> crate::model::Resources {
    let mut text = String::from(
        "apiVersion: v1
kind: Namespace
metadata: {name: foo, labels: {istio-injection: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: foo, uid: d1}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec: {containers: [{name: app, image: app}]}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: app-5d9f
  namespace: foo
  uid: r1
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: app, uid: d1}]
spec:
  selector: {matchLabels: {app: app, pod-template-hash: 5d9f}}
  template:
    metadata: {labels: {app: app, pod-template-hash: 5d9f}}
    spec: {containers: [{name: app, image: app}]}
",
    );
    for (name, ip, proxy) in pods {
        let proxy = if *proxy {
            ", {name: istio-proxy, image: proxyv2, args: [proxy, sidecar]}"
        } else {
            ""
        };
        text.push_str(&format!(
            "---
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: foo
  uid: {name}-uid
  creationTimestamp: \"2026-01-01T00:00:00Z\"
  labels: {{app: app, pod-template-hash: 5d9f}}
  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: app-5d9f, uid: r1}}]
spec:
  containers: [{{name: app, image: app}}{proxy}]
status: {{phase: Running, podIP: {ip}}}
"
        ));
    }
    load_ok(&text)
}

#[test]
fn a_dumped_pods_containers_decide_its_sidecar_not_the_namespace_label() {
    // (pods, sidecar): pods that started before the label was set have no istio-proxy.
    let cases: [(&[DumpedPod], bool); 4] = [
        (&[("app-5d9f-aaaaa", "10.244.0.5", true)], true),
        (&[("app-5d9f-aaaaa", "10.244.0.5", false)], false),
        (
            &[
                ("app-5d9f-aaaaa", "10.244.0.5", true),
                ("app-5d9f-bbbbb", "10.244.0.6", false),
            ],
            false,
        ),
        (&[], true),
    ];
    for (pods, want) in cases {
        let res = dump(pods);
        assert_eq!(
            res.workloads.len(),
            1,
            "{pods:?}: folded into the Deployment"
        );
        let w = &res.workloads[0];
        assert_eq!(w.meta.name, "app");
        assert_eq!(res.has_sidecar(w), want, "{pods:?}");
        assert_eq!(w.pods.len(), pods.len(), "{pods:?}");
        for (p, (name, ip, _)) in w.pods.iter().zip(pods.iter()) {
            assert_eq!(p.name, *name);
            assert_eq!(p.ip.map(|i| i.to_string()).as_deref(), Some(*ip));
        }
    }
}

#[test]
fn a_manifest_pod_without_api_server_fields_is_still_injected_by_labels() {
    let res = load_ok(
        "apiVersion: v1
kind: Namespace
metadata: {name: foo, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: foo}
spec: {containers: [{name: app, image: app}]}
",
    );
    let w = res.workload("foo", "app").expect("pod");
    assert!(w.pods.is_empty());
    assert!(res.has_sidecar(w));
}

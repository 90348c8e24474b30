//! Loading rules: documents, lists, kinds, versions, defaults, warnings and error positions.

use std::path::Path;

use super::{load, load_err, load_ok};
use crate::model::{
    load_paths, parse_object, MtlsMode, Object, Origin, TargetPort, TlsVersion, WorkloadKind,
};

const PA_STRICT: &str = "apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: foo
spec:
  mtls:
    mode: STRICT
";

#[test]
fn multi_document_stream_loads_every_object_and_skips_empty_documents() {
    let text = format!(
        "---\n# only a comment\n---\n{PA_STRICT}---\n---\nnull\n---\n{}",
        PA_STRICT.replace("name: default", "name: other")
    );
    let res = load_ok(&text);
    assert_eq!(res.peer_authentications.len(), 2);
    assert_eq!(
        res.peer_authentications[0]
            .spec
            .mtls
            .as_ref()
            .map(|m| m.mode),
        Some(MtlsMode::Strict)
    );
}

#[test]
fn object_origin_is_the_line_of_its_document_in_the_file() {
    let text = format!(
        "# header\n{PA_STRICT}---\n\n{}",
        PA_STRICT.replace("name: default", "name: second")
    );
    let res = load_ok(&text);
    assert_eq!(res.peer_authentications[0].meta.origin.line, 2);
    // 1 header + 8 lines + separator + blank line: the second document starts on line 12.
    assert_eq!(res.peer_authentications[1].meta.origin.line, 12);
    assert_eq!(
        res.peer_authentications[1].meta.origin.file,
        Path::new("test.yaml")
    );
}

#[test]
fn errors_in_later_documents_point_at_the_file_line_of_the_offending_field() {
    let bad = PA_STRICT.replace("mode: STRICT", "mode: STRCT");
    let text = format!("{PA_STRICT}---\n{bad}");
    let err = load_err(&text);
    // PA_STRICT has 8 lines, the separator is line 9, `mode:` is the 8th line of document 2.
    assert_eq!(err.origin.line, 17, "{err}");
    assert!(err.message.contains("spec.mtls.mode"), "{err}");
    for name in ["UNSET", "DISABLE", "PERMISSIVE", "STRICT"] {
        assert!(
            err.message.contains(name),
            "message lists the valid modes: {err}"
        );
    }
}

#[test]
fn yaml_syntax_errors_name_file_and_line() {
    let text = format!("{PA_STRICT}---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: [a\n");
    let err = load_err(&text);
    assert_eq!(err.origin.file, Path::new("test.yaml"));
    assert!(err.origin.line >= 12, "{err}");
    assert!(err.message.starts_with("invalid YAML"), "{err}");
}

#[test]
fn kind_list_loads_its_items_with_their_own_lines() {
    let text = "apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata:
    name: foo
    labels: {istio-injection: enabled}
- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: httpbin
    namespace: foo
metadata:
  resourceVersion: \"\"
";
    let res = load_ok(text);
    assert_eq!(res.namespace("foo").map(|n| n.meta.origin.line), Some(4));
    assert_eq!(
        res.service_account("foo", "httpbin")
            .map(|s| s.meta.origin.line),
        Some(9)
    );
}

#[test]
fn errors_inside_a_list_item_point_at_the_item_field() {
    let text = "apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata:
    name: foo
- apiVersion: security.istio.io/v1
  kind: PeerAuthentication
  metadata:
    name: p
    namespace: foo
  spec:
    mtls:
      mode: sometimes
";
    let err = load_err(text);
    assert_eq!(err.origin.line, 15, "{err}");
    assert!(err.message.contains("STRICT"), "{err}");
}

#[test]
fn unknown_kinds_are_skipped_with_a_warning() {
    let text = format!(
        "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: vs}}
---
apiVersion: v1
kind: Secret
metadata: {{name: cacerts, namespace: istio-system}}
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {{name: knative}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: other, namespace: istio-system}}
---
{PA_STRICT}"
    );
    let res = load_ok(&text);
    assert_eq!(res.peer_authentications.len(), 1);
    assert!(
        res.services.is_empty(),
        "a Knative Service is not a core Service"
    );
    let notes: Vec<String> = res.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(notes.len(), 4, "{notes:#?}");
    assert!(
        notes[0].contains("VirtualService") && notes[0].starts_with("test.yaml:1:"),
        "{notes:#?}"
    );
    assert!(notes[1].contains("Secret"), "{notes:#?}");
    assert!(
        notes[3].contains("ConfigMap istio-system/other"),
        "{notes:#?}"
    );
}

#[test]
fn unsupported_api_versions_of_known_kinds_are_errors() {
    let cases = [
        (
            "security.istio.io/v1alpha1",
            "PeerAuthentication",
            "security.istio.io/v1 or security.istio.io/v1beta1",
        ),
        (
            "networking.istio.io/v2",
            "DestinationRule",
            "networking.istio.io/v1alpha3",
        ),
        (
            "security.istio.io/v1alpha9",
            "AuthorizationPolicy",
            "security.istio.io/v1beta1",
        ),
        ("extensions/v1beta1", "Deployment", "apps/v1"),
        ("apps/v1beta2", "StatefulSet", "apps/v1"),
        ("v2", "Service", "expected v1"),
    ];
    for (api, kind, expected) in cases {
        let text = format!("apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: x\n");
        let err = load_err(&text);
        assert!(
            err.message.contains("unsupported apiVersion"),
            "{kind}: {err}"
        );
        assert!(err.message.contains(expected), "{kind}: {err}");
        assert_eq!(err.origin.line, 1, "{err}");
    }
}

#[test]
fn accepted_istio_api_versions_load() {
    for (api, kind) in [
        ("security.istio.io/v1", "PeerAuthentication"),
        ("security.istio.io/v1beta1", "PeerAuthentication"),
        ("security.istio.io/v1", "AuthorizationPolicy"),
        ("security.istio.io/v1beta1", "AuthorizationPolicy"),
        ("networking.istio.io/v1", "DestinationRule"),
        ("networking.istio.io/v1beta1", "DestinationRule"),
        ("networking.istio.io/v1alpha3", "DestinationRule"),
    ] {
        let spec = if kind == "DestinationRule" {
            "spec: {host: httpbin}\n"
        } else {
            "spec: {}\n"
        };
        let text = format!("apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: x\n{spec}");
        let res = load_ok(&text);
        assert_eq!(
            res.namespace_names(),
            vec!["default".to_string()],
            "{api} {kind}"
        );
    }
}

#[test]
fn missing_api_version_kind_or_name_is_an_error() {
    for (text, needle, line) in [
        ("kind: Namespace\nmetadata: {name: a}\n", "apiVersion", 1),
        ("apiVersion: v1\nmetadata: {name: a}\n", "kind", 1),
        (
            "apiVersion: v1\nkind: Namespace\nmetadata: {}\n",
            "metadata.name",
            3,
        ),
        ("- a\n- b\n", "expected a Kubernetes object", 1),
    ] {
        let err = load_err(text);
        assert!(err.message.contains(needle), "{text:?}: {err}");
        assert_eq!(err.origin.line, line, "{err}");
    }
}

#[test]
fn unknown_fields_are_warned_about_with_their_path_and_line() {
    let text = "apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: foo
spec:
  mtls:
    mdoe: STRICT
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  template:
    spec:
      serviceAcountName: web
      containers:
      - name: app
        image: app
";
    let res = load_ok(text);
    let notes: Vec<String> = res.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("test.yaml:8:") && n.contains("`spec.mtls.mdoe`")),
        "{notes:#?}"
    );
    assert!(
        notes.iter().any(|n| n.starts_with("test.yaml:18:")
            && n.contains("`spec.template.spec.serviceAcountName`")),
        "{notes:#?}"
    );
    // The typo means the mode is UNSET and the pods run as `default`.
    assert_eq!(
        res.peer_authentications[0]
            .spec
            .mtls
            .as_ref()
            .map(|m| m.mode),
        Some(MtlsMode::Unset)
    );
    assert_eq!(
        res.workload("default", "web")
            .map(|w| w.service_account.as_str()),
        Some("default")
    );
}

#[test]
fn fields_kubernetes_knows_are_not_unknown() {
    let text = "apiVersion: v1
kind: ServiceAccount
metadata:
  name: sa
  namespace: foo
  uid: 1234
  resourceVersion: \"5\"
  managedFields: []
automountServiceAccountToken: false
secrets: [{name: sa-token}]
";
    let res = load_ok(text);
    assert!(res.warnings.is_empty(), "{:?}", res.warnings);
}

#[test]
fn controllers_use_their_pod_template_and_replicas() {
    let template = "  template:
    metadata:
      labels: {app: web, version: v1}
      annotations: {sidecar.istio.io/inject: \"false\"}
    spec:
      serviceAccountName: web-sa
      containers:
      - name: app
        image: app
        ports:
        - {containerPort: 8080, name: http}
        - {containerPort: 9090, protocol: UDP}
";
    let cases = [
        (
            "apps/v1",
            "Deployment",
            "  replicas: 3\n",
            WorkloadKind::Deployment,
            3,
        ),
        ("apps/v1", "Deployment", "", WorkloadKind::Deployment, 1),
        (
            "apps/v1",
            "Deployment",
            "  replicas: 0\n",
            WorkloadKind::Deployment,
            0,
        ),
        (
            "apps/v1",
            "StatefulSet",
            "  replicas: 2\n",
            WorkloadKind::StatefulSet,
            2,
        ),
        (
            "apps/v1",
            "ReplicaSet",
            "  replicas: 4\n",
            WorkloadKind::ReplicaSet,
            4,
        ),
        ("apps/v1", "DaemonSet", "", WorkloadKind::DaemonSet, 1),
        (
            "batch/v1",
            "Job",
            "  parallelism: 5\n",
            WorkloadKind::Job,
            1,
        ),
    ];
    for (api, kind, replicas, want_kind, want_replicas) in cases {
        let text = format!(
            "apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: web\n  namespace: shop\n  labels: {{owner: team}}\nspec:\n{replicas}  selector: {{matchLabels: {{app: web}}}}\n{template}"
        );
        let res = load_ok(&text);
        let w = res
            .workload("shop", "web")
            .unwrap_or_else(|| panic!("{kind} loads"));
        assert_eq!(w.kind, want_kind);
        assert_eq!(w.replicas, want_replicas, "{kind} {replicas:?}");
        assert_eq!(w.service_account, "web-sa");
        assert_eq!(
            w.pod_labels.get("version").map(String::as_str),
            Some("v1"),
            "{kind}"
        );
        assert_eq!(w.meta.labels.get("owner").map(String::as_str), Some("team"));
        assert_eq!(
            w.pod_annotations
                .get("sidecar.istio.io/inject")
                .map(String::as_str),
            Some("false")
        );
        assert_eq!(w.ports.len(), 2);
        assert_eq!(w.ports[0].name.as_deref(), Some("http"));
        assert_eq!(
            (w.ports[1].port, w.ports[1].protocol.as_str()),
            (9090, "UDP")
        );
    }
}

#[test]
fn bare_pod_counts_once_and_defaults_to_the_default_service_account() {
    let text = "apiVersion: v1
kind: Pod
metadata:
  name: sleep
  labels: {app: sleep}
  creationTimestamp: \"2024-01-02T03:04:05Z\"
spec:
  hostNetwork: true
  containers: [{name: sleep, image: curl}]
";
    let res = load_ok(text);
    let w = res.workload("default", "sleep").expect("pod");
    assert_eq!((w.kind, w.replicas), (WorkloadKind::Pod, 1));
    assert_eq!(w.service_account, "default");
    assert_eq!(w.pod_labels.get("app").map(String::as_str), Some("sleep"));
    assert!(w.host_network);
    assert_eq!(w.meta.creation_timestamp, Some(1_704_164_645));
}

#[test]
fn namespaced_kinds_default_to_the_default_namespace_and_namespaces_are_implicit() {
    let res = load_ok(PA_STRICT.replace("  namespace: foo\n", "").as_str());
    assert_eq!(res.peer_authentications[0].meta.namespace, "default");
    assert_eq!(res.namespace_names(), vec!["default".to_string()]);
    let ns = res.namespace("default").expect("implicit namespace");
    assert!(ns.meta.labels.is_empty());
}

#[test]
fn pods_owned_by_loaded_controllers_are_folded_into_them() {
    let text = "apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews, namespace: bookinfo}
spec:
  replicas: 2
  selector: {matchLabels: {app: reviews}}
  template:
    metadata: {labels: {app: reviews}}
    spec: {containers: [{name: r, image: r}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: reviews-7d8f9c-abcde
  namespace: bookinfo
  labels: {app: reviews, pod-template-hash: 7d8f9c}
  ownerReferences:
  - {apiVersion: apps/v1, kind: ReplicaSet, name: reviews-7d8f9c, uid: u1, controller: true}
spec: {containers: [{name: r, image: r}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: bookinfo}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: d, image: d}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: db-0
  namespace: bookinfo
  ownerReferences: [{apiVersion: apps/v1, kind: StatefulSet, name: db, uid: u2}]
spec: {containers: [{name: d, image: d}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: orphan-1
  namespace: bookinfo
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: gone-123, uid: u3}]
spec: {containers: [{name: o, image: o}]}
";
    let res = load_ok(text);
    let names: Vec<_> = res
        .workloads
        .iter()
        .map(|w| (w.kind, w.meta.name.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![
            (WorkloadKind::Deployment, "reviews"),
            (WorkloadKind::StatefulSet, "db"),
            (WorkloadKind::Pod, "orphan-1"),
        ]
    );
}

#[test]
fn replica_sets_owned_by_a_loaded_deployment_are_folded_regardless_of_order() {
    let text = "apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5c6d
  namespace: a
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: u}]
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: w, image: w}]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: a}
spec:
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: w, image: w}]}}
";
    let res = load_ok(text);
    assert_eq!(res.workloads.len(), 1);
    assert_eq!(res.workloads[0].kind, WorkloadKind::Deployment);
}

#[test]
fn service_ports_resolve_target_ports_and_headless_services() {
    let text = "apiVersion: v1
kind: Service
metadata: {name: httpbin, namespace: foo}
spec:
  clusterIP: None
  selector: {app: httpbin}
  ports:
  - {name: http, port: 8000, targetPort: 80}
  - {name: grpc, port: 9000, targetPort: grpc-port, appProtocol: grpc}
  - {name: tcp, port: 7000}
  - {name: str, port: 6000, targetPort: \"6001\", protocol: UDP}
";
    let res = load_ok(text);
    let svc = res.service("foo", "httpbin").expect("service");
    assert!(svc.headless);
    let targets: Vec<_> = svc
        .ports
        .iter()
        .map(|p| (p.port, p.target_port.clone()))
        .collect();
    assert_eq!(
        targets,
        vec![
            (8000, TargetPort::Number(80)),
            (9000, TargetPort::Name("grpc-port".into())),
            (7000, TargetPort::Number(7000)),
            (6000, TargetPort::Number(6001)),
        ]
    );
    assert_eq!(svc.ports[1].app_protocol.as_deref(), Some("grpc"));
    assert_eq!(svc.ports[3].protocol, crate::vocab::KubeProtocol::Udp);
    assert_eq!(
        svc.selector
            .as_ref()
            .and_then(|s| s.get("app"))
            .map(String::as_str),
        Some("httpbin")
    );
}

#[test]
fn service_without_selector_has_no_selector_and_bad_ports_are_rejected() {
    let res = load_ok(
        "apiVersion: v1\nkind: Service\nmetadata: {name: ext}\nspec:\n  ports: [{port: 443}]\n",
    );
    assert_eq!(res.services[0].selector, None);
    assert!(!res.services[0].headless);
    let err = load_err(
        "apiVersion: v1\nkind: Service\nmetadata: {name: ext}\nspec:\n  ports: [{port: 70000}]\n",
    );
    assert!(err.message.contains("1..65535"), "{err}");
    assert_eq!(err.origin.line, 5, "{err}");
}

#[test]
fn istio_config_map_becomes_the_mesh_config() {
    let text = "apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |-
    trustDomain: example.org
    trustDomainAliases: [old.org]
    enableAutoMtls: false
    defaultConfig: {discoveryAddress: istiod:15012}
    meshMTLS:
      minProtocolVersion: TLSV1_3
      cipherSuites: [ECDHE-ECDSA-AES128-GCM-SHA256]
  meshNetworks: 'networks: {}'
";
    let res = load_ok(text);
    let mesh = &res.mesh_config;
    assert_eq!(mesh.trust_domain, "example.org");
    assert_eq!(mesh.trust_domain_aliases, vec!["old.org".to_string()]);
    assert!(!mesh.enable_auto_mtls);
    assert_eq!(mesh.root_namespace, "istio-system");
    assert_eq!(mesh.min_protocol_version, Some(TlsVersion::Tls13));
    assert_eq!(
        mesh.cipher_suites,
        vec!["ECDHE-ECDSA-AES128-GCM-SHA256".to_string()]
    );
    assert_eq!(mesh.origin.line, 1);
    // Other keys are not silent: each names the field, its line and what meshsim assumes.
    let notes: Vec<(usize, &str)> = res
        .warnings
        .iter()
        .map(|w| {
            let u = w.unmodelled.as_ref().expect("an unmodelled-field note");
            (w.origin.line, u.field.as_str())
        })
        .collect();
    assert_eq!(notes, vec![(9, "defaultConfig")], "{:?}", res.warnings);
    assert!(res.warnings[0].message.contains("default ProxyConfig"));
}

#[test]
fn path_normalization_is_read_from_mesh_config_as_getpathnormalization_maps_it() {
    use crate::vocab::PathNormalization as N;
    let cases = [
        ("", N::Base),
        ("pathNormalization: {}", N::Base),
        ("pathNormalization: {normalization: DEFAULT}", N::Base),
        ("pathNormalization: {normalization: NONE}", N::None),
        (
            "pathNormalization: {normalization: MERGE_SLASHES}",
            N::MergeSlashes,
        ),
        (
            "pathNormalization: {normalization: DECODE_AND_MERGE_SLASHES}",
            N::DecodeAndMergeSlashes,
        ),
    ];
    for (mesh, want) in cases {
        let text = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: istio, namespace: istio-system}}\ndata:\n  mesh: |-\n    trustDomain: cluster.local\n    {mesh}\n"
        );
        let res = load_ok(&text);
        assert_eq!(res.mesh_config.path_normalization, want, "{mesh}");
        assert!(res.warnings.is_empty(), "{mesh}: {:?}", res.warnings);
    }
    let err = load_err(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |-\n    pathNormalization: {normalization: MERGE_SLASH}\n",
    );
    assert!(
        err.message.contains("unknown variant `MERGE_SLASH`"),
        "{err}"
    );
}

#[test]
fn istio_config_map_in_a_custom_root_namespace_is_accepted_elsewhere_skipped() {
    let text = "apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: mesh-root}
data:
  mesh: 'rootNamespace: mesh-root'
";
    assert_eq!(load_ok(text).mesh_config.root_namespace, "mesh-root");
    let res = load_ok(&text.replace("'rootNamespace: mesh-root'", "'trustDomain: x'"));
    assert_eq!(res.mesh_config.trust_domain, "cluster.local");
    assert!(
        res.warnings[0].message.contains("root namespace"),
        "{:?}",
        res.warnings
    );
}

#[test]
fn invalid_mesh_config_errors_point_into_the_mesh_string() {
    let text = "apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    trustDomain: a
    enableAutoMtls: [yes
";
    let err = load_err(text);
    assert_eq!(err.origin.line, 7, "{err}");
    let err = load_err(&text.replace(
        "enableAutoMtls: [yes",
        "meshMTLS: {minProtocolVersion: TLSV1_1}",
    ));
    assert!(
        err.message.contains("TLSV1_2") && err.message.contains("TLSV1_1"),
        "{err}"
    );
}

#[test]
fn port_level_mtls_accepts_string_keys_as_kubectl_prints_them() {
    let text = "apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: p, namespace: foo}
spec:
  selector: {matchLabels: {app: a}}
  portLevelMtls:
    \"8080\": {mode: DISABLE}
    9090: {mode: STRICT}
";
    let res = load_ok(text);
    let plm = res.peer_authentications[0]
        .spec
        .port_level_mtls
        .clone()
        .unwrap_or_default();
    assert_eq!(plm.get(&8080).map(|m| m.mode), Some(MtlsMode::Disable));
    assert_eq!(plm.get(&9090).map(|m| m.mode), Some(MtlsMode::Strict));
}

#[test]
fn parse_object_reads_inline_values_and_skips_unknown_kinds() {
    let value: serde_yaml::Value = serde_yaml::from_str(PA_STRICT).expect("yaml");
    let origin = Origin {
        file: "<scenario:x>".into(),
        line: 7,
    };
    let mut warnings = Vec::new();
    match parse_object(&value, origin.clone(), &mut warnings) {
        Ok(Some(Object::PeerAuthentication(pa))) => assert_eq!(pa.meta.origin, origin),
        other => panic!("expected a PeerAuthentication, got {other:?}"),
    }
    let vs: serde_yaml::Value = serde_yaml::from_str(
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: g}\n",
    )
    .expect("yaml");
    assert_eq!(parse_object(&vs, origin.clone(), &mut warnings), Ok(None));
    assert_eq!(warnings.len(), 1);
    let bad: serde_yaml::Value =
        serde_yaml::from_str(&PA_STRICT.replace("STRICT", "ON")).expect("yaml");
    let err = parse_object(&bad, origin, &mut warnings).expect_err("bad mode");
    assert_eq!(err.origin.line, 7);
    assert!(err.message.contains("spec.mtls.mode"), "{err}");
}

#[test]
fn folders_load_recursively_in_sorted_order_and_only_yaml_and_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sub = dir.path().join("b-sub");
    std::fs::create_dir(&sub).expect("mkdir");
    std::fs::write(
        dir.path().join("a.yaml"),
        PA_STRICT.replace("STRICT", "PERMISSIVE"),
    )
    .expect("write");
    std::fs::write(sub.join("c.yml"), PA_STRICT).expect("write");
    std::fs::write(dir.path().join("notes.txt"), "not yaml: [").expect("write");
    std::fs::write(
        dir.path().join("d.json"),
        r#"{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "foo", "labels": {"istio-injection": "enabled"}}}"#,
    )
    .expect("write");
    let res = load_paths(&[dir.path().to_path_buf()]).expect("load");
    // b-sub/c.yml replaces a.yaml's PeerAuthentication (same name), as kubectl apply would.
    assert_eq!(res.peer_authentications.len(), 1);
    assert_eq!(
        res.peer_authentications[0]
            .spec
            .mtls
            .as_ref()
            .map(|m| m.mode),
        Some(MtlsMode::Strict)
    );
    assert!(
        res.warnings
            .iter()
            .any(|w| w.origin.file.ends_with("a.yaml")),
        "{:?}",
        res.warnings
    );
    assert_eq!(res.namespace("foo").map(|n| n.meta.labels.len()), Some(1));
    let missing = load_paths(&[dir.path().join("nope")]).expect_err("missing path");
    assert!(missing.message.contains("cannot open"), "{missing}");
}

#[test]
fn load_errors_display_file_line_and_message() {
    let err = load("apiVersion: v1\nkind: Namespace\n").expect_err("no name");
    assert_eq!(
        err.to_string(),
        "test.yaml:1: error: invalid Namespace (unnamed): missing `metadata.name`"
    );
    let err = load("apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: a}\nspec: {ports: [{port: x}]}\n")
        .expect_err("bad port");
    assert!(
        err.to_string()
            .starts_with("test.yaml:4: error: invalid Service a/s: spec.ports[0].port: "),
        "{err}"
    );
}

#[test]
fn a_large_list_dump_folds_its_pods_and_keeps_each_item_line() {
    let mut text = String::from("apiVersion: v1\nkind: List\nitems:\n");
    for i in 0..400 {
        text.push_str(&format!(
            "- apiVersion: v1
  kind: Pod
  metadata:
    name: d{i}-h{i}-x
    namespace: ns-{ns}
    labels: {{app: a{i}, pod-template-hash: h{i}}}
    ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: d{i}-h{i}, uid: u}}]
  spec: {{containers: [{{name: c, image: x}}]}}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {{name: d{i}, namespace: ns-{ns}}}
  spec:
    selector: {{matchLabels: {{app: a{i}}}}}
    template:
      metadata: {{labels: {{app: a{i}}}}}
      spec: {{containers: [{{name: c, image: x}}]}}
",
            ns = i % 7
        ));
    }
    let res = load_ok(&text);
    assert_eq!(res.workloads.len(), 400);
    assert!(res
        .workloads
        .iter()
        .all(|w| w.kind == WorkloadKind::Deployment));
    assert_eq!(res.namespace_names().len(), 7);
    // Item 2k+1 (the k-th Deployment) starts 3 + 8 + 16k lines down.
    let last = res.workload("ns-0", "d399").expect("last deployment");
    assert_eq!(last.meta.origin.line, 3 + 399 * 16 + 8 + 1);
}

#[test]
fn yaml_anchors_and_merge_keys_are_resolved() {
    let text = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: a}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels:
        <<: &common {app: web, team: x}
        version: v2
    spec: {containers: [{name: w, image: w}]}
";
    let res = load_ok(text);
    let w = res.workload("a", "web").expect("deployment");
    assert_eq!(w.pod_labels.get("team").map(String::as_str), Some("x"));
    assert_eq!(w.pod_labels.get("version").map(String::as_str), Some("v2"));
    assert!(res.warnings.is_empty(), "{:?}", res.warnings);
}

#[test]
fn invalid_creation_timestamps_are_errors_on_their_line() {
    let err = load_err(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  creationTimestamp: yesterday\n",
    );
    assert_eq!(err.origin.line, 5, "{err}");
    assert!(err.message.contains("metadata.creationTimestamp"), "{err}");
}

#[test]
fn scenario_documents_in_a_fixture_folder_are_skipped_with_a_note() {
    let text = format!("name: plaintext to strict\nsteps:\n- advance: 1h\n---\n{PA_STRICT}");
    let res = load_ok(&text);
    assert_eq!(res.peer_authentications.len(), 1);
    assert!(
        res.warnings[0].message.contains("scenario"),
        "{:?}",
        res.warnings
    );
}

#[test]
fn a_rejection_caused_by_a_misspelt_field_mentions_the_unknown_field() {
    let text = "apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: a, namespace: foo}
spec:
  rules:
  - from:
    - source:
        principal: [cluster.local/ns/foo/sa/sleep]
";
    let err = load_err(text);
    assert!(
        err.message.contains("`from.source` must not be empty"),
        "{err}"
    );
    assert!(
        err.message
            .contains("unknown field `spec.rules[0].from[0].source.principal`"),
        "{err}"
    );
    assert_eq!(err.origin.line, 7);
}

#[test]
fn objects_inside_a_scenario_file_report_scenario_file_lines() {
    let text = "name: demo
resources:
- apiVersion: v1
  kind: Namespace
  metadata: {name: foo}
- apiVersion: security.istio.io/v1
  kind: PeerAuthentication
  metadata: {name: p, namespace: foo}
  spec:
    mtls:
      mode: STRICTLY
      mdoe: x
steps: []
";
    let scenario: serde_yaml::Value = serde_yaml::from_str(text).expect("yaml");
    let items = scenario["resources"].as_sequence().expect("list");
    let file = Path::new("scenarios/demo.yaml");
    let mut warnings = Vec::new();
    let path = crate::model::FieldPath::root().key("resources");
    let ns = crate::model::parse_object_at(&items[0], file, text, &path.index(0), &mut warnings)
        .expect("ns");
    match ns {
        Some(Object::Namespace(n)) => assert_eq!(n.meta.origin.line, 3),
        other => panic!("expected a Namespace, got {other:?}"),
    }
    let err = crate::model::parse_object_at(&items[1], file, text, &path.index(1), &mut warnings)
        .expect_err("bad mode");
    assert_eq!(err.origin.file, file);
    assert_eq!(err.origin.line, 11, "{err}");
    assert!(
        err.message.contains("STRICTLY") || err.message.contains("STRICT"),
        "{err}"
    );
}

#[test]
fn finished_pods_in_a_dump_have_no_replicas() {
    let pod = |name: &str, phase: &str| {
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec: {{containers: [{{name: c, image: c}}]}}\nstatus: {{phase: {phase}}}\n---\n")
    };
    let text = [
        pod("done", "Succeeded"),
        pod("crashed", "Failed"),
        pod("up", "Running"),
        pod("starting", "Pending"),
    ]
    .concat();
    let res = load_ok(&text);
    let replicas: Vec<(&str, u32)> = res
        .workloads
        .iter()
        .map(|w| (w.meta.name.as_str(), w.replicas))
        .collect();
    assert_eq!(
        replicas,
        vec![("done", 0), ("crashed", 0), ("up", 1), ("starting", 1)]
    );
}

#[test]
fn namespace_option_places_objects_without_one_and_refuses_others_like_kubectl_apply_n() {
    use crate::model::{load_sources_each, load_sources_with, LoadOptions, WarningKind};
    let text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: foo}\n---\n\
                apiVersion: v1\nkind: Service\nmetadata: {name: httpbin}\nspec: {ports: [{port: 80}]}\n---\n\
                apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default}\n";
    // (-n, namespace the Service and the PeerAuthentication land in)
    for (namespace, want) in [
        (None, "default"),
        (Some("foo"), "foo"),
        (Some("bar"), "bar"),
    ] {
        let res = load_sources_with(
            [(Path::new("a.yaml").to_path_buf(), text)],
            LoadOptions { namespace },
        )
        .expect("loads");
        assert_eq!(res.services[0].meta.namespace, want, "{namespace:?}");
        assert_eq!(
            res.peer_authentications[0].meta.namespace, want,
            "{namespace:?}"
        );
        // A Namespace is cluster-scoped: -n does not touch it.
        assert!(res
            .namespaces
            .iter()
            .any(|n| n.meta.name == "foo" && n.meta.namespace.is_empty()));
    }
    let other = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa, namespace: bar}\n";
    let err = load_sources_with(
        [(Path::new("b.yaml").to_path_buf(), other)],
        LoadOptions {
            namespace: Some("foo"),
        },
    )
    .expect_err("another namespace");
    assert_eq!(err.origin.line, 3, "{err}");
    assert!(
        err.message.contains(
            "the namespace from the provided object \"bar\" does not match the namespace \"foo\""
        ),
        "{err}"
    );
    // Every file is read; the one that cannot load is reported, the others load.
    let (res, errors) = load_sources_each(
        [
            (Path::new("b.yaml").to_path_buf(), other),
            (Path::new("a.yaml").to_path_buf(), text),
        ],
        LoadOptions {
            namespace: Some("foo"),
        },
        false,
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(res.services.len(), 1);
    assert!(res
        .warnings
        .iter()
        .all(|w| w.kind != WarningKind::UnknownField));
}

/// A `when` on a header Envoy adds before RBAC (any case) is named as unmodelled; a `when` on a
/// header the client sends is not.
#[test]
fn when_on_a_header_the_sidecars_add_is_warned_as_unmodelled() {
    let policy = |key: &str| {
        format!(
            "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {{name: p, namespace: foo}}\n\
             spec:\n  rules:\n  - when:\n    - key: {key}\n      values: [\"*\"]\n"
        )
    };
    let cases = [
        ("request.headers[X-Request-Id]", true),
        ("request.headers[x-forwarded-client-cert]", true),
        ("request.headers[X-Envoy-Attempt-Count]", true),
        ("request.headers[traceparent]", true),
        ("request.headers[User-Agent]", false),
    ];
    for (key, warned) in cases {
        let res = load_ok(&policy(key));
        let notes: Vec<_> = res
            .warnings
            .iter()
            .filter_map(|w| w.unmodelled.as_ref())
            .collect();
        assert_eq!(!notes.is_empty(), warned, "{key}: {:?}", res.warnings);
        if warned {
            assert!(
                notes[0].assumption.contains("as if the header were absent"),
                "{key}"
            );
        }
    }
}

#[test]
fn istio_ca_root_cert_config_maps_are_read_as_each_namespaces_roots() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/real/deny-policy/cluster.yaml"
    ))
    .expect("sample");
    let res = load_ok(&text);
    let mut namespaces: Vec<&str> = res
        .root_certs
        .iter()
        .map(|c| c.meta.namespace.as_str())
        .collect();
    namespaces.sort_unstable();
    assert_eq!(namespaces, ["foo", "istio-system", "legacy"]);
    for cm in &res.root_certs {
        assert_eq!(cm.roots.len(), 1);
        let root = crate::pki::inspect(&cm.roots[0]).expect("a certificate");
        assert_eq!(root.subject, "O=cluster.local");
    }
}

#[test]
fn a_malformed_root_cert_pem_is_an_error_at_its_line() {
    for (pem, needle) in [
        ("not a certificate", "holds no CERTIFICATE"),
        (
            "-----BEGIN CERTIFICATE-----\\n AAAA\\n-----END CERTIFICATE-----",
            "is not PEM",
        ),
    ] {
        let text = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: istio-ca-root-cert, namespace: foo}}\ndata:\n  root-cert.pem: \"{pem}\"\n"
        );
        let e = load_err(&text);
        assert_eq!(e.origin.line, 5, "{e}");
        assert!(e.message.contains(needle), "{e}");
    }
}

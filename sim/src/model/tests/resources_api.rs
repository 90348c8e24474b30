//! The Resources API: insert replaces like kubectl apply, remove, merge, lookups.

use super::load_ok;
use crate::model::{MeshConfig, MtlsMode, Object, ObjectRef, WorkloadKind};

const BASE: &str = "apiVersion: v1
kind: Namespace
metadata: {name: foo, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: httpbin, namespace: foo}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: httpbin, namespace: foo}
spec:
  selector: {matchLabels: {app: httpbin}}
  template:
    metadata: {labels: {app: httpbin}}
    spec: {serviceAccountName: httpbin, containers: [{name: h, image: h}]}
---
apiVersion: v1
kind: Pod
metadata: {name: sleep, namespace: bar}
spec: {containers: [{name: s, image: s}]}
---
apiVersion: v1
kind: Service
metadata: {name: httpbin, namespace: foo}
spec: {selector: {app: httpbin}, ports: [{name: http, port: 8000, targetPort: 80}]}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: foo}
spec: {mtls: {mode: STRICT}}
";

fn object(text: &str) -> Object {
    let value: serde_yaml::Value = serde_yaml::from_str(text).expect("yaml");
    let mut warnings = Vec::new();
    crate::model::parse_object(&value, Default::default(), &mut warnings)
        .expect("valid")
        .expect("modelled kind")
}

fn r(kind: &str, namespace: &str, name: &str) -> ObjectRef {
    ObjectRef {
        kind: kind.parse().expect("a kind meshsim reads"),
        namespace: namespace.into(),
        name: name.into(),
    }
}

#[test]
fn lookups_find_objects_by_namespace_and_name() {
    let res = load_ok(BASE);
    assert!(res.namespace("foo").is_some());
    assert_eq!(
        res.workload("foo", "httpbin").map(|w| w.kind),
        Some(WorkloadKind::Deployment)
    );
    assert_eq!(
        res.workload("bar", "sleep").map(|w| w.kind),
        Some(WorkloadKind::Pod)
    );
    assert!(res.workload("bar", "httpbin").is_none());
    assert_eq!(
        res.service("foo", "httpbin").map(|s| s.ports[0].port),
        Some(8000)
    );
    assert!(res.service_account("foo", "httpbin").is_some());
    assert!(res.service_account("foo", "default").is_none());
    assert_eq!(res.workloads_in("foo").count(), 1);
    assert_eq!(res.workloads_in("nope").count(), 0);
    assert_eq!(
        res.namespace_names(),
        vec!["bar".to_string(), "foo".to_string()]
    );
    assert!(res.warnings.is_empty(), "{:?}", res.warnings);
}

#[test]
fn insert_replaces_by_kind_namespace_and_name_like_kubectl_apply() {
    let mut res = load_ok(BASE);
    res.insert(object(
        "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: foo}\nspec: {mtls: {mode: DISABLE}}\n",
    ));
    assert_eq!(res.peer_authentications.len(), 1);
    assert_eq!(
        res.peer_authentications[0]
            .spec
            .mtls
            .as_ref()
            .map(|m| m.mode),
        Some(MtlsMode::Disable)
    );
    assert!(
        res.warnings.is_empty(),
        "an apply is not a duplicate: {:?}",
        res.warnings
    );
    res.insert(object(
        "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: baz}\nspec: {}\n",
    ));
    assert_eq!(res.peer_authentications.len(), 2);
    assert!(
        res.namespace("baz").is_some(),
        "inserting into a new namespace creates it implicitly"
    );
    // A Pod named like a Deployment is a different object.
    res.insert(object("apiVersion: v1\nkind: Pod\nmetadata: {name: httpbin, namespace: foo}\nspec: {containers: [{name: h, image: h}]}\n"));
    assert_eq!(res.workloads_in("foo").count(), 2);
}

#[test]
fn inserting_a_mesh_config_replaces_the_mesh_config() {
    let mut res = load_ok(BASE);
    assert_eq!(res.mesh_config, MeshConfig::default());
    res.insert(object(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata: {mesh: 'trustDomain: td'}\n",
    ));
    assert_eq!(res.mesh_config.trust_domain, "td");
    assert!(res.remove(&r("ConfigMap", "istio-system", "istio")));
    assert_eq!(res.mesh_config.trust_domain, "cluster.local");
    assert!(!res.remove(&r("ConfigMap", "istio-system", "istio")));
}

#[test]
fn remove_deletes_by_the_kind_as_written() {
    let mut res = load_ok(BASE);
    assert!(
        !res.remove(&r("Pod", "foo", "httpbin")),
        "a Deployment is not removed as a Pod"
    );
    assert!(res.remove(&r("Deployment", "foo", "httpbin")));
    assert!(res.workload("foo", "httpbin").is_none());
    assert!(res.remove(&r("PeerAuthentication", "foo", "default")));
    assert!(!res.remove(&r("PeerAuthentication", "foo", "default")));
    assert!(res.remove(&r("Service", "foo", "httpbin")));
    assert!(res.remove(&r("ServiceAccount", "foo", "httpbin")));
    assert!(res.remove(&r("Pod", "bar", "sleep")));
    assert!(!res.remove(&r("DestinationRule", "foo", "nothing")));
}

#[test]
fn removing_a_namespace_removes_everything_in_it() {
    let mut res = load_ok(BASE);
    assert!(res.remove(&r("Namespace", "", "foo")));
    assert!(res.namespace("foo").is_none());
    assert!(res.service("foo", "httpbin").is_none());
    assert!(res.peer_authentications.is_empty());
    assert_eq!(res.workloads.len(), 1, "bar/sleep stays");
}

#[test]
fn merge_applies_the_other_set_on_top() {
    let mut res = load_ok(BASE);
    let other = load_ok(
        "apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: foo}
spec: {mtls: {mode: PERMISSIVE}}
---
apiVersion: v1
kind: Pod
metadata:
  name: httpbin-abc
  namespace: foo
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: httpbin, uid: u}]
spec: {containers: [{name: h, image: h}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: httpbin, namespace: foo}
spec: {host: httpbin}
",
    );
    res.merge(other);
    assert_eq!(res.peer_authentications.len(), 1);
    assert_eq!(
        res.peer_authentications[0]
            .spec
            .mtls
            .as_ref()
            .map(|m| m.mode),
        Some(MtlsMode::Permissive)
    );
    assert_eq!(res.destination_rules.len(), 1);
    assert_eq!(
        res.workloads_in("foo").count(),
        1,
        "the merged pod folds into the loaded Deployment"
    );
    let labels = res
        .namespace("foo")
        .map(|n| n.meta.labels.clone())
        .unwrap_or_default();
    assert_eq!(
        labels.get("istio-injection").map(String::as_str),
        Some("enabled"),
        "implicit namespaces do not erase labels"
    );
}

#[test]
fn object_refs_name_objects_the_way_delete_does() {
    let res = load_ok(BASE);
    let pa = Object::PeerAuthentication(res.peer_authentications[0].clone());
    assert_eq!(
        pa.object_ref().to_string(),
        "PeerAuthentication/foo/default"
    );
    let ns = Object::Namespace(res.namespaces[0].clone());
    assert_eq!(ns.object_ref().to_string(), "Namespace/foo");
    let w = Object::Workload(res.workloads[0].clone());
    assert_eq!(w.object_ref(), r("Deployment", "foo", "httpbin"));
}

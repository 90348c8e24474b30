//! Shared fixtures of the benchmarks (a module of each bench, not a bench itself).

#![allow(dead_code)]

use std::path::PathBuf;

use std::path::Path;
use std::time::Duration;

use sim::mesh::{Mesh, MeshOptions};
use sim::model::{load_paths, load_str, Resources};
use sim::policy::{HttpFacts, RequestFacts};
use sim::request::RequestSpec;

/// The repository root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The sleep/httpbin layout of Istio's mTLS migration task (`scenarios/fixtures`).
pub(crate) fn sleep_httpbin() -> Resources {
    let path = root().join("scenarios/fixtures/sleep-httpbin.yaml");
    load_paths(std::slice::from_ref(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One AuthorizationPolicy template (an ALLOW on a principal, methods and paths) for the
/// evaluation benchmarks.
const TEMPLATE: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: w0
  namespace: ns0
spec:
  selector:
    matchLabels:
      app: w0
  template:
    metadata:
      labels:
        app: w0
    spec:
      serviceAccountName: sleep
      containers:
      - name: app
        image: app
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: p0
  namespace: ns0
spec:
  action: ALLOW
  selector:
    matchLabels:
      app: w0
  rules:
  - from:
    - source:
        principals: [\"cluster.local/ns/ns0/sa/other\"]
    to:
    - operation:
        methods: [\"POST\"]
        paths: [\"/admin*\"]
";

/// `workloads` workloads, ten per namespace, and `policies` policies round-robin over the
/// namespaces, each selecting one workload of its namespace; every fifth is a DENY.
pub(crate) fn authz_mesh(workloads: usize, policies: usize) -> Resources {
    let template = load_str(TEMPLATE, Path::new("evaluation.yaml")).expect("template loads");
    let mut res = template.clone();
    res.workloads.clear();
    res.authorization_policies.clear();
    let namespaces = workloads.div_ceil(10);
    for i in 0..workloads {
        let mut w = template.workloads[0].clone();
        w.meta.name = format!("w{}", i % 10);
        w.meta.namespace = format!("ns{}", i / 10);
        w.pod_labels.insert("app".into(), w.meta.name.clone());
        res.workloads.push(w);
    }
    for j in 0..policies {
        let mut p = template.authorization_policies[0].clone();
        p.meta.name = format!("p{j}");
        p.meta.namespace = format!("ns{}", j % namespaces);
        if let Some(sel) = p.spec.selector.as_mut() {
            sel.match_labels
                .insert("app".into(), format!("w{}", (j / namespaces) % 10));
        }
        if j % 5 == 4 {
            p.spec.action = sim::model::AuthzAction::Deny;
        }
        res.authorization_policies.push(p);
    }
    res
}

/// The request the evaluation benchmarks decide: a GET from `ns0/sleep` over mTLS.
pub(crate) fn authz_facts() -> RequestFacts {
    RequestFacts {
        principal: Some("cluster.local/ns/ns0/sa/sleep".into()),
        destination_port: 80,
        http: Some(
            HttpFacts {
                method: "GET".into(),
                path: "/api/items".into(),
                host: "w0.ns0:80".into(),
                ..HttpFacts::default()
            }
            .into(),
        ),
        ..RequestFacts::default()
    }
}

/// The sleep/httpbin mesh for handshake benchmarks, with ECDSA or RSA workload keys.
pub(crate) fn handshake_mesh(rsa_keys: bool) -> Mesh {
    let opts = MeshOptions {
        rsa_keys,
        // The longest TTL the CA allows, so the idle-timeout jumps rarely trigger rotation.
        cert_ttl: Duration::from_secs(90 * 24 * 3600),
        ..MeshOptions::default()
    };
    Mesh::build(sleep_httpbin(), &[], opts).expect("mesh builds")
}

/// `foo/sleep` GET `/headers` on `httpbin.foo:8000`.
pub(crate) fn sleep_to_httpbin() -> RequestSpec {
    RequestSpec {
        from: "foo/sleep".parse().expect("NS/WORKLOAD"),
        to: "httpbin.foo:8000".parse().expect("HOST:PORT"),
        path: "/headers".into(),
        ..RequestSpec::default()
    }
}

/// Sends one request and checks it really was a successful mTLS exchange.
pub(crate) fn send_mtls(mesh: &mut Mesh, req: &RequestSpec) {
    let outcome = mesh
        .request(req)
        .expect("request runs")
        .into_first()
        .expect("one outcome");
    assert!(outcome.status.is_success() && outcome.mtls, "{outcome:?}");
}

/// The mesh of issue 12's scale table: `workloads` workloads over `namespaces` injected
/// namespaces, each with a ServiceAccount, a Deployment and an HTTP Service, mesh-wide STRICT
/// mTLS, and one ALLOW policy per workload naming three callers' service accounts.
pub(crate) fn scale_mesh(workloads: usize, namespaces: usize) -> Resources {
    use std::fmt::Write as _;
    let mut y = String::from(
        "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: istio-system}\nspec: {mtls: {mode: STRICT}}\n",
    );
    for n in 0..namespaces {
        let _ = write!(y, "---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: ns{n}, labels: {{istio-injection: enabled}}}}\n");
    }
    let ns = |i: usize| format!("ns{}", i % namespaces);
    for i in 0..workloads {
        let callers: Vec<String> = (1..=3)
            .map(|k| {
                let c = (i + k * 7) % workloads;
                format!("\"cluster.local/ns/{}/sa/sa{c}\"", ns(c))
            })
            .collect();
        let _ = write!(
            y,
            "---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: sa{i}, namespace: {ns}}}\n\
             ---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app{i}, namespace: {ns}}}\n\
             spec:\n  selector: {{matchLabels: {{app: app{i}}}}}\n  template:\n    metadata: {{labels: {{app: app{i}}}}}\n\
             \x20   spec:\n      serviceAccountName: sa{i}\n      containers: [{{name: c, image: x, ports: [{{containerPort: 8080}}]}}]\n\
             ---\napiVersion: v1\nkind: Service\nmetadata: {{name: app{i}, namespace: {ns}}}\n\
             spec:\n  selector: {{app: app{i}}}\n  ports: [{{name: http, port: 80, targetPort: 8080}}]\n\
             ---\napiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {{name: allow-app{i}, namespace: {ns}}}\n\
             spec:\n  selector: {{matchLabels: {{app: app{i}}}}}\n  action: ALLOW\n  rules:\n  - from:\n    - source:\n        principals: [{}]\n",
            callers.join(", "),
            ns = ns(i),
        );
    }
    load_str(&y, Path::new("scale-mesh.yaml")).expect("the generated mesh loads")
}

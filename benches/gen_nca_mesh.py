#!/usr/bin/env python3
"""Writes the mesh of issue 12's side-by-side benchmark into DIR, as three files NCA and meshsim
both read:

- namespaces.yaml: N namespaces labelled istio-injection=enabled;
- workloads.yaml: W workloads per namespace, each a ServiceAccount, a Deployment and a Service
  (port 80 -> targetPort 8080, named http);
- policies.yaml: mesh-wide STRICT (a PeerAuthentication in istio-system, which NCA ignores) and
  one ALLOW AuthorizationPolicy per workload naming the service accounts of 3 callers (the next
  3 workloads in a ring over the whole mesh).

    python3 benches/gen_nca_mesh.py 10 100 /tmp/mesh1000
    target/release/meshsim matrix -f /tmp/mesh1000 --format json
    nca --connectivity /tmp/mesh1000/policies.yaml --pod_list /tmp/mesh1000/workloads.yaml \\
        --ns_list /tmp/mesh1000/namespaces.yaml --output_format csv
"""
import os
import sys

namespaces = int(sys.argv[1]) if len(sys.argv) > 1 else 10
per_namespace = int(sys.argv[2]) if len(sys.argv) > 2 else 100
out_dir = sys.argv[3] if len(sys.argv) > 3 else "."
os.makedirs(out_dir, exist_ok=True)
total = namespaces * per_namespace


def workload(i):
    """(namespace, name) of workload i: round-robin over namespaces."""
    return f"ns{i % namespaces}", f"app{i}"


with open(os.path.join(out_dir, "namespaces.yaml"), "w") as out:
    for n in range(namespaces):
        out.write(f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: ns{n}, labels: {{istio-injection: enabled}}}}\n---\n")
    out.write("apiVersion: v1\nkind: Namespace\nmetadata: {name: istio-system}\n")

with open(os.path.join(out_dir, "workloads.yaml"), "w") as out:
    for i in range(total):
        ns, name = workload(i)
        out.write(f"""---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: {name}, namespace: {ns}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      serviceAccountName: {name}
      containers:
      - name: {name}
        image: docker.io/kennethreitz/httpbin
        ports: [{{containerPort: 8080, name: http}}]
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {ns}}}
spec:
  selector: {{app: {name}}}
  ports: [{{port: 80, targetPort: 8080, name: http}}]
""")

with open(os.path.join(out_dir, "policies.yaml"), "w") as out:
    out.write("""apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
""")
    for i in range(total):
        ns, name = workload(i)
        callers = [workload((i + k) % total) for k in (1, 2, 3)]
        principals = ", ".join(f"cluster.local/ns/{cns}/sa/{cname}" for cns, cname in callers)
        out.write(f"""---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: allow-{name}, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  action: ALLOW
  rules:
  - from: [{{source: {{principals: [{principals}]}}}}]
""")

#!/usr/bin/env python3
"""Writes a `kubectl get -A -o yaml`-shaped dump (`kind: List`) of N objects to stdout: per
workload a ServiceAccount, a Deployment (with managedFields, as real dumps have), a Service and
an ALLOW AuthorizationPolicy naming its own service account, spread over 50 namespaces.

    python3 benches/gen_dump.py 64000 > /tmp/dump64000.yaml
    /usr/bin/time -f "%e s %M KB" target/release/meshsim check -f /tmp/dump64000.yaml
"""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
out = sys.stdout
out.write("apiVersion: v1\nkind: List\nitems:\n")
for i in range(n // 4):
    ns = f"ns{i % 50}"
    out.write(f"""- apiVersion: v1
  kind: ServiceAccount
  metadata: {{name: sa{i}, namespace: {ns}}}
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: app{i}
    namespace: {ns}
    managedFields:
    - manager: kubectl
      fieldsV1: {{f:spec: {{}}}}
  spec:
    selector: {{matchLabels: {{app: app{i}}}}}
    template:
      metadata: {{labels: {{app: app{i}}}}}
      spec:
        serviceAccountName: sa{i}
        containers: [{{name: c, image: x, ports: [{{containerPort: 8080}}]}}]
- apiVersion: v1
  kind: Service
  metadata: {{name: app{i}, namespace: {ns}}}
  spec:
    selector: {{app: app{i}}}
    ports: [{{name: http, port: 80, targetPort: 8080}}]
- apiVersion: security.istio.io/v1
  kind: AuthorizationPolicy
  metadata: {{name: ap{i}, namespace: {ns}}}
  spec:
    selector: {{matchLabels: {{app: app{i}}}}}
    rules: [{{from: [{{source: {{principals: ["cluster.local/ns/{ns}/sa/sa{i}"]}}}}]}}]
""")

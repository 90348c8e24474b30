#!/usr/bin/env python3
"""Writes a mesh of W injected workloads (one Deployment and one HTTP Service each) spread over
N namespaces labelled istio-injection=enabled, for `matrix` and `matrix --handshake` runs:

    python3 benches/gen_mesh.py 60 6 > /tmp/mesh60.yaml
    /usr/bin/time -f "%e s %M KB" target/debug/meshsim matrix --handshake -f /tmp/mesh60.yaml --format json
"""
import sys

workloads = int(sys.argv[1]) if len(sys.argv) > 1 else 60
namespaces = int(sys.argv[2]) if len(sys.argv) > 2 else 6
out = sys.stdout
for n in range(namespaces):
    out.write(f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: ns{n}, labels: {{istio-injection: enabled}}}}\n---\n")
for i in range(workloads):
    ns = f"ns{i % namespaces}"
    out.write(f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: app{i}, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{app: app{i}}}}}
  template:
    metadata: {{labels: {{app: app{i}}}}}
    spec:
      containers: [{{name: c, image: x, ports: [{{containerPort: 8080}}]}}]
---
apiVersion: v1
kind: Service
metadata: {{name: app{i}, namespace: {ns}}}
spec:
  selector: {{app: app{i}}}
  ports: [{{name: http, port: 80, targetPort: 8080}}]
---
""")

#!/usr/bin/env python3
"""Compares `meshsim matrix --format csv` with NCA's `--connectivity --output_format
txt_no_fw_rules` on the mesh `gen_nca_mesh.py` writes, pair by pair.

    python3 benches/compare_nca.py MESHSIM.csv NCA.txt

A meshsim flow `NS/APP -> SVC.NS2:80` is allowed when its status is 2xx; NCA allows the pair when
its TCP section lists `NS/APP[Deployment] => NS2/SVC[Deployment]` (the generator gives each
Deployment a Service of the same name). Self-flows are left out: NCA does not list a pod's
connections to itself. Exits 1 and names the first pairs when the two disagree.
"""
import csv
import re
import sys

meshsim_csv, nca_txt = sys.argv[1], sys.argv[2]

meshsim = {}
with open(meshsim_csv, newline="") as f:
    for row in csv.DictReader(f):
        to = re.fullmatch(r"([^.]+)\.([^:]+):(\d+)", row["to"])
        if not to:
            sys.exit(f"unexpected destination {row['to']!r}")
        pair = (row["from"], f"{to.group(2)}/{to.group(1)}")
        if pair[0] == pair[1]:
            continue
        meshsim[pair] = row["status"].startswith("2")

nca = set()
section = None
line_re = re.compile(r"(\S+)\[Deployment\] => (\S+)\[Deployment\] : (.*)")
with open(nca_txt) as f:
    for line in f:
        line = line.strip()
        if line.endswith("Connections:"):
            section = line
            continue
        m = line_re.fullmatch(line)
        if section == "TCP Connections:" and m and "All connections" in m.group(3):
            nca.add((m.group(1), m.group(2)))

disagree = sorted(p for p, allowed in meshsim.items() if allowed != (p in nca))
unknown = sorted(p for p in nca if p not in meshsim)
allowed = sum(meshsim.values())
print(f"pairs compared: {len(meshsim)} ({allowed} allowed, {len(meshsim) - allowed} denied by meshsim)")
if disagree or unknown:
    for p in (disagree + unknown)[:10]:
        print(f"disagree: {p[0]} -> {p[1]}: meshsim {'allows' if meshsim.get(p) else 'denies'}, NCA {'allows' if p in nca else 'denies'}")
    print(f"agreement: NO ({len(disagree)} pairs differ, {len(unknown)} NCA pairs meshsim lacks)")
    sys.exit(1)
print("agreement: every pair")

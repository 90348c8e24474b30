#!/usr/bin/env bash
# meshsim beside NCA (network-config-analyzer) on the same generated mesh: both compute who may
# connect to whom; this checks they agree pair by pair and prints the speed and memory ratios.
#
#   benches/compare-nca.sh [NAMESPACES] [WORKLOADS_PER_NAMESPACE]    (default 10 100: 1 000
#                                                                     workloads, 1 M flows)
#
# Needs python3 with venv and cargo. NCA goes into a virtualenv under the cargo target dir
# (pinned: NCA_VERSION); the mesh and outputs under $WORK (default: a temporary directory).
set -euo pipefail

NAMESPACES=${1:-10}
PER_NAMESPACE=${2:-100}
NCA_VERSION=${NCA_VERSION:-2.1.0}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
VENV=$TARGET/nca-venv-$NCA_VERSION
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$WORK"

if [ ! -x "$VENV/bin/nca" ]; then
  echo "installing network-config-analyzer $NCA_VERSION into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "network-config-analyzer==$NCA_VERSION"
fi
echo "building meshsim (release)" >&2
cargo build --quiet --release --locked --manifest-path "$ROOT/Cargo.toml"
MESHSIM=$TARGET/release/meshsim

MESH=$WORK/mesh
python3 "$ROOT/benches/gen_nca_mesh.py" "$NAMESPACES" "$PER_NAMESPACE" "$MESH"
WORKLOADS=$((NAMESPACES * PER_NAMESPACE))
echo "mesh: $WORKLOADS workloads in $NAMESPACES namespaces, $((WORKLOADS * WORKLOADS)) flows ($MESH)" >&2

echo "running meshsim matrix --format json" >&2
read -r M_WALL M_KB < <(python3 "$ROOT/benches/measure.py" "$WORK/meshsim.json" \
  "$MESHSIM" matrix -f "$MESH" --format json)
"$MESHSIM" matrix -f "$MESH" --format csv > "$WORK/meshsim.csv"
echo "running nca --connectivity (this takes minutes at 1 000 workloads)" >&2
read -r N_WALL N_KB < <(python3 "$ROOT/benches/measure.py" "$WORK/nca.txt" \
  "$VENV/bin/nca" --connectivity "$MESH/policies.yaml" --pod_list "$MESH/workloads.yaml" \
  --ns_list "$MESH/namespaces.yaml" --output_format txt_no_fw_rules)

python3 "$ROOT/benches/compare_nca.py" "$WORK/meshsim.csv" "$WORK/nca.txt"
python3 - "$M_WALL" "$M_KB" "$N_WALL" "$N_KB" "$NCA_VERSION" <<'PY'
import sys
m_wall, m_kb, n_wall, n_kb, version = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
print(f"meshsim matrix: {m_wall:.2f} s, {m_kb / 1024:.0f} MB peak")
print(f"nca {version} --connectivity: {n_wall:.2f} s, {n_kb / 1024:.0f} MB peak")
print(f"speed_vs_nca: {n_wall / m_wall:.0f}x faster (goal >= 100x at 1 000 workloads)")
print(f"memory_vs_nca: {m_kb / n_kb:.2f} of NCA's peak (goal <= 1.00)")
PY

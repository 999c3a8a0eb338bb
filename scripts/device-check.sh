#!/usr/bin/env bash
# The one short GPU check, on a machine with a CUDA GPU:
#   bash scripts/device-check.sh            (OUT: where its copies go; ~2–3 minutes)
# Runs the CUDA tests (CUDA graphs among them), the per-call overhead table on CUDA (eager,
# unchecked, graph replay, by hand, autograd; float64 at the CPU sizes, float32 at the GPU
# sizes the per-call targets are set for), then the quick preset on torch/cuda — exec eager and graph — and its report,
# then batched points (B = 1 … 1024, x d × B) on CUDA, the engines eager and graph, autograd
# and func-rev batching as their users do, with their report's
# batch section, and leaves a flat copy of what matters in $OUT. That machine's python3 already has torch with CUDA,
# pytest, pytest-benchmark, threadpoolctl, tqdm, pandas and matplotlib: nothing is installed.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/device-check}
mkdir -p "$OUT"
PY=${PY:-python3}
export PYTHONPATH=$PWD MPLBACKEND=Agg
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
    $PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())'
    echo "== CUDA tests"
    $PY -m pytest -q -p no:cacheprovider tests/test_cuda.py tests/test_exec.py tests/test_errors.py \
        tests/test_plan.py tests/test_textbook.py
    echo "pytest rc=$?"
    $PY -m modes textbook --backend torch --device cuda | tail -1
    echo "== per-call overhead on cuda (engine, unchecked, graph, hand, autograd)"
    $PY -m bench overhead --backend torch --device cuda --seconds 1
    echo "overhead rc=$?"
    echo "== the per-call GPU targets: eager <= 1.5x hand at L2 m64; graph <= 40 us (L2 m64), <= 170 us (L8 m1024 reverse)"
    $PY -m bench overhead --backend torch --device cuda --dtype float32 --size L2m64,L8m1024 --seconds 2
    echo "overhead f32 rc=$?"
    echo "== quick sweep on cuda"
    $PY -m bench sweep --preset quick --backend torch --device cuda --run-id cuda-quick \
        --results-dir "$OUT/res" --no-progress
    echo "sweep rc=$?"
    $PY -m bench report cuda-quick --results-dir "$OUT/res" --plots-dir "$OUT/plots"
    echo "report rc=$?"
    echo "== graph replays against eager calls, point by point (B/A = graph / eager)"
    $PY -m bench compare cuda-quick:exec=eager cuda-quick:exec=graph --results-dir "$OUT/res" \
        --plots-dir "$OUT/plots" | grep -v "^only in"
    echo "== fitted slopes (graph rows are their own configuration: 'cuda graph')"
    grep -E "^\|.*(cuda|slope)" "$OUT/plots/cuda-quick/REPORT.md" | head -40
    echo "== batches on cuda, eager and graph: counts exact, answers per sample, ratio against B"
    $PY -m bench sweep --backend torch --device cuda --exec eager,graph --L 2 --m 1024 --d m \
        --activation relu,none --target gradient,jacobian --K 8 --B 1,16,256,1024 \
        --mode forward,reverse,autograd,func-rev --max-time 0.1 --min-rounds 5 --run-id cuda-batch --results-dir "$OUT/res" --no-progress
    echo "batch sweep rc=$?"
    $PY -m bench report cuda-batch --results-dir "$OUT/res" --plots-dir "$OUT/plots"
    echo "batch report rc=$?"
    $PY - "$OUT/res/cuda-batch/points.csv" <<'PYEOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
bad = [r for r in rows if r["status"] == "ok" and r["ops_exact"] != "True" and r["ops_predicted"]]
print(f"batched rows: {len(rows)}, ok {sum(r['status'] == 'ok' for r in rows)}, "
      f"counts not exact {len(bad)}, worst relerr "
      f"{max((float(r['grad_relerr']) for r in rows if r['grad_relerr']), default=0):.2e}")
PYEOF
    awk '/^## Batches/,/^## Figures/' "$OUT/plots/cuda-batch/REPORT.md"
} 2>&1 | tee "$OUT/device-check.log"
# The tool brings back at most 8 files, two folders down: keep a flat selection.
for f in points.csv meta.json; do cp "$OUT/res/cuda-quick/$f" "$OUT/$f" 2>/dev/null; done
cp "$OUT/plots/cuda-quick/REPORT.md" "$OUT/" 2>/dev/null
for f in "$OUT"/plots/cuda-quick/2_*.png "$OUT"/plots/cuda-quick/3_*.png; do cp "$f" "$OUT/" 2>/dev/null; done
cp "$OUT/res/cuda-batch/points.csv" "$OUT/batch-points.csv" 2>/dev/null
cp "$OUT"/plots/cuda-batch/11_*.png "$OUT/" 2>/dev/null
rm -rf "$OUT/res" "$OUT/plots"

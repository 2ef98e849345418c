#!/usr/bin/env bash
# The GPU check and benchmark in one go, for a machine with PyTorch but without our other packages.
#
#   bench/gpu_run.sh            # on the GPU machine, from the repository root; results in $OUT
#   NO_WHEELS=1 PYTHON=.venv/bin/python bench/gpu_run.sh cpu 32   # the same steps on the CPU, tiny image
#
# Wheels in .whl/ (see docs/benchmarks.md for how they are made) are installed into /tmp/site first.
# Steps: 1. GPU facts, 2. tiler correctness on the device (bench.gpu_check), 3. the benchmark
# (upstream-style baselines vs ours, several tile settings), 4. ours with torch.compile, in its own
# process under a time limit, with the tiled baseline again for the ratio. Each step writes its own
# JSON and log into $OUT, so a later step failing or timing out loses nothing before it.
set -u -o pipefail
DEVICE=${1:-cuda}
SIZE=${2:-1024}
OUT=${OUT:-/tmp/bench-out}
mkdir -p "$OUT"
if [ -z "${NO_WHEELS:-}" ] && compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "wheel install failed"; exit 1; }
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
export PYTHONUNBUFFERED=1 AIORCH_DATA_DIR=${AIORCH_DATA_DIR:-/tmp/aiorch-bench-data}
PY=${PYTHON:-python3}
status=0

echo "== 1. machine"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "no nvidia-smi";
  $PY -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available())";
  nproc; } 2>&1 | tee "$OUT/machine.txt"

echo "== 2. correctness on $DEVICE"
CHECK_SIZE=$(( SIZE < 256 ? SIZE : 256 ))
timeout 120 $PY -m bench.gpu_check --device "$DEVICE" --size "$CHECK_SIZE" --json "$OUT/gpu_check.json" 2>&1 \
  | tee "$OUT/gpu_check.log" || status=1

echo "== 3. benchmark, $SIZE x $SIZE"
REPEAT=$([ "$DEVICE" = cpu ] && echo 1 || echo 5)
WARMUP=$([ "$DEVICE" = cpu ] && echo 0 || echo 2)
timeout 200 $PY -m bench --device "$DEVICE" --size "$SIZE" --repeat "$REPEAT" --warmup "$WARMUP" --aux-size 256 \
  --json "$OUT/bench.json" 2>&1 | tee "$OUT/bench.log" || status=1

echo "== 4. ours with torch.compile (optional; stopped after ${COMPILE_LIMIT_S:-150} s)"
timeout "${COMPILE_LIMIT_S:-150}" $PY -m bench --device "$DEVICE" --size "$SIZE" --repeat "$REPEAT" \
  --warmup "$WARMUP" --cases tiled,compile --json "$OUT/bench_compile.json" 2>&1 | tee "$OUT/bench_compile.log" \
  || echo "compile step did not finish (status $?); steps 1-3 stand on their own"
exit $status

#!/bin/bash
# The 60-epoch reference run, wall time and peak RSS: the fused engine with an empty kernel
# cache (a machine's first run), the NumPy engine, the fused engine with the cache filled;
# twice, interleaved.  HANDGRAD_DATA=/path/to/data bash benchmarks/first_run.sh
cd "$(dirname "$0")/.." || exit 1
for i in 1 2; do
  cache=$(mktemp -d)
  run() { /usr/bin/time -f "$1: %e s wall, peak RSS %M KB" .venv/bin/handgrad train mlp \
    --engine "$2" --no-progress --overwrite --out "$(mktemp -d)/run" 2>&1 | tail -1; }
  NUMBA_CACHE_DIR=$cache run "fused, empty kernel cache" fused
  run "numpy" numpy
  NUMBA_CACHE_DIR=$cache run "fused, warm kernel cache" fused
  rm -rf "$cache"
done

#!/usr/bin/env bash
# The U-Net's speed against PyTorch's reference, measured in the same minutes: three interleaved rounds of
# diffuscope-bench's unet_train_step/reference and unet_forward/256 and ../shared/bench/unet_reference.py (the same
# network in PyTorch on 2 threads; apt-get install python3-torch). Run it on an otherwise idle machine: a build or a
# training beside it takes the cores from one side and not the other.
#   scripts/bench-unet.sh [BUILD_DIR] [REFERENCE_PY]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
reference=${2:-$here/../shared/bench/unet_reference.py}
[ -x "$build/bin/diffuscope-bench" ] || { echo "no $build/bin/diffuscope-bench: build the benchmarks first" >&2; exit 1; }
[ -f "$reference" ] || { echo "no PyTorch reference at $reference" >&2; exit 1; }
/usr/bin/python3 -c 'import torch' 2> /dev/null || { echo "PyTorch is missing: apt-get install python3-torch" >&2; exit 1; }
for round in 1 2 3; do
  echo "== round $round"
  "$build/bin/diffuscope-bench" --benchmark_filter='unet_train_step/reference|unet_forward/256' 2> /dev/null |
    grep -E '^unet_'
  /usr/bin/python3 "$reference" 2> /dev/null
done

#!/bin/sh
# Retrains the learned models shipped in resources/models with the project's own CPU trainer, through
# `diffuscope-cli train` (see resources/models/README.md for what each file is, the core calls behind each line,
# and the quality each one measured). Every run is seeded, so the same build on the same processor writes the same
# bytes. Total time on a 2-core machine: about 40 minutes.
#
#   scripts/train-shipped-models.sh [OUTPUT_DIR]          # default: resources/models
#   DIFFUSCOPE_CLI=build/bin/diffuscope-cli scripts/train-shipped-models.sh /tmp/models
#   nohup scripts/train-shipped-models.sh > /tmp/train.log 2>&1 &
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
cli=${DIFFUSCOPE_CLI:-$here/build/bin/diffuscope-cli}
out=${1:-$here/resources/models}
mkdir -p "$out"
if [ ! -x "$cli" ]; then
  echo "diffuscope-cli not found at $cli: build it, or set DIFFUSCOPE_CLI" >&2
  exit 1
fi

# Sohl-Dickstein et al. 2015: the swiss roll, T = 40, learned mean and variance, trained on the variational bound.
"$cli" train --model sohl-dickstein-2d --data swiss_roll --iterations 30000 --batch 256 --seed 1 \
  -o "$out/sohl-dickstein-swissroll.dfm"

# DDPM on the digits (training nine tenths), linear T = 1000, MLP x_0-network.
"$cli" train --model ddpm-digits-mlp --iterations 24000 --batch 128 --seed 1 -o "$out/ddpm-digits-mlp.dfm"

# SR3 on the digits, 10x10 -> 20x20 and 5x5 -> 20x20 (linear T = 2000, 1e-6 .. 1e-2, continuous noise level).
"$cli" train --model sr3-digits --low-side 10 --iterations 12000 --batch 128 --seed 1 -o "$out/sr3-digits.dfm"
"$cli" train --model sr3-digits --low-side 5 --iterations 12000 --batch 128 --seed 1 -o "$out/sr3-digits-5x5.dfm"

"$cli" train --model ddpm-2d --data dino --seed 1 -o "$out/ddpm-2d-dino.dfm"

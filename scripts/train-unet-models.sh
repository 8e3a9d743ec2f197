#!/bin/sh
# Trains the U-Net models shipped in resources/models: ddpm-photo and sr3-photo on the photographs listed in
# scripts/photo-training-set.txt (Debian's opencv-doc sample data; installed here if missing), ddpm-digits on the
# training nine tenths of resources/datasets/digits.png. Resumable: every
# 500 updates the training state is written to the checkpoint folder, and a second run continues from it, so the
# two hours a model needs can span several sessions. Seeded: the same build on the same processor writes the
# same bytes.
#
#   scripts/train-unet-models.sh ddpm-photo|sr3-photo|ddpm-digits [ITERATIONS]   # default 20000 (digits 24000)
#   nohup scripts/train-unet-models.sh ddpm-photo > /tmp/ddpm-photo.log 2>&1 &
#
# Checkpoints: $DIFFUSCOPE_CHECKPOINTS (default training/checkpoints/); the shipped file (sampling weights only)
# is written to resources/models/NAME.dfm after each finished run.
set -eu
# oneDNN and the U-Net run on OpenMP; when the machine is shared (builds beside the training), spinning threads
# wait for each other at every barrier: a step took 2.26 s instead of 0.69 s (unet_train_step, load 4).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

here=$(cd "$(dirname "$0")/.." && pwd)
cli=${DIFFUSCOPE_CLI:-$here/build/bin/diffuscope-cli}
model=${1:?usage: train-unet-models.sh ddpm-photo|sr3-photo|ddpm-digits [ITERATIONS]}
iterations=${2:-20000}
[ "$model" = ddpm-digits ] && iterations=${2:-24000}
checkpoints=${DIFFUSCOPE_CHECKPOINTS:-$here/training/checkpoints}
data=/usr/share/doc/opencv-doc/examples/data
case "$model" in ddpm-photo|sr3-photo|ddpm-digits) ;; *) echo "unknown model '$model'" >&2; exit 2 ;; esac
[ -x "$cli" ] || { echo "diffuscope-cli not found at $cli: build it, or set DIFFUSCOPE_CLI" >&2; exit 1; }
mkdir -p "$checkpoints"
ckpt="$checkpoints/$model.dfm"
resume=""
[ -f "$ckpt" ] && resume="--resume $ckpt"
if [ "$model" = ddpm-digits ]; then
  # The digits U-Net trains on the cosine schedule (82% recognised at 12,000 updates, where the linear one reached
  # 81.6% at 24,000: resources/models/README.md); a resumed run keeps the schedule it started with.
  schedule="--schedule cosine"
  [ -n "$resume" ] && schedule=""
  # shellcheck disable=SC2086
  "$cli" train --model ddpm-digits --iterations "$iterations" --seed 1 $resume $schedule --checkpoint -o "$ckpt"
  "$cli" strip "$ckpt" -o "$here/resources/models/ddpm-digits.dfm"
  exit 0
fi
if [ ! -d "$data" ]; then
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y --no-install-recommends opencv-doc; else sudo apt-get install -y --no-install-recommends opencv-doc; fi
fi

# The training and held-out folders, as links to the package's files.
sets=${DIFFUSCOPE_PHOTO_SETS:-$here/build/photo-sets}
mkdir -p "$sets/train" "$sets/test"
grep -E '^(train|test) ' "$here/scripts/photo-training-set.txt" | while read -r split file; do
  [ -f "$data/$file" ] || { echo "missing $data/$file" >&2; exit 1; }
  ln -sf "$data/$file" "$sets/$split/$file"
done

# shellcheck disable=SC2086
"$cli" train --model "$model" --data "$sets/train" --iterations "$iterations" --seed 1 $resume --checkpoint -o "$ckpt"
# The shipped file keeps the sampling (EMA) weights only.
"$cli" strip "$ckpt" -o "$here/resources/models/$model.dfm"

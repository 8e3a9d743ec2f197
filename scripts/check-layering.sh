#!/usr/bin/env bash
# The core's layering: each folder of core/ may include only itself and the folders listed before it here, so the
# folders form no cycle (a lower layer never includes a higher one), and the core includes no Qt. Run by CTest
# (core/layering). Usage: scripts/check-layering.sh [SOURCE_DIR]
set -u
src=${1:-$(cd "$(dirname "$0")/.." && pwd)}
layers=(common random schedule forward sampling data metrics nn train models render run export)
rank() {
  local i
  for i in "${!layers[@]}"; do
    if [ "${layers[$i]}" = "$1" ]; then echo "$i"; return; fi
  done
  echo -1
}
fails=0
for dir in "$src"/core/*/; do
  module=$(basename "$dir")
  r=$(rank "$module")
  if [ "$r" -lt 0 ]; then
    echo "core/$module is not in the layer list of scripts/check-layering.sh"
    fails=$((fails + 1))
    continue
  fi
  for file in "$dir"*.h "$dir"*.cpp; do
    [ -e "$file" ] || continue
    while IFS= read -r dep; do
      [ -n "$dep" ] || continue
      d=$(rank "$dep")
      if [ "$d" -lt 0 ] || [ "$d" -gt "$r" ]; then
        echo "${file#"$src"/}: core/$module includes core/$dep, a higher layer"
        fails=$((fails + 1))
      fi
    done < <(grep -o '^#include "core/[a-z0-9_]*/' "$file" | sed 's|^#include "core/||; s|/$||' | sort -u)
    if grep -q '^#include <Q' "$file"; then
      echo "${file#"$src"/}: the core includes Qt"
      fails=$((fails + 1))
    fi
  done
done
if [ "$fails" -eq 0 ]; then echo "core layering ok: ${layers[*]}"; fi
[ "$fails" -eq 0 ]

#!/usr/bin/env bash
# Points keep the user's coordinates: a CSV at scale 5 with an offset, x -> 5 x + (10, -3), through sample2d (the
# exact denoiser), train + sample2d and evaluate. The samples come out in the CSV's units and the distances printed
# are against the model's own data.
# Arguments: CLI SCRATCH_DIR SOURCE_DIR
set -u
cli=$1; dir=$2
rm -rf "$dir"; mkdir -p "$dir"
fails=0; passes=0
check() { if eval "$2"; then echo "ok   $1"; passes=$((passes + 1)); else echo "FAIL $1"; fails=$((fails + 1)); fi; }
expect_rc() { "${@:2}" >"$dir/out" 2>"$dir/err"; local rc=$?; [ "$rc" -eq "$1" ] || { echo "  rc $rc, expected $1: ${*:2}"; cat "$dir/err"; return 1; }; }
# "mean_x mean_y sd" of a CSV's points (sd: the root of the mean per-coordinate population variance).
stats() { awk -F, 'NR > 1 { n++; sx += $1; sy += $2; sxx += $1 * $1; syy += $2 * $2 }
  END { mx = sx / n; my = sy / n; printf "%.6f %.6f %.6f\n", mx, my, sqrt((sxx / n - mx * mx + syy / n - my * my) / 2) }' "$1"; }
# near A B TOLERANCE: |A - B| <= TOLERANCE.
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; if (d <= t) exit 0; print "  " a " vs " b " (tolerance " t ")"; exit 1 }'; }
# The largest |5 u + (10, -3) - s| over the rows of two CSVs u (unit) and s (scaled).
max_map_error() { paste -d, "$1" "$2" | awk -F, 'NR > 1 { d = $1 * 5 + 10 - $3; e = $2 * 5 - 3 - $4; if (d < 0) d = -d; if (e < 0) e = -e;
  if (d > m) m = d; if (e > m) m = e } END { printf "%.9f\n", m }'; }

"$cli" dataset moons --n 2000 --seed 2 -o "$dir/unit.csv" 2>/dev/null
awk -F, 'NR == 1 { print; next } { printf "%.9g,%.9g\n", $1 * 5 + 10, $2 * 5 - 3 }' "$dir/unit.csv" > "$dir/scaled.csv"
read -r dx dy ds <<< "$(stats "$dir/scaled.csv")"
read -r ux uy us <<< "$(stats "$dir/unit.csv")"
check "the scaled data is at (10, -3), spread 5" 'near "$dx" 10 0.2 && near "$dy" -3 0.01 && near "$ds" "$(awk -v s="$us" "BEGIN { print 5 * s }")" 1e-3'

check "dataset from the scaled csv keeps its units" 'expect_rc 0 "$cli" dataset "$dir/scaled.csv" --n 3000 --seed 4 -o "$dir/drawn.csv" && read -r ax ay as <<< "$(stats "$dir/drawn.csv")" && near "$ax" "$dx" 0.4 && near "$ay" "$dy" 0.3 && near "$as" "$ds" 0.3'

# The exact denoiser: the run lives in the data's normalised space, so the scaled run is the unit run mapped by
# x -> 5 x + (10, -3) up to float rounding (noise added at unit scale in data units would give another picture).
check "sample2d exact, unit data" 'expect_rc 0 "$cli" sample2d --data "$dir/unit.csv" --n 1000 --seed 1 -o "$dir/s_unit.csv"'
check "sample2d exact, scaled data" 'expect_rc 0 "$cli" sample2d --data "$dir/scaled.csv" --n 1000 --seed 1 -o "$dir/s_scaled.csv" && grep -q "fresh data of $dir/scaled.csv" "$dir/err"'
check "exact samples are the unit samples in the data's units" 'near "$(max_map_error "$dir/s_unit.csv" "$dir/s_scaled.csv")" 0 1e-3'
read -r sx sy ss <<< "$(stats "$dir/s_scaled.csv")"
check "exact samples: mean and spread of the data" 'near "$sx" "$dx" 0.5 && near "$sy" "$dy" 0.5 && near "$ss" "$ds" 0.5'

# A tiny DDPM on the scaled CSV: the model file keeps the data's shift and scale and names the data.
check "train ddpm-2d on the scaled csv" 'expect_rc 0 "$cli" train --model ddpm-2d --data "$dir/scaled.csv" --iterations 3000 --seed 1 -o "$dir/m.dfm"'
check "the model file stores the normalisation" 'grep -aq "\"data_scale\"" "$dir/m.dfm" && grep -aq "\"data_shift_x\"" "$dir/m.dfm"'
check "sample2d --model: distance against the model's data" 'expect_rc 0 "$cli" sample2d --model "$dir/m.dfm" --n 1000 --seed 1 -o "$dir/s_model.csv" && grep -q "fresh data of $dir/scaled.csv" "$dir/err"'
# An eps-model of 3000 updates flings a rare sample far away: the checks are on the samples inside the data's
# box widened by one spread (at unit scale they would all sit near the origin, outside it).
inside=$(awk -F, 'NR > 1 { n++; if ($1 > -1 && $1 < 21 && $2 > -10.5 && $2 < 4.5) { k++; sx += $1; sy += $2 } }
  END { printf "%.6f %.6f %.6f\n", k / n, sx / k, sy / k }' "$dir/s_model.csv")
read -r fraction mx my <<< "$inside"
check "learned samples lie on the scaled data" 'near "$fraction" 1 0.05 && near "$mx" "$dx" 1.0 && near "$my" "$dy" 1.0'
read -r model_d gauss_d <<< "$(sed -n 's/.*fresh data of [^:]*: \([-0-9.e]*\) (a Gaussian fitted to the data: \([-0-9.e]*\)).*/\1 \2/p' "$dir/err")"
check "a trained model beats the Gaussian in the data's units" 'awk -v m="$model_d" -v g="$gauss_d" "BEGIN { exit !(m < 0.5 * g) }"'
check "evaluate: against the model's own data" 'expect_rc 0 "$cli" evaluate --model "$dir/m.dfm" --n 500 && grep -q "^data: $dir/scaled.csv" "$dir/out"'
ratio=$(awk '/^ratio/ { print $NF }' "$dir/out")
check "evaluate: the model is closer than the Gaussian" 'near "$ratio" 0 0.6'
echo "cli_coords: $passes checks passed, $fails failed"
[ "$fails" -eq 0 ]

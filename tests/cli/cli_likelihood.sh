#!/usr/bin/env bash
# Likelihood and memorisation from the command line (issue 10): the ODE NLL of the mixture matches its exact density,
# a learned DDPM beats the fitted Gaussian, the Sohl-Dickstein bound prints, the memorisation table and CSV are the
# same bytes when re-run, and errors name the flag. Arguments: CLI SCRATCH_DIR SOURCE_DIR
set -u
cli=$1; dir=$2
rm -rf "$dir"; mkdir -p "$dir"
fails=0; passes=0
check() { if eval "$2"; then echo "ok   $1"; passes=$((passes + 1)); else echo "FAIL $1"; fails=$((fails + 1)); fi; }
expect_rc() { "${@:2}" >"$dir/out" 2>"$dir/err"; local rc=$?; [ "$rc" -eq "$1" ] || { echo "  rc $rc, expected $1: ${*:2}"; cat "$dir/err"; return 1; }; }
# The NLL (first column) of the row whose method (from the 4th column on) starts with $1.
nll() { awk -v m="$1" 'NF >= 4 && index(substr($0, 33), m) == 1 { print $1; exit }' "$dir/out"; }

check "likelihood of the mixture" 'expect_rc 0 "$cli" likelihood --denoiser mixture --n 300 --seed 2 && grep -q "^ *NLL  *+-  *NFE/point  method" "$dir/out"'
check "ODE NLL within 0.02 of the exact density" 'awk -v a="$(nll "probability-flow ODE, exact mixture")" -v b="$(nll "exact log-density")" "BEGIN { d = a - b; exit !(a != \"\" && b != \"\" && d < 0.02 && d > -0.02) }"'
check "the differences path agrees" 'awk -v a="$(nll "probability-flow ODE, exact denoiser")" -v b="$(nll "exact log-density")" "BEGIN { d = a - b; exit !(a != \"\" && d < 0.02 && d > -0.02) }"'
check "NFE printed" 'grep -q "^ *[0-9.]*  *[0-9.]*  *[0-9][0-9]*  probability-flow ODE, exact mixture" "$dir/out" && grep -q "Dormand-Prince steps" "$dir/out"'
cp "$dir/out" "$dir/first.out"
check "likelihood re-runs bit-identical" 'expect_rc 0 "$cli" likelihood --denoiser mixture --n 300 --seed 2 && cmp -s "$dir/first.out" "$dir/out"'

check "a learned DDPM's ODE likelihood" 'expect_rc 0 "$cli" likelihood --model ddpm-2d-dino --n 200 && grep -q "  probability-flow ODE, DDPM 2D (dino)$" "$dir/out"'
check "the DDPM beats the fitted Gaussian" 'awk -v a="$(nll "probability-flow ODE, DDPM")" -v b="$(nll "full-covariance Gaussian")" "BEGIN { exit !(a != \"\" && b != \"\" && a < b - 0.5) }"'
check "the Sohl-Dickstein bound" 'expect_rc 0 "$cli" likelihood --model sohl-dickstein-swissroll --n 200 && grep -q "  variational bound, Sohl-Dickstein" "$dir/out" && grep -q "^data: swiss_roll" "$dir/out"'
check "a bound model that is not Sohl-Dickstein's" 'expect_rc 1 "$cli" likelihood --model ddpm-2d-dino --n 50 --bound-model ddpm-2d-dino && grep -q "not a Sohl-Dickstein model" "$dir/err"'
check "neither --model nor --denoiser" 'expect_rc 1 "$cli" likelihood --n 10 && grep -q "one of --model and --denoiser" "$dir/err"'
check "an unknown denoiser" 'expect_rc 1 "$cli" likelihood --denoiser empirical && grep -q "mixture" "$dir/err"'
check "tolerance 0 is an error" 'expect_rc 1 "$cli" likelihood --denoiser mixture --tolerance 0 && grep -q "tolerance" "$dir/err"'
check "the mixture on other data" 'expect_rc 1 "$cli" likelihood --denoiser mixture --data moons && grep -q "8gaussians" "$dir/err"'

margs=(memorisation --data moons --sizes 8,64 --iterations 300 --n 100 --held-out 100 --seed 1)
check "memorisation table" 'expect_rc 0 "$cli" "${margs[@]}" --csv "$dir/m.csv" && grep -q "^ *N  *DDPM mean  *median  *copies" "$dir/out" && [ "$(grep -c "^  *\(8\|64\)  " "$dir/out")" -eq 2 ]'
check "memorisation csv" '[ "$(head -1 "$dir/m.csv")" = "size,ddpm_nearest_mean,ddpm_nearest_median,ddpm_copy_fraction,empirical_nearest_mean,empirical_nearest_median,empirical_copy_fraction,held_out_nearest_mean,held_out_nearest_median,held_out_copy_fraction,final_loss" ] && [ "$(wc -l < "$dir/m.csv")" -eq 3 ] && grep -q "^8," "$dir/m.csv"'
cp "$dir/out" "$dir/mfirst.out"
check "memorisation re-runs bit-identical" 'expect_rc 0 "$cli" "${margs[@]}" --csv "$dir/m2.csv" && cmp -s "$dir/m.csv" "$dir/m2.csv" && cmp -s "$dir/mfirst.out" "$dir/out"'
check "sizes must increase" 'expect_rc 1 "$cli" memorisation --sizes 64,8 && grep -q "increase" "$dir/err"'
check "iterations 0 is an error" 'expect_rc 1 "$cli" memorisation --sizes 8 --iterations 0 && grep -q "training" "$dir/err"'
check "csv unwritable" 'expect_rc 1 "$cli" "${margs[@]}" --csv /nonexistent/m.csv'
check "no partial files" '! ls -a "$dir" | grep -q "\.tmp-"'

echo "cli_likelihood: $passes checks passed, $fails failed"
[ "$fails" -eq 0 ]

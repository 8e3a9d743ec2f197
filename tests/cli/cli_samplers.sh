#!/usr/bin/env bash
# The samplers beyond DDPM / DDIM from the command line (issue 10): every name reads, and sampler-error prints its
# table and CSV, the same bytes when re-run, with errors naming the flag. Arguments: CLI SCRATCH_DIR SOURCE_DIR
set -u
cli=$1; dir=$2
rm -rf "$dir"; mkdir -p "$dir"
fails=0; passes=0
check() { if eval "$2"; then echo "ok   $1"; passes=$((passes + 1)); else echo "FAIL $1"; fails=$((fails + 1)); fi; }
expect_rc() { "${@:2}" >"$dir/out" 2>"$dir/err"; local rc=$?; [ "$rc" -eq "$1" ] || { echo "  rc $rc, expected $1: ${*:2}"; cat "$dir/err"; return 1; }; }

for s in ode-euler sde-euler heun-karras dpm-solver++ flow-euler flow-heun; do
  check "sample2d --sampler $s" 'expect_rc 0 "$cli" sample2d --denoiser mixture --data 8gaussians --n 200 --sampler $s --sampling-steps 10 --seed 3 -o "$dir/$s.csv" && [ "$(wc -l < "$dir/$s.csv")" -eq 201 ]'
done
check "NFE, not steps, in sample2d's report" 'expect_rc 0 "$cli" sample2d --denoiser mixture --data 8gaussians --n 50 --sampler flow-heun --sampling-steps 8 --seed 3 -o "$dir/x.csv" && grep -q "8 steps, 15 network evaluations" "$dir/err"'
check "unknown sampler is usage" 'expect_rc 2 "$cli" sample2d --data moons --n 10 --sampler heun --seed 1 -o "$dir/x.csv"'

args=(sampler-error --n 100 --data-n 200 --nfe 10,20 --samplers ddim,heun-karras,sde-euler)
check "sampler-error table" 'expect_rc 0 "$cli" "${args[@]}" --csv "$dir/t.csv" && grep -q "^sampler  *steps  *NFE  *endpoint error  *median error  *energy distance" "$dir/out" && [ "$(grep -c "^\(ddim\|heun-karras\|sde-euler\) " "$dir/out")" -eq 6 ]'
check "heun NFE in the table" 'grep -q "^heun-karras  *10  *19 " "$dir/out"'
check "stochastic rows say so" '[ "$(grep -c "(stochastic)" "$dir/out")" -eq 2 ]'
check "fitted orders" 'grep -q "fitted order.*ddim.*heun-karras" "$dir/out"'
check "sampler-error csv" '[ "$(head -1 "$dir/t.csv")" = "sampler,steps,nfe,stochastic,endpoint_rms,energy_distance,endpoint_median" ] && [ "$(wc -l < "$dir/t.csv")" -eq 7 ] && grep -q "^heun-karras,10,19,0," "$dir/t.csv"'
cp "$dir/out" "$dir/first.out"
check "sampler-error re-runs bit-identical" 'expect_rc 0 "$cli" "${args[@]}" --csv "$dir/t2.csv" && cmp -s "$dir/t.csv" "$dir/t2.csv" && cmp -s "$dir/first.out" "$dir/out"'
check "karras schedule" 'expect_rc 0 "$cli" sampler-error --n 50 --data-n 100 --nfe 20 --samplers dpm-solver++ --karras-schedule --steps 400 && grep -q "Karras" "$dir/out"'
check "median in the csv" 'awk -F, "NR > 1 && !(\$7 > 0) { bad = 1 } END { exit bad }" "$dir/t.csv"'
# --model samples on the model's own schedule (cosine T = 50 for ddpm-2d) unless a schedule flag names one.
check "train a model of 8gaussians" 'expect_rc 0 "$cli" train --model ddpm-2d --data 8gaussians --iterations 100 --seed 1 -o "$dir/m.dfm"'
margs=(sampler-error --model "$dir/m.dfm" --n 50 --data-n 100 --nfe 10 --samplers ddim,flow-heun)
check "sampler-error --model: its own schedule" 'expect_rc 0 "$cli" "${margs[@]}" && grep -q "the model.s own cosine schedule, T = 50 " "$dir/out" && grep -q "^flow-heun  *5  *9 " "$dir/out"'
check "sampler-error --model --steps: the one named" 'expect_rc 0 "$cli" "${margs[@]}" --steps 1000 && grep -q ", linear T = 1000 " "$dir/out"'
check "sampler-error --model --schedule: the one named" 'expect_rc 0 "$cli" "${margs[@]}" --schedule cosine --steps 200 && grep -q ", cosine T = 200 " "$dir/out"'
check "unknown sampler in the list" 'expect_rc 1 "$cli" sampler-error --samplers ddim,bogus && grep -q "unknown sampler .bogus." "$dir/err"'
check "nfe 0 is an error" 'expect_rc 1 "$cli" sampler-error --nfe 0 && grep -q "nfe" "$dir/err"'
check "a law other than 8gaussians is an error" 'expect_rc 1 "$cli" sampler-error --data moons && grep -q "8gaussians" "$dir/err"'
check "csv unwritable" 'expect_rc 1 "$cli" "${args[@]}" --csv /nonexistent/t.csv'
check "no partial files" '! ls -a "$dir" | grep -q "\.tmp-"'

echo "cli_samplers: $passes checks passed, $fails failed"
[ "$fails" -eq 0 ]

#!/usr/bin/env bash
# diffuscope-cli's flow matching and classifier-free guidance as users run them (issue 10): train flow-2d and
# ddpm-2d-conditional (tiny runs), sample in flow time and guided, compare-flow, and clear errors.
# Arguments: CLI SCRATCH_DIR SOURCE_DIR
set -u
cli=$1; dir=$2
rm -rf "$dir"; mkdir -p "$dir"
fails=0; passes=0
check() { if eval "$2"; then echo "ok   $1"; passes=$((passes + 1)); else echo "FAIL $1"; fails=$((fails + 1)); fi; }
expect_rc() { "${@:2}" >"$dir/out" 2>"$dir/err"; local rc=$?; [ "$rc" -eq "$1" ] || { echo "  rc $rc, expected $1: ${*:2}"; cat "$dir/err"; return 1; }; }

check "train flow-2d" 'expect_rc 0 "$cli" train --model flow-2d --data 8gaussians --iterations 200 --seed 1 -o "$dir/f.dfm" && grep -q "200 updates" "$dir/err"'
check "flow samples with heun" 'expect_rc 0 "$cli" sample2d --model "$dir/f.dfm" --flow-solver heun --flow-steps 4 --n 200 --seed 2 -o "$dir/f.csv" && [ "$(wc -l < "$dir/f.csv")" -eq 201 ] && grep -q "4 steps, 7 network evaluations" "$dir/err"'
check "--sampler flow-heun is --flow-solver heun" 'expect_rc 0 "$cli" sample2d --model "$dir/f.dfm" --sampler flow-heun --sampling-steps 4 --n 200 --seed 2 -o "$dir/fh.csv" && cmp -s "$dir/f.csv" "$dir/fh.csv" && grep -q "4 steps, 7 network evaluations" "$dir/err"'
check "--sampler flow-euler is --flow-solver euler" 'expect_rc 0 "$cli" sample2d --model "$dir/f.dfm" --flow-solver euler --flow-steps 5 --n 200 --seed 2 -o "$dir/fe1.csv" && expect_rc 0 "$cli" sample2d --model "$dir/f.dfm" --sampler flow-euler --sampling-steps 5 --n 200 --seed 2 -o "$dir/fe2.csv" && cmp -s "$dir/fe1.csv" "$dir/fe2.csv"'
check "flow-heun on a DDPM (any model)" 'expect_rc 0 "$cli" sample2d --model ddpm-2d-dino --sampler flow-heun --sampling-steps 10 --n 200 --seed 2 -o "$dir/dh.csv" && grep -q "10 steps, 19 network evaluations" "$dir/err"'
check "flow samples with ddim" 'expect_rc 0 "$cli" sample2d --model "$dir/f.dfm" --sampler ddim --sampling-steps 10 --n 200 --seed 2 -o "$dir/fd.csv"'
check "train ddpm-2d-conditional" 'expect_rc 0 "$cli" train --model ddpm-2d-conditional --data moons --iterations 200 --label-dropout 0.2 --seed 1 -o "$dir/c.dfm"'
check "guided samples" 'expect_rc 0 "$cli" sample2d --model "$dir/c.dfm" --label 1 --guidance 2.5 --n 200 --seed 2 -o "$dir/c.csv"'
check "exact guided mixture" 'expect_rc 0 "$cli" sample2d --denoiser mixture --data 8gaussians --label 2 --guidance 3 --n 200 --seed 2 -o "$dir/m.csv"'
check "a label the model lacks" 'expect_rc 1 "$cli" sample2d --model "$dir/c.dfm" --label 2 --n 10 --seed 2 -o "$dir/x.csv" && grep -q "not one of the model" "$dir/err"'
check "guidance without classes" 'expect_rc 1 "$cli" sample2d --model "$dir/f.dfm" --label 0 --n 10 --seed 2 -o "$dir/x.csv" && grep -q "not class-conditional" "$dir/err"'
check "guidance out of range" 'expect_rc 1 "$cli" sample2d --denoiser mixture --data 8gaussians --label 0 --guidance 11 --n 10 --seed 2 -o "$dir/x.csv"'
check "guidance needs a label" 'expect_rc 1 "$cli" sample2d --denoiser mixture --data 8gaussians --guidance 2 --n 10 --seed 2 -o "$dir/x.csv"'
check "conditional needs labelled data" 'expect_rc 1 "$cli" train --model ddpm-2d-conditional --data dino --iterations 10 --seed 1 -o "$dir/x.dfm" && grep -q "no class labels" "$dir/err"'
check "compare-flow" 'expect_rc 0 "$cli" compare-flow --data 8gaussians --iterations 200 --batch 32 --steps 1,4 --n 200 --seed 1 --csv "$dir/cmp.csv" && [ "$(wc -l < "$dir/cmp.csv")" -eq 13 ] && grep -q "^flow   heun        4     7" "$dir/out"'
check "compare-flow with files" 'expect_rc 0 "$cli" compare-flow --data 8gaussians --flow "$dir/f.dfm" --steps 2 --iterations 100 --batch 16 --n 100 --seed 1'
check "compare-flow bad steps" 'expect_rc 1 "$cli" compare-flow --steps 2,x --seed 1'
check "export a guided run" 'expect_rc 0 "$cli" export --data 8gaussians --model mixture --label 2 --guidance 3 --direction reverse --frames 4 --points 200 --field score --seed 1 -o "$dir/g.gif" && grep -q "\"guidance\": 3" "$dir/g.gif.json"'
check "export a flow-heun run" 'expect_rc 0 "$cli" export --data 8gaussians --model mixture --sampler flow-heun --sampling-steps 6 --direction reverse --frames 4 --points 200 --seed 1 -o "$dir/fh.gif" && grep -q "\"kind\": \"flow-heun\"" "$dir/fh.gif.json" && expect_rc 0 "$cli" export --from "$dir/fh.gif.json" -o "$dir/fh2.gif" && cmp -s "$dir/fh.gif" "$dir/fh2.gif"'
echo "cli_flow: $passes checks passed, $fails failed"
[ "$fails" -eq 0 ]

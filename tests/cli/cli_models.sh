#!/usr/bin/env bash
# diffuscope-cli's model jobs as users run them: train (tiny runs), resume, sample, sr, denoise, evaluate, and
# clear errors for bad model files.
# Arguments: CLI SCRATCH_DIR SOURCE_DIR
set -u
cli=$1; dir=$2; src=$3
rm -rf "$dir"; mkdir -p "$dir"
fails=0; passes=0
check() { if eval "$2"; then echo "ok   $1"; passes=$((passes + 1)); else echo "FAIL $1"; fails=$((fails + 1)); fi; }
expect_rc() { "${@:2}" >"$dir/out" 2>"$dir/err"; local rc=$?; [ "$rc" -eq "$1" ] || { echo "  rc $rc, expected $1: ${*:2}"; cat "$dir/err"; return 1; }; }
img="$src/resources/images/butterfly.jpg"

check "train ddpm-2d" 'expect_rc 0 "$cli" train --model ddpm-2d --data moons --iterations 300 --seed 1 --checkpoint -o "$dir/m.dfm" && grep -q "300 updates" "$dir/err"'
check "resume" 'expect_rc 0 "$cli" train --model ddpm-2d --data moons --iterations 500 --seed 1 --resume "$dir/m.dfm" -o "$dir/m2.dfm" && grep -q "200 updates" "$dir/err"'
check "resume needs a checkpoint" 'expect_rc 1 "$cli" train --model ddpm-2d --iterations 600 --seed 1 --resume "$dir/m2.dfm" -o "$dir/m3.dfm"'
check "train from a user csv" 'expect_rc 0 "$cli" dataset spiral --n 500 --seed 2 -o "$dir/user.csv" && expect_rc 0 "$cli" train --model ddpm-2d --data "$dir/user.csv" --iterations 200 --seed 1 -o "$dir/u.dfm"'
check "train sohl-dickstein" 'expect_rc 0 "$cli" train --model sohl-dickstein-2d --iterations 100 --seed 1 -o "$dir/sd.dfm"'
check "train ddpm-digits" 'expect_rc 0 "$cli" train --model ddpm-digits --iterations 20 --batch 16 --seed 1 -o "$dir/dg.dfm"'
check "train ddpm-digits-mlp" 'expect_rc 0 "$cli" train --model ddpm-digits-mlp --iterations 20 --batch 16 --seed 1 -o "$dir/dgm.dfm"'
check "train --prediction eps: the file says eps" 'expect_rc 0 "$cli" train --model ddpm-digits --iterations 4 --batch 4 --seed 1 --prediction eps -o "$dir/dg-eps.dfm" && head -c 4000 "$dir/dg-eps.dfm" | grep -aq "\"prediction\": 0.0" && head -c 4000 "$dir/dg.dfm" | grep -aq "\"prediction\": 2.0"'
check "train --prediction: refused for other models and on resume" 'expect_rc 1 "$cli" train --model ddpm-2d --iterations 4 --seed 1 --prediction eps -o "$dir/x.dfm" && grep -q "U-Net DDPMs" "$dir/err" && expect_rc 2 "$cli" train --model ddpm-digits --iterations 4 --seed 1 --prediction noise -o "$dir/x.dfm"'
check "evaluate the digits U-Net" '"$cli" evaluate --model "$dir/dg.dfm" --n 12 --sampler ddim --sampling-steps 4 --clip --seed 1 | grep -q "recognised (7 of 10 nearest agree)"'
check "train sr3" 'expect_rc 0 "$cli" train --model sr3-digits --low-side 5 --iterations 20 --batch 16 --seed 1 -o "$dir/sr.dfm"'
check "sample2d with a model" 'expect_rc 0 "$cli" sample2d --model "$dir/m2.dfm" --data moons --n 300 --seed 3 -o "$dir/s.csv" && [ "$(wc -l < "$dir/s.csv")" -eq 301 ]'
check "shipped 2D model" 'expect_rc 0 "$cli" sample2d --model ddpm-2d-dino --n 200 --seed 3 -o "$dir/dino.csv"'
check "sample grid" 'expect_rc 0 "$cli" sample --model ddpm-digits --n 16 --sampler ddim --sampling-steps 10 --seed 1 -o "$dir/grid.png" && [ -s "$dir/grid.png" ]'
check "sample folder" 'expect_rc 0 "$cli" sample --model ddpm-digits --n 3 --sampler ddim --sampling-steps 5 --seed 1 -o "$dir/samples/" && [ -f "$dir/samples/sample_002.png" ]'
check "sample of a 2D model is an error" 'expect_rc 1 "$cli" sample --model ddpm-2d-dino --n 3 --seed 1 -o "$dir/x.png"'
check "sr" 'expect_rc 0 "$cli" sample --model ddpm-digits --n 1 --sampler ddim --sampling-steps 5 --seed 2 -o "$dir/one/" && expect_rc 0 "$cli" sr --model sr3-digits "$dir/one/sample_000.png" -o "$dir/sr.png" && [ -s "$dir/sr.png" ]'
check "sr3-photo: the mean of 2 samples is 4x and differs from one sample" 'expect_rc 0 "$cli" sr --model sr3-photo "$dir/one/sample_000.png" --sampler ddim --sampling-steps 2 --seed 3 -o "$dir/sr1.png" && expect_rc 0 "$cli" sr --model sr3-photo "$dir/one/sample_000.png" --sampler ddim --sampling-steps 2 --seed 3 --samples 2 -o "$dir/sr2.png" && grep -q "the mean of 2 samples" "$dir/err" && grep -q "80 x 80" "$dir/err" && ! cmp -s "$dir/sr1.png" "$dir/sr2.png"'
check "sr --samples: out of range, and not for digits SR3" 'expect_rc 2 "$cli" sr --model sr3-photo "$dir/one/sample_000.png" --samples 0 -o "$dir/x.png" && expect_rc 2 "$cli" sr --model sr3-photo "$dir/one/sample_000.png" --samples 65 -o "$dir/x.png" && expect_rc 1 "$cli" sr --model sr3-digits "$dir/one/sample_000.png" --samples 2 -o "$dir/x.png" && grep -q "samples is for the photo model" "$dir/err"'
check "denoise patch" 'expect_rc 0 "$cli" denoise "$img" --t0 200 --model patch --sampling-steps 10 --max-side 64 --seed 1 -o "$dir/d.png"'
check "denoise oracle" 'expect_rc 0 "$cli" denoise "$img" --t0 200 --model oracle --sampling-steps 10 --max-side 64 --seed 1 -o "$dir/o.png"'
check "evaluate 2D" 'expect_rc 0 "$cli" evaluate --model "$dir/m2.dfm" --n 300 && grep -q "energy distance" "$dir/out"'
check "evaluate sohl-dickstein bound" 'expect_rc 0 "$cli" evaluate --model sohl-dickstein-swissroll --n 300 && grep -q "variational bound" "$dir/out"'
check "evaluate sr3" 'expect_rc 0 "$cli" evaluate --model sr3-digits --n 20 && grep -q "bicubic" "$dir/out"'
head -c 100 "$dir/m2.dfm" > "$dir/truncated.dfm"
check "truncated model file" 'expect_rc 1 "$cli" sample2d --model "$dir/truncated.dfm" --n 10 --seed 1 -o "$dir/x.csv"'
echo "not a model" > "$dir/foreign.dfm"
check "foreign model file" 'expect_rc 1 "$cli" sample2d --model "$dir/foreign.dfm" --n 10 --seed 1 -o "$dir/x.csv"'
check "unknown model" 'expect_rc 1 "$cli" denoise "$img" --t0 10 --model nosuchmodel --seed 1 -o "$dir/x.png" && grep -q "unknown model" "$dir/err"'
echo "cli_models: $passes checks passed, $fails failed"
[ "$fails" -eq 0 ]

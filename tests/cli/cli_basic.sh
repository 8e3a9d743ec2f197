#!/usr/bin/env bash
# diffuscope-cli as users run it: outputs, exit codes (0 ok, 1 failure, 2 usage) and error messages.
# Arguments: CLI SCRATCH_DIR SOURCE_DIR
set -u
cli=$1; dir=$2; src=$3
rm -rf "$dir"; mkdir -p "$dir"
fails=0; passes=0
check() { if eval "$2"; then echo "ok   $1"; passes=$((passes + 1)); else echo "FAIL $1"; fails=$((fails + 1)); fi; }
expect_rc() { "${@:2}" >"$dir/out" 2>"$dir/err"; local rc=$?; [ "$rc" -eq "$1" ] || { echo "  rc $rc, expected $1: ${*:2}"; cat "$dir/err"; return 1; }; }

# schedule: exact header, T rows, 17 significant digits, the reference value of alpha_bar at t = 500.
check "schedule csv" 'expect_rc 0 "$cli" schedule --schedule linear --steps 1000'
check "schedule header" '[ "$(head -1 "$dir/out")" = "t,beta,alpha_bar,posterior_variance,snr" ]'
check "schedule rows" '[ "$(wc -l < "$dir/out")" -eq 1001 ]'
check "schedule value" 'awk -F, '"'"'$1==500 { d = $3 - 0.0785872429; if (d < 0) d = -d; exit !(d < 1e-9) }'"'"' "$dir/out"'
check "schedule zero snr" 'expect_rc 0 "$cli" schedule --schedule cosine --steps 50 --zero-terminal-snr && tail -1 "$dir/out" | grep -q "^50,1,0,"'
for kind in linear scaled-linear cosine sigmoid jsd const sohl-dickstein; do
  check "schedule $kind" 'expect_rc 0 "$cli" schedule --schedule $kind --steps 40'
done
check "schedule T=0 is an error" 'expect_rc 1 "$cli" schedule --steps 0 && grep -q "at least 1" "$dir/err"'
check "schedule beta > 1 is an error" 'expect_rc 1 "$cli" schedule --beta-end 1.5 && grep -q "beta_end" "$dir/err"'
check "schedule NaN is an error" 'expect_rc 1 "$cli" schedule --beta-start nan'
check "unknown kind is an error" 'expect_rc 1 "$cli" schedule --schedule bogus && grep -q "unknown kind" "$dir/err"'
check "unknown option is usage" 'expect_rc 2 "$cli" schedule --bogus'
check "no command is usage" 'expect_rc 2 "$cli"'
check "help" 'expect_rc 0 "$cli" --help && grep -q sample2d "$dir/out"'

# noise: same seed, same bytes; t = 0 is the image; errors for bad input and unwritable output.
img="$src/resources/images/butterfly.jpg"
check "noise closed" 'expect_rc 0 "$cli" noise "$img" --t 300 --seed 7 -o "$dir/a.png"'
check "noise repeat" 'expect_rc 0 "$cli" noise "$img" --t 300 --seed 7 -o "$dir/b.png" && cmp -s "$dir/a.png" "$dir/b.png"'
check "noise other seed" 'expect_rc 0 "$cli" noise "$img" --t 300 --seed 8 -o "$dir/c.png" && ! cmp -s "$dir/a.png" "$dir/c.png"'
check "noise markov" 'expect_rc 0 "$cli" noise "$img" --t 300 --seed 7 --path markov -o "$dir/m.png"'
check "noise t out of range" 'expect_rc 1 "$cli" noise "$img" --t 1001 --seed 7 -o "$dir/x.png" && grep -q "0..1000" "$dir/err"'
check "noise missing file" 'expect_rc 1 "$cli" noise "$dir/none.png" --t 3 --seed 7 -o "$dir/x.png" && grep -q "no such file" "$dir/err"'
echo "not an image" > "$dir/fake.png"
check "noise not an image" 'expect_rc 1 "$cli" noise "$dir/fake.png" --t 3 --seed 7 -o "$dir/x.png"'
check "noise unwritable" 'expect_rc 1 "$cli" noise "$img" --t 3 --seed 7 -o /nonexistent/x.png'
check "noise unknown format" 'expect_rc 1 "$cli" noise "$img" --t 3 --seed 7 -o "$dir/x.xyz"'
check "no partial files" '! ls -a "$dir" | grep -q "\.tmp-"'

# dataset and sample2d
check "dataset" 'expect_rc 0 "$cli" dataset moons --n 300 --seed 1 -o "$dir/moons.csv" && [ "$(head -1 "$dir/moons.csv")" = "x,y" ] && [ "$(wc -l < "$dir/moons.csv")" -eq 301 ]'
check "dataset from csv" 'expect_rc 0 "$cli" dataset "$dir/moons.csv" --n 100 --seed 1 -o "$dir/again.csv"'
check "dataset unknown" 'expect_rc 1 "$cli" dataset nosuchset --n 10 --seed 1 -o "$dir/x.csv"'
check "sample2d ddim" 'expect_rc 0 "$cli" sample2d --denoiser exact --data moons --n 500 --sampler ddim --sampling-steps 20 --seed 3 -o "$dir/s.csv" && [ "$(wc -l < "$dir/s.csv")" -eq 501 ] && grep -q "energy distance" "$dir/err"'
check "sample2d ddpm" 'expect_rc 0 "$cli" sample2d --data 8gaussians --n 200 --sampler ddpm --seed 3 -o "$dir/s2.csv"'
check "sample2d mixture" 'expect_rc 0 "$cli" sample2d --denoiser mixture --data 8gaussians --n 300 --sampler ddim --sampling-steps 25 --seed 3 -o "$dir/s3.csv"'
check "sample2d mixture needs 8gaussians" 'expect_rc 1 "$cli" sample2d --denoiser mixture --data moons --n 30 --seed 3 -o "$dir/x.csv"'
check "sample2d bad steps" 'expect_rc 1 "$cli" sample2d --data moons --n 10 --sampling-steps 999 --seed 1 -o "$dir/x.csv" && grep -q "exceeds" "$dir/err"'
check "demo" 'expect_rc 0 "$cli" demo --frames 3 -o "$dir/demo" && [ -f "$dir/demo/forward_002.png" ] && [ -f "$dir/demo/reverse_050.png" ]'

echo "cli_basic: $passes checks passed, $fails failed"
[ "$fails" -eq 0 ]

#!/usr/bin/env bash
# diffuscope-cli export as users run it: every format, a bundle round trip, and the errors.
# Arguments: CLI SCRATCH_DIR SOURCE_DIR
set -u
cli=$1; dir=$2; src=$3
rm -rf "$dir"; mkdir -p "$dir"
fails=0; passes=0
check() { if eval "$2"; then echo "ok   $1"; passes=$((passes + 1)); else echo "FAIL $1"; fails=$((fails + 1)); fi; }
expect_rc() { "${@:2}" >"$dir/out" 2>"$dir/err"; local rc=$?; [ "$rc" -eq "$1" ] || { echo "  rc $rc, expected $1: ${*:2}"; cat "$dir/err"; return 1; }; }
img="$src/resources/images/butterfly.jpg"
small=(--max-side 48 --size 48 --frames 8 --seed 4)

check "gif" 'expect_rc 0 "$cli" export --image "$img" "${small[@]}" --layout schedule --caption -o "$dir/a.gif" && [ -s "$dir/a.gif" ] && [ -s "$dir/a.gif.json" ]'
check "mp4" 'expect_rc 0 "$cli" export --image "$img" "${small[@]}" --path markov -o "$dir/a.mp4" && [ -s "$dir/a.mp4" ]'
check "webm" 'expect_rc 0 "$cli" export --image "$img" "${small[@]}" -o "$dir/a.webm" && [ -s "$dir/a.webm" ]'
check "webm is vp9" 'grep -q "VP9" "$dir/err"'
check "sr3-photo export: a 12x12 region x4, the mean of 2 chains, remade bit for bit" 'expect_rc 0 "$cli" export --image "$img" --model sr3-photo --direction reverse --region 100,60,12,12 --sr-samples 2 --sampling-steps 3 --sampler ddim --frames 4 --size 48 --seed 2 -o "$dir/sr/" && grep -q "48 x 48" "$dir/err" && grep -q "\"sr_samples\": 2" "$dir/sr/bundle.json" && grep -q "\"super_resolution\": 4" "$dir/sr/bundle.json" && expect_rc 0 "$cli" export --from "$dir/sr/bundle.json" -o "$dir/sr2/" && grep -q "reproduced bit for bit" "$dir/err"'
check "sr3-photo export --simulate: frames at the truth size" 'expect_rc 0 "$cli" export --image "$img" --model sr3-photo --direction reverse --simulate --max-side 24 --size 16 --sampling-steps 2 --frames 3 --seed 2 -o "$dir/srs/" && grep -q "24 x 16" "$dir/err"'
check "--simulate and --sr-samples need an SR3 photo model" 'expect_rc 1 "$cli" export --image "$img" "${small[@]}" --simulate -o "$dir/z.gif" && grep -q "super-resolution model of photos" "$dir/err" && expect_rc 1 "$cli" export --image "$img" "${small[@]}" --sr-samples 2 -o "$dir/z.gif"'
check "mp4 at a chosen crf" 'expect_rc 0 "$cli" export --image "$img" "${small[@]}" --crf 30 -o "$dir/q.mp4" && grep -q "CRF 30" "$dir/err" && grep -q "\"video_crf\": 30" "$dir/q.mp4.json"'
check "crf out of range is usage" 'expect_rc 2 "$cli" export --image "$img" "${small[@]}" --crf 70 -o "$dir/z.mp4"'
check "h264 crf over 51 is an error" 'expect_rc 1 "$cli" export --image "$img" "${small[@]}" --crf 60 -o "$dir/z.mp4" && grep -q "0..51" "$dir/err"'
# By default an export shows the image at its own size (butterfly.jpg is 493 x 356), at most 1024 a side.
check "default size is the image's" 'expect_rc 0 "$cli" export --image "$img" --frames 2 --seed 1 -o "$dir/full.gif" && grep -q "493 x 356" "$dir/err"'
ffmpeg -v error -y -f lavfi -i testsrc=size=1500x900 -frames:v 1 "$dir/big.png"
check "large images are capped at 1024" 'expect_rc 0 "$cli" export --image "$dir/big.png" --frames 1 --seed 1 -o "$dir/big.gif" && grep -q "1024 x 614" "$dir/err"'
check "png frames" 'expect_rc 0 "$cli" export --image "$img" "${small[@]}" --direction reverse --model oracle --sampler ddim --sampling-steps 8 --layout predictions -o "$dir/frames/" && [ -f "$dir/frames/bundle.json" ] && [ "$(ls "$dir/frames" | grep -c png)" -ge 2 ]'
check "grid" 'expect_rc 0 "$cli" export --image "$img" "${small[@]}" --layout grid --samples 4 -o "$dir/grid.gif"'
check "2d reverse" 'expect_rc 0 "$cli" export --data moons --points 300 --data-points 600 --direction reverse --frames 6 --seed 2 -o "$dir/moons.gif"'
check "2d overlays as the app draws them" 'expect_rc 0 "$cli" export --data 8gaussians --model mixture --points 300 --data-points 600 --direction reverse --frames 4 --seed 2 --field score --contours --trajectories 12 --view 3.5 -o "$dir/over.gif" && grep -q "\"field\": \"score\"" "$dir/over.gif.json" && grep -q "\"contours\": true" "$dir/over.gif.json" && grep -q "\"x_min\": -3.5" "$dir/over.gif.json" && ! cmp -s "$dir/over.gif" "$dir/moons.gif"'
check "overlays remake bit for bit" 'expect_rc 0 "$cli" export --from "$dir/over.gif.json" -o "$dir/over2.gif" && cmp -s "$dir/over.gif" "$dir/over2.gif"'
# The faint data set behind the particles: on by default, --no-data-set leaves it out (the same run otherwise).
check "2d without the data set" 'expect_rc 0 "$cli" export --data moons --points 300 --data-points 600 --direction reverse --frames 6 --seed 2 --no-data-set -o "$dir/bare.gif" && grep -q "\"data\": false" "$dir/bare.gif.json" && grep -q "\"data\": true" "$dir/moons.gif.json" && [ -s "$dir/bare.gif" ] && ! cmp -s "$dir/bare.gif" "$dir/moons.gif"'
check "without the data set remakes bit for bit" 'expect_rc 0 "$cli" export --from "$dir/bare.gif.json" -o "$dir/bare2.gif" && cmp -s "$dir/bare.gif" "$dir/bare2.gif"'
check "no data set on images is refused" 'expect_rc 1 "$cli" export --image "$img" "${small[@]}" --no-data-set -o "$dir/z.gif" && grep -q "2D data" "$dir/err"'
check "unknown field is usage" 'expect_rc 2 "$cli" export --data moons --field curl --seed 1 -o "$dir/z.gif"'
check "overlays on images are refused" 'expect_rc 1 "$cli" export --image "$img" "${small[@]}" --contours -o "$dir/z.gif" && grep -q "2D data" "$dir/err"'
check "bundle remakes bit for bit" 'expect_rc 0 "$cli" export --from "$dir/a.gif.json" -o "$dir/b.gif" && cmp -s "$dir/a.gif" "$dir/b.gif" && grep -q "bit for bit" "$dir/err"'
check "bundle of png frames" 'expect_rc 0 "$cli" export --from "$dir/frames/bundle.json" -o "$dir/frames2/" && diff -q "$dir/frames/frame_0000.png" "$dir/frames2/frame_0000.png"'
check "unknown extension" 'expect_rc 1 "$cli" export --image "$img" "${small[@]}" -o "$dir/a.xyz"'
check "unwritable folder" 'expect_rc 1 "$cli" export --image "$img" "${small[@]}" -o /nonexistent/a.gif'
check "zero frames" 'expect_rc 1 "$cli" export --image "$img" --max-side 48 --frames 0 --seed 1 -o "$dir/z.gif"'
check "two inputs is usage" 'expect_rc 2 "$cli" export --image "$img" --data moons --seed 1 -o "$dir/z.gif"'
echo '{"format": "diffuscope-bundle"' > "$dir/bad.json"
check "malformed bundle" 'expect_rc 1 "$cli" export --from "$dir/bad.json" -o "$dir/z.gif" && grep -q "malformed" "$dir/err"'
check "no stray files" '! find "$dir" -name "*.tmp-*" | grep -q .'
echo "cli_export: $passes checks passed, $fails failed"
[ "$fails" -eq 0 ]

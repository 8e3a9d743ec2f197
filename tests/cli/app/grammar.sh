#!/usr/bin/env bash
# One grammar for both executables: the app's schedule and sampler flags make the same options as diffuscope-cli's
# (the app's --print-run against an export bundle's spec), the old KIND:T spelling still reads with a note, and bad
# values are usage errors that name the flag. Arguments: APP CLI SCRATCH_DIR SOURCE_DIR
set -u
app=$1; cli=$2; dir=$3; src=$4
rm -rf "$dir"; mkdir -p "$dir/config"
export XDG_CONFIG_HOME="$dir/config" QT_QPA_PLATFORM=offscreen
fails=0; passes=0
check() { if eval "$2"; then echo "ok   $1"; passes=$((passes + 1)); else echo "FAIL $1"; fails=$((fails + 1)); fi; }
# The "schedule" and "sampler" objects of a JSON file, without indentation (a bundle nests them one level deeper).
options() { sed -n '/"\(schedule\|sampler\)": {/,/}/p' "$1" | sed 's/^ *//'; }
img="$src/resources/images/butterfly.jpg"
flags=(--schedule cosine --steps 50 --sampler ddim --sampling-steps 10 --eta 0.5 --spacing leading --seed 3)

check "app prints the run" '"$app" "$img" "${flags[@]}" --print-run > "$dir/app.json" 2> "$dir/app.err" && grep -q "\"kind\": \"cosine\"" "$dir/app.json"'
check "cli exports the same run" '"$cli" export --image "$img" "${flags[@]}" --max-side 16 --frames 1 -o "$dir/a.gif" 2> "$dir/cli.err"'
check "same schedule and sampler" 'options "$dir/app.json" > "$dir/app.opts" && options "$dir/a.gif.json" > "$dir/cli.opts" && [ -s "$dir/app.opts" ] && diff "$dir/app.opts" "$dir/cli.opts"'
check "steps is T, sampling-steps is K" 'grep -q "\"steps\": 50" "$dir/app.opts" && grep -q "\"steps\": 10" "$dir/app.opts"'
check "eta alone means ddim" '"$app" --eta 0.3 --print-run > "$dir/eta.json" 2>/dev/null && grep -q "\"kind\": \"ddim\"" "$dir/eta.json" && grep -q "\"eta\": 0.3" "$dir/eta.json"'
check "app reads the old KIND:T with a note" '"$app" --schedule sigmoid:40 --print-run > "$dir/old.json" 2> "$dir/old.err" && grep -q "\"steps\": 40" "$dir/old.json" && grep -q "use --schedule sigmoid --steps 40" "$dir/old.err"'
check "cli reads it too" '"$cli" schedule --schedule sigmoid:40 > "$dir/old.csv" 2> "$dir/old_cli.err" && [ "$(tail -1 "$dir/old.csv" | cut -d, -f1)" = 40 ] && grep -q "use --schedule sigmoid --steps 40" "$dir/old_cli.err"'
check "app --sr-samples: a super-resolution run of K chains, and its range" '"$app" "$img" --model sr3-photo --sr-samples 4 --print-run > "$dir/sr.json" 2>/dev/null && grep -q "\"sr_samples\": 4" "$dir/sr.json" && grep -q "\"super_resolution\": 4" "$dir/sr.json" && { "$app" "$img" --model sr3-photo --sr-samples 17 --print-run > /dev/null 2> "$dir/sr.err"; [ "$?" = 2 ]; } && grep -q -- "--sr-samples must be in 1..16" "$dir/sr.err"'
check "app --sampler ddim means eta 0, as on the command line (not the window default eta 1)" '"$app" --sampler ddim --print-run > "$dir/ddim.json" 2>/dev/null && grep -q "\"kind\": \"ddim\"" "$dir/ddim.json" && grep -Eq "\"eta\": 0(\.0)?,?$" "$dir/ddim.json"'
check "app: unknown kind is usage, naming the flag" '"$app" --schedule cosin --print-run > /dev/null 2> "$dir/bad.err"; [ "$?" = 2 ] && grep -q -- "--schedule: unknown kind" "$dir/bad.err"'
check "app: bad number is usage" '"$app" --steps x --print-run > /dev/null 2> "$dir/bad2.err"; [ "$?" = 2 ] && grep -q -- "--steps" "$dir/bad2.err"'
check "cli: bad old spelling is usage" '"$cli" schedule --schedule cosine:x > /dev/null 2>&1; [ "$?" = 2 ]'
check "app: 2D run from the data noised to t0 on the Markov path" '"$app" --workspace 2d --data moons --path markov --t0 20 --schedule cosine --steps 50 --model empirical --print-run > "$dir/2d.json" 2>/dev/null && grep -q "\"start_t\": 20" "$dir/2d.json" && grep -q "\"forward_path\": \"markov\"" "$dir/2d.json" && grep -q "\"data\": \"moons\"" "$dir/2d.json"'
echo "app grammar: $passes checks passed, $fails failed"
[ "$fails" -eq 0 ]

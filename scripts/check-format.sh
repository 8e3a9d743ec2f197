#!/usr/bin/env bash
# The C++ sources follow the committed .clang-format (scripts/ and CTest: style/clang-format). Usage:
#   scripts/check-format.sh [SOURCE_DIR]      # lists every file clang-format would change; exit 1 if any
#   clang-format -i $(git ls-files '*.cpp' '*.h')   # applies it
# Files are the tracked ones when SOURCE_DIR is a git checkout, else every *.cpp / *.h under it (a fixture).
set -u
src=${1:-$(cd "$(dirname "$0")/.." && pwd)}
command -v clang-format > /dev/null || { echo "clang-format is not installed (scripts/install-deps.sh installs it)"; exit 2; }
cd "$src" || exit 2
[ -f .clang-format ] || { echo "$src has no .clang-format"; exit 2; }
if git rev-parse --is-inside-work-tree > /dev/null 2>&1 && [ "$(git rev-parse --show-toplevel)" = "$(pwd -P)" ]; then
  mapfile -t files < <(git ls-files '*.cpp' '*.h' ':!tests/data/')  # tests/data: fixtures, kept as they are
else
  mapfile -t files < <(find . -name '*.cpp' -o -name '*.h' | sed 's|^\./||' | sort)
fi
fails=0
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  if ! clang-format --dry-run --Werror "$f" > /dev/null 2>&1; then
    echo "$f: not formatted (clang-format -i $f)"
    fails=$((fails + 1))
  fi
done
if [ "$fails" -eq 0 ]; then echo "format ok: ${#files[@]} files"; fi
[ "$fails" -eq 0 ]

#!/usr/bin/env bash
# The project's layering, checked by CTest (core/layering):
# - core: each folder of core/ may include only itself and the folders listed before it here, so the folders form
#   no cycle (a lower layer never includes a higher one); the core includes no Qt, no ui/ and no app/.
# - ui: every file of ui/ (but its CMakeLists.txt) lies in ui/state or ui/widgets; ui/ includes no app/; ui/state
#   (the document, sessions, settings, jobs) includes only ui/state of ui/, and no header of Qt Widgets, Qt Charts
#   or another widget module, so the state stands without widgets.
# Usage: scripts/check-layering.sh [SOURCE_DIR]
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
# The #include lines of a file, whatever the spacing ("#  include <x>").
includes() { grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' "$1"; }
fails=0
fail() {
  echo "$1"
  fails=$((fails + 1))
}

for dir in "$src"/core/*/; do
  [ -d "$dir" ] || continue
  module=$(basename "$dir")
  r=$(rank "$module")
  if [ "$r" -lt 0 ]; then
    fail "core/$module is not in the layer list of scripts/check-layering.sh"
    continue
  fi
  for file in "$dir"*.h "$dir"*.cpp; do
    [ -e "$file" ] || continue
    while IFS= read -r dep; do
      [ -n "$dep" ] || continue
      d=$(rank "$dep")
      if [ "$d" -lt 0 ] || [ "$d" -gt "$r" ]; then
        fail "${file#"$src"/}: core/$module includes core/$dep, a higher layer"
      fi
    done < <(grep -o '^#include "core/[a-z0-9_]*/' "$file" | sed 's|^#include "core/||; s|/$||' | sort -u)
    if includes "$file" | grep -q '<Q'; then fail "${file#"$src"/}: the core includes Qt"; fi
    if includes "$file" | grep -q '"ui/'; then fail "${file#"$src"/}: the core includes ui/"; fi
    if includes "$file" | grep -q '"app/'; then fail "${file#"$src"/}: the core includes app/"; fi
  done
done

# The headers ui/state may not include: every header of Qt's widget modules, taken from the installed Qt when it
# is found (lower case, without ".h"; names Qt Core, Gui or Concurrent also ship, such as qaction.h, are allowed),
# and always a fixed list of the common ones, so the check holds on a machine without Qt's headers.
widget_modules='QtWidgets|QtCharts|QtSvgWidgets|QtOpenGLWidgets|QtPrintSupport'
fixed_widget_headers='^q([a-z]*(widget|widgets|dialog|box|button|edit|bar|series|axis)|charts?|chartview|legend|application|mainwindow|label|slider|splitter|scrollarea|menu|frame|graphicsview|graphicsscene|tableview|treeview|listview|undoview|style|(box|hbox|vbox|grid|form|stacked)?layout)$'
qt_headers=${DIFFUSCOPE_QT_HEADERS:-}
if [ -z "$qt_headers" ]; then
  qt_headers=$( (qtpaths6 --query QT_INSTALL_HEADERS || qmake6 -query QT_INSTALL_HEADERS) 2>/dev/null | head -n 1)
fi
widget_headers=$(mktemp)
trap 'rm -f "$widget_headers"' EXIT
if [ -n "$qt_headers" ] && [ -d "$qt_headers/QtWidgets" ]; then
  names() { for m in "$@"; do [ -d "$qt_headers/$m" ] && ls "$qt_headers/$m"; done | tr 'A-Z' 'a-z' | sed 's/\.h$//' | sort -u; }
  comm -23 <(names QtWidgets QtCharts QtSvgWidgets QtOpenGLWidgets QtPrintSupport) \
           <(names QtCore QtGui QtConcurrent) > "$widget_headers"
fi

if [ -d "$src/ui" ]; then
  while IFS= read -r file; do
    case "${file#"$src"/}" in
      ui/CMakeLists.txt | ui/state/* | ui/widgets/*) ;;
      *) fail "${file#"$src"/}: every file of ui/ lies in ui/state or ui/widgets" ;;
    esac
  done < <(find "$src/ui" -type f | sort)
  while IFS= read -r file; do
    if includes "$file" | grep -q '"app/'; then fail "${file#"$src"/}: ui/ includes app/"; fi
  done < <(find "$src/ui" -type f \( -name '*.h' -o -name '*.cpp' \) | sort)
  if [ -d "$src/ui/state" ]; then
    while IFS= read -r file; do
      rel=${file#"$src"/}
      while IFS= read -r dep; do
        fail "$rel: ui/state includes $dep, outside the state layer"
      done < <(includes "$file" | grep -o '"ui/[^"]*"' | grep -v '^"ui/state/')
      while IFS= read -r header; do
        name=${header#<}
        name=${name%>}
        module=${name%%/*}
        base=$(basename "$name" | tr 'A-Z' 'a-z')
        base=${base%.h}
        if [[ "$name" == */* && "$module" =~ ^($widget_modules)$ ]] || [[ "$name" =~ ^($widget_modules)$ ]] ||
           [[ "$base" =~ $fixed_widget_headers ]] || grep -qxF "$base" "$widget_headers"; then
          fail "$rel: ui/state includes $header, a widget header"
        fi
      done < <(includes "$file" | grep -o '<[^>]*>' | grep -i '^<q')
    done < <(find "$src/ui/state" -type f \( -name '*.h' -o -name '*.cpp' \) | sort)
  fi
fi

if [ "$fails" -eq 0 ]; then echo "layering ok: core ${layers[*]}; ui state < widgets"; fi
[ "$fails" -eq 0 ]

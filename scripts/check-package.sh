#!/usr/bin/env bash
# Builds the Debian package from a finished build folder (cpack -G DEB), installs it with apt-get (which pulls in
# its dependencies), and checks what it installed: both executables run from /usr/bin, the command line finds its
# resources in /usr/share/diffuscope, the desktop entry and icon are in place. Usage: scripts/check-package.sh
# [BUILD_DIR] [--remove] (--remove uninstalls it again afterwards). Needs root or sudo.
set -euo pipefail
build=${1:-build}
remove=${2:-}
run() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
(cd "$build" && rm -f diffuscope_*.deb && cpack -G DEB > cpack.log) || { cat "$build/cpack.log"; exit 1; }
deb=$(ls "$build"/diffuscope_*.deb)
echo "package: $deb ($(du -h "$deb" | cut -f1))"
DEBIAN_FRONTEND=noninteractive run apt-get install -y --no-install-recommends "$(realpath "$deb")" > "$build/apt.log" ||
  { cat "$build/apt.log"; exit 1; }
fails=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi; }
version=$(dpkg-deb -f "$deb" Version)
scratch=$(mktemp -d)
check "diffuscope-cli --version" '[ "$(/usr/bin/diffuscope-cli --version)" = "diffuscope-cli $version" ]'
check "diffuscope --version (no display)" 'env -u DISPLAY -u WAYLAND_DISPLAY /usr/bin/diffuscope --version | grep -qx "diffuscope $version"'
check "resources installed" '[ -f /usr/share/diffuscope/images/butterfly.jpg ] && ls /usr/share/diffuscope/models/*.dfm > /dev/null'
check "the command line finds them" 'env -u DIFFUSCOPE_RESOURCES /usr/bin/diffuscope-cli sample2d --model ddpm-2d-dino --n 50 --seed 1 -o "$scratch/s.csv" 2> /dev/null && [ "$(wc -l < "$scratch/s.csv")" -ge 50 ]'
check "desktop entry" 'grep -qx "Exec=diffuscope %f" /usr/share/applications/diffuscope.desktop'
check "icon" '[ -f /usr/share/icons/hicolor/scalable/apps/diffuscope.svg ]'
check "app starts on its resources (offscreen)" 'QT_QPA_PLATFORM=offscreen XDG_CONFIG_HOME="$scratch" /usr/bin/diffuscope --print-run > "$scratch/run.json" 2> /dev/null && grep -q "/usr/share/diffuscope/images/" "$scratch/run.json"'
rm -rf "$scratch"
if [ "$remove" = "--remove" ]; then run dpkg -r diffuscope > /dev/null && echo "removed"; fi
[ "$fails" -eq 0 ]

#!/usr/bin/env bash
# Installs every package Diffuscope needs to build, test and run, from Debian bookworm's archive.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  libeigen3-dev libopencv-dev librandom123-dev nlohmann-json3-dev libgif-dev libcli11-dev libssl-dev libdnnl-dev
  libavcodec-dev libavformat-dev libswscale-dev libavutil-dev
  qt6-base-dev libqt6charts6-dev libqt6opengl6-dev libqt6svg6-dev qt6-qpa-plugins libgl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  ffmpeg xvfb xauth fonts-dejavu-core clang-format
)
run() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
run apt-get update
DEBIAN_FRONTEND=noninteractive run apt-get install -y --no-install-recommends "${packages[@]}"

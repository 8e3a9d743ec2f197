#!/usr/bin/env bash
# Export speed and quality, side by side with ffmpeg (issue 9's targets): 120 frames of a 512x512 RGB forward
# animation of resources/images/chicky_512.png, exported by `diffuscope-cli export` to .gif, .mp4 and .webm
# (rendering every frame included), against ffmpeg encoding the same frames, already rendered as PNG files, alone
# (with the same codec settings; the GIF through palettegen / paletteuse). Runs alternate between the two; the
# script prints min and median wall time of each, the median CPU time (user + system, less sensitive to a busy
# machine), and the PSNR (dB, RGB, over all frames, and the worst frame) of the decoded output against the
# rendered PNG frames, both measured by ffmpeg's psnr filter.
#
#   scripts/bench-export.sh [CLI [RUNS]]      # defaults: build/bin/diffuscope-cli, 5 runs
#   FORMATS="mp4 webm" scripts/bench-export.sh # some formats only (default: gif mp4 webm)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cli=${1:-$here/build/bin/diffuscope-cli}
runs=${2:-5}
[ -x "$cli" ] || { echo "no diffuscope-cli at '$cli': build it first (cmake --build build --target diffuscope-cli)" >&2; exit 1; }
command -v ffmpeg >/dev/null || { echo "ffmpeg is not installed (apt install ffmpeg)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/diffuscope-bench-export.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The same settings on both sides: those of core/export/export.h (kDefaultH264Crf, kH264Preset, kDefaultVp9Crf,
# kVp9CpuUsed, ExportOptions::video_threads).
job=(export --image "$here/resources/images/chicky_512.png" --frames 120 --fps 30 --hold 0 --seed 1)
crf_h264=18; crf_vp9=30; threads=4
ffmpeg_in=(-hide_banner -loglevel error -y -framerate 30 -i "$work/frames/frame_%04d.png")
declare -A ffmpeg_codec=(
  [mp4]="-c:v libx264 -preset veryfast -crf $crf_h264 -pix_fmt yuv420p -threads $threads"
  [webm]="-c:v libvpx-vp9 -crf $crf_vp9 -b:v 0 -deadline good -cpu-used 5 -row-mt 1 -pix_fmt yuv420p -threads $threads"
  [gif]="-lavfi split[a][b];[a]palettegen[p];[b][p]paletteuse"
)

"$cli" "${job[@]}" -o "$work/frames/" 2>/dev/null
[ "$(ls "$work/frames" | grep -c '^frame_.*\.png$')" -eq 120 ] || { echo "rendering the PNG frames failed" >&2; exit 1; }
size=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=s=x:p=0 "$work/frames/frame_0000.png")
echo "120 frames, $size RGB, forward closed form; $runs runs each; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"

# "wall cpu" seconds of one command (bash's own time: no extra package).
seconds() { local TIMEFORMAT='%R %U %S'; { time "$@" >/dev/null 2>&1; } 2>&1 | awk '{ print $1, $2 + $3 }'; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
stats() {  # lines "wall cpu" -> "min W s  median W s  cpu C s"
  local lines; lines=$(cat)
  printf "min %6.2f s  median %6.2f s  cpu %6.2f s" "$(cut -d' ' -f1 <<<"$lines" | sort -g | head -1)" \
    "$(cut -d' ' -f1 <<<"$lines" | median)" "$(cut -d' ' -f2 <<<"$lines" | median)"
}
# "average:xx.xx" of the psnr filter is the PSNR of the mean squared error over all frames; min the worst frame.
# RGB PSNR of colour noise is bounded by 4:2:0 chroma (about 11 dB, the same for both); luma shows what the codec
# keeps of the noise.
psnr() {
  local rgb luma
  rgb=$(ffmpeg -hide_banner -nostats -i "$1" -framerate 30 -i "$work/frames/frame_%04d.png" \
    -lavfi "[0:v]format=rgb24[a];[1:v]format=rgb24[b];[a][b]psnr" -f null - 2>&1 |
    sed -n 's/.*PSNR.* average:\([0-9.inf]*\) min:\([0-9.inf]*\).*/\1 \2/p')
  luma=$(ffmpeg -hide_banner -nostats -i "$1" -framerate 30 -i "$work/frames/frame_%04d.png" \
    -lavfi "[0:v]format=yuv444p[a];[1:v]format=yuv444p[b];[a][b]psnr" -f null - 2>&1 |
    sed -n 's/.*PSNR y:\([0-9.inf]*\) .*/\1/p')
  awk -v r="$rgb" -v y="$luma" 'BEGIN { split(r, v, " "); printf "RGB %.2f dB (worst frame %.2f), luma %.2f dB", v[1], v[2], y }'
}

printf "%-5s %-11s %-50s %-9s %s\n" format encoder "wall time (cpu: median)" size PSNR
for format in ${FORMATS:-gif mp4 webm}; do
  ours=() theirs=()
  for ((r = 0; r < runs; ++r)); do
    ours+=("$(seconds "$cli" "${job[@]}" -o "$work/ours.$format")")
    # shellcheck disable=SC2086  # the codec options are words
    theirs+=("$(seconds ffmpeg "${ffmpeg_in[@]}" ${ffmpeg_codec[$format]} "$work/ffmpeg.$format")")
  done
  for who in ours ffmpeg; do
    if [ "$who" = ours ]; then times=("${ours[@]}"); label=diffuscope; else times=("${theirs[@]}"); label=ffmpeg-png; fi
    file="$work/$who.$format"
    printf "%-5s %-11s %-50s %-9s %s\n" "$format" "$label" "$(printf '%s\n' "${times[@]}" | stats)" \
      "$(du -k "$file" | cut -f1) kB" "$(psnr "$file")"
  done
done

#include "core/export/export.h"

#include "core/export/export_detail.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <system_error>

namespace diffuscope {
namespace fs = std::filesystem;

namespace export_detail {

std::string LowerExtension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

void CheckOutputFolder(const fs::path& target) {
  std::error_code ec;
  const fs::path folder = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  Require(fs::is_directory(folder, ec),
          "cannot write '" + target.string() + "': folder '" + folder.string() + "' does not exist");
}

void CheckRequest(const fs::path& out, int frame_count, const ExportOptions& options) {
  const std::string problem = options.Check();
  Require(problem.empty(), "export options: " + problem);
  Require(frame_count >= 1, "nothing to export: the animation has no frames");
  Require(frame_count <= kMaxExportFrames, "an animation of " + std::to_string(frame_count) +
                                               " frames is too long: at most " + std::to_string(kMaxExportFrames));
  Require(!out.empty(), "no output path given");
  // Before minutes of rendering: H.264's (and MPEG-4's) scale stops at 51, VP9's at 63.
  Require(options.video_crf <= 51 || LowerExtension(out) != ".mp4",
          "an MP4 takes a CRF of 0..51, not " + std::to_string(options.video_crf) + " (WebM's VP9 goes to 63)");
}

void FrameChecker::Check(const Frame& frame, int index) {
  const std::string which = "frame " + std::to_string(index);
  Require(frame.width > 0 && frame.height > 0, which + " is empty");
  Require(frame.width <= kMaxExportSide && frame.height <= kMaxExportSide,
          which + " is " + std::to_string(frame.width) + "x" + std::to_string(frame.height) +
              " pixels: exports are at most " + std::to_string(kMaxExportSide) + " pixels on a side");
  Require(frame.rgb.size() == static_cast<size_t>(frame.width) * frame.height * 3,
          which + " has " + std::to_string(frame.rgb.size()) + " bytes, not width * height * 3");
  if (width_ == 0) {
    width_ = frame.width;
    height_ = frame.height;
    return;
  }
  Require(frame.width == width_ && frame.height == height_,
          which + " is " + std::to_string(frame.width) + "x" + std::to_string(frame.height) +
              " but the first frame was " + std::to_string(width_) + "x" + std::to_string(height_) +
              ": every frame of an animation must have the same size");
}

}  // namespace export_detail

namespace {

template <typename Enum, size_t N>
std::optional<Enum> Lookup(const std::array<std::pair<Enum, std::string_view>, N>& table, std::string_view name) {
  for (const auto& [value, text] : table)
    if (text == name) return value;
  return std::nullopt;
}

constexpr std::array<std::pair<GifPalette, std::string_view>, 5> kPaletteNames = {{
    {GifPalette::kAuto, "auto"},
    {GifPalette::kGrey, "grey"},
    {GifPalette::kColour, "colour"},
    {GifPalette::kGrey, "gray"},
    {GifPalette::kColour, "color"},
}};

constexpr std::array<std::pair<VideoCodec, std::string_view>, 5> kCodecNames = {{
    {VideoCodec::kAuto, "auto"},
    {VideoCodec::kH264, "h264"},
    {VideoCodec::kMpeg4, "mpeg4"},
    {VideoCodec::kVp8, "vp8"},
    {VideoCodec::kVp9, "vp9"},
}};

}  // namespace

std::string_view ExportFormatName(ExportFormat format) {
  switch (format) {
    case ExportFormat::kGif: return "gif";
    case ExportFormat::kMp4: return "mp4";
    case ExportFormat::kWebm: return "webm";
    case ExportFormat::kPngFrames: return "png-frames";
  }
  return "?";
}

ExportFormat FormatForPath(const fs::path& path) {
  Require(!path.empty(), "no output path given");
  const std::string text = path.string();
  if (text.back() == '/' || path.filename().empty()) return ExportFormat::kPngFrames;
  std::error_code ec;
  if (fs::is_directory(path, ec)) return ExportFormat::kPngFrames;
  const std::string ext = export_detail::LowerExtension(path);
  if (ext == ".gif") return ExportFormat::kGif;
  if (ext == ".mp4") return ExportFormat::kMp4;
  if (ext == ".webm") return ExportFormat::kWebm;
  if (ext.empty()) return ExportFormat::kPngFrames;
  throw Error("cannot export to '" + text + "': unknown extension '" + path.extension().string() +
              "'; use .gif, .mp4, .webm, or a folder (ending in '/') for PNG frames");
}

std::string_view GifPaletteName(GifPalette palette) {
  for (const auto& [value, text] : kPaletteNames)
    if (value == palette) return text;
  return "?";
}

std::optional<GifPalette> ParseGifPalette(std::string_view name) { return Lookup(kPaletteNames, name); }

std::string_view VideoCodecName(VideoCodec codec) {
  for (const auto& [value, text] : kCodecNames)
    if (value == codec) return text;
  return "?";
}

std::optional<VideoCodec> ParseVideoCodec(std::string_view name) { return Lookup(kCodecNames, name); }

std::string ExportOptions::Check() const {
  if (!(std::isfinite(fps) && fps >= 0.1 && fps <= 120.0)) return "fps must be in 0.1..120";
  if (!(std::isfinite(final_hold_s) && final_hold_s >= 0.0 && final_hold_s <= 60.0))
    return "final_hold_s must be in 0..60 seconds";
  if (gif_colours < 2 || gif_colours > 256) return "gif_colours must be in 2..256";
  if (gif_palette_frames < 0) return "gif_palette_frames must be >= 0 (0 = every frame)";
  if (GifPaletteName(gif_palette) == "?") return "unknown GIF palette";
  if (VideoCodecName(video_codec) == "?") return "unknown video codec";
  if (video_crf < -1 || video_crf > 63) return "video_crf must be in 0..63 (H.264 0..51), or -1 for the default";
  if (video_threads < 1 || video_threads > 64) return "video_threads must be in 1..64";
  return {};
}

std::vector<int> GifDelays(int count, double fps, double final_hold_s) {
  std::vector<int> delays(static_cast<size_t>(std::max(count, 0)));
  long long previous = 0;
  for (int k = 0; k < count; ++k) {
    const long long next = std::llround(100.0 * (k + 1) / fps);
    delays[k] = static_cast<int>(next - previous);
    previous = next;
  }
  if (count > 0) delays.back() += static_cast<int>(std::llround(100.0 * final_hold_s));
  return delays;
}

std::string PngFrameName(int index, int count) {
  int digits = 4;
  for (int limit = 10000; count > limit && digits < 9; limit *= 10) ++digits;
  std::string number = std::to_string(index);
  if (static_cast<int>(number.size()) < digits) number.insert(0, digits - number.size(), '0');
  return "frame_" + number + ".png";
}

ExportResult ExportAnimation(const fs::path& out, int frame_count, const FrameSource& frames,
                             const ExportOptions& options, const ProgressFn& progress, const StopFn& stop) {
  switch (FormatForPath(out)) {
    case ExportFormat::kGif: return WriteGif(out, frame_count, frames, options, progress, stop);
    case ExportFormat::kMp4:
    case ExportFormat::kWebm: return WriteVideo(out, frame_count, frames, options, progress, stop);
    case ExportFormat::kPngFrames: return WritePngFrames(out, frame_count, frames, options, progress, stop);
  }
  throw Error("unknown export format");
}

ExportResult ExportAnimation(const fs::path& out, const std::vector<Frame>& frames, const ExportOptions& options,
                             const ProgressFn& progress, const StopFn& stop) {
  Require(frames.size() <= static_cast<size_t>(kMaxExportFrames), "an animation of " + std::to_string(frames.size()) +
                                                                      " frames is too long: at most " +
                                                                      std::to_string(kMaxExportFrames));
  const FrameSource source = [&frames](int index) { return frames.at(static_cast<size_t>(index)); };
  return ExportAnimation(out, static_cast<int>(frames.size()), source, options, progress, stop);
}

}  // namespace diffuscope

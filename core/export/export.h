// Animation writers: GIF (giflib), MP4 (H.264) / WebM (VP9) through FFmpeg's libavcodec, and numbered PNG frames.
// Frames come one at a time from a callback, so long animations never sit in memory; every writer is atomic:
// a cancelled or failed export leaves no partial file and no temporary file, and an existing output is replaced
// only on success.
//
//   diffuscope::ExportOptions options;
//   options.fps = 12;
//   options.final_hold_s = 1.5;
//   auto frame = [&](int i) { return renderer.Render(InputOfFrame(i)); };   // any i in 0..count-1, any order
//   diffuscope::ExportResult result =
//       diffuscope::ExportAnimation("forward.gif", count, frame, options, progress, stop);
//   std::cout << result.note << "\n";   // e.g. "exact 256-grey palette (lossless)"
//
// The GIF writer asks for some frames twice (first a sample for the global palette, then every frame in order),
// so the FrameSource must return the same frame for the same index. Video and PNG writers ask once, in order.
#pragma once

#include "core/common/types.h"
#include "core/render/frame.h"

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace diffuscope {

enum class ExportFormat {
  kGif,        // .gif
  kMp4,        // .mp4 (H.264 when available, else MPEG-4 part 2)
  kWebm,       // .webm (VP9, or VP8 on request)
  kPngFrames,  // a folder of frame_0000.png, frame_0001.png, ...
};

enum class GifPalette {
  kAuto,    // the exact 256-grey palette when every frame is grey, else a quantised colour palette
  kGrey,    // always 256 greys (colour frames are converted to luma)
  kColour,  // always a quantised colour palette
};

enum class VideoCodec {
  kAuto,   // MP4: H.264 (libx264), falling back to MPEG-4 part 2; WebM: VP9
  kH264,   // MP4 only; an Error when the FFmpeg build has no libx264
  kMpeg4,  // MP4 only: MPEG-4 part 2 (a fixed quantiser as fine as H.264's at QP = crf)
  kVp8,    // WebM only
  kVp9,    // WebM only (libvpx-vp9)
};

/// Video quality defaults: constant rate factors that keep pure-noise frames noise, not blotches (measured in
/// tests/core/export_test.cpp), and the fast encoder settings. ffmpeg equivalents (scripts/bench-export.sh):
/// -c:v libx264 -preset veryfast -crf 18, and -c:v libvpx-vp9 -crf 30 -b:v 0 -deadline good -cpu-used 5 -row-mt 1.
inline constexpr int kDefaultH264Crf = 18;
inline constexpr int kDefaultVp9Crf = 30;
inline constexpr const char* kH264Preset = "veryfast";
inline constexpr int kVp9CpuUsed = 5;
/// The CRF used when ExportOptions::video_crf is -1.
int DefaultCrf(VideoCodec codec);

/// Longest side (pixels) and most frames an export accepts.
inline constexpr int kMaxExportSide = 8192;
inline constexpr int kMaxExportFrames = 10000;

/// "gif", "mp4", "webm", "png-frames".
std::string_view ExportFormatName(ExportFormat format);
/// The format an output path asks for: .gif, .mp4, .webm (any case), or a folder for PNG frames (a path ending in
/// '/', an existing folder, or a name without extension). Throws Error for any other extension.
ExportFormat FormatForPath(const std::filesystem::path& path);
std::string_view GifPaletteName(GifPalette palette);
std::optional<GifPalette> ParseGifPalette(std::string_view name);  // "auto", "grey" (or "gray"), "colour" ("color")
std::string_view VideoCodecName(VideoCodec codec);
std::optional<VideoCodec> ParseVideoCodec(std::string_view name);  // "auto", "h264", "mpeg4", "vp8", "vp9"

struct ExportOptions {
  double fps = 10.0;          // frames per second, 0.1..120; a GIF needs <= 50 (its delays are in 1/100 s)
  double final_hold_s = 1.0;  // the last frame stays this many seconds longer (GIF, video), 0..60
  bool loop = true;           // GIF: loop forever (NETSCAPE2.0 extension); false = play once
  GifPalette gif_palette = GifPalette::kAuto;
  bool gif_dither = true;       // Floyd-Steinberg (serpentine) error diffusion for colour palettes
  int gif_colours = 256;        // colour palette size, 2..256
  int gif_palette_frames = 24;  // frames sampled evenly (first and last included) for the global colour palette;
                                // 0 = every frame
  VideoCodec video_codec = VideoCodec::kAuto;
  int video_crf = -1;     // video quality, constant rate factor: lower is better and larger; H.264 0..51,
                          // VP9 / VP8 0..63; -1 = DefaultCrf (H.264 18, VP9 30)
  int video_threads = 4;  // encoder threads, 1..64; fixed, not the machine's count, since the bytes depend on it

  /// Empty when valid, else what is wrong, naming the option.
  std::string Check() const;
};

struct ExportResult {
  ExportFormat format = ExportFormat::kGif;
  std::filesystem::path path;  // what was written (a file, or the PNG folder)
  int frames = 0;              // distinct frames written (the hold is not counted)
  int width = 0, height = 0;   // as written (videos are padded to even sizes)
  double duration_s = 0.0;     // playing time including the final hold (0 for PNG frames)
  std::string codec;           // "GIF89a", "H.264 (libx264)", "MPEG-4 part 2", "VP9 (libvpx)", "VP8 (libvpx)", "PNG"
  std::string note;            // what the user should know: palette, CRF, fallbacks, padding
  // GIF only:
  bool grey_palette = false;  // the exact 256-grey palette was used (lossless for grey frames)
  int palette_size = 0;       // colours in the global palette
};

/// Frame number index (0..count-1). Must return the same pixels for the same index, every frame the same size.
/// Writers call it on the calling thread only, never concurrently; an Error it throws aborts the export cleanly.
using FrameSource = std::function<Frame(int index)>;

/// Writes an animation in the format of FormatForPath(out). progress(done, total, what) after each frame; stop() is
/// asked between frames (throws Cancelled). Throws Error for bad options, zero or too many frames, frames of
/// different or absurd sizes, an unwritable folder, an unknown extension, or an encoder failure.
ExportResult ExportAnimation(const std::filesystem::path& out, int frame_count, const FrameSource& frames,
                             const ExportOptions& options = {}, const ProgressFn& progress = {},
                             const StopFn& stop = {});
/// The same for frames already in memory.
ExportResult ExportAnimation(const std::filesystem::path& out, const std::vector<Frame>& frames,
                             const ExportOptions& options = {}, const ProgressFn& progress = {},
                             const StopFn& stop = {});

/// An animated GIF89a with a global palette, per-frame delays from fps (rounding carried over so the total time is
/// right) and the final hold added to the last frame's delay.
ExportResult WriteGif(const std::filesystem::path& out, int frame_count, const FrameSource& frames,
                      const ExportOptions& options = {}, const ProgressFn& progress = {}, const StopFn& stop = {});
/// An MP4 or WebM (chosen by the extension) through libavcodec / libavformat: YUV 4:2:0 (BT.601, limited range) at
/// video_crf; odd sizes are padded by one replicated row / column; the hold repeats the last frame
/// round(final_hold_s * fps) times. The same frames and options give the same bytes. Throws Error when the encoder
/// is missing or refuses the options, or the file cannot be written.
ExportResult WriteVideo(const std::filesystem::path& out, int frame_count, const FrameSource& frames,
                        const ExportOptions& options = {}, const ProgressFn& progress = {}, const StopFn& stop = {});
/// The same writer fed one frame at a time, for callers that render as they go: each frame is encoded (on the
/// encoder's threads) while the caller renders the next. Atomic like WriteVideo: the file appears at Finish();
/// a writer destroyed before that (a Cancel, an Error) leaves no file and no temporary file.
///
///   diffuscope::VideoWriter video("run.mp4", options);   // throws Error for bad options or an unwritable folder
///   for (int i = 0; i < count; ++i) video.Add(Render(i));
///   diffuscope::ExportResult result = video.Finish();
class VideoWriter {
 public:
  explicit VideoWriter(const std::filesystem::path& out, const ExportOptions& options = {});
  ~VideoWriter();
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;
  /// Encodes the next frame; every frame must have the size of the first. Throws Error.
  void Add(const Frame& frame);
  /// Adds the final hold, finishes the file and renames it over `out`. stop() is asked between hold frames.
  ExportResult Finish(const StopFn& stop = {});
  int frames() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// frame_0000.png ... (lossless RGB; 4 digits, more when there are more than 10000 frames) in folder `out`. The
/// frames are written into a temporary sibling folder that is renamed into place on success. An existing `out`
/// is replaced only when it is empty or holds only frame_*.png files (a previous export); otherwise Error.
ExportResult WritePngFrames(const std::filesystem::path& out, int frame_count, const FrameSource& frames,
                            const ExportOptions& options = {}, const ProgressFn& progress = {},
                            const StopFn& stop = {});

/// The GIF frame delays in 1/100 s for count frames at fps plus a final hold: delay k = round(100 (k+1) / fps) -
/// round(100 k / fps), the hold added to the last, so that the sum is round(100 count / fps) + round(100 hold).
std::vector<int> GifDelays(int count, double fps, double final_hold_s);
/// The name of frame `index` in a PNG export of `count` frames: frame_0000.png.
std::string PngFrameName(int index, int count);

}  // namespace diffuscope

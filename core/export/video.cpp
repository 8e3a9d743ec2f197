// MP4 and WebM through cv::VideoWriter's FFmpeg backend, written to a temporary file beside the target.
#include "core/common/atomic_file.h"
#include "core/export/export.h"
#include "core/export/export_detail.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <cmath>

namespace diffuscope {
namespace fs = std::filesystem;
using export_detail::CheckStop;
using export_detail::FrameChecker;
using export_detail::Progress;

namespace {

struct CodecChoice {
  int fourcc;
  const char* name;
};

constexpr int FourCc(char a, char b, char c, char d) {
  return (a & 255) | ((b & 255) << 8) | ((c & 255) << 16) | ((d & 255) << 24);
}

constexpr CodecChoice kH264{FourCc('a', 'v', 'c', '1'), "H.264 (avc1)"};
constexpr CodecChoice kMpeg4{FourCc('m', 'p', '4', 'v'), "MPEG-4 part 2 (mp4v)"};
constexpr CodecChoice kVp8{FourCc('V', 'P', '8', '0'), "VP8"};
constexpr CodecChoice kVp9{FourCc('V', 'P', '9', '0'), "VP9"};

// The codecs to try in order for a container and a request.
std::vector<CodecChoice> Candidates(ExportFormat format, VideoCodec codec) {
  if (format == ExportFormat::kMp4) {
    switch (codec) {
      case VideoCodec::kAuto: return {kH264, kMpeg4};
      case VideoCodec::kH264: return {kH264};
      case VideoCodec::kMpeg4: return {kMpeg4};
      default: throw Error("an MP4 holds H.264 or MPEG-4 video: choose codec auto, h264 or mpeg4 (or export .webm)");
    }
  }
  switch (codec) {
    case VideoCodec::kAuto:
    case VideoCodec::kVp8: return {kVp8};
    case VideoCodec::kVp9: return {kVp9};
    default: throw Error("a WebM holds VP8 or VP9 video: choose codec auto, vp8 or vp9 (or export .mp4)");
  }
}

// The frame as a BGR matrix of even size (one replicated row / column added when odd).
void ToEvenBgr(const Frame& frame, int even_w, int even_h, cv::Mat* bgr) {
  const cv::Mat rgb = AsMat(frame);
  if (even_w == frame.width && even_h == frame.height) {
    cv::cvtColor(rgb, *bgr, cv::COLOR_RGB2BGR);
    return;
  }
  cv::Mat padded;
  cv::copyMakeBorder(rgb, padded, 0, even_h - frame.height, 0, even_w - frame.width, cv::BORDER_REPLICATE);
  cv::cvtColor(padded, *bgr, cv::COLOR_RGB2BGR);
}

}  // namespace

ExportResult WriteVideo(const fs::path& out, int frame_count, const FrameSource& frames, const ExportOptions& options,
                        const ProgressFn& progress_fn, const StopFn& stop) {
  export_detail::CheckRequest(out, frame_count, options);
  Require(static_cast<bool>(frames), "no frame source given");
  const std::string ext = export_detail::LowerExtension(out);
  Require(ext == ".mp4" || ext == ".webm",
          "a video export needs a file name ending in .mp4 or .webm, not '" + out.string() + "'");
  const ExportFormat format = ext == ".mp4" ? ExportFormat::kMp4 : ExportFormat::kWebm;
  const std::vector<CodecChoice> candidates = Candidates(format, options.video_codec);
  export_detail::CheckOutputFolder(out);
  std::error_code ec;
  Require(!fs::is_directory(out, ec), "cannot write '" + out.string() + "': it is a folder");

  const int hold_frames = static_cast<int>(std::lround(options.final_hold_s * options.fps));
  Progress progress(progress_fn, frame_count);
  FrameChecker checker;
  ExportResult result;
  result.format = format;
  result.path = out;
  result.frames = frame_count;

  CheckStop(stop);
  Frame first = frames(0);
  checker.Check(first, 0);
  const int even_w = (checker.width() + 1) & ~1, even_h = (checker.height() + 1) & ~1;

  WriteAtomically(out, [&](const fs::path& temp) {
    cv::VideoWriter writer;
    std::string tried;
    for (const CodecChoice& codec : candidates) {
      try {
        writer.open(temp.string(), cv::CAP_FFMPEG, codec.fourcc, options.fps, cv::Size(even_w, even_h), true);
      } catch (const cv::Exception&) {
        writer.release();
      }
      if (writer.isOpened()) {
        result.codec = codec.name;
        break;
      }
      tried += tried.empty() ? codec.name : std::string(", ") + codec.name;
    }
    if (!writer.isOpened()) {
      std::error_code ignore;
      fs::remove(temp, ignore);
      throw Error("OpenCV's video writer (FFmpeg backend) cannot write " + std::string(ExportFormatName(format)) +
                  " here (tried " + tried + "); export a GIF or PNG frames instead");
    }
    if (candidates.size() > 1 && result.codec != candidates.front().name)
      result.note = std::string(candidates.front().name) + " is not available in this FFmpeg build; wrote " +
                    result.codec;
    cv::Mat bgr;
    try {
      for (int i = 0; i < frame_count; ++i) {
        CheckStop(stop);
        Frame frame = i == 0 ? std::move(first) : frames(i);
        checker.Check(frame, i);
        ToEvenBgr(frame, even_w, even_h, &bgr);
        writer.write(bgr);
        progress.Report("writing video frames");
      }
      for (int k = 0; k < hold_frames; ++k) {
        CheckStop(stop);
        writer.write(bgr);
      }
      writer.release();
    } catch (const cv::Exception& e) {
      throw Error(std::string("the video encoder failed: ") + e.what());
    }
    // A write error (a full disk) leaves a file FFmpeg cannot read back: check before it replaces anything.
    std::error_code size_ec;
    const auto size = fs::file_size(temp, size_ec);
    Require(!size_ec && size > 0, "writing '" + out.string() + "' failed (disk full or not writable)");
    cv::VideoCapture check(temp.string(), cv::CAP_FFMPEG);
    Require(check.isOpened(), "writing '" + out.string() + "' failed: the video written cannot be read back "
                                                            "(disk full?)");
  });

  result.width = even_w;
  result.height = even_h;
  result.duration_s = (frame_count + hold_frames) / options.fps;
  if (even_w != checker.width() || even_h != checker.height()) {
    if (!result.note.empty()) result.note += "; ";
    result.note += "padded from " + std::to_string(checker.width()) + "x" + std::to_string(checker.height()) +
                   " to the even size " + std::to_string(even_w) + "x" + std::to_string(even_h) +
                   " the codec needs";
  }
  return result;
}

}  // namespace diffuscope

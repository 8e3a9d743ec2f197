// MP4 (H.264 through libx264) and WebM (VP9 through libvpx) written with Debian's FFmpeg libraries directly
// (libavcodec, libavformat, libswscale), to a temporary file beside the target. OpenCV's writer fixed the codecs'
// settings (VP8 at about 1 bit per pixel turned noise into blotches); here the quality is a CRF the caller picks.
//
// Frames are rendered while the previous ones encode: the encoders run their own frame / row threads and return
// from avcodec_send_frame before the frame is coded, so the core starts no thread itself. The thread count is fixed
// by the options, not by the machine, so the same spec gives the same bytes everywhere.
#include "core/common/atomic_file.h"
#include "core/export/export.h"
#include "core/export/export_detail.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>

namespace diffuscope {
namespace fs = std::filesystem;
using export_detail::CheckStop;
using export_detail::FrameChecker;
using export_detail::Progress;

namespace {

// What to encode with: the FFmpeg encoder's name and what the user reads.
struct CodecChoice {
  VideoCodec codec;
  const char* encoder;  // avcodec_find_encoder_by_name
  const char* name;     // ExportResult::codec
};

constexpr CodecChoice kH264{VideoCodec::kH264, "libx264", "H.264 (libx264)"};
constexpr CodecChoice kMpeg4{VideoCodec::kMpeg4, "mpeg4", "MPEG-4 part 2"};
constexpr CodecChoice kVp8{VideoCodec::kVp8, "libvpx", "VP8 (libvpx)"};
constexpr CodecChoice kVp9{VideoCodec::kVp9, "libvpx-vp9", "VP9 (libvpx)"};

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
    case VideoCodec::kVp9: return {kVp9};
    case VideoCodec::kVp8: return {kVp8};
    default: throw Error("a WebM holds VP9 or VP8 video: choose codec auto, vp9 or vp8 (or export .mp4)");
  }
}

std::string AvError(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof text);
  return text;
}

// Owners of the FFmpeg objects, so that a Cancel or an Error anywhere frees them (and closes the file) before the
// temporary file is removed.
struct FormatContextFree {
  void operator()(AVFormatContext* c) const {
    if (c->pb != nullptr && !(c->oformat->flags & AVFMT_NOFILE)) avio_closep(&c->pb);
    avformat_free_context(c);
  }
};
struct CodecContextFree {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameFree {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsFree {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};

// x264 and libvpx report their settings at info level on every open; only errors are worth the user's terminal.
void QuietFfmpegLog() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (av_log_get_level() > AV_LOG_ERROR) av_log_set_level(AV_LOG_ERROR);
  });
}

void SetOption(AVCodecContext* context, const char* key, const std::string& value) {
  // The private options of the encoder (x264's crf and preset, libvpx's cpu-used ...).
  const int rc = av_opt_set(context->priv_data, key, value.c_str(), 0);
  Require(rc >= 0, std::string("the video encoder refused option ") + key + "=" + value + ": " + AvError(rc));
}

// Sets the encoder's quality, speed and threads for a CRF (already checked against the codec's range).
void Configure(const CodecChoice& choice, int crf, int threads, AVCodecContext* context) {
  context->thread_count = threads;
  switch (choice.codec) {
    case VideoCodec::kH264:
      SetOption(context, "crf", std::to_string(crf));
      SetOption(context, "preset", kH264Preset);
      break;
    case VideoCodec::kVp9:
      // Constant quality (b = 0: no bitrate target), good-quality deadline at a fast cpu-used, row threads.
      context->bit_rate = 0;
      SetOption(context, "crf", std::to_string(crf));
      SetOption(context, "deadline", "good");
      SetOption(context, "cpu-used", std::to_string(kVp9CpuUsed));
      SetOption(context, "row-mt", "1");
      break;
    case VideoCodec::kVp8:
      // VP8's constant quality needs a bitrate ceiling: 4 bits per pixel lets even noise through.
      context->bit_rate = static_cast<int64_t>(4.0 * context->width * context->height / av_q2d(context->time_base));
      SetOption(context, "crf", std::to_string(crf));
      SetOption(context, "deadline", "good");
      SetOption(context, "cpu-used", "4");
      break;
    default:  // MPEG-4 part 2 has no CRF: a fixed quantiser whose step matches H.264's at QP = crf (x2 per 6).
      context->flags |= AV_CODEC_FLAG_QSCALE;
      context->global_quality =
          FF_QP2LAMBDA * std::clamp(static_cast<int>(std::lround(0.3125 * std::exp2(crf / 6.0))), 2, 31);
      break;
  }
}

// Sends one frame (nullptr: flush) and writes every packet the encoder has ready.
void Encode(AVFormatContext* format, AVCodecContext* codec, AVStream* stream, const AVFrame* frame, AVPacket* packet) {
  int rc = avcodec_send_frame(codec, frame);
  Require(rc >= 0, "the video encoder failed: " + AvError(rc));
  for (;;) {
    rc = avcodec_receive_packet(codec, packet);
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
    Require(rc >= 0, "the video encoder failed: " + AvError(rc));
    av_packet_rescale_ts(packet, codec->time_base, stream->time_base);
    packet->stream_index = stream->index;
    rc = av_interleaved_write_frame(format, packet);  // takes the packet's data and resets it
    Require(rc >= 0, "writing the video failed (disk full?): " + AvError(rc));
  }
}

}  // namespace

int DefaultCrf(VideoCodec codec) {
  switch (codec) {
    case VideoCodec::kH264:
    case VideoCodec::kAuto: return kDefaultH264Crf;
    case VideoCodec::kMpeg4: return kDefaultH264Crf;
    case VideoCodec::kVp8:
    case VideoCodec::kVp9: return kDefaultVp9Crf;
  }
  return kDefaultH264Crf;
}

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
  QuietFfmpegLog();

  // The first available encoder of the candidates.
  const AVCodec* encoder = nullptr;
  CodecChoice choice = candidates.front();
  std::string tried;
  for (const CodecChoice& candidate : candidates) {
    encoder = avcodec_find_encoder_by_name(candidate.encoder);
    if (encoder != nullptr) {
      choice = candidate;
      break;
    }
    tried += std::string(tried.empty() ? "" : ", ") + candidate.encoder;
  }
  Require(encoder != nullptr, "this FFmpeg build has no " + tried + " encoder for " +
                                  std::string(ExportFormatName(format)) +
                                  " (on Debian: apt install libavcodec59); export a GIF or PNG frames instead");
  const int crf = options.video_crf >= 0 ? options.video_crf : DefaultCrf(choice.codec);
  const int max_crf = choice.codec == VideoCodec::kVp9 || choice.codec == VideoCodec::kVp8 ? 63 : 51;
  Require(crf <= max_crf, std::string(choice.name) + " takes a CRF of 0.." + std::to_string(max_crf) + ", not " +
                              std::to_string(crf));

  const int hold_frames = static_cast<int>(std::lround(options.final_hold_s * options.fps));
  Progress progress(progress_fn, frame_count);
  FrameChecker checker;
  ExportResult result;
  result.format = format;
  result.path = out;
  result.frames = frame_count;
  result.codec = choice.name;
  if (choice.codec != candidates.front().codec)
    result.note = std::string(candidates.front().name) + " is not available in this FFmpeg build; wrote " +
                  choice.name;

  CheckStop(stop);
  Frame first = frames(0);
  checker.Check(first, 0);
  const int width = checker.width(), height = checker.height();
  const int even_w = (width + 1) & ~1, even_h = (height + 1) & ~1;

  WriteAtomically(out, [&](const fs::path& temp) {
    AVFormatContext* raw_format = nullptr;
    int rc = avformat_alloc_output_context2(&raw_format, nullptr, format == ExportFormat::kMp4 ? "mp4" : "webm",
                                            temp.c_str());
    Require(rc >= 0 && raw_format != nullptr, "FFmpeg cannot write " + std::string(ExportFormatName(format)) +
                                                  ": " + AvError(rc));
    std::unique_ptr<AVFormatContext, FormatContextFree> container(raw_format);
    container->flags |= AVFMT_FLAG_BITEXACT;  // no library version in the file: the same bytes on every build

    std::unique_ptr<AVCodecContext, CodecContextFree> codec(avcodec_alloc_context3(encoder));
    Require(codec != nullptr, "out of memory for the video encoder");
    const AVRational rate = av_d2q(options.fps, 100000);
    codec->width = even_w;
    codec->height = even_h;
    codec->time_base = av_inv_q(rate);
    codec->framerate = rate;
    codec->pix_fmt = AV_PIX_FMT_YUV420P;
    codec->colorspace = AVCOL_SPC_SMPTE170M;  // what swscale's RGB -> YUV below computes (BT.601, limited range)
    codec->color_range = AVCOL_RANGE_MPEG;
    codec->gop_size = 250;
    codec->flags |= AV_CODEC_FLAG_BITEXACT;
    if (container->oformat->flags & AVFMT_GLOBALHEADER) codec->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    Configure(choice, crf, options.video_threads, codec.get());
    rc = avcodec_open2(codec.get(), encoder, nullptr);
    Require(rc >= 0, std::string("cannot start the ") + choice.name + " encoder at " + std::to_string(even_w) +
                         "x" + std::to_string(even_h) + ": " + AvError(rc));

    AVStream* stream = avformat_new_stream(container.get(), nullptr);
    Require(stream != nullptr, "out of memory for the video stream");
    stream->time_base = codec->time_base;
    stream->avg_frame_rate = rate;
    rc = avcodec_parameters_from_context(stream->codecpar, codec.get());
    Require(rc >= 0, "cannot describe the video stream: " + AvError(rc));

    rc = avio_open(&container->pb, temp.c_str(), AVIO_FLAG_WRITE);
    Require(rc >= 0, "cannot write '" + out.string() + "': folder '" + out.parent_path().string() +
                         "' is not writable (" + AvError(rc) + ")");
    AVDictionary* muxer_options = nullptr;
    // MP4: the index up front, so a browser plays the video before it has all of it.
    if (format == ExportFormat::kMp4) av_dict_set(&muxer_options, "movflags", "+faststart", 0);
    rc = avformat_write_header(container.get(), &muxer_options);
    av_dict_free(&muxer_options);
    Require(rc >= 0, "cannot write the video header: " + AvError(rc));

    // RGB -> YUV 4:2:0 with the bicubic filter FFmpeg's own command line uses, so the two compare like for like.
    std::unique_ptr<SwsContext, SwsFree> scaler(sws_getContext(even_w, even_h, AV_PIX_FMT_RGB24, even_w, even_h,
                                                               AV_PIX_FMT_YUV420P, SWS_BICUBIC, nullptr, nullptr,
                                                               nullptr));
    Require(scaler != nullptr, "cannot convert frames to YUV 4:2:0");
    std::unique_ptr<AVPacket, PacketFree> packet(av_packet_alloc());
    Require(packet != nullptr, "out of memory for video packets");
    Frame padded(even_w, even_h);
    auto send = [&](const Frame& frame, int64_t pts) {
      // The encoder may still read the previous picture: each frame gets its own buffer.
      std::unique_ptr<AVFrame, FrameFree> picture(av_frame_alloc());
      Require(picture != nullptr, "out of memory for a video frame");
      picture->format = AV_PIX_FMT_YUV420P;
      picture->width = even_w;
      picture->height = even_h;
      picture->colorspace = codec->colorspace;
      picture->color_range = codec->color_range;
      Require(av_frame_get_buffer(picture.get(), 0) >= 0, "out of memory for a video frame");
      const Frame* source = &frame;
      if (even_w != width || even_h != height) {  // odd sizes: one replicated row / column
        for (int y = 0; y < even_h; ++y) {
          const uint8_t* row = frame.pixel(0, std::min(y, height - 1));
          uint8_t* to = padded.pixel(0, y);
          std::copy_n(row, 3 * width, to);
          if (even_w != width) std::copy_n(row + 3 * (width - 1), 3, to + 3 * width);
        }
        source = &padded;
      }
      const uint8_t* planes[1] = {source->rgb.data()};
      const int strides[1] = {3 * even_w};
      sws_scale(scaler.get(), planes, strides, 0, even_h, picture->data, picture->linesize);
      picture->pts = pts;
      Encode(container.get(), codec.get(), stream, picture.get(), packet.get());
    };

    Frame last;
    for (int i = 0; i < frame_count; ++i) {
      CheckStop(stop);
      Frame frame = i == 0 ? std::move(first) : frames(i);
      checker.Check(frame, i);
      send(frame, i);
      progress.Report("writing video frames");
      if (i == frame_count - 1) last = std::move(frame);
    }
    for (int k = 0; k < hold_frames; ++k) {
      CheckStop(stop);
      send(last, frame_count + k);
    }
    Encode(container.get(), codec.get(), stream, nullptr, packet.get());
    rc = av_write_trailer(container.get());
    Require(rc >= 0, "writing '" + out.string() + "' failed (disk full?): " + AvError(rc));
    rc = avio_closep(&container->pb);  // reports the last write's error (a full disk)
    Require(rc >= 0, "writing '" + out.string() + "' failed (disk full?): " + AvError(rc));
    std::error_code size_ec;
    const auto size = fs::file_size(temp, size_ec);
    Require(!size_ec && size > 0, "writing '" + out.string() + "' failed (disk full or not writable)");
  });

  result.width = even_w;
  result.height = even_h;
  result.duration_s = (frame_count + hold_frames) / options.fps;
  if (!result.note.empty()) result.note += "; ";
  result.note += "CRF " + std::to_string(crf);
  if (even_w != width || even_h != height)
    result.note += "; padded from " + std::to_string(width) + "x" + std::to_string(height) + " to the even size " +
                   std::to_string(even_w) + "x" + std::to_string(even_h) + " the codec needs";
  return result;
}

}  // namespace diffuscope

// MP4 (H.264 through libx264) and WebM (VP9 through libvpx) written with Debian's FFmpeg libraries directly
// (libavcodec, libavformat, libswscale), to a temporary file beside the target. OpenCV's writer fixed the codecs'
// settings (VP8 at about 1 bit per pixel turned noise into blotches); here the quality is a CRF the caller picks.
//
// Frames are rendered while the previous ones encode: the encoders run their own frame / row threads and return
// from avcodec_send_frame before the frame is coded, so the core starts no thread itself. The thread count is fixed
// by the options, not by the machine, so the same spec gives the same bytes everywhere.
#include "core/common/atomic_file.h"  // TempPathBeside
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

// Everything an open video holds. Members are destroyed in reverse order: the scaler, packet and encoder, then
// the container (which closes the file), before ~VideoWriter removes the temporary file.
struct VideoWriter::State {
  fs::path out, temp;
  ExportOptions options;
  ExportFormat format = ExportFormat::kMp4;
  const AVCodec* encoder = nullptr;
  CodecChoice choice = kH264;
  int crf = 0;
  ExportResult result;
  FrameChecker checker;
  int width = 0, height = 0, even_w = 0, even_h = 0;
  int64_t next_pts = 0;
  bool finished = false;
  Frame last, padded;
  std::unique_ptr<AVFormatContext, FormatContextFree> container;
  std::unique_ptr<AVCodecContext, CodecContextFree> codec;
  AVStream* stream = nullptr;
  std::unique_ptr<SwsContext, SwsFree> scaler;
  std::unique_ptr<AVPacket, PacketFree> packet;

  void Open(int frame_width, int frame_height);
  void Send(const Frame& frame);
};

void VideoWriter::State::Open(int frame_width, int frame_height) {
  width = frame_width;
  height = frame_height;
  even_w = (width + 1) & ~1;
  even_h = (height + 1) & ~1;
  temp = TempPathBeside(out);
  AVFormatContext* raw_format = nullptr;
  int rc =
      avformat_alloc_output_context2(&raw_format, nullptr, format == ExportFormat::kMp4 ? "mp4" : "webm", temp.c_str());
  Require(rc >= 0 && raw_format != nullptr,
          "FFmpeg cannot write " + std::string(ExportFormatName(format)) + ": " + AvError(rc));
  container.reset(raw_format);
  container->flags |= AVFMT_FLAG_BITEXACT;  // no library version in the file: the same bytes on every build

  codec.reset(avcodec_alloc_context3(encoder));
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
  Require(rc >= 0, std::string("cannot start the ") + choice.name + " encoder at " + std::to_string(even_w) + "x" +
                       std::to_string(even_h) + ": " + AvError(rc));

  stream = avformat_new_stream(container.get(), nullptr);
  Require(stream != nullptr, "out of memory for the video stream");
  stream->time_base = codec->time_base;
  stream->avg_frame_rate = rate;
  rc = avcodec_parameters_from_context(stream->codecpar, codec.get());
  Require(rc >= 0, "cannot describe the video stream: " + AvError(rc));

  const fs::path folder = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  rc = avio_open(&container->pb, temp.c_str(), AVIO_FLAG_WRITE);
  Require(rc >= 0, "cannot write '" + out.string() + "': folder '" + folder.string() + "' is not writable (" +
                       AvError(rc) + ")");
  AVDictionary* muxer_options = nullptr;
  // MP4: the index up front, so a browser plays the video before it has all of it.
  if (format == ExportFormat::kMp4) av_dict_set(&muxer_options, "movflags", "+faststart", 0);
  rc = avformat_write_header(container.get(), &muxer_options);
  av_dict_free(&muxer_options);
  Require(rc >= 0, "cannot write the video header: " + AvError(rc));

  // RGB -> YUV 4:2:0 with the bicubic filter FFmpeg's own command line uses, so the two compare like for like.
  scaler.reset(sws_getContext(even_w, even_h, AV_PIX_FMT_RGB24, even_w, even_h, AV_PIX_FMT_YUV420P, SWS_BICUBIC,
                              nullptr, nullptr, nullptr));
  Require(scaler != nullptr, "cannot convert frames to YUV 4:2:0");
  packet.reset(av_packet_alloc());
  Require(packet != nullptr, "out of memory for video packets");
  if (even_w != width || even_h != height) padded = Frame(even_w, even_h);
}

void VideoWriter::State::Send(const Frame& frame) {
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
  picture->pts = next_pts++;
  Encode(container.get(), codec.get(), stream, picture.get(), packet.get());
}

VideoWriter::VideoWriter(const fs::path& out, const ExportOptions& options) : state_(std::make_unique<State>()) {
  State& s = *state_;
  export_detail::CheckRequest(out, 1, options);
  const std::string ext = export_detail::LowerExtension(out);
  Require(ext == ".mp4" || ext == ".webm",
          "a video export needs a file name ending in .mp4 or .webm, not '" + out.string() + "'");
  s.out = out;
  s.options = options;
  s.format = ext == ".mp4" ? ExportFormat::kMp4 : ExportFormat::kWebm;
  const std::vector<CodecChoice> candidates = Candidates(s.format, options.video_codec);
  export_detail::CheckOutputFolder(out);
  std::error_code ec;
  Require(!fs::is_directory(out, ec), "cannot write '" + out.string() + "': it is a folder");
  QuietFfmpegLog();

  // The first available encoder of the candidates.
  std::string tried;
  for (const CodecChoice& candidate : candidates) {
    s.encoder = avcodec_find_encoder_by_name(candidate.encoder);
    if (s.encoder != nullptr) {
      s.choice = candidate;
      break;
    }
    tried += std::string(tried.empty() ? "" : ", ") + candidate.encoder;
  }
  Require(s.encoder != nullptr, "this FFmpeg build has no " + tried + " encoder for " +
                                    std::string(ExportFormatName(s.format)) +
                                    " (on Debian: apt install libavcodec59); export a GIF or PNG frames instead");
  s.crf = options.video_crf >= 0 ? options.video_crf : DefaultCrf(s.choice.codec);
  const int max_crf = s.choice.codec == VideoCodec::kVp9 || s.choice.codec == VideoCodec::kVp8 ? 63 : 51;
  Require(s.crf <= max_crf, std::string(s.choice.name) + " takes a CRF of 0.." + std::to_string(max_crf) + ", not " +
                                std::to_string(s.crf));
  s.result.format = s.format;
  s.result.path = out;
  s.result.codec = s.choice.name;
  if (s.choice.codec != candidates.front().codec)
    s.result.note =
        std::string(candidates.front().name) + " is not available in this FFmpeg build; wrote " + s.choice.name;
}

VideoWriter::~VideoWriter() {
  if (state_ == nullptr || state_->finished || state_->temp.empty()) return;
  const fs::path temp = state_->temp;
  state_.reset();  // closes the file first
  std::error_code ignore;
  fs::remove(temp, ignore);
}

void VideoWriter::Add(const Frame& frame) {
  State& s = *state_;
  Require(!s.finished, "the video is already finished");
  const int index = s.result.frames;
  Require(index < kMaxExportFrames, "an animation is at most " + std::to_string(kMaxExportFrames) + " frames");
  s.checker.Check(frame, index);
  if (index == 0) s.Open(frame.width, frame.height);
  s.Send(frame);
  s.last = frame;
  ++s.result.frames;
}

ExportResult VideoWriter::Finish(const StopFn& stop) {
  State& s = *state_;
  Require(!s.finished, "the video is already finished");
  Require(s.result.frames > 0, "nothing to export: the animation has no frames");
  const int hold_frames = static_cast<int>(std::lround(s.options.final_hold_s * s.options.fps));
  for (int k = 0; k < hold_frames; ++k) {
    CheckStop(stop);
    s.Send(s.last);
  }
  Encode(s.container.get(), s.codec.get(), s.stream, nullptr, s.packet.get());
  int rc = av_write_trailer(s.container.get());
  Require(rc >= 0, "writing '" + s.out.string() + "' failed (disk full?): " + AvError(rc));
  rc = avio_closep(&s.container->pb);  // reports the last write's error (a full disk)
  Require(rc >= 0, "writing '" + s.out.string() + "' failed (disk full?): " + AvError(rc));
  std::error_code ec;
  const auto size = fs::file_size(s.temp, ec);
  Require(!ec && size > 0, "writing '" + s.out.string() + "' failed (disk full or not writable)");
  fs::rename(s.temp, s.out, ec);
  Require(!ec, "cannot replace '" + s.out.string() + "': " + ec.message());  // ~VideoWriter removes the temp
  s.finished = true;

  ExportResult result = s.result;
  result.width = s.even_w;
  result.height = s.even_h;
  result.duration_s = (result.frames + hold_frames) / s.options.fps;
  if (!result.note.empty()) result.note += "; ";
  result.note += "CRF " + std::to_string(s.crf);
  if (s.even_w != s.width || s.even_h != s.height)
    result.note += "; padded from " + std::to_string(s.width) + "x" + std::to_string(s.height) + " to the even size " +
                   std::to_string(s.even_w) + "x" + std::to_string(s.even_h) + " the codec needs";
  return result;
}

int VideoWriter::frames() const { return state_->result.frames; }

ExportResult WriteVideo(const fs::path& out, int frame_count, const FrameSource& frames, const ExportOptions& options,
                        const ProgressFn& progress_fn, const StopFn& stop) {
  export_detail::CheckRequest(out, frame_count, options);
  Require(static_cast<bool>(frames), "no frame source given");
  VideoWriter writer(out, options);
  Progress progress(progress_fn, frame_count);
  for (int i = 0; i < frame_count; ++i) {
    CheckStop(stop);
    writer.Add(frames(i));
    progress.Report("writing video frames");
  }
  return writer.Finish(stop);
}

}  // namespace diffuscope

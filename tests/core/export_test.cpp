#include "core/export/export.h"

#include "core/data/image_io.h"
#include "core/forward/forward.h"
#include "core/random/random.h"
#include "core/render/frame.h"
#include "core/render/layouts.h"
#include "core/schedule/schedule.h"

#include <gif_lib.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <cmath>
#include <fstream>
#include <iterator>
#include <set>

#include <unistd.h>

namespace diffuscope {
namespace {
namespace fs = std::filesystem;

// A fresh empty folder per test.
class ExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("diffuscope_export_test_" + std::to_string(::getpid())) / info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_.parent_path()); }
  // Names in the folder (to find stray temporary files).
  std::set<std::string> Listing() const {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) names.insert(entry.path().filename().string());
    return names;
  }
  fs::path dir_;
};

// Forward-noising frames of a smooth image: x_t = sqrt(abar) x0 + sqrt(1 - abar) eps, rendered by the renderer.
struct Animation {
  ImageShape shape;
  NoiseSchedule schedule;
  Batch x0, eps;
  std::vector<int> steps;
  FrameRenderer renderer;

  Animation(int channels, int height, int width, int frames, int scale = 1, uint64_t seed = 1)
      : shape{channels, height, width}, renderer(Options(scale), shape) {
    x0.resize(1, shape.dim());
    for (int c = 0; c < channels; ++c)
      for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
          x0(0, (c * height + y) * width + x) =
              0.8f * static_cast<float>(std::sin(0.15 * x * (c + 1) + 0.5 * c) * std::cos(0.11 * y));
    eps.resize(1, shape.dim());
    FillNormal({seed, Stream::kForwardEps, 0}, 0, std::span<float>(eps.data(), static_cast<size_t>(eps.size())));
    for (int k = 0; k < frames; ++k) steps.push_back(frames == 1 ? 0 : (k * 600) / (frames - 1));
  }
  static RenderOptions Options(int scale) {
    RenderOptions options;
    options.scale = scale;
    return options;
  }
  Frame operator()(int i) const {
    const Batch x_t = ForwardClosed(schedule, steps.at(static_cast<size_t>(i)), x0, eps);
    return renderer.Render({.x_t = &x_t});
  }
  int count() const { return static_cast<int>(steps.size()); }
  FrameSource source() const {
    return [this](int i) { return (*this)(i); };
  }
};

struct DecodedGif {
  int width = 0, height = 0;
  std::vector<Frame> frames;
  std::vector<int> delays;
  bool loops = false;
  int global_colours = 0;
};

DecodedGif DecodeGif(const fs::path& path) {
  int error = 0;
  GifFileType* gif = DGifOpenFileName(path.c_str(), &error);
  if (gif == nullptr) throw Error("cannot open GIF: " + std::string(GifErrorString(error)));
  if (DGifSlurp(gif) != GIF_OK) {
    DGifCloseFile(gif, &error);
    throw Error("cannot decode GIF");
  }
  DecodedGif out;
  out.width = gif->SWidth;
  out.height = gif->SHeight;
  out.global_colours = gif->SColorMap ? gif->SColorMap->ColorCount : 0;
  Frame canvas(gif->SWidth, gif->SHeight);
  for (int i = 0; i < gif->ImageCount; ++i) {
    const SavedImage& image = gif->SavedImages[i];
    const ColorMapObject* map = image.ImageDesc.ColorMap ? image.ImageDesc.ColorMap : gif->SColorMap;
    const GifImageDesc& d = image.ImageDesc;
    for (int y = 0; y < d.Height; ++y)
      for (int x = 0; x < d.Width; ++x) {
        const GifColorType& c = map->Colors[image.RasterBits[y * d.Width + x]];
        uint8_t* p = canvas.pixel(d.Left + x, d.Top + y);
        p[0] = c.Red, p[1] = c.Green, p[2] = c.Blue;
      }
    out.frames.push_back(canvas);
    GraphicsControlBlock gcb;
    if (DGifSavedExtensionToGCB(gif, i, &gcb) == GIF_OK) out.delays.push_back(gcb.DelayTime);
    for (int e = 0; e < image.ExtensionBlockCount; ++e) {
      const ExtensionBlock& block = image.ExtensionBlocks[e];
      if (block.Function == APPLICATION_EXT_FUNC_CODE && block.ByteCount == 11 &&
          std::string(reinterpret_cast<const char*>(block.Bytes), 11) == "NETSCAPE2.0")
        out.loops = true;
    }
  }
  DGifCloseFile(gif, &error);
  return out;
}

// Mean absolute error per channel value, and PSNR in dB.
double MeanAbsError(const Frame& a, const Frame& b) {
  EXPECT_EQ(a.rgb.size(), b.rgb.size());
  double sum = 0;
  for (size_t k = 0; k < a.rgb.size(); ++k) sum += std::abs(int{a.rgb[k]} - int{b.rgb[k]});
  return sum / static_cast<double>(a.rgb.size());
}
double Psnr(const Frame& a, const Frame& b) {
  double sum = 0;
  for (size_t k = 0; k < a.rgb.size(); ++k) sum += std::pow(int{a.rgb[k]} - int{b.rgb[k]}, 2);
  return 10 * std::log10(255.0 * 255.0 / (sum / static_cast<double>(a.rgb.size())));
}

std::vector<Frame> DecodeVideo(const fs::path& path) {
  cv::VideoCapture capture(path.string(), cv::CAP_FFMPEG);
  EXPECT_TRUE(capture.isOpened());
  std::vector<Frame> frames;
  cv::Mat bgr, rgb;
  while (capture.read(bgr)) {
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    frames.push_back(FrameFromMat(rgb));
  }
  return frames;
}

Frame Crop(const Frame& frame, int w, int h) {
  Frame out(w, h);
  for (int y = 0; y < h; ++y) std::copy_n(frame.pixel(0, y), 3 * w, out.pixel(0, y));
  return out;
}

std::string ReadBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// ---------------------------------------------------------------------------------------------------------- names

TEST(ExportNames, FormatForPath) {
  EXPECT_EQ(FormatForPath("a.gif"), ExportFormat::kGif);
  EXPECT_EQ(FormatForPath("dir/A.GIF"), ExportFormat::kGif);
  EXPECT_EQ(FormatForPath("a.mp4"), ExportFormat::kMp4);
  EXPECT_EQ(FormatForPath("a.WebM"), ExportFormat::kWebm);
  EXPECT_EQ(FormatForPath("frames/"), ExportFormat::kPngFrames);
  EXPECT_EQ(FormatForPath("frames"), ExportFormat::kPngFrames);
  EXPECT_THROW(FormatForPath("a.avi"), Error);
  EXPECT_THROW(FormatForPath("a.png"), Error);
  EXPECT_THROW(FormatForPath(""), Error);
  for (auto codec : {VideoCodec::kAuto, VideoCodec::kH264, VideoCodec::kMpeg4, VideoCodec::kVp8, VideoCodec::kVp9})
    EXPECT_EQ(ParseVideoCodec(VideoCodecName(codec)), codec);
  for (auto palette : {GifPalette::kAuto, GifPalette::kGrey, GifPalette::kColour})
    EXPECT_EQ(ParseGifPalette(GifPaletteName(palette)), palette);
  EXPECT_EQ(ParseGifPalette("gray"), GifPalette::kGrey);
  EXPECT_FALSE(ParseVideoCodec("hevc").has_value());
  EXPECT_EQ(PngFrameName(7, 120), "frame_0007.png");
  EXPECT_EQ(PngFrameName(12345, 10001), "frame_12345.png");
  EXPECT_EQ(PngFrameName(3, 10001), "frame_00003.png");
}

TEST(ExportNames, GifDelaysCarryRoundingSoTheTotalIsRight) {
  for (double fps : {7.0, 12.0, 24.0, 30.0, 33.0, 50.0}) {
    for (int n : {1, 2, 17, 120}) {
      const std::vector<int> delays = GifDelays(n, fps, 1.25);
      ASSERT_EQ(static_cast<int>(delays.size()), n);
      long long sum = 0;
      for (int k = 0; k < n; ++k) {
        sum += delays[k];
        // Each delay is within one centisecond of the ideal 100 / fps (the last also holds 125 cs).
        const double ideal = 100.0 / fps + (k == n - 1 ? 125.0 : 0.0);
        EXPECT_LE(std::abs(delays[k] - ideal), 1.0) << fps << " fps, frame " << k;
        EXPECT_GE(delays[k], 2) << "browsers slow delays under 2 cs down";
      }
      EXPECT_EQ(sum, std::llround(100.0 * n / fps) + 125) << fps << " fps, " << n << " frames";
    }
  }
}

TEST(ExportNames, OptionsCheck) {
  ExportOptions o;
  EXPECT_EQ(o.Check(), "");
  o.fps = 0;
  EXPECT_NE(o.Check(), "");
  o = {};
  o.fps = std::nan("");
  EXPECT_NE(o.Check(), "");
  o = {};
  o.final_hold_s = -1;
  EXPECT_NE(o.Check(), "");
  o = {};
  o.gif_colours = 1;
  EXPECT_NE(o.Check(), "");
}

// ------------------------------------------------------------------------------------------------------------ GIF

TEST_F(ExportTest, GreyGifIsLosslessWithDelaysAndLoop) {
  const Animation animation(1, 33, 47, 9, 2);  // 94 x 66 grey frames
  ExportOptions options;
  options.fps = 12;
  options.final_hold_s = 0.5;
  options.gif_palette_frames = 3;  // the grey test covers every frame anyway
  long long last_done = 0, last_total = 0;
  const ProgressFn progress = [&](long long done, long long total, const std::string&) {
    EXPECT_GT(done, last_done);
    last_done = done;
    last_total = total;
  };
  const fs::path out = dir_ / "forward.gif";
  const ExportResult result = ExportAnimation(out, animation.count(), animation.source(), options, progress);
  EXPECT_EQ(last_done, last_total);
  EXPECT_TRUE(result.grey_palette);
  EXPECT_EQ(result.palette_size, 256);
  EXPECT_EQ(result.frames, 9);
  EXPECT_EQ(result.width, 94);
  EXPECT_EQ(result.height, 66);
  EXPECT_NEAR(result.duration_s, std::llround(900.0 / 12) / 100.0 + 0.5, 1e-9);

  const DecodedGif gif = DecodeGif(out);
  ASSERT_EQ(gif.frames.size(), 9u);
  EXPECT_EQ(gif.width, 94);
  EXPECT_EQ(gif.height, 66);
  EXPECT_EQ(gif.global_colours, 256);
  EXPECT_TRUE(gif.loops);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(gif.frames[i], animation(i)) << "frame " << i << " must be exact";
  EXPECT_EQ(gif.delays, GifDelays(9, 12, 0.5));
  EXPECT_EQ(Listing(), std::set<std::string>{"forward.gif"});
}

// Mean absolute error after a 5 x 5 box blur of both: what the eye sees of dithered output.
double BlurredMeanAbsError(const Frame& a, const Frame& b) {
  cv::Mat fa, fb;
  cv::blur(AsMat(a), fa, cv::Size(5, 5));
  cv::blur(AsMat(b), fb, cv::Size(5, 5));
  return MeanAbsError(FrameFromMat(fa), FrameFromMat(fb));
}

TEST_F(ExportTest, ColourGifErrorIsBoundedAndDeterministic) {
  const Animation animation(3, 48, 64, 8, 2);  // 128 x 96 colour frames, smooth (t = 0) to noise (t = 600)
  // 256 colours spread evenly over the RGB cube are a lattice of 256^(1/3) = 6.35 levels per channel, spacing
  // 40.3, whose rounding error is uniform on +-20.2: mean 10.1 per value. A palette fitted to the content must not
  // do worse than that without dithering, on any frame.
  const double lattice_mae = 256.0 / std::cbrt(256.0) / 4.0;
  std::vector<DecodedGif> decoded;
  for (bool dither : {false, true}) {
    ExportOptions options;
    options.gif_dither = dither;
    const fs::path out = dir_ / (dither ? "dither.gif" : "plain.gif");
    const ExportResult result = WriteGif(out, animation.count(), animation.source(), options);
    EXPECT_FALSE(result.grey_palette);
    EXPECT_GT(result.palette_size, 200);
    EXPECT_LE(result.palette_size, 256);
    decoded.push_back(DecodeGif(out));
    const DecodedGif& gif = decoded.back();
    ASSERT_EQ(gif.frames.size(), 8u);
    for (int i = 0; i < 8; ++i) {
      const double mae = MeanAbsError(gif.frames[i], animation(i));
      if (i == 0 || i == 7)
        std::printf("GIF colour (%s), frame %d: MAE %.2f, PSNR %.1f dB\n", dither ? "dithered" : "not dithered", i, mae,
                    Psnr(gif.frames[i], animation(i)));
      EXPECT_LT(mae, dither ? 1.5 * lattice_mae : lattice_mae) << "frame " << i;
    }
  }
  // Dithering trades per-pixel error for local averages: blurred, the dithered smooth frame is closer.
  const Frame original = animation(0);
  const double plain = BlurredMeanAbsError(decoded[0].frames[0], original);
  const double dithered = BlurredMeanAbsError(decoded[1].frames[0], original);
  std::printf("GIF colour frame 0 after a 5x5 blur: MAE %.2f not dithered, %.2f dithered\n", plain, dithered);
  EXPECT_LT(dithered, 0.75 * plain);
  // Same frames, same options: same bytes.
  const fs::path again = dir_ / "again.gif";
  WriteGif(again, animation.count(), animation.source(), {});
  EXPECT_EQ(ReadBytes(again), ReadBytes(dir_ / "dither.gif"));
}

TEST_F(ExportTest, ColourGifOfSmoothFramesIsClose) {
  // Only the smooth start of the animation (t = 0 .. 6): the palette fits it closely.
  Animation animation(3, 48, 64, 4, 2);
  animation.steps = {0, 2, 4, 6};
  const fs::path out = dir_ / "smooth.gif";
  WriteGif(out, animation.count(), animation.source(), {.gif_dither = false});
  const DecodedGif gif = DecodeGif(out);
  ASSERT_EQ(gif.frames.size(), 4u);
  const double mae = MeanAbsError(gif.frames[0], animation(0));
  std::printf("GIF colour, smooth frames only, frame 0: MAE %.2f, PSNR %.1f dB\n", mae,
              Psnr(gif.frames[0], animation(0)));
  EXPECT_LT(mae, 4.0);
}

TEST_F(ExportTest, GifWithFewColoursUsesThemExactly) {
  // Flat colour blocks (like a plot without antialiasing): the exact palette makes the GIF lossless.
  const Rgb colours[5] = {{255, 255, 255}, {31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}};
  std::vector<Frame> frames;
  for (int k = 0; k < 6; ++k) {
    Frame f(60, 40, colours[0]);
    for (int y = 0; y < 40; ++y)
      for (int x = 0; x < 60; ++x) {
        const Rgb c = colours[1 + ((x / 12 + y / 10 + k) % 4)];
        if ((x + y + k) % 3 == 0) std::copy_n(&c.r, 1, f.pixel(x, y)), f.pixel(x, y)[1] = c.g, f.pixel(x, y)[2] = c.b;
      }
    frames.push_back(f);
  }
  const fs::path out = dir_ / "flat.gif";
  const ExportResult result = ExportAnimation(out, frames);
  EXPECT_EQ(result.palette_size, 5);
  const DecodedGif gif = DecodeGif(out);
  ASSERT_EQ(gif.frames.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(gif.frames[i], frames[i]);
  EXPECT_EQ(gif.global_colours, 8);  // rounded up to a power of two
}

TEST_F(ExportTest, GifRestartsWithColourWhenAnUnsampledFrameHasColour) {
  const Animation grey(1, 30, 40, 5);
  const Animation colour(3, 30, 40, 5);
  // Frames 0, 4 (the sample) are grey; frame 2 is colour.
  const FrameSource source = [&](int i) { return i == 2 ? colour(4) : grey(i); };
  ExportOptions options;
  options.gif_palette_frames = 2;
  const fs::path out = dir_ / "mixed.gif";
  long long last_done = 0, last_total = 0;
  const ProgressFn progress = [&](long long done, long long total, const std::string&) {
    EXPECT_EQ(done, last_done + 1) << "progress never goes back";
    EXPECT_LE(done, total);
    last_done = done;
    last_total = total;
  };
  const ExportResult result = WriteGif(out, 5, source, options, progress);
  EXPECT_EQ(last_done, last_total);
  EXPECT_FALSE(result.grey_palette);
  const DecodedGif gif = DecodeGif(out);
  ASSERT_EQ(gif.frames.size(), 5u);
  EXPECT_FALSE(IsGrey(gif.frames[2]));
  EXPECT_LT(MeanAbsError(gif.frames[2], colour(4)), 25.0);
  EXPECT_EQ(Listing(), std::set<std::string>{"mixed.gif"});
  // Forced grey: colour becomes luma, and the palette is 256 greys.
  const ExportResult forced = WriteGif(dir_ / "grey.gif", 5, source, {.gif_palette = GifPalette::kGrey});
  EXPECT_TRUE(forced.grey_palette);
  EXPECT_TRUE(IsGrey(DecodeGif(dir_ / "grey.gif").frames[2]));
}

// ---------------------------------------------------------------------------------------------------------- video

TEST_F(ExportTest, Mp4DecodesWithFramesSizeAndBoundedError) {
  const Animation animation(3, 45, 61, 12, 2);  // 122 x 90
  ExportOptions options;
  options.fps = 10;
  options.final_hold_s = 0.5;  // 5 more frames
  const fs::path out = dir_ / "forward.mp4";
  const ExportResult result = ExportAnimation(out, animation.count(), animation.source(), options);
  EXPECT_EQ(result.codec, "H.264 (libx264)");
  EXPECT_NE(result.note.find("CRF 18"), std::string::npos) << result.note;
  EXPECT_EQ(result.width, 122);
  EXPECT_EQ(result.height, 90);
  EXPECT_NEAR(result.duration_s, 1.7, 1e-9);
  const std::vector<Frame> frames = DecodeVideo(out);
  ASSERT_EQ(frames.size(), 17u);
  EXPECT_EQ(frames[0].width, 122);
  EXPECT_EQ(frames[0].height, 90);
  const double mae = MeanAbsError(frames[0], animation(0));
  std::printf("MP4 first frame: MAE %.2f, PSNR %.1f dB\n", mae, Psnr(frames[0], animation(0)));
  // Lossy 4:2:0 coding of a smooth frame: a few levels of error; a wrong frame or channel order gives > 40.
  EXPECT_LT(mae, 3.0);
  EXPECT_GT(MeanAbsError(frames[0], animation(11)), 3 * mae);  // and the first frame is not the last
  for (int k = 12; k < 17; ++k) EXPECT_LT(MeanAbsError(frames[k], frames[11]), 1.0) << "the hold repeats frame 11";
  EXPECT_EQ(Listing(), std::set<std::string>{"forward.mp4"});
}

TEST_F(ExportTest, WebmIsVp9AndPadsOddSizes) {
  const Animation animation(3, 31, 45, 6, 1);  // 45 x 31: odd
  ExportOptions options;
  options.final_hold_s = 0;
  const fs::path out = dir_ / "odd.webm";
  const ExportResult result = ExportAnimation(out, animation.count(), animation.source(), options);
  EXPECT_EQ(result.codec, "VP9 (libvpx)");
  EXPECT_EQ(result.width, 46);
  EXPECT_EQ(result.height, 32);
  EXPECT_NE(result.note.find("padded"), std::string::npos);
  EXPECT_NE(result.note.find("CRF 30"), std::string::npos) << result.note;
  const std::vector<Frame> frames = DecodeVideo(out);
  ASSERT_EQ(frames.size(), 6u);
  EXPECT_EQ(frames[0].width, 46);
  EXPECT_EQ(frames[0].height, 32);
  const double mae = MeanAbsError(Crop(frames[0], 45, 31), animation(0));
  std::printf("WebM (VP9) first frame: MAE %.2f\n", mae);
  EXPECT_LT(mae, 7.0);  // measured 5.9 on this tiny frame
  // The padding replicates the last row and column.
  EXPECT_LT(std::abs(int{frames[0].pixel(45, 10)[1]} - int{frames[0].pixel(44, 10)[1]}), 12);
  const ExportResult vp8 = WriteVideo(dir_ / "vp8.webm", 6, animation.source(), {.video_codec = VideoCodec::kVp8});
  EXPECT_EQ(vp8.codec, "VP8 (libvpx)");
  EXPECT_EQ(DecodeVideo(dir_ / "vp8.webm").size(), 6u + 10u);  // 1 s hold at 10 fps
  EXPECT_THROW(WriteVideo(dir_ / "x.webm", 6, animation.source(), {.video_codec = VideoCodec::kH264}), Error);
  EXPECT_THROW(WriteVideo(dir_ / "x.mp4", 6, animation.source(), {.video_codec = VideoCodec::kVp8}), Error);
}

// Frames of a bundled photograph: the clean image (t = 0) through light noise to pure noise (t = 1000), each
// rendered exactly as an export renders it.
struct PhotoFrames {
  std::vector<Frame> clean, noise, grey_noise;
};
PhotoFrames MakePhotoFrames(int side, int count) {
  ImageLoadOptions load;
  load.downscale_if_too_large = true;
  load.max_pixels = static_cast<long long>(side) * side;
  const Image image = LoadImage(std::string(DIFFUSCOPE_RESOURCES) + "/images/chicky_512.png", load);
  const ImageShape shape{image.channels, image.height, image.width};
  const NoiseSchedule schedule;
  RenderOptions render;
  render.scale = 1;  // one frame pixel per image pixel
  const FrameRenderer renderer(render, shape);
  const FrameRenderer grey_renderer(render, {1, shape.height, shape.width});
  PhotoFrames out;
  Batch eps(1, shape.dim());
  for (int k = 0; k < count; ++k) {
    // The clean run: a still photo moving to t = 20 (barely noised), as the first frames of a forward export.
    FillNormal({1, Stream::kForwardEps, 0}, 0, std::span<float>(eps.data(), static_cast<size_t>(eps.size())));
    const Batch x_t = ForwardClosed(schedule, (20 * k) / std::max(1, count - 1), image.pixels, eps);
    out.clean.push_back(renderer.Render({.x_t = &x_t}));
    // Pure noise, new each frame: x_T of a forward run, the hardest case for a video codec.
    FillNormal({static_cast<uint64_t>(k + 2), Stream::kForwardEps, 0}, 0,
               std::span<float>(eps.data(), static_cast<size_t>(eps.size())));
    const Batch x_big_t = ForwardClosed(schedule, 1000, image.pixels, eps);
    out.noise.push_back(renderer.Render({.x_t = &x_big_t}));
    const Batch red = x_big_t.leftCols(static_cast<Eigen::Index>(shape.height) * shape.width);
    out.grey_noise.push_back(grey_renderer.Render({.x_t = &red}));  // its first (red) plane, as grey
  }
  return out;
}

// The PSNR of all decoded frames together (mean squared error over every value) against the frames written.
double VideoPsnr(const std::vector<Frame>& decoded, const std::vector<Frame>& frames) {
  EXPECT_EQ(decoded.size(), frames.size());
  double sum = 0, count = 0;
  for (size_t i = 0; i < std::min(decoded.size(), frames.size()); ++i)
    for (size_t k = 0; k < frames[i].rgb.size(); ++k) {
      sum += std::pow(int{decoded[i].rgb[k]} - int{frames[i].rgb[k]}, 2);
      ++count;
    }
  return 10 * std::log10(255.0 * 255.0 * count / sum);
}

// The point of the libavcodec writer: noise survives as noise. Colour noise loses most of its chroma to 4:2:0
// subsampling whatever the bitrate (every player's format: a 4:2:0 round trip with no coding at all gives 11.17 dB
// on this noise, measured with ffmpeg), so grey noise shows what the codec keeps. The thresholds sit about 1 dB under
// the PSNR measured at the default CRFs (printed); OpenCV's VP8 writer, before, turned the noise into blotches.
TEST_F(ExportTest, VideoKeepsPhotosAndNoise) {
  const PhotoFrames photo = MakePhotoFrames(128, 10);
  struct Case {
    const char* name;
    double min_db[3];  // clean photo, colour noise, grey noise
  };
  const char* kinds[3] = {"clean photo", "colour noise", "grey noise"};
  for (const Case& c : {Case{"a.mp4", {30.8, 10.6, 32.4}}, Case{"a.webm", {30.2, 10.6, 31.9}}}) {
    for (int kind = 0; kind < 3; ++kind) {
      const std::vector<Frame>& frames = kind == 0 ? photo.clean : kind == 1 ? photo.noise : photo.grey_noise;
      const fs::path out = dir_ / c.name;
      const ExportResult result = ExportAnimation(out, frames, {.final_hold_s = 0});
      const std::vector<Frame> decoded = DecodeVideo(out);
      ASSERT_EQ(decoded.size(), frames.size()) << c.name;
      ASSERT_EQ(decoded[0].width, 128);
      const double db = VideoPsnr(decoded, frames);
      std::printf("%s (%s) of %s frames: PSNR %.2f dB, %.0f kB\n", c.name, result.codec.c_str(), kinds[kind], db,
                  fs::file_size(out) / 1e3);
      EXPECT_GT(db, c.min_db[kind]) << c.name << " " << kinds[kind];
    }
  }
}

TEST_F(ExportTest, VideoCrfTradesSizeForQualityAndIsDeterministic) {
  const PhotoFrames photo = MakePhotoFrames(64, 6);
  for (const char* name : {"q.mp4", "q.webm"}) {
    double previous_db = 0;
    uintmax_t previous_size = ~uintmax_t{0};
    for (int crf : {40, 28, 12}) {
      const fs::path out = dir_ / (std::to_string(crf) + name);
      ExportAnimation(out, photo.grey_noise, {.final_hold_s = 0, .video_crf = crf});
      const double db = VideoPsnr(DecodeVideo(out), photo.grey_noise);
      const uintmax_t size = fs::file_size(out);
      std::printf("%s noise at CRF %d: PSNR %.2f dB, %ju bytes\n", name, crf, db, size);
      EXPECT_GT(db, previous_db + 1.0) << name << " CRF " << crf;
      EXPECT_GT(size, previous_size == ~uintmax_t{0} ? 0 : previous_size) << name << " CRF " << crf;
      previous_db = db;
      previous_size = size;
    }
    // The same frames and options give the same bytes (fixed encoder threads, no version or time stamps).
    ExportAnimation(dir_ / name, photo.grey_noise, {.final_hold_s = 0, .video_crf = 28});
    EXPECT_EQ(ReadBytes(dir_ / name), ReadBytes(dir_ / (std::string("28") + name))) << name;
  }
  EXPECT_THROW(ExportAnimation(dir_ / "bad.mp4", photo.grey_noise, {.video_crf = 52}), Error);  // H.264 is 0..51
  EXPECT_THROW(ExportAnimation(dir_ / "bad.webm", photo.grey_noise, {.video_crf = 64}), Error);
  EXPECT_THROW(ExportAnimation(dir_ / "bad.webm", photo.grey_noise, {.video_threads = 0}), Error);
  EXPECT_FALSE(fs::exists(dir_ / "bad.mp4"));
  EXPECT_FALSE(fs::exists(dir_ / "bad.webm"));
}

TEST_F(ExportTest, VideoCancelledHalfwayOrUnwritableLeavesNoFile) {
  const Animation animation(3, 24, 32, 8, 1);
  for (const char* name : {"c.mp4", "c.webm"}) {
    int asked = 0;
    const StopFn stop = [&] { return ++asked > 4; };
    int progressed = 0;
    const ProgressFn progress = [&](long long, long long, const std::string&) { ++progressed; };
    EXPECT_THROW(ExportAnimation(dir_ / name, animation.count(), animation.source(), {}, progress, stop), Cancelled);
    EXPECT_EQ(progressed, 4) << name;  // stop is asked before each frame
    EXPECT_TRUE(Listing().empty()) << name << ": neither the video nor a temporary file";
  }
  // Frames pushed one by one: the file appears only at Finish; a writer dropped before leaves nothing.
  {
    VideoWriter video(dir_ / "pushed.mp4");
    for (int i = 0; i < 3; ++i) video.Add(animation(i));
    EXPECT_EQ(video.frames(), 3);
    EXPECT_FALSE(fs::exists(dir_ / "pushed.mp4")) << "only a temporary file until Finish";
  }
  EXPECT_TRUE(Listing().empty());
  VideoWriter video(dir_ / "pushed.mp4", {.final_hold_s = 0});
  for (int i = 0; i < animation.count(); ++i) video.Add(animation(i));
  EXPECT_THROW(video.Add(Frame(10, 10)), Error);  // another size
  const ExportResult pushed = video.Finish();
  EXPECT_EQ(pushed.frames, animation.count());
  EXPECT_EQ(DecodeVideo(dir_ / "pushed.mp4").size(), static_cast<size_t>(animation.count()));
  EXPECT_EQ(Listing(), std::set<std::string>{"pushed.mp4"});
  // A folder nobody may write in (even root: /proc holds no files of ours): a clear error, nothing written.
  try {
    ExportAnimation("/proc/diffuscope_export_test.mp4", animation.count(), animation.source());
    ADD_FAILURE() << "writing into /proc must fail";
  } catch (const Cancelled&) {
    ADD_FAILURE() << "not a cancel";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not writable"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists("/proc/diffuscope_export_test.mp4"));
}

// ----------------------------------------------------------------------------------------------------- PNG frames

TEST_F(ExportTest, PngFramesAreBitExactAndReplaceAPreviousExport) {
  const Animation animation(3, 20, 30, 5, 1);
  const fs::path out = dir_ / "frames";
  const ExportResult result = ExportAnimation(dir_ / "frames/", animation.count(), animation.source());
  EXPECT_EQ(result.path, out);
  ASSERT_TRUE(fs::is_directory(out));
  for (int i = 0; i < 5; ++i) {
    cv::Mat bgr = cv::imread((out / PngFrameName(i, 5)).string(), cv::IMREAD_UNCHANGED), rgb;
    ASSERT_EQ(bgr.type(), CV_8UC3);
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    EXPECT_EQ(FrameFromMat(rgb), animation(i)) << "frame " << i;
  }
  EXPECT_EQ(Listing(), std::set<std::string>{"frames"});
  // A second, shorter export replaces the folder whole: no frame of the first remains.
  const Animation shorter(3, 20, 30, 3, 1, 7);
  ExportAnimation(out, shorter.count(), shorter.source());
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(out)) names.insert(entry.path().filename().string());
  EXPECT_EQ(names, (std::set<std::string>{"frame_0000.png", "frame_0001.png", "frame_0002.png"}));
  EXPECT_EQ(Listing(), std::set<std::string>{"frames"});
  // A folder holding anything else is never replaced.
  std::ofstream(out / "notes.txt") << "mine";
  EXPECT_THROW(ExportAnimation(out, shorter.count(), shorter.source()), Error);
  EXPECT_TRUE(fs::exists(out / "notes.txt"));
  EXPECT_EQ(Listing(), std::set<std::string>{"frames"});
}

// ---------------------------------------------------------------------------------------------------- atomicity

TEST_F(ExportTest, CancelOrFailureLeavesThePreviousFileAndNoTemporaryFiles) {
  const Animation animation(3, 24, 32, 8, 1);
  for (const char* name : {"a.gif", "a.mp4", "a.webm", "frames"}) {
    const fs::path out = dir_ / name;
    ExportAnimation(out, animation.count(), animation.source());
    const std::set<std::string> before = Listing();
    const std::string bytes = fs::is_directory(out) ? ReadBytes(out / "frame_0000.png") : ReadBytes(out);
    // Cancelled after 3 frames.
    int asked = 0;
    const StopFn stop = [&] { return ++asked > 3; };
    const Animation other(3, 24, 32, 8, 1, 99);
    EXPECT_THROW(ExportAnimation(out, other.count(), other.source(), {}, {}, stop), Cancelled) << name;
    EXPECT_EQ(Listing(), before) << name << ": no temporary file may remain";
    EXPECT_EQ(fs::is_directory(out) ? ReadBytes(out / "frame_0000.png") : ReadBytes(out), bytes) << name;
    // The frame source fails at frame 5.
    const FrameSource failing = [&](int i) {
      if (i == 5) throw Error("model file vanished");
      return other(i);
    };
    EXPECT_THROW(ExportAnimation(out, other.count(), failing), Error) << name;
    EXPECT_EQ(Listing(), before) << name;
    // Frame 6 has another size.
    const FrameSource resized = [&](int i) { return i == 6 ? Frame(10, 10) : other(i); };
    EXPECT_THROW(ExportAnimation(out, other.count(), resized), Error) << name;
    EXPECT_EQ(Listing(), before) << name;
    EXPECT_EQ(fs::is_directory(out) ? ReadBytes(out / "frame_0000.png") : ReadBytes(out), bytes) << name;
  }
}

TEST_F(ExportTest, BadRequestsAreErrorsAndWriteNothing) {
  const Animation animation(1, 16, 16, 3, 1);
  const FrameSource source = animation.source();
  EXPECT_THROW(ExportAnimation(dir_ / "a.avi", 3, source), Error);
  EXPECT_THROW(ExportAnimation(dir_ / "a.gif", 0, source), Error);
  EXPECT_THROW(ExportAnimation(dir_ / "a.gif", std::vector<Frame>{}), Error);
  EXPECT_THROW(ExportAnimation(dir_ / "a.gif", kMaxExportFrames + 1, source), Error);
  EXPECT_THROW(ExportAnimation(dir_ / "missing" / "a.gif", 3, source), Error);
  EXPECT_THROW(ExportAnimation(dir_ / "missing" / "a.mp4", 3, source), Error);
  EXPECT_THROW(ExportAnimation(dir_ / "missing" / "frames/", 3, source), Error);
  std::ofstream(dir_ / "file") << "x";
  EXPECT_THROW(ExportAnimation(dir_ / "file" / "a.gif", 3, source), Error);  // parent is a file
  EXPECT_THROW(ExportAnimation(dir_ / "file" / "frames/", 3, source), Error);
  EXPECT_THROW(WritePngFrames(dir_ / "file", 3, source), Error);          // target is a file
  EXPECT_THROW(WriteGif(dir_ / "a.gif", 3, source, {.fps = 60}), Error);  // GIF delays are 1/100 s
  // An absurd frame size.
  const FrameSource huge = [](int) {
    Frame f;
    f.width = kMaxExportSide + 1;
    f.height = 1;
    f.rgb.assign(static_cast<size_t>(f.width) * 3, 0);
    return f;
  };
  EXPECT_THROW(ExportAnimation(dir_ / "a.gif", 1, huge), Error);
  EXPECT_THROW(ExportAnimation(dir_ / "a.mp4", 1, huge), Error);
  EXPECT_THROW(ExportAnimation(dir_ / "png/", 1, huge), Error);
  EXPECT_EQ(Listing(), std::set<std::string>{"file"});
  if (::geteuid() != 0) {  // permissions do not bind root
    fs::create_directory(dir_ / "locked");
    fs::permissions(dir_ / "locked", fs::perms::owner_read | fs::perms::owner_exec);
    EXPECT_THROW(ExportAnimation(dir_ / "locked" / "a.gif", 3, source), Error);
    EXPECT_THROW(ExportAnimation(dir_ / "locked" / "a.mp4", 3, source), Error);
    EXPECT_THROW(ExportAnimation(dir_ / "locked" / "frames/", 3, source), Error);
    fs::permissions(dir_ / "locked", fs::perms::owner_all);
  }
}

}  // namespace
}  // namespace diffuscope

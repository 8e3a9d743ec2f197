#include "core/render/frame.h"

#include "core/data/image_io.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace diffuscope {
namespace {

constexpr int kMaxSide = 8192;

// s * scale + offset rounded half up and clamped to 0..255; NaN -> 0. Branch-free so that it vectorises
// (the comparisons compile to maxps / minps, which send NaN to the constant operand).
inline uint8_t ScaleToByte(float x, float scale, float offset) {
  float s = x * scale + offset;
  s = s > 0.0f ? s : 0.0f;
  s = s < 255.0f ? s : 255.0f;
  return static_cast<uint8_t>(static_cast<int>(s));
}

// Pixels: exactly the arithmetic of forward's display path, (x + 1) * 127.5 + 0.5, so frames agree byte for byte.
inline uint8_t PixelByte(float x) {
  float s = (x + 1.0f) * 127.5f + 0.5f;
  s = s > 0.0f ? s : 0.0f;
  s = s < 255.0f ? s : 255.0f;
  return static_cast<uint8_t>(static_cast<int>(s));
}

void ConvertPixels(const float* in, size_t n, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = PixelByte(in[i]);
}

void ConvertField(const float* in, size_t n, float scale, float offset, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = ScaleToByte(in[i], scale, offset);
}

// Upscales an interleaved RGB buffer of w x h by an integer factor into dst (w*f x h*f).
void UpscaleInto(const uint8_t* src, int w, int h, int f, uint8_t* dst) {
  const size_t dst_row = static_cast<size_t>(w) * f * 3;
  cv::parallel_for_(cv::Range(0, h), [&](const cv::Range& range) {
    for (int y = range.start; y < range.end; ++y) {
      const uint8_t* s = src + static_cast<size_t>(y) * w * 3;
      uint8_t* d = dst + static_cast<size_t>(y) * f * dst_row;
      for (int x = 0; x < w; ++x)
        for (int k = 0; k < f; ++k) std::memcpy(d + (static_cast<size_t>(x) * f + k) * 3, s + x * 3, 3);
      for (int k = 1; k < f; ++k) std::memcpy(d + k * dst_row, d, dst_row);
    }
  });
}

// Planes -> interleaved RGB bytes using `convert(plane_ptr, n, out)`; grey is replicated.
template <typename Convert>
Frame PlanesToFrame(std::span<const float> planes, const ImageShape& shape, int scale, const char* what,
                    const Convert& convert) {
  const std::string problem = shape.Check();
  Require(problem.empty(), std::string(what) + ": " + problem);
  Require(static_cast<long long>(planes.size()) == shape.dim(),
          std::string(what) + " has " + std::to_string(planes.size()) + " values, the image shape " +
              std::to_string(shape.channels) + "x" + std::to_string(shape.height) + "x" + std::to_string(shape.width) +
              " needs " + std::to_string(shape.dim()));
  Require(scale >= 1 && static_cast<long long>(scale) * std::max(shape.width, shape.height) <= kMaxSide,
          std::string(what) + ": scale " + std::to_string(scale) + " must be >= 1 and keep the frame at most " +
              std::to_string(kMaxSide) + " pixels wide");
  const int w = shape.width, h = shape.height;
  const size_t plane = static_cast<size_t>(w) * h;
  Frame base;
  base.width = w;
  base.height = h;
  base.rgb.resize(plane * 3);
  const float* data = planes.data();
  uint8_t* out = base.rgb.data();
  // Row blocks of ~16k pixels: each task's planes stay in cache; each byte depends on its pixel only.
  const int row_block = std::max(1, 16384 / w);
  const int tasks = (h + row_block - 1) / row_block;
  cv::parallel_for_(cv::Range(0, tasks), [&](const cv::Range& range) {
    std::vector<uint8_t> bytes(static_cast<size_t>(row_block) * w * 3);
    for (int task = range.start; task < range.end; ++task) {
      const int y0 = task * row_block, y1 = std::min(h, y0 + row_block);
      const size_t begin = static_cast<size_t>(y0) * w, count = static_cast<size_t>(y1 - y0) * w;
      const int count_int = static_cast<int>(count);
      for (int c = 0; c < shape.channels; ++c) convert(data + c * plane + begin, count, bytes.data() + c * count);
      cv::Mat r(1, count_int, CV_8UC1, bytes.data());
      cv::Mat g = shape.channels == 3 ? cv::Mat(1, count_int, CV_8UC1, bytes.data() + count) : r;
      cv::Mat b = shape.channels == 3 ? cv::Mat(1, count_int, CV_8UC1, bytes.data() + 2 * count) : r;
      cv::Mat dst(1, count_int, CV_8UC3, out + begin * 3);
      const cv::Mat channels[3] = {r, g, b};
      cv::merge(channels, 3, dst);
    }
  });
  if (scale == 1) return base;
  return Upscale(base, scale);
}

std::string FormatNumber(double value, int decimals) {
  char buffer[64];
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  const double magnitude = std::abs(value);
  if (value != 0.0 && (magnitude < std::pow(10.0, -decimals) || magnitude >= 1e4)) {
    std::snprintf(buffer, sizeof buffer, "%.2e", value);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  }
  return buffer;
}

}  // namespace

Frame::Frame(int width_, int height_, Rgb fill) : width(width_), height(height_) {
  Require(width_ >= 0 && height_ >= 0 && width_ <= kMaxSide && height_ <= kMaxSide,
          "frame size " + std::to_string(width_) + "x" + std::to_string(height_) + " is outside 0.." +
              std::to_string(kMaxSide));
  rgb.resize(static_cast<size_t>(width_) * height_ * 3);
  if (fill.r == fill.g && fill.g == fill.b) {
    std::fill(rgb.begin(), rgb.end(), fill.r);
  } else {
    for (size_t i = 0; i < rgb.size(); i += 3) {
      rgb[i] = fill.r;
      rgb[i + 1] = fill.g;
      rgb[i + 2] = fill.b;
    }
  }
}

cv::Mat AsMat(Frame* frame) { return cv::Mat(frame->height, frame->width, CV_8UC3, frame->rgb.data()); }

const cv::Mat AsMat(const Frame& frame) {
  return cv::Mat(frame.height, frame.width, CV_8UC3, const_cast<uint8_t*>(frame.rgb.data()));
}

Frame FrameFromMat(const cv::Mat& mat) {
  Require(mat.type() == CV_8UC3 || mat.type() == CV_8UC1, "a frame needs an 8-bit RGB or grey image");
  Frame frame(mat.cols, mat.rows);
  cv::Mat dst = AsMat(&frame);
  if (mat.type() == CV_8UC3) {
    mat.copyTo(dst);
  } else {
    cv::cvtColor(mat, dst, cv::COLOR_GRAY2RGB);
  }
  return frame;
}

bool IsGrey(const Frame& frame) {
  const uint8_t* p = frame.rgb.data();
  const size_t n = frame.rgb.size();
  unsigned differ = 0;
  for (size_t i = 0; i + 2 < n; i += 3) differ |= static_cast<unsigned>(p[i] ^ p[i + 1]) | (p[i] ^ p[i + 2]);
  return differ == 0;
}

std::string ImageShape::Check() const {
  if (channels != 1 && channels != 3)
    return "an image needs 1 (grey) or 3 (RGB) channels, not " + std::to_string(channels);
  if (height < 1 || width < 1 || height > kMaxSide || width > kMaxSide)
    return "image size " + std::to_string(width) + "x" + std::to_string(height) + " is outside 1.." +
           std::to_string(kMaxSide);
  return {};
}

uint8_t PixelToByte(float x) { return PixelByte(x); }

uint8_t FieldToByte(float x, float range) {
  const float scale = 127.5f / range;
  return ScaleToByte(x, scale, range * scale + 0.5f);
}

Frame ImageToFrame(std::span<const float> planes, const ImageShape& shape, int scale) {
  return PlanesToFrame(planes, shape, scale, "image",
                       [](const float* in, size_t n, uint8_t* out) { ConvertPixels(in, n, out); });
}

Frame ImageToFrame(const Batch& batch, int row, const ImageShape& shape, int scale) {
  Require(row >= 0 && row < batch.rows(),
          "sample " + std::to_string(row) + " does not exist (the batch has " + std::to_string(batch.rows()) + ")");
  return ImageToFrame(std::span<const float>(batch.row(row).data(), static_cast<size_t>(batch.cols())), shape, scale);
}

Frame FieldToFrame(std::span<const float> planes, const ImageShape& shape, float range, int scale) {
  Require(std::isfinite(range) && range > 0.0f, "the field's display range must be a positive number");
  const float factor = 127.5f / range;
  const float offset = range * factor + 0.5f;
  return PlanesToFrame(planes, shape, scale, "field", [factor, offset](const float* in, size_t n, uint8_t* out) {
    ConvertField(in, n, factor, offset, out);
  });
}

Frame FieldToFrame(const Batch& batch, int row, const ImageShape& shape, float range, int scale) {
  Require(row >= 0 && row < batch.rows(),
          "sample " + std::to_string(row) + " does not exist (the batch has " + std::to_string(batch.rows()) + ")");
  return FieldToFrame(std::span<const float>(batch.row(row).data(), static_cast<size_t>(batch.cols())), shape, range,
                      scale);
}

Frame Upscale(const Frame& frame, int factor) {
  Require(factor >= 1, "upscale factor must be >= 1");
  if (factor == 1) return frame;
  Require(static_cast<long long>(factor) * std::max(frame.width, frame.height) <= kMaxSide,
          "upscaled frame would be wider than " + std::to_string(kMaxSide) + " pixels");
  Frame out;
  out.width = frame.width * factor;
  out.height = frame.height * factor;
  out.rgb.resize(static_cast<size_t>(out.width) * out.height * 3);
  UpscaleInto(frame.rgb.data(), frame.width, frame.height, factor, out.rgb.data());
  return out;
}

void Paste(const Frame& src, int x, int y, Frame* dst) {
  const int x0 = std::max(0, x), y0 = std::max(0, y);
  const int x1 = std::min(dst->width, x + src.width), y1 = std::min(dst->height, y + src.height);
  if (x1 <= x0 || y1 <= y0) return;
  const size_t bytes = static_cast<size_t>(x1 - x0) * 3;
  for (int row = y0; row < y1; ++row) std::memcpy(dst->pixel(x0, row), src.pixel(x0 - x, row - y), bytes);
}

cv::Size TextSize(std::string_view text, const TextStyle& style) {
  int baseline = 0;
  return cv::getTextSize(std::string(text), cv::FONT_HERSHEY_SIMPLEX, style.font_scale, style.thickness, &baseline);
}

void DrawText(Frame* frame, std::string_view text, int x, int y, const TextStyle& style) {
  cv::Mat mat = AsMat(frame);
  cv::putText(mat, std::string(text), cv::Point(x, y), cv::FONT_HERSHEY_SIMPLEX, style.font_scale,
              style.colour.scalar(), style.thickness, cv::LINE_AA);
}

std::string CaptionText(int t, double alpha_bar, double snr) {
  return "t = " + std::to_string(t) + "   alpha_bar = " + FormatNumber(alpha_bar, 3) +
         "   SNR = " + FormatNumber(snr, 2);
}

int CaptionHeight(const TextStyle& style) {
  const cv::Size size = TextSize("tg", style);
  return size.height * 2 + 8;
}

Frame AddCaption(const Frame& frame, std::string_view text, const TextStyle& style, Rgb background) {
  const int strip = CaptionHeight(style);
  Frame out(frame.width, frame.height + strip, background);
  Paste(frame, 0, 0, &out);
  const cv::Size size = TextSize(text, style);
  const int x = std::max(2, (frame.width - size.width) / 2);
  const int y = frame.height + (strip + size.height) / 2;
  DrawText(&out, text, x, y, style);
  return out;
}

Image FrameToImage(const Frame& frame) {
  Require(!frame.empty() && frame.rgb.size() == static_cast<size_t>(frame.width) * frame.height * 3,
          "the frame is empty or its size does not match its pixels");
  Image image;
  image.channels = 3;
  image.height = frame.height;
  image.width = frame.width;
  const size_t plane = static_cast<size_t>(frame.width) * frame.height;
  image.pixels.resize(1, static_cast<Eigen::Index>(3 * plane));
  for (size_t p = 0; p < plane; ++p)
    for (int c = 0; c < 3; ++c) image.pixels(0, c * plane + p) = frame.rgb[p * 3 + c] / 127.5f - 1.0f;
  return image;
}

}  // namespace diffuscope

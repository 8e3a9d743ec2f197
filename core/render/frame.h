// Frames: what the renderer makes, the screen shows and the exporters write. An RGB8 buffer with no window.
//
//   diffuscope::ImageShape shape{.channels = 3, .height = 64, .width = 64};
//   diffuscope::Frame frame = diffuscope::ImageToFrame(x_t, /*row=*/0, shape, /*scale=*/4);  // 256 x 256
//   diffuscope::Frame eps = diffuscope::FieldToFrame(eps_hat, 0, shape, /*range=*/3.0f, 4);   // [-3, 3] -> 0..255
//   cv::Mat view = diffuscope::AsMat(frame);  // CV_8UC3 header over frame.rgb (R, G, B order), for cv drawing
//
// Why a plain struct and not cv::Mat: a Frame is a value (copies are deep, == compares pixels), its channel
// order is RGB by definition (no BGR mix-ups), it is always contiguous (a QImage or giflib line wraps it
// directly), and it crosses threads safely. AsMat() gives OpenCV's drawing functions a view without a copy.
#pragma once

#include "core/common/types.h"

#include <opencv2/core.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace diffuscope {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
  /// As an OpenCV colour for drawing on AsMat() views (which are in R, G, B order).
  cv::Scalar scalar() const { return cv::Scalar(r, g, b); }
};

/// An 8-bit RGB image: row-major, 3 bytes per pixel (R, G, B), no row padding.
struct Frame {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3 bytes

  Frame() = default;
  /// A width x height frame filled with one colour.
  Frame(int width, int height, Rgb fill = {});
  bool empty() const { return width <= 0 || height <= 0; }
  uint8_t* pixel(int x, int y) { return rgb.data() + (static_cast<size_t>(y) * width + x) * 3; }
  const uint8_t* pixel(int x, int y) const { return rgb.data() + (static_cast<size_t>(y) * width + x) * 3; }
  bool operator==(const Frame&) const = default;
};

/// A CV_8UC3 header over frame->rgb (no copy; R, G, B order). Valid while the frame is not resized.
cv::Mat AsMat(Frame* frame);
/// A read-only CV_8UC3 view of a frame (do not draw on it).
const cv::Mat AsMat(const Frame& frame);
/// A deep copy of a CV_8UC3 (R, G, B) or CV_8UC1 (grey) matrix into a Frame. Throws Error for other types.
Frame FrameFromMat(const cv::Mat& mat);
/// A frame as an RGB Image (pixels in [-1, 1]), e.g. to save it with SaveImage.
struct Image;
Image FrameToImage(const Frame& frame);

/// True when every pixel has R == G == B (a GIF then gets the exact 256-grey palette).
bool IsGrey(const Frame& frame);

/// How an image batch row is laid out: C channel planes of H x W (C = 1 grey or 3 RGB).
struct ImageShape {
  int channels = 1, height = 0, width = 0;
  /// C * H * W, the number of columns of an image batch.
  long long dim() const { return static_cast<long long>(channels) * height * width; }
  /// Empty when valid (C = 1 or 3, sizes 1..8192), else what is wrong.
  std::string Check() const;
  bool operator==(const ImageShape&) const = default;
};

/// A pixel in [-1, 1] as a byte: round((x + 1) * 127.5), clamped to 0..255; NaN -> 0.
uint8_t PixelToByte(float x);
/// A value on the symmetric scale [-range, range] as a byte: round((x + range) * 127.5 / range), clamped; NaN -> 0.
uint8_t FieldToByte(float x, float range);

/// Image planes (C*H*W floats, pixels in [-1, 1]) to a frame, grey replicated to RGB, each pixel upscaled to a
/// scale x scale block (nearest neighbour). Throws Error when planes.size() != shape.dim() or scale < 1.
Frame ImageToFrame(std::span<const float> planes, const ImageShape& shape, int scale = 1);
/// Row `row` of an image batch to a frame (see above).
Frame ImageToFrame(const Batch& batch, int row, const ImageShape& shape, int scale = 1);
/// A noise / eps field (C*H*W floats, roughly N(0, 1)) on the symmetric scale [-range, range] -> 0..255.
Frame FieldToFrame(std::span<const float> planes, const ImageShape& shape, float range = 3.0f, int scale = 1);
/// Row `row` of a field batch to a frame (see above).
Frame FieldToFrame(const Batch& batch, int row, const ImageShape& shape, float range = 3.0f, int scale = 1);

/// Each pixel becomes a factor x factor block (nearest neighbour; factor >= 1).
Frame Upscale(const Frame& frame, int factor);
/// Copies src into dst with its top-left corner at (x, y); parts outside dst are clipped.
void Paste(const Frame& src, int x, int y, Frame* dst);

/// Text style for labels, legends and captions (OpenCV's Hershey simplex font, antialiased).
struct TextStyle {
  double font_scale = 0.5;  // 0.5 ~ 11 px capital height
  int thickness = 1;
  Rgb colour{0, 0, 0};
};
/// Size in pixels of a text line in a style (width, height above the baseline; the descent is not included).
cv::Size TextSize(std::string_view text, const TextStyle& style);
/// Draws one line of ASCII text with its baseline-left corner at (x, y) in pixels.
void DrawText(Frame* frame, std::string_view text, int x, int y, const TextStyle& style);

/// The caption line of a frame: "t = 250   alpha_bar = 0.412   SNR = 0.70" (tiny or huge values in
/// scientific notation; an infinite SNR reads "inf").
std::string CaptionText(int t, double alpha_bar, double snr);
/// Height in pixels of the caption strip that AddCaption appends for a style.
int CaptionHeight(const TextStyle& style);
/// The frame with a caption strip of CaptionHeight(style) pixels underneath (text centred, on `background`).
Frame AddCaption(const Frame& frame, std::string_view text, const TextStyle& style, Rgb background = {255, 255, 255});

}  // namespace diffuscope

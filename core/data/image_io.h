// Images at the edge of the core: files <-> channel-plane Batch rows with pixels in [-1, 1].
//
//   diffuscope::Image img = diffuscope::LoadImage("photo.jpg");      // throws Error with a clear message
//   diffuscope::SaveImage("noised.png", img);                        // atomic; format from the extension
#pragma once

#include "core/common/types.h"

#include <opencv2/core.hpp>

#include <optional>
#include <string>

namespace diffuscope {

/// One image: `pixels` is 1 x (channels * height * width), channel planes (R, G, B order for colour), in [-1, 1].
struct Image {
  int channels = 0;  // 1 (grey) or 3 (RGB)
  int height = 0;
  int width = 0;
  Batch pixels;
  int source_bit_depth = 8;       // 8 or 16 (what the file held)
  bool source_had_alpha = false;  // alpha was composited over white
};

struct ImageLoadOptions {
  long long max_pixels = 4096LL * 4096;     // larger images are refused (ImageTooLarge) unless downscaled
  bool downscale_if_too_large = false;      // shrink (area average) to fit max_pixels instead of refusing
  bool force_rgb = false;                   // grey files become 3 identical planes
  long long max_decode_pixels = 100000000;  // never decoded, even to downscale (a 20000 x 20000 PNG is 1.2 GB)
  std::string Check() const;
};

/// Thrown when an image exceeds ImageLoadOptions::max_pixels; front ends offer to downscale.
class ImageTooLarge : public Error {
 public:
  ImageTooLarge(const std::string& message, int image_width, int image_height)
      : Error(message), width(image_width), height(image_height) {}
  int width, height;
};

/// Reads grey, colour, colour + alpha (composited over white), 8- or 16-bit files. Throws Error if the
/// file is missing, unreadable, not an image, or ImageTooLarge.
Image LoadImage(const std::string& path, const ImageLoadOptions& options = {});
/// Width and height as the file's header states them, read without decoding (PNG, JPEG, BMP, GIF, WebP, PNM);
/// nullopt for other formats or a header too short to tell.
struct ImageSize {
  int width = 0, height = 0;
};
std::optional<ImageSize> ReadImageSize(const unsigned char* bytes, size_t size);

/// Writes an image (PNG, JPEG, BMP, TIFF, WebP by extension) atomically. Throws Error on failure.
void SaveImage(const std::string& path, const Image& image);

/// 8-bit OpenCV matrix (CV_8UC1 or CV_8UC3 in BGR order) <-> Image.
cv::Mat ImageToMat(const Image& image);
Image MatToImage(const cv::Mat& mat);
/// An Image viewing row `row` of a batch of images of the given shape.
Image ImageFromRow(const Batch& batch, int row, int channels, int height, int width);
/// Area-average resize (OpenCV INTER_AREA for shrinking, bicubic for growing).
Image ResizeImage(const Image& image, int width, int height);

}  // namespace diffuscope

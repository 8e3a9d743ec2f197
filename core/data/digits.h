// The handwritten digits of OpenCV's samples (resources/datasets/digits.png): 5,000 grey 20x20 images,
// 500 per class 0..9, white strokes on a black background, as Batch rows of 400 pixels in [-1, 1]
// (background -1, ink +1), and the low-resolution views SR3 conditions on.
//
//   diffuscope::Digits digits = diffuscope::LoadDigits();          // 5000 x 400, labels 0..9
//   diffuscope::DigitsSplit split = diffuscope::SplitDigits(digits);  // 4500 train / 500 held out (50 per class)
//   diffuscope::Batch low = diffuscope::DownscaleArea(split.test, 10);     // 500 x 100 (10x10, area average)
//   diffuscope::Batch cond = diffuscope::UpsampleBicubic(low, 20);         // 500 x 400, SR3's conditioning image
#pragma once

#include "core/common/types.h"

#include <cstdint>
#include <string>
#include <vector>

namespace diffuscope {

inline constexpr int kDigitSide = 20;                         // pixels per side of one digit
inline constexpr int kDigitPixels = kDigitSide * kDigitSide;  // 400 columns per row
inline constexpr int kDigitClasses = 10;
inline constexpr int kDigitsPerClass = 500;
inline constexpr int kDigitsCount = kDigitClasses * kDigitsPerClass;  // 5000
inline constexpr uint64_t kDigitsSplitSeed = 20240501;                // the seed of the project's fixed held-out tenth

struct Digits {
  Batch images;             // 5000 x 400, row-major 20x20 pixels in [-1, 1] (background -1, ink +1)
  std::vector<int> labels;  // the class 0..9 of each row
};

struct DigitsSplit {
  Batch train, test;  // 4500 x 400 and 500 x 400
  std::vector<int> train_labels, test_labels;
  std::vector<int> train_index, test_index;  // the row of each sample in Digits::images
};

/// Loads the 2000 x 1000 sheet of digits (tiles 100 across x 50 down, 5 tile-rows per class): row
/// r * 100 + c of the result is the tile at tile-row r, tile-column c; its label is r / 5. The default path
/// is ResourcePath("datasets/digits.png"). Throws Error if the file is missing, not an image, or not a
/// 2000 x 1000 grey sheet (a colour copy is converted to grey).
Digits LoadDigits(const std::string& path = {});

/// The held-out tenth: per class, a seeded shuffle (Philox, Stream::kData) of its 500 rows puts the first 50
/// in test and the other 450 in train; both keep the sheet's order (ascending rows). Same seed => same split.
/// Throws Error unless `digits` has 500 rows of each class 0..9.
DigitsSplit SplitDigits(const Digits& digits, uint64_t seed = kDigitsSplitSeed);

/// Side of the square grey images in the rows of `images` (sqrt of the columns); throws Error if not square.
int SquareImageSide(const Batch& images);
/// Area-average downscale (OpenCV INTER_AREA) of each row, a square grey side x side image, to low_side x
/// low_side. Exact block means when side is a multiple of low_side (20 -> 10 or 5). Throws Error on bad sizes.
Batch DownscaleArea(const Batch& images, int low_side);
/// Bicubic upsample (OpenCV INTER_CUBIC) of each row, a square grey image, to side x side, clamped to [-1, 1]
/// as an 8-bit image would be. Throws Error on bad sizes.
Batch UpsampleBicubic(const Batch& low, int side);
/// A digit made from an image (pixels: 1 x C*H*W channel planes in [-1, 1]): grey (the mean of the colour channels;
/// an alpha channel, the last of 2 or 4, left out), the centred square, area-resized to side x side; 1 x side^2.
/// Throws Error on an empty image.
Batch DigitFromImage(const Batch& pixels, int channels, int height, int width, int side = kDigitSide);
/// SR3's conditioning image: UpsampleBicubic(DownscaleArea(images, low_side), side of images).
Batch LowResolutionCondition(const Batch& images, int low_side);

}  // namespace diffuscope

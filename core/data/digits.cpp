#include "core/data/digits.h"

#include "core/common/resources.h"
#include "core/data/image_io.h"
#include "core/data/image_set.h"
#include "core/random/random.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace diffuscope {
namespace {

constexpr int kTilesAcross = 100;
constexpr int kTilesDown = 50;
constexpr int kTileRowsPerClass = kTilesDown / kDigitClasses;  // 5

// Resizes every row (a square grey side x side image) to out_side x out_side with one interpolation.
Batch ResizeRows(const Batch& images, int side, int out_side, int interpolation) {
  Batch out(images.rows(), static_cast<Eigen::Index>(out_side) * out_side);
  for (Eigen::Index r = 0; r < images.rows(); ++r) {
    const cv::Mat src(side, side, CV_32F, const_cast<float*>(images.row(r).data()));
    cv::Mat dst(out_side, out_side, CV_32F, out.row(r).data());
    cv::resize(src, dst, dst.size(), 0, 0, interpolation);
  }
  return out;
}

}  // namespace

Digits LoadDigits(const std::string& path) {
  const std::string file = path.empty() ? ResourcePath("datasets/digits.png").string() : path;
  Image sheet = LoadImage(file);
  constexpr int kWidth = kTilesAcross * kDigitSide, kHeight = kTilesDown * kDigitSide;
  Require(sheet.width == kWidth && sheet.height == kHeight,
          "'" + file + "' is " + std::to_string(sheet.width) + " x " + std::to_string(sheet.height) +
              " pixels; the digits sheet must be 2000 x 1000 (100 x 50 tiles of 20 x 20)");
  if (sheet.channels != 1) sheet = ConvertChannels(sheet, 1);
  sheet.pixels = sheet.pixels.cwiseMax(-1.0f).cwiseMin(1.0f);  // 255 * (2 / 255) - 1 rounds to 1 + 1e-7
  Digits digits;
  digits.images.resize(kDigitsCount, kDigitPixels);
  digits.labels.resize(kDigitsCount);
  for (int tile_row = 0; tile_row < kTilesDown; ++tile_row) {
    for (int tile_col = 0; tile_col < kTilesAcross; ++tile_col) {
      const int index = tile_row * kTilesAcross + tile_col;
      for (int y = 0; y < kDigitSide; ++y) {
        const float* src = sheet.pixels.data() + static_cast<size_t>(tile_row * kDigitSide + y) * kWidth +
                           static_cast<size_t>(tile_col) * kDigitSide;
        std::copy(src, src + kDigitSide, digits.images.row(index).data() + y * kDigitSide);
      }
      digits.labels[index] = tile_row / kTileRowsPerClass;
    }
  }
  return digits;
}

DigitsSplit SplitDigits(const Digits& digits, uint64_t seed) {
  Require(digits.images.rows() == static_cast<Eigen::Index>(digits.labels.size()),
          "the digits need one label per image");
  std::vector<std::vector<int>> by_class(kDigitClasses);
  for (size_t i = 0; i < digits.labels.size(); ++i) {
    const int label = digits.labels[i];
    Require(label >= 0 && label < kDigitClasses, "digit labels must be 0..9");
    by_class[label].push_back(static_cast<int>(i));
  }
  for (const auto& rows : by_class)
    Require(rows.size() == kDigitsPerClass, "the digits split needs 500 images of each class 0..9");

  constexpr int kHeldOutPerClass = kDigitsPerClass / 10;  // 50
  std::vector<char> held_out(digits.labels.size(), 0);
  for (int label = 0; label < kDigitClasses; ++label) {
    // Fisher-Yates on the class's rows; one stream per class, so classes do not depend on each other.
    std::vector<int> rows = by_class[label];
    RandomStream random({seed, Stream::kData, static_cast<uint64_t>(label)});
    for (size_t i = rows.size() - 1; i > 0; --i) std::swap(rows[i], rows[random.Below(i + 1)]);
    for (int k = 0; k < kHeldOutPerClass; ++k) held_out[rows[k]] = 1;
  }

  DigitsSplit split;
  for (size_t i = 0; i < digits.labels.size(); ++i) {
    (held_out[i] ? split.test_index : split.train_index).push_back(static_cast<int>(i));
  }
  auto gather = [&](const std::vector<int>& index, Batch* images, std::vector<int>* labels) {
    images->resize(static_cast<Eigen::Index>(index.size()), digits.images.cols());
    labels->resize(index.size());
    for (size_t k = 0; k < index.size(); ++k) {
      images->row(static_cast<Eigen::Index>(k)) = digits.images.row(index[k]);
      (*labels)[k] = digits.labels[index[k]];
    }
  };
  gather(split.train_index, &split.train, &split.train_labels);
  gather(split.test_index, &split.test, &split.test_labels);
  return split;
}

int SquareImageSide(const Batch& images) {
  const auto cols = images.cols();
  const auto side = static_cast<Eigen::Index>(std::llround(std::sqrt(static_cast<double>(cols))));
  Require(cols >= 1 && side * side == cols,
          "expected rows of square grey images (side x side columns); got " + std::to_string(cols) + " columns");
  return static_cast<int>(side);
}

Batch DownscaleArea(const Batch& images, int low_side) {
  const int side = SquareImageSide(images);
  Require(low_side >= 1 && low_side <= side, "the low resolution must be 1.." + std::to_string(side) +
                                                 " pixels per side; got " + std::to_string(low_side));
  Require(images.allFinite(), "the images hold NaN or infinite values");
  return ResizeRows(images, side, low_side, cv::INTER_AREA);
}

Batch UpsampleBicubic(const Batch& low, int side) {
  const int low_side = SquareImageSide(low);
  Require(side >= low_side && side <= 65536, "the upsampled side must be at least the low resolution (" +
                                                 std::to_string(low_side) + "); got " + std::to_string(side));
  Require(low.allFinite(), "the low-resolution images hold NaN or infinite values");
  Batch out = ResizeRows(low, low_side, side, cv::INTER_CUBIC);
  return out.cwiseMax(-1.0f).cwiseMin(1.0f);
}

Batch LowResolutionCondition(const Batch& images, int low_side) {
  return UpsampleBicubic(DownscaleArea(images, low_side), SquareImageSide(images));
}

Batch DigitFromImage(const Batch& pixels, int channels, int h, int w, int side) {
  Require(pixels.size() > 0 && channels > 0 && h > 0 && w > 0 &&
              pixels.cols() >= static_cast<Eigen::Index>(channels) * h * w,
          "There is no open image to super-resolve: open one, or pick a held-out digit.");
  Require(side > 0, "the digit side must be positive");
  const int colours = channels == 2 || channels == 4 ? channels - 1 : channels;
  cv::Mat grey(h, w, CV_32F, cv::Scalar(0));
  for (int c = 0; c < colours; ++c)
    grey += cv::Mat(h, w, CV_32F, const_cast<float*>(pixels.data()) + static_cast<long>(c) * h * w);
  grey /= static_cast<double>(colours);
  const int square = std::min(h, w);
  cv::Mat resized;
  cv::resize(grey(cv::Rect((w - square) / 2, (h - square) / 2, square, square)), resized, cv::Size(side, side), 0, 0,
             cv::INTER_AREA);
  Batch out(1, side * side);
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x) out(0, y * side + x) = std::clamp(resized.at<float>(y, x), -1.0f, 1.0f);
  return out;
}

}  // namespace diffuscope

#include "core/metrics/super_resolution.h"

#include "core/metrics/image_quality.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <span>
#include <string>

namespace diffuscope {
namespace {

Batch Clamped(const Batch& rows) { return rows.cwiseMax(-1.0f).cwiseMin(1.0f); }

void RequireImageRow(const Batch& row, int channels, int height, int width, const char* what) {
  Require(channels >= 1 && height >= 1 && width >= 1, "super-resolution figures: empty image shape");
  Require(row.rows() >= 1 && row.cols() == static_cast<Eigen::Index>(channels) * height * width,
          std::string("super-resolution figures: ") + what + " does not match the image's shape");
}

}  // namespace

double ImagePsnr(const Batch& truth, const Batch& test) {
  Require(truth.rows() >= 1 && test.rows() >= 1 && truth.cols() == test.cols(), "PSNR: the images differ in size");
  const Batch clamped = Clamped(test.row(0));
  return Psnr(std::span<const float>(truth.data(), static_cast<size_t>(truth.cols())),
              std::span<const float>(clamped.data(), static_cast<size_t>(clamped.cols())));
}

double ImageSsim(const Batch& truth, const Batch& test, int channels, int height, int width) {
  RequireImageRow(truth, channels, height, width, "the truth");
  RequireImageRow(test, channels, height, width, "the test image");
  const Batch clamped = Clamped(test.row(0));
  const size_t plane = static_cast<size_t>(height) * width;
  double sum = 0.0;
  for (int c = 0; c < channels; ++c)
    sum += Ssim(std::span<const float>(truth.data() + c * plane, plane),
                std::span<const float>(clamped.data() + c * plane, plane), height, width);
  return sum / channels;
}

Batch AreaDownscale(const Batch& rows, int channels, int height, int width, int factor) {
  Require(factor >= 1 && height % factor == 0 && width % factor == 0,
          "area downscale: the image's sides must be multiples of the factor " + std::to_string(factor));
  RequireImageRow(rows, channels, height, width, "the image");
  const int h = height / factor, w = width / factor;
  const long long plane = static_cast<long long>(height) * width, low_plane = static_cast<long long>(h) * w;
  Batch out(rows.rows(), channels * low_plane);
  for (Eigen::Index r = 0; r < rows.rows(); ++r)
    for (int c = 0; c < channels; ++c) {
      const cv::Mat src(height, width, CV_32F, const_cast<float*>(rows.data()) + r * rows.cols() + c * plane);
      cv::Mat dst;
      cv::resize(src, dst, cv::Size(w, h), 0, 0, cv::INTER_AREA);
      std::copy_n(dst.ptr<float>(), low_plane, out.data() + r * out.cols() + c * low_plane);
    }
  return out;
}

double GradientEnergy(const Batch& rows, int channels, int height, int width) {
  RequireImageRow(rows, channels, height, width, "the image");
  const long long plane = static_cast<long long>(height) * width;
  double sum = 0.0;
  long long count = 0;
  for (Eigen::Index r = 0; r < rows.rows(); ++r)
    for (int c = 0; c < channels; ++c) {
      const float* p = rows.data() + r * rows.cols() + c * plane;
      for (int y = 1; y + 1 < height; ++y)
        for (int x = 1; x + 1 < width; ++x) {
          const double gx = 0.5 * (p[y * width + x + 1] - p[y * width + x - 1]);
          const double gy = 0.5 * (p[(y + 1) * width + x] - p[(y - 1) * width + x]);
          sum += gx * gx + gy * gy;
          ++count;
        }
    }
  return count ? sum / static_cast<double>(count) : 0.0;
}

SuperResolutionFigures CompareSuperResolution(const Batch& truth, const Batch& low, const Batch& bicubic,
                                              const Batch& output, int channels, int height, int width) {
  RequireImageRow(truth, channels, height, width, "the truth");
  RequireImageRow(bicubic, channels, height, width, "the bicubic upsample");
  RequireImageRow(output, channels, height, width, "the output");
  // The factor from the input's size: low holds C x (H / f) x (W / f).
  const long long low_plane = low.cols() / channels;
  const int factor = low_plane > 0 ? static_cast<int>(std::lround(std::sqrt(static_cast<double>(height) * width /
                                                                            static_cast<double>(low_plane))))
                                   : 0;
  Require(factor >= 1 && height % factor == 0 && width % factor == 0 &&
              low.cols() == static_cast<Eigen::Index>(channels) * (height / factor) * (width / factor),
          "super-resolution figures: the low-resolution input is not the output shrunk by an integer factor");
  const Batch sr = Clamped(output.row(0)), up = Clamped(bicubic.row(0));
  const Batch input = low.row(0);
  SuperResolutionFigures f;
  f.psnr_sr = ImagePsnr(truth, sr);
  f.psnr_bicubic = ImagePsnr(truth, up);
  f.ssim_sr = ImageSsim(truth, sr, channels, height, width);
  f.ssim_bicubic = ImageSsim(truth, up, channels, height, width);
  f.consistency_sr = ImagePsnr(input, AreaDownscale(sr, channels, height, width, factor));
  f.consistency_bicubic = ImagePsnr(input, AreaDownscale(up, channels, height, width, factor));
  f.gradient_energy_truth = GradientEnergy(truth.row(0), channels, height, width);
  f.gradient_energy_sr = GradientEnergy(sr, channels, height, width);
  f.gradient_energy_bicubic = GradientEnergy(up, channels, height, width);
  return f;
}

}  // namespace diffuscope

#include "core/metrics/image_quality.h"

#include <array>
#include <cmath>
#include <limits>
#include <vector>

namespace diffuscope {
namespace {

void CheckPair(std::span<const float> truth, std::span<const float> test, double data_range, const char* what) {
  Require(!truth.empty() && truth.size() == test.size(), std::string(what) +
                                                             ": the images must have the same, "
                                                             "nonzero number of pixels");
  Require(std::isfinite(data_range) && data_range > 0.0, std::string(what) + ": the data range must be positive");
  for (size_t k = 0; k < truth.size(); ++k)
    Require(std::isfinite(truth[k]) && std::isfinite(test[k]), std::string(what) + ": a pixel is NaN or infinite");
}

// The normalised 1D Gaussian of the separable 11x11 window.
std::array<double, kSsimWindow> GaussianWindow() {
  std::array<double, kSsimWindow> w{};
  double sum = 0.0;
  for (int k = 0; k < kSsimWindow; ++k) {
    const double d = k - (kSsimWindow - 1) / 2.0;
    w[k] = std::exp(-d * d / (2.0 * kSsimSigma * kSsimSigma));
    sum += w[k];
  }
  for (double& v : w) v /= sum;
  return w;
}

void CheckRows(const Batch& truth, const Batch& test, const char* what) {
  Require(truth.rows() == test.rows() && truth.cols() == test.cols() && truth.rows() > 0,
          std::string(what) + ": the two sets must have the same, nonzero shape");
}

}  // namespace

double Psnr(std::span<const float> truth, std::span<const float> test, double data_range) {
  CheckPair(truth, test, data_range, "PSNR");
  double sum = 0.0;
  for (size_t k = 0; k < truth.size(); ++k) {
    const double d = static_cast<double>(truth[k]) - test[k];
    sum += d * d;
  }
  const double mse = sum / static_cast<double>(truth.size());
  if (mse == 0.0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(data_range * data_range / mse);
}

double Ssim(std::span<const float> truth, std::span<const float> test, int height, int width, double data_range) {
  Require(height >= kSsimWindow && width >= kSsimWindow, "SSIM: the image (" + std::to_string(width) + "x" +
                                                             std::to_string(height) +
                                                             ") is smaller than the 11x11 window");
  Require(static_cast<long long>(height) * width == static_cast<long long>(truth.size()),
          "SSIM: the image holds " + std::to_string(truth.size()) + " pixels, not " + std::to_string(width) + "x" +
              std::to_string(height));
  CheckPair(truth, test, data_range, "SSIM");
  const auto w = GaussianWindow();
  const double c1 = (0.01 * data_range) * (0.01 * data_range), c2 = (0.03 * data_range) * (0.03 * data_range);
  // Horizontal pass of x, y, x^2, y^2, xy over valid columns, then the vertical pass at each valid position.
  const int out_w = width - kSsimWindow + 1, out_h = height - kSsimWindow + 1;
  std::vector<std::array<double, 5>> rows(static_cast<size_t>(height) * out_w);
  for (int r = 0; r < height; ++r)
    for (int c = 0; c < out_w; ++c) {
      std::array<double, 5> s{};
      for (int k = 0; k < kSsimWindow; ++k) {
        const double x = truth[static_cast<size_t>(r) * width + c + k],
                     y = test[static_cast<size_t>(r) * width + c + k];
        s[0] += w[k] * x;
        s[1] += w[k] * y;
        s[2] += w[k] * x * x;
        s[3] += w[k] * y * y;
        s[4] += w[k] * x * y;
      }
      rows[static_cast<size_t>(r) * out_w + c] = s;
    }
  double total = 0.0;
  for (int r = 0; r < out_h; ++r)
    for (int c = 0; c < out_w; ++c) {
      std::array<double, 5> s{};
      for (int k = 0; k < kSsimWindow; ++k)
        for (int j = 0; j < 5; ++j) s[j] += w[k] * rows[static_cast<size_t>(r + k) * out_w + c][j];
      const double mx = s[0], my = s[1];
      const double vx = s[2] - mx * mx, vy = s[3] - my * my, cxy = s[4] - mx * my;
      total += ((2.0 * mx * my + c1) * (2.0 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
    }
  return total / (static_cast<double>(out_h) * out_w);
}

double MeanPsnr(const Batch& truth, const Batch& test, double data_range) {
  CheckRows(truth, test, "PSNR");
  double sum = 0.0;
  for (Eigen::Index r = 0; r < truth.rows(); ++r) {
    const double p = Psnr({truth.row(r).data(), static_cast<size_t>(truth.cols())},
                          {test.row(r).data(), static_cast<size_t>(test.cols())}, data_range);
    sum += std::isfinite(p) ? p : 100.0;
  }
  return sum / static_cast<double>(truth.rows());
}

double MeanSsim(const Batch& truth, const Batch& test, int height, int width, double data_range) {
  CheckRows(truth, test, "SSIM");
  double sum = 0.0;
  for (Eigen::Index r = 0; r < truth.rows(); ++r)
    sum += Ssim({truth.row(r).data(), static_cast<size_t>(truth.cols())},
                {test.row(r).data(), static_cast<size_t>(test.cols())}, height, width, data_range);
  return sum / static_cast<double>(truth.rows());
}

}  // namespace diffuscope

// core/metrics/image_quality: PSNR from its definition, SSIM against closed forms and against a direct (non-separable)
// evaluation of the windowed statistics.
#include "core/metrics/image_quality.h"
#include "core/random/random.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace diffuscope {
namespace {

std::vector<float> RandomImage(int n, uint64_t seed) {
  std::vector<float> v(n);
  FillUniform({seed, Stream::kUser, 0}, 0, v);
  for (float& x : v) x = 2.0f * x - 1.0f;
  return v;
}

// SSIM straight from the definition: the 2D Gaussian window at every valid position, statistics in double.
double DirectSsim(const std::vector<float>& x, const std::vector<float>& y, int h, int w, double range) {
  double g[11][11], sum = 0;
  for (int i = 0; i < 11; ++i)
    for (int j = 0; j < 11; ++j) sum += g[i][j] = std::exp(-((i - 5) * (i - 5) + (j - 5) * (j - 5)) / (2 * 1.5 * 1.5));
  const double c1 = std::pow(0.01 * range, 2), c2 = std::pow(0.03 * range, 2);
  double total = 0;
  int count = 0;
  for (int r = 0; r + 11 <= h; ++r)
    for (int c = 0; c + 11 <= w; ++c) {
      double mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
      for (int i = 0; i < 11; ++i)
        for (int j = 0; j < 11; ++j) {
          const double wt = g[i][j] / sum, a = x[(r + i) * w + c + j], b = y[(r + i) * w + c + j];
          mx += wt * a, my += wt * b, xx += wt * a * a, yy += wt * b * b, xy += wt * a * b;
        }
      const double vx = xx - mx * mx, vy = yy - my * my, cxy = xy - mx * my;
      total += (2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2));
      ++count;
    }
  return total / count;
}

TEST(Psnr, MatchesTheDefinition) {
  std::vector<float> truth(400, 0.0f), test(400, 0.25f);
  EXPECT_NEAR(Psnr(truth, test), 10.0 * std::log10(64.0), 1e-12);  // MSE 1/16, range 2: 10 log10(4 * 16)
  EXPECT_NEAR(Psnr(truth, test, 1.0), 10.0 * std::log10(16.0), 1e-12);
  EXPECT_TRUE(std::isinf(Psnr(truth, truth)));
  const std::vector<float> a = RandomImage(400, 1), b = RandomImage(400, 2);
  double mse = 0;
  for (int k = 0; k < 400; ++k) mse += (double(a[k]) - b[k]) * (double(a[k]) - b[k]) / 400;
  EXPECT_NEAR(Psnr(a, b), 10 * std::log10(4 / mse), 1e-9);
}

TEST(Ssim, IdenticalImagesScoreOne) {
  const auto a = RandomImage(20 * 20, 3);
  EXPECT_NEAR(Ssim(a, a, 20, 20), 1.0, 1e-12);
}

TEST(Ssim, ConstantImagesFollowTheLuminanceTerm) {
  // Flat images: every variance is 0, so SSIM = (2 a b + C1) / (a^2 + b^2 + C1).
  const double a = -0.5, b = 0.25, c1 = std::pow(0.01 * 2, 2);
  std::vector<float> x(16 * 12, float(a)), y(16 * 12, float(b));
  EXPECT_NEAR(Ssim(x, y, 12, 16), (2 * a * b + c1) / (a * a + b * b + c1), 1e-12);
}

TEST(Ssim, MatchesTheDirectDefinition) {
  for (uint64_t seed = 0; seed < 3; ++seed) {
    const int h = 20 + int(seed), w = 23 - int(seed);
    const auto x = RandomImage(h * w, 10 + seed);
    auto y = RandomImage(h * w, 20 + seed);
    for (int k = 0; k < h * w; ++k) y[k] = 0.6f * x[k] + 0.4f * y[k];  // correlated, so SSIM is well inside (0, 1)
    const double s = Ssim(x, y, h, w);
    EXPECT_NEAR(s, DirectSsim(x, y, h, w, 2.0), 1e-10);
    EXPECT_GT(s, 0.1);
    EXPECT_LT(s, 0.99);
    EXPECT_NEAR(Ssim(y, x, h, w), s, 1e-12);  // symmetric
  }
}

TEST(Ssim, BatchMeansAreMeansOfRows) {
  Batch truth(3, 400), test(3, 400);
  for (int r = 0; r < 3; ++r) {
    const auto a = RandomImage(400, 30 + r), b = RandomImage(400, 40 + r);
    for (int k = 0; k < 400; ++k) truth(r, k) = a[k], test(r, k) = 0.5f * (a[k] + b[k]);
  }
  double p = 0, s = 0;
  for (int r = 0; r < 3; ++r) {
    p += Psnr({truth.row(r).data(), 400}, {test.row(r).data(), 400}) / 3;
    s += Ssim({truth.row(r).data(), 400}, {test.row(r).data(), 400}, 20, 20) / 3;
  }
  EXPECT_NEAR(MeanPsnr(truth, test), p, 1e-9);
  EXPECT_NEAR(MeanSsim(truth, test, 20, 20), s, 1e-12);
}

TEST(ImageQuality, BadInputIsAnError) {
  std::vector<float> a(100, 0.0f), b(99, 0.0f), nan(100, NAN);
  EXPECT_THROW(Psnr(a, b), Error);
  EXPECT_THROW(Psnr(a, nan), Error);
  EXPECT_THROW(Psnr(a, a, 0.0), Error);
  EXPECT_THROW(Ssim(a, a, 10, 10), Error);  // smaller than the 11x11 window
  std::vector<float> c(400, 0.0f);
  EXPECT_THROW(Ssim(c, c, 20, 21), Error);  // size disagrees
  EXPECT_THROW(MeanPsnr(Batch(2, 4), Batch(3, 4)), Error);
}

}  // namespace
}  // namespace diffuscope

// core/metrics/super_resolution: the figures every super-resolution view and evaluation reports, against values
// computed by hand: block means, PSNR of a known error, consistency of an exact inverse, and bad shapes.
#include "core/metrics/super_resolution.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace diffuscope {
namespace {

// A C x H x W row whose pixel (c, y, x) is a distinct value in [-0.9, 0.9].
Batch Ramp(int channels, int height, int width) {
  Batch row(1, static_cast<long long>(channels) * height * width);
  for (Eigen::Index i = 0; i < row.cols(); ++i)
    row(0, i) = static_cast<float>(-0.9 + 1.8 * std::fmod(0.37 * static_cast<double>(i), 1.0));
  return row;
}

// Each low-resolution pixel repeated f x f: its area average is the low image exactly.
Batch BlockUpsample(const Batch& low, int channels, int h, int w, int f) {
  Batch out(1, static_cast<long long>(channels) * h * f * w * f);
  for (int c = 0; c < channels; ++c)
    for (int y = 0; y < h * f; ++y)
      for (int x = 0; x < w * f; ++x)
        out(0, (static_cast<long long>(c) * h * f + y) * w * f + x) =
            low(0, (static_cast<long long>(c) * h + y / f) * w + x / f);
  return out;
}

TEST(SuperResolutionFigures, AreaDownscaleIsTheBlockMean) {
  const Batch image = Ramp(3, 8, 12);
  const Batch low = AreaDownscale(image, 3, 8, 12, 4);
  ASSERT_EQ(low.cols(), 3 * 2 * 3);
  for (int c = 0; c < 3; ++c)
    for (int by = 0; by < 2; ++by)
      for (int bx = 0; bx < 3; ++bx) {
        double sum = 0.0;
        for (int y = 0; y < 4; ++y)
          for (int x = 0; x < 4; ++x) sum += image(0, (c * 8 + by * 4 + y) * 12 + bx * 4 + x);
        EXPECT_NEAR(low(0, (c * 2 + by) * 3 + bx), sum / 16.0, 1e-6);
      }
  EXPECT_THROW(AreaDownscale(image, 3, 8, 12, 5), Error);  // 8 and 12 are not multiples of 5
  EXPECT_THROW(AreaDownscale(image, 1, 8, 12, 4), Error);  // the row is not 1 x 8 x 12
}

TEST(SuperResolutionFigures, KnownErrorsGiveTheirPsnrAndAnExactInverseIsFullyConsistent) {
  const int C = 3, H = 16, W = 12, f = 4;
  const Batch truth = Ramp(C, H, W);
  const Batch low = AreaDownscale(truth, C, H, W, f);
  // The output: the truth off by +0.05 everywhere; "bicubic": the block upsample of the input, whose area
  // average is the input exactly (consistency +infinity).
  const Batch output = (truth.array() + 0.05f).matrix();
  const Batch blocks = BlockUpsample(low, C, H / f, W / f, f);
  const SuperResolutionFigures fig = CompareSuperResolution(truth, low, blocks, output, C, H, W);
  EXPECT_NEAR(fig.psnr_sr, 10.0 * std::log10(4.0 / (0.05 * 0.05)), 1e-3);  // MSE 0.0025, data range 2
  EXPECT_NEAR(fig.consistency_sr, fig.psnr_sr, 1e-3);  // a constant offset survives the area average unchanged
  EXPECT_EQ(fig.consistency_bicubic, std::numeric_limits<double>::infinity());
  EXPECT_LT(fig.ssim_sr, 1.0);
  EXPECT_DOUBLE_EQ(ImageSsim(truth, truth, C, H, W), 1.0);
  // Blocks hold no gradient inside a block: less energy than the ramp.
  EXPECT_LT(fig.gradient_energy_bicubic, fig.gradient_energy_truth);
  EXPECT_NEAR(fig.gradient_energy_sr, fig.gradient_energy_truth, 1e-9);  // an offset has the truth's gradients
  // Outputs are clamped to [-1, 1] as shown: an output of 5 everywhere is measured as 1 everywhere.
  const Batch big = Batch::Constant(1, truth.cols(), 5.0f), one = Batch::Constant(1, truth.cols(), 1.0f);
  EXPECT_DOUBLE_EQ(CompareSuperResolution(truth, low, blocks, big, C, H, W).psnr_sr, ImagePsnr(truth, one));
}

TEST(SuperResolutionFigures, ShapesThatDisagreeAreRefused) {
  const Batch truth = Ramp(1, 16, 16), low = AreaDownscale(truth, 1, 16, 16, 2);
  EXPECT_NO_THROW(CompareSuperResolution(truth, low, truth, truth, 1, 16, 16));
  EXPECT_THROW(CompareSuperResolution(truth, Ramp(1, 5, 5), truth, truth, 1, 16, 16), Error);  // 16 / 5: no factor
  EXPECT_THROW(CompareSuperResolution(truth, low, Ramp(1, 16, 8), truth, 1, 16, 16), Error);
  EXPECT_THROW(CompareSuperResolution(truth, low, truth, truth, 3, 16, 16), Error);
}

}  // namespace
}  // namespace diffuscope

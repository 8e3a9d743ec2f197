// core/nn/unet: the parameter count of the reference network, gradient checks of every layer of a small U-Net
// against central differences in double, the oneDNN float path against the double reference, full convolution
// (any size, shift equivariance away from the borders) and the shape errors.
#include "core/nn/unet.h"
#include "core/random/random.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace diffuscope {
namespace {

std::vector<float> Uniforms(size_t n, uint64_t index) {
  std::vector<float> u(n);
  FillUniform({.seed = 5, .stream = Stream::kUser, .index = index}, 0, u);
  for (float& x : u) x = 2.0f * x - 1.0f;
  return u;
}

template <typename S>
Tensor4<S> RandomTensor(int n, int h, int w, int c, uint64_t index) {
  Tensor4<S> t;
  t.Resize(n, h, w, c);
  const std::vector<float> u = Uniforms(t.size(), index);
  for (size_t k = 0; k < t.size(); ++k) t.data[k] = static_cast<S>(u[k]);
  return t;
}

UNetSpec SmallSpec() {
  UNetSpec spec;
  spec.in_channels = 2;
  spec.out_channels = 3;
  spec.channels = {4, 6};  // 4 -> 6 adds a 1x1 skip; up blocks see 12 -> 6 and 10 -> 4
  spec.groups = 2;
  spec.embedding_size = 8;
  spec.embedding_width = 5;
  return spec;
}

// Weights from Initialize plus noise, so GroupNorm's gamma and beta are not 1 and 0 and every path is exercised.
template <typename S>
void Perturb(UNet<S>& net, uint64_t seed) {
  net.Initialize(seed);
  const std::vector<float> u = Uniforms(net.parameters().size(), 100 + seed);
  for (size_t k = 0; k < u.size(); ++k) net.parameters()[k] += static_cast<S>(0.2 * u[k]);
}

TEST(UNet, ReferenceSpecHasThePyTorchParameterCount) {
  // ../shared/bench/unet_reference.py prints "params 1475395" for its UNet().
  const UNetSpec spec = ReferenceUNetSpec();
  EXPECT_EQ(spec.num_parameters(), 1475395);
  UNet<float> net(spec);
  EXPECT_EQ(net.num_parameters(), 1475395);
}

TEST(UNet, GradientsOfEveryParameterAndTheInputMatchCentralDifferences) {
  UNet<double> net(SmallSpec());
  Perturb(net, 3);
  const Tensor4<double> x = RandomTensor<double>(2, 4, 6, 2, 1);
  const Tensor4<double> r = RandomTensor<double>(2, 4, 6, 3, 2);  // loss = sum(y * r)
  const std::vector<double> level = {0.7, -1.3};
  UNet<double>::Workspace ws(true);
  auto loss = [&](const Tensor4<double>& input) {
    const auto& y = net.Forward(input, level, ws);
    double l = 0;
    for (size_t k = 0; k < y.size(); ++k) l += y.data[k] * r.data[k];
    return l;
  };
  loss(x);
  Tensor4<double> dx;
  net.Backward(x, level, r, ws, &dx);
  const std::vector<double> grads = net.gradients();

  const double h = 1e-6;
  long long checked = 0;
  for (size_t k = 0; k < net.parameters().size(); ++k) {
    const double keep = net.parameters()[k];
    net.parameters()[k] = keep + h;
    const double up = loss(x);
    net.parameters()[k] = keep - h;
    const double down = loss(x);
    net.parameters()[k] = keep;
    const double numeric = (up - down) / (2 * h);
    const double err = std::abs(numeric - grads[k]) / std::max(1.0, std::abs(numeric));
    ASSERT_LT(err, 1e-6) << "parameter " << k << ": analytic " << grads[k] << ", numeric " << numeric;
    ++checked;
  }
  EXPECT_EQ(checked, SmallSpec().num_parameters());
  for (size_t k = 0; k < x.size(); ++k) {
    Tensor4<double> xp = x, xm = x;
    xp.data[k] += h;
    xm.data[k] -= h;
    const double numeric = (loss(xp) - loss(xm)) / (2 * h);
    ASSERT_NEAR(dx.data[k], numeric, 1e-6 * std::max(1.0, std::abs(numeric))) << "input " << k;
  }
  // The tolerance catches a 0.1% error in any gradient larger than 1e-3; most are.
  const long long large = std::count_if(grads.begin(), grads.end(), [](double g) { return std::abs(g) > 1e-3; });
  EXPECT_GT(large, checked / 2);
}

TEST(UNet, OneDnnFloatPathMatchesTheDoubleReference) {
  UNetSpec spec = SmallSpec();
  spec.channels = {8, 16, 16};
  spec.groups = 4;
  UNet<double> ref(spec);
  Perturb(ref, 4);
  UNet<float> net(spec);
  for (size_t k = 0; k < net.parameters().size(); ++k) net.parameters()[k] = static_cast<float>(ref.parameters()[k]);
  const Tensor4<double> xd = RandomTensor<double>(3, 8, 12, 2, 5);
  const Tensor4<double> rd = RandomTensor<double>(3, 8, 12, 3, 6);
  Tensor4<float> xf, rf;
  xf.Resize(3, 8, 12, 2);
  rf.Resize(3, 8, 12, 3);
  for (size_t k = 0; k < xf.size(); ++k) xf.data[k] = static_cast<float>(xd.data[k]);
  for (size_t k = 0; k < rf.size(); ++k) rf.data[k] = static_cast<float>(rd.data[k]);
  const std::vector<double> ld = {0.1, 2.0, -4.0};
  const std::vector<float> lf = {0.1f, 2.0f, -4.0f};

  UNet<double>::Workspace wd(true);
  UNet<float>::Workspace wf(true);
  const auto& yd = ref.Forward(xd, ld, wd);
  const auto& yf = net.Forward(xf, lf, wf);
  ASSERT_TRUE(yf.SameShape(Tensor4<float>{yd.n, yd.h, yd.w, yd.c, {}}));
  double scale = 0;
  for (double v : yd.data) scale = std::max(scale, std::abs(v));
  for (size_t k = 0; k < yd.size(); ++k) ASSERT_NEAR(yf.data[k], yd.data[k], 1e-4 * scale) << "output " << k;

  Tensor4<double> dxd;
  Tensor4<float> dxf;
  ref.Backward(xd, ld, rd, wd, &dxd);
  net.Backward(xf, lf, rf, wf, &dxf);
  double gscale = 0;
  for (double g : ref.gradients()) gscale = std::max(gscale, std::abs(g));
  for (size_t k = 0; k < ref.gradients().size(); ++k)
    ASSERT_NEAR(net.gradients()[k], ref.gradients()[k], 2e-4 * gscale) << "gradient " << k;
  double dscale = 0;
  for (double g : dxd.data) dscale = std::max(dscale, std::abs(g));
  for (size_t k = 0; k < dxd.size(); ++k) ASSERT_NEAR(dxf.data[k], dxd.data[k], 2e-4 * dscale) << "dx " << k;

  // An inference workspace gives the same output as a training one.
  UNet<float>::Workspace wi(false);
  const auto& yi = net.Forward(xf, lf, wi);
  for (size_t k = 0; k < yi.size(); ++k) ASSERT_NEAR(yi.data[k], yd.data[k], 1e-4 * scale);
}

TEST(UNet, IsFullyConvolutionalAShiftedInputGivesAShiftedOutputAwayFromTheBorders) {
  UNetSpec spec = SmallSpec();
  spec.in_channels = 3;
  spec.channels = {8, 16, 16};
  spec.groups = 4;
  UNet<float> net(spec);
  Perturb(net, 6);
  const int H = 96, W = 128, shift = 8;
  const Tensor4<float> x = RandomTensor<float>(1, H, W, 3, 7);
  Tensor4<float> xs = x;  // xs(y, x + 8) = x(y, x), circularly (same pixel statistics)
  for (int i = 0; i < H; ++i)
    for (int j = 0; j < W; ++j)
      for (int c = 0; c < 3; ++c) xs.at(0, i, (j + shift) % W, c) = x.at(0, i, j, c);
  UNet<float>::Workspace ws;
  const Tensor4<float> y = net.Forward(x, {0.5f}, ws);
  const Tensor4<float> ys = net.Forward(xs, {0.5f}, ws);
  ASSERT_EQ(y.h, H);
  ASSERT_EQ(y.w, W);
  const int margin = 32;
  double worst = 0, scale = 0;
  for (int i = margin; i < H - margin; ++i)
    for (int j = margin; j < W - margin - shift; ++j)
      for (int c = 0; c < 3; ++c) {
        worst = std::max(worst, static_cast<double>(std::abs(ys.at(0, i, j + shift, c) - y.at(0, i, j, c))));
        scale = std::max(scale, static_cast<double>(std::abs(y.at(0, i, j, c))));
      }
  // GroupNorm's statistics see the borders (zero padding), so the match is close, not exact.
  EXPECT_LT(worst, 2e-2 * scale) << "worst " << worst << " of " << scale;
  // A shift that is not a multiple of the stride-2 grid is not equivariant: the test can tell.
  Tensor4<float> x1 = x;
  for (int i = 0; i < H; ++i)
    for (int j = 0; j < W; ++j)
      for (int c = 0; c < 3; ++c) x1.at(0, i, (j + 1) % W, c) = x.at(0, i, j, c);
  const Tensor4<float> y1 = net.Forward(x1, {0.5f}, ws);
  double worst1 = 0;
  for (int i = margin; i < H - margin; ++i)
    for (int j = margin; j < W - margin - 1; ++j)
      for (int c = 0; c < 3; ++c)
        worst1 = std::max(worst1, static_cast<double>(std::abs(y1.at(0, i, j + 1, c) - y.at(0, i, j, c))));
  EXPECT_GT(worst1, 5 * worst);
}

TEST(UNet, WrongShapesAreClearErrors) {
  UNet<float> net(SmallSpec());
  net.Initialize(1);
  UNet<float>::Workspace ws;
  EXPECT_THROW(net.Forward(RandomTensor<float>(1, 4, 4, 3, 1), {0.f}, ws), Error);  // 3 channels, net takes 2
  EXPECT_THROW(net.Forward(RandomTensor<float>(1, 5, 4, 2, 1), {0.f}, ws), Error);  // odd height
  EXPECT_THROW(net.Forward(RandomTensor<float>(2, 4, 4, 2, 1), {0.f}, ws), Error);  // one level for two samples
  UNetSpec bad = SmallSpec();
  bad.channels = {4, 7};
  EXPECT_THROW(UNet<float>{bad}, Error);
  EXPECT_NE(bad.Check().find("multiple of groups"), std::string::npos);
}

}  // namespace
}  // namespace diffuscope

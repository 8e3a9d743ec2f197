#include "core/forward/forward.h"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include <cmath>

namespace diffuscope {
namespace {

NoiseSchedule Linear(int T, bool zsnr = false) {
  ScheduleOptions o;
  o.num_steps = T;
  o.zero_terminal_snr = zsnr;
  return NoiseSchedule(o);
}

// Many samples of the same x0 (one value per column, rows = independent samples), to test moments.
Batch Replicated(int n, std::initializer_list<float> values) {
  Batch x(n, values.size());
  int c = 0;
  for (float v : values) x.col(c++).setConstant(v);
  return x;
}

// Mean and variance of column c; tolerance z * standard error of each.
void ExpectMoments(const Batch& x, int c, double mean, double var, double z = 5.0) {
  const double n = x.rows();
  const double m = x.col(c).cast<double>().mean();
  const double v = (x.col(c).cast<double>().array() - m).square().sum() / (n - 1);
  EXPECT_NEAR(m, mean, z * std::sqrt(var / n)) << "column " << c;
  EXPECT_NEAR(v, var, z * var * std::sqrt(2.0 / (n - 1))) << "column " << c;
}

TEST(Forward, ClosedFormMatchesMomentsOfQ) {
  for (auto kind : {ScheduleKind::kLinear, ScheduleKind::kCosine}) {
    ScheduleOptions o;
    o.kind = kind;
    NoiseSchedule s(o);
    ForwardProcess fp(s, Replicated(40000, {0.8f, -0.5f}), 3);
    for (int t : {1, 10, 250, 500, 999}) {
      SCOPED_TRACE(t);
      const Batch xt = fp.Closed(t);
      ExpectMoments(xt, 0, s.sqrt_alpha_bar(t) * 0.8, 1 - s.alpha_bar(t));
      ExpectMoments(xt, 1, s.sqrt_alpha_bar(t) * -0.5, 1 - s.alpha_bar(t));
    }
  }
}

TEST(Forward, MarkovPathMarginalsMatchClosedForm) {
  for (bool zsnr : {false, true}) {
    NoiseSchedule s = Linear(1000, zsnr);
    ForwardProcess fp(s, Replicated(40000, {0.7f}), 11);
    for (int t : {1, 2, 3, 100, 333, 500, 777, 999, 1000}) {
      SCOPED_TRACE(testing::Message() << "t " << t << (zsnr ? " zero-SNR" : ""));
      ExpectMoments(fp.Markov(t), 0, s.sqrt_alpha_bar(t) * 0.7, 1 - s.alpha_bar(t));
    }
  }
}

TEST(Forward, MarkovPathHasTheChainsJointLaw) {
  // Cov(x_s, x_t) for s < t on the chain is sqrt(abar_t / abar_s) (1 - abar_s): test it on the bridge,
  // across bisection levels (s and t in different subtrees).
  NoiseSchedule s = Linear(1000);
  ForwardProcess fp(s, Batch::Zero(40000, 1), 5);
  for (auto [a, b] : {std::pair{100, 700}, std::pair{499, 501}, std::pair{250, 251}, std::pair{3, 999}}) {
    const Batch xa = fp.Markov(a), xb = fp.Markov(b);
    const double cov = (xa.col(0).cast<double>().array() * xb.col(0).cast<double>().array()).mean();
    const double expected = std::sqrt(s.alpha_bar(b) / s.alpha_bar(a)) * (1 - s.alpha_bar(a));
    const double se = std::sqrt((1 - s.alpha_bar(a)) * (1 - s.alpha_bar(b)) / 40000.0);
    EXPECT_NEAR(cov, expected, 5 * se) << a << "," << b;
  }
}

TEST(Forward, MarkovStepsReproduceThePath) {
  for (bool zsnr : {false, true}) {
    NoiseSchedule s = Linear(200, zsnr);
    Batch x0(3, 4);
    x0 << 0.1f, -0.2f, 0.3f, 0.9f, -1, 1, 0, 0.5f, 0.25f, 0.75f, -0.75f, -0.25f;
    ForwardProcess fp(s, x0, 42);
    Batch x = x0;
    for (int t = 1; t <= 200; ++t) {
      x = ForwardMarkovStep(s, t, x, fp.MarkovNoise(t));
      ASSERT_LT((x - fp.Markov(t)).cwiseAbs().maxCoeff(), 2e-4f) << "t " << t;
    }
    // The path's z_t are standard normal increments: check their spread over many elements.
    ForwardProcess wide(s, Batch::Zero(1, 20000), 1);
    ExpectMoments(wide.MarkovNoise(57).transpose(), 0, 0.0, 1.0);
  }
}

TEST(Forward, SameSeedSameBitsAnyOrderAnyThreads) {
  NoiseSchedule s = Linear(1000);
  Batch x0 = Batch::Constant(2, 50000, 0.3f);
  ForwardProcess a(s, x0, 77), b(s, x0, 77), c(s, x0, 78);
  const Batch m500 = a.Markov(500);
  a.Markov(10);
  a.Markov(999);
  EXPECT_EQ(m500, a.Markov(500));  // scrubbing back shows the same x_t
  cv::setNumThreads(1);
  EXPECT_EQ(m500, b.Markov(500));
  EXPECT_EQ(a.Closed(321), b.Closed(321));
  EXPECT_EQ(a.ClosedFreshNoise(321, 4), b.ClosedFreshNoise(321, 4));
  cv::setNumThreads(-1);
  EXPECT_NE(a.ClosedFreshNoise(321, 4), a.ClosedFreshNoise(321, 5));
  EXPECT_NE(a.Closed(321), c.Closed(321));
  EXPECT_EQ(a.Closed(0), x0);
  EXPECT_EQ(a.Markov(0), x0);
}

TEST(Forward, DisplayPathEqualsClosedFormRounded) {
  NoiseSchedule s = Linear(1000);
  const int h = 37, w = 53;
  Batch x0(1, 3 * h * w);
  for (int i = 0; i < x0.cols(); ++i) x0(0, i) = std::sin(0.01f * i);
  ForwardProcess fp(s, x0, 9);
  DisplayImage img;
  ForwardClosedToDisplay(s, 200, fp.x0().data(), fp.eps().data(), 3, h, w, &img);
  const Batch xt = fp.Closed(200);
  ASSERT_EQ(img.pixels.size(), size_t(3 * h * w));
  for (int c = 0; c < 3; ++c)
    for (int p = 0; p < h * w; ++p) {
      const double expected = std::clamp(std::round((xt(0, c * h * w + p) + 1.0) * 127.5), 0.0, 255.0);
      ASSERT_NEAR(img.pixels[p * 3 + c], expected, 1.0);  // 1: float rounding at .5 boundaries
    }
  EXPECT_THROW(ForwardClosedToDisplay(s, 1001, fp.x0().data(), fp.eps().data(), 3, h, w, &img), Error);
}

TEST(Forward, BadInputIsAnError) {
  NoiseSchedule s = Linear(10);
  EXPECT_THROW(ForwardProcess(s, Batch(), 1), Error);
  Batch bad = Batch::Zero(1, 3);
  bad(0, 1) = std::nanf("");
  EXPECT_THROW(ForwardProcess(s, bad, 1), Error);
  ForwardProcess fp(s, Batch::Zero(1, 3), 1);
  EXPECT_THROW(fp.Closed(11), Error);
  EXPECT_THROW(fp.Markov(-1), Error);
  EXPECT_THROW(ForwardClosed(s, 1, Batch::Zero(1, 3), Batch::Zero(1, 2)), Error);
}

}  // namespace
}  // namespace diffuscope

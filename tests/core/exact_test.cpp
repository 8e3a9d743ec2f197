#include "core/models/exact.h"

#include <Eigen/Dense>
#include <gtest/gtest.h>

#include <cmath>

namespace diffuscope {
namespace {

TEST(Exact, MixtureScoreIsTheGradientOfItsLogDensity) {
  GaussianMixture m = GaussianMixture::EightGaussians(2.0, 0.3);
  m.covariances[3] << 0.2, 0.05, 0.05, 0.1;
  GaussianMixtureDenoiser d(m);
  Batch x(4, 2);
  x << 0.1f, 0.2f, 1.5f, -0.7f, -2.0f, 0.3f, 0.0f, 1.9f;
  for (double a : {0.999, 0.7, 0.2, 0.01}) {
    const Batch score = d.Score(x, a);
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 2; ++c) {
        Batch xp = x.row(r), xm = x.row(r);
        const float h = 1e-2f;
        xp(0, c) += h;
        xm(0, c) -= h;
        const double fd = (d.LogDensity(xp, a)[0] - d.LogDensity(xm, a)[0]) / (2 * h);
        EXPECT_NEAR(score(r, c), fd, 2e-3 * (1 + std::abs(fd))) << "a " << a;
      }
  }
}

TEST(Exact, TweedieLinksPosteriorMeanAndScore) {
  // E[x0 | x_t] = (x_t + (1 - a) score) / sqrt(a): two independent code paths must agree.
  GaussianMixture m = GaussianMixture::EightGaussians();
  GaussianMixtureDenoiser d(m);
  Batch x = m.Sample(50, 1) * 0.7f;
  for (double a : {0.99, 0.5, 0.05}) {
    const Batch tweedie = ((x.array() + float(1 - a) * d.Score(x, a).array()) / float(std::sqrt(a))).matrix();
    EXPECT_LT((tweedie - d.PosteriorMean(x, a)).cwiseAbs().maxCoeff(), 1e-4) << a;
  }
}

TEST(Exact, SingleGaussianPosteriorIsTheLinearEstimator) {
  GaussianMixture m;
  m.weights = {1.0};
  m.means = {Eigen::Vector2d(0.5, -1.0)};
  Eigen::Matrix2d S;
  S << 0.5, 0.1, 0.1, 0.3;
  m.covariances = {S};
  GaussianMixtureDenoiser d(m);
  Batch x(1, 2);
  x << 0.3f, 0.4f;
  const double a = 0.6;
  const Eigen::Vector2d mu = m.means[0];
  const Eigen::Vector2d expected = mu + std::sqrt(a) * S * (a * S + (1 - a) * Eigen::Matrix2d::Identity()).inverse() *
                                           (x.row(0).cast<double>().transpose() - std::sqrt(a) * mu);
  const Batch got = d.PosteriorMean(x, a);
  EXPECT_NEAR(got(0, 0), expected[0], 1e-5);
  EXPECT_NEAR(got(0, 1), expected[1], 1e-5);
}

TEST(Exact, EmpiricalMatchesBruteForceInDouble) {
  GaussianMixture m = GaussianMixture::EightGaussians();
  const Batch data = m.Sample(300, 3);
  EmpiricalDenoiser d(data);
  const Batch x = m.Sample(200, 4);  // 200 > one block of rows: both blocks are checked
  for (double a : {0.999, 0.5, 0.01}) {
    const Batch got = d.PosteriorMean(x, a);
    for (int r = 0; r < x.rows(); r += 13) {
      Eigen::VectorXd logits(data.rows());
      for (int i = 0; i < data.rows(); ++i)
        logits[i] = -(x.row(r).cast<double>() - std::sqrt(a) * data.row(i).cast<double>()).squaredNorm() / (2 * (1 - a));
      const Eigen::VectorXd w = (logits.array() - logits.maxCoeff()).exp();
      const Eigen::RowVectorXd expected = (w.transpose() * data.cast<double>()) / w.sum();
      EXPECT_LT((got.row(r).cast<double>() - expected).cwiseAbs().maxCoeff(), 2e-3) << "a " << a << " row " << r;
    }
  }
  // Far from everything (huge logits) stays finite: log-sum-exp.
  Batch far = Batch::Constant(1, 2, 1e4f);
  EXPECT_TRUE(d.PosteriorMean(far, 0.999).allFinite());
}

TEST(Exact, BadMixturesAreErrors) {
  GaussianMixture m = GaussianMixture::EightGaussians();
  m.weights[0] = 0.5;
  EXPECT_NE(m.Check().find("sum to 1"), std::string::npos);
  m = GaussianMixture::EightGaussians();
  m.covariances[2](0, 0) = -1;
  EXPECT_NE(m.Check().find("positive definite"), std::string::npos);
  EXPECT_THROW(GaussianMixtureDenoiser{m}, Error);
  EXPECT_THROW(EmpiricalDenoiser{Batch{}}, Error);
  GaussianMixtureDenoiser ok(GaussianMixture::EightGaussians());
  EXPECT_THROW(ok.PosteriorMean(Batch::Zero(1, 3), 0.5), Error);
}

}  // namespace
}  // namespace diffuscope

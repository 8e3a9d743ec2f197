#include "core/models/exact.h"

#include "core/data/points2d.h"
#include "core/models/registry.h"
#include "core/sampling/sampler.h"

#include <gtest/gtest.h>
#include <Eigen/Dense>

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
        logits[i] =
            -(x.row(r).cast<double>() - std::sqrt(a) * data.row(i).cast<double>()).squaredNorm() / (2 * (1 - a));
      const Eigen::VectorXd w = (logits.array() - logits.maxCoeff()).exp();
      const Eigen::RowVectorXd expected = (w.transpose() * data.cast<double>()) / w.sum();
      EXPECT_LT((got.row(r).cast<double>() - expected).cwiseAbs().maxCoeff(), 2e-3) << "a " << a << " row " << r;
    }
  }
  // Far from everything (huge logits) stays finite: log-sum-exp.
  Batch far = Batch::Constant(1, 2, 1e4f);
  EXPECT_TRUE(d.PosteriorMean(far, 0.999).allFinite());
}

// Data at scale 5 with an offset, x = 5 z + (10, -3), run through the normalised space x -> (x - c) / s.
constexpr double kScale = 5.0;
const Eigen::Vector2d kShift(10.0, -3.0);
ScheduleOptions Cosine50() {
  ScheduleOptions o;
  o.kind = ScheduleKind::kCosine;
  o.num_steps = 50;
  return o;
}

TEST(Exact, MixtureSamplesInDataUnitsHaveTheMixturesMeanAndCovariance) {
  // The law in data units and the normalisation of its run: the map to unit scale is the inverse affine map.
  const GaussianMixture unit = GaussianMixture::EightGaussians(std::sqrt(2.0), 0.1);
  const GaussianMixture law = unit.Affine(kScale, kShift);
  const PointNormalization normalization{kShift[0], kShift[1], kScale};
  const GaussianMixture normalised = law.Affine(1.0 / kScale, -kShift / kScale);
  for (size_t k = 0; k < unit.means.size(); ++k) {
    EXPECT_LT((normalised.means[k] - unit.means[k]).norm(), 1e-12);
    EXPECT_LT((normalised.covariances[k] - unit.covariances[k]).norm(), 1e-12);
  }
  const NoiseSchedule schedule(Cosine50());
  GaussianMixtureDenoiser in_unit(normalised);
  const int n = 4000;
  const Batch samples = normalization.ToData(Sample(schedule, in_unit, SamplerOptions{}, InitialNoise(n, 2, 7)));
  // Exact answers: mean (10, -3) and covariance 25 (1 + 0.01) I of the law; 5 standard errors of n samples.
  const Eigen::RowVector2d mean = samples.cast<double>().colwise().mean();
  const Eigen::MatrixXd centred = samples.cast<double>().rowwise() - mean;
  const Eigen::Matrix2d covariance = centred.transpose() * centred / (n - 1.0);
  const Eigen::Matrix2d expected = law.Covariance();
  EXPECT_NEAR(expected(0, 0), 25.25, 1e-9);
  for (int d = 0; d < 2; ++d) {
    EXPECT_NEAR(mean[d], law.Mean()[d], 5 * std::sqrt(expected(d, d) / n));
    EXPECT_NEAR(covariance(d, d), expected(d, d), 5 * expected(d, d) * std::sqrt(2.0 / n));
  }
  EXPECT_NEAR(covariance(0, 1), 0.0, 5 * expected(0, 0) / std::sqrt(n));
  // The normalised run is the unit run mapped: the same seed gives the unit samples times 5 plus (10, -3).
  GaussianMixtureDenoiser eight(unit);
  const Batch unit_samples = Sample(schedule, eight, SamplerOptions{}, InitialNoise(n, 2, 7));
  EXPECT_LT((normalization.ToData(unit_samples) - samples).cwiseAbs().maxCoeff(), 1e-4f);
}

TEST(Exact, EmpiricalRunsOfScaledDataAreTheUnitRunsMapped) {
  // The registry builds the empirical denoiser on the data mapped with the context's normalisation (the data's), so
  // a reverse run of x = 5 z + (10, -3) is the run of z mapped back: the picture matches a learned model's.
  const Batch z = GaussianMixture::EightGaussians(std::sqrt(2.0), 0.1).Sample(800, 3);
  Batch x = static_cast<float>(kScale) * z;
  x.col(0).array() += static_cast<float>(kShift[0]);
  x.col(1).array() += static_cast<float>(kShift[1]);
  const PointNormalization normalization = PointNormalization::Of(x);
  const PointNormalization unit_normalization = PointNormalization::Of(z);
  OpenedModel scaled = OpenModel("empirical", {.x0 = &x, .data = &x, .normalization = normalization});
  OpenedModel unit = OpenModel("empirical", {.x0 = &z, .data = &z, .normalization = unit_normalization});
  EXPECT_EQ(scaled.normalization, normalization);
  const NoiseSchedule schedule(Cosine50());
  SamplerOptions options;
  options.seed = 4;
  const Batch xs = normalization.ToData(Sample(schedule, *scaled.denoiser, options, InitialNoise(1000, 2, 5)));
  const Batch zs = unit_normalization.ToData(Sample(schedule, *unit.denoiser, options, InitialNoise(1000, 2, 5)));
  Batch expected = static_cast<float>(kScale) * zs;
  expected.col(0).array() += static_cast<float>(kShift[0]);
  expected.col(1).array() += static_cast<float>(kShift[1]);
  // Rounding apart (near t = 0 a sample may snap to the other of two almost equidistant points): the same run.
  const Eigen::ArrayXf error = (xs - expected).cwiseAbs().rowwise().maxCoeff().array();
  EXPECT_LE((error > 2e-3f).count(), 10) << "of 1000";
  // The samples are the data's points (the empirical denoiser reproduces its data): each lies on one of them.
  double worst = 0;
  for (Eigen::Index i = 0; i < xs.rows(); i += 37)
    worst = std::max(worst, static_cast<double>((x.rowwise() - xs.row(i)).rowwise().norm().minCoeff()));
  EXPECT_LT(worst, 0.05 * kScale);
  // The mixture's law is at unit scale: the registry's mixture runs with identity.
  EXPECT_TRUE(OpenModel("mixture", {.normalization = normalization}).normalization.identity());
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

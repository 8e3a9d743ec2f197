#include "core/models/exact.h"
#include "core/sampling/sampler.h"

#include <gtest/gtest.h>

#include <cmath>

namespace diffuscope {
namespace {

// A model that predicts a constant eps: enough to check one step against REFERENCE.md by hand.
class ConstantEps : public Denoiser {
 public:
  explicit ConstantEps(float eps) : eps_(eps) {}
  std::string name() const override { return "constant eps"; }
  Prediction Predict(const Batch& x_t, const DenoiseQuery&) override {
    return {PredictionKind::kEps, Batch::Constant(x_t.rows(), x_t.cols(), eps_), VarianceKind::kNone, {}};
  }

 private:
  float eps_;
};

// Predicts x0 = 0 with a learned-range variance value v everywhere (improved DDPM's output).
class LearnedRange : public Denoiser {
 public:
  explicit LearnedRange(float v) : v_(v) {}
  std::string name() const override { return "learned range"; }
  Prediction Predict(const Batch& x_t, const DenoiseQuery&) override {
    return {PredictionKind::kX0, Batch::Zero(x_t.rows(), x_t.cols()), VarianceKind::kLearnedRange,
            Batch::Constant(x_t.rows(), x_t.cols(), v_)};
  }

 private:
  float v_;
};

TEST(Sampling, VarianceChoices) {
  NoiseSchedule s;
  SamplerOptions o;
  o.num_steps = 10;
  o.spacing = Spacing::kLinspace;
  auto first_step = [&](Denoiser& model, VarianceChoice choice) {
    o.variance = choice;
    Sampler sampler(s, model, o, InitialNoise(2, 3, 1));
    return sampler.Next();
  };
  LearnedRange upper(1.0f), lower(-1.0f), middle(0.0f);
  // Strided step t = 1000 -> 889: beta' = 1 - abar_t / abar_prev, beta~' = beta' (1 - abar_prev) / (1 - abar_t).
  const double a = s.alpha_bar(1000), ap = s.alpha_bar(889);
  const double beta = 1 - a / ap, small = beta * (1 - ap) / (1 - a);
  EXPECT_NEAR(first_step(upper, VarianceChoice::kFixedSmall).variance, small, 1e-9);
  EXPECT_NEAR(first_step(upper, VarianceChoice::kFixedLarge).variance, beta, 1e-9);
  EXPECT_NEAR(first_step(upper, VarianceChoice::kLearned).variance_field(0, 0), beta, 1e-5 * beta);
  EXPECT_NEAR(first_step(lower, VarianceChoice::kLearned).variance_field(1, 2), small, 1e-5 * small);
  EXPECT_NEAR(first_step(middle, VarianceChoice::kLearned).variance_field(0, 1), std::sqrt(small * beta),
              1e-5 * beta);  // the geometric mean: log-linear interpolation
  ConstantEps fixed(0.1f);
  EXPECT_THROW(first_step(fixed, VarianceChoice::kLearned), Error);  // the model has no variance
  // DDIM with eta = 1 has the DDPM posterior variance of the strided step.
  o.kind = SamplerKind::kDdim;
  o.eta = 1.0;
  EXPECT_NEAR(first_step(fixed, VarianceChoice::kFixedSmall).variance, small, 1e-9);
}

TEST(Sampling, TimestepSpacingsMatchReference) {
  EXPECT_EQ(SpacedTimesteps(1000, 7, Spacing::kLeading), (std::vector<int>{852, 710, 568, 426, 284, 142, 0}));
  EXPECT_EQ(SpacedTimesteps(1000, 7, Spacing::kTrailing), (std::vector<int>{999, 856, 713, 570, 428, 285, 142}));
  EXPECT_EQ(SpacedTimesteps(1000, 7, Spacing::kLinspace), (std::vector<int>{999, 832, 666, 500, 333, 166, 0}));
  EXPECT_EQ(SpacedTimesteps(5, 5, Spacing::kTrailing), (std::vector<int>{4, 3, 2, 1, 0}));
  EXPECT_THROW(SpacedTimesteps(10, 11, Spacing::kLinspace), Error);
  EXPECT_THROW(SpacedTimesteps(10, 0, Spacing::kLinspace), Error);
}

TEST(Sampling, DdpmStepMatchesReference) {
  NoiseSchedule s;  // linear, T = 1000
  ConstantEps model(0.2f);
  // One full-length run started at t = 500 takes its first step from t = 500 to 499: REFERENCE.md's step.
  SamplerOptions o;
  Sampler sampler(s, model, o, Batch::Constant(1, 1, 0.3f), nullptr, 500);
  const Step& step = sampler.Next();
  EXPECT_EQ(step.t, 500);
  EXPECT_EQ(step.t_prev, 499);
  EXPECT_NEAR(step.x0_hat(0, 0), 0.385324087, 1e-6);
  EXPECT_NEAR(step.mean(0, 0), 0.299414973, 1e-6);
  EXPECT_NEAR(step.variance, s.posterior_variance(500), 1e-12);
  // The same step in eps form: mu = (x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(alpha_t).
  const double mu = (0.3 - s.beta(500) / std::sqrt(1 - s.alpha_bar(500)) * 0.2) / std::sqrt(s.alpha(500));
  EXPECT_NEAR(step.mean(0, 0), mu, 1e-6);
}

TEST(Sampling, PredictionKindsAgree) {
  // eps, x0 and v predictions of the same truth give the same x0_hat and eps_hat.
  const double a = 0.37;
  Batch x_t = Batch::Constant(1, 3, 0.4f), x0 = Batch::Constant(1, 3, -0.2f);
  const Batch eps = ((x_t.array() - float(std::sqrt(a)) * x0.array()) / float(std::sqrt(1 - a))).matrix();
  const Batch v = (float(std::sqrt(a)) * eps.array() - float(std::sqrt(1 - a)) * x0.array()).matrix();
  for (auto [kind, value] : {std::pair{PredictionKind::kEps, eps}, std::pair{PredictionKind::kX0, x0},
                             std::pair{PredictionKind::kV, v}}) {
    Batch xh, eh;
    PredictionToX0Eps({kind, value, VarianceKind::kNone, {}}, x_t, a, 0.5, 0.1, 0.9, &xh, &eh);
    EXPECT_LT((xh - x0).cwiseAbs().maxCoeff(), 1e-5);
    EXPECT_LT((eh - eps).cwiseAbs().maxCoeff(), 1e-5);
  }
  Batch xh, eh;
  EXPECT_THROW(PredictionToX0Eps({PredictionKind::kEps, eps, VarianceKind::kNone, {}}, x_t, 0.0, 0.5, 0.1, 0.9, &xh, &eh),
               Error);
}

GaussianMixture Skewed() {
  GaussianMixture m;
  m.weights = {0.3, 0.7};
  m.means = {Eigen::Vector2d(-1.0, 0.5), Eigen::Vector2d(1.2, -0.4)};
  Eigen::Matrix2d c1, c2;
  c1 << 0.2, 0.08, 0.08, 0.1;
  c2 << 0.05, -0.02, -0.02, 0.3;
  m.covariances = {c1, c2};
  return m;
}

void ExpectMixtureMoments(const Batch& x, const GaussianMixture& m) {
  const int n = static_cast<int>(x.rows());
  const Eigen::MatrixXd xd = x.cast<double>();
  const Eigen::Vector2d mean = xd.colwise().mean();
  const Eigen::MatrixXd centered = xd.rowwise() - mean.transpose();
  const Eigen::Matrix2d cov = centered.transpose() * centered / (n - 1);
  const Eigen::Vector2d true_mean = m.Mean();
  const Eigen::Matrix2d true_cov = m.Covariance();
  for (int i = 0; i < 2; ++i) {
    // 5 standard errors of the mean, and of each covariance entry (normal-theory se, inflated 1.5x for the
    // mixture's excess kurtosis).
    EXPECT_NEAR(mean[i], true_mean[i], 5 * std::sqrt(true_cov(i, i) / n)) << "mean " << i;
    for (int j = 0; j < 2; ++j) {
      const double se = 1.5 * std::sqrt((true_cov(i, j) * true_cov(i, j) + true_cov(i, i) * true_cov(j, j)) / n);
      EXPECT_NEAR(cov(i, j), true_cov(i, j), 5 * se) << "cov " << i << j;
    }
  }
}

TEST(Sampling, DdpmWithExactMixtureRecoversMixture) {
  GaussianMixture m = Skewed();
  GaussianMixtureDenoiser model(m);
  NoiseSchedule s;  // linear, T = 1000
  SamplerOptions o;
  o.seed = 17;
  const Batch x = Sample(s, model, o, InitialNoise(8000, 2, 5));
  ExpectMixtureMoments(x, m);
}

TEST(Sampling, DdimWithExactMixtureRecoversMixture) {
  GaussianMixture m = Skewed();
  GaussianMixtureDenoiser model(m);
  ScheduleOptions so;
  so.kind = ScheduleKind::kCosine;
  NoiseSchedule s(so);
  SamplerOptions o;
  o.kind = SamplerKind::kDdim;
  o.num_steps = 50;
  o.seed = 3;
  int steps = 0;
  const Batch x = Sample(s, model, o, InitialNoise(8000, 2, 6), [&](const Step&) { ++steps; });
  EXPECT_EQ(steps, 50);
  ExpectMixtureMoments(x, m);
}

TEST(Sampling, StepRecordsAreConsistent) {
  GaussianMixtureDenoiser model(GaussianMixture::EightGaussians());
  NoiseSchedule s;
  SamplerOptions o;
  o.num_steps = 20;
  o.spacing = Spacing::kLinspace;  // ends at t = 1
  o.seed = 1;
  Sampler sampler(s, model, o, InitialNoise(64, 2, 2));
  EXPECT_EQ(sampler.steps_total(), 20);
  int last_t = 1001;
  while (!sampler.done()) {
    Batch before = sampler.x();
    const Step& step = sampler.Next();
    EXPECT_EQ(step.x_t, before);
    EXPECT_LT(step.t, last_t);
    last_t = step.t;
    // x_t = sqrt(abar) x0_hat + sqrt(1 - abar) eps_hat, always.
    const Batch recomposed = (float(std::sqrt(step.alpha_bar)) * step.x0_hat.array() +
                              float(std::sqrt(1 - step.alpha_bar)) * step.eps_hat.array()).matrix();
    EXPECT_LT((recomposed - step.x_t).cwiseAbs().maxCoeff(), 1e-4);
    EXPECT_EQ(step.x_prev, sampler.x());
  }
  EXPECT_EQ(last_t, 1);
}

TEST(Sampling, ClippingThresholdingAndCancel) {
  Batch x0 = Batch::Constant(2, 10, 3.0f);
  x0(1, 0) = -5.0f;
  DynamicThreshold(&x0, 0.995);
  EXPECT_LE(x0.cwiseAbs().maxCoeff(), 1.0f + 1e-6f);
  PosteriorOracle oracle(Batch::Constant(1, 4, 2.0f));
  NoiseSchedule s;
  SamplerOptions o;
  o.clip_x0 = true;
  o.num_steps = 10;
  Sampler sampler(s, oracle, o, InitialNoise(3, 4, 1));
  EXPECT_LE(sampler.Next().x0_hat.maxCoeff(), 1.0f);
  int calls = 0;
  EXPECT_THROW(Sample(s, oracle, o, InitialNoise(3, 4, 1), {}, [&] { return ++calls > 3; }), Cancelled);
  o.num_steps = -1;
  EXPECT_THROW(Sampler(s, oracle, o, InitialNoise(3, 4, 1)), Error);
  o.num_steps = 0;
  EXPECT_THROW(Sampler(s, oracle, o, InitialNoise(3, 5, 1)), Error);  // wrong dimension
}

TEST(Sampling, OracleReversePathEndsOnData) {
  Batch x0(1, 3);
  x0 << 0.5f, -0.25f, 0.9f;
  PosteriorOracle oracle(x0);
  NoiseSchedule s;
  SamplerOptions o;
  o.seed = 4;
  const Batch x = Sample(s, oracle, o, InitialNoise(5, 3, 9));
  for (int r = 0; r < 5; ++r) EXPECT_LT((x.row(r) - x0).cwiseAbs().maxCoeff(), 1e-4);
  // Same seed, same bits; another seed, another path.
  EXPECT_EQ(Sample(s, oracle, o, InitialNoise(5, 3, 9), {}, {}, nullptr, 400),
            Sample(s, oracle, o, InitialNoise(5, 3, 9), {}, {}, nullptr, 400));
}

}  // namespace
}  // namespace diffuscope

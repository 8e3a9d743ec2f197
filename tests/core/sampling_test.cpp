#include "core/models/exact.h"
#include "core/run/run_spec.h"
#include "core/sampling/flow_sampler.h"
#include "core/sampling/sampler.h"

#include <gtest/gtest-spi.h>
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
  for (auto [kind, value] :
       {std::pair{PredictionKind::kEps, eps}, std::pair{PredictionKind::kX0, x0}, std::pair{PredictionKind::kV, v}}) {
    Batch xh, eh;
    PredictionToX0Eps({kind, value, VarianceKind::kNone, {}}, x_t, a, 0.5, 0.1, 0.9, &xh, &eh);
    EXPECT_LT((xh - x0).cwiseAbs().maxCoeff(), 1e-5);
    EXPECT_LT((eh - eps).cwiseAbs().maxCoeff(), 1e-5);
  }
  Batch xh, eh;
  EXPECT_THROW(
      PredictionToX0Eps({PredictionKind::kEps, eps, VarianceKind::kNone, {}}, x_t, 0.0, 0.5, 0.1, 0.9, &xh, &eh),
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
                              float(std::sqrt(1 - step.alpha_bar)) * step.eps_hat.array())
                                 .matrix();
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

// ---- The samplers beyond DDPM / DDIM (issue 10) ----

const std::vector<SamplerKind> kNewSamplers = {SamplerKind::kOdeEuler,   SamplerKind::kSdeEuler,
                                               SamplerKind::kHeunKarras, SamplerKind::kDpmSolverPP,
                                               SamplerKind::kFlowEuler,  SamplerKind::kFlowHeun};
bool TwoPerStep(SamplerKind kind) { return kind == SamplerKind::kHeunKarras || kind == SamplerKind::kFlowHeun; }

// Counts the model's calls and checks that every query names its noise level twice consistently: through
// alpha_bar and through (t, schedule), since learned models on their own schedule read t.
class Recording : public Denoiser {
 public:
  explicit Recording(Denoiser& inner) : inner_(inner) {}
  std::string name() const override { return "recording"; }
  int dimension() const override { return inner_.dimension(); }
  Prediction Predict(const Batch& x_t, const DenoiseQuery& q) override {
    ++calls;
    EXPECT_NE(q.schedule, nullptr);
    if (q.schedule) {
      EXPECT_EQ(q.schedule->alpha_bar(q.t), q.alpha_bar) << "t = " << q.t;
      EXPECT_LT(q.t_prev, q.t);
    }
    alpha_bars.push_back(q.alpha_bar);
    return inner_.Predict(x_t, q);
  }
  int calls = 0;
  std::vector<double> alpha_bars;

 private:
  Denoiser& inner_;
};

TEST(Samplers, NamesRoundTrip) {
  // Appended, never renamed: files name samplers by these strings.
  const std::vector<std::string> names = {"ddpm",        "ddim",         "ode-euler",  "sde-euler",
                                          "heun-karras", "dpm-solver++", "flow-euler", "flow-heun"};
  ASSERT_EQ(AllSamplerKinds().size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(SamplerKindName(AllSamplerKinds()[i]), names[i]);
    EXPECT_EQ(ParseSamplerKind(names[i]), AllSamplerKinds()[i]);
  }
  EXPECT_FALSE(ParseSamplerKind("heun").has_value());
  EXPECT_TRUE(SamplerIsStochastic(SamplerKind::kSdeEuler));
  EXPECT_TRUE(SamplerIsStochastic(SamplerKind::kDdim, 0.5));
  EXPECT_FALSE(SamplerIsStochastic(SamplerKind::kDdim, 0.0));
  EXPECT_FALSE(SamplerIsStochastic(SamplerKind::kHeunKarras));
  EXPECT_FALSE(SamplerIsStochastic(SamplerKind::kDpmSolverPP));
  EXPECT_FALSE(SamplerIsStochastic(SamplerKind::kFlowEuler));
  EXPECT_FALSE(SamplerIsStochastic(SamplerKind::kFlowHeun));
  EXPECT_EQ(DescribeSamplerRun(SamplerKind::kFlowHeun, 8), "FLOW-HEUN 8 steps (NFE 15)");
  EXPECT_EQ(DescribeSamplerRun(SamplerKind::kDpmSolverPP, 20), "DPM-SOLVER++ 20 steps (NFE 20)");
  EXPECT_EQ(DescribeSamplerRun(SamplerKind::kDdpm, 1), "DDPM 1 step (NFE 1)");
}

TEST(Samplers, KarrasSigmasMatchReference) {
  const std::vector<double> expected = {80,         42.4151893,  21.1086767,  9.72320136,   4.0661236,
                                        1.50174198, 0.469979058, 0.116638564, 0.0204353346, 0.002};
  const std::vector<double> sigmas = KarrasSigmas(10, 0.002, 80, 7);
  ASSERT_EQ(sigmas.size(), expected.size());
  for (size_t i = 0; i < sigmas.size(); ++i) EXPECT_NEAR(sigmas[i], expected[i], 1e-7 * expected[i]) << i;
  EXPECT_EQ(KarrasSigmas(1, 0.002, 80, 7), std::vector<double>{80});
  EXPECT_THROW(KarrasSigmas(0, 0.002, 80, 7), Error);
  EXPECT_THROW(KarrasSigmas(5, 0.0, 80, 7), Error);
  EXPECT_THROW(KarrasSigmas(5, 1.0, 0.5, 7), Error);
  // The schedule on these levels: sigma_t ascending in t, alpha_bar = 1 / (1 + sigma^2).
  const NoiseSchedule karras(KarrasScheduleOptions(10));
  for (int t = 1; t <= 10; ++t)
    EXPECT_NEAR(std::sqrt((1 - karras.alpha_bar(t)) / karras.alpha_bar(t)), expected[10 - t], 1e-6 * expected[10 - t]);
}

TEST(Samplers, CheckRefusesBadOptions) {
  SamplerOptions o;
  o.kind = SamplerKind::kHeunKarras;
  EXPECT_EQ(o.Check(), "");
  for (double rho : {0.0, -1.0, double(NAN), double(INFINITY)}) {
    o.rho = rho;
    EXPECT_NE(o.Check().find("rho"), std::string::npos) << rho;
  }
  GaussianMixtureDenoiser model(Skewed());
  NoiseSchedule s;
  EXPECT_THROW(Sampler(s, model, o, InitialNoise(4, 2, 1)), Error);
  o.rho = 7;
  // A start at alpha_bar = 0 has no finite sigma or log(alpha_bar): refused with a message, not NaN.
  ScheduleOptions zero;
  zero.zero_terminal_snr = true;
  const NoiseSchedule zs(zero);
  for (SamplerKind kind : {SamplerKind::kOdeEuler, SamplerKind::kSdeEuler, SamplerKind::kHeunKarras}) {
    o.kind = kind;
    o.num_steps = 10;
    try {
      Sampler sampler(zs, model, o, InitialNoise(4, 2, 1));
      ADD_FAILURE() << SamplerKindName(kind) << " accepted alpha_bar_T = 0";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("zero terminal SNR"), std::string::npos) << e.what();
    }
  }
  // DPM-Solver++ steps from alpha_bar = 0 with an x0 model (its first step is x_prev = sigma_prev x + alpha_prev x0).
  PosteriorOracle oracle(Batch::Constant(1, 2, 0.5f));
  o.kind = SamplerKind::kDpmSolverPP;
  const Batch x = Sample(zs, oracle, o, InitialNoise(4, 2, 1));
  EXPECT_LT((x.array() - 0.5f).abs().maxCoeff(), 1e-5);
  // A model of the reverse mean steps only with ddpm.
  class MeanModel : public Denoiser {
   public:
    std::string name() const override { return "mean"; }
    Prediction Predict(const Batch& x_t, const DenoiseQuery&) override {
      return {PredictionKind::kMean, x_t, VarianceKind::kNone, {}};
    }
  } mean_model;
  for (SamplerKind kind : kNewSamplers) {
    o.kind = kind;
    o.num_steps = 0;
    Sampler sampler(s, mean_model, o, InitialNoise(2, 2, 1));
    EXPECT_THROW(sampler.Next(), Error) << SamplerKindName(kind);
  }
}

TEST(Samplers, NfeCountsAreExact) {
  GaussianMixtureDenoiser exact(Skewed());
  NoiseSchedule s;
  for (SamplerKind kind : AllSamplerKinds()) {
    for (int K : {1, 2, 7, 25}) {
      Recording model(exact);
      SamplerOptions o;
      o.kind = kind;
      o.num_steps = K;
      Sampler sampler(s, model, o, InitialNoise(3, 2, 1));
      EXPECT_EQ(sampler.nfe_total(), SamplerNfe(kind, K));
      int sum = 0;
      while (!sampler.done()) {
        const Step& step = sampler.Next();
        const bool last = sampler.done();
        EXPECT_EQ(step.nfe, TwoPerStep(kind) && !last ? 2 : 1) << SamplerKindName(kind) << " K " << K;
        sum += step.nfe;
      }
      const int expected = TwoPerStep(kind) ? 2 * K - 1 : K;
      EXPECT_EQ(sum, expected);
      EXPECT_EQ(model.calls, expected);
      EXPECT_EQ(sampler.nfe(), expected);
      EXPECT_EQ(SamplerStepsForNfe(kind, expected), K);
    }
  }
  EXPECT_EQ(SamplerStepsForNfe(SamplerKind::kHeunKarras, 10), 5);  // 9 fit, 11 do not
  EXPECT_EQ(SamplerStepsForNfe(SamplerKind::kHeunKarras, 1), 1);
  EXPECT_EQ(SamplerStepsForNfe(SamplerKind::kFlowHeun, 15), 8);
}

TEST(Samplers, StepFieldsStayMeaningful) {
  GaussianMixtureDenoiser exact(GaussianMixture::EightGaussians());
  NoiseSchedule s;
  for (SamplerKind kind : kNewSamplers) {
    Recording model(exact);
    SamplerOptions o;
    o.kind = kind;
    o.num_steps = 12;
    o.seed = 3;
    Sampler sampler(s, model, o, InitialNoise(16, 2, 2));
    ASSERT_EQ(sampler.alpha_bars().size(), 13u);
    EXPECT_EQ(sampler.timesteps().front(), 1000);
    int last_t = 1001;
    while (!sampler.done()) {
      const Batch before = sampler.x();
      const int index = sampler.steps_done();
      const Step& step = sampler.Next();
      EXPECT_EQ(step.x_t, before);
      EXPECT_LT(step.t, last_t);  // every step has its own t, also Heun's off-grid levels
      last_t = step.t;
      EXPECT_EQ(step.alpha_bar, sampler.alpha_bars()[index]);
      EXPECT_EQ(step.alpha_bar_prev, sampler.alpha_bars()[index + 1]);
      const Batch recomposed = (float(std::sqrt(step.alpha_bar)) * step.x0_hat.array() +
                                float(std::sqrt(1 - step.alpha_bar)) * step.eps_hat.array())
                                   .matrix();
      EXPECT_LT((recomposed - step.x_t).cwiseAbs().maxCoeff(), 1e-3) << SamplerKindName(kind);
      EXPECT_EQ(step.x_prev, sampler.x());
      if (kind == SamplerKind::kSdeEuler && step.t_prev > 0) {
        EXPECT_NEAR(step.variance, std::log(step.alpha_bar_prev / step.alpha_bar), 1e-12);
        EXPECT_NE(step.x_prev, step.mean);
      } else {
        EXPECT_EQ(step.variance, 0.0);
        EXPECT_EQ(step.x_prev, step.mean);  // the deterministic part is all of it
      }
    }
    EXPECT_NEAR(model.alpha_bars.front(), s.alpha_bar(1000), 1e-12 * s.alpha_bar(1000));
    if (kind == SamplerKind::kHeunKarras) {
      // The model was asked at the Karras levels between sigma_T and sigma_1 (its second evaluations included).
      const std::vector<double> sigmas = KarrasSigmas(12, std::sqrt((1 - s.alpha_bar(1)) / s.alpha_bar(1)),
                                                      std::sqrt((1 - s.alpha_bar(1000)) / s.alpha_bar(1000)), 7);
      for (int k = 0; k < 12; ++k)
        EXPECT_NEAR(sampler.alpha_bars()[k], 1 / (1 + sigmas[k] * sigmas[k]), 1e-12 + 1e-9 * sampler.alpha_bars()[k]);
      EXPECT_EQ(sampler.timesteps().back(), 1);
      // Step.t is the timestep nearest in log-SNR (12 levels of 1000 steps: no two share one).
      for (int k = 0; k < 12; ++k) {
        const double a = sampler.alpha_bars()[k], lam = std::log(a / (1 - a));
        int nearest = 1;
        for (int t = 1; t <= 1000; ++t)
          if (std::abs(s.log_snr(t) - lam) < std::abs(s.log_snr(nearest) - lam)) nearest = t;
        EXPECT_EQ(sampler.timesteps()[k], nearest) << k;
      }
    } else if (kind == SamplerKind::kFlowEuler || kind == SamplerKind::kFlowHeun) {
      // Uniform flow time from x_T's s to 0: alpha_bar of s_k = s_T k / 12.
      const double s_T = FlowTimeOfAlphaBar(s.alpha_bar(1000));
      for (int k = 0; k < 12; ++k) {
        const double a = FlowAlphaBar(s_T * (12 - k) / 12);
        EXPECT_NEAR(sampler.alpha_bars()[k], a, 1e-12 + 1e-9 * a) << k;
      }
      EXPECT_GT(sampler.timesteps().back(), 1);  // s_T / 12 is far above the schedule's first level
    } else {
      std::vector<int> spaced;
      for (int i : SpacedTimesteps(1000, 12, Spacing::kTrailing)) spaced.push_back(i + 1);
      EXPECT_EQ(sampler.timesteps(), spaced);
    }
  }
}

TEST(Samplers, StepsMatchClosedForms) {
  NoiseSchedule s;
  // Constant eps: dy/dsigma = eps is constant, so Heun's (and Euler's) step in y = x / sqrt(abar) is exact.
  ConstantEps model(0.3f);
  SamplerOptions o;
  o.kind = SamplerKind::kHeunKarras;
  o.num_steps = 4;
  Sampler heun(s, model, o, Batch::Constant(1, 1, 0.7f));
  while (!heun.done()) {
    const Step& step = heun.Next();
    const double sigma = std::sqrt((1 - step.alpha_bar) / step.alpha_bar);
    const double sigma_prev = step.t_prev == 0 ? 0 : std::sqrt((1 - step.alpha_bar_prev) / step.alpha_bar_prev);
    const double y_prev = step.x_t(0, 0) / std::sqrt(step.alpha_bar) + (sigma_prev - sigma) * 0.3;
    EXPECT_NEAR(step.x_prev(0, 0), std::sqrt(step.alpha_bar_prev) * y_prev, 1e-5 * (1 + std::abs(y_prev)));
  }
  // ODE and SDE Euler in log(alpha_bar): x_prev = x + dl/2 (x + score), and x + dl (x/2 + score) + sqrt(dl) z.
  for (SamplerKind kind : {SamplerKind::kOdeEuler, SamplerKind::kSdeEuler}) {
    o.kind = kind;
    o.num_steps = 10;
    Sampler sampler(s, model, o, Batch::Constant(1, 1, 0.7f));
    const Step& step = sampler.Next();
    const double dl = std::log(s.alpha_bar(900) / s.alpha_bar(1000)), score = -0.3 / std::sqrt(1 - s.alpha_bar(1000));
    const double mean = kind == SamplerKind::kOdeEuler ? 0.7 + dl / 2 * (0.7 + score) : 0.7 + dl * (0.35 + score);
    EXPECT_NEAR(step.mean(0, 0), mean, 1e-5);
  }
  // A constant x0 (the oracle): the probability-flow ODE is y(sigma) = x0 + sigma / sigma_t (y_t - x0), which DDIM
  // and DPM-Solver++ (first and second order alike) follow exactly.
  PosteriorOracle oracle(Batch::Constant(1, 2, -0.4f));
  o.num_steps = 9;
  o.kind = SamplerKind::kDdim;
  Sampler ddim(s, oracle, o, InitialNoise(5, 2, 4));
  o.kind = SamplerKind::kDpmSolverPP;
  Sampler dpm(s, oracle, o, InitialNoise(5, 2, 4));
  while (!ddim.done()) {
    const Step& a = ddim.Next();
    const Batch ddim_x = a.x_prev;
    const Step& b = dpm.Next();
    EXPECT_LT((b.x_prev - ddim_x).cwiseAbs().maxCoeff(), 1e-5) << "t = " << b.t;
  }
}

TEST(Samplers, ClipAndThresholdApplyToX0Hat) {
  PosteriorOracle oracle(Batch::Constant(1, 4, 2.0f));
  NoiseSchedule s;
  for (SamplerKind kind : kNewSamplers) {
    SamplerOptions o;
    o.kind = kind;
    o.num_steps = 10;
    o.clip_x0 = true;
    Sampler sampler(s, oracle, o, InitialNoise(3, 4, 1));
    while (!sampler.done()) EXPECT_LE(sampler.Next().x0_hat.maxCoeff(), 1.0f) << SamplerKindName(kind);
    // The clipped x0_hat = 1 is the oracle's data now: the run ends there.
    EXPECT_LT((sampler.x().array() - 1.0f).abs().maxCoeff(), 1e-5f) << SamplerKindName(kind);
    o.clip_x0 = false;
    o.dynamic_threshold = true;
    Sampler thresholded(s, oracle, o, InitialNoise(3, 4, 1));
    EXPECT_LE(thresholded.Next().x0_hat.cwiseAbs().maxCoeff(), 1.0f + 1e-6f);
  }
}

TEST(Samplers, RerunsAreBitIdenticalAndDeterministicOnesIgnoreTheSeed) {
  GaussianMixtureDenoiser model(Skewed());
  NoiseSchedule s;
  for (SamplerKind kind : kNewSamplers) {
    SamplerOptions o;
    o.kind = kind;
    o.num_steps = 20;
    o.seed = 1;
    const Batch first = Sample(s, model, o, InitialNoise(50, 2, 8));
    EXPECT_EQ(first, Sample(s, model, o, InitialNoise(50, 2, 8))) << SamplerKindName(kind);
    o.seed = 2;
    const Batch other_seed = Sample(s, model, o, InitialNoise(50, 2, 8));
    if (SamplerIsStochastic(kind))
      EXPECT_GT((other_seed - first).cwiseAbs().maxCoeff(), 0.01f) << SamplerKindName(kind);
    else EXPECT_EQ(other_seed, first) << SamplerKindName(kind);
  }
}

TEST(Samplers, OdeAndSdeShareTheMarginalsNotThePaths) {
  // The reverse SDE and the probability-flow ODE from the same x_T: both end in the mixture's law (its mean and
  // covariance within 5 standard errors of n = 8000 samples), on different paths.
  GaussianMixture m = Skewed();
  GaussianMixtureDenoiser model(m);
  NoiseSchedule s;  // linear, T = 1000, every step: Euler's bias is far below the sampling error
  SamplerOptions o;
  o.kind = SamplerKind::kSdeEuler;
  o.seed = 21;
  const Batch x_T = InitialNoise(8000, 2, 7);
  const Batch sde = Sample(s, model, o, x_T);
  ExpectMixtureMoments(sde, m);
  o.kind = SamplerKind::kOdeEuler;
  const Batch ode = Sample(s, model, o, x_T);
  ExpectMixtureMoments(ode, m);
  EXPECT_GT(std::sqrt((sde - ode).rowwise().squaredNorm().mean()), 0.1);
  // The check resolves a wrong law: the mixture with 25% wider components fails it.
  GaussianMixture wider = m;
  for (auto& c : wider.covariances) c *= 1.25;
  const Batch wrong = wider.Sample(8000, 3);
  EXPECT_NONFATAL_FAILURE(ExpectMixtureMoments(wrong, m), "cov");
}

TEST(Samplers, RunVocabularyReadsNewNamesAndOldFiles) {
  for (SamplerKind kind : AllSamplerKinds()) {
    SamplerOptions o;
    o.kind = kind;
    o.num_steps = 12;
    o.rho = kind == SamplerKind::kHeunKarras ? 5.0 : 7.0;
    const std::string json = SamplerOptionsToJson(o);
    EXPECT_EQ(ParseSamplerOptions(json), o) << json;
    // rho is written only where it matters, so the other samplers' files stay as they were.
    EXPECT_EQ(json.find("rho") != std::string::npos, kind == SamplerKind::kHeunKarras) << json;
  }
  // A file from before these samplers: no rho, Karras et al.'s 7.
  const SamplerOptions old = ParseSamplerOptions(R"({"kind": "ddim", "steps": 50, "eta": 0.0, "seed": 3})");
  EXPECT_EQ(old.kind, SamplerKind::kDdim);
  EXPECT_EQ(old.rho, 7.0);
  EXPECT_EQ(ParseSamplerOptions(R"({"kind": "dpm-solver++"})").kind, SamplerKind::kDpmSolverPP);
  EXPECT_THROW(ParseSamplerOptions(R"({"kind": "heun-karras", "rho": 0})"), Error);
  EXPECT_THROW(ParseSamplerOptions(R"({"kind": "heun"})"), Error);
}

TEST(Samplers, StartPartWayOnEverySampler) {
  // SDEdit: a run from x_300 starts at alpha_bar_300 and ends on the data (the oracle's x_0) for every sampler.
  Batch x0(1, 3);
  x0 << 0.5f, -0.25f, 0.9f;
  PosteriorOracle oracle(x0);
  NoiseSchedule s;
  for (SamplerKind kind : AllSamplerKinds()) {
    SamplerOptions o;
    o.kind = kind;
    o.num_steps = 10;
    o.seed = 4;
    Sampler sampler(s, oracle, o, InitialNoise(4, 3, 9), nullptr, 300);
    EXPECT_EQ(sampler.timesteps().front(), 300) << SamplerKindName(kind);
    EXPECT_NEAR(sampler.alpha_bars().front(), s.alpha_bar(300), 1e-12) << SamplerKindName(kind);
    while (!sampler.done()) sampler.Next();
    for (int r = 0; r < 4; ++r)
      EXPECT_LT((sampler.x().row(r) - x0).cwiseAbs().maxCoeff(), 1e-4) << SamplerKindName(kind);
  }
}

}  // namespace
}  // namespace diffuscope

// core/models/sohl_dickstein: the Gaussian KL and the bound's loss (values and gradients against finite differences),
// model files, sampling rules, a short training that lowers the held-out bound, and the shipped swiss-roll model
// (its bound beats the Gaussian baseline, its samples land on the roll).
#include "core/models/sohl_dickstein.h"

#include "core/data/points2d.h"
#include "core/metrics/distance2d.h"
#include "core/models/ddpm2d.h"
#include "core/random/random.h"
#include "core/sampling/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include <unistd.h>

namespace diffuscope {
namespace {

namespace fs = std::filesystem;
using MatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

fs::path Scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("diffuscope_sohl_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

fs::path Shipped() { return fs::path(DIFFUSCOPE_RESOURCES) / "models" / "sohl-dickstein-swissroll.dfm"; }

SohlDicksteinOptions Small() {
  SohlDicksteinOptions o;
  o.embedding_size = 16;
  o.hidden_size = 32;
  o.hidden_layers = 1;
  return o;
}

TEST(SohlDickstein, NormalKlMatchesTheReference) {
  EXPECT_NEAR(NormalKl(0, 0, 1, std::log(2.0)), 0.34657359, 1e-8);  // REFERENCE.md test vector
  EXPECT_NEAR(NormalKl(0.3, -1.2, 0.3, -1.2), 0.0, 1e-15);
  // -log N(x; m, s^2) at x = m + s: 0.5 log(2 pi s^2) + 0.5.
  EXPECT_NEAR(GaussianNegLogDensity(1.5, 1.0, std::log(0.25)), 0.5 * std::log(2 * M_PI * 0.25) + 0.5, 1e-12);
}

TEST(SohlDickstein, ScheduleIsThePapers) {
  NoiseSchedule s(SohlDicksteinSchedule());
  EXPECT_EQ(s.num_steps(), 40);
  EXPECT_NEAR(s.beta(1), 1e-6 + (1.0 / 40) * (1 - 1.1e-5) + 1e-3, 1e-12);
  EXPECT_NEAR(s.beta(40), 1e-6 + 0.5 * (1 - 1.1e-5), 1e-12);
}

struct LossCase {
  NoiseSchedule schedule{SohlDicksteinSchedule()};
  std::vector<int> t;
  Batch x0, xt;
  MatrixD output;
};

LossCase MakeLossCase() {
  LossCase c;
  const int B = 12;
  RandomStream rng({3, Stream::kUser, 0});
  c.x0.resize(B, 2);
  c.xt.resize(B, 2);
  c.output.resize(B, 4);
  for (int b = 0; b < B; ++b) {
    c.t.push_back(b < 4 ? 1 + b : 1 + static_cast<int>(rng.Below(40)));  // t = 1 (the decoder) included
    for (int k = 0; k < 2; ++k) {
      c.x0(b, k) = static_cast<float>(rng.Normal());
      c.xt(b, k) = static_cast<float>(c.schedule.sqrt_alpha_bar(c.t[b]) * c.x0(b, k) +
                                      c.schedule.sqrt_one_minus_alpha_bar(c.t[b]) * rng.Normal());
      c.output(b, k) = rng.Normal();
      c.output(b, 2 + k) = 0.5 * rng.Normal();
    }
  }
  return c;
}

TEST(SohlDickstein, LossIsTheWeightedSumOfKernelKls) {
  LossCase c = MakeLossCase();
  const int T = 40;
  double expected = 0;
  for (size_t b = 0; b < c.t.size(); ++b) {
    const int t = c.t[b];
    const double scale = 1 / std::sqrt(c.schedule.alpha(t));
    const double coef = c.schedule.beta(t) / c.schedule.sqrt_one_minus_alpha_bar(t);
    for (int k = 0; k < 2; ++k) {
      const double mean = (c.xt(b, k) - coef * c.output(b, k)) * scale;
      const double log_var = std::log(c.schedule.beta(t)) + c.output(b, 2 + k);
      if (t == 1) {
        expected += GaussianNegLogDensity(c.x0(b, k), mean, log_var);
      } else {
        const double mean_q =
            c.schedule.posterior_mean_coef1(t) * c.x0(b, k) + c.schedule.posterior_mean_coef2(t) * c.xt(b, k);
        expected += NormalKl(mean_q, std::log(c.schedule.posterior_variance(t)), mean, log_var);
      }
    }
  }
  expected *= double(T) / c.t.size();
  EXPECT_NEAR(SohlDicksteinLoss(c.schedule, c.t, c.x0, c.xt, c.output), expected, 1e-9 * std::abs(expected));
}

TEST(SohlDickstein, LossGradientMatchesFiniteDifferences) {
  LossCase c = MakeLossCase();
  MatrixD grad;
  SohlDicksteinLoss(c.schedule, c.t, c.x0, c.xt, c.output, &grad);
  ASSERT_EQ(grad.rows(), c.output.rows());
  const double h = 1e-6;
  for (Eigen::Index b = 0; b < c.output.rows(); ++b)
    for (int k = 0; k < 4; ++k) {
      MatrixD plus = c.output, minus = c.output;
      plus(b, k) += h;
      minus(b, k) -= h;
      const double numeric = (SohlDicksteinLoss(c.schedule, c.t, c.x0, c.xt, plus) -
                              SohlDicksteinLoss(c.schedule, c.t, c.x0, c.xt, minus)) /
                             (2 * h);
      EXPECT_NEAR(grad(b, k), numeric, 1e-6 * std::max(1.0, std::abs(numeric))) << "row " << b << " output " << k;
    }
}

TEST(SohlDickstein, PredictsTheMeanAndLogVariance) {
  SohlDicksteinModel model(Small());
  Batch x = MakeSwissRoll(5, 1);
  NoiseSchedule s(SohlDicksteinSchedule());
  DenoiseQuery q{.t = 7, .t_prev = 6, .alpha_bar = s.alpha_bar(7), .schedule = &s};
  Prediction p = model.Predict(x, q);
  EXPECT_EQ(p.kind, PredictionKind::kMean);
  EXPECT_EQ(p.variance_kind, VarianceKind::kLearnedLog);
  ASSERT_EQ(p.value.rows(), 5);
  ASSERT_EQ(p.variance.cols(), 2);
  EXPECT_TRUE(p.value.allFinite() && p.variance.allFinite());
  // Strided steps and foreign schedules are refused: the kernel was learned per step.
  q.t_prev = 3;
  EXPECT_THROW(model.Predict(x, q), Error);
  NoiseSchedule other;
  DenoiseQuery foreign{.t = 7, .t_prev = 6, .alpha_bar = other.alpha_bar(7), .schedule = &other};
  EXPECT_THROW(model.Predict(x, foreign), Error);
  SamplerOptions strided;
  strided.num_steps = 10;
  EXPECT_THROW(Sample(model.schedule(), model, strided, InitialNoise(4, 2, 1)), Error);
}

TEST(SohlDickstein, ModelFilesRoundTrip) {
  SohlDicksteinModel model(Small());
  TrainOptions options = SohlDicksteinDefaultTraining();
  options.iterations = 20;
  options.batch_size = 16;
  options.warmup_steps = 2;
  TrainSohlDickstein(model, MakeSwissRoll(500, 1), options);
  model.info()["data"] = "swiss_roll";
  const fs::path path = Scratch("sd.dfm");
  model.Save(path, /*with_training_state=*/true);
  SohlDicksteinModel loaded = SohlDicksteinModel::Load(path);
  EXPECT_EQ(loaded.weights(), model.weights());
  EXPECT_EQ(loaded.trained_steps(), 20);
  EXPECT_TRUE(loaded.resumable());
  EXPECT_EQ(loaded.name(), model.name());
  Batch x = MakeSwissRoll(8, 2), m1, v1, m2, v2;
  model.ReverseKernel(x, 5, &m1, &v1);
  loaded.ReverseKernel(x, 5, &m2, &v2);
  EXPECT_EQ(m1, m2);
  EXPECT_EQ(v1, v2);
  // A DDPM 2D file is not a Sohl-Dickstein model.
  const fs::path other = Scratch("ddpm.dfm");
  Ddpm2dModel(Ddpm2dOptions{}).Save(other);
  EXPECT_THROW(SohlDicksteinModel::Load(other), Error);
  fs::remove_all(path.parent_path());
}

TEST(SohlDickstein, TheBoundInDataUnitsIsTheNormalisedBoundPlusTheLogJacobian) {
  // x = 5 z + (10, -3): the density of x is that of z over 5^2, so -log p(x) = -log p(z) + 2 log 5; the KL terms and
  // the prior are invariant. The model trained on x (normalised inside) equals the model trained on z.
  const Batch z = MakeSwissRoll(500, 1);
  Batch x = 5.0f * z;
  x.col(0).array() += 10.0f;
  x.col(1).array() -= 3.0f;
  const PointNormalization normalization{10.0, -3.0, 5.0};
  TrainOptions options = SohlDicksteinDefaultTraining();
  options.iterations = 30;
  options.batch_size = 32;
  options.warmup_steps = 3;
  SohlDicksteinModel scaled(Small()), unit(Small());
  scaled.set_normalization(normalization);
  TrainSohlDickstein(scaled, x, options);
  TrainSohlDickstein(unit, normalization.ToModel(x), options);
  EXPECT_EQ(scaled.weights(), unit.weights());

  const Batch held_z = MakeSwissRoll(300, 2);
  Batch held_x = 5.0f * held_z;
  held_x.col(0).array() += 10.0f;
  held_x.col(1).array() -= 3.0f;
  const SohlDicksteinBound bz = EvaluateBound(unit, normalization.ToModel(held_x), 3);
  const SohlDicksteinBound bx = EvaluateBound(scaled, held_x, 3);
  EXPECT_NEAR(bx.nll, bz.nll + 2 * std::log(5.0), 1e-9);
  EXPECT_NEAR(bx.decoder, bz.decoder + 2 * std::log(5.0), 1e-9);
  EXPECT_EQ(bx.kl, bz.kl);
  EXPECT_EQ(bx.prior, bz.prior);
  // The Gaussian baseline in data units moves by the same 2 log 5: the comparison does not depend on the units.
  EXPECT_NEAR(GaussianNll(x, held_x), GaussianNll(z, held_z) + 2 * std::log(5.0), 1e-4);

  // The file keeps the normalisation; the reverse kernel maps to the data's units with it.
  const fs::path path = Scratch("scaled_sd.dfm");
  scaled.Save(path);
  SohlDicksteinModel loaded = SohlDicksteinModel::Load(path);
  EXPECT_EQ(loaded.normalization(), normalization);
  const Batch samples = normalization.ToData(
      Sample(loaded.schedule(), loaded, SamplerOptions{.variance = VarianceChoice::kLearned}, InitialNoise(500, 2, 4)));
  // 30 updates learn little; the point is the space: the loaded file's run is the unit model's run mapped by
  // x = 5 z + (10, -3), so its samples spread 5 times as wide around (10, -3).
  const Batch unit_samples =
      Sample(unit.schedule(), unit, SamplerOptions{.variance = VarianceChoice::kLearned}, InitialNoise(500, 2, 4));
  EXPECT_EQ(samples, normalization.ToData(unit_samples));
  const double spread = std::sqrt((samples.rowwise() - samples.colwise().mean()).squaredNorm() / 1000.0);
  const double unit_spread = std::sqrt((unit_samples.rowwise() - unit_samples.colwise().mean()).squaredNorm() / 1000.0);
  EXPECT_NEAR(spread, 5 * unit_spread, 1e-3 * spread);
  fs::remove_all(path.parent_path());
}

TEST(SohlDickstein, ResumedTrainingEqualsOneRun) {
  const Batch data = MakeSwissRoll(400, 1);
  TrainOptions options = SohlDicksteinDefaultTraining();
  options.iterations = 12;
  options.batch_size = 16;
  options.warmup_steps = 2;
  SohlDicksteinModel straight(Small());
  TrainSohlDickstein(straight, data, options);
  SohlDicksteinModel halves(Small());
  long long calls = 0;
  EXPECT_THROW(TrainSohlDickstein(halves, data, options, {}, [&] { return ++calls == 5; }), Cancelled);
  TrainSohlDickstein(halves, data, options);
  EXPECT_EQ(halves.weights(), straight.weights());
}

TEST(SohlDickstein, ShortTrainingLowersTheHeldOutBound) {
  const Batch train = MakeSwissRoll(5000, 1), test = MakeSwissRoll(1000, 2);
  SohlDicksteinModel model(Small());
  const SohlDicksteinBound before = EvaluateBound(model, test, 3);
  TrainOptions options = SohlDicksteinDefaultTraining();
  options.iterations = 400;
  options.batch_size = 64;
  options.warmup_steps = 40;
  TrainSohlDickstein(model, train, options);
  const SohlDicksteinBound after = EvaluateBound(model, test, 3);
  EXPECT_LT(after.nll + 3 * after.standard_error, before.nll - 3 * before.standard_error);
  EXPECT_NEAR(after.nll, after.kl + after.decoder + after.prior, 1e-9);
  EXPECT_EQ(after.prior, before.prior);  // no parameters in the prior term
}

TEST(SohlDickstein, GaussianBaselineIsTheGaussianEntropy) {
  // For data drawn from N(m, S), the mean NLL under the fitted Gaussian tends to 0.5 log det(2 pi e S).
  RandomStream rng({5, Stream::kUser, 0});
  Batch x(40000, 2);
  for (int i = 0; i < x.rows(); ++i) {
    const double a = rng.Normal(), b = rng.Normal();
    x(i, 0) = static_cast<float>(1 + 2 * a);
    x(i, 1) = static_cast<float>(-1 + 0.5 * a + 0.5 * b);
  }
  // S = [[4, 1], [1, 0.5]], det = 1.
  const double entropy = std::log(2 * M_PI * std::exp(1.0)) + 0.5 * std::log(1.0);
  EXPECT_NEAR(GaussianNll(x, x), entropy, 0.01);
  EXPECT_GT(IsotropicGaussianNll(x, x), GaussianNll(x, x));
  EXPECT_THROW(GaussianNll(Batch::Zero(10, 2), x), Error);
}

TEST(SohlDickstein, ShippedModelBeatsTheGaussianBaseline) {
  ASSERT_TRUE(fs::exists(Shipped())) << Shipped();
  SohlDicksteinModel model = SohlDicksteinModel::Load(Shipped());
  EXPECT_EQ(model.schedule().num_steps(), 40);
  const Batch train = MakeSwissRoll(50000, 1), test = MakeSwissRoll(2000, 2);
  const SohlDicksteinBound bound = EvaluateBound(model, test, 3);
  const double gaussian = GaussianNll(train, test);
  // The bound is an upper bound on the NLL: it must beat the best Gaussian by far more than its noise.
  EXPECT_LT(bound.nll + 4 * bound.standard_error, gaussian - std::log(2.0)) << bound.nll << " vs " << gaussian;
  // An untrained network of the same shape does not.
  SohlDicksteinModel untrained;
  EXPECT_GT(EvaluateBound(untrained, test, 3).nll, gaussian);
}

TEST(SohlDickstein, ShippedModelSamplesTheRoll) {
  ASSERT_TRUE(fs::exists(Shipped())) << Shipped();
  SohlDicksteinModel model = SohlDicksteinModel::Load(Shipped());
  SamplerOptions options;
  options.variance = VarianceChoice::kLearned;
  options.seed = 4;
  const Batch samples = Sample(model.schedule(), model, options, InitialNoise(2000, 2, 7));
  ASSERT_EQ(samples.rows(), 2000);
  ASSERT_EQ(samples.cols(), 2);
  ASSERT_TRUE(samples.allFinite());
  const Batch fresh = MakeSwissRoll(2000, 11);
  const double model_distance = EnergyDistance(samples, fresh);
  const double gaussian_distance = EnergyDistance(FitGaussian(MakeSwissRoll(20000, 1), 2000, 5), fresh);
  EXPECT_LT(model_distance, 0.1 * gaussian_distance) << model_distance << " vs " << gaussian_distance;
}

}  // namespace
}  // namespace diffuscope

// core/models/guidance and conditional_ddpm2d: the exact guided mixture field against its closed form (computed
// here in double, independently), the label dropout of training, a short conditional training that recovers each
// class's mean and covariance, files, guided runs through the RunSpec, class labels of the data sets, and refused
// options.
#include "core/models/guidance.h"
#include "core/data/points2d.h"
#include "core/models/conditional_ddpm2d.h"
#include "core/models/exact.h"
#include "core/models/registry.h"
#include "core/run/run.h"
#include "core/run/run_spec.h"
#include "core/sampling/sampler.h"

#include <gtest/gtest.h>
#include <Eigen/Dense>

#include <unistd.h>
#include <cmath>
#include <filesystem>
#include <numbers>

namespace diffuscope {
namespace {

namespace fs = std::filesystem;

fs::path Scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("diffuscope_guidance_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

GaussianMixture TwoClasses() {
  GaussianMixture m;
  m.weights = {0.3, 0.7};
  m.means = {Eigen::Vector2d(-1.0, 0.6), Eigen::Vector2d(1.1, -0.2)};
  Eigen::Matrix2d a, b;
  a << 0.08, 0.02, 0.02, 0.05;
  b << 0.06, -0.03, -0.03, 0.10;
  m.covariances = {a, b};
  return m;
}

// The guided eps of classifier-free guidance for a Gaussian mixture, in closed form and double:
// eps = -sqrt(1 - a) [(1 + w) grad log p_t(x | k) - w grad log p_t(x)], p_t(x | k) = N(sqrt(a) mu_k, a S_k + (1-a) I).
Eigen::Vector2d ClosedFormGuidedEps(const GaussianMixture& m, const Eigen::Vector2d& x, double a, int k, double w) {
  const int K = static_cast<int>(m.weights.size());
  std::vector<Eigen::Vector2d> scores(K);
  std::vector<double> log_density(K);
  for (int j = 0; j < K; ++j) {
    const Eigen::Matrix2d C = a * m.covariances[j] + (1.0 - a) * Eigen::Matrix2d::Identity();
    const Eigen::Vector2d d = x - std::sqrt(a) * m.means[j];
    const Eigen::Matrix2d Ci = C.inverse();
    scores[j] = -Ci * d;
    log_density[j] = std::log(m.weights[j]) - std::log(2.0 * std::numbers::pi) - 0.5 * std::log(C.determinant()) -
                     0.5 * d.dot(Ci * d);
  }
  const double top = *std::max_element(log_density.begin(), log_density.end());
  double total = 0.0;
  Eigen::Vector2d mixture_score = Eigen::Vector2d::Zero();
  for (int j = 0; j < K; ++j) total += std::exp(log_density[j] - top);
  for (int j = 0; j < K; ++j) mixture_score += std::exp(log_density[j] - top) / total * scores[j];
  return -std::sqrt(1.0 - a) * ((1.0 + w) * scores[k] - w * mixture_score);
}

TEST(Guidance, TheExactGuidedMixtureFieldIsItsClosedForm) {
  const GaussianMixture eight = GaussianMixture::EightGaussians(std::sqrt(2.0), 0.1);
  Batch x(5, 2);
  x << 0.0f, 0.0f, 1.2f, 0.3f, -0.7f, 1.9f, 2.5f, -2.5f, 0.1f, -1.3f;
  for (double w : {0.0, 1.0, 3.0}) {
    for (int k : {0, 3, 6}) {
      for (double a : {0.9, 0.5, 0.1}) {
        GaussianMixtureClasses exact(eight);
        ClassifierFreeGuidance guided(exact, {.label = k, .weight = w});
        DenoiseQuery q;
        q.alpha_bar = a;
        const Prediction p = guided.Predict(x, q);
        Batch x0, eps;
        PredictionToX0Eps(p, x, a, 1.0, 1.0, 0.0, &x0, &eps);
        for (Eigen::Index i = 0; i < x.rows(); ++i) {
          const Eigen::Vector2d want = ClosedFormGuidedEps(eight, x.row(i).cast<double>().transpose(), a, k, w);
          EXPECT_NEAR(eps(i, 0), want.x(), 2e-4 * (1 + want.norm())) << "w " << w << " k " << k << " a " << a;
          EXPECT_NEAR(eps(i, 1), want.y(), 2e-4 * (1 + want.norm())) << "w " << w << " k " << k << " a " << a;
        }
      }
    }
  }
  // w = 0 is the component itself; the null label is the mixture.
  GaussianMixtureClasses exact(eight);
  DenoiseQuery q;
  q.alpha_bar = 0.4;
  EXPECT_EQ(exact.PredictClass(x, q, kNullLabel).value, GaussianMixtureDenoiser(eight).PosteriorMean(x, 0.4));
  EXPECT_EQ(exact.num_classes(), 8);
}

TEST(Guidance, GuidancePushesAClassAwayFromTheOthers) {
  // Sampled with the exact guided field of 8gaussians class 0 (centre (sqrt 2, 0)): w = 0 gives the component
  // (spread 0.1); with w > 0 the law is p(x|c)^(1+w) / p(x)^w, which pushes away from the other components: the
  // samples' mean moves outward past the centre.
  const GaussianMixture eight = GaussianMixture::EightGaussians(std::sqrt(2.0), 0.1);
  const NoiseSchedule schedule(Ddpm2dDefaultSchedule());
  double previous_x = 0.0;
  for (double w : {0.0, 3.0, 10.0}) {
    GaussianMixtureClasses exact(eight);
    ClassifierFreeGuidance guided(exact, {.label = 0, .weight = w});
    const Batch x = Sample(schedule, guided, SamplerOptions{}, InitialNoise(1000, 2, 4));
    const Eigen::Vector2d mean = x.cast<double>().colwise().mean().transpose();
    std::printf("w = %.0f: class-0 samples' mean (%.3f, %.3f)\n", w, mean.x(), mean.y());
    if (w == 0.0) EXPECT_NEAR(mean.x(), std::sqrt(2.0), 0.02);
    else EXPECT_GT(mean.x(), previous_x + 0.01);
    EXPECT_NEAR(mean.y(), 0.0, 0.03);
    previous_x = mean.x();
  }
}

TEST(Guidance, LabelDropoutIsRespected) {
  std::vector<int> labels(500);
  for (int i = 0; i < 500; ++i) labels[i] = i % 4;
  for (double p : {0.1, 0.3}) {
    long long dropped = 0, total = 0;
    for (long long it = 0; it < 1000; ++it) {
      const ConditionalDraws d = DrawConditionalUpdate(7, it, 64, 500, 50, p, labels);
      for (int b = 0; b < 64; ++b) {
        ++total;
        if (d.labels[b] == kNullLabel) ++dropped;
        else ASSERT_EQ(d.labels[b], labels[d.rows[b]]);  // kept labels are the row's own
        ASSERT_GE(d.timesteps[b], 0);
        ASSERT_LT(d.timesteps[b], 50);
      }
    }
    // 64,000 draws: the binomial standard deviation is sqrt(p (1 - p) / n) <= 0.0018; allow 4 of them.
    const double rate = static_cast<double>(dropped) / total;
    std::printf("dropout %.2f: measured %.4f\n", p, rate);
    EXPECT_NEAR(rate, p, 4.0 * std::sqrt(p * (1 - p) / total));
  }
}

TEST(Guidance, AConditionalDdpmRecoversEachClasssMeanAndCovariance) {
  const GaussianMixture law = TwoClasses();
  std::vector<int> labels;
  const Batch data = law.Sample(4000, 1, &labels);
  ConditionalDdpm2dOptions options;
  options.num_classes = 2;
  options.embedding_size = 64;
  options.hidden_layers = 2;
  ConditionalDdpm2dModel model(options);
  TrainOptions train = ShippedTrainingRecipe(3000, 128, 500);
  train.warmup_steps = 100;
  TrainConditionalDdpm2d(model, data, labels, train);
  EXPECT_EQ(model.trained_steps(), 3000);
  const int n = 3000;
  for (int k = 0; k < 2; ++k) {
    ClassifierFreeGuidance conditional(model, {.label = k, .weight = 0.0});
    const Batch x = Sample(model.schedule(), conditional, SamplerOptions{}, InitialNoise(n, 2, 10 + k));
    ASSERT_TRUE(x.allFinite());
    // A short-trained eps model flings a few particles far off (its eps error at t = T is amplified by
    // 1 / sqrt(alpha_bar_T) in x0_hat): those beyond 1.5 (over 5 spreads of either component) are counted, and the
    // moments are those of the rest.
    std::vector<Eigen::Index> kept;
    for (Eigen::Index i = 0; i < n; ++i)
      if ((x.row(i).cast<double>().transpose() - law.means[k]).norm() < 1.5) kept.push_back(i);
    const Eigen::MatrixXd inliers = x.cast<double>()(kept, Eigen::all);
    const Eigen::Vector2d mean = inliers.colwise().mean().transpose();
    const Eigen::MatrixXd c = inliers.rowwise() - mean.transpose();
    const Eigen::Matrix2d cov = c.transpose() * c / (inliers.rows() - 1.0);
    const double mean_error = (mean - law.means[k]).cwiseAbs().maxCoeff();
    const double cov_error = (cov - law.covariances[k]).cwiseAbs().maxCoeff();
    const long long far = n - static_cast<long long>(kept.size());
    std::printf("class %d: %lld of %d samples far off; mean error %.3f, covariance error %.3f (variances %.2f, %.2f)\n",
                k, far, n, mean_error, cov_error, law.covariances[k](0, 0), law.covariances[k](1, 1));
    // The components are 2.2 apart: a sampler that ignored the label would put 30-70% of the samples in the other
    // one (all far off) and miss the mean by about 1.
    EXPECT_LT(far, n / 100);
    EXPECT_LT(mean_error, 0.05);
    EXPECT_LT(cov_error, 0.03);
  }
  // The null label (the model's Predict) is the unconditional model: the mixture's mean.
  const Batch x = Sample(model.schedule(), model, SamplerOptions{}, InitialNoise(n, 2, 20));
  EXPECT_LT((x.cast<double>().colwise().mean().transpose() - law.Mean()).cwiseAbs().maxCoeff(), 0.1);
}

TEST(Guidance, ConditionalModelFilesRoundTripAndBadOptionsAreRefused) {
  ConditionalDdpm2dOptions options;
  options.num_classes = 3;
  options.label_dropout = 0.2;
  options.embedding_size = 8;
  options.hidden_size = 16;
  ConditionalDdpm2dModel model(options);
  std::vector<int> labels = {0, 1, 2, 1};
  TrainOptions train;
  train.iterations = 20;
  const Batch data = TwoClasses().Sample(4, 3);
  TrainConditionalDdpm2d(model, data, labels, train);
  model.info()["data"] = "8gaussians";
  const fs::path path = Scratch("conditional.dfm");
  model.Save(path);
  ConditionalDdpm2dModel back = ConditionalDdpm2dModel::Load(path);
  EXPECT_EQ(back.weights(), model.weights());
  EXPECT_EQ(back.num_classes(), 3);
  EXPECT_EQ(back.label_dropout(), 0.2);
  const OpenedModel opened = OpenModel(path.string(), {});
  ASSERT_NE(AsClassConditional(*opened.denoiser), nullptr);
  EXPECT_EQ(AsClassConditional(*opened.denoiser)->num_classes(), 3);
  ModelFile file = LoadModelFile(path);
  file.settings["num_classes"] = 4;  // the network takes 3 one-hot columns
  EXPECT_THROW(ConditionalDdpm2dModel{file}, Error);
  file.settings.erase("num_classes");
  EXPECT_THROW(ConditionalDdpm2dModel{file}, Error);

  // Bad options, labels and guidance.
  EXPECT_FALSE((ConditionalDdpm2dOptions{.num_classes = 0}).Check().empty());
  EXPECT_FALSE((ConditionalDdpm2dOptions{.label_dropout = 0.0}).Check().empty());
  EXPECT_FALSE((ConditionalDdpm2dOptions{.label_dropout = 1.0}).Check().empty());
  EXPECT_TRUE(ConditionalDdpm2dOptions{}.Check().empty());
  EXPECT_THROW(TrainConditionalDdpm2d(model, data, {0, 1, 2}, train), Error);     // one label short
  EXPECT_THROW(TrainConditionalDdpm2d(model, data, {0, 1, 3, 0}, train), Error);  // class 3 of 3
  EXPECT_FALSE((GuidanceOptions{.label = 0, .weight = -0.5}).Check().empty());
  EXPECT_FALSE((GuidanceOptions{.label = 0, .weight = 10.5}).Check().empty());
  EXPECT_FALSE((GuidanceOptions{.label = 0, .weight = NAN}).Check().empty());
  EXPECT_FALSE((GuidanceOptions{.label = -1}).Check().empty());
  EXPECT_TRUE((GuidanceOptions{.label = 0, .weight = 10.0}).Check().empty());
  EXPECT_THROW(ClassifierFreeGuidance(model, {.label = 3}), Error);
  GaussianMixtureDenoiser plain(TwoClasses());
  EXPECT_THROW(ClassifierFreeGuidance(plain, {.label = 0}), Error);  // not class-conditional
  DenoiseQuery q;
  EXPECT_THROW(model.PredictClass(Batch::Zero(2, 2), q, 3), Error);
}

TEST(Guidance, RunsCarryTheLabelAndTheWeight) {
  RunSpec run;
  run.data = "8gaussians";
  run.model = "mixture";
  run.label = 2;
  run.guidance = 3.5;
  ASSERT_EQ(run.Check(), "");
  const RunSpec back = ParseRunSpec(RunSpecToJson(run));
  EXPECT_EQ(back.label, 2);
  EXPECT_EQ(back.guidance, 3.5);
  // A file of an earlier version (no label) is an unconditional run; unconditional runs write no label.
  RunSpec plain;
  plain.data = "moons";
  EXPECT_EQ(RunSpecToJson(plain).find("label"), std::string::npos);
  EXPECT_EQ(ParseRunSpec(RunSpecToJson(plain)).label, -1);
  RunSpec bad = run;
  bad.guidance = 11;
  EXPECT_FALSE(bad.Check().empty());
  bad = run;
  bad.label = -1;  // guidance without a class
  EXPECT_FALSE(bad.Check().empty());
  EXPECT_THROW(ParseRunSpec(R"({"data": "moons", "schedule": {"kind": "linear", "steps": 10}, "label": "two"})"),
               Error);

  // The run's model is the guided exact mixture: its samples sit in component 2 (centre (0, sqrt 2)).
  const RunInput input = LoadRunInput(run);
  OpenedModel model = OpenRunModel(run, input);
  ASSERT_NE(dynamic_cast<ClassifierFreeGuidance*>(model.denoiser.get()), nullptr);
  const NoiseSchedule schedule(Ddpm2dDefaultSchedule());
  RunSpec unguided = run;
  unguided.guidance = 0.0;
  OpenedModel component = OpenRunModel(unguided, input);
  const Batch x = Sample(schedule, *component.denoiser, SamplerOptions{}, InitialNoise(500, 2, 1));
  const Eigen::Vector2d mean = x.cast<double>().colwise().mean().transpose();
  EXPECT_NEAR(mean.x(), 0.0, 0.03);
  EXPECT_NEAR(mean.y(), std::sqrt(2.0), 0.03);
  // A model without classes cannot be guided.
  RunSpec empirical = run;
  empirical.model = "empirical";
  EXPECT_THROW(OpenRunModel(empirical, input), Error);
}

TEST(Guidance, DataSetsKnowTheirClasses) {
  std::vector<int> labels;
  const Batch eight = GenerateLabeledDataset("8gaussians", 2000, 3, &labels);
  EXPECT_EQ(eight, GenerateDataset("8gaussians", 2000, 3));  // the same points
  ASSERT_EQ(labels.size(), 2000u);
  int nearest_agrees = 0;
  for (int i = 0; i < 2000; ++i) {
    const double angle = std::atan2(eight(i, 1), eight(i, 0));
    const int nearest = static_cast<int>(std::lround(angle / (std::numbers::pi / 4) + 8)) % 8;
    if (nearest == labels[i]) ++nearest_agrees;
  }
  EXPECT_GT(nearest_agrees, 1990);  // noise 0.1 against centres 1.08 apart: almost every point nearest its own
  const Batch moons = GenerateLabeledDataset("moons", 2000, 3, &labels);
  EXPECT_EQ(moons, GenerateDataset("moons", 2000, 3));
  double upper = 0, lower = 0;
  int count_upper = 0;
  for (int i = 0; i < 2000; ++i) {
    if (labels[i] == 0) {
      upper += moons(i, 1);
      ++count_upper;
    } else {
      lower += moons(i, 1);
    }
  }
  EXPECT_NEAR(count_upper, 1000, 100);
  EXPECT_GT(upper / count_upper, lower / (2000 - count_upper));  // class 0 is the upper moon
  EXPECT_EQ(DatasetClassCount("8gaussians"), 8);
  EXPECT_EQ(DatasetClassCount("Moons"), 2);
  EXPECT_EQ(DatasetClassCount("dino"), 0);
  EXPECT_THROW(GenerateLabeledDataset("dino", 10, 1, &labels), Error);
}

}  // namespace
}  // namespace diffuscope

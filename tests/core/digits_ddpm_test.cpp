// core/models/digits_ddpm: the network, model files, a short training that lowers the loss (and resumes to the same
// bytes), the sample-quality measure, and the shipped model: 20x20 samples in range, of every class, not copies of
// training images, closer to the data than samples of a Gaussian fitted to the training digits.
#include "core/models/digits_ddpm.h"

#include "core/metrics/distance2d.h"
#include "core/models/ddpm2d.h"
#include "core/random/random.h"
#include "core/sampling/sampler.h"

#include <gtest/gtest.h>

#include <filesystem>

#include <unistd.h>

namespace diffuscope {
namespace {

namespace fs = std::filesystem;

fs::path Scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("diffuscope_digits_ddpm_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

// The pixel MLP ships as ddpm-digits-mlp (ddpm-digits is the U-Net, tests/core/digits_unet_test.cpp).
fs::path Shipped() { return fs::path(DIFFUSCOPE_RESOURCES) / "models" / "ddpm-digits-mlp.dfm"; }

const DigitsSplit& Split() {
  static const DigitsSplit split = SplitDigits(LoadDigits(fs::path(DIFFUSCOPE_RESOURCES) / "datasets" / "digits.png"));
  return split;
}

DigitsDdpmOptions Small() {
  DigitsDdpmOptions o;
  o.embedding_size = 16;
  o.hidden_size = 32;
  o.hidden_layers = 1;
  return o;
}

TrainOptions Short(long long iterations) {
  TrainOptions options = DigitsDdpmDefaultTraining();
  options.iterations = iterations;
  options.batch_size = 16;
  options.warmup_steps = 2;
  options.report_every = 1;
  return options;
}

TEST(DigitsDdpm, DefaultNetworkAndSchedule) {
  DigitsDdpmOptions options;
  EXPECT_EQ(options.Check(), "");
  const NetworkSpec spec = options.network();
  EXPECT_EQ(spec.input_dim(), 401);
  EXPECT_EQ(spec.output_dim(), 400);
  EXPECT_LT(spec.num_parameters() * 4, 6'000'000);  // a few MB of float32
  NoiseSchedule s(DigitsDdpmDefaultSchedule());
  EXPECT_EQ(s.num_steps(), 1000);
  EXPECT_NEAR(s.alpha_bar(1000), 4.03582977e-05, 1e-11);  // REFERENCE.md: linear T = 1000
  options.hidden_size = 0;
  EXPECT_NE(options.Check(), "");
  EXPECT_THROW(DigitsDdpmModel{options}, Error);
}

TEST(DigitsDdpm, PredictsX0OfTheRightShape) {
  DigitsDdpmModel model(Small());
  NoiseSchedule s(DigitsDdpmDefaultSchedule());
  Prediction p =
      model.Predict(Split().test.topRows(3), {.t = 10, .t_prev = 9, .alpha_bar = s.alpha_bar(10), .schedule = &s});
  EXPECT_EQ(p.kind, PredictionKind::kX0);
  EXPECT_EQ(p.value.rows(), 3);
  EXPECT_EQ(p.value.cols(), 400);
  EXPECT_THROW(model.Predict(Batch::Zero(2, 100), {.t = 1, .t_prev = 0, .schedule = &s}), Error);
  // Another schedule maps to the index of equal log-SNR: alpha_bar of the model's own t = 500 gives index 499.
  ScheduleOptions cosine;
  cosine.kind = ScheduleKind::kCosine;
  NoiseSchedule other(cosine);
  EXPECT_NEAR(model.TimestepIndex({.t = 3, .t_prev = 2, .alpha_bar = s.alpha_bar(500), .schedule = &other}), 499, 1e-6);
}

// The MSE of the network's target (x_0) on 64 held-out digits noised at five fixed timesteps with fixed noise.
double HeldOutMse(DigitsDdpmModel& model) {
  const Batch x0 = Split().test.topRows(64);
  double total = 0;
  for (int t : {50, 250, 500, 750, 950}) {
    Batch eps(64, 400), x0_hat;
    FillNormal({9, Stream::kUser, static_cast<uint64_t>(t)}, 0, std::span<float>(eps.data(), eps.size()));
    const Batch xt = static_cast<float>(model.schedule().sqrt_alpha_bar(t)) * x0 +
                     static_cast<float>(model.schedule().sqrt_one_minus_alpha_bar(t)) * eps;
    model.RunNetwork(xt, t - 1, &x0_hat);
    total += (x0_hat - x0).squaredNorm() / x0.size() / 5;
  }
  return total;
}

TEST(DigitsDdpm, TrainingLowersTheHeldOutLossAndResumesToTheSameBytes) {
  DigitsDdpmModel model(Small());
  const double before = HeldOutMse(model);
  TrainOptions options = Short(300);
  options.batch_size = 32;
  options.learning_rate = 3e-3;
  long long reports = 0;
  TrainDigitsDdpm(model, Split().train, options, [&](const TrainProgress&) { ++reports; });
  EXPECT_EQ(reports, 300);
  const double after = HeldOutMse(model);
  EXPECT_LT(after, 0.95 * before) << before << " -> " << after;

  DigitsDdpmModel halves(Small());
  long long calls = 0;
  const fs::path checkpoint = Scratch("resume.dfm");
  EXPECT_THROW(TrainDigitsDdpm(
                   halves, Split().train, Short(20), {}, [&] { return ++calls == 7; }, checkpoint),
               Cancelled);
  DigitsDdpmModel reloaded = DigitsDdpmModel::Load(checkpoint);
  EXPECT_TRUE(reloaded.resumable());
  EXPECT_EQ(reloaded.trained_steps(), 7);
  TrainDigitsDdpm(reloaded, Split().train, Short(20));
  DigitsDdpmModel straight(Small());
  TrainDigitsDdpm(straight, Split().train, Short(20));
  EXPECT_EQ(reloaded.weights(), straight.weights());
  fs::remove_all(checkpoint.parent_path());
}

TEST(DigitsDdpm, ModelFilesRoundTripAndForeignFilesAreRefused) {
  DigitsDdpmModel model(Small());
  TrainDigitsDdpm(model, Split().train, Short(5));
  const fs::path path = Scratch("digits.dfm");
  model.Save(path);
  DigitsDdpmModel loaded = DigitsDdpmModel::Load(path);
  EXPECT_EQ(loaded.weights(), model.weights());
  EXPECT_FALSE(loaded.resumable());
  EXPECT_EQ(loaded.prediction_kind(), PredictionKind::kX0);
  DigitsDdpmOptions eps_options = Small();
  eps_options.predict_x0 = false;
  DigitsDdpmModel eps_model(eps_options);
  eps_model.Save(path);
  EXPECT_EQ(DigitsDdpmModel::Load(path).prediction_kind(), PredictionKind::kEps);
  ModelFile unknown = model.ToModelFile();
  unknown.settings.erase("predict_x0");
  EXPECT_THROW(DigitsDdpmModel{unknown}, Error);
  Batch a, b;
  model.RunNetwork(Split().test.topRows(4), 123.5, &a);
  loaded.RunNetwork(Split().test.topRows(4), 123.5, &b);
  EXPECT_EQ(a, b);
  EXPECT_THROW(TrainDigitsDdpm(loaded, Split().train, Short(10)), Error);  // saved without its training state
  const fs::path other = Scratch("ddpm2d.dfm");
  Ddpm2dModel(Ddpm2dOptions{}).Save(other);
  EXPECT_THROW(DigitsDdpmModel::Load(other), Error);
  EXPECT_THROW(TrainDigitsDdpm(model, Batch::Zero(4, 100), Short(1)), Error);
  fs::remove_all(path.parent_path());
}

TEST(DigitsDdpm, SampleQualityMeasure) {
  // Held-out digits are new digits: no copies, every class, nearest-training distances of the test set itself.
  const DigitsSplit& split = Split();
  DigitsSampleQuality q = EvaluateDigitsSamples(split.test, split);
  EXPECT_EQ(q.samples, 500);
  EXPECT_EQ(q.copies, 0);
  EXPECT_EQ(q.classes_present, 10);
  EXPECT_DOUBLE_EQ(q.nearest_train_mean, q.test_nearest_train_mean);
  for (int c = 0; c < 10; ++c) EXPECT_NEAR(q.class_counts[c], 50, 10);  // 5-NN labels are ~95% right
  // Training images are copies of themselves.
  q = EvaluateDigitsSamples(split.train.topRows(20), split);
  EXPECT_EQ(q.copies, 20);
  EXPECT_EQ(q.nearest_train_min, 0.0);
}

TEST(DigitsDdpm, ShippedModelSamplesNewDigitsOfEveryClass) {
  ASSERT_TRUE(fs::exists(Shipped())) << Shipped();
  DigitsDdpmModel model = DigitsDdpmModel::Load(Shipped());
  SamplerOptions ddim;
  ddim.kind = SamplerKind::kDdim;
  ddim.num_steps = 50;
  ddim.clip_x0 = true;
  ddim.seed = 3;
  const Batch samples = Sample(model.schedule(), model, ddim, InitialNoise(256, 400, 7));
  ASSERT_EQ(samples.rows(), 256);
  ASSERT_EQ(samples.cols(), 400);
  ASSERT_TRUE(samples.allFinite());
  const DigitsSplit& split = Split();
  const DigitsSampleQuality q = EvaluateDigitsSamples(samples, split);
  EXPECT_GE(q.min_value, -1.0f);
  EXPECT_LE(q.max_value, 1.0f);
  EXPECT_EQ(q.copies, 0);
  EXPECT_EQ(q.classes_present, 10);
  // Closer to real digits than draws of a Gaussian fitted to the training digits (pixel mean and covariance), and
  // no nearer to the training set than held-out digits are (not memorised).
  const Batch gaussian = FitGaussian(split.train, 256, 5).cwiseMax(-1.0f).cwiseMin(1.0f);
  const DigitsSampleQuality g = EvaluateDigitsSamples(gaussian, split);
  EXPECT_LT(q.nearest_train_mean, g.nearest_train_mean);
  EXPECT_GT(q.nearest_train_mean, 0.8 * q.test_nearest_train_mean);
  const double model_distance = EnergyDistance(samples, split.test);
  const double gaussian_distance = EnergyDistance(gaussian, split.test);
  EXPECT_LT(model_distance, 0.5 * gaussian_distance) << model_distance << " vs " << gaussian_distance;
}

}  // namespace
}  // namespace diffuscope

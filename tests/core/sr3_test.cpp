// core/models/sr3: the network's inputs (x_t, the bicubic condition, the noise level), the condition rules, model
// files, a short training that lowers the loss, and the shipped 10x10 and 5x5 models on held-out digits: SR3 beats
// bicubic in PSNR by more than the noise of the measurement, and its output downsamples back to its input.
#include "core/models/sr3.h"

#include "core/metrics/image_quality.h"
#include "core/models/digits_ddpm.h"
#include "core/sampling/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include <unistd.h>

namespace diffuscope {
namespace {

namespace fs = std::filesystem;

fs::path Scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("diffuscope_sr3_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

const DigitsSplit& Split() {
  static const DigitsSplit split = SplitDigits(LoadDigits(fs::path(DIFFUSCOPE_RESOURCES) / "datasets" / "digits.png"));
  return split;
}

Sr3Options Small(int low_side = 10) {
  Sr3Options o;
  o.low_side = low_side;
  o.embedding_size = 16;
  o.hidden_size = 32;
  o.hidden_layers = 1;
  return o;
}

TrainOptions Short(long long iterations) {
  TrainOptions options = Sr3DefaultTraining();
  options.iterations = iterations;
  options.batch_size = 16;
  options.warmup_steps = 2;
  options.report_every = 1;
  return options;
}

TEST(Sr3, OptionsAndSchedule) {
  Sr3Options options;
  EXPECT_EQ(options.Check(), "");
  EXPECT_EQ(options.network().input_dim(), 801);
  EXPECT_EQ(options.network().output_dim(), 400);
  NoiseSchedule s(Sr3TrainingSchedule());
  EXPECT_EQ(s.num_steps(), 2000);
  EXPECT_DOUBLE_EQ(s.beta(1), 1e-6);
  EXPECT_DOUBLE_EQ(s.beta(2000), 1e-2);
  options.low_side = 7;  // does not divide 20
  EXPECT_NE(options.Check(), "");
  options.low_side = 20;
  EXPECT_NE(options.Check(), "");
  options.low_side = 5;
  options.noise_level_scale = 0;
  EXPECT_NE(options.Check(), "");
}

TEST(Sr3, ConditionIsTheBicubicUpsampleAndIsRequired) {
  Sr3Model model(Small(5));
  const Batch truth = Split().test.topRows(3);
  const Batch low = DownscaleArea(truth, 5);
  EXPECT_EQ(model.Condition(low), LowResolutionCondition(truth, 5));
  EXPECT_THROW(model.Condition(DownscaleArea(truth, 10)), Error);
  NoiseSchedule s(Sr3TrainingSchedule());
  DenoiseQuery q{.t = 100, .t_prev = 99, .alpha_bar = s.alpha_bar(100), .schedule = &s};
  EXPECT_THROW(model.Predict(truth, q), Error);  // no condition
  const Batch condition = model.Condition(low);
  q.condition = &condition;
  Prediction p = model.Predict(truth, q);
  EXPECT_EQ(p.kind, PredictionKind::kX0);
  EXPECT_EQ(p.value.rows(), 3);
  const Batch two = condition.topRows(2);
  q.condition = &two;
  EXPECT_THROW(model.Predict(truth, q), Error);  // one condition row per sample
  // The network sees the noise level sqrt(alpha_bar), not t: the same alpha_bar on another schedule predicts the same.
  ScheduleOptions cosine;
  cosine.kind = ScheduleKind::kCosine;
  cosine.num_steps = 50;
  NoiseSchedule other(cosine);
  DenoiseQuery same{.t = 3, .t_prev = 2, .alpha_bar = s.alpha_bar(100), .schedule = &other, .condition = &condition};
  EXPECT_EQ(model.Predict(truth, same).value, p.value);
}

TEST(Sr3, TrainingLowersTheLossAndFilesRoundTrip) {
  std::vector<double> losses;
  Sr3Model model(Small());
  TrainSr3(model, Split().train, Short(200), [&](const TrainProgress& p) { losses.push_back(p.loss_ema); });
  ASSERT_EQ(losses.size(), 200u);
  EXPECT_LT(losses.back(), 0.7 * losses[9]);
  const fs::path path = Scratch("sr3.dfm");
  model.Save(path, /*with_training_state=*/true);
  Sr3Model loaded = Sr3Model::Load(path);
  EXPECT_EQ(loaded.weights(), model.weights());
  EXPECT_EQ(loaded.low_side(), 10);
  EXPECT_EQ(loaded.side(), 20);
  EXPECT_EQ(loaded.noise_level_scale(), model.noise_level_scale());
  EXPECT_EQ(loaded.name(), "SR3 digits 10x10 -> 20x20");
  const Batch low = DownscaleArea(Split().test.topRows(4), 10);
  SamplerOptions sampler = Sr3DefaultSampler();
  sampler.num_steps = 5;
  EXPECT_EQ(loaded.SuperResolve(low, sampler, 3), model.SuperResolve(low, sampler, 3));
  // A digits DDPM file is not an SR3 model; nor is an SR3 file whose settings are missing.
  const fs::path other = Scratch("ddpm.dfm");
  DigitsDdpmModel(DigitsDdpmOptions{.embedding_size = 8, .hidden_size = 8, .hidden_layers = 0}).Save(other);
  EXPECT_THROW(Sr3Model::Load(other), Error);
  ModelFile file = model.ToModelFile();
  file.settings.erase("low_side");
  EXPECT_THROW(Sr3Model{file}, Error);
  file = model.ToModelFile();
  file.settings["low_side"] = 5;  // the network's input is still fine, but 5 would be a different model: allowed
  EXPECT_NO_THROW(Sr3Model{file});
  file.settings["low_side"] = 3;  // does not divide 20
  EXPECT_THROW(Sr3Model{file}, Error);
  file = model.ToModelFile();
  file.settings["predict_x0"] = 0.5;
  EXPECT_THROW(Sr3Model{file}, Error);
  fs::remove_all(path.parent_path());
}

// The shipped models on the first 100 held-out digits: SR3 beats bicubic in PSNR (per-image differences, by more
// than 3 standard errors) and in SSIM, and its output is consistent with the input it was given.
void CheckShipped(const std::string& name, int low_side) {
  const fs::path path = fs::path(DIFFUSCOPE_RESOURCES) / "models" / (name + ".dfm");
  ASSERT_TRUE(fs::exists(path)) << path;
  Sr3Model model = Sr3Model::Load(path);
  ASSERT_EQ(model.low_side(), low_side);
  const Batch truth = Split().test.topRows(100);
  const Batch low = DownscaleArea(truth, low_side);
  const Batch bicubic = model.Condition(low);
  SamplerOptions sampler = Sr3DefaultSampler();
  sampler.num_steps = 50;
  sampler.seed = 5;
  const Batch sr3 = model.SuperResolve(low, sampler, 9);
  ASSERT_EQ(sr3.rows(), 100);
  ASSERT_EQ(sr3.cols(), 400);
  ASSERT_TRUE(sr3.allFinite());
  EXPECT_LE(sr3.maxCoeff(), 1.0f);
  EXPECT_GE(sr3.minCoeff(), -1.0f);
  std::vector<double> gain(100);
  double mean = 0;
  for (int r = 0; r < 100; ++r) {
    gain[r] = Psnr({truth.row(r).data(), 400}, {sr3.row(r).data(), 400}) -
              Psnr({truth.row(r).data(), 400}, {bicubic.row(r).data(), 400});
    mean += gain[r] / 100;
  }
  double var = 0;
  for (double g : gain) var += (g - mean) * (g - mean) / 99;
  EXPECT_GT(mean - 3 * std::sqrt(var / 100), 0.0) << name << ": PSNR gain over bicubic " << mean << " dB";
  EXPECT_GT(MeanSsim(truth, sr3, 20, 20), MeanSsim(truth, bicubic, 20, 20));
  // Consistency: the output, downsampled, is closer to the input than the bicubic upsample's own downsample is.
  EXPECT_GT(MeanPsnr(low, DownscaleArea(sr3, low_side)), MeanPsnr(low, DownscaleArea(bicubic, low_side)));
}

TEST(Sr3, Shipped10x10BeatsBicubic) { CheckShipped("sr3-digits", 10); }
TEST(Sr3, Shipped5x5BeatsBicubic) { CheckShipped("sr3-digits-5x5", 5); }

}  // namespace
}  // namespace diffuscope

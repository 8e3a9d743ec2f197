// core/models/digits_unet: the digits U-Net's options, files and registry entry, its prediction at zero weights,
// a short training that lowers the loss and resumes to the same weights, and the 10-nearest-neighbour recognition
// measure. The shipped model's quality is digits_unet_shipped_test.cpp.
#include "core/models/digits_unet.h"

#include "core/models/digits_ddpm.h"
#include "core/models/registry.h"
#include "core/random/random.h"
#include "core/sampling/sampler.h"
#include "core/train/model_file.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

namespace diffuscope {
namespace {

namespace fs = std::filesystem;

const DigitsSplit& Split() {
  static const DigitsSplit split = SplitDigits(LoadDigits(fs::path(DIFFUSCOPE_RESOURCES) / "datasets" / "digits.png"));
  return split;
}

DigitsUNetOptions Tiny() {
  DigitsUNetOptions o;
  o.network.channels = {8, 16};
  o.network.groups = 4;
  o.network.embedding_size = 16;
  o.network.embedding_width = 16;
  return o;
}

TrainOptions Short(long long iterations) {
  TrainOptions options = DigitsUNetDefaultTraining(iterations);
  options.batch_size = 8;
  options.warmup_steps = 2;
  options.learning_rate = 3e-3;
  options.report_every = 5;
  return options;
}

float MaxDiff(const std::vector<float>& a, const std::vector<float>& b) {
  float d = 0;
  for (size_t k = 0; k < a.size(); ++k) d = std::max(d, std::abs(a[k] - b[k]));
  return d;
}

TEST(DigitsUNet, OptionsAreCheckedAndTheDefaultIsAGreyThreeLevelNetwork) {
  DigitsUNetOptions options;
  EXPECT_EQ(options.Check(), "");
  EXPECT_EQ(options.network.in_channels, 1);
  EXPECT_EQ(options.network.out_channels, 1);
  EXPECT_EQ(20 % options.network.size_multiple(), 0);
  DigitsUNetOptions four = options;
  four.network.channels = {16, 32, 64, 64};  // 20 is not a multiple of 8
  EXPECT_NE(four.Check().find("multiple"), std::string::npos);
  EXPECT_THROW(DigitsUNetModel{four}, Error);
  DigitsUNetOptions rgb = options;
  rgb.network.in_channels = 3;
  EXPECT_NE(rgb.Check(), "");
  DigitsUNetOptions mean = options;
  mean.prediction = PredictionKind::kMean;
  EXPECT_NE(mean.Check(), "");
}

TEST(DigitsUNet, AnUntrainedModelPredictsZeroAndChecksItsInput) {
  DigitsUNetModel model(Tiny());  // zero_init: the output convolution starts at zero
  EXPECT_EQ(model.dimension(), 400);
  const Batch x = InitialNoise(3, 400, 1);
  DenoiseQuery q;
  q.alpha_bar = 0.4;
  const Prediction p = model.Predict(x, q);
  EXPECT_EQ(p.kind, PredictionKind::kV);
  ASSERT_EQ(p.value.rows(), 3);
  EXPECT_EQ(p.value.cwiseAbs().maxCoeff(), 0.0f);
  EXPECT_THROW(model.Predict(InitialNoise(1, 399, 1), q), Error);
  q.alpha_bar = std::nan("");
  EXPECT_THROW(model.Predict(x, q), Error);
}

TEST(DigitsUNet, TrainingLowersTheLossResumesAndTheFileRoundTrips) {
  const Batch train = Split().train.topRows(200);
  std::vector<double> losses;
  DigitsUNetModel a(Tiny());
  TrainDigitsUNet(a, train, Short(40), [&](const TrainProgress& p) { losses.push_back(p.loss_ema); });
  ASSERT_EQ(losses.size(), 8u);
  EXPECT_LT(losses.back(), 0.8 * losses.front());

  // Batched prediction equals row by row (the model runs small images in chunks).
  DenoiseQuery q;
  q.alpha_bar = 0.3;
  const Batch x = InitialNoise(5, 400, 2);
  const Batch all = a.Predict(x, q).value;
  EXPECT_GT(all.cwiseAbs().maxCoeff(), 0.0f);
  for (int r = 0; r < 5; ++r) EXPECT_LT((a.Predict(x.row(r), q).value - all.row(r)).cwiseAbs().maxCoeff(), 1e-5f);

  // The file keeps the network, the prediction and the weights; the registry opens it as this model.
  DigitsUNetOptions eps_options = Tiny();
  eps_options.prediction = PredictionKind::kEps;
  DigitsUNetModel eps_model(eps_options);
  const ModelFile file = eps_model.ToModelFile();
  EXPECT_EQ(file.model_type, kDigitsUNetModelType);
  DigitsUNetModel back(ParseModelFile(SerializeModelFile(file), "memory"));
  EXPECT_EQ(back.prediction_kind(), PredictionKind::kEps);
  EXPECT_EQ(back.network_spec(), eps_options.network);
  const fs::path path = fs::temp_directory_path() / "diffuscope_digits_unet_test.dfm";
  a.Save(path);
  OpenedModel opened = OpenModel(path.string(), {});
  ASSERT_NE(dynamic_cast<DigitsUNetModel*>(opened.denoiser.get()), nullptr);
  EXPECT_EQ(opened.denoiser->Predict(x, q).value, all);
  fs::remove(path);
  ModelFile other = file;
  other.settings.erase("prediction");
  EXPECT_THROW(DigitsUNetModel{other}, Error);

  // Stopped after 6 of 10 updates, written with its state, read back and resumed: the same weights as one run.
  DigitsUNetModel once(Tiny());
  TrainDigitsUNet(once, train, Short(10));
  DigitsUNetModel twice(Tiny());
  int asked = 0;
  EXPECT_THROW(TrainDigitsUNet(twice, train, Short(10), {}, [&] { return ++asked == 6; }), Cancelled);
  DigitsUNetModel resumed(ParseModelFile(SerializeModelFile(twice.ToModelFile(true)), "memory"));
  TrainDigitsUNet(resumed, train, Short(10));
  EXPECT_EQ(resumed.trained_steps(), 10);
  EXPECT_LT(MaxDiff(resumed.weights(), once.weights()), 1e-5f);
  DigitsUNetModel short_run(Tiny());
  TrainDigitsUNet(short_run, train, Short(9));
  EXPECT_GT(MaxDiff(short_run.weights(), once.weights()), 1e-4f);  // one update fewer is far away
}

TEST(DigitsUNet, RecognitionCountsSevenOfTenAgreeingNeighbours) {
  const DigitsSplit& split = Split();
  // Training digits are their own nearest neighbour; the held-out ones measured as samples give the reference.
  const DigitsSampleQuality test = EvaluateDigitsSamples(split.test, split);
  EXPECT_DOUBLE_EQ(test.recognised / static_cast<double>(test.samples), test.test_recognised_fraction);
  EXPECT_GT(test.test_recognised_fraction, 0.85);  // real digits: about 90%
  EXPECT_LT(test.test_recognised_fraction, 0.97);
  int sum = 0;
  for (int c : test.recognised_counts) sum += c;
  EXPECT_EQ(sum, test.recognised);
  // Pure noise is recognised far less often than real digits: the measure can fail.
  const DigitsSampleQuality noise =
      EvaluateDigitsSamples(InitialNoise(100, 400, 9).cwiseMax(-1.0f).cwiseMin(1.0f), split);
  EXPECT_LT(noise.recognised, 0.6 * 100 * test.test_recognised_fraction);
}

}  // namespace
}  // namespace diffuscope

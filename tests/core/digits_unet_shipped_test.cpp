// The shipped digits U-Net against the shipped MLP on the protocol (256 samples, 50 DDIM steps, a 10-NN
// classifier). Labelled `quality`: it measures trained weights, not code paths, and takes most of a minute, so CI
// runs it in the Release pass and not again under the sanitizers.
#include "core/data/digits.h"
#include "core/models/digits_ddpm.h"
#include "core/models/digits_unet.h"
#include "core/sampling/sampler.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace diffuscope {
namespace {

namespace fs = std::filesystem;

const DigitsSplit& Split() {
  static const DigitsSplit split = SplitDigits(LoadDigits(fs::path(DIFFUSCOPE_RESOURCES) / "datasets" / "digits.png"));
  return split;
}

TEST(DigitsUNet, ShippedModelSamplesNewDigitsOfEveryClassMoreRecognisableThanTheMlps) {
  // The protocol: 256 samples, 50 DDIM steps, a 10-NN classifier on the training digits (7 of 10 agree).
  const fs::path models = fs::path(DIFFUSCOPE_RESOURCES) / "models";
  ASSERT_TRUE(fs::exists(models / "ddpm-digits.dfm"));
  ASSERT_TRUE(fs::exists(models / "ddpm-digits-mlp.dfm"));
  DigitsUNetModel unet = DigitsUNetModel::Load(models / "ddpm-digits.dfm");
  DigitsDdpmModel mlp = DigitsDdpmModel::Load(models / "ddpm-digits-mlp.dfm");
  SamplerOptions ddim;
  ddim.kind = SamplerKind::kDdim;
  ddim.num_steps = 50;
  ddim.clip_x0 = true;
  ddim.seed = 3;
  const Batch noise = InitialNoise(256, 400, 7);
  const Batch samples = Sample(unet.schedule(), unet, ddim, noise);
  ASSERT_TRUE(samples.allFinite());
  const DigitsSampleQuality q = EvaluateDigitsSamples(samples, Split());
  const DigitsSampleQuality m = EvaluateDigitsSamples(Sample(mlp.schedule(), mlp, ddim, noise), Split());
  EXPECT_GT(q.recognised, m.recognised) << q.recognised << " vs the MLP's " << m.recognised << " of 256";
  EXPECT_GE(q.recognised, 192) << "at least 75% recognised (measured: 209 of 256 at 24,000 updates)";
  EXPECT_EQ(q.copies, 0);
  for (int c = 0; c < 10; ++c) EXPECT_GT(q.recognised_counts[c], 0) << "class " << c;
  // New digits, not memorised ones: no nearer to the training set than the held-out digits are, roughly.
  EXPECT_GT(q.nearest_train_mean, 0.8 * q.test_nearest_train_mean);
  EXPECT_GE(q.min_value, -1.0f);
  EXPECT_LE(q.max_value, 1.0f);
}

}  // namespace
}  // namespace diffuscope

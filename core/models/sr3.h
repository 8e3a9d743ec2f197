// SR3 (Saharia et al. 2021, "Image Super-Resolution via Iterative Refinement") on the 20x20 digits: 10x10 -> 20x20
// (or 5x5 -> 20x20). The low-resolution image is the area-average downscale (OpenCV INTER_AREA) of the truth; the
// network sees x_t concatenated with its bicubic upsample (800 inputs) and the continuous noise level sqrt(gamma)
// (through 128 sinusoidal features) instead of t, and predicts x_0 (default; SR3 itself predicts eps, which this
// option keeps: an MLP has no skip path from input to output, so an eps-network must carry the noise through its
// hidden layers and leaves speckles of it in the output; see digits_ddpm.h). Training follows SR3's code: linear
// schedule, T = 2000, 1e-6 .. 1e-2; each example draws t uniform in 1..T and then sqrt(gamma) ~ U(sqrt(alpha_bar_t),
// sqrt(alpha_bar_{t-1})), x_noisy = sqrt(gamma) x_0 + sqrt(1 - gamma) eps. Because the network is told the noise
// level, it samples on any schedule and with any number of steps (the sampler's alpha_bar is the noise level).
// The condition reaches Predict through DenoiseQuery::condition (one bicubic-upsampled row per sample).
//
//   diffuscope::DigitsSplit split = diffuscope::SplitDigits(diffuscope::LoadDigits());
//   diffuscope::Sr3Model model({.low_side = 10});
//   diffuscope::TrainSr3(model, split.train, diffuscope::Sr3DefaultTraining(), progress, stop);
//   diffuscope::Batch low = diffuscope::DownscaleArea(split.test, 10);               // 500 x 100
//   diffuscope::Batch high = model.SuperResolve(low, diffuscope::Sr3DefaultSampler(), /*seed=*/1);  // 500 x 400
//   diffuscope::Sr3Evaluation e = diffuscope::EvaluateSr3(model, split.test, diffuscope::Sr3DefaultSampler(), 1);
#pragma once

#include "core/common/types.h"
#include "core/data/digits.h"
#include "core/models/learned_model.h"
#include "core/nn/network.h"
#include "core/sampling/sampler.h"
#include "core/schedule/schedule.h"
#include "core/train/trainer.h"

#include <filesystem>
#include <string>

namespace diffuscope {

/// The model_type of SR3 digits model files.
inline constexpr const char* kSr3DigitsModelType = "sr3-digits";

/// SR3's training schedule: linear 1e-6 .. 1e-2, T = 2000 (alpha_bar_T = 4.5e-5).
ScheduleOptions Sr3TrainingSchedule();
/// The recipe of the shipped models: batch 128, AdamW 1e-3, 500 warm-up updates, cosine decay to 1e-5, no weight
/// decay, clip 1, EMA 0.999, 12,000 updates.
TrainOptions Sr3DefaultTraining();
/// How the shipped models are sampled: DDPM ancestral steps, 100 of the training schedule's 2000 (trailing
/// spacing), x_0 clipped to [-1, 1].
SamplerOptions Sr3DefaultSampler();

struct Sr3Options {
  int low_side = 10;                // side of the low-resolution input (divides side: 10 or 5 for digits)
  int side = kDigitSide;            // side of the output (20)
  int embedding_size = 128;         // sinusoidal features of the noise level
  double noise_level_scale = 1000;  // sqrt(gamma) in [0, 1] is multiplied by this before its sinusoidal features
  int hidden_size = 512;            // width of the hidden layers
  int hidden_layers = 2;            // residual SiLU blocks
  bool predict_x0 = true;           // the network predicts x_0 (PredictionKind::kX0); false: eps (SR3's choice)
  ScheduleOptions schedule = Sr3TrainingSchedule();

  /// Empty when valid, else what is wrong, naming the option.
  std::string Check() const;
  /// The network: PixelMlpSpec(2 side^2, embedding_size, noise_level_scale, ...) -> side^2.
  NetworkSpec network() const;
};

class Sr3Model : public LearnedModel {
 public:
  /// An untrained model (weights from seed 0). Throws Error when options.Check() fails.
  explicit Sr3Model(const Sr3Options& options = {});
  /// A model from a model file (settings "side", "low_side", "noise_level_scale", "predict_x0"); throws Error when it
  /// is not an SR3 digits file or its network does not fit those settings.
  explicit Sr3Model(ModelFile file);
  /// Loads a model file (Error names the file and the problem).
  static Sr3Model Load(const std::filesystem::path& path) { return LoadLearnedModel<Sr3Model>(path); }

  /// The model as a file; with_training_state keeps AdamW's moments and the raw weights so training can resume.
  ModelFile ToModelFile(bool with_training_state = false) const override;

  /// "SR3 digits 10x10 -> 20x20".
  std::string name() const override;
  /// Predicts x_0 or eps (prediction_kind) for every row of x_t (n x side^2) at noise level sqrt(query.alpha_bar);
  /// query.condition must hold n rows of side^2 values (Condition(low)). Any schedule and any stride works.
  Prediction Predict(const Batch& x_t, const DenoiseQuery& query) override;
  int dimension() const override { return side_ * side_; }

  /// The network's output (x_0 or eps, as prediction_kind) for x_t given the condition rows (same count) at noise
  /// level sqrt(gamma) in [0, 1].
  void RunNetwork(const Batch& x_t, const Batch& condition, double sqrt_gamma, Batch* out);
  /// What the network predicts: PredictionKind::kX0 or kEps.
  PredictionKind prediction_kind() const { return predict_x0_ ? PredictionKind::kX0 : PredictionKind::kEps; }
  /// The network's condition for low-resolution rows (n x low_side^2, pixels in [-1, 1]): their bicubic upsample
  /// to side x side. Throws Error on a wrong number of columns.
  Batch Condition(const Batch& low) const;
  /// Super-resolves low-resolution rows (n x low_side^2): a reverse run on sampler (its schedule is the model's
  /// own) from InitialNoise(n, side^2, seed) with the noise of options.seed. stop is asked between steps.
  Batch SuperResolve(const Batch& low, const SamplerOptions& options, uint64_t seed, const StopFn& stop = {});

  int low_side() const { return low_side_; }
  int side() const { return side_; }
  double noise_level_scale() const { return noise_level_scale_; }

 private:
  friend TrainReport TrainSr3(Sr3Model&, const Batch&, const TrainOptions&, const TrainProgressFn&, const StopFn&,
                              const std::filesystem::path&);
  int low_side_ = 10, side_ = kDigitSide;
  double noise_level_scale_ = 1000;
  bool predict_x0_ = true;
};

/// Trains model on high-resolution images (n x side^2 in [-1, 1]; use SplitDigits(...).train) with the MSE on x_0 or
/// eps and SR3's continuous noise level (see the top of this header). The conditions are LowResolutionCondition(images,
/// low_side). Draws keyed by (options.seed, Stream::kTraining, update); resuming, progress, stop and checkpoints as
/// TrainDdpm2d's. Throws Error on bad data or options, or on divergence.
TrainReport TrainSr3(Sr3Model& model, const Batch& images, const TrainOptions& options,
                     const TrainProgressFn& progress = {}, const StopFn& stop = {},
                     const std::filesystem::path& checkpoint_path = {});

/// Quality of super-resolution on held-out images, each figure the mean over images (PSNR in dB with pixels in
/// [-1, 1], i.e. data range 2; SSIM with an 11x11 Gaussian window, sigma 1.5).
struct Sr3Evaluation {
  int images = 0;
  double psnr_sr3 = 0, ssim_sr3 = 0;          // SR3 output vs the truth
  double psnr_bicubic = 0, ssim_bicubic = 0;  // bicubic upsample of the low-resolution input vs the truth
  double consistency_psnr_sr3 = 0;            // DownscaleArea(SR3 output) vs the low-resolution input
  double consistency_psnr_bicubic = 0;        // DownscaleArea(bicubic) vs the low-resolution input
};

/// Downscales truth (n x side^2) to the model's low_side, super-resolves it with sampler and seed, and measures
/// SR3 and bicubic against the truth and the input. stop is asked between steps.
Sr3Evaluation EvaluateSr3(Sr3Model& model, const Batch& truth, const SamplerOptions& sampler, uint64_t seed,
                          const StopFn& stop = {});

}  // namespace diffuscope

// DDPM on the 20x20 handwritten digits with a convolutional U-Net (the shipped "ddpm-digits"): Ho et al. 2020's
// denoiser at the size of the digits, one grey channel in and out, levels 32, 64, 128 (20 -> 10 -> 5 pixels),
// conditioned on the noise level as the photo models are (NoiseLevelInput), so it serves every schedule. It
// predicts v = sqrt(alpha_bar) eps - sqrt(1 - alpha_bar) x_0 (Salimans and Ho 2022): x0_hat from eps divides by
// sqrt(alpha_bar), 0.006 at t = T on the linear schedule, so the first DDIM steps of an eps-network amplify its
// errors 160-fold; v stays well scaled at both ends. The pixel MLP (DigitsDdpmModel, "ddpm-digits-mlp") stays for
// comparison: its samples are smudges a classifier often cannot place; the U-Net's local filters make strokes.
//
//   diffuscope::DigitsSplit split = diffuscope::SplitDigits(diffuscope::LoadDigits());
//   diffuscope::DigitsUNetModel model;                                 // untrained
//   diffuscope::TrainDigitsUNet(model, split.train, diffuscope::DigitsUNetDefaultTraining(), progress, stop);
//   diffuscope::Batch x0 = diffuscope::Sample(model.schedule(), model, ddim, diffuscope::InitialNoise(64, 400, 7));
#pragma once

#include "core/data/digits.h"
#include "core/models/digits_ddpm.h"
#include "core/models/unet_model.h"

#include <filesystem>
#include <string>

namespace diffuscope {

/// The model_type of digits U-Net model files.
inline constexpr const char* kDigitsUNetModelType = "ddpm-digits-unet";

/// 1 -> 1 channels, levels 32, 64, 128, GroupNorm(8), zero-initialised block outputs (about 1.5 M weights).
UNetSpec DigitsUNetSpec();
/// The shipped recipe: batch 32, AdamW 5e-4 with 500 warm-up updates and cosine decay to 1e-5, clip 1, EMA 0.999,
/// checkpoints every 500 updates.
TrainOptions DigitsUNetDefaultTraining(long long iterations = 8000);

struct DigitsUNetOptions {
  PredictionKind prediction = PredictionKind::kV;  // kEps, kX0 or kV
  UNetSpec network = DigitsUNetSpec();
  ScheduleOptions schedule = DigitsDdpmDefaultSchedule();  // linear 1e-4 .. 0.02, T = 1000; t uniform in training
  /// Empty when valid, else what is wrong, naming the option.
  std::string Check() const;
};

class DigitsUNetModel : public UNetModel {
 public:
  explicit DigitsUNetModel(const DigitsUNetOptions& options = {});
  /// Throws Error unless file holds a digits U-Net (1 -> 1 channels) with its prediction setting.
  explicit DigitsUNetModel(ModelFile file);
  static DigitsUNetModel Load(const std::filesystem::path& path) { return LoadUNetModel<DigitsUNetModel>(path); }
  ModelFile ToModelFile(bool with_training_state = false) const override;

  std::string name() const override { return "DDPM digits (U-Net, 20x20)"; }
  /// v (or eps / x_0, see prediction_kind) for every row of x_t (n x 400) at the query's alpha_bar.
  Prediction Predict(const Batch& x_t, const DenoiseQuery& query) override;
  PredictionKind prediction_kind() const { return options_.prediction; }
  const DigitsUNetOptions& options() const { return options_; }

 private:
  friend TrainReport TrainDigitsUNet(DigitsUNetModel&, const Batch&, const TrainOptions&, const TrainProgressFn&,
                                     const StopFn&, const std::filesystem::path&);
  DigitsUNetOptions options_;
};

/// Trains on images (n x 400 rows in [-1, 1]; SplitDigits(...).train keeps the held-out tenth out) with the MSE on
/// the target: each update draws batch_size rows (with replacement), t uniform in 1..T and eps ~ N(0, I), keyed by
/// (options.seed, Stream::kTraining, update). Resumes from the model's state; progress, stop and checkpoints as
/// the other models. Throws Error on bad data or options, or when training diverges.
TrainReport TrainDigitsUNet(DigitsUNetModel& model, const Batch& images, const TrainOptions& options,
                            const TrainProgressFn& progress = {}, const StopFn& stop = {},
                            const std::filesystem::path& checkpoint_path = {});

}  // namespace diffuscope

// Learned models of natural photographs, on the U-Net (core/nn/unet.h), any size, colour or grey:
// - PhotoDdpmModel ("ddpm-photo"): Ho et al. 2020's denoiser, conditioned on the noise level instead of t, so it
//   serves every schedule (x_t in the variance-preserving form; the query's alpha_bar says how noisy it is). It
//   predicts v = sqrt(alpha_bar) eps - sqrt(1 - alpha_bar) x_0 by default (Salimans and Ho 2022): well scaled at
//   every noise level, from the faint noise of t = 1 to the pure noise of zero terminal SNR (eps and x_0 stay
//   options; the choice was measured, see resources/models/README.md).
// - Sr3PhotoModel ("sr3-photo"): SR3 (Saharia et al. 2021) x4: the U-Net sees x_t and the bicubic upsample of
//   the low-resolution image, and SR3's continuous noise level sqrt(gamma) ~ U(sqrt(abar_{t-1}), sqrt(abar_t)).
// Both train on random crops of photographs (DrawPhotoCrops) and from pure noise make textures, not photographs:
// a small network trained on a few dozen photos has learned local image statistics (Kamb and Ganguli 2025).
//
//   diffuscope::PhotoDdpmModel model = diffuscope::PhotoDdpmModel::Load(path);
//   model.SetImageSize(3, 256, 256);
//   diffuscope::Prediction p = model.Predict(x_t, query);   // v (or eps / x_0), same shape as x_t
#pragma once

#include "core/models/unet_model.h"

#include <filesystem>
#include <string>
#include <vector>

namespace diffuscope {

inline constexpr const char* kPhotoDdpmModelType = "ddpm-photo";
inline constexpr const char* kSr3PhotoModelType = "sr3-photo";

/// The photo models' U-Net: RGB (plus the condition for SR3), levels 32, 64, 128 (the reference network's shape,
/// 1.48 M weights), GroupNorm(8), zero-initialised block outputs.
UNetSpec PhotoUNetSpec(bool sr3 = false);
/// DDPM's linear schedule 1e-4 .. 0.02, T = 1000: the default sampling schedule (the network serves any).
ScheduleOptions PhotoDdpmDefaultSchedule();
/// AdamW 2e-4 (the reference's), 500 warm-up updates, cosine decay to 1e-5, clip 1, EMA 0.999, batch 8.
TrainOptions PhotoDefaultTraining(long long iterations = 20000);

struct PhotoDdpmOptions {
  PredictionKind prediction = PredictionKind::kV;  // kEps, kX0 or kV
  UNetSpec network = PhotoUNetSpec();
  ScheduleOptions schedule = PhotoDdpmDefaultSchedule();
  PhotoCropOptions crops;
  /// Training noise levels: log sigma ~ N(log_sigma_mean, log_sigma_std) (Karras et al. 2022) with probability
  /// 1 - uniform_fraction, else log-SNR uniform in [-12, 12] (the ends of every schedule).
  double log_sigma_mean = -1.2, log_sigma_std = 1.2, uniform_fraction = 0.3;
  std::string Check() const;
};

class PhotoDdpmModel : public UNetModel {
 public:
  explicit PhotoDdpmModel(const PhotoDdpmOptions& options = {});
  explicit PhotoDdpmModel(ModelFile file);
  static PhotoDdpmModel Load(const std::filesystem::path& path) { return LoadUNetModel<PhotoDdpmModel>(path); }
  ModelFile ToModelFile(bool with_training_state = false) const override;

  std::string name() const override { return "DDPM photo (U-Net)"; }
  Prediction Predict(const Batch& x_t, const DenoiseQuery& query) override;
  PredictionKind prediction_kind() const { return options_.prediction; }
  const PhotoDdpmOptions& options() const { return options_; }
  /// x0_hat of x_t (rows of the set image size) at noise level alpha_bar.
  Batch PredictX0(const Batch& x_t, double alpha_bar);

 private:
  friend TrainReport TrainPhotoDdpm(PhotoDdpmModel&, const std::vector<Image>&, const TrainOptions&,
                                    const TrainProgressFn&, const StopFn&, const std::filesystem::path&);
  PhotoDdpmOptions options_;
};

/// Trains on random crops of photos (RGB or grey; any sizes >= the crop side). Resumes from the model's state.
TrainReport TrainPhotoDdpm(PhotoDdpmModel& model, const std::vector<Image>& photos, const TrainOptions& options,
                           const TrainProgressFn& progress = {}, const StopFn& stop = {},
                           const std::filesystem::path& checkpoint_path = {});

/// SR3's training schedule for photos: linear 1e-6 .. 1e-2, T = 2000 (the paper's super-resolution schedule).
ScheduleOptions Sr3PhotoSchedule();

struct Sr3PhotoOptions {
  int factor = 4;  // output side / input side
  UNetSpec network = PhotoUNetSpec(true);
  ScheduleOptions schedule = Sr3PhotoSchedule();
  PhotoCropOptions crops;
  // What the network predicts. 0: SR3's own form, eps of the image. > 0: the residual form (SRDiff, Li et al.
  // 2022): x0_hat = bicubic upsample + residual_scale * output, so an untrained network already gives bicubic and
  // training only has to learn the missing detail; at this project's budget (20,000 updates, not SR3's 1M) the eps
  // form stayed 8 dB below bicubic. The diffusion itself stays on the image, so every x_t is a picture.
  double residual_scale = 0.1;
  std::string Check() const;
};

class Sr3PhotoModel : public UNetModel {
 public:
  explicit Sr3PhotoModel(const Sr3PhotoOptions& options = {});
  explicit Sr3PhotoModel(ModelFile file);
  static Sr3PhotoModel Load(const std::filesystem::path& path) { return LoadUNetModel<Sr3PhotoModel>(path); }
  ModelFile ToModelFile(bool with_training_state = false) const override;

  std::string name() const override { return "SR3 photo x" + std::to_string(options_.factor) + " (U-Net)"; }
  /// eps (or, in the residual form, x0_hat) for every row of x_t (the high-resolution shape set by SetImageSize);
  /// query.condition holds the bicubic upsample of the low-resolution image (Condition()).
  Prediction Predict(const Batch& x_t, const DenoiseQuery& query) override;
  int factor() const { return options_.factor; }
  const Sr3PhotoOptions& options() const { return options_; }
  /// The bicubic upsample (factor x) of low-resolution rows (channels x h x w): the network's condition.
  Batch Condition(const Batch& low, int channels, int height, int width) const;

 private:
  friend TrainReport TrainSr3Photo(Sr3PhotoModel&, const std::vector<Image>&, const TrainOptions&,
                                   const TrainProgressFn&, const StopFn&, const std::filesystem::path&);
  Sr3PhotoOptions options_;
};

TrainReport TrainSr3Photo(Sr3PhotoModel& model, const std::vector<Image>& photos, const TrainOptions& options,
                          const TrainProgressFn& progress = {}, const StopFn& stop = {},
                          const std::filesystem::path& checkpoint_path = {});

}  // namespace diffuscope

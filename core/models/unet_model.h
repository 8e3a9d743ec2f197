// The plumbing shared by the convolutional models (ddpm-photo, sr3-photo, the digits U-Net) on top of
// TrainableModel (network, schedule, weights, training record, files, training glue): running the network on rows
// of channel-plane images of any size (padding to the U-Net's size multiple, grey as three equal channels).
//
// The networks are conditioned on the noise level, not on the index t: the embedding sees
// c = 1000 (lambda_max - lambda) / (lambda_max - lambda_min), lambda = log(alpha_bar / (1 - alpha_bar)) clamped to
// [lambda_min, lambda_max] = [-15, 15]. So one model serves every schedule the user picks.
#pragma once

#include "core/common/types.h"
#include "core/data/image_io.h"
#include "core/models/denoiser.h"
#include "core/models/trainable_model.h"
#include "core/nn/unet.h"
#include "core/random/random.h"
#include "core/schedule/schedule.h"
#include "core/train/model_file.h"
#include "core/train/trainer.h"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace diffuscope {

/// The embedding input of a noise level alpha_bar (see above).
float NoiseLevelInput(double alpha_bar);

/// The model-file setting "prediction" of what a network predicts: 0 eps, 1 x_0, 2 v.
double PredictionSetting(PredictionKind kind);
/// Reads it back; Error (naming `what`, e.g. "photo") when it is missing or not one of those.
PredictionKind PredictionFromSetting(const ModelFile& file, const std::string& what);
/// The mean squared error of y against target (same shape), and its gradient 2 (y - target) / size in dy.
double UNetMseGradient(const Tensor4<float>& y, const Tensor4<float>& target, Tensor4<float>* dy);

class UNetModel : public TrainableModel<UNet<float>> {
 public:
  /// The image shape of the rows Predict is given: channels (1 or 3) x height x width planes. Throws Error on a
  /// bad shape.
  void SetImageSize(int channels, int height, int width);
  int channels() const { return channels_; }
  int height() const { return height_; }
  int width() const { return width_; }
  int dimension() const override { return channels_ * height_ * width_; }

 protected:
  UNetModel(const UNetSpec& spec, const ScheduleOptions& schedule) : TrainableModel(spec, schedule) {}
  /// From a file: throws Error unless file.model_type is model_type and the file holds a U-Net that fits.
  UNetModel(ModelFile& file, const char* model_type, const std::string& model_name);

  /// The network (sampling weights) on each row of x (channels_ x height_ x width_ planes), with `condition`
  /// rows of the same shape concatenated as extra input channels when not null, at noise level alpha_bar (one per
  /// row, or one for all). An RGB network sees grey rows as three equal channels and they come out averaged.
  /// out gets the same shape as x.
  void RunImages(const Batch& x, const Batch* condition, const std::vector<double>& alpha_bar, Batch* out);
  /// Predict's common part: checks the query's alpha_bar and x_t (Error naming the model), then the network's
  /// output of `kind` at that noise level.
  Prediction PredictAtNoiseLevel(const Batch& x_t, const Batch* condition, const DenoiseQuery& query,
                                 PredictionKind kind);

  int channels_ = 3, height_ = 64, width_ = 64;
  UNet<float>::Workspace infer_ws_{false};
  UNet<float>::Tensor in_;
};

/// Loads a model file as Model (Error names the file and the problem).
template <class Model>
Model LoadUNetModel(const std::filesystem::path& path) {
  ModelFile file = LoadModelFile(path);
  try {
    return Model(std::move(file));
  } catch (const Error& e) {
    throw Error("'" + path.string() + "': " + e.what());
  }
}

/// Training crops of photographs: random position, scale (area-downscaled 1x..4x), flip and quarter turn, and a
/// grey copy (three equal channels) with probability grey_fraction. Each crop is side x side RGB, channel planes.
struct PhotoCropOptions {
  int side = 64;
  double max_downscale = 4.0;
  double grey_fraction = 0.2;
  std::string Check() const;
};

/// Fills out (count x 3 side side) with crops of images (RGB), drawing from draws.
void DrawPhotoCrops(const std::vector<Image>& images, const PhotoCropOptions& options, int count, RandomStream& draws,
                    Batch* out);

/// Area downscale of each row (channels x height x width planes) by factor, then bicubic upscale back (SR3's
/// conditioning input). height and width must divide by factor.
Batch DownUpBicubic(const Batch& rows, int channels, int height, int width, int factor, Batch* low = nullptr);

}  // namespace diffuscope

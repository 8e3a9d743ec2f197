// DDPM on the 20x20 handwritten digits (Ho et al. 2020): an MLP on the 400 pixels. The timestep index goes through
// 128 sinusoidal features and joins the pixels (528 inputs), then Linear -> SiLU, residual SiLU blocks
// (x + SiLU(x W + b)) and Linear -> 400. The network predicts x_0 (the default) or eps; trained with the MSE on its
// target at uniformly drawn t on the training nine tenths of the digits (SplitDigits); the schedule is DDPM's linear
// 1e-4 .. 0.02, T = 1000. Why x_0: an MLP has no skip path from its input to its output, so an eps-network must
// carry the noise itself through its hidden layers; it does so imprecisely and the samples keep speckles of noise
// (measured: an eps-network of the same size and budget left visible noise in every sample), while the clean digit an
// x_0-network outputs lies near a low-dimensional set it can represent.
//
//   diffuscope::DigitsSplit split = diffuscope::SplitDigits(diffuscope::LoadDigits());
//   diffuscope::DigitsDdpmModel model;                                       // untrained, default network
//   diffuscope::TrainDigitsDdpm(model, split.train, diffuscope::DigitsDdpmDefaultTraining(), progress, stop);
//   model.Save("ddpm-digits.dfm");
//   diffuscope::SamplerOptions ddim{.kind = diffuscope::SamplerKind::kDdim, .num_steps = 50, .clip_x0 = true};
//   diffuscope::Batch x0 = diffuscope::Sample(model.schedule(), model, ddim, diffuscope::InitialNoise(64, 400, 7));
//   diffuscope::DigitsSampleQuality q = diffuscope::EvaluateDigitsSamples(x0, split);  // copies? every class?
#pragma once

#include "core/common/types.h"
#include "core/data/digits.h"
#include "core/models/learned_model.h"
#include "core/nn/network.h"
#include "core/schedule/schedule.h"
#include "core/train/trainer.h"

#include <array>
#include <filesystem>
#include <string>

namespace diffuscope {

/// The model_type of digits DDPM model files.
inline constexpr const char* kDigitsDdpmModelType = "ddpm-digits";

/// DDPM's linear schedule 1e-4 .. 0.02, T = 1000 (alpha_bar_T = 4.0e-5).
ScheduleOptions DigitsDdpmDefaultSchedule();
/// The recipe of the shipped model: batch 128, AdamW 1e-3 with 500 warm-up updates and cosine decay to 1e-5,
/// no weight decay, clip 1, EMA 0.999, 24,000 updates.
TrainOptions DigitsDdpmDefaultTraining();

/// A pixel MLP: input columns = `pixel_inputs` values taken as they are, then one column that goes through
/// `embedding_size` sinusoidal features at `embedding_scale`; Linear -> SiLU, `hidden_layers` residual SiLU
/// blocks of width `hidden_size`, Linear -> `outputs`. (The digits DDPM and SR3 networks.)
NetworkSpec PixelMlpSpec(int pixel_inputs, int embedding_size, double embedding_scale, int hidden_size,
                         int hidden_layers, int outputs);

struct DigitsDdpmOptions {
  int embedding_size = 128;  // sinusoidal features of the timestep index
  int hidden_size = 512;     // width of the hidden layers
  int hidden_layers = 2;     // residual SiLU blocks
  bool predict_x0 = true;    // the network predicts x_0 (PredictionKind::kX0); false: eps (kEps)
  ScheduleOptions schedule = DigitsDdpmDefaultSchedule();

  /// Empty when valid, else what is wrong, naming the option.
  std::string Check() const;
  /// The network these options describe (PixelMlpSpec(400, ...) -> 400).
  NetworkSpec network() const;
};

class DigitsDdpmModel : public LearnedModel {
 public:
  /// An untrained model (weights from seed 0). Throws Error when options.Check() fails.
  explicit DigitsDdpmModel(const DigitsDdpmOptions& options = {});
  /// A model from a model file (setting "predict_x0": 1 = x_0, 0 = eps); throws Error when it is not a digits DDPM
  /// file or its network does not map 400 pixels and t to 400 values.
  explicit DigitsDdpmModel(ModelFile file);
  /// Loads a model file (Error names the file and the problem).
  static DigitsDdpmModel Load(const std::filesystem::path& path) { return LoadLearnedModel<DigitsDdpmModel>(path); }

  /// The model as a file; with_training_state keeps AdamW's moments and the raw weights so training can resume.
  ModelFile ToModelFile(bool with_training_state = false) const override;

  std::string name() const override { return "DDPM digits (20x20)"; }
  /// Predicts x_0 (or eps, see prediction_kind) for every row of x_t (n x 400). The network sees the timestep index
  /// t - 1 (0..T-1) of the model's schedule; a query on another schedule is mapped to the (fractional) index of
  /// equal log-SNR.
  Prediction Predict(const Batch& x_t, const DenoiseQuery& query) override;
  int dimension() const override { return kDigitPixels; }

  /// The network's output (x_0 or eps, as prediction_kind) for x_t (n x 400) at timestep index t_index (0..T-1,
  /// fractional allowed).
  void RunNetwork(const Batch& x_t, double t_index, Batch* out);
  /// What the network predicts: PredictionKind::kX0 or kEps.
  PredictionKind prediction_kind() const { return predict_x0_ ? PredictionKind::kX0 : PredictionKind::kEps; }
  /// The network timestep index of a query (see Predict).
  double TimestepIndex(const DenoiseQuery& query) const { return ScheduleTimestepIndex(query, "DDPM digits"); }

 private:
  friend TrainReport TrainDigitsDdpm(DigitsDdpmModel&, const Batch&, const TrainOptions&, const TrainProgressFn&,
                                     const StopFn&, const std::filesystem::path&);
  bool predict_x0_ = true;
};

/// Trains model on images (n x 400 rows in [-1, 1]; use SplitDigits(...).train so the held-out tenth stays out)
/// with the MSE on the network's target (x_0 or eps): each update draws batch_size rows (uniformly, with replacement),
/// t uniform in 1..T and eps ~ N(0, I), keyed by (options.seed, Stream::kTraining, update). Resuming, progress, stop
/// and checkpoints behave as TrainDdpm2d's. Throws Error on bad data or options, or when training diverges.
TrainReport TrainDigitsDdpm(DigitsDdpmModel& model, const Batch& images, const TrainOptions& options,
                            const TrainProgressFn& progress = {}, const StopFn& stop = {},
                            const std::filesystem::path& checkpoint_path = {});

/// How generated digits compare with the data (Euclidean distances between 400-pixel rows in [-1, 1]).
struct DigitsSampleQuality {
  int samples = 0;
  float min_value = 0, max_value = 0;  // range of the sample pixels
  double nearest_train_mean = 0;       // mean over samples of the distance to the nearest training image
  double nearest_train_min = 0;        // the smallest such distance (0 = an exact copy)
  double test_nearest_train_mean = 0;  // the same for the held-out images: what "new digits" look like
  double test_nearest_train_min = 0;
  int copies = 0;                                 // samples closer to a training image than copy_distance
  std::array<int, kDigitClasses> class_counts{};  // samples per class, by the label of the 5 nearest training images
  int classes_present = 0;                        // classes with at least one sample
  /// A 10-nearest-neighbour classifier on the training digits "recognises" a sample when at least 7 of its 10
  /// nearest training digits share one label (the measure: real held-out digits score about 92%).
  int recognised = 0;
  std::array<int, kDigitClasses> recognised_counts{};  // recognised samples per class
  double test_recognised_fraction = 0;                 // the same measure on the held-out real digits
};

/// Measures samples (n x 400) against split: nearest training images, the held-out images' own nearest-training
/// distances for reference, a 5-nearest-neighbour class for each sample and the 10-NN recognition above. copy_distance
/// (default 1.0, a 400-pixel distance, i.e. an RMS pixel difference of 0.05 on the [-1, 1] scale) counts near copies.
DigitsSampleQuality EvaluateDigitsSamples(const Batch& samples, const DigitsSplit& split, double copy_distance = 1.0);

}  // namespace diffuscope

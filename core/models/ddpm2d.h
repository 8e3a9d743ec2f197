// DDPM on 2D points (Ho et al. 2020) with tiny-diffusion's network: x and y each through 128 sinusoidal features
// at scale 25, the timestep index through 128 sinusoidal features, Linear 384->128 + GELU, 3 residual GELU
// blocks, Linear 128->2. It predicts eps; trained with the MSE on eps at uniformly drawn t. The default schedule
// is cosine with T = 50 (it ends at alpha_bar_T ~ 1e-4); tiny-diffusion's own linear T = 50 (TinyDiffusionSchedule)
// ends at alpha_bar_T = 0.603 and is kept for comparison.
//
//   diffuscope::Ddpm2dModel model;                                   // untrained, default architecture
//   model.set_normalization(diffuscope::DatasetNormalization("mine.csv"));  // the data's shift and scale
//   diffuscope::TrainOptions options;                                // 50,000 updates of batch 32
//   diffuscope::TrainDdpm2d(model, points, options, progress, stop); // points: n x 2
//   model.Save("dino.dfm");
//   diffuscope::Batch z0 = diffuscope::Sample(model.schedule(), model, {}, diffuscope::InitialNoise(1000, 2, 7));
//   diffuscope::Batch x0 = model.normalization().ToData(z0);         // in the data's units
#pragma once

#include "core/common/types.h"
#include "core/models/learned_model.h"
#include "core/nn/network.h"
#include "core/schedule/schedule.h"
#include "core/train/trainer.h"

#include <filesystem>
#include <string>

namespace diffuscope {

/// The model_type of DDPM 2D model files.
inline constexpr const char* kDdpm2dModelType = "ddpm-2d";

/// Cosine, T = 50, betas clipped at 0.9: the default of the 2D DDPM (alpha_bar_T = 9.7e-5). The usual 0.999 clip
/// makes the last step's alpha_T = 0.001, where an eps-model's error is amplified 32x in the first reverse step.
ScheduleOptions Ddpm2dDefaultSchedule();
/// tiny-diffusion's schedule: linear 1e-4 .. 0.02, T = 50 (alpha_bar_T = 0.603: samples the wrong density).
ScheduleOptions TinyDiffusionSchedule();

struct Ddpm2dOptions {
  int embedding_size = 128;   // sinusoidal features of each of x, y and t
  double input_scale = 25.0;  // x and y are multiplied by this before their sinusoidal features
  int hidden_size = 128;      // width of the hidden layers
  int hidden_layers = 3;      // residual GELU blocks
  ScheduleOptions schedule = Ddpm2dDefaultSchedule();

  /// Empty when valid, else what is wrong, naming the option.
  std::string Check() const;
  /// The network these options describe (TinyDiffusionSpec).
  NetworkSpec network() const;
};

class Ddpm2dModel : public LearnedModel {
 public:
  /// An untrained model (weights from seed 0). Throws Error when options.Check() fails.
  explicit Ddpm2dModel(const Ddpm2dOptions& options = {});
  /// A model from a model file; throws Error when it is not a DDPM 2D file or its network does not map
  /// (x, y, t) to 2 values.
  explicit Ddpm2dModel(ModelFile file);
  /// Loads a model file (Error names the file and the problem).
  static Ddpm2dModel Load(const std::filesystem::path& path) { return LoadLearnedModel<Ddpm2dModel>(path); }

  /// The model as a file; with_training_state keeps AdamW's moments and the raw weights so training can resume.
  ModelFile ToModelFile(bool with_training_state = false) const override;

  std::string name() const override;
  /// Predicts eps for every row of x_t (n x 2, in the normalised space: see LearnedModel::normalization). The
  /// network sees the timestep index t - 1 (0..T-1) of the model's schedule; a query on another schedule is mapped to
  /// the (fractional) index of equal log-SNR.
  Prediction Predict(const Batch& x_t, const DenoiseQuery& query) override;
  int dimension() const override { return 2; }

  /// eps predicted for x_t (n x 2) at network timestep index t_index (0..T-1, fractional allowed).
  void PredictEps(const Batch& x_t, double t_index, Batch* eps);
  /// The network timestep index of a query (see Predict).
  double TimestepIndex(const DenoiseQuery& query) const { return ScheduleTimestepIndex(query, "DDPM 2D"); }

 private:
  friend TrainReport TrainDdpm2d(Ddpm2dModel&, const Batch&, const TrainOptions&, const TrainProgressFn&, const StopFn&,
                                 const std::filesystem::path&);
};

/// Trains model on data (n x 2 points, one per row, in the data's own units) with MSE on eps. The points are mapped
/// with model.normalization() (set it on the untrained model, e.g. to DatasetNormalization of the source; identity
/// trains on the units as they are), so the network and the unit-scale noise live in the normalised space: each update
/// draws batch_size points (uniformly, with replacement), t uniform in 1..T and eps ~ N(0, I), all keyed by
/// (options.seed, Stream::kTraining, update). An untrained model starts from weights drawn with options.seed; a
/// resumable one continues from its state (with the same options the result equals an uninterrupted run, bit for bit).
/// progress is called every options.report_every updates; stop after every update (throws Cancelled: the model
/// then holds the last finished update and, if checkpoint_path is given, so does that file). With
/// options.checkpoint_every > 0 a resumable model file is written there periodically. Throws Error on bad data
/// or options, or when training diverges.
TrainReport TrainDdpm2d(Ddpm2dModel& model, const Batch& data, const TrainOptions& options,
                        const TrainProgressFn& progress = {}, const StopFn& stop = {},
                        const std::filesystem::path& checkpoint_path = {});

}  // namespace diffuscope

// A class-conditional DDPM on 2D points for classifier-free guidance (Ho and Salimans 2022): the 2D DDPM's network
// (tiny-diffusion's MLP) with the class label as K extra one-hot input columns (all zero: the null label), trained
// on eps with label dropout: each training point's label is replaced by the null label with probability
// label_dropout, so one network learns eps(x_t, c) and eps(x_t, null). Guide it with ClassifierFreeGuidance.
//
//   std::vector<int> labels;
//   diffuscope::Batch points = diffuscope::GenerateLabeledDataset("8gaussians", 20000, 1, &labels);
//   diffuscope::ConditionalDdpm2dModel model({.num_classes = 8});
//   diffuscope::TrainConditionalDdpm2d(model, points, labels, options);
//   diffuscope::ClassifierFreeGuidance guided(model, {.label = 2, .weight = 3.0});
#pragma once

#include "core/common/types.h"
#include "core/models/ddpm2d.h"
#include "core/models/guidance.h"
#include "core/models/learned_model.h"
#include "core/schedule/schedule.h"
#include "core/train/trainer.h"

#include <filesystem>
#include <string>
#include <vector>

namespace diffuscope {

/// The model_type of conditional DDPM 2D model files.
inline constexpr const char* kConditionalDdpm2dModelType = "ddpm-2d-conditional";
/// The most classes a conditional 2D model takes.
inline constexpr int kMaxClasses = 64;

struct ConditionalDdpm2dOptions {
  int num_classes = 8;         // K: labels 0..K-1
  double label_dropout = 0.1;  // probability a training label becomes the null label (Ho and Salimans: 0.1-0.2)
  int embedding_size = 128;
  double input_scale = 25.0;
  int hidden_size = 128;
  int hidden_layers = 3;
  ScheduleOptions schedule = Ddpm2dDefaultSchedule();

  /// Empty when valid, else what is wrong, naming the option.
  std::string Check() const;
  /// The network: inputs x, y, t (sinusoidal as TinyDiffusionSpec), then K one-hot label columns (identity).
  NetworkSpec network() const;
};

class ConditionalDdpm2dModel : public LearnedModel, public ClassConditional {
 public:
  explicit ConditionalDdpm2dModel(const ConditionalDdpm2dOptions& options = {});
  /// From a model file (Error when it is not a conditional DDPM 2D file or its settings or network do not fit).
  explicit ConditionalDdpm2dModel(ModelFile file);
  static ConditionalDdpm2dModel Load(const std::filesystem::path& path) {
    return LoadLearnedModel<ConditionalDdpm2dModel>(path);
  }
  ModelFile ToModelFile(bool with_training_state = false) const override;

  std::string name() const override;
  /// The unconditional eps (the null label).
  Prediction Predict(const Batch& x_t, const DenoiseQuery& query) override;
  int dimension() const override { return 2; }
  int num_classes() const override { return num_classes_; }
  /// eps for class label (0..K-1, or kNullLabel) at the query's timestep (log-SNR mapped, as the DDPM 2D's).
  Prediction PredictClass(const Batch& x_t, const DenoiseQuery& query, int label) override;
  double label_dropout() const { return label_dropout_; }

 private:
  friend TrainReport TrainConditionalDdpm2d(ConditionalDdpm2dModel&, const Batch&, const std::vector<int>&,
                                            const TrainOptions&, const TrainProgressFn&, const StopFn&,
                                            const std::filesystem::path&);
  int num_classes_ = 0;
  double label_dropout_ = 0.0;
};

/// The draws of one update of TrainConditionalDdpm2d: the data rows, the network timestep indices (0..T-1) and the
/// labels the network sees (the rows' labels, or kNullLabel where dropped with probability dropout), all from
/// (seed, Stream::kTraining, iteration) as the training itself draws them.
struct ConditionalDraws {
  std::vector<int> rows, timesteps, labels;
};
ConditionalDraws DrawConditionalUpdate(uint64_t seed, long long iteration, int batch_size, int num_rows, int T,
                                       double dropout, const std::vector<int>& labels);

/// Trains on data (n x 2, data units, mapped with model.normalization()) and labels (n, each 0..K-1) with the MSE on
/// eps, with label dropout (DrawConditionalUpdate). Resumes, checkpoints, progress and stop as TrainDdpm2d. Throws
/// Error on bad data, labels or options.
TrainReport TrainConditionalDdpm2d(ConditionalDdpm2dModel& model, const Batch& data, const std::vector<int>& labels,
                                   const TrainOptions& options, const TrainProgressFn& progress = {},
                                   const StopFn& stop = {}, const std::filesystem::path& checkpoint_path = {});

}  // namespace diffuscope

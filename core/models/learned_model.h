// The plumbing shared by the learned models (DDPM 2D, digits DDPM, SR3, Sohl-Dickstein 2015): a network, its
// schedule, the sampling weights, the training record (steps, options, the state to resume from) and free-text
// info, their conversion to and from a ModelFile, batched network evaluation with a per-thread workspace pool, and
// the glue around RunTraining. Each model keeps only what differs: its network's input layout, its loss and what
// it predicts.
//
//   class MyModel : public diffuscope::LearnedModel {
//    public:
//     explicit MyModel(diffuscope::ModelFile file) : LearnedModel(file, "my-type", "my model") { /* check dims */ }
//     diffuscope::ModelFile ToModelFile(bool keep) const override { return BaseModelFile("my-type", keep); }
//     static MyModel Load(const std::filesystem::path& p) { return diffuscope::LoadLearnedModel<MyModel>(p); }
//   };
#pragma once

#include "core/common/types.h"
#include "core/data/points2d.h"
#include "core/models/denoiser.h"
#include "core/nn/network.h"
#include "core/schedule/schedule.h"
#include "core/train/model_file.h"
#include "core/train/trainer.h"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace diffuscope {

class LearnedModel : public Denoiser {
 public:
  /// The model as a file; with_training_state keeps AdamW's moments and the raw weights so training can resume.
  virtual ModelFile ToModelFile(bool with_training_state = false) const = 0;
  /// Writes the model atomically.
  void Save(const std::filesystem::path& path, bool with_training_state = false) const;

  const NoiseSchedule& schedule() const { return schedule_; }
  const NetworkSpec& network_spec() const { return network_.spec(); }
  /// The weights used for sampling (the EMA when trained with one).
  const std::vector<float>& weights() const { return weights_; }
  long long trained_steps() const { return trained_steps_; }
  /// Options of the training that made the weights (defaults for an untrained model).
  const TrainOptions& training() const { return training_; }
  /// True when the model holds a training state to resume from.
  bool resumable() const { return train_state_.has_value(); }
  /// 2D models: the map from the data's units to the normalised space the network and the diffusion run in (the
  /// model file's settings data_shift_x, data_shift_y, data_scale; identity when absent, as for files written before
  /// they existed, whose data were standardised on load). Predict, the training and the samplers work in the
  /// normalised space; ToData maps samples back. Identity for image models.
  const PointNormalization& normalization() const { return normalization_; }
  /// Sets the normalisation of an untrained model (Error once trained: the weights belong to their space).
  void set_normalization(const PointNormalization& normalization);
  /// Free text stored in the model file (e.g. "data": the data set's name).
  std::map<std::string, std::string>& info() { return info_; }
  const std::map<std::string, std::string>& info() const { return info_; }

 protected:
  /// An untrained model: the network of spec with weights from seed 0, on schedule.
  LearnedModel(const NetworkSpec& spec, const ScheduleOptions& schedule);
  /// A model from file: throws Error unless file.model_type is model_type (model_name is the readable name in the
  /// message) and the weights fit the network. Takes file's weights, training state and info; leaves its settings.
  LearnedModel(ModelFile& file, const char* model_type, const std::string& model_name);

  /// The file's network, schedule, training record, info and weights (the training state when asked), typed
  /// model_type; subclasses add their settings.
  ModelFile BaseModelFile(const char* model_type, bool with_training_state) const;

  /// The network's output for every row of input with the sampling weights (rows run in parallel, pool_ per thread).
  void ApplyNetwork(const Network<float>::Matrix& input, Batch* output);

  /// The network timestep index (0..T-1, fractional) of a query: t - 1 on the model's own schedule, else the
  /// interpolated index of equal log-SNR. Errors are prefixed with model_name.
  double ScheduleTimestepIndex(const DenoiseQuery& query, const std::string& model_name) const;

  /// Runs RunTraining from the model's state (or fresh weights from options.seed when untrained; Error when it was
  /// saved without its state), keeping the model current at every checkpoint (and writing a resumable file to
  /// checkpoint_path when given) and at the end. options must already be checked.
  TrainReport TrainNetwork(const TrainOptions& options, const LossGradientFn& loss_gradient,
                           const TrainProgressFn& progress, const StopFn& stop,
                           const std::filesystem::path& checkpoint_path);

  Network<float> network_;  // holds the raw training weights; sampling uses weights_
  NoiseSchedule schedule_;
  std::vector<float> weights_;
  long long trained_steps_ = 0;
  TrainOptions training_;
  std::optional<TrainState> train_state_;
  std::map<std::string, std::string> info_;
  PointNormalization normalization_;
  Network<float>::Matrix input_;  // scratch of the subclasses' Predict
  std::vector<Network<float>::Workspace> pool_;

 private:
  std::vector<double> log_snr_;  // of the model's schedule, i = 0..T-1
};

/// Loads a model file as Model (Error names the file and the problem).
template <class Model>
Model LoadLearnedModel(const std::filesystem::path& path) {
  ModelFile file = LoadModelFile(path);
  try {
    return Model(std::move(file));
  } catch (const Error& e) {
    throw Error("'" + path.string() + "': " + e.what());
  }
}

/// The recipe of the shipped learned models: AdamW 1e-3 with 500 warm-up updates and cosine decay to 1e-5, no weight
/// decay, gradient clip 1, EMA 0.999, seed 1; iterations updates of batch_size, progress every report_every.
TrainOptions ShippedTrainingRecipe(long long iterations, int batch_size, long long report_every);
/// Throws Error (starting "training: ") when options fail their Check or data is not >= 1 finite rows of `columns`
/// values; images picks the wording (pixels of images, else coordinates of points), trains_on ends the column
/// message ("a DDPM 2D model trains on 2D points (x, y)").
void CheckTrainingInput(const TrainOptions& options, const Batch& data, int columns, bool images,
                        const std::string& trains_on);

/// The mean squared error between the network's output and target (same shape) over all elements, and its gradient
/// d(loss)/d(output) = 2 (output - target) / (rows cols) in dy.
double MseLossGradient(const Network<float>::Matrix& output, const Batch& target, Network<float>::Matrix* dy);
/// sqrt(alpha_bar_t) and sqrt(1 - alpha_bar_t) of q(x_t | x_0) for the network timestep index i = t - 1 (0..T-1).
void ForwardCoefficients(const NoiseSchedule& schedule, std::vector<float>* sqrt_alpha_bar,
                         std::vector<float>* sqrt_one_minus_alpha_bar);

/// Checks of the MLP options the learned models share; empty when valid, else what is wrong, naming the option.
std::string CheckMlpOptions(int embedding_size, int hidden_size, int max_hidden_size, int hidden_layers,
                            const ScheduleOptions& schedule);
/// x with 6 significant digits, for error messages.
std::string ToSixDigits(double x);

}  // namespace diffuscope

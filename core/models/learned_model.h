// The plumbing shared by the dense-network learned models (DDPM 2D, digits MLP, SR3 digits, Sohl-Dickstein 2015)
// on top of TrainableModel (network, schedule, weights, training record, files, training glue): the 2D data
// normalisation, batched network evaluation with a per-thread workspace pool, and the timestep index of a query. Each
// model keeps only what differs: its network's input layout, its loss and what it predicts.
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
#include "core/models/trainable_model.h"
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

class LearnedModel : public TrainableModel<Network<float>> {
 public:
  /// 2D models: the map from the data's units to the normalised space the network and the diffusion run in (the
  /// model file's settings data_shift_x, data_shift_y, data_scale; identity when absent, as for files written before
  /// they existed, whose data were standardised on load). Predict, the training and the samplers work in the
  /// normalised space; ToData maps samples back. Identity for image models.
  const PointNormalization& normalization() const { return normalization_; }
  /// Sets the normalisation of an untrained model (Error once trained: the weights belong to their space).
  void set_normalization(const PointNormalization& normalization);

 protected:
  /// An untrained model: the network of spec with weights from seed 0, on schedule.
  LearnedModel(const NetworkSpec& spec, const ScheduleOptions& schedule);
  /// A model from file: throws Error unless file.model_type is model_type (model_name is the readable name in the
  /// message) and the weights fit the network. Takes file's weights, training state, info and normalisation.
  LearnedModel(ModelFile& file, const char* model_type, const std::string& model_name);

  /// TrainableModel's file plus the normalisation (left out when identity).
  ModelFile BaseModelFile(const char* model_type, bool with_training_state) const;

  /// The network's output for every row of input with the sampling weights (rows run in parallel, pool_ per thread).
  void ApplyNetwork(const Network<float>::Matrix& input, Batch* output);

  /// The network timestep index (0..T-1, fractional) of a query: t - 1 on the model's own schedule, else the
  /// interpolated index of equal log-SNR. Errors are prefixed with model_name.
  double ScheduleTimestepIndex(const DenoiseQuery& query, const std::string& model_name) const;

  /// TrainWeights with a loss that runs the network itself (LossGradientFn). options must already be checked.
  TrainReport TrainNetwork(const TrainOptions& options, const LossGradientFn& loss_gradient,
                           const TrainProgressFn& progress, const StopFn& stop,
                           const std::filesystem::path& checkpoint_path);

  PointNormalization normalization_;
  Network<float>::Matrix input_;  // scratch of the subclasses' Predict
  std::vector<Network<float>::Workspace> pool_;

 private:
  std::vector<double> log_snr_;  // of the model's schedule, i = 0..T-1
};

/// The training loss of the 2D models: the mean squared error of a B x 2 network output against B targets stored
/// (x, y) after (x, y), and its gradient d loss / d out into dy (B x 2).
double PointMseGradient(const Network<float>::Matrix& out, const float* target, Network<float>::Matrix* dy);

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

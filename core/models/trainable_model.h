// What every trained model keeps, whatever its network (the dense Network of LearnedModel, the convolutional UNet
// of UNetModel): the network holding the raw training weights, the schedule, the sampling weights (the EMA), the
// training record (steps, options, the state to resume from) and free-text info; their conversion to and from a
// ModelFile; and the glue around RunTraining that keeps the model current at every checkpoint. The subclasses keep
// how their network sees its input, their loss and what they predict.
#pragma once

#include "core/models/denoiser.h"
#include "core/nn/network.h"
#include "core/nn/unet.h"
#include "core/schedule/schedule.h"
#include "core/train/model_file.h"
#include "core/train/trainer.h"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace diffuscope {

template <class Net>
class TrainableModel : public Denoiser {
 public:
  using Spec = std::decay_t<decltype(std::declval<const Net&>().spec())>;

  /// The model as a file; with_training_state keeps AdamW's moments and the raw weights so training can resume.
  virtual ModelFile ToModelFile(bool with_training_state = false) const = 0;
  /// Writes the model atomically.
  void Save(const std::filesystem::path& path, bool with_training_state = false) const;

  const NoiseSchedule& schedule() const { return schedule_; }
  const Spec& network_spec() const { return network_.spec(); }
  /// The weights used for sampling (the EMA when trained with one).
  const std::vector<float>& weights() const { return weights_; }
  long long trained_steps() const { return trained_steps_; }
  /// Options of the training that made the weights (defaults for an untrained model).
  const TrainOptions& training() const { return training_; }
  /// True when the model holds a training state to resume from.
  bool resumable() const { return train_state_.has_value(); }
  /// Free text stored in the model file (e.g. "data": the data set's name).
  std::map<std::string, std::string>& info() { return info_; }
  const std::map<std::string, std::string>& info() const { return info_; }

 protected:
  /// An untrained model: the network of spec with weights from seed 0, on schedule.
  TrainableModel(const Spec& spec, const ScheduleOptions& schedule);
  /// A model from file, whose network is spec: throws Error unless file.model_type is model_type (model_name is
  /// the readable name in the message) and the weights fit. Takes file's weights, training state and info.
  TrainableModel(ModelFile& file, const Spec& spec, const char* model_type, const std::string& model_name);

  /// The file's network, schedule, training record, info and weights (the training state when asked), typed
  /// model_type; subclasses add their settings.
  ModelFile BaseModelFile(const char* model_type, bool with_training_state) const;

  /// Runs RunTraining over network_'s parameters from the model's state (or fresh weights from options.seed when
  /// untrained; Error when it was saved without its state), keeping the model current at every checkpoint
  /// (and writing a resumable file to checkpoint_path when given) and at the end.
  TrainReport TrainWeights(const TrainOptions& options, const StepLossGradientFn& loss_gradient,
                           const TrainProgressFn& progress, const StopFn& stop,
                           const std::filesystem::path& checkpoint_path);

  Net network_;  // holds the raw training weights; sampling uses weights_
  NoiseSchedule schedule_;
  std::vector<float> weights_;
  long long trained_steps_ = 0;
  TrainOptions training_;
  std::optional<TrainState> train_state_;
  std::map<std::string, std::string> info_;
};

extern template class TrainableModel<Network<float>>;
extern template class TrainableModel<UNet<float>>;

}  // namespace diffuscope

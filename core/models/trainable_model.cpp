#include "core/models/trainable_model.h"

namespace diffuscope {
namespace {

void StoreSpec(ModelFile& file, const NetworkSpec& spec) { file.network = spec; }
void StoreSpec(ModelFile& file, const UNetSpec& spec) { file.unet = spec; }

}  // namespace

template <class Net>
TrainableModel<Net>::TrainableModel(const Spec& spec, const ScheduleOptions& schedule)
    : network_(spec), schedule_(schedule) {
  network_.Initialize(0);
  weights_ = network_.parameters();
}

template <class Net>
TrainableModel<Net>::TrainableModel(ModelFile& file, const Spec& spec, const char* model_type,
                                    const std::string& model_name)
    : network_(spec), schedule_(file.schedule) {
  Require(file.model_type == model_type,
          "the model file holds a '" + file.model_type + "' model, not " + model_name + " (" + model_type + ")");
  Require(file.weights.size() == network_.parameters().size(), "the model file's weights do not fit its network");
  weights_ = std::move(file.weights);
  network_.parameters() = file.train_state ? file.train_state->weights : weights_;
  trained_steps_ = file.trained_steps;
  training_ = file.training;
  train_state_ = std::move(file.train_state);
  info_ = std::move(file.info);
}

template <class Net>
void TrainableModel<Net>::Save(const std::filesystem::path& path, bool with_training_state) const {
  SaveModelFile(ToModelFile(with_training_state), path);
}

template <class Net>
ModelFile TrainableModel<Net>::BaseModelFile(const char* model_type, bool with_training_state) const {
  ModelFile file;
  file.model_type = model_type;
  StoreSpec(file, network_.spec());
  file.schedule = schedule_.options();
  file.training = training_;
  file.trained_steps = trained_steps_;
  file.info = info_;
  file.weights = weights_;
  if (with_training_state) file.train_state = train_state_;
  return file;
}

template <class Net>
TrainReport TrainableModel<Net>::TrainWeights(const TrainOptions& options, const StepLossGradientFn& loss_gradient,
                                              const TrainProgressFn& progress, const StopFn& stop,
                                              const std::filesystem::path& checkpoint_path) {
  TrainState state;
  if (train_state_) {
    state = *train_state_;
  } else {
    Require(trained_steps_ == 0,
            "training: this model was saved for sampling only (no training state), so it cannot be trained further; "
            "train a new model, or keep the training state when saving");
    network_.Initialize(options.seed);
  }
  auto commit = [&](const TrainState& s) {
    weights_ = SamplingWeights(s);
    trained_steps_ = s.step;
    training_ = options;
    train_state_ = s;
  };
  TrainCallbacks callbacks;
  callbacks.progress = progress;
  callbacks.stop = stop;
  callbacks.checkpoint = [&](const TrainState& s) {
    commit(s);
    if (!checkpoint_path.empty()) Save(checkpoint_path, /*with_training_state=*/true);
  };
  TrainReport report =
      RunTraining(network_.parameters(), network_.gradients(), state, options, loss_gradient, callbacks);
  commit(state);
  return report;
}

template class TrainableModel<Network<float>>;
template class TrainableModel<UNet<float>>;

}  // namespace diffuscope

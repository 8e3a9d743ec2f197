#include "core/models/conditional_ddpm2d.h"

#include "core/random/random.h"

#include <cmath>

namespace diffuscope {
namespace {

constexpr const char* kClassesKey = "num_classes";
constexpr const char* kDropoutKey = "label_dropout";

const ConditionalDdpm2dOptions& Checked(const ConditionalDdpm2dOptions& options) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("conditional DDPM 2D: " + problem);
  return options;
}

// The classes a file's network takes: its input columns past x, y and t.
int ClassesOf(const ModelFile& file) {
  auto it = file.settings.find(kClassesKey);
  Require(it != file.settings.end(), "the conditional DDPM 2D file does not say its number of classes");
  const double k = it->second;
  Require(std::isfinite(k) && k >= 1 && k <= kMaxClasses && k == std::floor(k),
          "the model file's number of classes must be a whole number 1.." + std::to_string(kMaxClasses));
  return static_cast<int>(k);
}

}  // namespace

std::string ConditionalDdpm2dOptions::Check() const {
  if (num_classes < 1 || num_classes > kMaxClasses)
    return "the number of classes must be 1.." + std::to_string(kMaxClasses) + " (got " + std::to_string(num_classes) +
           ")";
  if (!(std::isfinite(label_dropout) && label_dropout > 0.0 && label_dropout < 1.0))
    return "the label dropout must be in (0, 1): the unconditional model is learned from the dropped labels (got " +
           ToSixDigits(label_dropout) + ")";
  if (!(std::isfinite(input_scale) && input_scale > 0.0 && input_scale < 1e6))
    return "the input scale must be a positive number (got " + ToSixDigits(input_scale) + ")";
  return CheckMlpOptions(embedding_size, hidden_size, 4096, hidden_layers, schedule);
}

NetworkSpec ConditionalDdpm2dOptions::network() const {
  NetworkSpec spec;
  spec.layers.push_back(LayerSpec::Embed({{1, embedding_size, input_scale},
                                          {1, embedding_size, input_scale},
                                          {1, embedding_size, 1.0},
                                          {num_classes, 0, 1.0}}));  // the one-hot label, as it is
  spec.layers.push_back(LayerSpec::Linear(3 * embedding_size + num_classes, hidden_size));
  spec.layers.push_back(LayerSpec::Gelu(hidden_size));
  for (int i = 0; i < hidden_layers; ++i) spec.layers.push_back(LayerSpec::Residual(hidden_size));
  spec.layers.push_back(LayerSpec::Linear(hidden_size, 2));
  return spec;
}

ConditionalDdpm2dModel::ConditionalDdpm2dModel(const ConditionalDdpm2dOptions& options)
    : LearnedModel(Checked(options).network(), options.schedule),
      num_classes_(options.num_classes),
      label_dropout_(options.label_dropout) {}

ConditionalDdpm2dModel::ConditionalDdpm2dModel(ModelFile file)
    : LearnedModel(file, kConditionalDdpm2dModelType, "a conditional DDPM 2D model") {
  num_classes_ = ClassesOf(file);
  auto it = file.settings.find(kDropoutKey);
  label_dropout_ = it == file.settings.end() ? 0.1 : it->second;
  Require(std::isfinite(label_dropout_) && label_dropout_ > 0.0 && label_dropout_ < 1.0,
          "the model file's label dropout must be in (0, 1)");
  Require(network_.input_dim() == 3 + num_classes_ && network_.output_dim() == 2,
          "the model file's network maps " + std::to_string(network_.input_dim()) + " inputs to " +
              std::to_string(network_.output_dim()) + " outputs; a conditional DDPM 2D network of " +
              std::to_string(num_classes_) +
              " classes maps (x, y, t, one-hot label) = " + std::to_string(3 + num_classes_) + " inputs to 2");
}

ModelFile ConditionalDdpm2dModel::ToModelFile(bool with_training_state) const {
  ModelFile file = BaseModelFile(kConditionalDdpm2dModelType, with_training_state);
  file.settings[kClassesKey] = num_classes_;
  file.settings[kDropoutKey] = label_dropout_;
  return file;
}

std::string ConditionalDdpm2dModel::name() const {
  auto it = info_.find("data");
  const std::string base = "conditional DDPM 2D";
  return it == info_.end() || it->second.empty() ? base : base + " (" + it->second + ")";
}

Prediction ConditionalDdpm2dModel::Predict(const Batch& x_t, const DenoiseQuery& query) {
  return PredictClass(x_t, query, kNullLabel);
}

Prediction ConditionalDdpm2dModel::PredictClass(const Batch& x_t, const DenoiseQuery& query, int label) {
  Require(x_t.cols() == 2,
          "conditional DDPM 2D: x_t has " + std::to_string(x_t.cols()) + " columns; the model takes 2D points");
  Require(label == kNullLabel || (label >= 0 && label < num_classes_),
          "conditional DDPM 2D: label " + std::to_string(label) + " is not one of the classes 0.." +
              std::to_string(num_classes_ - 1) + " (or the null label)");
  const double t_index = ScheduleTimestepIndex(query, "conditional DDPM 2D");
  input_.setZero(x_t.rows(), 3 + num_classes_);
  input_.leftCols<2>() = x_t;
  input_.col(2).setConstant(static_cast<float>(t_index));
  if (label != kNullLabel) input_.col(3 + label).setOnes();
  Prediction prediction;
  prediction.kind = PredictionKind::kEps;
  ApplyNetwork(input_, &prediction.value);
  return prediction;
}

ConditionalDraws DrawConditionalUpdate(uint64_t seed, long long iteration, int batch_size, int num_rows, int T,
                                       double dropout, const std::vector<int>& labels) {
  Require(num_rows >= 1 && static_cast<int>(labels.size()) == num_rows && T >= 1 && batch_size >= 1,
          "conditional training draws need rows, one label per row, T >= 1 and a batch");
  const RandomKey key{.seed = seed, .stream = Stream::kTraining, .index = static_cast<uint64_t>(iteration)};
  RandomStream draws(key);
  ConditionalDraws out;
  out.rows.resize(batch_size);
  out.timesteps.resize(batch_size);
  out.labels.resize(batch_size);
  for (int b = 0; b < batch_size; ++b) {
    out.rows[b] = static_cast<int>(draws.Below(static_cast<uint64_t>(num_rows)));
    out.timesteps[b] = static_cast<int>(draws.Below(static_cast<uint64_t>(T)));
    const bool dropped = draws.Uniform() < dropout;
    out.labels[b] = dropped ? kNullLabel : labels[out.rows[b]];
  }
  return out;
}

TrainReport TrainConditionalDdpm2d(ConditionalDdpm2dModel& model, const Batch& data_units,
                                   const std::vector<int>& labels, const TrainOptions& options,
                                   const TrainProgressFn& progress, const StopFn& stop,
                                   const std::filesystem::path& checkpoint_path) {
  CheckTrainingInput(options, data_units, 2, /*images=*/false,
                     "a conditional DDPM 2D model trains on 2D points (x, y)");
  Require(static_cast<Eigen::Index>(labels.size()) == data_units.rows(),
          "training: " + std::to_string(labels.size()) + " labels for " + std::to_string(data_units.rows()) +
              " points; give one label per point");
  const int K = model.num_classes_;
  for (size_t i = 0; i < labels.size(); ++i)
    Require(labels[i] >= 0 && labels[i] < K, "training: the label of point " + std::to_string(i + 1) + " is " +
                                                 std::to_string(labels[i]) + ", not a class 0.." +
                                                 std::to_string(K - 1));
  const Batch data = model.normalization().ToModel(data_units);
  const NoiseSchedule& schedule = model.schedule_;
  const int T = schedule.num_steps();
  std::vector<float> sqrt_ab, sqrt_one_minus_ab;
  ForwardCoefficients(schedule, &sqrt_ab, &sqrt_one_minus_ab);
  const int B = options.batch_size;
  Network<float>::Matrix input(B, 3 + K), dy(B, 2);
  std::vector<float> eps(2 * static_cast<size_t>(B));
  Network<float>::Workspace ws;
  constexpr uint64_t kNoiseOffset = 1ULL << 32;
  const double dropout = model.label_dropout_;

  auto loss_gradient = [&](long long iteration, Network<float>& n) {
    const ConditionalDraws d =
        DrawConditionalUpdate(options.seed, iteration, B, static_cast<int>(data.rows()), T, dropout, labels);
    FillNormal({.seed = options.seed, .stream = Stream::kTraining, .index = static_cast<uint64_t>(iteration)},
               kNoiseOffset, eps);
    input.setZero();
    for (int b = 0; b < B; ++b) {
      const int row = d.rows[b], i = d.timesteps[b];
      input(b, 0) = sqrt_ab[i] * data(row, 0) + sqrt_one_minus_ab[i] * eps[2 * b];
      input(b, 1) = sqrt_ab[i] * data(row, 1) + sqrt_one_minus_ab[i] * eps[2 * b + 1];
      input(b, 2) = static_cast<float>(i);
      if (d.labels[b] != kNullLabel) input(b, 3 + d.labels[b]) = 1.0f;
    }
    const auto& out = n.Forward(input, ws);
    const double loss = PointMseGradient(out, eps.data(), &dy);
    n.Backward(input, dy, ws);
    return loss;
  };
  return model.TrainNetwork(options, loss_gradient, progress, stop, checkpoint_path);
}

}  // namespace diffuscope

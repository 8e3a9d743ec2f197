#include "core/models/flow2d.h"

#include "core/random/random.h"

#include <algorithm>
#include <cmath>

namespace diffuscope {

ScheduleOptions FlowVpSchedule(int num_steps) {
  ScheduleOptions options;
  options.kind = ScheduleKind::kCustomAlphaBar;
  options.num_steps = num_steps;
  options.custom.resize(std::max(0, num_steps));
  for (int t = 1; t <= num_steps; ++t) options.custom[t - 1] = FlowAlphaBar(static_cast<double>(t) / num_steps);
  options.custom.back() = 0.0;  // s = 1: pure noise, exactly
  return options;
}

std::string Flow2dOptions::Check() const {
  if (!(std::isfinite(input_scale) && input_scale > 0.0 && input_scale < 1e6))
    return "the input scale must be a positive number (got " + ToSixDigits(input_scale) + ")";
  if (schedule_steps < 2 || schedule_steps > 10000)
    return "the VP schedule's steps must be 2..10000 (got " + std::to_string(schedule_steps) + ")";
  return CheckMlpOptions(embedding_size, hidden_size, 4096, hidden_layers, FlowVpSchedule(schedule_steps));
}

NetworkSpec Flow2dOptions::network() const {
  return TinyDiffusionSpec(embedding_size, input_scale, hidden_size, hidden_layers);
}

namespace {
const Flow2dOptions& Checked(const Flow2dOptions& options) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("flow 2D: " + problem);
  return options;
}
}  // namespace

Flow2dModel::Flow2dModel(const Flow2dOptions& options)
    : LearnedModel(Checked(options).network(), FlowVpSchedule(options.schedule_steps)) {}

Flow2dModel::Flow2dModel(ModelFile file) : LearnedModel(file, kFlow2dModelType, "a flow-matching 2D model") {
  Require(network_.input_dim() == 3 && network_.output_dim() == 2,
          "the model file's network maps " + std::to_string(network_.input_dim()) + " inputs to " +
              std::to_string(network_.output_dim()) + " outputs; a flow 2D network maps (x, y, s) to 2");
}

ModelFile Flow2dModel::ToModelFile(bool with_training_state) const {
  return BaseModelFile(kFlow2dModelType, with_training_state);
}

std::string Flow2dModel::name() const {
  auto it = info_.find("data");
  return it == info_.end() || it->second.empty() ? "flow 2D" : "flow 2D (" + it->second + ")";
}

void Flow2dModel::PredictVelocity(const Batch& x_s, double s, Batch* velocity) {
  Require(x_s.cols() == 2, "flow 2D: x_s has " + std::to_string(x_s.cols()) + " columns; the model takes 2D points");
  Require(std::isfinite(s) && s >= 0.0 && s <= 1.0, "flow 2D: the flow time s must be in [0, 1]");
  input_.resize(x_s.rows(), 3);
  input_.leftCols<2>() = x_s;
  input_.col(2).setConstant(static_cast<float>(kFlowTimeInput * s));
  ApplyNetwork(input_, velocity);
}

Prediction VelocityToVpPrediction(const Batch& x_t, double alpha_bar, const VelocityFn& velocity) {
  Require(std::isfinite(alpha_bar) && alpha_bar >= 0.0 && alpha_bar <= 1.0,
          "flow: alpha_bar of the query must be in [0, 1]");
  const double s = FlowTimeOfAlphaBar(alpha_bar);
  const Batch x_s = static_cast<float>(FlowScale(s)) * x_t;
  Batch v;
  velocity(x_s, s, &v);
  Require(v.rows() == x_t.rows() && v.cols() == x_t.cols(), "flow: the velocity has the wrong shape");
  Prediction prediction;
  prediction.kind = PredictionKind::kX0;
  prediction.value = x_s - static_cast<float>(s) * v;  // x_s - s (eps - x_0) = x_0 on the straight path
  return prediction;
}

Prediction Flow2dModel::Predict(const Batch& x_t, const DenoiseQuery& query) {
  return VelocityToVpPrediction(x_t, query.alpha_bar,
                                [this](const Batch& x_s, double s, Batch* v) { PredictVelocity(x_s, s, v); });
}

TrainReport TrainFlow2d(Flow2dModel& model, const Batch& data_units, const TrainOptions& options,
                        const TrainProgressFn& progress, const StopFn& stop,
                        const std::filesystem::path& checkpoint_path) {
  CheckTrainingInput(options, data_units, 2, /*images=*/false, "a flow 2D model trains on 2D points (x, y)");
  const Batch data = model.normalization().ToModel(data_units);
  const int B = options.batch_size;
  const auto N = static_cast<uint64_t>(data.rows());
  Network<float>::Matrix input(B, 3), dy(B, 2);
  std::vector<float> eps(2 * static_cast<size_t>(B));
  Network<float>::Workspace ws;
  constexpr uint64_t kNoiseOffset = 1ULL << 32;  // rows and s from the stream's start, the noise from 2^32 on
  std::vector<float> target(2 * static_cast<size_t>(B));

  auto loss_gradient = [&](long long iteration, Network<float>& n) {
    const RandomKey key{.seed = options.seed, .stream = Stream::kTraining, .index = static_cast<uint64_t>(iteration)};
    RandomStream draws(key);
    FillNormal(key, kNoiseOffset, eps);
    for (int b = 0; b < B; ++b) {
      const auto row = static_cast<Eigen::Index>(draws.Below(N));
      const float s = static_cast<float>(draws.Uniform());
      for (int d = 0; d < 2; ++d) {
        const float x0 = data(row, d), e = eps[2 * b + d];
        input(b, d) = (1.0f - s) * x0 + s * e;
        target[2 * b + d] = e - x0;
      }
      input(b, 2) = static_cast<float>(kFlowTimeInput) * s;
    }
    const auto& out = n.Forward(input, ws);
    const double loss = PointMseGradient(out, target.data(), &dy);
    n.Backward(input, dy, ws);
    return loss;
  };
  return model.TrainNetwork(options, loss_gradient, progress, stop, checkpoint_path);
}

}  // namespace diffuscope

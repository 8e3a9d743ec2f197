#include "core/models/ddpm2d.h"

#include "core/random/random.h"

#include <cmath>

namespace diffuscope {

ScheduleOptions Ddpm2dDefaultSchedule() {
  ScheduleOptions options;
  options.kind = ScheduleKind::kCosine;
  options.num_steps = 50;
  // improved DDPM clips beta at 0.999; with T = 50 that clip makes the last beta 0.999, and the first reverse
  // step of an eps-model divides its error by sqrt(alpha_T) = 0.03 (x32): after 3,000 updates on dino the
  // samples were 6-12x farther from the data than a fitted Gaussian. A clip at 0.9 (x3.2) keeps
  // alpha_bar_T ~ 1e-4 and sampled 12x closer than the Gaussian.
  options.max_beta = 0.9;
  return options;
}

ScheduleOptions TinyDiffusionSchedule() {
  ScheduleOptions options;
  options.kind = ScheduleKind::kLinear;
  options.num_steps = 50;
  options.beta_start = 1e-4;
  options.beta_end = 0.02;
  return options;
}

std::string Ddpm2dOptions::Check() const {
  if (!(std::isfinite(input_scale) && input_scale > 0.0 && input_scale < 1e6))
    return "the input scale must be a positive number (got " + ToSixDigits(input_scale) + ")";
  return CheckMlpOptions(embedding_size, hidden_size, 4096, hidden_layers, schedule);
}

NetworkSpec Ddpm2dOptions::network() const {
  return TinyDiffusionSpec(embedding_size, input_scale, hidden_size, hidden_layers);
}

namespace {
const Ddpm2dOptions& Checked(const Ddpm2dOptions& options) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("DDPM 2D: " + problem);
  return options;
}
}  // namespace

Ddpm2dModel::Ddpm2dModel(const Ddpm2dOptions& options) : LearnedModel(Checked(options).network(), options.schedule) {}

Ddpm2dModel::Ddpm2dModel(ModelFile file) : LearnedModel(file, kDdpm2dModelType, "a DDPM 2D model") {
  Require(network_.input_dim() == 3 && network_.output_dim() == 2,
          "the model file's network maps " + std::to_string(network_.input_dim()) + " inputs to " +
              std::to_string(network_.output_dim()) + " outputs; a DDPM 2D network maps (x, y, t) to 2");
}

ModelFile Ddpm2dModel::ToModelFile(bool with_training_state) const {
  return BaseModelFile(kDdpm2dModelType, with_training_state);
}

std::string Ddpm2dModel::name() const {
  auto it = info_.find("data");
  return it == info_.end() || it->second.empty() ? "DDPM 2D" : "DDPM 2D (" + it->second + ")";
}

void Ddpm2dModel::PredictEps(const Batch& x_t, double t_index, Batch* eps) {
  Require(x_t.cols() == 2, "DDPM 2D: x_t has " + std::to_string(x_t.cols()) + " columns; the model takes 2D points");
  input_.resize(x_t.rows(), 3);
  input_.leftCols<2>() = x_t;
  input_.col(2).setConstant(static_cast<float>(t_index));
  ApplyNetwork(input_, eps);
}

Prediction Ddpm2dModel::Predict(const Batch& x_t, const DenoiseQuery& query) {
  Prediction prediction;
  prediction.kind = PredictionKind::kEps;
  PredictEps(x_t, TimestepIndex(query), &prediction.value);
  return prediction;
}

TrainReport TrainDdpm2d(Ddpm2dModel& model, const Batch& data_units, const TrainOptions& options,
                        const TrainProgressFn& progress, const StopFn& stop,
                        const std::filesystem::path& checkpoint_path) {
  CheckTrainingInput(options, data_units, 2, /*images=*/false, "a DDPM 2D model trains on 2D points (x, y)");
  const Batch data = model.normalization().ToModel(data_units);  // the network learns the normalised space

  const NoiseSchedule& schedule = model.schedule_;
  const int T = schedule.num_steps();
  std::vector<float> sqrt_ab, sqrt_one_minus_ab;  // index i = t - 1
  ForwardCoefficients(schedule, &sqrt_ab, &sqrt_one_minus_ab);
  const int B = options.batch_size;
  const auto N = static_cast<uint64_t>(data.rows());
  Network<float>::Matrix input(B, 3), dy(B, 2);
  std::vector<float> eps(2 * static_cast<size_t>(B));
  Network<float>::Workspace ws;
  // The minibatch indices and timesteps come from the start of the stream; the noise from draw 2^32 on.
  constexpr uint64_t kNoiseOffset = 1ULL << 32;

  auto loss_gradient = [&](long long iteration, Network<float>& n) {
    const RandomKey key{.seed = options.seed, .stream = Stream::kTraining, .index = static_cast<uint64_t>(iteration)};
    RandomStream draws(key);
    FillNormal(key, kNoiseOffset, eps);
    for (int b = 0; b < B; ++b) {
      const auto row = static_cast<Eigen::Index>(draws.Below(N));
      const int i = static_cast<int>(draws.Below(static_cast<uint64_t>(T)));
      input(b, 0) = sqrt_ab[i] * data(row, 0) + sqrt_one_minus_ab[i] * eps[2 * b];
      input(b, 1) = sqrt_ab[i] * data(row, 1) + sqrt_one_minus_ab[i] * eps[2 * b + 1];
      input(b, 2) = static_cast<float>(i);
    }
    const auto& out = n.Forward(input, ws);
    const double loss = PointMseGradient(out, eps.data(), &dy);
    n.Backward(input, dy, ws);
    return loss;
  };

  return model.TrainNetwork(options, loss_gradient, progress, stop, checkpoint_path);
}

}  // namespace diffuscope

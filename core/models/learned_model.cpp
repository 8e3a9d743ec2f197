#include "core/models/learned_model.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace diffuscope {
namespace {

std::vector<double> LogSnrTable(const NoiseSchedule& schedule) {
  std::vector<double> table(schedule.num_steps());
  for (int i = 0; i < schedule.num_steps(); ++i) {
    const double lam = schedule.log_snr(i + 1);
    table[i] = std::isfinite(lam) ? lam : -46.0;  // alpha_bar_T = 0: log(1e-20)
  }
  return table;
}

constexpr const char* kShiftX = "data_shift_x";
constexpr const char* kShiftY = "data_shift_y";
constexpr const char* kScale = "data_scale";

// The normalisation in a file's settings: all three keys or none (identity).
PointNormalization ReadNormalization(const std::map<std::string, double>& settings) {
  const int present = static_cast<int>(settings.count(kShiftX) + settings.count(kShiftY) + settings.count(kScale));
  if (present == 0) return {};
  Require(present == 3, "the model file's settings hold only some of data_shift_x, data_shift_y and data_scale");
  const PointNormalization n{settings.at(kShiftX), settings.at(kShiftY), settings.at(kScale)};
  if (std::string problem = n.Check(); !problem.empty()) throw Error("the model file's normalisation: " + problem);
  return n;
}

}  // namespace

std::string ToSixDigits(double x) {
  std::ostringstream out;
  out.precision(6);
  out << x;
  return out.str();
}

std::string CheckMlpOptions(int embedding_size, int hidden_size, int max_hidden_size, int hidden_layers,
                            const ScheduleOptions& schedule) {
  if (embedding_size < 4 || embedding_size > 4096 || embedding_size % 2 != 0)
    return "the embedding size must be an even number 4..4096 (got " + std::to_string(embedding_size) + ")";
  if (hidden_size < 1 || hidden_size > max_hidden_size)
    return "the hidden size must be 1.." + std::to_string(max_hidden_size) + " (got " + std::to_string(hidden_size) +
           ")";
  if (hidden_layers < 0 || hidden_layers > 64)
    return "the number of hidden layers must be 0..64 (got " + std::to_string(hidden_layers) + ")";
  if (std::string problem = schedule.Check(); !problem.empty()) return "schedule: " + problem;
  return {};
}

TrainOptions ShippedTrainingRecipe(long long iterations, int batch_size, long long report_every) {
  TrainOptions options;
  options.iterations = iterations;
  options.batch_size = batch_size;
  options.learning_rate = 1e-3;
  options.weight_decay = 0.0;
  options.warmup_steps = 500;
  options.cosine_decay = true;
  options.min_learning_rate = 1e-5;
  options.grad_clip_norm = 1.0;
  options.ema_decay = 0.999;
  options.seed = 1;
  options.report_every = report_every;
  return options;
}

void CheckTrainingInput(const TrainOptions& options, const Batch& data, int columns, bool images,
                        const std::string& trains_on) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("training: " + problem);
  Require(data.cols() == columns, std::string(images ? "training: the images have " : "training: the data has ") +
                                      std::to_string(data.cols()) + " columns; " + trains_on);
  Require(data.rows() >= 1, images ? "training: the image set is empty" : "training: the data set is empty");
  Require(data.allFinite(), images ? "training: the images hold NaN or infinite pixels"
                                   : "training: the data holds NaN or infinite coordinates");
}

double MseLossGradient(const Network<float>::Matrix& output, const Batch& target, Network<float>::Matrix* dy) {
  const Eigen::Index B = output.rows(), D = output.cols();
  *dy = output - target;
  const double loss = static_cast<double>(dy->squaredNorm()) / (static_cast<double>(B) * static_cast<double>(D));
  *dy *= 2.0f / static_cast<float>(B * D);
  return loss;
}

void ForwardCoefficients(const NoiseSchedule& schedule, std::vector<float>* sqrt_alpha_bar,
                         std::vector<float>* sqrt_one_minus_alpha_bar) {
  const int T = schedule.num_steps();
  sqrt_alpha_bar->resize(T);
  sqrt_one_minus_alpha_bar->resize(T);
  for (int i = 0; i < T; ++i) {
    (*sqrt_alpha_bar)[i] = static_cast<float>(schedule.sqrt_alpha_bar(i + 1));
    (*sqrt_one_minus_alpha_bar)[i] = static_cast<float>(schedule.sqrt_one_minus_alpha_bar(i + 1));
  }
}

LearnedModel::LearnedModel(const NetworkSpec& spec, const ScheduleOptions& schedule) : TrainableModel(spec, schedule) {
  log_snr_ = LogSnrTable(schedule_);
}

LearnedModel::LearnedModel(ModelFile& file, const char* model_type, const std::string& model_name)
    : TrainableModel(file, file.network, model_type, model_name) {
  normalization_ = ReadNormalization(file.settings);
  log_snr_ = LogSnrTable(schedule_);
}

void LearnedModel::set_normalization(const PointNormalization& normalization) {
  if (std::string problem = normalization.Check(); !problem.empty()) throw Error(problem);
  Require(trained_steps_ == 0 && !train_state_,
          "the normalisation of a trained model cannot change: its weights belong to its normalised space");
  normalization_ = normalization;
}

ModelFile LearnedModel::BaseModelFile(const char* model_type, bool with_training_state) const {
  ModelFile file = TrainableModel::BaseModelFile(model_type, with_training_state);
  // Identity is left out, so files of unit-scale data stay as they were before these settings existed.
  if (!normalization_.identity()) {
    file.settings[kShiftX] = normalization_.shift_x;
    file.settings[kShiftY] = normalization_.shift_y;
    file.settings[kScale] = normalization_.scale;
  }
  return file;
}

void LearnedModel::ApplyNetwork(const Network<float>::Matrix& input, Batch* output) {
  network_.Predict(input, output, &pool_, weights_.data());
}

double LearnedModel::ScheduleTimestepIndex(const DenoiseQuery& query, const std::string& model_name) const {
  const int T = schedule_.num_steps();
  if (query.schedule == nullptr || query.schedule == &schedule_ || query.schedule->options() == schedule_.options()) {
    Require(query.t >= 1 && query.t <= T, model_name + ": timestep t = " + std::to_string(query.t) +
                                              " is outside the model's 1.." + std::to_string(T));
    return query.t - 1;
  }
  // Another schedule: the index of the model's schedule with the same log-SNR, interpolated.
  const double ab = query.alpha_bar;
  Require(std::isfinite(ab) && ab >= 0.0 && ab <= 1.0, model_name + ": alpha_bar of the query must be in [0, 1]");
  if (ab >= 1.0) return 0.0;
  const double lam = ab > 0.0 ? std::log(ab) - std::log1p(-ab) : -1e300;
  if (lam >= log_snr_.front()) return 0.0;
  if (lam <= log_snr_.back()) return T - 1;
  // log_snr_ decreases: find i with log_snr_[i] >= lam > log_snr_[i + 1].
  auto it = std::lower_bound(log_snr_.begin(), log_snr_.end(), lam, [](double a, double b) { return a > b; });
  const int i1 = static_cast<int>(it - log_snr_.begin()), i0 = i1 - 1;
  return i0 + (log_snr_[i0] - lam) / (log_snr_[i0] - log_snr_[i1]);
}

TrainReport LearnedModel::TrainNetwork(const TrainOptions& options, const LossGradientFn& loss_gradient,
                                       const TrainProgressFn& progress, const StopFn& stop,
                                       const std::filesystem::path& checkpoint_path) {
  return TrainWeights(
      options, [&](long long iteration) { return loss_gradient(iteration, network_); }, progress, stop,
      checkpoint_path);
}

double PointMseGradient(const Network<float>::Matrix& out, const float* target, Network<float>::Matrix* dy) {
  const Eigen::Index B = out.rows();
  dy->resize(B, 2);
  double loss = 0.0;
  const float scale = 2.0f / static_cast<float>(2 * B);
  for (Eigen::Index b = 0; b < B; ++b) {
    const float e0 = out(b, 0) - target[2 * b], e1 = out(b, 1) - target[2 * b + 1];
    loss += static_cast<double>(e0) * e0 + static_cast<double>(e1) * e1;
    (*dy)(b, 0) = scale * e0;
    (*dy)(b, 1) = scale * e1;
  }
  return loss / (2.0 * static_cast<double>(B));
}

}  // namespace diffuscope

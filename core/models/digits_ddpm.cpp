#include "core/models/digits_ddpm.h"

#include "core/random/random.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace diffuscope {
namespace {

std::vector<double> LogSnrTable(const NoiseSchedule& schedule) {
  std::vector<double> table(schedule.num_steps());
  for (int i = 0; i < schedule.num_steps(); ++i) {
    const double lam = schedule.log_snr(i + 1);
    table[i] = std::isfinite(lam) ? lam : -46.0;
  }
  return table;
}

const DigitsDdpmOptions& Checked(const DigitsDdpmOptions& options) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("DDPM digits: " + problem);
  return options;
}

// Squared Euclidean distances between the rows of a (n x d) and b (m x d): n x m, in double for the sums.
Eigen::MatrixXd SquaredDistances(const Batch& a, const Batch& b) {
  const Eigen::MatrixXd ad = a.cast<double>(), bd = b.cast<double>();
  Eigen::MatrixXd d = -2.0 * (ad * bd.transpose());
  d.colwise() += ad.rowwise().squaredNorm();
  d.rowwise() += bd.rowwise().squaredNorm().transpose();
  return d.cwiseMax(0.0);
}

}  // namespace

ScheduleOptions DigitsDdpmDefaultSchedule() {
  ScheduleOptions options;
  options.kind = ScheduleKind::kLinear;
  options.num_steps = 1000;
  options.beta_start = 1e-4;
  options.beta_end = 0.02;
  return options;
}

TrainOptions DigitsDdpmDefaultTraining() {
  TrainOptions options;
  options.iterations = 24000;
  options.batch_size = 128;
  options.learning_rate = 1e-3;
  options.weight_decay = 0.0;
  options.warmup_steps = 500;
  options.cosine_decay = true;
  options.min_learning_rate = 1e-5;
  options.grad_clip_norm = 1.0;
  options.ema_decay = 0.999;
  options.seed = 1;
  options.report_every = 200;
  return options;
}

NetworkSpec PixelMlpSpec(int pixel_inputs, int embedding_size, double embedding_scale, int hidden_size,
                         int hidden_layers, int outputs) {
  NetworkSpec spec;
  spec.layers.push_back(LayerSpec::Embed({EmbedGroup{.columns = pixel_inputs, .size = 0, .scale = 1.0},
                                          EmbedGroup{.columns = 1, .size = embedding_size, .scale = embedding_scale}}));
  spec.layers.push_back(LayerSpec::Linear(pixel_inputs + embedding_size, hidden_size));
  spec.layers.push_back(LayerSpec::Silu(hidden_size));
  for (int l = 0; l < hidden_layers; ++l) spec.layers.push_back(LayerSpec::Residual(hidden_size, LayerKind::kSilu));
  spec.layers.push_back(LayerSpec::Linear(hidden_size, outputs));
  return spec;
}

std::string DigitsDdpmOptions::Check() const {
  if (embedding_size < 4 || embedding_size > 4096 || embedding_size % 2 != 0)
    return "the embedding size must be an even number 4..4096 (got " + std::to_string(embedding_size) + ")";
  if (hidden_size < 1 || hidden_size > 8192)
    return "the hidden size must be 1..8192 (got " + std::to_string(hidden_size) + ")";
  if (hidden_layers < 0 || hidden_layers > 64)
    return "the number of hidden layers must be 0..64 (got " + std::to_string(hidden_layers) + ")";
  if (std::string problem = schedule.Check(); !problem.empty()) return "schedule: " + problem;
  return {};
}

NetworkSpec DigitsDdpmOptions::network() const {
  return PixelMlpSpec(kDigitPixels, embedding_size, 1.0, hidden_size, hidden_layers, kDigitPixels);
}

DigitsDdpmModel::DigitsDdpmModel(const DigitsDdpmOptions& options)
    : network_(Checked(options).network()), schedule_(options.schedule), predict_x0_(options.predict_x0) {
  network_.Initialize(0);
  weights_ = network_.parameters();
  log_snr_ = LogSnrTable(schedule_);
}

DigitsDdpmModel::DigitsDdpmModel(ModelFile file) : network_(file.network), schedule_(file.schedule) {
  Require(file.model_type == kDigitsDdpmModelType, "the model file holds a '" + file.model_type +
                                                       "' model, not a digits DDPM model (" + kDigitsDdpmModelType +
                                                       ")");
  Require(network_.input_dim() == kDigitPixels + 1 && network_.output_dim() == kDigitPixels,
          "the model file's network maps " + std::to_string(network_.input_dim()) + " inputs to " +
              std::to_string(network_.output_dim()) + " outputs; a digits DDPM network maps 400 pixels and t to 400");
  Require(file.weights.size() == network_.parameters().size(), "the model file's weights do not fit its network");
  auto target = file.settings.find("predict_x0");
  Require(target != file.settings.end() && (target->second == 0.0 || target->second == 1.0),
          "the digits DDPM model file must say what its network predicts (setting predict_x0 = 0 or 1)");
  predict_x0_ = target->second == 1.0;
  weights_ = std::move(file.weights);
  network_.parameters() = file.train_state ? file.train_state->weights : weights_;
  trained_steps_ = file.trained_steps;
  training_ = file.training;
  train_state_ = std::move(file.train_state);
  info_ = std::move(file.info);
  log_snr_ = LogSnrTable(schedule_);
}

DigitsDdpmModel DigitsDdpmModel::Load(const std::filesystem::path& path) {
  ModelFile file = LoadModelFile(path);
  try {
    return DigitsDdpmModel(std::move(file));
  } catch (const Error& e) {
    throw Error("'" + path.string() + "': " + e.what());
  }
}

ModelFile DigitsDdpmModel::ToModelFile(bool with_training_state) const {
  ModelFile file;
  file.model_type = kDigitsDdpmModelType;
  file.network = network_.spec();
  file.schedule = schedule_.options();
  file.training = training_;
  file.trained_steps = trained_steps_;
  file.info = info_;
  file.settings["side"] = kDigitSide;
  file.settings["predict_x0"] = predict_x0_ ? 1.0 : 0.0;
  file.weights = weights_;
  if (with_training_state) file.train_state = train_state_;
  return file;
}

void DigitsDdpmModel::Save(const std::filesystem::path& path, bool with_training_state) const {
  SaveModelFile(ToModelFile(with_training_state), path);
}

double DigitsDdpmModel::TimestepIndex(const DenoiseQuery& query) const {
  const int T = schedule_.num_steps();
  if (query.schedule == nullptr || query.schedule == &schedule_ || query.schedule->options() == schedule_.options()) {
    Require(query.t >= 1 && query.t <= T,
            "DDPM digits: timestep t = " + std::to_string(query.t) + " is outside the model's 1.." + std::to_string(T));
    return query.t - 1;
  }
  const double ab = query.alpha_bar;
  Require(std::isfinite(ab) && ab >= 0.0 && ab <= 1.0, "DDPM digits: alpha_bar of the query must be in [0, 1]");
  if (ab >= 1.0) return 0.0;
  const double lam = ab > 0.0 ? std::log(ab) - std::log1p(-ab) : -1e300;
  if (lam >= log_snr_.front()) return 0.0;
  if (lam <= log_snr_.back()) return T - 1;
  auto it = std::lower_bound(log_snr_.begin(), log_snr_.end(), lam, [](double a, double b) { return a > b; });
  const int i1 = static_cast<int>(it - log_snr_.begin()), i0 = i1 - 1;
  return i0 + (log_snr_[i0] - lam) / (log_snr_[i0] - log_snr_[i1]);
}

void DigitsDdpmModel::RunNetwork(const Batch& x_t, double t_index, Batch* out) {
  Require(x_t.cols() == kDigitPixels, "DDPM digits: x_t has " + std::to_string(x_t.cols()) +
                                          " columns; the model takes 20x20 images (400 pixels)");
  input_.resize(x_t.rows(), kDigitPixels + 1);
  input_.leftCols(kDigitPixels) = x_t;
  input_.col(kDigitPixels).setConstant(static_cast<float>(t_index));
  network_.Predict(input_, out, &pool_, weights_.data());
}

Prediction DigitsDdpmModel::Predict(const Batch& x_t, const DenoiseQuery& query) {
  Prediction prediction;
  prediction.kind = prediction_kind();
  RunNetwork(x_t, TimestepIndex(query), &prediction.value);
  return prediction;
}

TrainReport TrainDigitsDdpm(DigitsDdpmModel& model, const Batch& images, const TrainOptions& options,
                            const TrainProgressFn& progress, const StopFn& stop,
                            const std::filesystem::path& checkpoint_path) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("training: " + problem);
  Require(images.cols() == kDigitPixels, "training: the images have " + std::to_string(images.cols()) +
                                             " columns; the digits DDPM trains on 20x20 images (400 pixels)");
  Require(images.rows() >= 1, "training: the image set is empty");
  Require(images.allFinite(), "training: the images hold NaN or infinite pixels");

  Network<float> net(model.network_spec());
  TrainState state;
  if (model.train_state_) {
    state = *model.train_state_;
  } else {
    Require(model.trained_steps_ == 0,
            "training: this model was saved for sampling only (no training state), so it cannot be trained further; "
            "train a new model, or keep the training state when saving");
    net.Initialize(options.seed);
  }

  const NoiseSchedule& schedule = model.schedule_;
  const int T = schedule.num_steps();
  std::vector<float> sqrt_ab(T), sqrt_one_minus_ab(T);
  for (int i = 0; i < T; ++i) {
    sqrt_ab[i] = static_cast<float>(schedule.sqrt_alpha_bar(i + 1));
    sqrt_one_minus_ab[i] = static_cast<float>(schedule.sqrt_one_minus_alpha_bar(i + 1));
  }
  const int B = options.batch_size, D = kDigitPixels;
  const auto N = static_cast<uint64_t>(images.rows());
  Network<float>::Matrix input(B, D + 1), dy(B, D);
  Batch eps(B, D), target(B, D);
  Network<float>::Workspace ws;
  const bool predict_x0 = model.predict_x0_;
  constexpr uint64_t kNoiseOffset = 1ULL << 32;  // noise from draw 2^32 on; indices and t from the start

  auto loss_gradient = [&](long long iteration, Network<float>& n) {
    const RandomKey key{.seed = options.seed, .stream = Stream::kTraining, .index = static_cast<uint64_t>(iteration)};
    RandomStream draws(key);
    FillNormal(key, kNoiseOffset, std::span<float>(eps.data(), eps.size()));
    for (int b = 0; b < B; ++b) {
      const auto row = static_cast<Eigen::Index>(draws.Below(N));
      const int i = static_cast<int>(draws.Below(static_cast<uint64_t>(T)));
      input.row(b).head(D) = sqrt_ab[i] * images.row(row) + sqrt_one_minus_ab[i] * eps.row(b);
      input(b, D) = static_cast<float>(i);
      if (predict_x0)
        target.row(b) = images.row(row);
      else
        target.row(b) = eps.row(b);
    }
    const auto& out = n.Forward(input, ws);
    dy = out - target;
    const double loss = static_cast<double>(dy.squaredNorm()) / (static_cast<double>(B) * D);
    dy *= 2.0f / static_cast<float>(B * D);
    n.Backward(input, dy, ws);
    return loss;
  };

  auto commit = [&](const TrainState& s) {
    model.weights_ = SamplingWeights(s);
    model.trained_steps_ = s.step;
    model.training_ = options;
    model.train_state_ = s;
  };
  TrainCallbacks callbacks;
  callbacks.progress = progress;
  callbacks.stop = stop;
  callbacks.checkpoint = [&](const TrainState& s) {
    commit(s);
    if (!checkpoint_path.empty()) model.Save(checkpoint_path, /*with_training_state=*/true);
  };
  TrainReport report = RunTraining(net, state, options, loss_gradient, callbacks);
  commit(state);
  model.network_.parameters() = state.weights;
  return report;
}

DigitsSampleQuality EvaluateDigitsSamples(const Batch& samples, const DigitsSplit& split, double copy_distance) {
  Require(samples.cols() == kDigitPixels, "digit samples must have 400 columns (20x20), got " +
                                              std::to_string(samples.cols()));
  Require(samples.rows() >= 1 && samples.allFinite(), "the digit samples are empty or hold NaN / infinity");
  Require(split.train.rows() >= 5 && split.test.rows() >= 1 && split.train.cols() == kDigitPixels &&
              split.test.cols() == kDigitPixels &&
              static_cast<Eigen::Index>(split.train_labels.size()) == split.train.rows(),
          "the digits split is incomplete");
  DigitsSampleQuality q;
  q.samples = static_cast<int>(samples.rows());
  q.min_value = samples.minCoeff();
  q.max_value = samples.maxCoeff();

  const Eigen::MatrixXd ds = SquaredDistances(samples, split.train);
  double sum = 0.0, minimum = std::numeric_limits<double>::infinity();
  std::vector<int> order(split.train.rows());
  for (Eigen::Index r = 0; r < ds.rows(); ++r) {
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + 5, order.end(),
                      [&](int a, int b) { return ds(r, a) < ds(r, b) || (ds(r, a) == ds(r, b) && a < b); });
    const double nearest = std::sqrt(ds(r, order[0]));
    sum += nearest;
    minimum = std::min(minimum, nearest);
    if (nearest < copy_distance) ++q.copies;
    std::array<int, kDigitClasses> votes{};
    for (int k = 0; k < 5; ++k) ++votes[split.train_labels[order[k]]];
    int label = split.train_labels[order[0]];  // ties go to the nearest image's class
    for (int c = 0; c < kDigitClasses; ++c)
      if (votes[c] > votes[label]) label = c;
    ++q.class_counts[label];
  }
  q.nearest_train_mean = sum / static_cast<double>(ds.rows());
  q.nearest_train_min = minimum;
  for (int c = 0; c < kDigitClasses; ++c) q.classes_present += q.class_counts[c] > 0;

  const Eigen::MatrixXd dt = SquaredDistances(split.test, split.train);
  const Eigen::VectorXd nearest_test = dt.rowwise().minCoeff().cwiseSqrt();
  q.test_nearest_train_mean = nearest_test.mean();
  q.test_nearest_train_min = nearest_test.minCoeff();
  return q;
}

}  // namespace diffuscope

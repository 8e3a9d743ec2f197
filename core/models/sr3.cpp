#include "core/models/sr3.h"

#include "core/metrics/image_quality.h"
#include "core/models/digits_ddpm.h"
#include "core/random/random.h"

#include <cmath>
#include <sstream>

namespace diffuscope {
namespace {

std::string Fmt(double x) {
  std::ostringstream out;
  out.precision(6);
  out << x;
  return out.str();
}

const Sr3Options& Checked(const Sr3Options& options) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("SR3: " + problem);
  return options;
}

double Setting(const ModelFile& file, const std::string& key) {
  auto it = file.settings.find(key);
  Require(it != file.settings.end(), "the SR3 model file has no '" + key + "' setting");
  return it->second;
}

int IntSetting(const ModelFile& file, const std::string& key) {
  const double v = Setting(file, key);
  Require(std::isfinite(v) && v == std::floor(v) && v >= 1 && v <= 4096,
          "the SR3 model file's '" + key + "' setting is not a whole number 1..4096");
  return static_cast<int>(v);
}

}  // namespace

ScheduleOptions Sr3TrainingSchedule() {
  ScheduleOptions options;
  options.kind = ScheduleKind::kLinear;
  options.num_steps = 2000;
  options.beta_start = 1e-6;
  options.beta_end = 1e-2;
  return options;
}

TrainOptions Sr3DefaultTraining() {
  TrainOptions options = DigitsDdpmDefaultTraining();
  options.iterations = 12000;
  return options;
}

SamplerOptions Sr3DefaultSampler() {
  SamplerOptions options;
  options.kind = SamplerKind::kDdpm;
  options.num_steps = 100;
  options.spacing = Spacing::kTrailing;
  options.clip_x0 = true;
  return options;
}

std::string Sr3Options::Check() const {
  if (side < 2 || side > 256) return "the output side must be 2..256 (got " + std::to_string(side) + ")";
  if (low_side < 1 || low_side >= side || side % low_side != 0)
    return "the low-resolution side must divide the output side and be smaller (got " + std::to_string(low_side) +
           " for " + std::to_string(side) + ")";
  if (embedding_size < 4 || embedding_size > 4096 || embedding_size % 2 != 0)
    return "the embedding size must be an even number 4..4096 (got " + std::to_string(embedding_size) + ")";
  if (!(std::isfinite(noise_level_scale) && noise_level_scale > 0.0 && noise_level_scale <= 1e6))
    return "the noise level scale must be a positive number up to 1e6 (got " + Fmt(noise_level_scale) + ")";
  if (hidden_size < 1 || hidden_size > 8192)
    return "the hidden size must be 1..8192 (got " + std::to_string(hidden_size) + ")";
  if (hidden_layers < 0 || hidden_layers > 64)
    return "the number of hidden layers must be 0..64 (got " + std::to_string(hidden_layers) + ")";
  if (std::string problem = schedule.Check(); !problem.empty()) return "schedule: " + problem;
  return {};
}

NetworkSpec Sr3Options::network() const {
  return PixelMlpSpec(2 * side * side, embedding_size, noise_level_scale, hidden_size, hidden_layers, side * side);
}

Sr3Model::Sr3Model(const Sr3Options& options)
    : network_(Checked(options).network()),
      schedule_(options.schedule),
      low_side_(options.low_side),
      side_(options.side),
      noise_level_scale_(options.noise_level_scale),
      predict_x0_(options.predict_x0) {
  network_.Initialize(0);
  weights_ = network_.parameters();
}

Sr3Model::Sr3Model(ModelFile file) : network_(file.network), schedule_(file.schedule) {
  Require(file.model_type == kSr3DigitsModelType, "the model file holds a '" + file.model_type +
                                                      "' model, not an SR3 digits model (" + kSr3DigitsModelType + ")");
  side_ = IntSetting(file, "side");
  low_side_ = IntSetting(file, "low_side");
  noise_level_scale_ = Setting(file, "noise_level_scale");
  Require(std::isfinite(noise_level_scale_) && noise_level_scale_ > 0.0,
          "the SR3 model file's noise_level_scale must be positive");
  const double target = Setting(file, "predict_x0");
  Require(target == 0.0 || target == 1.0, "the SR3 model file's predict_x0 setting must be 0 or 1");
  predict_x0_ = target == 1.0;
  Require(side_ % low_side_ == 0 && low_side_ < side_,
          "the SR3 model file's low_side does not divide its side (" + std::to_string(low_side_) + ", " +
              std::to_string(side_) + ")");
  const int pixels = side_ * side_;
  Require(network_.input_dim() == 2 * pixels + 1 && network_.output_dim() == pixels,
          "the model file's network maps " + std::to_string(network_.input_dim()) + " inputs to " +
              std::to_string(network_.output_dim()) + " outputs; an SR3 network of " + std::to_string(side_) + "x" +
              std::to_string(side_) + " images maps " + std::to_string(2 * pixels + 1) + " to " +
              std::to_string(pixels));
  Require(file.weights.size() == network_.parameters().size(), "the model file's weights do not fit its network");
  weights_ = std::move(file.weights);
  network_.parameters() = file.train_state ? file.train_state->weights : weights_;
  trained_steps_ = file.trained_steps;
  training_ = file.training;
  train_state_ = std::move(file.train_state);
  info_ = std::move(file.info);
}

Sr3Model Sr3Model::Load(const std::filesystem::path& path) {
  ModelFile file = LoadModelFile(path);
  try {
    return Sr3Model(std::move(file));
  } catch (const Error& e) {
    throw Error("'" + path.string() + "': " + e.what());
  }
}

ModelFile Sr3Model::ToModelFile(bool with_training_state) const {
  ModelFile file;
  file.model_type = kSr3DigitsModelType;
  file.network = network_.spec();
  file.schedule = schedule_.options();
  file.training = training_;
  file.trained_steps = trained_steps_;
  file.info = info_;
  file.settings["side"] = side_;
  file.settings["low_side"] = low_side_;
  file.settings["noise_level_scale"] = noise_level_scale_;
  file.settings["predict_x0"] = predict_x0_ ? 1.0 : 0.0;
  file.weights = weights_;
  if (with_training_state) file.train_state = train_state_;
  return file;
}

void Sr3Model::Save(const std::filesystem::path& path, bool with_training_state) const {
  SaveModelFile(ToModelFile(with_training_state), path);
}

std::string Sr3Model::name() const {
  return "SR3 digits " + std::to_string(low_side_) + "x" + std::to_string(low_side_) + " -> " +
         std::to_string(side_) + "x" + std::to_string(side_);
}

void Sr3Model::RunNetwork(const Batch& x_t, const Batch& condition, double sqrt_gamma, Batch* out) {
  const int pixels = side_ * side_;
  Require(x_t.cols() == pixels, "SR3: x_t has " + std::to_string(x_t.cols()) + " columns; the model makes " +
                                    std::to_string(side_) + "x" + std::to_string(side_) + " images (" +
                                    std::to_string(pixels) + ")");
  Require(condition.rows() == x_t.rows() && condition.cols() == pixels,
          "SR3: the condition must hold one upsampled " + std::to_string(side_) + "x" + std::to_string(side_) +
              " row per sample (got " + std::to_string(condition.rows()) + " x " + std::to_string(condition.cols()) +
              " for " + std::to_string(x_t.rows()) + " samples)");
  Require(std::isfinite(sqrt_gamma) && sqrt_gamma >= 0.0 && sqrt_gamma <= 1.0,
          "SR3: the noise level sqrt(gamma) must be in [0, 1]");
  input_.resize(x_t.rows(), 2 * pixels + 1);
  input_.leftCols(pixels) = x_t;
  input_.middleCols(pixels, pixels) = condition;
  input_.col(2 * pixels).setConstant(static_cast<float>(sqrt_gamma));
  network_.Predict(input_, out, &pool_, weights_.data());
}

Prediction Sr3Model::Predict(const Batch& x_t, const DenoiseQuery& query) {
  Require(query.condition != nullptr,
          "SR3 needs the low-resolution image: pass its bicubic upsample as the sampler's condition");
  Require(std::isfinite(query.alpha_bar) && query.alpha_bar >= 0.0 && query.alpha_bar <= 1.0,
          "SR3: alpha_bar of the query must be in [0, 1]");
  Prediction prediction;
  prediction.kind = prediction_kind();
  RunNetwork(x_t, *query.condition, std::sqrt(query.alpha_bar), &prediction.value);
  return prediction;
}

Batch Sr3Model::Condition(const Batch& low) const {
  Require(low.cols() == low_side_ * low_side_,
          "SR3: the low-resolution images have " + std::to_string(low.cols()) + " pixels; this model takes " +
              std::to_string(low_side_) + "x" + std::to_string(low_side_) + " (" +
              std::to_string(low_side_ * low_side_) + ")");
  Require(low.rows() >= 1 && low.allFinite(), "SR3: the low-resolution images are empty or hold NaN / infinity");
  return UpsampleBicubic(low, side_);
}

Batch Sr3Model::SuperResolve(const Batch& low, const SamplerOptions& options, uint64_t seed, const StopFn& stop) {
  const Batch condition = Condition(low);
  return Sample(schedule_, *this, options, InitialNoise(static_cast<int>(low.rows()), side_ * side_, seed), {}, stop,
                &condition);
}

TrainReport TrainSr3(Sr3Model& model, const Batch& images, const TrainOptions& options,
                     const TrainProgressFn& progress, const StopFn& stop,
                     const std::filesystem::path& checkpoint_path) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("training: " + problem);
  const int D = model.side_ * model.side_;
  Require(images.cols() == D, "training: the images have " + std::to_string(images.cols()) + " columns; this SR3 " +
                                  "model trains on " + std::to_string(model.side_) + "x" +
                                  std::to_string(model.side_) + " images (" + std::to_string(D) + ")");
  Require(images.rows() >= 1, "training: the image set is empty");
  Require(images.allFinite(), "training: the images hold NaN or infinite pixels");
  const Batch conditions = LowResolutionCondition(images, model.low_side_);

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
  std::vector<double> sqrt_ab(T + 1);  // t = 0..T
  for (int t = 0; t <= T; ++t) sqrt_ab[t] = std::sqrt(schedule.alpha_bar(t));
  const int B = options.batch_size;
  const auto N = static_cast<uint64_t>(images.rows());
  Network<float>::Matrix input(B, 2 * D + 1), dy(B, D);
  Batch eps(B, D), target(B, D);
  Network<float>::Workspace ws;
  const bool predict_x0 = model.predict_x0_;
  constexpr uint64_t kNoiseOffset = 1ULL << 32;

  auto loss_gradient = [&](long long iteration, Network<float>& n) {
    const RandomKey key{.seed = options.seed, .stream = Stream::kTraining, .index = static_cast<uint64_t>(iteration)};
    RandomStream draws(key);
    FillNormal(key, kNoiseOffset, std::span<float>(eps.data(), eps.size()));
    for (int b = 0; b < B; ++b) {
      const auto row = static_cast<Eigen::Index>(draws.Below(N));
      const int t = 1 + static_cast<int>(draws.Below(static_cast<uint64_t>(T)));
      // SR3: sqrt(gamma) uniform between consecutive sqrt(alpha_bar) values.
      const double sqrt_gamma = sqrt_ab[t] + (sqrt_ab[t - 1] - sqrt_ab[t]) * draws.Uniform();
      const auto sg = static_cast<float>(sqrt_gamma);
      const auto s1g = static_cast<float>(std::sqrt(std::max(0.0, 1.0 - sqrt_gamma * sqrt_gamma)));
      input.row(b).head(D) = sg * images.row(row) + s1g * eps.row(b);
      input.row(b).segment(D, D) = conditions.row(row);
      input(b, 2 * D) = sg;
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

Sr3Evaluation EvaluateSr3(Sr3Model& model, const Batch& truth, const SamplerOptions& sampler, uint64_t seed,
                          const StopFn& stop) {
  const int side = model.side();
  Require(truth.cols() == side * side && truth.rows() >= 1,
          "SR3 evaluation: the truth must hold " + std::to_string(side) + "x" + std::to_string(side) + " images");
  const Batch low = DownscaleArea(truth, model.low_side());
  const Batch bicubic = model.Condition(low);
  const Batch sr3 = model.SuperResolve(low, sampler, seed, stop);
  Sr3Evaluation e;
  e.images = static_cast<int>(truth.rows());
  e.psnr_sr3 = MeanPsnr(truth, sr3);
  e.ssim_sr3 = MeanSsim(truth, sr3, side, side);
  e.psnr_bicubic = MeanPsnr(truth, bicubic);
  e.ssim_bicubic = MeanSsim(truth, bicubic, side, side);
  e.consistency_psnr_sr3 = MeanPsnr(low, DownscaleArea(sr3, model.low_side()));
  e.consistency_psnr_bicubic = MeanPsnr(low, DownscaleArea(bicubic, model.low_side()));
  return e;
}

}  // namespace diffuscope

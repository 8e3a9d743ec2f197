#include "core/models/sr3.h"

#include "core/metrics/image_quality.h"
#include "core/models/digits_ddpm.h"
#include "core/random/random.h"

#include <cmath>

namespace diffuscope {
namespace {

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
  if (!(std::isfinite(noise_level_scale) && noise_level_scale > 0.0 && noise_level_scale <= 1e6))
    return "the noise level scale must be a positive number up to 1e6 (got " + ToSixDigits(noise_level_scale) + ")";
  return CheckMlpOptions(embedding_size, hidden_size, 8192, hidden_layers, schedule);
}

NetworkSpec Sr3Options::network() const {
  return PixelMlpSpec(2 * side * side, embedding_size, noise_level_scale, hidden_size, hidden_layers, side * side);
}

Sr3Model::Sr3Model(const Sr3Options& options)
    : LearnedModel(Checked(options).network(), options.schedule),
      low_side_(options.low_side),
      side_(options.side),
      noise_level_scale_(options.noise_level_scale),
      predict_x0_(options.predict_x0) {}

Sr3Model::Sr3Model(ModelFile file) : LearnedModel(file, kSr3DigitsModelType, "an SR3 digits model") {
  side_ = IntSetting(file, "side");
  low_side_ = IntSetting(file, "low_side");
  noise_level_scale_ = Setting(file, "noise_level_scale");
  Require(std::isfinite(noise_level_scale_) && noise_level_scale_ > 0.0,
          "the SR3 model file's noise_level_scale must be positive");
  const double target = Setting(file, "predict_x0");
  Require(target == 0.0 || target == 1.0, "the SR3 model file's predict_x0 setting must be 0 or 1");
  predict_x0_ = target == 1.0;
  Require(side_ % low_side_ == 0 && low_side_ < side_, "the SR3 model file's low_side does not divide its side (" +
                                                           std::to_string(low_side_) + ", " + std::to_string(side_) +
                                                           ")");
  const int pixels = side_ * side_;
  Require(network_.input_dim() == 2 * pixels + 1 && network_.output_dim() == pixels,
          "the model file's network maps " + std::to_string(network_.input_dim()) + " inputs to " +
              std::to_string(network_.output_dim()) + " outputs; an SR3 network of " + std::to_string(side_) + "x" +
              std::to_string(side_) + " images maps " + std::to_string(2 * pixels + 1) + " to " +
              std::to_string(pixels));
}

ModelFile Sr3Model::ToModelFile(bool with_training_state) const {
  ModelFile file = BaseModelFile(kSr3DigitsModelType, with_training_state);
  file.settings["side"] = side_;
  file.settings["low_side"] = low_side_;
  file.settings["noise_level_scale"] = noise_level_scale_;
  file.settings["predict_x0"] = predict_x0_ ? 1.0 : 0.0;
  return file;
}

std::string Sr3Model::name() const {
  return "SR3 digits " + std::to_string(low_side_) + "x" + std::to_string(low_side_) + " -> " + std::to_string(side_) +
         "x" + std::to_string(side_);
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
  ApplyNetwork(input_, out);
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
  Require(low.cols() == low_side_ * low_side_, "SR3: the low-resolution images have " + std::to_string(low.cols()) +
                                                   " pixels; this model takes " + std::to_string(low_side_) + "x" +
                                                   std::to_string(low_side_) + " (" +
                                                   std::to_string(low_side_ * low_side_) + ")");
  Require(low.rows() >= 1 && low.allFinite(), "SR3: the low-resolution images are empty or hold NaN / infinity");
  return UpsampleBicubic(low, side_);
}

Batch Sr3Model::SuperResolve(const Batch& low, const SamplerOptions& options, uint64_t seed, const StopFn& stop) {
  const Batch condition = Condition(low);
  return Sample(schedule_, *this, options, InitialNoise(static_cast<int>(low.rows()), side_ * side_, seed), {}, stop,
                &condition);
}

TrainReport TrainSr3(Sr3Model& model, const Batch& images, const TrainOptions& options, const TrainProgressFn& progress,
                     const StopFn& stop, const std::filesystem::path& checkpoint_path) {
  const int D = model.side_ * model.side_;
  CheckTrainingInput(options, images, D, /*images=*/true,
                     "this SR3 model trains on " + std::to_string(model.side_) + "x" + std::to_string(model.side_) +
                         " images (" + std::to_string(D) + ")");
  const Batch conditions = LowResolutionCondition(images, model.low_side_);

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
      if (predict_x0) target.row(b) = images.row(row);
      else target.row(b) = eps.row(b);
    }
    const double loss = MseLossGradient(n.Forward(input, ws), target, &dy);
    n.Backward(input, dy, ws);
    return loss;
  };

  return model.TrainNetwork(options, loss_gradient, progress, stop, checkpoint_path);
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

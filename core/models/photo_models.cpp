#include "core/models/photo_models.h"

#include "core/models/learned_model.h"
#include "core/models/sr3.h"
#include "core/random/random.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace diffuscope {
namespace {

double Setting(const ModelFile& file, const char* key, double fallback) {
  auto it = file.settings.find(key);
  return it == file.settings.end() ? fallback : it->second;
}

// Rows of 3 x S x S planes into an N x S x S x channels tensor at channel offset `first`.
void PlanesIntoTensor(const Batch& rows, int side, int first, UNet<float>::Tensor* t) {
  const long long plane = static_cast<long long>(side) * side;
  for (Eigen::Index b = 0; b < rows.rows(); ++b)
    for (int c = 0; c < 3; ++c)
      for (long long p = 0; p < plane; ++p) t->data[(b * plane + p) * t->c + first + c] = rows(b, c * plane + p);
}

struct TrainingBuffers {
  UNet<float>::Tensor input, target, dy;
  UNet<float>::Workspace ws{true};
  Batch x0, eps, up;
  std::vector<float> levels;
};

void CheckPhotos(const std::vector<Image>& photos, int side) {
  Require(!photos.empty(), "training: no photographs");
  for (const Image& p : photos) {
    Require(p.channels == 1 || p.channels == 3, "training: photographs must be grey or RGB");
    Require(std::min(p.height, p.width) >= side,
            "training: every photograph must be at least " + std::to_string(side) + " pixels on its shorter side");
    Require(p.pixels.allFinite(), "training: a photograph holds NaN or infinite pixels");
  }
}

constexpr uint64_t kNoiseOffset = 1ULL << 32;  // normal draws of an update start here; crops and levels before

}  // namespace

UNetSpec PhotoUNetSpec(bool sr3) {
  UNetSpec spec;
  spec.in_channels = sr3 ? 6 : 3;
  spec.out_channels = 3;
  spec.channels = {32, 64, 128};
  spec.groups = 8;
  spec.zero_init = true;
  return spec;
}

ScheduleOptions PhotoDdpmDefaultSchedule() {
  return ScheduleOptions{};  // the defaults are DDPM's: linear 1e-4 .. 0.02, T = 1000
}

TrainOptions PhotoDefaultTraining(long long iterations) {
  TrainOptions options = ShippedTrainingRecipe(iterations, /*batch_size=*/8, /*report_every=*/50);
  options.learning_rate = 2e-4;  // the reference's; 1e-3 is too fast for a 1.5 M-weight U-Net at batch 8
  options.checkpoint_every = 500;
  return options;
}

std::string PhotoDdpmOptions::Check() const {
  if (std::string p = network.Check(); !p.empty()) return "network: " + p;
  if (network.in_channels != 3 || network.out_channels != 3) return "the photo DDPM's U-Net maps 3 channels to 3";
  if (std::string p = schedule.Check(); !p.empty()) return "schedule: " + p;
  if (std::string p = crops.Check(); !p.empty()) return "crops: " + p;
  if (crops.side % network.size_multiple() != 0)
    return "the crop side must be a multiple of " + std::to_string(network.size_multiple());
  if (prediction == PredictionKind::kMean) return "the photo DDPM predicts eps, x_0 or v";
  if (!(log_sigma_std > 0.0 && log_sigma_std < 10.0) || !std::isfinite(log_sigma_mean) ||
      !(uniform_fraction >= 0.0 && uniform_fraction <= 1.0))
    return "the training noise-level distribution is out of range";
  return {};
}

namespace {
const PhotoDdpmOptions& Checked(const PhotoDdpmOptions& o) {
  if (std::string p = o.Check(); !p.empty()) throw Error("DDPM photo: " + p);
  return o;
}
const Sr3PhotoOptions& Checked(const Sr3PhotoOptions& o) {
  if (std::string p = o.Check(); !p.empty()) throw Error("SR3 photo: " + p);
  return o;
}
}  // namespace

PhotoDdpmModel::PhotoDdpmModel(const PhotoDdpmOptions& options)
    : UNetModel(Checked(options).network, options.schedule), options_(options) {}

PhotoDdpmModel::PhotoDdpmModel(ModelFile file) : UNetModel(file, kPhotoDdpmModelType, "a photo DDPM model") {
  options_.network = network_.spec();
  options_.schedule = schedule_.options();
  options_.prediction = PredictionFromSetting(file, "photo");
  options_.crops.side = static_cast<int>(Setting(file, "crop_side", options_.crops.side));
  options_.crops.max_downscale = Setting(file, "max_downscale", options_.crops.max_downscale);
  options_.crops.grey_fraction = Setting(file, "grey_fraction", options_.crops.grey_fraction);
  options_.log_sigma_mean = Setting(file, "log_sigma_mean", options_.log_sigma_mean);
  options_.log_sigma_std = Setting(file, "log_sigma_std", options_.log_sigma_std);
  options_.uniform_fraction = Setting(file, "uniform_fraction", options_.uniform_fraction);
  Checked(options_);
}

ModelFile PhotoDdpmModel::ToModelFile(bool with_training_state) const {
  ModelFile file = BaseModelFile(kPhotoDdpmModelType, with_training_state);
  file.settings["prediction"] = PredictionSetting(options_.prediction);
  file.settings["crop_side"] = options_.crops.side;
  file.settings["max_downscale"] = options_.crops.max_downscale;
  file.settings["grey_fraction"] = options_.crops.grey_fraction;
  file.settings["log_sigma_mean"] = options_.log_sigma_mean;
  file.settings["log_sigma_std"] = options_.log_sigma_std;
  file.settings["uniform_fraction"] = options_.uniform_fraction;
  return file;
}

Prediction PhotoDdpmModel::Predict(const Batch& x_t, const DenoiseQuery& query) {
  return PredictAtNoiseLevel(x_t, nullptr, query, options_.prediction);
}

Batch PhotoDdpmModel::PredictX0(const Batch& x_t, double alpha_bar) {
  Batch out;
  RunImages(x_t, nullptr, {alpha_bar}, &out);
  const float a = static_cast<float>(std::sqrt(alpha_bar)), s = static_cast<float>(std::sqrt(1.0 - alpha_bar));
  switch (options_.prediction) {
    case PredictionKind::kX0: return out;
    case PredictionKind::kEps:
      Require(alpha_bar > 0.0, "DDPM photo: x0_hat from eps needs alpha_bar > 0");
      return (x_t - s * out) / a;
    default:  // v: x_0 = sqrt(abar) x_t - sqrt(1 - abar) v
      return a * x_t - s * out;
  }
}

TrainReport TrainPhotoDdpm(PhotoDdpmModel& model, const std::vector<Image>& photos, const TrainOptions& options,
                           const TrainProgressFn& progress, const StopFn& stop,
                           const std::filesystem::path& checkpoint_path) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("training: " + problem);
  const PhotoDdpmOptions& o = model.options_;
  CheckPhotos(photos, o.crops.side);
  const int B = options.batch_size, S = o.crops.side;
  TrainingBuffers buf;
  auto loss_gradient = [&](long long iteration) {
    const RandomKey key{.seed = options.seed, .stream = Stream::kTraining, .index = static_cast<uint64_t>(iteration)};
    RandomStream draws(key);
    DrawPhotoCrops(photos, o.crops, B, draws, &buf.x0);
    buf.eps.resize(B, buf.x0.cols());
    FillNormal(key, kNoiseOffset, std::span<float>(buf.eps.data(), buf.eps.size()));
    buf.levels.resize(B);
    Batch xt(B, buf.x0.cols()), target(B, buf.x0.cols());
    for (int b = 0; b < B; ++b) {
      double lam;
      if (draws.Uniform() < o.uniform_fraction) {
        lam = -12.0 + 24.0 * draws.Uniform();
      } else {
        lam = -2.0 * (o.log_sigma_mean + o.log_sigma_std * draws.Normal());
      }
      const double ab = 1.0 / (1.0 + std::exp(-lam));
      const auto a = static_cast<float>(std::sqrt(ab)), s = static_cast<float>(std::sqrt(1.0 - ab));
      xt.row(b) = a * buf.x0.row(b) + s * buf.eps.row(b);
      switch (o.prediction) {
        case PredictionKind::kEps: target.row(b) = buf.eps.row(b); break;
        case PredictionKind::kX0: target.row(b) = buf.x0.row(b); break;
        default: target.row(b) = a * buf.eps.row(b) - s * buf.x0.row(b); break;
      }
      buf.levels[b] = NoiseLevelInput(ab);
    }
    buf.input.Resize(B, S, S, 3);
    buf.target.Resize(B, S, S, 3);
    PlanesIntoTensor(xt, S, 0, &buf.input);
    PlanesIntoTensor(target, S, 0, &buf.target);
    const auto& y = model.network_.Forward(buf.input, buf.levels, buf.ws);
    const double loss = UNetMseGradient(y, buf.target, &buf.dy);
    model.network_.Backward(buf.input, buf.levels, buf.dy, buf.ws);
    return loss;
  };
  return model.TrainWeights(options, loss_gradient, progress, stop, checkpoint_path);
}

ScheduleOptions Sr3PhotoSchedule() {
  return Sr3TrainingSchedule();  // the paper's: linear 1e-6 .. 1e-2, T = 2000
}

std::string Sr3PhotoOptions::Check() const {
  if (factor < 2 || factor > 8) return "the super-resolution factor must be 2..8 (got " + std::to_string(factor) + ")";
  if (std::string p = network.Check(); !p.empty()) return "network: " + p;
  if (network.in_channels != 6 || network.out_channels != 3)
    return "the SR3 photo U-Net maps 6 channels (x_t and the upsampled image) to 3";
  if (std::string p = schedule.Check(); !p.empty()) return "schedule: " + p;
  if (std::string p = crops.Check(); !p.empty()) return "crops: " + p;
  if (crops.side % (network.size_multiple() * factor) != 0)
    return "the crop side must be a multiple of " + std::to_string(network.size_multiple() * factor);
  if (!(residual_scale >= 0.0 && residual_scale <= 10.0)) return "the residual scale must be 0 (eps) or in (0, 10]";
  return {};
}

Sr3PhotoModel::Sr3PhotoModel(const Sr3PhotoOptions& options)
    : UNetModel(Checked(options).network, options.schedule), options_(options) {}

Sr3PhotoModel::Sr3PhotoModel(ModelFile file) : UNetModel(file, kSr3PhotoModelType, "an SR3 photo model") {
  options_.network = network_.spec();
  options_.schedule = schedule_.options();
  options_.factor = static_cast<int>(Setting(file, "factor", 0));
  options_.crops.side = static_cast<int>(Setting(file, "crop_side", options_.crops.side));
  options_.crops.max_downscale = Setting(file, "max_downscale", options_.crops.max_downscale);
  options_.crops.grey_fraction = Setting(file, "grey_fraction", options_.crops.grey_fraction);
  options_.residual_scale = Setting(file, "residual_scale", 0.0);  // files before the residual form predict eps
  Checked(options_);
}

ModelFile Sr3PhotoModel::ToModelFile(bool with_training_state) const {
  ModelFile file = BaseModelFile(kSr3PhotoModelType, with_training_state);
  file.settings["factor"] = options_.factor;
  file.settings["crop_side"] = options_.crops.side;
  file.settings["max_downscale"] = options_.crops.max_downscale;
  file.settings["grey_fraction"] = options_.crops.grey_fraction;
  file.settings["residual_scale"] = options_.residual_scale;
  return file;
}

Prediction Sr3PhotoModel::Predict(const Batch& x_t, const DenoiseQuery& query) {
  Require(query.condition != nullptr, "SR3 photo: the query needs the upsampled low-resolution image");
  if (options_.residual_scale == 0.0) return PredictAtNoiseLevel(x_t, query.condition, query, PredictionKind::kEps);
  Prediction p = PredictAtNoiseLevel(x_t, query.condition, query, PredictionKind::kX0);  // checks the shapes
  p.value = *query.condition + static_cast<float>(options_.residual_scale) * p.value;
  return p;
}

Batch Sr3PhotoModel::Condition(const Batch& low, int channels, int height, int width) const {
  Require(low.cols() == static_cast<long long>(channels) * height * width,
          "SR3 photo: the low-resolution rows do not match their size");
  const int f = options_.factor;
  const long long plane = static_cast<long long>(height) * width, big = plane * f * f;
  Batch up(low.rows(), channels * big);
  for (Eigen::Index r = 0; r < low.rows(); ++r)
    for (int c = 0; c < channels; ++c) {
      const cv::Mat small(height, width, CV_32F, const_cast<float*>(low.data()) + r * low.cols() + c * plane);
      cv::Mat out;
      cv::resize(small, out, cv::Size(width * f, height * f), 0, 0, cv::INTER_CUBIC);
      std::copy_n(out.ptr<float>(), big, up.data() + r * up.cols() + c * big);
    }
  return up;
}

TrainReport TrainSr3Photo(Sr3PhotoModel& model, const std::vector<Image>& photos, const TrainOptions& options,
                          const TrainProgressFn& progress, const StopFn& stop,
                          const std::filesystem::path& checkpoint_path) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("training: " + problem);
  const Sr3PhotoOptions& o = model.options_;
  CheckPhotos(photos, o.crops.side);
  const int B = options.batch_size, S = o.crops.side, T = model.schedule_.num_steps();
  TrainingBuffers buf;
  auto loss_gradient = [&](long long iteration) {
    const RandomKey key{.seed = options.seed, .stream = Stream::kTraining, .index = static_cast<uint64_t>(iteration)};
    RandomStream draws(key);
    DrawPhotoCrops(photos, o.crops, B, draws, &buf.x0);
    buf.up = DownUpBicubic(buf.x0, 3, S, S, o.factor);
    buf.eps.resize(B, buf.x0.cols());
    FillNormal(key, kNoiseOffset, std::span<float>(buf.eps.data(), buf.eps.size()));
    buf.levels.resize(B);
    Batch xt(B, buf.x0.cols());
    for (int b = 0; b < B; ++b) {
      // SR3: t uniform, then sqrt(gamma) uniform between sqrt(abar_{t-1}) and sqrt(abar_t).
      const int t = 1 + static_cast<int>(draws.Below(static_cast<uint64_t>(T)));
      const double hi = t == 1 ? 1.0 : model.schedule_.sqrt_alpha_bar(t - 1), lo = model.schedule_.sqrt_alpha_bar(t);
      const double sg = lo + (hi - lo) * draws.Uniform();
      const auto a = static_cast<float>(sg), s = static_cast<float>(std::sqrt(std::max(0.0, 1.0 - sg * sg)));
      xt.row(b) = a * buf.x0.row(b) + s * buf.eps.row(b);
      buf.levels[b] = NoiseLevelInput(sg * sg);
    }
    buf.input.Resize(B, S, S, 6);
    buf.target.Resize(B, S, S, 3);
    PlanesIntoTensor(xt, S, 0, &buf.input);
    PlanesIntoTensor(buf.up, S, 3, &buf.input);
    if (o.residual_scale > 0.0) {
      const Batch residual = (buf.x0 - buf.up) / static_cast<float>(o.residual_scale);
      PlanesIntoTensor(residual, S, 0, &buf.target);
    } else {
      PlanesIntoTensor(buf.eps, S, 0, &buf.target);
    }
    const auto& y = model.network_.Forward(buf.input, buf.levels, buf.ws);
    const double loss = UNetMseGradient(y, buf.target, &buf.dy);
    model.network_.Backward(buf.input, buf.levels, buf.dy, buf.ws);
    return loss;
  };
  return model.TrainWeights(options, loss_gradient, progress, stop, checkpoint_path);
}

}  // namespace diffuscope

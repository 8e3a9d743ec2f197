#include "core/models/digits_unet.h"

#include "core/models/learned_model.h"
#include "core/random/random.h"

#include <cmath>

namespace diffuscope {
namespace {

const DigitsUNetOptions& Checked(const DigitsUNetOptions& options) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("DDPM digits U-Net: " + problem);
  return options;
}

constexpr uint64_t kNoiseOffset = 1ULL << 32;  // normal draws of an update start here; rows and t before

}  // namespace

UNetSpec DigitsUNetSpec() {
  UNetSpec spec;
  spec.in_channels = 1;
  spec.out_channels = 1;
  spec.channels = {32, 64, 128};
  spec.groups = 8;
  spec.zero_init = true;
  return spec;
}

TrainOptions DigitsUNetDefaultTraining(long long iterations) {
  TrainOptions options = ShippedTrainingRecipe(iterations, /*batch_size=*/32, /*report_every=*/100);
  options.learning_rate = 5e-4;
  options.checkpoint_every = 500;
  return options;
}

std::string DigitsUNetOptions::Check() const {
  if (std::string p = network.Check(); !p.empty()) return "network: " + p;
  if (network.in_channels != 1 || network.out_channels != 1) return "the digits U-Net maps 1 channel to 1";
  if (kDigitSide % network.size_multiple() != 0)
    return "the digits' side 20 must be a multiple of the U-Net's " + std::to_string(network.size_multiple()) +
           " (at most 3 levels)";
  if (std::string p = schedule.Check(); !p.empty()) return "schedule: " + p;
  if (prediction == PredictionKind::kMean) return "the digits U-Net predicts eps, x_0 or v";
  return {};
}

DigitsUNetModel::DigitsUNetModel(const DigitsUNetOptions& options)
    : UNetModel(Checked(options).network, options.schedule), options_(options) {
  SetImageSize(1, kDigitSide, kDigitSide);
}

DigitsUNetModel::DigitsUNetModel(ModelFile file) : UNetModel(file, kDigitsUNetModelType, "a digits U-Net DDPM model") {
  options_.network = network_.spec();
  options_.schedule = schedule_.options();
  options_.prediction = PredictionFromSetting(file, "digits U-Net");
  Checked(options_);
  SetImageSize(1, kDigitSide, kDigitSide);
}

ModelFile DigitsUNetModel::ToModelFile(bool with_training_state) const {
  ModelFile file = BaseModelFile(kDigitsUNetModelType, with_training_state);
  file.settings["side"] = kDigitSide;
  file.settings["prediction"] = PredictionSetting(options_.prediction);
  return file;
}

Prediction DigitsUNetModel::Predict(const Batch& x_t, const DenoiseQuery& query) {
  Require(x_t.cols() == kDigitPixels, "DDPM digits U-Net: x_t has " + std::to_string(x_t.cols()) +
                                          " columns; the model takes 20x20 images (400 pixels)");
  return PredictAtNoiseLevel(x_t, nullptr, query, options_.prediction);
}

TrainReport TrainDigitsUNet(DigitsUNetModel& model, const Batch& images, const TrainOptions& options,
                            const TrainProgressFn& progress, const StopFn& stop,
                            const std::filesystem::path& checkpoint_path) {
  CheckTrainingInput(options, images, kDigitPixels, /*images=*/true,
                     "the digits U-Net trains on 20x20 images (400 pixels)");
  const NoiseSchedule& schedule = model.schedule_;
  const int T = schedule.num_steps(), B = options.batch_size, S = kDigitSide, D = kDigitPixels;
  const auto N = static_cast<uint64_t>(images.rows());
  const PredictionKind target_kind = model.options_.prediction;
  // One grey channel: a row's 400 pixels are already the N x H x W x 1 layout.
  UNet<float>::Tensor input, target, dy;
  input.Resize(B, S, S, 1);
  target.Resize(B, S, S, 1);
  UNet<float>::Workspace ws(/*training=*/true);
  Batch eps(B, D);
  std::vector<float> levels(B);
  auto loss_gradient = [&](long long iteration) {
    const RandomKey key{.seed = options.seed, .stream = Stream::kTraining, .index = static_cast<uint64_t>(iteration)};
    RandomStream draws(key);
    FillNormal(key, kNoiseOffset, std::span<float>(eps.data(), eps.size()));
    for (int b = 0; b < B; ++b) {
      const auto row = static_cast<Eigen::Index>(draws.Below(N));
      const int t = 1 + static_cast<int>(draws.Below(static_cast<uint64_t>(T)));
      const auto a = static_cast<float>(schedule.sqrt_alpha_bar(t));
      const auto s = static_cast<float>(schedule.sqrt_one_minus_alpha_bar(t));
      levels[b] = NoiseLevelInput(schedule.alpha_bar(t));
      float* in = input.data.data() + static_cast<size_t>(b) * D;
      float* out = target.data.data() + static_cast<size_t>(b) * D;
      for (int k = 0; k < D; ++k) {
        const float x0 = images(row, k), e = eps(b, k);
        in[k] = a * x0 + s * e;
        out[k] = target_kind == PredictionKind::kEps ? e : target_kind == PredictionKind::kX0 ? x0 : a * e - s * x0;
      }
    }
    const auto& y = model.network_.Forward(input, levels, ws);
    const double loss = UNetMseGradient(y, target, &dy);
    model.network_.Backward(input, levels, dy, ws);
    return loss;
  };
  return model.TrainWeights(options, loss_gradient, progress, stop, checkpoint_path);
}

}  // namespace diffuscope

#include "core/models/unet_model.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace diffuscope {
namespace {

constexpr double kLambdaMin = -15.0, kLambdaMax = 15.0;

// Mirror index (reflect-101) for padding a side of n pixels.
int Reflect(int i, int n) {
  if (n == 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

}  // namespace

float NoiseLevelInput(double alpha_bar) {
  double lam;
  if (!(alpha_bar > 0.0)) {
    lam = kLambdaMin;
  } else if (alpha_bar >= 1.0) {
    lam = kLambdaMax;
  } else {
    lam = std::log(alpha_bar) - std::log1p(-alpha_bar);
  }
  lam = std::clamp(lam, kLambdaMin, kLambdaMax);
  return static_cast<float>(1000.0 * (kLambdaMax - lam) / (kLambdaMax - kLambdaMin));
}

UNetModel::UNetModel(const UNetSpec& spec, const ScheduleOptions& schedule) : network_(spec), schedule_(schedule) {
  network_.Initialize(0);
  weights_ = network_.parameters();
}

UNetModel::UNetModel(ModelFile& file, const char* model_type, const std::string& model_name)
    : network_(file.unet ? *file.unet : UNetSpec{}), schedule_(file.schedule) {
  Require(file.model_type == model_type, "the model file holds a '" + file.model_type + "' model, not " + model_name +
                                             " (" + model_type + ")");
  Require(file.unet.has_value(), "the model file holds no U-Net");
  Require(file.weights.size() == network_.parameters().size(), "the model file's weights do not fit its network");
  weights_ = std::move(file.weights);
  network_.parameters() = file.train_state ? file.train_state->weights : weights_;
  trained_steps_ = file.trained_steps;
  training_ = file.training;
  train_state_ = std::move(file.train_state);
  info_ = std::move(file.info);
}

void UNetModel::Save(const std::filesystem::path& path, bool with_training_state) const {
  SaveModelFile(ToModelFile(with_training_state), path);
}

ModelFile UNetModel::BaseModelFile(const char* model_type, bool with_training_state) const {
  ModelFile file;
  file.model_type = model_type;
  file.unet = network_.spec();
  file.schedule = schedule_.options();
  file.training = training_;
  file.trained_steps = trained_steps_;
  file.info = info_;
  file.weights = weights_;
  if (with_training_state) file.train_state = train_state_;
  return file;
}

void UNetModel::SetImageSize(int channels, int height, int width) {
  Require(channels == 1 || channels == 3, "the U-Net models take grey or RGB images (got " +
                                              std::to_string(channels) + " channels)");
  Require(height >= 1 && width >= 1 && static_cast<long long>(height) * width <= 4096LL * 4096,
          "the image size " + std::to_string(width) + "x" + std::to_string(height) + " is out of range");
  channels_ = channels;
  height_ = height;
  width_ = width;
}

void UNetModel::RunImages(const Batch& x, const Batch* condition, const std::vector<double>& alpha_bar, Batch* out) {
  const int C = channels_, H = height_, W = width_;
  const long long D = static_cast<long long>(C) * H * W;
  Require(x.cols() == D, name() + ": x_t has " + std::to_string(x.cols()) + " columns; the model is set to " +
                             std::to_string(C) + "x" + std::to_string(H) + "x" + std::to_string(W) + " images");
  Require(!condition || (condition->rows() == x.rows() && condition->cols() == D),
          name() + ": the condition must have one row of the image's shape per sample");
  Require(alpha_bar.size() == 1 || alpha_bar.size() == static_cast<size_t>(x.rows()),
          name() + ": one noise level per sample (or one for all) is needed");
  const UNetSpec& spec = network_.spec();
  const int net_c = 3;  // every U-Net model here sees RGB (grey as three equal channels)
  Require(spec.in_channels == (condition ? 2 * net_c : net_c) && spec.out_channels == net_c,
          name() + ": the network's channels do not fit its inputs");
  const int m = spec.size_multiple();
  const int Hp = (H + m - 1) / m * m, Wp = (W + m - 1) / m * m;
  out->resize(x.rows(), D);
  const long long plane = static_cast<long long>(H) * W;
  // One image at a time: the workspace holds every activation, and photos are large.
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    in_.Resize(1, Hp, Wp, spec.in_channels);
    for (int yy = 0; yy < Hp; ++yy) {
      const int sy = Reflect(yy, H);
      for (int xx = 0; xx < Wp; ++xx) {
        const long long src = static_cast<long long>(sy) * W + Reflect(xx, W);
        float* px = &in_.at(0, yy, xx, 0);
        for (int c = 0; c < net_c; ++c) {
          const int sc = C == 1 ? 0 : c;
          px[c] = x(r, sc * plane + src);
          if (condition) px[net_c + c] = (*condition)(r, sc * plane + src);
        }
      }
    }
    const std::vector<float> level = {NoiseLevelInput(alpha_bar.size() == 1 ? alpha_bar[0] : alpha_bar[r])};
    const auto& y = network_.Forward(in_, level, infer_ws_, weights_.data());
    for (int yy = 0; yy < H; ++yy)
      for (int xx = 0; xx < W; ++xx) {
        const float* py = &y.at(0, yy, xx, 0);
        const long long dst = static_cast<long long>(yy) * W + xx;
        if (C == 1) {
          (*out)(r, dst) = (py[0] + py[1] + py[2]) / 3.0f;
        } else {
          for (int c = 0; c < 3; ++c) (*out)(r, c * plane + dst) = py[c];
        }
      }
  }
}

TrainReport UNetModel::TrainUNet(const TrainOptions& options, const StepLossGradientFn& loss_gradient,
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
  TrainReport report = RunTraining(network_.parameters(), network_.gradients(), state, options, loss_gradient,
                                   callbacks);
  commit(state);
  return report;
}

std::string PhotoCropOptions::Check() const {
  if (side < 8 || side > 1024) return "the crop side must be 8..1024 (got " + std::to_string(side) + ")";
  if (!(max_downscale >= 1.0 && max_downscale <= 16.0)) return "the largest downscale must be 1..16";
  if (!(grey_fraction >= 0.0 && grey_fraction <= 1.0)) return "the grey fraction must be in [0, 1]";
  return {};
}

void DrawPhotoCrops(const std::vector<Image>& images, const PhotoCropOptions& options, int count,
                    RandomStream& draws, Batch* out) {
  Require(!images.empty(), "training: no photographs to crop");
  const int S = options.side;
  const long long plane = static_cast<long long>(S) * S;
  out->resize(count, 3 * plane);
  for (int b = 0; b < count; ++b) {
    const Image& img = images[draws.Below(images.size())];
    const int shortest = std::min(img.height, img.width);
    // Log-uniform scale: the region's side is S..S * max_downscale, as far as the photo allows.
    const double largest = std::min(options.max_downscale, static_cast<double>(shortest) / S);
    const double factor = largest > 1.0 ? std::exp(draws.Uniform() * std::log(largest)) : 1.0;
    const int region = std::min(shortest, static_cast<int>(std::lround(S * factor)));
    const int y0 = static_cast<int>(draws.Below(static_cast<uint64_t>(img.height - region + 1)));
    const int x0 = static_cast<int>(draws.Below(static_cast<uint64_t>(img.width - region + 1)));
    const int turn = static_cast<int>(draws.Below(8));
    const bool grey = draws.Uniform() < options.grey_fraction;
    cv::Mat planes[3];
    for (int c = 0; c < 3; ++c) {
      const int sc = img.channels == 1 ? 0 : c;
      const cv::Mat full(img.height, img.width, CV_32F,
                         const_cast<float*>(img.pixels.data()) + static_cast<long long>(sc) * img.height * img.width);
      cv::Mat crop = full(cv::Rect(x0, y0, region, region));
      if (region != S) {
        cv::resize(crop, planes[c], cv::Size(S, S), 0, 0, region < S ? cv::INTER_CUBIC : cv::INTER_AREA);
      } else {
        planes[c] = crop.clone();
      }
      if (turn & 1) cv::flip(planes[c], planes[c], 1);
      if (turn & 2) cv::transpose(planes[c], planes[c]);
      if (turn & 4) cv::flip(planes[c], planes[c], 0);
    }
    if (grey) {
      cv::Mat y = 0.299f * planes[0] + 0.587f * planes[1] + 0.114f * planes[2];
      for (auto& p : planes) p = y;
    }
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < S; ++i)
        std::copy_n(planes[c].ptr<float>(i), S, out->data() + b * 3 * plane + c * plane + static_cast<long long>(i) * S);
  }
}

Batch DownUpBicubic(const Batch& rows, int channels, int height, int width, int factor, Batch* low) {
  Require(factor >= 1 && height % factor == 0 && width % factor == 0,
          "the image sides must divide by the super-resolution factor " + std::to_string(factor));
  const int h = height / factor, w = width / factor;
  const long long plane = static_cast<long long>(height) * width, lplane = static_cast<long long>(h) * w;
  Batch up(rows.rows(), rows.cols());
  if (low) low->resize(rows.rows(), channels * lplane);
  for (Eigen::Index r = 0; r < rows.rows(); ++r)
    for (int c = 0; c < channels; ++c) {
      const cv::Mat full(height, width, CV_32F, const_cast<float*>(rows.data()) + r * rows.cols() + c * plane);
      cv::Mat small, big;
      cv::resize(full, small, cv::Size(w, h), 0, 0, cv::INTER_AREA);
      cv::resize(small, big, cv::Size(width, height), 0, 0, cv::INTER_CUBIC);
      std::copy_n(big.ptr<float>(), plane, up.data() + r * up.cols() + c * plane);
      if (low) std::copy_n(small.ptr<float>(), lplane, low->data() + r * low->cols() + c * lplane);
    }
  return up;
}

}  // namespace diffuscope

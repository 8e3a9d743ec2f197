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

double PredictionSetting(PredictionKind kind) {
  return kind == PredictionKind::kEps ? 0.0 : kind == PredictionKind::kX0 ? 1.0 : 2.0;
}

PredictionKind PredictionFromSetting(const ModelFile& file, const std::string& what) {
  auto it = file.settings.find("prediction");
  Require(it != file.settings.end() && (it->second == 0.0 || it->second == 1.0 || it->second == 2.0),
          "the " + what + " model file must say what its network predicts (setting prediction = 0 eps, 1 x_0, 2 v)");
  return it->second == 0.0 ? PredictionKind::kEps : it->second == 1.0 ? PredictionKind::kX0 : PredictionKind::kV;
}

double UNetMseGradient(const Tensor4<float>& y, const Tensor4<float>& target, Tensor4<float>* dy) {
  Require(y.SameShape(target), "training: the network's output and its target differ in shape");
  dy->Resize(y.n, y.h, y.w, y.c);
  double loss = 0.0;
  const float scale = 2.0f / static_cast<float>(y.size());
  for (size_t k = 0; k < y.size(); ++k) {
    const float d = y.data[k] - target.data[k];
    loss += static_cast<double>(d) * d;
    dy->data[k] = scale * d;
  }
  return loss / static_cast<double>(y.size());
}

namespace {
// The file's U-Net; a stand-in for a file of another type, which the base then refuses by its type.
const UNetSpec& FileUNet(const ModelFile& file, const char* model_type) {
  static const UNetSpec none;
  Require(file.unet.has_value() || file.model_type != model_type, "the model file holds no U-Net");
  return file.unet ? *file.unet : none;
}
}  // namespace

UNetModel::UNetModel(ModelFile& file, const char* model_type, const std::string& model_name)
    : TrainableModel(file, FileUNet(file, model_type), model_type, model_name) {}

void UNetModel::SetImageSize(int channels, int height, int width) {
  Require(channels == 1 || channels == 3,
          "the U-Net models take grey or RGB images (got " + std::to_string(channels) + " channels)");
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
  // An RGB network sees grey images as three equal channels; a grey network (the digits) takes grey only.
  const int net_c = spec.out_channels;
  Require(spec.in_channels == (condition ? 2 * net_c : net_c) && (net_c == 3 || (net_c == 1 && C == 1)),
          name() + ": the network's channels do not fit its inputs");
  const int m = spec.size_multiple();
  const int Hp = (H + m - 1) / m * m, Wp = (W + m - 1) / m * m;
  out->resize(x.rows(), D);
  const long long plane = static_cast<long long>(H) * W;
  // The workspace holds every activation: photos go one at a time, small images (digits) in chunks of about
  // 64 K pixels, which keeps the convolutions' matrices wide.
  const long long chunk = std::max(1LL, 65536LL / (static_cast<long long>(Hp) * Wp));
  std::vector<float> level;
  for (Eigen::Index r0 = 0; r0 < x.rows(); r0 += chunk) {
    const int n = static_cast<int>(std::min<long long>(chunk, x.rows() - r0));
    in_.Resize(n, Hp, Wp, spec.in_channels);
    level.resize(n);
    for (int i = 0; i < n; ++i) {
      const Eigen::Index r = r0 + i;
      for (int yy = 0; yy < Hp; ++yy) {
        const int sy = Reflect(yy, H);
        for (int xx = 0; xx < Wp; ++xx) {
          const long long src = static_cast<long long>(sy) * W + Reflect(xx, W);
          float* px = &in_.at(i, yy, xx, 0);
          for (int c = 0; c < net_c; ++c) {
            const int sc = C == 1 ? 0 : c;
            px[c] = x(r, sc * plane + src);
            if (condition) px[net_c + c] = (*condition)(r, sc * plane + src);
          }
        }
      }
      level[i] = NoiseLevelInput(alpha_bar.size() == 1 ? alpha_bar[0] : alpha_bar[r]);
    }
    const auto& y = network_.Forward(in_, level, infer_ws_, weights_.data());
    for (int i = 0; i < n; ++i) {
      const Eigen::Index r = r0 + i;
      for (int yy = 0; yy < H; ++yy)
        for (int xx = 0; xx < W; ++xx) {
          const float* py = &y.at(i, yy, xx, 0);
          const long long dst = static_cast<long long>(yy) * W + xx;
          if (net_c == 1) {
            (*out)(r, dst) = py[0];
          } else if (C == 1) {
            (*out)(r, dst) = (py[0] + py[1] + py[2]) / 3.0f;
          } else {
            for (int c = 0; c < 3; ++c) (*out)(r, c * plane + dst) = py[c];
          }
        }
    }
  }
}

Prediction UNetModel::PredictAtNoiseLevel(const Batch& x_t, const Batch* condition, const DenoiseQuery& query,
                                          PredictionKind kind) {
  Require(std::isfinite(query.alpha_bar) && query.alpha_bar >= 0.0 && query.alpha_bar <= 1.0,
          name() + ": alpha_bar of the query must be in [0, 1]");
  Require(x_t.allFinite(), name() + ": x_t holds NaN or infinite values");
  Prediction p;
  p.kind = kind;
  RunImages(x_t, condition, {query.alpha_bar}, &p.value);
  return p;
}

std::string PhotoCropOptions::Check() const {
  if (side < 8 || side > 1024) return "the crop side must be 8..1024 (got " + std::to_string(side) + ")";
  if (!(max_downscale >= 1.0 && max_downscale <= 16.0)) return "the largest downscale must be 1..16";
  if (!(grey_fraction >= 0.0 && grey_fraction <= 1.0)) return "the grey fraction must be in [0, 1]";
  return {};
}

void DrawPhotoCrops(const std::vector<Image>& images, const PhotoCropOptions& options, int count, RandomStream& draws,
                    Batch* out) {
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
        std::copy_n(planes[c].ptr<float>(i), S,
                    out->data() + b * 3 * plane + c * plane + static_cast<long long>(i) * S);
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

#include "core/nn/optimizer.h"

#include "core/common/types.h"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace diffuscope {
namespace {
using ArrayMap = Eigen::Map<Eigen::ArrayXf>;
using ConstArrayMap = Eigen::Map<const Eigen::ArrayXf>;
}  // namespace

void AdamWStep(std::span<float> weights, std::span<const float> grads, std::span<float> m, std::span<float> v,
               long long step, const AdamWHyper& h) {
  const auto n = static_cast<Eigen::Index>(weights.size());
  Require(grads.size() == weights.size() && m.size() == weights.size() && v.size() == weights.size(),
          "AdamW: weights, gradients and moments differ in size");
  Require(step >= 1, "AdamW: the step count starts at 1");
  ArrayMap w(weights.data(), n), mm(m.data(), n), vv(v.data(), n);
  ConstArrayMap g(grads.data(), n);
  const float b1 = static_cast<float>(h.beta1), b2 = static_cast<float>(h.beta2);
  const double bias1 = 1.0 - std::pow(h.beta1, static_cast<double>(step));
  const double bias2 = 1.0 - std::pow(h.beta2, static_cast<double>(step));
  const float step_size = static_cast<float>(h.learning_rate / bias1);
  const float inv_sqrt_bias2 = static_cast<float>(1.0 / std::sqrt(bias2));
  const float decay = static_cast<float>(1.0 - h.learning_rate * h.weight_decay);
  const float eps = static_cast<float>(h.epsilon);
  mm = b1 * mm + (1.0f - b1) * g;
  vv = b2 * vv + (1.0f - b2) * g.square();
  w = w * decay - step_size * mm / (vv.sqrt() * inv_sqrt_bias2 + eps);
}

double GradientNorm(std::span<const float> grads) {
  double sum = 0.0;
  // Blocks of float sums (vectorised), added in double.
  constexpr size_t kBlock = 4096;
  for (size_t i = 0; i < grads.size(); i += kBlock) {
    const auto count = static_cast<Eigen::Index>(std::min(kBlock, grads.size() - i));
    sum += static_cast<double>(ConstArrayMap(grads.data() + i, count).square().sum());
  }
  return std::sqrt(sum);
}

double ClipGradientNorm(std::span<float> grads, double max_norm) {
  const double norm = GradientNorm(grads);
  if (max_norm > 0.0 && std::isfinite(norm) && norm > max_norm) {
    const float scale = static_cast<float>(max_norm / (norm + 1e-6));
    ArrayMap(grads.data(), static_cast<Eigen::Index>(grads.size())) *= scale;
  }
  return norm;
}

void EmaUpdate(std::span<float> ema, std::span<const float> weights, double decay) {
  Require(ema.size() == weights.size(), "EMA: sizes differ");
  const auto n = static_cast<Eigen::Index>(ema.size());
  const float d = static_cast<float>(decay);
  ArrayMap e(ema.data(), n);
  e = d * e + (1.0f - d) * ConstArrayMap(weights.data(), n);
}

double EmaDecayAt(long long step, double decay) {
  const double s = static_cast<double>(std::max(step, 1LL));
  return std::min(decay, (1.0 + s) / (10.0 + s));
}

double LearningRateAt(long long step, long long total, double lr, long long warmup, bool cosine_decay,
                      double min_lr) {
  if (warmup > 0 && step <= warmup) return lr * static_cast<double>(step) / static_cast<double>(warmup);
  if (!cosine_decay || total <= warmup) return lr;
  const double progress =
      std::clamp(static_cast<double>(step - warmup) / static_cast<double>(total - warmup), 0.0, 1.0);
  return min_lr + (lr - min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace diffuscope

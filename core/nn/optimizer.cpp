#include "core/nn/optimizer.h"

#include "core/common/types.h"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace diffuscope {
namespace {

// The arrays here live in std::vectors whose addresses vary from run to run. Eigen peels unaligned heads of
// dynamic-size maps with scalar code (where the compiler may fuse a*b + c into one FMA, and sums run in another
// order), which would make the bits depend on the address. Fixed-size blocks of 16 at fixed offsets, with the
// scalar tail at the same indices every time, keep every result a function of the values alone.
constexpr size_t kLanes = 16;
using Block = Eigen::Array<float, static_cast<int>(kLanes), 1>;
using BlockMap = Eigen::Map<Block>;
using ConstBlockMap = Eigen::Map<const Block>;

}  // namespace

void AdamWStep(std::span<float> weights, std::span<const float> grads, std::span<float> m, std::span<float> v,
               long long step, const AdamWHyper& h) {
  const size_t n = weights.size();
  Require(grads.size() == n && m.size() == n && v.size() == n, "AdamW: weights, gradients and moments differ in size");
  Require(step >= 1, "AdamW: the step count starts at 1");
  const float b1 = static_cast<float>(h.beta1), b2 = static_cast<float>(h.beta2);
  const double bias1 = 1.0 - std::pow(h.beta1, static_cast<double>(step));
  const double bias2 = 1.0 - std::pow(h.beta2, static_cast<double>(step));
  const float step_size = static_cast<float>(h.learning_rate / bias1);
  const float inv_sqrt_bias2 = static_cast<float>(1.0 / std::sqrt(bias2));
  const float decay = static_cast<float>(1.0 - h.learning_rate * h.weight_decay);
  const float eps = static_cast<float>(h.epsilon);
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    BlockMap w(weights.data() + i), mm(m.data() + i), vv(v.data() + i);
    ConstBlockMap g(grads.data() + i);
    mm = b1 * mm + (1.0f - b1) * g;
    vv = b2 * vv + (1.0f - b2) * g.square();
    w = w * decay - step_size * mm / (vv.sqrt() * inv_sqrt_bias2 + eps);
  }
  for (; i < n; ++i) {
    const float g = grads[i];
    m[i] = b1 * m[i] + (1.0f - b1) * g;
    v[i] = b2 * v[i] + (1.0f - b2) * g * g;
    weights[i] = weights[i] * decay - step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bias2 + eps);
  }
}

double GradientNorm(std::span<const float> grads) {
  // 16 float lanes per block of 4096 values, blocks added in double: a fixed order of summation.
  constexpr size_t kBlock = 4096;
  double sum = 0.0;
  for (size_t start = 0; start < grads.size(); start += kBlock) {
    const size_t end = std::min(grads.size(), start + kBlock);
    Block acc = Block::Zero();
    size_t i = start;
    for (; i + kLanes <= end; i += kLanes) acc += ConstBlockMap(grads.data() + i).square();
    double block = static_cast<double>(acc.sum());
    for (; i < end; ++i) block += static_cast<double>(grads[i]) * grads[i];
    sum += block;
  }
  return std::sqrt(sum);
}

double ClipGradientNorm(std::span<float> grads, double max_norm) {
  const double norm = GradientNorm(grads);
  if (max_norm > 0.0 && std::isfinite(norm) && norm > max_norm) {
    const float scale = static_cast<float>(max_norm / (norm + 1e-6));
    for (float& g : grads) g *= scale;  // one rounding per value whatever the path
  }
  return norm;
}

void EmaUpdate(std::span<float> ema, std::span<const float> weights, double decay) {
  Require(ema.size() == weights.size(), "EMA: sizes differ");
  const size_t n = ema.size();
  const float d = static_cast<float>(decay), one_minus_d = 1.0f - d;
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    BlockMap e(ema.data() + i);
    e = d * e + one_minus_d * ConstBlockMap(weights.data() + i);
  }
  for (; i < n; ++i) ema[i] = d * ema[i] + one_minus_d * weights[i];
}

double EmaDecayAt(long long step, double decay) {
  const double s = static_cast<double>(std::max(step, 1LL));
  return std::min(decay, (1.0 + s) / (10.0 + s));
}

double LearningRateAt(long long step, long long total, double lr, long long warmup, bool cosine_decay, double min_lr) {
  if (warmup > 0 && step <= warmup) return lr * static_cast<double>(step) / static_cast<double>(warmup);
  if (!cosine_decay || total <= warmup) return lr;
  const double progress =
      std::clamp(static_cast<double>(step - warmup) / static_cast<double>(total - warmup), 0.0, 1.0);
  return min_lr + (lr - min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace diffuscope

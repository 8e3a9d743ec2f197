#include "core/forward/forward.h"

#include "core/random/random.h"

#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>

namespace diffuscope {
namespace {

void CheckT(const NoiseSchedule& schedule, int t) {
  Require(t >= 0 && t <= schedule.num_steps(),
          "timestep t = " + std::to_string(t) + " is outside 0.." + std::to_string(schedule.num_steps()));
}

void CheckSameShape(const Batch& a, const Batch& b, const char* what) {
  Require(a.rows() == b.rows() && a.cols() == b.cols(), std::string(what) + " has shape " + std::to_string(b.rows()) +
                                                            "x" + std::to_string(b.cols()) + ", expected " +
                                                            std::to_string(a.rows()) + "x" + std::to_string(a.cols()));
}

}  // namespace

Batch ForwardClosed(const NoiseSchedule& schedule, int t, const Batch& x0, const Batch& eps) {
  CheckT(schedule, t);
  CheckSameShape(x0, eps, "eps");
  const float a = static_cast<float>(schedule.sqrt_alpha_bar(t));
  const float b = static_cast<float>(schedule.sqrt_one_minus_alpha_bar(t));
  return (a * x0.array() + b * eps.array()).matrix();
}

Batch ForwardMarkovStep(const NoiseSchedule& schedule, int t, const Batch& x_prev, const Batch& z) {
  Require(t >= 1 && t <= schedule.num_steps(),
          "a Markov step needs t in 1.." + std::to_string(schedule.num_steps()) + " (got " + std::to_string(t) + ")");
  CheckSameShape(x_prev, z, "z");
  const float a = static_cast<float>(std::sqrt(schedule.alpha(t)));
  const float b = static_cast<float>(std::sqrt(schedule.beta(t)));
  return (a * x_prev.array() + b * z.array()).matrix();
}

void ForwardClosedToDisplay(const NoiseSchedule& schedule, int t, const float* x0, const float* eps, int channels,
                            int height, int width, DisplayImage* out) {
  CheckT(schedule, t);
  Require(channels == 1 || channels == 3, "display needs 1 or 3 channels (got " + std::to_string(channels) + ")");
  Require(height > 0 && width > 0, "display needs a non-empty image");
  out->width = width;
  out->height = height;
  out->channels = channels;
  out->pixels.resize(static_cast<size_t>(width) * height * channels);
  const float a = static_cast<float>(schedule.sqrt_alpha_bar(t));
  const float b = static_cast<float>(schedule.sqrt_one_minus_alpha_bar(t));
  const size_t plane = static_cast<size_t>(width) * height;
  uint8_t* dst = out->pixels.data();
  // Rows in blocks so that each task's planes stay in cache; each byte depends on its pixel only. OpenCV's
  // addWeighted (vectorised, saturating round) makes the bytes and merge interleaves the planes.
  const int row_block = std::max(1, 16384 / width);
  const int tasks = (height + row_block - 1) / row_block;
  const double scale_x0 = 127.5 * a, scale_eps = 127.5 * b;
  cv::parallel_for_(cv::Range(0, tasks), [&](const cv::Range& range) {
    std::vector<cv::Mat> bytes(channels);
    for (int task = range.start; task < range.end; ++task) {
      const int y0 = task * row_block, y1 = std::min(height, y0 + row_block);
      const size_t begin = static_cast<size_t>(y0) * width;
      for (int c = 0; c < channels; ++c) {
        const cv::Mat xp(y1 - y0, width, CV_32F, const_cast<float*>(x0 + c * plane + begin));
        const cv::Mat ep(y1 - y0, width, CV_32F, const_cast<float*>(eps + c * plane + begin));
        cv::addWeighted(xp, scale_x0, ep, scale_eps, 127.5, bytes[c], CV_8U);
      }
      cv::Mat out_rows(y1 - y0, width, CV_8UC(channels), dst + begin * channels);
      if (channels == 1) bytes[0].copyTo(out_rows);
      else cv::merge(bytes, out_rows);
    }
  });
}

ForwardProcess::ForwardProcess(const NoiseSchedule& schedule, Batch x0, uint64_t seed)
    : schedule_(schedule), x0_(std::move(x0)), seed_(seed) {
  Require(x0_.size() > 0, "the forward process needs data (x0 is empty)");
  Require(x0_.allFinite(), "x0 holds NaN or infinite values");
  eps_.resize(x0_.rows(), x0_.cols());
  FillNormalParallel({seed_, Stream::kForwardEps, 0}, 0, std::span<float>(eps_.data(), eps_.size()));
  const int T = schedule_.num_steps();
  bridge_end_ = schedule_.alpha_bar(T) > 0.0 ? T : T - 1;
  tau_.resize(bridge_end_ + 1);
  for (int t = 0; t <= bridge_end_; ++t) tau_[t] = (1.0 - schedule_.alpha_bar(t)) / schedule_.alpha_bar(t);
}

Batch ForwardProcess::Closed(int t) const { return ForwardClosed(schedule_, t, x0_, eps_); }

Batch ForwardProcess::ClosedFreshNoise(int t, uint64_t frame) const {
  Batch eps(x0_.rows(), x0_.cols());
  FillNormalParallel({seed_, Stream::kFreshNoise, frame}, 0, std::span<float>(eps.data(), eps.size()));
  return ForwardClosed(schedule_, t, x0_, eps);
}

void ForwardProcess::FillNode(int node, float* out) const {
  FillNormalParallel({seed_, Stream::kMarkovPath, static_cast<uint64_t>(node)}, 0,
                     std::span<float>(out, static_cast<size_t>(x0_.size())));
}

Batch ForwardProcess::MarkovBrownian(int t) const {
  CheckT(schedule_, t);
  Require(t <= bridge_end_, "W(t) is unbounded where alpha_bar_t = 0 (t = T under zero terminal SNR)");
  Batch w = Batch::Zero(x0_.rows(), x0_.cols());
  if (t == 0 || bridge_end_ == 0) return w;
  // Root: W(T') ~ N(0, tau_T'). Then bisect [l, r] towards t; node m's normal is keyed by m alone, so every
  // t meets the same nodes and the same numbers: one path, random access.
  Batch z(x0_.rows(), x0_.cols());
  int l = 0, r = bridge_end_;
  Batch w_l = Batch::Zero(x0_.rows(), x0_.cols());
  Batch w_r(x0_.rows(), x0_.cols());
  FillNode(r, z.data());
  w_r = static_cast<float>(std::sqrt(tau_[r])) * z;
  while (t != r && t != l) {
    const int m = l + (r - l) / 2;
    const double span = tau_[r] - tau_[l];
    const double weight = (tau_[m] - tau_[l]) / span;
    const double sd = std::sqrt((tau_[m] - tau_[l]) * (tau_[r] - tau_[m]) / span);
    FillNode(m, z.data());
    Batch w_m =
        (w_l.array() + static_cast<float>(weight) * (w_r.array() - w_l.array()) + static_cast<float>(sd) * z.array())
            .matrix();
    if (t < m) {
      r = m;
      w_r = std::move(w_m);
    } else {
      l = m;
      w_l = std::move(w_m);
    }
  }
  return t == r ? w_r : w_l;
}

Batch ForwardProcess::Markov(int t) const {
  CheckT(schedule_, t);
  if (t == 0) return x0_;
  if (t > bridge_end_) {
    // beta_T = 1: x_T = sqrt(0) x_{T-1} + sqrt(1) z_T, a fresh normal field (node T, outside the bridge).
    Batch z(x0_.rows(), x0_.cols());
    FillNode(t, z.data());
    return z;
  }
  const float s = static_cast<float>(schedule_.sqrt_alpha_bar(t));
  return (s * (x0_.array() + MarkovBrownian(t).array())).matrix();
}

Batch ForwardProcess::MarkovNoise(int t) const {
  Require(t >= 1 && t <= schedule_.num_steps(),
          "Markov noise needs t in 1.." + std::to_string(schedule_.num_steps()) + " (got " + std::to_string(t) + ")");
  if (t > bridge_end_) return Markov(t);
  // x_t = sqrt(alpha_t) x_{t-1} + sqrt(beta_t) z_t  with  x_t = sqrt(abar_t)(x0 + W_t)  gives
  // z_t = sqrt(abar_t / beta_t) (W_t - W_{t-1}).
  const double scale = std::sqrt(schedule_.alpha_bar(t) / schedule_.beta(t));
  return (static_cast<float>(scale) * (MarkovBrownian(t) - MarkovBrownian(t - 1)).array()).matrix();
}

}  // namespace diffuscope

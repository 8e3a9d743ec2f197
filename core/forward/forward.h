// The forward trajectory q(x_t | x_0), reproducible by seed, at any t in any order.
//
//   diffuscope::ForwardProcess forward(schedule, x0, /*seed=*/7);
//   diffuscope::Batch a = forward.Closed(300);   // sqrt(abar) x0 + sqrt(1 - abar) eps, one fixed eps
//   diffuscope::Batch b = forward.Markov(300);   // the step-by-step chain's x_300, one fixed path
//   // Scrubbing back to t = 300 later gives the same a and b, bit for bit.
//
// The Markov path is sampled exactly and with random access: y_t = x_t / sqrt(abar_t) is a Brownian motion
// y_0 + W(tau_t) in the clock tau_t = (1 - abar_t) / abar_t (REFERENCE.md), so W at any t is found by
// Brownian-bridge bisection of [0, T]: about log2(T) + 1 normal fields per frame, no stored path, no replay.
#pragma once

#include "core/common/types.h"
#include "core/schedule/schedule.h"

#include <cstdint>
#include <vector>

namespace diffuscope {

/// x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, elementwise (t = 0 gives x0).
Batch ForwardClosed(const NoiseSchedule& schedule, int t, const Batch& x0, const Batch& eps);
/// One step of the chain: x_t = sqrt(1 - beta_t) x_prev + sqrt(beta_t) z.
Batch ForwardMarkovStep(const NoiseSchedule& schedule, int t, const Batch& x_prev, const Batch& z);

/// An 8-bit interleaved display buffer (RGB or grey) of channel-plane pixels in [-1, 1]:
/// out[(y * width + x) * channels + c] = round(clamp((v + 1) * 127.5)).
struct DisplayImage {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

/// Fused display path of the closed form: the frame of x_t = a x0 + b eps straight into `out`
/// (resized as needed; rows split over OpenCV's threads; identical bytes on any thread count).
void ForwardClosedToDisplay(const NoiseSchedule& schedule, int t, const float* x0, const float* eps, int channels,
                            int height, int width, DisplayImage* out);

class ForwardProcess {
 public:
  /// x0: the data batch (rows = samples). seed fixes eps and the Markov path.
  ForwardProcess(const NoiseSchedule& schedule, Batch x0, uint64_t seed);

  const NoiseSchedule& schedule() const { return schedule_; }
  const Batch& x0() const { return x0_; }
  uint64_t seed() const { return seed_; }

  /// The fixed eps of the closed-form view (drawn once from Stream::kForwardEps).
  const Batch& eps() const { return eps_; }
  /// Closed form with the fixed eps.
  Batch Closed(int t) const;
  /// Closed form with a fresh eps for this frame (Stream::kFreshNoise, index = frame).
  Batch ClosedFreshNoise(int t, uint64_t frame) const;
  /// The Markov chain's x_t on the one fixed path (Brownian bridge; exact in law and in joint law over t).
  Batch Markov(int t) const;
  /// The z_t of the fixed path, so that ForwardMarkovStep(t, Markov(t - 1), MarkovNoise(t)) == Markov(t).
  Batch MarkovNoise(int t) const;
  /// W(t) = x_t / sqrt(abar_t) - x0 of the fixed path (the Brownian motion itself; 0 at t = 0).
  Batch MarkovBrownian(int t) const;

 private:
  void FillNode(int node, float* out) const;  // standard normals of one bisection node
  NoiseSchedule schedule_;                    // a copy: a process outlives the panel that made its schedule
  Batch x0_;
  uint64_t seed_;
  Batch eps_;
  std::vector<double> tau_;  // tau_t for t = 0..T_bridge
  int bridge_end_;           // last t with alpha_bar_t > 0 (T, or T - 1 under zero terminal SNR)
};

}  // namespace diffuscope

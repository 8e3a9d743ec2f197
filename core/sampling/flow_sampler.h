// Sampling in flow time: the ODE dx_s/ds = v(x_s, s) of the straight path x_s = (1 - s) x_0 + s eps (rectified
// flow, flow matching), integrated from s = s_start (1: pure noise) down to s = 0 on uniform steps, with Euler or
// Heun (second order; its last step, to s = 0, is Euler, as in Karras et al. 2022). Any Denoiser gives a velocity:
// the straight path is the VP path rescaled (x_vp = x_s / sqrt((1 - s)^2 + s^2), alpha_bar = (1 - s)^2 / ((1 - s)^2
// + s^2)), so the model is asked at that alpha_bar and v = eps_hat - x0_hat. A flow-matching model answers
// through the same mapping exactly; an eps-prediction model cannot be asked at s = 1 (alpha_bar = 0): start it
// below (s_start < 1).
//
//   diffuscope::FlowSamplerOptions options{.solver = diffuscope::FlowSolver::kHeun, .num_steps = 10};
//   diffuscope::FlowSampler sampler(model, options, diffuscope::InitialNoise(n, 2, seed));
//   while (!sampler.done()) { const diffuscope::FlowStep& step = sampler.Next(); /* step.x_s, step.velocity */ }
#pragma once

#include "core/common/types.h"
#include "core/sampling/denoiser.h"
#include "core/schedule/schedule.h"

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace diffuscope {

/// alpha_bar of the VP path equal to the straight path at flow time s in [0, 1]: (1 - s)^2 / ((1 - s)^2 + s^2).
double FlowAlphaBar(double s);
/// The flow time of a VP alpha_bar in [0, 1], the inverse of FlowAlphaBar: sqrt(1 - ab) / (sqrt(ab) + sqrt(1 - ab)).
double FlowTimeOfAlphaBar(double alpha_bar);
/// sqrt((1 - s)^2 + s^2): x_s = FlowScale(s) x_vp.
double FlowScale(double s);

enum class FlowSolver { kEuler, kHeun };
/// "euler", "heun".
std::string_view FlowSolverName(FlowSolver solver);
std::optional<FlowSolver> ParseFlowSolver(std::string_view name);

struct FlowSamplerOptions {
  FlowSolver solver = FlowSolver::kEuler;
  int num_steps = 20;    // uniform steps of flow time from s_start to 0
  double s_start = 1.0;  // the flow time of x_start (1 = pure noise)

  /// Empty when valid (1..10000 steps, s_start in (0, 1]), else what is wrong, naming the option.
  std::string Check() const;
  bool operator==(const FlowSamplerOptions&) const = default;
};

/// The alpha_bar of the VP path at each grid time s_k = s_start k / N (k = 1..N) as a schedule: the queries of a
/// flow run carry it (t = k), so learned VP models map it to their own timesteps by log-SNR.
ScheduleOptions FlowGridSchedule(const FlowSamplerOptions& options);

/// The velocity v = eps_hat - x0_hat of the straight path at x_s (flow coordinates) from any Denoiser, asked at
/// the VP alpha_bar of s (query: grid step t of schedule, whose alpha_bar_t is that of s). x0_hat, when not null,
/// receives the model's x0_hat. Throws Error when the model cannot answer there (eps models at alpha_bar = 0).
void FlowVelocity(Denoiser& model, const Batch& x_s, double s, int t, const NoiseSchedule& schedule, Batch* velocity,
                  Batch* x0_hat = nullptr, const Batch* condition = nullptr);

/// One step of a flow run from s to s_next < s.
struct FlowStep {
  int index = 0;
  double s = 1.0, s_next = 0.0;
  Batch x_s;            // the input of the step
  Batch velocity;       // v(x_s, s) (Heun: the average of the two slopes actually used)
  Batch x0_hat;         // the model's x0_hat at (x_s, s)
  Batch x_next;         // x_s + (s_next - s) velocity
  int evaluations = 0;  // model calls of this step (NFE)
};

class FlowSampler {
 public:
  /// Starts at x_start (flow coordinates at s_start; InitialNoise for s_start = 1). Throws Error on bad options.
  FlowSampler(Denoiser& model, const FlowSamplerOptions& options, Batch x_start, const Batch* condition = nullptr);

  bool done() const { return next_ >= options_.num_steps; }
  /// Computes the next step and advances; the reference lives until the next call.
  const FlowStep& Next();
  const Batch& x() const { return x_; }
  int steps_total() const { return options_.num_steps; }
  int steps_done() const { return next_; }
  /// Model evaluations so far (NFE).
  int evaluations() const { return evaluations_; }
  /// The flow time of grid point k (0..N): s_start k / N.
  double GridTime(int k) const { return options_.s_start * k / options_.num_steps; }

 private:
  Denoiser& model_;
  FlowSamplerOptions options_;
  NoiseSchedule grid_;
  const Batch* condition_;
  int next_ = 0;
  int evaluations_ = 0;
  Batch x_;
  FlowStep step_;
};

/// A whole flow run: observer(step) after each step, stop() between steps (throws Cancelled). Returns x_0.
Batch FlowSample(Denoiser& model, const FlowSamplerOptions& options, Batch x_start,
                 const std::function<void(const FlowStep&)>& observer = {}, const StopFn& stop = {},
                 const Batch* condition = nullptr);

}  // namespace diffuscope

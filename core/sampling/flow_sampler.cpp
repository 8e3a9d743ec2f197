#include "core/sampling/flow_sampler.h"

#include "core/sampling/sampler.h"

#include <algorithm>
#include <cmath>

namespace diffuscope {

double FlowAlphaBar(double s) {
  const double a = 1.0 - s;
  return a * a / (a * a + s * s);
}

double FlowTimeOfAlphaBar(double alpha_bar) {
  // (1 - s) / s = sqrt(SNR) = sqrt(ab / (1 - ab)); written so that both ends (ab = 0, 1) are exact.
  const double ab = std::clamp(alpha_bar, 0.0, 1.0);
  const double signal = std::sqrt(ab), noise = std::sqrt(1.0 - ab);
  return noise / (signal + noise);
}

double FlowScale(double s) { return std::sqrt((1.0 - s) * (1.0 - s) + s * s); }

std::string_view FlowSolverName(FlowSolver solver) { return solver == FlowSolver::kHeun ? "heun" : "euler"; }

std::optional<FlowSolver> ParseFlowSolver(std::string_view name) {
  if (name == "euler") return FlowSolver::kEuler;
  if (name == "heun") return FlowSolver::kHeun;
  return std::nullopt;
}

std::string FlowSamplerOptions::Check() const {
  if (num_steps < 1 || num_steps > 10000)
    return "the number of flow steps must be 1..10000 (got " + std::to_string(num_steps) + ")";
  if (!(std::isfinite(s_start) && s_start > 0.0 && s_start <= 1.0)) return "s_start must be in (0, 1]";
  return {};
}

ScheduleOptions FlowGridSchedule(const FlowSamplerOptions& o) {
  if (std::string problem = o.Check(); !problem.empty()) throw Error("flow sampler: " + problem);
  ScheduleOptions schedule;
  schedule.kind = ScheduleKind::kCustomAlphaBar;
  schedule.num_steps = o.num_steps;
  schedule.custom.resize(o.num_steps);
  for (int k = 1; k <= o.num_steps; ++k) schedule.custom[k - 1] = FlowAlphaBar(o.s_start * k / o.num_steps);
  if (o.s_start == 1.0) schedule.custom.back() = 0.0;
  return schedule;
}

void FlowVelocity(Denoiser& model, const Batch& x_s, double s, int t, const NoiseSchedule& schedule, Batch* velocity,
                  Batch* x0_hat, const Batch* condition) {
  const double a = schedule.alpha_bar(t), a_prev = schedule.alpha_bar(t - 1);
  const Batch x_vp = x_s / static_cast<float>(FlowScale(s));
  DenoiseQuery query{t, t - 1, a, &schedule, condition};
  const Prediction prediction = model.Predict(x_vp, query);
  Require(prediction.kind != PredictionKind::kEps || a > 0.0,
          "flow sampler: " + model.name() +
              " predicts eps, which says nothing about x_0 at s = 1 (pure noise); "
              "start it below (s_start < 1)");
  Require(prediction.value.allFinite(), "the model predicted NaN or infinite values at s = " + std::to_string(s));
  Batch x0, eps;
  PredictionToX0Eps(prediction, x_vp, a, a_prev, schedule.posterior_mean_coef1(t), schedule.posterior_mean_coef2(t),
                    &x0, &eps);
  *velocity = eps - x0;  // d/ds ((1 - s) x_0 + s eps)
  if (x0_hat) *x0_hat = std::move(x0);
}

FlowSampler::FlowSampler(Denoiser& model, const FlowSamplerOptions& options, Batch x_start, const Batch* condition)
    : model_(model),
      options_(options),
      grid_(FlowGridSchedule(options)),
      condition_(condition),
      x_(std::move(x_start)) {
  Require(x_.size() > 0 && x_.allFinite(), "the flow sampler's start x holds no values, NaN or infinity");
  if (model.dimension() > 0)
    Require(x_.cols() == model.dimension(), "the model takes " + std::to_string(model.dimension()) +
                                                " values per sample, the start x has " + std::to_string(x_.cols()));
}

const FlowStep& FlowSampler::Next() {
  Require(!done(), "the flow run is already finished");
  const int k = options_.num_steps - next_;  // grid index of x_s (N .. 1)
  FlowStep& step = step_;
  step.index = next_;
  step.s = GridTime(k);
  step.s_next = GridTime(k - 1);
  step.x_s = x_;
  const float ds = static_cast<float>(step.s_next - step.s);
  FlowVelocity(model_, x_, step.s, k, grid_, &step.velocity, &step.x0_hat, condition_);
  step.evaluations = 1;
  if (options_.solver == FlowSolver::kHeun && k > 1) {
    // Heun: the trapezoid of the slopes at both ends (the end's slope from the Euler guess).
    const Batch guess = x_ + ds * step.velocity;
    Batch v_next;
    FlowVelocity(model_, guess, step.s_next, k - 1, grid_, &v_next, nullptr, condition_);
    step.velocity = 0.5f * (step.velocity + v_next);
    step.evaluations = 2;
  }
  step.x_next = x_ + ds * step.velocity;
  x_ = step.x_next;
  evaluations_ += step.evaluations;
  ++next_;
  return step;
}

Batch FlowSample(Denoiser& model, const FlowSamplerOptions& options, Batch x_start,
                 const std::function<void(const FlowStep&)>& observer, const StopFn& stop, const Batch* condition) {
  FlowSampler sampler(model, options, std::move(x_start), condition);
  while (!sampler.done()) {
    if (stop && stop()) throw Cancelled();
    const FlowStep& step = sampler.Next();
    if (observer) observer(step);
  }
  return sampler.x();
}

}  // namespace diffuscope

#include "core/train/trainer.h"

#include "core/nn/optimizer.h"

#include <chrono>
#include <cmath>
#include <sstream>

namespace diffuscope {
namespace {

constexpr double kLossEmaDecay = 0.98;

std::string Fmt(double x) {
  std::ostringstream out;
  out.precision(6);
  out << x;
  return out.str();
}

bool InOpenUnit(double x) { return std::isfinite(x) && x > 0.0 && x < 1.0; }

double CorrectedLossEma(const TrainState& state) {
  if (state.step <= 0) return 0.0;
  const double correction = 1.0 - std::pow(kLossEmaDecay, static_cast<double>(state.step));
  return state.loss_ema / correction;
}

}  // namespace

std::string TrainOptions::Check() const {
  if (iterations < 1 || iterations > 1'000'000'000LL)
    return "iterations must be 1..1000000000 (got " + std::to_string(iterations) + ")";
  if (batch_size < 1 || batch_size > 65536)
    return "the batch size must be 1..65536 (got " + std::to_string(batch_size) + ")";
  if (!(std::isfinite(learning_rate) && learning_rate > 0.0 && learning_rate <= 10.0))
    return "the learning rate must be in (0, 10] (got " + Fmt(learning_rate) + ")";
  if (!(std::isfinite(weight_decay) && weight_decay >= 0.0 && learning_rate * weight_decay < 1.0))
    return "the weight decay must be >= 0 with learning rate x weight decay below 1 (got " + Fmt(weight_decay) + ")";
  if (!(std::isfinite(adam_beta1) && adam_beta1 >= 0.0 && adam_beta1 < 1.0))
    return "adam beta1 must be in [0, 1) (got " + Fmt(adam_beta1) + ")";
  if (!InOpenUnit(adam_beta2)) return "adam beta2 must be in (0, 1) (got " + Fmt(adam_beta2) + ")";
  if (!(std::isfinite(adam_epsilon) && adam_epsilon > 0.0 && adam_epsilon < 1.0))
    return "adam epsilon must be in (0, 1) (got " + Fmt(adam_epsilon) + ")";
  if (warmup_steps < 0 || warmup_steps > iterations)
    return "the warm-up must be 0..iterations updates (got " + std::to_string(warmup_steps) + ")";
  if (!(std::isfinite(min_learning_rate) && min_learning_rate >= 0.0 && min_learning_rate <= learning_rate))
    return "the minimum learning rate must be in [0, learning rate] (got " + Fmt(min_learning_rate) + ")";
  if (!(std::isfinite(grad_clip_norm) && grad_clip_norm >= 0.0))
    return "the gradient clip norm must be >= 0 (0 = off) (got " + Fmt(grad_clip_norm) + ")";
  if (!(std::isfinite(ema_decay) && ema_decay >= 0.0 && ema_decay < 1.0))
    return "the EMA decay must be in [0, 1) (0 = off) (got " + Fmt(ema_decay) + ")";
  if (checkpoint_every < 0) return "checkpoint_every must be >= 0 (got " + std::to_string(checkpoint_every) + ")";
  if (report_every < 1) return "report_every must be >= 1 (got " + std::to_string(report_every) + ")";
  return {};
}

const std::vector<float>& SamplingWeights(const TrainState& state) {
  return state.ema.empty() ? state.weights : state.ema;
}

TrainReport RunTraining(Network<float>& net, TrainState& state, const TrainOptions& options,
                        const LossGradientFn& loss_gradient, const TrainCallbacks& callbacks) {
  return RunTraining(
      net.parameters(), net.gradients(), state, options,
      [&](long long iteration) { return loss_gradient(iteration, net); }, callbacks);
}

TrainReport RunTraining(std::vector<float>& parameters, std::vector<float>& gradients, TrainState& state,
                        const TrainOptions& options, const StepLossGradientFn& loss_gradient,
                        const TrainCallbacks& callbacks) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("training: " + problem);
  Require(gradients.size() == parameters.size(), "training: the gradients do not match the parameters");
  const size_t count = parameters.size();
  const bool use_ema = options.ema_decay > 0.0;
  if (state.empty()) {
    state.step = 0;
    state.weights = parameters;
    state.adam_m.assign(count, 0.0f);
    state.adam_v.assign(count, 0.0f);
    state.ema = use_ema ? parameters : std::vector<float>{};
    state.loss_ema = 0.0;
  } else {
    Require(state.weights.size() == count && state.adam_m.size() == count && state.adam_v.size() == count,
            "training: the saved training state does not fit this network (" + std::to_string(state.weights.size()) +
                " weights, the network has " + std::to_string(count) + ")");
    Require(state.step >= 0, "training: the saved step count is negative");
    if (use_ema && state.ema.size() != count) state.ema = state.weights;  // EMA switched on when resuming
    if (!use_ema) state.ema.clear();
    parameters = state.weights;
  }
  Require(state.step <= options.iterations, "training: the model has already been trained for " +
                                                std::to_string(state.step) + " updates, more than the " +
                                                std::to_string(options.iterations) + " asked for");

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto last_report_time = start;
  long long last_report_step = state.step;
  const long long first_step = state.step;
  std::vector<float>& weights = parameters;
  std::vector<float>& grads = gradients;
  const AdamWHyper base{options.learning_rate, options.adam_beta1, options.adam_beta2, options.adam_epsilon,
                        options.weight_decay};
  TrainProgress progress;
  progress.total = options.iterations;

  auto sync = [&] { state.weights = weights; };
  auto report = [&] {
    if (!callbacks.progress) return;
    const auto now = Clock::now();
    const double dt = std::chrono::duration<double>(now - last_report_time).count();
    progress.step = state.step;
    progress.loss_ema = CorrectedLossEma(state);
    progress.steps_per_second = dt > 0.0 ? static_cast<double>(state.step - last_report_step) / dt : 0.0;
    progress.seconds = std::chrono::duration<double>(now - start).count();
    last_report_time = now;
    last_report_step = state.step;
    callbacks.progress(progress);
  };

  while (state.step < options.iterations) {
    const long long iteration = state.step;  // 0-based: keys this update's random draws
    const double loss = loss_gradient(iteration);
    const double norm = ClipGradientNorm(grads, options.grad_clip_norm);
    if (!std::isfinite(loss) || !std::isfinite(norm)) {
      sync();
      throw Error("training diverged at update " + std::to_string(iteration + 1) + ": the " +
                  (std::isfinite(loss) ? "gradient" : "loss") + " is " + Fmt(std::isfinite(loss) ? norm : loss) +
                  "; lower the learning rate or enable gradient clipping");
    }
    const long long step = iteration + 1;
    AdamWHyper hyper = base;
    hyper.learning_rate = LearningRateAt(step, options.iterations, options.learning_rate, options.warmup_steps,
                                         options.cosine_decay, options.min_learning_rate);
    AdamWStep(weights, grads, state.adam_m, state.adam_v, step, hyper);
    if (use_ema) EmaUpdate(state.ema, weights, EmaDecayAt(step, options.ema_decay));
    state.loss_ema = kLossEmaDecay * state.loss_ema + (1.0 - kLossEmaDecay) * loss;
    state.step = step;
    progress.loss = loss;
    progress.learning_rate = hyper.learning_rate;
    progress.grad_norm = norm;

    if (step % options.report_every == 0 || step == options.iterations) report();
    if (options.checkpoint_every > 0 && step % options.checkpoint_every == 0 && step < options.iterations &&
        callbacks.checkpoint) {
      sync();
      callbacks.checkpoint(state);
    }
    if (callbacks.stop && step < options.iterations && callbacks.stop()) {
      sync();
      if (callbacks.checkpoint) callbacks.checkpoint(state);
      throw Cancelled();
    }
  }
  sync();
  TrainReport result;
  result.steps = state.step - first_step;
  result.final_loss_ema = CorrectedLossEma(state);
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.steps_per_second = result.seconds > 0.0 ? static_cast<double>(result.steps) / result.seconds : 0.0;
  return result;
}

}  // namespace diffuscope

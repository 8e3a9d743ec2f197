// The reverse trajectory from any Denoiser: DDPM ancestral and DDIM steps, the probability-flow ODE and reverse SDE
// of Song et al. (2021) with Euler / Euler-Maruyama steps, Heun's method on Karras et al. (2022) noise levels and
// DPM-Solver++(2M) (Lu et al. 2022); strided timesteps, x_0 clipping and dynamic thresholding for all of them. Each
// step reports everything the GUI shows, and how many network evaluations (NFE) it took.
//
//   diffuscope::Sampler sampler(schedule, model, options, diffuscope::InitialNoise(n, 2, seed));
//   while (!sampler.done()) {
//     const diffuscope::Step& step = sampler.Next();   // step.x_t, step.x0_hat, step.x_prev, ...
//   }
#pragma once

#include "core/common/types.h"
#include "core/sampling/denoiser.h"
#include "core/schedule/schedule.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace diffuscope {

enum class SamplerKind {
  kDdpm,  // ancestral p(x_{t-1} | x_t) (Ho et al. 2020)
  kDdim,  // Song, Meng and Ermon 2021; eta = 0: the Euler method of the probability-flow ODE in (x/sqrt(abar), sigma)
  kOdeEuler,     // probability-flow ODE of the VP SDE (Song et al. 2021), Euler steps in the clock log(alpha_bar)
  kSdeEuler,     // reverse-time VP SDE (Song et al. 2021), Euler-Maruyama steps in the clock log(alpha_bar)
  kHeunKarras,   // Heun's 2nd-order method on Karras et al. (2022) sigma steps (EDM Algorithm 1, deterministic)
  kDpmSolverPP,  // DPM-Solver++(2M), the multistep data-prediction solver (Lu et al. 2022)
  kFlowEuler,    // Euler in flow time s of the straight path x_s = (1 - s) x_0 + s eps (flow matching), uniform s
  kFlowHeun,     // Heun in flow time (its last step, to s = 0, Euler): core/sampling/flow_sampler.h's solvers
};
// The flow kinds step x_s = FlowScale(s) x_t (flow_sampler.h) on K uniform steps of s from the start's flow time
// FlowTimeOfAlphaBar(alpha_bar_top) to 0, with v = eps_hat - x0_hat: exact for any Denoiser, since a VP query at
// alpha_bar is a query at flow time s. Their queries name the flow grid as a schedule of its own
// (FlowGridSchedule), so on a flow model's own schedule (alpha_bar_T = 0, s = 1) a run is FlowSampler's, bit for bit.
// Every sampler's last step, to the data, returns x0_hat: the ODE / SDE Euler samplers end with Song et al.'s
// denoising step, Heun and DPM-Solver++ with their first-order step to sigma = 0, which is the same. Heun's model
// queries name its Karras levels as a schedule of their own (DenoiseQuery::schedule, t = 1..K), so a learned model
// maps them by log-SNR like any other schedule's, and an exact one reads alpha_bar: both see the same noise level.
enum class VarianceChoice { kFixedSmall, kFixedLarge, kLearned };
enum class Spacing { kLeading, kTrailing, kLinspace };

std::string_view SamplerKindName(SamplerKind kind);
/// Parses "ddpm", "ddim", "ode-euler", "sde-euler", "heun-karras", "dpm-solver++", "flow-euler", "flow-heun";
/// nullopt if unknown.
std::optional<SamplerKind> ParseSamplerKind(std::string_view name);
/// Every sampler kind, in the order of menus and tables.
std::vector<SamplerKind> AllSamplerKinds();
/// True when the sampler draws noise at its steps (ddpm, sde-euler; ddim with eta > 0): its path depends on the seed.
bool SamplerIsStochastic(SamplerKind kind, double eta = 0.0);
/// Network evaluations of a run of `steps` steps: Heun (heun-karras, flow-heun) takes 2 per step except the last
/// (an Euler step to sigma = 0, as in Karras et al.), the others 1.
int SamplerNfe(SamplerKind kind, int steps);
/// What a run of `steps` steps is, for descriptions: "FLOW-HEUN 8 steps (NFE 15)".
std::string DescribeSamplerRun(SamplerKind kind, int steps);
/// The most steps whose SamplerNfe fits in nfe (at least 1).
int SamplerStepsForNfe(SamplerKind kind, int nfe);
std::string_view SpacingName(Spacing spacing);
std::optional<Spacing> ParseSpacing(std::string_view name);  // "leading", "trailing", "linspace"
std::string_view VarianceChoiceName(VarianceChoice variance);
std::optional<VarianceChoice> ParseVarianceChoice(std::string_view name);  // "fixed-small", "fixed-large", "learned"

struct SamplerOptions {
  SamplerKind kind = SamplerKind::kDdpm;
  int num_steps = 0;                     // K sampling steps; 0 = every step of the schedule
  Spacing spacing = Spacing::kTrailing;  // which K of the T timesteps (heun-karras: its own Karras levels instead)
  VarianceChoice variance = VarianceChoice::kFixedSmall;  // DDPM only
  double eta = 0.0;                                       // DDIM: 0 deterministic, 1 = DDPM-like
  bool clip_x0 = false;                                   // clamp x0_hat to [-clip_range, clip_range] (images)
  double clip_range = 1.0;
  bool dynamic_threshold = false;  // Imagen's dynamic thresholding of x0_hat
  double threshold_percentile = 0.995;
  double rho = 7.0;   // heun-karras: the exponent of Karras et al.'s sigma steps
  uint64_t seed = 0;  // the reverse noise z of every step (ddpm, sde-euler, ddim with eta > 0)

  /// Empty when valid, else what is wrong, naming the option.
  std::string Check() const;
  bool operator==(const SamplerOptions&) const = default;
};

/// The K timesteps (0-based i = t - 1, descending) of T chosen by a spacing, as in diffusers.
std::vector<int> SpacedTimesteps(int num_train_steps, int num_steps, Spacing spacing);

/// The noise levels of Karras et al. (2022): sigma_i = (smax^(1/rho) + i/(N-1) (smin^(1/rho) - smax^(1/rho)))^rho,
/// i = 0..N-1, descending (N = 1: smax alone); the final sigma = 0 is not in the list. Throws Error on bad input.
std::vector<double> KarrasSigmas(int n, double sigma_min, double sigma_max, double rho);

/// A schedule of T steps on Karras et al.'s noise levels (custom alpha_bar = 1 / (1 + sigma_t^2), sigma_t ascending
/// in t = KarrasSigmas(T, ...) reversed): strided steps on it are EDM's steps, for every sampler. Its last interval
/// to the data is [0, sigma_min], so a sampler's first-order final step costs little (on the linear DDPM schedule
/// that step, from sigma ~ sqrt(T/K) 0.01 to 0, dominates the error of the 2nd-order solvers). Throws Error (T < 2).
ScheduleOptions KarrasScheduleOptions(int T, double sigma_min = 0.002, double sigma_max = 80.0, double rho = 7.0);

/// One reverse step from t to t_prev and everything computed on the way.
///
/// Time: every sampler but heun-karras and the flow kinds steps between timesteps of the schedule, so t is exact.
/// Heun's Karras noise levels and the flow kinds' uniform flow times fall between timesteps: there t is the schedule
/// timestep nearest in log-SNR (kept strictly descending, so every step has its own t on the timeline), and
/// alpha_bar / alpha_bar_prev are the exact noise levels the model was asked at. For every sampler x_t =
/// sqrt(alpha_bar) x0_hat + sqrt(1 - alpha_bar) eps_hat, in VP coordinates (the flow kinds too).
struct Step {
  int index = 0;         // 0 .. steps_total - 1
  int t = 0;             // paper timestep of x_t (nearest one for heun-karras, see above)
  int t_prev = 0;        // paper timestep of x_prev (0 = the data)
  double alpha_bar = 0;  // exact alpha_bar of x_t
  double alpha_bar_prev = 1;
  Batch x_t;             // the input of the step
  Batch x0_hat;          // the model's x_0 at x_t, after clipping / thresholding
  Batch eps_hat;         // the model's eps at x_t (consistent with the clipped x0_hat)
  Batch mean;            // the deterministic part of x_prev: the mean of p(x_prev | x_t) (= x_prev for ODE solvers)
  double variance = 0;   // variance of the step's noise when it is the same for every element (0 for ODE solvers)
  Batch variance_field;  // per-element variance when learned (else empty)
  Batch x_prev;          // mean + sqrt(variance) z (no noise on the last step)
  int nfe = 1;           // network evaluations this step took (Heun, flow-heun: 2, the last step 1)
};

/// Standard normal x_T for n samples of dim columns, drawn from (seed, Stream::kInitialNoise).
Batch InitialNoise(int n, int dim, uint64_t seed);

/// Converts a prediction to x0_hat and eps_hat at alpha_bar (throws Error for eps with alpha_bar == 0).
void PredictionToX0Eps(const Prediction& prediction, const Batch& x_t, double alpha_bar, double alpha_bar_prev,
                       double coef1, double coef2, Batch* x0_hat, Batch* eps_hat);

/// Imagen's dynamic thresholding, per row: s = max(1, percentile of |x|), x <- clamp(x, -s, s) / s.
void DynamicThreshold(Batch* x0, double percentile);

class Sampler {
 public:
  /// Starts a reverse run at x_start (usually InitialNoise; or a noised image for SDEdit) from timestep
  /// start_t (0 = the last timestep of the spaced sequence). Throws Error on bad options, and where ode-euler,
  /// sde-euler or heun-karras would start at alpha_bar = 0 (zero terminal SNR).
  Sampler(const NoiseSchedule& schedule, Denoiser& model, const SamplerOptions& options, Batch x_start,
          const Batch* condition = nullptr, int start_t = 0);

  bool done() const { return next_ >= timesteps_.size(); }
  /// Computes the next step and advances; the returned reference lives until the next call.
  const Step& Next();
  /// The current x (x_start before the first step, the sample after the last).
  const Batch& x() const { return x_; }
  int steps_total() const { return static_cast<int>(timesteps_.size()); }
  int steps_done() const { return static_cast<int>(next_); }
  /// Paper timesteps of the run, descending (t of each step's x_t).
  std::vector<int> timesteps() const;
  /// Exact alpha_bar of each step's x_t, then 1 (the data): steps_total() + 1 values.
  const std::vector<double>& alpha_bars() const { return alpha_bars_; }
  /// Network evaluations so far, and for the whole run.
  long long nfe() const { return nfe_; }
  int nfe_total() const { return SamplerNfe(options_.kind, steps_total()); }

 private:
  // One network evaluation at x and noise level alpha_bar (query as the model is asked): x0_hat after clipping /
  // thresholding, eps_hat consistent with it. coef1 / coef2 only invert a mean prediction (DDPM).
  Prediction Evaluate(const Batch& x, const DenoiseQuery& query, double coef1, double coef2, Batch* x0_hat,
                      Batch* eps_hat);
  DenoiseQuery QueryAt(size_t level) const;  // the query at alpha_bars_[level]
  // Steps on noise levels of their own (heun-karras, flow kinds): level_schedule_ holds them as t = 1..K (ascending
  // noise); alpha_bars_ is read back from it and each level gets the nearest schedule timestep below the last.
  void UseLevels(ScheduleOptions levels, int top);
  void StepFlow(Step& s);  // the flow kinds' step from flow_times_[next_] to flow_times_[next_ + 1]

  const NoiseSchedule& schedule_;
  Denoiser& model_;
  SamplerOptions options_;
  const Batch* condition_;
  std::vector<int> timesteps_;      // paper t, descending
  std::vector<double> alpha_bars_;  // exact noise level of each step's x_t, then 1
  // heun-karras, flow kinds: their noise levels as a schedule of their own (t = 1..N, ascending noise), the schedule
  // their queries name: a model on its own schedule reads t, so an off-grid noise level must come with a schedule
  // that has it.
  std::shared_ptr<const NoiseSchedule> level_schedule_;
  // Flow kinds: the flow time of each level (then 0), and x in flow coordinates x_s = FlowScale(s) x_t, the state
  // they step (x_ is its VP image, as the other samplers'; the rescaling would not round-trip bit for bit).
  std::vector<double> flow_times_;
  Batch flow_x_;
  size_t next_ = 0;
  long long nfe_ = 0;
  Batch x_;
  Step step_;
  // DPM-Solver++(2M): the previous step's data prediction and log-SNR step h.
  Batch previous_x0_;
  double previous_h_ = 0;
};

/// Runs a whole reverse trajectory: observer(step) after every step; stop() is asked between steps
/// (throws Cancelled). Returns x_0.
Batch Sample(const NoiseSchedule& schedule, Denoiser& model, const SamplerOptions& options, Batch x_start,
             const std::function<void(const Step&)>& observer = {}, const StopFn& stop = {},
             const Batch* condition = nullptr, int start_t = 0);

}  // namespace diffuscope

// The reverse trajectory p(x_{t-1} | x_t): DDPM ancestral and DDIM steps from any Denoiser, with strided
// timesteps, x_0 clipping and dynamic thresholding. Each step reports everything the GUI shows.
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
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace diffuscope {

enum class SamplerKind { kDdpm, kDdim };
enum class VarianceChoice { kFixedSmall, kFixedLarge, kLearned };
enum class Spacing { kLeading, kTrailing, kLinspace };

std::string_view SamplerKindName(SamplerKind kind);
std::optional<SamplerKind> ParseSamplerKind(std::string_view name);  // "ddpm", "ddim"
std::string_view SpacingName(Spacing spacing);
std::optional<Spacing> ParseSpacing(std::string_view name);  // "leading", "trailing", "linspace"
std::string_view VarianceChoiceName(VarianceChoice variance);
std::optional<VarianceChoice> ParseVarianceChoice(std::string_view name);  // "fixed-small", "fixed-large", "learned"

struct SamplerOptions {
  SamplerKind kind = SamplerKind::kDdpm;
  int num_steps = 0;                    // K sampling steps; 0 = every step of the schedule
  Spacing spacing = Spacing::kTrailing;  // which K of the T timesteps
  VarianceChoice variance = VarianceChoice::kFixedSmall;  // DDPM only
  double eta = 0.0;                     // DDIM: 0 deterministic, 1 = DDPM-like
  bool clip_x0 = false;                 // clamp x0_hat to [-clip_range, clip_range] (images)
  double clip_range = 1.0;
  bool dynamic_threshold = false;       // Imagen's dynamic thresholding of x0_hat
  double threshold_percentile = 0.995;
  uint64_t seed = 0;                    // the reverse noise z of every step

  /// Empty when valid, else what is wrong, naming the option.
  std::string Check() const;
  bool operator==(const SamplerOptions&) const = default;
};

/// The K timesteps (0-based i = t - 1, descending) of T chosen by a spacing, as in diffusers.
std::vector<int> SpacedTimesteps(int num_train_steps, int num_steps, Spacing spacing);

/// One reverse step from t to t_prev and everything computed on the way.
struct Step {
  int index = 0;         // 0 .. steps_total - 1
  int t = 0;             // paper timestep of x_t
  int t_prev = 0;        // paper timestep of x_prev (0 = the data)
  double alpha_bar = 0;  // alpha_bar_t
  double alpha_bar_prev = 1;
  Batch x_t;             // the input of the step
  Batch x0_hat;          // the model's x_0, after clipping / thresholding
  Batch eps_hat;         // the model's eps (consistent with the clipped x0_hat)
  Batch mean;            // mean of p(x_prev | x_t)
  double variance = 0;   // variance of p(x_prev | x_t) when it is the same for every element
  Batch variance_field;  // per-element variance when learned (else empty)
  Batch x_prev;          // mean + sqrt(variance) z (no noise on the last step)
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
  /// start_t (0 = the last timestep of the spaced sequence). Throws Error on bad options.
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

 private:
  const NoiseSchedule& schedule_;
  Denoiser& model_;
  SamplerOptions options_;
  const Batch* condition_;
  std::vector<int> timesteps_;  // paper t, descending
  size_t next_ = 0;
  Batch x_;
  Step step_;
};

/// Runs a whole reverse trajectory: observer(step) after every step; stop() is asked between steps
/// (throws Cancelled). Returns x_0.
Batch Sample(const NoiseSchedule& schedule, Denoiser& model, const SamplerOptions& options, Batch x_start,
             const std::function<void(const Step&)>& observer = {}, const StopFn& stop = {},
             const Batch* condition = nullptr, int start_t = 0);

}  // namespace diffuscope

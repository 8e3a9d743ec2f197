// The model interface: given x_t and the step, predict eps, x_0, v, or the reverse mean directly.
// Every model, exact or learned, implements it; the samplers turn predictions into steps.
//
//   class MyModel : public diffuscope::Denoiser {
//     Prediction Predict(const Batch& x_t, const DenoiseQuery& q) override { ... }
//   };
#pragma once

#include "core/common/types.h"

#include <string>

namespace diffuscope {

class NoiseSchedule;

enum class PredictionKind {
  kEps,   // the noise eps of x_t = sqrt(abar) x_0 + sqrt(1 - abar) eps (DDPM)
  kX0,    // x_0 itself (exact denoisers, posterior oracle)
  kV,     // v = sqrt(abar) eps - sqrt(1 - abar) x_0 (progressive distillation)
  kMean,  // the mean of p(x_{t-1} | x_t) itself (Sohl-Dickstein et al. 2015); no striding
};

enum class VarianceKind {
  kNone,          // the sampler's fixed variance
  kLearnedRange,  // v in [-1, 1] per element: log sigma^2 = f log beta + (1 - f) log beta~, f = (v + 1) / 2
  kLearnedLog,    // log sigma^2 per element (Sohl-Dickstein et al. 2015)
};

/// What a model is asked: one reverse step from t to t_prev on the sampler's schedule.
struct DenoiseQuery {
  int t = 1;                                // paper timestep 1..T
  int t_prev = 0;                           // where the step goes (0 = the data); t - 1 unless strided
  double alpha_bar = 1.0;                   // alpha_bar_t
  const NoiseSchedule* schedule = nullptr;  // the schedule the sampler runs on
  const Batch* condition = nullptr;         // e.g. SR3's upsampled low-resolution image, one row per sample
};

struct Prediction {
  PredictionKind kind = PredictionKind::kEps;
  Batch value;  // same shape as x_t
  VarianceKind variance_kind = VarianceKind::kNone;
  Batch variance;  // same shape as x_t when variance_kind != kNone
};

class Denoiser {
 public:
  virtual ~Denoiser() = default;
  /// A short human-readable name ("exact Gaussian mixture", "DDPM 2D (dino)").
  virtual std::string name() const = 0;
  /// Predicts for every row of x_t. Not thread-safe (models may keep scratch buffers); throws Error on
  /// a shape the model cannot take.
  virtual Prediction Predict(const Batch& x_t, const DenoiseQuery& query) = 0;
  /// Columns per sample the model takes (2 for points, C*H*W for images), or 0 for any.
  virtual int dimension() const { return 0; }
};

}  // namespace diffuscope

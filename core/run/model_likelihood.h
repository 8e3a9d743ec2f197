// The likelihood of held-out points under a 2D model as the app and diffuscope-cli likelihood report it (issue 10):
// the probability-flow ODE's log p (likelihood.h) for a model with an ODE, Sohl-Dickstein's variational bound for
// his reverse-mean model (which has none), beside the exact log-density when the data's law is the 8gaussians
// mixture and a full-covariance Gaussian fitted to the data. One line per method, and log p per point for the
// chart. Nats per point in the data's units.
//
//   diffuscope::ModelLikelihoodInput input{.model = &model, .schedule = &schedule, .normalization = space,
//                                          .held_out = points, .fit = fit_points, .mixture_law = true};
//   diffuscope::ModelLikelihood r = diffuscope::MeasureModelLikelihood(input, {}, progress, stop);
//   for (const auto& line : r.lines) { /* line.method, line.nll, line.standard_error, line.nfe */ }
#pragma once

#include "core/common/types.h"
#include "core/data/points2d.h"
#include "core/run/likelihood.h"
#include "core/sampling/denoiser.h"
#include "core/schedule/schedule.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace diffuscope {

class SohlDicksteinModel;

struct ModelLikelihoodOptions {
  double tolerance = 0.0;  // Dormand-Prince tolerance; 0: 1e-6 for the closed-form mixture, 1e-5 for a model
  double difference_step = LikelihoodOptions{}.difference_step;  // central differences of a learned model
  int bound_draws = 4;                                           // Sohl-Dickstein bound: noise draws per point
  uint64_t seed = 0;                                             // of the bound's noise draws

  /// Empty when valid, else what is wrong, naming the option.
  std::string Check() const;
};

/// What is measured.
struct ModelLikelihoodInput {
  Denoiser* model = nullptr;                  // a 2D model: the exact mixture, a learned model, Sohl-Dickstein's
  const NoiseSchedule* schedule = nullptr;    // the model's own (its alpha_bar_T ends the ODE); nullptr: 4e-5
  PointNormalization normalization;           // the model's space
  Batch held_out;                             // the points scored (data units)
  Batch fit;                                  // the points the Gaussian baseline is fitted to (data units)
  bool mixture_law = false;                   // the data's law is the 8gaussians mixture: add its exact density
  SohlDicksteinModel* bound_model = nullptr;  // also this Sohl-Dickstein model's bound on the same points
};

struct LikelihoodLine {
  std::string method;          // "probability-flow ODE, exact mixture (closed-form div)", ...
  double nll = 0;              // nats per point
  double standard_error = -1;  // of nll over the points; < 0 when not given
  long long nfe = -1;          // model evaluations per point; < 0 when none
};

struct ModelLikelihood {
  std::vector<LikelihoodLine> lines;    // ODE (two for the mixture: closed form, then its denoiser by differences),
                                        // bound, exact density, fitted Gaussian
  std::optional<LikelihoodReport> ode;  // the ODE solve of the model (closed form for the mixture)
  Eigen::VectorXd exact_log_p;          // the exact log-density per point (mixture law), else empty
  Eigen::VectorXd gaussian_log_p;       // the fitted Gaussian's log-density per point
};

/// The 8gaussians law, as the data set draws it and the 'mixture' model knows it: centres on the circle of radius
/// sqrt(2), standard deviation 0.1.
GaussianMixture EightGaussiansDataLaw();

/// Held-out points of a built-in data set as diffuscope-cli likelihood draws them (seed + 1000, data units), and the
/// points its Gaussian baseline is fitted to (20,000 of seed + 2000).
Batch LikelihoodHeldOut(const std::string& data, int n, uint64_t seed);
Batch LikelihoodFitPoints(const std::string& data, uint64_t seed);

/// Measures input.held_out under input.model: the exact mixture's ODE in closed form (and its denoiser's by
/// differences), a learned model's ODE by differences (ending at its schedule's alpha_bar_T, or 1e-4 where that is
/// 0), or a Sohl-Dickstein model's bound; then the exact density (mixture_law) and the fitted Gaussian. progress: per
/// mille of each solve; stop asked every step. Throws Error on bad input (no model, not 2D, images; the empirical
/// denoiser, whose law has no density at points it was not given), Cancelled when stopped.
ModelLikelihood MeasureModelLikelihood(const ModelLikelihoodInput& input, const ModelLikelihoodOptions& options,
                                       const ProgressFn& progress = {}, const StopFn& stop = {});

}  // namespace diffuscope

// Sampler error against the truth: for a Gaussian-mixture law the probability-flow ODE is known exactly, so its
// endpoint from a given x_T can be computed to any accuracy (an adaptive Dormand-Prince solve in double). Every
// sampler's endpoint from the same x_T is compared with it (RMS error, the ODE solvers' discretisation error) and its
// samples with the law (energy distance), per number of network evaluations: the error-vs-NFE plot of the papers.
//
//   diffuscope::SamplerErrorOptions options;   // every sampler, NFE 5 .. 160, linear T = 1000, 1000 particles
//   diffuscope::SamplerErrorReport report =
//       diffuscope::MeasureSamplerError(diffuscope::GaussianMixture::EightGaussians(), options, progress, stop);
//   for (const auto& row : report.rows) { /* row.sampler, row.nfe, row.endpoint_rms, row.energy_distance */ }
#pragma once

#include "core/common/types.h"
#include "core/models/exact.h"
#include "core/sampling/sampler.h"
#include "core/schedule/schedule.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace diffuscope {

/// eps of the variance-exploding form y = x_0 + sigma eps for a Gaussian-mixture law of x_0, per row of y, in double:
/// eps = sigma sum_k r_k(y) (S_k + sigma^2 I)^{-1} (y - mu_k), with r_k the posterior component probabilities. Written
/// without the cancellation of (y - E[x_0 | y]) / sigma, so it is exact down to sigma = 0 (where it is 0).
Eigen::MatrixXd MixtureNoisePrediction(const GaussianMixture& mixture, const Eigen::MatrixXd& y, double sigma);

/// The right-hand side of an ODE d state / d time = f(state, time), state one row per trajectory (any columns).
using OdeRightHandSide = std::function<Eigen::MatrixXd(const Eigen::MatrixXd& state, double time)>;

struct DormandPrinceSolution {
  Eigen::MatrixXd state;      // at time_end
  int steps = 0;              // accepted steps
  int rejected = 0;           // rejected step attempts
  long long evaluations = 0;  // calls of the right-hand side (each batched over all rows)
};

/// Integrates d state / d time = f(state, time) from time_start to time_end (either direction; lands on time_end
/// exactly) with adaptive Dormand-Prince 5(4) steps shared by all rows, in double: a step is accepted when every
/// element's local error is <= tolerance (1 + |state|). first_step: the size of the first attempt (0 = 1% of the
/// interval). on_step(time) after every accepted step. Throws Error after max_attempts step attempts or on NaN,
/// Cancelled when stop() says so (asked every attempt). The probability-flow solves (sampling and likelihood) use it.
DormandPrinceSolution IntegrateDormandPrince(const OdeRightHandSide& f, Eigen::MatrixXd state, double time_start,
                                             double time_end, double tolerance, double first_step = 0.0,
                                             const StopFn& stop = {}, long long max_attempts = 1'000'000,
                                             const std::function<void(double time)>& on_step = {});

struct ProbabilityFlowSolution {
  Eigen::MatrixXd x0;         // the endpoint at sigma = 0 (alpha_bar = 1), one row per start row
  int steps = 0;              // accepted steps
  int rejected = 0;           // rejected step attempts
  long long evaluations = 0;  // evaluations of the mixture's eps (batched over all rows)
};

/// Solves the probability-flow ODE dy/dsigma = eps(y, sigma), y = x / sqrt(alpha_bar), sigma = sqrt((1 - abar) / abar)
/// of a Gaussian mixture from x_start at alpha_bar_start to sigma = 0, in double, with adaptive Dormand-Prince 5(4)
/// steps shared by all rows (error per element <= tolerance (1 + |y|)). Throws Error on bad input, Cancelled when
/// stop() says so (asked every step).
ProbabilityFlowSolution SolveProbabilityFlow(const GaussianMixture& mixture, const Eigen::MatrixXd& x_start,
                                             double alpha_bar_start, double tolerance, const StopFn& stop = {});

struct SamplerErrorOptions {
  ScheduleOptions schedule;  // what every sampler steps on (default linear, T = 1000)
  std::vector<SamplerKind> samplers = AllSamplerKinds();
  std::vector<int> nfe = {5, 10, 20, 40, 80, 160};  // budgets: each sampler takes the most steps that fit
  Spacing spacing = Spacing::kTrailing;             // starts at t = T, where x_T is
  int num_samples = 1000;                           // particles, all from one x_T ~ N(0, I)
  int num_data = 4000;                              // points of the law for the energy distance
  double reference_tolerance = 1e-10;               // of the reference solve (and 1000x looser for its check)
  uint64_t seed = 0;                                // x_T, the stochastic samplers' noise, the law's points

  /// Empty when valid, else what is wrong, naming the option.
  std::string Check() const;
};

struct SamplerErrorRow {
  SamplerKind sampler = SamplerKind::kDdim;
  int steps = 0;
  int nfe = 0;                 // network evaluations of the run
  bool stochastic = false;     // its path depends on the noise: endpoint_rms is not a discretisation error
  double endpoint_rms = 0;     // sqrt(mean over particles of |x_0 - x_0 of the reference|^2)
  double endpoint_median = 0;  // the median over particles of |x_0 - x_0 of the reference| (robust to a few far ones)
  double energy_distance = 0;  // of the samples to num_data points of the law
};

struct SamplerErrorReport {
  std::vector<SamplerErrorRow> rows;  // samplers in options order, each over options.nfe
  double alpha_bar_start = 0;         // alpha_bar_T where every run starts
  int reference_steps = 0;            // accepted Dormand-Prince steps of the reference
  long long reference_evaluations = 0;
  double reference_tolerance = 0;
  double reference_check = 0;            // RMS difference between the reference and a 1000x looser solve
  double reference_energy_distance = 0;  // the reference endpoint's energy distance to the law's points (the floor)
};

/// Runs every sampler of options at every NFE budget from one x_T on `model` (nullptr = the mixture's exact
/// denoiser; a learned model must live in the mixture's space) and measures it against the exact probability-flow
/// solve of `mixture`. progress: one unit per run (and two for the reference); stop is asked between steps.
/// Throws Error on bad options, Cancelled when stopped.
SamplerErrorReport MeasureSamplerError(const GaussianMixture& mixture, const SamplerErrorOptions& options,
                                       const ProgressFn& progress = {}, const StopFn& stop = {},
                                       Denoiser* model = nullptr);

/// The observed order of convergence: minus the least-squares slope of log(error) against log(nfe), over the
/// pairs with a finite, positive error (NaN if fewer than two).
double FittedOrder(const std::vector<int>& nfe, const std::vector<double>& error);

}  // namespace diffuscope

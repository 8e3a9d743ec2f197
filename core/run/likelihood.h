// Likelihood through the probability-flow ODE (Song et al. 2021) by the instantaneous change of variables (Chen et
// al. 2018): along dy/dsigma = eps(y, sigma), y = x / sqrt(alpha_bar), sigma = sqrt((1 - alpha_bar) / alpha_bar),
//   d log p_sigma(y(sigma)) / dsigma = -div_y eps(y, sigma),   so
//   log p_0(x_0) = log p_T(y_T) + integral_0^sigma_T div_y eps(y(sigma), sigma) dsigma.
// x and the integral are solved together from the data (sigma = 0) up to sigma_T with the adaptive Dormand-Prince
// solver of the sampler-error reference (IntegrateDormandPrince), in double. The prior p_T is the sampler's own:
// x_T ~ N(0, I), i.e. y_T ~ N(0, (1 + sigma_T^2) I). The divergence is exact: in closed form for a Gaussian mixture,
// by central differences of the 2 x 2 Jacobian (two network passes per direction) for a learned model. Points are
// given in the data's units and mapped into the model's normalised space z = (x - shift) / scale; the Jacobian of that
// map adds -D log(scale) to every log-density, so figures are those of the density in data units.
//
//   diffuscope::LikelihoodOptions options;                          // alpha_bar_T = 1e-4, tolerance 1e-6
//   options.alpha_bar_T = model.schedule().alpha_bar(model.schedule().num_steps());
//   diffuscope::LikelihoodReport r = diffuscope::OdeLogLikelihood(model, held_out, model.normalization(), options);
//   // r.mean_nll: nats per point; r.log_likelihood(i): log p(x_i); r.nfe: network evaluations per point
#pragma once

#include "core/common/types.h"
#include "core/data/points2d.h"
#include "core/models/denoiser.h"
#include "core/models/exact.h"

#include <string>

namespace diffuscope {

struct LikelihoodOptions {
  double alpha_bar_T = 1e-4;      // where the ODE ends (sigma_T = sqrt((1 - a) / a)) and the prior N(0, I) is read
  double tolerance = 1e-6;        // Dormand-Prince: local error per element <= tolerance (1 + |value|)
  double difference_step = 1e-3;  // learned models: central-difference step h in x_t, in normalised units
  long long max_steps = 200000;   // step attempts before the solve gives up

  /// Empty when valid, else what is wrong, naming the option.
  std::string Check() const;
};

struct LikelihoodReport {
  Eigen::VectorXd log_likelihood;    // log p_0(x_i) per point, nats, in the units the points were given in
  double mean_nll = 0;               // -mean(log_likelihood): nats per point
  double standard_error = 0;         // of mean_nll, over the points
  double prior_mean = 0;             // mean log p_T(y_T) (nats): the prior's share of the log-likelihood
  double log_det_normalization = 0;  // -D log(scale): what the normalisation's Jacobian adds to every log p
  double sigma_T = 0;
  int steps = 0, rejected = 0;  // Dormand-Prince steps (shared by all points)
  long long evaluations = 0;    // right-hand sides of the ODE, each batched over all points
  long long nfe = 0;            // model evaluations per point: evaluations x (1 + 2 D) with differences, else x 1
};

/// div_y eps(y, sigma) per row, in closed form, for the mixture eps of MixtureNoisePrediction:
/// sigma [sum_k r_k tr C_k^{-1} - sum_k r_k |w_k|^2 + |sum_k r_k w_k|^2], with C_k = S_k + sigma^2 I and
/// w_k = C_k^{-1} (y - mu_k): minus sigma times the Laplacian of log p_sigma.
Eigen::VectorXd MixtureNoiseDivergence(const GaussianMixture& mixture, const Eigen::MatrixXd& y, double sigma);

/// eps(y, sigma) of a model (any Denoiser predicting eps, x_0 or v; asked at alpha_bar = 1 / (1 + sigma^2) through
/// a one-level schedule of its own, so a learned model maps it by log-SNR) and, when divergence is not null, its
/// divergence in y by central differences of step h in x_t: one batched call of (1 + 2 D) n rows. Throws Error for
/// models that predict a reverse mean (Sohl-Dickstein's: they have no probability-flow ODE).
Eigen::MatrixXd ModelNoisePrediction(Denoiser& model, const Eigen::MatrixXd& y, double sigma, double h,
                                     Eigen::VectorXd* divergence = nullptr);

/// log p of every row of points (data units, mapped with normalization into the mixture's space) under the
/// probability-flow ODE of the mixture, divergence in closed form. progress: per mille of log(1 + sigma) reached;
/// stop asked every step. Throws Error on bad input or options, Cancelled when stopped.
LikelihoodReport OdeLogLikelihood(const GaussianMixture& mixture, const Batch& points,
                                  const PointNormalization& normalization, const LikelihoodOptions& options,
                                  const ProgressFn& progress = {}, const StopFn& stop = {});

/// The same for a model (e.g. a trained DDPM 2D, normalization = its own), divergence by central differences.
LikelihoodReport OdeLogLikelihood(Denoiser& model, const Batch& points, const PointNormalization& normalization,
                                  const LikelihoodOptions& options, const ProgressFn& progress = {},
                                  const StopFn& stop = {});

/// The exact log-density of the mixture (in its space) at points given in data units, in data units: log p_z(z) -
/// D log(scale).
Eigen::VectorXd MixtureLogDensity(const GaussianMixture& mixture, const Batch& points,
                                  const PointNormalization& normalization);

}  // namespace diffuscope

#include "core/run/model_likelihood.h"

#include "core/models/exact.h"
#include "core/models/sohl_dickstein.h"

#include <Eigen/Cholesky>

#include <cmath>
#include <numbers>

namespace diffuscope {
namespace {

// The end of the linear T = 1000 schedule: where diffuscope-cli likelihood ends the mixture's ODE.
constexpr double kMixtureAlphaBarT = 4e-5;

double StandardError(const Eigen::VectorXd& v) {
  if (v.size() < 2) return -1;
  return std::sqrt((v.array() - v.mean()).square().sum() / double(v.size() - 1) / double(v.size()));
}

// log N(x; mean, covariance) per row, mean and maximum-likelihood covariance of fit (GaussianNll's Gaussian).
Eigen::VectorXd GaussianLogDensity(const Batch& fit, const Batch& points) {
  const Eigen::MatrixXd f = fit.cast<double>();
  const Eigen::RowVectorXd mean = f.colwise().mean();
  const Eigen::MatrixXd centred = f.rowwise() - mean;
  const Eigen::MatrixXd covariance = centred.transpose() * centred / double(f.rows());
  const Eigen::LLT<Eigen::MatrixXd> llt(covariance);
  Require(llt.info() == Eigen::Success, "likelihood: the data's covariance is singular (a Gaussian cannot be fitted)");
  const double log_det = 2.0 * llt.matrixL().toDenseMatrix().diagonal().array().log().sum();
  const Eigen::MatrixXd d = (points.cast<double>().rowwise() - mean).transpose();
  const Eigen::VectorXd mahalanobis = llt.matrixL().solve(d).colwise().squaredNorm().transpose();
  const double D = double(points.cols());
  return (-0.5 * (mahalanobis.array() + log_det + D * std::log(2.0 * std::numbers::pi))).matrix();
}

}  // namespace

std::string ModelLikelihoodOptions::Check() const {
  if (tolerance != 0.0 && !(std::isfinite(tolerance) && tolerance >= 1e-12 && tolerance <= 1e-2))
    return "tolerance must be 0 (the default) or in [1e-12, 1e-2]";
  if (bound_draws < 1 || bound_draws > 1000) return "bound_draws must be 1..1000";
  LikelihoodOptions check;
  check.difference_step = difference_step;
  return check.Check();
}

GaussianMixture EightGaussiansDataLaw() { return GaussianMixture::EightGaussians(std::sqrt(2.0), 0.1); }

Batch LikelihoodHeldOut(const std::string& data, int n, uint64_t seed) {
  Require(n >= 2 && n <= 100000, "likelihood: the held-out points must number 2..100000");
  Dataset2DOptions own_units;
  own_units.standardize = false;
  return GenerateDataset(data, n, seed + 1000, own_units);  // fresh draws, never the training draw
}

Batch LikelihoodFitPoints(const std::string& data, uint64_t seed) {
  Dataset2DOptions own_units;
  own_units.standardize = false;
  return GenerateDataset(data, 20000, seed + 2000, own_units);
}

ModelLikelihood MeasureModelLikelihood(const ModelLikelihoodInput& input, const ModelLikelihoodOptions& options,
                                       const ProgressFn& progress, const StopFn& stop) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("likelihood: " + problem);
  Require(input.model != nullptr, "likelihood: no model");
  Require(input.model->dimension() == 2,
          "likelihood: " + input.model->name() + " is not a 2D model (the likelihood is measured on 2D points)");
  Require(input.held_out.rows() >= 2 && input.held_out.cols() == 2 && input.held_out.allFinite(),
          "likelihood: give at least 2 finite 2D points");
  Require(input.fit.rows() >= 3 && input.fit.cols() == 2, "likelihood: the Gaussian baseline needs >= 3 2D points");
  Require(dynamic_cast<EmpiricalDenoiser*>(input.model) == nullptr,
          "likelihood: the empirical denoiser's law is its own data points, with no density anywhere else; choose "
          "the exact mixture or a learned model");
  Require(dynamic_cast<PosteriorOracle*>(input.model) == nullptr,
          "likelihood: the posterior oracle knows one x_0 and has no density");
  ModelLikelihood out;
  auto ode_line = [&](const std::string& method, const LikelihoodReport& r) {
    out.lines.push_back({method, r.mean_nll, r.standard_error, r.nfe});
  };
  const double tolerance = options.tolerance;
  if (auto* mixture = dynamic_cast<GaussianMixtureDenoiser*>(input.model)) {
    LikelihoodOptions o;
    o.alpha_bar_T = kMixtureAlphaBarT;
    if (tolerance > 0) o.tolerance = tolerance;
    out.ode = OdeLogLikelihood(mixture->mixture(), input.held_out, input.normalization, o, progress, stop);
    ode_line("probability-flow ODE, exact mixture (closed-form div)", *out.ode);
    o.tolerance = tolerance > 0 ? tolerance : 1e-5;
    o.difference_step = options.difference_step;
    ode_line("probability-flow ODE, exact denoiser (differences)",
             OdeLogLikelihood(*mixture, input.held_out, input.normalization, o, progress, stop));
  } else if (auto* sd = dynamic_cast<SohlDicksteinModel*>(input.model)) {
    const SohlDicksteinBound b = EvaluateBound(*sd, input.held_out, options.seed, options.bound_draws, stop);
    out.lines.push_back({"variational bound, " + sd->name(), b.nll, b.standard_error, -1});
  } else {
    LikelihoodOptions o;
    o.alpha_bar_T = input.schedule ? input.schedule->alpha_bar(input.schedule->num_steps()) : kMixtureAlphaBarT;
    if (!(o.alpha_bar_T > 0.0)) o.alpha_bar_T = LikelihoodOptions{}.alpha_bar_T;  // a flow model's s = 1
    o.tolerance = tolerance > 0 ? tolerance : 1e-5;
    o.difference_step = options.difference_step;
    out.ode = OdeLogLikelihood(*input.model, input.held_out, input.normalization, o, progress, stop);
    ode_line("probability-flow ODE, " + input.model->name(), *out.ode);
  }
  if (input.bound_model) {
    const SohlDicksteinBound b =
        EvaluateBound(*input.bound_model, input.held_out, options.seed, options.bound_draws, stop);
    out.lines.push_back({"variational bound, " + input.bound_model->name(), b.nll, b.standard_error, -1});
  }
  if (input.mixture_law) {
    out.exact_log_p = MixtureLogDensity(EightGaussiansDataLaw(), input.held_out, {});
    out.lines.push_back(
        {"exact log-density of the 8gaussians mixture", -out.exact_log_p.mean(), StandardError(out.exact_log_p), -1});
  }
  out.gaussian_log_p = GaussianLogDensity(input.fit, input.held_out);
  out.lines.push_back({"full-covariance Gaussian fitted to the data", GaussianNll(input.fit, input.held_out),
                       StandardError(out.gaussian_log_p), -1});
  return out;
}

}  // namespace diffuscope

#include "core/run/likelihood.h"

#include "core/run/sampler_error.h"
#include "core/schedule/schedule.h"

#include <Eigen/Cholesky>

#include <cmath>
#include <functional>
#include <numbers>
#include <optional>

namespace diffuscope {

std::string LikelihoodOptions::Check() const {
  if (!(std::isfinite(alpha_bar_T) && alpha_bar_T > 0.0 && alpha_bar_T < 1.0))
    return "alpha_bar_T must be in (0, 1): the ODE needs a finite sigma_T (got " + std::to_string(alpha_bar_T) + ")";
  if (!(std::isfinite(tolerance) && tolerance >= 1e-12 && tolerance <= 1e-2))
    return "tolerance must be in [1e-12, 1e-2] (got " + std::to_string(tolerance) + ")";
  if (!(std::isfinite(difference_step) && difference_step >= 1e-6 && difference_step <= 0.1))
    return "difference_step must be in [1e-6, 0.1] normalised units (got " + std::to_string(difference_step) + ")";
  if (max_steps < 10 || max_steps > 100'000'000)
    return "max_steps must be in 10..10^8 (got " + std::to_string(max_steps) + ")";
  return {};
}

Eigen::VectorXd MixtureNoiseDivergence(const GaussianMixture& m, const Eigen::MatrixXd& y, double sigma) {
  const int D = m.dimension(), K = static_cast<int>(m.weights.size());
  Require(y.cols() == D,
          "the mixture is " + std::to_string(D) + "-dimensional; y has " + std::to_string(y.cols()) + " columns");
  Require(std::isfinite(sigma) && sigma >= 0.0, "sigma must be finite and >= 0");
  const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(D, D);
  Eigen::MatrixXd log_resp(y.rows(), K), whitened_sq(y.rows(), K);
  std::vector<Eigen::MatrixXd> whitened(K);
  std::vector<double> trace_precision(K);
  for (int k = 0; k < K; ++k) {
    const Eigen::LLT<Eigen::MatrixXd> llt(m.covariances[k] + sigma * sigma * I);
    Require(llt.info() == Eigen::Success, "the mixture's covariance is not positive definite");
    const Eigen::MatrixXd d = y.rowwise() - m.means[k].transpose();
    whitened[k] = llt.solve(d.transpose()).transpose();
    trace_precision[k] = llt.solve(I).trace();
    const double log_det = 2.0 * llt.matrixL().toDenseMatrix().diagonal().array().log().sum();
    log_resp.col(k) =
        (std::log(m.weights[k]) - 0.5 * log_det) - 0.5 * (d.array() * whitened[k].array()).rowwise().sum();
    whitened_sq.col(k) = whitened[k].rowwise().squaredNorm();
  }
  const Eigen::VectorXd top = log_resp.rowwise().maxCoeff();
  Eigen::MatrixXd resp = (log_resp.colwise() - top).array().exp();
  resp.array().colwise() /= resp.rowwise().sum().array();
  // -Laplacian of log p = sum_k r_k tr C_k^{-1} - (sum_k r_k |w_k|^2 - |sum_k r_k w_k|^2); eps = -sigma grad log p.
  Eigen::MatrixXd mean_w = Eigen::MatrixXd::Zero(y.rows(), D);
  Eigen::VectorXd out = Eigen::VectorXd::Zero(y.rows());
  for (int k = 0; k < K; ++k) {
    mean_w.array() += whitened[k].array().colwise() * resp.col(k).array();
    out.array() += resp.col(k).array() * (trace_precision[k] - whitened_sq.col(k).array());
  }
  out += mean_w.rowwise().squaredNorm();
  return sigma * out;
}

Eigen::MatrixXd ModelNoisePrediction(Denoiser& model, const Eigen::MatrixXd& y, double sigma, double h,
                                     Eigen::VectorXd* divergence) {
  Require(std::isfinite(sigma) && sigma >= 0.0, "sigma must be finite and >= 0");
  Require(y.rows() >= 1 && y.allFinite(), "the model's eps needs finite points");
  const Eigen::Index n = y.rows(), D = y.cols();
  Require(model.dimension() == 0 || model.dimension() == D,
          "the model takes " + std::to_string(model.dimension()) + " values per point, not " + std::to_string(D));
  const double alpha_bar = 1.0 / (1.0 + sigma * sigma);
  const double sa = std::sqrt(alpha_bar), s1a = sigma * sa;  // sqrt(1 - alpha_bar) without cancellation
  const Eigen::MatrixXd x = sa * y;
  const Eigen::Index blocks = divergence ? 1 + 2 * D : 1;
  Batch input(blocks * n, D);
  input.topRows(n) = x.cast<float>();
  for (Eigen::Index j = 0; divergence && j < D; ++j) {
    Eigen::MatrixXd plus = x, minus = x;
    plus.col(j).array() += h;
    minus.col(j).array() -= h;
    input.middleRows((1 + 2 * j) * n, n) = plus.cast<float>();
    input.middleRows((2 + 2 * j) * n, n) = minus.cast<float>();
  }
  // A continuous noise level: a one-level schedule at exactly this alpha_bar (as Heun's Karras levels are named), so
  // a learned model maps it by log-SNR and an exact one reads alpha_bar. At alpha_bar = 1 (the data) the first level.
  std::optional<NoiseSchedule> level;
  DenoiseQuery query{.t = 1, .t_prev = 0, .alpha_bar = 1.0, .schedule = nullptr};
  if (alpha_bar < 1.0) {
    ScheduleOptions options;
    options.kind = ScheduleKind::kCustomAlphaBar;
    options.num_steps = 1;
    options.custom = {alpha_bar};
    level.emplace(options);
    query.alpha_bar = alpha_bar;
    query.schedule = &*level;
  }
  const Prediction p = model.Predict(input, query);
  Require(p.value.rows() == input.rows() && p.value.cols() == D, "the model's prediction has the wrong shape");
  const Eigen::MatrixXd value = p.value.cast<double>(), xin = input.cast<double>();
  Eigen::MatrixXd eps(blocks * n, D);
  switch (p.kind) {
    case PredictionKind::kEps: eps = value; break;
    case PredictionKind::kX0:
      // eps = (x - sqrt(a) x_0) / sqrt(1 - a); at the data itself its limit, 0.
      eps = s1a > 0.0 ? ((xin - sa * value) / s1a).eval() : Eigen::MatrixXd::Zero(blocks * n, D);
      break;
    case PredictionKind::kV: eps = sa * value + s1a * xin; break;
    case PredictionKind::kMean:
      throw Error("the model '" + model.name() +
                  "' predicts the reverse kernel's mean, not eps or x_0: it has no "
                  "probability-flow ODE (for Sohl-Dickstein's model use its variational bound)");
  }
  if (divergence) {
    // d eps / d y_j = sqrt(a) d eps / d x_j; the step actually taken is the difference of the float inputs.
    divergence->setZero(n);
    for (Eigen::Index j = 0; j < D; ++j) {
      const auto plus = (1 + 2 * j) * n, minus = (2 + 2 * j) * n;
      const Eigen::ArrayXd dx = xin.block(plus, j, n, 1).array() - xin.block(minus, j, n, 1).array();
      divergence->array() += sa * (eps.block(plus, j, n, 1).array() - eps.block(minus, j, n, 1).array()) / dx;
    }
  }
  return eps.topRows(n);
}

namespace {

// eps(y, sigma) and, into *divergence, div_y eps.
using NoiseField = std::function<Eigen::MatrixXd(const Eigen::MatrixXd& y, double sigma, Eigen::VectorXd* divergence)>;

LikelihoodReport SolveLikelihood(const NoiseField& field, long long evaluations_per_rhs, const Batch& points,
                                 const PointNormalization& normalization, const LikelihoodOptions& options,
                                 const ProgressFn& progress, const StopFn& stop) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("likelihood: " + problem);
  if (std::string problem = normalization.Check(); !problem.empty()) throw Error("likelihood: " + problem);
  Require(points.rows() >= 1 && points.cols() >= 1 && points.allFinite(),
          "likelihood: needs at least one point of finite values");
  const Eigen::Index n = points.rows(), D = points.cols();
  Require(D == 2 || normalization.identity(), "likelihood: a point normalisation applies to 2D points only");
  const Eigen::MatrixXd z = (D == 2 ? normalization.ToModel(points) : points).cast<double>();
  LikelihoodReport report;
  report.sigma_T = std::sqrt((1.0 - options.alpha_bar_T) / options.alpha_bar_T);
  // State: y (D columns) and the running integral of div_y eps (last column); sigma runs 0 -> sigma_T.
  Eigen::MatrixXd state(n, D + 1);
  state.leftCols(D) = z;  // at sigma = 0, y = x_0
  state.col(D).setZero();
  auto rhs = [&](const Eigen::MatrixXd& s, double sigma) {
    Eigen::VectorXd divergence;
    Eigen::MatrixXd d(n, D + 1);
    d.leftCols(D) = field(s.leftCols(D), sigma, &divergence);
    d.col(D) = divergence;
    return d;
  };
  const double log_span = std::log1p(report.sigma_T);
  long long reported = -1;
  auto on_step = [&](double sigma) {
    const auto done = static_cast<long long>(std::floor(1000.0 * std::min(1.0, std::log1p(sigma) / log_span)));
    if (progress && done != reported) progress(done, 1000, "probability-flow ODE, sigma " + std::to_string(sigma));
    reported = done;
  };
  // The first attempt is small: the flow is fastest near the data, where the noise is smallest.
  const DormandPrinceSolution solution =
      IntegrateDormandPrince(rhs, std::move(state), 0.0, report.sigma_T, options.tolerance,
                             1e-3 * std::min(1.0, report.sigma_T), stop, options.max_steps, on_step);
  // The prior of the sampler: x_T ~ N(0, I), so y_T = x_T / sqrt(alpha_bar_T) ~ N(0, (1 + sigma_T^2) I).
  const double prior_variance = 1.0 + report.sigma_T * report.sigma_T;
  const Eigen::VectorXd prior = (-0.5 * static_cast<double>(D) * std::log(2.0 * std::numbers::pi * prior_variance)) -
                                solution.state.leftCols(D).rowwise().squaredNorm().array() / (2.0 * prior_variance);
  report.log_det_normalization = -static_cast<double>(D) * std::log(normalization.scale);
  report.log_likelihood = (prior + solution.state.col(D)).array() + report.log_det_normalization;
  Require(report.log_likelihood.allFinite(), "likelihood: the solve gave non-finite log-densities");
  report.prior_mean = prior.mean();
  report.mean_nll = -report.log_likelihood.mean();
  if (n > 1) {
    const double variance =
        (report.log_likelihood.array() + report.mean_nll).square().sum() / static_cast<double>(n - 1);
    report.standard_error = std::sqrt(variance / static_cast<double>(n));
  }
  report.steps = solution.steps;
  report.rejected = solution.rejected;
  report.evaluations = solution.evaluations;
  report.nfe = solution.evaluations * evaluations_per_rhs;
  return report;
}

}  // namespace

LikelihoodReport OdeLogLikelihood(const GaussianMixture& mixture, const Batch& points,
                                  const PointNormalization& normalization, const LikelihoodOptions& options,
                                  const ProgressFn& progress, const StopFn& stop) {
  if (std::string problem = mixture.Check(); !problem.empty()) throw Error("Gaussian mixture: " + problem);
  Require(points.cols() == mixture.dimension(), "likelihood: the mixture is " + std::to_string(mixture.dimension()) +
                                                    "-dimensional; the points have " + std::to_string(points.cols()) +
                                                    " columns");
  NoiseField field = [&](const Eigen::MatrixXd& y, double sigma, Eigen::VectorXd* divergence) {
    *divergence = MixtureNoiseDivergence(mixture, y, sigma);
    return MixtureNoisePrediction(mixture, y, sigma);
  };
  return SolveLikelihood(field, 1, points, normalization, options, progress, stop);
}

LikelihoodReport OdeLogLikelihood(Denoiser& model, const Batch& points, const PointNormalization& normalization,
                                  const LikelihoodOptions& options, const ProgressFn& progress, const StopFn& stop) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("likelihood: " + problem);
  Require(model.dimension() == 0 || model.dimension() == points.cols(),
          "likelihood: the model takes " + std::to_string(model.dimension()) + " values per point; the points have " +
              std::to_string(points.cols()));
  NoiseField field = [&](const Eigen::MatrixXd& y, double sigma, Eigen::VectorXd* divergence) {
    return ModelNoisePrediction(model, y, sigma, options.difference_step, divergence);
  };
  return SolveLikelihood(field, 1 + 2 * points.cols(), points, normalization, options, progress, stop);
}

Eigen::VectorXd MixtureLogDensity(const GaussianMixture& mixture, const Batch& points,
                                  const PointNormalization& normalization) {
  if (std::string problem = normalization.Check(); !problem.empty()) throw Error("likelihood: " + problem);
  const GaussianMixtureDenoiser exact(mixture);
  const Batch z = points.cols() == 2 ? normalization.ToModel(points) : points;
  return exact.LogDensity(z, 1.0).array() - static_cast<double>(points.cols()) * std::log(normalization.scale);
}

}  // namespace diffuscope

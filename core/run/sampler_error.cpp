#include "core/run/sampler_error.h"

#include "core/metrics/distance2d.h"

#include <Eigen/Cholesky>

#include <algorithm>
#include <cmath>

namespace diffuscope {

Eigen::MatrixXd MixtureNoisePrediction(const GaussianMixture& m, const Eigen::MatrixXd& y, double sigma) {
  const int D = m.dimension(), K = static_cast<int>(m.weights.size());
  Require(y.cols() == D,
          "the mixture is " + std::to_string(D) + "-dimensional; y has " + std::to_string(y.cols()) + " columns");
  Require(std::isfinite(sigma) && sigma >= 0.0, "sigma must be finite and >= 0");
  const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(D, D);
  Eigen::MatrixXd log_resp(y.rows(), K);
  std::vector<Eigen::MatrixXd> whitened(K);
  for (int k = 0; k < K; ++k) {
    // p(y) = sum_k w_k N(mu_k, S_k + sigma^2 I); whitened_k = (y - mu_k) C_k^{-1}.
    const Eigen::LLT<Eigen::MatrixXd> llt(m.covariances[k] + sigma * sigma * I);
    Require(llt.info() == Eigen::Success, "the mixture's covariance is not positive definite");
    const Eigen::MatrixXd d = y.rowwise() - m.means[k].transpose();
    whitened[k] = llt.solve(d.transpose()).transpose();
    const double log_det = 2.0 * llt.matrixL().toDenseMatrix().diagonal().array().log().sum();
    log_resp.col(k) =
        (std::log(m.weights[k]) - 0.5 * log_det) - 0.5 * (d.array() * whitened[k].array()).rowwise().sum();
  }
  const Eigen::VectorXd top = log_resp.rowwise().maxCoeff();
  Eigen::MatrixXd resp = (log_resp.colwise() - top).array().exp();
  resp.array().colwise() /= resp.rowwise().sum().array();
  Eigen::MatrixXd eps = Eigen::MatrixXd::Zero(y.rows(), D);
  for (int k = 0; k < K; ++k) eps.array() += whitened[k].array().colwise() * resp.col(k).array();
  return sigma * eps;
}

DormandPrinceSolution IntegrateDormandPrince(const OdeRightHandSide& f, Eigen::MatrixXd y, double time_start,
                                             double time_end, double tolerance, double first_step, const StopFn& stop,
                                             long long max_attempts, const std::function<void(double)>& on_step) {
  Require(std::isfinite(time_start) && std::isfinite(time_end) && time_start != time_end,
          "the Dormand-Prince solve needs two distinct finite end times");
  Require(std::isfinite(tolerance) && tolerance > 0.0, "the Dormand-Prince solve needs a positive tolerance");
  Require(y.size() >= 1 && y.allFinite(), "the Dormand-Prince solve needs a finite start state");
  Require(max_attempts >= 1, "the Dormand-Prince solve needs max_attempts >= 1");
  // Dormand and Prince (1980) 5(4), first same as last; the 5th-order solution is kept (local extrapolation).
  static constexpr double c[7] = {0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1};
  static constexpr double a[7][6] = {{},
                                     {1.0 / 5},
                                     {3.0 / 40, 9.0 / 40},
                                     {44.0 / 45, -56.0 / 15, 32.0 / 9},
                                     {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
                                     {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
                                     {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84}};
  // 5th minus 4th order weights: the local error estimate.
  static constexpr double e[7] = {71.0 / 57600,      0,          -71.0 / 16695, 71.0 / 1920,
                                  -17253.0 / 339200, 22.0 / 525, -1.0 / 40};
  DormandPrinceSolution out;
  auto rhs = [&](const Eigen::MatrixXd& state, double time) {
    ++out.evaluations;
    Eigen::MatrixXd d = f(state, time);
    Require(d.rows() == state.rows() && d.cols() == state.cols(), "the ODE's right-hand side has the wrong shape");
    return d;
  };
  const double span = time_end - time_start, direction = span > 0.0 ? 1.0 : -1.0;
  double time = time_start;
  double h = first_step != 0.0 && std::isfinite(first_step) ? direction * std::abs(first_step) : 0.01 * span;
  std::vector<Eigen::MatrixXd> k(7);
  k[0] = rhs(y, time);
  Eigen::MatrixXd y_new;
  while (time != time_end) {
    if (stop && stop()) throw Cancelled();
    Require(out.steps + out.rejected < max_attempts,
            "the Dormand-Prince solve did not finish in " + std::to_string(max_attempts) + " steps");
    const bool final_step = direction * (time + 1.01 * h - time_end) >= 0.0;
    if (final_step) h = time_end - time;  // land on time_end exactly
    for (int s = 1; s < 7; ++s) {
      Eigen::MatrixXd stage = y;
      for (int j = 0; j < s; ++j)
        if (a[s][j] != 0.0) stage += (h * a[s][j]) * k[j];
      k[s] = rhs(stage, final_step && s == 6 ? time_end : time + c[s] * h);
      if (s == 6) y_new.swap(stage);
    }
    Eigen::MatrixXd error = Eigen::MatrixXd::Zero(y.rows(), y.cols());
    for (int j = 0; j < 7; ++j)
      if (e[j] != 0.0) error += (h * e[j]) * k[j];
    const Eigen::ArrayXXd scale = tolerance * (1.0 + y.array().abs().max(y_new.array().abs()));
    const double ratio = (error.array().abs() / scale).maxCoeff();
    Require(std::isfinite(ratio), "the Dormand-Prince solve met NaN or infinite values");
    if (ratio <= 1.0) {
      y.swap(y_new);
      time = final_step ? time_end : time + h;
      k[0].swap(k[6]);  // first same as last
      ++out.steps;
      if (on_step) on_step(time);
    } else {
      ++out.rejected;
    }
    h *= ratio == 0.0 ? 5.0 : std::clamp(0.9 * std::pow(ratio, -0.2), 0.2, 5.0);
  }
  out.state = std::move(y);
  return out;
}

ProbabilityFlowSolution SolveProbabilityFlow(const GaussianMixture& mixture, const Eigen::MatrixXd& x_start,
                                             double alpha_bar_start, double tolerance, const StopFn& stop) {
  if (std::string problem = mixture.Check(); !problem.empty()) throw Error("Gaussian mixture: " + problem);
  Require(x_start.rows() >= 1 && x_start.allFinite(), "the probability-flow solve needs finite start points");
  Require(std::isfinite(alpha_bar_start) && alpha_bar_start > 0.0 && alpha_bar_start < 1.0,
          "the probability-flow solve starts at an alpha_bar in (0, 1)");
  Require(std::isfinite(tolerance) && tolerance >= 1e-14 && tolerance <= 1e-2,
          "the probability-flow solve's tolerance must be in [1e-14, 1e-2]");
  // dy/dsigma = eps(y, sigma) from sigma_start down to 0.
  const double sigma = std::sqrt((1.0 - alpha_bar_start) / alpha_bar_start);
  DormandPrinceSolution solution =
      IntegrateDormandPrince([&](const Eigen::MatrixXd& y, double s) { return MixtureNoisePrediction(mixture, y, s); },
                             x_start / std::sqrt(alpha_bar_start), sigma, 0.0, tolerance, 0.0, stop);
  ProbabilityFlowSolution out;
  out.x0 = std::move(solution.state);
  out.steps = solution.steps;
  out.rejected = solution.rejected;
  out.evaluations = solution.evaluations;
  return out;
}

std::string SamplerErrorOptions::Check() const {
  if (std::string problem = schedule.Check(); !problem.empty()) return "schedule: " + problem;
  if (samplers.empty()) return "samplers: name at least one sampler";
  if (nfe.empty()) return "nfe: give at least one number of network evaluations";
  for (int n : nfe)
    if (n < 1 || n > 100000)
      return "nfe: every number of network evaluations must be in 1..100000, got " + std::to_string(n);
  if (num_samples < 2 || num_samples > 100000)
    return "num_samples must be in 2..100000, got " + std::to_string(num_samples);
  if (num_data < 2 || num_data > 100000) return "num_data must be in 2..100000, got " + std::to_string(num_data);
  if (!(std::isfinite(reference_tolerance) && reference_tolerance >= 1e-13 && reference_tolerance <= 1e-5))
    return "reference_tolerance must be in [1e-13, 1e-5] (the check solve runs 1000x looser)";
  return {};
}

SamplerErrorReport MeasureSamplerError(const GaussianMixture& mixture, const SamplerErrorOptions& options,
                                       const ProgressFn& progress, const StopFn& stop, Denoiser* model) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("sampler error: " + problem);
  if (std::string problem = mixture.Check(); !problem.empty()) throw Error("Gaussian mixture: " + problem);
  const NoiseSchedule schedule(options.schedule);
  const int T = schedule.num_steps(), D = mixture.dimension();
  SamplerErrorReport report;
  report.alpha_bar_start = schedule.alpha_bar(T);
  Require(report.alpha_bar_start > 0.0,
          "sampler error: the schedule ends at alpha_bar_T = 0, where the probability-flow ODE has no finite start");
  GaussianMixtureDenoiser exact(mixture);
  Denoiser& denoiser = model ? *model : exact;
  Require(denoiser.dimension() == 0 || denoiser.dimension() == D,
          "sampler error: the model takes " + std::to_string(denoiser.dimension()) +
              " values per sample, the mixture has " + std::to_string(D));
  const long long total = static_cast<long long>(options.samplers.size() * options.nfe.size()) + 2;
  long long done = 0;
  auto tick = [&](const std::string& what) {
    ++done;
    if (progress) progress(done, total, what);
  };

  // Every run and the reference start from the same x_T ~ N(0, I) at alpha_bar_T.
  const Batch x_T = InitialNoise(options.num_samples, D, options.seed);
  const ProbabilityFlowSolution reference =
      SolveProbabilityFlow(mixture, x_T.cast<double>(), report.alpha_bar_start, options.reference_tolerance, stop);
  tick("reference probability-flow solve");
  const ProbabilityFlowSolution looser = SolveProbabilityFlow(mixture, x_T.cast<double>(), report.alpha_bar_start,
                                                              1000.0 * options.reference_tolerance, stop);
  tick("its convergence check");
  report.reference_steps = reference.steps;
  report.reference_evaluations = reference.evaluations;
  report.reference_tolerance = options.reference_tolerance;
  auto rms = [&](const Eigen::MatrixXd& x) { return std::sqrt((x - reference.x0).rowwise().squaredNorm().mean()); };
  auto median_error = [&](const Eigen::MatrixXd& x) {
    const Eigen::VectorXd distances = (x - reference.x0).rowwise().norm();
    std::vector<double> d(distances.data(), distances.data() + distances.size());
    const size_t half = d.size() / 2;
    std::nth_element(d.begin(), d.begin() + half, d.end());
    if (d.size() % 2 == 1) return d[half];
    return 0.5 * (d[half] + *std::max_element(d.begin(), d.begin() + half));  // the mean of the middle two
  };
  report.reference_check = rms(looser.x0);
  // The law's points come from its own stream (kData), x_T from kInitialNoise: no draw is shared.
  const Batch data = mixture.Sample(options.num_data, options.seed);
  report.reference_energy_distance = EnergyDistance(reference.x0.cast<float>(), data, stop);

  for (SamplerKind kind : options.samplers) {
    for (int nfe : options.nfe) {
      SamplerOptions sampler;
      sampler.kind = kind;
      sampler.num_steps = std::min(SamplerStepsForNfe(kind, nfe), T);
      sampler.spacing = options.spacing;
      sampler.seed = options.seed;
      Sampler run(schedule, denoiser, sampler, x_T);
      while (!run.done()) {
        if (stop && stop()) throw Cancelled();
        run.Next();
      }
      SamplerErrorRow row;
      row.sampler = kind;
      row.steps = run.steps_total();
      row.nfe = static_cast<int>(run.nfe());
      row.stochastic = SamplerIsStochastic(kind, sampler.eta);
      row.endpoint_rms = rms(run.x().cast<double>());
      row.endpoint_median = median_error(run.x().cast<double>());
      row.energy_distance = EnergyDistance(run.x(), data, stop);
      report.rows.push_back(row);
      tick(std::string(SamplerKindName(kind)) + ", NFE " + std::to_string(row.nfe));
    }
  }
  return report;
}

double FittedOrder(const std::vector<int>& nfe, const std::vector<double>& error) {
  Require(nfe.size() == error.size(), "FittedOrder: one error per NFE");
  double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < nfe.size(); ++i) {
    if (!(nfe[i] > 0 && std::isfinite(error[i]) && error[i] > 0.0)) continue;
    const double x = std::log(static_cast<double>(nfe[i])), y = std::log(error[i]);
    n += 1, sx += x, sy += y, sxx += x * x, sxy += x * y;
  }
  const double denominator = n * sxx - sx * sx;
  if (n < 2 || denominator <= 0.0) return NAN;
  return -(n * sxy - sx * sy) / denominator;
}

}  // namespace diffuscope

#include "core/models/sohl_dickstein.h"

#include "core/random/random.h"

#include <Eigen/Cholesky>

#include <cmath>
#include <numbers>

namespace diffuscope {
namespace {

using MatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr double kLog2Pi = 1.8378770664093453;  // log(2 pi)

const SohlDicksteinOptions& Checked(const SohlDicksteinOptions& options) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("Sohl-Dickstein 2D: " + problem);
  return options;
}

// Per-step constants of the reverse kernel and of the forward posterior, t = 1..T (index t).
struct StepConstants {
  std::vector<double> sqrt_ab, sqrt_1mab;                    // of q(x_t | x_0)
  std::vector<double> mean_scale;                            // 1 / sqrt(alpha_t)
  std::vector<double> mu_coef;                               // beta_t / sqrt(1 - alpha_bar_t) / sqrt(alpha_t)
  std::vector<double> log_beta;                              // log beta_t
  std::vector<double> coef1, coef2, log_posterior_variance;  // q(x_{t-1} | x_t, x_0), t >= 2
};

StepConstants Constants(const NoiseSchedule& s) {
  const int T = s.num_steps();
  StepConstants c;
  for (auto* v : {&c.sqrt_ab, &c.sqrt_1mab, &c.mean_scale, &c.mu_coef, &c.log_beta, &c.coef1, &c.coef2,
                  &c.log_posterior_variance})
    v->assign(T + 1, 0.0);
  for (int t = 1; t <= T; ++t) {
    c.sqrt_ab[t] = s.sqrt_alpha_bar(t);
    c.sqrt_1mab[t] = s.sqrt_one_minus_alpha_bar(t);
    c.mean_scale[t] = 1.0 / std::sqrt(s.alpha(t));
    c.mu_coef[t] = s.beta(t) / c.sqrt_1mab[t] * c.mean_scale[t];
    c.log_beta[t] = std::log(s.beta(t));
    c.coef1[t] = s.posterior_mean_coef1(t);
    c.coef2[t] = s.posterior_mean_coef2(t);
    c.log_posterior_variance[t] = t >= 2 ? std::log(s.posterior_variance(t)) : 0.0;
  }
  return c;
}

void CheckSchedule(const NoiseSchedule& s) {
  Require(s.alpha_bar(s.num_steps()) < 1.0 && s.beta(1) > 0.0 && s.alpha(s.num_steps()) > 0.0,
          "Sohl-Dickstein 2D: the schedule needs 0 < beta_t < 1 at every step");
  for (int t = 2; t <= s.num_steps(); ++t)
    Require(s.posterior_variance(t) > 0.0,
            "Sohl-Dickstein 2D: the schedule's posterior variance is 0 at t = " + std::to_string(t));
}

// One example's term of the bound (t >= 2: KL of the two kernels; t = 1: -log p(x_0|x_1)), summed over the 2
// coordinates, and its derivatives with respect to the network outputs f (4 values) when d is not null.
double Term(const StepConstants& c, int t, const float* x0, const float* xt, const double* f, double* d) {
  double total = 0.0;
  for (int k = 0; k < 2; ++k) {
    const double mean_p = (xt[k] - c.mu_coef[t] / c.mean_scale[t] * f[k]) * c.mean_scale[t];
    const double log_var_p = c.log_beta[t] + f[2 + k];
    const double inv_var_p = std::exp(-log_var_p);
    double d_mean, d_log_var;
    if (t >= 2) {
      const double mean_q = c.coef1[t] * x0[k] + c.coef2[t] * xt[k];
      const double log_var_q = c.log_posterior_variance[t];
      const double diff = mean_q - mean_p, ratio = std::exp(log_var_q - log_var_p);
      total += 0.5 * (-1.0 + log_var_p - log_var_q + ratio + diff * diff * inv_var_p);
      d_mean = -diff * inv_var_p;
      d_log_var = 0.5 * (1.0 - ratio - diff * diff * inv_var_p);
    } else {
      const double diff = x0[k] - mean_p;
      total += 0.5 * (kLog2Pi + log_var_p + diff * diff * inv_var_p);
      d_mean = -diff * inv_var_p;
      d_log_var = 0.5 * (1.0 - diff * diff * inv_var_p);
    }
    if (d != nullptr) {
      d[k] = d_mean * -c.mu_coef[t];  // d mean_p / d f_mu = -beta_t / sqrt(1 - abar_t) / sqrt(alpha_t)
      d[2 + k] = d_log_var;
    }
  }
  return total;
}

double PriorKl(const StepConstants& c, int T, const float* x0) {
  const double log_var = std::log(c.sqrt_1mab[T] * c.sqrt_1mab[T]);
  return NormalKl(c.sqrt_ab[T] * x0[0], log_var, 0.0, 0.0) + NormalKl(c.sqrt_ab[T] * x0[1], log_var, 0.0, 0.0);
}

}  // namespace

ScheduleOptions SohlDicksteinSchedule() {
  ScheduleOptions options;
  options.kind = ScheduleKind::kSohlDickstein;
  options.num_steps = 40;
  return options;
}

TrainOptions SohlDicksteinDefaultTraining() {
  return ShippedTrainingRecipe(/*iterations=*/30000, /*batch_size=*/256, /*report_every=*/500);
}

double NormalKl(double mean1, double log_variance1, double mean2, double log_variance2) {
  const double diff = mean1 - mean2;
  return 0.5 * (-1.0 + log_variance2 - log_variance1 + std::exp(log_variance1 - log_variance2) +
                diff * diff * std::exp(-log_variance2));
}

double GaussianNegLogDensity(double x, double mean, double log_variance) {
  const double diff = x - mean;
  return 0.5 * (kLog2Pi + log_variance + diff * diff * std::exp(-log_variance));
}

std::string SohlDicksteinOptions::Check() const {
  if (!(std::isfinite(input_scale) && input_scale > 0.0 && input_scale < 1e6))
    return "the input scale must be a positive number (got " + ToSixDigits(input_scale) + ")";
  return CheckMlpOptions(embedding_size, hidden_size, 4096, hidden_layers, schedule);
}

NetworkSpec SohlDicksteinOptions::network() const {
  NetworkSpec spec = TinyDiffusionSpec(embedding_size, input_scale, hidden_size, hidden_layers);
  spec.layers.back() = LayerSpec::Linear(hidden_size, 4);
  return spec;
}

double SohlDicksteinLoss(const NoiseSchedule& schedule, const std::vector<int>& t, const Batch& x0, const Batch& x_t,
                         const MatrixD& output, MatrixD* d_output) {
  const auto B = static_cast<Eigen::Index>(t.size());
  Require(B >= 1 && x0.rows() == B && x_t.rows() == B && output.rows() == B && x0.cols() == 2 && x_t.cols() == 2 &&
              output.cols() == 4,
          "Sohl-Dickstein loss: t, x_0, x_t (n x 2) and the network output (n x 4) must have the same rows");
  CheckSchedule(schedule);
  const StepConstants c = Constants(schedule);
  const int T = schedule.num_steps();
  if (d_output != nullptr) d_output->resize(B, 4);
  double sum = 0.0;
  for (Eigen::Index b = 0; b < B; ++b) {
    Require(t[b] >= 1 && t[b] <= T, "Sohl-Dickstein loss: t must be in 1.." + std::to_string(T));
    sum += Term(c, t[b], x0.row(b).data(), x_t.row(b).data(), output.row(b).data(),
                d_output != nullptr ? d_output->row(b).data() : nullptr);
  }
  const double weight = static_cast<double>(T) / static_cast<double>(B);
  if (d_output != nullptr) *d_output *= weight;
  return sum * weight;
}

SohlDicksteinModel::SohlDicksteinModel(const SohlDicksteinOptions& options)
    : LearnedModel(Checked(options).network(), options.schedule) {
  CheckSchedule(schedule_);
}

SohlDicksteinModel::SohlDicksteinModel(ModelFile file)
    : LearnedModel(file, kSohlDicksteinModelType, "a Sohl-Dickstein 2D model") {
  Require(network_.input_dim() == 3 && network_.output_dim() == 4,
          "the model file's network maps " + std::to_string(network_.input_dim()) + " inputs to " +
              std::to_string(network_.output_dim()) +
              " outputs; a Sohl-Dickstein 2D network maps (x, y, t) to 4 (mean and log variance terms)");
  CheckSchedule(schedule_);
}

ModelFile SohlDicksteinModel::ToModelFile(bool with_training_state) const {
  return BaseModelFile(kSohlDicksteinModelType, with_training_state);
}

std::string SohlDicksteinModel::name() const {
  auto it = info_.find("data");
  const std::string base = "Sohl-Dickstein 2015 (learned mean and variance)";
  return it == info_.end() || it->second.empty() ? base : base + " (" + it->second + ")";
}

void SohlDicksteinModel::ReverseKernel(const Batch& x_t, int t, Batch* mean, Batch* log_variance) {
  const int T = schedule_.num_steps();
  Require(x_t.cols() == 2,
          "Sohl-Dickstein 2D: x_t has " + std::to_string(x_t.cols()) + " columns; the model takes 2D points");
  Require(t >= 1 && t <= T,
          "Sohl-Dickstein 2D: timestep t = " + std::to_string(t) + " is outside the model's 1.." + std::to_string(T));
  input_.resize(x_t.rows(), 3);
  input_.leftCols<2>() = x_t;
  input_.col(2).setConstant(static_cast<float>(t - 1));
  ApplyNetwork(input_, &output_);
  const double scale = 1.0 / std::sqrt(schedule_.alpha(t));
  const double mu_coef = schedule_.beta(t) / schedule_.sqrt_one_minus_alpha_bar(t);
  const double log_beta = std::log(schedule_.beta(t));
  mean->resize(x_t.rows(), 2);
  log_variance->resize(x_t.rows(), 2);
  mean->array() =
      ((x_t.array() - static_cast<float>(mu_coef) * output_.leftCols<2>().array()) * static_cast<float>(scale));
  log_variance->array() = output_.rightCols<2>().array() + static_cast<float>(log_beta);
}

Prediction SohlDicksteinModel::Predict(const Batch& x_t, const DenoiseQuery& query) {
  const int T = schedule_.num_steps();
  Require(query.schedule == nullptr || query.schedule == &schedule_ || query.schedule->options() == schedule_.options(),
          "the Sohl-Dickstein model learned one reverse kernel per step of its own schedule (" +
              std::string(ScheduleKindName(schedule_.options().kind)) + ", T = " + std::to_string(T) +
              "); sample on that schedule");
  Require(query.t_prev == query.t - 1,
          "the Sohl-Dickstein model learned one reverse kernel per step; it cannot take "
          "strided steps (use every step)");
  Prediction prediction;
  prediction.kind = PredictionKind::kMean;
  prediction.variance_kind = VarianceKind::kLearnedLog;
  ReverseKernel(x_t, query.t, &prediction.value, &prediction.variance);
  return prediction;
}

TrainReport TrainSohlDickstein(SohlDicksteinModel& model, const Batch& data_units, const TrainOptions& options,
                               const TrainProgressFn& progress, const StopFn& stop,
                               const std::filesystem::path& checkpoint_path) {
  CheckTrainingInput(options, data_units, 2, /*images=*/false, "a Sohl-Dickstein 2D model trains on 2D points (x, y)");
  const Batch data = model.normalization().ToModel(data_units);  // the network learns the normalised space

  const NoiseSchedule& schedule = model.schedule_;
  const StepConstants c = Constants(schedule);
  const int T = schedule.num_steps(), B = options.batch_size;
  const auto N = static_cast<uint64_t>(data.rows());
  Network<float>::Matrix input(B, 3), dy(B, 4);
  Batch x0(B, 2), xt(B, 2);
  std::vector<float> eps(2 * static_cast<size_t>(B));
  std::vector<int> t(B);
  MatrixD output, d_output(B, 4);
  Network<float>::Workspace ws;
  constexpr uint64_t kNoiseOffset = 1ULL << 32;

  auto loss_gradient = [&](long long iteration, Network<float>& n) {
    const RandomKey key{.seed = options.seed, .stream = Stream::kTraining, .index = static_cast<uint64_t>(iteration)};
    RandomStream draws(key);
    FillNormal(key, kNoiseOffset, eps);
    const int offset = static_cast<int>(draws.Below(static_cast<uint64_t>(T)));
    for (int b = 0; b < B; ++b) {
      const auto row = static_cast<Eigen::Index>(draws.Below(N));
      t[b] = 1 + (b + offset) % T;
      x0.row(b) = data.row(row);
      for (int k = 0; k < 2; ++k)
        xt(b, k) = static_cast<float>(c.sqrt_ab[t[b]] * x0(b, k) + c.sqrt_1mab[t[b]] * eps[2 * b + k]);
      input(b, 0) = xt(b, 0);
      input(b, 1) = xt(b, 1);
      input(b, 2) = static_cast<float>(t[b] - 1);
    }
    output = n.Forward(input, ws).cast<double>();
    const double loss = SohlDicksteinLoss(schedule, t, x0, xt, output, &d_output);
    dy = d_output.cast<float>();
    n.Backward(input, dy, ws);
    return loss;
  };

  return model.TrainNetwork(options, loss_gradient, progress, stop, checkpoint_path);
}

SohlDicksteinBound EvaluateBound(SohlDicksteinModel& model, const Batch& data_points, uint64_t seed, int draws,
                                 const StopFn& stop) {
  Require(data_points.cols() == 2 && data_points.rows() >= 2 && data_points.allFinite(),
          "Sohl-Dickstein bound: the points must be at least 2 finite rows of (x, y)");
  // The bound is computed in the normalised space z = (x - shift) / s; the density of x is that of z times
  // s^-2 (2 dimensions), so -log p(x_0) and its decoder term gain 2 log s (the KL terms are invariant).
  const Batch points = model.normalization().ToModel(data_points);
  const double log_jacobian = 2.0 * std::log(model.normalization().scale);
  Require(draws >= 1 && draws <= 1000, "Sohl-Dickstein bound: draws must be 1..1000");
  const NoiseSchedule& schedule = model.schedule();
  const StepConstants c = Constants(schedule);
  const int T = schedule.num_steps();
  const Eigen::Index n = points.rows();
  std::vector<double> per_point(n, 0.0);
  SohlDicksteinBound bound;
  bound.points = static_cast<int>(n);
  Batch xt(n, 2), mean, log_variance;
  std::vector<float> eps(2 * static_cast<size_t>(n));
  for (int t = 1; t <= T; ++t) {
    if (stop && stop()) throw Cancelled();
    for (int d = 0; d < draws; ++d) {
      FillNormal({seed, Stream::kUser, static_cast<uint64_t>(t) * 1000 + d}, 0, eps);
      for (Eigen::Index r = 0; r < n; ++r)
        for (int k = 0; k < 2; ++k)
          xt(r, k) = static_cast<float>(c.sqrt_ab[t] * points(r, k) + c.sqrt_1mab[t] * eps[2 * r + k]);
      model.ReverseKernel(xt, t, &mean, &log_variance);
      double sum = 0.0;
      for (Eigen::Index r = 0; r < n; ++r) {
        double term = 0.0;
        for (int k = 0; k < 2; ++k) {
          term += t >= 2 ? NormalKl(c.coef1[t] * points(r, k) + c.coef2[t] * xt(r, k), c.log_posterior_variance[t],
                                    mean(r, k), log_variance(r, k))
                         : GaussianNegLogDensity(points(r, k), mean(r, k), log_variance(r, k));
        }
        per_point[r] += term / draws;
        sum += term / draws;
      }
      (t >= 2 ? bound.kl : bound.decoder) += sum / static_cast<double>(n);
    }
  }
  for (Eigen::Index r = 0; r < n; ++r) {
    const double prior = PriorKl(c, T, points.row(r).data());
    per_point[r] += prior;
    bound.prior += prior / static_cast<double>(n);
  }
  bound.decoder += log_jacobian;
  for (double& v : per_point) v += log_jacobian;
  bound.nll = bound.kl + bound.decoder + bound.prior;
  double var = 0.0;
  for (double v : per_point) var += (v - bound.nll) * (v - bound.nll);
  bound.standard_error = std::sqrt(var / static_cast<double>(n - 1) / static_cast<double>(n));
  return bound;
}

namespace {

double GaussianNllWith(const Eigen::VectorXd& mean, const Eigen::MatrixXd& covariance, const Batch& points) {
  Eigen::LLT<Eigen::MatrixXd> llt(covariance);
  Require(llt.info() == Eigen::Success && covariance.diagonal().minCoeff() > 0.0,
          "Gaussian baseline: the fitted covariance is singular (the data lie on a line or a point)");
  const Eigen::MatrixXd L = llt.matrixL();
  const double log_det = 2.0 * L.diagonal().array().log().sum();
  const auto d = static_cast<double>(mean.size());
  double sum = 0.0;
  for (Eigen::Index r = 0; r < points.rows(); ++r) {
    const Eigen::VectorXd z = L.triangularView<Eigen::Lower>().solve(points.row(r).cast<double>().transpose() - mean);
    sum += 0.5 * (d * kLog2Pi + log_det + z.squaredNorm());
  }
  return sum / static_cast<double>(points.rows());
}

void CheckBaseline(const Batch& fit, const Batch& points) {
  Require(fit.rows() >= 2 && fit.cols() >= 1 && points.rows() >= 1 && points.cols() == fit.cols() && fit.allFinite() &&
              points.allFinite(),
          "Gaussian baseline: needs >= 2 finite fitting rows and finite points with the same columns");
}

}  // namespace

double GaussianNll(const Batch& fit, const Batch& points) {
  CheckBaseline(fit, points);
  const Eigen::MatrixXd x = fit.cast<double>();
  const Eigen::VectorXd mean = x.colwise().mean().transpose();
  const Eigen::MatrixXd centred = x.rowwise() - mean.transpose();
  const Eigen::MatrixXd covariance = centred.transpose() * centred / static_cast<double>(x.rows());
  return GaussianNllWith(mean, covariance, points);
}

double IsotropicGaussianNll(const Batch& fit, const Batch& points) {
  CheckBaseline(fit, points);
  const Eigen::MatrixXd x = fit.cast<double>();
  const Eigen::VectorXd mean = x.colwise().mean().transpose();
  const Eigen::MatrixXd centred = x.rowwise() - mean.transpose();
  const double variance = centred.squaredNorm() / (static_cast<double>(x.rows()) * static_cast<double>(x.cols()));
  return GaussianNllWith(mean, variance * Eigen::MatrixXd::Identity(x.cols(), x.cols()), points);
}

}  // namespace diffuscope

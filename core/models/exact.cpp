#include "core/models/exact.h"

#include "core/random/random.h"

#include <Eigen/Cholesky>
#include <Eigen/Dense>
#include <opencv2/core.hpp>

#include <cmath>
#include <limits>
#include <numbers>

namespace diffuscope {

std::string GaussianMixture::Check() const {
  if (weights.empty()) return "the mixture has no components";
  if (means.size() != weights.size() || covariances.size() != weights.size())
    return "the mixture needs one mean and one covariance per weight";
  const auto D = means.front().size();
  if (D < 1) return "the mixture's dimension must be at least 1";
  double total = 0;
  for (size_t k = 0; k < weights.size(); ++k) {
    if (!(std::isfinite(weights[k]) && weights[k] > 0)) return "mixture weight " + std::to_string(k) + " must be > 0";
    total += weights[k];
    if (means[k].size() != D || covariances[k].rows() != D || covariances[k].cols() != D)
      return "mixture component " + std::to_string(k) + " has the wrong dimension";
    if (!means[k].allFinite() || !covariances[k].allFinite())
      return "mixture component " + std::to_string(k) + " holds NaN or infinity";
    if ((covariances[k] - covariances[k].transpose()).cwiseAbs().maxCoeff() > 1e-9 * (1 + covariances[k].norm()))
      return "covariance " + std::to_string(k) + " is not symmetric";
    Eigen::LLT<Eigen::MatrixXd> llt(covariances[k]);
    if (llt.info() != Eigen::Success) return "covariance " + std::to_string(k) + " is not positive definite";
  }
  if (std::abs(total - 1.0) > 1e-9) return "mixture weights must sum to 1";
  return {};
}

Eigen::VectorXd GaussianMixture::Mean() const {
  Eigen::VectorXd m = Eigen::VectorXd::Zero(dimension());
  for (size_t k = 0; k < weights.size(); ++k) m += weights[k] * means[k];
  return m;
}

Eigen::MatrixXd GaussianMixture::Covariance() const {
  const Eigen::VectorXd m = Mean();
  Eigen::MatrixXd c = Eigen::MatrixXd::Zero(dimension(), dimension());
  for (size_t k = 0; k < weights.size(); ++k) {
    const Eigen::VectorXd d = means[k] - m;
    c += weights[k] * (covariances[k] + d * d.transpose());
  }
  return c;
}

Batch GaussianMixture::Sample(int n, uint64_t seed, std::vector<int>* labels) const {
  if (std::string problem = Check(); !problem.empty()) throw Error("Gaussian mixture: " + problem);
  const int D = dimension();
  std::vector<Eigen::MatrixXd> chol;
  for (const auto& c : covariances) chol.push_back(Eigen::LLT<Eigen::MatrixXd>(c).matrixL());
  RandomStream random({seed, Stream::kData, 0});
  Batch x(n, D);
  if (labels) labels->assign(n, 0);
  Eigen::VectorXd z(D);
  for (int i = 0; i < n; ++i) {
    double u = random.Uniform(), acc = 0;
    size_t k = 0;
    for (; k + 1 < weights.size(); ++k) {
      acc += weights[k];
      if (u < acc) break;
    }
    if (labels) (*labels)[i] = static_cast<int>(k);
    for (int d = 0; d < D; ++d) z[d] = random.Normal();
    x.row(i) = (means[k] + chol[k] * z).cast<float>().transpose();
  }
  return x;
}

GaussianMixture GaussianMixture::Affine(double scale, const Eigen::VectorXd& shift) const {
  Require(std::isfinite(scale) && scale != 0.0 && shift.size() == dimension() && shift.allFinite(),
          "a mixture's affine map needs a finite non-zero scale and one finite shift per dimension");
  GaussianMixture out = *this;
  for (auto& m : out.means) m = scale * m + shift;
  for (auto& c : out.covariances) c *= scale * scale;
  return out;
}

GaussianMixture GaussianMixture::EightGaussians(double radius, double sd) {
  GaussianMixture m;
  for (int k = 0; k < 8; ++k) {
    const double angle = 2.0 * std::numbers::pi * k / 8.0;
    m.weights.push_back(1.0 / 8.0);
    m.means.push_back(Eigen::Vector2d(radius * std::cos(angle), radius * std::sin(angle)));
    m.covariances.push_back(sd * sd * Eigen::Matrix2d::Identity());
  }
  return m;
}

GaussianMixtureDenoiser::GaussianMixtureDenoiser(GaussianMixture mixture) : mixture_(std::move(mixture)) {
  if (std::string problem = mixture_.Check(); !problem.empty()) throw Error("Gaussian mixture: " + problem);
}

void GaussianMixtureDenoiser::Components(const Batch& x_t, double a, Eigen::MatrixXd* log_resp,
                                         std::vector<Eigen::MatrixXd>* whitened) const {
  Require(x_t.cols() == mixture_.dimension(), "the mixture is " + std::to_string(mixture_.dimension()) +
                                                  "-dimensional; x_t has " + std::to_string(x_t.cols()) + " columns");
  // alpha_bar = 0 (pure noise, e.g. flow time s = 1) is fine: every C_k = I and the posterior is the prior.
  Require(a >= 0.0 && a <= 1.0, "alpha_bar must be in [0, 1] for the mixture denoiser");
  const int D = mixture_.dimension(), K = static_cast<int>(mixture_.weights.size());
  const Eigen::MatrixXd x = x_t.cast<double>();
  const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(D, D);
  log_resp->resize(x.rows(), K);
  whitened->assign(K, {});
  for (int k = 0; k < K; ++k) {
    // C_k = a S_k + (1 - a) I; whitened_k = (x - sqrt(a) mu_k) C_k^{-1} (rows).
    const Eigen::MatrixXd C = a * mixture_.covariances[k] + (1.0 - a) * I;
    Eigen::LLT<Eigen::MatrixXd> llt(C);
    Require(llt.info() == Eigen::Success, "the mixture's noisy covariance is singular at this alpha_bar");
    const Eigen::MatrixXd d = x.rowwise() - (std::sqrt(a) * mixture_.means[k]).transpose();
    (*whitened)[k] = llt.solve(d.transpose()).transpose();
    const double log_det = 2.0 * llt.matrixL().toDenseMatrix().diagonal().array().log().sum();
    const Eigen::VectorXd quad = (d.array() * (*whitened)[k].array()).rowwise().sum();
    log_resp->col(k) =
        (std::log(mixture_.weights[k]) - 0.5 * (D * std::log(2 * std::numbers::pi) + log_det)) - 0.5 * quad.array();
  }
}

Eigen::VectorXd GaussianMixtureDenoiser::LogDensity(const Batch& x_t, double a) const {
  Eigen::MatrixXd lr;
  std::vector<Eigen::MatrixXd> w;
  Components(x_t, a, &lr, &w);
  const Eigen::VectorXd m = lr.rowwise().maxCoeff();
  return m.array() + (lr.colwise() - m).array().exp().rowwise().sum().log();
}

void GaussianMixtureDenoiser::Responsibilities(const Batch& x_t, double a, Eigen::MatrixXd* resp,
                                               std::vector<Eigen::MatrixXd>* whitened) const {
  Eigen::MatrixXd lr;
  Components(x_t, a, &lr, whitened);
  const Eigen::VectorXd m = lr.rowwise().maxCoeff();
  *resp = (lr.colwise() - m).array().exp();
  resp->array().colwise() /= resp->rowwise().sum().array();
}

Batch GaussianMixtureDenoiser::PosteriorMean(const Batch& x_t, double a) const {
  Eigen::MatrixXd resp;
  std::vector<Eigen::MatrixXd> w;
  Responsibilities(x_t, a, &resp, &w);
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(x_t.rows(), x_t.cols());
  for (size_t k = 0; k < w.size(); ++k) {
    // E[x0 | x_t, k] = mu_k + sqrt(a) S_k C_k^{-1} (x_t - sqrt(a) mu_k)
    const Eigen::MatrixXd comp =
        (std::sqrt(a) * w[k] * mixture_.covariances[k].transpose()).rowwise() + mixture_.means[k].transpose();
    out.array() += comp.array().colwise() * resp.col(k).array();
  }
  return out.cast<float>();
}

Batch GaussianMixtureDenoiser::Score(const Batch& x_t, double a) const {
  Eigen::MatrixXd resp;
  std::vector<Eigen::MatrixXd> w;
  Responsibilities(x_t, a, &resp, &w);
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(x_t.rows(), x_t.cols());
  for (size_t k = 0; k < w.size(); ++k) out.array() -= w[k].array().colwise() * resp.col(k).array();
  return out.cast<float>();
}

Prediction GaussianMixtureDenoiser::Predict(const Batch& x_t, const DenoiseQuery& query) {
  return {PredictionKind::kX0, PosteriorMean(x_t, query.alpha_bar), VarianceKind::kNone, {}};
}

EmpiricalDenoiser::EmpiricalDenoiser(Batch data) : data_(std::move(data)) {
  Require(data_.rows() >= 1 && data_.cols() >= 1, "the empirical denoiser needs at least one data point");
  Require(data_.allFinite(), "the data set holds NaN or infinite values");
  data_sq_norms_ = data_.rowwise().squaredNorm();
  data_by_dim_ = data_;  // column-major copy: each dimension contiguous
}

// Low dimensions (2D points): the logits of a block of query rows against a chunk of data points stay in L1,
// and the softmax is accumulated online chunk by chunk (running max, rescaled sums), one pass over the data.
Batch EmpiricalDenoiser::PosteriorMeanLowDim(const Batch& x_t, double a) const {
  const int D = static_cast<int>(data_.cols());
  const Eigen::Index N = data_.rows(), n = x_t.rows();
  const float sa = static_cast<float>(std::sqrt(a));
  const float inv2v = static_cast<float>(1.0 / (2.0 * std::max(1.0 - a, 1e-12)));
  const float c_dot = 2.0f * sa * inv2v, c_norm = static_cast<float>(a) * inv2v;
  Batch out(n, D);
  constexpr Eigen::Index kRows = 32, kChunk = 1024;
  const int tasks = static_cast<int>((n + kRows - 1) / kRows);
  cv::parallel_for_(cv::Range(0, tasks), [&](const cv::Range& range) {
    alignas(64) float logit[kChunk];
    std::vector<double> acc(D);
    for (int task = range.start; task < range.end; ++task) {
      for (Eigen::Index r = task * kRows; r < std::min(n, (task + 1) * kRows); ++r) {
        float running_max = -std::numeric_limits<float>::infinity();
        double total = 0.0;
        std::fill(acc.begin(), acc.end(), 0.0);
        for (Eigen::Index j0 = 0; j0 < N; j0 += kChunk) {
          const Eigen::Index m = std::min(kChunk, N - j0);
          using Vec = Eigen::Map<const Eigen::ArrayXf>;
          Eigen::Map<Eigen::ArrayXf> l(logit, m);
          l = -c_norm * Vec(data_sq_norms_.data() + j0, m);
          for (int d = 0; d < D; ++d) l += (c_dot * x_t(r, d)) * Vec(data_by_dim_.data() + d * N + j0, m);
          const float chunk_max = l.maxCoeff();
          if (chunk_max > running_max) {
            const double rescale = std::exp(static_cast<double>(running_max) - chunk_max);
            total *= rescale;
            for (double& v : acc) v *= rescale;
            running_max = chunk_max;
          }
          l = (l - running_max).exp();
          total += l.sum();
          for (int d = 0; d < D; ++d) acc[d] += (l * Vec(data_by_dim_.data() + d * N + j0, m)).sum();
        }
        for (int d = 0; d < D; ++d) out(r, d) = static_cast<float>(acc[d] / total);
      }
    }
  });
  return out;
}

Batch EmpiricalDenoiser::PosteriorMean(const Batch& x_t, double a) const {
  Require(x_t.cols() == data_.cols(),
          "the data has " + std::to_string(data_.cols()) + " columns; x_t has " + std::to_string(x_t.cols()));
  Require(a >= 0.0 && a <= 1.0, "alpha_bar must be in [0, 1] for the empirical denoiser");  // 0: the data's mean
  if (data_.cols() <= 8) return PosteriorMeanLowDim(x_t, a);
  const float sa = static_cast<float>(std::sqrt(a));
  const float inv2v = static_cast<float>(1.0 / (2.0 * std::max(1.0 - a, 1e-12)));
  Batch out(x_t.rows(), x_t.cols());
  const Eigen::Index n = x_t.rows();
  constexpr Eigen::Index kBlock = 128;  // rows per task: the logits block stays in cache
  const int tasks = static_cast<int>((n + kBlock - 1) / kBlock);
  cv::parallel_for_(cv::Range(0, tasks), [&](const cv::Range& range) {
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> logits;
    for (int task = range.start; task < range.end; ++task) {
      const Eigen::Index r0 = task * kBlock, rows = std::min(kBlock, n - r0);
      const auto x = x_t.middleRows(r0, rows);
      // -|x - sqrt(a) y|^2 / (2 (1 - a)) up to a per-row constant: (2 sqrt(a) x.y - a |y|^2) / (2 (1 - a)).
      logits.noalias() = (2.0f * sa * inv2v) * (x * data_.transpose());
      logits.rowwise() -= (static_cast<float>(a) * inv2v) * data_sq_norms_.transpose();
      const Eigen::VectorXf row_max = logits.rowwise().maxCoeff();
      // Row by row: exp of a broadcast expression falls back to scalar expf; of a contiguous row it vectorises.
      for (Eigen::Index r = 0; r < rows; ++r) logits.row(r) = (logits.row(r).array() - row_max[r]).exp();
      const Eigen::VectorXf total = logits.rowwise().sum();
      out.middleRows(r0, rows).noalias() = logits * data_;
      out.middleRows(r0, rows).array().colwise() /= total.array();
    }
  });
  return out;
}

Prediction EmpiricalDenoiser::Predict(const Batch& x_t, const DenoiseQuery& query) {
  return {PredictionKind::kX0, PosteriorMean(x_t, query.alpha_bar), VarianceKind::kNone, {}};
}

PosteriorOracle::PosteriorOracle(Batch x0) : x0_(std::move(x0)) {
  Require(x0_.rows() >= 1 && x0_.cols() >= 1 && x0_.allFinite(), "the posterior oracle needs a finite x_0");
}

Prediction PosteriorOracle::Predict(const Batch& x_t, const DenoiseQuery&) {
  Require(x_t.cols() == x0_.cols(),
          "the oracle's x_0 has " + std::to_string(x0_.cols()) + " columns; x_t has " + std::to_string(x_t.cols()));
  Prediction p;
  p.kind = PredictionKind::kX0;
  if (x0_.rows() == x_t.rows()) {
    p.value = x0_;
  } else {
    Require(x0_.rows() == 1, "the oracle has " + std::to_string(x0_.rows()) + " x_0 rows for " +
                                 std::to_string(x_t.rows()) + " samples");
    p.value = x0_.replicate(x_t.rows(), 1);
  }
  return p;
}

}  // namespace diffuscope

// Exact denoisers: no training, the ground truth for every learned model.
//
//   diffuscope::GaussianMixture mixture = diffuscope::GaussianMixture::EightGaussians();
//   diffuscope::GaussianMixtureDenoiser exact(mixture);          // E[x_0 | x_t] in closed form
//   diffuscope::EmpiricalDenoiser empirical(data_points);         // the optimal denoiser of a finite set
//   diffuscope::PosteriorOracle oracle(x0);                       // knows x_0: q(x_{t-1} | x_t, x_0)
#pragma once

#include "core/common/types.h"
#include "core/models/denoiser.h"

#include <cstdint>
#include <vector>

namespace diffuscope {

/// A mixture of Gaussians in D dimensions with full covariances.
struct GaussianMixture {
  std::vector<double> weights;               // sum to 1
  std::vector<Eigen::VectorXd> means;        // D each
  std::vector<Eigen::MatrixXd> covariances;  // D x D, symmetric positive definite

  int dimension() const { return means.empty() ? 0 : static_cast<int>(means.front().size()); }
  /// Empty when valid (same sizes, weights > 0 summing to 1, covariances SPD), else what is wrong.
  std::string Check() const;
  /// Mean and covariance of the whole mixture.
  Eigen::VectorXd Mean() const;
  Eigen::MatrixXd Covariance() const;
  /// n samples (rows), from (seed, Stream::kData); labels (when not null) receives each sample's component.
  Batch Sample(int n, uint64_t seed, std::vector<int>* labels = nullptr) const;

  /// The law of scale x + shift (shift: D values): means scale mu_k + shift, covariances scale^2 S_k. Maps a law to
  /// and from a normalised space (PointNormalization: scale 1/s, shift -c/s into it).
  GaussianMixture Affine(double scale, const Eigen::VectorXd& shift) const;

  /// Eight 2D Gaussians on a circle of radius `radius`, each with standard deviation `sd`.
  static GaussianMixture EightGaussians(double radius = 2.0, double sd = 0.2);
};

/// E[x_0 | x_t] and the score of p_t for a Gaussian-mixture data law, in closed form:
/// p_t = sum_k w_k N(sqrt(a) mu_k, a S_k + (1 - a) I), and per component
/// E[x_0 | x_t, k] = mu_k + sqrt(a) S_k (a S_k + (1 - a) I)^{-1} (x_t - sqrt(a) mu_k).
class GaussianMixtureDenoiser : public Denoiser {
 public:
  explicit GaussianMixtureDenoiser(GaussianMixture mixture);
  std::string name() const override { return "exact Gaussian mixture"; }
  Prediction Predict(const Batch& x_t, const DenoiseQuery& query) override;  // kX0
  int dimension() const override { return mixture_.dimension(); }

  /// E[x_0 | x_t] at alpha_bar a.
  Batch PosteriorMean(const Batch& x_t, double alpha_bar) const;
  /// grad log p_t(x_t) at alpha_bar a.
  Batch Score(const Batch& x_t, double alpha_bar) const;
  /// log p_t(x_t) per row.
  Eigen::VectorXd LogDensity(const Batch& x_t, double alpha_bar) const;
  const GaussianMixture& mixture() const { return mixture_; }

 private:
  // Responsibilities (rows x K) and per-component x_t - sqrt(a) mu_k precision-weighted, shared by all three.
  void Components(const Batch& x_t, double alpha_bar, Eigen::MatrixXd* log_resp,
                  std::vector<Eigen::MatrixXd>* whitened) const;
  // Posterior component probabilities (rows x K), normalised with log-sum-exp.
  void Responsibilities(const Batch& x_t, double alpha_bar, Eigen::MatrixXd* resp,
                        std::vector<Eigen::MatrixXd>* whitened) const;
  GaussianMixture mixture_;
};

/// The optimal denoiser of a finite data set {y_i} (the empirical law): E[x_0 | x_t] is the softmax-weighted
/// mean of the data points with logits -|x_t - sqrt(a) y_i|^2 / (2 (1 - a)), computed with log-sum-exp.
/// Works for 2D points and for images (rows of C*H*W). Sampling with it reproduces training points: the
/// reason learned models generalise is that they are not this.
class EmpiricalDenoiser : public Denoiser {
 public:
  explicit EmpiricalDenoiser(Batch data);
  std::string name() const override { return "exact empirical"; }
  Prediction Predict(const Batch& x_t, const DenoiseQuery& query) override;  // kX0
  int dimension() const override { return static_cast<int>(data_.cols()); }
  Batch PosteriorMean(const Batch& x_t, double alpha_bar) const;
  const Batch& data() const { return data_; }

 private:
  Batch PosteriorMeanLowDim(const Batch& x_t, double alpha_bar) const;
  Batch data_;
  Eigen::VectorXf data_sq_norms_;
  Eigen::MatrixXf data_by_dim_;  // N x D column-major: each dimension's values contiguous, for low D
};

/// Knows the true x_0 (one row, broadcast to every sample, or one row per sample): predicts it exactly, so
/// the DDPM step is the true posterior q(x_{t-1} | x_t, x_0).
class PosteriorOracle : public Denoiser {
 public:
  explicit PosteriorOracle(Batch x0);
  std::string name() const override { return "posterior oracle"; }
  Prediction Predict(const Batch& x_t, const DenoiseQuery& query) override;  // kX0
  int dimension() const override { return static_cast<int>(x0_.cols()); }

 private:
  Batch x0_;
};

}  // namespace diffuscope

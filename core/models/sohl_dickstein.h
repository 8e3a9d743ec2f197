// The diffusion probabilistic model of Sohl-Dickstein, Weiss, Maheswaranathan and Ganguli (2015) on 2D points
// (their Figure 1: the swiss roll, T = 40). The reverse kernel p(x_{t-1} | x_t) = N(mu(x_t, t), Sigma(x_t, t)) has a
// learned mean AND a learned diagonal variance at every step; both come from one network of (x, y, t) (tiny-
// diffusion's MLP with 4 outputs: f_mu in R^2, f_Sigma in R^2):
//   mu        = (x_t - beta_t / sqrt(1 - alpha_bar_t) f_mu) / sqrt(alpha_t)
//   log Sigma = log beta_t + f_Sigma       (a perturbation of the forward variance, as in the paper's code)
// It is trained on the variational bound on the negative log likelihood (nats per point):
//   L = sum_{t=2..T} KL(q(x_{t-1}|x_t,x_0) || p(x_{t-1}|x_t)) - log p(x_0|x_1) + KL(q(x_T|x_0) || N(0, I)),
// one t per example (stratified over the batch) weighted by T. The schedule is the paper code's (kSohlDickstein,
// beta_t = 1/(T - t + 1) roughly, T = 40). Sampling: PredictionKind::kMean with VarianceKind::kLearnedLog and the
// sampler's learned variance, every step (no striding).
//
//   diffuscope::Batch roll = diffuscope::MakeSwissRoll(20000, 1);
//   diffuscope::SohlDicksteinModel model;                                   // untrained
//   diffuscope::TrainSohlDickstein(model, roll, diffuscope::SohlDicksteinDefaultTraining(), progress, stop);
//   diffuscope::SohlDicksteinBound b = diffuscope::EvaluateBound(model, diffuscope::MakeSwissRoll(5000, 2), 3);
//   double baseline = diffuscope::GaussianNll(roll, diffuscope::MakeSwissRoll(5000, 2));  // b.nll < baseline
//   diffuscope::SamplerOptions learned{.variance = diffuscope::VarianceChoice::kLearned};
//   diffuscope::Batch x0 = diffuscope::Sample(model.schedule(), model, learned, diffuscope::InitialNoise(2000, 2, 7));
#pragma once

#include "core/common/types.h"
#include "core/models/learned_model.h"
#include "core/nn/network.h"
#include "core/schedule/schedule.h"
#include "core/train/trainer.h"

#include <filesystem>
#include <string>
#include <vector>

namespace diffuscope {

/// The model_type of Sohl-Dickstein 2D model files.
inline constexpr const char* kSohlDicksteinModelType = "sohl-dickstein-2d";

/// The paper code's schedule with T = 40 (beta_1 = 0.026, beta_T = 0.5, alpha_bar_T = 0.024).
ScheduleOptions SohlDicksteinSchedule();
/// The recipe of the shipped model: batch 256, AdamW 1e-3 with 500 warm-up updates and cosine decay to 1e-5, no
/// weight decay, clip 1, EMA 0.999, 30,000 updates.
TrainOptions SohlDicksteinDefaultTraining();

/// KL(N(mean1, exp(log_variance1)) || N(mean2, exp(log_variance2))) of one dimension, in nats.
double NormalKl(double mean1, double log_variance1, double mean2, double log_variance2);
/// -log N(x; mean, exp(log_variance)) of one dimension, in nats.
double GaussianNegLogDensity(double x, double mean, double log_variance);

struct SohlDicksteinOptions {
  int embedding_size = 128;   // sinusoidal features of each of x, y and t
  double input_scale = 25.0;  // x and y are multiplied by this before their sinusoidal features
  int hidden_size = 128;      // width of the hidden layers
  int hidden_layers = 3;      // residual GELU blocks
  ScheduleOptions schedule = SohlDicksteinSchedule();

  /// Empty when valid, else what is wrong, naming the option.
  std::string Check() const;
  /// The network: TinyDiffusionSpec with 4 outputs (f_mu, f_Sigma).
  NetworkSpec network() const;
};

/// The bound's terms on a training batch: per example b, its timestep t_b (1..T), x_0 and x_t (rows), and the
/// network's raw outputs (B x 4). Returns T times the mean over the batch of each example's term (KL for t >= 2,
/// -log p(x_0|x_1) for t = 1), in nats per point: an unbiased estimate of the bound without its constant prior
/// term. When d_output is not null it receives d(loss)/d(output) (B x 4).
double SohlDicksteinLoss(const NoiseSchedule& schedule, const std::vector<int>& t, const Batch& x0, const Batch& x_t,
                         const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>& output,
                         Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>* d_output = nullptr);

class SohlDicksteinModel : public LearnedModel {
 public:
  /// An untrained model (weights from seed 0). Throws Error when options.Check() fails.
  explicit SohlDicksteinModel(const SohlDicksteinOptions& options = {});
  /// A model from a model file; throws Error when it is not a Sohl-Dickstein 2D file or its network does not map
  /// (x, y, t) to 4 values.
  explicit SohlDicksteinModel(ModelFile file);
  /// Loads a model file (Error names the file and the problem).
  static SohlDicksteinModel Load(const std::filesystem::path& path) {
    return LoadLearnedModel<SohlDicksteinModel>(path);
  }

  /// The model as a file; with_training_state keeps AdamW's moments and the raw weights so training can resume.
  ModelFile ToModelFile(bool with_training_state = false) const override;

  std::string name() const override;
  /// The reverse kernel's mean (kMean) and log variance (kLearnedLog) for every row of x_t (n x 2, normalised space:
  /// see LearnedModel::normalization). The query must
  /// be one unstrided step (t_prev = t - 1) of the model's own schedule (the kernel is learned per step).
  Prediction Predict(const Batch& x_t, const DenoiseQuery& query) override;
  int dimension() const override { return 2; }

  /// Mean and log variance of p(x_{t-1} | x_t) for x_t (n x 2) at paper timestep t (1..T).
  void ReverseKernel(const Batch& x_t, int t, Batch* mean, Batch* log_variance);

 private:
  friend TrainReport TrainSohlDickstein(SohlDicksteinModel&, const Batch&, const TrainOptions&, const TrainProgressFn&,
                                        const StopFn&, const std::filesystem::path&);
  Batch output_;  // scratch of ReverseKernel: the network's 4 outputs (f_mu, f_Sigma)
};

/// Trains model on data (n x 2 points in the data's units, mapped with model.normalization(): set it first) on the
/// variational bound: each update draws batch_size points (with
/// replacement), timesteps t_b = 1 + (b + offset) mod T (stratified; offset uniform per update) and x_t ~
/// q(x_t|x_0), keyed by (options.seed, Stream::kTraining, update); the loss is SohlDicksteinLoss (nats per point,
/// without the constant prior term). Resuming, progress, stop and checkpoints as TrainDdpm2d's. Throws Error on bad
/// data or options, or on divergence.
TrainReport TrainSohlDickstein(SohlDicksteinModel& model, const Batch& data, const TrainOptions& options,
                               const TrainProgressFn& progress = {}, const StopFn& stop = {},
                               const std::filesystem::path& checkpoint_path = {});

/// The variational bound on held-out points, in nats per point (divide by ln 2 for bits), and its terms.
struct SohlDicksteinBound {
  int points = 0;
  double nll = 0;             // the bound on -log p(x_0): kl + decoder + prior (lower is better)
  double kl = 0;              // sum over t = 2..T of KL(q(x_{t-1}|x_t,x_0) || p(x_{t-1}|x_t))
  double decoder = 0;         // -log p(x_0 | x_1)
  double prior = 0;           // KL(q(x_T|x_0) || N(0, I)) (no parameters)
  double standard_error = 0;  // of nll, over the points
};

/// Estimates the bound for each row of points (n x 2, in the data's units: they are mapped with the model's
/// normalisation, and the bound is that of the density in data units): every t = 1..T with x_t ~ q(x_t|x_0) drawn from
/// (seed, Stream::kUser, t) (`draws` independent x_t per point and t, averaged). stop is asked between timesteps.
SohlDicksteinBound EvaluateBound(SohlDicksteinModel& model, const Batch& points, uint64_t seed, int draws = 1,
                                 const StopFn& stop = {});

/// The baseline of the paper's Table 1: the mean negative log density (nats per point) of `points` under the
/// Gaussian with the mean and (maximum-likelihood) covariance of `fit` (any dimension >= 1; Error when the
/// covariance is singular or the shapes differ).
double GaussianNll(const Batch& fit, const Batch& points);
/// As GaussianNll with an isotropic Gaussian: the mean of fit and one variance (the mean per-coordinate variance).
double IsotropicGaussianNll(const Batch& fit, const Batch& points);

}  // namespace diffuscope

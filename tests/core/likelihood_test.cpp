// The probability-flow ODE likelihood against exact log-densities (issue 10: within 0.02 nats per point).
#include "core/run/likelihood.h"

#include "core/run/sampler_error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

namespace diffuscope {
namespace {

GaussianMixture SingleGaussian(const Eigen::Vector2d& mean, const Eigen::Matrix2d& covariance) {
  GaussianMixture g;
  g.weights = {1.0};
  g.means = {mean};
  g.covariances = {covariance};
  return g;
}

// The 8gaussians law of the data set (centres at radius sqrt 2, sd 0.1), as the CLI's mixture.
GaussianMixture EightGaussiansLaw() { return GaussianMixture::EightGaussians(std::sqrt(2.0), 0.1); }

// A stand-in for a learned eps-model whose eps is known in closed form: the data law N(0, s^2 I), so
// eps(x_t, a) = sqrt(1 - a) x_t / (a s^2 + 1 - a). Its predictions are float, as a network's are.
class GaussianEpsModel : public Denoiser {
 public:
  explicit GaussianEpsModel(double s) : s_(s) {}
  std::string name() const override { return "Gaussian eps"; }
  int dimension() const override { return 2; }
  Prediction Predict(const Batch& x_t, const DenoiseQuery& q) override {
    const double a = q.alpha_bar;
    Prediction p;
    p.kind = PredictionKind::kEps;
    p.value = (x_t.cast<double>() * (std::sqrt(1.0 - a) / (a * s_ * s_ + 1.0 - a))).cast<float>();
    return p;
  }

 private:
  double s_;
};

class MeanModel : public Denoiser {
 public:
  std::string name() const override { return "mean"; }
  Prediction Predict(const Batch& x_t, const DenoiseQuery&) override { return {PredictionKind::kMean, x_t, {}, {}}; }
};

double MeanAbsDifference(const Eigen::VectorXd& a, const Eigen::VectorXd& b) { return (a - b).cwiseAbs().mean(); }

TEST(Likelihood, DormandPrinceSolvesExponentialDecayBothWays) {
  Eigen::MatrixXd y0(2, 1);
  y0 << 1.0, -2.0;
  auto decay = [](const Eigen::MatrixXd& y, double) -> Eigen::MatrixXd { return -y; };
  const DormandPrinceSolution forward = IntegrateDormandPrince(decay, y0, 0.0, 3.0, 1e-10);
  EXPECT_NEAR(forward.state(0, 0), std::exp(-3.0), 1e-8);
  EXPECT_NEAR(forward.state(1, 0), -2.0 * std::exp(-3.0), 1e-8);
  const DormandPrinceSolution back = IntegrateDormandPrince(decay, forward.state, 3.0, 0.0, 1e-10);
  EXPECT_NEAR(back.state(0, 0), 1.0, 1e-7);
  EXPECT_THROW(IntegrateDormandPrince(decay, y0, 1.0, 1.0, 1e-6), Error);
  EXPECT_THROW(IntegrateDormandPrince(decay, y0, 0.0, 1.0, 1e-12, 0.0, {}, 5), Error);  // max_attempts
}

TEST(Likelihood, DivergenceOfAGaussianIsItsClosedForm) {
  // N(mu, s^2 I): eps = sigma (y - mu) / (s^2 + sigma^2), div_y eps = D sigma / (s^2 + sigma^2) everywhere.
  const double s = 0.7;
  const GaussianMixture g = SingleGaussian({0.3, -0.2}, s * s * Eigen::Matrix2d::Identity());
  Eigen::MatrixXd y(3, 2);
  y << 0.0, 0.0, 1.5, -2.0, -4.0, 7.0;
  for (double sigma : {0.0, 0.01, 0.5, 3.0, 100.0}) {
    const Eigen::VectorXd div = MixtureNoiseDivergence(g, y, sigma);
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(div(i), 2.0 * sigma / (s * s + sigma * sigma), 1e-12) << sigma;
  }
  // The central-difference divergence of a model with that eps, through the Denoiser interface (float values).
  GaussianEpsModel model(s);
  const Eigen::MatrixXd y0 = y.rowwise() - Eigen::RowVector2d(0.3, -0.2);  // the model's law is centred
  for (double sigma : {0.05, 0.5, 3.0, 100.0}) {
    Eigen::VectorXd div;
    const Eigen::MatrixXd eps = ModelNoisePrediction(model, y0, sigma, 1e-3, &div);
    for (int i = 0; i < 3; ++i) {
      EXPECT_NEAR(div(i), 2.0 * sigma / (s * s + sigma * sigma), 2e-3) << sigma;
      EXPECT_NEAR(eps(i, 0), sigma * y0(i, 0) / (s * s + sigma * sigma), 1e-5);
    }
  }
}

TEST(Likelihood, MixtureDivergenceMatchesDifferencesOfItsNoisePrediction) {
  // The closed form against central differences of MixtureNoisePrediction in double, where the components mix.
  const GaussianMixture m = EightGaussiansLaw();
  Eigen::MatrixXd y(4, 2);
  y << 0.1, 0.2, 1.0, 1.0, 1.4, 0.05, -0.3, 1.2;
  for (double sigma : {0.05, 0.3, 1.0, 10.0}) {
    const Eigen::VectorXd div = MixtureNoiseDivergence(m, y, sigma);
    const double h = 1e-5;
    for (int i = 0; i < 4; ++i) {
      double fd = 0;
      for (int j = 0; j < 2; ++j) {
        Eigen::MatrixXd plus = y.row(i), minus = y.row(i);
        plus(0, j) += h;
        minus(0, j) -= h;
        fd += (MixtureNoisePrediction(m, plus, sigma)(0, j) - MixtureNoisePrediction(m, minus, sigma)(0, j)) / (2 * h);
      }
      EXPECT_NEAR(div(i), fd, 1e-5 * (1 + std::abs(fd))) << "sigma " << sigma << " row " << i;
    }
  }
  // The exact mixture denoiser (x_0 prediction, float) through the model path agrees away from sigma = 0.
  GaussianMixtureDenoiser exact(m);
  for (double sigma : {0.3, 1.0, 10.0}) {
    Eigen::VectorXd div;
    ModelNoisePrediction(exact, y, sigma, 1e-3, &div);
    const Eigen::VectorXd truth = MixtureNoiseDivergence(m, y, sigma);
    for (int i = 0; i < 4; ++i) EXPECT_NEAR(div(i), truth(i), 0.02 * (1 + std::abs(truth(i)))) << sigma;
  }
}

TEST(Likelihood, SingleGaussianMatchesItsExactLogDensity) {
  Eigen::Matrix2d covariance;
  covariance << 0.5, 0.2, 0.2, 0.3;
  const GaussianMixture g = SingleGaussian({0.4, -0.1}, covariance);
  const Batch points = g.Sample(100, 3);
  LikelihoodOptions options;
  options.alpha_bar_T = 4e-5;  // linear T = 1000's end: sigma_T = 158
  const LikelihoodReport r = OdeLogLikelihood(g, points, {}, options);
  const Eigen::VectorXd exact = MixtureLogDensity(g, points, {});
  EXPECT_LT(MeanAbsDifference(r.log_likelihood, exact), 0.02);
  EXPECT_LT((r.log_likelihood - exact).cwiseAbs().maxCoeff(), 0.05);
  EXPECT_NEAR(r.mean_nll, -exact.mean(), 0.02);
  EXPECT_GT(r.steps, 5);
  EXPECT_EQ(r.nfe, r.evaluations);  // closed-form divergence: one evaluation per right-hand side
  EXPECT_EQ(r.evaluations, 1 + 6LL * (r.steps + r.rejected));
  EXPECT_GT(r.standard_error, 0.0);
}

TEST(Likelihood, MixtureMatchesItsExactLogDensity) {
  // The requirement: the ODE likelihood of the mixture within 0.02 nats per point of its exact log-density.
  const GaussianMixture m = EightGaussiansLaw();
  Batch points = m.Sample(200, 11);
  LikelihoodOptions options;
  options.alpha_bar_T = 4e-5;
  long long last = -1;
  const LikelihoodReport r =
      OdeLogLikelihood(m, points, {}, options, [&](long long done, long long total, const std::string&) {
        EXPECT_EQ(total, 1000);
        EXPECT_GE(done, last);
        last = done;
      });
  EXPECT_EQ(last, 1000);
  const Eigen::VectorXd exact = MixtureLogDensity(m, points, {});
  EXPECT_LT(MeanAbsDifference(r.log_likelihood, exact), 0.02);
  EXPECT_NEAR(r.mean_nll, -exact.mean(), 0.02);
  // Off the law (between the components, far out) too: the ODE is exact everywhere, not only on typical points.
  Batch odd(3, 2);
  odd << 0.0f, 0.0f, 1.0f, 0.0f, 3.0f, -3.0f;
  const LikelihoodReport r2 = OdeLogLikelihood(m, odd, {}, options);
  const Eigen::VectorXd exact2 = MixtureLogDensity(m, odd, {});
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(r2.log_likelihood(i), exact2(i), 0.05) << i;
}

TEST(Likelihood, LearnedModelPathWithCentralDifferencesMatchesExact) {
  // Through the Denoiser interface (float eps, divergence by differences) for a law with known density N(0, s^2 I).
  const double s = 0.6;
  GaussianEpsModel model(s);
  const GaussianMixture g = SingleGaussian(Eigen::Vector2d::Zero(), s * s * Eigen::Matrix2d::Identity());
  const Batch points = g.Sample(100, 5);
  LikelihoodOptions options;
  options.alpha_bar_T = 4e-5;
  options.tolerance = 1e-5;
  const LikelihoodReport r = OdeLogLikelihood(model, points, {}, options);
  EXPECT_LT(MeanAbsDifference(r.log_likelihood, MixtureLogDensity(g, points, {})), 0.02);
  EXPECT_EQ(r.nfe, 5 * r.evaluations);  // the value and two passes per direction
}

TEST(Likelihood, ChangeOfScaleShiftsByLogDeterminant) {
  const GaussianMixture m = EightGaussiansLaw();
  const Batch z = m.Sample(100, 21);
  LikelihoodOptions options;
  options.alpha_bar_T = 4e-5;
  const LikelihoodReport base = OdeLogLikelihood(m, z, {}, options);
  // The same law seen in data units x = 3 z + (5, -1): the model runs in z; log p_x = log p_z - 2 log 3.
  const PointNormalization normalization{5.0, -1.0, 3.0};
  const Batch x = normalization.ToData(z);
  const LikelihoodReport scaled = OdeLogLikelihood(m, x, normalization, options);
  EXPECT_DOUBLE_EQ(scaled.log_det_normalization, -2.0 * std::log(3.0));
  EXPECT_LT(((scaled.log_likelihood - base.log_likelihood).array() + 2.0 * std::log(3.0)).abs().maxCoeff(), 1e-3);
  // And the ODE itself on the law rescaled (no normalisation): the shift agrees within the solver's accuracy.
  const double c = 0.5;
  const GaussianMixture wide = m.Affine(c, Eigen::Vector2d(0.2, 0.1));
  Batch cz = static_cast<float>(c) * z;
  cz.rowwise() += Eigen::RowVector2f(0.2f, 0.1f);
  const LikelihoodReport direct = OdeLogLikelihood(wide, cz, {}, options);
  EXPECT_NEAR(direct.mean_nll - base.mean_nll, 2.0 * std::log(c), 0.03);
}

TEST(Likelihood, BadInputIsRefused) {
  const GaussianMixture m = EightGaussiansLaw();
  const Batch points = m.Sample(10, 1);
  LikelihoodOptions ok;
  EXPECT_TRUE(ok.Check().empty());
  for (double a : {0.0, 1.0, -0.1, std::nan("")}) {
    LikelihoodOptions o;
    o.alpha_bar_T = a;
    EXPECT_NE(o.Check().find("alpha_bar_T"), std::string::npos);
    EXPECT_THROW(OdeLogLikelihood(m, points, {}, o), Error);
  }
  LikelihoodOptions o;
  o.tolerance = 0;
  EXPECT_NE(o.Check().find("tolerance"), std::string::npos);
  o = {};
  o.difference_step = 0;
  EXPECT_NE(o.Check().find("difference_step"), std::string::npos);
  o = {};
  o.max_steps = 0;
  EXPECT_NE(o.Check().find("max_steps"), std::string::npos);
  Batch bad = points;
  bad(2, 1) = NAN;
  EXPECT_THROW(OdeLogLikelihood(m, bad, {}, ok), Error);
  EXPECT_THROW(OdeLogLikelihood(m, Batch(0, 2), {}, ok), Error);
  EXPECT_THROW(OdeLogLikelihood(m, Batch::Zero(3, 3), {}, ok), Error);
  EXPECT_THROW(OdeLogLikelihood(m, points, PointNormalization{0, 0, -1}, ok), Error);
  MeanModel mean_model;
  try {
    OdeLogLikelihood(mean_model, points, {}, ok);
    ADD_FAILURE() << "a mean-predicting model has no probability-flow ODE";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("variational bound"), std::string::npos) << e.what();
  }
  LikelihoodOptions few;
  few.max_steps = 10;
  few.tolerance = 1e-12;
  EXPECT_THROW(OdeLogLikelihood(m, points, {}, few), Error);
}

TEST(Likelihood, StopCancels) {
  const GaussianMixture m = EightGaussiansLaw();
  int asked = 0;
  EXPECT_THROW(OdeLogLikelihood(m, m.Sample(10, 1), {}, {}, {}, [&] { return ++asked > 3; }), Cancelled);
  EXPECT_EQ(asked, 4);
}

}  // namespace
}  // namespace diffuscope

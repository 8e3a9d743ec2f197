// The likelihood of held-out points under the workspace's 2D model (the Likelihood dialog's and diffuscope-cli
// likelihood's one call): the exact mixture's ODE NLL equals its exact density, the baselines are their closed forms,
// and models without a density are refused.
#include "core/run/model_likelihood.h"

#include "core/models/ddpm2d.h"
#include "core/models/exact.h"
#include "core/models/flow2d.h"
#include "core/models/sohl_dickstein.h"

#include <gtest/gtest.h>

#include <cmath>

namespace diffuscope {
namespace {

TEST(ModelLikelihood, TheMixturesOdeNllIsItsExactDensity) {
  GaussianMixtureDenoiser mixture(EightGaussiansDataLaw());
  ModelLikelihoodInput input;
  input.model = &mixture;
  input.held_out = LikelihoodHeldOut("8gaussians", 1000, 0);
  input.fit = LikelihoodFitPoints("8gaussians", 0);
  input.mixture_law = true;
  long long last = 0;
  const ModelLikelihood r =
      MeasureModelLikelihood(input, {}, [&](long long done, long long, const std::string&) { last = done; });
  EXPECT_EQ(last, 1000);  // per mille of the (last) solve
  ASSERT_EQ(r.lines.size(), 4u);
  EXPECT_EQ(r.lines[0].method, "probability-flow ODE, exact mixture (closed-form div)");
  EXPECT_EQ(r.lines[1].method, "probability-flow ODE, exact denoiser (differences)");
  EXPECT_EQ(r.lines[2].method, "exact log-density of the 8gaussians mixture");
  EXPECT_EQ(r.lines[3].method, "full-covariance Gaussian fitted to the data");
  const Eigen::VectorXd exact = MixtureLogDensity(EightGaussiansDataLaw(), input.held_out, {});
  EXPECT_EQ(r.lines[2].nll, -exact.mean());
  EXPECT_NEAR(r.lines[2].nll, 0.3434, 5e-5);  // the README's figure: 1,000 held-out points of seed 0
  // The ODE's NLL within 0.002 nats of the exact density, per point within 0.02.
  EXPECT_NEAR(r.lines[0].nll, r.lines[2].nll, 2e-3);
  EXPECT_NEAR(r.lines[1].nll, r.lines[2].nll, 2e-3);
  ASSERT_TRUE(r.ode.has_value());
  EXPECT_LT((r.ode->log_likelihood - exact).cwiseAbs().maxCoeff(), 0.02);
  EXPECT_EQ(r.exact_log_p, exact);
  EXPECT_GT(r.lines[0].nfe, 0);
  EXPECT_GT(r.lines[1].nfe, r.lines[0].nfe);  // 1 + 2 D evaluations per right-hand side
  EXPECT_LT(r.lines[0].standard_error, 0.1);
  // The fitted Gaussian's line is GaussianNll, its per-point log-density the same Gaussian.
  EXPECT_EQ(r.lines[3].nll, GaussianNll(input.fit, input.held_out));
  EXPECT_NEAR(-r.gaussian_log_p.mean(), r.lines[3].nll, 1e-9);
  EXPECT_GT(r.lines[3].nll, r.lines[2].nll + 2.0);  // 8 tight components are far from one Gaussian
}

TEST(ModelLikelihood, GaussianBaselineIsExactForAGaussianLaw) {
  // Points of N(mu, S) fitted on many of them: the fitted log-density is the true one.
  GaussianMixture g;
  g.weights = {1.0};
  g.means = {Eigen::Vector2d(0.4, -0.1)};
  Eigen::Matrix2d S;
  S << 0.5, 0.2, 0.2, 0.3;
  g.covariances = {S};
  GaussianMixtureDenoiser model(g);
  ModelLikelihoodInput input;
  input.model = &model;
  input.held_out = g.Sample(200, 3);
  input.fit = g.Sample(200000, 4);
  ModelLikelihoodOptions options;
  options.tolerance = 1e-7;
  const ModelLikelihood r = MeasureModelLikelihood(input, options);
  const Eigen::VectorXd exact = MixtureLogDensity(g, input.held_out, {});
  EXPECT_LT((r.gaussian_log_p - exact).cwiseAbs().maxCoeff(), 0.05);  // fitted on 200,000 points
  EXPECT_NEAR(r.lines.back().nll, -exact.mean(), 0.01);
  // The ODE's per-point error is the prior's: N(0, I) at alpha_bar_T for a law whose mean is not 0.
  EXPECT_LT((r.ode->log_likelihood - exact).cwiseAbs().maxCoeff(), 0.05);
  EXPECT_NEAR(r.lines[0].nll, -exact.mean(), 0.01);
  EXPECT_EQ(r.lines.size(), 3u);  // no mixture law: no exact line
}

TEST(ModelLikelihood, LearnedFlowAndBoundModels) {
  const Batch points = LikelihoodHeldOut("8gaussians", 40, 1);
  const Batch fit = LikelihoodFitPoints("8gaussians", 1);
  // A DDPM (untrained: any field has an ODE), ended at its schedule's alpha_bar_T.
  Ddpm2dModel ddpm;
  const NoiseSchedule ddpm_schedule(ddpm.schedule());
  ModelLikelihoodInput input{.model = &ddpm, .schedule = &ddpm_schedule, .held_out = points, .fit = fit};
  ModelLikelihood r = MeasureModelLikelihood(input, {});
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(r.lines[0].method, "probability-flow ODE, " + ddpm.name());
  const double a = ddpm_schedule.alpha_bar(ddpm_schedule.num_steps());
  EXPECT_NEAR(r.ode->sigma_T, std::sqrt((1 - a) / a), 1e-9 * r.ode->sigma_T);
  EXPECT_EQ(r.lines[0].nfe, r.ode->nfe);
  // A flow model's schedule ends at alpha_bar = 0 (s = 1): the ODE ends at LikelihoodOptions' 1e-4 instead.
  Flow2dModel flow;
  const NoiseSchedule flow_schedule(flow.schedule());
  input.model = &flow;
  input.schedule = &flow_schedule;
  r = MeasureModelLikelihood(input, {});
  EXPECT_NEAR(r.ode->sigma_T, std::sqrt((1 - 1e-4) / 1e-4), 1e-6);
  // Sohl-Dickstein's reverse-mean model has no ODE: its variational bound, as EvaluateBound gives it.
  SohlDicksteinModel sd;
  input.model = &sd;
  input.schedule = nullptr;
  r = MeasureModelLikelihood(input, {});
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_FALSE(r.ode.has_value());
  EXPECT_EQ(r.lines[0].method, "variational bound, " + sd.name());
  EXPECT_EQ(r.lines[0].nll, EvaluateBound(sd, points, 0, 4).nll);
  EXPECT_EQ(r.lines[0].nfe, -1);
  // Beside another model: the bound of bound_model.
  input.model = &ddpm;
  input.bound_model = &sd;
  r = MeasureModelLikelihood(input, {});
  ASSERT_EQ(r.lines.size(), 3u);
  EXPECT_EQ(r.lines[1].method, "variational bound, " + sd.name());
}

TEST(ModelLikelihood, RefusesWhatHasNoDensity) {
  const Batch points = LikelihoodHeldOut("moons", 20, 1);
  ModelLikelihoodInput input{.held_out = points, .fit = LikelihoodFitPoints("moons", 1)};
  auto message = [&](Denoiser* model) -> std::string {
    input.model = model;
    try {
      MeasureModelLikelihood(input, {});
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(message(nullptr).find("no model"), std::string::npos);
  EmpiricalDenoiser empirical(points);
  EXPECT_NE(message(&empirical).find("empirical denoiser"), std::string::npos);
  // An image model: 3 x 8 x 8 values per sample.
  class ImageModel : public Denoiser {
   public:
    std::string name() const override { return "an image model"; }
    int dimension() const override { return 192; }
    Prediction Predict(const Batch& x_t, const DenoiseQuery&) override { return {PredictionKind::kEps, x_t}; }
  } image;
  EXPECT_NE(message(&image).find("not a 2D model"), std::string::npos);
  GaussianMixtureDenoiser mixture(EightGaussiansDataLaw());
  input.held_out = points.topRows(1);
  EXPECT_NE(message(&mixture).find("at least 2"), std::string::npos);
  input.held_out = points;
  ModelLikelihoodOptions bad;
  bad.tolerance = -1;
  input.model = &mixture;
  EXPECT_THROW(MeasureModelLikelihood(input, bad), Error);
  int asked = 0;
  EXPECT_THROW(MeasureModelLikelihood(input, {}, {}, [&] { return ++asked > 3; }), Cancelled);
}

}  // namespace
}  // namespace diffuscope

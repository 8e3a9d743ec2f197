// core/models/flow2d and core/sampling/flow_sampler: the straight path's VP rescaling (exact), DDIM on the flow's
// own schedule equal to flow-time Euler, Euler and Heun at their orders against a fine solve with the exact mixture
// velocity, a short flow-matching training that recovers a Gaussian mixture's mean and covariance, files, the
// comparison with the DDPM, and refused options.
#include "core/models/ddpm2d.h"
#include "core/models/exact.h"
#include "core/models/flow2d.h"
#include "core/models/flow_compare.h"
#include "core/models/registry.h"
#include "core/sampling/flow_sampler.h"
#include "core/sampling/sampler.h"

#include <gtest/gtest.h>
#include <Eigen/Dense>

#include <unistd.h>
#include <cmath>
#include <filesystem>

namespace diffuscope {
namespace {

namespace fs = std::filesystem;

fs::path Scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("diffuscope_flow_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

// Two Gaussians with full covariances, unequal weights: mean and covariance known exactly.
GaussianMixture TwoGaussians() {
  GaussianMixture m;
  m.weights = {0.4, 0.6};
  m.means = {Eigen::Vector2d(-1.2, 0.4), Eigen::Vector2d(1.0, -0.3)};
  Eigen::Matrix2d a, b;
  a << 0.09, 0.03, 0.03, 0.06;
  b << 0.05, -0.02, -0.02, 0.12;
  m.covariances = {a, b};
  return m;
}

Eigen::Vector2d Mean(const Batch& x) { return x.cast<double>().colwise().mean().transpose(); }
Eigen::Matrix2d Covariance(const Batch& x) {
  const Eigen::MatrixXd c = x.cast<double>().rowwise() - x.cast<double>().colwise().mean();
  return c.transpose() * c / (x.rows() - 1.0);
}

TEST(Flow, TheStraightPathIsTheVpPathRescaled) {
  for (double s : {0.0, 0.1, 0.25, 0.5, 0.8, 0.99, 1.0}) {
    const double ab = FlowAlphaBar(s);
    EXPECT_NEAR(FlowTimeOfAlphaBar(ab), s, 1e-12) << s;
    // x_s = (1 - s) x0 + s eps and x_vp = sqrt(ab) x0 + sqrt(1 - ab) eps differ by the scale sqrt((1-s)^2 + s^2).
    EXPECT_NEAR(FlowScale(s) * std::sqrt(ab), 1.0 - s, 1e-12);
    EXPECT_NEAR(FlowScale(s) * std::sqrt(1.0 - ab), s, 1e-12);
  }
  EXPECT_EQ(FlowAlphaBar(1.0), 0.0);
  EXPECT_EQ(FlowTimeOfAlphaBar(0.0), 1.0);
  EXPECT_EQ(FlowTimeOfAlphaBar(1.0), 0.0);
  const NoiseSchedule schedule(FlowVpSchedule(50));
  EXPECT_EQ(schedule.num_steps(), 50);
  EXPECT_EQ(schedule.alpha_bar(50), 0.0);
  EXPECT_NEAR(schedule.alpha_bar(25), 0.5, 1e-12);  // s = 1/2: signal and noise equal
}

// The exact velocity of the straight path for one Gaussian N(mu, S), in double: E[eps | x_s] - E[x_0 | x_s].
void ExactGaussianVelocity(const Eigen::Vector2d& mu, const Eigen::Matrix2d& S, const Batch& x_s, double s, Batch* v) {
  const double a = 1.0 - s;
  const Eigen::Matrix2d C = a * a * S + s * s * Eigen::Matrix2d::Identity();
  v->resize(x_s.rows(), 2);
  for (Eigen::Index i = 0; i < x_s.rows(); ++i) {
    const Eigen::Vector2d x = x_s.row(i).cast<double>().transpose();
    const Eigen::Vector2d x0 = mu + a * S * C.ldlt().solve(x - a * mu);
    const Eigen::Vector2d eps = s * C.ldlt().solve(x - a * mu);  // E[eps | x_s] = s C^{-1} (x - a mu)
    v->row(i) = (eps - x0).transpose().cast<float>();
  }
}

TEST(Flow, AVelocityModelAnswersAVpQueryWithTheExactPosteriorMean) {
  const Eigen::Vector2d mu(0.7, -0.4);
  Eigen::Matrix2d S;
  S << 0.3, 0.1, 0.1, 0.2;
  GaussianMixtureDenoiser exact(GaussianMixture{{1.0}, {mu}, {S}});
  Batch x_t(4, 2);
  x_t << 0.1f, 0.2f, -1.5f, 0.8f, 2.0f, -2.0f, 0.0f, 0.0f;
  for (double ab : {0.999, 0.9, 0.5, 0.1, 1e-3}) {
    const Prediction p = VelocityToVpPrediction(
        x_t, ab, [&](const Batch& x_s, double s, Batch* v) { ExactGaussianVelocity(mu, S, x_s, s, v); });
    ASSERT_EQ(p.kind, PredictionKind::kX0);
    const Batch want = exact.PosteriorMean(x_t, ab);
    EXPECT_LT((p.value - want).cwiseAbs().maxCoeff(), 2e-5) << "alpha_bar " << ab;
  }
}

TEST(Flow, DdimOnTheFlowsOwnScheduleIsEulerInFlowTime) {
  // DDIM (eta 0) from x0_hat, eps_hat: x_prev = sqrt(ab') x0 + sqrt(1 - ab') eps; in flow coordinates that is
  // (1 - s') x0 + s' eps = x_s + (s' - s) (eps - x0), Euler's step. So the two samplers agree step for step.
  Flow2dOptions options;
  options.embedding_size = 16;
  options.hidden_size = 32;
  options.hidden_layers = 1;
  options.schedule_steps = 20;
  Flow2dModel model(options);  // untrained weights from seed 0: any field will do
  const Batch noise = InitialNoise(300, 2, 3);
  SamplerOptions ddim;
  ddim.kind = SamplerKind::kDdim;
  const Batch by_ddim = Sample(model.schedule(), model, ddim, noise);
  const Batch by_euler = FlowSample(model, {.solver = FlowSolver::kEuler, .num_steps = 20}, noise);
  EXPECT_LT((by_ddim - by_euler).cwiseAbs().maxCoeff(), 1e-4);
  // The same holds for the exact mixture denoiser, answered through its VP posterior mean.
  GaussianMixtureDenoiser mixture(TwoGaussians());
  const Batch m_ddim = Sample(model.schedule(), mixture, ddim, noise);
  const Batch m_euler = FlowSample(mixture, {.solver = FlowSolver::kEuler, .num_steps = 20}, noise);
  EXPECT_LT((m_ddim - m_euler).cwiseAbs().maxCoeff(), 1e-4);
}

TEST(Flow, TheSamplersFlowKindsAreTheFlowSampler) {
  // flow-euler and flow-heun of the one Sampler, on the flow model's own schedule (alpha_bar_T = 0: s = 1), are
  // FlowSampler's runs: the same model answers step for step and the samples are the same bits; NFE exact.
  Flow2dOptions options;
  options.embedding_size = 16;
  options.hidden_size = 32;
  options.hidden_layers = 1;
  options.schedule_steps = 20;
  Flow2dModel model(options);  // untrained weights from seed 0: any field will do
  const Batch noise = InitialNoise(300, 2, 3);
  for (FlowSolver solver : {FlowSolver::kEuler, FlowSolver::kHeun}) {
    for (int K : {1, 3, 8, 20}) {
      SamplerOptions o;
      o.kind = solver == FlowSolver::kHeun ? SamplerKind::kFlowHeun : SamplerKind::kFlowEuler;
      o.num_steps = K;
      Sampler sampler(model.schedule(), model, o, noise);
      FlowSampler flow(model, {.solver = solver, .num_steps = K}, noise);
      ASSERT_EQ(sampler.steps_total(), K);
      while (!flow.done()) {
        const FlowStep& f = flow.Next();
        const Step& step = sampler.Next();
        EXPECT_EQ(step.nfe, f.evaluations);
        EXPECT_EQ(step.x0_hat, f.x0_hat);
        EXPECT_NEAR(step.alpha_bar, FlowAlphaBar(f.s), 1e-12);
        // Steps report VP coordinates: x_prev = x_next / FlowScale(s_next).
        EXPECT_LT((static_cast<float>(FlowScale(f.s_next)) * step.x_prev - f.x_next).cwiseAbs().maxCoeff(), 1e-5);
      }
      EXPECT_TRUE(sampler.done());
      EXPECT_EQ(sampler.x(), flow.x()) << FlowSolverName(solver) << " K " << K;
      EXPECT_EQ(sampler.nfe(), flow.evaluations());
      EXPECT_EQ(sampler.nfe(), solver == FlowSolver::kHeun ? 2 * K - 1 : K);
      EXPECT_EQ(sampler.nfe_total(), sampler.nfe());
    }
  }
  // On a schedule that stops short of pure noise (linear T = 1000, alpha_bar_T = 4e-5) they start at x_T's flow
  // time s_T < 1, as FlowSampler started there from FlowScale(s_T) x_T; an eps model can run them there.
  GaussianMixtureDenoiser mixture(TwoGaussians());
  const NoiseSchedule linear;
  const double s_T = FlowTimeOfAlphaBar(linear.alpha_bar(1000));
  EXPECT_LT(s_T, 1.0);
  SamplerOptions heun;
  heun.kind = SamplerKind::kFlowHeun;
  heun.num_steps = 6;
  const Batch by_sampler = Sample(linear, mixture, heun, noise);
  const Batch by_flow = FlowSample(mixture, {.solver = FlowSolver::kHeun, .num_steps = 6, .s_start = s_T},
                                   static_cast<float>(FlowScale(s_T)) * noise);
  EXPECT_LT((by_sampler - by_flow).cwiseAbs().maxCoeff(), 1e-5);
  // An eps model cannot be asked at s = 1 (alpha_bar = 0): refused with the reason.
  Ddpm2dModel ddpm;
  heun.num_steps = 4;
  Sampler at_noise(model.schedule(), ddpm, heun, noise);
  try {
    at_noise.Next();
    ADD_FAILURE() << "an eps model stepped from alpha_bar = 0";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("zero terminal SNR"), std::string::npos) << e.what();
  }
}

TEST(Flow, EulerAndHeunConvergeAtTheirOrdersWithTheExactVelocity) {
  // A broad mixture keeps the field smooth down to s = 0, so the asymptotic orders show at modest step counts.
  GaussianMixture broad = TwoGaussians();
  for (auto& c : broad.covariances) c += 0.25 * Eigen::Matrix2d::Identity();
  GaussianMixtureDenoiser exact(broad);
  const Batch noise = InitialNoise(200, 2, 11);
  const Batch fine = FlowSample(exact, {.solver = FlowSolver::kHeun, .num_steps = 2048}, noise);
  auto error = [&](FlowSolver solver, int steps) {
    const Batch x = FlowSample(exact, {.solver = solver, .num_steps = steps}, noise);
    return (x - fine).cast<double>().rowwise().norm().mean();
  };
  for (auto [solver, order] : {std::pair{FlowSolver::kEuler, 1.0}, std::pair{FlowSolver::kHeun, 2.0}}) {
    const double e16 = error(solver, 16), e64 = error(solver, 64);
    const double slope = std::log(e16 / e64) / std::log(4.0);
    std::printf("%s: error %.3g (16 steps), %.3g (64 steps), order %.2f\n", std::string(FlowSolverName(solver)).c_str(),
                e16, e64, slope);
    EXPECT_NEAR(slope, order, 0.3) << FlowSolverName(solver);
  }
  // NFE: Heun evaluates twice per step except the last (Euler to s = 0).
  FlowSampler heun(exact, {.solver = FlowSolver::kHeun, .num_steps = 10}, noise);
  while (!heun.done()) heun.Next();
  EXPECT_EQ(heun.evaluations(), 19);
}

TEST(Flow, ATrainedFlowRecoversTheMixturesMeanAndCovariance) {
  const GaussianMixture law = TwoGaussians();
  const Batch data = law.Sample(4000, 1);
  Flow2dOptions options;
  options.embedding_size = 32;
  options.hidden_size = 64;
  options.hidden_layers = 2;
  Flow2dModel model(options);
  TrainOptions train = ShippedTrainingRecipe(2000, 128, 500);
  train.warmup_steps = 100;
  const TrainReport report = TrainFlow2d(model, data, train);
  EXPECT_EQ(model.trained_steps(), 2000);
  // Predicting v = 0 costs E|eps - x0|^2 / 2 = (2 + E|x0|^2) / 2 (1.73 here); the loss never reaches 0 (the
  // velocity given x_s is random), but a model that learned the field is well below that.
  const double zero_loss = (2.0 + law.Covariance().trace() + law.Mean().squaredNorm()) / 2.0;
  EXPECT_LT(report.final_loss_ema, 0.7 * zero_loss);
  const int n = 4000;
  const Batch samples = FlowSample(model, {.solver = FlowSolver::kHeun, .num_steps = 20}, InitialNoise(n, 2, 5));
  ASSERT_TRUE(samples.allFinite());
  const Eigen::Vector2d mean_error = Mean(samples) - law.Mean();
  const Eigen::Matrix2d cov_error = Covariance(samples) - law.Covariance();
  std::printf("flow: mean error (%.3f, %.3f), covariance error max %.3f (covariance %.3f %.3f %.3f)\n", mean_error.x(),
              mean_error.y(), cov_error.cwiseAbs().maxCoeff(), law.Covariance()(0, 0), law.Covariance()(0, 1),
              law.Covariance()(1, 1));
  // Tolerances: 0.05 on the mean and 0.08 on each covariance entry (the law's variances are 1.23 and 0.21; N(0, I)
  // misses them by 0.2 or more). Sampling error alone at n = 4000 is about 0.02; measured: 0.015 and 0.026.
  EXPECT_LT(mean_error.cwiseAbs().maxCoeff(), 0.05);
  EXPECT_LT(cov_error.cwiseAbs().maxCoeff(), 0.08);
  // The VP samplers run it too: DDPM ancestral steps on its own schedule land on the same law.
  const Batch vp = Sample(model.schedule(), model, SamplerOptions{}, InitialNoise(n, 2, 6));
  EXPECT_LT((Mean(vp) - law.Mean()).cwiseAbs().maxCoeff(), 0.1);
  EXPECT_LT((Covariance(vp) - law.Covariance()).cwiseAbs().maxCoeff(), 0.15);
}

TEST(Flow, ModelFilesRoundTripAndOpenByName) {
  Flow2dOptions options;
  options.embedding_size = 16;
  options.hidden_size = 16;
  Flow2dModel model(options);
  TrainOptions train;
  train.iterations = 30;
  train.seed = 4;
  TrainFlow2d(model, TwoGaussians().Sample(200, 2), train);
  model.info()["data"] = "8gaussians";
  const fs::path path = Scratch("flow.dfm");
  model.Save(path);
  Flow2dModel back = Flow2dModel::Load(path);
  EXPECT_EQ(back.weights(), model.weights());
  EXPECT_EQ(back.trained_steps(), 30);
  EXPECT_EQ(back.schedule().options(), model.schedule().options());
  const Batch x = InitialNoise(10, 2, 1);
  Batch v1, v2;
  model.PredictVelocity(x, 0.3, &v1);
  back.PredictVelocity(x, 0.3, &v2);
  EXPECT_EQ(v1, v2);
  const OpenedModel opened = OpenModel(path.string(), {});
  EXPECT_NE(dynamic_cast<Flow2dModel*>(opened.denoiser.get()), nullptr);
  EXPECT_EQ(opened.data, "8gaussians");
  ASSERT_TRUE(opened.schedule.has_value());
  EXPECT_EQ(*opened.schedule, FlowVpSchedule(50));
  // A flow file is not a DDPM file, and the other way round.
  EXPECT_THROW(Ddpm2dModel{LoadModelFile(path)}, Error);
  EXPECT_THROW(Flow2dModel{Ddpm2dModel().ToModelFile()}, Error);
}

TEST(Flow, BadOptionsAndInputsAreRefused) {
  Flow2dOptions options;
  options.schedule_steps = 1;
  EXPECT_FALSE(options.Check().empty());
  EXPECT_THROW(Flow2dModel{options}, Error);
  options = {};
  options.input_scale = -1;
  EXPECT_FALSE(options.Check().empty());
  EXPECT_TRUE(Flow2dOptions{}.Check().empty());
  EXPECT_FALSE((FlowSamplerOptions{.num_steps = 0}).Check().empty());
  EXPECT_FALSE((FlowSamplerOptions{.s_start = 0.0}).Check().empty());
  EXPECT_FALSE((FlowSamplerOptions{.s_start = 1.5}).Check().empty());
  EXPECT_TRUE(FlowSamplerOptions{}.Check().empty());
  EXPECT_EQ(ParseFlowSolver("heun"), FlowSolver::kHeun);
  EXPECT_EQ(ParseFlowSolver("rk4"), std::nullopt);

  Flow2dModel model(Flow2dOptions{.embedding_size = 8, .hidden_size = 8});
  Batch v;
  EXPECT_THROW(model.PredictVelocity(Batch::Zero(3, 3), 0.5, &v), Error);
  EXPECT_THROW(model.PredictVelocity(Batch::Zero(3, 2), 1.5, &v), Error);
  EXPECT_THROW(FlowSample(model, {.num_steps = 0}, InitialNoise(4, 2, 1)), Error);
  EXPECT_THROW(FlowSample(model, {}, InitialNoise(4, 3, 1)), Error);
  TrainOptions train;
  train.iterations = 5;
  EXPECT_THROW(TrainFlow2d(model, Batch(0, 2), train), Error);
  Batch nan = Batch::Zero(4, 2);
  nan(1, 1) = NAN;
  EXPECT_THROW(TrainFlow2d(model, nan, train), Error);
  // An eps-prediction model cannot be asked at s = 1 (alpha_bar = 0): a clear error; below it, it runs.
  Ddpm2dModel ddpm(Ddpm2dOptions{.embedding_size = 8, .hidden_size = 8});
  EXPECT_THROW(FlowSample(ddpm, {.num_steps = 4}, InitialNoise(4, 2, 1)), Error);
  EXPECT_TRUE(FlowSample(ddpm, {.num_steps = 4, .s_start = 0.98}, InitialNoise(4, 2, 1)).allFinite());
}

TEST(Flow, StraightnessAndTheComparisonWithTheDdpm) {
  Batch a(1, 2), b(1, 2), c(1, 2);
  a << 0, 0;
  b << 1, 0;
  c << 1, 1;
  EXPECT_DOUBLE_EQ(MeanStraightness({a, b}), 1.0);
  EXPECT_NEAR(MeanStraightness({a, b, c}), 2.0 / std::sqrt(2.0), 1e-12);
  // Two paths: lengths 2 and 1, chords sqrt 2 and 1: (2 + 1) / (sqrt 2 + 1), the ratio of the means.
  Batch p0(2, 2), p1(2, 2), p2(2, 2);
  p0 << 0, 0, 5, 5;
  p1 << 1, 0, 5.5, 5;
  p2 << 1, 1, 6, 5;
  EXPECT_NEAR(MeanStraightness({p0, p1, p2}), 3.0 / (std::sqrt(2.0) + 1.0), 1e-12);
  // Exact models (a mixture for both) through the comparison: rows per step count, NFE, a finite distance.
  GaussianMixtureDenoiser exact(TwoGaussians());
  const NoiseSchedule ddpm_schedule(Ddpm2dDefaultSchedule());
  FlowComparisonOptions options;
  options.step_counts = {2, 8};
  options.particles = 300;
  const Batch reference = TwoGaussians().Sample(300, 9);
  const FlowComparison result = CompareFlowAndDdpm(exact, exact, ddpm_schedule, {}, reference, options);
  ASSERT_EQ(result.rows.size(), 6u);
  EXPECT_EQ(result.rows[0].sampler, "euler");
  EXPECT_EQ(result.rows[1].sampler, "heun");
  EXPECT_EQ(result.rows[1].evaluations, 3);
  EXPECT_EQ(result.rows[2].model, "ddpm");
  EXPECT_EQ(result.rows[2].evaluations, 2);
  for (const auto& row : result.rows) {
    EXPECT_TRUE(std::isfinite(row.energy_distance));
    EXPECT_GE(row.straightness, 1.0 - 1e-9);
  }
  // With the exact field, 8 Heun steps are closer to the data than 2 Euler steps.
  EXPECT_LT(result.rows[4].energy_distance, result.rows[0].energy_distance);
  options.particles = 1;
  EXPECT_THROW(CompareFlowAndDdpm(exact, exact, ddpm_schedule, {}, reference, options), Error);
}

}  // namespace
}  // namespace diffuscope

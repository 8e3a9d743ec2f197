// Sampler error against the exact probability-flow solve of a Gaussian mixture: the reference is right (a closed
// form for one Gaussian, converged in its tolerance for the mixture), and each ODE sampler converges to it at its
// nominal order.
#include "core/run/sampler_error.h"

#include <gtest/gtest.h>
#include <Eigen/Eigenvalues>

#include <algorithm>
#include <cmath>
#include <map>

namespace diffuscope {
namespace {

GaussianMixture EightGaussiansLaw() { return GaussianMixture::EightGaussians(std::sqrt(2.0), 0.1); }

TEST(SamplerError, NoisePredictionMatchesTheDenoiser) {
  // eps = (y - E[x_0 | y]) / sigma, here without the cancellation; the same numbers where both are accurate.
  const GaussianMixture m = EightGaussiansLaw();
  const GaussianMixtureDenoiser exact(m);
  const Batch x = InitialNoise(50, 2, 3);
  for (double a : {0.02, 0.5, 0.9}) {
    const double sigma = std::sqrt((1 - a) / a);
    const Eigen::MatrixXd y = x.cast<double>() / std::sqrt(a);
    const Eigen::MatrixXd d = exact.PosteriorMean(x, a).cast<double>();
    const Eigen::MatrixXd expected = (y - d) / sigma;
    EXPECT_LT((MixtureNoisePrediction(m, y, sigma) - expected).cwiseAbs().maxCoeff(), 1e-4) << a;
  }
  EXPECT_EQ(MixtureNoisePrediction(m, Eigen::MatrixXd::Constant(3, 2, 0.4), 0.0), Eigen::MatrixXd::Zero(3, 2));
  EXPECT_THROW(MixtureNoisePrediction(m, Eigen::MatrixXd::Zero(3, 3), 1.0), Error);
}

TEST(SamplerError, ReferenceSolveIsExactForOneGaussian) {
  // For N(mu, S) the flow is linear: y(sigma) - mu = (S + sigma^2 I)^(1/2) (S + sigma_T^2 I)^(-1/2) (y_T - mu).
  GaussianMixture g;
  g.weights = {1.0};
  g.means = {Eigen::Vector2d(0.7, -0.3)};
  Eigen::Matrix2d S;
  S << 0.3, 0.1, 0.1, 0.05;
  g.covariances = {S};
  const double a = 4e-5, sigma_T = std::sqrt((1 - a) / a);
  const Eigen::MatrixXd x = InitialNoise(20, 2, 1).cast<double>();
  const ProbabilityFlowSolution solution = SolveProbabilityFlow(g, x, a, 1e-10);
  const Eigen::SelfAdjointEigenSolver<Eigen::Matrix2d> eig(S);
  const Eigen::Matrix2d V = eig.eigenvectors();
  const Eigen::Vector2d l = eig.eigenvalues();
  const Eigen::Matrix2d map =
      V * (l.array().sqrt() / (l.array() + sigma_T * sigma_T).sqrt()).matrix().asDiagonal() * V.transpose();
  const Eigen::MatrixXd y_T = x / std::sqrt(a);
  const Eigen::MatrixXd expected =
      ((y_T.rowwise() - g.means[0].transpose()) * map.transpose()).rowwise() + g.means[0].transpose();
  EXPECT_LT((solution.x0 - expected).cwiseAbs().maxCoeff(), 1e-8);
  EXPECT_GT(solution.steps, 5);
  EXPECT_EQ(solution.evaluations, 1 + 6LL * (solution.steps + solution.rejected));  // first same as last
  EXPECT_THROW(SolveProbabilityFlow(g, x, 0.0, 1e-10), Error);
  EXPECT_THROW(SolveProbabilityFlow(g, x, a, 0.0), Error);
}

TEST(SamplerError, ReferenceSolveIsConverged) {
  const GaussianMixture m = EightGaussiansLaw();
  const Eigen::MatrixXd x = InitialNoise(100, 2, 2).cast<double>();
  const ProbabilityFlowSolution fine = SolveProbabilityFlow(m, x, 4e-5, 1e-10);
  const ProbabilityFlowSolution finer = SolveProbabilityFlow(m, x, 4e-5, 1e-12);
  const ProbabilityFlowSolution coarse = SolveProbabilityFlow(m, x, 4e-5, 1e-7);
  const double change = std::sqrt((fine.x0 - finer.x0).rowwise().squaredNorm().mean());
  EXPECT_LT(change, 1e-8);
  EXPECT_GT(std::sqrt((coarse.x0 - finer.x0).rowwise().squaredNorm().mean()), change);  // tolerance matters
  EXPECT_GT(finer.steps, fine.steps);
}

// One measurement on Karras et al.'s noise levels (T = 1600, so the trailing steps of every K below are a subset),
// where a sampler's first-order final step to the data is from sigma ~ 0.002 and costs little.
SamplerErrorReport Measure(std::vector<SamplerKind> samplers, std::vector<int> nfe) {
  SamplerErrorOptions o;
  o.schedule = KarrasScheduleOptions(1600);
  o.samplers = std::move(samplers);
  o.nfe = std::move(nfe);
  o.num_samples = 200;
  o.num_data = 1000;
  o.seed = 5;
  return MeasureSamplerError(EightGaussiansLaw(), o);
}

TEST(SamplerError, OdeSamplersConvergeAtTheirNominalOrder) {
  const SamplerErrorReport r = Measure({SamplerKind::kDdim, SamplerKind::kOdeEuler, SamplerKind::kHeunKarras,
                                        SamplerKind::kDpmSolverPP, SamplerKind::kFlowEuler, SamplerKind::kFlowHeun},
                                       {80, 160, 320, 640});
  EXPECT_LT(r.reference_check, 1e-6);
  std::map<SamplerKind, std::pair<std::vector<int>, std::vector<double>>> series;
  for (const SamplerErrorRow& row : r.rows) {
    EXPECT_FALSE(row.stochastic);
    series[row.sampler].first.push_back(row.nfe);
    series[row.sampler].second.push_back(row.endpoint_rms);
  }
  const std::map<SamplerKind, double> nominal = {{SamplerKind::kDdim, 1.0},       {SamplerKind::kOdeEuler, 1.0},
                                                 {SamplerKind::kHeunKarras, 2.0}, {SamplerKind::kDpmSolverPP, 2.0},
                                                 {SamplerKind::kFlowEuler, 1.0},  {SamplerKind::kFlowHeun, 2.0}};
  for (const auto& [kind, order] : nominal) {
    const auto& [nfe, error] = series.at(kind);
    for (size_t i = 1; i < error.size(); ++i) EXPECT_LT(error[i], error[i - 1]) << SamplerKindName(kind);
    const double fitted = FittedOrder(nfe, error);
    EXPECT_NEAR(fitted, order, 0.3) << SamplerKindName(kind);
    std::printf("%-13s order %.3f  errors", std::string(SamplerKindName(kind)).c_str(), fitted);
    for (size_t i = 0; i < error.size(); ++i) std::printf("  %d: %.3g", nfe[i], error[i]);
    std::printf("\n");
  }
  // Heun's NFE: 2 per step but the last.
  EXPECT_EQ(series.at(SamplerKind::kHeunKarras).first, (std::vector<int>{79, 159, 319, 639}));
  EXPECT_EQ(series.at(SamplerKind::kFlowHeun).first, (std::vector<int>{79, 159, 319, 639}));
  // At the same cost the second-order solvers are far closer than the first-order ones.
  EXPECT_LT(series.at(SamplerKind::kDpmSolverPP).second.back(), 0.2 * series.at(SamplerKind::kDdim).second.back());
}

TEST(SamplerError, ConvergedSamplersReachTheEnergyDistanceFloor) {
  const SamplerErrorReport r = Measure({SamplerKind::kHeunKarras, SamplerKind::kSdeEuler}, {5, 319});
  ASSERT_EQ(r.rows.size(), 4u);
  EXPECT_NEAR(r.rows[1].energy_distance, r.reference_energy_distance, 2e-4);         // Heun at 319 NFE
  EXPECT_GT(r.rows[0].energy_distance, 10 * std::abs(r.reference_energy_distance));  // Heun at 5 NFE: far off
  EXPECT_TRUE(r.rows[2].stochastic);
  EXPECT_EQ(r.rows[3].nfe, 319);
}

TEST(SamplerError, MedianEndpointErrorIsTheMedianDistance) {
  // Recomputed here from the same run and reference: odd and even particle counts (the mean of the middle two).
  for (int n : {7, 8}) {
    SamplerErrorOptions o;
    o.samplers = {SamplerKind::kDdim};
    o.nfe = {6};
    o.num_samples = n;
    o.num_data = 50;
    o.seed = 4;
    const GaussianMixture law = EightGaussiansLaw();
    const SamplerErrorReport r = MeasureSamplerError(law, o);
    ASSERT_EQ(r.rows.size(), 1u);
    const NoiseSchedule schedule(o.schedule);
    const Batch x_T = InitialNoise(n, 2, o.seed);
    const ProbabilityFlowSolution reference =
        SolveProbabilityFlow(law, x_T.cast<double>(), schedule.alpha_bar(schedule.num_steps()), o.reference_tolerance);
    GaussianMixtureDenoiser exact(law);
    SamplerOptions ddim;
    ddim.kind = SamplerKind::kDdim;
    ddim.num_steps = 6;
    const Batch x0 = Sample(schedule, exact, ddim, x_T);
    std::vector<double> d;
    for (int i = 0; i < n; ++i) d.push_back((x0.row(i).cast<double>() - reference.x0.row(i)).norm());
    std::sort(d.begin(), d.end());
    const double median = n % 2 ? d[n / 2] : 0.5 * (d[n / 2 - 1] + d[n / 2]);
    EXPECT_NEAR(r.rows[0].endpoint_median, median, 1e-12 * median) << n;
    double squares = 0;
    for (double v : d) squares += v * v;
    EXPECT_NEAR(r.rows[0].endpoint_rms, std::sqrt(squares / n), 1e-12) << n;
  }
}

TEST(SamplerError, OptionsCheckRefusesBadOptions) {
  auto problem = [](auto change) {
    SamplerErrorOptions o;
    change(o);
    return o.Check();
  };
  EXPECT_EQ(problem([](SamplerErrorOptions&) {}), "");
  EXPECT_NE(problem([](SamplerErrorOptions& o) { o.samplers.clear(); }).find("samplers"), std::string::npos);
  EXPECT_NE(problem([](SamplerErrorOptions& o) { o.nfe.clear(); }).find("nfe"), std::string::npos);
  EXPECT_NE(problem([](SamplerErrorOptions& o) { o.nfe = {10, 0}; }).find("nfe"), std::string::npos);
  EXPECT_NE(problem([](SamplerErrorOptions& o) { o.num_samples = 1; }).find("num_samples"), std::string::npos);
  EXPECT_NE(problem([](SamplerErrorOptions& o) { o.num_data = 1; }).find("num_data"), std::string::npos);
  EXPECT_NE(problem([](SamplerErrorOptions& o) { o.reference_tolerance = 0; }).find("reference_tolerance"),
            std::string::npos);
  EXPECT_NE(problem([](SamplerErrorOptions& o) { o.reference_tolerance = NAN; }).find("reference_tolerance"),
            std::string::npos);
  EXPECT_NE(problem([](SamplerErrorOptions& o) { o.schedule.num_steps = 0; }).find("schedule"), std::string::npos);
  SamplerErrorOptions bad;
  bad.nfe = {-3};
  EXPECT_THROW(MeasureSamplerError(EightGaussiansLaw(), bad), Error);
  SamplerErrorOptions zero_snr;
  zero_snr.schedule.zero_terminal_snr = true;
  EXPECT_THROW(MeasureSamplerError(EightGaussiansLaw(), zero_snr), Error);
  GaussianMixture broken = EightGaussiansLaw();
  broken.weights[0] = 2.0;
  EXPECT_THROW(MeasureSamplerError(broken, SamplerErrorOptions{}), Error);
}

TEST(SamplerError, ProgressStopAndBitIdenticalReruns) {
  SamplerErrorOptions o;
  o.samplers = {SamplerKind::kDdpm, SamplerKind::kSdeEuler, SamplerKind::kDpmSolverPP};
  o.nfe = {5, 10};
  o.num_samples = 50;
  o.num_data = 100;
  long long last_done = 0, last_total = 0, calls = 0;
  const SamplerErrorReport first =
      MeasureSamplerError(EightGaussiansLaw(), o, [&](long long done, long long total, const std::string&) {
        EXPECT_EQ(done, last_done + 1);
        last_done = done, last_total = total, ++calls;
      });
  EXPECT_EQ(last_total, 3 * 2 + 2);
  EXPECT_EQ(last_done, last_total);
  const SamplerErrorReport again = MeasureSamplerError(EightGaussiansLaw(), o);
  ASSERT_EQ(first.rows.size(), again.rows.size());
  for (size_t i = 0; i < first.rows.size(); ++i) {
    EXPECT_EQ(first.rows[i].endpoint_rms, again.rows[i].endpoint_rms) << i;  // bit for bit
    EXPECT_EQ(first.rows[i].energy_distance, again.rows[i].energy_distance) << i;
  }
  EXPECT_EQ(first.reference_check, again.reference_check);
  int asked = 0;
  EXPECT_THROW(MeasureSamplerError(EightGaussiansLaw(), o, {}, [&] { return ++asked > 40; }), Cancelled);
}

TEST(SamplerError, FittedOrderOfExactPowerLaws) {
  EXPECT_NEAR(FittedOrder({10, 20, 40, 80}, {3e-2, 7.5e-3, 1.875e-3, 4.6875e-4}), 2.0, 1e-12);
  EXPECT_NEAR(FittedOrder({5, 50}, {1.0, 0.1}), 1.0, 1e-12);
  EXPECT_NEAR(FittedOrder({5, 50, 60}, {1.0, 0.1, 0.0}), 1.0, 1e-12);  // a zero error has no logarithm: left out
  EXPECT_TRUE(std::isnan(FittedOrder({5}, {1.0})));
  EXPECT_TRUE(std::isnan(FittedOrder({5, 5}, {1.0, 2.0})));
  EXPECT_THROW(FittedOrder({5, 10}, {1.0}), Error);
}

}  // namespace
}  // namespace diffuscope

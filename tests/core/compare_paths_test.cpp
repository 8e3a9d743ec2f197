// The comparisons of the Compare dialog (issue 10): the probability-flow ODE and the reverse SDE from one x_T share
// their marginals (the exact spread of a Gaussian law at every t) but not their paths; the flow-vs-DDPM study is
// CompareFlowAndDdpm on models trained the study's way, with the exact field's rows on 8gaussians.
#include "core/run/compare_paths.h"

#include "core/metrics/distance2d.h"
#include "core/models/exact.h"
#include "core/models/sohl_dickstein.h"

#include <gtest/gtest.h>

#include <cmath>

namespace diffuscope {
namespace {

// N(mu, s^2 I) in 2D: x_t ~ N(sqrt(abar) mu, (abar s^2 + 1 - abar) I), so the RMS distance of particles from their
// mean is sqrt(2 (abar s^2 + 1 - abar)) at every t.
constexpr double kSd = 0.5;
GaussianMixture IsotropicGaussian() {
  GaussianMixture g;
  g.weights = {1.0};
  g.means = {Eigen::Vector2d(0.6, -0.3)};
  g.covariances = {kSd * kSd * Eigen::Matrix2d::Identity()};
  return g;
}

TEST(CompareOdeSde, SameMarginalsDifferentPaths) {
  const GaussianMixture law = IsotropicGaussian();
  GaussianMixtureDenoiser model(law);
  const NoiseSchedule schedule;  // linear T = 1000, every step: Euler-Maruyama's bias stays below the sampling error
  const Batch data = law.Sample(4000, 9);
  OdeSdeOptions o;
  o.particles = 4000;
  o.seed = 3;
  long long calls = 0, last_done = 0, last_total = 0;
  const OdeSdeComparison c =
      CompareOdeAndSde(schedule, model, {}, data, o, [&](long long done, long long total, const std::string&) {
        ++calls;
        last_done = done;
        last_total = total;
      });
  EXPECT_EQ(c.note, "");
  EXPECT_EQ(c.ode.sampler, SamplerKind::kOdeEuler);
  EXPECT_EQ(c.sde.sampler, SamplerKind::kSdeEuler);
  EXPECT_EQ(last_done, last_total);
  EXPECT_EQ(calls, 1002);
  for (const ComparedRun* run : {&c.ode, &c.sde}) {
    EXPECT_EQ(run->steps, 1000);
    EXPECT_EQ(run->nfe, 1000);
    ASSERT_EQ(run->t.size(), 1001u);
    EXPECT_EQ(run->t.front(), 1000);
    EXPECT_EQ(run->t.back(), 0);
    ASSERT_EQ(run->paths.size(), 1001u);
    EXPECT_EQ(run->paths.front(), InitialNoise(4000, 2, 3).topRows(12));  // both from the same x_T
    EXPECT_EQ(run->paths.back(), run->samples.topRows(12));
    // The spread at every state is the exact one of the law's marginal (n = 4000: ~1% sampling error).
    for (size_t k = 0; k < run->t.size(); ++k) {
      const double abar = run->t[k] == 0 ? 1.0 : schedule.alpha_bar(run->t[k]);
      const double exact = std::sqrt(2 * (abar * kSd * kSd + 1 - abar));
      EXPECT_NEAR(run->spread[k], exact, 0.04 * exact) << SamplerKindName(run->sampler) << " t " << run->t[k];
    }
    EXPECT_LT(run->energy_distance, 0.1 * c.gaussian_baseline + 2e-3) << SamplerKindName(run->sampler);
  }
  // A fitted Gaussian of a Gaussian law is that law: the baseline is the noise floor, near 0.
  EXPECT_LT(std::abs(c.gaussian_baseline), 2e-3);
  // Different paths: the paired particles start together and end apart; the SDE's are far longer than their chords.
  ASSERT_EQ(c.gap.size(), 1001u);
  EXPECT_EQ(c.gap.front(), 0.0);
  EXPECT_GT(c.gap.back(), 0.3);
  EXPECT_LT(c.ode.straightness, 1.5);
  EXPECT_GT(c.sde.straightness, 4 * c.ode.straightness);
}

TEST(CompareOdeSde, StraightnessMeterIsMeanStraightness) {
  std::vector<Batch> states;
  StraightnessMeter meter;
  for (int k = 0; k < 7; ++k) {
    states.push_back(InitialNoise(30, 2, 100 + k));
    meter.Add(states.back());
  }
  EXPECT_NEAR(meter.Straightness(), MeanStraightness(states), 1e-12);
  StraightnessMeter one;
  one.Add(states[0]);
  EXPECT_THROW(one.Straightness(), Error);
  EXPECT_THROW(one.Add(Batch::Zero(3, 2)), Error);
}

TEST(CompareOdeSde, ZeroTerminalSnrRunsDdimAndDdpm) {
  GaussianMixtureDenoiser model(IsotropicGaussian());
  ScheduleOptions zero;
  zero.num_steps = 100;
  zero.zero_terminal_snr = true;
  const NoiseSchedule schedule(zero);
  OdeSdeOptions o;
  o.particles = 50;
  o.num_steps = 10;
  const OdeSdeComparison c = CompareOdeAndSde(schedule, model, {}, IsotropicGaussian().Sample(50, 1), o);
  EXPECT_EQ(c.ode.sampler, SamplerKind::kDdim);
  EXPECT_EQ(c.sde.sampler, SamplerKind::kDdpm);
  EXPECT_NE(c.note.find("alpha_bar_T = 0"), std::string::npos);
}

TEST(CompareOdeSde, RefusesAndCancels) {
  GaussianMixtureDenoiser model(IsotropicGaussian());
  const NoiseSchedule schedule;
  const Batch data = IsotropicGaussian().Sample(50, 1);
  OdeSdeOptions o;
  o.particles = 1;
  EXPECT_THROW(CompareOdeAndSde(schedule, model, {}, data, o), Error);
  o.particles = 20;
  o.traced = 21;
  EXPECT_THROW(CompareOdeAndSde(schedule, model, {}, data, o), Error);
  o.traced = 5;
  EXPECT_THROW(CompareOdeAndSde(schedule, model, {}, data.topRows(1), o), Error);
  // Sohl-Dickstein's model predicts the reverse mean: it has no probability-flow ODE.
  SohlDicksteinModel sd;
  EXPECT_THROW(CompareOdeAndSde(sd.schedule(), sd, {}, data, o), Error);
  int asked = 0;
  EXPECT_THROW(CompareOdeAndSde(schedule, model, {}, data, o, {}, [&] { return ++asked > 5; }), Cancelled);
}

FlowDdpmStudyOptions SmallStudy() {
  FlowDdpmStudyOptions o;
  o.iterations = 150;
  o.batch = 32;
  o.comparison.step_counts = {2, 5};
  o.comparison.particles = 200;
  o.comparison.seed = 4;
  o.comparison.traced = 12;
  return o;
}

TEST(FlowDdpmStudy, IsTheComparisonOfModelsTrainedTheStudysWay) {
  const FlowDdpmStudyOptions o = SmallStudy();
  Flow2dModel flow;
  Ddpm2dModel ddpm;
  long long last = 0, total = 0;
  const FlowDdpmStudy study = RunFlowDdpmStudy(o, flow, ddpm, [&](long long done, long long all, const std::string&) {
    EXPECT_GE(done, last);
    last = done;
    total = all;
  });
  EXPECT_EQ(last, total);
  EXPECT_EQ(total, 2 * 150 + 2 * 3 * 2);  // both trainings, then 3 runs per step count, learned and exact
  EXPECT_EQ(flow.trained_steps(), 150);
  EXPECT_EQ(ddpm.trained_steps(), 150);
  EXPECT_EQ(study.reference.rows(), 200);
  // The same figures from the parts: models trained with the study's recipe and CompareFlowAndDdpm.
  Dataset2DOptions own_units;
  own_units.standardize = false;
  const Batch data = GenerateDataset("8gaussians", 20000, 4, own_units);
  const Batch held_out = GenerateDataset("8gaussians", 200, 4 + 1000, own_units);
  Flow2dModel flow2;
  Ddpm2dModel ddpm2;
  TrainFlow2d(flow2, data, FlowDdpmTrainOptions(o));
  TrainDdpm2d(ddpm2, data, FlowDdpmTrainOptions(o));
  const FlowComparison direct = CompareFlowAndDdpm(flow2, ddpm2, ddpm2.schedule(), {}, held_out, o.comparison);
  ASSERT_EQ(study.rows.size(), 12u);
  EXPECT_EQ(study.gaussian_baseline, direct.gaussian_baseline);
  for (size_t i = 0; i < direct.rows.size(); ++i) {
    EXPECT_EQ(study.rows[i].model, direct.rows[i].model);
    EXPECT_EQ(study.rows[i].sampler, direct.rows[i].sampler);
    EXPECT_EQ(study.rows[i].evaluations, direct.rows[i].evaluations);
    EXPECT_EQ(study.rows[i].energy_distance, direct.rows[i].energy_distance) << i;
    EXPECT_EQ(study.rows[i].straightness, direct.rows[i].straightness) << i;
  }
  for (size_t i = 6; i < 12; ++i) EXPECT_EQ(study.rows[i].model, "exact");
  // Traced paths: noise first (flow coordinates at s = 1 are x_T), K + 1 states.
  EXPECT_EQ(study.rows[1].sampler, "heun");
  ASSERT_EQ(study.rows[1].paths.size(), 3u);
  EXPECT_EQ(study.rows[1].paths.front(), InitialNoise(200, 2, 4).topRows(12));
  EXPECT_EQ(study.rows[5].paths.size(), 6u);
  // With a given model nothing of it is retrained.
  FlowDdpmStudyOptions given = o;
  given.train_flow = false;
  given.exact_rows = false;
  const FlowDdpmStudy again = RunFlowDdpmStudy(given, flow, ddpm2);
  ASSERT_EQ(again.rows.size(), 6u);
  EXPECT_EQ(again.rows[0].energy_distance, study.rows[0].energy_distance);
  EXPECT_EQ(again.flow_training.steps, 0);
}

TEST(FlowDdpmStudy, RefusesAndCancels) {
  FlowDdpmStudyOptions o = SmallStudy();
  Flow2dModel flow;
  Ddpm2dModel ddpm;
  o.data = "no-such-set";
  EXPECT_THROW(RunFlowDdpmStudy(o, flow, ddpm), Error);
  o = SmallStudy();
  o.comparison.step_counts = {};
  EXPECT_THROW(RunFlowDdpmStudy(o, flow, ddpm), Error);
  o = SmallStudy();
  o.data = "dino";  // dino's normalisation is not the untrained model's: refused when it is not trained here
  o.train_flow = false;
  Flow2dModel other;
  other.set_normalization({.shift_x = 3, .shift_y = 0, .scale = 2});
  EXPECT_THROW(RunFlowDdpmStudy(o, other, ddpm), Error);
  o = SmallStudy();
  int asked = 0;
  EXPECT_THROW(RunFlowDdpmStudy(o, flow, ddpm, {}, [&] { return ++asked > 40; }), Cancelled);
}

}  // namespace
}  // namespace diffuscope

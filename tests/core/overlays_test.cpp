// What the 2D views draw over the particles (core/run/overlays.h, core/render/density.h) and the export's 2D
// overlays: the field of the exact mixture is its analytic score and drift at the grid points; a 2D export draws
// the very overlays the core calls give at each frame's t, and its bundle remakes them bit for bit.
#include "core/run/overlays.h"

#include "core/common/sha256.h"
#include "core/export/animation.h"
#include "core/models/exact.h"
#include "core/models/registry.h"
#include "core/render/density.h"
#include "core/run/run.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <numbers>

namespace diffuscope {
namespace {
namespace fs = std::filesystem;

// The score of p_t for the 8gaussians law (centres on the circle of radius sqrt(2), sd 0.1), in double:
// p_t = sum_k w_k N(x; sqrt(a) mu_k, (a s^2 + 1 - a) I).
Eigen::Vector2d MixtureScore(const Eigen::Vector2d& x, double a) {
  const double s2 = 0.01, var = a * s2 + 1 - a;
  double log_w[8], top = -INFINITY;
  Eigen::Vector2d centre[8];
  for (int k = 0; k < 8; ++k) {
    const double angle = 2.0 * std::numbers::pi * k / 8.0;
    centre[k] = std::sqrt(a) * std::sqrt(2.0) * Eigen::Vector2d(std::cos(angle), std::sin(angle));
    log_w[k] = -(x - centre[k]).squaredNorm() / (2 * var);
    top = std::max(top, log_w[k]);
  }
  double total = 0;
  Eigen::Vector2d score = Eigen::Vector2d::Zero();
  for (int k = 0; k < 8; ++k) {
    const double w = std::exp(log_w[k] - top);
    total += w;
    score += w * -(x - centre[k]) / var;
  }
  return score / total;
}

ScheduleOptions Cosine(int T) {
  ScheduleOptions options;
  options.kind = ScheduleKind::kCosine;
  options.num_steps = T;
  return options;
}

TEST(Field, ScoreAndDriftOfTheExactMixtureAreItsAnalyticOnes) {
  const NoiseSchedule schedule(Cosine(50));
  GaussianMixtureDenoiser exact(GaussianMixture::EightGaussians(std::sqrt(2.0), 0.1));
  FieldOptions options;
  const Batch grid = FieldGrid(options);
  ASSERT_EQ(grid.rows(), 21 * 21);
  EXPECT_EQ(grid(0, 0), -3.0f);
  EXPECT_EQ(grid(0, 1), -3.0f);
  EXPECT_EQ(grid(20, 0), 3.0f);
  EXPECT_EQ(grid(21 * 21 - 1, 1), 3.0f);
  for (int t : {1, 10, 25, 49}) {
    const double a = schedule.alpha_bar(t);
    const Batch score = FieldAt(exact, schedule, t, FieldKind::kScore, grid);
    const Batch drift = FieldAt(exact, schedule, t, FieldKind::kDrift, grid);
    for (Eigen::Index i = 0; i < grid.rows(); ++i) {
      const Eigen::Vector2d x(grid(i, 0), grid(i, 1));
      const Eigen::Vector2d s = MixtureScore(x, a);
      // -eps_hat = sqrt(1 - alpha_bar) score; the drift of one DDPM step: c1 x0_hat + c2 x_t - x_t with
      // Tweedie's x0_hat = (x_t + (1 - alpha_bar) score) / sqrt(alpha_bar).
      const Eigen::Vector2d want_score = std::sqrt(1 - a) * s;
      const Eigen::Vector2d x0_hat = (x + (1 - a) * s) / std::sqrt(a);
      const Eigen::Vector2d want_drift =
          schedule.posterior_mean_coef1(t) * x0_hat + schedule.posterior_mean_coef2(t) * x - x;
      for (int d = 0; d < 2; ++d) {
        EXPECT_NEAR(score(i, d), want_score(d), 2e-5 * (1 + std::abs(want_score(d)))) << "t " << t << " row " << i;
        EXPECT_NEAR(drift(i, d), want_drift(d), 2e-5 * (1 + std::abs(want_drift(d)))) << "t " << t << " row " << i;
      }
    }
  }
  EXPECT_THROW(FieldAt(exact, schedule, 0, FieldKind::kScore, grid), Error);
  EXPECT_THROW(FieldAt(exact, schedule, 1, FieldKind::kNone, grid), Error);
}

TEST(Field, ModelFieldIsDrawnInTheDataUnits) {
  const NoiseSchedule schedule(Cosine(50));
  GaussianMixtureDenoiser exact(GaussianMixture::EightGaussians(std::sqrt(2.0), 0.1));
  FieldOptions options{.kind = FieldKind::kScore, .grid = 5, .half_width = 2.0};
  const PointNormalization space{.shift_x = 10, .shift_y = -3, .scale = 5};
  const ScatterField field = ModelField(exact, space, schedule, 20, options, Rgb{1, 2, 3}, "x");
  const Batch grid = FieldGrid(options);
  const Batch vectors = FieldAt(exact, schedule, 20, FieldKind::kScore, grid);
  ASSERT_EQ(field.tails.rows(), 25);
  EXPECT_EQ(field.tails(0, 0), 10.0f - 10.0f);  // -2 spreads of 5 from the centre 10
  EXPECT_EQ(field.tails(0, 1), -3.0f - 10.0f);
  EXPECT_EQ(field.cell, 5.0);  // 4 / 4 normalised units apart, times 5
  for (Eigen::Index i = 0; i < 25; ++i) EXPECT_EQ(field.vectors(i, 0), vectors(i, 0) * 5.0f);
  EXPECT_EQ(field.colour, (Rgb{1, 2, 3}));
}

TEST(Field, ALearnedModelOnTheEightGaussiansIsComparedWithTheExactMixture) {
  const NoiseSchedule schedule(Cosine(50));
  GaussianMixtureDenoiser exact(GaussianMixture::EightGaussians(std::sqrt(2.0), 0.1));
  RunSpec run;
  run.data = "8gaussians";
  run.model = "mixture";
  const FieldOptions score{.kind = FieldKind::kScore};
  EXPECT_FALSE(ComparesWithExactMixture(run));
  EXPECT_EQ(RunFields(run, exact, {}, schedule, 10, score).size(), 1u);
  run.model = "some-model.dfm";
  EXPECT_TRUE(ComparesWithExactMixture(run));
  const auto fields = RunFields(run, exact, {}, schedule, 10, score);
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0].vectors, fields[1].vectors);  // the "learned" one here is exact too
  EXPECT_NE(fields[0].colour, fields[1].colour);
  EXPECT_TRUE(RunFields(run, exact, {}, schedule, 0, score).empty());
  EXPECT_TRUE(RunFields(run, exact, {}, schedule, 10, FieldOptions{}).empty());
  run.data = "moons";
  EXPECT_FALSE(ComparesWithExactMixture(run));
  EXPECT_NE(FieldOptions{.grid = 1}.Check(), "");
  EXPECT_NE(FieldOptions{.half_width = NAN}.Check(), "");
  EXPECT_EQ(ParseFieldKind("drift"), FieldKind::kDrift);
  EXPECT_FALSE(ParseFieldKind("curl").has_value());
}

TEST(Trajectories, ForwardPathsFollowTheProcessAndEndAtTheParticles) {
  const NoiseSchedule schedule(Cosine(50));
  const Batch x0 = GenerateDataset("moons", 300, 1);
  const PointNormalization space{.shift_x = 1, .shift_y = 2, .scale = 3};
  const ForwardProcess forward(schedule, x0, 7);
  EXPECT_EQ(TrajectoryRows(300, 12),
            (std::vector<Eigen::Index>{0, 25, 50, 75, 100, 125, 150, 175, 200, 225, 250, 275}));
  EXPECT_EQ(TrajectoryRows(5, 12).size(), 5u);
  EXPECT_TRUE(TrajectoryRows(5, 0).empty());
  const ForwardTrajectories paths(forward, ForwardPath::kMarkov, space, 12);
  const Batch x_30 = space.ToData(forward.Markov(30));
  const std::vector<Polyline> lines = paths.UpTo(30, x_30);
  ASSERT_EQ(lines.size(), 12u);
  // T = 50 sampled at 200 + 1 times: every t once, 0..50; before t = 30 that is t = 0..29, then x_30 itself.
  ASSERT_EQ(lines[0].size(), 31u);
  const Batch x_10 = space.ToData(forward.Markov(10));
  EXPECT_EQ(lines[3][0], (Point2{space.ToData(x0)(75, 0), space.ToData(x0)(75, 1)}));
  EXPECT_EQ(lines[3][10], (Point2{x_10(75, 0), x_10(75, 1)}));
  EXPECT_EQ(lines[3].back(), (Point2{x_30(75, 0), x_30(75, 1)}));
  EXPECT_EQ(paths.UpTo(0, x0)[0].size(), 1u);
  // Reverse runs: the states' rows in order.
  const std::vector<Batch> states = {x0, x_10, x_30};
  const std::vector<Eigen::Index> rows = {2, 299};
  const auto reverse = StateTrajectories(states, rows);
  ASSERT_EQ(reverse.size(), 2u);
  EXPECT_EQ(reverse[1],
            (Polyline{{x0(299, 0), x0(299, 1)}, {x_10(299, 0), x_10(299, 1)}, {x_30(299, 0), x_30(299, 1)}}));
}

AnimationSpec MixtureSpec(Direction direction) {
  AnimationSpec spec;
  spec.data = "8gaussians";
  spec.points = 300;
  spec.data_points = 600;
  spec.model = "mixture";
  spec.direction = direction;
  spec.schedule = Cosine(20);
  spec.sampler.seed = 4;
  spec.seed = 4;
  spec.render.layout = Layout::kScatter;
  spec.render.scatter.width = spec.render.scatter.height = 128;
  spec.render.scatter.max_trajectories = 12;
  spec.field.kind = FieldKind::kScore;
  spec.contours = true;
  spec.frames = 5;
  return spec;
}

TEST(Overlays, AnExportDrawsWhatTheCoreCallsGiveAtEachFramesT) {
  for (Direction direction : {Direction::kForward, Direction::kReverse}) {
    const AnimationSpec spec = MixtureSpec(direction);
    const AnimationFrames frames = RenderAnimation(spec);
    ASSERT_EQ(frames.overlays.size(), frames.frames.size());
    const RunInput input = LoadRunInput(spec);
    OpenedModel model = OpenRunModel(spec, input);
    const NoiseSchedule schedule(spec.schedule);
    const PlotBox box{-4, 4, -4, 4};  // the spec's limits (identity normalisation: the built-in set)
    const ForwardProcess forward(schedule, input.x0, spec.seed);
    const ForwardTrajectories paths(forward, spec.forward_path, {}, 12);
    for (size_t k = 0; k < frames.frames.size(); ++k) {
      const int t = frames.t[k];
      const ScatterOverlays& drawn = frames.overlays[k];
      EXPECT_EQ(drawn.fields, RunFields(spec, *model.denoiser, model.normalization, schedule, t, spec.field)) << t;
      EXPECT_EQ(drawn.fields.size(), t > 0 ? 1u : 0u);
      EXPECT_EQ(drawn.contours, DensityContourLines(frames.x_t[k], box)) << t;
      EXPECT_FALSE(drawn.contours.empty());
      ASSERT_EQ(drawn.trajectories.size(), 12u);
      if (direction == Direction::kForward) {
        EXPECT_EQ(drawn.trajectories, paths.UpTo(t, frames.x_t[k])) << t;
      } else {
        // From x_T, one point per step so far, ending at the frame's particles.
        EXPECT_EQ(drawn.trajectories[1].size(), static_cast<size_t>(20 - t + 1));
        EXPECT_EQ(drawn.trajectories[1].front(), (Point2{frames.x_t[0](25, 0), frames.x_t[0](25, 1)}));
        EXPECT_EQ(drawn.trajectories[1].back(), (Point2{frames.x_t[k](25, 0), frames.x_t[k](25, 1)}));
      }
    }
    // The overlays are drawn: the frames differ from the same run without them, the particles do not.
    AnimationSpec plain = spec;
    plain.field.kind = FieldKind::kNone;
    plain.contours = false;
    plain.render.scatter.max_trajectories = 0;
    const AnimationFrames bare = RenderAnimation(plain);
    ASSERT_EQ(bare.frames.size(), frames.frames.size());
    EXPECT_TRUE(bare.overlays.back().empty());
    for (size_t k = 0; k < frames.frames.size(); ++k) {
      EXPECT_EQ(bare.x_t[k], frames.x_t[k]);
      EXPECT_NE(bare.frames[k], frames.frames[k]);
    }
  }
}

TEST(Overlays, TheBundleKeepsThemAndRemakesTheFramesBitForBit) {
  const fs::path dir = fs::path(::testing::TempDir()) / "overlays_bundle";
  fs::remove_all(dir);
  fs::create_directories(dir);
  AnimationSpec spec = MixtureSpec(Direction::kReverse);
  spec.model = "exact";
  spec.data = "moons";
  spec.field.kind = FieldKind::kDrift;
  spec.field.grid = 9;
  ExportAnimationJob(spec, dir / "run.gif");
  const Bundle bundle = ReadBundle(dir / "run.gif.json");
  EXPECT_EQ(bundle.spec.field, spec.field);
  EXPECT_TRUE(bundle.spec.contours);
  EXPECT_EQ(bundle.spec.render.scatter.max_trajectories, 12);
  const AnimationFrames again = RenderAnimation(bundle.spec);
  ASSERT_EQ(again.frames.size(), bundle.frame_sha256.size());
  for (size_t k = 0; k < again.frames.size(); ++k)
    EXPECT_EQ(Sha256Hex(again.frames[k].rgb.data(), again.frames[k].rgb.size()), bundle.frame_sha256[k]);
  // A bundle without overlays (written before them) reads as none.
  std::string text = BundleToJson(bundle);
  const size_t at = text.find("\"overlays\"");
  ASSERT_NE(at, std::string::npos);
  const size_t end = text.find('}', at);
  text.erase(at, end - at + 2);
  const Bundle older = ParseBundle(text);
  EXPECT_EQ(older.spec.field.kind, FieldKind::kNone);
  EXPECT_FALSE(older.spec.contours);
  EXPECT_TRUE(older.spec.draw_data);  // the data set was always drawn
}

TEST(Overlays, TheDataSetCanBeLeftOutAndTheBundleKeepsThatChoice) {
  const fs::path dir = fs::path(::testing::TempDir()) / "overlays_data";
  fs::remove_all(dir);
  fs::create_directories(dir);
  AnimationSpec spec = MixtureSpec(Direction::kForward);
  spec.field.kind = FieldKind::kNone;
  spec.contours = false;
  spec.render.scatter.max_trajectories = 0;
  const AnimationFrames with_data = RenderAnimation(spec);
  spec.draw_data = false;
  ExportAnimationJob(spec, dir / "run.gif");
  const Bundle bundle = ReadBundle(dir / "run.gif.json");
  EXPECT_FALSE(bundle.spec.draw_data);
  const std::string text = BundleToJson(bundle);
  EXPECT_NE(text.find("\"data\": false"), std::string::npos);
  const AnimationFrames without = RenderAnimation(bundle.spec);
  ASSERT_EQ(without.frames.size(), bundle.frame_sha256.size());
  ASSERT_EQ(without.frames.size(), with_data.frames.size());
  for (size_t k = 0; k < without.frames.size(); ++k) {
    EXPECT_EQ(Sha256Hex(without.frames[k].rgb.data(), without.frames[k].rgb.size()), bundle.frame_sha256[k]);
    EXPECT_EQ(without.x_t[k], with_data.x_t[k]);  // the same particles, without the data behind them
    EXPECT_NE(without.frames[k], with_data.frames[k]) << k;
  }
  // Exactly the particles drawn on the scatter renderer's empty plot: no faint point anywhere.
  const RunInput input = LoadRunInput(spec);
  ScatterContent content;
  content.points = &without.x_t.back();
  ScatterOptions options = spec.render.scatter;
  EXPECT_EQ(without.frames.back(), RenderScatter(content, options));
  content.background = &input.data;
  EXPECT_EQ(with_data.frames.back(), RenderScatter(content, options));
  // A bundle written before the choice (an "overlays" without "data") draws the data set.
  std::string older = text;
  const size_t line = older.find("\"data\": false,");  // its own line, between "contours" and "field"
  ASSERT_NE(line, std::string::npos);
  older.erase(line, older.find('\n', line) + 1 - line);
  ASSERT_EQ(older.find("\"data\": false"), std::string::npos);
  EXPECT_TRUE(ParseBundle(older).spec.draw_data);
}

TEST(Overlays, ImagesHaveNone) {
  AnimationSpec spec;
  spec.image = std::string(DIFFUSCOPE_RESOURCES) + "/images/butterfly.jpg";
  spec.contours = true;
  EXPECT_NE(spec.Check().find("2D data"), std::string::npos);
  spec.contours = false;
  spec.field.kind = FieldKind::kScore;
  EXPECT_NE(spec.Check().find("2D data"), std::string::npos);
  spec.field.kind = FieldKind::kNone;
  EXPECT_EQ(spec.Check(), "");
  spec.draw_data = false;  // images have no data set behind them to leave out
  EXPECT_NE(spec.Check().find("2D data"), std::string::npos);
}

TEST(Density, TheGridIsAHistogramSmoothedAndTheLinesCloseInTheBox) {
  Batch points(2, 2);
  points << 0.1f, 0.1f, 0.6f, 0.6f;
  const PlotBox box{0, 1, 0, 1};
  const Batch density = DensityGrid(points, box, 10);
  // Both points fall in their cells; the blur keeps the mass (inside the box) and is symmetric about the diagonal.
  EXPECT_GT(density(1, 1), density(1, 8));
  EXPECT_NEAR(density(1, 6), density(6, 1), 1e-6);
  EXPECT_TRUE(DensityGrid(Batch(), box, 10).isZero());
  for (const Polyline& line : DensityContourLines(points, box)) {
    EXPECT_EQ(line.front(), line.back());
    for (const Point2& p : line) EXPECT_TRUE(p.x >= 0 && p.x <= 1 && p.y >= 0 && p.y <= 1);
  }
  EXPECT_THROW(DensityGrid(points, PlotBox{1, 0, 0, 1}), Error);
}

}  // namespace
}  // namespace diffuscope

// core/models/ddpm2d: the default architecture and schedules, the timestep the network sees, model files, and a
// short training on two clusters whose samples (through diffuscope::Sample) must land on the data.
#include "core/models/ddpm2d.h"
#include "core/data/points2d.h"
#include "core/models/registry.h"
#include "core/random/random.h"
#include "core/sampling/sampler.h"

#include <gtest/gtest.h>
#include <Eigen/Cholesky>

#include <cmath>
#include <filesystem>

#include <unistd.h>

namespace diffuscope {
namespace {

namespace fs = std::filesystem;

fs::path Scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("diffuscope_ddpm2d_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

// Two isotropic Gaussian clusters, N((-1.5, 0), 0.2^2 I) and N((1.5, 0), 0.2^2 I), equally likely.
constexpr double kCenter = 1.5, kSpread = 0.2;
Batch TwoClusters(int n, uint64_t seed) {
  RandomStream rng({.seed = seed, .stream = Stream::kUser, .index = 0});
  Batch x(n, 2);
  for (int i = 0; i < n; ++i) {
    const double side = rng.Uniform() < 0.5 ? -1.0 : 1.0;
    x(i, 0) = static_cast<float>(side * kCenter + kSpread * rng.Normal());
    x(i, 1) = static_cast<float>(kSpread * rng.Normal());
  }
  return x;
}

// Unbiased energy distance 2 E|X - Y| - E|X - X'| - E|Y - Y'| (Szekely and Rizzo).
double EnergyDistance(const Batch& x, const Batch& y) {
  auto mean_distance = [](const Batch& a, const Batch& b, bool same) {
    double sum = 0;
    for (Eigen::Index i = 0; i < a.rows(); ++i)
      for (Eigen::Index j = 0; j < b.rows(); ++j)
        if (!same || i != j) sum += (a.row(i) - b.row(j)).cast<double>().norm();
    const double pairs = static_cast<double>(a.rows()) * (same ? a.rows() - 1 : b.rows());
    return sum / pairs;
  };
  return 2 * mean_distance(x, y, false) - mean_distance(x, x, true) - mean_distance(y, y, true);
}

// n draws of the Gaussian with data's mean and covariance: the baseline a model has to beat.
Batch FittedGaussian(const Batch& data, int n, uint64_t seed) {
  const Eigen::RowVector2d mean = data.cast<double>().colwise().mean();
  const Eigen::MatrixXd centered = data.cast<double>().rowwise() - mean;
  const Eigen::Matrix2d cov = centered.transpose() * centered / (data.rows() - 1.0);
  const Eigen::Matrix2d l = cov.llt().matrixL();
  RandomStream rng({.seed = seed, .stream = Stream::kUser, .index = 1});
  Batch out(n, 2);
  for (int i = 0; i < n; ++i) {
    const Eigen::Vector2d z(rng.Normal(), rng.Normal());
    out.row(i) = (mean.transpose() + l * z).transpose().cast<float>();
  }
  return out;
}

TEST(Ddpm2d, SchedulesAndArchitectureAreTinyDiffusionsWithACosineDefault) {
  const NoiseSchedule cosine(Ddpm2dDefaultSchedule());
  EXPECT_EQ(cosine.num_steps(), 50);
  EXPECT_EQ(cosine.options().kind, ScheduleKind::kCosine);
  EXPECT_LT(cosine.alpha_bar(50), 1e-4);  // x_T is pure noise
  EXPECT_GT(cosine.alpha(50), 0.099);     // and the first reverse step does not amplify the model's error 32x
  const NoiseSchedule tiny(TinyDiffusionSchedule());
  EXPECT_NEAR(tiny.alpha_bar(50), 0.602951597, 1e-8);  // REFERENCE.md: tiny-diffusion's T = 50 linear
  Ddpm2dModel model;
  EXPECT_EQ(model.network_spec(), TinyDiffusionSpec(128, 25.0, 128, 3));
  EXPECT_EQ(model.weights().size(), 99074u);
  EXPECT_EQ(model.dimension(), 2);
  EXPECT_EQ(model.trained_steps(), 0);
  EXPECT_FALSE(model.resumable());
  EXPECT_EQ(model.name(), "DDPM 2D");
  Ddpm2dOptions bad;
  bad.embedding_size = 7;
  EXPECT_THROW(Ddpm2dModel{bad}, Error);
  bad = {};
  bad.schedule.num_steps = 0;
  EXPECT_THROW(Ddpm2dModel{bad}, Error);
}

TEST(Ddpm2d, TheNetworkSeesTheTimestepIndexAndOtherSchedulesMapByLogSnr) {
  Ddpm2dModel model;
  const NoiseSchedule& own = model.schedule();
  DenoiseQuery q;
  q.t = 17;
  q.alpha_bar = own.alpha_bar(17);
  EXPECT_EQ(model.TimestepIndex(q), 16.0);  // no schedule given: the model's own
  q.schedule = &own;
  EXPECT_EQ(model.TimestepIndex(q), 16.0);
  const NoiseSchedule copy(Ddpm2dDefaultSchedule());
  q.schedule = &copy;
  EXPECT_EQ(model.TimestepIndex(q), 16.0);
  q.t = 51;
  EXPECT_THROW(model.TimestepIndex(q), Error);
  // A sampler on T = 1000 cosine: alpha_bar values between the model's 50 map to fractional indices.
  ScheduleOptions fine_options = Ddpm2dDefaultSchedule();
  fine_options.num_steps = 1000;
  const NoiseSchedule fine(fine_options);
  q.schedule = &fine;
  double previous = -1;
  for (int t = 1; t <= 1000; t += 37) {
    q.t = t;
    q.alpha_bar = fine.alpha_bar(t);
    const double index = model.TimestepIndex(q);
    EXPECT_GE(index, 0.0);
    EXPECT_LE(index, 49.0);
    EXPECT_GT(index, previous);
    // cosine schedules share alpha_bar(u) for u = t / T: fine t = 20 k is the model's t = k, index k - 1.
    previous = index;
  }
  q.t = 400;  // u = 0.4: the model's t = 20
  q.alpha_bar = fine.alpha_bar(400);
  EXPECT_NEAR(model.TimestepIndex(q), 19.0, 1e-6);
  q.alpha_bar = own.alpha_bar(33);
  q.t = 1;
  EXPECT_NEAR(model.TimestepIndex(q), 32.0, 1e-9);  // an exact alpha_bar of the model's own
}

TEST(Ddpm2d, PredictsEpsOfTheRightShapeAndRefusesOtherDimensions) {
  Ddpm2dModel model;
  const Batch x = InitialNoise(300, 2, 1);
  DenoiseQuery q;
  q.t = 10;
  q.alpha_bar = model.schedule().alpha_bar(10);
  const Prediction p = model.Predict(x, q);
  EXPECT_EQ(p.kind, PredictionKind::kEps);
  EXPECT_EQ(p.value.rows(), 300);
  EXPECT_EQ(p.value.cols(), 2);
  EXPECT_TRUE(p.value.allFinite());
  Batch direct;
  model.PredictEps(x, 9.0, &direct);
  EXPECT_TRUE(direct == p.value);
  EXPECT_THROW(model.Predict(InitialNoise(3, 3, 1), q), Error);
}

TEST(Ddpm2d, ModelFilesRoundTripAndForeignModelsAreRefused) {
  Ddpm2dOptions options;
  options.embedding_size = 16;
  options.hidden_size = 16;
  options.hidden_layers = 1;
  options.schedule = TinyDiffusionSchedule();
  Ddpm2dModel model(options);
  model.info()["data"] = "two clusters";
  TrainOptions train;
  train.iterations = 50;
  TrainDdpm2d(model, TwoClusters(100, 1), train);
  EXPECT_EQ(model.name(), "DDPM 2D (two clusters)");
  const fs::path path = Scratch("small.dfm");
  model.Save(path);
  Ddpm2dModel loaded = Ddpm2dModel::Load(path);
  EXPECT_EQ(loaded.weights(), model.weights());
  EXPECT_EQ(loaded.schedule().options(), TinyDiffusionSchedule());
  EXPECT_EQ(loaded.trained_steps(), 50);
  EXPECT_EQ(loaded.training(), train);
  EXPECT_EQ(loaded.name(), model.name());
  EXPECT_FALSE(loaded.resumable());
  const Batch x = InitialNoise(50, 2, 2);
  Batch a, b;
  model.PredictEps(x, 3, &a);
  loaded.PredictEps(x, 3, &b);
  EXPECT_TRUE(a == b);
  // Saved for sampling only: no further training.
  EXPECT_THROW(TrainDdpm2d(loaded, TwoClusters(100, 1), train), Error);

  ModelFile other = model.ToModelFile();
  other.model_type = "sohl-dickstein-2d";
  SaveModelFile(other, Scratch("other.dfm"));
  try {
    Ddpm2dModel::Load(Scratch("other.dfm"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sohl-dickstein-2d"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("other.dfm"), std::string::npos) << e.what();
  }
  ModelFile wide = model.ToModelFile();
  wide.network.layers.back() = LayerSpec::Linear(16, 3);
  wide.weights.resize(static_cast<size_t>(wide.network.num_parameters()));
  EXPECT_THROW(Ddpm2dModel{wide}, Error);
}

// x = 5 z + (10, -3) for every row z: data at scale 5 with an offset.
Batch ScaledShifted(const Batch& z) {
  Batch x = 5.0f * z;
  x.col(0).array() += 10.0f;
  x.col(1).array() -= 3.0f;
  return x;
}

TEST(Ddpm2d, LearnsInTheNormalisedSpaceAndSamplesInTheDataUnits) {
  Ddpm2dOptions options;
  options.embedding_size = 32;
  options.hidden_size = 64;
  options.hidden_layers = 2;
  const Batch data = ScaledShifted(TwoClusters(2000, 2));
  const fs::path csv = Scratch("scaled.csv");
  SavePointsCsv(csv, data);
  // The file's own normalisation: its centre (10, -3) and pooled spread 5 sqrt((1.5^2 + 0.2^2 + 0.2^2) / 2).
  const PointNormalization normalization = DatasetNormalization(csv.string());
  EXPECT_NEAR(normalization.shift_x, 10.0, 0.5);
  EXPECT_NEAR(normalization.shift_y, -3.0, 0.1);
  EXPECT_NEAR(normalization.scale, 5.0 * std::sqrt((kCenter * kCenter + 2 * kSpread * kSpread) / 2), 0.2);

  TrainOptions train;
  train.iterations = 1500;
  train.seed = 3;
  Ddpm2dModel model(options), unit(options);
  model.set_normalization(normalization);
  TrainDdpm2d(model, data, train);
  // Training maps the data into the normalised space: the weights are those of a model trained on the mapped data.
  TrainDdpm2d(unit, normalization.ToModel(data), train);
  EXPECT_EQ(model.weights(), unit.weights());
  EXPECT_THROW(model.set_normalization({}), Error);  // the weights belong to their space

  // The model file keeps the shift and scale; OpenModel reports them, so the samples come back in data units.
  const fs::path path = Scratch("scaled.dfm");
  model.Save(path);
  const ModelFile file = LoadModelFile(path);
  EXPECT_EQ(file.settings.at("data_shift_x"), normalization.shift_x);
  EXPECT_EQ(file.settings.at("data_shift_y"), normalization.shift_y);
  EXPECT_EQ(file.settings.at("data_scale"), normalization.scale);
  OpenedModel opened = OpenModel(path.string(), {});
  EXPECT_EQ(opened.normalization, normalization);
  const int n = 2000;
  const Batch samples = opened.normalization.ToData(
      Sample(NoiseSchedule(*opened.schedule), *opened.denoiser, SamplerOptions{}, InitialNoise(n, 2, 5)));
  ASSERT_TRUE(samples.allFinite());
  // Most samples near the scaled cluster centres (10 +- 7.5, -3), within 3 scaled spreads; balanced.
  int near = 0, left = 0;
  for (int i = 0; i < n; ++i) {
    const double dl = std::hypot(samples(i, 0) - (10 - 5 * kCenter), samples(i, 1) + 3);
    const double dr = std::hypot(samples(i, 0) - (10 + 5 * kCenter), samples(i, 1) + 3);
    if (std::min(dl, dr) < 3 * 5 * kSpread) ++near;
    if (dl < dr) ++left;
  }
  EXPECT_GT(near, 0.8 * n);
  EXPECT_NEAR(left, n / 2, 0.08 * n);
  // Against the data in its units the model is far closer than a Gaussian fitted to it.
  const Batch fresh = ScaledShifted(TwoClusters(n, 4));
  EXPECT_LT(EnergyDistance(samples, fresh), 0.3 * EnergyDistance(FittedGaussian(data, n, 6), fresh));

  // A file without the settings (written before they existed) reads as identity, and a partial set is an error.
  ModelFile old = file;
  old.settings.clear();
  EXPECT_TRUE(Ddpm2dModel(old).normalization().identity());
  ModelFile partial = file;
  partial.settings.erase("data_scale");
  EXPECT_THROW(Ddpm2dModel{partial}, Error);
  ModelFile zero = file;
  zero.settings["data_scale"] = 0.0;
  EXPECT_THROW(Ddpm2dModel{zero}, Error);
  // Identity is not written: files of unit-scale data keep their bytes.
  EXPECT_TRUE(unit.ToModelFile().settings.empty());
}

TEST(Ddpm2d, TrainingRejectsBadData) {
  Ddpm2dModel model;
  TrainOptions options;
  options.iterations = 10;
  EXPECT_THROW(TrainDdpm2d(model, Batch(0, 2), options), Error);
  EXPECT_THROW(TrainDdpm2d(model, Batch::Zero(5, 3), options), Error);
  Batch nan = Batch::Zero(5, 2);
  nan(3, 1) = NAN;
  EXPECT_THROW(TrainDdpm2d(model, nan, options), Error);
  options.batch_size = 0;
  EXPECT_THROW(TrainDdpm2d(model, Batch::Zero(5, 2), options), Error);
  EXPECT_EQ(model.trained_steps(), 0);
}

TEST(Ddpm2d, TrainingIsSeededAndResumesFromACheckpointFileBitForBit) {
  Ddpm2dOptions options;
  options.embedding_size = 32;
  options.hidden_size = 32;
  const Batch data = TwoClusters(500, 2);
  TrainOptions train;
  train.iterations = 300;
  train.checkpoint_every = 100;
  train.seed = 9;

  Ddpm2dModel whole(options), again(options), other_seed(options);
  TrainDdpm2d(whole, data, train);
  TrainDdpm2d(again, data, train);
  EXPECT_EQ(whole.weights(), again.weights());
  TrainOptions seed10 = train;
  seed10.seed = 10;
  TrainDdpm2d(other_seed, data, seed10);
  EXPECT_NE(whole.weights(), other_seed.weights());

  // Stopped after 150 updates: the checkpoint file holds them; resuming from it gives the uninterrupted result.
  const fs::path checkpoint = Scratch("checkpoint.dfm");
  Ddpm2dModel first(options);
  int updates = 0;
  EXPECT_THROW(TrainDdpm2d(
                   first, data, train, {}, [&] { return ++updates == 150; }, checkpoint),
               Cancelled);
  EXPECT_EQ(first.trained_steps(), 150);
  Ddpm2dModel resumed = Ddpm2dModel::Load(checkpoint);
  EXPECT_TRUE(resumed.resumable());
  EXPECT_EQ(resumed.trained_steps(), 150);
  const TrainReport report = TrainDdpm2d(resumed, data, train);
  EXPECT_EQ(report.steps, 150);
  EXPECT_EQ(resumed.trained_steps(), 300);
  EXPECT_EQ(resumed.weights(), whole.weights());
  // Asking for fewer updates than already done is an error, not a silent no-op.
  train.iterations = 200;
  EXPECT_THROW(TrainDdpm2d(resumed, data, train), Error);
}

TEST(Ddpm2d, ATrainedModelSamplesTheDataNotAGaussian) {
  const Batch data = TwoClusters(4000, 3);
  Ddpm2dModel model;
  TrainOptions options;
  options.iterations = 3000;
  options.seed = 1;
  double last_loss = 0;
  const TrainReport report = TrainDdpm2d(model, data, options, [&](const TrainProgress& p) { last_loss = p.loss_ema; });
  // The eps-prediction MSE starts near 1 (predicting 0); a model that learned the data is well below.
  EXPECT_LT(report.final_loss_ema, 0.6);
  EXPECT_EQ(last_loss, report.final_loss_ema);
  std::printf("trained 3000 updates in %.2f s (%.0f per second), final loss %.3f\n", report.seconds,
              report.steps_per_second, report.final_loss_ema);

  const int n = 2000;
  const Batch samples = Sample(model.schedule(), model, SamplerOptions{}, InitialNoise(n, 2, 5));
  ASSERT_TRUE(samples.allFinite());
  int near = 0, left = 0;
  for (int i = 0; i < n; ++i) {
    const double dl = std::hypot(samples(i, 0) + kCenter, samples(i, 1));
    const double dr = std::hypot(samples(i, 0) - kCenter, samples(i, 1));
    // 0.6 = 3 spreads: 98.9% of the data lie that close to their centre.
    if (std::min(dl, dr) < 3 * kSpread) ++near;
    if (dl < dr) ++left;
  }
  EXPECT_GT(near, 0.9 * n);
  // Balance: binomial standard deviation sqrt(n / 4) = 22 points; 5% of n is 4.5 of them.
  EXPECT_NEAR(left, n / 2, 0.05 * n);

  const Batch fresh = TwoClusters(n, 4);
  const double model_distance = EnergyDistance(samples, fresh);
  const double gaussian_distance = EnergyDistance(FittedGaussian(data, n, 6), fresh);
  std::printf("energy distance to fresh data: model %.4f, fitted Gaussian %.4f\n", model_distance, gaussian_distance);
  // The quality bar: at most a tenth of the Gaussian baseline's distance.
  EXPECT_LT(model_distance, 0.1 * gaussian_distance);
}

}  // namespace
}  // namespace diffuscope

// RunSpec: its JSON round trip (every field, inline points bit for bit), errors that name the field, older
// bundles; the run's core calls (reverse start on each path, sampler seed) against direct calls to the forward
// process and the sampler; a model trained in memory saved by its SHA-256 and remade from a bundle.
#include "core/run/run.h"
#include "core/common/sha256.h"
#include "core/data/points2d.h"
#include "core/export/animation.h"
#include "core/models/ddpm2d.h"
#include "core/models/exact.h"
#include "core/models/photo_eval.h"
#include "core/models/photo_models.h"
#include "core/train/model_file.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace diffuscope {
namespace {
namespace fs = std::filesystem;

std::string SampleImage() { return std::string(DIFFUSCOPE_RESOURCES) + "/images/butterfly.jpg"; }

RunSpec PointsRun() {
  RunSpec run;
  run.data = "moons";
  run.point_set = GenerateDataset("moons", 300, 3);
  run.point_set(0, 0) = 0.1f + 1e-7f;  // a float with no short decimal form
  run.points = 150;
  run.schedule.kind = ScheduleKind::kCosine;
  run.schedule.num_steps = 40;
  run.model = "empirical";
  run.seed = 11;
  run.sampler.seed = 12;
  return run;
}

TEST(RunSpec, JsonRoundTripKeepsEveryField) {
  RunSpec run = PointsRun();
  run.schedule.zero_terminal_snr = true;
  run.schedule_from_model = false;
  run.sampler.kind = SamplerKind::kDdim;
  run.sampler.num_steps = 20;
  run.sampler.eta = 0.5;
  run.sampler.seed = 18446744073709551615ull;  // every bit of a 64-bit seed
  run.forward_path = ForwardPath::kMarkov;
  run.start_t = 25;
  run.seed = 9007199254740993ull;  // 2^53 + 1: not a double
  const RunSpec back = ParseRunSpec(RunSpecToJson(run));
  EXPECT_EQ(back.data, "moons");
  ASSERT_EQ(back.point_set.rows(), 300);
  EXPECT_TRUE((back.point_set.array() == run.point_set.array()).all());
  EXPECT_EQ(back.points, 150);
  EXPECT_TRUE(back.schedule == run.schedule);
  EXPECT_FALSE(back.schedule_from_model);
  EXPECT_TRUE(back.sampler == run.sampler);
  EXPECT_EQ(back.sampler.seed, 18446744073709551615ull);
  EXPECT_EQ(back.model, "empirical");
  EXPECT_EQ(back.forward_path, ForwardPath::kMarkov);
  EXPECT_EQ(back.start_t, 25);
  EXPECT_EQ(back.seed, 9007199254740993ull);
  EXPECT_EQ(RunSpecToJson(back), RunSpecToJson(run));
}

TEST(RunSpec, ErrorsNameTheField) {
  const std::string good = RunSpecToJson(PointsRun());
  auto message = [](const std::string& text) {
    try {
      ParseRunSpec(text, "run.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };
  EXPECT_EQ(message(replaced("\"kind\": \"ddpm\"", "\"kind\": \"ddjm\"")),
            "run.json: 'sampler.kind' is 'ddjm', not a known sampler (ddpm, ddim, ode-euler, sde-euler, heun-karras, "
            "dpm-solver++, flow-euler, flow-heun)");
  EXPECT_EQ(message(replaced("\"steps\": 40", "\"steps\": \"forty\"")),
            "run.json: 'schedule.steps' must be a whole number");
  EXPECT_EQ(message(replaced("\"seed\": 11", "\"seed\": -1")), "run.json: 'seed' must not be negative");
  EXPECT_EQ(message(replaced("\"forward_path\": \"closed\"", "\"forward_path\": \"wiggly\"")),
            "run.json: 'forward_path' is 'wiggly', not a known forward path (closed, markov, fresh-noise)");
  EXPECT_EQ(message(replaced("\"start_t\": 0", "\"start_t\": 41")),
            "run.json: start_t must be in 0..40 (0 = from pure noise)");
  EXPECT_EQ(message("{\"image\": \"a.png\"}"), "run.json: 'schedule' is missing");
  EXPECT_EQ(message("[1, 2]"), "run.json: the run must be a JSON object");
  EXPECT_NE(message("{not json").find("run.json is not valid JSON"), std::string::npos);
}

TEST(RunSpec, OptionsJsonRoundTrip) {
  ScheduleOptions schedule;
  schedule.kind = ScheduleKind::kSigmoid;
  schedule.num_steps = 77;
  EXPECT_TRUE(ParseScheduleOptions(ScheduleOptionsToJson(schedule)) == schedule);
  SamplerOptions sampler;
  sampler.kind = SamplerKind::kDdim;
  sampler.seed = 5;
  sampler.clip_x0 = true;
  EXPECT_TRUE(ParseSamplerOptions(SamplerOptionsToJson(sampler)) == sampler);
  EXPECT_THROW(ParseSamplerOptions("{\"eta\": -1}"), Error);
}

TEST(Run, ReverseStartIsNoiseOrTheNoisedDataOnThePath) {
  RunSpec run = PointsRun();
  const NoiseSchedule schedule(run.schedule);
  const Batch& x0 = run.point_set;
  ReverseStart start = ReverseStartOf(run, schedule, x0, 150);
  EXPECT_EQ(start.start_t, 0);
  EXPECT_TRUE((start.x.array() == InitialNoise(150, 2, 11).array()).all());
  run.start_t = 30;
  const ForwardProcess forward(schedule, x0, 11);
  start = ReverseStartOf(run, schedule, x0, 150);
  EXPECT_EQ(start.start_t, 30);
  EXPECT_TRUE((start.x.array() == forward.Closed(30).array()).all());
  run.forward_path = ForwardPath::kMarkov;
  start = ReverseStartOf(run, schedule, x0, 150);
  EXPECT_TRUE((start.x.array() == forward.Markov(30).array()).all());
  EXPECT_FALSE((start.x.array() == forward.Closed(30).array()).all());
}

TEST(Run, ExportedReverseRunFromNoisedDataFollowsTheMarkovPath) {
  AnimationSpec spec;
  static_cast<RunSpec&>(spec) = PointsRun();
  spec.direction = Direction::kReverse;
  spec.render.layout = Layout::kScatter;
  spec.forward_path = ForwardPath::kMarkov;
  spec.start_t = 30;
  spec.frames = 100;
  const AnimationFrames f = RenderAnimation(spec);
  const NoiseSchedule schedule(spec.schedule);
  const ForwardProcess forward(schedule, spec.point_set, spec.seed);
  ASSERT_EQ(f.t.front(), 30);
  EXPECT_TRUE((f.x_t.front().array() == forward.Markov(30).array()).all());
  // Every state equals the sampler run directly from there, with the run's own sampler seed.
  EmpiricalDenoiser model(spec.point_set);
  Sampler sampler(schedule, model, spec.sampler, forward.Markov(30), nullptr, 30);
  size_t k = 1;
  while (!sampler.done()) {
    const Step& step = sampler.Next();
    ASSERT_LT(k, f.x_t.size());
    EXPECT_EQ(f.t[k], step.t_prev);
    EXPECT_TRUE((f.x_t[k].array() == step.x_prev.array()).all()) << "t = " << step.t_prev;
    ++k;
  }
  EXPECT_EQ(k, f.x_t.size());
  // Another sampler seed draws other noise: other frames.
  spec.sampler.seed = 13;
  EXPECT_FALSE((RenderAnimation(spec).x_t.back().array() == f.x_t.back().array()).all());
}

TEST(Run, ForwardFramesMoveTheInlinePoints) {
  AnimationSpec spec;
  static_cast<RunSpec&>(spec) = PointsRun();
  spec.render.layout = Layout::kScatter;
  spec.times = {0, 10, 40};
  for (ForwardPath path : {ForwardPath::kClosed, ForwardPath::kMarkov, ForwardPath::kFreshNoise}) {
    spec.forward_path = path;
    const AnimationFrames f = RenderAnimation(spec);
    const ForwardProcess forward(NoiseSchedule(spec.schedule), spec.point_set, spec.seed);
    for (size_t k = 0; k < 3; ++k)
      EXPECT_TRUE((f.x_t[k].array() == ForwardAt(forward, path, spec.times[k], k).array()).all());
  }
  EXPECT_EQ(RenderAnimation(spec).input_sha256,
            Sha256Hex(spec.point_set.data(), static_cast<size_t>(spec.point_set.size()) * sizeof(float)));
}

TEST(Run, ModelInMemoryIsSavedByItsShaAndABundleRemakesIt) {
  const fs::path dir = fs::path(::testing::TempDir()) / "run_models";
  fs::remove_all(dir);
  Ddpm2dOptions options;
  options.schedule.kind = ScheduleKind::kCosine;
  options.schedule.num_steps = 40;
  Ddpm2dModel model(options);
  const std::vector<uint8_t> bytes = SerializeModelFile(model.ToModelFile());
  const fs::path path = SaveContentAddressedModel(bytes, dir);
  const std::string sha = Sha256Hex(bytes.data(), bytes.size());
  EXPECT_EQ(path.filename().string(), "model-" + sha + ".dfm");
  EXPECT_EQ(Sha256File(path), sha);
  EXPECT_EQ(SaveContentAddressedModel(bytes, dir), path);  // the same bytes: the same file

  AnimationSpec spec;
  static_cast<RunSpec&>(spec) = PointsRun();
  spec.model = path.string();
  spec.direction = Direction::kReverse;
  spec.render.layout = Layout::kScatter;
  spec.render.scatter.width = spec.render.scatter.height = 64;
  spec.frames = 5;
  const fs::path out = dir / "run.gif";
  ExportAnimationJob(spec, out);
  const Bundle bundle = ReadBundle(dir / "run.gif.json");
  EXPECT_EQ(bundle.model_sha256, sha);
  EXPECT_EQ(bundle.spec.model, path.string());
  const AnimationFrames again = RenderAnimation(bundle.spec);
  ASSERT_EQ(again.frames.size(), bundle.frame_sha256.size());
  for (size_t k = 0; k < again.frames.size(); ++k)
    EXPECT_EQ(Sha256Hex(again.frames[k].rgb.data(), again.frames[k].rgb.size()), bundle.frame_sha256[k]);
}

TEST(Run, OlderBundlesStartReverseRunsOnTheClosedForm) {
  AnimationSpec spec;
  spec.image = SampleImage();
  spec.direction = Direction::kReverse;
  spec.forward_path = ForwardPath::kMarkov;
  Bundle bundle;
  bundle.spec = spec;
  std::string text = BundleToJson(bundle);
  // A version-1 spec: "markov" instead of "forward_path".
  const std::string key = "\"forward_path\": \"markov\"";
  text.replace(text.find(key), key.size(), "\"markov\": true");
  EXPECT_EQ(ParseBundle(text).spec.forward_path, ForwardPath::kClosed);
  spec.direction = Direction::kForward;
  bundle.spec = spec;
  text = BundleToJson(bundle);
  text.replace(text.find(key), key.size(), "\"markov\": true");
  EXPECT_EQ(ParseBundle(text).spec.forward_path, ForwardPath::kMarkov);
}

// A region of the image at its own resolution, and super-resolution runs: the truth and its area-downscaled
// view (simulated), or the image and its bicubic upsample; their JSON, their checks, and SR3's condition.
Image Gradient(int width, int height) {
  Image image;
  image.channels = 3;
  image.width = width;
  image.height = height;
  image.pixels.resize(1, 3L * width * height);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        image.pixels(0, (static_cast<long>(c) * height + y) * width + x) = -1.0f + 0.01f * (x + 3 * y + 50 * c);
  return image;
}

TEST(RunSpec, RegionAndSuperResolutionRoundTripAndCheck) {
  RunSpec run;
  run.image = "photo.png";
  EXPECT_EQ(RunSpecToJson(run).find("super_resolution"), std::string::npos);  // unused: not written
  EXPECT_EQ(RunSpecToJson(run).find("region"), std::string::npos);
  run.super_resolution = 4;
  run.simulate_low_resolution = true;
  run.region_x = 5;
  run.region_y = 6;
  run.region_width = 64;
  run.region_height = 48;
  const RunSpec back = ParseRunSpec(RunSpecToJson(run));
  EXPECT_EQ(back.super_resolution, 4);
  EXPECT_TRUE(back.simulate_low_resolution);
  EXPECT_EQ(back.region_x, 5);
  EXPECT_EQ(back.region_y, 6);
  EXPECT_EQ(back.region_width, 64);
  EXPECT_EQ(back.region_height, 48);
  EXPECT_EQ(RunSpecToJson(back), RunSpecToJson(run));
  RunSpec bad = run;
  bad.super_resolution = 1;
  EXPECT_NE(bad.Check().find("super_resolution"), std::string::npos);
  bad = run;
  bad.region_height = 0;
  EXPECT_NE(bad.Check().find("region_width and region_height"), std::string::npos);
  bad = run;
  bad.region_x = -1;
  EXPECT_NE(bad.Check().find("region_x"), std::string::npos);
}

TEST(Run, RegionIsCutAtTheImagesOwnResolution) {
  const Image image = Gradient(40, 30);
  RunSpec run;
  run.image = "gradient.png";
  run.region_x = 10;
  run.region_y = 4;
  run.region_width = 12;
  run.region_height = 8;
  const RunInput input = ImageRunInputOf(run, image, run.image);
  EXPECT_EQ(input.shape.width, 12);
  EXPECT_EQ(input.shape.height, 8);
  // Pixel (x, y) of the region, channel 2, is pixel (10 + x, 4 + y) of the image.
  EXPECT_EQ(input.x0(0, (2L * 8 + 3) * 12 + 5), image.pixels(0, (2L * 30 + 7) * 40 + 15));
  // A region past the edge is clamped to the image.
  run.region_x = 35;
  run.region_width = 20;
  EXPECT_EQ(ImageRunInputOf(run, image, run.image).shape.width, 5);
}

TEST(Run, SuperResolutionInputIsTheTruthAndItsView) {
  const Image image = Gradient(42, 30);
  RunSpec run;
  run.image = "gradient.png";
  run.super_resolution = 4;
  run.simulate_low_resolution = true;
  RunInput input = ImageRunInputOf(run, image, run.image);
  // The truth cut to a multiple of 4 (40 x 28), its view 10 x 7, area averages of 4 x 4 blocks.
  EXPECT_EQ(input.shape.width, 40);
  EXPECT_EQ(input.shape.height, 28);
  EXPECT_EQ(input.low_shape.width, 10);
  EXPECT_EQ(input.low_shape.height, 7);
  float block = 0.0f;
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) block += input.x0(0, y * 40 + x) / 16.0f;
  EXPECT_NEAR(input.low(0, 0), block, 1e-5f);
  // Not simulated: the image is the low-resolution input, 4 x larger out.
  run.simulate_low_resolution = false;
  input = ImageRunInputOf(run, image, run.image);
  EXPECT_EQ(input.low_shape.width, 42);
  EXPECT_EQ(input.shape.width, 168);
  EXPECT_EQ(input.shape.height, 120);
  EXPECT_TRUE((input.low.array() == image.pixels.array()).all());

  // SR3's condition is the bicubic upsample of the view; a run that is not super-resolution is refused.
  Sr3PhotoOptions tiny;
  tiny.network.channels = {8, 16};
  tiny.network.groups = 4;
  tiny.network.embedding_size = 16;
  tiny.network.embedding_width = 16;
  Sr3PhotoModel model(tiny);
  const Batch condition = RunCondition(model, input);
  EXPECT_TRUE((condition.array() == model.Condition(input.low, 3, 30, 42).array()).all());
  EXPECT_EQ(condition.cols(), input.x0.cols());
  RunSpec plain;
  plain.image = "gradient.png";
  try {
    RunCondition(model, ImageRunInputOf(plain, image, plain.image));
    ADD_FAILURE() << "an SR3 photo model ran without a low-resolution input";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("super-resolution run"), std::string::npos) << e.what();
  }
  // Too large an output is an error, not gigabytes.
  RunSpec huge = run;
  Image big = Gradient(1100, 1100);
  huge.max_image_side = 4096;
  EXPECT_THROW(ImageRunInputOf(huge, big, huge.image), Error);
}

TEST(RunSpec, SrSamplesRoundTripAndCheck) {
  RunSpec run;
  run.image = "photo.png";
  run.super_resolution = 4;
  EXPECT_EQ(RunSpecToJson(run).find("sr_samples"), std::string::npos);  // one sample: not written
  run.sr_samples = 8;
  EXPECT_EQ(ParseRunSpec(RunSpecToJson(run)).sr_samples, 8);
  // A file written before sr_samples (the text of a one-sample run has no such field) reads one sample.
  RunSpec one = run;
  one.sr_samples = 1;
  const std::string old_text = RunSpecToJson(one);
  ASSERT_EQ(old_text.find("sr_samples"), std::string::npos);
  EXPECT_EQ(ParseRunSpec(old_text).sr_samples, 1);
  RunSpec bad = run;
  bad.sr_samples = 0;
  EXPECT_NE(bad.Check().find("sr_samples"), std::string::npos);
  bad.sr_samples = kMaxSrSamples + 1;
  EXPECT_NE(bad.Check().find("sr_samples"), std::string::npos);
  bad = run;
  bad.super_resolution = 0;
  EXPECT_NE(bad.Check().find("super-resolution runs"), std::string::npos);
  EXPECT_EQ(run.Check(), "");
}

TEST(Run, MeanOfSrChainsIsSuperResolvePhotosAndChainZeroIsTheRunWatched) {
  const Image image = Gradient(6, 5);
  RunSpec run;
  run.image = "gradient.png";
  run.super_resolution = 4;
  run.seed = 5;
  run.sampler.kind = SamplerKind::kDdpm;  // every step draws noise: the chains' step seeds matter
  run.sampler.num_steps = 3;
  run.sampler.seed = 12;
  const RunInput input = ImageRunInputOf(run, image, run.image);
  Sr3PhotoOptions tiny;
  tiny.network.channels = {8, 16};
  tiny.network.groups = 4;
  tiny.network.embedding_size = 16;
  tiny.network.embedding_width = 16;
  tiny.crops.side = 16;
  Sr3PhotoModel model(tiny);
  // A few updates, so the output depends on x_t and the chains differ.
  TrainOptions train = PhotoDefaultTraining(3);
  train.warmup_steps = 0;
  train.learning_rate = 1e-2;
  TrainSr3Photo(model, {Gradient(40, 48), Gradient(32, 32)}, train);
  model.SetImageSize(3, input.shape.height, input.shape.width);
  const Batch condition = RunCondition(model, input);
  const NoiseSchedule schedule(model.schedule());

  ReverseRun one = StartReverseRun(run, schedule, model, input, {}, &condition);
  std::vector<Step> single;
  while (!one.done()) single.push_back(one.Next());
  run.sr_samples = 3;
  ReverseRun three = StartReverseRun(run, schedule, model, input, {}, &condition);
  ASSERT_EQ(three.chains(), 3);
  ASSERT_EQ(three.steps_total(), 3);
  for (size_t k = 0; !three.done(); ++k) {
    const Step& step = three.Next();
    // Chain 0 is the one-chain run; x0_hat is the mean over the chains, not chain 0's.
    EXPECT_EQ((step.x_t - single[k].x_t).cwiseAbs().maxCoeff(), 0.0f);
    EXPECT_GT((step.x0_hat - single[k].x0_hat).cwiseAbs().maxCoeff(), 1e-5f);
  }
  EXPECT_EQ(three.nfe(), 3 * one.nfe());
  // The result is SuperResolvePhoto's mean of three from the same seeds (the command line's sr --samples 3).
  Image low;
  low.channels = 3;
  low.height = input.low_shape.height;
  low.width = input.low_shape.width;
  low.pixels = input.low;
  const Batch mean = SuperResolvePhoto(model, low, RunSamplerOptions(run, schedule.num_steps()), run.seed, {}, {}, 3);
  EXPECT_LT((three.x() - mean).cwiseAbs().maxCoeff(), 1e-6f);
  EXPECT_GT((three.x() - one.x().cwiseMax(-1.0f).cwiseMin(1.0f)).cwiseAbs().maxCoeff(), 1e-4f);
}

}  // namespace
}  // namespace diffuscope

#include "core/export/animation.h"

#include "core/data/points2d.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

namespace diffuscope {
namespace {
namespace fs = std::filesystem;

std::string SampleImage() { return std::string(DIFFUSCOPE_RESOURCES) + "/images/butterfly.jpg"; }

AnimationSpec SmallImageSpec() {
  AnimationSpec spec;
  spec.image = SampleImage();
  spec.max_image_side = 32;
  spec.frames = 6;
  spec.seed = 5;
  spec.render.min_cell = 32;
  return spec;
}

TEST(Animation, ForwardFramesFollowTheChosenTimes) {
  AnimationSpec spec = SmallImageSpec();
  AnimationFrames f = RenderAnimation(spec);
  ASSERT_EQ(f.frames.size(), 6u);
  EXPECT_EQ(f.t, (std::vector<int>{0, 200, 400, 600, 800, 1000}));
  EXPECT_NE(f.frames.front(), f.frames.back());
  EXPECT_EQ(f.input_sha256, Sha256File(SampleImage()));
  spec.spacing = FrameSpacing::kLogSnr;
  f = RenderAnimation(spec);
  // log-SNR spacing puts more frames at small t than time spacing does.
  EXPECT_EQ(f.t.front(), 0);
  EXPECT_EQ(f.t.back(), 1000);
  EXPECT_LT(f.t[2], 400);
}

TEST(Animation, ReverseRunsEndOnDataAndSdeditStartsAtFromT) {
  AnimationSpec spec = SmallImageSpec();
  spec.direction = Direction::kReverse;
  spec.model = "oracle";
  spec.sampler.kind = SamplerKind::kDdim;
  spec.sampler.num_steps = 10;
  spec.render.layout = Layout::kPredictions;
  AnimationFrames f = RenderAnimation(spec);
  EXPECT_EQ(f.t.front(), 1000);
  EXPECT_EQ(f.t.back(), 0);
  spec.from_t = 300;
  f = RenderAnimation(spec);
  EXPECT_EQ(f.t.front(), 300);
  EXPECT_EQ(f.t.back(), 0);
}

TEST(Animation, BundleRoundTripReproducesFramesBitForBit) {
  const fs::path dir = fs::path(::testing::TempDir()) / "animation_bundle";
  fs::remove_all(dir);
  fs::create_directories(dir);
  AnimationSpec spec = SmallImageSpec();
  spec.render.layout = Layout::kSchedule;
  spec.render.caption = true;
  spec.forward_path = ForwardPath::kMarkov;
  const ExportResult result = ExportAnimationJob(spec, dir / "a.gif");
  EXPECT_EQ(result.frames, 6);
  const Bundle bundle = ReadBundle(dir / "a.gif.json");
  EXPECT_EQ(bundle.frame_sha256.size(), 6u);
  EXPECT_EQ(bundle.input_sha256, Sha256File(SampleImage()));
  // The spec survives JSON exactly, and remaking it gives the same frames.
  EXPECT_EQ(BundleToJson(bundle), BundleToJson(ParseBundle(BundleToJson(bundle))));
  const AnimationFrames again = RenderAnimation(bundle.spec);
  for (size_t k = 0; k < again.frames.size(); ++k)
    EXPECT_EQ(Sha256Hex(again.frames[k].rgb.data(), again.frames[k].rgb.size()), bundle.frame_sha256[k]);
  // 2D data, reverse, exact denoiser: also reproducible.
  AnimationSpec points;
  points.data = "moons";
  points.points = 200;
  points.data_points = 500;
  points.direction = Direction::kReverse;
  points.model = "exact";
  points.schedule.kind = ScheduleKind::kCosine;
  points.schedule.num_steps = 20;
  points.render.layout = Layout::kScatter;
  points.render.scatter.width = points.render.scatter.height = 96;
  points.frames = 5;
  points.seed = 3;
  ExportAnimationJob(points, dir / "frames");
  const Bundle b2 = ReadBundle(dir / "frames" / "bundle.json");
  const AnimationFrames f2 = RenderAnimation(b2.spec);
  ASSERT_EQ(f2.frames.size(), b2.frame_sha256.size());
  EXPECT_EQ(Sha256Hex(f2.frames.back().rgb.data(), f2.frames.back().rgb.size()), b2.frame_sha256.back());
}

TEST(Animation, BundlesKeepTheVideoQualityAndOlderBundlesStillRead) {
  Bundle bundle;
  bundle.spec = SmallImageSpec();
  bundle.spec.output.video_crf = 23;
  bundle.spec.output.video_threads = 2;
  const Bundle back = ParseBundle(BundleToJson(bundle));
  EXPECT_EQ(back.spec.output.video_crf, 23);
  EXPECT_EQ(back.spec.output.video_threads, 2);
  // A bundle from before the quality option: no video_crf / video_threads; it reads with the defaults.
  std::string old_json = BundleToJson(bundle);
  for (const std::string key : {"\"video_crf\": 23,", "\"video_threads\": 2"}) {
    const size_t at = old_json.find(key);
    ASSERT_NE(at, std::string::npos) << key;
    old_json.erase(at, key.size());
  }
  const size_t comma = old_json.find("\"video_codec\": \"auto\",");  // now the last field of "output"
  ASSERT_NE(comma, std::string::npos);
  old_json.erase(comma + std::string("\"video_codec\": \"auto\"").size(), 1);
  const Bundle older = ParseBundle(old_json);
  EXPECT_EQ(older.spec.output.video_crf, ExportOptions{}.video_crf);
  EXPECT_EQ(older.spec.output.video_threads, ExportOptions{}.video_threads);
  // The default export size: the image's own, at most kDefaultExportSide a side.
  EXPECT_EQ(AnimationSpec{}.max_image_side, 1024);
  AnimationSpec full;
  full.image = SampleImage();  // 493 x 356
  full.frames = 1;
  full.seed = 1;
  const AnimationFrames frames = RenderAnimation(full);
  ASSERT_EQ(frames.frames.size(), 1u);
  EXPECT_EQ(frames.frames[0].width, 493);
  EXPECT_EQ(frames.frames[0].height, 356);
}

TEST(Animation, PointsOfACsvAreDrawnInTheirOwnUnits) {
  // The same moons written at unit scale and as x = 5 z + (10, -3): the runs live in the same normalised space and the
  // view's limits (+-4 normalised units) are mapped to the data's units, so without axis labels the frames agree up
  // to the rounding of a few antialiased points; with the data at unit scale shown in data units they would not.
  const fs::path dir = fs::temp_directory_path() / ("diffuscope_animation_units_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const Batch z = GenerateDataset("moons", 1500, 2);
  Batch x = 5.0f * z;
  x.col(0).array() += 10.0f;
  x.col(1).array() -= 3.0f;
  SavePointsCsv(dir / "unit.csv", z);
  SavePointsCsv(dir / "scaled.csv", x);
  for (Direction direction : {Direction::kForward, Direction::kReverse}) {
    AnimationSpec spec;
    spec.points = 300;
    spec.data_points = 800;
    spec.direction = direction;
    spec.model = "exact";
    spec.schedule.kind = ScheduleKind::kCosine;
    spec.schedule.num_steps = 20;
    spec.render.layout = Layout::kScatter;
    spec.render.scatter.width = spec.render.scatter.height = 128;
    spec.render.scatter.axes = false;
    spec.frames = 4;
    spec.seed = 3;
    spec.data = (dir / "unit.csv").string();
    const AnimationFrames unit = RenderAnimation(spec);
    spec.data = (dir / "scaled.csv").string();
    const AnimationFrames scaled = RenderAnimation(spec);
    ASSERT_EQ(unit.frames.size(), scaled.frames.size());
    for (size_t k = 0; k < unit.frames.size(); ++k) {
      const std::vector<uint8_t>& a = unit.frames[k].rgb;
      const std::vector<uint8_t>& b = scaled.frames[k].rgb;
      ASSERT_EQ(a.size(), b.size());
      size_t differing = 0;
      for (size_t i = 0; i < a.size(); ++i) differing += std::abs(int(a[i]) - int(b[i])) > 8;
      EXPECT_LT(differing, a.size() / 200) << DirectionName(direction) << " frame " << k;
    }
  }
  fs::remove_all(dir);
}

TEST(Animation, BadSpecsAndBundlesAreClearErrors) {
  AnimationSpec spec = SmallImageSpec();
  spec.frames = 0;
  EXPECT_NE(spec.Check().find("frames"), std::string::npos);
  spec = SmallImageSpec();
  spec.data = "moons";
  EXPECT_NE(spec.Check().find("exactly one input"), std::string::npos);
  spec = SmallImageSpec();
  spec.from_t = 5000;
  EXPECT_THROW(RenderAnimation(spec), Error);
  spec = SmallImageSpec();
  spec.direction = Direction::kReverse;
  spec.from_t = 10;
  spec.to_t = 20;
  EXPECT_THROW(RenderAnimation(spec), Error);
  spec = SmallImageSpec();
  spec.model = "no-such-model";
  spec.direction = Direction::kReverse;
  EXPECT_THROW(RenderAnimation(spec), Error);
  EXPECT_THROW(ParseBundle("{not json"), Error);
  EXPECT_THROW(ParseBundle("{\"format\": \"something else\"}"), Error);
  EXPECT_THROW(ParseBundle("{\"format\": \"diffuscope-bundle\", \"bundle_version\": 1}"), Error);
  EXPECT_THROW(ReadBundle("/nonexistent/bundle.json"), Error);
  // An export to an unwritable place fails before any work and leaves nothing.
  EXPECT_THROW(ExportAnimationJob(SmallImageSpec(), "/nonexistent/x.gif"), Error);
  // Cancel halfway leaves no file.
  const fs::path out = fs::path(::testing::TempDir()) / "cancelled.gif";
  fs::remove(out);
  int calls = 0;
  EXPECT_THROW(ExportAnimationJob(SmallImageSpec(), out, {}, [&] { return ++calls > 3; }), Cancelled);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out.string() + ".json"));
  // A video is encoded while it is rendered: cancelled halfway, neither it, its bundle nor a temporary file stays.
  const fs::path folder = fs::path(::testing::TempDir()) / "cancelled_video";
  fs::remove_all(folder);
  fs::create_directories(folder);
  for (const char* name : {"a.mp4", "a.webm"}) {
    int asked = 0;
    EXPECT_THROW(ExportAnimationJob(SmallImageSpec(), folder / name, {}, [&] { return ++asked > 4; }), Cancelled);
    EXPECT_TRUE(fs::is_empty(folder)) << name;
  }
  // And finished, it has every frame, hashed in the bundle as RenderAnimation makes them.
  const ExportResult video = ExportAnimationJob(SmallImageSpec(), folder / "a.mp4");
  EXPECT_EQ(video.frames, 6);
  const Bundle bundle = ReadBundle(folder / "a.mp4.json");
  const AnimationFrames frames = RenderAnimation(SmallImageSpec());
  ASSERT_EQ(bundle.frame_sha256.size(), frames.frames.size());
  for (size_t k = 0; k < frames.frames.size(); ++k)
    EXPECT_EQ(bundle.frame_sha256[k], Sha256Hex(frames.frames[k].rgb.data(), frames.frames[k].rgb.size()));
  fs::remove_all(folder);
}

}  // namespace
}  // namespace diffuscope

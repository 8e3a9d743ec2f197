// core/train: the options, the training loop (convergence, determinism, resumption bit for bit, stop, divergence,
// progress) and the model file format (round trips; truncated, corrupted, foreign and inconsistent files).
#include "core/common/types.h"
#include "core/random/random.h"
#include "core/train/model_file.h"
#include "core/train/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <unistd.h>

namespace diffuscope {
namespace {

namespace fs = std::filesystem;
using Mat = Network<float>::Matrix;

fs::path Scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("diffuscope_train_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

// A regression task: y = sin(2 x0) + 0.5 x1 for x uniform in [-1, 1]^2, drawn per iteration from the seed.
struct Regression {
  NetworkSpec spec{{LayerSpec::Linear(2, 16), LayerSpec::Gelu(16), LayerSpec::Residual(16), LayerSpec::Linear(16, 1)}};
  int batch = 16;
  uint64_t seed = 5;
  Mat x{Mat(batch, 2)}, dy{Mat(batch, 1)};
  Network<float>::Workspace ws;

  double operator()(long long iteration, Network<float>& net) {
    std::vector<float> u(2 * batch);
    FillUniform({.seed = seed, .stream = Stream::kTraining, .index = static_cast<uint64_t>(iteration)}, 0, u);
    for (int i = 0; i < 2 * batch; ++i) x.data()[i] = 2.0f * u[i] - 1.0f;
    const Mat& y = net.Forward(x, ws);
    double loss = 0;
    for (int b = 0; b < batch; ++b) {
      const float target = std::sin(2.0f * x(b, 0)) + 0.5f * x(b, 1);
      const float e = y(b, 0) - target;
      loss += e * e;
      dy(b, 0) = 2.0f * e / batch;
    }
    net.Backward(x, dy, ws);
    return loss / batch;
  }
};

TrainOptions SmallOptions(long long iterations) {
  TrainOptions o;
  o.iterations = iterations;
  o.learning_rate = 3e-3;
  o.warmup_steps = 20;
  o.cosine_decay = true;
  o.min_learning_rate = 1e-4;
  o.ema_decay = 0.99;
  o.report_every = 50;
  return o;
}

TEST(TrainOptions, CheckNamesEachBadOption) {
  EXPECT_TRUE(TrainOptions{}.Check().empty());
  auto bad = [](auto change, const std::string& word) {
    TrainOptions o;
    change(o);
    const std::string problem = o.Check();
    EXPECT_NE(problem.find(word), std::string::npos) << "'" << problem << "' should mention " << word;
  };
  bad([](TrainOptions& o) { o.iterations = 0; }, "iterations");
  bad([](TrainOptions& o) { o.batch_size = 0; }, "batch size");
  bad([](TrainOptions& o) { o.learning_rate = NAN; }, "learning rate");
  bad([](TrainOptions& o) { o.learning_rate = -1; }, "learning rate");
  bad([](TrainOptions& o) { o.weight_decay = -0.1; }, "weight decay");
  bad([](TrainOptions& o) { o.adam_beta1 = 1.0; }, "beta1");
  bad([](TrainOptions& o) { o.adam_beta2 = 0.0; }, "beta2");
  bad([](TrainOptions& o) { o.adam_epsilon = 0.0; }, "epsilon");
  bad([](TrainOptions& o) { o.warmup_steps = o.iterations + 1; }, "warm-up");
  bad([](TrainOptions& o) { o.min_learning_rate = 1.0; }, "minimum learning rate");
  bad([](TrainOptions& o) { o.grad_clip_norm = -1; }, "clip");
  bad([](TrainOptions& o) { o.ema_decay = 1.0; }, "EMA");
  bad([](TrainOptions& o) { o.report_every = 0; }, "report_every");
}

TEST(Training, LearnsARegressionAndTheEmaTracksTheWeights) {
  Network<float> net(Regression{}.spec);
  net.Initialize(1);
  Regression task;
  const double initial = task(100000, net);
  TrainState state;
  const TrainReport report = RunTraining(net, state, SmallOptions(1500), std::ref(task));
  EXPECT_EQ(report.steps, 1500);
  EXPECT_EQ(state.step, 1500);
  EXPECT_EQ(state.weights, net.parameters());
  // Fresh data (iterations never trained on): the loss fell by far more than any fluctuation of a batch.
  double after = 0;
  for (int i = 0; i < 20; ++i) after += task(200000 + i, net) / 20;
  EXPECT_LT(after, 0.05 * initial) << "initial " << initial << ", after " << after;
  EXPECT_LT(report.final_loss_ema, 0.1 * initial);
  // The EMA weights are a good model too.
  net.parameters() = SamplingWeights(state);
  double ema_loss = 0;
  for (int i = 0; i < 20; ++i) ema_loss += task(200000 + i, net) / 20;
  EXPECT_LT(ema_loss, 0.1 * initial);
}

TEST(Training, IsDeterministicAndResumesBitForBit) {
  Regression task;
  Network<float> a(task.spec), b(task.spec);
  a.Initialize(2);
  b.Initialize(2);
  TrainState whole;
  RunTraining(a, whole, SmallOptions(300), std::ref(task));

  // The same run in two calls, the state passing through a model file in between.
  TrainState first;
  TrainOptions part = SmallOptions(300);
  int stops = 0;
  TrainCallbacks callbacks;
  callbacks.stop = [&] { return ++stops == 120; };
  TrainState checkpointed;
  callbacks.checkpoint = [&](const TrainState& s) { checkpointed = s; };
  EXPECT_THROW(RunTraining(b, first, part, std::ref(task), callbacks), Cancelled);
  EXPECT_EQ(first.step, 120);
  EXPECT_EQ(checkpointed, first);

  ModelFile file;
  file.model_type = "test";
  file.network = task.spec;
  file.training = part;
  file.trained_steps = first.step;
  file.weights = SamplingWeights(first);
  file.train_state = first;
  const ModelFile loaded = ParseModelFile(SerializeModelFile(file));
  ASSERT_TRUE(loaded.train_state.has_value());
  TrainState resumed = *loaded.train_state;
  Network<float> c(task.spec);  // fresh weights: the state's replace them
  RunTraining(c, resumed, part, std::ref(task));
  EXPECT_EQ(resumed.step, 300);
  EXPECT_EQ(resumed.weights, whole.weights);
  EXPECT_EQ(resumed.ema, whole.ema);
  EXPECT_EQ(resumed.adam_m, whole.adam_m);
  EXPECT_EQ(resumed.adam_v, whole.adam_v);
  EXPECT_EQ(c.parameters(), a.parameters());
}

TEST(Training, ReportsProgressAndCheckpointsOnSchedule) {
  Regression task;
  Network<float> net(task.spec);
  net.Initialize(3);
  TrainOptions options = SmallOptions(230);
  options.checkpoint_every = 100;
  std::vector<long long> reported, checkpoints;
  TrainCallbacks callbacks;
  callbacks.progress = [&](const TrainProgress& p) {
    reported.push_back(p.step);
    EXPECT_EQ(p.total, 230);
    EXPECT_TRUE(std::isfinite(p.loss) && p.loss >= 0);
    EXPECT_TRUE(std::isfinite(p.loss_ema) && p.loss_ema > 0);
    EXPECT_GT(p.steps_per_second, 0);
    EXPECT_GT(p.learning_rate, 0);
    EXPECT_GE(p.grad_norm, 0);
  };
  callbacks.checkpoint = [&](const TrainState& s) {
    checkpoints.push_back(s.step);
    EXPECT_EQ(s.weights.size(), net.parameters().size());
  };
  TrainState state;
  RunTraining(net, state, options, std::ref(task), callbacks);
  EXPECT_EQ(reported, (std::vector<long long>{50, 100, 150, 200, 230}));
  EXPECT_EQ(checkpoints, (std::vector<long long>{100, 200}));
}

TEST(Training, DivergenceIsAnErrorNamingTheUpdate) {
  Regression task;
  Network<float> net(task.spec);
  net.Initialize(4);
  TrainState state;
  auto nan_at_7 = [&](long long iteration, Network<float>& n) {
    const double loss = task(iteration, n);
    return iteration == 6 ? NAN : loss;
  };
  try {
    RunTraining(net, state, SmallOptions(50), nan_at_7);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("update 7"), std::string::npos) << e.what();
  }
  EXPECT_EQ(state.step, 6);
  TrainState other;
  EXPECT_THROW(RunTraining(net, other, TrainOptions{.iterations = 0}, std::ref(task)), Error);
  TrainState wrong_size;
  wrong_size.weights.assign(3, 0.0f);
  wrong_size.adam_m.assign(3, 0.0f);
  wrong_size.adam_v.assign(3, 0.0f);
  EXPECT_THROW(RunTraining(net, wrong_size, SmallOptions(10), std::ref(task)), Error);
}

// ------------------------------------------------------------------------------------------------ model files

ModelFile SmallModelFile(bool with_state) {
  ModelFile file;
  file.model_type = "ddpm-2d";
  file.network = TinyDiffusionSpec(8, 25.0, 6, 1);
  file.schedule.kind = ScheduleKind::kCosine;
  file.schedule.num_steps = 50;
  file.training.seed = 0xFFFFFFFFFFFFFFFFULL;  // the full 64 bits survive the JSON header
  file.training.learning_rate = 0.1 + 0.2;     // and doubles keep every bit
  file.trained_steps = with_state ? 7 : 0;
  file.info["data"] = "dino";
  file.info["note"] = "quotes \" and\nnewlines";
  file.settings["image_width"] = 20;
  Network<float> net(file.network);
  net.Initialize(9);
  file.weights = net.parameters();
  if (with_state) {
    TrainState s;
    s.step = 7;
    s.weights = net.parameters();
    s.adam_m.assign(s.weights.size(), 1e-3f);
    s.adam_v.assign(s.weights.size(), 2e-6f);
    s.ema = s.weights;
    s.ema[0] = -0.125f;
    s.loss_ema = 0.123456789012345;
    file.train_state = s;
  }
  return file;
}

std::string ParseError(const std::vector<uint8_t>& bytes) {
  try {
    ParseModelFile(bytes, "m.dfm");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Rewrites both checksums so that a deliberately inconsistent file reaches the content checks.
void FixChecksums(std::vector<uint8_t>& bytes) {
  const uint32_t body = Crc32(std::span<const uint8_t>(bytes).subspan(kModelFilePreamble));
  for (int i = 0; i < 4; ++i) bytes[24 + i] = static_cast<uint8_t>(body >> (8 * i));
  const uint32_t head = Crc32(std::span<const uint8_t>(bytes).first(28));
  for (int i = 0; i < 4; ++i) bytes[28 + i] = static_cast<uint8_t>(head >> (8 * i));
}

// Replaces the JSON header (keeping the payload) and fixes sizes and checksums.
std::vector<uint8_t> WithHeader(const std::vector<uint8_t>& bytes, const std::string& header) {
  uint32_t old_size = 0;
  for (int i = 3; i >= 0; --i) old_size = (old_size << 8) | bytes[12 + i];
  std::vector<uint8_t> out(bytes.begin(), bytes.begin() + kModelFilePreamble);
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), bytes.begin() + kModelFilePreamble + old_size, bytes.end());
  for (int i = 0; i < 4; ++i) out[12 + i] = static_cast<uint8_t>(header.size() >> (8 * i));
  FixChecksums(out);
  return out;
}

std::string HeaderOf(const std::vector<uint8_t>& bytes) {
  uint32_t size = 0;
  for (int i = 3; i >= 0; --i) size = (size << 8) | bytes[12 + i];
  return std::string(bytes.begin() + kModelFilePreamble, bytes.begin() + kModelFilePreamble + size);
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(ModelFile, Crc32IsTheZlibChecksum) {
  const std::string text = "123456789";
  EXPECT_EQ(Crc32(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size())), 0xCBF43926u);
  EXPECT_EQ(Crc32({}), 0u);
}

TEST(ModelFile, RoundTripsEveryFieldExactly) {
  for (bool with_state : {false, true}) {
    const ModelFile file = SmallModelFile(with_state);
    const std::vector<uint8_t> bytes = SerializeModelFile(file);
    EXPECT_EQ(std::memcmp(bytes.data(), kModelFileMagic, 8), 0);
    const ModelFile back = ParseModelFile(bytes);
    EXPECT_EQ(back, file);
    EXPECT_EQ(back.training.learning_rate, 0.1 + 0.2);
    EXPECT_EQ(SerializeModelFile(back), bytes);  // the format is canonical: same model, same bytes
  }
  // A custom schedule's values survive too.
  ModelFile custom = SmallModelFile(false);
  custom.schedule.kind = ScheduleKind::kCustomBeta;
  custom.schedule.num_steps = 3;
  custom.schedule.custom = {0.1, 0.2, 1.0 / 3.0};
  EXPECT_EQ(ParseModelFile(SerializeModelFile(custom)).schedule, custom.schedule);
}

TEST(ModelFile, SavesAtomicallyAndLoads) {
  const fs::path path = Scratch("model.dfm");
  const ModelFile file = SmallModelFile(true);
  SaveModelFile(file, path);
  EXPECT_EQ(LoadModelFile(path), file);
  for (const auto& entry : fs::directory_iterator(path.parent_path()))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << "temporary file left behind";
  // A failed save leaves the old file untouched.
  ModelFile bad = file;
  bad.weights[3] = NAN;
  EXPECT_THROW(SaveModelFile(bad, path), Error);
  EXPECT_EQ(LoadModelFile(path), file);
  try {
    LoadModelFile(Scratch("missing.dfm"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos);
  }
  EXPECT_THROW(LoadModelFile(path.parent_path()), Error);
}

TEST(ModelFile, EveryTruncationIsAClearError) {
  const std::vector<uint8_t> bytes = SerializeModelFile(SmallModelFile(true));
  for (size_t n = 0; n < bytes.size(); ++n) {
    const std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + n);
    const std::string message = ParseError(cut);
    ASSERT_FALSE(message.empty()) << "a file cut to " << n << " bytes was accepted";
    if (n >= kModelFilePreamble) ASSERT_NE(message.find("truncated"), std::string::npos) << n << ": " << message;
  }
}

TEST(ModelFile, EveryFlippedByteIsCaught) {
  const std::vector<uint8_t> bytes = SerializeModelFile(SmallModelFile(false));
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::vector<uint8_t> bad = bytes;
    bad[i] ^= static_cast<uint8_t>(1u << (i % 8));
    ASSERT_FALSE(ParseError(bad).empty()) << "byte " << i << " flipped went unnoticed";
  }
  std::vector<uint8_t> extra = bytes;
  extra.push_back(0);
  EXPECT_NE(ParseError(extra).find("after the end"), std::string::npos);
}

TEST(ModelFile, ForeignFilesAreNamedAsSuch) {
  const std::vector<std::vector<uint8_t>> foreign = {
      {},
      {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'},
      {'{', '"', 'm', 'o', 'd', 'e', 'l', '"', ':', '1', '}'},
      {'P', 'K', 3, 4, 20, 0, 0, 0},
      std::vector<uint8_t>(4096, 0),
  };
  for (const auto& bytes : foreign) {
    const std::string message = ParseError(bytes);
    EXPECT_NE(message.find("not a Diffuscope model file"), std::string::npos) << message;
    EXPECT_NE(message.find("m.dfm"), std::string::npos) << message;
  }
}

TEST(ModelFile, NewerVersionsAreRefusedWithTheReason) {
  std::vector<uint8_t> bytes = SerializeModelFile(SmallModelFile(false));
  bytes[8] = kModelFileVersion + 1;  // 2 is a U-Net file now; 3 is from the future
  FixChecksums(bytes);
  EXPECT_NE(ParseError(bytes).find("newer"), std::string::npos) << ParseError(bytes);
}

TEST(ModelFile, InconsistentContentBehindValidChecksumsIsRefused) {
  const std::vector<uint8_t> bytes = SerializeModelFile(SmallModelFile(true));
  const std::string header = HeaderOf(bytes);
  struct Case {
    std::string from, to, expect;
  };
  const std::vector<Case> cases = {
      {"\"format\": \"diffuscope-model\"", "\"format\": \"other\"", "format"},
      {"\"kind\": \"linear\"", "\"kind\": \"conv\"", "not a known layer kind"},
      {"\"in\": 24", "\"in\": 25", "layer 2 takes 25"},
      {"\"num_steps\": 50", "\"num_steps\": -5", "num_steps"},
      {"\"num_steps\": 50", "\"num_steps\": \"50\"", "integer"},
      {"\"kind\": \"cosine\"", "\"kind\": \"wobbly\"", "not a known schedule"},
      {"\"batch_size\": 32", "\"batch_size\": 0", "batch_size"},
      {"\"learning_rate\": 0.30000000000000004", "\"learning_rate\": -1", "learning rate"},
      {"\"name\": \"train.adam_v\"", "\"name\": \"train.adam_m\"", "twice"},
      {"\"name\": \"weights\"", "\"name\": \"bias\"", "not a tensor"},
      {"\"step\": 7", "\"step\": 8", "step"},
      {"\"scale\": 25.0", "\"scale\": 1e400", "valid JSON"},
      {"\"model\": \"ddpm-2d\"", "\"model\": 5", "string"},
  };
  for (const Case& c : cases) {
    const std::string message = ParseError(WithHeader(bytes, Replace(header, c.from, c.to)));
    EXPECT_NE(message.find(c.expect), std::string::npos) << c.to << " -> '" << message << "'";
    EXPECT_NE(message.find("m.dfm"), std::string::npos) << message;
  }
  EXPECT_NE(ParseError(WithHeader(bytes, "[1, 2]")).find("JSON object"), std::string::npos);
  EXPECT_NE(ParseError(WithHeader(bytes, "{\"format\": ")).find("not valid JSON"), std::string::npos);
  EXPECT_NE(ParseError(WithHeader(bytes, std::string(100000, '[') + std::string(100000, ']'))).find("nests"),
            std::string::npos);
  // A count that disagrees with the network.
  const std::string count = std::to_string(TinyDiffusionSpec(8, 25.0, 6, 1).num_parameters());
  EXPECT_NE(ParseError(WithHeader(bytes, Replace(header, "\"count\": " + count, "\"count\": 3"))).find("holds 3"),
            std::string::npos);

  // NaN weights with valid checksums (a diverged training saved by another tool).
  std::vector<uint8_t> nan = SerializeModelFile(SmallModelFile(false));
  const float q = NAN;
  std::memcpy(nan.data() + nan.size() - 4, &q, 4);
  FixChecksums(nan);
  EXPECT_NE(ParseError(nan).find("NaN"), std::string::npos) << ParseError(nan);
}

TEST(ModelFile, WritingAnInvalidModelIsRefused) {
  ModelFile file = SmallModelFile(false);
  file.weights.pop_back();
  EXPECT_THROW(SerializeModelFile(file), Error);
  file = SmallModelFile(false);
  file.model_type.clear();
  EXPECT_THROW(SerializeModelFile(file), Error);
  file = SmallModelFile(true);
  file.train_state->adam_v.resize(2);
  EXPECT_THROW(SerializeModelFile(file), Error);
  file = SmallModelFile(false);
  file.schedule.num_steps = 0;
  EXPECT_THROW(SerializeModelFile(file), Error);
}

}  // namespace
}  // namespace diffuscope

// train and denoise: learned models from the command line, and noise-then-denoise of any image.
#include "app/cli/common.h"
#include "core/data/digits.h"
#include "core/data/image_io.h"
#include "core/data/image_set.h"
#include "core/data/points2d.h"
#include "core/forward/forward.h"
#include "core/models/conditional_ddpm2d.h"
#include "core/models/ddpm2d.h"
#include "core/models/digits_ddpm.h"
#include "core/models/digits_unet.h"
#include "core/models/flow2d.h"
#include "core/models/photo_models.h"
#include "core/models/registry.h"
#include "core/models/sohl_dickstein.h"
#include "core/models/sr3.h"
#include "core/train/model_file.h"

#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

namespace diffuscope::cli {
namespace {

// What a model file names as its data: a built-in name as typed, a file by its absolute path (so sample2d and
// evaluate find it from any folder).
std::string DataName(const std::string& data) {
  if (!CanonicalDatasetName(data).empty()) return data;
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(data, ec);
  return ec ? data : absolute.lexically_normal().string();
}

// "iteration 1200/50000  loss 0.412 (ema 0.398)  1834 steps/s  0:24 left" on a terminal.
TrainProgressFn TrainLine() {
  const bool tty = isatty(STDERR_FILENO);
  auto last_tenth = std::make_shared<long long>(-1);
  return [tty, last_tenth](const TrainProgress& p) {
    if (!tty) {  // a log gets a line per tenth of the run, not one per report
      const long long tenth = p.total > 0 ? p.step * 10 / p.total : 0;
      if (tenth == *last_tenth) return;
      *last_tenth = tenth;
    }
    const double left = p.steps_per_second > 0 ? (p.total - p.step) / p.steps_per_second : 0.0;
    std::fprintf(stderr, "%siteration %lld/%lld  loss %.4f (ema %.4f)  %.0f steps/s  %d:%02d left%s", tty ? "\r" : "",
                 p.step, p.total, p.loss, p.loss_ema, p.steps_per_second, int(left) / 60, int(left) % 60,
                 tty && p.step < p.total ? "   " : "\n");
    std::fflush(stderr);
  };
}

// Every photograph in folder (RGB; grey files as three equal planes), larger ones area-shrunk to about 1 MP:
// the crops' random downscale covers coarser scales.
std::vector<Image> LoadPhotos(const std::string& folder) {
  Require(!folder.empty() && std::filesystem::is_directory(folder),
          "--data must be a folder of photographs for the photo models (got '" + folder + "')");
  std::vector<Image> photos;
  ImageLoadOptions load;
  load.force_rgb = true;
  load.downscale_if_too_large = true;
  load.max_pixels = 1024LL * 1024;
  for (const std::string& file : ListImageFiles(folder)) photos.push_back(LoadImage(file, load));
  Require(!photos.empty(), "no images in '" + folder + "'");
  std::fprintf(stderr, "%zu photographs from %s\n", photos.size(), folder.c_str());
  return photos;
}

// The models other than the 2D DDPM: their own default budgets, the same progress line and flags.
int TrainOther(const std::string& kind, std::string data_name, long long iterations, int batch, int steps, double lr,
               uint64_t seed, int low_side, const std::string& resume, bool checkpoint, const std::string& output,
               const std::string& prediction, const std::string& schedule) {
  // --schedule for the U-Net DDPMs: the training noise levels (t uniform on this schedule) and the schedule the
  // file names for sampling; the network sees the noise level, so it serves any schedule either way.
  std::optional<ScheduleKind> schedule_kind;
  if (!schedule.empty()) {
    Require(kind == "ddpm-digits",
            "--schedule: of the other models, only ddpm-2d and ddpm-digits take a schedule kind");
    schedule_kind = ParseScheduleKind(schedule);
    Require(schedule_kind.has_value(), "--schedule: unknown kind '" + schedule + "'");
    Require(resume.empty(), "--schedule: a resumed run keeps the schedule it was trained on");
  }
  Require(prediction.empty() || resume.empty(), "--prediction: a resumed run keeps the target it was trained on");
  // eps, x0 or v (what the network predicts: the equal-budget comparison of resources/models/README.md).
  const PredictionKind target = prediction == "eps"  ? PredictionKind::kEps
                                : prediction == "x0" ? PredictionKind::kX0
                                                     : PredictionKind::kV;
  auto apply = [&](TrainOptions o) {
    o.seed = seed;
    if (iterations > 0) o.iterations = iterations;
    if (batch > 0) o.batch_size = batch;
    if (lr > 0) o.learning_rate = lr;
    // A short run keeps the same shape: the warm-up shrinks with it.
    if (o.warmup_steps > o.iterations) o.warmup_steps = o.iterations / 10;
    if (std::string problem = o.Check(); !problem.empty()) throw Error(problem);
    return o;
  };
  const std::string checkpoint_path = checkpoint ? output : std::string();
  TrainReport report;
  if (kind == "sohl-dickstein-2d") {
    SohlDicksteinOptions options;
    if (steps > 0) options.schedule.num_steps = steps;
    SohlDicksteinModel model = resume.empty() ? SohlDicksteinModel(options) : SohlDicksteinModel::Load(resume);
    if (data_name == "dino") data_name = "swiss_roll";  // the paper's data set unless asked otherwise
    const Batch data = GenerateDataset(data_name, 50000, seed, InDataUnits());
    if (resume.empty()) model.set_normalization(DatasetNormalization(data_name));
    model.info()["data"] = DataName(data_name);
    report = TrainSohlDickstein(model, data, apply(SohlDicksteinDefaultTraining()), TrainLine(), {}, checkpoint_path);
    model.Save(output, checkpoint);
  } else if (kind == "ddpm-photo") {
    PhotoDdpmOptions options;
    if (steps > 0) options.schedule.num_steps = steps;
    if (!prediction.empty()) options.prediction = target;
    PhotoDdpmModel model = resume.empty() ? PhotoDdpmModel(options) : PhotoDdpmModel::Load(resume);
    const std::vector<Image> photos = LoadPhotos(data_name);
    model.info()["data"] = std::filesystem::path(data_name).filename().string();
    report = TrainPhotoDdpm(model, photos, apply(PhotoDefaultTraining()), TrainLine(), {}, checkpoint_path);
    model.Save(output, checkpoint);
  } else if (kind == "sr3-photo") {
    Sr3PhotoOptions options;
    if (steps > 0) options.schedule.num_steps = steps;
    Sr3PhotoModel model = resume.empty() ? Sr3PhotoModel(options) : Sr3PhotoModel::Load(resume);
    const std::vector<Image> photos = LoadPhotos(data_name);
    model.info()["data"] = std::filesystem::path(data_name).filename().string();
    report = TrainSr3Photo(model, photos, apply(PhotoDefaultTraining()), TrainLine(), {}, checkpoint_path);
    model.Save(output, checkpoint);
  } else if (kind == "ddpm-digits") {
    DigitsUNetOptions options;
    if (schedule_kind) options.schedule.kind = *schedule_kind;
    if (steps > 0) options.schedule.num_steps = steps;
    if (!prediction.empty()) options.prediction = target;
    DigitsUNetModel model = resume.empty() ? DigitsUNetModel(options) : DigitsUNetModel::Load(resume);
    const DigitsSplit split = SplitDigits(LoadDigits());  // the held-out tenth never trains
    report = TrainDigitsUNet(model, split.train, apply(DigitsUNetDefaultTraining()), TrainLine(), {}, checkpoint_path);
    model.Save(output, checkpoint);
  } else if (kind == "ddpm-digits-mlp") {
    DigitsDdpmOptions options;
    if (steps > 0) options.schedule.num_steps = steps;
    DigitsDdpmModel model = resume.empty() ? DigitsDdpmModel(options) : DigitsDdpmModel::Load(resume);
    const DigitsSplit split = SplitDigits(LoadDigits());  // the held-out tenth never trains
    report = TrainDigitsDdpm(model, split.train, apply(DigitsDdpmDefaultTraining()), TrainLine(), {}, checkpoint_path);
    model.Save(output, checkpoint);
  } else {
    Sr3Options options;
    options.low_side = low_side;
    if (steps > 0) options.schedule.num_steps = steps;
    Sr3Model model = resume.empty() ? Sr3Model(options) : Sr3Model::Load(resume);
    const DigitsSplit split = SplitDigits(LoadDigits());
    report = TrainSr3(model, split.train, apply(Sr3DefaultTraining()), TrainLine(), {}, checkpoint_path);
    model.Save(output, checkpoint);
  }
  std::fprintf(stderr, "%lld updates in %.1f s (%.0f steps/s), final loss %.4f -> %s\n", report.steps, report.seconds,
               report.steps_per_second, report.final_loss_ema, output.c_str());
  return 0;
}

// flow-2d and ddpm-2d-conditional: the 2D DDPM's budget and data (20,000 points of --data), their own loss.
int Train2dFlowOrConditional(const std::string& kind, const std::string& data_name, long long iterations, int batch,
                             int steps, double lr, uint64_t seed, double label_dropout, const std::string& resume,
                             bool checkpoint, const std::string& output) {
  TrainOptions train;
  train.seed = seed;
  if (iterations > 0) train.iterations = iterations;
  if (batch > 0) train.batch_size = batch;
  if (lr > 0) train.learning_rate = lr;
  if (std::string problem = train.Check(); !problem.empty()) throw Error(problem);
  const std::string checkpoint_path = checkpoint ? output : std::string();
  TrainReport report;
  if (kind == "flow-2d") {
    Flow2dOptions options;
    if (steps > 0) options.schedule_steps = steps;
    Flow2dModel model = resume.empty() ? Flow2dModel(options) : Flow2dModel::Load(resume);
    Require(resume.empty() || model.resumable(),
            "'" + resume + "' holds no training state; train it with --checkpoint");
    const Batch data = GenerateDataset(data_name, 20000, seed, InDataUnits());
    if (resume.empty()) model.set_normalization(DatasetNormalization(data_name));
    model.info()["data"] = DataName(data_name);
    report = TrainFlow2d(model, data, train, TrainLine(), {}, checkpoint_path);
    model.Save(output, checkpoint);
  } else {
    const int classes = DatasetClassCount(data_name);
    Require(classes > 0, "--data '" + data_name +
                             "' has no class labels; a conditional model trains on 8gaussians, moons, circles or "
                             "spiral");
    ConditionalDdpm2dOptions options;
    options.num_classes = classes;
    options.label_dropout = label_dropout;
    if (steps > 0) options.schedule.num_steps = steps;
    ConditionalDdpm2dModel model =
        resume.empty() ? ConditionalDdpm2dModel(options) : ConditionalDdpm2dModel::Load(resume);
    Require(resume.empty() || model.resumable(),
            "'" + resume + "' holds no training state; train it with --checkpoint");
    std::vector<int> labels;
    const Batch data = GenerateLabeledDataset(data_name, 20000, seed, &labels, InDataUnits());
    model.info()["data"] = DataName(data_name);
    report = TrainConditionalDdpm2d(model, data, labels, train, TrainLine(), {}, checkpoint_path);
    model.Save(output, checkpoint);
  }
  std::fprintf(stderr, "%lld updates in %.1f s (%.0f steps/s), final loss %.4f -> %s\n", report.steps, report.seconds,
               report.steps_per_second, report.final_loss_ema, output.c_str());
  return 0;
}

}  // namespace

Runner AddTrainCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "train a model with the project's own trainer and write a model file");
  struct Args {
    std::string model, data = "dino", output, schedule, resume;
    long long iterations = -1;
    int batch = -1, steps = -1;
    double learning_rate = -1;
    uint64_t seed = 0;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--model", a->model,
                  "ddpm-2d (tiny-diffusion's network), flow-2d (the same network, flow matching: the velocity of the "
                  "straight path), ddpm-2d-conditional (class labels of --data, with label dropout, for "
                  "classifier-free guidance), sohl-dickstein-2d (learned mean and variance, trained on the "
                  "bound), ddpm-digits (a U-Net on the 20x20 digits; ddpm-digits-mlp: the pixel MLP), sr3-digits "
                  "(10x10 -> 20x20; --low-side 5 for 5x5), "
                  "ddpm-photo and sr3-photo (U-Nets on a --data folder of photographs)")
      ->required()
      ->check(CLI::IsMember({"ddpm-2d", "flow-2d", "ddpm-2d-conditional", "sohl-dickstein-2d", "ddpm-digits",
                             "ddpm-digits-mlp", "sr3-digits", "ddpm-photo", "sr3-photo"}));
  auto low_side = std::make_shared<int>(10);
  cmd->add_option("--low-side", *low_side, "sr3-digits: side of the low-resolution input (10 or 5)")
      ->capture_default_str();
  cmd->add_option("--data", a->data,
                  "2D models: built-in data set, CSV of x,y points or silhouette image; photo models: a folder")
      ->capture_default_str();
  cmd->add_option("--iterations", a->iterations, "updates (default: the model's default budget)");
  cmd->add_option("--batch", a->batch, "samples per update (default: the model's)");
  cmd->add_option("--steps", a->steps, "diffusion steps T (default: the model's)");
  cmd->add_option("--schedule", a->schedule, "schedule kind (default: the model's; tiny-diffusion = linear, T = 50)");
  cmd->add_option("--lr", a->learning_rate, "peak learning rate (default: the model's)");
  cmd->add_option("--seed", a->seed, "random seed (weights, minibatches, timesteps, noise)")->required();
  cmd->add_option("--resume", a->resume, "continue a run from a checkpoint (a file written with --checkpoint)");
  auto checkpoint = std::make_shared<bool>(false);
  cmd->add_flag("--checkpoint", *checkpoint, "keep the training state in the output so a later run can --resume it");
  cmd->add_option("-o,--output", a->output, "the model file to write")->required();
  auto prediction = std::make_shared<std::string>();
  cmd->add_option(
         "--prediction", *prediction,
         "ddpm-photo, ddpm-digits: what the U-Net predicts, eps|x0|v (default v: bounded at every noise level)")
      ->check(CLI::IsMember({"eps", "x0", "v"}));
  auto label_dropout = std::make_shared<double>(ConditionalDdpm2dOptions{}.label_dropout);
  cmd->add_option("--label-dropout", *label_dropout,
                  "ddpm-2d-conditional: probability a training label becomes the null label")
      ->capture_default_str();
  return [a, checkpoint, low_side, label_dropout, prediction] {
    Require(prediction->empty() || a->model == "ddpm-photo" || a->model == "ddpm-digits",
            "--prediction is for the U-Net DDPMs (ddpm-photo, ddpm-digits)");
    if (a->model == "flow-2d" || a->model == "ddpm-2d-conditional")
      return Train2dFlowOrConditional(a->model, a->data, a->iterations, a->batch, a->steps, a->learning_rate, a->seed,
                                      *label_dropout, a->resume, *checkpoint, a->output);
    if (a->model != "ddpm-2d")
      return TrainOther(a->model, a->data, a->iterations, a->batch, a->steps, a->learning_rate, a->seed, *low_side,
                        a->resume, *checkpoint, a->output, *prediction, a->schedule);
    TrainOptions train;
    train.seed = a->seed;
    if (a->iterations > 0) train.iterations = a->iterations;
    if (a->batch > 0) train.batch_size = a->batch;
    if (a->learning_rate > 0) train.learning_rate = a->learning_rate;
    if (std::string problem = train.Check(); !problem.empty()) throw Error(problem);
    Ddpm2dOptions options;
    if (!a->schedule.empty()) {
      auto kind = ParseScheduleKind(a->schedule);
      Require(kind.has_value(), "--schedule: unknown kind '" + a->schedule + "'");
      options.schedule = *kind == ScheduleKind::kLinear ? TinyDiffusionSchedule() : ScheduleOptions{};
      options.schedule.kind = *kind;
      if (*kind != ScheduleKind::kLinear) options.schedule.num_steps = Ddpm2dDefaultSchedule().num_steps;
    }
    if (a->steps > 0) options.schedule.num_steps = a->steps;
    Ddpm2dModel model = a->resume.empty() ? Ddpm2dModel(options) : Ddpm2dModel::Load(a->resume);
    Require(a->resume.empty() || model.resumable(),
            "'" + a->resume + "' holds no training state; train it with --checkpoint to resume it later");
    // Data in its own units; the model stores the shift and scale that take it to the unit scale the network and the
    // schedule's noise expect (a resumed run keeps the space its weights were trained in).
    const Batch data = GenerateDataset(a->data, 20000, a->seed, InDataUnits());
    if (a->resume.empty()) model.set_normalization(DatasetNormalization(a->data));
    model.info()["data"] = DataName(a->data);
    const TrainReport report =
        TrainDdpm2d(model, data, train, TrainLine(), {}, *checkpoint ? a->output : std::string());
    model.Save(a->output, *checkpoint);
    std::fprintf(stderr, "%lld updates in %.1f s (%.0f steps/s), final loss %.4f -> %s\n", report.steps, report.seconds,
                 report.steps_per_second, report.final_loss_ema, a->output.c_str());
    return 0;
  };
}

Runner AddDenoiseCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("denoise", "noise an image to t0, then run the reverse process back (SDEdit)");
  struct Args {
    std::string input, output, model = "patch";
    int t0 = 300;
    uint64_t seed = 0;
    ScheduleArgs schedule;
    SamplerArgs sampler = [] {
      SamplerArgs s;
      s.sampler = "ddim";
      s.sampling_steps = 50;
      return s;
    }();
    int max_side = 512;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("IMAGE", a->input, "the image")->required();
  cmd->add_option("--t0", a->t0, "noise level to start from (1..T)")->capture_default_str();
  cmd->add_option("--model", a->model,
                  "oracle (knows the image), empirical (the bundled photos), empirical:FOLDER, patch (patches of the "
                  "bundled photos), patch:self, or a model file")
      ->capture_default_str();
  cmd->add_option("--seed", a->seed, "random seed")->required();
  cmd->add_option("--max-side", a->max_side, "shrink larger images to this many pixels a side first")
      ->capture_default_str();
  cmd->add_option("-o,--output", a->output, "the denoised image")->required();
  AddScheduleOptions(cmd, &a->schedule);
  AddSamplerOptions(cmd, &a->sampler);
  return [a] {
    const NoiseSchedule s(a->schedule.ToOptions());
    Require(a->t0 >= 1 && a->t0 <= s.num_steps(), "--t0 must be in 1.." + std::to_string(s.num_steps()));
    ImageLoadOptions load;
    load.downscale_if_too_large = true;
    load.max_pixels = static_cast<long long>(a->max_side) * a->max_side;
    Image image = LoadImage(a->input, load);
    ModelContext context{.x0 = &image.pixels,
                         .data = nullptr,
                         .channels = image.channels,
                         .height = image.height,
                         .width = image.width,
                         .x0_file = a->input,
                         .seed = a->seed,
                         .normalization = {}};
    OpenedModel model = OpenModel(a->model, context);
    const NoiseSchedule schedule(model.schedule ? *model.schedule : s.options());
    SamplerOptions options = a->sampler.ToOptions(a->seed);
    const Batch noised = ForwardProcess(schedule, image.pixels, a->seed).Closed(a->t0);
    auto progress = TerminalProgress("denoising");
    Sampler sampler(schedule, *model.denoiser, options, noised, nullptr, a->t0);
    while (!sampler.done()) {
      sampler.Next();
      if (progress) progress(sampler.steps_done(), sampler.steps_total(), "");
    }
    image.pixels = sampler.x().cwiseMax(-1.0f).cwiseMin(1.0f);
    SaveImage(a->output, image);
    std::cerr << "noised to t0 = " << a->t0 << " and denoised in " << sampler.steps_total() << " steps with "
              << model.description << " -> " << a->output << "\n";
    return 0;
  };
}

Runner AddStripCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("strip", "copy a model file without its training state (the file to ship)");
  auto input = std::make_shared<std::string>(), output = std::make_shared<std::string>();
  cmd->add_option("MODEL", *input, "a model file written with --checkpoint")->required();
  cmd->add_option("-o,--output", *output, "the model file to write (sampling weights only)")->required();
  return [input, output] {
    ModelFile file = LoadModelFile(*input);
    file.train_state.reset();
    SaveModelFile(file, *output);
    std::cerr << file.model_type << ", " << file.trained_steps << " updates, " << file.weights.size() << " weights -> "
              << *output << "\n";
    return 0;
  };
}

}  // namespace diffuscope::cli

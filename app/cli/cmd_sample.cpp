// sample2d and demo: the reverse trajectory from the command line.
#include "app/cli/common.h"
#include "core/common/atomic_file.h"
#include "core/common/resources.h"
#include "core/data/image_io.h"
#include "core/data/points2d.h"
#include "core/forward/forward.h"
#include "core/metrics/distance2d.h"
#include "core/models/exact.h"
#include "core/models/guidance.h"
#include "core/models/registry.h"
#include "core/render/frame.h"
#include "core/render/plots.h"
#include "core/sampling/flow_sampler.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

namespace diffuscope::cli {

Runner AddSample2dCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("sample2d", "sample 2D points with the reverse process p(x_{t-1} | x_t)");
  struct Args {
    std::string denoiser = "exact", data, output, model;
    int n = 2000, data_n = 8000;
    uint64_t seed = 0;
    ScheduleArgs schedule{.kind = "cosine", .steps = 50};
    SamplerArgs sampler;
    int label = -1;
    double guidance = 0.0;
    std::string flow_solver;
    int flow_steps = 20;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--denoiser", a->denoiser,
                  "exact (= empirical): the optimal denoiser of the data set's points, E[x_0|x_t] in closed form; "
                  "mixture: the exact Gaussian-mixture denoiser of the 8gaussians law (needs --data 8gaussians)")
      ->capture_default_str()
      ->check(CLI::IsMember({"exact", "empirical", "mixture"}));
  cmd->add_option("--model", a->model, "a trained 2D model: a model file or a shipped name (instead of --denoiser)");
  cmd->add_option("--data", a->data,
                  "built-in data set name, CSV file of x,y points, or silhouette image (default: the data the --model "
                  "names, else dino); samples come out in its units");
  cmd->add_option("--data-n", a->data_n, "points drawn from the data set for the denoiser")->capture_default_str();
  cmd->add_option("--n", a->n, "number of samples")->capture_default_str();
  cmd->add_option("--seed", a->seed, "random seed (data, x_T and every step's noise)")->required();
  cmd->add_option("-o,--output", a->output, "output CSV of x,y samples")->required();
  AddScheduleOptions(cmd, &a->schedule);
  AddSamplerOptions(cmd, &a->sampler);
  cmd->add_option("--label", a->label,
                  "class-conditional sampling: the class to guide towards (a conditional --model, or --denoiser "
                  "mixture: the components of 8gaussians)");
  cmd->add_option("--guidance", a->guidance, "classifier-free guidance weight w in [0, 10] (needs --label)")
      ->capture_default_str();
  cmd->add_option("--flow-solver", a->flow_solver,
                  "sample in flow time instead (straight path x_s = (1 - s) x_0 + s eps): euler or heun")
      ->check(CLI::IsMember({"euler", "heun"}));
  cmd->add_option("--flow-steps", a->flow_steps, "uniform flow-time steps of --flow-solver")->capture_default_str();
  return [a] {
    Require(a->n >= 1 && a->n <= kMaxPoints2D, "--n must be in 1.." + std::to_string(kMaxPoints2D));
    Require(a->data_n >= 1 && a->data_n <= 1'000'000, "--data-n must be in 1..1000000");
    NoiseSchedule s(a->schedule.ToOptions());
    const SamplerOptions options = a->sampler.ToOptions(a->seed);
    std::unique_ptr<Denoiser> model;
    PointNormalization normalization;  // the space the run lives in
    std::string data_name = a->data;
    Batch data;
    if (!a->model.empty()) {
      OpenedModel opened = OpenModel(a->model, {});
      Require(opened.denoiser->dimension() == 2, "--model: '" + a->model + "' is not a 2D model");
      if (opened.schedule) s = NoiseSchedule(*opened.schedule);  // sample on the schedule it was trained on
      normalization = opened.normalization;
      if (data_name.empty()) data_name = ModelData(opened, a->model);
      model = std::move(opened.denoiser);
    } else {
      if (data_name.empty()) data_name = "dino";
      normalization = DatasetNormalization(data_name);
    }
    // The data in its own units: the samples are compared with it there.
    data = GenerateDataset(data_name, a->data_n, a->seed, InDataUnits());
    if (!model && a->denoiser == "mixture") {
      Require(CanonicalDatasetName(data_name) == "8gaussians",
              "--denoiser mixture knows the law of --data 8gaussians only (use exact for other data)");
      // MakeEightGaussians: centres on the circle of radius sqrt(2), noise 0.1 (the set's default).
      model = std::make_unique<GaussianMixtureDenoiser>(GaussianMixture::EightGaussians(std::sqrt(2.0), 0.1));
    } else if (!model) {
      model = std::make_unique<EmpiricalDenoiser>(normalization.ToModel(data));
    }
    Require(a->label >= 0 || a->guidance == 0.0, "--guidance needs --label (the class to guide towards)");
    if (a->label >= 0) {
      if (a->model.empty() && a->denoiser == "mixture")  // the mixture's classes: its components
        model = std::make_unique<GaussianMixtureClasses>(GaussianMixture::EightGaussians(std::sqrt(2.0), 0.1));
      model = std::make_unique<ClassifierFreeGuidance>(std::move(model),
                                                       GuidanceOptions{.label = a->label, .weight = a->guidance});
    }
    const auto start = std::chrono::steady_clock::now();
    auto progress = TerminalProgress("sampling");
    // x_T ~ N(0, I) in the normalised space, where the schedule adds its unit-scale noise.
    Batch x0;
    int steps = 0, evaluations = 0;
    if (!a->flow_solver.empty()) {
      const FlowSamplerOptions flow{.solver = *ParseFlowSolver(a->flow_solver), .num_steps = a->flow_steps};
      FlowSampler sampler(*model, flow, InitialNoise(a->n, 2, a->seed));
      while (!sampler.done()) {
        sampler.Next();
        if (progress) progress(sampler.steps_done(), sampler.steps_total(), "");
      }
      x0 = sampler.x();
      steps = sampler.steps_total();
      evaluations = sampler.evaluations();
    } else {
      Sampler sampler(s, *model, options, InitialNoise(a->n, 2, a->seed));
      while (!sampler.done()) {
        const Step& step = sampler.Next();
        if (progress) progress(sampler.steps_done(), sampler.steps_total(), "t = " + std::to_string(step.t));
      }
      x0 = sampler.x();
      steps = sampler.steps_total();
      evaluations = static_cast<int>(sampler.nfe());  // Heun and flow-heun: 2 per step but the last
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const Batch samples_all = normalization.ToData(x0);
    SavePointsCsv(a->output, samples_all);
    // Quality against fresh data (a different seed than the denoiser's points), and the Gaussian baseline.
    const Batch fresh = GenerateDataset(data_name, std::min(a->n, 2000), a->seed + 1, InDataUnits());
    const Batch samples = samples_all.topRows(std::min<Eigen::Index>(a->n, 2000));
    std::fprintf(stderr,
                 "%d samples in %.2f s (%d steps, %d network evaluations) -> %s\nenergy distance to fresh data of %s: "
                 "%.5f (a Gaussian fitted "
                 "to the data: %.5f)\n",
                 a->n, seconds, steps, evaluations, a->output.c_str(), data_name.c_str(),
                 EnergyDistance(samples, fresh),
                 EnergyDistance(FitGaussian(data, static_cast<int>(samples.rows()), a->seed + 2), fresh));
    return 0;
  };
}

Runner AddDemoCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("demo", "write forward and reverse frame sequences of the bundled defaults");
  struct Args {
    std::string output = "diffuscope-demo";
    int frames = 21;
    uint64_t seed = 1;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("-o,--output", a->output, "folder for the frames (created if missing)")->capture_default_str();
  cmd->add_option("--frames", a->frames, "frames per sequence")->capture_default_str();
  cmd->add_option("--seed", a->seed, "random seed")->capture_default_str();
  return [a] {
    namespace fs = std::filesystem;
    Require(a->frames >= 2 && a->frames <= 1000, "--frames must be in 2..1000");
    std::error_code ec;
    fs::create_directories(a->output, ec);
    Require(fs::is_directory(a->output), "cannot create folder '" + a->output + "'");
    // Forward: the sample photograph dissolving into noise under DDPM's linear schedule, with the schedule plot.
    const NoiseSchedule linear;
    ImageLoadOptions load;
    load.downscale_if_too_large = true;
    load.max_pixels = 512 * 512;
    const Image image = LoadImage(ResourcePath("images/butterfly.jpg").string(), load);
    ForwardProcess forward(linear, image.pixels, a->seed);
    const ImageShape shape{image.channels, image.height, image.width};
    SchedulePlot plot(linear, {.width = image.width, .height = 160});
    for (int k = 0; k < a->frames; ++k) {
      const int t = static_cast<int>(std::lround(double(k) * linear.num_steps() / (a->frames - 1)));
      const Batch x_t = forward.Closed(t);
      Frame frame = ImageToFrame(x_t, 0, shape);
      Frame with_plot(frame.width, frame.height + 160, {255, 255, 255});
      Paste(frame, 0, 0, &with_plot);
      Paste(plot.Render(t), 0, frame.height, &with_plot);
      char name[64];
      std::snprintf(name, sizeof name, "forward_%03d.png", k);
      SaveImage((fs::path(a->output) / name).string(), FrameToImage(with_plot));
    }
    // Reverse: 2,000 particles flowing onto the dino under the exact denoiser, cosine T = 50, DDPM.
    ScheduleOptions cosine_options;
    cosine_options.kind = ScheduleKind::kCosine;
    cosine_options.num_steps = 50;
    const NoiseSchedule cosine(cosine_options);
    const Batch data = GenerateDataset("dino", 8000, a->seed);
    EmpiricalDenoiser model(data);
    SamplerOptions sampler_options;
    sampler_options.seed = a->seed;
    ScatterOptions view;
    view.x_min = view.y_min = -3.5;
    view.x_max = view.y_max = 3.5;
    int index = 0;
    auto write = [&](const Batch& x) {
      ScatterContent content;
      content.points = &x;
      content.background = &data;
      char name[64];
      std::snprintf(name, sizeof name, "reverse_%03d.png", index++);
      SaveImage((fs::path(a->output) / name).string(), FrameToImage(RenderScatter(content, view)));
    };
    Batch x_T = InitialNoise(2000, 2, a->seed);
    write(x_T);
    Sample(cosine, model, sampler_options, x_T, [&](const Step& step) { write(step.x_prev); });
    std::cerr << a->frames << " forward frames and " << index << " reverse frames -> " << a->output << "/\n";
    return 0;
  };
}

}  // namespace diffuscope::cli

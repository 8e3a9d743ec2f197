// sample and sr: the image models (digits DDPM, SR3) from the command line.
#include "app/cli/common.h"
#include "core/data/digits.h"
#include "core/data/image_io.h"
#include "core/data/image_set.h"
#include "core/export/figures.h"
#include "core/metrics/image_quality.h"
#include "core/metrics/super_resolution.h"
#include "core/models/photo_eval.h"
#include "core/models/photo_models.h"
#include "core/models/registry.h"
#include "core/models/sr3.h"
#include "core/render/frame.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

namespace diffuscope::cli {
namespace fs = std::filesystem;

Runner AddSampleCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("sample", "sample images from an image model (e.g. ddpm-digits)");
  struct Args {
    std::string model = "ddpm-digits", output;
    int n = 64, scale = 4, size = 128;
    uint64_t seed = 0;
    SamplerArgs sampler;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--model", a->model, "a model file or a shipped image model name")->capture_default_str();
  cmd->add_option("--n", a->n, "number of samples")->capture_default_str();
  cmd->add_option("--scale", a->scale, "grid: each pixel becomes scale x scale")->capture_default_str();
  cmd->add_option("--size", a->size, "photo models: the side of the square images to sample")->capture_default_str();
  cmd->add_option("--seed", a->seed, "random seed")->required();
  cmd->add_option("-o,--output", a->output, "grid.png, or FOLDER/ for one PNG per sample (sample_000.png, ...)")
      ->required();
  AddSamplerOptions(cmd, &a->sampler);
  return [a] {
    Require(a->n >= 1 && a->n <= 10000, "--n must be in 1..10000");
    Require(a->scale >= 1 && a->scale <= 32, "--scale must be in 1..32");
    OpenedModel opened = OpenModel(a->model, {});
    Require(opened.schedule.has_value(), "'" + a->model + "' is not a learned model");
    int channels = 1;
    if (auto* photo = dynamic_cast<PhotoDdpmModel*>(opened.denoiser.get())) {
      Require(a->size >= 8 && a->size <= 1024, "--size must be in 8..1024");
      photo->SetImageSize(3, a->size, a->size);
      channels = 3;
      // A network trained on a few dozen photographs makes textures from pure noise, not photographs.
      std::cerr << "note: from pure noise the photo model makes textures (local image statistics), not scenes\n";
    }
    Require(dynamic_cast<Sr3PhotoModel*>(opened.denoiser.get()) == nullptr,
            "'" + a->model + "' is a super-resolution model: use 'sr'");
    const int dim = opened.denoiser->dimension();
    const int side = static_cast<int>(std::lround(std::sqrt(double(dim / channels))));
    Require(dim > 2 && channels * side * side == dim, "'" + a->model + "' is not a model of square images");
    const NoiseSchedule schedule(*opened.schedule);
    auto progress = TerminalProgress("sampling");
    SamplerOptions options = a->sampler.ToOptions(a->seed);
    options.clip_x0 = true;  // pixels live in [-1, 1]
    Sampler sampler(schedule, *opened.denoiser, options, InitialNoise(a->n, dim, a->seed));
    while (!sampler.done()) {
      sampler.Next();
      if (progress) progress(sampler.steps_done(), sampler.steps_total(), "");
    }
    const Batch x = sampler.x().cwiseMax(-1.0f).cwiseMin(1.0f);
    const bool folder = a->output.back() == '/' || fs::is_directory(a->output);
    if (folder) {
      std::error_code ec;
      fs::create_directories(a->output, ec);
      Require(fs::is_directory(a->output), "cannot create folder '" + a->output + "'");
      for (int i = 0; i < a->n; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "sample_%03d.png", i);
        SaveImage((fs::path(a->output) / name).string(), ImageFromRow(x, i, channels, side, side));
      }
    } else {
      const int columns = static_cast<int>(std::ceil(std::sqrt(double(a->n))));
      std::vector<std::vector<Frame>> rows;
      for (int i = 0; i < a->n; ++i) {
        if (i % columns == 0) rows.emplace_back();
        rows.back().push_back(ImageToFrame(x, i, {channels, side, side}, a->scale));
      }
      while (rows.back().size() < rows.front().size())
        rows.back().push_back(Frame(side * a->scale, side * a->scale, {255, 255, 255}));
      SaveImage(a->output, FrameToImage(TileFrames(rows, {}, 2)));
    }
    std::cerr << a->n << " samples (" << sampler.steps_total() << " " << a->sampler.sampler << " steps) of "
              << opened.description << " -> " << a->output << "\n";
    return 0;
  };
}

Runner AddSrCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("sr", "super-resolve a low-resolution image with an SR3 model");
  struct Args {
    std::string model = "sr3-digits", input, output;
    uint64_t seed = 0;
    bool simulate = false;
    int samples = 1;
    SamplerArgs sampler;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--samples", a->samples,
                  "sr3-photo: the mean of K chains from independent noise (the posterior mean: higher PSNR, less "
                  "invented detail; K times the time)")
      ->capture_default_str()
      ->check(CLI::Range(1, kMaxSrSamples));
  cmd->add_option("LOW_RES_IMAGE", a->input, "the low-resolution image (grey; resized by area to the model's input)")
      ->required();
  cmd->add_option("--model", a->model,
                  "an SR3 model file or shipped name (sr3-photo: any photo, output 4x; sr3-digits, sr3-digits-5x5)")
      ->capture_default_str();
  cmd->add_flag("--simulate", a->simulate,
                "sr3-photo: area-downscale the image by the factor first, then compare the result with it (PSNR, "
                "SSIM against bicubic)");
  cmd->add_option("--seed", a->seed, "random seed")->capture_default_str();
  cmd->add_option("-o,--output", a->output, "the super-resolved image")->required();
  AddSamplerOptions(cmd, &a->sampler);
  return [a, cmd] {
    OpenedModel opened = OpenModel(a->model, {});
    if (auto* photo = dynamic_cast<Sr3PhotoModel*>(opened.denoiser.get())) {
      const SamplerOptions sampler =
          cmd->count("--sampler") || cmd->count("--sampling-steps") ? a->sampler.ToOptions(a->seed) : [&] {
            SamplerOptions o = Sr3PhotoDefaultSampler();
            o.seed = a->seed;
            return o;
          }();
      Image input = LoadImage(a->input);
      const int f = photo->factor();
      Image truth;
      if (a->simulate) {
        // Crop to a multiple of the factor, keep it as the truth, and shrink it by area.
        truth = CropToAspect(input, input.width / f * f, input.height / f * f);
        truth = ResizeImage(truth, input.width / f * f, input.height / f * f);
        input = ResizeImage(truth, truth.width / f, truth.height / f);
      }
      auto progress = TerminalProgress("super-resolving");
      int step = 0;
      const int total = (sampler.num_steps > 0 ? sampler.num_steps : photo->schedule().num_steps()) * a->samples;
      const Batch high = SuperResolvePhoto(
                             *photo, input, sampler, a->seed,
                             [&](const Step&) {
                               if (progress) progress(++step, total, "");
                             },
                             {}, a->samples)
                             .cwiseMax(-1.0f)
                             .cwiseMin(1.0f);
      SaveImage(a->output, ImageFromRow(high, 0, input.channels, input.height * f, input.width * f));
      std::cerr << input.width << " x " << input.height << " -> " << input.width * f << " x " << input.height * f
                << " with " << opened.description;
      if (a->samples > 1) std::cerr << ", the mean of " << a->samples << " samples";
      std::cerr << " -> " << a->output << "\n";
      if (a->simulate) {
        const Batch bicubic =
            photo->Condition(input.pixels, input.channels, input.height, input.width).cwiseMax(-1.0f).cwiseMin(1.0f);
        const SuperResolutionFigures figures = CompareSuperResolution(truth.pixels, input.pixels, bicubic, high,
                                                                      input.channels, truth.height, truth.width);
        std::printf("            PSNR (dB)  SSIM    consistency (dB)  gradient energy (truth %.5f)\n",
                    figures.gradient_energy_truth);
        std::printf("SR3         %8.2f  %6.4f  %8.2f          %.5f\n", figures.psnr_sr, figures.ssim_sr,
                    figures.consistency_sr, figures.gradient_energy_sr);
        std::printf("bicubic     %8.2f  %6.4f  %8.2f          %.5f\n", figures.psnr_bicubic, figures.ssim_bicubic,
                    figures.consistency_bicubic, figures.gradient_energy_bicubic);
      }
      return 0;
    }
    Require(!a->simulate, "--simulate is for the photo model (sr3-photo)");
    Require(a->samples == 1, "--samples is for the photo model (sr3-photo)");
    auto* sr3 = dynamic_cast<Sr3Model*>(opened.denoiser.get());
    Require(sr3 != nullptr, "'" + a->model + "' is not an SR3 model");
    Image low = LoadImage(a->input);
    if (low.channels == 3) {  // grey from RGB planes (BT.601 luma)
      const Eigen::Index plane = static_cast<Eigen::Index>(low.height) * low.width;
      Batch grey = 0.299f * low.pixels.leftCols(plane) + 0.587f * low.pixels.middleCols(plane, plane) +
                   0.114f * low.pixels.rightCols(plane);
      low.pixels = grey;
      low.channels = 1;
    }
    if (low.width != sr3->low_side() || low.height != sr3->low_side()) {
      std::cerr << "resizing the " << low.width << " x " << low.height << " input to " << sr3->low_side() << " x "
                << sr3->low_side() << " (area average)\n";
      low = ResizeImage(low, sr3->low_side(), sr3->low_side());
    }
    const SamplerOptions sampler =
        cmd->count("--sampler") || cmd->count("--sampling-steps") ? a->sampler.ToOptions(a->seed) : [&] {
          SamplerOptions o = Sr3DefaultSampler();
          o.seed = a->seed;
          return o;
        }();
    const Batch high = sr3->SuperResolve(low.pixels, sampler, a->seed);
    SaveImage(a->output, ImageFromRow(high.cwiseMax(-1.0f).cwiseMin(1.0f), 0, 1, sr3->side(), sr3->side()));
    std::cerr << low.width << " x " << low.height << " -> " << sr3->side() << " x " << sr3->side() << " -> "
              << a->output << "\n";
    return 0;
  };
}

}  // namespace diffuscope::cli

// export: animations of any run (GIF, MP4, WebM, PNG frames) with a reproducible bundle beside them.
#include "app/cli/common.h"
#include "core/common/atomic_file.h"
#include "core/data/image_io.h"
#include "core/export/animation.h"
#include "core/export/figures.h"
#include "core/models/photo_eval.h"
#include "core/models/photo_models.h"
#include "core/models/registry.h"
#include "core/render/plots.h"
#include "core/train/model_file.h"

#include <filesystem>
#include <iostream>
#include <sstream>

namespace diffuscope::cli {

Runner AddExportCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("export", "export an animation of a forward or reverse run, with a bundle to redo it");
  struct Args {
    AnimationSpec spec;
    std::string output, from_bundle, direction = "forward", path = "closed", layout = "image", spacing = "time";
    std::string palette = "auto", codec = "auto", field = "none";
    double view = 4.0;
    ScheduleArgs schedule;
    SamplerArgs sampler;
    bool no_dither = false;
    bool simulate = false;
    std::vector<int> region;
    bool no_data_set = false;
  };
  auto a = std::make_shared<Args>();
  AnimationSpec& s = a->spec;
  auto* input = cmd->add_option_group("input", "exactly one of --image, --data, --from");
  input->add_option("--image", s.image, "an image to noise or denoise");
  input->add_option("--data", s.data, "a 2D data set: built-in name, CSV of x,y points or silhouette image");
  input->add_option("--from", a->from_bundle, "a bundle (.json) written beside an earlier export: remake it exactly");
  input->require_option(1);
  std::string models;
  for (const auto& n : BuiltinModelNames()) models += n + "|";
  cmd->add_option("--model", s.model, "denoiser: " + models + "a model file or a shipped model name")
      ->capture_default_str();
  cmd->add_option("--direction", a->direction, "forward (noising, q) or reverse (denoising, p)")
      ->capture_default_str()
      ->check(CLI::IsMember({"forward", "reverse"}));
  cmd->add_option("--path", a->path,
                  "closed (one fixed eps), markov (the chain's path) or fresh-noise (a new eps every frame); "
                  "also the path a reverse run from t < T starts on")
      ->capture_default_str()
      ->check(CLI::IsMember({"closed", "markov", "fresh-noise"}));
  cmd->add_option("--from-t", s.from_t, "first frame's t (default 0 forward, T reverse; reverse from t < T = SDEdit)");
  cmd->add_option("--to-t", s.to_t, "last frame's t (default T forward, 0 reverse)");
  cmd->add_option("--frames", s.frames, "number of frames")->capture_default_str();
  cmd->add_option("--spacing-frames", a->spacing, "frames evenly spaced in: time|log-snr")
      ->capture_default_str()
      ->check(CLI::IsMember({"time", "log-snr"}));
  cmd->add_option("--fps", s.output.fps, "frames per second")->capture_default_str();
  cmd->add_option("--hold", s.output.final_hold_s, "seconds the last frame stays")->capture_default_str();
  std::string layouts;
  for (auto n : LayoutNames()) layouts += std::string(layouts.empty() ? "" : "|") + std::string(n);
  std::string layout_help = "what each frame shows: " + layouts;
  for (auto n : LayoutNames())
    layout_help += "\n  " + std::string(n) + ": " + std::string(LayoutDescription(*ParseLayout(n)));
  cmd->add_option("--layout", a->layout, layout_help)->capture_default_str();
  cmd->add_flag("--caption", s.render.caption, "a caption with t, alpha_bar_t and SNR on each frame");
  cmd->add_option("--size", s.render.min_cell, "images: smallest size in pixels of one image panel")
      ->capture_default_str();
  cmd->add_option("--max-side", s.max_image_side,
                  "images: shrink the input to at most this many pixels a side (smaller images keep their size)")
      ->capture_default_str();
  cmd->add_option("--samples", s.samples, "images: samples in the batch (the grid layout shows them)")
      ->capture_default_str();
  cmd->add_option("--region", a->region,
                  "images: X,Y,W,H, a region cut at the image's own resolution (before --max-side)")
      ->delimiter(',')
      ->expected(4);
  cmd->add_flag("--simulate", a->simulate,
                "sr3-photo: the image is the truth; SR3 refines its area-downscaled view (frames at the truth's size)");
  cmd->add_option("--sr-samples", s.sr_samples,
                  "sr3-photo: the mean of K chains from independent noise (the posterior mean; K times the time)")
      ->capture_default_str()
      ->check(CLI::Range(1, kMaxSrSamples));
  cmd->add_option("--points", s.points, "2D: particles")->capture_default_str();
  cmd->add_option("--trajectories", s.render.scatter.max_trajectories,
                  "2D: particles whose paths are drawn (the app draws " + std::to_string(kDefaultTrajectories) + ")")
      ->capture_default_str();
  cmd->add_option("--field", a->field,
                  "2D: the model's field at each frame's t: none|score (-eps_hat)|drift (mu - x_t)")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "score", "drift"}));
  cmd->add_flag("--contours", s.contours, "2D: density iso-lines of the particles (10 .. 90 % of the peak)");
  cmd->add_flag("--no-data-set", a->no_data_set,
                "2D: leave out the data set drawn faint behind the particles (the app's 'Data set (faint)' off)");
  cmd->add_option("--view", a->view,
                  "2D: half the side of the square shown, in spreads of the data around its centre (the app: 3.5)")
      ->capture_default_str();
  cmd->add_option("--data-points", s.data_points, "2D: data points given to the exact denoisers")
      ->capture_default_str();
  cmd->add_option("--label", s.label,
                  "2D: guide towards class N (a conditional model, or --model mixture: the 8gaussians components)");
  cmd->add_option("--guidance", s.guidance, "2D: classifier-free guidance weight w in [0, 10] (needs --label)");
  cmd->add_option("--gif-palette", a->palette, "GIF palette: auto|grey|colour")->capture_default_str();
  cmd->add_flag("--no-dither", a->no_dither, "GIF: no Floyd-Steinberg dithering of colour frames");
  cmd->add_option("--codec", a->codec, "video codec: auto (MP4: h264, WebM: vp9)|h264|mpeg4|vp8|vp9")
      ->capture_default_str();
  cmd->add_option("--crf", s.output.video_crf,
                  "video quality, a constant rate factor (lower: better and larger): H.264 0..51, VP9 0..63; "
                  "default " +
                      std::to_string(kDefaultH264Crf) + " for MP4, " + std::to_string(kDefaultVp9Crf) + " for WebM")
      ->check(CLI::Range(0, 63));
  cmd->add_option("--seed", s.seed, "random seed (input noise, x_T and every step)");
  cmd->add_option("-o,--output", a->output, "OUT.gif, OUT.mp4, OUT.webm or FOLDER/ (numbered PNG frames)");
  AddScheduleOptions(cmd, &a->schedule);
  AddSamplerOptions(cmd, &a->sampler);
  cmd->footer(
      "A bundle (OUT.json, or FOLDER/bundle.json) records everything needed to remake the frames bit for bit:\n"
      "  diffuscope-cli export --from OUT.gif.json -o again.gif");
  return [a, cmd] {
    AnimationSpec spec = a->spec;
    std::vector<std::string> expected_frames;
    std::string output = a->output;
    if (!a->from_bundle.empty()) {
      Bundle bundle = ReadBundle(a->from_bundle);
      spec = bundle.spec;
      expected_frames = bundle.frame_sha256;
      if (output.empty()) output = bundle.output;
      if (!spec.image.empty() && !bundle.input_sha256.empty() && Sha256File(spec.image) != bundle.input_sha256)
        throw Error("the input '" + spec.image + "' has changed since the bundle was written (checksum differs)");
      // A model file (one trained in the app is saved as model-<SHA-256>.dfm) must be the one the bundle names.
      std::error_code ec;
      if (!bundle.model_sha256.empty() && std::filesystem::is_regular_file(spec.model, ec) &&
          Sha256File(spec.model) != bundle.model_sha256)
        throw Error("the model file '" + spec.model + "' has changed since the bundle was written (checksum differs)");
    } else {
      Require(cmd->count("--seed") > 0, "--seed is required (or --from BUNDLE)");
      Require(!output.empty(), "-o OUT is required");
      spec.direction = a->direction == "forward" ? Direction::kForward : Direction::kReverse;
      spec.forward_path = *ParseForwardPath(a->path);
      spec.spacing = a->spacing == "time" ? FrameSpacing::kTime : FrameSpacing::kLogSnr;
      auto layout = ParseLayout(a->layout);
      Require(layout.has_value(), "--layout: unknown layout '" + a->layout + "'");
      spec.render.layout = !spec.data.empty() && cmd->count("--layout") == 0 ? Layout::kScatter : *layout;
      spec.field.kind = *ParseFieldKind(a->field);
      spec.draw_data = !a->no_data_set;
      Require(a->view > 0 && a->view <= 1000, "--view must be in (0, 1000]");
      spec.render.scatter.x_min = spec.render.scatter.y_min = -a->view;
      spec.render.scatter.x_max = spec.render.scatter.y_max = a->view;
      auto palette = ParseGifPalette(a->palette);
      Require(palette.has_value(), "--gif-palette: unknown palette '" + a->palette + "'");
      spec.output.gif_palette = *palette;
      spec.output.gif_dither = !a->no_dither;
      auto codec = ParseVideoCodec(a->codec);
      Require(codec.has_value(), "--codec: unknown codec '" + a->codec + "'");
      spec.output.video_codec = *codec;
      if (!spec.data.empty() && cmd->count("--schedule") == 0 && cmd->count("--steps") == 0) {
        a->schedule.kind = "cosine";  // 2D default: ends at alpha_bar_T ~ 0 in 50 steps
        a->schedule.steps = 50;
      }
      spec.schedule = a->schedule.ToOptions();
      spec.sampler = a->sampler.ToOptions(spec.seed);
      if (spec.render.layout == Layout::kGrid && cmd->count("--samples") == 0) spec.samples = 16;
      if (a->region.size() == 4) {
        spec.region_x = a->region[0];
        spec.region_y = a->region[1];
        spec.region_width = a->region[2];
        spec.region_height = a->region[3];
      }
      // An SR3 photo model makes a super-resolution run, at its factor, with SR3's sampler unless flags name one.
      std::optional<std::filesystem::path> model_file = ShippedModelPath(spec.model);
      std::error_code ec;
      if (!model_file && std::filesystem::is_regular_file(spec.model, ec)) model_file = spec.model;
      const bool photo_sr =
          !spec.image.empty() && model_file && LoadModelFile(*model_file).model_type == kSr3PhotoModelType;
      if (photo_sr) {
        spec.super_resolution = Sr3PhotoModel::Load(*model_file).factor();
        spec.simulate_low_resolution = a->simulate;
        spec.start_t = 0;
        if (cmd->count("--sampler") == 0 && cmd->count("--sampling-steps") == 0) {
          spec.sampler = Sr3PhotoDefaultSampler();
          spec.sampler.seed = spec.seed;
        }
      } else {
        Require(!a->simulate && spec.sr_samples == 1,
                "--simulate and --sr-samples are for a super-resolution model of photos (sr3-photo)");
      }
      if (std::string problem = spec.Check(); !problem.empty()) throw Error(problem);
    }
    const ExportResult result = ExportAnimationJob(spec, output, TerminalProgress("export"));
    std::cerr << result.frames << " frames, " << result.width << " x " << result.height << ", " << result.codec
              << (result.note.empty() ? "" : " (" + result.note + ")") << " -> " << result.path.string() << "\n";
    if (!expected_frames.empty()) {
      const Bundle written = ReadBundle(BundlePathFor(output, FormatForPath(output)));
      Require(written.frame_sha256 == expected_frames,
              "the remade frames differ from the bundle's (a different build or platform?)");
      std::cerr << "all " << expected_frames.size() << " frames reproduced bit for bit\n";
    }
    return 0;
  };
}

}  // namespace diffuscope::cli

namespace diffuscope::cli {

Runner AddFigureCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("figure", "still figures: strips of x_t, and the schedule plot (PNG or SVG)");
  struct Args {
    std::string kind, output, image, data, model = "oracle", direction = "forward", times = "0,50,100,250,500,750,1000";
    uint64_t seed = 0;
    int size = 96, max_side = 128;
    ScheduleArgs schedule;
    SamplerArgs sampler;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("KIND", a->kind, "strip (x_t at chosen t in a row; reverse: x0_hat underneath) or schedule")
      ->required()
      ->check(CLI::IsMember({"strip", "schedule"}));
  cmd->add_option("--image", a->image, "strip: the image");
  cmd->add_option("--direction", a->direction, "strip: forward or reverse")
      ->capture_default_str()
      ->check(CLI::IsMember({"forward", "reverse"}));
  cmd->add_option("--times", a->times, "strip: the t of each panel, comma separated")->capture_default_str();
  cmd->add_option("--model", a->model, "strip (reverse): the denoiser")->capture_default_str();
  cmd->add_option("--size", a->size, "strip: pixels of one panel's short side at least")->capture_default_str();
  cmd->add_option("--max-side", a->max_side, "strip: shrink the image to this many pixels a side")
      ->capture_default_str();
  cmd->add_option("--seed", a->seed, "random seed")->capture_default_str();
  cmd->add_option("-o,--output", a->output, "strip: a PNG; schedule: .png, .svg (or .csv: the schedule's values)")
      ->required();
  AddScheduleOptions(cmd, &a->schedule);
  AddSamplerOptions(cmd, &a->sampler);
  return [a] {
    const NoiseSchedule schedule(a->schedule.ToOptions());
    const std::string ext = std::filesystem::path(a->output).extension().string();
    if (a->kind == "schedule") {
      if (ext == ".svg") {
        AtomicFile file(a->output);
        file.stream() << ScheduleSvg(schedule);
        file.Commit();
      } else if (ext == ".csv") {
        AtomicFile file(a->output);
        WriteScheduleCsv(schedule, file.stream());
        file.Commit();
      } else {
        SaveImage(a->output, FrameToImage(SchedulePlot(schedule, {.width = 640, .height = 260}).background()));
      }
      std::cerr << "schedule plot -> " << a->output << "\n";
      return 0;
    }
    Require(!a->image.empty(), "figure strip needs --image");
    AnimationSpec spec;
    spec.image = a->image;
    spec.max_image_side = a->max_side;
    spec.render.min_cell = a->size;
    spec.direction = a->direction == "forward" ? Direction::kForward : Direction::kReverse;
    spec.model = a->model;
    spec.schedule = schedule.options();
    spec.sampler = a->sampler.ToOptions(a->seed);
    spec.seed = a->seed;
    std::vector<int> times;
    std::stringstream list(a->times);
    for (std::string item; std::getline(list, item, ',');) {
      try {
        times.push_back(std::stoi(item));
      } catch (const std::exception&) {
        throw Error("--times: '" + item + "' is not a timestep");
      }
    }
    SaveImage(a->output, FrameToImage(StripFigure(spec, times)));
    std::cerr << times.size() << "-panel " << a->direction << " strip -> " << a->output << "\n";
    return 0;
  };
}

}  // namespace diffuscope::cli

// What a run is, in one vocabulary for the app's document, its sessions and settings, export bundles and the
// command line: the input (an image file or a 2D point set), the schedule, the sampler with its seed, the model,
// the forward path, where a reverse run starts, and the seeds. Plain struct with defaults and Check(), one JSON
// reader / writer (errors name the field), and the core calls that compute from it (core/run/run.h).
//
//   diffuscope::RunSpec run;
//   run.image = "photo.jpg";  run.model = "patch";  run.start_t = 300;   // denoise the photo noised to t = 300
//   std::string text = diffuscope::RunSpecToJson(run);                   // {"image": "photo.jpg", ...}
//   diffuscope::RunSpec back = diffuscope::ParseRunSpec(text, "my.json"); // the same run
#pragma once

#include "core/common/types.h"
#include "core/sampling/sampler.h"
#include "core/schedule/schedule.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace diffuscope {

/// How x_t of the forward process is drawn.
enum class ForwardPath {
  kClosed,      // sqrt(abar) x0 + sqrt(1 - abar) eps with one fixed eps (smooth scrubbing)
  kMarkov,      // the step-by-step chain's x_t on one fixed path (Brownian bridge)
  kFreshNoise,  // the closed form with a new eps every frame
};
/// "closed", "markov", "fresh-noise".
std::string_view ForwardPathName(ForwardPath path);
std::optional<ForwardPath> ParseForwardPath(std::string_view name);

/// Exports show an image at its own size, up to this many pixels on its longer side.
inline constexpr int kDefaultExportSide = 1024;

struct RunSpec {
  // Input: an image file, or a 2D data set (a built-in name, a CSV file or a silhouette image).
  std::string image;
  std::string data;
  // 2D: the data set itself, n x 2. When not empty it is the data exactly (what the app shows: drawn points,
  // a CSV as loaded), the forward process moves these very points, and `data` only says where they came from.
  Batch point_set;
  int max_image_side = kDefaultExportSide;  // larger images are shrunk (area average) to this many pixels a side;
                                            // smaller ones keep their size (the renderer's min_cell enlarges
                                            // tiny ones by an integer scale)
  int points = 2000;       // 2D: particles of a reverse run from noise (and of the forward run without point_set)
  int data_points = 8000;  // 2D: points of a generated data set given to the exact denoisers
  int samples = 1;         // images: samples (rows) in the batch; the digits DDPM: digits sampled
  // Digits models (SR3 and the digits DDPM, which run.model names) work on 20x20 digits instead of the image. SR3
  // refines the low-resolution view of its truth: held-out digit `digit` (a test row of SplitDigits), or with
  // digit = -1 the image made grey and 20x20 (DigitFromImage); the digits DDPM samples from pure noise.
  bool digits = false;
  int digit = 0;
  // Super-resolution (a photo SR3 model such as sr3-photo): the model's factor, 0 for other runs. The image (its
  // region, shrunk to max_image_side) is the low-resolution input SR3 refines into a factor x larger one; with
  // simulate_low_resolution it is the truth instead, SR3 refines its area-downscaled view (1 / factor), and the
  // frames are at the truth's size (PSNR and SSIM against it).
  int super_resolution = 0;
  bool simulate_low_resolution = false;
  // Super-resolution: the mean of this many chains from independent noise (the posterior mean: fidelity over
  // invented detail; ReverseRun). 1 = one sample.
  int sr_samples = 1;
  // A region of the image at its own resolution, cut before max_image_side applies (x, y, width, height in
  // pixels; width 0: the whole image).
  int region_x = 0, region_y = 0, region_width = 0, region_height = 0;

  ScheduleOptions schedule;
  bool schedule_from_model = true;  // a learned model samples on its own training schedule instead of `schedule`
  SamplerOptions sampler;           // sampler.seed draws the reverse noise z of every step
  std::string model = "oracle";     // see OpenModel: oracle, empirical, exact, mixture, patch, a shipped name, a file
  ForwardPath forward_path = ForwardPath::kClosed;
  // 2D class-conditional runs (classifier-free guidance, core/models/guidance.h): the class guided towards (-1: an
  // unconditional run) and the guidance weight w in [0, 10] of eps = (1 + w) eps(x, c) - w eps(x, null). The model
  // must be class-conditional (a conditional DDPM 2D file, or "mixture": the exact guided 8gaussians law).
  int label = -1;
  double guidance = 0.0;
  int start_t = 0;    // reverse runs: 0 = from pure noise x_T; t0 > 0 = from the data noised to t0 on forward_path
  uint64_t seed = 0;  // the forward eps and path, x_T, generated data sets

  /// Empty when valid, else what is wrong, naming the field.
  std::string Check() const;
  bool is_points() const { return !data.empty() || point_set.rows() > 0; }
};

/// JSON text of a run, and back. Fields missing from older files take their defaults; a field of the wrong
/// type or value throws Error naming it ("sampler.kind: unknown sampler 'ddjm'").
std::string RunSpecToJson(const RunSpec& run);
RunSpec ParseRunSpec(const std::string& json, const std::string& source = "run");

/// The JSON text of schedule and sampler options (the objects RunSpecToJson nests), and back: the one writer of
/// these options for bundles and sessions. where: the field's name in errors ("'compare.kind' is ...").
std::string ScheduleOptionsToJson(const ScheduleOptions& options);
ScheduleOptions ParseScheduleOptions(const std::string& json, const std::string& source = "schedule",
                                     const std::string& where = "schedule");
std::string SamplerOptionsToJson(const SamplerOptions& options);
SamplerOptions ParseSamplerOptions(const std::string& json, const std::string& source = "sampler",
                                   const std::string& where = "sampler");

}  // namespace diffuscope

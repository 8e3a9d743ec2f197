// An animation job: everything that decides the frames of an export (input, schedule, model, sampler, seed,
// frame choice, layout), the computation of those frames, and the bundle that reproduces them bit for bit.
// The GUI's Export dialog and `diffuscope-cli export` both fill an AnimationSpec and call ExportAnimationJob.
//
//   diffuscope::AnimationSpec spec;
//   spec.image = "photo.jpg";  spec.direction = diffuscope::Direction::kForward;  spec.frames = 60;
//   auto result = diffuscope::ExportAnimationJob(spec, "noising.gif", progress, stop);  // + noising.gif.json
//   auto again = diffuscope::ReadBundle("noising.gif.json");                         // the same spec back
#pragma once

#include "core/common/types.h"
#include "core/export/export.h"
#include "core/render/layouts.h"
#include "core/sampling/sampler.h"
#include "core/schedule/schedule.h"

#include <filesystem>
#include <string>
#include <vector>

namespace diffuscope {

enum class Direction { kForward, kReverse };

/// Exports show an image at its own size, up to this many pixels on its longer side.
inline constexpr int kDefaultExportSide = 1024;

/// Render options of an animation: the renderer's defaults, without trajectories (they clutter a long run).
inline RenderOptions DefaultAnimationRender() {
  RenderOptions options;
  options.scatter.max_trajectories = 0;
  return options;
}
enum class FrameSpacing { kTime, kLogSnr };

struct AnimationSpec {
  // Input: an image file, or a 2D data set (built-in name, CSV or silhouette image).
  std::string image;
  std::string data;
  int max_image_side = kDefaultExportSide;  // larger images are shrunk (area average) to this many pixels a side;
                                            // smaller ones keep their size (the renderer's min_cell enlarges
                                            // tiny ones by an integer scale)
  int points = 2000;         // 2D: particles shown
  int data_points = 8000;    // 2D: points of the data set given to the exact denoisers
  int samples = 1;           // images: samples (rows) in the batch, > 1 for the grid layout

  Direction direction = Direction::kForward;
  bool markov = false;       // forward: the Markov chain's path instead of the closed form
  std::string model = "oracle";  // reverse (and predictions): see OpenModel (oracle, empirical, exact, mixture, a file)
  ScheduleOptions schedule;
  SamplerOptions sampler;
  uint64_t seed = 0;

  int from_t = -1;  // first frame's t; -1 = 0 (forward) or T (reverse)
  int to_t = -1;    // last frame's t;  -1 = T (forward) or 0 (reverse)
  int frames = 60;
  FrameSpacing spacing = FrameSpacing::kTime;  // frames evenly spaced in t, or in log-SNR
  std::vector<int> times;  // if not empty: frames at exactly these t (reverse: the run's nearest states)

  // layout, caption, size (scale / min_cell), scatter view. 2D: the scatter limits are in the run's normalised
  // units (the default +-4 is 4 spreads around the data's centre); frames are drawn and labelled in the data's units.
  RenderOptions render = DefaultAnimationRender();
  ExportOptions output;  // fps, final hold, GIF palette, codec

  /// Empty when valid, else what is wrong, naming the option.
  std::string Check() const;
};

std::string_view DirectionName(Direction direction);
std::string_view FrameSpacingName(FrameSpacing spacing);

/// The frames of a job, rendered in memory (for previews and tests), with their paper t.
struct AnimationFrames {
  std::vector<Frame> frames;
  std::vector<int> t;
  std::string input_sha256, model_sha256;  // of the files read ("" for built-in data and models)
  std::string model_description;
};
/// Computes the trajectory and renders every frame. Throws Error on bad specs or inputs, Cancelled on stop.
AnimationFrames RenderAnimation(const AnimationSpec& spec, const ProgressFn& progress = {}, const StopFn& stop = {});

/// Renders the job and writes it (GIF, MP4, WebM or a PNG folder by the path), then the bundle beside it
/// (OUT + ".json"; for a folder, FOLDER/bundle.json). Both atomic; nothing is left behind on failure or Cancel.
ExportResult ExportAnimationJob(const AnimationSpec& spec, const std::filesystem::path& out,
                                const ProgressFn& progress = {}, const StopFn& stop = {});

/// The bundle's path for an export target.
std::filesystem::path BundlePathFor(const std::filesystem::path& out, ExportFormat format);
/// A bundle: the spec, checksums of the input and model files, and SHA-256 of every frame's RGB bytes.
struct Bundle {
  AnimationSpec spec;
  std::string output;  // the export target it was written beside
  std::string input_sha256, model_sha256;
  std::vector<std::string> frame_sha256;
  std::string version;
};
/// JSON text of a bundle, and back. ParseBundle throws Error on malformed JSON or missing / wrong fields.
std::string BundleToJson(const Bundle& bundle);
Bundle ParseBundle(const std::string& json, const std::string& source = "bundle");
Bundle ReadBundle(const std::filesystem::path& path);

/// SHA-256 of bytes and of a file, as lower-case hex.
std::string Sha256Hex(const void* data, size_t size);
std::string Sha256File(const std::filesystem::path& path);

}  // namespace diffuscope

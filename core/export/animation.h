// An animation job: everything that decides the frames of an export (input, schedule, model, sampler, seed,
// frame choice, layout), the computation of those frames, and the bundle that reproduces them bit for bit.
// The GUI's Export dialog and `diffuscope-cli export` both fill an AnimationSpec and call ExportAnimationJob.
//
//   diffuscope::AnimationSpec spec;
//   spec.image = "photo.jpg";  spec.direction = diffuscope::Direction::kForward;  spec.frames = 60;
//   auto result = diffuscope::ExportAnimationJob(spec, "noising.gif", progress, stop);  // + noising.gif.json
//   auto again = diffuscope::ReadBundle("noising.gif.json");                         // the same spec back
#pragma once

#include "core/common/sha256.h"
#include "core/common/types.h"
#include "core/export/export.h"
#include "core/render/layouts.h"
#include "core/run/overlays.h"
#include "core/run/run_spec.h"
#include "core/sampling/sampler.h"
#include "core/schedule/schedule.h"

#include <filesystem>
#include <string>
#include <vector>

namespace diffuscope {

enum class Direction { kForward, kReverse };

/// Render options of an animation: the renderer's defaults, without trajectories (they clutter a long run).
inline RenderOptions DefaultAnimationRender() {
  RenderOptions options;
  options.scatter.max_trajectories = 0;
  return options;
}
enum class FrameSpacing { kTime, kLogSnr };

/// An animation job: a run (input, schedule, sampler, model, forward path, start, seeds) and the frames made of it.
struct AnimationSpec : RunSpec {
  Direction direction = Direction::kForward;

  int from_t = -1;  // first frame's t; -1 = 0 (forward) or start_t / T (reverse; below T: from the noised data)
  int to_t = -1;    // last frame's t;  -1 = T (forward) or 0 (reverse)
  int frames = 60;
  FrameSpacing spacing = FrameSpacing::kTime;  // frames evenly spaced in t, or in log-SNR
  std::vector<int> times;  // if not empty: frames at exactly these t (reverse: the run's nearest states)

  // layout, caption, size (scale / min_cell), scatter view. 2D: the scatter limits are in the run's normalised
  // units (the default +-4 is 4 spreads around the data's centre); frames are drawn and labelled in the data's units.
  // render.scatter.max_trajectories: the paths of that many particles are drawn, as the app's view draws them
  // (forward: the path sampled at 200 t up to the frame's; reverse: every step of the run so far).
  RenderOptions render = DefaultAnimationRender();
  // 2D overlays, as the app's view draws them: the model's field at each frame's t, density iso-lines, and the
  // data set drawn faint behind the particles (the view's "Data set (faint)"; bundles without it draw it).
  FieldOptions field;
  bool contours = false;
  bool draw_data = true;
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
  std::vector<Batch> x_t;                  // the state of each frame (image rows or particles)
  std::vector<ScatterOverlays> overlays;   // 2D: what each frame draws over its particles (empty for images)
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

}  // namespace diffuscope

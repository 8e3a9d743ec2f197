// The core calls that compute a run (RunSpec): its input, its model, the forward frame at t and the start and
// sampler of its reverse trajectory. The app's two workspaces, the export and the command line all compute
// through these, so a frame on screen, an exported frame and a bundle's remade frame are the same bytes.
//
//   diffuscope::RunInput input = diffuscope::LoadRunInput(run);            // image rows or points
//   diffuscope::OpenedModel model = diffuscope::OpenRunModel(run, input);  // oracle, empirical, a file, ...
//   diffuscope::NoiseSchedule schedule(diffuscope::RunSchedule(run, model));
//   diffuscope::ForwardProcess forward(schedule, input.x0, run.seed);
//   diffuscope::Batch x_300 = diffuscope::ForwardAt(forward, run.forward_path, 300);
//   diffuscope::Sampler sampler = diffuscope::StartReverse(run, schedule, *model.denoiser, input);
//   while (!sampler.done()) { const diffuscope::Step& step = sampler.Next(); /* x_t, x0_hat, eps_hat, mean */ }
#pragma once

#include "core/common/types.h"
#include "core/data/image_io.h"
#include "core/data/points2d.h"
#include "core/forward/forward.h"
#include "core/models/registry.h"
#include "core/render/frame.h"
#include "core/run/run_spec.h"
#include "core/sampling/sampler.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace diffuscope {

/// What a run's input resolves to.
struct RunInput {
  bool points = false;
  Batch x0;    // the clean rows the forward process moves: image rows (x samples) or particles (data units)
  Batch data;  // 2D: the data set of the exact denoisers, in its own units (empty for images)
  // 2D: the data's normalisation (the space the exact models and the forward process run in; see ModelContext).
  PointNormalization normalization;
  ImageShape shape;  // images: the shape of x0's rows
  // Super-resolution runs: the low-resolution image SR3 refines (one row) and its shape; x0 is the truth (when
  // simulated) or the low-resolution image's bicubic upsample, at the output's shape.
  Batch low;
  ImageShape low_shape;
  std::string file;    // the input file read ("" for built-in data and inline points)
  std::string sha256;  // of the input file, or of an inline point set's float bytes ("" for built-in data)
};
/// Loads the image (shrunk to max_image_side) or the points of a run. Throws Error naming the problem.
RunInput LoadRunInput(const RunSpec& run);
/// The input of an image already in memory (the app's open image): samples copies of its row.
RunInput ImageRunInput(const Batch& pixels, const ImageShape& shape, const std::string& file, int samples = 1);
/// The input of a point set in memory (n x 2, in its own units): the forward process moves these points, the exact
/// denoisers see them as the data. normalization: identity for a built-in set (unit scale), else the points' own.
RunInput PointsRunInput(const Batch& points, const PointNormalization& normalization);
/// The normalisation of a point set named `source`: identity for a built-in data set's name, else the points' own
/// (PointNormalization::Of), as the app normalises what it loaded.
PointNormalization PointSetNormalization(const Batch& points, const std::string& source);

/// The input of a digits run (run.digits): SR3's truth, held-out digit run.digit, or with digit -1 the image
/// (image_pixels of image_shape) made a digit; run.samples rows of it (the digits DDPM ignores them). 1 x 20 x 20.
RunInput DigitsRunInput(const RunSpec& run, const Batch* image_pixels = nullptr, const ImageShape& image_shape = {});
/// The input of an image run from the image at its own resolution: run's region cut (then shrunk by area to
/// max_image_side), and for a super-resolution run (run.super_resolution) the truth and its low-resolution view,
/// or the low-resolution image and its upsample. LoadRunInput reads a region or super-resolution run this way.
RunInput ImageRunInputOf(const RunSpec& run, Image image, const std::string& file);
/// SR3's condition for the input (its low-resolution view, upsampled), or an empty batch for other models.
Batch RunCondition(const Denoiser& model, const RunInput& input);
/// n rows of side x side grey images as one image, ceil(sqrt(n)) across with 1-pixel gaps of gap_value (the digits
/// DDPM's grid); shape receives the grid's shape.
Batch TileDigits(const Batch& rows, int side, float gap_value, ImageShape* shape);

/// What the built-in models of a run are made from (the oracle's x_0, the empirical data, the patch seed).
ModelContext RunModelContext(const RunSpec& run, const RunInput& input);
/// Opens run.model for this input (see OpenModel), guided when run.label >= 0 (GuideRunModel). Throws Error.
OpenedModel OpenRunModel(const RunSpec& run, const RunInput& input);
/// The model of a class-conditional run: model itself when run.label < 0; else classifier-free guidance towards
/// run.label with weight run.guidance, of model (which must be class-conditional) or, for run.model "mixture", of
/// the exact 8gaussians classes (GaussianMixtureClasses). Throws Error naming what does not fit.
std::unique_ptr<Denoiser> GuideRunModel(const RunSpec& run, std::unique_ptr<Denoiser> model);
/// The schedule the run samples on: a learned model's own when run.schedule_from_model, else run.schedule.
ScheduleOptions RunSchedule(const RunSpec& run, const OpenedModel& model);

/// x_t of the forward process at t on a path; fresh_frame keys the fresh noise of kFreshNoise.
Batch ForwardAt(const ForwardProcess& forward, ForwardPath path, int t, uint64_t fresh_frame = 0);

/// The sampler options of a run on a schedule of T steps: a sampler set up for a longer schedule takes every
/// step of this one.
SamplerOptions RunSamplerOptions(const RunSpec& run, int T);
/// The reverse trajectory's x_start and the timestep it is at (0 = the last of the spaced sequence).
struct ReverseStart {
  Batch x;
  int start_t = 0;
};
/// x_start of a reverse run: pure noise x_T (noise_rows rows of x0's width, from run.seed) when run.start_t is 0,
/// else x0 noised to start_t on run.forward_path (the Markov path, or the closed form with its fixed eps). x0 in
/// the run's (normalised) space.
ReverseStart ReverseStartOf(const RunSpec& run, const NoiseSchedule& schedule, const Batch& x0, int noise_rows);
/// The number of pure-noise rows of a run's reverse trajectory: particles for points, samples for images.
int ReverseRows(const RunSpec& run, const RunInput& input);
/// The sampler of a run's reverse trajectory (each Next() is one step: x_t, x0_hat, eps_hat, mean, variance), in
/// the space `space` maps points to (the opened model's normalization; identity for images). The model and
/// schedule must outlive it. Throws Error on bad options.
Sampler StartReverse(const RunSpec& run, const NoiseSchedule& schedule, Denoiser& model, const RunInput& input,
                     const PointNormalization& space = {}, const Batch* condition = nullptr);

/// The reverse trajectory of a run, as the screen and the export step through it. One chain is StartReverse's
/// sampler. A super-resolution run with sr_samples = K > 1 steps K chains together (their posterior mean,
/// SuperResolvePhoto's): chain 0 is the run watched (each step's x_t and eps_hat are its), each step's x0_hat is the
/// mean over the chains, and the last step's x_prev, x(), is the mean of the chains' results, each clamped to
/// [-1, 1] as shown. Chain k starts from row k of K pure-noise rows (run.seed) and draws its step noise from
/// SrChainSeed(run.sampler.seed, k), so chain 0 is the one-chain run and the result is SuperResolvePhoto's.
class ReverseRun {
 public:
  explicit ReverseRun(std::vector<Sampler> chains);
  bool done() const { return chains_.front().done(); }
  /// Steps every chain once; the step of chain 0, with the means above.
  const Step& Next();
  const Batch& x() const { return chains_.size() > 1 && done() ? mean_x_ : chains_.front().x(); }
  int steps_total() const { return chains_.front().steps_total(); }
  int steps_done() const { return chains_.front().steps_done(); }
  std::vector<int> timesteps() const { return chains_.front().timesteps(); }
  int chains() const { return static_cast<int>(chains_.size()); }
  /// Network evaluations of all chains together.
  long long nfe() const;

 private:
  std::vector<Sampler> chains_;
  Step step_;
  Batch mean_x_;
};
/// StartReverse for every chain of the run (see ReverseRun).
ReverseRun StartReverseRun(const RunSpec& run, const NoiseSchedule& schedule, Denoiser& model, const RunInput& input,
                           const PointNormalization& space = {}, const Batch* condition = nullptr);

/// x0_hat and eps_hat of a model at t for x_t (t >= 1).
void PredictAt(Denoiser& model, const NoiseSchedule& schedule, int t, const Batch& x_t, Batch* x0_hat, Batch* eps_hat,
               const Batch* condition = nullptr);

/// Writes a model file's bytes under folder as model-<SHA-256>.dfm (atomically; kept if already there) and
/// returns its path: a model that lives only in memory gets a file a bundle can name and check.
std::filesystem::path SaveContentAddressedModel(const std::vector<uint8_t>& bytes, const std::filesystem::path& folder);

}  // namespace diffuscope

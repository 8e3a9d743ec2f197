// One place that turns a model name (as typed on the command line, stored in a session or a bundle) into a
// Denoiser, so the GUI, the command line and bundles agree on what "oracle" or "ddpm-2d-dino" means.
//
//   diffuscope::ModelContext context{.x0 = &image.pixels};        // what the exact models may need
//   auto model = diffuscope::OpenModel("oracle", context);         // or "empirical", "patch", a file, a shipped name
#pragma once

#include "core/common/types.h"
#include "core/data/points2d.h"
#include "core/models/denoiser.h"
#include "core/schedule/schedule.h"
#include "core/train/model_file.h"

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace diffuscope {

/// What the training-free models are built from.
struct ModelContext {
  const Batch* x0 = nullptr;                // the clean input (oracle; patch bank of the image itself when asked)
  const Batch* data = nullptr;              // the data set (empirical, 2D): rows
  int channels = 0, height = 0, width = 0;  // image shape of x0's rows (0 for points)
  std::string x0_file;  // the file x0 came from: the patch bank leaves it out (no peeking at the answer)
  uint64_t seed = 0;
  /// 2D: the data's normalisation (DatasetNormalization of its source); the exact models (empirical, oracle) are
  /// built on x0 and data mapped with it, so they run in the same normalised space a learned model would.
  PointNormalization normalization;
};

struct OpenedModel {
  std::unique_ptr<Denoiser> denoiser;
  std::string description;                  // what it is, for notes and captions
  std::optional<ScheduleOptions> schedule;  // a learned model's own training schedule (sample on it)
  std::filesystem::path file;               // the model file, if one was read (for checksums)
  /// The space the model (and so the whole diffusion) runs in: x_t of a run are normalization.ToModel of data-unit
  /// points, and its samples map back with ToData. A learned 2D model's own, the context's for the exact models of
  /// points, identity for the mixture (the 8gaussians law is at unit scale) and for images.
  PointNormalization normalization;
  /// The data set a learned 2D model names (its file's info "data": a built-in name or a file's path; the paper's
  /// swiss_roll for a Sohl-Dickstein file that names none), "" when it names none or for other models.
  std::string data;
};

/// Names of the built-in, training-free models: oracle, empirical, exact, mixture, patch. For images,
/// "empirical" is the optimal denoiser of the bundled sample photographs (resized to the input's size), and
/// "empirical:FOLDER" that of the images in FOLDER; "patch" the local patch posterior mean over a bank of
/// patches of the bundled photographs, "patch:self" over the input's own patches (an oracle of sorts).
std::vector<std::string> BuiltinModelNames();
/// Opens a model by name: a built-in name, a shipped model name (resources/models/NAME.dfm), or a model file.
/// Throws Error naming what is missing (e.g. the oracle needs x0) or what is wrong with the file.
OpenedModel OpenModel(const std::string& name, const ModelContext& context);

/// Opens a model from a model file already read (a learned model held in memory, e.g. the app's): as a file, with
/// OpenedModel::file left empty. Throws Error for a type this version cannot sample.
OpenedModel OpenModelFile(ModelFile file, const ModelContext& context = {});

/// The path of a shipped model (resources/models/NAME.dfm) if NAME is one, else nullopt.
std::optional<std::filesystem::path> ShippedModelPath(const std::string& name);
/// Names of the shipped models found in resources/models/.
std::vector<std::string> ShippedModelNames();

}  // namespace diffuscope

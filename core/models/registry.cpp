#include "core/models/registry.h"

#include "core/common/resources.h"
#include "core/data/image_set.h"
#include "core/models/conditional_ddpm2d.h"
#include "core/models/ddpm2d.h"
#include "core/models/digits_ddpm.h"
#include "core/models/digits_unet.h"
#include "core/models/exact.h"
#include "core/models/flow2d.h"
#include "core/models/patch.h"
#include "core/models/photo_models.h"
#include "core/models/sohl_dickstein.h"
#include "core/models/sr3.h"
#include "core/train/model_file.h"

#include <algorithm>
#include <cmath>

namespace diffuscope {
namespace fs = std::filesystem;

std::vector<std::string> BuiltinModelNames() { return {"oracle", "empirical", "exact", "mixture", "patch"}; }

std::optional<fs::path> ShippedModelPath(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name.find('.') != std::string::npos) return std::nullopt;
  try {
    const fs::path path = ResourcesDir() / "models" / (name + ".dfm");
    std::error_code ec;
    if (fs::exists(path, ec)) return path;
  } catch (const Error&) {
  }
  return std::nullopt;
}

std::vector<std::string> ShippedModelNames() {
  std::vector<std::string> names;
  try {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(ResourcesDir() / "models", ec))
      if (entry.path().extension() == ".dfm") names.push_back(entry.path().stem().string());
  } catch (const Error&) {
  }
  std::sort(names.begin(), names.end());
  return names;
}

namespace {

bool Is2dLearnedType(const std::string& type) {
  return type == kDdpm2dModelType || type == kSohlDicksteinModelType || type == kFlow2dModelType ||
         type == kConditionalDdpm2dModelType;
}

OpenedModel OpenLearned(const fs::path& path, const ModelContext& context) {
  ModelFile file = LoadModelFile(path);
  try {
    OpenedModel opened = OpenModelFile(std::move(file), context);
    opened.file = path;
    return opened;
  } catch (const Error& e) {
    throw Error("'" + path.string() + "': " + e.what());
  }
}

}  // namespace

// (an OpenedModel's own file stays empty here; OpenLearned sets it)
OpenedModel OpenModelFile(ModelFile file, const ModelContext& context) {
  OpenedModel opened;
  opened.schedule = file.schedule;
  const std::string type = file.model_type;
  if (auto it = file.info.find("data"); it != file.info.end()) opened.data = it->second;
  if (opened.data.empty() && type == kSohlDicksteinModelType) opened.data = "swiss_roll";
  if (!Is2dLearnedType(type)) opened.data.clear();
  if (type == kFlow2dModelType) {
    auto model = std::make_unique<Flow2dModel>(std::move(file));
    opened.description = model->name() + ": flow matching (velocity of the straight path)";
    opened.normalization = model->normalization();
    opened.denoiser = std::move(model);
    return opened;
  }
  if (type == kConditionalDdpm2dModelType) {
    auto model = std::make_unique<ConditionalDdpm2dModel>(std::move(file));
    opened.description = model->name() + ": " + std::to_string(model->num_classes()) + " classes";
    opened.normalization = model->normalization();
    opened.denoiser = std::move(model);
    return opened;
  }
  if (type == kDdpm2dModelType) {
    auto model = std::make_unique<Ddpm2dModel>(std::move(file));
    opened.description = model->name();
    opened.normalization = model->normalization();
    opened.denoiser = std::move(model);
    return opened;
  }
  if (type == kDigitsDdpmModelType) {
    auto model = std::make_unique<DigitsDdpmModel>(std::move(file));
    opened.description = model->name();
    opened.denoiser = std::move(model);
    return opened;
  }
  if (type == kDigitsUNetModelType) {
    auto model = std::make_unique<DigitsUNetModel>(std::move(file));
    opened.description = model->name();
    opened.denoiser = std::move(model);
    return opened;
  }
  if (type == kSr3DigitsModelType) {
    auto model = std::make_unique<Sr3Model>(std::move(file));
    opened.description = model->name();
    opened.denoiser = std::move(model);
    return opened;
  }
  if (type == kPhotoDdpmModelType || type == kSr3PhotoModelType) {
    std::unique_ptr<UNetModel> model;
    if (type == kPhotoDdpmModelType) model = std::make_unique<PhotoDdpmModel>(std::move(file));
    else model = std::make_unique<Sr3PhotoModel>(std::move(file));
    // The network is fully convolutional: it takes the input's own size (set again by callers that change it).
    if (context.channels > 0) model->SetImageSize(context.channels, context.height, context.width);
    opened.description = model->name();
    opened.denoiser = std::move(model);
    return opened;
  }
  if (type == kSohlDicksteinModelType) {
    auto model = std::make_unique<SohlDicksteinModel>(std::move(file));
    opened.description = model->name();
    opened.normalization = model->normalization();
    opened.denoiser = std::move(model);
    return opened;
  }
  throw Error("the model file holds a model of type '" + type + "', which this version cannot sample");
}

OpenedModel OpenModel(const std::string& name, const ModelContext& context) {
  OpenedModel opened;
  const bool image = context.channels > 0;
  if (!image) opened.normalization = context.normalization;
  if (name == "oracle") {
    Require(context.x0 != nullptr, "the posterior oracle needs the clean x_0 (an image or points)");
    opened.denoiser = std::make_unique<PosteriorOracle>(opened.normalization.ToModel(*context.x0));
    opened.description = "posterior oracle: knows x_0, so every step is q(x_{t-1} | x_t, x_0)";
    return opened;
  }
  if (image && (name == "empirical" || name.rfind("empirical:", 0) == 0)) {
    ImageSetOptions options;
    options.channels = context.channels;
    options.height = context.height;
    options.width = context.width;
    const std::string folder = name == "empirical" ? (ResourcesDir() / "images").string() : name.substr(10);
    ImageSet set = LoadImageSet(folder, options);
    opened.description =
        "exact empirical denoiser over " + std::to_string(set.images.rows()) + " images of '" + folder + "'";
    opened.denoiser = std::make_unique<EmpiricalDenoiser>(std::move(set.images));
    return opened;
  }
  if (name == "patch" || name == "patch:self") {
    Require(image, "the patch denoiser works on images");
    std::vector<Image> sources;
    if (name == "patch:self") {
      Require(context.x0 != nullptr, "patch:self needs the input image");
      sources.push_back(ImageFromRow(*context.x0, 0, context.channels, context.height, context.width));
    } else {
      sources = SamplePatchSources(context.channels, 256, context.x0_file);
    }
    PatchDenoiserOptions options;
    options.seed = context.seed;
    auto model = std::make_unique<PatchDenoiser>(sources, context.channels, context.height, context.width, options);
    opened.description = model->name();
    opened.denoiser = std::move(model);
    return opened;
  }
  if (name == "empirical" || name == "exact") {
    const Batch* data = context.data ? context.data : context.x0;
    Require(data != nullptr, "the empirical denoiser needs a data set");
    // The posterior mean is equivariant under x -> s x + c, but the noise is not: the data are mapped to the
    // normalised space so the schedule means what it means for a learned model of the same data.
    opened.denoiser = std::make_unique<EmpiricalDenoiser>(opened.normalization.ToModel(*data));
    opened.description = "exact empirical denoiser over " + std::to_string(data->rows()) + " data points";
    return opened;
  }
  if (name == "mixture") {
    opened.normalization = {};
    // The law of the 8gaussians data set: centres on the circle of radius sqrt(2), standard deviation 0.1.
    opened.denoiser = std::make_unique<GaussianMixtureDenoiser>(GaussianMixture::EightGaussians(std::sqrt(2.0), 0.1));
    opened.description = "exact Gaussian-mixture denoiser of the 8gaussians law";
    return opened;
  }
  opened.normalization = {};
  if (auto shipped = ShippedModelPath(name)) return OpenLearned(*shipped, context);
  std::error_code ec;
  if (fs::exists(name, ec)) return OpenLearned(name, context);
  std::string known;
  for (const auto& n : BuiltinModelNames()) known += (known.empty() ? "" : ", ") + n;
  for (const auto& n : ShippedModelNames()) known += ", " + n;
  throw Error("unknown model '" + name + "': not a file, and not one of " + known);
}

}  // namespace diffuscope

#include "core/run/run.h"

#include "core/models/exact.h"
#include "core/models/guidance.h"

#include "core/common/atomic_file.h"
#include "core/common/sha256.h"
#include "core/data/digits.h"
#include "core/data/image_io.h"
#include "core/data/points2d.h"
#include "core/models/photo_eval.h"
#include "core/models/photo_models.h"
#include "core/models/sr3.h"

#include <algorithm>
#include <cmath>

namespace diffuscope {
namespace fs = std::filesystem;

RunInput ImageRunInput(const Batch& pixels, const ImageShape& shape, const std::string& file, int samples) {
  RunInput input;
  input.x0 = pixels.replicate(samples, 1);
  input.shape = shape;
  input.file = file;
  return input;
}

RunInput PointsRunInput(const Batch& points, const PointNormalization& normalization) {
  RunInput input;
  input.points = true;
  input.x0 = points;
  input.data = points;
  input.normalization = normalization;
  return input;
}

PointNormalization PointSetNormalization(const Batch& points, const std::string& source) {
  if (points.rows() == 0 || !CanonicalDatasetName(source).empty()) return {};
  return PointNormalization::Of(points);
}

RunInput DigitsRunInput(const RunSpec& run, const Batch* image_pixels, const ImageShape& image_shape) {
  RunInput input;
  input.shape = {1, kDigitSide, kDigitSide};
  Batch truth;
  if (run.digit >= 0) {
    const DigitsSplit split = SplitDigits(LoadDigits());
    Require(run.digit < split.test.rows(), "there is no held-out digit " + std::to_string(run.digit));
    truth = split.test.row(run.digit);
  } else {
    Require(image_pixels != nullptr, "digit -1 makes the SR3 truth from the image: there is none");
    truth = DigitFromImage(*image_pixels, image_shape.channels, image_shape.height, image_shape.width, kDigitSide);
  }
  input.x0 = truth.replicate(run.samples, 1);
  return input;
}

Batch RunCondition(const Denoiser& model, const RunInput& input) {
  if (const auto* photo = dynamic_cast<const Sr3PhotoModel*>(&model)) {
    Require(input.low.size() > 0,
            "an SR3 photo model refines a low-resolution image: make it a super-resolution run (super_resolution " +
                std::to_string(photo->factor()) + ")");
    const ImageShape& low = input.low_shape;
    Require(low.width * photo->factor() == input.shape.width && low.height * photo->factor() == input.shape.height,
            "the run super-resolves by another factor than the model's x" + std::to_string(photo->factor()));
    return photo->Condition(input.low, low.channels, low.height, low.width);
  }
  const auto* sr3 = dynamic_cast<const Sr3Model*>(&model);
  if (sr3 == nullptr) return {};
  return sr3->Condition(DownscaleArea(input.x0, sr3->low_side()));
}

Batch TileDigits(const Batch& rows, int side, float gap_value, ImageShape* shape) {
  const int n = static_cast<int>(rows.rows());
  const int cols = std::max(1, static_cast<int>(std::ceil(std::sqrt(static_cast<double>(n)))));
  const int grid_rows = (n + cols - 1) / cols;
  shape->channels = 1;
  shape->width = cols * side + (cols - 1);
  shape->height = grid_rows * side + (grid_rows - 1);
  Batch out = Batch::Constant(1, static_cast<long>(shape->width) * shape->height, gap_value);
  for (int i = 0; i < n; ++i) {
    const int x0 = (i % cols) * (side + 1), y0 = (i / cols) * (side + 1);
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x) out(0, static_cast<long>(y0 + y) * shape->width + x0 + x) = rows(i, y * side + x);
  }
  return out;
}

namespace {
// The w x h pixels of an image from (x, y), clamped to the image.
Image Cut(const Image& image, int x, int y, int w, int h) {
  x = std::clamp(x, 0, image.width - 1);
  y = std::clamp(y, 0, image.height - 1);
  w = std::clamp(w, 1, image.width - x);
  h = std::clamp(h, 1, image.height - y);
  Image cut;
  cut.channels = image.channels;
  cut.width = w;
  cut.height = h;
  cut.pixels.resize(1, static_cast<Eigen::Index>(image.channels) * w * h);
  for (int c = 0; c < image.channels; ++c)
    for (int r = 0; r < h; ++r)
      for (int q = 0; q < w; ++q)
        cut.pixels(0, (static_cast<Eigen::Index>(c) * h + r) * w + q) =
            image.pixels(0, (static_cast<Eigen::Index>(c) * image.height + y + r) * image.width + x + q);
  return cut;
}
}  // namespace

RunInput ImageRunInputOf(const RunSpec& run, Image image, const std::string& file) {
  Require(image.width > 0 && image.height > 0, "the image is empty");
  if (run.region_width > 0) image = Cut(image, run.region_x, run.region_y, run.region_width, run.region_height);
  if (std::max(image.width, image.height) > run.max_image_side) {
    const double f = double(run.max_image_side) / std::max(image.width, image.height);
    image = ResizeImage(image, std::max(1, int(image.width * f)), std::max(1, int(image.height * f)));
  }
  if (run.super_resolution == 0) return ImageRunInput(image.pixels, {image.channels, image.height, image.width}, file);
  const int f = run.super_resolution;
  Image low, high;
  if (run.simulate_low_resolution) {
    // The truth, cut to a multiple of the factor (its top-left part), and its area-downscaled view.
    Require(image.width >= f && image.height >= f, "the image is smaller than the super-resolution factor");
    const int w = image.width / f * f, h = image.height / f * f;
    high = w != image.width || h != image.height ? Cut(image, 0, 0, w, h) : std::move(image);
    low = ResizeImage(high, high.width / f, high.height / f);
  } else {
    Require(static_cast<long long>(image.width) * image.height * f * f <= 4096LL * 4096,
            "super-resolution: the output would exceed 4096 x 4096 pixels; choose a region or a smaller size");
    low = std::move(image);
    high = ResizeImage(low, low.width * f, low.height * f);  // bicubic, as SR3's condition upsamples
  }
  RunInput input = ImageRunInput(high.pixels, {high.channels, high.height, high.width}, file);
  input.low = std::move(low.pixels);
  input.low_shape = {low.channels, low.height, low.width};
  return input;
}

RunInput LoadRunInput(const RunSpec& run) {
  if (std::string problem = run.Check(); !problem.empty()) throw Error(problem);
  if (run.digits) {
    if (run.digit >= 0) return DigitsRunInput(run);
    const Image image = LoadImage(run.image, ImageLoadOptions{});
    RunInput input = DigitsRunInput(run, &image.pixels, {image.channels, image.height, image.width});
    input.file = run.image;
    input.sha256 = Sha256File(run.image);
    return input;
  }
  if (run.point_set.rows() > 0) {
    RunInput input = PointsRunInput(run.point_set, PointSetNormalization(run.point_set, run.data));
    input.sha256 = Sha256Hex(run.point_set.data(), static_cast<size_t>(run.point_set.size()) * sizeof(float));
    return input;
  }
  if (!run.data.empty()) {
    RunInput input;
    input.points = true;
    Dataset2DOptions own_units;
    own_units.standardize = false;
    input.data = GenerateDataset(run.data, run.data_points, run.seed, own_units);
    input.x0 = GenerateDataset(run.data, run.points, run.seed + 1, own_units);  // the particles' clean positions
    input.normalization = DatasetNormalization(run.data);
    std::error_code ec;
    if (fs::is_regular_file(run.data, ec)) {
      input.file = run.data;
      input.sha256 = Sha256File(run.data);
    }
    return input;
  }
  if (run.region_width > 0 || run.super_resolution > 0) {
    // At the image's own resolution first: a region is cut from it, a truth made from it.
    ImageLoadOptions full;
    full.downscale_if_too_large = true;
    full.max_pixels = 4096LL * 4096;
    RunInput input = ImageRunInputOf(run, LoadImage(run.image, full), run.image);
    input.sha256 = Sha256File(run.image);
    return input;
  }
  ImageLoadOptions load;
  load.downscale_if_too_large = true;
  load.max_pixels = static_cast<long long>(run.max_image_side) * run.max_image_side;
  Image image = LoadImage(run.image, load);
  if (std::max(image.width, image.height) > run.max_image_side) {
    const double f = double(run.max_image_side) / std::max(image.width, image.height);
    image = ResizeImage(image, std::max(1, int(image.width * f)), std::max(1, int(image.height * f)));
  }
  RunInput input = ImageRunInput(image.pixels, {image.channels, image.height, image.width}, run.image, run.samples);
  input.sha256 = Sha256File(run.image);
  return input;
}

ModelContext RunModelContext(const RunSpec& run, const RunInput& input) {
  ModelContext context;
  context.x0 = &input.x0;
  context.data = input.points ? &input.data : nullptr;
  context.channels = input.points ? 0 : input.shape.channels;  // 0 tells the registry these are points
  context.height = input.shape.height;
  context.width = input.shape.width;
  context.seed = run.seed;
  context.x0_file = input.file;
  context.normalization = input.normalization;
  return context;
}

OpenedModel OpenRunModel(const RunSpec& run, const RunInput& input) {
  OpenedModel opened = OpenModel(run.model, RunModelContext(run, input));
  if (run.label >= 0) {
    opened.denoiser = GuideRunModel(run, std::move(opened.denoiser));
    opened.description = opened.denoiser->name();
  }
  return opened;
}

std::unique_ptr<Denoiser> GuideRunModel(const RunSpec& run, std::unique_ptr<Denoiser> model) {
  if (run.label < 0) return model;
  const GuidanceOptions options{.label = run.label, .weight = run.guidance};
  // The mixture's exact denoiser knows only the mixture; its classes are the components of the same law.
  if (run.model == "mixture")
    model = std::make_unique<GaussianMixtureClasses>(GaussianMixture::EightGaussians(std::sqrt(2.0), 0.1));
  return std::make_unique<ClassifierFreeGuidance>(std::move(model), options);
}

ScheduleOptions RunSchedule(const RunSpec& run, const OpenedModel& model) {
  return run.schedule_from_model && model.schedule ? *model.schedule : run.schedule;
}

Batch ForwardAt(const ForwardProcess& forward, ForwardPath path, int t, uint64_t fresh_frame) {
  switch (path) {
    case ForwardPath::kClosed: return forward.Closed(t);
    case ForwardPath::kMarkov: return forward.Markov(t);
    case ForwardPath::kFreshNoise: return forward.ClosedFreshNoise(t, fresh_frame);
  }
  return forward.Closed(t);
}

SamplerOptions RunSamplerOptions(const RunSpec& run, int T) {
  SamplerOptions options = run.sampler;
  options.num_steps = std::min(options.num_steps, T);
  return options;
}

ReverseStart ReverseStartOf(const RunSpec& run, const NoiseSchedule& schedule, const Batch& x0, int noise_rows) {
  if (run.start_t <= 0) return {InitialNoise(noise_rows, static_cast<int>(x0.cols()), run.seed), 0};
  Require(run.start_t <= schedule.num_steps(), "the run starts at t = " + std::to_string(run.start_t) +
                                                   ", past T = " + std::to_string(schedule.num_steps()));
  const ForwardProcess forward(schedule, x0, run.seed);
  // Fresh noise has no one path to start from: its closed form with the fixed eps.
  const ForwardPath path = run.forward_path == ForwardPath::kMarkov ? ForwardPath::kMarkov : ForwardPath::kClosed;
  return {ForwardAt(forward, path, run.start_t), run.start_t};
}

int ReverseRows(const RunSpec& run, const RunInput& input) {
  return input.points ? run.points : static_cast<int>(input.x0.rows());
}

Sampler StartReverse(const RunSpec& run, const NoiseSchedule& schedule, Denoiser& model, const RunInput& input,
                     const PointNormalization& space, const Batch* condition) {
  ReverseStart start =
      ReverseStartOf(run, schedule, input.points ? space.ToModel(input.x0) : input.x0, ReverseRows(run, input));
  return Sampler(schedule, model, RunSamplerOptions(run, schedule.num_steps()), std::move(start.x), condition,
                 start.start_t);
}

ReverseRun::ReverseRun(std::vector<Sampler> chains) : chains_(std::move(chains)) {
  Require(!chains_.empty(), "a reverse run needs at least one chain");
}

const Step& ReverseRun::Next() {
  if (chains_.size() == 1) return chains_.front().Next();
  step_ = chains_.front().Next();
  const float k = static_cast<float>(chains_.size());
  Batch x0_sum = step_.x0_hat;
  for (size_t c = 1; c < chains_.size(); ++c) x0_sum += chains_[c].Next().x0_hat;
  step_.x0_hat = x0_sum / k;
  if (done()) {
    mean_x_ = chains_.front().x().cwiseMax(-1.0f).cwiseMin(1.0f);
    for (size_t c = 1; c < chains_.size(); ++c) mean_x_ += chains_[c].x().cwiseMax(-1.0f).cwiseMin(1.0f);
    mean_x_ /= k;
    step_.x_prev = mean_x_;
  }
  return step_;
}

long long ReverseRun::nfe() const {
  long long n = 0;
  for (const Sampler& c : chains_) n += c.nfe();
  return n;
}

ReverseRun StartReverseRun(const RunSpec& run, const NoiseSchedule& schedule, Denoiser& model, const RunInput& input,
                           const PointNormalization& space, const Batch* condition) {
  std::vector<Sampler> chains;
  const int K = std::max(1, run.sr_samples);
  if (K == 1) {
    chains.push_back(StartReverse(run, schedule, model, input, space, condition));
    return ReverseRun(std::move(chains));
  }
  Require(!input.points && input.x0.rows() == 1, "a mean of samples is for a super-resolution run of one image");
  const Batch& x0 = input.x0;
  // Pure noise: row k of K rows (row 0 is the one-chain run's x_T); from t0 > 0 every chain starts at the same x_t.
  const ReverseStart start = ReverseStartOf(run, schedule, x0, run.start_t <= 0 ? K : 1);
  chains.reserve(K);
  for (int k = 0; k < K; ++k) {
    SamplerOptions options = RunSamplerOptions(run, schedule.num_steps());
    options.seed = SrChainSeed(run.sampler.seed, k);
    chains.emplace_back(schedule, model, options, run.start_t <= 0 ? Batch(start.x.row(k)) : start.x, condition,
                        start.start_t);
  }
  return ReverseRun(std::move(chains));
}

void PredictAt(Denoiser& model, const NoiseSchedule& schedule, int t, const Batch& x_t, Batch* x0_hat, Batch* eps_hat,
               const Batch* condition) {
  DenoiseQuery query;
  query.t = t;
  query.t_prev = t - 1;
  query.alpha_bar = schedule.alpha_bar(t);
  query.schedule = &schedule;
  query.condition = condition;
  const Prediction prediction = model.Predict(x_t, query);
  PredictionToX0Eps(prediction, x_t, schedule.alpha_bar(t), schedule.alpha_bar(t - 1), schedule.posterior_mean_coef1(t),
                    schedule.posterior_mean_coef2(t), x0_hat, eps_hat);
}

fs::path SaveContentAddressedModel(const std::vector<uint8_t>& bytes, const fs::path& folder) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  Require(fs::is_directory(folder, ec), "cannot create the model folder '" + folder.string() + "'");
  const std::string sha = Sha256Hex(bytes.data(), bytes.size());
  const fs::path path = folder / ("model-" + sha + ".dfm");
  if (fs::is_regular_file(path, ec)) {
    try {
      if (Sha256File(path) == sha) return path;  // the same bytes are already there
    } catch (const Error&) {
    }
  }
  AtomicFile file(path);
  file.stream().write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  file.Commit();
  return path;
}

}  // namespace diffuscope

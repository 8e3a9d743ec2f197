#include "core/models/digits_ddpm.h"

#include "core/random/random.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace diffuscope {
namespace {

const DigitsDdpmOptions& Checked(const DigitsDdpmOptions& options) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("DDPM digits: " + problem);
  return options;
}

// Squared Euclidean distances between the rows of a (n x d) and b (m x d): n x m, in double for the sums.
Eigen::MatrixXd SquaredDistances(const Batch& a, const Batch& b) {
  const Eigen::MatrixXd ad = a.cast<double>(), bd = b.cast<double>();
  Eigen::MatrixXd d = -2.0 * (ad * bd.transpose());
  d.colwise() += ad.rowwise().squaredNorm();
  d.rowwise() += bd.rowwise().squaredNorm().transpose();
  return d.cwiseMax(0.0);
}

}  // namespace

ScheduleOptions DigitsDdpmDefaultSchedule() {
  return ScheduleOptions{};  // the defaults are DDPM's: linear 1e-4 .. 0.02, T = 1000
}

TrainOptions DigitsDdpmDefaultTraining() {
  return ShippedTrainingRecipe(/*iterations=*/24000, /*batch_size=*/128, /*report_every=*/200);
}

NetworkSpec PixelMlpSpec(int pixel_inputs, int embedding_size, double embedding_scale, int hidden_size,
                         int hidden_layers, int outputs) {
  NetworkSpec spec;
  spec.layers.push_back(LayerSpec::Embed({EmbedGroup{.columns = pixel_inputs, .size = 0, .scale = 1.0},
                                          EmbedGroup{.columns = 1, .size = embedding_size, .scale = embedding_scale}}));
  spec.layers.push_back(LayerSpec::Linear(pixel_inputs + embedding_size, hidden_size));
  spec.layers.push_back(LayerSpec::Silu(hidden_size));
  for (int l = 0; l < hidden_layers; ++l) spec.layers.push_back(LayerSpec::Residual(hidden_size, LayerKind::kSilu));
  spec.layers.push_back(LayerSpec::Linear(hidden_size, outputs));
  return spec;
}

std::string DigitsDdpmOptions::Check() const {
  return CheckMlpOptions(embedding_size, hidden_size, 8192, hidden_layers, schedule);
}

NetworkSpec DigitsDdpmOptions::network() const {
  return PixelMlpSpec(kDigitPixels, embedding_size, 1.0, hidden_size, hidden_layers, kDigitPixels);
}

DigitsDdpmModel::DigitsDdpmModel(const DigitsDdpmOptions& options)
    : LearnedModel(Checked(options).network(), options.schedule), predict_x0_(options.predict_x0) {}

DigitsDdpmModel::DigitsDdpmModel(ModelFile file) : LearnedModel(file, kDigitsDdpmModelType, "a digits DDPM model") {
  Require(network_.input_dim() == kDigitPixels + 1 && network_.output_dim() == kDigitPixels,
          "the model file's network maps " + std::to_string(network_.input_dim()) + " inputs to " +
              std::to_string(network_.output_dim()) + " outputs; a digits DDPM network maps 400 pixels and t to 400");
  auto target = file.settings.find("predict_x0");
  Require(target != file.settings.end() && (target->second == 0.0 || target->second == 1.0),
          "the digits DDPM model file must say what its network predicts (setting predict_x0 = 0 or 1)");
  predict_x0_ = target->second == 1.0;
}

ModelFile DigitsDdpmModel::ToModelFile(bool with_training_state) const {
  ModelFile file = BaseModelFile(kDigitsDdpmModelType, with_training_state);
  file.settings["side"] = kDigitSide;
  file.settings["predict_x0"] = predict_x0_ ? 1.0 : 0.0;
  return file;
}

void DigitsDdpmModel::RunNetwork(const Batch& x_t, double t_index, Batch* out) {
  Require(x_t.cols() == kDigitPixels,
          "DDPM digits: x_t has " + std::to_string(x_t.cols()) + " columns; the model takes 20x20 images (400 pixels)");
  input_.resize(x_t.rows(), kDigitPixels + 1);
  input_.leftCols(kDigitPixels) = x_t;
  input_.col(kDigitPixels).setConstant(static_cast<float>(t_index));
  ApplyNetwork(input_, out);
}

Prediction DigitsDdpmModel::Predict(const Batch& x_t, const DenoiseQuery& query) {
  Prediction prediction;
  prediction.kind = prediction_kind();
  RunNetwork(x_t, TimestepIndex(query), &prediction.value);
  return prediction;
}

TrainReport TrainDigitsDdpm(DigitsDdpmModel& model, const Batch& images, const TrainOptions& options,
                            const TrainProgressFn& progress, const StopFn& stop,
                            const std::filesystem::path& checkpoint_path) {
  CheckTrainingInput(options, images, kDigitPixels, /*images=*/true,
                     "the digits DDPM trains on 20x20 images (400 pixels)");

  const NoiseSchedule& schedule = model.schedule_;
  const int T = schedule.num_steps();
  std::vector<float> sqrt_ab, sqrt_one_minus_ab;  // index i = t - 1
  ForwardCoefficients(schedule, &sqrt_ab, &sqrt_one_minus_ab);
  const int B = options.batch_size, D = kDigitPixels;
  const auto N = static_cast<uint64_t>(images.rows());
  Network<float>::Matrix input(B, D + 1), dy(B, D);
  Batch eps(B, D), target(B, D);
  Network<float>::Workspace ws;
  const bool predict_x0 = model.predict_x0_;
  constexpr uint64_t kNoiseOffset = 1ULL << 32;  // noise from draw 2^32 on; indices and t from the start

  auto loss_gradient = [&](long long iteration, Network<float>& n) {
    const RandomKey key{.seed = options.seed, .stream = Stream::kTraining, .index = static_cast<uint64_t>(iteration)};
    RandomStream draws(key);
    FillNormal(key, kNoiseOffset, std::span<float>(eps.data(), eps.size()));
    for (int b = 0; b < B; ++b) {
      const auto row = static_cast<Eigen::Index>(draws.Below(N));
      const int i = static_cast<int>(draws.Below(static_cast<uint64_t>(T)));
      input.row(b).head(D) = sqrt_ab[i] * images.row(row) + sqrt_one_minus_ab[i] * eps.row(b);
      input(b, D) = static_cast<float>(i);
      if (predict_x0) target.row(b) = images.row(row);
      else target.row(b) = eps.row(b);
    }
    const double loss = MseLossGradient(n.Forward(input, ws), target, &dy);
    n.Backward(input, dy, ws);
    return loss;
  };

  return model.TrainNetwork(options, loss_gradient, progress, stop, checkpoint_path);
}

DigitsSampleQuality EvaluateDigitsSamples(const Batch& samples, const DigitsSplit& split, double copy_distance) {
  Require(samples.cols() == kDigitPixels,
          "digit samples must have 400 columns (20x20), got " + std::to_string(samples.cols()));
  Require(samples.rows() >= 1 && samples.allFinite(), "the digit samples are empty or hold NaN / infinity");
  Require(split.train.rows() >= 10 && split.test.rows() >= 1 && split.train.cols() == kDigitPixels &&
              split.test.cols() == kDigitPixels &&
              static_cast<Eigen::Index>(split.train_labels.size()) == split.train.rows(),
          "the digits split is incomplete");
  DigitsSampleQuality q;
  q.samples = static_cast<int>(samples.rows());
  q.min_value = samples.minCoeff();
  q.max_value = samples.maxCoeff();

  // The k nearest training digits of each row of d (n x train), nearest first (ties to the lower index).
  constexpr int kVotes = 10, kAgree = 7;
  std::vector<int> order(split.train.rows());
  auto nearest = [&](const Eigen::MatrixXd& d, Eigen::Index r) {
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + kVotes, order.end(),
                      [&](int a, int b) { return d(r, a) < d(r, b) || (d(r, a) == d(r, b) && a < b); });
  };
  // The label that at least kAgree of the kVotes nearest share, or -1.
  auto recognised_label = [&]() {
    std::array<int, kDigitClasses> votes{};
    for (int k = 0; k < kVotes; ++k) ++votes[split.train_labels[order[k]]];
    for (int c = 0; c < kDigitClasses; ++c)
      if (votes[c] >= kAgree) return c;
    return -1;
  };

  const Eigen::MatrixXd ds = SquaredDistances(samples, split.train);
  double sum = 0.0, minimum = std::numeric_limits<double>::infinity();
  for (Eigen::Index r = 0; r < ds.rows(); ++r) {
    nearest(ds, r);
    const double closest = std::sqrt(ds(r, order[0]));
    sum += closest;
    minimum = std::min(minimum, closest);
    if (closest < copy_distance) ++q.copies;
    std::array<int, kDigitClasses> votes{};
    for (int k = 0; k < 5; ++k) ++votes[split.train_labels[order[k]]];
    int label = split.train_labels[order[0]];  // ties go to the nearest image's class
    for (int c = 0; c < kDigitClasses; ++c)
      if (votes[c] > votes[label]) label = c;
    ++q.class_counts[label];
    if (const int c = recognised_label(); c >= 0) {
      ++q.recognised;
      ++q.recognised_counts[c];
    }
  }
  q.nearest_train_mean = sum / static_cast<double>(ds.rows());
  q.nearest_train_min = minimum;
  for (int c = 0; c < kDigitClasses; ++c) q.classes_present += q.class_counts[c] > 0;

  const Eigen::MatrixXd dt = SquaredDistances(split.test, split.train);
  const Eigen::VectorXd nearest_test = dt.rowwise().minCoeff().cwiseSqrt();
  q.test_nearest_train_mean = nearest_test.mean();
  q.test_nearest_train_min = nearest_test.minCoeff();
  int test_recognised = 0;
  for (Eigen::Index r = 0; r < dt.rows(); ++r) {
    nearest(dt, r);
    test_recognised += recognised_label() >= 0;
  }
  q.test_recognised_fraction = test_recognised / static_cast<double>(dt.rows());
  return q;
}

}  // namespace diffuscope

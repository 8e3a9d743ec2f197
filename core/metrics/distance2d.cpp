#include "core/metrics/distance2d.h"

#include "core/random/random.h"

#include <Eigen/Eigenvalues>
#include <opencv2/core.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <span>

namespace diffuscope {
namespace {

// A point set stored one coordinate after another (structure of arrays), so that the distances from one
// point to a run of points vectorise along the run.
struct Columns {
  std::vector<float> values;  // values[k * rows + i] = coordinate k of point i
  Eigen::Index rows = 0, dims = 0;
  const float* column(Eigen::Index k) const { return values.data() + k * rows; }
};

Columns ToColumns(const Batch& points) {
  Columns c;
  c.rows = points.rows();
  c.dims = points.cols();
  c.values.resize(static_cast<size_t>(c.rows * c.dims));
  Eigen::Map<Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>>(c.values.data(), c.rows, c.dims) =
      points;
  return c;
}

constexpr Eigen::Index kRowBlock = 32;    // rows of a per task
constexpr Eigen::Index kColumnRun = 512;  // points of b whose squared distances are formed at once
constexpr double kPairsPerStopCheck = 4e6;

// Sum over pairs of kernel(squared distance): all (i, j) when a and b differ; i < j when within (a is b).
// kernel maps an Eigen float array of squared distances to an array expression. The sum is split into
// fixed row blocks whose partial sums are added in block order, so it is the same on any thread count.
template <class Kernel>
double PairSum(const Columns& a, const Columns& b, bool within, const Kernel& kernel, const StopFn& stop) {
  const Eigen::Index blocks = (a.rows + kRowBlock - 1) / kRowBlock;
  std::vector<double> partial(static_cast<size_t>(blocks), 0.0);
  auto run_block = [&](Eigen::Index block) {
    alignas(64) float buffer[kColumnRun];
    const Eigen::Index row_begin = block * kRowBlock, row_end = std::min(a.rows, row_begin + kRowBlock);
    double sum = 0.0;
    const Eigen::Index run_start = within ? row_begin + 1 : 0;
    for (Eigen::Index j0 = run_start; j0 < b.rows; j0 += kColumnRun) {
      const Eigen::Index j1 = std::min(b.rows, j0 + kColumnRun);
      for (Eigen::Index i = row_begin; i < row_end; ++i) {
        const Eigen::Index begin = within ? std::max(j0, i + 1) : j0;
        if (begin >= j1) continue;
        const Eigen::Index length = j1 - begin;
        Eigen::Map<Eigen::ArrayXf> squared(buffer, length);
        squared = (Eigen::Map<const Eigen::ArrayXf>(b.column(0) + begin, length) - a.column(0)[i]).square();
        for (Eigen::Index k = 1; k < a.dims; ++k)
          squared += (Eigen::Map<const Eigen::ArrayXf>(b.column(k) + begin, length) - a.column(k)[i]).square();
        sum += static_cast<double>(kernel(squared).sum());
      }
    }
    partial[static_cast<size_t>(block)] = sum;
  };
  // Groups of blocks between stop checks.
  const double pairs_per_block = static_cast<double>(kRowBlock) * static_cast<double>(b.rows) * (within ? 0.5 : 1.0);
  const Eigen::Index group =
      std::max<Eigen::Index>(1, static_cast<Eigen::Index>(kPairsPerStopCheck / std::max(1.0, pairs_per_block)));
  for (Eigen::Index first = 0; first < blocks; first += group) {
    if (stop && stop()) throw Cancelled();
    const Eigen::Index last = std::min(blocks, first + group);
    cv::parallel_for_(cv::Range(static_cast<int>(first), static_cast<int>(last)), [&](const cv::Range& range) {
      for (int block = range.start; block < range.end; ++block) run_block(block);
    });
  }
  double total = 0.0;
  for (double value : partial) total += value;
  return total;
}

void CheckSets(const Batch& x, const Batch& y, const char* what) {
  Require(x.rows() >= 2 && y.rows() >= 2, std::string(what) + " needs at least 2 points in each set, got " +
                                              std::to_string(x.rows()) + " and " + std::to_string(y.rows()));
  Require(x.cols() >= 1 && x.cols() == y.cols(), std::string(what) +
                                                     ": the two sets must have the same dimension, got " +
                                                     std::to_string(x.cols()) + " and " + std::to_string(y.cols()));
  Require(x.allFinite() && y.allFinite(), std::string(what) + ": a point set holds NaN or infinity");
}

struct PairMeans {
  double within_x, within_y, across;
};

template <class Kernel>
PairMeans KernelMeans(const Batch& x, const Batch& y, const Kernel& kernel, const StopFn& stop) {
  const Columns cx = ToColumns(x), cy = ToColumns(y);
  const double n = static_cast<double>(x.rows()), m = static_cast<double>(y.rows());
  PairMeans means;
  means.across = PairSum(cx, cy, false, kernel, stop) / (n * m);
  means.within_x = PairSum(cx, cx, true, kernel, stop) / (n * (n - 1.0) / 2.0);
  means.within_y = PairSum(cy, cy, true, kernel, stop) / (m * (m - 1.0) / 2.0);
  return means;
}

uint64_t Fnv1a(std::string_view text) {
  uint64_t hash = 1469598103934665603ull;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

}  // namespace

std::string_view SampleDistanceName(SampleDistanceKind kind) {
  return kind == SampleDistanceKind::kMmd ? "mmd" : "energy";
}

std::optional<SampleDistanceKind> ParseSampleDistance(std::string_view name) {
  std::string key;
  for (char c : name) key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (key == "energy" || key == "energy-distance" || key == "energy_distance") return SampleDistanceKind::kEnergy;
  if (key == "mmd" || key == "mmd2") return SampleDistanceKind::kMmd;
  return std::nullopt;
}

double EnergyDistance(const Batch& x, const Batch& y, const StopFn& stop) {
  CheckSets(x, y, "the energy distance");
  const PairMeans means = KernelMeans(
      x, y, [](const Eigen::Map<Eigen::ArrayXf>& squared) { return squared.sqrt(); }, stop);
  return 2.0 * means.across - means.within_x - means.within_y;
}

std::string MmdOptions::Check() const {
  if (!std::isfinite(bandwidth) || bandwidth < 0.0)
    return "MMD bandwidth must be a finite distance > 0, or 0 for the median heuristic";
  return {};
}

double MedianHeuristicBandwidth(const Batch& x, const Batch& y) {
  CheckSets(x, y, "the median heuristic");
  const Eigen::Index total = x.rows() + y.rows();
  const Eigen::Index keep = std::min<Eigen::Index>(total, 1000);
  Batch pooled(keep, x.cols());
  for (Eigen::Index k = 0; k < keep; ++k) {
    const Eigen::Index row = k * total / keep;  // evenly spaced over x then y
    pooled.row(k) = row < x.rows() ? x.row(row) : y.row(row - x.rows());
  }
  std::vector<float> distances;
  distances.reserve(static_cast<size_t>(keep * (keep - 1) / 2));
  for (Eigen::Index i = 0; i < keep; ++i)
    for (Eigen::Index j = i + 1; j < keep; ++j) distances.push_back((pooled.row(i) - pooled.row(j)).norm());
  auto middle = distances.begin() + static_cast<std::ptrdiff_t>(distances.size() / 2);
  std::nth_element(distances.begin(), middle, distances.end());
  if (*middle > 0.0f) return *middle;
  double sum = 0.0;
  long long nonzero = 0;
  for (float d : distances)
    if (d > 0.0f) sum += d, ++nonzero;
  return nonzero ? sum / static_cast<double>(nonzero) : 1.0;
}

double Mmd2(const Batch& x, const Batch& y, const MmdOptions& options, const StopFn& stop) {
  Require(options.Check().empty(), options.Check());
  CheckSets(x, y, "the MMD");
  const double bandwidth = options.bandwidth > 0.0 ? options.bandwidth : MedianHeuristicBandwidth(x, y);
  const float gamma = static_cast<float>(-0.5 / (bandwidth * bandwidth));
  const PairMeans means = KernelMeans(
      x, y, [gamma](const Eigen::Map<Eigen::ArrayXf>& squared) { return (squared * gamma).exp(); }, stop);
  return means.within_x + means.within_y - 2.0 * means.across;
}

double SampleDistance(const Batch& x, const Batch& y, SampleDistanceKind kind, const StopFn& stop) {
  return kind == SampleDistanceKind::kMmd ? Mmd2(x, y, {}, stop) : EnergyDistance(x, y, stop);
}

Batch FitGaussian(const Batch& data, int n, uint64_t seed) {
  Require(data.rows() >= 2 && data.cols() >= 1, "fitting a Gaussian needs at least 2 points");
  Require(data.allFinite(), "cannot fit a Gaussian to points that hold NaN or infinity");
  const Eigen::Index d = data.cols();
  Require(n >= 1 && static_cast<double>(n) * static_cast<double>(d) < 2147483647.0,
          "number of Gaussian samples must be >= 1 and n * dimension < 2^31, got n = " + std::to_string(n));
  const Eigen::MatrixXd points = data.cast<double>();
  const Eigen::RowVectorXd mean = points.colwise().mean();
  const Eigen::MatrixXd centred = points.rowwise() - mean;
  const Eigen::MatrixXd covariance = centred.transpose() * centred / static_cast<double>(data.rows() - 1);
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(covariance);
  Require(solver.info() == Eigen::Success, "cannot fit a Gaussian: the covariance is not a valid matrix");
  // A with A A^T = covariance; tiny negative eigenvalues from rounding are clamped to 0.
  const Eigen::MatrixXd factor = solver.eigenvectors() * solver.eigenvalues().cwiseMax(0.0).cwiseSqrt().asDiagonal();
  std::vector<float> z(static_cast<size_t>(n) * static_cast<size_t>(d));
  FillNormal(RandomKey{.seed = seed, .stream = Stream::kData, .index = Fnv1a("fit_gaussian")}, 0, z);
  const Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> normals(z.data(), n, d);
  const Eigen::MatrixXd samples = (normals.cast<double>() * factor.transpose()).rowwise() + mean;
  return samples.cast<float>();
}

}  // namespace diffuscope

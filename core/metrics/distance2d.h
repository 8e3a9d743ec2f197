// Sample quality: distances between the laws of two point sets (any dimension; made for the 2D views).
//
//   double e = diffuscope::EnergyDistance(samples, data);      // unbiased; ~0 when both have one law
//   double m = diffuscope::Mmd2(samples, data);                // Gaussian kernel, median-heuristic bandwidth
//   diffuscope::Batch baseline = diffuscope::FitGaussian(data, 2000, /*seed=*/7);
//   double e0 = diffuscope::EnergyDistance(baseline, data);    // the number a model has to beat
//
// The project's default is the energy distance (Szekely and Rizzo):
//   E(X, Y) = 2 E|X - Y| - E|X - X'| - E|Y - Y'|   (Euclidean norm),
// estimated with U-statistics for the within-set terms, so the estimate is unbiased (it can be slightly
// negative when both sets come from one law). Why it is the default: it has no bandwidth or other
// parameter to choose, it is zero if and only if the two laws are equal, it scales with the data
// (E(aX, aY) = |a| E(X, Y)), so numbers are comparable across runs, models and schedules in the data's
// own units; and it is the MMD of the distance kernel (Sejdinovic et al. 2013), so it keeps the MMD's
// estimator properties. The MMD^2 with a Gaussian kernel is offered as a second opinion; its value depends
// on the bandwidth, which the median heuristic sets from the very sets being compared.
//
// Cost: O(n m d) pair evaluations, vectorised and split over OpenCV's thread pool in fixed blocks (the
// result does not depend on the number of threads); no allocation per pair. 2,000 x 2,000 2D points
// take a few milliseconds.
#pragma once

#include "core/common/types.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace diffuscope {

enum class SampleDistanceKind {
  kEnergy,  // energy distance, unbiased (the default)
  kMmd,     // unbiased MMD^2, Gaussian kernel, median-heuristic bandwidth
};

/// "energy" or "mmd": the command-line / file name of a kind.
std::string_view SampleDistanceName(SampleDistanceKind kind);
/// Parses "energy" / "mmd" (also "energy-distance", "mmd2"); nullopt if unknown.
std::optional<SampleDistanceKind> ParseSampleDistance(std::string_view name);

/// Unbiased energy distance between the laws of the rows of x and of y (units of the data):
/// 2 mean_{i,j} |x_i - y_j| - mean_{i != j} |x_i - x_j| - mean_{i != j} |y_i - y_j|.
/// Needs >= 2 rows in each, equal column counts, finite values (else Error). stop is asked between
/// blocks of about 4 million pairs (throws Cancelled).
double EnergyDistance(const Batch& x, const Batch& y, const StopFn& stop = {});

struct MmdOptions {
  /// Bandwidth h of the kernel k(a, b) = exp(-|a - b|^2 / (2 h^2)), in data units; 0 = median heuristic.
  double bandwidth = 0.0;
  /// Empty when valid, else what is wrong.
  std::string Check() const;
};

/// The median heuristic bandwidth: the median Euclidean distance between distinct points of the pooled
/// set (x above y; more than 1,000 pooled rows are thinned to 1,000 evenly spaced ones). Falls back to
/// the mean nonzero distance, then 1, when the median is 0.
double MedianHeuristicBandwidth(const Batch& x, const Batch& y);

/// Unbiased MMD^2 (Gretton et al. 2012, U-statistic within sets):
/// mean_{i != j} k(x_i, x_j) + mean_{i != j} k(y_i, y_j) - 2 mean_{i,j} k(x_i, y_j), Gaussian kernel.
/// Same input rules and stop behaviour as EnergyDistance.
double Mmd2(const Batch& x, const Batch& y, const MmdOptions& options = {}, const StopFn& stop = {});

/// EnergyDistance or Mmd2 (default options) as kind says.
double SampleDistance(const Batch& x, const Batch& y, SampleDistanceKind kind = SampleDistanceKind::kEnergy,
                      const StopFn& stop = {});

/// n samples of N(mean, covariance) of data's rows (unbiased covariance; d = data.cols()), drawn as
/// mean + V sqrt(Lambda) z with the covariance's eigen-decomposition (works when it is singular), z from
/// (seed, Stream::kData, a fixed index). Needs >= 2 finite rows and 1 <= n, n * d < 2^31 (else Error).
/// Meant for low dimensions (the eigen-decomposition is O(d^3)).
Batch FitGaussian(const Batch& data, int n, uint64_t seed);

}  // namespace diffuscope

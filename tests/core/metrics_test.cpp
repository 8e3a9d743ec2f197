// Tests of core/metrics/distance2d: energy distance, MMD^2, the median heuristic, the Gaussian baseline.
#include "core/metrics/distance2d.h"

#include "core/random/random.h"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iostream>
#include <numbers>
#include <vector>

namespace diffuscope {
namespace {

// n x d standard normals from (seed, kUser, index), shifted by mean_x along the first axis.
Batch Normals(int n, int d, uint64_t seed, uint64_t index, double mean_x = 0.0) {
  Batch x(n, d);
  FillNormal(RandomKey{.seed = seed, .stream = Stream::kUser, .index = index}, 0,
             std::span<float>(x.data(), static_cast<size_t>(x.size())));
  x.col(0).array() += static_cast<float>(mean_x);
  return x;
}

// The definitions, pair by pair, in double: the reference the fast code must equal.
double NaiveEnergy(const Batch& x, const Batch& y) {
  const Eigen::MatrixXd a = x.cast<double>(), b = y.cast<double>();
  double across = 0, within_x = 0, within_y = 0;
  for (int i = 0; i < a.rows(); ++i)
    for (int j = 0; j < b.rows(); ++j) across += (a.row(i) - b.row(j)).norm();
  for (int i = 0; i < a.rows(); ++i)
    for (int j = 0; j < a.rows(); ++j)
      if (i != j) within_x += (a.row(i) - a.row(j)).norm();
  for (int i = 0; i < b.rows(); ++i)
    for (int j = 0; j < b.rows(); ++j)
      if (i != j) within_y += (b.row(i) - b.row(j)).norm();
  const double n = a.rows(), m = b.rows();
  return 2 * across / (n * m) - within_x / (n * (n - 1)) - within_y / (m * (m - 1));
}

double NaiveMmd2(const Batch& x, const Batch& y, double h) {
  const Eigen::MatrixXd a = x.cast<double>(), b = y.cast<double>();
  auto k = [h](const Eigen::RowVectorXd& u, const Eigen::RowVectorXd& v) {
    return std::exp(-(u - v).squaredNorm() / (2 * h * h));
  };
  double across = 0, within_x = 0, within_y = 0;
  for (int i = 0; i < a.rows(); ++i)
    for (int j = 0; j < b.rows(); ++j) across += k(a.row(i), b.row(j));
  for (int i = 0; i < a.rows(); ++i)
    for (int j = 0; j < a.rows(); ++j)
      if (i != j) within_x += k(a.row(i), a.row(j));
  for (int i = 0; i < b.rows(); ++i)
    for (int j = 0; j < b.rows(); ++j)
      if (i != j) within_y += k(b.row(i), b.row(j));
  const double n = a.rows(), m = b.rows();
  return within_x / (n * (n - 1)) + within_y / (m * (m - 1)) - 2 * across / (n * m);
}

struct MeanAndError {
  double mean, standard_error;
};

template <class F>
MeanAndError OverRepeats(int repeats, F f) {
  std::vector<double> values;
  for (int r = 0; r < repeats; ++r) values.push_back(f(r));
  double mean = 0;
  for (double v : values) mean += v;
  mean /= repeats;
  double variance = 0;
  for (double v : values) variance += (v - mean) * (v - mean);
  variance /= repeats - 1;
  return {mean, std::sqrt(variance / repeats)};
}

// E|Z| for Z ~ N(m, s^2) in 1D (folded normal).
double FoldedNormalMean(double m, double s) {
  return s * std::sqrt(2 / std::numbers::pi) * std::exp(-m * m / (2 * s * s)) + m * std::erf(m / (s * std::sqrt(2.0)));
}

// E|Z| for Z ~ N(m e_1, s^2 I_2) (Rice mean): s sqrt(pi/2) L_{1/2}(-m^2 / (2 s^2)),
// L_{1/2}(q) = e^{q/2} ((1 - q) I0(-q/2) - q I1(-q/2)).
double RiceMean(double m, double s) {
  const double q = -m * m / (2 * s * s);
  const double laguerre =
      std::exp(q / 2) * ((1 - q) * std::cyl_bessel_i(0.0, -q / 2) - q * std::cyl_bessel_i(1.0, -q / 2));
  return s * std::sqrt(std::numbers::pi / 2) * laguerre;
}

TEST(EnergyDistance, EqualsTheDefinitionPairByPair) {
  // Sizes that cross the 32-row blocks and the 512-point runs; dimensions 1, 2 and 5.
  for (int d : {1, 2, 5}) {
    SCOPED_TRACE(d);
    const Batch x = Normals(700, d, 1, 1), y = Normals(45, d, 1, 2, 0.7);
    const double fast = EnergyDistance(x, y), naive = NaiveEnergy(x, y);
    // The three terms are ~1..3; float distances summed in float runs of <= 512 keep ~1e-6 relative.
    EXPECT_NEAR(fast, naive, 2e-5) << naive;
  }
}

TEST(EnergyDistance, SymmetricAndScaleEquivariant) {
  const Batch x = Normals(300, 2, 3, 1), y = Normals(500, 2, 3, 2, 0.4);
  const double xy = EnergyDistance(x, y), yx = EnergyDistance(y, x);
  EXPECT_NEAR(xy, yx, 1e-6 * std::abs(xy) + 1e-7);
  // E(aX, aY) = a E(X, Y); a = 4 is exact in float.
  EXPECT_NEAR(EnergyDistance(Batch(4 * x), Batch(4 * y)), 4 * xy, 1e-5);
  // A set against itself: the cross term counts the n zero pairs i = j that the within terms leave out,
  // so E(x, x) = 2 (n - 1)/n W - 2 W = -2 W / n with W = mean_{i != j} |x_i - x_j|.
  double w = 0;
  for (int i = 0; i < x.rows(); ++i)
    for (int j = 0; j < x.rows(); ++j) w += (x.row(i) - x.row(j)).cast<double>().norm();
  w /= x.rows() * (x.rows() - 1.0);
  EXPECT_NEAR(EnergyDistance(x, x), -2 * w / x.rows(), 1e-6);
}

TEST(EnergyDistance, SameLawGivesZeroInExpectation) {
  // Unbiased: the mean over repeats is 0 within 4 standard errors. The V-statistic (biased) version would
  // be higher by within_x / n + within_y / m = 2 E|X - X'| / n = 2 sqrt(pi) / 500 = 0.0071 in 2D; the test
  // only counts if the standard error is far below that.
  // (One estimate's standard deviation is about 3 / n, so 200 repeats are needed for that.)
  const int n = 500;
  const auto stats =
      OverRepeats(200, [&](int r) { return EnergyDistance(Normals(n, 2, 100 + r, 1), Normals(n, 2, 100 + r, 2)); });
  EXPECT_LT(std::abs(stats.mean), 4 * stats.standard_error) << stats.mean << " +- " << stats.standard_error;
  EXPECT_LT(4 * stats.standard_error, 2 * std::sqrt(std::numbers::pi) / n);
}

TEST(EnergyDistance, MatchesTheClosedFormForShiftedGaussians) {
  // X ~ N(0, I), Y ~ N(mu e_1, I): X - Y ~ N(-mu e_1, 2 I), X - X' ~ N(0, 2 I), so
  // E = 2 E|N(mu, 2 I)| - 2 E|N(0, 2 I)|.
  const double s = std::sqrt(2.0);
  for (double mu : {0.5, 1.5}) {
    const double exact_1d = 2 * FoldedNormalMean(mu, s) - 2 * FoldedNormalMean(0, s);
    const double exact_2d = 2 * RiceMean(mu, s) - 2 * RiceMean(0, s);
    for (int d : {1, 2}) {
      SCOPED_TRACE(::testing::Message() << "mu " << mu << " d " << d);
      const double exact = d == 1 ? exact_1d : exact_2d;
      const auto stats = OverRepeats(
          100, [&](int r) { return EnergyDistance(Normals(2000, d, 200 + r, 1), Normals(1500, d, 200 + r, 2, mu)); });
      EXPECT_LT(std::abs(stats.mean - exact), 4 * stats.standard_error)
          << stats.mean << " +- " << stats.standard_error << " vs " << exact;
      EXPECT_LT(stats.standard_error, 0.02 * exact);  // the comparison has teeth (4 SE < 8% of the value)
    }
  }
  // The closed forms themselves: E|N(0, 2)| = 2 / sqrt(pi) in 1D, sqrt(pi) in 2D (Rayleigh).
  EXPECT_NEAR(FoldedNormalMean(0, s), 2 / std::sqrt(std::numbers::pi), 1e-12);
  EXPECT_NEAR(RiceMean(0, s), std::sqrt(std::numbers::pi), 1e-12);
}

TEST(EnergyDistance, SameBitsOnAnyThreadCount) {
  const Batch x = Normals(3000, 2, 5, 1), y = Normals(2500, 2, 5, 2, 0.1);
  const int threads = cv::getNumThreads();
  cv::setNumThreads(1);
  const double one = EnergyDistance(x, y), mmd_one = Mmd2(x, y);
  cv::setNumThreads(4);
  const double four = EnergyDistance(x, y), mmd_four = Mmd2(x, y);
  cv::setNumThreads(threads);
  EXPECT_EQ(std::memcmp(&one, &four, sizeof one), 0);
  EXPECT_EQ(std::memcmp(&mmd_one, &mmd_four, sizeof one), 0);
}

TEST(EnergyDistance, BadInputAndStop) {
  const Batch x = Normals(10, 2, 1, 1);
  EXPECT_THROW(EnergyDistance(x, Batch(x.topRows(1))), Error);
  EXPECT_THROW(EnergyDistance(x, Normals(10, 3, 1, 2)), Error);
  Batch bad = x;
  bad(3, 1) = std::nanf("");
  EXPECT_THROW(EnergyDistance(x, bad), Error);
  EXPECT_THROW(Mmd2(bad, x), Error);
  EXPECT_THROW(EnergyDistance(x, x, [] { return true; }), Cancelled);
  int asked = 0;
  EnergyDistance(x, x, [&] { return ++asked < 0; });
  EXPECT_GT(asked, 0);
}

TEST(EnergyDistance, TwoThousandPointsAreFast) {
  const Batch x = Normals(2000, 2, 9, 1), y = Normals(2000, 2, 9, 2, 0.2);
  EnergyDistance(x, y);  // warm the thread pool
  const int repeats = 20;
  const auto start = std::chrono::steady_clock::now();
  double sink = 0;
  for (int r = 0; r < repeats; ++r) sink += EnergyDistance(x, y);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / repeats;
  const auto mmd_start = std::chrono::steady_clock::now();
  for (int r = 0; r < repeats; ++r) sink += Mmd2(x, y);
  const double mmd_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - mmd_start).count() / repeats;
  std::cout << "energy distance 2000 x 2000 2D: " << ms << " ms; MMD^2: " << mmd_ms << " ms (" << cv::getNumThreads()
            << " threads)\n";
  EXPECT_TRUE(std::isfinite(sink));
  // A generous ceiling (shared 2-core machines): about 100x the expected time of a few ms.
  EXPECT_LT(ms, 300.0);
}

TEST(Mmd, EqualsTheDefinitionPairByPair) {
  for (int d : {1, 2, 4}) {
    SCOPED_TRACE(d);
    const Batch x = Normals(600, d, 7, 1), y = Normals(70, d, 7, 2, 0.5);
    MmdOptions options;
    options.bandwidth = 0.8;
    EXPECT_NEAR(Mmd2(x, y, options), NaiveMmd2(x, y, 0.8), 2e-6);
    // Default options use the median heuristic.
    EXPECT_NEAR(Mmd2(x, y), NaiveMmd2(x, y, MedianHeuristicBandwidth(x, y)), 2e-6);
  }
}

TEST(Mmd, MedianHeuristicIsTheMedianDistance) {
  const Batch x = Normals(40, 2, 3, 1), y = Normals(25, 2, 3, 2, 1.0);
  Batch pooled(65, 2);
  pooled << x, y;
  std::vector<double> distances;
  for (int i = 0; i < 65; ++i)
    for (int j = i + 1; j < 65; ++j) distances.push_back((pooled.row(i) - pooled.row(j)).cast<double>().norm());
  std::sort(distances.begin(), distances.end());
  EXPECT_NEAR(MedianHeuristicBandwidth(x, y), distances[distances.size() / 2], 1e-6);
  // For N(0, I_2) the distance X - X' is Rayleigh with sigma sqrt 2: median 2 sqrt(ln 2) = 1.665.
  // One estimate (1,000 pooled points) has a standard error of about 0.03; the mean of 10 about 0.01.
  const auto median = OverRepeats(
      10, [](int r) { return MedianHeuristicBandwidth(Normals(3000, 2, 4 + r, 1), Normals(3000, 2, 4 + r, 2)); });
  EXPECT_NEAR(median.mean, 2 * std::sqrt(std::log(2.0)), 4 * median.standard_error);
  EXPECT_LT(median.standard_error, 0.02);
  // Identical points: no spread, bandwidth 1.
  EXPECT_EQ(MedianHeuristicBandwidth(Batch::Ones(5, 2), Batch::Ones(4, 2)), 1.0);
}

TEST(Mmd, UnbiasedForIdenticalLaws) {
  // Fixed bandwidth 1 in 2D: E k(X, X') = (1 + 2 / h^2)^(-d/2) = 1/3. The biased (V-statistic) estimate
  // would be higher by (1 - 1/3)(1/n + 1/m) = 0.00267 at n = m = 500: the test requires a standard
  // error far below that.
  const int n = 500;
  MmdOptions options;
  options.bandwidth = 1.0;
  const auto stats =
      OverRepeats(40, [&](int r) { return Mmd2(Normals(n, 2, 300 + r, 1), Normals(n, 2, 300 + r, 2), options); });
  EXPECT_LT(std::abs(stats.mean), 4 * stats.standard_error) << stats.mean << " +- " << stats.standard_error;
  EXPECT_LT(4 * stats.standard_error, (2.0 / 3.0) * (2.0 / n));
  // Different laws: clearly positive.
  const auto shifted =
      OverRepeats(10, [&](int r) { return Mmd2(Normals(n, 2, 400 + r, 1), Normals(n, 2, 400 + r, 2, 1.0)); });
  EXPECT_GT(shifted.mean, 10 * shifted.standard_error);
  EXPECT_FALSE(MmdOptions{.bandwidth = -1}.Check().empty());
  EXPECT_THROW(Mmd2(Normals(5, 2, 1, 1), Normals(5, 2, 1, 2), MmdOptions{.bandwidth = std::nan("")}), Error);
}

TEST(SampleDistanceKind, NamesAndDispatch) {
  EXPECT_EQ(ParseSampleDistance("energy"), SampleDistanceKind::kEnergy);
  EXPECT_EQ(ParseSampleDistance("MMD"), SampleDistanceKind::kMmd);
  EXPECT_EQ(ParseSampleDistance("kl"), std::nullopt);
  for (auto kind : {SampleDistanceKind::kEnergy, SampleDistanceKind::kMmd})
    EXPECT_EQ(ParseSampleDistance(SampleDistanceName(kind)), kind);
  const Batch x = Normals(50, 2, 1, 1), y = Normals(60, 2, 1, 2);
  EXPECT_EQ(SampleDistance(x, y), EnergyDistance(x, y));
  EXPECT_EQ(SampleDistance(x, y, SampleDistanceKind::kMmd), Mmd2(x, y));
}

TEST(FitGaussian, MatchesMeanAndCovariance) {
  // Data: a correlated Gaussian-ish cloud, mean (1, -2).
  Batch data = Normals(5000, 2, 8, 1);
  data.col(1) = 0.8f * data.col(0) + 0.6f * data.col(1);
  data.col(0).array() += 1.0f;
  data.col(1).array() -= 2.0f;
  const Batch a = FitGaussian(data, 20000, 3);
  const Batch b = FitGaussian(data, 20000, 3);
  ASSERT_EQ(a.rows(), 20000);
  ASSERT_EQ(a.cols(), 2);
  EXPECT_EQ(std::memcmp(a.data(), b.data(), sizeof(float) * a.size()), 0);
  EXPECT_NE(FitGaussian(data, 20000, 4), a);
  auto moments = [](const Batch& x) {
    const Eigen::MatrixXd p = x.cast<double>();
    const Eigen::RowVectorXd mean = p.colwise().mean();
    const Eigen::MatrixXd c = p.rowwise() - mean;
    return std::pair{mean, Eigen::MatrixXd(c.transpose() * c / (p.rows() - 1))};
  };
  const auto [data_mean, data_cov] = moments(data);
  const auto [mean, cov] = moments(a);
  // Sample of 20000 from unit-scale laws: SE of a mean ~0.007, of a covariance entry ~0.01.
  EXPECT_LT((mean - data_mean).cwiseAbs().maxCoeff(), 0.035);
  EXPECT_LT((cov - data_cov).cwiseAbs().maxCoeff(), 0.05);
  // A Gaussian fitted to Gaussian data is close in energy distance; fitted to a ring it is not.
  const double close = EnergyDistance(Batch(a.topRows(2000)), Batch(data.topRows(2000)));
  Batch ring(2000, 2);
  for (int i = 0; i < 2000; ++i) {
    const double angle = 2 * std::numbers::pi * i / 2000.0;
    ring.row(i) << static_cast<float>(1.5 * std::cos(angle)), static_cast<float>(1.5 * std::sin(angle));
  }
  const double far = EnergyDistance(FitGaussian(ring, 2000, 5), ring);
  std::cout << "energy distance of the Gaussian fit: Gaussian data " << close << ", ring " << far << "\n";
  EXPECT_LT(std::abs(close), 0.01);
  EXPECT_GT(far, 0.05);
}

TEST(FitGaussian, SingularCovarianceAndBadInput) {
  // Points on the line y = 2x: the fit stays on it.
  Batch line(100, 2);
  for (int i = 0; i < 100; ++i) line.row(i) << static_cast<float>(i) / 50, static_cast<float>(i) / 25;
  const Batch fit = FitGaussian(line, 1000, 1);
  EXPECT_LT((fit.col(1) - 2 * fit.col(0)).cwiseAbs().maxCoeff(), 1e-4f);
  EXPECT_THROW(FitGaussian(Batch(line.topRows(1)), 10, 1), Error);
  EXPECT_THROW(FitGaussian(line, 0, 1), Error);
  Batch bad = line;
  bad(0, 0) = std::nanf("");
  EXPECT_THROW(FitGaussian(bad, 10, 1), Error);
}

}  // namespace
}  // namespace diffuscope

// Tests of core/data/points2d: generators, the Datasaurus sets, CSV files, image silhouettes.
#include "core/data/points2d.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <set>
#include <string>

namespace diffuscope {
namespace {

namespace fs = std::filesystem;

Dataset2DOptions TestOptions() {
  Dataset2DOptions options;
  options.resources_dir = DIFFUSCOPE_RESOURCES;
  return options;
}

bool SameBytes(const Batch& a, const Batch& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<size_t>(a.size())) == 0;
}

// A fresh folder per test under the system temp folder, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("diffuscope_points2d_" + std::string(info->name()) + "_" + std::to_string(std::rand()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  fs::path File(const std::string& name) const { return path_ / name; }
  fs::path Write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
    return path_ / name;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// The message of the Error that f throws ("" if it throws none).
template <class F>
std::string ErrorOf(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Points2D, NamesAndSpellings) {
  const auto names = DatasetNames();
  ASSERT_EQ(names.size(), 20u);
  EXPECT_EQ(DatasaurusNames().size(), 13u);
  for (const auto& name : names) {
    EXPECT_EQ(CanonicalDatasetName(name), name);
    EXPECT_FALSE(DatasetDescription(name).empty()) << name;
  }
  EXPECT_EQ(CanonicalDatasetName("Swiss-Roll"), "swiss_roll");
  EXPECT_EQ(CanonicalDatasetName("8_Gaussians"), "8gaussians");
  EXPECT_EQ(CanonicalDatasetName("H-Lines"), "h_lines");
  EXPECT_EQ(CanonicalDatasetName("highlines"), "high_lines");
  EXPECT_EQ(CanonicalDatasetName("circle"), "circle");
  EXPECT_EQ(CanonicalDatasetName("circles"), "circles");
  EXPECT_EQ(CanonicalDatasetName("moon"), "");
  EXPECT_EQ(CanonicalDatasetName(""), "");
  EXPECT_TRUE(DatasetDescription("nope").empty());
}

TEST(Points2D, DeterministicBySeedAndPrefixStable) {
  const auto options = TestOptions();
  for (const auto& name : DatasetNames()) {
    SCOPED_TRACE(name);
    const Batch a = GenerateDataset(name, 500, 7, options);
    const Batch b = GenerateDataset(name, 500, 7, options);
    const Batch c = GenerateDataset(name, 500, 8, options);
    const Batch prefix = GenerateDataset(name, 120, 7, options);
    ASSERT_EQ(a.rows(), 500);
    ASSERT_EQ(a.cols(), 2);
    EXPECT_TRUE(a.allFinite());
    EXPECT_TRUE(SameBytes(a, b));
    EXPECT_FALSE(SameBytes(a, c));
    // Most rows differ between seeds (a few may coincide for the discrete Datasaurus draws only with jitter 0).
    EXPECT_GT(((a - c).rowwise().norm().array() > 0).count(), 490);
    EXPECT_TRUE(SameBytes(prefix, Batch(a.topRows(120))));
  }
  // Different sets drawn with one seed do not share their draws.
  EXPECT_FALSE(SameBytes(MakeCircles(100, 1, 0), MakeEightGaussians(100, 1, 0)));
}

TEST(Points2D, UnitScaleMoments) {
  // Every set is built to have mean 0 and a per-coordinate variance of 1 (+ noise^2 for the generators).
  // n = 40000: the standard error of a mean coordinate is <= ~0.006, of the mean variance <= ~0.01.
  const auto options = TestOptions();
  const int n = 40000;
  for (const auto& name : DatasetNames()) {
    SCOPED_TRACE(name);
    const Batch x = GenerateDataset(name, n, 3, options);
    const Eigen::RowVector2d mean = x.cast<double>().colwise().mean();
    const Eigen::MatrixXd centred = x.cast<double>().rowwise() - mean;
    const Eigen::RowVector2d variance = centred.array().square().colwise().mean();
    const double se_x = std::sqrt(variance(0) / n), se_y = std::sqrt(variance(1) / n);
    EXPECT_LT(std::abs(mean(0)), 5 * se_x);
    EXPECT_LT(std::abs(mean(1)), 5 * se_y);
    const auto datasaurus_names = DatasaurusNames();
    const bool datasaurus = std::find(datasaurus_names.begin(), datasaurus_names.end(), name) != datasaurus_names.end();
    double noise = 0;
    if (name == "moons" || name == "swiss_roll" || name == "spiral") noise = 0.05;
    if (name == "circles") noise = 0.03;
    if (name == "8gaussians") noise = 0.1;
    if (name == "line") noise = 0.02;
    const double expected = datasaurus ? 1.0 : 1.0 + noise * noise;  // Datasaurus jitter^2 ~ 4.5e-5
    EXPECT_NEAR(0.5 * (variance(0) + variance(1)), expected, 0.05);
  }
}

TEST(Points2D, EightGaussiansModesAndWeights) {
  const int n = 16000;
  const Batch x = MakeEightGaussians(n, 11, 0.1);
  int counts[8] = {};
  double squared_residual = 0;
  for (int i = 0; i < n; ++i) {
    const double angle = std::atan2(x(i, 1), x(i, 0));
    const int k = static_cast<int>(std::lround(angle / (std::numbers::pi / 4))) & 7;
    const double cx = std::sqrt(2.0) * std::cos(k * std::numbers::pi / 4),
                 cy = std::sqrt(2.0) * std::sin(k * std::numbers::pi / 4);
    squared_residual += (x(i, 0) - cx) * (x(i, 0) - cx) + (x(i, 1) - cy) * (x(i, 1) - cy);
    ++counts[k];
  }
  // Each mode holds n/8 points: binomial standard deviation sqrt(n p (1-p)) = 41.8.
  for (int count : counts) EXPECT_NEAR(count, n / 8.0, 5 * 41.8);
  // Residual variance per coordinate is noise^2 = 0.01 (chi-square, relative SE ~ 0.8%).
  EXPECT_NEAR(squared_residual / (2.0 * n), 0.01, 0.001);
  const Eigen::RowVector2d mean = x.cast<double>().colwise().mean();
  EXPECT_LT(mean.norm(), 5 * std::sqrt(1.01 / n));
}

TEST(Points2D, CirclesRadii) {
  const int n = 10000;
  const Batch x = MakeCircles(n, 5, 0.0);
  const double outer = 4 / std::sqrt(5.0), inner = 2 / std::sqrt(5.0);
  int on_outer = 0;
  for (int i = 0; i < n; ++i) {
    const double r = x.row(i).cast<double>().norm();
    const bool is_outer = std::abs(r - outer) < 1e-5;
    EXPECT_TRUE(is_outer || std::abs(r - inner) < 1e-5) << r;
    on_outer += is_outer;
  }
  EXPECT_NEAR(on_outer, n / 2.0, 5 * 50.0);  // binomial sd sqrt(n / 4) = 50
  // With noise, radii spread by about the noise.
  const Batch noisy = MakeCircles(n, 5, 0.03);
  const Batch diff = noisy - x;
  const double sd = std::sqrt(diff.cast<double>().squaredNorm() / (2.0 * n));
  EXPECT_NEAR(sd, 0.03, 0.03 * 0.05);  // same shape positions, only the noise added
}

TEST(Points2D, ShapesLieWhereTheySay) {
  const int n = 5000;
  const double pi = std::numbers::pi;
  // Moons, no noise: de-standardised points lie on the two unit half circles.
  const double var_y = 0.5 - 4 / (pi * pi) + std::pow(2 / pi - 0.25, 2), scale = std::sqrt((0.75 + var_y) / 2);
  const Batch moons = MakeMoons(n, 2, 0.0);
  for (int i = 0; i < n; ++i) {
    const double x = moons(i, 0) * scale + 0.5, y = moons(i, 1) * scale + 0.25;
    const double outer = std::hypot(x, y), inner = std::hypot(x - 1, y - 0.5);
    EXPECT_TRUE((std::abs(outer - 1) < 1e-5 && y >= -1e-5) || (std::abs(inner - 1) < 1e-5 && y <= 0.5 + 1e-5));
  }
  // Checkerboard: only cells with column + row even are filled, inside [-sqrt 3, sqrt 3]^2.
  const Batch board = MakeCheckerboard(n, 2, 0.0);
  const double cell = std::sqrt(3.0) / 2;
  std::set<int> cells;
  for (int i = 0; i < n; ++i) {
    const int column = static_cast<int>(std::floor(board(i, 0) / cell)) + 2,
              row = static_cast<int>(std::floor(board(i, 1) / cell)) + 2;
    ASSERT_GE(column, 0);
    ASSERT_LT(column, 4);
    ASSERT_GE(row, 0);
    ASSERT_LT(row, 4);
    EXPECT_EQ((column + row) % 2, 0);
    cells.insert(row * 4 + column);
  }
  EXPECT_EQ(cells.size(), 8u);
  // Line without noise: y == x exactly, |x| <= sqrt 3.
  const Batch line = MakeLine(n, 2, 0.0);
  EXPECT_EQ(line.col(0), line.col(1));
  EXPECT_LE(line.cwiseAbs().maxCoeff(), std::sqrt(3.0f));
  // Spiral: r = theta / (3 pi / 2) on the arms, so |p| <= 2.
  EXPECT_LE(MakeSpiral(n, 2, 0.0).rowwise().norm().maxCoeff(), 2.0f + 1e-5f);
}

TEST(Points2D, BadArgumentsThrow) {
  EXPECT_THROW(MakeMoons(0, 1), Error);
  EXPECT_THROW(MakeMoons(kMaxPoints2D + 1, 1), Error);
  EXPECT_THROW(MakeMoons(10, 1, -0.1), Error);
  EXPECT_THROW(MakeMoons(10, 1, std::nan("")), Error);
  Dataset2DOptions options = TestOptions();
  options.noise = std::nan("");
  EXPECT_FALSE(options.Check().empty());
  EXPECT_THROW(GenerateDataset("moons", 10, 1, options), Error);
  options = TestOptions();
  options.image_threshold = 300;
  EXPECT_FALSE(options.Check().empty());
  const std::string message = ErrorOf([] { GenerateDataset("no_such_set", 10, 1); });
  EXPECT_NE(message.find("no_such_set"), std::string::npos);
  EXPECT_NE(message.find("moons"), std::string::npos);  // lists the names
}

TEST(Points2D, DinoLoads142DistinctPoints) {
  const auto options = TestOptions();
  const Batch dino = DatasaurusPoints("dino", options);
  ASSERT_EQ(dino.rows(), 142);
  std::set<std::pair<float, float>> distinct;
  for (int i = 0; i < dino.rows(); ++i) distinct.insert({dino(i, 0), dino(i, 1)});
  EXPECT_EQ(distinct.size(), 142u);
  // Unit scale: mean 0, mean per-coordinate variance 1, exactly (float rounding only).
  const Eigen::RowVector2d mean = dino.cast<double>().colwise().mean();
  EXPECT_LT(mean.norm(), 1e-6);
  EXPECT_NEAR(dino.cast<double>().squaredNorm() / (2 * 142.0), 1.0, 1e-6);
  // The first row of the file is (55.3846, 97.1795); mean (54.263273, 47.832253), pooled population sd
  // sqrt((var x + var y) / 2) = 22.355059 (computed independently in Python from the file).
  EXPECT_NEAR(dino(0, 0), (55.3846 - 54.263273) / 22.355059, 1e-6);
  EXPECT_NEAR(dino(0, 1), (97.1795 - 47.832253) / 22.355059, 1e-6);
  for (const auto& name : DatasaurusNames()) EXPECT_EQ(DatasaurusPoints(name, options).rows(), 142) << name;
  EXPECT_THROW(DatasaurusPoints("moons", options), Error);
}

TEST(Points2D, DatasaurusSamplesAreJitteredSourcePoints) {
  const auto options = TestOptions();
  const Batch source = DatasaurusPoints("star", options);
  const Batch sample = SampleDatasaurus("star", 3000, 9, options);
  // Default jitter: 0.15 original units = 0.15 / 22.355 = 0.0067 here (star shares the dino's scale). The distance to
  // the nearest source point is at most the jitter's length: |N(0, s^2 I_2)| > 6 s has probability e^-18.
  const double jitter = 0.15 / 22.355;
  double sum_squared = 0;
  std::set<int> used;
  for (int i = 0; i < sample.rows(); ++i) {
    Eigen::Index nearest = 0;
    const double d = (source.rowwise() - sample.row(i)).rowwise().squaredNorm().minCoeff(&nearest);
    EXPECT_LT(std::sqrt(d), 6 * jitter);
    sum_squared += d;
    used.insert(static_cast<int>(nearest));
  }
  EXPECT_GT(used.size(), 130u);  // 3000 draws of 142 leave each out with probability e^-21
  // The jitter is N(0, s^2 I) added to the same draws: with the same seed and jitter 0 the source
  // indices are the same, so the difference is exactly the jitter (sd estimate: relative SE 1.3%).
  Dataset2DOptions no_jitter = options;
  no_jitter.noise = 0;
  const Batch difference = sample - SampleDatasaurus("star", 3000, 9, no_jitter);
  EXPECT_NEAR(std::sqrt(difference.cast<double>().squaredNorm() / (2 * 3000.0)), jitter, 0.07 * jitter);
  EXPECT_LT(sum_squared / sample.rows(), 2 * jitter * jitter * 1.1);
  // Jitter is an option; 0 gives exact source points.
  Dataset2DOptions exact = options;
  exact.noise = 0;
  const Batch plain = GenerateDataset("star", 500, 9, exact);
  for (int i = 0; i < plain.rows(); ++i)
    EXPECT_EQ((source.rowwise() - plain.row(i)).rowwise().squaredNorm().minCoeff(), 0.0f);
}

TEST(Points2D, ResampledRowsNameTheirSources) {
  // Labels follow their points through ResamplePoints: each row is its source row plus the jitter, and asking for
  // the sources changes no draw.
  Batch points(4, 2);
  points << 0, 0, 10, 0, 0, 10, 10, 10;
  std::vector<int> sources;
  const Batch with = ResamplePoints(points, 500, 7, 0.03, 0, &sources);
  EXPECT_EQ(with, ResamplePoints(points, 500, 7, 0.03));
  ASSERT_EQ(sources.size(), 500u);
  std::set<int> seen;
  for (int i = 0; i < 500; ++i) {
    ASSERT_GE(sources[i], 0);
    ASSERT_LT(sources[i], 4);
    seen.insert(sources[i]);
    EXPECT_LT((with.row(i) - points.row(sources[i])).cwiseAbs().maxCoeff(), 0.3f) << i;
  }
  EXPECT_EQ(seen.size(), 4u);
}

TEST(Points2D, ResourcesFolderLookup) {
  Dataset2DOptions missing;
  missing.resources_dir = "/nonexistent/folder";
  const std::string message = ErrorOf([&] { DatasaurusPoints("dino", missing); });
  EXPECT_NE(message.find("/nonexistent/folder"), std::string::npos) << message;
  // The environment variable is used when resources_dir is empty.
  ASSERT_EQ(::setenv("DIFFUSCOPE_RESOURCES", DIFFUSCOPE_RESOURCES, 1), 0);
  EXPECT_EQ(DatasaurusFile({}), fs::path(DIFFUSCOPE_RESOURCES) / "datasets" / "datasaurus_dozen.tsv");
  EXPECT_EQ(DatasaurusPoints("dino").rows(), 142);
  ::unsetenv("DIFFUSCOPE_RESOURCES");
  // The datasets folder or the file itself are accepted too.
  Dataset2DOptions direct;
  direct.resources_dir = fs::path(DIFFUSCOPE_RESOURCES) / "datasets" / "datasaurus_dozen.tsv";
  EXPECT_EQ(DatasaurusPoints("away", direct).rows(), 142);
}

TEST(Points2D, CsvRoundTripIsExact) {
  TempDir dir;
  const Batch x = MakeSpiral(1000, 4);
  const fs::path path = dir.File("spiral.csv");
  SavePointsCsv(path, x);
  std::ifstream in(path);
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header, "x,y");
  const Batch back = LoadPointsCsv(path);
  EXPECT_TRUE(SameBytes(x, back));  // 9 significant digits round-trip every float
  // Written atomically: nothing else is left in the folder.
  int files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.path())) ++files;
  EXPECT_EQ(files, 1);
  // Overwrite keeps one file with the new content.
  SavePointsCsv(path, Batch(x.topRows(3)));
  EXPECT_EQ(LoadPointsCsv(path).rows(), 3);
  EXPECT_THROW(SavePointsCsv(path, Batch::Zero(3, 3)), Error);
  Batch bad = x.topRows(3);
  bad(1, 1) = std::nanf("");
  EXPECT_THROW(SavePointsCsv(path, bad), Error);
  EXPECT_THROW(SavePointsCsv(dir.File("no/such/folder/x.csv"), x), Error);
}

TEST(Points2D, CsvFormatsAccepted) {
  TempDir dir;
  const Batch expected = (Batch(3, 2) << 1.5f, -2.0f, 3.0f, 4.25f, -0.5f, 1e-3f).finished();
  const std::pair<std::string, std::string> cases[] = {
      {"comma_header.csv", "x,y\n1.5,-2\n3,4.25\n-0.5,1e-3\n"},
      {"no_header.csv", "1.5,-2\n3,4.25\n-0.5,0.001\n"},
      {"semicolon_decimal_comma.csv", "\"x\";\"y\"\n1,5;-2\n3;4,25\n-0,5;0,001\n"},
      {"whitespace.txt", "# points\n  1.5\t-2\n3   4.25\n\n-0.5 1e-3\n"},
      {"crlf_bom_trailing_comma.csv", "\xEF\xBB\xBFx,y\r\n+1.5,-2,\r\n\"3\",\"4.25\"\r\n-0.5,1e-3\r\n"},
  };
  for (const auto& [name, text] : cases) {
    SCOPED_TRACE(name);
    const Batch points = LoadPointsCsv(dir.Write(name, text));
    ASSERT_EQ(points.rows(), 3);
    EXPECT_EQ(points, expected);
  }
}

TEST(Points2D, MalformedCsvNamesTheLine) {
  TempDir dir;
  struct Case {
    const char* text;
    const char* must_contain[2];
  };
  const Case cases[] = {
      {"x,y\n1,2\n3,4\n5,6,7\n", {"line 4", "3 field"}},
      {"x,y\n1,2\nabc,4\n", {"line 3", "'abc'"}},
      {"1,2\n3,nan\n", {"line 2", "NaN"}},
      {"1,2\n\n# c\n3,inf\n", {"line 4", "infinite"}},
      {"1,2\n3,1e39\n", {"line 2", "too large"}},
      {"1,2\n3\n", {"line 2", "1 field"}},
      {"1,2\n3,,4\n", {"line 2", "3 field"}},
      {"", {"empty", "no points"}},
      {"x,y\n", {"only a header", "no points"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const fs::path path = dir.Write("bad.csv", c.text);
    const std::string message = ErrorOf([&] { LoadPointsCsv(path); });
    ASSERT_FALSE(message.empty());
    for (const char* part : c.must_contain) EXPECT_NE(message.find(part), std::string::npos) << message;
  }
  EXPECT_NE(ErrorOf([&] { LoadPointsCsv(dir.File("missing.csv")); }).find("no such file"), std::string::npos);
  EXPECT_NE(ErrorOf([&] { LoadPointsCsv(dir.path()); }).find("folder"), std::string::npos);
}

TEST(Points2D, CsvWithTooManyPointsIsRefused) {
  TempDir dir;
  const fs::path path = dir.File("big.csv");
  {
    std::ofstream out(path, std::ios::binary);
    const std::string chunk = [] {
      std::string s;
      for (int i = 0; i < 100000; ++i) s += "0,1\n";
      return s;
    }();
    for (int k = 0; k < kMaxPoints2D / 100000; ++k) out << chunk;
    out << "2,3\n";  // point kMaxPoints2D + 1
  }
  const std::string message = ErrorOf([&] { LoadPointsCsv(path); });
  EXPECT_NE(message.find("line " + std::to_string(kMaxPoints2D + 1)), std::string::npos) << message;
  EXPECT_NE(message.find("more than"), std::string::npos) << message;
}

TEST(Points2D, GenerateFromCsvFile) {
  TempDir dir;
  const Batch source = (Batch(4, 2) << 10, 100, 12, 100, 10, 104, 12, 104).finished();
  const fs::path path = dir.File("square.csv");
  SavePointsCsv(path, source);
  const Batch a = GenerateDataset(path.string(), 400, 3);
  EXPECT_TRUE(SameBytes(a, GenerateDataset(path.string(), 400, 3)));
  // Standardised: the 4 corners of a 2 x 4 rectangle centred at (11, 102) divided by sqrt((1 + 4) / 2).
  const double s = std::sqrt(2.5);
  for (int i = 0; i < a.rows(); ++i) {
    EXPECT_NEAR(std::abs(a(i, 0)), 1 / s, 1e-6);
    EXPECT_NEAR(std::abs(a(i, 1)), 2 / s, 1e-6);
  }
  Dataset2DOptions raw;
  raw.standardize = false;
  raw.noise = 0.0;
  const Batch b = GenerateDataset(path.string(), 100, 3, raw);
  for (int i = 0; i < b.rows(); ++i) EXPECT_EQ((source.rowwise() - b.row(i)).rowwise().squaredNorm().minCoeff(), 0.0f);
  EXPECT_NE(ErrorOf([&] { GenerateDataset(dir.Write("notes.xyz", "hello").string(), 10, 1); }).find("cannot tell"),
            std::string::npos);
}

TEST(Points2D, NormalisationMapsToUnitScaleAndBack) {
  // x = 5 z + (10, -3): the normalisation of x is the centre and the pooled population standard deviation.
  const Batch z = (Batch(4, 2) << -1, -2, 1, -2, -1, 2, 1, 2).finished();  // mean 0, variances 1 and 4
  Batch x = 5.0f * z;
  x.col(0).array() += 10.0f;
  x.col(1).array() -= 3.0f;
  const PointNormalization n = PointNormalization::Of(x);
  EXPECT_DOUBLE_EQ(n.shift_x, 10.0);
  EXPECT_DOUBLE_EQ(n.shift_y, -3.0);
  EXPECT_NEAR(n.scale, 5.0 * std::sqrt(2.5), 1e-12);
  EXPECT_TRUE(n.Check().empty());
  EXPECT_FALSE(n.identity());
  const Batch unit = n.ToModel(x);
  EXPECT_TRUE(unit.isApprox(z / static_cast<float>(std::sqrt(2.5)), 1e-6f));
  EXPECT_TRUE(n.ToData(unit).isApprox(x, 1e-6f));
  // Identity leaves the bits alone; bad maps are refused.
  EXPECT_TRUE(SameBytes(PointNormalization{}.ToModel(x), x));
  EXPECT_TRUE(SameBytes(PointNormalization{}.ToData(x), x));
  EXPECT_FALSE((PointNormalization{0, 0, 0}).Check().empty());
  EXPECT_FALSE((PointNormalization{NAN, 0, 1}).Check().empty());
  EXPECT_THROW(n.ToModel(Batch::Zero(3, 3)), Error);
  EXPECT_THROW(PointNormalization::Of(Batch(0, 2)), Error);
}

TEST(Points2D, DatasetNormalisationComesFromTheSourceNotTheDraw) {
  TempDir dir;
  // Built-in sets are defined at unit scale: identity.
  EXPECT_TRUE(DatasetNormalization("dino", TestOptions()).identity());
  EXPECT_TRUE(DatasetNormalization("Swiss-Roll").identity());
  // A CSV file: the moments of its own points. The rectangle's corners: centre (11, 102), s = sqrt(2.5).
  const Batch source = (Batch(4, 2) << 10, 100, 12, 100, 10, 104, 12, 104).finished();
  const fs::path path = dir.File("square.csv");
  SavePointsCsv(path, source);
  const PointNormalization n = DatasetNormalization(path.string());
  EXPECT_DOUBLE_EQ(n.shift_x, 11.0);
  EXPECT_DOUBLE_EQ(n.shift_y, 102.0);
  EXPECT_NEAR(n.scale, std::sqrt(2.5), 1e-12);
  // Points in file units mapped with it are the standardised points GenerateDataset made before.
  Dataset2DOptions raw;
  raw.standardize = false;
  const Batch own = GenerateDataset(path.string(), 300, 4, raw);
  EXPECT_TRUE(n.ToModel(own).isApprox(GenerateDataset(path.string(), 300, 4), 1e-6f));
  // A silhouette: the bounding box of the disc of radius 30 at pixel (60, 50) in a 200 x 120 image: columns
  // and rows 30..90 and 20..80, so centre (60.5, 120 - 50.5) and half side 30.5, in pixel units with y up.
  cv::Mat image(120, 200, CV_8UC1, cv::Scalar(255));
  cv::circle(image, cv::Point(60, 50), 30, cv::Scalar(0), cv::FILLED);
  const fs::path disc = dir.File("disc.png");
  ASSERT_TRUE(cv::imwrite(disc.string(), image));
  const PointNormalization d = DatasetNormalization(disc.string());
  EXPECT_DOUBLE_EQ(d.shift_x, 60.5);
  EXPECT_DOUBLE_EQ(d.shift_y, 69.5);
  EXPECT_DOUBLE_EQ(d.scale, 30.5);
  EXPECT_TRUE(d.ToModel(SilhouettePoints(disc, 500, 2, raw)).isApprox(SilhouettePoints(disc, 500, 2), 1e-5f));
  EXPECT_THROW(DatasetNormalization(dir.File("missing.csv").string()), Error);
}

TEST(Points2D, SilhouetteOfADarkDisc) {
  TempDir dir;
  // 200 wide, 120 high, white; a black disc of radius 30 centred at pixel (60, 50).
  cv::Mat image(120, 200, CV_8UC1, cv::Scalar(255));
  cv::circle(image, cv::Point(60, 50), 30, cv::Scalar(0), cv::FILLED);
  const fs::path path = dir.File("disc.png");
  ASSERT_TRUE(cv::imwrite(path.string(), image));
  const int n = 4000;
  const Batch points = GenerateDataset(path.string(), n, 5);
  EXPECT_TRUE(SameBytes(points, GenerateDataset(path.string(), n, 5)));
  // The disc's bounding box (61 pixels) maps to [-1, 1]: points lie in the unit disc, up to one pixel.
  const double pixel = 2.0 / 61.0;
  int inner = 0;
  for (int i = 0; i < n; ++i) {
    const double r = points.row(i).cast<double>().norm();
    EXPECT_LE(r, 1 + 1.5 * pixel);
    inner += r < 0.5;
  }
  // Uniform on the disc: P(r < 0.5) = 1/4 (binomial sd 27.4).
  EXPECT_NEAR(inner, n / 4.0, 5 * 27.4 + n * 2 * pixel);
  EXPECT_LT(points.cast<double>().colwise().mean().norm(), 0.05);
  // Pixel units with y up: centre (60.5, 120 - 50.5).
  Dataset2DOptions raw;
  raw.standardize = false;
  const Batch pixels = SilhouettePoints(path, n, 5, raw);
  for (int i = 0; i < n; ++i) EXPECT_LE(std::hypot(pixels(i, 0) - 60.5, pixels(i, 1) - 69.5), 31.5);
  // The fixed threshold 128 selects the same pixels here; inverted, the points avoid the disc.
  raw.image_threshold = 128;
  EXPECT_TRUE(SameBytes(pixels, SilhouettePoints(path, n, 5, raw)));
  raw.image_invert = true;
  const Batch outside = SilhouettePoints(path, n, 5, raw);
  for (int i = 0; i < n; ++i) EXPECT_GE(std::hypot(outside(i, 0) - 60.5, outside(i, 1) - 69.5), 28.5);
}

TEST(Points2D, SilhouetteKeepsAspectAndHandlesAlpha) {
  // A dark 80 x 20 bar on a transparent (black!) background: only the opaque bar becomes points.
  cv::Mat image(100, 100, CV_8UC4, cv::Scalar(0, 0, 0, 0));
  cv::rectangle(image, cv::Rect(10, 40, 80, 20), cv::Scalar(30, 30, 30, 255), cv::FILLED);
  const Batch points = SilhouettePoints(image, 3000, 2);
  EXPECT_NEAR(points.col(0).minCoeff(), -1.0f, 0.02f);
  EXPECT_NEAR(points.col(0).maxCoeff(), 1.0f, 0.02f);
  EXPECT_NEAR(points.col(1).minCoeff(), -0.25f, 0.02f);
  EXPECT_NEAR(points.col(1).maxCoeff(), 0.25f, 0.02f);
  EXPECT_GE(points.col(1).minCoeff(), -0.25f);
  // Bad images say what is wrong.
  EXPECT_NE(ErrorOf([] { SilhouettePoints(cv::Mat(10, 10, CV_8UC1, cv::Scalar(255)), 10, 1); }).find("flat"),
            std::string::npos);
  EXPECT_THROW(SilhouettePoints(cv::Mat(), 10, 1), Error);
  Dataset2DOptions options;
  options.image_threshold = 0;  // nothing is darker than 0
  cv::Mat grey(10, 10, CV_8UC1, cv::Scalar(255));
  grey.at<uint8_t>(3, 3) = 0;
  EXPECT_NE(ErrorOf([&] { SilhouettePoints(grey, 10, 1, options); }).find("nothing"), std::string::npos);
  // A single dark pixel maps to the square [-1, 1]^2.
  const Batch one = SilhouettePoints(grey, 500, 1);
  EXPECT_LE(one.cwiseAbs().maxCoeff(), 1.0f);
  EXPECT_GT(one.cwiseAbs().maxCoeff(), 0.9f);
  TempDir dir;
  EXPECT_NE(ErrorOf([&] { SilhouettePoints(dir.Write("fake.png", "not a png"), 10, 1); }).find("cannot read"),
            std::string::npos);
}

}  // namespace
}  // namespace diffuscope

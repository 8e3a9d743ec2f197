#include "core/data/points2d.h"

#include "core/common/atomic_file.h"
#include "core/common/resources.h"
#include "core/random/random.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <numbers>
#include <system_error>
#include <tuple>

namespace diffuscope {
namespace fs = std::filesystem;
namespace {

constexpr double kPi = std::numbers::pi;

// The stream index of a data set: FNV-1a of its canonical name, so that two sets drawn with one seed never
// share draws, and the index does not change when the list of names does.
uint64_t StreamIndex(std::string_view name) {
  uint64_t hash = 1469598103934665603ull;
  for (char c : name) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

void CheckCount(int n) {
  Require(n >= 1 && n <= kMaxPoints2D,
          "number of points must be between 1 and " + std::to_string(kMaxPoints2D) + ", got " + std::to_string(n));
}

void CheckNoise(double noise) {
  Require(std::isfinite(noise) && noise >= 0.0,
          "noise must be a finite standard deviation >= 0, got " + std::to_string(noise));
}

// Runs shape(stream) -> (x, y), or (x, y, label) for the sets with classes, in output units for every point, then
// adds noise * N(0, I). The two noise normals are drawn even when noise is 0, so a point's position on the shape
// does not depend on the noise. labels (when not null) receives each point's class; the draws are the same with
// or without it, so the labelled points are the unlabelled ones.
template <class Shape>
Batch Generate(std::string_view name, int n, uint64_t seed, double noise, Shape shape,
               std::vector<int>* labels = nullptr) {
  CheckCount(n);
  CheckNoise(noise);
  RandomStream stream(RandomKey{.seed = seed, .stream = Stream::kData, .index = StreamIndex(name)});
  Batch out(n, 2);
  if (labels) labels->assign(n, 0);
  for (int i = 0; i < n; ++i) {
    const auto drawn = shape(stream);
    const double x = std::get<0>(drawn), y = std::get<1>(drawn);
    if constexpr (std::tuple_size_v<decltype(drawn)> == 3) {
      if (labels) (*labels)[i] = std::get<2>(drawn);
    }
    const double zx = stream.Normal();
    const double zy = stream.Normal();
    out(i, 0) = static_cast<float>(x + noise * zx);
    out(i, 1) = static_cast<float>(y + noise * zy);
  }
  return out;
}

struct BuiltIn {
  const char* name;
  double default_noise;  // < 0: the Datasaurus jitter, computed from the set's scale
  const char* description;
  Batch (*make)(int, uint64_t, double);  // null for the Datasaurus sets
};

constexpr double kDatasaurusJitterOriginalUnits = 0.15;

const std::array<BuiltIn, 20>& BuiltIns() {
  static const std::array<BuiltIn, 20> table = {{
      {"moons", 0.05, "two interleaving half circles (sklearn make_moons)", &MakeMoons},
      {"swiss_roll", 0.05, "the 2D swiss roll t (cos t, sin t) of Sohl-Dickstein et al. 2015", &MakeSwissRoll},
      {"circles", 0.03, "two concentric circles, radii 1.79 and 0.89", &MakeCircles},
      {"8gaussians", 0.1, "eight Gaussians on a circle of radius 1.41", &MakeEightGaussians},
      {"checkerboard", 0.0, "uniform on the dark cells of a 4 x 4 checkerboard", &MakeCheckerboard},
      {"spiral", 0.05, "two interleaved spiral arms", &MakeSpiral},
      {"line", 0.02, "the segment y = x (a 1D manifold in the plane)", &MakeLine},
      {"dino", -1, "Datasaurus: the dinosaur (142 points)", nullptr},
      {"away", -1, "Datasaurus: scattered away (142 points)", nullptr},
      {"h_lines", -1, "Datasaurus: horizontal lines (142 points)", nullptr},
      {"v_lines", -1, "Datasaurus: vertical lines (142 points)", nullptr},
      {"x_shape", -1, "Datasaurus: an X (142 points)", nullptr},
      {"star", -1, "Datasaurus: a star (142 points)", nullptr},
      {"high_lines", -1, "Datasaurus: two high lines (142 points)", nullptr},
      {"dots", -1, "Datasaurus: a grid of dots (142 points)", nullptr},
      {"circle", -1, "Datasaurus: a circle (142 points)", nullptr},
      {"bullseye", -1, "Datasaurus: a bullseye (142 points)", nullptr},
      {"slant_up", -1, "Datasaurus: lines slanting up (142 points)", nullptr},
      {"slant_down", -1, "Datasaurus: lines slanting down (142 points)", nullptr},
      {"wide_lines", -1, "Datasaurus: two wide lines (142 points)", nullptr},
  }};
  return table;
}

// Lower case with '-', '_' and spaces removed: the key names are compared by.
std::string NameKey(std::string_view name) {
  std::string key;
  for (char c : name) {
    if (c == '-' || c == '_' || c == ' ') continue;
    key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return key;
}

const BuiltIn* FindBuiltIn(std::string_view name) {
  const std::string key = NameKey(name);
  if (key.empty()) return nullptr;
  for (const BuiltIn& entry : BuiltIns())
    if (NameKey(entry.name) == key) return &entry;
  return nullptr;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Centre on the column means and divide by sqrt(mean population variance); *scale receives the divisor.
Batch Standardize(const Batch& points, double* scale) {
  const Eigen::MatrixXd p = points.cast<double>();
  const Eigen::RowVectorXd mean = p.colwise().mean();
  const Eigen::MatrixXd centred = p.rowwise() - mean;
  const double mean_variance = centred.squaredNorm() / (static_cast<double>(p.rows()) * p.cols());
  const double s = mean_variance > 0.0 ? std::sqrt(mean_variance) : 1.0;
  if (scale) *scale = s;
  return (centred / s).cast<float>();
}

// The raw (file unit) points of one Datasaurus set.
Batch ReadDatasaurus(const std::string& canonical, const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  Require(in.is_open(), "cannot read the Datasaurus file '" + file.string() + "'");
  std::string line;
  std::vector<float> values;
  long long line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_number == 1) continue;  // header: dataset x y
    if (line.empty()) continue;
    const size_t tab1 = line.find('\t'), tab2 = tab1 == std::string::npos ? tab1 : line.find('\t', tab1 + 1);
    Require(tab2 != std::string::npos, "'" + file.string() + "' line " + std::to_string(line_number) +
                                           ": expected three tab-separated columns dataset, x, y");
    if (line.compare(0, tab1, canonical) != 0 || tab1 != canonical.size()) continue;
    for (auto [begin, end] : {std::pair{tab1 + 1, tab2}, std::pair{tab2 + 1, line.size()}}) {
      double v = 0;
      const auto [ptr, ec] = std::from_chars(line.data() + begin, line.data() + end, v);
      Require(ec == std::errc() && ptr == line.data() + end && std::isfinite(v),
              "'" + file.string() + "' line " + std::to_string(line_number) + ": '" + line.substr(begin, end - begin) +
                  "' is not a number");
      values.push_back(static_cast<float>(v));
    }
  }
  Require(values.size() >= 4, "'" + file.string() + "' holds no points of the set '" + canonical + "'");
  Batch out(static_cast<Eigen::Index>(values.size() / 2), 2);
  std::copy(values.begin(), values.end(), out.data());
  return out;
}

// One field of a CSV row as a number: spaces, surrounding quotes and a leading '+' are ignored.
bool ParseNumber(std::string_view field, double& value) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  field = trim(field);
  if (field.size() >= 2 && (field.front() == '"' || field.front() == '\'') && field.back() == field.front())
    field = trim(field.substr(1, field.size() - 2));
  if (!field.empty() && field.front() == '+') field.remove_prefix(1);
  if (field.empty()) return false;
  const auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
  // Out-of-range values (1e400) parse with ec == result_out_of_range; report them as not fitting below.
  if (ec == std::errc::result_out_of_range && ptr == field.data() + field.size()) {
    value = std::numeric_limits<double>::infinity();
    return true;
  }
  return ec == std::errc() && ptr == field.data() + field.size();
}

std::string Excerpt(std::string_view line) { return std::string(line.substr(0, 60)) + (line.size() > 60 ? "..." : ""); }

}  // namespace

std::string Dataset2DOptions::Check() const {
  if (!std::isfinite(noise)) return "noise must be a finite number (negative = the data set's default)";
  if (noise > 1e6) return "noise must be at most 1e6";
  if (image_threshold != -1 && (image_threshold < 0 || image_threshold > 256))
    return "image_threshold must be a grey level 0..256, or -1 for Otsu's threshold, got " +
           std::to_string(image_threshold);
  return {};
}

std::vector<std::string> DatasetNames() {
  std::vector<std::string> names;
  for (const BuiltIn& entry : BuiltIns()) names.emplace_back(entry.name);
  return names;
}

std::vector<std::string> DatasaurusNames() {
  std::vector<std::string> names;
  for (const BuiltIn& entry : BuiltIns())
    if (!entry.make) names.emplace_back(entry.name);
  return names;
}

std::string CanonicalDatasetName(std::string_view name) {
  const BuiltIn* entry = FindBuiltIn(name);
  return entry ? entry->name : std::string();
}

std::string DatasetDescription(std::string_view name) {
  const BuiltIn* entry = FindBuiltIn(name);
  if (!entry) return {};
  std::string text = entry->description;
  if (entry->make) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "; default noise %g", entry->default_noise);
    text += buffer;
  } else {
    text += "; drawn with replacement, default jitter 0.15 original units (about 0.0067)";
  }
  return text;
}

// ---- Generators ---------------------------------------------------------------------------------------

namespace {
Batch MoonsLabeled(int n, uint64_t seed, double noise, std::vector<int>* labels) {
  // Exact moments of the noise-free law: var x = 3/4, var y = 1/2 - 4/pi^2 + (2/pi - 1/4)^2, mean (1/2, 1/4).
  const double var_y = 0.5 - 4.0 / (kPi * kPi) + std::pow(2.0 / kPi - 0.25, 2);
  const double scale = std::sqrt((0.75 + var_y) / 2.0);
  return Generate(
      "moons", n, seed, noise,
      [scale](RandomStream& stream) {
        const bool inner = stream.Below(2) == 1;
        const double t = kPi * stream.Uniform();
        const double x = inner ? 1.0 - std::cos(t) : std::cos(t);
        const double y = inner ? 0.5 - std::sin(t) : std::sin(t);
        return std::tuple{(x - 0.5) / scale, (y - 0.25) / scale, inner ? 1 : 0};
      },
      labels);
}

Batch CirclesLabeled(int n, uint64_t seed, double noise, std::vector<int>* labels) {
  const double outer = 4.0 / std::sqrt(5.0), inner = 2.0 / std::sqrt(5.0);
  return Generate(
      "circles", n, seed, noise,
      [=](RandomStream& stream) {
        const int k = static_cast<int>(stream.Below(2));
        const double radius = k == 0 ? outer : inner;
        const double angle = 2.0 * kPi * stream.Uniform();
        return std::tuple{radius * std::cos(angle), radius * std::sin(angle), k};
      },
      labels);
}

Batch EightGaussiansLabeled(int n, uint64_t seed, double noise, std::vector<int>* labels) {
  return Generate(
      "8gaussians", n, seed, noise,
      [](RandomStream& stream) {
        const int k = static_cast<int>(stream.Below(8));
        const double angle = static_cast<double>(k) * kPi / 4.0;
        return std::tuple{std::sqrt(2.0) * std::cos(angle), std::sqrt(2.0) * std::sin(angle), k};
      },
      labels);
}

Batch SpiralLabeled(int n, uint64_t seed, double noise, std::vector<int>* labels) {
  const double theta_max = 3.0 * kPi, scale = theta_max / 2.0;  // E[r^2] = theta_max^2 / 2
  return Generate(
      "spiral", n, seed, noise,
      [=](RandomStream& stream) {
        const int k = static_cast<int>(stream.Below(2));
        const double arm = k == 0 ? 1.0 : -1.0;
        const double theta = theta_max * std::sqrt(stream.Uniform());
        return std::tuple{arm * theta * std::cos(theta) / scale, arm * theta * std::sin(theta) / scale, k};
      },
      labels);
}
}  // namespace

Batch MakeMoons(int n, uint64_t seed, double noise) { return MoonsLabeled(n, seed, noise, nullptr); }

Batch MakeSwissRoll(int n, uint64_t seed, double noise) {
  // t ~ U(a, b), a = 1.5 pi, b = 4.5 pi: E[t cos t] = 2, E[t sin t] = 2/(3 pi), E[t^2] = 9.75 pi^2.
  const double mean_x = 2.0, mean_y = 2.0 / (3.0 * kPi);
  const double scale = std::sqrt((9.75 * kPi * kPi - mean_x * mean_x - mean_y * mean_y) / 2.0);
  return Generate("swiss_roll", n, seed, noise, [=](RandomStream& stream) {
    const double t = 1.5 * kPi * (1.0 + 2.0 * stream.Uniform());
    return std::pair{(t * std::cos(t) - mean_x) / scale, (t * std::sin(t) - mean_y) / scale};
  });
}

Batch MakeCircles(int n, uint64_t seed, double noise) { return CirclesLabeled(n, seed, noise, nullptr); }

Batch MakeEightGaussians(int n, uint64_t seed, double noise) { return EightGaussiansLabeled(n, seed, noise, nullptr); }

Batch MakeCheckerboard(int n, uint64_t seed, double noise) {
  const double cell = std::sqrt(3.0) / 2.0;  // 4 cells span [-sqrt 3, sqrt 3]
  return Generate("checkerboard", n, seed, noise, [cell](RandomStream& stream) {
    const int k = static_cast<int>(stream.Below(8));
    const int column = k / 2, row = 2 * (k % 2) + column % 2;  // column + row even
    const double u = stream.Uniform(), v = stream.Uniform();
    return std::pair{(column - 2 + u) * cell, (row - 2 + v) * cell};
  });
}

Batch MakeSpiral(int n, uint64_t seed, double noise) { return SpiralLabeled(n, seed, noise, nullptr); }

Batch MakeLine(int n, uint64_t seed, double noise) {
  return Generate("line", n, seed, noise, [](RandomStream& stream) {
    const double t = std::sqrt(3.0) * (2.0 * stream.Uniform() - 1.0);
    return std::pair{t, t};
  });
}

// ---- Datasaurus ------------------------------------------------------------------------------------------

fs::path DatasaurusFile(const Dataset2DOptions& options) {
  const fs::path relative = fs::path("datasets") / "datasaurus_dozen.tsv";
  std::vector<fs::path> folders;
  if (!options.resources_dir.empty()) {
    folders.push_back(options.resources_dir);
  } else {
    // The project's resources folder first (ResourcesDir: $DIFFUSCOPE_RESOURCES, the installed data
    // folder, the source tree), then each candidate on its own, in case the first lacks the file.
    try {
      folders.push_back(ResourcesDir());
    } catch (const Error&) {
    }
    if (const char* env = std::getenv("DIFFUSCOPE_RESOURCES"); env && *env) folders.emplace_back(env);
#ifdef DIFFUSCOPE_SOURCE_RESOURCES
    folders.emplace_back(DIFFUSCOPE_SOURCE_RESOURCES);
#endif
#ifdef DIFFUSCOPE_INSTALL_RESOURCES
    folders.emplace_back(DIFFUSCOPE_INSTALL_RESOURCES);
#endif
  }
  std::string tried;
  for (size_t k = 0; k < folders.size(); ++k) {
    const fs::path& folder = folders[k];
    if (std::find(folders.begin(), folders.begin() + static_cast<std::ptrdiff_t>(k), folder) !=
        folders.begin() + static_cast<std::ptrdiff_t>(k))
      continue;  // tried already
    std::error_code ec;
    // Accept the resources folder (the documented form), its datasets/ folder, or the file itself.
    for (const fs::path& candidate : {folder / relative, folder / relative.filename(), folder}) {
      if (fs::is_regular_file(candidate, ec)) return candidate;
    }
    tried += (tried.empty() ? "" : ", ") + folder.string();
  }
  if (folders.empty())
    throw Error(
        "cannot find datasets/datasaurus_dozen.tsv: no resources folder is known; set the "
        "environment variable DIFFUSCOPE_RESOURCES to the resources folder");
  throw Error("cannot find datasets/datasaurus_dozen.tsv in " + tried +
              "; set the environment variable DIFFUSCOPE_RESOURCES to the resources folder");
}

Batch DatasaurusPoints(std::string_view name, const Dataset2DOptions& options) {
  const BuiltIn* entry = FindBuiltIn(name);
  Require(entry && !entry->make,
          "'" + std::string(name) + "' is not a Datasaurus set; expected one of " + JoinNames(DatasaurusNames()));
  return Standardize(ReadDatasaurus(entry->name, DatasaurusFile(options)), nullptr);
}

Batch SampleDatasaurus(std::string_view name, int n, uint64_t seed, const Dataset2DOptions& options) {
  Require(options.Check().empty(), options.Check());
  CheckCount(n);
  const BuiltIn* entry = FindBuiltIn(name);
  Require(entry && !entry->make,
          "'" + std::string(name) + "' is not a Datasaurus set; expected one of " + JoinNames(DatasaurusNames()));
  double scale = 1.0;
  const Batch points = Standardize(ReadDatasaurus(entry->name, DatasaurusFile(options)), &scale);
  const double noise = options.noise >= 0.0 ? options.noise : kDatasaurusJitterOriginalUnits / scale;
  return ResamplePoints(points, n, seed, noise, StreamIndex(entry->name));
}

// ---- Generic -------------------------------------------------------------------------------------------

Batch ResamplePoints(const Batch& points, int n, uint64_t seed, double noise, uint64_t stream_index,
                     std::vector<int>* sources) {
  CheckCount(n);
  CheckNoise(noise);
  Require(points.rows() >= 1, "cannot draw points from an empty set");
  RandomStream stream(RandomKey{.seed = seed, .stream = Stream::kData, .index = stream_index});
  const uint64_t rows = static_cast<uint64_t>(points.rows());
  Batch out(n, points.cols());
  if (sources) sources->assign(n, 0);
  for (int i = 0; i < n; ++i) {
    const auto k = static_cast<Eigen::Index>(stream.Below(rows));
    if (sources) (*sources)[i] = static_cast<int>(k);
    for (Eigen::Index c = 0; c < points.cols(); ++c)
      out(i, c) = static_cast<float>(points(k, c) + noise * stream.Normal());
  }
  return out;
}

Batch StandardizePoints(const Batch& points) {
  Require(points.rows() >= 1 && points.cols() >= 1, "cannot standardise an empty set of points");
  Require(points.allFinite(), "cannot standardise points that hold NaN or infinity");
  return Standardize(points, nullptr);
}

namespace {
bool IsPointsFile(const fs::path& path) {
  const std::string extension = Lower(path.extension().string());
  return extension == ".csv" || extension == ".tsv" || extension == ".txt" || extension == ".dat";
}
}  // namespace

Batch GenerateDataset(std::string_view name_or_file, int n, uint64_t seed, const Dataset2DOptions& options) {
  Require(options.Check().empty(), options.Check());
  CheckCount(n);
  if (const BuiltIn* entry = FindBuiltIn(name_or_file)) {
    if (!entry->make) return SampleDatasaurus(entry->name, n, seed, options);
    return entry->make(n, seed, options.noise >= 0.0 ? options.noise : entry->default_noise);
  }
  const fs::path path{std::string(name_or_file)};
  std::error_code ec;
  Require(!name_or_file.empty() && fs::exists(path, ec), "unknown data set '" + std::string(name_or_file) +
                                                             "': not a built-in name (" + JoinNames(DatasetNames()) +
                                                             ") and no such file");
  if (IsPointsFile(path)) {
    Batch points = LoadPointsCsv(path);
    if (options.standardize) points = Standardize(points, nullptr);
    return ResamplePoints(points, n, seed, std::max(options.noise, 0.0), StreamIndex("csv"));
  }
  bool image = false;
  try {
    image = cv::haveImageReader(path.string());
  } catch (const cv::Exception&) {
    image = false;
  }
  Require(image, "cannot tell what '" + path.string() +
                     "' holds: use a .csv/.tsv/.txt file of x,y points or an image file (PNG, JPEG, BMP, ...)");
  return SilhouettePoints(path, n, seed, options);
}

namespace {
struct LabelledSet {
  const char* name;
  Batch (*make)(int, uint64_t, double, std::vector<int>*);
  std::vector<std::string> classes;
};

const std::vector<LabelledSet>& LabelledSets() {
  static const std::vector<LabelledSet> sets = {
      {"8gaussians",
       &EightGaussiansLabeled,
       {"0 (east)", "1 (north-east)", "2 (north)", "3 (north-west)", "4 (west)", "5 (south-west)", "6 (south)",
        "7 (south-east)"}},
      {"moons", &MoonsLabeled, {"upper moon", "lower moon"}},
      {"circles", &CirclesLabeled, {"outer circle", "inner circle"}},
      {"spiral", &SpiralLabeled, {"arm 1", "arm 2"}},
  };
  return sets;
}

const LabelledSet* FindLabelled(std::string_view name) {
  const std::string canonical = CanonicalDatasetName(name);
  for (const LabelledSet& set : LabelledSets())
    if (canonical == set.name) return &set;
  return nullptr;
}

}  // namespace

std::vector<std::string> DatasetClassNames(std::string_view name) {
  const LabelledSet* set = FindLabelled(name);
  return set ? set->classes : std::vector<std::string>{};
}

int DatasetClassCount(std::string_view name) { return static_cast<int>(DatasetClassNames(name).size()); }

Batch GenerateLabeledDataset(std::string_view name, int n, uint64_t seed, std::vector<int>* labels,
                             const Dataset2DOptions& options) {
  Require(options.Check().empty(), options.Check());
  Require(labels != nullptr, "GenerateLabeledDataset needs somewhere to put the labels");
  const LabelledSet* set = FindLabelled(name);
  std::string known;
  for (const LabelledSet& s : LabelledSets()) known += (known.empty() ? "" : ", ") + std::string(s.name);
  Require(set != nullptr,
          "the data set '" + std::string(name) + "' has no class labels (sets with classes: " + known + ")");
  const BuiltIn* entry = FindBuiltIn(name);
  return set->make(n, seed, options.noise >= 0.0 ? options.noise : entry->default_noise, labels);
}

// ---- CSV -----------------------------------------------------------------------------------------------

Batch LoadPointsCsv(const fs::path& path) {
  std::error_code ec;
  Require(fs::exists(path, ec), "cannot read '" + path.string() + "': no such file");
  Require(!fs::is_directory(path, ec), "cannot read '" + path.string() + "': it is a folder, not a file");
  std::ifstream in(path, std::ios::binary);
  Require(in.is_open(), "cannot read '" + path.string() + "': permission denied or not readable");
  const std::string where = "'" + path.string() + "' line ";

  std::vector<float> values;
  std::string line;
  std::vector<std::string_view> fields;
  long long line_number = 0;
  bool seen_content = false;
  auto fail = [&](const std::string& what) { throw Error(where + std::to_string(line_number) + ": " + what); };
  while (std::getline(in, line)) {
    ++line_number;
    if (line_number == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);  // UTF-8 BOM
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    const bool first_content = !seen_content;
    seen_content = true;

    // Split on ';' (then a line without '.' may use ',' as its decimal point), else ',', else white space.
    const char separator = line.find(';') != std::string::npos ? ';' : line.find(',') != std::string::npos ? ',' : ' ';
    if (separator == ';' && line.find('.') == std::string::npos) std::replace(line.begin(), line.end(), ',', '.');
    const std::string_view text(line);
    fields.clear();
    if (separator == ' ') {
      for (size_t begin = text.find_first_not_of(" \t"); begin != std::string_view::npos;) {
        const size_t end = text.find_first_of(" \t", begin);
        fields.push_back(text.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin));
        begin = end == std::string_view::npos ? end : text.find_first_not_of(" \t", end);
      }
    } else {
      for (size_t begin = 0;;) {
        const size_t end = text.find(separator, begin);
        fields.push_back(text.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin));
        if (end == std::string_view::npos) break;
        begin = end + 1;
      }
      // A trailing separator (spreadsheet exports) leaves empty fields at the end: drop them.
      while (fields.size() > 2 && fields.back().find_first_not_of(" \t") == std::string_view::npos) fields.pop_back();
    }

    double xy[2] = {0, 0};
    bool numeric[2] = {false, false};
    for (size_t k = 0; k < std::min<size_t>(2, fields.size()); ++k) numeric[k] = ParseNumber(fields[k], xy[k]);
    if (first_content && !numeric[0] && !numeric[1]) continue;  // a header such as "x,y"
    if (fields.size() != 2)
      fail("expected 2 numbers (x and y), found " + std::to_string(fields.size()) + " field(s) in '" + Excerpt(line) +
           "'");
    for (int k = 0; k < 2; ++k) {
      const std::string axis = k == 0 ? "x" : "y";
      if (!numeric[k]) fail(axis + " value '" + Excerpt(fields[k]) + "' is not a number");
      if (std::isnan(xy[k])) fail(axis + " is NaN");
      if (!std::isfinite(xy[k]) || std::abs(xy[k]) > std::numeric_limits<float>::max())
        fail(axis + " value '" + Excerpt(fields[k]) + "' is infinite or too large for a float");
    }
    if (values.size() / 2 >= static_cast<size_t>(kMaxPoints2D))
      fail("more than " + std::to_string(kMaxPoints2D) + " points; use a smaller file");
    values.push_back(static_cast<float>(xy[0]));
    values.push_back(static_cast<float>(xy[1]));
  }
  Require(!in.bad(), "reading '" + path.string() + "' failed");
  Require(!values.empty(), "'" + path.string() + "' holds no points" +
                               (seen_content ? " (only a header line)" : " (the file is empty)"));
  Batch out(static_cast<Eigen::Index>(values.size() / 2), 2);
  std::copy(values.begin(), values.end(), out.data());
  return out;
}

void SavePointsCsv(const fs::path& path, const Batch& points) {
  Require(points.cols() == 2, "points to save as x,y must have 2 columns, got " + std::to_string(points.cols()));
  Require(points.allFinite(), "cannot save points that hold NaN or infinity to '" + path.string() + "'");
  AtomicFile file(path);
  auto& out = file.stream();
  out << "x,y\n";
  char buffer[64];
  for (Eigen::Index i = 0; i < points.rows(); ++i) {
    const int length = std::snprintf(buffer, sizeof buffer, "%.9g,%.9g\n", static_cast<double>(points(i, 0)),
                                     static_cast<double>(points(i, 1)));
    out.write(buffer, length);
  }
  file.Commit();
}

// ---- Silhouettes ---------------------------------------------------------------------------------------

namespace {

// The selected pixels of a silhouette (index r * cols + c) and their bounding box.
struct SilhouetteSelection {
  int rows = 0, cols = 0;
  std::vector<int32_t> selected;
  int min_col = 0, max_col = -1, min_row = 0, max_row = -1;
};

SilhouetteSelection SelectSilhouette(const cv::Mat& image, const Dataset2DOptions& options) {
  Require(options.Check().empty(), options.Check());
  Require(!image.empty(), "the silhouette image is empty");
  Require(image.dims == 2, "the silhouette must be a 2D image");
  const int channels = image.channels();
  Require(channels == 1 || channels == 3 || channels == 4,
          "a silhouette image must be grey, BGR or BGRA, got " + std::to_string(channels) + " channels");
  Require(static_cast<double>(image.rows) * image.cols < 2147483647.0, "the silhouette image is too large");

  cv::Mat image8;
  switch (image.depth()) {
    case CV_8U: image8 = image; break;
    case CV_16U: image.convertTo(image8, CV_8U, 1.0 / 257.0); break;
    case CV_32F:
    case CV_64F: image.convertTo(image8, CV_8U, 255.0); break;  // float images: grey in [0, 1]
    default: throw Error("unsupported silhouette pixel type (use 8- or 16-bit images)");
  }
  cv::Mat grey;
  if (channels == 1) grey = image8.clone();
  else cv::cvtColor(image8, grey, channels == 3 ? cv::COLOR_BGR2GRAY : cv::COLOR_BGRA2GRAY);
  cv::Mat opaque;
  if (channels == 4) {
    cv::extractChannel(image8, opaque, 3);
    opaque = opaque >= 128;
    // Transparent pixels are background: white when dark pixels are wanted, black when light ones are.
    grey.setTo(options.image_invert ? 0 : 255, ~opaque);
  }

  double lowest = 0, highest = 0;
  cv::minMaxLoc(grey, &lowest, &highest);
  Require(lowest < highest,
          "the silhouette image is one flat grey level; it needs a dark shape on a light "
          "background (or a light one on dark with image_invert)");
  // selected(pixel) = grey < threshold (dark), or its complement (light) with image_invert.
  int threshold = options.image_threshold;
  if (threshold < 0) {
    cv::Mat ignored;
    const double otsu = cv::threshold(grey, ignored, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
    threshold = static_cast<int>(otsu) + 1;  // Otsu's level belongs to the dark class
  }
  std::vector<int32_t> selected;
  int min_col = grey.cols, max_col = -1, min_row = grey.rows, max_row = -1;
  for (int r = 0; r < grey.rows; ++r) {
    const uint8_t* row = grey.ptr<uint8_t>(r);
    const uint8_t* keep = opaque.empty() ? nullptr : opaque.ptr<uint8_t>(r);
    for (int c = 0; c < grey.cols; ++c) {
      const bool dark = row[c] < threshold;
      if (dark == options.image_invert || (keep && !keep[c])) continue;
      selected.push_back(r * grey.cols + c);
      min_col = std::min(min_col, c), max_col = std::max(max_col, c);
      min_row = std::min(min_row, r), max_row = std::max(max_row, r);
    }
  }
  Require(!selected.empty(), std::string("no pixel of the silhouette image is ") +
                                 (options.image_invert ? "light" : "dark") + " enough (threshold " +
                                 std::to_string(threshold) + "); nothing to draw points from");

  SilhouetteSelection out;
  out.rows = grey.rows;
  out.cols = grey.cols;
  out.selected = std::move(selected);
  out.min_col = min_col, out.max_col = max_col, out.min_row = min_row, out.max_row = max_row;
  return out;
}

cv::Mat ReadSilhouette(const fs::path& image_path) {
  std::error_code ec;
  Require(fs::is_regular_file(image_path, ec), "cannot read image '" + image_path.string() + "': no such file");
  cv::Mat image;
  try {
    image = cv::imread(image_path.string(), cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw Error("cannot read image '" + image_path.string() + "': " + e.what());
  }
  Require(!image.empty(), "cannot read image '" + image_path.string() +
                              "': not an image format OpenCV reads (PNG, JPEG, BMP, TIFF, ...) or a damaged file");
  return image;
}

// The bounding box's centre and half its long side, in pixel units with y up (y = rows - row).
PointNormalization SilhouetteNormalization(const SilhouetteSelection& s) {
  PointNormalization n;
  n.shift_x = 0.5 * (s.min_col + s.max_col + 1);
  n.shift_y = s.rows - 0.5 * (s.min_row + s.max_row + 1);
  n.scale = 0.5 * std::max(s.max_col + 1 - s.min_col, s.max_row + 1 - s.min_row);
  return n;
}

}  // namespace

Batch SilhouettePoints(const cv::Mat& image, int n, uint64_t seed, const Dataset2DOptions& options) {
  CheckCount(n);
  const SilhouetteSelection selection = SelectSilhouette(image, options);
  const std::vector<int32_t>& selected = selection.selected;
  const int cols = selection.cols;

  // Pixel (c, r) covers [c, c + 1) x [r, r + 1); y grows upwards.
  double centre_x = 0, centre_y = 0, half = 1;
  if (options.standardize) {
    centre_x = 0.5 * (selection.min_col + selection.max_col + 1);
    centre_y = 0.5 * (selection.min_row + selection.max_row + 1);
    half = 0.5 * std::max(selection.max_col + 1 - selection.min_col, selection.max_row + 1 - selection.min_row);
  } else {
    centre_y = selection.rows;  // y = rows - row: the bottom edge is y = 0
  }
  const double noise = std::max(options.noise, 0.0);
  RandomStream stream(RandomKey{.seed = seed, .stream = Stream::kData, .index = StreamIndex("image")});
  Batch out(n, 2);
  const uint64_t count = selected.size();
  for (int i = 0; i < n; ++i) {
    const int32_t pixel = selected[stream.Below(count)];
    const double u = stream.Uniform(), v = stream.Uniform();
    const double zx = stream.Normal(), zy = stream.Normal();
    const double px = pixel % cols + u, py = pixel / cols + v;
    out(i, 0) = static_cast<float>((px - centre_x) / half + noise * zx);
    out(i, 1) = static_cast<float>((centre_y - py) / half + noise * zy);
  }
  return out;
}

Batch SilhouettePoints(const fs::path& image_path, int n, uint64_t seed, const Dataset2DOptions& options) {
  return SilhouettePoints(ReadSilhouette(image_path), n, seed, options);
}

// ---- Normalisation -------------------------------------------------------------------------------------

std::string PointNormalization::Check() const {
  if (!std::isfinite(shift_x) || !std::isfinite(shift_y)) return "the data's shift must be finite";
  if (!(std::isfinite(scale) && scale > 0.0)) return "the data's scale must be a positive finite number";
  return {};
}

Batch PointNormalization::ToModel(const Batch& x) const {
  if (identity()) return x;
  Require(x.cols() == 2, "points to normalise must have 2 columns, got " + std::to_string(x.cols()));
  Batch z(x.rows(), 2);
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    z(i, 0) = static_cast<float>((x(i, 0) - shift_x) / scale);
    z(i, 1) = static_cast<float>((x(i, 1) - shift_y) / scale);
  }
  return z;
}

Batch PointNormalization::ToData(const Batch& z) const {
  if (identity()) return z;
  Require(z.cols() == 2, "points to map to data units must have 2 columns, got " + std::to_string(z.cols()));
  Batch x(z.rows(), 2);
  for (Eigen::Index i = 0; i < z.rows(); ++i) {
    x(i, 0) = static_cast<float>(z(i, 0) * scale + shift_x);
    x(i, 1) = static_cast<float>(z(i, 1) * scale + shift_y);
  }
  return x;
}

PointNormalization PointNormalization::Of(const Batch& points) {
  Require(points.rows() >= 1 && points.cols() == 2, "the normalisation of a point set needs >= 1 rows of x, y");
  Require(points.allFinite(), "cannot normalise points that hold NaN or infinity");
  double scale = 1.0;
  const Eigen::RowVector2d mean = points.cast<double>().colwise().mean();
  Standardize(points, &scale);
  return {mean[0], mean[1], scale};
}

PointNormalization DatasetNormalization(std::string_view name_or_file, const Dataset2DOptions& options) {
  Require(options.Check().empty(), options.Check());
  if (FindBuiltIn(name_or_file)) return {};
  const fs::path path{std::string(name_or_file)};
  std::error_code ec;
  Require(!name_or_file.empty() && fs::exists(path, ec), "unknown data set '" + std::string(name_or_file) +
                                                             "': not a built-in name (" + JoinNames(DatasetNames()) +
                                                             ") and no such file");
  if (IsPointsFile(path)) return PointNormalization::Of(LoadPointsCsv(path));
  return SilhouetteNormalization(SelectSilhouette(ReadSilhouette(path), options));
}

}  // namespace diffuscope

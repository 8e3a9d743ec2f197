// 2D point-cloud data: toy generators, the Datasaurus Dozen, user CSV files and image silhouettes.
//
//   diffuscope::Batch x0 = diffuscope::GenerateDataset("moons", 2000, /*seed=*/1);   // 2000 x 2
//   diffuscope::Batch dino = diffuscope::GenerateDataset("dino", 8000, 1);           // resampled + jitter
//   diffuscope::Batch mine = diffuscope::GenerateDataset("heart.png", 5000, 1);      // dark pixels -> points
//   diffuscope::SavePointsCsv("moons.csv", x0);                                       // header x,y
//
// Every built-in set lives at roughly unit scale: each is centred and divided by one fixed constant per
// set (the same for every draw, never estimated from the sample), so the per-coordinate variance is
// about 1 and the shape keeps its aspect ratio. Same (name, n, seed, options) => same bytes; drawing
// more points keeps the first ones (each point's draws follow the previous point's in one stream).
// Random numbers: RandomStream on Stream::kData, index = a fixed number per data set.
#pragma once

#include "core/common/types.h"

#include <opencv2/core.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace diffuscope {

/// The most points a data set, a CSV file or a silhouette may hold or produce.
inline constexpr int kMaxPoints2D = 10'000'000;

struct Dataset2DOptions {
  /// Standard deviation of the Gaussian noise added to every output point, in output units (data sets
  /// live at unit scale). < 0 = the set's default (DatasetDescription says it); for the Datasaurus sets
  /// and CSV files this is the jitter of the points drawn with replacement.
  double noise = -1.0;
  /// The resources folder that holds datasets/datasaurus_dozen.tsv. Empty = ResourcesDir()
  /// (core/common/resources.h), then the environment variable DIFFUSCOPE_RESOURCES, then the source
  /// tree's resources folder (DIFFUSCOPE_SOURCE_RESOURCES), then the installed one
  /// (DIFFUSCOPE_INSTALL_RESOURCES): the first that holds the file.
  std::filesystem::path resources_dir;
  /// CSV files and images: map the points to unit scale (CSV: centre on the mean, divide by the pooled
  /// standard deviation; image: the dark pixels' bounding box to [-1, 1] on its long side, y up).
  /// false keeps file units (CSV) or pixel units with y up (image): the data's own coordinates, which the
  /// diffusion reaches through DatasetNormalization (the models, the CLI and the app load points so).
  bool standardize = true;
  /// Images: grey level 0..256; pixels with grey < image_threshold become points. -1 = Otsu's threshold
  /// (pixels with grey <= Otsu's level become points). Colour images are converted to grey first.
  int image_threshold = -1;
  /// Images: light pixels (the complement of the above) become points instead of dark ones.
  bool image_invert = false;

  /// Empty when valid, else what is wrong, naming the member.
  std::string Check() const;
};

/// The affine map between a point set's own units (x) and the unit-scale space its diffusion runs in (z):
/// z = (x - shift) / scale. Noise is added at unit scale in z, so a model's schedule means the same for data at
/// any scale; samples, trajectories and views are mapped back with ToData.
struct PointNormalization {
  double shift_x = 0.0, shift_y = 0.0;  // the data's centre, in data units
  double scale = 1.0;                   // data units per normalised unit, > 0

  /// Empty when valid (finite; scale > 0 and finite), else what is wrong.
  std::string Check() const;
  bool identity() const { return shift_x == 0.0 && shift_y == 0.0 && scale == 1.0; }
  /// (x - shift) / scale for every row of x (n x 2); identity returns x as it is (no rounding).
  Batch ToModel(const Batch& x) const;
  /// z scale + shift for every row of z (n x 2); identity returns z as it is.
  Batch ToData(const Batch& z) const;
  /// The normalisation of a point set: its mean and s = sqrt(mean of the per-column population variances)
  /// (1 if that is 0), as StandardizePoints. Throws Error on an empty or non-finite set.
  static PointNormalization Of(const Batch& points);
  bool operator==(const PointNormalization&) const = default;
};

/// The normalisation of a data source, from the source itself (never from a random draw of it): identity for the
/// built-in sets (they are defined at unit scale); for a CSV file its points' PointNormalization::Of; for a
/// silhouette image the centre of the selected pixels' bounding box and half its long side (pixel units, y up, as
/// SilhouettePoints with standardize = false). Throws Error as GenerateDataset does.
PointNormalization DatasetNormalization(std::string_view name_or_file, const Dataset2DOptions& options = {});

/// The built-in data set names: moons, swiss_roll, circles, 8gaussians, checkerboard, spiral, line, then
/// the 13 Datasaurus sets (dino, away, h_lines, v_lines, x_shape, star, high_lines, dots, circle,
/// bullseye, slant_up, slant_down, wide_lines).
std::vector<std::string> DatasetNames();
/// The 13 Datasaurus set names, in the order above.
std::vector<std::string> DatasaurusNames();
/// The canonical built-in name for a user spelling (case, '-', '_' and spaces ignored: "Swiss-Roll",
/// "8_gaussians"); empty if it is not a built-in name.
std::string CanonicalDatasetName(std::string_view name);
/// One line for menus and --help: what the set is and its default noise; empty if not a built-in name.
std::string DatasetDescription(std::string_view name);

/// n x 2 points of a built-in set (any spelling CanonicalDatasetName accepts), a CSV file (.csv, .tsv,
/// .txt: points drawn with replacement plus options.noise jitter, default 0) or an image file (a
/// silhouette, see SilhouettePoints). Throws Error on an unknown name, a bad file or bad options.
Batch GenerateDataset(std::string_view name_or_file, int n, uint64_t seed, const Dataset2DOptions& options = {});

/// The class names of a built-in set whose points have classes (the labels of class-conditional models):
/// 8gaussians: its 8 components k, centred at angle k pi / 4 (0 = east); moons: the upper (0) and lower (1) moon;
/// circles: outer (0) and inner (1); spiral: its two arms. Empty for the other sets and for files.
std::vector<std::string> DatasetClassNames(std::string_view name);
/// The number of classes of a built-in set (DatasetClassNames), 0 when it has none.
int DatasetClassCount(std::string_view name);
/// The very points of GenerateDataset(name, n, seed, options) (same bytes) and, in *labels, each point's class
/// 0..DatasetClassCount(name) - 1. Throws Error for a set without classes or bad options.
Batch GenerateLabeledDataset(std::string_view name, int n, uint64_t seed, std::vector<int>* labels,
                             const Dataset2DOptions& options = {});

// The generators, in output units; noise = standard deviation of the added Gaussian noise. Each throws
// Error unless 1 <= n <= kMaxPoints2D and noise >= 0. GenerateDataset(name, ...) calls these.

/// Two interleaving half circles (sklearn make_moons, uniform angles), centred at (0.5, 0.25) and
/// divided by 0.7050 (the root of the mean per-coordinate variance). Default noise 0.05.
Batch MakeMoons(int n, uint64_t seed, double noise = 0.05);
/// sklearn make_swiss_roll projected to (x, z) = t (cos t, sin t), t ~ U(1.5 pi, 4.5 pi) (the 2D roll of
/// Sohl-Dickstein et al. 2015), centred at its exact mean (2, 2/(3 pi)) and divided by 6.79. Noise 0.05.
Batch MakeSwissRoll(int n, uint64_t seed, double noise = 0.05);
/// Two concentric circles, half the points each, radii 4/sqrt(5) = 1.789 and 2/sqrt(5) = 0.894 (unit
/// per-coordinate variance), uniform angles. Default noise 0.03.
Batch MakeCircles(int n, uint64_t seed, double noise = 0.03);
/// Eight Gaussians N(c_k, noise^2 I), c_k = sqrt(2) (cos k pi/4, sin k pi/4), equal weights. Noise 0.1.
Batch MakeEightGaussians(int n, uint64_t seed, double noise = 0.1);
/// Uniform on the 8 cells with i + j even of a 4 x 4 board over [-sqrt 3, sqrt 3]^2 (unit variance).
/// Default noise 0.
Batch MakeCheckerboard(int n, uint64_t seed, double noise = 0.0);
/// Two opposite arms r = theta, theta = 3 pi sqrt(u) (about uniform along the arms), divided by 3 pi / 2.
/// Default noise 0.05.
Batch MakeSpiral(int n, uint64_t seed, double noise = 0.05);
/// The segment y = x, x ~ U(-sqrt 3, sqrt 3) (a 1D manifold in the plane). Default noise 0.02.
Batch MakeLine(int n, uint64_t seed, double noise = 0.02);

/// The path of datasets/datasaurus_dozen.tsv as options.resources_dir says (see Dataset2DOptions).
/// Throws Error naming every folder tried when the file is not found.
std::filesystem::path DatasaurusFile(const Dataset2DOptions& options = {});
/// The source points (142 for the shipped file) of one Datasaurus set, in file order, mapped to unit
/// scale: (p - mean) / sqrt((var x + var y) / 2) (population moments of that set; aspect kept). Throws
/// Error for an unknown set or an unreadable file.
Batch DatasaurusPoints(std::string_view name, const Dataset2DOptions& options = {});
/// n points of a Datasaurus set: source points drawn uniformly with replacement, plus Gaussian jitter of
/// standard deviation options.noise (default: 0.15 of the original units, as tiny-diffusion's dino).
Batch SampleDatasaurus(std::string_view name, int n, uint64_t seed, const Dataset2DOptions& options = {});

/// n rows of points drawn uniformly with replacement, plus N(0, noise^2) jitter per coordinate, from the
/// stream (seed, Stream::kData, stream_index). points must have at least one row. sources (when not null) receives
/// the row of points each row was drawn from (so labels can follow their points); the draws are the same either way.
Batch ResamplePoints(const Batch& points, int n, uint64_t seed, double noise, uint64_t stream_index = 0,
                     std::vector<int>* sources = nullptr);
/// (p - mean) / s with s = sqrt(mean of the per-column population variances) (1 if that is 0).
Batch StandardizePoints(const Batch& points);

/// Reads x,y points from a text file: one point per line; separated by a comma, a semicolon (then a
/// decimal comma is accepted) or white space; an optional header line of non-numbers (e.g. "x,y");
/// blank lines and lines starting with '#' are skipped. Throws Error with the line number on a malformed
/// row, NaN or infinity; on an empty file; on more than kMaxPoints2D points.
Batch LoadPointsCsv(const std::filesystem::path& path);
/// Writes header "x,y" and one row per point with 9 significant digits (float round-trips exactly),
/// atomically. Throws Error unless points has 2 columns and finite values, or when writing fails.
void SavePointsCsv(const std::filesystem::path& path, const Batch& points);

/// n points of a silhouette image (8- or 16-bit, grey, BGR or BGRA; transparent pixels are background):
/// the grey image is thresholded (options.image_threshold; default Otsu), n of the selected pixels are
/// drawn uniformly with replacement, each point uniform inside its pixel, plus options.noise (default 0);
/// y axis up; with options.standardize the selected pixels' bounding box maps to [-1, 1] on its long
/// side, centred, aspect kept. Throws Error when the image is empty or uniform, or nothing is selected.
Batch SilhouettePoints(const cv::Mat& image, int n, uint64_t seed, const Dataset2DOptions& options = {});
/// As above, reading the image file first (any format OpenCV reads). Throws Error if it cannot be read.
Batch SilhouettePoints(const std::filesystem::path& image_path, int n, uint64_t seed,
                       const Dataset2DOptions& options = {});

}  // namespace diffuscope

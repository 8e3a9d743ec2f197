// The density of 2D points on a grid (a kernel density estimate) and its iso-lines: what the app's scatter view
// and the 2D export draw as density contours, from one call.
//
//   diffuscope::PlotBox box{.x_min = -3.5, .x_max = 3.5, .y_min = -3.5, .y_max = 3.5};
//   std::vector<diffuscope::Polyline> lines = diffuscope::DensityContourLines(x_t, box);  // 10 .. 90 % of the peak
#pragma once

#include "core/common/types.h"
#include "core/render/plots.h"

#include <array>
#include <span>
#include <vector>

namespace diffuscope {

/// A rectangle of the plane in data units (y grows upwards).
struct PlotBox {
  double x_min = -1, x_max = 1, y_min = -1, y_max = 1;
  /// Empty when valid (finite, min < max), else what is wrong.
  std::string Check() const;
};

/// The iso-line levels drawn, as fractions of the density's peak.
inline constexpr std::array<double, 5> kContourLevels = {0.1, 0.3, 0.5, 0.7, 0.9};
/// Cells per side of the density grid.
inline constexpr int kDensityGrid = 96;

/// A kernel density estimate of points (n x 2) over box, up to a constant: a grid x grid histogram (row 0 at
/// y_min) smoothed by a Gaussian of Scott's bandwidth n^(-1/6) times the points' mean per-axis standard deviation
/// (at least one cell). Non-finite points are skipped. All zero for fewer than 2 points. Throws Error on a bad box.
Batch DensityGrid(const Batch& points, const PlotBox& box, int grid = kDensityGrid);

/// Closed iso-lines of DensityGrid at level_fraction of its maximum (the boundary of the cells above it, smoothed
/// twice by a closed moving average of 3), in data units; empty for fewer than 2 points.
std::vector<Polyline> DensityContours(const Batch& points, const PlotBox& box, double level_fraction,
                                      int grid = kDensityGrid);
/// The iso-lines at every level of `levels`, lowest level first.
std::vector<Polyline> DensityContourLines(const Batch& points, const PlotBox& box,
                                          std::span<const double> levels = kContourLevels);

}  // namespace diffuscope

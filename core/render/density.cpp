#include "core/render/density.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace diffuscope {

std::string PlotBox::Check() const {
  if (!(std::isfinite(x_min) && std::isfinite(x_max) && x_min < x_max)) return "x limits must be finite, min < max";
  if (!(std::isfinite(y_min) && std::isfinite(y_max) && y_min < y_max)) return "y limits must be finite, min < max";
  return {};
}

namespace {

cv::Mat DensityMat(const Batch& points, const PlotBox& box, int grid) {
  Require(grid >= 4 && grid <= 4096, "density grid must have 4..4096 cells a side");
  const std::string problem = box.Check();
  Require(problem.empty(), "density box: " + problem);
  Require(points.rows() == 0 || points.cols() == 2, "density: points must have 2 columns");
  cv::Mat density(grid, grid, CV_32F, cv::Scalar(0));
  const double cell_x = (box.x_max - box.x_min) / grid, cell_y = (box.y_max - box.y_min) / grid;
  double mean[2] = {0, 0}, square[2] = {0, 0};
  long n = 0;
  for (Eigen::Index i = 0; i < points.rows(); ++i) {
    const double x = points(i, 0), y = points(i, 1);
    if (!std::isfinite(x) || !std::isfinite(y)) continue;
    ++n;
    mean[0] += x, mean[1] += y, square[0] += x * x, square[1] += y * y;
    const double col = std::floor((x - box.x_min) / cell_x), row = std::floor((y - box.y_min) / cell_y);
    if (col >= 0 && col < grid && row >= 0 && row < grid)
      density.at<float>(static_cast<int>(row), static_cast<int>(col)) += 1.0f;
  }
  if (n < 2) return cv::Mat(grid, grid, CV_32F, cv::Scalar(0));
  double spread = 0;  // the mean of the two per-axis standard deviations
  for (int d = 0; d < 2; ++d) spread += std::sqrt(std::max(0.0, square[d] / n - (mean[d] / n) * (mean[d] / n))) / 2;
  const double bandwidth = std::max({cell_x, cell_y, std::pow(static_cast<double>(n), -1.0 / 6.0) * spread});
  cv::GaussianBlur(density, density, cv::Size(0, 0), bandwidth / cell_x, bandwidth / cell_y, cv::BORDER_CONSTANT);
  return density;
}

}  // namespace

Batch DensityGrid(const Batch& points, const PlotBox& box, int grid) {
  const cv::Mat density = DensityMat(points, box, grid);
  Batch out(grid, grid);
  for (int r = 0; r < grid; ++r)
    for (int c = 0; c < grid; ++c) out(r, c) = density.at<float>(r, c);
  return out;
}

namespace {

std::vector<Polyline> ContoursOf(const cv::Mat& density, const PlotBox& box, double level_fraction) {
  const int grid = density.rows;
  std::vector<Polyline> lines;
  double max = 0;
  cv::minMaxLoc(density, nullptr, &max);
  if (!(max > 0)) return lines;
  const double cell_x = (box.x_max - box.x_min) / grid, cell_y = (box.y_max - box.y_min) / grid;
  cv::Mat above = density > max * level_fraction;
  cv::copyMakeBorder(above, above, 1, 1, 1, 1, cv::BORDER_CONSTANT, cv::Scalar(0));  // closed at the edges
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(above, contours, cv::RETR_LIST, cv::CHAIN_APPROX_NONE);
  for (const auto& dense : contours) {
    // The boundary of the cells above the level, along every cell edge, smoothed so the staircase becomes a curve.
    std::vector<Point2> line(dense.size());
    for (size_t i = 0; i < dense.size(); ++i)
      line[i] = {static_cast<double>(dense[i].x), static_cast<double>(dense[i].y)};
    for (int pass = 0; pass < 2 && line.size() >= 3; ++pass) {
      std::vector<Point2> smooth(line.size());
      for (size_t i = 0; i < line.size(); ++i) {
        const Point2& a = line[(i + line.size() - 1) % line.size()];
        const Point2& b = line[i];
        const Point2& c = line[(i + 1) % line.size()];
        smooth[i] = {(a.x + b.x + c.x) / 3.0, (a.y + b.y + c.y) / 3.0};
      }
      line.swap(smooth);
    }
    if (line.empty()) continue;
    Polyline polyline;
    polyline.reserve(line.size() + 1);
    // Cell (column, row) of the bordered image is cell (column - 1, row - 1) of the grid: its centre.
    for (const Point2& p : line)
      polyline.push_back({box.x_min + (p.x - 0.5) * cell_x, box.y_min + (p.y - 0.5) * cell_y});
    polyline.push_back(polyline.front());
    lines.push_back(std::move(polyline));
  }
  return lines;
}

}  // namespace

std::vector<Polyline> DensityContours(const Batch& points, const PlotBox& box, double level_fraction, int grid) {
  return ContoursOf(DensityMat(points, box, grid), box, level_fraction);
}

std::vector<Polyline> DensityContourLines(const Batch& points, const PlotBox& box, std::span<const double> levels) {
  const cv::Mat density = DensityMat(points, box, kDensityGrid);  // once for every level
  std::vector<Polyline> lines;
  for (const double level : levels)
    for (Polyline& line : ContoursOf(density, box, level)) lines.push_back(std::move(line));
  return lines;
}

}  // namespace diffuscope

#include "core/render/plots.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

namespace diffuscope {
namespace {

constexpr int kShift = 4;  // sub-pixel bits of OpenCV's drawing calls
constexpr double kOne = 1 << kShift;

cv::Point Fixed(double x, double y) {
  return cv::Point(static_cast<int>(std::lround(x * kOne)), static_cast<int>(std::lround(y * kOne)));
}

std::string Short(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3g", value);
  return buffer;
}

struct Curve {
  std::string label;
  Rgb colour;
  std::vector<double> t, value;  // value normalised to [0, 1]
};

// Liang-Barsky: clips the segment (x0,y0)-(x1,y1) to [lo_x, hi_x] x [lo_y, hi_y]; false if nothing is left.
bool ClipSegment(double& x0, double& y0, double& x1, double& y1, double lo_x, double hi_x, double lo_y, double hi_y) {
  double t0 = 0.0, t1 = 1.0;
  const double dx = x1 - x0, dy = y1 - y0;
  const double p[4] = {-dx, dx, -dy, dy};
  const double q[4] = {x0 - lo_x, hi_x - x0, y0 - lo_y, hi_y - y0};
  for (int k = 0; k < 4; ++k) {
    if (p[k] == 0.0) {
      if (q[k] < 0.0) return false;
      continue;
    }
    const double r = q[k] / p[k];
    if (p[k] < 0.0) {
      t0 = std::max(t0, r);
    } else {
      t1 = std::min(t1, r);
    }
    if (t0 > t1) return false;
  }
  const double ax = x0 + t0 * dx, ay = y0 + t0 * dy;
  x1 = x0 + t1 * dx;
  y1 = y0 + t1 * dy;
  x0 = ax;
  y0 = ay;
  return true;
}

void RequireTwoColumns(const Batch* batch, const char* what) {
  if (batch == nullptr) return;
  Require(batch->cols() == 2,
          std::string("scatter ") + what + " needs 2 columns (x, y), not " + std::to_string(batch->cols()));
}

}  // namespace

std::string SchedulePlotOptions::Check() const {
  if (width < 160 || width > 8192 || height < 100 || height > 8192)
    return "schedule plot size " + std::to_string(width) + "x" + std::to_string(height) +
           " is outside 160..8192 x 100..8192";
  if (!show_alpha_bar && !show_sqrt_alpha_bar && !show_sqrt_one_minus_alpha_bar && !show_beta && !show_log_snr)
    return "the schedule plot shows no curve: enable at least one";
  if (!(text.font_scale > 0.05 && text.font_scale < 10) || text.thickness < 1)
    return "schedule plot text style: font scale must be in (0.05, 10) and thickness >= 1";
  return {};
}

SchedulePlot::SchedulePlot(const NoiseSchedule& schedule, const SchedulePlotOptions& options)
    : options_(options), num_steps_(schedule.num_steps()) {
  const std::string problem = options.Check();
  Require(problem.empty(), problem);
  const int T = num_steps_;

  std::vector<Curve> curves;
  auto add = [&](std::string label, Rgb colour) -> Curve& {
    curves.push_back({std::move(label), colour, {}, {}});
    return curves.back();
  };
  if (options.show_alpha_bar) {
    Curve& c = add("alpha_bar", {31, 119, 180});
    for (int t = 0; t <= T; ++t) c.t.push_back(t), c.value.push_back(schedule.alpha_bar(t));
  }
  if (options.show_sqrt_alpha_bar) {
    Curve& c = add("sqrt(alpha_bar)", {255, 127, 14});
    for (int t = 0; t <= T; ++t) c.t.push_back(t), c.value.push_back(schedule.sqrt_alpha_bar(t));
  }
  if (options.show_sqrt_one_minus_alpha_bar) {
    Curve& c = add("sqrt(1-alpha_bar)", {44, 160, 44});
    for (int t = 0; t <= T; ++t) c.t.push_back(t), c.value.push_back(schedule.sqrt_one_minus_alpha_bar(t));
  }
  if (options.show_beta) {
    double max_beta = 0.0;
    for (double b : schedule.betas()) max_beta = std::max(max_beta, b);
    if (max_beta <= 0.0) max_beta = 1.0;
    Curve& c = add("beta/" + Short(max_beta), {214, 39, 40});
    for (int t = 1; t <= T; ++t) c.t.push_back(t), c.value.push_back(schedule.beta(t) / max_beta);
  }
  if (options.show_log_snr) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (int t = 1; t <= T; ++t) {
      const double v = schedule.log_snr(t);
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    }
    if (!(hi > lo)) lo = (std::isfinite(lo) ? lo : 0.0) - 1.0, hi = lo + 2.0;
    Curve& c = add("log-SNR " + Short(lo) + ".." + Short(hi), {148, 103, 189});
    for (int t = 1; t <= T; ++t) {
      const double v = schedule.log_snr(t);
      c.t.push_back(t);
      c.value.push_back(std::isfinite(v) ? (v - lo) / (hi - lo) : (v > 0 ? 1.0 : 0.0));
    }
  }

  // Legend entries flow left to right and wrap; the plot area starts below them.
  const TextStyle& text = options.text;
  const int line_height = TextSize("Ag", text).height + 8;
  const int swatch = 16;
  struct Placed {
    int x, y;
  };
  std::vector<Placed> placed;
  int x = 8, y = line_height;
  for (const Curve& c : curves) {
    const int entry = swatch + 4 + TextSize(c.label, text).width + 12;
    if (x > 8 && x + entry > options.width - 4) x = 8, y += line_height;
    placed.push_back({x, y});
    x += entry;
  }
  const int tick_width = TextSize("0.5", text).width;
  left_ = tick_width + 10;
  right_ = options.width - 10;
  top_ = options.legend ? y + 6 : 8;
  bottom_ = options.height - (TextSize("0", text).height + 10);
  Require(bottom_ - top_ >= 20, "the schedule plot is too short for its legend: make it taller or wider");

  background_ = Frame(options.width, options.height, options.background);
  cv::Mat mat = AsMat(&background_);
  const cv::Scalar axis_colour = Rgb{150, 150, 150}.scalar();
  const cv::Scalar grid_colour = Rgb{232, 232, 232}.scalar();
  for (double v : {0.25, 0.5, 0.75})
    cv::line(mat, Fixed(left_, YOfValue(v)), Fixed(right_, YOfValue(v)), grid_colour, 1, cv::LINE_AA, kShift);
  cv::rectangle(mat, cv::Point(left_, top_), cv::Point(right_, bottom_), axis_colour, 1, cv::LINE_8);
  for (double v : {0.0, 0.5, 1.0}) {
    const std::string label = v == 0.5 ? "0.5" : (v == 0.0 ? "0" : "1");
    const cv::Size size = TextSize(label, text);
    DrawText(&background_, label, left_ - 5 - size.width, static_cast<int>(YOfValue(v)) + size.height / 2, text);
  }
  for (int k = 0; k <= 4; ++k) {
    const int t = static_cast<int>(std::lround(T * k / 4.0));
    const int px = static_cast<int>(std::lround(XOfT(t)));
    cv::line(mat, cv::Point(px, bottom_), cv::Point(px, bottom_ + 3), axis_colour, 1, cv::LINE_8);
    const std::string label = k == 4 ? "t = " + std::to_string(t) : std::to_string(t);
    const cv::Size size = TextSize(label, text);
    const int lx = std::clamp(px - size.width / 2, 0, options.width - size.width - 1);
    DrawText(&background_, label, lx, bottom_ + 6 + size.height, text);
  }
  for (const Curve& c : curves) {
    std::vector<cv::Point> points;
    points.reserve(c.t.size());
    for (size_t k = 0; k < c.t.size(); ++k) points.push_back(Fixed(XOfT(c.t[k]), YOfValue(c.value[k])));
    cv::polylines(mat, points, false, c.colour.scalar(), 2, cv::LINE_AA, kShift);
  }
  if (options.legend) {
    for (size_t k = 0; k < curves.size(); ++k) {
      const int ly = placed[k].y - TextSize("A", text).height / 2;
      cv::line(mat, cv::Point(placed[k].x, ly), cv::Point(placed[k].x + swatch, ly), curves[k].colour.scalar(), 2,
               cv::LINE_AA);
      DrawText(&background_, curves[k].label, placed[k].x + swatch + 4, placed[k].y, text);
    }
  }
  markers_.reserve(curves.size());
  for (Curve& c : curves) markers_.push_back({c.colour, std::move(c.t), std::move(c.value)});
}

double SchedulePlot::XOfT(double t) const { return left_ + (right_ - left_) * (num_steps_ > 0 ? t / num_steps_ : 0.0); }

double SchedulePlot::YOfValue(double value) const { return bottom_ - (bottom_ - top_) * value; }

Frame SchedulePlot::Render(int t) const {
  Frame frame = background_;
  const int clamped = std::clamp(t, 0, num_steps_);
  cv::Mat mat = AsMat(&frame);
  const double px = XOfT(clamped);
  cv::line(mat, Fixed(px, top_), Fixed(px, bottom_), Rgb{60, 60, 60}.scalar(), 1, cv::LINE_AA, kShift);
  for (const Marker& m : markers_) {
    // Curves are sampled at consecutive integer t starting at m.t.front().
    if (m.t.empty() || clamped < m.t.front()) continue;
    const size_t k = static_cast<size_t>(clamped - static_cast<int>(m.t.front()));
    if (k >= m.value.size()) continue;
    cv::circle(mat, Fixed(px, YOfValue(m.value[k])), static_cast<int>(3.5 * kOne), m.colour.scalar(), cv::FILLED,
               cv::LINE_AA, kShift);
  }
  return frame;
}

std::string ScatterOptions::Check() const {
  if (width < 32 || width > 8192 || height < 32 || height > 8192)
    return "scatter size " + std::to_string(width) + "x" + std::to_string(height) + " is outside 32..8192";
  if (!(std::isfinite(x_min) && std::isfinite(x_max) && x_min < x_max))
    return "scatter x limits must be finite with x_min < x_max";
  if (!(std::isfinite(y_min) && std::isfinite(y_max) && y_min < y_max))
    return "scatter y limits must be finite with y_min < y_max";
  if (!(point_radius > 0 && point_radius <= 64 && background_point_radius > 0 && background_point_radius <= 64))
    return "scatter point radii must be in (0, 64] pixels";
  if (max_trajectories < 0) return "max_trajectories must be >= 0";
  if (!std::isfinite(arrow_scale)) return "arrow_scale must be finite";
  return {};
}

Frame RenderScatter(const ScatterContent& content, const ScatterOptions& options) {
  const std::string problem = options.Check();
  Require(problem.empty(), problem);
  Require(content.points != nullptr, "a scatter frame needs points");
  RequireTwoColumns(content.points, "points");
  RequireTwoColumns(content.background, "background");
  RequireTwoColumns(content.field_positions, "field positions");
  RequireTwoColumns(content.field_vectors, "field vectors");
  Require((content.field_positions == nullptr) == (content.field_vectors == nullptr) &&
              (content.field_positions == nullptr || content.field_positions->rows() == content.field_vectors->rows()),
          "scatter field: positions and vectors must both be given, with the same number of rows");
  for (const Batch& state : content.history)
    Require(state.cols() == 2 && state.rows() == content.points->rows(),
            "scatter trajectory history: every state needs the points' shape (" +
                std::to_string(content.points->rows()) + " x 2)");

  Frame frame(options.width, options.height, options.background);
  cv::Mat mat = AsMat(&frame);
  const double sx = options.width / (options.x_max - options.x_min);
  const double sy = options.height / (options.y_max - options.y_min);
  auto px = [&](double x) { return (x - options.x_min) * sx; };
  auto py = [&](double y) { return (options.y_max - y) * sy; };
  const double margin = 8.0;  // pixels beyond the frame where shapes may still show a part
  auto visible = [&](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && x >= -margin && x <= options.width + margin && y >= -margin &&
           y <= options.height + margin;
  };
  auto segment = [&](double x0, double y0, double x1, double y1, const cv::Scalar& colour, int thickness) {
    if (!(std::isfinite(x0) && std::isfinite(y0) && std::isfinite(x1) && std::isfinite(y1))) return;
    if (!ClipSegment(x0, y0, x1, y1, -margin, options.width + margin, -margin, options.height + margin)) return;
    cv::line(mat, Fixed(x0, y0), Fixed(x1, y1), colour, thickness, cv::LINE_AA, kShift);
  };
  auto dots = [&](const Batch& batch, double radius, const cv::Scalar& colour) {
    const int r = std::max(1, static_cast<int>(std::lround(radius * kOne)));
    for (Eigen::Index i = 0; i < batch.rows(); ++i) {
      const double x = px(batch(i, 0)), y = py(batch(i, 1));
      if (visible(x, y)) cv::circle(mat, Fixed(x, y), r, colour, cv::FILLED, cv::LINE_AA, kShift);
    }
  };

  if (content.background != nullptr)
    dots(*content.background, options.background_point_radius, options.background_point_colour.scalar());
  if (options.axes) {
    const cv::Scalar zero_colour = Rgb{215, 215, 215}.scalar();
    if (options.x_min < 0 && options.x_max > 0) segment(px(0), 0, px(0), options.height, zero_colour, 1);
    if (options.y_min < 0 && options.y_max > 0) segment(0, py(0), options.width, py(0), zero_colour, 1);
    cv::rectangle(mat, cv::Point(0, 0), cv::Point(options.width - 1, options.height - 1), Rgb{170, 170, 170}.scalar(),
                  1, cv::LINE_8);
    // The limits, unambiguously: "x -3..3" bottom right, "y -3..3" top left.
    const TextStyle& text = options.text;
    const std::string x_label = "x " + Short(options.x_min) + ".." + Short(options.x_max);
    const std::string y_label = "y " + Short(options.y_min) + ".." + Short(options.y_max);
    DrawText(&frame, x_label, options.width - 5 - TextSize(x_label, text).width, options.height - 6, text);
    DrawText(&frame, y_label, 5, 5 + TextSize(y_label, text).height, text);
  }
  if (content.field_positions != nullptr) {
    const Batch& pos = *content.field_positions;
    const Batch& vec = *content.field_vectors;
    const cv::Scalar colour = options.arrow_colour.scalar();
    for (Eigen::Index i = 0; i < pos.rows(); ++i) {
      const double x0 = px(pos(i, 0)), y0 = py(pos(i, 1));
      const double x1 = px(pos(i, 0) + options.arrow_scale * vec(i, 0));
      const double y1 = py(pos(i, 1) + options.arrow_scale * vec(i, 1));
      if (!visible(x0, y0) || !std::isfinite(x1) || !std::isfinite(y1)) continue;
      const double length = std::hypot(x1 - x0, y1 - y0);
      if (length < 0.5) continue;
      if (length > 4.0 * (options.width + options.height)) continue;  // absurd vectors: skip, never overflow
      const double tip = std::min(0.35, 6.0 / length);
      cv::arrowedLine(mat, Fixed(x0, y0), Fixed(x1, y1), colour, 1, cv::LINE_AA, kShift, tip);
    }
  }
  if (content.overlays != nullptr) {
    const ScatterOverlays& overlays = *content.overlays;
    for (const ScatterField& field : overlays.fields) {
      Require(field.tails.rows() == field.vectors.rows() && (field.tails.rows() == 0 || field.tails.cols() == 2) &&
                  (field.vectors.rows() == 0 || field.vectors.cols() == 2),
              "scatter field: tails and vectors must be k x 2 each");
      double longest = 0;
      for (Eigen::Index i = 0; i < field.vectors.rows(); ++i) {
        const double length = std::hypot(double(field.vectors(i, 0)), double(field.vectors(i, 1)));
        if (std::isfinite(length)) longest = std::max(longest, length);
      }
      if (!(longest > 0)) continue;
      // As the view: the longest arrow is 0.9 of a grid cell.
      const double k = field.cell > 0 ? 0.9 * field.cell / longest : options.arrow_scale;
      const cv::Scalar colour = field.colour.scalar();
      for (Eigen::Index i = 0; i < field.tails.rows(); ++i) {
        const double x0 = px(field.tails(i, 0)), y0 = py(field.tails(i, 1));
        const double x1 = px(field.tails(i, 0) + k * field.vectors(i, 0));
        const double y1 = py(field.tails(i, 1) + k * field.vectors(i, 1));
        if (!visible(x0, y0) || !std::isfinite(x1) || !std::isfinite(y1)) continue;
        const double length = std::hypot(x1 - x0, y1 - y0);
        if (length < 0.5 || length > 4.0 * (options.width + options.height)) continue;
        cv::arrowedLine(mat, Fixed(x0, y0), Fixed(x1, y1), colour, 1, cv::LINE_AA, kShift,
                        std::min(0.35, 6.0 / length));
      }
    }
    auto polyline = [&](const Polyline& line, const cv::Scalar& colour) {
      for (size_t i = 1; i < line.size(); ++i)
        segment(px(line[i - 1].x), py(line[i - 1].y), px(line[i].x), py(line[i].y), colour, 1);
    };
    for (const Polyline& line : overlays.contours) polyline(line, options.contour_colour.scalar());
    for (const Polyline& line : overlays.trajectories) polyline(line, options.trajectory_colour.scalar());
    // The fields' legend, top left under the y limits.
    int y = 10 + 2 * TextSize("y", options.text).height + 4;
    for (const ScatterField& field : overlays.fields) {
      if (field.label.empty()) continue;
      TextStyle style = options.text;
      style.colour = field.colour;
      DrawText(&frame, field.label, 5, y, style);
      y += TextSize(field.label, style).height + 5;
    }
  }
  if (!content.history.empty() && options.max_trajectories > 0 && content.points->rows() > 0) {
    const Eigen::Index n = content.points->rows();
    const Eigen::Index count = std::min<Eigen::Index>(n, options.max_trajectories);
    const cv::Scalar colour = options.trajectory_colour.scalar();
    for (Eigen::Index k = 0; k < count; ++k) {
      const Eigen::Index i = count == n ? k : (k * n) / count;  // evenly spread points
      double x_prev = px(content.history[0](i, 0)), y_prev = py(content.history[0](i, 1));
      for (size_t s = 1; s <= content.history.size(); ++s) {
        const Batch& state = s < content.history.size() ? content.history[s] : *content.points;
        const double x = px(state(i, 0)), y = py(state(i, 1));
        segment(x_prev, y_prev, x, y, colour, 1);
        x_prev = x;
        y_prev = y;
      }
    }
  }
  dots(*content.points, options.point_radius, options.point_colour.scalar());
  return frame;
}

}  // namespace diffuscope

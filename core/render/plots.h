// Plots drawn into frames with OpenCV (no window): the schedule with a moving cursor at t, and 2D scatter views
// with the data set, trajectories and the denoiser's field.
//
//   diffuscope::SchedulePlot plot(schedule, {.width = 512, .height = 200});  // draws the curves once
//   diffuscope::Frame f = plot.Render(250);                                // a copy with the cursor at t = 250
//
//   diffuscope::ScatterOptions view;           // fixed axis limits, so frames of an animation do not jump
//   view.x_min = -2; view.x_max = 2; view.y_min = -2; view.y_max = 2;
//   diffuscope::ScatterContent content;
//   content.points = &x_t;                     // n x 2
//   content.background = &data;                // the data set, faint
//   diffuscope::Frame g = diffuscope::RenderScatter(content, view);
#pragma once

#include "core/common/types.h"
#include "core/render/frame.h"
#include "core/schedule/schedule.h"

#include <span>
#include <string>
#include <vector>

namespace diffuscope {

struct SchedulePlotOptions {
  int width = 512, height = 200;              // pixels, legend and axes included
  bool show_alpha_bar = true;                 // alpha_bar_t
  bool show_sqrt_alpha_bar = true;            // sqrt(alpha_bar_t), the signal coefficient
  bool show_sqrt_one_minus_alpha_bar = true;  // sqrt(1 - alpha_bar_t), the noise coefficient
  bool show_beta = true;                      // beta_t / max beta
  bool show_log_snr = true;                   // log-SNR mapped linearly from [min, max] (finite values) to [0, 1]
  bool legend = true;
  TextStyle text{.font_scale = 0.38, .thickness = 1, .colour = {40, 40, 40}};
  Rgb background{255, 255, 255};

  /// Empty when valid (sizes 160..8192 x 100..8192, something shown), else what is wrong.
  std::string Check() const;
};

/// The schedule plot: curves drawn once at construction; Render(t) copies them and adds the cursor.
class SchedulePlot {
 public:
  /// Throws Error when options.Check() fails.
  SchedulePlot(const NoiseSchedule& schedule, const SchedulePlotOptions& options = {});
  /// The plot with a vertical cursor at paper timestep t (0..T; t = 0 sits on the left edge) and its value.
  Frame Render(int t) const;
  /// The plot without cursor.
  const Frame& background() const { return background_; }
  /// Horizontal pixel position of timestep t (fractional; for tests and mouse picking in the GUI).
  double XOfT(double t) const;
  /// Vertical pixel position of a normalised value in [0, 1].
  double YOfValue(double value) const;

 private:
  SchedulePlotOptions options_;
  int num_steps_ = 0;
  int left_ = 0, right_ = 0, top_ = 0, bottom_ = 0;  // plot area, pixels
  Frame background_;
  struct Marker {
    Rgb colour;
    std::vector<double> t, value;  // consecutive integer t, value normalised to [0, 1]
  };
  std::vector<Marker> markers_;  // the cursor's dot on each curve
};

struct ScatterOptions {
  int width = 512, height = 512;                        // pixels
  double x_min = -4, x_max = 4, y_min = -4, y_max = 4;  // fixed axis limits in data units (y grows upwards)
  double point_radius = 2.0;                            // pixels, antialiased
  double background_point_radius = 1.5;
  Rgb background{255, 255, 255};
  Rgb point_colour{31, 119, 180};
  Rgb background_point_colour{205, 205, 205};  // the data set, faint
  Rgb trajectory_colour{255, 127, 14};
  Rgb arrow_colour{120, 120, 120};
  Rgb contour_colour{200, 90, 0};
  int max_trajectories = 64;  // trajectories drawn (of evenly spread points); 0 = none
  double arrow_scale = 1.0;   // data units drawn per unit of a field vector
  bool axes = true;           // a frame with ticks at the axis limits and zero lines
  TextStyle text{.font_scale = 0.38, .thickness = 1, .colour = {90, 90, 90}};

  /// Empty when valid (sizes 32..8192, x_min < x_max, y_min < y_max, finite), else what is wrong.
  std::string Check() const;
};

/// A point of a polyline, in data units.
struct Point2 {
  double x = 0, y = 0;
  bool operator==(const Point2&) const = default;
};
using Polyline = std::vector<Point2>;

/// Arrows of a vector field on a grid, in data units.
struct ScatterField {
  Batch tails, vectors;  // k x 2
  double cell = 0;       // the grid's spacing: drawn so that the longest arrow is 0.9 cell (0: arrow_scale instead)
  Rgb colour{90, 90, 90};
  std::string label;  // the legend's line ("" = none)
  bool operator==(const ScatterField& other) const {
    return tails == other.tails && vectors == other.vectors && cell == other.cell && colour == other.colour &&
           label == other.label;
  }
};

/// What the app's scatter view draws over the points, computed by the core (core/run/overlays.h,
/// core/render/density.h) so that the view and the export draw the same: fields, density iso-lines, trajectories.
struct ScatterOverlays {
  std::vector<ScatterField> fields;
  std::vector<Polyline> contours;      // density iso-lines of the points
  std::vector<Polyline> trajectories;  // paths of a few particles, oldest first, ending at their x_t
  bool empty() const { return fields.empty() && contours.empty() && trajectories.empty(); }
  bool operator==(const ScatterOverlays&) const = default;
};

/// What a scatter frame shows; each Batch has 2 columns (x, y) in data units. Only points is required.
struct ScatterContent {
  const Batch* points = nullptr;              // x_t, n x 2
  const Batch* background = nullptr;          // the data set (faint points), m x 2
  std::span<const Batch> history{};           // earlier states, oldest first, each n x 2: drawn as polylines per point,
                                              // ending at points
  const Batch* field_positions = nullptr;     // k x 2 arrow tails
  const Batch* field_vectors = nullptr;       // k x 2 arrow vectors (scaled by arrow_scale)
  const ScatterOverlays* overlays = nullptr;  // drawn as the app's view draws them: fields (with their legend),
                                              // contours, trajectories
};

/// Draws a 2D scatter frame. Points outside the axis limits are clipped; NaN points are skipped.
/// Throws Error on bad options or mismatched shapes.
Frame RenderScatter(const ScatterContent& content, const ScatterOptions& options);

}  // namespace diffuscope

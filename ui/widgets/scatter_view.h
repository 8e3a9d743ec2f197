// A fast 2D scatter view: thousands of particles at 60 frames per second, the data set faint behind them,
// trajectories of a few particles, arrows of a vector field, and mouse drawing of new points.
//
//   ScatterView view;
//   view.setBackground(data);            // n x 2, drawn faint
//   view.setParticles(x_t);              // n x 2
//   view.setDrawMode(true);              // left-drag emits pointsDrawn() in data units
#pragma once

#include "core/common/types.h"
#include "core/render/density.h"
#include "core/render/plots.h"

#include <QColor>
#include <QPointF>
#include <QPolygonF>
#include <QVector>
#include <QWidget>

#include <vector>

namespace diffuscope::ui {

/// Arrows: tails and vectors in data units (drawn scaled so that the longest is 0.9 cell).
struct FieldArrows {
  std::vector<QPointF> tails, vectors;
  QColor colour;
  QString label;
  double cell = 0;  // the grid's spacing in data units (0: a cell of the view's width / sqrt(arrows))
};

/// The paint colours of drawn points: colour k paints class k (0 .. kPaintColours - 1).
inline constexpr int kPaintColours = 8;
QColor PaintColour(int k);
/// Its name ("red", "blue", ...).
QString PaintColourName(int k);

class ScatterView : public QWidget {
  Q_OBJECT

 public:
  explicit ScatterView(QWidget* parent = nullptr);

  void setBackground(const Batch& points);
  /// The data drawn with a paint colour per point (classes: one per row, 0 .. kPaintColours - 1), as painted.
  void setBackground(const Batch& points, const std::vector<int>& classes);
  /// The data set drawn faint behind the particles now (n x 2, data units; 0 rows when none is drawn).
  Batch background() const;
  void setParticles(const Batch& points);
  /// Polylines of a few particles, in data units.
  void setTrajectories(std::vector<std::vector<QPointF>> paths);
  void setFields(std::vector<FieldArrows> fields);
  const std::vector<FieldArrows>& fields() const { return fields_; }
  void setCaption(const QString& caption);
  /// Draws iso-lines of a kernel density estimate of the particles over the square shown (the core's
  /// DensityContourLines: 10, 30, 50, 70, 90 % of its maximum).
  void setContours(bool on);
  bool contours() const { return contours_on_; }
  /// The iso-lines drawn now (data units).
  const std::vector<QPolygonF>& contourLines() const { return contour_lines_; }
  /// The same lines as the core computed them.
  const std::vector<Polyline>& contourPolylines() const { return contour_polylines_; }
  /// The square of data space shown: [-half_width, half_width]^2 around the centre (aspect kept).
  void setHalfWidth(double half_width);
  double halfWidth() const { return half_width_; }
  /// The square shown, in the data's units: centre +- half_width; the tick labels are data units.
  void setView(const QPointF& centre, double half_width);
  /// The square shown as a box in the data's units (x and y sides equal); the density contours cover exactly it.
  void setView(const PlotBox& square);
  QPointF centre() const { return centre_; }
  /// The tick values along each axis (data units: 1, 2, 2.5 or 5 times a power of ten apart, 5..11 of them).
  std::vector<double> ticks(bool x_axis) const;
  void setDrawMode(bool on);
  bool drawMode() const { return draw_mode_; }
  /// The points drawn so far in draw mode (data units).
  const QVector<QPointF>& drawnPoints() const { return drawn_; }
  /// The class (paint colour) of each drawn point.
  const QVector<int>& drawnClasses() const { return drawn_classes_; }
  /// The colour the next strokes paint with (class 0 .. kPaintColours - 1).
  void setPaintClass(int k);
  int paintClass() const { return paint_class_; }
  void clearDrawn();
  /// Widget position of a data point, and back.
  QPointF toWidget(const QPointF& point) const;
  QPointF toData(const QPointF& widget) const;
  int particleCount() const { return static_cast<int>(particles_.size()); }
  quint64 frameCount() const { return frame_count_; }

  QSize sizeHint() const override { return {640, 640}; }

 signals:
  /// Emitted while drawing, with every point drawn so far.
  void pointsDrawn(const QVector<QPointF>& points);

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;

 private:
  void addDrawn(const QPointF& widget_position);

  std::vector<QPointF> background_, particles_;
  std::vector<int> background_classes_;  // empty: the data in one faint grey
  std::vector<std::vector<QPointF>> trajectories_;
  std::vector<FieldArrows> fields_;
  void updateContours();
  Batch particle_batch_;
  bool contours_on_ = false;
  std::vector<QPolygonF> contour_lines_;
  std::vector<Polyline> contour_polylines_;
  QVector<QPointF> drawn_;
  QVector<int> drawn_classes_;
  int paint_class_ = 0;
  QString caption_;
  double half_width_ = 3.5;
  QPointF centre_{0.0, 0.0};
  PlotBox box_{-3.5, 3.5, -3.5, 3.5};  // centre_ +- half_width_, as given
  bool draw_mode_ = false;
  quint64 frame_count_ = 0;
};

}  // namespace diffuscope::ui

#include "ui/widgets/scatter_view.h"

#include "core/render/density.h"

#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>

#include <algorithm>
#include <cmath>

namespace diffuscope::ui {

namespace {

std::vector<QPointF> ToPoints(const Batch& points) {
  std::vector<QPointF> out;
  if (points.cols() < 2) return out;
  out.reserve(static_cast<size_t>(points.rows()));
  for (Eigen::Index i = 0; i < points.rows(); ++i) out.emplace_back(points(i, 0), points(i, 1));
  return out;
}

// Tab10's colours without its grey (which the data are drawn in); red first, the colour drawing always had.
constexpr const char* kPaintHex[kPaintColours] = {"#d62728", "#1f77b4", "#2ca02c", "#9467bd",
                                                  "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};

}  // namespace

QColor PaintColour(int k) { return QColor(kPaintHex[((k % kPaintColours) + kPaintColours) % kPaintColours]); }

QString PaintColourName(int k) {
  static const char* const names[kPaintColours] = {QT_TR_NOOP("red"),    QT_TR_NOOP("blue"),   QT_TR_NOOP("green"),
                                                   QT_TR_NOOP("purple"), QT_TR_NOOP("orange"), QT_TR_NOOP("brown"),
                                                   QT_TR_NOOP("pink"),   QT_TR_NOOP("cyan")};
  return QObject::tr(names[((k % kPaintColours) + kPaintColours) % kPaintColours]);
}

ScatterView::ScatterView(QWidget* parent) : QWidget(parent) {
  setAttribute(Qt::WA_OpaquePaintEvent);
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
  setMinimumSize(200, 200);
}

void ScatterView::setBackground(const Batch& points) {
  background_ = ToPoints(points);
  background_classes_.clear();
  update();
}

void ScatterView::setBackground(const Batch& points, const std::vector<int>& classes) {
  background_ = ToPoints(points);
  background_classes_ = classes.size() == background_.size() ? classes : std::vector<int>{};
  update();
}

void ScatterView::setPaintClass(int k) { paint_class_ = std::clamp(k, 0, kPaintColours - 1); }

Batch ScatterView::background() const {
  Batch points(static_cast<Eigen::Index>(background_.size()), 2);
  for (size_t i = 0; i < background_.size(); ++i) {  // float -> double -> float: the very values set
    points(static_cast<Eigen::Index>(i), 0) = static_cast<float>(background_[i].x());
    points(static_cast<Eigen::Index>(i), 1) = static_cast<float>(background_[i].y());
  }
  return points;
}

void ScatterView::setParticles(const Batch& points) {
  particles_ = ToPoints(points);
  if (contours_on_) particle_batch_ = points;
  ++frame_count_;
  updateContours();
  update();
}

void ScatterView::setContours(bool on) {
  contours_on_ = on;
  if (!on) particle_batch_ = Batch();
  else {
    particle_batch_.resize(static_cast<long>(particles_.size()), 2);
    for (size_t i = 0; i < particles_.size(); ++i) {
      particle_batch_(static_cast<long>(i), 0) = static_cast<float>(particles_[i].x());
      particle_batch_(static_cast<long>(i), 1) = static_cast<float>(particles_[i].y());
    }
  }
  updateContours();
  update();
}

void ScatterView::updateContours() {
  contour_lines_.clear();
  contour_polylines_.clear();
  if (!contours_on_) return;
  contour_polylines_ = DensityContourLines(particle_batch_, box_);
  for (const Polyline& line : contour_polylines_) {
    QPolygonF polygon;
    polygon.reserve(static_cast<qsizetype>(line.size()));
    for (const Point2& p : line) polygon << QPointF(p.x, p.y);
    contour_lines_.push_back(std::move(polygon));
  }
}

void ScatterView::setTrajectories(std::vector<std::vector<QPointF>> paths) {
  trajectories_ = std::move(paths);
  update();
}

void ScatterView::setFields(std::vector<FieldArrows> fields) {
  fields_ = std::move(fields);
  update();
}

void ScatterView::setCaption(const QString& caption) {
  caption_ = caption;
  update();
}

void ScatterView::setHalfWidth(double half_width) { setView(centre_, half_width); }

void ScatterView::setView(const QPointF& centre, double half_width) {
  centre_ = std::isfinite(centre.x()) && std::isfinite(centre.y()) ? centre : QPointF(0, 0);
  half_width_ = std::isfinite(half_width) ? std::max(1e-6, half_width) : 3.5;
  box_ = {centre_.x() - half_width_, centre_.x() + half_width_, centre_.y() - half_width_, centre_.y() + half_width_};
  updateContours();
  update();
}

void ScatterView::setView(const PlotBox& square) {
  if (!square.Check().empty()) return setView(QPointF(0, 0), 3.5);
  setView(QPointF((square.x_min + square.x_max) / 2, (square.y_min + square.y_max) / 2),
          (square.x_max - square.x_min) / 2);
  box_ = square;  // exactly as given (the export maps its square with the same DataBox call)
  updateContours();
}

std::vector<double> ScatterView::ticks(bool x_axis) const {
  // The step: the largest of 1, 2, 2.5 or 5 times a power of ten that puts at least 5 ticks on the side (3.5 a
  // side gives the integers -3..3; at most about 11 ticks).
  const double most = 0.4 * half_width_;
  const double power = std::pow(10.0, std::floor(std::log10(most)));
  double step = power;
  for (double m : {2.0, 2.5, 5.0})
    if (m * power <= most * (1 + 1e-9)) step = m * power;
  const double c = x_axis ? centre_.x() : centre_.y();
  std::vector<double> out;
  for (double k = std::ceil((c - half_width_) / step - 1e-9); k * step <= c + half_width_ + 1e-9 * step; ++k)
    out.push_back(std::abs(k) < 1e-9 ? 0.0 : k * step);
  return out;
}

void ScatterView::setDrawMode(bool on) {
  draw_mode_ = on;
  setCursor(on ? Qt::CrossCursor : Qt::ArrowCursor);
  update();
}

void ScatterView::clearDrawn() {
  drawn_.clear();
  drawn_classes_.clear();
  update();
}

QPointF ScatterView::toWidget(const QPointF& point) const {
  const double side = std::min(width(), height()) - 16.0;
  const double scale = side / (2 * half_width_);
  return {width() / 2.0 + (point.x() - centre_.x()) * scale, height() / 2.0 - (point.y() - centre_.y()) * scale};
}

QPointF ScatterView::toData(const QPointF& widget) const {
  const double side = std::min(width(), height()) - 16.0;
  const double scale = side / (2 * half_width_);
  return {centre_.x() + (widget.x() - width() / 2.0) / scale, centre_.y() - (widget.y() - height() / 2.0) / scale};
}

void ScatterView::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  painter.fillRect(rect(), palette().base());
  const bool dark = palette().base().color().lightness() < 128;
  const double side = std::min(width(), height()) - 16.0;
  const double scale = side / (2 * half_width_);
  const QPointF centre(width() / 2.0, height() / 2.0);
  auto map = [&](const QPointF& p) {
    return QPointF(centre.x() + (p.x() - centre_.x()) * scale, centre.y() - (p.y() - centre_.y()) * scale);
  };

  // Frame and axes, in the data's units: zero lines where they fall inside, ticks along the bottom and left edges.
  const double x0 = centre_.x() - half_width_, x1 = centre_.x() + half_width_;
  const double y0 = centre_.y() - half_width_, y1 = centre_.y() + half_width_;
  const QRectF square(map(QPointF(x0, y1)), map(QPointF(x1, y0)));
  painter.setPen(QPen(palette().mid().color(), 1));
  painter.drawRect(square);
  painter.setPen(QPen(palette().midlight().color(), 1, Qt::DotLine));
  if (y0 < 0 && 0 < y1) painter.drawLine(map(QPointF(x0, 0)), map(QPointF(x1, 0)));
  if (x0 < 0 && 0 < x1) painter.drawLine(map(QPointF(0, y0)), map(QPointF(0, y1)));
  painter.setPen(palette().text().color());
  const int text_h = fontMetrics().height();
  for (double v : ticks(true)) {
    const QPointF p = map(QPointF(v, y0));
    painter.drawText(QRectF(p.x() - 30, p.y() - text_h - 2, 60, text_h), Qt::AlignCenter, QString::number(v, 'g', 4));
  }
  if (centre_ != QPointF(0, 0)) {  // off-centre data: the y axis is labelled too (the x labels no longer say it)
    for (double v : ticks(false)) {
      const QPointF p = map(QPointF(x0, v));
      painter.drawText(QRectF(p.x() + 3, p.y() - text_h / 2.0, 60, text_h), Qt::AlignLeft | Qt::AlignVCenter,
                       QString::number(v, 'g', 4));
    }
  }

  // Points: plain squares without antialiasing for large sets (fast), discs for small ones.
  auto draw_points = [&](const std::vector<QPointF>& points, const QColor& colour, double size) {
    if (points.empty()) return;
    std::vector<QPointF> mapped(points.size());
    std::transform(points.begin(), points.end(), mapped.begin(), map);
    const bool round = points.size() <= 4000;
    painter.setRenderHint(QPainter::Antialiasing, round);
    QPen pen(colour, size);
    pen.setCapStyle(round ? Qt::RoundCap : Qt::SquareCap);
    painter.setPen(pen);
    painter.drawPoints(mapped.data(), static_cast<int>(mapped.size()));
  };
  painter.setClipRect(square.adjusted(1, 1, -1, -1));  // particles far out (x_T tails) stay inside the frame
  if (background_classes_.empty()) {
    draw_points(background_, dark ? QColor(120, 120, 120, 170) : QColor(170, 170, 170, 190), 3.5);
  } else {  // painted data: each class in its paint colour, faint
    std::vector<std::vector<QPointF>> by_class(kPaintColours);
    for (size_t i = 0; i < background_.size(); ++i)
      by_class[static_cast<size_t>(std::clamp(background_classes_[i], 0, kPaintColours - 1))].push_back(background_[i]);
    for (int k = 0; k < kPaintColours; ++k) {
      QColor colour = PaintColour(k);
      colour.setAlpha(dark ? 120 : 90);
      draw_points(by_class[static_cast<size_t>(k)], colour, 3.5);
    }
  }

  // A dark colour on a dark palette is lightened so that it stays visible.
  auto readable = [dark](const QColor& colour) {
    return dark && colour.lightness() < 128 ? colour.lighter(260) : colour;
  };

  // Field arrows, scaled so the longest is one grid cell.
  painter.setRenderHint(QPainter::Antialiasing, true);
  for (const FieldArrows& field : fields_) {
    double longest = 0;
    for (const QPointF& v : field.vectors) longest = std::max(longest, std::hypot(v.x(), v.y()));
    if (longest <= 0 || field.tails.empty()) continue;
    const double cells = std::sqrt(static_cast<double>(field.tails.size()));
    const double cell = field.cell > 0 ? field.cell : 2 * half_width_ / std::max(1.0, cells);
    const double k = 0.9 * cell / longest;
    painter.setPen(QPen(readable(field.colour), 1.2));
    for (size_t i = 0; i < field.tails.size() && i < field.vectors.size(); ++i) {
      const QPointF tail = map(field.tails[i]);
      const QPointF head = map(field.tails[i] + field.vectors[i] * k);
      const QPointF d = head - tail;
      const double length = std::hypot(d.x(), d.y());
      if (length < 0.5) continue;
      painter.drawLine(tail, head);
      const QPointF u = d / length, n(-u.y(), u.x());
      const double h = std::min(5.0, 0.35 * length);
      painter.drawLine(head, head - u * h + n * h * 0.5);
      painter.drawLine(head, head - u * h - n * h * 0.5);
    }
  }

  // Density iso-lines of the particles.
  if (!contour_lines_.empty()) {
    painter.setPen(QPen(dark ? QColor(255, 190, 90, 220) : QColor(200, 90, 0, 220), 1.2));
    painter.setBrush(Qt::NoBrush);
    for (const QPolygonF& line : contour_lines_) {
      QPolygonF mapped;
      mapped.reserve(line.size());
      for (const QPointF& p : line) mapped << map(p);
      painter.drawPolyline(mapped);
    }
  }

  // Trajectories.
  const QColor trajectory(255, 127, 14, 150);
  painter.setPen(QPen(trajectory, 1.0));
  for (const auto& path : trajectories_) {
    if (path.size() < 2) continue;
    QPainterPath line(map(path.front()));
    for (size_t i = 1; i < path.size(); ++i) line.lineTo(map(path[i]));
    painter.drawPath(line);
  }

  draw_points(particles_, dark ? QColor(100, 170, 255, 200) : QColor(31, 119, 180, 190), 3.2);
  if (!drawn_.isEmpty()) {  // each stroke in its paint colour
    std::vector<std::vector<QPointF>> by_class(kPaintColours);
    for (qsizetype i = 0; i < drawn_.size(); ++i)
      by_class[static_cast<size_t>(drawn_classes_.value(i, 0))].push_back(drawn_[i]);
    for (int k = 0; k < kPaintColours; ++k) {
      QColor colour = PaintColour(k);
      colour.setAlpha(220);
      draw_points(by_class[static_cast<size_t>(k)], colour, 4.0);
    }
  }

  // Legend of the fields and the caption.
  painter.setClipping(false);
  painter.setRenderHint(QPainter::Antialiasing, false);
  int y = static_cast<int>(square.top()) + 4 + (caption_.isEmpty() ? 0 : text_h);  // below the caption
  for (const FieldArrows& field : fields_) {
    if (field.label.isEmpty()) continue;
    painter.setPen(readable(field.colour));
    painter.drawText(QRectF(square.left() + 8, y, square.width() - 16, text_h), Qt::AlignLeft, field.label);
    y += text_h;
  }
  painter.setPen(palette().text().color());
  if (!caption_.isEmpty()) {
    painter.drawText(QRectF(square.left(), square.top() + 4, square.width() - 8, text_h), Qt::AlignRight, caption_);
  }
  if (draw_mode_) {
    painter.setPen(PaintColour(paint_class_));
    painter.drawText(QRectF(square.left() + 8, square.bottom() - text_h - 4, square.width() - 16, text_h),
                     Qt::AlignLeft,
                     tr("Drawing class %1 (%2): drag with the left button (%3 points)")
                         .arg(paint_class_)
                         .arg(PaintColourName(paint_class_))
                         .arg(drawn_.size()));
  }
}

void ScatterView::addDrawn(const QPointF& widget_position) {
  const QPointF p = toData(widget_position);
  if (std::abs(p.x() - centre_.x()) > half_width_ || std::abs(p.y() - centre_.y()) > half_width_) return;
  drawn_.append(p);
  drawn_classes_.append(paint_class_);
  emit pointsDrawn(drawn_);
  update();
}

void ScatterView::mousePressEvent(QMouseEvent* event) {
  if (draw_mode_ && event->button() == Qt::LeftButton) {
    addDrawn(event->position());
    event->accept();
    return;
  }
  QWidget::mousePressEvent(event);
}

void ScatterView::mouseMoveEvent(QMouseEvent* event) {
  if (draw_mode_ && (event->buttons() & Qt::LeftButton)) {
    addDrawn(event->position());
    event->accept();
    return;
  }
  QWidget::mouseMoveEvent(event);
}

}  // namespace diffuscope::ui

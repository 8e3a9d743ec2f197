#include "ui/widgets/frame_view.h"

#include <QPainter>
#include <QPainterPath>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace diffuscope::ui {

QIcon ThemedIcon(QStyle::StandardPixmap which, const QWidget* widget) {
  const QIcon icon = widget->style()->standardIcon(which, nullptr, widget);
  if (widget->palette().window().color().lightness() >= 128) return icon;
  QIcon themed;
  for (const int size : {16, 22, 24, 32, 48}) {
    QPixmap pixmap = icon.pixmap(size, size);
    if (pixmap.isNull()) continue;
    QPainter painter(&pixmap);
    painter.setCompositionMode(QPainter::CompositionMode_SourceIn);
    painter.fillRect(pixmap.rect(), widget->palette().color(QPalette::WindowText));
    painter.end();
    themed.addPixmap(pixmap);
  }
  return themed.isNull() ? icon : themed;
}

QImage ToQImage(Frame frame) {
  if (frame.empty()) return {};
  auto* owned = new Frame(std::move(frame));
  return QImage(
      owned->rgb.data(), owned->width, owned->height, owned->width * 3, QImage::Format_RGB888,
      [](void* info) { delete static_cast<Frame*>(info); }, owned);
}

QImage ToQImage(DisplayImage image) {
  if (image.pixels.empty()) return {};
  auto* owned = new DisplayImage(std::move(image));
  const QImage::Format format = owned->channels == 1 ? QImage::Format_Grayscale8 : QImage::Format_RGB888;
  return QImage(
      owned->pixels.data(), owned->width, owned->height, owned->width * owned->channels, format,
      [](void* info) { delete static_cast<DisplayImage*>(info); }, owned);
}

FrameView::FrameView(const QString& title, QWidget* parent) : QWidget(parent), title_(title) {
  setAttribute(Qt::WA_OpaquePaintEvent);
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

void FrameView::setImage(const QImage& image) {
  image_ = image;
  ++frame_count_;
  update();
}

void FrameView::setTitle(const QString& title) {
  title_ = title;
  update();
}

void FrameView::setPlaceholder(const QString& text) {
  placeholder_ = text;
  update();
}

void FrameView::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  painter.fillRect(rect(), palette().base());
  const int title_height = title_.isEmpty() ? 0 : fontMetrics().height() + 4;
  if (!title_.isEmpty()) {
    painter.setPen(palette().text().color());
    QFont bold = font();
    bold.setBold(true);
    painter.setFont(bold);
    painter.drawText(QRect(0, 0, width(), title_height), Qt::AlignCenter, title_);
    painter.setFont(font());
  }
  const QRect area = rect().adjusted(4, title_height, -4, -4);
  if (image_.isNull()) {
    painter.setPen(palette().placeholderText().color());
    painter.drawText(area, Qt::AlignCenter | Qt::TextWordWrap, placeholder_);
    return;
  }
  const QSize fitted = image_.size().scaled(area.size(), Qt::KeepAspectRatio);
  const QRect target(area.x() + (area.width() - fitted.width()) / 2, area.y() + (area.height() - fitted.height()) / 2,
                     fitted.width(), fitted.height());
  // Enlarged images keep sharp pixels (noise is per pixel); reduced ones are filtered.
  const bool enlarging = fitted.width() * devicePixelRatioF() > image_.width();
  painter.setRenderHint(QPainter::SmoothPixmapTransform, !enlarging);
  painter.drawImage(target, image_);
}

Histogram MakeHistogram(const float* values, long long count, int bins, double lo, double hi) {
  Histogram h;
  h.lo = lo;
  h.hi = hi;
  h.counts.assign(bins, 0.0);
  const double scale = bins / (hi - lo);
  for (long long i = 0; i < count; ++i) {
    const double v = values[i];
    if (!(v >= lo && v < hi)) continue;
    h.counts[std::min(bins - 1, static_cast<int>((v - lo) * scale))] += 1;
  }
  h.total = static_cast<double>(count);
  return h;
}

HistogramView::HistogramView(QWidget* parent) : QWidget(parent) {
  setMinimumHeight(140);
  setToolTip(
      tr("Histogram of the pixel values of x_t (bars) against the standard normal density (curve): "
         "at t = T they should agree"));
}

void HistogramView::setHistogram(Histogram histogram, const QString& caption) {
  histogram_ = std::move(histogram);
  caption_ = caption;
  update();
}

void HistogramView::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  painter.setRenderHint(QPainter::Antialiasing);
  painter.fillRect(rect(), palette().base());
  const int text_h = fontMetrics().height();
  const QRectF plot = QRectF(rect()).adjusted(8, text_h + 6, -8, -text_h - 6);
  painter.setPen(palette().text().color());
  painter.drawText(QRect(0, 2, width(), text_h), Qt::AlignCenter, caption_);
  if (histogram_.counts.empty() || histogram_.total <= 0 || plot.height() < 10) return;

  const int bins = static_cast<int>(histogram_.counts.size());
  const double width = (histogram_.hi - histogram_.lo) / bins;
  // Densities: counts / (total * bin width); the normal's peak is 0.399.
  double peak = 1.0 / std::sqrt(2 * std::numbers::pi);
  std::vector<double> density(bins);
  for (int i = 0; i < bins; ++i) {
    density[i] = histogram_.counts[i] / (histogram_.total * width);
    peak = std::max(peak, density[i]);
  }
  peak *= 1.05;
  auto x_of = [&](double v) {
    return plot.left() + (v - histogram_.lo) / (histogram_.hi - histogram_.lo) * plot.width();
  };
  auto y_of = [&](double d) { return plot.bottom() - d / peak * plot.height(); };
  QColor bar = palette().highlight().color();
  bar.setAlpha(150);
  for (int i = 0; i < bins; ++i) {
    const double v0 = histogram_.lo + i * width;
    painter.fillRect(QRectF(QPointF(x_of(v0), y_of(density[i])), QPointF(x_of(v0 + width), plot.bottom())), bar);
  }
  QPainterPath curve;
  for (int k = 0; k <= 200; ++k) {
    const double v = histogram_.lo + (histogram_.hi - histogram_.lo) * k / 200.0;
    const double d = std::exp(-0.5 * v * v) / std::sqrt(2 * std::numbers::pi);
    if (k == 0) curve.moveTo(x_of(v), y_of(d));
    else curve.lineTo(x_of(v), y_of(d));
  }
  painter.setPen(QPen(QColor(0xd6, 0x27, 0x28), 2));
  painter.drawPath(curve);
  painter.setPen(palette().mid().color());
  painter.drawLine(QPointF(plot.left(), plot.bottom()), QPointF(plot.right(), plot.bottom()));
  painter.setPen(palette().text().color());
  for (double v : {histogram_.lo, -2.0, 0.0, 2.0, histogram_.hi}) {
    painter.drawText(QRectF(x_of(v) - 20, plot.bottom() + 2, 40, text_h), Qt::AlignCenter, QString::number(v));
  }
  painter.drawText(QRectF(plot.right() - 160, plot.top(), 160, text_h), Qt::AlignRight, tr("— N(0, 1)"));
}

}  // namespace diffuscope::ui

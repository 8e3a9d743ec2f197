// Views of frames the core rendered: FrameView shows one image (scaled to fit, aspect kept, sharp pixels when
// enlarged), HistogramView a histogram of pixel values against the N(0, 1) density.
//
//   diffuscope::ui::FrameView view(tr("x_t"));
//   view.setImage(ToQImage(std::move(frame)));   // no copy of the pixels
#pragma once

#include "core/forward/forward.h"
#include "core/render/frame.h"

#include <QIcon>
#include <QImage>
#include <QStyle>
#include <QWidget>

#include <vector>

namespace diffuscope::ui {

/// Wraps a core Frame (RGB8) as a QImage without copying; the QImage owns the frame.
QImage ToQImage(Frame frame);
/// Wraps a core DisplayImage (grey or RGB) as a QImage without copying.
QImage ToQImage(DisplayImage image);

/// A monochrome standard icon (play, seek, ...) drawn in the palette's text colour when the palette is dark (the
/// styles draw them dark grey, unreadable on a dark window); otherwise the style's icon as it is.
QIcon ThemedIcon(QStyle::StandardPixmap which, const QWidget* widget);

class FrameView : public QWidget {
  Q_OBJECT

 public:
  explicit FrameView(const QString& title = QString(), QWidget* parent = nullptr);

  void setImage(const QImage& image);
  const QImage& image() const { return image_; }
  void setTitle(const QString& title);
  /// A line shown in the middle when there is no image (e.g. "Loading...").
  void setPlaceholder(const QString& text);
  /// How many images were handed to the view (for tests and the benchmark).
  quint64 frameCount() const { return frame_count_; }

  QSize sizeHint() const override { return {480, 480}; }
  QSize minimumSizeHint() const override { return {120, 120}; }

 protected:
  void paintEvent(QPaintEvent* event) override;

 private:
  QImage image_;
  QString title_;
  QString placeholder_;
  quint64 frame_count_ = 0;
};

/// A histogram with bins over [lo, hi] and the standard normal density drawn over it.
struct Histogram {
  double lo = -4, hi = 4;
  std::vector<double> counts;  // per bin
  double total = 0;            // all values, including those outside [lo, hi]
};

/// Counts values into `bins` bins over [lo, hi].
Histogram MakeHistogram(const float* values, long long count, int bins = 96, double lo = -4, double hi = 4);

class HistogramView : public QWidget {
  Q_OBJECT

 public:
  explicit HistogramView(QWidget* parent = nullptr);
  void setHistogram(Histogram histogram, const QString& caption);
  QSize sizeHint() const override { return {360, 200}; }

 protected:
  void paintEvent(QPaintEvent* event) override;

 private:
  Histogram histogram_;
  QString caption_;
};

}  // namespace diffuscope::ui

#include "ui/widgets/panel_grid.h"

#include <QEvent>
#include <QFontMetrics>

#include <algorithm>
#include <cmath>

namespace diffuscope::ui {

namespace {
// FrameView's own frame around its image: 4 pixels each side, the title above (font height + 4).
constexpr int kMargin = 4;
constexpr int kGap = 6;
}  // namespace

PanelArrangement ArrangePanels(int n, double aspect, int width, int height, int title_height, int margin, int gap) {
  PanelArrangement best;
  if (n <= 0 || aspect <= 0 || width <= 0 || height <= 0) return best;
  for (int columns = 1; columns <= n; ++columns) {
    const int rows = (n + columns - 1) / columns;
    const double cell_w = (width - (columns - 1) * gap) / double(columns);
    const double cell_h = (height - (rows - 1) * gap) / double(rows);
    const double image_w = std::min(cell_w - 2 * margin, (cell_h - title_height - margin) * aspect);
    if (image_w <= 0) continue;
    const int w = static_cast<int>(std::floor(image_w));
    if (w > best.image_width) {
      best.columns = columns;
      best.rows = rows;
      best.image_width = w;
      best.image_height = std::max(1, static_cast<int>(std::floor(image_w / aspect)));
    }
  }
  return best;
}

PanelGrid::PanelGrid(QWidget* parent) : QWidget(parent) {}

void PanelGrid::addPanel(QWidget* panel) {
  panel->setParent(this);
  panel->installEventFilter(this);
  panels_.push_back(panel);
  relayout();
}

void PanelGrid::setAspectRatio(double aspect) {
  if (!(aspect > 0) || std::abs(aspect - aspect_) < 1e-9) return;
  aspect_ = aspect;
  relayout();
}

void PanelGrid::resizeEvent(QResizeEvent* event) {
  QWidget::resizeEvent(event);
  relayout();
}

bool PanelGrid::event(QEvent* event) {
  if (event->type() == QEvent::FontChange || event->type() == QEvent::LayoutRequest) relayout();
  return QWidget::event(event);
}

bool PanelGrid::eventFilter(QObject* watched, QEvent* event) {
  // A panel shown or hidden gives or takes a place.
  if (event->type() == QEvent::ShowToParent || event->type() == QEvent::HideToParent) relayout();
  return QWidget::eventFilter(watched, event);
}

void PanelGrid::relayout() {
  std::vector<QWidget*> shown;
  for (QWidget* panel : panels_)
    if (!panel->isHidden()) shown.push_back(panel);
  if (shown.empty()) return;
  const int title_height = fontMetrics().height() + 4;
  const PanelArrangement a =
      ArrangePanels(static_cast<int>(shown.size()), aspect_, width(), height(), title_height, kMargin, kGap);
  if (a.image_width <= 0) {
    for (QWidget* panel : shown) panel->setGeometry(0, 0, 0, 0);
    return;
  }
  const int cell_w = a.image_width + 2 * kMargin, cell_h = a.image_height + title_height + kMargin;
  const int total_w = a.columns * cell_w + (a.columns - 1) * kGap;
  const int total_h = a.rows * cell_h + (a.rows - 1) * kGap;
  const int x0 = std::max(0, (width() - total_w) / 2), y0 = std::max(0, (height() - total_h) / 2);
  for (size_t i = 0; i < shown.size(); ++i) {
    const int column = static_cast<int>(i) % a.columns, row = static_cast<int>(i) / a.columns;
    shown[i]->setGeometry(x0 + column * (cell_w + kGap), y0 + row * (cell_h + kGap), cell_w, cell_h);
  }
}

}  // namespace diffuscope::ui

// A grid of image panels at one size that fills the space: for the panels shown, it picks the number of columns
// that makes the images largest at the image's aspect ratio, and sizes every cell to that image plus its title,
// so the panels do not float small in margins (the images workspace: x_t, x0_hat, eps_hat, noise, ...).
//
//   PanelGrid grid;
//   grid.addPanel(x_t_view);  grid.addPanel(x0_view);     // in reading order
//   grid.setAspectRatio(512.0 / 384.0);                    // width / height of the images shown
//   x0_view->setVisible(false);                            // hidden panels give their place to the others
#pragma once

#include <QWidget>

#include <vector>

namespace diffuscope::ui {

/// The grid's arrangement for n panels in a width x height area: columns, rows and the image side that fits.
struct PanelArrangement {
  int columns = 1, rows = 1;
  int image_width = 0, image_height = 0;  // of each panel's image
};
/// The arrangement that makes n images of aspect ratio `aspect` (width / height) largest in the area; each cell
/// also holds `title_height` pixels of title and `margin` pixels around the image, cells `gap` pixels apart.
PanelArrangement ArrangePanels(int n, double aspect, int width, int height, int title_height, int margin, int gap);

class PanelGrid : public QWidget {
  Q_OBJECT

 public:
  explicit PanelGrid(QWidget* parent = nullptr);

  /// Adds a panel (reparented to the grid); the grid places the visible ones in the order added.
  void addPanel(QWidget* panel);
  /// Width / height of the images the panels show (> 0); re-lays the panels out when it changes.
  void setAspectRatio(double aspect);
  double aspectRatio() const { return aspect_; }
  /// Where each visible panel is (for tests).
  const std::vector<QWidget*>& panels() const { return panels_; }

  QSize sizeHint() const override { return {900, 700}; }
  QSize minimumSizeHint() const override { return {200, 160}; }

 protected:
  void resizeEvent(QResizeEvent* event) override;
  bool event(QEvent* event) override;
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  void relayout();

  std::vector<QWidget*> panels_;
  double aspect_ = 4.0 / 3.0;
};

}  // namespace diffuscope::ui

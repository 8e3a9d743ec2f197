// The main window: the images and 2D workspaces as tabs over one Timeline and one SchedulePanel, menus with
// every action (tooltips, shortcuts), the status bar (t, beta_t, alpha_bar_t, SNR, seed), sessions, settings.
//
//   diffuscope::ui::MainWindow window;
//   window.openImage("photo.png");   // false and an error dialog on a bad file
//   window.show();
#pragma once

#include "ui/state/document.h"
#include "ui/widgets/timeline.h"

#include <QMainWindow>

class QLabel;
class QMenu;
class QSpinBox;
class QComboBox;
class QTabWidget;

namespace diffuscope::ui {

class ImageWorkspace;
class PointsWorkspace;
class SchedulePanel;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  Document* document() { return &document_; }
  TimelineModel* timeline() { return &timeline_; }
  TimelineWidget* timelineWidget() { return timeline_widget_; }
  SchedulePanel* schedulePanel() { return schedule_panel_; }
  ImageWorkspace* imageWorkspace() { return image_workspace_; }
  PointsWorkspace* pointsWorkspace() { return points_workspace_; }

  /// Opens an image into the images workspace; on failure shows an error dialog (unless quiet) and
  /// returns false, leaving the current image.
  bool openImage(const QString& path, bool quiet = false);
  /// Opens a session file; on failure an error dialog and false.
  bool openSession(const QString& path, bool quiet = false);
  /// Saves the session; on failure an error dialog and false.
  bool saveSession(const QString& path, bool quiet = false);
  /// The status bar's text (for tests).
  QString statusText() const;

 protected:
  void closeEvent(QCloseEvent* event) override;
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  void createActions();
  void updateStatus();
  void updateRecentMenu();
  void showAbout();
  void showError(const QString& title, const QString& message);
  void openImageDialog();
  void openSessionDialog();
  void saveSessionDialog();

  Document document_;
  TimelineModel timeline_;
  TimelineWidget* timeline_widget_;
  SchedulePanel* schedule_panel_;
  QTabWidget* tabs_;
  ImageWorkspace* image_workspace_;
  PointsWorkspace* points_workspace_;
  QLabel* status_label_;
  QSpinBox* seed_box_;
  QComboBox* path_box_;
  QMenu* recent_menu_;
  QString session_path_;
};

}  // namespace diffuscope::ui

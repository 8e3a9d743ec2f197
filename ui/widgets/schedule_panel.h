// The schedule panel: plots of beta_t, alpha_bar_t, sqrt(alpha_bar_t), sqrt(1 - alpha_bar_t) and log-SNR from
// the core's NoiseSchedule, a cursor line at the document's t (click or drag on a plot to move t), the
// schedule controls, an optional comparison schedule drawn dashed, and warnings about the chosen schedule.
//
//   diffuscope::ui::SchedulePanel panel(&document);   // follows document.t() and document.schedule()
#pragma once

#include "ui/state/document.h"

#include <QChartView>
#include <QLineSeries>
#include <QValueAxis>
#include <QWidget>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSlider;
class QSpinBox;

namespace diffuscope::ui {

/// A chart view that reports the t under the mouse while the left button is pressed or dragged.
class ScheduleChartView : public QChartView {
  Q_OBJECT

 public:
  explicit ScheduleChartView(QChart* chart, QWidget* parent = nullptr);
  /// The widget position of value (t, y) in this chart (for tests and tooltips).
  QPoint positionOf(double t, double y) const;

 signals:
  void tPicked(int t);

 protected:
  void mousePressEvent(QMouseEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;

 private:
  void pick(const QPointF& position);
};

/// Warnings about a schedule, in words a user can act on (empty when the schedule is fine).
/// alpha_bar_T above kTerminalAlphaBarLimit: x_T is far from N(0, I). sqrt(1 - alpha_bar_1) above
/// kFirstStepNoiseLimit: the first step already adds noise of more than 5% of the pixel range.
QStringList ScheduleWarnings(const NoiseSchedule& schedule);
inline constexpr double kTerminalAlphaBarLimit = 0.01;
inline constexpr double kFirstStepNoiseLimit = 0.1;

class SchedulePanel : public QWidget {
  Q_OBJECT

 public:
  explicit SchedulePanel(Document* document, QWidget* parent = nullptr);

  /// The t the cursor lines are drawn at.
  double cursorT() const;
  /// The three chart views: 0 = alpha_bar and its square roots, 1 = beta_t, 2 = log-SNR.
  ScheduleChartView* chartView(int index) const { return views_[index]; }
  /// The text of the warning line (empty when none).
  QString warningText() const;
  QSlider* stepsSlider() const { return steps_slider_; }

 private:
  void rebuildCurves();
  void rebuildCompare();
  void moveCursor(int t);
  void syncControls();
  void applyControls(bool merge);
  void applyCompare();
  void loadCustom();
  void showError(const QString& message);

  Document* document_;
  QChart* charts_[3];
  ScheduleChartView* views_[3];
  QValueAxis* x_axes_[3];
  QValueAxis* y_axes_[3];
  QLineSeries* cursors_[3];
  QLineSeries *alpha_bar_, *sqrt_alpha_bar_, *sqrt_one_minus_, *beta_, *log_snr_;
  QLineSeries *cmp_alpha_bar_, *cmp_sqrt_alpha_bar_, *cmp_sqrt_one_minus_, *cmp_beta_, *cmp_log_snr_;
  double y_min_[3] = {0, 0, -10}, y_max_[3] = {1, 0.02, 10};

  QComboBox* kind_box_;
  QSpinBox* steps_box_;
  QSlider* steps_slider_;
  QDoubleSpinBox* beta_start_box_;
  QDoubleSpinBox* beta_end_box_;
  QCheckBox* zero_snr_box_;
  QPushButton* custom_button_;
  QCheckBox* compare_box_;
  QComboBox* compare_kind_box_;
  QSpinBox* compare_steps_box_;
  QCheckBox* compare_zero_snr_box_;
  QLabel* warning_;
  QLabel* error_;
  bool syncing_ = false;
};

}  // namespace diffuscope::ui

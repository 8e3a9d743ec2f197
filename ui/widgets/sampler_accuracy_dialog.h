// "Sampler accuracy": every sampler's endpoint error against the exact probability-flow solve of the 8gaussians
// Gaussian mixture, and its energy distance to that law, against the number of network evaluations (a log-log
// chart and a table). The core computes it (MeasureSamplerError) on a worker thread, with progress and Cancel.
//
//   auto* dialog = new diffuscope::ui::SamplerAccuracyDialog(document->scheduleOptions(), window);
//   dialog->show();   // the user picks the schedule, particles and NFE list, then Measure
#pragma once

#include "core/run/sampler_error.h"

#include <QDialog>

#include <optional>

class QChart;
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace diffuscope::ui {

class BackgroundTask;

class SamplerAccuracyDialog : public QDialog {
  Q_OBJECT

 public:
  /// schedule: the document's, offered beside Karras et al.'s noise levels.
  explicit SamplerAccuracyDialog(const ScheduleOptions& schedule, QWidget* parent = nullptr);
  ~SamplerAccuracyDialog() override;

  /// The options the controls describe (Error text in *problem when they are not valid).
  SamplerErrorOptions options(QString* problem) const;
  /// Starts the measurement (does nothing while one runs).
  void measure();
  void cancel();
  bool running() const;
  /// The last finished measurement.
  const std::optional<SamplerErrorReport>& report() const { return report_; }
  QChart* chart() const { return chart_; }
  QTableWidget* table() const { return table_; }
  QLabel* status() const { return status_; }
  // The controls, for tests.
  QComboBox* scheduleChoice() const { return schedule_; }
  QSpinBox* particles() const { return particles_; }
  QLineEdit* nfeList() const { return nfe_; }

 private:
  void showReport();
  void plot();

  ScheduleOptions document_schedule_;
  QComboBox* schedule_;
  QSpinBox* particles_;
  QLineEdit* nfe_;
  QComboBox* quantity_;
  QPushButton* measure_;
  QPushButton* cancel_;
  QProgressBar* progress_;
  QLabel* status_;
  QChart* chart_;
  QTableWidget* table_;
  BackgroundTask* task_;
  std::optional<SamplerErrorReport> report_;
  std::vector<SamplerKind> samplers_;  // of the report, in order
};

}  // namespace diffuscope::ui

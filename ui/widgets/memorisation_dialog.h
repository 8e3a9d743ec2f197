// "Memorisation study": for each training-set size N the 2D DDPM is trained on the first N points of a data set (the
// same budget and seed each), sampled, and its samples' mean distance to the nearest training point is charted
// against N beside the held-out points' and the empirical denoiser's (which copies exactly): where the DDPM's curve
// meets the held-out one, it stops copying and generalises (Kadkhodaie et al. 2024). MeasureMemorisation runs on a
// worker thread with progress and Cancel.
//
//   auto* dialog = new diffuscope::ui::MemorisationDialog(window);
//   dialog->show();   // pick the data, sizes and budget, then Measure
#pragma once

#include "core/run/memorisation.h"

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

class MemorisationDialog : public QDialog {
  Q_OBJECT

 public:
  explicit MemorisationDialog(QWidget* parent = nullptr);
  ~MemorisationDialog() override;

  /// The options the controls describe (the problem in *problem when they are not valid).
  MemorisationOptions options(QString* problem) const;
  /// Starts the study (does nothing while one runs).
  void measure();
  void cancel();
  bool running() const;
  const std::optional<MemorisationReport>& report() const { return report_; }
  QChart* chart() const { return chart_; }
  QTableWidget* table() const { return table_; }
  QLabel* status() const { return status_; }
  QComboBox* dataChoice() const { return data_; }
  QLineEdit* sizesList() const { return sizes_; }
  QSpinBox* iterations() const { return iterations_; }

 private:
  void showReport();

  QComboBox* data_;
  QLineEdit* sizes_;
  QSpinBox* iterations_;
  QPushButton* measure_;
  QPushButton* cancel_;
  QProgressBar* progress_;
  QLabel* status_;
  QChart* chart_;
  QTableWidget* table_;
  BackgroundTask* task_;
  std::optional<MemorisationReport> report_;
};

}  // namespace diffuscope::ui

// "Compare": two views of sampling paths side by side, computed by the core (core/run/compare_paths.h) on a worker
// thread with progress and Cancel.
//  - Probability-flow ODE against the reverse SDE on the 2D workspace's model from one x_T: the paths of the same
//    12 particles in two panels, a chart of the two runs along t (their spread, the same marginals; the distance
//    between paired particles, different paths) and a table (NFE, energy distance to the data, path length / chord).
//  - Flow matching against a DDPM trained here on the same data and budget from the same noise: their paths,
//    energy distance per number of steps (log-log) and a table, the rows of diffuscope-cli compare-flow.
//
//   auto* dialog = new diffuscope::ui::CompareDialog(points_workspace->currentModel(), window);
//   dialog->show();   // pick the comparison and its settings, then Measure
#pragma once

#include "core/run/compare_paths.h"
#include "ui/widgets/points_workspace.h"

#include <QDialog>

#include <optional>

class QChart;
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QStackedWidget;
class QTableWidget;

namespace diffuscope::ui {

class BackgroundTask;
class ScatterView;

class CompareDialog : public QDialog {
  Q_OBJECT

 public:
  enum class Mode { kOdeSde = 0, kFlowDdpm = 1 };

  /// model: the 2D workspace's (the ODE / SDE comparison runs it; its data and seed are the flow study's defaults).
  explicit CompareDialog(WorkspaceModel model, QWidget* parent = nullptr);
  ~CompareDialog() override;

  Mode mode() const;
  void setMode(Mode mode);
  /// The options the controls describe (the problem in *problem when they are not valid).
  OdeSdeOptions odeSdeOptions(QString* problem) const;
  FlowDdpmStudyOptions flowOptions(QString* problem) const;
  /// Starts the comparison of the current mode (does nothing while one runs).
  void measure();
  void cancel();
  bool running() const;
  /// The last finished comparisons.
  const std::optional<OdeSdeComparison>& odeSde() const { return ode_sde_; }
  const std::optional<FlowDdpmStudy>& flowStudy() const { return flow_; }
  const QString& note() const { return note_; }
  // Views and controls, for tests.
  QChart* chart() const { return chart_; }
  QTableWidget* table() const { return table_; }
  QLabel* status() const { return status_; }
  ScatterView* leftPanel() const { return left_; }
  ScatterView* rightPanel() const { return right_; }
  QSpinBox* steps() const { return steps_; }
  QSpinBox* particles() const { return particles_; }
  QComboBox* flowData() const { return flow_data_; }
  QSpinBox* iterations() const { return iterations_; }
  QSpinBox* batch() const { return batch_; }
  QLineEdit* stepList() const { return step_list_; }
  QSpinBox* samples() const { return samples_; }
  QComboBox* pathSteps() const { return path_steps_; }

 private:
  void onModeChanged();
  void showOdeSde();
  void showFlow();
  void showFlowPaths();
  void clearChart();

  WorkspaceModel model_;
  QComboBox* mode_;
  QStackedWidget* settings_;
  QSpinBox* steps_;
  QSpinBox* particles_;
  QComboBox* flow_data_;
  QSpinBox* iterations_;
  QSpinBox* batch_;
  QLineEdit* step_list_;
  QSpinBox* samples_;
  QComboBox* path_steps_;
  QLabel* left_title_;
  QLabel* right_title_;
  ScatterView* left_;
  ScatterView* right_;
  QPushButton* measure_;
  QPushButton* cancel_;
  QProgressBar* progress_;
  QLabel* status_;
  QChart* chart_;
  QTableWidget* table_;
  BackgroundTask* task_;
  std::optional<OdeSdeComparison> ode_sde_;
  std::optional<FlowDdpmStudy> flow_;
  QString note_;
};

}  // namespace diffuscope::ui

// "Likelihood": the negative log-likelihood of held-out points under the 2D workspace's model through the
// probability-flow ODE (Sohl-Dickstein's bound for his reverse-mean model), beside the exact density of the
// 8gaussians mixture and a fitted Gaussian; log p per point charted. The core computes it (MeasureModelLikelihood,
// the call of diffuscope-cli likelihood) on a worker thread, with progress and Cancel.
//
//   auto* dialog = new diffuscope::ui::LikelihoodDialog(points_workspace->currentModel(), window);
//   dialog->show();   // choose the number of held-out points, then Measure
#pragma once

#include "core/run/model_likelihood.h"
#include "ui/widgets/points_workspace.h"

#include <QDialog>

#include <optional>

class QChart;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace diffuscope::ui {

class BackgroundTask;

/// What the dialog scores: the held-out points and the Gaussian's fit points of the workspace's data (fresh draws
/// of a built-in set, as diffuscope-cli likelihood --data NAME --n N --seed S draws them; else the points
/// themselves), and whether their law is the 8gaussians mixture.
struct LikelihoodPoints {
  Batch held_out, fit;
  bool mixture_law = false;
  bool fresh = false;  // fresh draws of a built-in set (false: the workspace's own points)
};
LikelihoodPoints WorkspaceLikelihoodPoints(const WorkspaceModel& model, int n, uint64_t seed);

class LikelihoodDialog : public QDialog {
  Q_OBJECT

 public:
  explicit LikelihoodDialog(WorkspaceModel model, QWidget* parent = nullptr);
  ~LikelihoodDialog() override;

  /// Starts the measurement (does nothing while one runs).
  void measure();
  void cancel();
  bool running() const;
  const std::optional<ModelLikelihood>& result() const { return result_; }
  QChart* chart() const { return chart_; }
  QTableWidget* table() const { return table_; }
  QLabel* status() const { return status_; }
  QSpinBox* points() const { return points_; }
  QSpinBox* seed() const { return seed_; }

 private:
  void showResult();

  WorkspaceModel model_;
  QSpinBox* points_;
  QSpinBox* seed_;
  QPushButton* measure_;
  QPushButton* cancel_;
  QProgressBar* progress_;
  QLabel* status_;
  QChart* chart_;
  QTableWidget* table_;
  BackgroundTask* task_;
  std::optional<ModelLikelihood> result_;
  bool fresh_ = true;
};

}  // namespace diffuscope::ui

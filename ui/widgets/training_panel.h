// The training panel of the 2D workspace: trains one of the core's 2D models on tiny-diffusion's MLP (the DDPM,
// flow matching, or the class-conditional DDPM for classifier-free guidance, on the points' class labels), with the
// same data and budget, on the current points in the background, with a live loss curve, updates per second, Pause
// and Cancel; loads and saves model files (.dfm). While training, samples of the model so far (its EMA weights, read
// from a checkpoint file the trainer writes) are drawn every few seconds in a small preview.
//
//   TrainingPanel panel(&document);
//   connect(&panel, &TrainingPanel::modelReady, ...);   // a trained or loaded model, ready to sample
#pragma once

#include "ui/state/document.h"
#include "ui/state/jobs.h"

#include <QChartView>
#include <QDateTime>
#include <QLineSeries>
#include <QTimer>
#include <QValueAxis>
#include <QWidget>

#include <memory>

class QTemporaryDir;

class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QDoubleSpinBox;
class QComboBox;

namespace diffuscope {
class LearnedModel;
}

namespace diffuscope::ui {

class ScatterView;

class TrainingPanel : public QWidget {
  Q_OBJECT

 public:
  explicit TrainingPanel(Document* document, QWidget* parent = nullptr);
  ~TrainingPanel() override;

  BackgroundTask* task() { return &task_; }
  /// The model trained or loaded last (null before).
  std::shared_ptr<const LearnedModel> model() const { return model_; }
  /// What the next training trains: 0 the DDPM (eps), 1 flow matching (velocity), 2 the conditional DDPM.
  void setModelKind(int kind);
  /// Loads a model file; false and an error signal on failure.
  bool loadModel(const QString& path);
  /// Number of points on the loss curve.
  int lossPoints() const;
  void setIterations(int iterations);
  /// The preview of samples drawn while training (a ScatterView).
  QWidget* previewView() const;
  /// How many previews were drawn since the panel was made.
  int previewCount() const { return preview_count_; }
  /// Milliseconds between previews (default 2000).
  void setPreviewInterval(int milliseconds) { preview_timer_.setInterval(milliseconds); }
  /// The samples of the newest preview (n x 2; empty before the first).
  const Batch& previewSamples() const { return preview_samples_; }

 public slots:
  void startTraining();
  void cancelTraining();

 signals:
  void modelReady(std::shared_ptr<const diffuscope::LearnedModel> model);
  void errorOccurred(const QString& title, const QString& message);
  void statusMessage(const QString& message);
  /// A preview of the model after `step` updates was drawn.
  void previewReady(long long step);

 private:
  void saveModel();
  void loadModelDialog();
  void onProgress(double step, double loss, double steps_per_second, double total);
  void requestPreview();
  void setModel(std::shared_ptr<const LearnedModel> model, const QString& how);

  Document* document_;
  BackgroundTask task_;
  std::shared_ptr<const LearnedModel> model_;
  QComboBox* kind_;
  QSpinBox* iterations_;
  QSpinBox* batch_;
  QDoubleSpinBox* learning_rate_;
  QPushButton* train_;
  QPushButton* pause_;
  QPushButton* cancel_;
  QPushButton* save_;
  QPushButton* load_;
  QProgressBar* progress_;
  QLabel* stats_;
  QLabel* model_label_;
  QChart* chart_;
  QLineSeries* loss_;
  QValueAxis* x_axis_;
  QValueAxis* y_axis_;
  double loss_min_ = 1e9, loss_max_ = 0;
  ScatterView* preview_;
  LatestJob preview_jobs_;
  QTimer preview_timer_;
  std::unique_ptr<QTemporaryDir> checkpoint_dir_;
  QString checkpoint_path_;
  QDateTime checkpoint_time_;
  int preview_count_ = 0;
  Batch preview_samples_;
};

}  // namespace diffuscope::ui

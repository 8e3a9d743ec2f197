// The 2D workspace: particles of the forward process at the timeline's t over the data set, trajectories of a
// few particles, the model's field at t (score direction or reverse drift; for the Gaussian-mixture target the
// exact field beside the learned one), data from the generators, a CSV file, a silhouette image or the mouse,
// reverse sampling with exact or learned denoisers in the background, the energy distance to the data after
// each run, and the training panel.
#pragma once

#include "core/common/types.h"
#include "core/data/points2d.h"
#include "core/render/plots.h"
#include "core/run/run_spec.h"
#include "core/sampling/denoiser.h"
#include "ui/state/document.h"
#include "ui/state/jobs.h"
#include "ui/widgets/scatter_view.h"
#include "ui/widgets/timeline.h"

#include <QWidget>

#include <memory>
#include <optional>
#include <vector>

class QCheckBox;
class QSlider;
class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace diffuscope {
class LearnedModel;
}

namespace diffuscope::ui {

class TrainingPanel;
struct PointsSource;

/// A 2D reverse run kept for scrubbing.
struct PointsReverseRun {
  int start_t = 0;
  std::vector<int> t;             // t of each kept step's x_t, descending
  std::vector<Batch> x_t;         // particles at each kept step (data units, as sample)
  Batch sample;                   // the final x_0
  double energy_distance = -1;    // sample vs data
  double gaussian_baseline = -1;  // a Gaussian fitted to the data vs data
  QString description;
};

/// Points of a data source in its own units: a built-in set name ("dino"), a CSV file (its points as written), or
/// a silhouette image (pixel units, y up). Throws Error.
PointsData LoadPoints(const QString& source, int n, uint64_t seed);
/// The normalised space a point set's diffusion runs in: identity for the built-in sets (defined at unit scale),
/// else the points' own mean and pooled standard deviation (PointNormalization::Of; for a CSV file that is the
/// file's, as the command line's DatasetNormalization). A model trained in the app stores it.
PointNormalization PointsNormalization(const PointsData& points);

/// The workspace's model as the measuring dialogs use it (Compare, Likelihood): a copy of everything that makes a
/// fresh instance on a worker thread, as the workspace's reverse runs make theirs.
struct WorkspaceModel {
  QString name;                                   // the Denoiser box's: "empirical", "mixture", "learned", a file
  QString label;                                  // what the user reads ("exact Gaussian mixture")
  RunSpec run;                                    // the document's run (model, class label, guidance)
  std::shared_ptr<const PointsData> data;         // the workspace's points
  std::shared_ptr<const LearnedModel> learned;    // the model trained or loaded in the app ("learned")
  std::shared_ptr<const NoiseSchedule> schedule;  // the schedule the workspace samples on
  uint64_t seed = 0;

  struct Made {
    std::unique_ptr<Denoiser> denoiser;
    PointNormalization space;                     // the normalised space it runs in
    std::optional<ScheduleOptions> own_schedule;  // a learned model's own schedule
  };
  /// A fresh instance (Predict keeps scratch) and its space; guided towards run.label when guided. Throws Error.
  Made Make(bool guided) const;
  /// The built-in data set the points are from ("" for a file or drawn points).
  std::string BuiltInData() const;
};

class PointsWorkspace : public QWidget {
  Q_OBJECT

 public:
  PointsWorkspace(Document* document, TimelineModel* timeline, QWidget* parent = nullptr);
  ~PointsWorkspace() override;

  ScatterView* view() const { return view_; }
  LatestJob* frameJobs() { return &frames_; }
  BackgroundTask* reverseTask() { return &reverse_; }
  TrainingPanel* trainingPanel() const { return training_; }
  /// The drawing controls, for tests: Draw / Use drawn, and the paint colour (class) of the next strokes.
  QPushButton* drawButton() const { return draw_button_; }
  QComboBox* paintBox() const { return paint_box_; }
  const PointsReverseRun* reverseRun() const { return run_.get(); }
  /// The particles shown now (forward x_t, or the reverse run's state at t), and the t they are at.
  const Batch& shownParticles() const { return shown_particles_; }
  /// What the view draws over them now (fields, contours, trajectories), as the core computed it.
  ScatterOverlays shownOverlays() const;
  int shownT() const { return shown_t_; }
  /// The model the reverse runs use now, for the measuring dialogs (name empty when there are no points).
  WorkspaceModel currentModel() const;
  /// Chooses a built-in data set (by name) and regenerates the points.
  void setDataset(const QString& name);
  /// Selects a model by its name in the Denoiser box ("empirical", "mixture", "learned", "sohl-dickstein-swissroll").
  void setModelName(const QString& name);
  /// Field shown: 0 none, 1 score direction, 2 reverse drift.
  void setField(int field);
  void setTrajectories(bool on);
  /// The data set drawn faint behind the particles, on or off (the "Data set (faint)" box).
  void setDataSetShown(bool on);
  /// Density contours of the particles on or off.
  void setContours(bool on);
  /// The class guided towards (-1: unconditional) and the guidance weight w in [0, 10] (the class selector and the
  /// slider); a class the model does not have is ignored.
  void setGuidance(int label, double weight);

 public slots:
  void startReverse();
  void cancelReverse();
  void refresh();

 signals:
  void errorOccurred(const QString& title, const QString& message);
  void statusMessage(const QString& message);
  void reverseFinished();

 private:
  void onPointsChanged();
  void onFrame(quint64 generation, const std::any& result);
  bool showingReverse() const;
  void showReverseFrame();
  void openCsv();
  void openSilhouette();
  void setDrawing(bool on);
  void showData();
  /// True when the data were drawn with two or more paint colours (their labels: the colours' classes).
  static bool PaintedClasses(const PointsData& data);
  void onModelReady(std::shared_ptr<const LearnedModel> model);
  void updateGuidanceControls();
  void onGuidanceEdited();
  void useSohlDickstein();
  void updateModelBox();
  void showOverlays();
  void saveViewSettings() const;
  /// The t of the reverse run's state shown at timeline t (0 at the end).
  static int ReverseIndexT(const PointsReverseRun& run, int t);

  Document* document_;
  TimelineModel* timeline_;
  std::shared_ptr<PointsSource> source_;
  std::shared_ptr<const PointsData> snapshot_;
  std::shared_ptr<const LearnedModel> learned_;
  LatestJob frames_;
  BackgroundTask reverse_;
  std::unique_ptr<PointsReverseRun> run_;
  quint64 fresh_frame_ = 0;
  Batch shown_particles_;
  ScatterOverlays shown_overlays_;  // fields and trajectories shown (the view computes the contours)
  int shown_t_ = -1;

  ScatterView* view_;
  QComboBox* dataset_box_;
  QSpinBox* count_box_;
  QPushButton* draw_button_;
  QComboBox* paint_box_;
  QCheckBox* show_data_;
  QCheckBox* show_trajectories_;
  QCheckBox* show_contours_;
  QComboBox* field_box_;
  QComboBox* model_box_;
  QSpinBox* particles_box_;
  QComboBox* class_box_;
  QSlider* guidance_slider_;
  QLabel* guidance_label_;
  bool rerun_pending_ = false;  // a guidance change waits for the running reverse run to stop
  QPushButton* sample_button_;
  QPushButton* cancel_button_;
  QProgressBar* progress_;
  QLabel* run_label_;
  QLabel* data_label_;
  TrainingPanel* training_;
};

}  // namespace diffuscope::ui

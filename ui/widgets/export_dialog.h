// The Export dialog: an animation of the current run (GIF, MP4, WebM or a folder of PNG frames) with a live
// preview of its first and last frames, a progress bar and Cancel. It fills a core AnimationSpec from its
// widgets and runs ExportAnimationJob off the GUI thread, so the app and `diffuscope-cli export` make the
// same files (and the same bundle JSON beside them).
//
//   AnimationSpec spec = diffuscope::ui::SpecFromDocument(document);   // input, schedule, sampler, seed, model
//   diffuscope::ui::ExportDialog::Open(main_window, spec);             // non-modal, deletes itself on close
//
// The caller's spec gives the input, schedule, sampler, seed and model; the dialog's own choices (output folder
// and format, fps, frames, layout) are remembered (Settings::ExportSettings) and win over the initial spec.
#pragma once

#include "core/export/animation.h"
#include "core/export/export.h"

#include <QDialog>
#include <QImage>
#include <QString>

#include <any>
#include <atomic>
#include <memory>
#include <optional>
#include <string>

class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTimer;

namespace diffuscope::ui {

class BackgroundTask;
class Document;
class LatestJob;

/// An AnimationSpec of the document's run (Document::run: its image file or its very points, schedule, sampler
/// with its seed, model, forward path, start), with the layout its input needs (scatter for 2D). A generated
/// image has no file, so the spec then has no input and the dialog says so.
/// direction: the timeline's. A DDPM trained in the app and not saved is written to a model file named by its
/// SHA-256 (in the app's data folder, see LearnedModelFolder) which the spec names.
AnimationSpec SpecFromDocument(const Document& document, Direction direction = Direction::kForward);
/// Where models trained in the app are written for exports: <app data>/models.
QString LearnedModelFolder();

class ExportDialog : public QDialog {
  Q_OBJECT

 public:
  /// initial: input, schedule, sampler, seed and model to export (other fields are defaults for the widgets).
  explicit ExportDialog(const AnimationSpec& initial, QWidget* parent = nullptr);
  /// Cancels a running export and waits for it (nothing is left on disk).
  ~ExportDialog() override;

  /// Shows a new non-modal dialog over parent (deleted when closed) and returns it.
  static ExportDialog* Open(QWidget* parent, const AnimationSpec& initial);

  /// The spec made from the widgets (what Export would run).
  AnimationSpec spec() const;
  /// The output path as typed (a file, or a folder ending in '/' for PNG frames).
  QString outputPath() const;
  void setOutputPath(const QString& path);
  /// The format chosen in the format box.
  ExportFormat format() const;
  /// What stops an export now (spec.Check() text, a bad path, GIF fps), or empty; shown in the dialog.
  QString problem() const { return problem_; }
  bool exportEnabled() const;
  bool exporting() const;

  /// The preview of the first (0) and last (1) frame, as rendered (full size); null until the first preview.
  QImage previewImage(int which) const { return preview_[which == 0 ? 0 : 1]; }
  /// True while a preview is waiting to start or rendering.
  bool previewBusy() const;
  /// The paper t of the previewed frames.
  int previewT(int which) const { return preview_t_[which == 0 ? 0 : 1]; }
  /// The background work (for tests): previews and the export.
  LatestJob* previewJobs() { return preview_jobs_; }
  BackgroundTask* exportTask() { return export_task_; }
  /// The last successful export, and the last message shown (result or error).
  const std::optional<ExportResult>& lastResult() const { return last_result_; }
  QString lastMessage() const { return last_message_; }

 public slots:
  /// Starts the export in the background (does nothing while one runs or when problem() is not empty).
  void startExport();
  /// Asks a running export to stop; exportCancelled() follows and no file is left.
  void cancelExport();
  /// Queues a new preview of the current options now (newest request wins).
  void refreshPreview();
  void reject() override;

 signals:
  void previewReady();
  void previewFailed(QString message);
  void exportFinished(QString path);
  void exportFailed(QString message);
  void exportCancelled();

 private:
  void buildWidgets();
  void loadSettings();
  void saveSettings() const;
  void optionsChanged();
  void updateEnabled();
  void outputEdited();
  void formatChosen();
  void browse();
  void showPreview(const std::any& result);
  void onExportFinished(const std::any& result);
  void onExportFailed(const QString& message);
  void onExportCancelled();
  void message(const QString& title, const QString& text, bool error);

  AnimationSpec initial_;
  QString problem_;
  bool syncing_ = false;
  bool close_when_idle_ = false;

  QWidget* options_;
  QLineEdit* output_;
  QPushButton* browse_;
  QComboBox* format_;
  QComboBox* direction_;
  QComboBox* path_;
  QComboBox* model_;
  QSpinBox* from_t_;
  QSpinBox* to_t_;
  QSpinBox* frames_;
  QComboBox* spacing_;
  QDoubleSpinBox* fps_;
  QDoubleSpinBox* hold_;
  QSpinBox* size_;
  QComboBox* layout_;
  QCheckBox* caption_;
  QComboBox* field_;  // 2D overlays, as the view draws them
  QCheckBox* contours_;
  QCheckBox* trajectories_;
  QCheckBox* data_set_;
  QCheckBox* dither_;
  QSpinBox* crf_;  // video quality; -1 = the codec's default
  QLabel* input_label_;
  QLabel* problem_label_;
  QLabel* preview_label_[2];
  QLabel* preview_caption_[2];
  QLabel* preview_status_;
  QLabel* result_label_;
  QProgressBar* progress_;
  QPushButton* cancel_;
  QPushButton* export_;
  QDialogButtonBox* buttons_;

  QTimer* preview_timer_;
  std::string preview_key_;  // the options of the newest preview
  LatestJob* preview_jobs_;
  std::shared_ptr<std::atomic<quint64>> preview_generation_;
  QImage preview_[2];
  int preview_t_[2] = {-1, -1};
  BackgroundTask* export_task_;
  QString export_path_;
  std::optional<ExportResult> last_result_;
  QString last_message_;
};

}  // namespace diffuscope::ui

// The document: everything the user has loaded and chosen (image, 2D data, schedule, sampler, model, seed,
// current t), one QUndoStack for parameter changes, and signals the views listen to.
//
//   diffuscope::ui::Document doc;
//   ScheduleOptions options = doc.scheduleOptions();
//   options.num_steps = 250;
//   doc.setScheduleOptions(options);        // one undo step; emits scheduleChanged()
//   doc.undoStack()->undo();                // back to T = 1000
//
// Parameter setters push a ValueCommand; while a slider is dragged pass merge = true so that the whole drag
// becomes one undo step, and call endMerge() when the slider is released. The current t is a view position,
// not a parameter: setT() is not undoable.
#pragma once

#include "core/common/types.h"
#include "core/run/overlays.h"
#include "core/run/run_spec.h"
#include "core/sampling/sampler.h"
#include "core/schedule/schedule.h"

#include <QMetaType>
#include <QObject>
#include <QString>
#include <QUndoCommand>
#include <QUndoStack>
#include <QVariant>

#include <algorithm>
#include <memory>
#include <optional>

namespace diffuscope {
class LearnedModel;
}

namespace diffuscope::ui {

/// How x_t of the forward process is drawn (the core's: closed form, Markov path, fresh noise).
using ForwardPath = diffuscope::ForwardPath;

/// The image or point set being shown. Pixels in [-1, 1], channel planes, one row.
struct ImageData {
  QString path;  // where it came from (empty when generated)
  int channels = 0, height = 0, width = 0;
  Batch pixels;  // 1 x (channels * height * width)
  bool empty() const { return pixels.size() == 0; }
};

struct PointsData {
  QString source;           // "dataset:<name>", "csv:<path>", "image:<path>", "drawn"
  Batch points;             // n x 2
  std::vector<int> labels;  // each point's class when the source is a built-in set with classes (else empty)
  bool empty() const { return points.rows() == 0; }
};

/// Which exact or learned model the reverse runs use.
struct ModelChoice {
  // The core registry's: ddpm-photo (the learned photo model, the default for photographs; the Document falls back
  // to the oracle when it is not shipped) | oracle | empirical | patch | a digits or photo SR3 model | a file.
  QString image_model = QStringLiteral("ddpm-photo");
  QString points_model = QStringLiteral("empirical");  // empirical | mixture (8gaussians) | learned
  bool from_current_t = false;  // reverse runs start from the noised data at t instead of pure noise
  // 2D class-conditional runs (RunSpec::label, guidance): the class guided towards (-1: unconditional) and w.
  int label = -1;
  double guidance = 0.0;
  int num_particles = 2000;  // 2D reverse runs
  // Digits models (see RunSpec::digits): SR3's truth, held-out digit `digit` or the image; the DDPM's sample count.
  int digit = 0;
  bool digit_from_image = false;
  int digit_samples = 16;
  // Learned models of photos: the longest side their runs compute at, the image shrunk by area to it when larger
  // (0: the image's own size). A U-Net's cost grows with the pixels: 256 keeps a run of a photo to seconds.
  int working_side = 256;
  // The photo SR3 model: downscale the photo x4 first and compare the result with it (PSNR, SSIM), or
  // super-resolve the photo itself (a region of it at the working size).
  bool simulate_low_resolution = true;
  // The photo SR3 model: the mean of this many chains (RunSpec::sr_samples): the posterior mean, higher PSNR and
  // less invented detail, at this many times the cost.
  int sr_samples = 1;
  bool operator==(const ModelChoice&) const = default;
};

/// What the 2D view draws with the particles: not part of the run, but a choice of the user's (undoable, kept in
/// sessions), which the export starts from so that it draws the same.
struct PointsOverlays {
  FieldKind field = FieldKind::kNone;  // the model's field at t
  bool contours = false;               // density iso-lines of the particles
  bool trajectories = false;           // paths of kDefaultTrajectories particles
  bool data = true;                    // the data set, faint behind the particles
  bool operator==(const PointsOverlays&) const = default;
};

class Document : public QObject {
  Q_OBJECT

 public:
  /// The undoable parameters.
  enum class Param { kSchedule, kCompare, kSeed, kForwardPath, kSampler, kModel, kPointsOverlays };
  Q_ENUM(Param)

  explicit Document(QObject* parent = nullptr);
  ~Document() override;

  QUndoStack* undoStack() { return &undo_stack_; }

  const ScheduleOptions& scheduleOptions() const { return schedule_options_; }
  /// The schedule built from scheduleOptions(); never null.
  std::shared_ptr<const NoiseSchedule> schedule() const { return schedule_; }
  /// The comparison schedule plotted over the main one, if any.
  const std::optional<ScheduleOptions>& compareOptions() const { return compare_options_; }
  uint64_t seed() const { return seed_; }
  ForwardPath forwardPath() const { return forward_path_; }
  const SamplerOptions& samplerOptions() const { return sampler_options_; }
  const ModelChoice& model() const { return model_; }
  int t() const { return t_; }
  int numSteps() const { return schedule_->num_steps(); }

  /// The run the document shows, in the core's words: the open image or the points, schedule, sampler (its seed
  /// is the document's seed: one seed draws x_T, the forward eps and every step's noise), model, forward path,
  /// where the last reverse run started, on the document's own schedule. The points workspace's model trained in
  /// the app is "learned" here (SpecFromDocument saves it to a file). workspace: 0 images, 1 2D, -1 the current.
  RunSpec run(int workspace = -1) const;

  /// Where the current reverse run starts: 0 from pure noise, t0 from the data noised to t0 (not undoable; the
  /// workspaces set it when a run starts).
  int reverseStartT() const { return reverse_start_t_; }
  void setReverseStartT(int t) { reverse_start_t_ = std::max(0, t); }

  /// The DDPM trained (or loaded) in the 2D workspace, if any: the "learned" points model.
  const std::shared_ptr<const LearnedModel>& learnedModel() const { return learned_model_; }
  void setLearnedModel(std::shared_ptr<const LearnedModel> model) { learned_model_ = std::move(model); }

  const ImageData& image() const { return image_; }
  const PointsData& points() const { return points_; }
  /// 0 = images, 1 = 2D.
  int workspace() const { return workspace_; }
  const PointsOverlays& pointsOverlays() const { return points_overlays_; }
  /// Sets what the 2D view draws (undoable); emits pointsOverlaysChanged() when it changes.
  void setPointsOverlays(const PointsOverlays& overlays);

  /// Sets the schedule (undoable). Returns an empty string, or what is wrong with the options (then
  /// nothing changes).
  QString setScheduleOptions(const ScheduleOptions& options, bool merge = false);
  QString setCompareOptions(const std::optional<ScheduleOptions>& options);
  void setSeed(uint64_t seed, bool merge = false);
  void setForwardPath(ForwardPath path);
  QString setSamplerOptions(const SamplerOptions& options, bool merge = false);
  void setModel(const ModelChoice& model);
  /// Ends merging of the command on top of the undo stack (slider released).
  void endMerge();

  /// The current t, clamped to 0..T (not undoable).
  void setT(int t);
  void setImage(ImageData image);
  void setPoints(PointsData points);
  void setWorkspace(int workspace);

  /// The current value of a parameter (as stored in a ValueCommand).
  QVariant value(Param param) const;
  /// Applies a value without an undo command (ValueCommand's redo/undo and session loading use it).
  void apply(Param param, const QVariant& value);

 signals:
  void scheduleChanged();
  void compareChanged();
  void seedChanged(quint64 seed);
  void forwardPathChanged();
  void samplerChanged();
  void modelChanged();
  void tChanged(int t);
  void imageChanged();
  void pointsChanged();
  void workspaceChanged(int workspace);
  void pointsOverlaysChanged();

 private:
  void push(Param param, const QVariant& after, bool merge);

  QUndoStack undo_stack_;
  ScheduleOptions schedule_options_;
  std::shared_ptr<const NoiseSchedule> schedule_;
  std::optional<ScheduleOptions> compare_options_;
  uint64_t seed_ = 0;
  ForwardPath forward_path_ = ForwardPath::kClosed;
  SamplerOptions sampler_options_;
  ModelChoice model_;
  int t_ = 0;
  ImageData image_;
  PointsData points_;
  int workspace_ = 0;
  int reverse_start_t_ = 0;
  PointsOverlays points_overlays_;
  std::shared_ptr<const LearnedModel> learned_model_;
};

/// One parameter change: before and after values. Merges with the next change of the same parameter while
/// it is open (during a slider drag), so a drag is one undo step.
class ValueCommand : public QUndoCommand {
 public:
  ValueCommand(Document* document, Document::Param param, QVariant before, QVariant after, bool open);
  void undo() override;
  void redo() override;
  int id() const override { return 1000 + static_cast<int>(param_); }
  bool mergeWith(const QUndoCommand* other) override;
  void close() { open_ = false; }

 private:
  Document* document_;
  Document::Param param_;
  QVariant before_, after_;
  bool open_;
};

/// A short user-facing name of a parameter ("schedule", "seed", ...), for undo texts.
QString ParamName(Document::Param param);

}  // namespace diffuscope::ui

Q_DECLARE_METATYPE(diffuscope::ScheduleOptions)
Q_DECLARE_METATYPE(std::optional<diffuscope::ScheduleOptions>)
Q_DECLARE_METATYPE(diffuscope::SamplerOptions)
Q_DECLARE_METATYPE(diffuscope::ui::ModelChoice)
Q_DECLARE_METATYPE(diffuscope::ForwardPath)
Q_DECLARE_METATYPE(diffuscope::ui::PointsOverlays)

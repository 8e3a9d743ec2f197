#include "ui/widgets/points_workspace.h"

#include "core/data/points2d.h"
#include "core/forward/forward.h"
#include "core/metrics/distance2d.h"
#include "core/models/ddpm2d.h"
#include "core/models/exact.h"
#include "core/models/guidance.h"
#include "core/models/learned_model.h"
#include "core/models/registry.h"
#include "core/run/overlays.h"
#include "core/run/run.h"
#include "core/sampling/sampler.h"
#include "ui/state/settings.h"
#include "ui/widgets/sampler_controls.h"
#include "ui/widgets/training_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QElapsedTimer>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QIcon>
#include <QLabel>
#include <QPixmap>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardItemModel>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <mutex>

namespace diffuscope::ui {

namespace {

constexpr size_t kRunBudget = 128u << 20;
constexpr uint64_t kDataSeed = 1;  // data sets do not change with the noise seed

// The shipped model of Sohl-Dickstein et al. 2015 (learned reverse mean and variance, T = 40, swiss roll).
constexpr const char* kSohlDicksteinName = "sohl-dickstein-swissroll";

bool IsEightGaussians(const QString& source) { return source == QLatin1String("dataset:8gaussians"); }

QString ModelLabel(const QString& name) {
  if (name == QLatin1String("mixture")) return QObject::tr("exact Gaussian mixture");
  if (name == QLatin1String("learned")) return QObject::tr("learned model");
  if (name == QLatin1String(kSohlDicksteinName)) return QObject::tr("Sohl-Dickstein 2015 (swiss roll)");
  if (name != QLatin1String("empirical")) return QFileInfo(name).completeBaseName();
  return QObject::tr("exact empirical");
}

// A model of the workspace and the normalised space it runs in (a learned model's own, the data's for the exact
// ones); x_t of a run are normalization.ToModel of data-unit points and come back with ToData.
struct PointsModel {
  std::unique_ptr<Denoiser> denoiser;
  PointNormalization normalization;
};

// The run's model and its space: the core's (empirical over the normalised data, mixture, a shipped name, a
// file), or the DDPM trained in the app ("learned"), which lives only in memory.
PointsModel MakePointsModel(const RunSpec& run, const RunInput& input,
                            const std::shared_ptr<const LearnedModel>& learned) {
  if (run.model == "learned") {
    Require(learned != nullptr, "there is no learned model yet: train one (Train) or load a model file");
    // An instance of its own (Predict has scratch), guided when the run names a class.
    OpenedModel opened = OpenModelFile(learned->ToModelFile());
    return {GuideRunModel(run, std::move(opened.denoiser)), learned->normalization()};
  }
  OpenedModel opened = OpenRunModel(run, input);
  return {std::move(opened.denoiser), opened.normalization};
}

FieldArrows ToArrows(const ScatterField& field) {
  FieldArrows arrows;
  arrows.colour = QColor(field.colour.r, field.colour.g, field.colour.b);
  arrows.label = QString::fromStdString(field.label);
  arrows.cell = field.cell;
  for (Eigen::Index i = 0; i < field.tails.rows(); ++i) {
    arrows.tails.emplace_back(field.tails(i, 0), field.tails(i, 1));
    arrows.vectors.emplace_back(field.vectors(i, 0), field.vectors(i, 1));
  }
  return arrows;
}

std::vector<std::vector<QPointF>> ToPaths(const std::vector<Polyline>& lines) {
  std::vector<std::vector<QPointF>> paths;
  for (const Polyline& line : lines) {
    std::vector<QPointF> path;
    for (const Point2& p : line) path.emplace_back(p.x, p.y);
    paths.push_back(std::move(path));
  }
  return paths;
}

struct PointsFrame {
  int t = 0;
  Batch particles;
  std::vector<Polyline> trajectories;
  std::vector<ScatterField> fields;
};

struct FrameRequest {
  std::shared_ptr<const NoiseSchedule> schedule;
  std::shared_ptr<const PointsData> data;
  std::shared_ptr<const LearnedModel> learned;
  uint64_t seed = 0;
  int t = 0;
  ForwardPath path = ForwardPath::kClosed;
  uint64_t fresh_frame = 0;
  bool trajectories = false;
  FieldOptions field;  // the view's field (kind none: no arrows)
  int field_t = 0;     // the t the field is drawn at: the frame's, or the reverse run's state shown
  QString model;
  RunSpec run;  // the document's run (its model for the field)
};

}  // namespace

// The worker's caches: forward process, forward trajectories and the field's model. The maths is the core's
// (ForwardAt, ForwardTrajectories, RunFields), the very calls the export makes.
struct PointsSource {
  std::mutex mutex;
  std::unique_ptr<ForwardProcess> process;  // of the data in its normalised space
  PointNormalization process_normalization;
  std::shared_ptr<const NoiseSchedule> process_schedule;
  std::shared_ptr<const PointsData> process_data;
  uint64_t process_seed = 0;
  std::optional<ForwardTrajectories> paths;  // of the current process, for paths_markov
  bool paths_markov = false;
  PointsModel model;
  QString model_name;
  std::shared_ptr<const PointsData> model_data;
  std::shared_ptr<const LearnedModel> model_learned;
  int model_label = -1;
  double model_guidance = 0.0;

  PointsFrame Compute(const FrameRequest& r) {
    std::lock_guard lock(mutex);
    if (!process || process_schedule != r.schedule || process_data != r.data || process_seed != r.seed) {
      process_normalization = PointsNormalization(*r.data);
      process = std::make_unique<ForwardProcess>(*r.schedule, process_normalization.ToModel(r.data->points), r.seed);
      process_schedule = r.schedule;
      process_data = r.data;
      process_seed = r.seed;
      paths.reset();
    }
    PointsFrame frame;
    frame.t = r.t;
    frame.particles = ForwardAt(*process, r.path, r.t, r.fresh_frame);
    frame.particles = process_normalization.ToData(frame.particles);
    if (r.trajectories) {
      const bool markov = r.path == ForwardPath::kMarkov;
      if (!paths || paths_markov != markov) {
        paths.emplace(*process, r.path, process_normalization, kDefaultTrajectories);
        paths_markov = markov;
      }
      frame.trajectories = paths->UpTo(r.t, frame.particles);
    }
    if (r.field.kind != FieldKind::kNone && r.field_t > 0) {
      try {
        PointsModel& m = Model(r);
        frame.fields = RunFields(r.run, *m.denoiser, m.normalization, *r.schedule, r.field_t, r.field);
      } catch (const Error&) {
        // No model yet (e.g. nothing trained): no arrows.
      }
    }
    return frame;
  }

  PointsModel& Model(const FrameRequest& r) {
    if (!model.denoiser || model_name != r.model || model_data != r.data || model_learned != r.learned ||
        model_label != r.run.label || model_guidance != r.run.guidance) {
      model = MakePointsModel(r.run, PointsRunInput(r.data->points, PointsNormalization(*r.data)), r.learned);
      model_name = r.model;
      model_data = r.data;
      model_learned = r.learned;
      model_label = r.run.label;
      model_guidance = r.run.guidance;
    }
    return model;
  }
};

PointsData LoadPoints(const QString& source, int n, uint64_t seed) {
  PointsData data;
  const QString lower = source.toLower();
  if (lower.endsWith(".csv") || lower.endsWith(".tsv") || lower.endsWith(".txt")) {
    data.points = LoadPointsCsv(source.toStdString());  // the file's own units: the models normalise
    data.source = QStringLiteral("csv:") + QFileInfo(source).absoluteFilePath();
  } else if (QFileInfo(source).isFile()) {
    Dataset2DOptions pixels;
    pixels.standardize = false;
    data.points = SilhouettePoints(std::filesystem::path(source.toStdString()), n, seed, pixels);
    data.source = QStringLiteral("image:") + QFileInfo(source).absoluteFilePath();
  } else {
    const std::string name = CanonicalDatasetName(source.toStdString());
    Require(!name.empty(), "'" + source.toStdString() + "' is neither a built-in data set nor a file");
    Dataset2DOptions options;
    if (DatasetClassCount(name) > 0)  // the same points, with the class of each (conditional models train on them)
      data.points = GenerateLabeledDataset(name, n, seed, &data.labels, options);
    else data.points = GenerateDataset(name, n, seed, options);
    data.source = QStringLiteral("dataset:") + QString::fromStdString(name);
  }
  return data;
}

PointNormalization PointsNormalization(const PointsData& points) {
  if (points.source.startsWith(QLatin1String("dataset:")) || points.empty()) return {};
  return PointNormalization::Of(points.points);
}

PointsWorkspace::PointsWorkspace(Document* document, TimelineModel* timeline, QWidget* parent)
    : QWidget(parent), document_(document), timeline_(timeline), source_(std::make_shared<PointsSource>()) {
  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);

  auto* controls = new QWidget;
  auto* column = new QVBoxLayout(controls);

  auto* data_box = new QGroupBox(tr("Data"));
  auto* data_form = new QFormLayout(data_box);
  dataset_box_ = new QComboBox;
  for (const std::string& name : DatasetNames()) {
    dataset_box_->addItem(QString::fromStdString(name), QString::fromStdString(name));
    dataset_box_->setItemData(dataset_box_->count() - 1, QString::fromStdString(DatasetDescription(name)),
                              Qt::ToolTipRole);
  }
  dataset_box_->setToolTip(tr("A built-in point set"));
  data_form->addRow(tr("Set"), dataset_box_);
  count_box_ = new QSpinBox;
  count_box_->setRange(10, 200000);
  count_box_->setValue(2000);
  count_box_->setSingleStep(500);
  count_box_->setKeyboardTracking(false);
  count_box_->setToolTip(tr("Number of data points (and particles of the forward process)"));
  data_form->addRow(tr("Points"), count_box_);
  auto* file_row = new QHBoxLayout;
  auto* csv_button = new QPushButton(tr("CSV..."));
  csv_button->setToolTip(tr("Load x,y points from a CSV file"));
  auto* image_button = new QPushButton(tr("Silhouette..."));
  image_button->setToolTip(tr("Make points from the dark pixels of an image"));
  draw_button_ = new QPushButton(tr("Draw"));
  draw_button_->setCheckable(true);
  draw_button_->setToolTip(tr("Draw points with the mouse; press again to use them as the data"));
  paint_box_ = new QComboBox;
  for (int k = 0; k < kPaintColours; ++k) {
    QPixmap swatch(12, 12);
    swatch.fill(PaintColour(k));
    paint_box_->addItem(QIcon(swatch), tr("class %1 (%2)").arg(k).arg(PaintColourName(k)), k);
  }
  paint_box_->setToolTip(
      tr("The paint colour of the next strokes while drawing: colour k becomes class k, which a "
         "conditional DDPM learns, so guidance works on drawn data (one colour: no classes)"));
  file_row->addWidget(csv_button);
  file_row->addWidget(image_button);
  file_row->addWidget(draw_button_);
  data_form->addRow(file_row);
  data_form->addRow(tr("Paint"), paint_box_);
  data_label_ = new QLabel;
  data_label_->setWordWrap(true);
  data_form->addRow(data_label_);
  column->addWidget(data_box);

  auto* show_box = new QGroupBox(tr("Show"));
  auto* show_form = new QFormLayout(show_box);
  show_data_ = new QCheckBox(tr("Data set (faint)"));
  show_data_->setChecked(true);
  show_data_->setToolTip(tr("Draw the data set behind the particles"));
  show_trajectories_ = new QCheckBox(tr("Trajectories of %1 particles").arg(kDefaultTrajectories));
  show_trajectories_->setToolTip(tr("Paths of a few particles up to the current t"));
  field_box_ = new QComboBox;
  field_box_->addItem(tr("No field"));
  field_box_->addItem(tr("Score direction (-eps_hat)"));
  field_box_->addItem(tr("Reverse drift (mu - x_t)"));
  field_box_->setToolTip(
      tr("Arrows of the model at t: the predicted score direction, or the mean move of one "
         "reverse step"));
  show_form->addRow(show_data_);
  show_contours_ = new QCheckBox(tr("Density contours"));
  show_contours_->setToolTip(
      tr("Iso-lines of a kernel density estimate of the particles at t (10, 30, 50, 70 and "
         "90 % of its peak)"));
  show_form->addRow(show_trajectories_);
  show_form->addRow(show_contours_);
  show_form->addRow(tr("Field"), field_box_);
  column->addWidget(show_box);

  auto* model_group = new QGroupBox(tr("Model"));
  auto* model_form = new QFormLayout(model_group);
  model_box_ = new QComboBox;
  for (const char* name : {"empirical", "mixture", "learned"}) {
    model_box_->addItem(ModelLabel(QString::fromLatin1(name)), QString::fromLatin1(name));
  }
  if (ShippedModelPath(kSohlDicksteinName)) {
    model_box_->addItem(ModelLabel(QString::fromLatin1(kSohlDicksteinName)), QString::fromLatin1(kSohlDicksteinName));
    model_box_->setItemData(model_box_->count() - 1,
                            tr("Sohl-Dickstein et al. 2015: an MLP that predicts the reverse kernel's mean and "
                               "variance, trained on the swiss roll with T = 40. Choosing it switches to its data, "
                               "its schedule and DDPM steps of 1."),
                            Qt::ToolTipRole);
  }
  model_box_->setToolTip(
      tr("Exact empirical: the optimal denoiser of the data points (it reproduces them).\n"
         "Exact Gaussian mixture: the analytic target of the 8gaussians set.\n"
         "Learned: the DDPM trained in the panel on the right (or loaded)."));
  model_form->addRow(tr("Denoiser"), model_box_);
  particles_box_ = new QSpinBox;
  particles_box_->setRange(10, 100000);
  particles_box_->setSingleStep(500);
  particles_box_->setToolTip(tr("Particles of a reverse run from pure noise"));
  model_form->addRow(tr("Particles"), particles_box_);
  class_box_ = new QComboBox;
  class_box_->setToolTip(
      tr("Classifier-free guidance (Ho and Salimans 2022): sample the class chosen here with a "
         "class-conditional model (the exact Gaussian mixture's components, or a conditional DDPM "
         "trained on the labels of 8gaussians, moons, circles or spiral)"));
  model_form->addRow(tr("Class"), class_box_);
  auto* guidance_row = new QHBoxLayout;
  guidance_slider_ = new QSlider(Qt::Horizontal);
  guidance_slider_->setRange(0, 100);  // w = value / 10
  guidance_slider_->setSingleStep(1);
  guidance_slider_->setPageStep(10);
  guidance_slider_->setToolTip(
      tr("Guidance weight w of eps = (1 + w) eps(x, class) - w eps(x, null): 0 is the "
         "conditional model itself; larger w sharpens the class, then distorts it"));
  guidance_label_ = new QLabel(QStringLiteral("w = 0.0"));
  guidance_label_->setMinimumWidth(guidance_label_->fontMetrics().horizontalAdvance(QStringLiteral("w = 10.0")));
  guidance_row->addWidget(guidance_slider_, 1);
  guidance_row->addWidget(guidance_label_);
  model_form->addRow(tr("Guidance"), guidance_row);
  column->addWidget(model_group);
  column->addWidget(new SamplerControls(document_, /*show_clip=*/false));

  auto* run_box = new QGroupBox(tr("Reverse run"));
  auto* run_layout = new QVBoxLayout(run_box);
  auto* buttons = new QHBoxLayout;
  sample_button_ = new QPushButton(tr("Sample"));
  sample_button_->setToolTip(tr("Run the reverse process on the particles in the background, then scrub it"));
  cancel_button_ = new QPushButton(tr("Cancel"));
  cancel_button_->setToolTip(tr("Stop the reverse run"));
  cancel_button_->setEnabled(false);
  buttons->addWidget(sample_button_);
  buttons->addWidget(cancel_button_);
  run_layout->addLayout(buttons);
  progress_ = new QProgressBar;
  progress_->setRange(0, 1);
  progress_->setValue(0);
  run_layout->addWidget(progress_);
  run_label_ = new QLabel(tr("No reverse run yet."));
  run_label_->setWordWrap(true);
  run_layout->addWidget(run_label_);
  column->addWidget(run_box);
  column->addStretch(1);

  auto* scroll = new QScrollArea;
  scroll->setWidget(controls);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  scroll->setMinimumWidth(controls->sizeHint().width() + 20);
  scroll->setMaximumWidth(340);

  view_ = new ScatterView;
  view_->setToolTip(tr("Particles x_t at the timeline's t over the data set"));
  training_ = new TrainingPanel(document_);
  training_->setMinimumWidth(260);
  training_->setMaximumWidth(380);

  layout->addWidget(scroll);
  layout->addWidget(view_, 1);
  layout->addWidget(training_);

  connect(dataset_box_, &QComboBox::activated, this, [this] { setDataset(dataset_box_->currentData().toString()); });
  connect(count_box_, &QSpinBox::valueChanged, this, [this] {
    const QString source = document_->points().source;
    if (source.startsWith(QLatin1String("dataset:"))) setDataset(source.mid(8));
  });
  connect(csv_button, &QPushButton::clicked, this, &PointsWorkspace::openCsv);
  connect(image_button, &QPushButton::clicked, this, &PointsWorkspace::openSilhouette);
  connect(draw_button_, &QPushButton::toggled, this, &PointsWorkspace::setDrawing);
  connect(paint_box_, &QComboBox::currentIndexChanged, this,
          [this] { view_->setPaintClass(paint_box_->currentData().toInt()); });
  // What is shown is remembered across launches (as the starting point, not an undo step); the document holds
  // it (undoable, kept in sessions) and the export starts from it.
  {
    const Settings::PointsView shown = Settings::PointsViewOptions();
    PointsOverlays overlays;
    overlays.field = shown.field;
    overlays.contours = shown.contours;
    overlays.trajectories = shown.trajectories;
    overlays.data = shown.show_data;
    document_->apply(Document::Param::kPointsOverlays, QVariant::fromValue(overlays));
    showOverlays();
  }
  auto overlays_edited = [this] {
    PointsOverlays overlays;
    overlays.field = static_cast<FieldKind>(field_box_->currentIndex());
    overlays.contours = show_contours_->isChecked();
    overlays.trajectories = show_trajectories_->isChecked();
    overlays.data = show_data_->isChecked();
    document_->setPointsOverlays(overlays);
  };
  connect(show_data_, &QCheckBox::toggled, this, overlays_edited);
  connect(show_contours_, &QCheckBox::toggled, this, overlays_edited);
  connect(show_trajectories_, &QCheckBox::toggled, this, overlays_edited);
  connect(field_box_, &QComboBox::currentIndexChanged, this, overlays_edited);
  connect(document_, &Document::pointsOverlaysChanged, this, [this] {
    showOverlays();
    saveViewSettings();
    refresh();
  });
  connect(model_box_, &QComboBox::currentIndexChanged, this, [this] {
    ModelChoice model = document_->model();
    model.points_model = model_box_->currentData().toString();
    document_->setModel(model);
    if (model.points_model == QLatin1String(kSohlDicksteinName)) useSohlDickstein();
  });
  connect(particles_box_, &QSpinBox::valueChanged, this, [this](int n) {
    ModelChoice model = document_->model();
    model.num_particles = n;
    document_->setModel(model);
  });
  connect(class_box_, &QComboBox::activated, this, [this] { onGuidanceEdited(); });
  connect(guidance_slider_, &QSlider::valueChanged, this, [this](int value) {
    guidance_label_->setText(QStringLiteral("w = %1").arg(value / 10.0, 0, 'f', 1));
    onGuidanceEdited();
  });
  connect(sample_button_, &QPushButton::clicked, this, &PointsWorkspace::startReverse);
  connect(cancel_button_, &QPushButton::clicked, this, &PointsWorkspace::cancelReverse);
  connect(training_, &TrainingPanel::modelReady, this, &PointsWorkspace::onModelReady);
  connect(training_, &TrainingPanel::errorOccurred, this, &PointsWorkspace::errorOccurred);
  connect(training_, &TrainingPanel::statusMessage, this, &PointsWorkspace::statusMessage);

  connect(document_, &Document::pointsChanged, this, &PointsWorkspace::onPointsChanged);
  connect(document_, &Document::tChanged, this, &PointsWorkspace::refresh);
  connect(document_, &Document::seedChanged, this, &PointsWorkspace::refresh);
  connect(document_, &Document::forwardPathChanged, this, &PointsWorkspace::refresh);
  connect(document_, &Document::scheduleChanged, this, [this] {
    run_.reset();
    run_label_->setText(tr("The schedule changed; sample again."));
    refresh();
  });
  connect(document_, &Document::modelChanged, this, [this] {
    updateModelBox();
    refresh();
  });
  connect(timeline_, &TimelineModel::directionChanged, this, &PointsWorkspace::refresh);

  connect(&frames_, &LatestJob::ready, this, &PointsWorkspace::onFrame);
  connect(&frames_, &LatestJob::failed, this, [this](quint64, const QString& message) {
    emit statusMessage(tr("Could not compute x_t: %1").arg(message));
  });
  connect(&reverse_, &BackgroundTask::progress, this, [this](qint64 done, qint64 total, const QString& what) {
    progress_->setRange(0, static_cast<int>(total));
    progress_->setValue(static_cast<int>(done));
    emit statusMessage(tr("Sampling: %1 %2 of %3").arg(what).arg(done).arg(total));
  });
  connect(&reverse_, &BackgroundTask::runningChanged, this, [this](bool running) {
    sample_button_->setEnabled(!running);
    cancel_button_->setEnabled(running);
  });
  connect(&reverse_, &BackgroundTask::finished, this, [this](const std::any& result) {
    auto run = std::any_cast<std::shared_ptr<PointsReverseRun>>(result);
    run_ = std::make_unique<PointsReverseRun>(std::move(*run));
    run_label_->setText(tr("%1<br><b>Energy distance to the data: %2</b><br>(a Gaussian fitted to the data: %3; "
                           "0 = same law)")
                            .arg(run_->description)
                            .arg(run_->energy_distance, 0, 'g', 3)
                            .arg(run_->gaussian_baseline, 0, 'g', 3));
    emit statusMessage(tr("Sampled: energy distance to the data %1").arg(run_->energy_distance, 0, 'g', 3));
    timeline_->pause();
    timeline_->setDirection(TimelineModel::Direction::kReverse);
    document_->setT(run_->start_t);
    refresh();
    emit reverseFinished();
  });
  connect(&reverse_, &BackgroundTask::cancelled, this, [this] {
    progress_->setValue(0);
    run_label_->setText(tr("Reverse run cancelled."));
  });
  // A guidance change re-runs the samples once the run in flight has stopped.
  connect(&reverse_, &BackgroundTask::runningChanged, this, [this](bool running) {
    if (!running && rerun_pending_) {
      rerun_pending_ = false;
      QTimer::singleShot(0, this, &PointsWorkspace::startReverse);
    }
  });
  connect(&reverse_, &BackgroundTask::failed, this, [this](const QString& message) {
    progress_->setValue(0);
    run_label_->setText(tr("Reverse run failed."));
    emit errorOccurred(tr("Sampling failed"), message);
  });

  updateModelBox();
  onPointsChanged();
}

PointsWorkspace::~PointsWorkspace() = default;

void PointsWorkspace::setDataset(const QString& name) {
  try {
    document_->setPoints(LoadPoints(name, count_box_->value(), kDataSeed));
  } catch (const Error& error) {
    emit errorOccurred(tr("Could not make the data set"), QString::fromUtf8(error.what()));
  }
}

void PointsWorkspace::setField(int field) { field_box_->setCurrentIndex(std::clamp(field, 0, 2)); }

void PointsWorkspace::showOverlays() {
  const PointsOverlays& overlays = document_->pointsOverlays();
  const QSignalBlocker b1(field_box_), b2(show_contours_), b3(show_trajectories_), b4(show_data_);
  field_box_->setCurrentIndex(static_cast<int>(overlays.field));
  show_contours_->setChecked(overlays.contours);
  show_trajectories_->setChecked(overlays.trajectories);
  show_data_->setChecked(overlays.data);
  view_->setContours(overlays.contours);
  showData();
}

void PointsWorkspace::saveViewSettings() const {
  const PointsOverlays& overlays = document_->pointsOverlays();
  Settings::PointsView shown;
  shown.show_data = overlays.data;
  shown.field = overlays.field;
  shown.contours = overlays.contours;
  shown.trajectories = overlays.trajectories;
  Settings::SetPointsViewOptions(shown);
}
void PointsWorkspace::setTrajectories(bool on) { show_trajectories_->setChecked(on); }
void PointsWorkspace::setDataSetShown(bool on) { show_data_->setChecked(on); }
void PointsWorkspace::setContours(bool on) { show_contours_->setChecked(on); }

void PointsWorkspace::openCsv() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Open points"), Settings::LastFolder("points"),
                                                    tr("Point files (*.csv *.tsv *.txt);;All files (*)"));
  if (path.isEmpty()) return;
  Settings::SetLastFolder("points", QFileInfo(path).absolutePath());
  try {
    document_->setPoints(LoadPoints(path, count_box_->value(), kDataSeed));
  } catch (const Error& error) {
    emit errorOccurred(tr("Could not open %1").arg(QFileInfo(path).fileName()), QString::fromUtf8(error.what()));
  }
}

void PointsWorkspace::openSilhouette() {
  const QString path =
      QFileDialog::getOpenFileName(this, tr("Points from a silhouette"), Settings::LastFolder("silhouettes"),
                                   tr("Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp)"));
  if (path.isEmpty()) return;
  Settings::SetLastFolder("silhouettes", QFileInfo(path).absolutePath());
  try {
    document_->setPoints(LoadPoints(path, count_box_->value(), kDataSeed));
  } catch (const Error& error) {
    emit errorOccurred(tr("Could not use %1").arg(QFileInfo(path).fileName()), QString::fromUtf8(error.what()));
  }
}

void PointsWorkspace::setDrawing(bool on) {
  if (on) {
    view_->clearDrawn();
    view_->setDrawMode(true);
    draw_button_->setText(tr("Use drawn"));
    emit statusMessage(tr("Draw points with the left mouse button, then press 'Use drawn'"));
    return;
  }
  view_->setDrawMode(false);
  draw_button_->setText(tr("Draw"));
  const QVector<QPointF> drawn = view_->drawnPoints();
  const QVector<int> painted = view_->drawnClasses();
  view_->clearDrawn();
  if (drawn.size() < 5) {
    if (!drawn.isEmpty()) emit errorOccurred(tr("Too few points"), tr("Draw at least 5 points (drag the mouse)."));
    return;
  }
  Batch points(drawn.size(), 2);
  for (qsizetype i = 0; i < drawn.size(); ++i) {
    points(i, 0) = static_cast<float>(drawn[i].x());
    points(i, 1) = static_cast<float>(drawn[i].y());
  }
  try {
    PointsData drawn_data;
    drawn_data.source = QStringLiteral("drawn");
    std::vector<int> sources;
    drawn_data.points = ResamplePoints(points, count_box_->value(), kDataSeed, 0.03, 0, &sources);
    // Colour k is class k; points painted in one colour are plain data (no classes).
    if (std::any_of(painted.begin(), painted.end(), [&](int k) { return k != painted.front(); })) {
      drawn_data.labels.reserve(sources.size());
      for (int source : sources) drawn_data.labels.push_back(painted[source]);
    }
    document_->setPoints(std::move(drawn_data));
  } catch (const Error& error) {
    emit errorOccurred(tr("Could not use the drawing"), QString::fromUtf8(error.what()));
  }
}

bool PointsWorkspace::PaintedClasses(const PointsData& data) {
  return data.source == QLatin1String("drawn") && !data.labels.empty() &&
         data.labels.size() == static_cast<size_t>(data.points.rows());
}

void PointsWorkspace::showData() {
  if (!document_->pointsOverlays().data || !snapshot_) {
    view_->setBackground(Batch());
  } else if (PaintedClasses(*snapshot_)) {
    view_->setBackground(snapshot_->points, snapshot_->labels);  // painted: in their colours
  } else {
    view_->setBackground(snapshot_->points);
  }
}

void PointsWorkspace::onPointsChanged() {
  snapshot_ = std::make_shared<const PointsData>(document_->points());
  run_.reset();
  const QString source = snapshot_->source;
  if (source.startsWith(QLatin1String("dataset:"))) {
    const int index = dataset_box_->findData(source.mid(8));
    if (index >= 0) dataset_box_->setCurrentIndex(index);
  }
  data_label_->setText(snapshot_->empty() ? tr("No points.")
                                          : tr("%1 points from %2").arg(snapshot_->points.rows()).arg(source));
  showData();
  // The view shows 3.5 normalised units around the data's centre, labelled in the data's units.
  const PointNormalization normalization = PointsNormalization(*snapshot_);
  view_->setView(DataBox(normalization, kViewHalfWidth));
  run_label_->setText(tr("No reverse run yet."));
  updateModelBox();
  refresh();
}

void PointsWorkspace::updateModelBox() {
  auto* model = qobject_cast<QStandardItemModel*>(model_box_->model());
  const bool mixture_ok = snapshot_ && IsEightGaussians(snapshot_->source);
  if (model) {
    model->item(1)->setEnabled(mixture_ok);
    model->item(2)->setEnabled(learned_ != nullptr);
  }
  const QSignalBlocker b1(model_box_), b2(particles_box_);
  const int index = model_box_->findData(document_->model().points_model);
  if (index >= 0) model_box_->setCurrentIndex(index);
  particles_box_->setValue(document_->model().num_particles);
  updateGuidanceControls();
}

void PointsWorkspace::updateGuidanceControls() {
  // The classes of the chosen model: the mixture's components, or a conditional learned model's labels (named after
  // its data set's classes when they match).
  const ModelChoice choice = document_->model();
  int classes = 0;
  std::vector<std::string> names;
  if (choice.points_model == QLatin1String("mixture")) {
    names = DatasetClassNames("8gaussians");
    classes = static_cast<int>(names.size());
  } else if (choice.points_model == QLatin1String("learned") && learned_) {
    if (const auto* conditional = dynamic_cast<const ClassConditional*>(learned_.get())) {
      classes = conditional->num_classes();
      const auto data = learned_->info().find("data");
      std::string set = data == learned_->info().end() ? std::string() : data->second;
      if (set.rfind("dataset:", 0) == 0) set = set.substr(8);
      names = DatasetClassNames(set);
      if (set == "drawn")  // painted classes are named after their colours
        for (int k = 0; k < classes; ++k)
          names.push_back(tr("class %1 (%2)").arg(k).arg(PaintColourName(k)).toStdString());
      if (static_cast<int>(names.size()) != classes) names.clear();
    }
  }
  {
    const QSignalBlocker b1(class_box_), b2(guidance_slider_);
    class_box_->clear();
    class_box_->addItem(classes > 0 ? tr("unconditional") : tr("unconditional (the model has no classes)"), -1);
    for (int k = 0; k < classes; ++k)
      class_box_->addItem(k < static_cast<int>(names.size()) ? QString::fromStdString(names[k]) : tr("class %1").arg(k),
                          k);
    class_box_->setEnabled(classes > 0);
    const int label = choice.label < classes ? choice.label : -1;
    class_box_->setCurrentIndex(label + 1);
    guidance_slider_->setValue(static_cast<int>(std::lround(choice.guidance * 10.0)));
    guidance_slider_->setEnabled(label >= 0);
    guidance_label_->setText(QStringLiteral("w = %1").arg(choice.guidance, 0, 'f', 1));
  }
  if (choice.label >= classes) {  // a class the model does not have: back to unconditional runs
    ModelChoice fixed = choice;
    fixed.label = -1;
    document_->setModel(fixed);
  }
}

void PointsWorkspace::onGuidanceEdited() {
  ModelChoice choice = document_->model();
  choice.label = class_box_->currentData().toInt();
  choice.guidance = guidance_slider_->value() / 10.0;
  guidance_slider_->setEnabled(choice.label >= 0);
  if (choice == document_->model()) return;
  document_->setModel(choice);  // the field follows (modelChanged -> refresh)
  // The samples follow too: the reverse run is made again (after the one in flight, if any, stops).
  if (reverse_.running()) {
    rerun_pending_ = true;
    reverse_.cancel();
  } else if (run_) {
    startReverse();
  }
}

void PointsWorkspace::setGuidance(int label, double weight) {
  const int index = class_box_->findData(label);
  if (index >= 0) class_box_->setCurrentIndex(index);
  const QSignalBlocker block(guidance_slider_);
  guidance_slider_->setValue(static_cast<int>(std::lround(std::clamp(weight, 0.0, kMaxGuidanceWeight) * 10.0)));
  guidance_label_->setText(QStringLiteral("w = %1").arg(guidance_slider_->value() / 10.0, 0, 'f', 1));
  onGuidanceEdited();
}

void PointsWorkspace::setModelName(const QString& name) {
  const int index = model_box_->findData(name);
  if (index >= 0) model_box_->setCurrentIndex(index);
}

void PointsWorkspace::useSohlDickstein() {
  // The model learned one reverse kernel per step of its own schedule: sample on it, every step, on its data.
  try {
    const OpenedModel opened = OpenModel(kSohlDicksteinName, ModelContext{});
    if (opened.schedule && !(document_->scheduleOptions() == *opened.schedule)) {
      document_->setScheduleOptions(*opened.schedule);
    }
    SamplerOptions options = document_->samplerOptions();
    options.kind = SamplerKind::kDdpm;
    options.num_steps = document_->numSteps();
    document_->setSamplerOptions(options);
    if (snapshot_ && snapshot_->source != QLatin1String("dataset:swiss_roll")) setDataset(QStringLiteral("swiss_roll"));
  } catch (const Error& error) {
    emit errorOccurred(tr("Could not open the Sohl-Dickstein model"), QString::fromUtf8(error.what()));
  }
}

void PointsWorkspace::onModelReady(std::shared_ptr<const LearnedModel> model) {
  learned_ = std::move(model);
  document_->setLearnedModel(learned_);
  ModelChoice choice = document_->model();
  choice.points_model = QStringLiteral("learned");
  updateModelBox();
  document_->setModel(choice);
  refresh();
}

bool PointsWorkspace::showingReverse() const {
  return run_ && timeline_->direction() == TimelineModel::Direction::kReverse && document_->t() <= run_->start_t;
}

void PointsWorkspace::refresh() {
  if (!snapshot_ || snapshot_->empty()) return;
  FrameRequest request;
  request.schedule = document_->schedule();
  request.data = snapshot_;
  request.learned = learned_;
  request.seed = document_->seed();
  request.t = document_->t();
  request.path = document_->forwardPath();
  request.fresh_frame = ++fresh_frame_;
  const PointsOverlays& overlays = document_->pointsOverlays();
  request.trajectories = overlays.trajectories && !showingReverse();
  request.field.kind = overlays.field;
  // Scrubbing a reverse run shows its state at the step at or above t: the field is drawn at that state's t.
  request.field_t = showingReverse() ? ReverseIndexT(*run_, document_->t()) : document_->t();
  request.model = document_->model().points_model;
  request.run = document_->run(1);
  request.run.point_set = Batch();  // the field needs only the model; the points travel in request.data
  auto source = source_;
  frames_.request([source, request] { return std::any(std::make_shared<PointsFrame>(source->Compute(request))); });
}

void PointsWorkspace::onFrame(quint64, const std::any& result) {
  const auto frame = std::any_cast<std::shared_ptr<PointsFrame>>(result);
  std::vector<FieldArrows> arrows;
  for (const ScatterField& field : frame->fields) arrows.push_back(ToArrows(field));
  view_->setFields(std::move(arrows));
  shown_overlays_.fields = frame->fields;
  if (showingReverse()) {
    showReverseFrame();
    return;
  }
  shown_overlays_.trajectories = frame->trajectories;
  view_->setTrajectories(ToPaths(frame->trajectories));
  view_->setParticles(frame->particles);
  shown_particles_ = frame->particles;
  shown_t_ = frame->t;
  view_->setCaption(tr("forward q: t = %1").arg(frame->t));
}

void PointsWorkspace::showReverseFrame() {
  const PointsReverseRun& run = *run_;
  const int t = document_->t();
  size_t index = 0;
  for (size_t i = 0; i < run.t.size(); ++i) {
    if (run.t[i] >= t) index = i;
  }
  const bool at_end = t == 0 || run.t.empty();
  const Batch& particles = at_end ? run.sample : run.x_t[index];
  shown_overlays_.trajectories.clear();
  if (document_->pointsOverlays().trajectories) {
    // The run's states up to the one shown (the core's StateTrajectories, as the export draws them).
    std::vector<Batch> states(run.x_t.begin(), run.x_t.begin() + (at_end ? run.x_t.size() : index + 1));
    if (at_end) states.push_back(run.sample);
    shown_overlays_.trajectories = StateTrajectories(states, TrajectoryRows(particles.rows(), kDefaultTrajectories));
  }
  view_->setTrajectories(ToPaths(shown_overlays_.trajectories));
  view_->setParticles(particles);
  shown_particles_ = particles;
  shown_t_ = at_end ? 0 : run.t[index];
  view_->setCaption(at_end ? tr("reverse p: the sample x_0") : tr("reverse p: t = %1").arg(run.t[index]));
}

int PointsWorkspace::ReverseIndexT(const PointsReverseRun& run, int t) {
  if (t == 0 || run.t.empty()) return 0;
  size_t index = 0;
  for (size_t i = 0; i < run.t.size(); ++i)
    if (run.t[i] >= t) index = i;
  return run.t[index];
}

ScatterOverlays PointsWorkspace::shownOverlays() const {
  ScatterOverlays overlays = shown_overlays_;
  overlays.contours = view_->contourPolylines();
  return overlays;
}

void PointsWorkspace::startReverse() {
  if (reverse_.running()) return;
  if (!snapshot_ || snapshot_->points.rows() < 2) {
    emit errorOccurred(tr("Nothing to sample"), tr("Choose or draw a point set first."));
    return;
  }
  const ModelChoice choice = document_->model();
  if (choice.points_model == QLatin1String("mixture") && !IsEightGaussians(snapshot_->source)) {
    emit errorOccurred(tr("Model and data do not match"),
                       tr("The exact Gaussian mixture is the law of the 8gaussians set; choose that set or "
                          "another model."));
    return;
  }
  if (choice.points_model == QLatin1String("learned") && !learned_) {
    emit errorOccurred(tr("No learned model"), tr("Train a model first (Train), or load a model file."));
    return;
  }
  if (choice.from_current_t && document_->t() == 0) {
    emit errorOccurred(tr("Choose where to start"),
                       tr("The run starts from the noised data at the current t, and t is 0. Move the timeline "
                          "first, or start from pure noise."));
    return;
  }
  auto points_data = snapshot_;
  auto schedule = document_->schedule();
  auto learned = learned_;
  document_->setReverseStartT(choice.from_current_t ? document_->t() : 0);
  RunSpec spec = document_->run(1);
  spec.point_set = Batch();  // the worker has the points (snapshot)
  const uint64_t seed = document_->seed();
  const int t = spec.start_t;
  const QString model_name = choice.points_model;
  const SamplerOptions options = RunSamplerOptions(spec, document_->numSteps());
  progress_->setRange(0, 1);
  progress_->setValue(0);
  run_label_->setText(tr("Sampling with the %1...").arg(ModelLabel(model_name)));
  reverse_.start([=](const ProgressFn& progress, const StopFn& stop) -> std::any {
    QElapsedTimer clock;
    clock.start();
    const RunInput input = PointsRunInput(points_data->points, PointsNormalization(*points_data));
    PointsModel model = MakePointsModel(spec, input, learned);
    const PointNormalization& normalization = model.normalization;  // the run lives in the model's space
    Sampler sampler = StartReverse(spec, *schedule, *model.denoiser, input, normalization);
    const int total = sampler.steps_total();
    const size_t step_bytes = static_cast<size_t>(sampler.x().size()) * sizeof(float);
    const int keep_every = static_cast<int>(std::max<size_t>(1, (step_bytes * total + kRunBudget - 1) / kRunBudget));
    auto run = std::make_shared<PointsReverseRun>();
    run->start_t = sampler.timesteps().empty() ? t : sampler.timesteps().front();
    for (int i = 0; !sampler.done(); ++i) {
      if (stop()) throw Cancelled();
      const Step& step = sampler.Next();
      if (i % keep_every == 0) {
        run->t.push_back(step.t);
        run->x_t.push_back(normalization.ToData(step.x_t));
      }
      progress(i + 1, total + 1, "step");
    }
    run->sample = normalization.ToData(sampler.x());
    progress(total, total + 1, "energy distance");
    // A class-conditional run is compared with its class's points when the data know their classes.
    Batch reference = points_data->points;
    if (spec.label >= 0 && points_data->labels.size() == static_cast<size_t>(points_data->points.rows())) {
      std::vector<Eigen::Index> rows;
      for (size_t i = 0; i < points_data->labels.size(); ++i)
        if (points_data->labels[i] == spec.label) rows.push_back(static_cast<Eigen::Index>(i));
      if (rows.size() >= 2) reference = points_data->points(rows, Eigen::all);
    }
    run->energy_distance = EnergyDistance(run->sample, reference, stop);
    run->gaussian_baseline =
        EnergyDistance(FitGaussian(reference, static_cast<int>(run->sample.rows()), seed), reference, stop);
    progress(total + 1, total + 1, "done");
    const QString guided = spec.label >= 0 ? QObject::tr(
                                                 ", class %1, guidance w = %2 (energy distance to that "
                                                 "class's points)")
                                                 .arg(spec.label)
                                                 .arg(spec.guidance, 0, 'f', 1)
                                           : QString();
    run->description = QObject::tr("%1%6, %2, %3 particles from %4, %5 s")
                           .arg(ModelLabel(model_name))
                           .arg(QString::fromStdString(DescribeSamplerRun(options.kind, total)))
                           .arg(run->sample.rows())
                           .arg(t > 0 ? QObject::tr("t = %1").arg(t) : QObject::tr("pure noise"))
                           .arg(clock.elapsed() / 1000.0, 0, 'f', 1)
                           .arg(guided);
    return std::any(run);
  });
}

void PointsWorkspace::cancelReverse() { reverse_.cancel(); }

WorkspaceModel PointsWorkspace::currentModel() const {
  WorkspaceModel m;
  if (!snapshot_) return m;
  m.name = document_->model().points_model;
  m.label = ModelLabel(m.name);
  m.run = document_->run(1);
  m.run.point_set = Batch();  // the points travel in data
  m.data = snapshot_;
  m.learned = learned_;
  m.schedule = document_->schedule();
  m.seed = document_->seed();
  return m;
}

WorkspaceModel::Made WorkspaceModel::Make(bool guided) const {
  Require(data != nullptr && data->points.rows() >= 2, "there are no points: choose or draw a point set first");
  RunSpec spec = run;
  if (!guided) spec.label = -1;
  Made made;
  if (spec.model == "learned") {
    Require(learned != nullptr, "there is no learned model yet: train one (Train) or load a model file");
    OpenedModel opened = OpenModelFile(learned->ToModelFile());
    made.denoiser = GuideRunModel(spec, std::move(opened.denoiser));
    made.space = learned->normalization();
    made.own_schedule = learned->schedule().options();
    return made;
  }
  OpenedModel opened = OpenRunModel(spec, PointsRunInput(data->points, PointsNormalization(*data)));
  made.denoiser = std::move(opened.denoiser);
  made.space = opened.normalization;
  made.own_schedule = opened.schedule;
  return made;
}

std::string WorkspaceModel::BuiltInData() const {
  if (!data || !data->source.startsWith(QLatin1String("dataset:"))) return {};
  return data->source.mid(8).toStdString();
}

}  // namespace diffuscope::ui

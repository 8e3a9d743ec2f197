#include "ui/widgets/training_panel.h"

#include "core/models/conditional_ddpm2d.h"
#include "core/models/ddpm2d.h"
#include "core/models/flow2d.h"
#include "core/models/registry.h"
#include "core/sampling/sampler.h"
#include "ui/state/settings.h"
#include "ui/widgets/points_workspace.h"
#include "ui/widgets/scatter_view.h"

#include <QApplication>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace diffuscope::ui {

namespace {

// Points drawn per preview, and the sampler they are drawn with (fast; deterministic).
constexpr int kPreviewPoints = 400;

struct Preview {
  Batch samples;
  long long step = 0;
};

// What the worker hands back: the trained model and its report.
struct Trained {
  std::shared_ptr<const LearnedModel> model;
  TrainReport report;
};

}  // namespace

TrainingPanel::TrainingPanel(Document* document, QWidget* parent) : QWidget(parent), document_(document) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* box = new QGroupBox(tr("Train a model (tiny-diffusion MLP)"));
  auto* column = new QVBoxLayout(box);
  auto* form = new QFormLayout;
  kind_ = new QComboBox;
  kind_->addItem(tr("DDPM (predicts eps)"));
  kind_->addItem(tr("Flow matching (predicts the velocity)"));
  kind_->addItem(tr("Conditional DDPM (classes, guidance)"));
  kind_->setToolTip(
      tr("DDPM: the noise eps of x_t (Ho et al. 2020).\nFlow matching: the velocity eps - x_0 of the "
         "straight path x_s = (1 - s) x_0 + s eps (Lipman et al. 2023; Liu et al. 2023).\nConditional "
         "DDPM: eps given the point's class, the label dropped 10% of the time so it also learns the "
         "unconditional eps, for classifier-free guidance (needs a set with classes: 8gaussians, moons, "
         "circles, spiral).\nAll three: the same network, data and budget."));
  form->addRow(tr("Model"), kind_);
  iterations_ = new QSpinBox;
  iterations_->setRange(100, 1000000);
  iterations_->setSingleStep(1000);
  iterations_->setValue(10000);
  iterations_->setToolTip(tr("AdamW updates (minibatches) to train for"));
  form->addRow(tr("Updates"), iterations_);
  batch_ = new QSpinBox;
  batch_->setRange(1, 4096);
  batch_->setValue(64);
  batch_->setToolTip(tr("Points per update"));
  form->addRow(tr("Batch"), batch_);
  learning_rate_ = new QDoubleSpinBox;
  learning_rate_->setDecimals(5);
  learning_rate_->setRange(1e-5, 1e-1);
  learning_rate_->setSingleStep(1e-4);
  learning_rate_->setValue(1e-3);
  learning_rate_->setToolTip(tr("Peak AdamW learning rate"));
  form->addRow(tr("Learning rate"), learning_rate_);
  column->addLayout(form);

  auto* buttons = new QHBoxLayout;
  train_ = new QPushButton(tr("Train"));
  train_->setToolTip(tr("Train on the current points with the current schedule (Ctrl+T)"));
  pause_ = new QPushButton(tr("Pause"));
  pause_->setCheckable(true);
  pause_->setToolTip(tr("Hold the training; press again to continue"));
  cancel_ = new QPushButton(tr("Cancel"));
  cancel_->setToolTip(tr("Stop training; the model keeps the updates done so far"));
  pause_->setEnabled(false);
  cancel_->setEnabled(false);
  buttons->addWidget(train_);
  buttons->addWidget(pause_);
  buttons->addWidget(cancel_);
  column->addLayout(buttons);
  progress_ = new QProgressBar;
  progress_->setRange(0, 1);
  progress_->setValue(0);
  column->addWidget(progress_);
  stats_ = new QLabel(tr("Not trained."));
  stats_->setWordWrap(true);
  column->addWidget(stats_);

  chart_ = new QChart;
  chart_->setTitle(tr("Loss (smoothed MSE on eps, or on v)"));
  chart_->legend()->hide();
  chart_->setMargins(QMargins(2, 2, 2, 2));
  chart_->setBackgroundRoundness(0);
  chart_->setTheme(palette().window().color().lightness() < 128 ? QChart::ChartThemeDark : QChart::ChartThemeLight);
  loss_ = new QLineSeries(chart_);
  loss_->setPen(QPen(QColor(0xd6, 0x27, 0x28), 2));
  chart_->addSeries(loss_);
  x_axis_ = new QValueAxis(chart_);
  x_axis_->setLabelFormat(QStringLiteral("%d"));
  x_axis_->setRange(0, 1000);
  x_axis_->setTickType(QValueAxis::TicksDynamic);
  x_axis_->setTickAnchor(0);
  x_axis_->setTickInterval(500);
  y_axis_ = new QValueAxis(chart_);
  y_axis_->setLabelFormat(QStringLiteral("%.2g"));
  y_axis_->setRange(0, 1);
  y_axis_->setTickCount(5);
  chart_->addAxis(x_axis_, Qt::AlignBottom);
  chart_->addAxis(y_axis_, Qt::AlignLeft);
  loss_->attachAxis(x_axis_);
  loss_->attachAxis(y_axis_);
  auto* view = new QChartView(chart_);
  view->setRenderHint(QPainter::Antialiasing);
  view->setMinimumHeight(180);
  view->setToolTip(tr("The training loss, live"));
  column->addWidget(view, 1);

  preview_ = new ScatterView;
  preview_->setMinimumHeight(160);
  preview_->setHalfWidth(3.5);
  preview_->setCaption(tr("samples while training"));
  preview_->setToolTip(tr("Every few seconds while training: %1 samples (DDIM, 40 steps) of the model so far, with "
                          "its averaged (EMA) weights; the data faint behind them")
                           .arg(kPreviewPoints));
  column->addWidget(preview_, 1);
  preview_timer_.setInterval(2000);
  connect(&preview_timer_, &QTimer::timeout, this, &TrainingPanel::requestPreview);
  connect(&preview_jobs_, &LatestJob::ready, this, [this](quint64, const std::any& result) {
    const auto preview = std::any_cast<std::shared_ptr<Preview>>(result);
    preview_samples_ = preview->samples;
    preview_->setParticles(preview_samples_);
    preview_->setCaption(tr("samples after %1 updates").arg(preview->step));
    ++preview_count_;
    emit previewReady(preview->step);
  });

  auto* files = new QHBoxLayout;
  load_ = new QPushButton(tr("Load model..."));
  load_->setToolTip(tr("Load a 2D model file (.dfm): DDPM, flow matching or conditional DDPM"));
  save_ = new QPushButton(tr("Save model..."));
  save_->setToolTip(tr("Save the trained model (.dfm)"));
  save_->setEnabled(false);
  files->addWidget(load_);
  files->addWidget(save_);
  column->addLayout(files);
  model_label_ = new QLabel(tr("No learned model."));
  model_label_->setWordWrap(true);
  column->addWidget(model_label_);
  layout->addWidget(box);

  connect(train_, &QPushButton::clicked, this, &TrainingPanel::startTraining);
  connect(cancel_, &QPushButton::clicked, this, &TrainingPanel::cancelTraining);
  connect(pause_, &QPushButton::toggled, this, [this](bool paused) {
    task_.setPaused(paused);
    pause_->setText(paused ? tr("Resume") : tr("Pause"));
    if (paused) stats_->setText(stats_->text() + tr(" (paused)"));
  });
  connect(save_, &QPushButton::clicked, this, &TrainingPanel::saveModel);
  connect(load_, &QPushButton::clicked, this, &TrainingPanel::loadModelDialog);
  connect(&task_, &BackgroundTask::runningChanged, this, [this](bool running) {
    train_->setEnabled(!running);
    pause_->setEnabled(running);
    cancel_->setEnabled(running);
    load_->setEnabled(!running);
    if (!running) {
      preview_timer_.stop();
      requestPreview();  // the last checkpoint, written when the run ended
      pause_->setChecked(false);
      pause_->setText(tr("Pause"));
    }
  });
  connect(&task_, &BackgroundTask::finished, this, [this](const std::any& result) {
    const auto trained = std::any_cast<std::shared_ptr<Trained>>(result);
    setModel(trained->model, tr("trained %1 updates in %2 s (%3 updates/s), final loss %4")
                                 .arg(trained->report.steps)
                                 .arg(trained->report.seconds, 0, 'f', 1)
                                 .arg(trained->report.steps_per_second, 0, 'f', 0)
                                 .arg(trained->report.final_loss_ema, 0, 'g', 3));
  });
  connect(&task_, &BackgroundTask::cancelled, this, [this] {
    stats_->setText(tr("Training cancelled; the previous model is kept."));
    emit statusMessage(tr("Training cancelled"));
  });
  connect(&task_, &BackgroundTask::failed, this, [this](const QString& message) {
    stats_->setText(tr("Training failed."));
    emit errorOccurred(tr("Training failed"), message);
  });
}

TrainingPanel::~TrainingPanel() = default;

int TrainingPanel::lossPoints() const { return static_cast<int>(loss_->count()); }
void TrainingPanel::setIterations(int iterations) { iterations_->setValue(iterations); }

void TrainingPanel::startTraining() {
  if (task_.running()) return;
  if (document_->points().points.rows() < 2) {
    emit errorOccurred(tr("Nothing to train on"), tr("Choose or draw a point set first."));
    return;
  }
  const int kind = kind_->currentIndex();
  Ddpm2dOptions model_options;
  model_options.schedule = document_->scheduleOptions();
  ConditionalDdpm2dOptions conditional_options;
  conditional_options.schedule = document_->scheduleOptions();
  const std::vector<int> labels = document_->points().labels;
  if (kind == 2) {
    const int classes = labels.empty() ? 0 : *std::max_element(labels.begin(), labels.end()) + 1;
    if (labels.size() != static_cast<size_t>(document_->points().points.rows()) || classes < 1) {
      emit errorOccurred(tr("No class labels"),
                         tr("A conditional model trains on the classes of the points: choose a set that has them "
                            "(8gaussians, moons, circles or spiral), or draw points in two or more paint colours."));
      return;
    }
    conditional_options.num_classes =
        std::max(classes, DatasetClassCount(document_->points().source.mid(8).toStdString()));
  }
  TrainOptions options;
  options.iterations = iterations_->value();
  options.batch_size = batch_->value();
  options.learning_rate = learning_rate_->value();
  options.seed = document_->seed();
  options.report_every = std::max<long long>(10, options.iterations / 400);
  if (const std::string problem = options.Check(); !problem.empty()) {
    emit errorOccurred(tr("Training options"), QString::fromStdString(problem));
    return;
  }
  const Batch points = document_->points().points;
  const QString source = document_->points().source;
  // The model learns the points' normalised space and stores its shift and scale (points stay in their units).
  const PointNormalization normalization = PointsNormalization(document_->points());
  // The trainer writes a checkpoint now and then; the preview timer samples the newest one.
  checkpoint_dir_ = std::make_unique<QTemporaryDir>();
  checkpoint_path_ = checkpoint_dir_->isValid() ? checkpoint_dir_->filePath(QStringLiteral("preview.dfm")) : QString();
  checkpoint_time_ = {};
  // About a second apart at the usual 1000-3000 updates/s.
  if (!checkpoint_path_.isEmpty()) options.checkpoint_every = std::clamp<long long>(options.iterations / 20, 100, 1000);
  const std::filesystem::path checkpoint = checkpoint_path_.toStdString();
  preview_->setBackground(points);
  preview_->setView(QPointF(normalization.shift_x, normalization.shift_y), 3.5 * normalization.scale);
  preview_->setParticles(Batch());
  preview_->setCaption(tr("samples while training"));
  loss_->clear();
  loss_min_ = 1e9;
  loss_max_ = 0;
  x_axis_->setRange(0, static_cast<double>(options.iterations));
  {
    // Ticks at round update counts: 1, 2 or 5 times a power of ten.
    const double raw = options.iterations / 2.0;  // the panel is narrow: two or three labels
    const double power = std::pow(10.0, std::floor(std::log10(std::max(raw, 1.0))));
    x_axis_->setTickType(QValueAxis::TicksDynamic);
    x_axis_->setTickAnchor(0);
    x_axis_->setTickInterval(raw / power >= 5 ? 5 * power : raw / power >= 2 ? 2 * power : power);
  }
  progress_->setRange(0, static_cast<int>(options.iterations));
  progress_->setValue(0);
  stats_->setText(tr("Training..."));
  preview_timer_.start();
  QPointer<TrainingPanel> self(this);
  task_.start([=](const ProgressFn&, const StopFn& stop) -> std::any {
    std::shared_ptr<LearnedModel> model;
    if (kind == 1) model = std::make_shared<Flow2dModel>();
    else if (kind == 2) model = std::make_shared<ConditionalDdpm2dModel>(conditional_options);
    else model = std::make_shared<Ddpm2dModel>(model_options);
    model->set_normalization(normalization);
    model->info()["data"] = source.toStdString();
    // Reports (at most about 400 a run) go to the loss curve on the GUI thread.
    TrainProgressFn report = [self](const TrainProgress& p) {
      QMetaObject::invokeMethod(
          qApp,
          [self, p] {
            if (self)
              self->onProgress(static_cast<double>(p.step), p.loss_ema, p.steps_per_second,
                               static_cast<double>(p.total));
          },
          Qt::QueuedConnection);
    };
    auto trained = std::make_shared<Trained>();
    if (kind == 1)
      trained->report = TrainFlow2d(static_cast<Flow2dModel&>(*model), points, options, report, stop, checkpoint);
    else if (kind == 2)
      trained->report = TrainConditionalDdpm2d(static_cast<ConditionalDdpm2dModel&>(*model), points, labels, options,
                                               report, stop, checkpoint);
    else trained->report = TrainDdpm2d(static_cast<Ddpm2dModel&>(*model), points, options, report, stop, checkpoint);
    trained->model = model;
    return std::any(trained);
  });
}

void TrainingPanel::cancelTraining() { task_.cancel(); }

QWidget* TrainingPanel::previewView() const { return preview_; }

void TrainingPanel::requestPreview() {
  if (checkpoint_path_.isEmpty()) return;
  const QFileInfo file(checkpoint_path_);
  if (!file.exists() || file.lastModified() == checkpoint_time_) return;
  checkpoint_time_ = file.lastModified();
  const std::string path = checkpoint_path_.toStdString();
  const uint64_t seed = document_->seed();
  // The checkpoint is written atomically (renamed into place), so it is always a whole file.
  preview_jobs_.request([path, seed] {
    ModelFile file = LoadModelFile(path);
    const long long step = file.trained_steps;
    OpenedModel model = OpenModelFile(std::move(file));  // any 2D model; a conditional one's null label
    SamplerOptions options;
    options.kind = SamplerKind::kDdim;
    options.num_steps = 40;
    options.seed = seed;
    auto preview = std::make_shared<Preview>();
    preview->samples = model.normalization.ToData(
        Sample(NoiseSchedule(*model.schedule), *model.denoiser, options, InitialNoise(kPreviewPoints, 2, seed)));
    preview->step = step;
    return std::any(preview);
  });
}

void TrainingPanel::onProgress(double step, double loss, double steps_per_second, double total) {
  progress_->setValue(static_cast<int>(step));
  stats_->setText(tr("Update %1 of %2 — loss %3 — %4 updates/s")
                      .arg(step, 0, 'f', 0)
                      .arg(total, 0, 'f', 0)
                      .arg(loss, 0, 'g', 3)
                      .arg(steps_per_second, 0, 'f', 0));
  if (!(loss > 0) || !std::isfinite(loss)) return;
  loss_->append(step, loss);
  loss_min_ = std::min(loss_min_, loss);
  loss_max_ = std::max(loss_max_, loss);
  y_axis_->setRange(0, loss_max_ * 1.05);
  y_axis_->applyNiceNumbers();
}

void TrainingPanel::setModelKind(int kind) { kind_->setCurrentIndex(std::clamp(kind, 0, 2)); }

void TrainingPanel::setModel(std::shared_ptr<const LearnedModel> model, const QString& how) {
  model_ = std::move(model);
  save_->setEnabled(model_ != nullptr);
  if (model_) {
    const auto& info = model_->info();
    const auto data_info = info.find("data");
    model_label_->setText(
        tr("Learned model: %1, %2 (%3 steps)")
            .arg(QString::fromStdString(model_->name()))
            .arg(data_info != info.end() ? QString::fromStdString(data_info->second) : tr("unknown data"))
            .arg(model_->trained_steps()));
    stats_->setText(how);
    emit statusMessage(tr("Model ready: %1").arg(how));
    emit modelReady(model_);
  }
}

bool TrainingPanel::loadModel(const QString& path) {
  try {
    OpenedModel opened = OpenModelFile(LoadModelFile(path.toStdString()));
    auto* learned = dynamic_cast<LearnedModel*>(opened.denoiser.get());
    Require(learned != nullptr && learned->dimension() == 2,
            "'" + path.toStdString() + "' is not a learned 2D model (DDPM, flow or conditional DDPM 2D)");
    opened.denoiser.release();
    std::shared_ptr<const LearnedModel> model(learned);
    setModel(model, tr("loaded %1").arg(QFileInfo(path).fileName()));
    return true;
  } catch (const Error& error) {
    emit errorOccurred(tr("Could not load the model"), QString::fromUtf8(error.what()));
    return false;
  }
}

void TrainingPanel::loadModelDialog() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Load a model"), Settings::LastFolder("models"),
                                                    tr("Diffuscope models (*.dfm);;All files (*)"));
  if (path.isEmpty()) return;
  Settings::SetLastFolder("models", QFileInfo(path).absolutePath());
  loadModel(path);
}

void TrainingPanel::saveModel() {
  if (!model_) return;
  QString path = QFileDialog::getSaveFileName(this, tr("Save the model"), Settings::LastFolder("models"),
                                              tr("Diffuscope models (*.dfm)"));
  if (path.isEmpty()) return;
  if (!path.endsWith(QLatin1String(".dfm"))) path += QLatin1String(".dfm");
  Settings::SetLastFolder("models", QFileInfo(path).absolutePath());
  try {
    model_->Save(path.toStdString());
    emit statusMessage(tr("Saved %1").arg(path));
  } catch (const Error& error) {
    emit errorOccurred(tr("Could not save the model"), QString::fromUtf8(error.what()));
  }
}

}  // namespace diffuscope::ui

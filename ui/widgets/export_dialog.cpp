#include "ui/widgets/export_dialog.h"

#include "core/models/ddpm2d.h"
#include "core/models/registry.h"
#include "core/render/layouts.h"
#include "core/run/run.h"
#include "core/train/model_file.h"
#include "ui/state/document.h"
#include "ui/state/jobs.h"
#include "ui/state/settings.h"
#include "ui/widgets/frame_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>

namespace diffuscope::ui {

namespace {

constexpr int kPreviewSide = 256;  // pixels of each preview label
constexpr int kPreviewDelayMs = 150;

QString Qs(std::string_view text) { return QString::fromUtf8(text.data(), static_cast<qsizetype>(text.size())); }

/// The extension a format writes ("" for a PNG folder).
QString ExtensionOf(ExportFormat format) {
  switch (format) {
    case ExportFormat::kGif: return QStringLiteral(".gif");
    case ExportFormat::kMp4: return QStringLiteral(".mp4");
    case ExportFormat::kWebm: return QStringLiteral(".webm");
    case ExportFormat::kPngFrames: return QString();
  }
  return QString();
}

/// path with its animation extension (or folder slash) replaced by the one of format.
QString WithFormat(QString path, ExportFormat format) {
  path = path.trimmed();
  while (path.size() > 1 && (path.endsWith(QLatin1Char('/')) || path.endsWith(QLatin1Char('\\')))) path.chop(1);
  const int slash = static_cast<int>(std::max(path.lastIndexOf(QLatin1Char('/')), path.lastIndexOf(QLatin1Char('\\'))));
  const QString folder = slash >= 0 ? path.left(slash + 1) : QString();
  QString name = path.mid(slash + 1);
  for (const char* ext : {".gif", ".mp4", ".webm"}) {
    if (name.endsWith(QLatin1String(ext), Qt::CaseInsensitive)) {
      name.chop(static_cast<int>(qstrlen(ext)));
      break;
    }
  }
  if (name.isEmpty()) name = QStringLiteral("animation");
  if (format == ExportFormat::kPngFrames) return folder + name + QLatin1Char('/');
  return folder + name + ExtensionOf(format);
}

/// The input's short name for file names and the header line.
QString InputStem(const AnimationSpec& spec) {
  if (!spec.image.empty()) return QFileInfo(QString::fromStdString(spec.image)).completeBaseName();
  if (!spec.data.empty()) return QFileInfo(QString::fromStdString(spec.data)).completeBaseName();
  return QStringLiteral("animation");
}

bool NoDialogs() { return qEnvironmentVariableIsSet("DIFFUSCOPE_NO_DIALOGS"); }

struct PreviewResult {
  QImage first, last;
  int first_t = 0, last_t = 0;
};

/// The spec of the preview: the same job with two frames (its first and last), so the preview shows exactly
/// the export's first and last frames.
AnimationSpec PreviewSpec(AnimationSpec spec) {
  spec.frames = 2;
  spec.times.clear();
  return spec;
}

/// A key that changes whenever the previewed frames could change (output options do not matter).
std::string PreviewKey(const AnimationSpec& spec) {
  Bundle bundle;
  bundle.spec = PreviewSpec(spec);
  bundle.spec.output = ExportOptions{};
  return BundleToJson(bundle);
}

QString Plural(long long n, const QString& one, const QString& many) {
  return QStringLiteral("%1 %2").arg(n).arg(n == 1 ? one : many);
}

}  // namespace

QString LearnedModelFolder() {
  return QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation) + QStringLiteral("/models");
}

AnimationSpec SpecFromDocument(const Document& document, Direction direction) {
  AnimationSpec spec;
  static_cast<RunSpec&>(spec) = document.run();  // the document's run exactly: model, seeds, path, start
  spec.direction = direction;
  if (document.workspace() == 1) {
    spec.render.layout = Layout::kScatter;
    // The square the view shows (3.5 spreads around the data's centre) and what it draws over the particles.
    spec.render.scatter.x_min = spec.render.scatter.y_min = -kViewHalfWidth;
    spec.render.scatter.x_max = spec.render.scatter.y_max = kViewHalfWidth;
    const PointsOverlays& overlays = document.pointsOverlays();
    spec.field.kind = overlays.field;
    spec.contours = overlays.contours;
    spec.render.scatter.max_trajectories = overlays.trajectories ? kDefaultTrajectories : 0;
    spec.draw_data = overlays.data;
    // The DDPM trained in the app lives in memory: a file named by its SHA-256, so the bundle can name it,
    // check it, and `export --from` remakes the run.
    if (spec.model == "learned" && document.learnedModel()) {
      try {
        const std::vector<uint8_t> bytes = SerializeModelFile(document.learnedModel()->ToModelFile());
        spec.model = SaveContentAddressedModel(bytes, LearnedModelFolder().toStdString()).string();
      } catch (const Error&) {
        // Left as "learned": the dialog's preview and Export then say that the model is unknown.
      }
    }
  } else {
    // The image's own size, but at most kDefaultExportSide a side (a 2048-pixel photo makes huge videos).
    spec.max_image_side = std::min(spec.max_image_side, kDefaultExportSide);
    spec.render.layout = Layout::kImage;
  }
  return spec;
}

ExportDialog::ExportDialog(const AnimationSpec& initial, QWidget* parent)
    : QDialog(parent), initial_(initial), preview_generation_(std::make_shared<std::atomic<quint64>>(0)) {
  setWindowTitle(tr("Export animation"));
  setObjectName(QStringLiteral("exportDialog"));
  preview_jobs_ = new LatestJob(this);
  export_task_ = new BackgroundTask(this);
  preview_timer_ = new QTimer(this);
  preview_timer_->setSingleShot(true);
  preview_timer_->setInterval(kPreviewDelayMs);
  buildWidgets();
  loadSettings();

  connect(preview_timer_, &QTimer::timeout, this, &ExportDialog::refreshPreview);
  // A preview stopped because the options became invalid is not news.
  connect(preview_jobs_, &LatestJob::ready, this, [this](quint64 generation, std::any result) {
    if (generation == preview_generation_->load()) showPreview(result);
  });
  connect(preview_jobs_, &LatestJob::failed, this, [this](quint64 generation, QString text) {
    if (generation != preview_generation_->load()) return;
    preview_status_->setText(tr("No preview: %1").arg(text));
    emit previewFailed(text);
  });
  connect(export_task_, &BackgroundTask::progress, this, [this](qint64 done, qint64 total, QString what) {
    progress_->setRange(0, static_cast<int>(std::max<qint64>(total, 1)));
    progress_->setValue(static_cast<int>(std::min(done, total)));
    progress_->setFormat(QStringLiteral("%1  %v / %m").arg(what));
  });
  connect(export_task_, &BackgroundTask::finished, this, [this](std::any result) { onExportFinished(result); });
  connect(export_task_, &BackgroundTask::failed, this, &ExportDialog::onExportFailed);
  connect(export_task_, &BackgroundTask::cancelled, this, &ExportDialog::onExportCancelled);
  connect(export_task_, &BackgroundTask::runningChanged, this, &ExportDialog::updateEnabled);

  optionsChanged();
  refreshPreview();  // the first preview at once
}

ExportDialog::~ExportDialog() {
  preview_generation_->fetch_add(1000);  // a running preview stops at its next check
  preview_timer_->stop();
}

ExportDialog* ExportDialog::Open(QWidget* parent, const AnimationSpec& initial) {
  auto* dialog = new ExportDialog(initial, parent);
  dialog->setAttribute(Qt::WA_DeleteOnClose);
  dialog->show();
  dialog->raise();
  dialog->activateWindow();
  return dialog;
}

void ExportDialog::buildWidgets() {
  const int T = std::max(1, initial_.schedule.num_steps);

  // Input (read-only: it comes from the document).
  input_label_ = new QLabel(this);
  input_label_->setObjectName(QStringLiteral("input"));
  input_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  QString input;
  if (!initial_.image.empty()) input = tr("image %1").arg(QFileInfo(QString::fromStdString(initial_.image)).fileName());
  else if (!initial_.data.empty())
    input = tr("2D data %1").arg(QFileInfo(QString::fromStdString(initial_.data)).fileName());
  else input = tr("No input file (open an image or a 2D data set first)");
  input_label_->setText(tr("<b>Input:</b> %1   <b>Schedule:</b> %2, T = %3   <b>Seed:</b> %4")
                            .arg(input.toHtmlEscaped(), Qs(ScheduleKindName(initial_.schedule.kind)))
                            .arg(T)
                            .arg(initial_.seed));
  input_label_->setToolTip(tr("What is exported: %1, with the schedule, sampler and seed of the current document")
                               .arg(QString::fromStdString(initial_.image.empty() ? initial_.data : initial_.image)));

  // Output.
  auto* output_box = new QGroupBox(tr("Output"), this);
  auto* output_form = new QFormLayout(output_box);
  output_ = new QLineEdit(output_box);
  output_->setObjectName(QStringLiteral("output"));
  output_->setToolTip(
      tr("The file to write: .gif, .mp4 or .webm, or a folder (ending in /) for numbered PNG "
         "frames. A bundle JSON that remakes the export bit for bit is written beside it"));
  output_->setMinimumWidth(320);
  browse_ = new QPushButton(tr("Browse..."), output_box);
  browse_->setObjectName(QStringLiteral("browse"));
  browse_->setToolTip(tr("Choose where to write the animation"));
  auto* output_row = new QHBoxLayout;
  output_row->addWidget(output_, 1);
  output_row->addWidget(browse_);
  output_form->addRow(tr("File"), output_row);
  format_ = new QComboBox(output_box);
  format_->setObjectName(QStringLiteral("format"));
  format_->addItem(tr("GIF animation (.gif)"), static_cast<int>(ExportFormat::kGif));
  format_->addItem(tr("MP4 video, H.264 (.mp4)"), static_cast<int>(ExportFormat::kMp4));
  format_->addItem(tr("WebM video, VP9 (.webm)"), static_cast<int>(ExportFormat::kWebm));
  format_->addItem(tr("PNG frames (a folder)"), static_cast<int>(ExportFormat::kPngFrames));
  format_->setToolTip(
      tr("GIF: plays everywhere, exact greys, at most 50 fps. MP4 / WebM: small files for slides "
         "and the web. PNG frames: lossless, numbered frame_0000.png ... (changes the extension)"));
  output_form->addRow(tr("Format"), format_);
  fps_ = new QDoubleSpinBox(output_box);
  fps_->setObjectName(QStringLiteral("fps"));
  fps_->setRange(0.1, 120);
  fps_->setDecimals(1);
  fps_->setSuffix(tr(" fps"));
  fps_->setKeyboardTracking(false);
  fps_->setToolTip(tr("Frames per second when played (0.1..120; a GIF plays at most 50)"));
  hold_ = new QDoubleSpinBox(output_box);
  hold_->setObjectName(QStringLiteral("hold"));
  hold_->setRange(0, 60);
  hold_->setDecimals(1);
  hold_->setSingleStep(0.5);
  hold_->setSuffix(tr(" s"));
  hold_->setKeyboardTracking(false);
  hold_->setToolTip(tr("The last frame stays this many seconds longer (GIF and video)"));
  auto* timing_row = new QHBoxLayout;
  timing_row->addWidget(fps_);
  timing_row->addWidget(new QLabel(tr("final hold"), output_box));
  timing_row->addWidget(hold_);
  timing_row->addStretch(1);
  output_form->addRow(tr("Speed"), timing_row);
  dither_ = new QCheckBox(tr("Dither GIF colours"), output_box);
  dither_->setObjectName(QStringLiteral("dither"));
  dither_->setToolTip(
      tr("Floyd-Steinberg error diffusion when colour frames are reduced to a 256-colour palette "
         "(grey frames are always exact)"));
  output_form->addRow(QString(), dither_);
  crf_ = new QSpinBox(output_box);
  crf_->setObjectName(QStringLiteral("crf"));
  crf_->setRange(-1, 63);
  crf_->setSpecialValueText(tr("auto"));
  crf_->setKeyboardTracking(false);
  crf_->setToolTip(tr("Video quality as a constant rate factor: lower is better and larger. auto = %1 for MP4 "
                      "(H.264, 0..51), %2 for WebM (VP9, 0..63), which keep pure-noise frames noise")
                       .arg(kDefaultH264Crf)
                       .arg(kDefaultVp9Crf));
  auto* crf_row = new QHBoxLayout;
  crf_row->addWidget(crf_);
  crf_row->addStretch(1);
  output_form->addRow(tr("Video quality (CRF)"), crf_row);

  // The run.
  auto* run_box = new QGroupBox(tr("Run"), this);
  auto* run_form = new QFormLayout(run_box);
  direction_ = new QComboBox(run_box);
  direction_->setObjectName(QStringLiteral("direction"));
  direction_->addItem(tr("Forward: noising q(x_t | x_0)"), static_cast<int>(Direction::kForward));
  direction_->addItem(tr("Reverse: denoising p(x_{t-1} | x_t)"), static_cast<int>(Direction::kReverse));
  direction_->setToolTip(
      tr("Forward: the data dissolving into noise. Reverse: a sampler run from noise back to "
         "data with the chosen model and the document's sampler"));
  run_form->addRow(tr("Direction"), direction_);
  path_ = new QComboBox(run_box);
  path_->setObjectName(QStringLiteral("path"));
  path_->addItem(tr("Closed form (one fixed noise)"), static_cast<int>(ForwardPath::kClosed));
  path_->addItem(tr("Markov chain (step by step)"), static_cast<int>(ForwardPath::kMarkov));
  path_->addItem(tr("Fresh noise every frame"), static_cast<int>(ForwardPath::kFreshNoise));
  path_->setToolTip(
      tr("The path of the forward run, and of a reverse run's start from the noised input. Closed form: x_t = "
         "sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps with "
         "one eps, smooth. Markov chain: x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps_t, one path. Fresh noise: a "
         "new eps "
         "every frame"));
  run_form->addRow(tr("Forward path"), path_);
  model_ = new QComboBox(run_box);
  model_->setObjectName(QStringLiteral("model"));
  model_->setEditable(true);
  model_->setInsertPolicy(QComboBox::NoInsert);
  for (const auto& name : BuiltinModelNames()) model_->addItem(QString::fromStdString(name));
  for (const auto& name : ShippedModelNames()) model_->addItem(QString::fromStdString(name));
  model_->setToolTip(
      tr("The denoiser of reverse runs and of the predictions layout: oracle (knows x_0), "
         "empirical (the exact denoiser of a data set), exact, mixture, patch, a shipped model, or "
         "the path of a model file"));
  run_form->addRow(tr("Model"), model_);
  from_t_ = new QSpinBox(run_box);
  from_t_->setObjectName(QStringLiteral("fromT"));
  from_t_->setRange(-1, T);
  from_t_->setSpecialValueText(tr("auto"));
  from_t_->setKeyboardTracking(false);
  from_t_->setToolTip(
      tr("The first frame's t; auto = 0 forward, T reverse. A reverse run from t < T starts from "
         "the input noised to t (SDEdit)"));
  to_t_ = new QSpinBox(run_box);
  to_t_->setObjectName(QStringLiteral("toT"));
  to_t_->setRange(-1, T);
  to_t_->setSpecialValueText(tr("auto"));
  to_t_->setKeyboardTracking(false);
  to_t_->setToolTip(tr("The last frame's t; auto = T forward, 0 reverse"));
  auto* range_row = new QHBoxLayout;
  range_row->addWidget(from_t_);
  range_row->addWidget(new QLabel(tr("to"), run_box));
  range_row->addWidget(to_t_);
  range_row->addStretch(1);
  run_form->addRow(tr("Range of t"), range_row);
  frames_ = new QSpinBox(run_box);
  frames_->setObjectName(QStringLiteral("frames"));
  frames_->setRange(1, kMaxExportFrames);
  frames_->setKeyboardTracking(false);
  frames_->setToolTip(tr("Number of frames (a reverse run gives at most one frame per sampler step)"));
  spacing_ = new QComboBox(run_box);
  spacing_->setObjectName(QStringLiteral("spacing"));
  spacing_->addItem(tr("evenly in t"), static_cast<int>(FrameSpacing::kTime));
  spacing_->addItem(tr("evenly in log-SNR"), static_cast<int>(FrameSpacing::kLogSnr));
  spacing_->setToolTip(
      tr("Frames evenly spaced in t, or in log-SNR = log(alpha_bar / (1 - alpha_bar)), which "
         "spends more frames where the image is still recognisable"));
  auto* frames_row = new QHBoxLayout;
  frames_row->addWidget(frames_);
  frames_row->addWidget(spacing_, 1);
  run_form->addRow(tr("Frames"), frames_row);

  // The look.
  auto* look_box = new QGroupBox(tr("Frames show"), this);
  auto* look_form = new QFormLayout(look_box);
  layout_ = new QComboBox(look_box);
  layout_->setObjectName(QStringLiteral("layout"));
  for (std::string_view name : LayoutNames()) {
    const Layout layout = *ParseLayout(name);
    layout_->addItem(Qs(name), static_cast<int>(layout));
    layout_->setItemData(layout_->count() - 1, Qs(LayoutDescription(layout)), Qt::ToolTipRole);
  }
  look_form->addRow(tr("Layout"), layout_);
  size_ = new QSpinBox(look_box);
  size_->setObjectName(QStringLiteral("size"));
  size_->setRange(16, 4096);
  size_->setSingleStep(32);
  size_->setSuffix(tr(" px"));
  size_->setKeyboardTracking(false);
  auto* size_row = new QHBoxLayout;
  size_row->addWidget(size_);
  size_row->addStretch(1);
  look_form->addRow(tr("Size"), size_row);
  caption_ = new QCheckBox(tr("Caption with t, alpha_bar_t and SNR"), look_box);
  caption_->setObjectName(QStringLiteral("caption"));
  caption_->setToolTip(tr("A strip under every frame: t, alpha_bar_t and the signal-to-noise ratio"));
  look_form->addRow(QString(), caption_);
  field_ = new QComboBox(look_box);
  field_->setObjectName(QStringLiteral("field"));
  field_->addItem(tr("No field"), static_cast<int>(FieldKind::kNone));
  field_->addItem(tr("Score direction (-eps_hat)"), static_cast<int>(FieldKind::kScore));
  field_->addItem(tr("Reverse drift (mu - x_t)"), static_cast<int>(FieldKind::kDrift));
  field_->setToolTip(tr("2D: arrows of the model's field at each frame's t, as the 2D view draws them"));
  look_form->addRow(tr("Field"), field_);
  contours_ = new QCheckBox(tr("Density contours"), look_box);
  contours_->setObjectName(QStringLiteral("contours"));
  contours_->setToolTip(tr("2D: iso-lines of a kernel density estimate of the particles (10 .. 90 % of its peak)"));
  look_form->addRow(QString(), contours_);
  trajectories_ = new QCheckBox(tr("Trajectories of %1 particles").arg(kDefaultTrajectories), look_box);
  trajectories_->setObjectName(QStringLiteral("trajectories"));
  trajectories_->setToolTip(tr("2D: the paths of a few particles up to each frame's t"));
  look_form->addRow(QString(), trajectories_);
  data_set_ = new QCheckBox(tr("Data set (faint)"), look_box);
  data_set_->setObjectName(QStringLiteral("data_set"));
  data_set_->setToolTip(tr("2D: the data set drawn faint behind the particles, as the 2D view draws it"));
  look_form->addRow(QString(), data_set_);

  // Preview.
  auto* preview_box = new QGroupBox(tr("Preview: first and last frame"), this);
  auto* preview_layout = new QVBoxLayout(preview_box);
  auto* images = new QHBoxLayout;
  for (int i = 0; i < 2; ++i) {
    auto* column = new QVBoxLayout;
    preview_label_[i] = new QLabel(preview_box);
    preview_label_[i]->setObjectName(i == 0 ? QStringLiteral("previewFirst") : QStringLiteral("previewLast"));
    preview_label_[i]->setFixedSize(kPreviewSide, kPreviewSide);
    preview_label_[i]->setAlignment(Qt::AlignCenter);
    preview_label_[i]->setFrameShape(QFrame::StyledPanel);
    preview_label_[i]->setToolTip(i == 0 ? tr("The first frame, as it will be exported (scaled to fit)")
                                         : tr("The last frame, as it will be exported (scaled to fit)"));
    preview_caption_[i] = new QLabel(i == 0 ? tr("first") : tr("last"), preview_box);
    preview_caption_[i]->setAlignment(Qt::AlignCenter);
    column->addWidget(preview_label_[i]);
    column->addWidget(preview_caption_[i]);
    images->addLayout(column);
  }
  preview_layout->addLayout(images);
  preview_status_ = new QLabel(preview_box);
  preview_status_->setObjectName(QStringLiteral("previewStatus"));
  preview_status_->setWordWrap(true);
  preview_layout->addWidget(preview_status_);
  preview_layout->addStretch(1);

  // Status, progress, buttons.
  problem_label_ = new QLabel(this);
  problem_label_->setObjectName(QStringLiteral("problem"));
  problem_label_->setWordWrap(true);
  problem_label_->setStyleSheet(QStringLiteral("QLabel { color: #b00020; }"));
  problem_label_->setVisible(false);
  result_label_ = new QLabel(this);
  result_label_->setObjectName(QStringLiteral("result"));
  result_label_->setWordWrap(true);
  result_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  result_label_->setVisible(false);
  progress_ = new QProgressBar(this);
  progress_->setObjectName(QStringLiteral("progress"));
  progress_->setTextVisible(true);
  progress_->setToolTip(tr("Computing the run, rendering and writing the frames"));
  cancel_ = new QPushButton(tr("Cancel"), this);
  cancel_->setObjectName(QStringLiteral("cancel"));
  cancel_->setToolTip(tr("Stop the export; nothing is written"));
  auto* progress_row = new QHBoxLayout;
  progress_row->addWidget(progress_, 1);
  progress_row->addWidget(cancel_);

  buttons_ = new QDialogButtonBox(QDialogButtonBox::Close, this);
  export_ = buttons_->addButton(tr("Export"), QDialogButtonBox::ActionRole);
  export_->setObjectName(QStringLiteral("export"));
  export_->setDefault(true);
  export_->setToolTip(tr("Write the animation and its bundle JSON"));

  options_ = new QWidget(this);  // disabled as a whole while exporting
  auto* left = new QVBoxLayout(options_);
  left->setContentsMargins(0, 0, 0, 0);
  left->addWidget(output_box);
  left->addWidget(run_box);
  left->addWidget(look_box);
  left->addStretch(1);
  auto* columns = new QHBoxLayout;
  columns->addWidget(options_, 1);
  columns->addWidget(preview_box, 0);
  auto* main = new QVBoxLayout(this);
  main->addWidget(input_label_);
  main->addLayout(columns, 1);
  main->addWidget(problem_label_);
  main->addLayout(progress_row);
  main->addWidget(result_label_);
  main->addWidget(buttons_);

  // Initial values from the spec (before the connections below).
  direction_->setCurrentIndex(direction_->findData(static_cast<int>(initial_.direction)));
  path_->setCurrentIndex(std::max(0, path_->findData(static_cast<int>(initial_.forward_path))));
  model_->setCurrentText(QString::fromStdString(initial_.model));
  from_t_->setValue(std::clamp(initial_.from_t, -1, T));
  to_t_->setValue(std::clamp(initial_.to_t, -1, T));
  frames_->setValue(std::clamp(initial_.frames, 1, kMaxExportFrames));
  spacing_->setCurrentIndex(spacing_->findData(static_cast<int>(initial_.spacing)));
  fps_->setValue(initial_.output.fps);
  hold_->setValue(initial_.output.final_hold_s);
  dither_->setChecked(initial_.output.gif_dither);
  crf_->setValue(std::clamp(initial_.output.video_crf, -1, 63));
  layout_->setCurrentIndex(layout_->findData(static_cast<int>(initial_.render.layout)));
  size_->setValue(initial_.render.layout == Layout::kScatter ? initial_.render.scatter.width
                                                             : std::clamp(initial_.render.min_cell, 16, 4096));
  caption_->setChecked(initial_.render.caption);
  field_->setCurrentIndex(std::max(0, field_->findData(static_cast<int>(initial_.field.kind))));
  contours_->setChecked(initial_.contours);
  trajectories_->setChecked(initial_.render.scatter.max_trajectories > 0);
  data_set_->setChecked(initial_.draw_data);

  connect(output_, &QLineEdit::textChanged, this, &ExportDialog::outputEdited);
  connect(browse_, &QPushButton::clicked, this, &ExportDialog::browse);
  connect(format_, &QComboBox::currentIndexChanged, this, &ExportDialog::formatChosen);
  for (QComboBox* box : {direction_, path_, spacing_, layout_, field_})
    connect(box, &QComboBox::currentIndexChanged, this, &ExportDialog::optionsChanged);
  connect(model_, &QComboBox::currentTextChanged, this, &ExportDialog::optionsChanged);
  for (QSpinBox* box : {from_t_, to_t_, frames_, size_, crf_})
    connect(box, &QSpinBox::valueChanged, this, &ExportDialog::optionsChanged);
  for (QDoubleSpinBox* box : {fps_, hold_})
    connect(box, &QDoubleSpinBox::valueChanged, this, &ExportDialog::optionsChanged);
  for (QCheckBox* box : {caption_, dither_, contours_, trajectories_, data_set_})
    connect(box, &QCheckBox::toggled, this, &ExportDialog::optionsChanged);
  connect(export_, &QPushButton::clicked, this, &ExportDialog::startExport);
  connect(cancel_, &QPushButton::clicked, this, &ExportDialog::cancelExport);
  connect(buttons_, &QDialogButtonBox::rejected, this, &ExportDialog::reject);
}

void ExportDialog::loadSettings() {
  const Settings::ExportChoices saved = Settings::ExportSettings();
  const QSignalBlocker b1(layout_), b2(frames_), b3(fps_), b4(format_), b5(output_), b6(crf_);
  if (saved.fps) fps_->setValue(*saved.fps);
  if (saved.crf) crf_->setValue(*saved.crf);
  if (saved.frames) frames_->setValue(*saved.frames);
  // The remembered layout only where it suits the input (2D data is shown as a scatter, images never are).
  if (auto layout = ParseLayout(saved.layout.toStdString())) {
    const bool points = !initial_.data.empty();
    if ((*layout == Layout::kScatter) == points) {
      layout_->setCurrentIndex(layout_->findData(static_cast<int>(*layout)));
      if (*layout != Layout::kScatter) size_->setValue(std::clamp(initial_.render.min_cell, 16, 4096));
    }
  }
  ExportFormat format = ExportFormat::kGif;
  for (ExportFormat f : {ExportFormat::kGif, ExportFormat::kMp4, ExportFormat::kWebm, ExportFormat::kPngFrames})
    if (saved.format == Qs(ExportFormatName(f))) format = f;
  format_->setCurrentIndex(format_->findData(static_cast<int>(format)));
  const QString name = InputStem(initial_) + QLatin1Char('_') + Qs(DirectionName(initial_.direction));
  output_->setText(WithFormat(QDir(saved.folder).filePath(name), format));
}

void ExportDialog::saveSettings() const {
  Settings::ExportChoices choices;
  QString path = outputPath();
  while (path.size() > 1 && path.endsWith(QLatin1Char('/'))) path.chop(1);
  choices.folder = QFileInfo(path).absolutePath();
  choices.format = Qs(ExportFormatName(format()));
  choices.fps = fps_->value();
  choices.frames = frames_->value();
  choices.crf = crf_->value();
  choices.layout = Qs(LayoutName(static_cast<Layout>(layout_->currentData().toInt())));
  Settings::SetExportSettings(choices);
}

AnimationSpec ExportDialog::spec() const {
  AnimationSpec spec = initial_;
  spec.direction = static_cast<Direction>(direction_->currentData().toInt());
  spec.forward_path = static_cast<ForwardPath>(path_->currentData().toInt());
  spec.model = model_->currentText().trimmed().toStdString();
  spec.from_t = from_t_->value();
  spec.to_t = to_t_->value();
  spec.frames = frames_->value();
  spec.times.clear();
  spec.spacing = static_cast<FrameSpacing>(spacing_->currentData().toInt());
  spec.render.layout = static_cast<Layout>(layout_->currentData().toInt());
  if (spec.render.layout == Layout::kScatter) {
    spec.render.scatter.width = spec.render.scatter.height = size_->value();
    spec.field.kind = static_cast<FieldKind>(field_->currentData().toInt());
    spec.contours = contours_->isChecked();
    spec.render.scatter.max_trajectories = trajectories_->isChecked() ? kDefaultTrajectories : 0;
    spec.draw_data = data_set_->isChecked();
  } else {
    spec.render.scale = 0;  // auto: the smallest scale giving cells of at least min_cell pixels
    spec.render.min_cell = size_->value();
  }
  if (spec.render.layout == Layout::kGrid) spec.samples = std::max(spec.samples, spec.render.grid_samples);
  spec.render.caption = caption_->isChecked();
  spec.output.fps = fps_->value();
  spec.output.final_hold_s = hold_->value();
  spec.output.gif_dither = dither_->isChecked();
  spec.output.video_crf = crf_->value();
  // A codec chosen for one container does not carry over to another.
  const ExportFormat f = format();
  const VideoCodec codec = spec.output.video_codec;
  if ((f == ExportFormat::kMp4 && (codec == VideoCodec::kVp8 || codec == VideoCodec::kVp9)) ||
      (f == ExportFormat::kWebm && (codec == VideoCodec::kH264 || codec == VideoCodec::kMpeg4)))
    spec.output.video_codec = VideoCodec::kAuto;
  return spec;
}

QString ExportDialog::outputPath() const { return output_->text().trimmed(); }

void ExportDialog::setOutputPath(const QString& path) { output_->setText(path); }

ExportFormat ExportDialog::format() const { return static_cast<ExportFormat>(format_->currentData().toInt()); }

bool ExportDialog::exportEnabled() const { return export_->isEnabled(); }

bool ExportDialog::previewBusy() const { return preview_timer_->isActive() || preview_jobs_->busy(); }

bool ExportDialog::exporting() const { return export_task_->running(); }

void ExportDialog::outputEdited() {
  if (syncing_) return;
  try {
    const ExportFormat f = FormatForPath(outputPath().toStdString());
    const QSignalBlocker blocker(format_);
    format_->setCurrentIndex(format_->findData(static_cast<int>(f)));
  } catch (const std::exception&) {
    // optionsChanged() reports the bad extension
  }
  optionsChanged();
}

void ExportDialog::formatChosen() {
  syncing_ = true;
  output_->setText(WithFormat(outputPath(), format()));
  syncing_ = false;
  optionsChanged();
}

void ExportDialog::browse() {
  const ExportFormat f = format();
  QString start = outputPath();
  QString chosen;
  if (f == ExportFormat::kPngFrames) {
    while (start.size() > 1 && start.endsWith(QLatin1Char('/'))) start.chop(1);
    chosen = QFileDialog::getSaveFileName(this, tr("Folder for the PNG frames"), start, tr("Folder (*)"), nullptr,
                                          QFileDialog::ShowDirsOnly | QFileDialog::DontConfirmOverwrite);
  } else {
    const QString filter = f == ExportFormat::kGif   ? tr("GIF animation (*.gif)")
                           : f == ExportFormat::kMp4 ? tr("MP4 video (*.mp4)")
                                                     : tr("WebM video (*.webm)");
    chosen = QFileDialog::getSaveFileName(this, tr("Export animation"), start, filter);
  }
  if (chosen.isEmpty()) return;
  setOutputPath(WithFormat(chosen, f));
}

void ExportDialog::optionsChanged() {
  const AnimationSpec s = spec();
  const int T = s.schedule.num_steps;
  const int from = s.from_t >= 0 ? s.from_t : (s.direction == Direction::kForward ? 0 : T);
  const int to = s.to_t >= 0 ? s.to_t : (s.direction == Direction::kForward ? T : 0);

  // What the core would refuse, before any work: the spec, the target, then combinations.
  QString problem = QString::fromStdString(s.Check());
  const QString path = outputPath();
  if (problem.isEmpty() && path.isEmpty()) problem = tr("choose an output file");
  std::optional<ExportFormat> target;
  if (problem.isEmpty()) {
    try {
      target = FormatForPath(path.toStdString());
    } catch (const std::exception& error) {
      problem = QString::fromUtf8(error.what());
    }
  }
  if (problem.isEmpty() && target != format()) problem = tr("the file name does not match the chosen format");
  if (problem.isEmpty()) {
    QString file = path;
    while (file.size() > 1 && file.endsWith(QLatin1Char('/'))) file.chop(1);
    const QString folder = QFileInfo(file).absolutePath();
    if (!QFileInfo(folder).isDir()) problem = tr("the folder %1 does not exist").arg(folder);
  }
  if (problem.isEmpty() && *target == ExportFormat::kGif && s.output.fps > 50.0)
    problem = tr("a GIF cannot play faster than 50 fps: choose fps <= 50, or export MP4 / WebM");
  if (problem.isEmpty() && s.direction == Direction::kReverse && from <= to)
    problem = tr("a reverse run goes from a larger t to a smaller one: the range must start above its end");
  if (problem.isEmpty() && s.direction == Direction::kForward && s.from_t >= 0 && s.to_t >= 0 && from > to)
    problem = tr("a forward run goes from a smaller t to a larger one: the range must start below its end");
  if (problem.isEmpty() && s.model.empty() &&
      (s.direction == Direction::kReverse || s.render.layout == Layout::kPredictions ||
       s.field.kind != FieldKind::kNone))
    problem = tr("choose a model for the reverse run / the predictions / the field");
  problem_ = problem;
  problem_label_->setText(problem.isEmpty() ? QString() : tr("Cannot export: %1").arg(problem));
  problem_label_->setVisible(!problem.isEmpty());

  // Only frame-changing options ask for a new preview.
  const std::string key = PreviewKey(s);
  if (key != preview_key_) {
    preview_key_ = key;
    preview_timer_->start();
  }
  updateEnabled();
}

void ExportDialog::updateEnabled() {
  const bool busy = exporting();
  const AnimationSpec s = spec();
  options_->setEnabled(!busy);
  // Reverse runs use the path when they start from the noised input.
  const int T = s.schedule.num_steps;
  path_->setEnabled(s.direction == Direction::kForward || s.start_t > 0 || (s.from_t >= 0 && s.from_t < T));
  model_->setEnabled(s.direction == Direction::kReverse || s.render.layout == Layout::kPredictions ||
                     s.field.kind != FieldKind::kNone);
  dither_->setEnabled(format() == ExportFormat::kGif);
  const bool video = format() == ExportFormat::kMp4 || format() == ExportFormat::kWebm;
  crf_->setEnabled(video);
  crf_->setMaximum(format() == ExportFormat::kMp4 ? 51 : 63);  // H.264's CRF stops at 51, VP9's at 63
  spacing_->setEnabled(s.frames > 2);
  const bool scatter = s.render.layout == Layout::kScatter;
  for (QWidget* overlay : std::initializer_list<QWidget*>{field_, contours_, trajectories_, data_set_})
    overlay->setEnabled(scatter);
  size_->setToolTip(scatter ? tr("Width and height of the scatter plot in pixels")
                            : tr("Smallest image cell in pixels: each image pixel becomes an integer block, the "
                                 "smallest making a cell at least this large (sharp pixels, no smoothing)"));
  layout_->setToolTip(tr("What each frame shows. %1").arg(Qs(LayoutDescription(s.render.layout))));
  export_->setEnabled(!busy && problem_.isEmpty());
  cancel_->setEnabled(busy);
  cancel_->setVisible(busy);
  progress_->setVisible(busy);
}

void ExportDialog::refreshPreview() {
  preview_timer_->stop();
  const AnimationSpec preview = PreviewSpec(spec());
  if (const std::string problem = preview.Check(); !problem.empty()) {
    preview_generation_->fetch_add(1);  // a running preview is out of date
    preview_status_->setText(tr("No preview: %1").arg(QString::fromStdString(problem)));
    return;
  }
  preview_status_->setText(tr("Rendering the preview..."));
  const quint64 generation = preview_jobs_->generation() + 1;
  preview_generation_->store(generation);
  auto latest = preview_generation_;
  const quint64 got = preview_jobs_->request([preview, latest, generation]() -> std::any {
    // A newer request makes this one stop at the core's next check (LatestJob drops it anyway).
    const StopFn stop = [latest, generation] { return latest->load() != generation; };
    AnimationFrames frames = RenderAnimation(preview, {}, stop);
    if (frames.frames.empty()) throw Error("the animation has no frames");
    PreviewResult result;
    result.first_t = frames.t.front();
    result.last_t = frames.t.back();
    result.last = ToQImage(std::move(frames.frames.back()));
    result.first = ToQImage(std::move(frames.frames.front()));  // the same frame twice when there is one
    if (result.first.isNull()) result.first = result.last;
    return result;
  });
  Q_ASSERT(got == generation);
  (void)got;
}

void ExportDialog::showPreview(const std::any& result) {
  const auto* preview = std::any_cast<PreviewResult>(&result);
  if (preview == nullptr) return;
  preview_[0] = preview->first;
  preview_[1] = preview->last;
  preview_t_[0] = preview->first_t;
  preview_t_[1] = preview->last_t;
  for (int i = 0; i < 2; ++i) {
    const QImage& image = preview_[i];
    preview_label_[i]->setPixmap(QPixmap::fromImage(
        image.scaled(kPreviewSide - 4, kPreviewSide - 4, Qt::KeepAspectRatio,
                     image.width() > kPreviewSide ? Qt::SmoothTransformation : Qt::FastTransformation)));
    preview_caption_[i]->setText(tr("%1: t = %2").arg(i == 0 ? tr("first") : tr("last")).arg(preview_t_[i]));
  }
  preview_status_->setText(tr("Frames are %1 x %2 pixels").arg(preview_[0].width()).arg(preview_[0].height()));
  emit previewReady();
}

void ExportDialog::startExport() {
  if (exporting()) return;
  optionsChanged();
  if (!problem_.isEmpty()) return;
  saveSettings();
  export_path_ = outputPath();
  const AnimationSpec job = spec();
  const std::string out = export_path_.toStdString();
  result_label_->setVisible(false);
  progress_->setRange(0, 0);  // busy until the first progress report
  progress_->setFormat(tr("starting"));
  export_task_->start([job, out](const ProgressFn& progress, const StopFn& stop) -> std::any {
    return ExportAnimationJob(job, out, progress, stop);
  });
  updateEnabled();
}

void ExportDialog::cancelExport() {
  if (!exporting()) return;
  progress_->setFormat(tr("cancelling..."));
  export_task_->cancel();
}

void ExportDialog::reject() {
  if (exporting()) {  // stop first, close when the core has returned (nothing is left on disk)
    close_when_idle_ = true;
    cancelExport();
    return;
  }
  QDialog::reject();
}

void ExportDialog::onExportFinished(const std::any& result) {
  const auto* r = std::any_cast<ExportResult>(&result);
  if (r == nullptr) return onExportFailed(tr("the export returned no result"));
  last_result_ = *r;
  const QString path = QString::fromStdString(r->path.string());
  const QString bundle = QString::fromStdString(BundlePathFor(r->path, r->format).string());
  QString text = tr("Wrote %1, %2 x %3 pixels, %4")
                     .arg(Plural(r->frames, tr("frame"), tr("frames")))
                     .arg(r->width)
                     .arg(r->height)
                     .arg(QString::fromStdString(r->codec));
  if (r->duration_s > 0) text += tr(", %1 s").arg(r->duration_s, 0, 'f', 1);
  if (!r->note.empty()) text += tr(" (%1)").arg(QString::fromStdString(r->note));
  text += tr("\nto %1\nBundle (remakes it bit for bit): %2").arg(path, bundle);
  result_label_->setStyleSheet(QString());
  message(tr("Export finished"), text, false);
  emit exportFinished(path);
  if (close_when_idle_) QDialog::reject();
}

void ExportDialog::onExportFailed(const QString& text) {
  result_label_->setStyleSheet(QStringLiteral("QLabel { color: #b00020; }"));
  message(tr("Export failed"), text, true);
  emit exportFailed(text);
  if (close_when_idle_) QDialog::reject();
}

void ExportDialog::onExportCancelled() {
  result_label_->setStyleSheet(QString());
  result_label_->setText(tr("Export cancelled: nothing was written."));
  result_label_->setVisible(true);
  last_message_ = result_label_->text();
  emit exportCancelled();
  if (close_when_idle_) QDialog::reject();
}

void ExportDialog::message(const QString& title, const QString& text, bool error) {
  last_message_ = title + QStringLiteral(": ") + text;
  result_label_->setText(last_message_);
  result_label_->setVisible(true);
  if (NoDialogs() || close_when_idle_) return;
  QMessageBox box(error ? QMessageBox::Warning : QMessageBox::Information, title, title, QMessageBox::Ok, this);
  box.setInformativeText(text);
  box.exec();
}

}  // namespace diffuscope::ui

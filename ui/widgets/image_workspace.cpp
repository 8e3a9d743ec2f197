#include "ui/widgets/image_workspace.h"

#include "core/data/digits.h"
#include "core/data/image_io.h"
#include "core/forward/forward.h"
#include "core/metrics/image_quality.h"
#include "core/metrics/super_resolution.h"
#include "core/models/digits_ddpm.h"
#include "core/models/digits_unet.h"
#include "core/models/exact.h"
#include "core/models/photo_eval.h"
#include "core/models/registry.h"
#include "core/models/sr3.h"
#include "core/render/frame.h"
#include "core/run/run.h"
#include "core/sampling/sampler.h"
#include "ui/state/resources_dir.h"
#include "ui/state/settings.h"
#include "ui/widgets/panel_grid.h"
#include "ui/widgets/sampler_controls.h"

#include <QAbstractItemView>
#include <QCheckBox>
#include <QComboBox>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPainter>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <mutex>

namespace diffuscope::ui {

namespace {

// Memory kept for the frames of one reverse run; longer runs keep every k-th step.
constexpr size_t kReverseFrameBudget = 384u << 20;

ImageShape ShapeOf(const ImageData& image) { return {image.channels, image.height, image.width}; }

QString ModelLabel(const QString& name) {
  // The training-free ones are named for what they show.
  if (name == QLatin1String("ddpm-photo")) return QObject::tr("DDPM photo (learned U-Net)");
  if (name == QLatin1String("sr3-photo")) return QObject::tr("SR3 photo x4 (learned U-Net)");
  if (name == QLatin1String("sr3-digits")) return QObject::tr("SR3 digits 10x10 -> 20x20");
  if (name == QLatin1String("sr3-digits-5x5")) return QObject::tr("SR3 digits 5x5 -> 20x20");
  if (name == QLatin1String("ddpm-digits")) return QObject::tr("DDPM digits (U-Net, samples from noise)");
  if (name == QLatin1String("ddpm-digits-mlp")) return QObject::tr("DDPM digits (pixel MLP, for comparison)");
  if (ImageModelKindOf(name) != ImageModelKind::kImage) return QFileInfo(name).completeBaseName();
  if (name == QLatin1String("oracle")) return QObject::tr("Oracle (knows the photo: the true posterior)");
  if (name == QLatin1String("empirical")) return QObject::tr("Memorisation (empirical: lands on a sample photo)");
  if (name == QLatin1String("patch")) return QObject::tr("Patch mosaic (training-free, local patches)");
  return QFileInfo(name).completeBaseName();
}

// "about 40 s", "3 min 10 s".
QString DurationText(double seconds) {
  if (seconds < 1.0) return QObject::tr("1 s");
  if (seconds < 90.0) return QObject::tr("%1 s").arg(std::lround(seconds));
  const long total = std::lround(seconds);
  if (total < 3600) return QObject::tr("%1 min %2 s").arg(total / 60).arg(total % 60);
  return QObject::tr("%1 h %2 min").arg(total / 3600).arg((total % 3600) / 60);
}

// The input a run of the workspace computes on: the open image itself, or at a working size below the image's
// the image read and shrunk by the core exactly as an export of the same run reads it (LoadRunInput), so the
// frames on screen are the export's.
RunInput WorkingInput(const RunSpec& run, const ImageData& image) {
  const bool shaped = run.super_resolution > 0 || run.region_width > 0;
  if (!image.path.isEmpty() && (shaped || run.max_image_side < std::max(image.width, image.height)))
    return LoadRunInput(run);
  if (shaped) return ImageRunInputOf(run, Image{image.channels, image.height, image.width, image.pixels}, "");
  return ImageRunInput(image.pixels, ShapeOf(image), image.path.toStdString());
}

// x0_hat and eps_hat of a model at t, through the core's conversion (with SR3's condition when it has one).
void Predict(Denoiser& model, const NoiseSchedule& schedule, int t, const Batch& x_t, Batch* x0_hat, Batch* eps_hat,
             const Batch* condition = nullptr) {
  PredictAt(model, schedule, t, x_t, x0_hat, eps_hat, condition && condition->size() > 0 ? condition : nullptr);
}

// The panels beside SR3 for a super-resolution input: its low-resolution image, the bicubic upsample (SR3's
// condition: the same cubic resize) and, simulated, the truth with bicubic's figures.
std::shared_ptr<const PhotoSrView> MakePhotoSrView(const RunInput& in, bool simulated) {
  auto view = std::make_shared<PhotoSrView>();
  Image low{in.low_shape.channels, in.low_shape.height, in.low_shape.width, in.low};
  const Batch bicubic = ResizeImage(low, in.shape.width, in.shape.height).pixels;
  view->low = ToQImage(ImageToFrame(in.low, 0, in.low_shape));
  view->bicubic = ToQImage(ImageToFrame(bicubic, 0, in.shape));
  view->simulated = simulated;
  if (simulated) {
    view->truth = ToQImage(ImageToFrame(in.x0, 0, in.shape));
    view->psnr_bicubic = ImagePsnr(in.x0, bicubic);
    view->ssim_bicubic = ImageSsim(in.x0, bicubic, in.shape.channels, in.shape.height, in.shape.width);
  }
  return view;
}

// A grey side x side image from a row.
QImage GreyImage(const Batch& rows, int row, int side) { return ToQImage(ImageToFrame(rows, row, {1, side, side})); }

// One forward frame and the panels beside it.
struct ImageFrame {
  int t = 0;
  QImage x_t, x0_hat, eps_hat, noise;
  Histogram histogram;
  bool has_histogram = false;
  double predict_seconds = 0.0, predict_pixels = 0.0;  // the model's prediction: what it cost (0: none made)
  std::shared_ptr<const PhotoSrView> photo_sr;         // a super-resolution input's panels
};

struct FrameRequest {
  std::shared_ptr<const NoiseSchedule> schedule;
  std::shared_ptr<const ImageData> image;
  uint64_t seed = 0;
  int t = 0;
  ForwardPath path = ForwardPath::kClosed;
  uint64_t fresh_frame = 0;
  bool predictions = false, noise = false, histogram = false;
  QString model;
  RunSpec run;  // the document's run (its model and seed)
};

}  // namespace

// The frames of a reverse run handed from the worker to the GUI thread as they are computed.
struct ReverseStream {
  std::mutex mutex;
  int start_t = -1;  // set before the first step
  int total = 0;
  std::vector<int> t;
  std::vector<QImage> x_t, x0_hat, eps_hat;
  std::vector<Histogram> histogram;
  std::vector<double> psnr;  // x0_hat against the truth (simulated super-resolution)
  std::shared_ptr<const PhotoSrView> photo_sr;
};

// Caches of the worker: the forward process and the models, rebuilt when their inputs change. Only one frame
// job runs at a time (LatestJob), the mutex keeps that true even if that ever changes.
struct ImageSource {
  std::mutex mutex;
  // The input frames are computed on: the open image, or its working-size copy (see WorkingInput).
  std::shared_ptr<const RunInput> input;
  const ImageData* input_image = nullptr;
  std::array<int, 7> input_key{};  // what of the run shapes the input (size, super-resolution, region)
  std::unique_ptr<ForwardProcess> process;
  const NoiseSchedule* process_schedule = nullptr;
  const RunInput* process_input = nullptr;
  uint64_t process_seed = 0;
  std::shared_ptr<const NoiseSchedule> schedule_keep;
  std::shared_ptr<const ImageData> image_keep;
  std::unique_ptr<Denoiser> model;
  QString model_name;
  const RunInput* model_input = nullptr;
  uint64_t model_seed = 0;
  std::unique_ptr<PosteriorOracle> oracle;
  const RunInput* oracle_input = nullptr;
  Batch condition;  // SR3's, for the model's predictions
  std::shared_ptr<const PhotoSrView> photo_sr;

  ImageFrame Compute(const FrameRequest& r) {
    std::lock_guard lock(mutex);
    const ImageData& image = *r.image;
    const std::array<int, 7> key = {r.run.max_image_side, r.run.super_resolution, r.run.simulate_low_resolution,
                                    r.run.region_x,       r.run.region_y,         r.run.region_width,
                                    r.run.region_height};
    if (!input || input_image != &image || input_key != key) {
      input = std::make_shared<const RunInput>(WorkingInput(r.run, image));
      input_image = &image;
      input_key = key;
      image_keep = r.image;  // keep the key alive so its address is not reused
      process.reset();
      model.reset();
      oracle.reset();
      photo_sr = input->low.size() > 0 ? MakePhotoSrView(*input, r.run.simulate_low_resolution) : nullptr;
    }
    const RunInput& in = *input;
    const ImageShape shape = in.shape;
    if (!process || process_schedule != r.schedule.get() || process_input != &in || process_seed != r.seed) {
      process = std::make_unique<ForwardProcess>(*r.schedule, in.x0, r.seed);
      process_schedule = r.schedule.get();
      process_input = &in;
      process_seed = r.seed;
      schedule_keep = r.schedule;
    }
    ImageFrame frame;
    frame.t = r.t;
    frame.photo_sr = photo_sr;
    const bool need_batch = r.path != ForwardPath::kClosed || r.predictions || r.noise || r.histogram;
    Batch x_t;
    if (!need_batch) {
      DisplayImage display;
      ForwardClosedToDisplay(*r.schedule, r.t, process->x0().data(), process->eps().data(), shape.channels,
                             shape.height, shape.width, &display);
      frame.x_t = ToQImage(std::move(display));
      return frame;
    }
    x_t = ForwardAt(*process, r.path, r.t, r.fresh_frame);
    frame.x_t = ToQImage(ImageToFrame(x_t, 0, shape));
    if (r.histogram) {
      frame.histogram = MakeHistogram(x_t.data(), x_t.size());
      frame.has_histogram = true;
    }
    if (r.t == 0) {
      if (r.predictions) frame.x0_hat = ToQImage(ImageToFrame(in.x0, 0, shape));
      return frame;
    }
    const ImageModelKind kind = ImageModelKindOf(r.model);
    if (r.predictions && (kind == ImageModelKind::kImage || kind == ImageModelKind::kSr3Photo)) {
      bool opened = false;
      if (!model || model_name != r.model || model_input != &in || model_seed != r.run.seed) {
        opened = true;  // its first evaluation also sets the network up: not a measure of its cost
        model = OpenRunModel(r.run, in).denoiser;
        condition = RunCondition(*model, in);
        model_name = r.model;
        model_input = &in;
        model_seed = r.run.seed;
      }
      Batch x0_hat, eps_hat;
      QElapsedTimer clock;
      clock.start();
      Predict(*model, *r.schedule, r.t, x_t, &x0_hat, &eps_hat, &condition);
      if (!opened) {
        frame.predict_seconds = clock.nsecsElapsed() * 1e-9;
        frame.predict_pixels = static_cast<double>(shape.height) * shape.width;
      }
      frame.x0_hat = ToQImage(ImageToFrame(x0_hat, 0, shape));
      frame.eps_hat = ToQImage(FieldToFrame(eps_hat, 0, shape, 3.0f));
    }
    if (r.noise) {
      // The oracle knows x_0, so its eps is exactly the noise in x_t (on any path).
      if (!oracle || oracle_input != &in) {
        oracle = std::make_unique<PosteriorOracle>(in.x0);
        oracle_input = &in;
      }
      Batch x0, noise;
      Predict(*oracle, *r.schedule, r.t, x_t, &x0, &noise);
      frame.noise = ToQImage(FieldToFrame(noise, 0, shape, 3.0f));
    }
    return frame;
  }
};

// low-res | bicubic | SR3 | truth, each tile enlarged without smoothing, with captions in the palette's colours.
class Sr3ComparisonView : public QWidget {
 public:
  explicit Sr3ComparisonView(QWidget* parent = nullptr) : QWidget(parent) {
    setToolTip(
        QObject::tr("The low-resolution input, its bicubic upsample, SR3's refinement and the truth. PSNR in dB "
                    "(pixels in [-1, 1]) and SSIM against the truth."));
  }
  void setComparison(const std::optional<Sr3Comparison>& comparison) {
    comparison_ = comparison;
    update();
  }
  QSize sizeHint() const override { return {640, 230}; }
  QSize minimumSizeHint() const override { return {320, 140}; }

 protected:
  void paintEvent(QPaintEvent*) override {
    QPainter painter(this);
    painter.fillRect(rect(), palette().window());
    if (!comparison_) return;
    const Sr3Comparison& c = *comparison_;
    const QFontMetrics metrics = fontMetrics();
    const int text_height = metrics.lineSpacing() * 2 + 6;
    const int gap = 12;
    const int tile = std::max(20, std::min((width() - 5 * gap) / 4, height() - text_height - 2 * gap));
    const int total = 4 * tile + 3 * gap;
    int x = std::max(gap, (width() - total) / 2);
    const int y = gap;
    const std::array<QImage, 4> images = {c.low, c.bicubic, c.sr3, c.truth};
    const std::array<QString, 4> titles = {QObject::tr("low-res %1x%1").arg(c.low_side), QObject::tr("bicubic"),
                                           QObject::tr("SR3"), QObject::tr("truth")};
    const std::array<QString, 4> figures = {
        QString(), QObject::tr("%1 dB, SSIM %2").arg(c.psnr_bicubic, 0, 'f', 2).arg(c.ssim_bicubic, 0, 'f', 3),
        QObject::tr("%1 dB, SSIM %2").arg(c.psnr_sr3, 0, 'f', 2).arg(c.ssim_sr3, 0, 'f', 3), c.truth_caption};
    painter.setRenderHint(QPainter::SmoothPixmapTransform, false);
    for (int i = 0; i < 4; ++i) {
      const QRect target(x, y, tile, tile);
      painter.drawImage(target, images[i]);
      painter.setPen(palette().color(QPalette::Mid));
      painter.drawRect(target.adjusted(0, 0, -1, -1));
      painter.setPen(palette().color(QPalette::WindowText));
      QFont bold = font();
      bold.setBold(true);
      painter.setFont(bold);
      painter.drawText(QRect(x - gap / 2, y + tile + 3, tile + gap, metrics.lineSpacing()), Qt::AlignHCenter,
                       titles[i]);
      painter.setFont(font());
      painter.drawText(QRect(x - gap / 2, y + tile + 3 + metrics.lineSpacing(), tile + gap, metrics.lineSpacing()),
                       Qt::AlignHCenter, metrics.elidedText(figures[i], Qt::ElideRight, tile + gap));
      x += tile + gap;
    }
  }

 private:
  std::optional<Sr3Comparison> comparison_;
};

ImageWorkspace::ImageWorkspace(Document* document, TimelineModel* timeline, QWidget* parent)
    : QWidget(parent), document_(document), timeline_(timeline), source_(std::make_shared<ImageSource>()) {
  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);

  // Left: controls.
  auto* controls = new QWidget;
  auto* column = new QVBoxLayout(controls);
  info_ = new QLabel;
  info_->setWordWrap(true);
  info_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* image_box = new QGroupBox(tr("Image"));
  (new QVBoxLayout(image_box))->addWidget(info_);
  column->addWidget(image_box);

  auto* show_box = new QGroupBox(tr("Show"));
  auto* show_layout = new QVBoxLayout(show_box);
  show_predictions_ = new QCheckBox(tr("x0_hat and eps_hat"));
  show_predictions_->setToolTip(tr("The model's predictions at t: the clean image x0_hat and the noise eps_hat"));
  show_noise_ = new QCheckBox(tr("Noise actually added"));
  show_noise_->setToolTip(
      tr("The noise in x_t: (x_t - sqrt(alpha_bar_t) x_0) / sqrt(1 - alpha_bar_t), from the "
         "posterior oracle"));
  show_histogram_ = new QCheckBox(tr("Histogram of x_t"));
  show_histogram_->setToolTip(tr("Pixel values of x_t against the N(0, 1) density"));
  show_layout->addWidget(show_predictions_);
  show_layout->addWidget(show_noise_);
  show_layout->addWidget(show_histogram_);
  column->addWidget(show_box);

  auto* model_group = new QGroupBox(tr("Model"));
  auto* model_form = new QFormLayout(model_group);
  model_box_ = new QComboBox;
  // The model names are long: the list shows them in full, the box as many letters as fit.
  model_box_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  model_box_->setMinimumContentsLength(18);
  // The learned photo model first: it is the only one that denoises a photograph without knowing or copying one.
  for (const char* name : {"ddpm-photo", "sr3-photo"}) {
    if (ShippedModelPath(name)) model_box_->addItem(ModelLabel(QString::fromLatin1(name)), QString::fromLatin1(name));
  }
  for (const char* name : {"oracle", "empirical", "patch"}) {
    model_box_->addItem(ModelLabel(QString::fromLatin1(name)), QString::fromLatin1(name));
  }
  model_box_->setToolTip(
      tr("DDPM photo: a U-Net trained on photographs; it denoises any photo from the current t. "
         "From pure noise it makes textures, not photographs (it learned local image statistics).\n"
         "Oracle: knows x_0, so each step is the true posterior q(x_{t-1} | x_t, x_0): the ideal "
         "a learned model approaches.\n"
         "Memorisation: the optimal denoiser of the sample photos (empirical); from pure noise it "
         "lands on one of them.\nPatch mosaic: the same, patch by patch (Kamb & Ganguli 2024); "
         "it makes new images from plausible patches. Slow on large images.\n"
         "SR3 photo x4: super-resolves the photo (or, simulated, its 4x downscaled view) by "
         "iterative refinement from pure noise, beside bicubic (Saharia et al. 2021)."));
  for (const char* name : {"sr3-digits", "sr3-digits-5x5", "ddpm-digits", "ddpm-digits-mlp"}) {
    if (ShippedModelPath(name)) model_box_->addItem(ModelLabel(QString::fromLatin1(name)), QString::fromLatin1(name));
  }
  model_box_->setToolTip(model_box_->toolTip() +
                         tr("\nSR3 digits: super-resolves a 20x20 digit from its 10x10 (or 5x5) view by iterative "
                            "refinement (Saharia et al. 2021).\nDDPM digits: samples a grid of 20x20 digits from "
                            "pure noise (Ho et al. 2020)."));
  model_form->addRow(tr("Denoiser"), model_box_);
  working_box_ = new QComboBox;
  working_box_->setToolTip(
      tr("The longest side the learned model computes at: the photo is shrunk by area to it "
         "(a U-Net's time grows with the pixels). Exports of the run use the same size."));
  estimate_label_ = new QLabel;
  estimate_label_->setWordWrap(true);
  estimate_label_->setToolTip(
      tr("The expected time of a reverse run: steps x pixels x the measured cost of one "
         "network evaluation per pixel on this computer"));
  working_label_ = new QLabel(tr("Working size"));
  model_form->addRow(working_label_, working_box_);
  model_form->addRow(estimate_label_);
  column->addWidget(model_group);

  sr_group_ = new QGroupBox(tr("Super-resolution x4"));
  auto* sr_layout = new QVBoxLayout(sr_group_);
  simulate_box_ = new QCheckBox(tr("Simulate low resolution"));
  simulate_box_->setToolTip(
      tr("Downscale the photo 4x first (area average), super-resolve that, and compare with "
         "the original: PSNR and SSIM of SR3 and of bicubic against the truth"));
  sr_samples_box_ = new QSpinBox;
  sr_samples_box_->setObjectName(QStringLiteral("srSamples"));
  sr_samples_box_->setRange(1, 16);
  sr_samples_box_->setToolTip(
      tr("Average this many SR3 runs from independent noise: the posterior mean. One sample "
         "invents plausible detail that is not the photo's; the mean keeps what the chains "
         "agree on (higher PSNR and SSIM, less texture). The run shows the first chain's x_t "
         "and the mean x0_hat, and takes this many times as long."));
  auto* samples_row = new QHBoxLayout;
  samples_row->addWidget(new QLabel(tr("Samples averaged")));
  samples_row->addWidget(sr_samples_box_);
  samples_row->addStretch(1);
  sr_note_ = new QLabel;
  sr_note_->setWordWrap(true);
  sr_layout->addWidget(simulate_box_);
  sr_layout->addLayout(samples_row);
  sr_layout->addWidget(sr_note_);
  column->addWidget(sr_group_);
  connect(simulate_box_, &QCheckBox::toggled, this, [this](bool simulate) {
    ModelChoice model = document_->model();
    model.simulate_low_resolution = simulate;
    document_->setModel(model);
  });
  connect(sr_samples_box_, &QSpinBox::valueChanged, this, [this](int samples) {
    ModelChoice model = document_->model();
    model.sr_samples = samples;
    document_->setModel(model);
  });

  digits_group_ = new QGroupBox(tr("Digits"));
  auto* digits_form = new QFormLayout(digits_group_);
  sr3_input_ = new QComboBox;
  sr3_input_->addItem(tr("A held-out digit"));
  sr3_input_->addItem(tr("The open image (grey, 20x20)"));
  sr3_input_->setToolTip(
      tr("The high-resolution truth whose low-resolution view SR3 refines: one of the 500 digits "
         "never trained on, or the open image made grey and area-resized to 20x20"));
  digit_index_ = new QSpinBox;
  digit_index_->setRange(0, 10 * 50 - 1);
  digit_index_->setToolTip(tr("Which held-out digit (0..499; 50 of each class, in class order)"));
  digit_samples_ = new QSpinBox;
  digit_samples_->setRange(1, 64);
  digit_samples_->setValue(16);
  digit_samples_->setToolTip(tr("How many digits the DDPM samples from pure noise, shown as a grid"));
  digits_note_ = new QLabel;
  digits_note_->setWordWrap(true);
  digits_form->addRow(tr("SR3 input"), sr3_input_);
  digits_form->addRow(tr("Held-out digit"), digit_index_);
  digits_form->addRow(tr("Samples"), digit_samples_);
  digits_form->addRow(digits_note_);
  column->addWidget(digits_group_);
  column->addWidget(new SamplerControls(document_, /*show_clip=*/true));

  auto* run_box = new QGroupBox(tr("Reverse run"));
  auto* run_layout = new QVBoxLayout(run_box);
  auto* buttons = new QHBoxLayout;
  denoise_button_ = new QPushButton(tr("Denoise"));
  denoise_button_->setToolTip(tr("Run the reverse process in the background, then scrub it (Ctrl+R)"));
  cancel_button_ = new QPushButton(tr("Cancel"));
  cancel_button_->setToolTip(tr("Stop the reverse run (Esc)"));
  cancel_button_->setEnabled(false);
  buttons->addWidget(denoise_button_);
  buttons->addWidget(cancel_button_);
  run_layout->addLayout(buttons);
  progress_ = new QProgressBar;
  progress_->setRange(0, 1);
  progress_->setValue(0);
  progress_->setTextVisible(true);
  run_layout->addWidget(progress_);
  run_label_ = new QLabel(tr("No reverse run yet."));
  run_label_->setWordWrap(true);
  run_layout->addWidget(run_label_);
  texture_note_ = new QLabel(
      tr("<i>From pure noise this model makes textures, not photographs</i>: a mosaic of local patches (Kamb and "
         "Ganguli 2024). Start from the current t (e.g. 100) to denoise the photo."));
  texture_note_->setWordWrap(true);
  run_layout->addWidget(texture_note_);
  column->addWidget(run_box);
  column->addStretch(1);

  auto* scroll = new QScrollArea;
  scroll->setWidget(controls);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  // The notes wrap: the column keeps to the width its controls need (word-wrapped labels would widen it).
  for (QLabel* note : {texture_note_, sr_note_, estimate_label_, run_label_, digits_note_}) note->setMinimumWidth(1);
  model_box_->view()->setMinimumWidth(model_box_->view()->sizeHintForColumn(0) + 24);
  scroll->setMinimumWidth(std::min(controls->sizeHint().width() + 20, 340));
  scroll->setMaximumWidth(340);

  // Centre: x_t and the panels beside it, all at one size that fills the space.
  grid_ = new PanelGrid;
  main_view_ = new FrameView(QStringLiteral("x_t"));
  main_view_->setPlaceholder(tr("Open an image (Ctrl+O) or drop one here"));
  main_view_->setToolTip(tr("x_t at the timeline's t"));
  x0_view_ = new FrameView(QStringLiteral("x0_hat"));
  x0_view_->setToolTip(tr("The model's prediction of x_0 from x_t"));
  eps_view_ = new FrameView(QStringLiteral("eps_hat"));
  eps_view_->setToolTip(tr("The model's prediction of the noise, shown on [-3, 3]"));
  noise_view_ = new FrameView(tr("noise added"));
  noise_view_->setToolTip(tr("The noise actually in x_t, shown on [-3, 3]"));
  for (FrameView* view : {x0_view_, eps_view_, noise_view_}) view->setPlaceholder(tr("t = 0: no noise"));
  histogram_view_ = new HistogramView;
  // Super-resolution: the low-resolution input (enlarged with sharp pixels), bicubic and the truth beside SR3.
  low_view_ = new FrameView(tr("low-res input"));
  low_view_->setToolTip(tr("What SR3 refines: the low-resolution image, enlarged 4x with sharp pixels"));
  bicubic_view_ = new FrameView(tr("bicubic"));
  bicubic_view_->setToolTip(tr("The bicubic upsample of the low-resolution image: SR3's condition and the baseline"));
  truth_view_ = new FrameView(tr("truth"));
  truth_view_->setToolTip(tr("The original photo the low-resolution view was made from"));
  for (FrameView* view : {low_view_, bicubic_view_, truth_view_}) view->hide();
  for (QWidget* panel : std::initializer_list<QWidget*>{low_view_, bicubic_view_, main_view_, x0_view_, truth_view_,
                                                        eps_view_, noise_view_, histogram_view_})
    grid_->addPanel(panel);

  auto* centre = new QWidget;
  auto* centre_layout = new QVBoxLayout(centre);
  centre_layout->setContentsMargins(0, 0, 0, 0);
  centre_layout->addWidget(grid_, 1);
  comparison_ = new Sr3ComparisonView;
  comparison_->setVisible(false);
  centre_layout->addWidget(comparison_);

  layout->addWidget(scroll);
  layout->addWidget(centre, 1);

  // The side panels shown are remembered.
  const Settings::ImagePanels panels = Settings::ImagePanelOptions();
  show_predictions_->setChecked(panels.predictions);
  show_noise_->setChecked(panels.noise);
  show_histogram_->setChecked(panels.histogram);
  auto remember = [this] {
    Settings::SetImagePanelOptions(
        {show_predictions_->isChecked(), show_noise_->isChecked(), show_histogram_->isChecked()});
    updateSidePanels();
  };
  connect(show_predictions_, &QCheckBox::toggled, this, remember);
  connect(show_noise_, &QCheckBox::toggled, this, remember);
  connect(show_histogram_, &QCheckBox::toggled, this, remember);
  connect(model_box_, &QComboBox::currentIndexChanged, this, [this] {
    ModelChoice model = document_->model();
    model.image_model = model_box_->currentData().toString();
    document_->setModel(model);
    updateModelPanel();
  });
  // Chosen by the user (not a session or an undo): a model that needs its own sampler gets it.
  connect(model_box_, &QComboBox::activated, this,
          [this](int index) { chooseModel(model_box_->itemData(index).toString()); });
  // The digits run's choices are the document's (its run, its export, its session).
  connect(sr3_input_, &QComboBox::currentIndexChanged, this, [this](int index) {
    ModelChoice model = document_->model();
    model.digit_from_image = index == 1;
    document_->setModel(model);
    updateModelPanel();
  });
  connect(digit_index_, &QSpinBox::valueChanged, this, [this](int digit) {
    ModelChoice model = document_->model();
    model.digit = digit;
    document_->setModel(model);
  });
  connect(digit_samples_, &QSpinBox::valueChanged, this, [this](int samples) {
    ModelChoice model = document_->model();
    model.digit_samples = samples;
    document_->setModel(model);
  });
  connect(denoise_button_, &QPushButton::clicked, this, &ImageWorkspace::startReverse);
  connect(cancel_button_, &QPushButton::clicked, this, &ImageWorkspace::cancelReverse);

  connect(document_, &Document::imageChanged, this, &ImageWorkspace::onImageChanged);
  connect(document_, &Document::tChanged, this, &ImageWorkspace::refresh);
  connect(document_, &Document::tChanged, this, &ImageWorkspace::updateEstimate);
  connect(document_, &Document::samplerChanged, this, &ImageWorkspace::updateEstimate);
  connect(document_, &Document::scheduleChanged, this, &ImageWorkspace::updateEstimate);
  connect(working_box_, &QComboBox::activated, this, [this](int index) {
    ModelChoice model = document_->model();
    model.working_side = working_box_->itemData(index).toInt();
    document_->setModel(model);
  });
  connect(document_, &Document::scheduleChanged, this, [this] {
    if (stream_) {  // the streaming run no longer matches the timeline
      reverse_.cancel();
      endStream();
    }
    run_.reset();
    run_label_->setText(tr("The schedule changed; run again."));
    refresh();
  });
  connect(document_, &Document::seedChanged, this, &ImageWorkspace::refresh);
  connect(document_, &Document::forwardPathChanged, this, &ImageWorkspace::refresh);
  connect(document_, &Document::modelChanged, this, [this] {
    const int index = model_box_->findData(document_->model().image_model);
    if (index >= 0 && index != model_box_->currentIndex()) model_box_->setCurrentIndex(index);
    updateModelPanel();
    refresh();
  });
  connect(timeline_, &TimelineModel::directionChanged, this, &ImageWorkspace::refresh);

  connect(&frames_, &LatestJob::ready, this, &ImageWorkspace::onFrame);
  connect(&frames_, &LatestJob::failed, this, [this](quint64, const QString& message) {
    main_view_->setImage({});
    main_view_->setPlaceholder(tr("Could not compute x_t: %1").arg(message));
  });
  connect(&reverse_, &BackgroundTask::progress, this, &ImageWorkspace::onReverseProgress);
  connect(&reverse_, &BackgroundTask::runningChanged, this, [this](bool running) {
    denoise_button_->setEnabled(!running);
    cancel_button_->setEnabled(running);
  });
  connect(&reverse_, &BackgroundTask::finished, this, &ImageWorkspace::onReverseFinished);
  connect(&reverse_, &BackgroundTask::cancelled, this, [this] {
    endStream();
    progress_->setValue(0);
    progress_->setFormat(QStringLiteral("%p%"));
    run_label_->setText(tr("Reverse run cancelled."));
    emit statusMessage(tr("Reverse run cancelled"));
    refresh();
  });
  connect(&reverse_, &BackgroundTask::failed, this, [this](const QString& message) {
    endStream();
    progress_->setValue(0);
    progress_->setFormat(QStringLiteral("%p%"));
    run_label_->setText(tr("Reverse run failed."));
    emit errorOccurred(tr("Reverse run failed"), message);
    refresh();
  });

  updateModelPanel();
  updateSidePanels();
  onImageChanged();
}

ImageWorkspace::~ImageWorkspace() = default;

void ImageWorkspace::setSr3Input(int held_out_index) {
  if (held_out_index < 0) {
    sr3_input_->setCurrentIndex(1);
    return;
  }
  sr3_input_->setCurrentIndex(0);
  digit_index_->setValue(held_out_index);
}

void ImageWorkspace::setDigitSamples(int count) { digit_samples_->setValue(count); }

QWidget* ImageWorkspace::comparisonView() const { return comparison_; }

void ImageWorkspace::updateModelPanel() {
  const ImageModelKind kind = ImageModelKindOf(document_->model().image_model);
  {
    const QSignalBlocker b1(sr3_input_), b2(digit_index_), b3(digit_samples_);
    sr3_input_->setCurrentIndex(document_->model().digit_from_image ? 1 : 0);
    digit_index_->setValue(document_->model().digit);
    digit_samples_->setValue(document_->model().digit_samples);
  }
  digits_group_->setVisible(kind == ImageModelKind::kSr3 || kind == ImageModelKind::kDigitsDdpm);
  const bool photo_sr = kind == ImageModelKind::kSr3Photo;
  sr_group_->setVisible(photo_sr);
  {
    const QSignalBlocker block(simulate_box_), block_samples(sr_samples_box_);
    simulate_box_->setChecked(document_->model().simulate_low_resolution);
    sr_samples_box_->setValue(document_->model().sr_samples);
  }
  const bool sr3 = kind == ImageModelKind::kSr3;
  sr3_input_->setEnabled(sr3);
  digit_index_->setEnabled(sr3 && sr3_input_->currentIndex() == 0);
  digit_samples_->setEnabled(kind == ImageModelKind::kDigitsDdpm);
  if (sr3) {
    digits_note_->setText(
        tr("Denoise makes the low-resolution view (area average), then refines pure noise into a "
           "20x20 image conditioned on its bicubic upsample. Runs on the timeline's schedule."));
  } else if (kind == ImageModelKind::kDigitsDdpm) {
    digits_note_->setText(
        tr("Denoise samples the digits from pure noise on the timeline's schedule; the open image "
           "is not used."));
  }
  updateWorkingSize();
  // Where it matters: a learned (or patch) model of photos started from pure noise.
  const QString name = document_->model().image_model;
  texture_note_->setVisible(kind == ImageModelKind::kImage && !document_->model().from_current_t &&
                            (IsLearnedImageModel(name) || name.startsWith(QLatin1String("patch"))));
  denoise_button_->setText(photo_sr                              ? tr("Super-resolve x4")
                           : sr3                                 ? tr("Super-resolve")
                           : kind == ImageModelKind::kDigitsDdpm ? tr("Sample digits")
                                                                 : tr("Denoise"));
}

void ImageWorkspace::chooseModel(const QString& name) {
  document_->undoStack()->beginMacro(tr("Change model"));
  ModelChoice model = document_->model();
  model.image_model = name;
  document_->setModel(model);
  // SR3 predicts eps: from pure noise its x0_hat must be clipped, or the first steps' 1 / sqrt(alpha_bar)
  // blows the noise up. Its own sampler: DDPM, 100 trailing steps, x_0 clipped.
  if (ImageModelKindOf(name) == ImageModelKind::kSr3Photo) document_->setSamplerOptions(Sr3PhotoDefaultSampler());
  document_->undoStack()->endMacro();
}

void ImageWorkspace::updateSrNote() {
  if (ImageModelKindOf(document_->model().image_model) != ImageModelKind::kSr3Photo) return;
  const RunSpec run = document_->run(0);
  const QSize out = workingSize();
  if (run.simulate_low_resolution) {
    sr_note_->setText(tr("The photo at %1 x %2 is the truth; SR3 refines pure noise into it from its %3 x %4 view "
                         "(area average), beside bicubic.")
                          .arg(out.width())
                          .arg(out.height())
                          .arg(out.width() / kSr3PhotoFactor)
                          .arg(out.height() / kSr3PhotoFactor));
  } else if (run.region_width > 0) {
    sr_note_->setText(tr("A %1 x %2 region at the centre of the photo, at its own resolution, becomes %3 x %4 "
                         "(choose the working size for a larger one).")
                          .arg(run.region_width)
                          .arg(run.region_height)
                          .arg(out.width())
                          .arg(out.height()));
  } else {
    sr_note_->setText(tr("The whole photo becomes %1 x %2.").arg(out.width()).arg(out.height()));
  }
}

namespace {
// Seconds one evaluation of the photo U-Net takes per pixel, measured on 2 idle cores (about 4 ms per 1000
// pixels at 256 x 256): the estimate before anything was measured on this computer.
constexpr double kPriorSecondsPerPixel = 4e-6;
}  // namespace

double ImageWorkspace::secondsPerPixel() const {
  return Settings::LearnedSecondsPerPixel().value_or(kPriorSecondsPerPixel);
}

void ImageWorkspace::recordCost(double seconds_per_pixel) {
  if (!(seconds_per_pixel > 0) || !std::isfinite(seconds_per_pixel)) return;
  // A running mean that follows the computer's load without jumping on one slow frame.
  const std::optional<double> before = Settings::LearnedSecondsPerPixel();
  Settings::SetLearnedSecondsPerPixel(before ? 0.7 * *before + 0.3 * seconds_per_pixel : seconds_per_pixel);
  updateEstimate();
}

QSize ImageWorkspace::workingSize() const {
  const ImageData& image = document_->image();
  if (image.empty()) return {};
  const RunSpec run = document_->run(0);
  QSize size(image.width, image.height);
  if (run.region_width > 0) size = QSize(run.region_width, run.region_height);
  const int longest = std::max(size.width(), size.height());
  if (run.max_image_side < longest) {
    const double f = double(run.max_image_side) / longest;
    size = QSize(std::max(1, int(size.width() * f)), std::max(1, int(size.height() * f)));
  }
  // Super-resolution: the output's size, the truth cut to a multiple of the factor or the input enlarged.
  if (run.super_resolution > 0) {
    const int k = run.super_resolution;
    size = run.simulate_low_resolution ? QSize(size.width() / k * k, size.height() / k * k) : size * k;
  }
  return size;
}

int ImageWorkspace::reverseSteps() const {
  const int T = document_->numSteps();
  const bool from_t = document_->model().from_current_t &&
                      ImageModelKindOf(document_->model().image_model) != ImageModelKind::kSr3Photo;
  // From the current t; at t = 0 (a finished run shows its result) from where the last run started.
  const int t0 = document_->t() > 0 ? document_->t() : document_->run(0).start_t;
  const int top = from_t ? std::clamp(t0, 1, T) : T;
  const int k = document_->samplerOptions().num_steps;
  return k == 0 ? top : std::min(k, top);
}

double ImageWorkspace::expectedSeconds() const {
  const QSize size = workingSize();
  // A mean of K super-resolution chains costs K runs.
  const int chains = ImageModelKindOf(document_->model().image_model) == ImageModelKind::kSr3Photo
                         ? std::max(1, document_->model().sr_samples)
                         : 1;
  return chains * reverseSteps() * double(size.width()) * size.height() * secondsPerPixel();
}

void ImageWorkspace::updateWorkingSize() {
  const ImageData& image = document_->image();
  const bool learned = IsLearnedImageModel(document_->model().image_model);
  working_label_->setVisible(learned);
  working_box_->setVisible(learned);
  estimate_label_->setVisible(learned);
  if (!learned) return;
  const QSignalBlocker block(working_box_);
  working_box_->clear();
  const int longest = image.empty() ? 0 : std::max(image.width, image.height);
  // Super-resolving the photo itself, the size is the output's: up to 4x the photo.
  const bool enlarges = ImageModelKindOf(document_->model().image_model) == ImageModelKind::kSr3Photo &&
                        !document_->model().simulate_low_resolution;
  const int limit = enlarges ? kSr3PhotoFactor * longest : longest;
  for (int side : {256, 512, 1024}) {
    if (side < limit && (side < 1024 || enlarges)) working_box_->addItem(QString::number(side), side);
  }
  working_box_->addItem(image.empty() ? tr("full") : tr("full (%1 x %2)").arg(image.width).arg(image.height), 0);
  const int wanted = document_->model().working_side;
  const int index = working_box_->findData(wanted > 0 && wanted < limit ? wanted : 0);
  working_box_->setCurrentIndex(index >= 0 ? index : working_box_->count() - 1);
  updateEstimate();
}

void ImageWorkspace::updateEstimate() {
  if (!IsLearnedImageModel(document_->model().image_model)) return;
  const QSize size = workingSize();
  if (size.isEmpty()) {
    estimate_label_->clear();
    return;
  }
  updateSrNote();
  const int chains = ImageModelKindOf(document_->model().image_model) == ImageModelKind::kSr3Photo
                         ? std::max(1, document_->model().sr_samples)
                         : 1;
  const QString runs = chains > 1 ? tr("%1 runs of %2 steps take").arg(chains).arg(reverseSteps())
                                  : tr("a run of %1 steps takes").arg(reverseSteps());
  estimate_label_->setText(
      tr("%1 x %2: %3 about %4").arg(size.width()).arg(size.height()).arg(runs).arg(DurationText(expectedSeconds())));
}

QString ImageWorkspace::estimateText() const { return estimate_label_->text(); }

void ImageWorkspace::showPhotoSr(const PhotoSrView* view) {
  low_view_->setVisible(view != nullptr);
  bicubic_view_->setVisible(view != nullptr);
  truth_view_->setVisible(view != nullptr && view->simulated);
  if (view == nullptr) return;
  low_view_->setTitle(tr("low-res input, %1 x %2").arg(view->low.width()).arg(view->low.height()));
  low_view_->setImage(view->low);
  bicubic_view_->setTitle(
      view->simulated
          ? tr("bicubic: %1 dB, SSIM %2").arg(view->psnr_bicubic, 0, 'f', 2).arg(view->ssim_bicubic, 0, 'f', 3)
          : tr("bicubic x4"));
  bicubic_view_->setImage(view->bicubic);
  truth_view_->setTitle(tr("truth (the original)"));
  truth_view_->setImage(view->truth);
}

void ImageWorkspace::fitPanels(const QImage& image) {
  if (!image.isNull()) grid_->setAspectRatio(double(image.width()) / image.height());
}

void ImageWorkspace::setShowPredictions(bool show) { show_predictions_->setChecked(show); }
void ImageWorkspace::setShowNoise(bool show) { show_noise_->setChecked(show); }
void ImageWorkspace::setShowHistogram(bool show) { show_histogram_->setChecked(show); }

void ImageWorkspace::updateSidePanels() {
  x0_view_->setVisible(show_predictions_->isChecked());
  eps_view_->setVisible(show_predictions_->isChecked());
  noise_view_->setVisible(show_noise_->isChecked());
  histogram_view_->setVisible(show_histogram_->isChecked());
  refresh();
}

void ImageWorkspace::onImageChanged() {
  // The worker reads the image through a snapshot that lives as long as its jobs.
  snapshot_ = std::make_shared<const ImageData>(document_->image());
  if (stream_) {  // a run of the previous image
    reverse_.cancel();
    endStream();
  }
  if (!run_ || run_->kind == ImageModelKind::kImage) {  // a digits run does not depend on the image
    run_.reset();
    comparison_->setVisible(false);
    run_label_->setText(tr("No reverse run yet."));
  }
  shown_t_ = -1;
  updateInfo();
  updateWorkingSize();
  if (document_->image().empty()) {
    main_view_->setImage({});
    return;
  }
  refresh();
}

void ImageWorkspace::updateInfo() {
  const ImageData& image = document_->image();
  if (image.empty()) {
    info_->setText(tr("No image. Open one with File > Open Image (Ctrl+O) or drop it on the window."));
    return;
  }
  info_->setText(tr("<b>%1</b><br>%2 x %3, %4")
                     .arg(QFileInfo(image.path).fileName().toHtmlEscaped())
                     .arg(image.width)
                     .arg(image.height)
                     .arg(image.channels == 1 ? tr("grey") : tr("colour")));
  info_->setToolTip(image.path);
}

bool ImageWorkspace::showingReverse() const {
  return run_ && run_->start_t >= 0 && timeline_->direction() == TimelineModel::Direction::kReverse &&
         document_->t() <= run_->start_t;
}

void ImageWorkspace::refresh() {
  // A reverse run adds no known noise: its panel gives its place to the others.
  noise_view_->setVisible(show_noise_->isChecked() && !showingReverse());
  if (!snapshot_ || snapshot_->empty()) return;
  if (showingReverse()) {
    showReverseFrame();
    return;
  }
  requestFrame();
}

void ImageWorkspace::requestFrame() {
  FrameRequest request;
  request.schedule = document_->schedule();
  request.image = snapshot_;
  request.seed = document_->seed();
  request.t = document_->t();
  request.path = document_->forwardPath();
  request.fresh_frame = ++fresh_frame_;
  request.predictions = show_predictions_->isChecked();
  request.noise = show_noise_->isChecked();
  request.histogram = show_histogram_->isChecked();
  request.model = document_->model().image_model;
  request.run = document_->run(0);
  auto source = source_;
  frames_.request([source, request] { return std::any(std::make_shared<ImageFrame>(source->Compute(request))); });
}

void ImageWorkspace::onFrame(quint64, const std::any& result) {
  const auto frame = std::any_cast<std::shared_ptr<ImageFrame>>(result);
  if (frame->predict_pixels > 0 && IsLearnedImageModel(document_->model().image_model))
    recordCost(frame->predict_seconds / frame->predict_pixels);
  if (showingReverse()) return;  // the direction changed while the frame was computed
  shown_t_ = frame->t;
  showPhotoSr(frame->photo_sr.get());
  x0_view_->setTitle(QStringLiteral("x0_hat"));
  main_view_->setTitle(tr("x_t  (forward q, t = %1)").arg(frame->t));
  main_view_->setImage(frame->x_t);
  fitPanels(frame->x_t);
  if (show_predictions_->isChecked()) {
    x0_view_->setImage(frame->x0_hat);
    eps_view_->setImage(frame->eps_hat);
  }
  if (show_noise_->isChecked()) {
    noise_view_->setPlaceholder(tr("t = 0: no noise"));
    noise_view_->setImage(frame->noise);
  }
  if (frame->has_histogram) histogram_view_->setHistogram(frame->histogram, tr("x_t at t = %1").arg(frame->t));
}

void ImageWorkspace::showReverseFrame() {
  const int t = document_->t();
  const ImageReverseRun& run = *run_;
  shown_t_ = t;
  if (run.t.empty()) {
    main_view_->setImage({});
    main_view_->setPlaceholder(tr("Preparing the reverse run..."));
    return;
  }
  const PhotoSrView* sr = run.photo_sr.get();
  showPhotoSr(sr);
  const bool figures = sr != nullptr && sr->simulated;
  if (t == 0 && run.complete) {
    if (sr == nullptr) main_view_->setTitle(tr("x_0  (reverse p, the sample)"));
    else if (!figures) main_view_->setTitle(tr("SR3 x4 result"));
    else
      main_view_->setTitle(
          tr("SR3 result: %1 dB, SSIM %2").arg(run.psnr_sample, 0, 'f', 2).arg(run.ssim_sample, 0, 'f', 3));
    x0_view_->setTitle(QStringLiteral("x0_hat"));
    main_view_->setImage(run.sample);
    fitPanels(run.sample);
    if (show_predictions_->isChecked()) {
      x0_view_->setImage(run.sample);
      eps_view_->setImage({});
    }
    if (show_histogram_->isChecked()) histogram_view_->setHistogram(run.sample_histogram, tr("the sample x_0"));
    return;
  }
  // The state of the run at t: the kept step with the smallest timestep >= t.
  size_t index = 0;
  for (size_t i = 0; i < run.t.size(); ++i) {
    if (run.t[i] >= t) index = i;
  }
  main_view_->setTitle(sr != nullptr ? tr("SR3 x_t  (t = %1)").arg(run.t[index])
                                     : tr("x_t  (reverse p, t = %1)").arg(run.t[index]));
  x0_view_->setTitle(figures && index < run.psnr_x0_hat.size()
                         ? tr("SR3 x0_hat: %1 dB").arg(run.psnr_x0_hat[index], 0, 'f', 2)
                         : QStringLiteral("x0_hat"));
  main_view_->setImage(run.x_t[index]);
  fitPanels(run.x_t[index]);
  if (show_predictions_->isChecked()) {
    x0_view_->setImage(run.x0_hat[index]);
    eps_view_->setImage(run.eps_hat[index]);
  }
  if (show_histogram_->isChecked()) {
    histogram_view_->setHistogram(run.histogram[index], tr("reverse x_t at t = %1").arg(run.t[index]));
  }
}

void ImageWorkspace::startReverse() {
  if (reverse_.running()) return;
  const ImageModelKind run_kind = ImageModelKindOf(document_->model().image_model);
  if (run_kind == ImageModelKind::kSr3 || run_kind == ImageModelKind::kDigitsDdpm) {
    startDigitsReverse();
    return;
  }
  const bool super_resolution = run_kind == ImageModelKind::kSr3Photo;
  if (document_->image().empty()) {
    emit errorOccurred(super_resolution ? tr("Nothing to super-resolve") : tr("Nothing to denoise"),
                       tr("Open an image first (File > Open Image)."));
    return;
  }
  const bool from_t = document_->model().from_current_t && !super_resolution;  // SR3 starts from pure noise
  if (from_t && document_->t() == 0) {
    emit errorOccurred(tr("Choose where to start"),
                       tr("The run starts from the noised image at the current t, and t is 0. Move the timeline "
                          "to the noise level to start from (e.g. t = 300), or start from pure noise."));
    return;
  }
  auto image = snapshot_;
  auto schedule = document_->schedule();
  document_->setReverseStartT(from_t ? document_->t() : 0);
  const RunSpec spec = document_->run(0);
  const SamplerOptions options = RunSamplerOptions(spec, document_->numSteps());
  const QString model_name = document_->model().image_model;
  const int t = spec.start_t;

  // The run streams in: each kept step is appended to run_ as it is computed (drained on progress).
  auto stream = std::make_shared<ReverseStream>();
  stream_ = stream;
  run_ = std::make_unique<ImageReverseRun>();
  run_->complete = false;
  run_->start_t = -1;
  comparison_->setVisible(false);
  newest_t_ = -1;
  progress_->setRange(0, 1);
  progress_->setValue(0);
  progress_->setFormat(tr("preparing the model..."));
  run_label_->setText((super_resolution ? tr("Super-resolving with the %1...") : tr("Denoising with the %1..."))
                          .arg(ModelLabel(model_name)));
  reverse_.start([=](const ProgressFn& progress, const StopFn& stop) -> std::any {
    QElapsedTimer clock;
    clock.start();
    progress(0, 1, "preparing");
    const RunInput input = WorkingInput(spec, *image);
    const ImageShape shape = input.shape;
    std::unique_ptr<Denoiser> model = OpenRunModel(spec, input).denoiser;
    const Batch condition = RunCondition(*model, input);  // SR3's bicubic upsample; empty for the others
    const bool truth = input.low.size() > 0 && spec.simulate_low_resolution;
    ReverseRun sampler =
        StartReverseRun(spec, *schedule, *model, input, {}, condition.size() > 0 ? &condition : nullptr);
    const int total = sampler.steps_total();
    const size_t frame_bytes = static_cast<size_t>(shape.height) * shape.width * 3 * 3;  // x_t, x0_hat, eps_hat
    const int keep_every =
        static_cast<int>(std::max<size_t>(1, (frame_bytes * total + kReverseFrameBudget - 1) / kReverseFrameBudget));
    {
      std::lock_guard lock(stream->mutex);
      stream->start_t = sampler.timesteps().empty() ? t : sampler.timesteps().front();
      stream->total = total;
      if (input.low.size() > 0) stream->photo_sr = MakePhotoSrView(input, spec.simulate_low_resolution);
    }
    for (int i = 0; !sampler.done(); ++i) {
      if (stop()) throw Cancelled();
      const Step& step = sampler.Next();
      if (i % keep_every == 0) {
        QImage x_t = ToQImage(ImageToFrame(step.x_t, 0, shape));
        QImage x0_hat = ToQImage(ImageToFrame(step.x0_hat, 0, shape));
        QImage eps_hat = ToQImage(FieldToFrame(step.eps_hat, 0, shape, 3.0f));
        Histogram histogram = MakeHistogram(step.x_t.data(), step.x_t.size());
        const double psnr = truth ? ImagePsnr(input.x0, step.x0_hat) : 0.0;
        std::lock_guard lock(stream->mutex);
        stream->psnr.push_back(psnr);
        stream->t.push_back(step.t);
        stream->x_t.push_back(std::move(x_t));
        stream->x0_hat.push_back(std::move(x0_hat));
        stream->eps_hat.push_back(std::move(eps_hat));
        stream->histogram.push_back(std::move(histogram));
      }
      progress(i + 1, total, "step");
    }
    auto run = std::make_shared<ImageReverseRun>();  // the frames came through the stream
    run->sample = ToQImage(ImageToFrame(sampler.x(), 0, shape));
    run->sample_histogram = MakeHistogram(sampler.x().data(), sampler.x().size());
    QString figures;
    if (truth) {
      run->psnr_sample = ImagePsnr(input.x0, sampler.x());
      run->ssim_sample = ImageSsim(input.x0, sampler.x(), shape.channels, shape.height, shape.width);
      const PhotoSrView bicubic = *MakePhotoSrView(input, true);
      figures = QObject::tr("; SR3 %1 dB, SSIM %2; bicubic %3 dB, SSIM %4")
                    .arg(run->psnr_sample, 0, 'f', 2)
                    .arg(run->ssim_sample, 0, 'f', 3)
                    .arg(bicubic.psnr_bicubic, 0, 'f', 2)
                    .arg(bicubic.ssim_bicubic, 0, 'f', 3);
    }
    run->description =
        QObject::tr("%1, %2 from %3 at %4 x %5%8, %6 s%7")
            .arg(ModelLabel(model_name))
            .arg(QString::fromStdString(DescribeSamplerRun(options.kind, total)))
            .arg(t > 0 ? QObject::tr("t = %1").arg(t) : QObject::tr("pure noise"))
            .arg(shape.width)
            .arg(shape.height)
            .arg(clock.elapsed() / 1000.0, 0, 'f', 1)
            .arg(figures)
            .arg(sampler.chains() > 1 ? QObject::tr(", the mean of %1 samples").arg(sampler.chains()) : QString());
    return std::any(run);
  });
}

void ImageWorkspace::drainStream() {
  if (!stream_ || !run_ || run_->complete) return;
  ImageReverseRun& run = *run_;
  const bool first = run.t.empty();
  int total = 0;
  {
    std::lock_guard lock(stream_->mutex);
    if (stream_->start_t < 0) return;
    run.start_t = stream_->start_t;
    run.photo_sr = stream_->photo_sr;
    total = stream_->total;
    for (size_t i = 0; i < stream_->t.size(); ++i) {
      run.t.push_back(stream_->t[i]);
      run.x_t.push_back(std::move(stream_->x_t[i]));
      run.x0_hat.push_back(std::move(stream_->x0_hat[i]));
      run.eps_hat.push_back(std::move(stream_->eps_hat[i]));
      run.histogram.push_back(std::move(stream_->histogram[i]));
    }
    run.psnr_x0_hat.insert(run.psnr_x0_hat.end(), stream_->psnr.begin(), stream_->psnr.end());
    stream_->psnr.clear();
    stream_->t.clear();
    stream_->x_t.clear();
    stream_->x0_hat.clear();
    stream_->eps_hat.clear();
    stream_->histogram.clear();
  }
  (void)total;
  if (run.t.empty()) return;
  // Follow the newest step unless the user scrubbed away from it; t below it has no frame yet.
  const bool follow = first || document_->t() == newest_t_;
  newest_t_ = run.t.back();
  if (first) {
    timeline_->pause();
    timeline_->setDirection(TimelineModel::Direction::kReverse);
  }
  if (timeline_->direction() != TimelineModel::Direction::kReverse) {  // the user went back to the forward view
    timeline_->clearAvailableRange();
    return;
  }
  timeline_->setAvailableRange(newest_t_, timeline_->numSteps());
  if (follow) document_->setT(newest_t_);
  refresh();
}

void ImageWorkspace::endStream() {
  stream_.reset();
  timeline_->clearAvailableRange();
  if (run_ && !run_->complete) run_.reset();
}

void ImageWorkspace::onReverseProgress(qint64 done, qint64 total, const QString& what) {
  progress_->setRange(0, static_cast<int>(std::max<qint64>(total, 1)));
  progress_->setValue(static_cast<int>(done));
  if (!stream_) {
    emit statusMessage(tr("Running: %1 %2 of %3").arg(what).arg(done).arg(total));
    return;
  }
  drainStream();
  if (done <= 0 || what != QLatin1String("step")) return;
  // Time left from the steps done so far (the model's preparation excluded: measured from the first step).
  if (done == 1 || !step_clock_.isValid()) {
    step_clock_.start();
    clock_steps_ = done;
  }
  QString left;
  const qint64 measured = done - clock_steps_;
  if (measured > 0) {
    const double per_step = step_clock_.elapsed() / 1000.0 / measured;
    left = tr(", about %1 left").arg(DurationText(per_step * (total - done)));
    last_step_seconds_ = per_step;
  }
  progress_->setFormat(tr("step %1 of %2%3").arg(done).arg(total).arg(left));
  emit statusMessage(tr("Denoising: step %1 of %2%3").arg(done).arg(total).arg(left));
}

void ImageWorkspace::startDigitsReverse() {
  const QString model_name = document_->model().image_model;
  const ImageModelKind kind = ImageModelKindOf(model_name);
  const bool from_image = kind == ImageModelKind::kSr3 && document_->model().digit_from_image;
  if (from_image && document_->image().empty()) {
    emit errorOccurred(tr("Nothing to super-resolve"),
                       tr("Open an image first (File > Open Image), or choose a held-out digit as the SR3 input."));
    return;
  }
  auto image = snapshot_;
  auto schedule = document_->schedule();
  document_->setReverseStartT(0);  // digits runs start from pure noise
  const RunSpec spec = document_->run(0);
  const SamplerOptions options = RunSamplerOptions(spec, document_->numSteps());
  const int held_out = spec.digit;
  const int samples = spec.samples;
  const QString image_name = from_image ? QFileInfo(document_->image().path).fileName() : QString();

  progress_->setRange(0, 1);
  progress_->setValue(0);
  run_label_->setText(tr("Running the %1...").arg(ModelLabel(model_name)));
  reverse_.start([=](const ProgressFn& progress, const StopFn& stop) -> std::any {
    QElapsedTimer clock;
    clock.start();
    progress(0, 1, "preparing");
    OpenedModel opened = OpenModel(model_name.toStdString(), ModelContext{});
    auto run = std::make_shared<ImageReverseRun>();
    run->kind = kind;
    run->samples = samples;
    Batch condition, low, truth;
    auto* sr3 = dynamic_cast<Sr3Model*>(opened.denoiser.get());
    if (kind == ImageModelKind::kSr3 && sr3 == nullptr)
      throw Error(model_name.toStdString() + " is not an SR3 digits model.");
    if (kind != ImageModelKind::kSr3 && dynamic_cast<DigitsDdpmModel*>(opened.denoiser.get()) == nullptr &&
        dynamic_cast<DigitsUNetModel*>(opened.denoiser.get()) == nullptr)
      throw Error(model_name.toStdString() + " is not a digits DDPM model.");
    const RunInput input = DigitsRunInput(spec, from_image ? &image->pixels : nullptr, ShapeOf(*image));
    if (sr3 != nullptr) {
      Sr3Comparison comparison;
      truth = input.x0.row(0);
      if (from_image) {
        comparison.truth_caption = image_name.isEmpty() ? QObject::tr("the open image") : image_name;
      } else {
        const DigitsSplit split = SplitDigits(LoadDigits());
        comparison.truth_caption =
            QObject::tr("held-out #%1 (a %2)").arg(held_out).arg(split.test_labels[static_cast<size_t>(held_out)]);
      }
      low = DownscaleArea(truth, sr3->low_side());
      condition = RunCondition(*sr3, input);
      comparison.low_side = sr3->low_side();
      run->sr3 = std::move(comparison);
    }
    const int side = kDigitSide;
    Sampler sampler =
        StartReverse(spec, *schedule, *opened.denoiser, input, {}, condition.size() > 0 ? &condition : nullptr);
    const int total = sampler.steps_total();
    run->start_t = sampler.timesteps().empty() ? 0 : sampler.timesteps().front();
    ImageShape shape;
    auto grid = [&](const Batch& rows, float gap) { return TileDigits(rows, side, gap, &shape); };
    for (int i = 0; !sampler.done(); ++i) {
      if (stop()) throw Cancelled();
      const Step& step = sampler.Next();
      run->t.push_back(step.t);
      run->x_t.push_back(ToQImage(ImageToFrame(grid(step.x_t, 0.0f), 0, shape)));
      run->x0_hat.push_back(ToQImage(ImageToFrame(grid(step.x0_hat, 0.0f), 0, shape)));
      run->eps_hat.push_back(ToQImage(FieldToFrame(grid(step.eps_hat, 0.0f), 0, shape, 3.0f)));
      run->histogram.push_back(MakeHistogram(step.x_t.data(), step.x_t.size()));
      progress(i + 1, total, "step");
    }
    const Batch& x0 = sampler.x();
    run->sample = ToQImage(ImageToFrame(grid(x0, 0.0f), 0, shape));
    run->sample_histogram = MakeHistogram(x0.data(), x0.size());
    if (run->sr3) {
      Sr3Comparison& c = *run->sr3;
      const Batch output = x0.cwiseMax(-1.0f).cwiseMin(1.0f);
      c.low = GreyImage(low, 0, c.low_side);
      c.bicubic = GreyImage(condition, 0, side);
      c.sr3 = GreyImage(output, 0, side);
      c.truth = GreyImage(truth, 0, side);
      const SuperResolutionFigures f = CompareSuperResolution(truth, low, condition, output, 1, side, side);
      c.psnr_sr3 = f.psnr_sr;
      c.ssim_sr3 = f.ssim_sr;
      c.psnr_bicubic = f.psnr_bicubic;
      c.ssim_bicubic = f.ssim_bicubic;
    }
    run->description = QObject::tr("%1, %2 from pure noise%3, %4 s")
                           .arg(ModelLabel(model_name))
                           .arg(QString::fromStdString(DescribeSamplerRun(options.kind, total)))
                           .arg(run->sr3 ? QObject::tr("; SR3 %1 dB, bicubic %2 dB")
                                               .arg(run->sr3->psnr_sr3, 0, 'f', 2)
                                               .arg(run->sr3->psnr_bicubic, 0, 'f', 2)
                                         : QObject::tr("; %1 digits").arg(samples))
                           .arg(clock.elapsed() / 1000.0, 0, 'f', 1);
    return std::any(run);
  });
}

void ImageWorkspace::cancelReverse() { reverse_.cancel(); }

void ImageWorkspace::onReverseFinished(const std::any& result) {
  auto result_run = std::any_cast<std::shared_ptr<ImageReverseRun>>(result);
  progress_->setFormat(QStringLiteral("%p%"));
  const bool streamed = stream_ != nullptr;
  bool follow = true;
  if (streamed && !run_) {  // dropped while it ran (new image or schedule)
    endStream();
    return;
  }
  if (streamed) {
    drainStream();
    follow = run_ && document_->t() == newest_t_;
    run_->sample = std::move(result_run->sample);
    run_->sample_histogram = std::move(result_run->sample_histogram);
    run_->description = std::move(result_run->description);
    run_->psnr_sample = result_run->psnr_sample;
    run_->ssim_sample = result_run->ssim_sample;
    run_->complete = true;
    stream_.reset();
    timeline_->clearAvailableRange();
  } else {
    run_ = std::make_unique<ImageReverseRun>(std::move(*result_run));
  }
  if (streamed && last_step_seconds_ > 0 && !run_->x_t.empty() && IsLearnedImageModel(document_->model().image_model)) {
    const QImage& frame = run_->x_t.front();
    recordCost(last_step_seconds_ / (double(frame.width()) * frame.height()));
  }
  last_step_seconds_ = 0.0;
  step_clock_.invalidate();
  comparison_->setComparison(run_->sr3);
  comparison_->setVisible(run_->sr3.has_value());
  run_label_->setText(tr("Done: %1. Scrub the timeline (direction: reverse p) to watch it.").arg(run_->description));
  emit statusMessage(tr("Reverse run done: %1").arg(run_->description));
  timeline_->pause();
  timeline_->setDirection(TimelineModel::Direction::kReverse);
  // A streamed run was watched as it formed: show its result (unless the user scrubbed away). Others: from
  // their start.
  if (!streamed) document_->setT(run_->start_t);
  else if (follow) document_->setT(0);
  refresh();
  emit reverseFinished();
}

}  // namespace diffuscope::ui

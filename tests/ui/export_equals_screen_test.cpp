// Export equals screen: for every model kind of both workspaces, the frames an export of the document's run makes
// (SpecFromDocument, as File > Export Animation starts it) equal the view's at the same t, bit for bit: forward
// x_t on each path, reverse runs from pure noise and from the data noised to t0 on the Markov path, each with
// the run's sampler seed; and the bundle the export writes remakes its frames bit for bit (a DDPM trained in the
// app is written to a model file named by its SHA-256).
#include "core/common/sha256.h"
#include "core/data/image_io.h"
#include "core/data/points2d.h"
#include "core/export/animation.h"
#include "core/metrics/image_quality.h"
#include "core/models/ddpm2d.h"
#include "core/models/photo_models.h"
#include "core/models/registry.h"
#include "core/render/plots.h"
#include "core/run/run.h"
#include "ui/state/document.h"
#include "ui/state/jobs.h"
#include "ui/widgets/export_dialog.h"
#include "ui/widgets/frame_view.h"
#include "ui/widgets/image_workspace.h"
#include "ui/widgets/points_workspace.h"
#include "ui/widgets/training_panel.h"

#include <QDir>
#include <QFile>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>

using namespace diffuscope;
using namespace diffuscope::ui;

namespace {

bool Same(const Batch& a, const Batch& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() && (a.array() == b.array()).all();
}

QImage AsRgb(const QImage& image) { return image.convertToFormat(QImage::Format_RGB888); }

/// The export's frames of the run, one state per frame, at scale 1 and without caption (the view's pixels).
AnimationFrames ExportFrames(const Document& document, Direction direction, std::vector<int> times = {}) {
  AnimationSpec spec = SpecFromDocument(document, direction);
  spec.render.scale = 1;
  spec.render.caption = false;
  spec.frames = 10000;
  spec.times = std::move(times);
  return RenderAnimation(spec);
}

/// Exports the run to a GIF, then remakes the frames from the bundle alone: they must be the bundle's.
void BundleRemakes(const Document& document, Direction direction) {
  QTemporaryDir dir;
  AnimationSpec spec = SpecFromDocument(document, direction);
  spec.frames = 6;
  if (spec.render.layout == Layout::kScatter) spec.render.scatter.width = spec.render.scatter.height = 96;
  else spec.render.min_cell = 32;
  const std::string out = dir.filePath(QStringLiteral("run.gif")).toStdString();
  ExportAnimationJob(spec, out);
  const Bundle bundle = ReadBundle(out + ".json");
  const AnimationFrames again = RenderAnimation(bundle.spec);
  const AnimationFrames first = RenderAnimation(spec);
  QCOMPARE(again.frames.size(), bundle.frame_sha256.size());
  QCOMPARE(first.frames.size(), bundle.frame_sha256.size());
  for (size_t k = 0; k < again.frames.size(); ++k) {
    QCOMPARE(Sha256Hex(again.frames[k].rgb.data(), again.frames[k].rgb.size()), bundle.frame_sha256[k]);
    QVERIFY(Same(again.x_t[k], first.x_t[k]));
  }
}

/// The 2D view's state now (particles, data, overlays) drawn by the core's scatter renderer with the export's
/// options, in the data's units.
Frame ViewFrame(const Document& document, const PointsWorkspace& workspace) {
  const AnimationSpec spec = SpecFromDocument(document, Direction::kForward);
  const PointNormalization n = PointsNormalization(document.points());
  ScatterOptions options = spec.render.scatter;
  const ScatterOptions& limits = spec.render.scatter;
  const PlotBox box = DataBox(n, PlotBox{limits.x_min, limits.x_max, limits.y_min, limits.y_max});
  options.x_min = box.x_min;
  options.x_max = box.x_max;
  options.y_min = box.y_min;
  options.y_max = box.y_max;
  const ScatterOverlays overlays = workspace.shownOverlays();
  const Batch background = workspace.view()->background();  // the data set as the view draws it (or none)
  ScatterContent content;
  content.points = &workspace.shownParticles();
  content.background = background.rows() > 0 ? &background : nullptr;
  content.overlays = &overlays;
  return RenderScatter(content, options);
}

int IndexOfT(const AnimationFrames& frames, int t) {
  for (size_t k = 0; k < frames.t.size(); ++k)
    if (frames.t[k] == t) return static_cast<int>(k);
  return -1;
}

}  // namespace

class ExportEqualsScreenTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    qputenv("DIFFUSCOPE_NO_DIALOGS", "1");
    // A small colour image, so that every model runs in a moment.
    const Image photo = LoadImage(std::string(DIFFUSCOPE_RESOURCES) + "/images/butterfly.jpg");
    image_path_ = dir_.filePath(QStringLiteral("small.png"));
    SaveImage(image_path_.toStdString(), ResizeImage(photo, 20, 14));
    // A larger one for the working size of learned models (shrunk to 24 pixels a side when asked).
    larger_path_ = dir_.filePath(QStringLiteral("larger.png"));
    SaveImage(larger_path_.toStdString(), ResizeImage(photo, 40, 28));
    // A tiny photo DDPM trained here for a few updates: what matters is that screen and export agree, not its
    // quality (never the shipped model's).
    // Two levels of 8 and 16 channels: every layer kind, in a moment.
    auto shrink = [](UNetSpec* spec) {
      spec->channels = {8, 16};
      spec->groups = 4;
      spec->embedding_size = 16;
      spec->embedding_width = 16;
    };
    PhotoDdpmOptions tiny;
    shrink(&tiny.network);
    tiny.crops.side = 16;
    PhotoDdpmModel model(tiny);
    TrainOptions train = PhotoDefaultTraining(3);
    train.warmup_steps = 0;
    train.learning_rate = 1e-2;
    TrainPhotoDdpm(model, {ResizeImage(photo, 48, 36)}, train);
    photo_model_path_ = dir_.filePath(QStringLiteral("tiny-photo.dfm"));
    model.Save(photo_model_path_.toStdString());
    // And a tiny SR3 x4 (the workspace knows it by its name, sr3-photo...).
    Sr3PhotoOptions sr;
    shrink(&sr.network);
    sr.crops.side = 16;
    Sr3PhotoModel sr3(sr);
    TrainSr3Photo(sr3, {ResizeImage(photo, 48, 36)}, train);
    sr3_model_path_ = dir_.filePath(QStringLiteral("sr3-photo-tiny.dfm"));
    sr3.Save(sr3_model_path_.toStdString());
    // A user's CSV at scale 5 and an offset: the app and the export keep its units.
    csv_path_ = dir_.filePath(QStringLiteral("mine.csv"));
    const Batch moons = GenerateDataset("moons", 400, 2);
    QFile csv(csv_path_);
    QVERIFY(csv.open(QIODevice::WriteOnly));
    csv.write("x,y\n");
    for (Eigen::Index i = 0; i < moons.rows(); ++i)
      csv.write(QStringLiteral("%1,%2\n")
                    .arg(5.0 * moons(i, 0) + 10.0, 0, 'g', 9)
                    .arg(5.0 * moons(i, 1) - 3.0, 0, 'g', 9)
                    .toUtf8());
  }
  void init() { QSettings().clear(); }

  void images_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<bool>("from_t0");
    QTest::addColumn<bool>("larger");
    QTest::addColumn<int>("working_side");
    QTest::addColumn<QSize>("size");  // of the frames
    for (const char* model : {"oracle", "empirical", "patch"}) {
      QTest::newRow(model) << QString::fromLatin1(model) << false << false << 256 << QSize(20, 14);
      QTest::newRow((std::string(model) + " from t0 on the Markov path").c_str())
          << QString::fromLatin1(model) << true << false << 256 << QSize(20, 14);
    }
    // A learned photo model (ddpm-photo's kind, tiny): at the working size, and at the image's own.
    QTest::newRow("learned photo model at a working size of 24") << QString() << false << true << 24 << QSize(24, 17);
    QTest::newRow("learned photo model from t0 at 24") << QString() << true << true << 24 << QSize(24, 17);
    QTest::newRow("learned photo model at full size") << QString() << true << true << 0 << QSize(40, 28);
    QTest::newRow("oracle ignores the working size")
        << QStringLiteral("oracle") << false << true << 24 << QSize(40, 28);
    // SR3 x4 of the photo: simulated (the photo at 24 is the truth, cut to a multiple of 4), and of a 6 x 6
    // region at the photo's own resolution.
    QTest::newRow("sr3 photo, simulated low resolution")
        << QStringLiteral("sr3") << false << true << 24 << QSize(24, 16);
    QTest::newRow("sr3 photo of a region") << QStringLiteral("sr3 region") << false << true << 24 << QSize(24, 24);
    // The mean of two SR3 chains: chain 0's x_t on screen and in the export, the mean as the result.
    QTest::newRow("sr3 photo, mean of 2 samples") << QStringLiteral("sr3 mean") << false << true << 24 << QSize(24, 16);
  }

  void images() {
    QFETCH(QString, model);
    QFETCH(bool, from_t0);
    QFETCH(bool, larger);
    QFETCH(int, working_side);
    QFETCH(QSize, size);
    const bool simulate = model != QLatin1String("sr3 region");
    const int sr_samples = model == QLatin1String("sr3 mean") ? 2 : 1;
    if (model.isEmpty()) model = photo_model_path_;
    if (model.startsWith(QLatin1String("sr3"))) model = sr3_model_path_;
    Document document;
    TimelineModel timeline;
    timeline.setClockEnabled(false);
    ImageWorkspace images(&document, &timeline);
    images.setShowPredictions(true);  // the learned model's x0_hat at the working size too
    document.setImage(LoadImageFile(larger ? larger_path_ : image_path_));
    ScheduleOptions schedule;
    schedule.num_steps = 40;
    QVERIFY(document.setScheduleOptions(schedule).isEmpty());
    SamplerOptions sampler;  // DDPM, every step: noise at every step, drawn with the run's seed
    QVERIFY(document.setSamplerOptions(sampler).isEmpty());
    document.setSeed(29);
    document.setForwardPath(ForwardPath::kMarkov);
    ModelChoice choice;
    choice.image_model = model;
    choice.from_current_t = from_t0;
    choice.working_side = working_side;
    choice.simulate_low_resolution = simulate;
    choice.sr_samples = sr_samples;
    document.setModel(choice);
    if (model == sr3_model_path_) {
      const RunSpec run = document.run(0);
      QCOMPARE(run.super_resolution, 4);
      QCOMPARE(run.sr_samples, sr_samples);
      QCOMPARE(run.simulate_low_resolution, simulate);
      QCOMPARE(run.region_width, simulate ? 0 : 6);
    }

    // Forward: the view's x_t at t is the export's frame at t, on both paths.
    for (ForwardPath path : {ForwardPath::kClosed, ForwardPath::kMarkov}) {
      document.setForwardPath(path);
      for (int t : {0, 13, 40}) {
        document.setT(t);
        images.refresh();
        QVERIFY(images.frameJobs()->waitIdle(30000));
        QCoreApplication::processEvents();
        QCOMPARE(images.shownT(), t);
        const AnimationFrames exported = ExportFrames(document, Direction::kForward, {t});
        QCOMPARE(images.mainView()->image().size(), size);
        QCOMPARE(AsRgb(ToQImage(Frame(exported.frames.front()))), AsRgb(images.mainView()->image()));
      }
    }

    // Reverse: every kept state of the run on screen is the export's state at the same t.
    document.setForwardPath(ForwardPath::kMarkov);
    document.setT(from_t0 ? 17 : 0);
    QSignalSpy done(&images, &ImageWorkspace::reverseFinished);
    QSignalSpy errors(&images, &ImageWorkspace::errorOccurred);
    images.startReverse();
    QTRY_VERIFY_WITH_TIMEOUT(done.count() == 1 || !errors.isEmpty(), 120000);
    if (!errors.isEmpty()) QFAIL(qPrintable(errors.at(0).at(1).toString()));
    const ImageReverseRun* run = images.reverseRun();
    QVERIFY(run != nullptr);
    QCOMPARE(run->description.contains(QStringLiteral("the mean of 2 samples")), sr_samples == 2);
    QCOMPARE(run->start_t, from_t0 ? 17 : 40);
    const AnimationFrames exported = ExportFrames(document, Direction::kReverse);
    QCOMPARE(exported.t.front(), run->start_t);
    QVERIFY(!run->t.empty());
    for (size_t i = 0; i < run->t.size(); ++i) {
      const int k = IndexOfT(exported, run->t[i]);
      QVERIFY2(k >= 0, qPrintable(QStringLiteral("no exported frame at t = %1").arg(run->t[i])));
      QCOMPARE(AsRgb(ToQImage(Frame(exported.frames[k]))), AsRgb(run->x_t[i]));
    }
    QCOMPARE(exported.t.back(), 0);
    QCOMPARE(AsRgb(ToQImage(Frame(exported.frames.back()))), AsRgb(run->sample));
    QCOMPARE(run->sample.size(), size);
    // The seeds are the run's: another seed, another trajectory (the oracle and the empirical denoiser of the
    // photos end on the same x_0 anyway, so look one step in).
    document.setSeed(30);
    const AnimationFrames other = ExportFrames(document, Direction::kReverse);
    QCOMPARE(other.t[1], exported.t[1]);
    QVERIFY(!Same(other.x_t[1], exported.x_t[1]));
    document.setSeed(29);
    BundleRemakes(document, Direction::kReverse);
    BundleRemakes(document, Direction::kForward);
  }

  // SR3 x4 of the photo as the user sees it: choosing it brings SR3's sampler (one undo step); simulated, the
  // low-res | bicubic | SR3 | x0_hat | truth panels with PSNR and SSIM against the truth; of the photo itself, no
  // truth panel and no figures.
  void photoSuperResolutionPanels() {
    Document document;
    TimelineModel timeline;
    timeline.setClockEnabled(false);
    ImageWorkspace images(&document, &timeline);
    images.setShowPredictions(true);
    document.setImage(LoadImageFile(larger_path_));
    ScheduleOptions schedule;
    schedule.num_steps = 40;
    QVERIFY(document.setScheduleOptions(schedule).isEmpty());
    const int undo_before = document.undoStack()->count();
    images.chooseModel(sr3_model_path_);
    QCOMPARE(document.undoStack()->count(), undo_before + 1);
    QVERIFY(document.samplerOptions().clip_x0);
    QCOMPARE(document.samplerOptions().num_steps, 100);
    QCOMPARE(images.reverseSteps(), 40);  // 100 asked, T = 40
    ModelChoice choice = document.model();
    choice.working_side = 24;
    document.setModel(choice);
    QCOMPARE(images.workingSize(), QSize(24, 16));
    // "Samples averaged": an undoable model choice, the run's sr_samples, and K runs in the expected time.
    auto* samples_box = images.findChild<QSpinBox*>(QStringLiteral("srSamples"));
    QVERIFY(samples_box != nullptr && samples_box->isVisibleTo(&images));
    const double one_run = images.expectedSeconds();
    const int undo_samples = document.undoStack()->count();
    samples_box->setValue(3);
    QCOMPARE(document.model().sr_samples, 3);
    QCOMPARE(document.run(0).sr_samples, 3);
    QCOMPARE(document.undoStack()->count(), undo_samples + 1);
    QCOMPARE(images.expectedSeconds(), 3 * one_run);
    QVERIFY(images.estimateText().contains(QStringLiteral("3 runs")));
    document.undoStack()->undo();
    QCOMPARE(document.model().sr_samples, 1);
    QCOMPARE(samples_box->value(), 1);
    for (const bool simulate : {true, false}) {
      choice.simulate_low_resolution = simulate;
      document.setModel(choice);
      QSignalSpy done(&images, &ImageWorkspace::reverseFinished);
      QSignalSpy failed(images.reverseTask(), &BackgroundTask::failed);
      images.startReverse();
      QTRY_VERIFY_WITH_TIMEOUT(done.count() == 1 || !failed.isEmpty(), 120000);
      if (!failed.isEmpty()) QFAIL(qPrintable(failed.at(0).at(0).toString()));
      const ImageReverseRun* run = images.reverseRun();
      QVERIFY(run != nullptr && run->photo_sr != nullptr);
      QCOMPARE(run->photo_sr->simulated, simulate);
      int shown_panels = 0;
      bool truth_shown = false;
      for (FrameView* view : images.findChildren<FrameView*>()) {
        if (view->isHidden()) continue;
        ++shown_panels;
        truth_shown = truth_shown || view->toolTip().contains(QStringLiteral("original photo"));
      }
      QCOMPARE(truth_shown, simulate);
      QCOMPARE(shown_panels, simulate ? 6 : 5);  // low, bicubic, x_t, x0_hat, eps_hat (+ truth)
      if (simulate) {
        // Bicubic's PSNR is the one of the run's truth and the cubic upsample of its area-downscaled view.
        const RunInput input = LoadRunInput(document.run(0));
        const Image view{input.low_shape.channels, input.low_shape.height, input.low_shape.width, input.low};
        const Batch bicubic = ResizeImage(view, 24, 16).pixels.cwiseMax(-1.0f).cwiseMin(1.0f);
        QCOMPARE(run->photo_sr->psnr_bicubic, Psnr(std::span<const float>(input.x0.data(), input.x0.size()),
                                                   std::span<const float>(bicubic.data(), bicubic.size())));
        QVERIFY(run->photo_sr->ssim_bicubic > 0 && run->photo_sr->ssim_bicubic < 1);
        QVERIFY(std::isfinite(run->psnr_sample) && run->psnr_sample > 0);
        QCOMPARE(run->psnr_x0_hat.size(), run->t.size());
        QCOMPARE(images.mainView()->image().size(), QSize(24, 16));
        QVERIFY(run->description.contains(QStringLiteral("bicubic")));
      } else {
        QCOMPARE(images.mainView()->image().size(), QSize(24, 24));  // a 6 x 6 region x4
        QVERIFY(!run->description.contains(QStringLiteral("bicubic")));
      }
    }
  }

  void digits_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<bool>("from_image");
    QTest::addColumn<int>("samples");
    QTest::newRow("sr3-digits, held-out digit 7") << QStringLiteral("sr3-digits") << false << 1;
    QTest::newRow("sr3-digits-5x5, the open image") << QStringLiteral("sr3-digits-5x5") << true << 1;
    QTest::newRow("ddpm-digits, a grid of 4") << QStringLiteral("ddpm-digits") << false << 4;
  }

  void digits() {
    QFETCH(QString, model);
    QFETCH(bool, from_image);
    QFETCH(int, samples);
    QVERIFY2(ShippedModelPath(model.toStdString()).has_value(), "the digits models are shipped in resources/models");
    Document document;
    TimelineModel timeline;
    timeline.setClockEnabled(false);
    ImageWorkspace images(&document, &timeline);
    document.setImage(LoadImageFile(image_path_));
    ScheduleOptions schedule;
    schedule.num_steps = 40;
    QVERIFY(document.setScheduleOptions(schedule).isEmpty());
    QVERIFY(document.setSamplerOptions(SamplerOptions{}).isEmpty());
    document.setSeed(41);
    ModelChoice choice;
    choice.image_model = model;
    choice.digit = 7;
    choice.digit_from_image = from_image;
    choice.digit_samples = samples;
    document.setModel(choice);
    QSignalSpy done(&images, &ImageWorkspace::reverseFinished);
    QSignalSpy errors(&images, &ImageWorkspace::errorOccurred);
    QSignalSpy failed(images.reverseTask(), &BackgroundTask::failed);
    images.startReverse();
    QTRY_VERIFY_WITH_TIMEOUT(done.count() == 1 || !errors.isEmpty() || !failed.isEmpty(), 120000);
    if (!errors.isEmpty()) QFAIL(qPrintable(errors.at(0).at(1).toString()));
    if (!failed.isEmpty()) QFAIL(qPrintable(failed.at(0).at(0).toString()));
    const ImageReverseRun* run = images.reverseRun();
    QVERIFY(run != nullptr);
    QCOMPARE(run->samples, samples);
    const AnimationSpec spec = SpecFromDocument(document, Direction::kReverse);
    QVERIFY(spec.digits);
    QCOMPARE(spec.digit, from_image ? -1 : 7);
    const AnimationFrames exported = ExportFrames(document, Direction::kReverse);
    QCOMPARE(exported.t.front(), run->start_t);
    QVERIFY(!run->t.empty());
    for (size_t i = 0; i < run->t.size(); ++i) {
      const int k = IndexOfT(exported, run->t[i]);
      QVERIFY2(k >= 0, qPrintable(QStringLiteral("no exported frame at t = %1").arg(run->t[i])));
      QCOMPARE(AsRgb(ToQImage(Frame(exported.frames[k]))), AsRgb(run->x_t[i]));
    }
    QCOMPARE(exported.t.back(), 0);
    QCOMPARE(AsRgb(ToQImage(Frame(exported.frames.back()))), AsRgb(run->sample));
    BundleRemakes(document, Direction::kReverse);
  }

  void points_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("dataset");
    QTest::addColumn<bool>("from_t0");
    QTest::newRow("empirical") << QStringLiteral("empirical") << QStringLiteral("moons") << false;
    QTest::newRow("empirical from t0 on the Markov path")
        << QStringLiteral("empirical") << QStringLiteral("moons") << true;
    QTest::newRow("mixture") << QStringLiteral("mixture") << QStringLiteral("8gaussians") << false;
    QTest::newRow("empirical, a CSV at scale 5 and an offset") << QStringLiteral("empirical") << csv_path_ << true;
    QTest::newRow("learned, a CSV at scale 5 and an offset") << QStringLiteral("learned") << csv_path_ << false;
    QTest::newRow("learned (trained in the app, not saved)")
        << QStringLiteral("learned") << QStringLiteral("moons") << false;
    QTest::newRow("learned from t0") << QStringLiteral("learned") << QStringLiteral("moons") << true;
    QTest::newRow("sohl-dickstein") << QStringLiteral("sohl-dickstein-swissroll") << QStringLiteral("swiss_roll")
                                    << false;
    QTest::newRow("learned on 8gaussians (the exact field beside)")
        << QStringLiteral("learned") << QStringLiteral("8gaussians") << false;
  }

  void points() {
    QFETCH(QString, model);
    QFETCH(QString, dataset);
    QFETCH(bool, from_t0);
    Document document;
    TimelineModel timeline;
    timeline.setClockEnabled(false);
    PointsWorkspace workspace(&document, &timeline);
    document.setWorkspace(1);
    ScheduleOptions schedule;
    schedule.kind = ScheduleKind::kCosine;
    schedule.num_steps = 30;
    QVERIFY(document.setScheduleOptions(schedule).isEmpty());
    SamplerOptions sampler;
    QVERIFY(document.setSamplerOptions(sampler).isEmpty());
    document.setSeed(31);
    document.setPoints(LoadPoints(dataset, 400, 1));
    if (model == QLatin1String("learned")) {
      Ddpm2dOptions options;
      options.schedule = schedule;
      options.hidden_size = 32;
      auto learned = std::make_shared<Ddpm2dModel>(options);
      learned->set_normalization(PointsNormalization(document.points()));  // as the app's training sets it
      emit workspace.trainingPanel()->modelReady(learned);
    } else if (model != QLatin1String("empirical") && model != QLatin1String("mixture")) {
      workspace.setModelName(model);  // switches to the model's schedule, steps of one and its data
    }
    ModelChoice choice = document.model();
    choice.points_model = model;
    choice.num_particles = 300;
    choice.from_current_t = from_t0;
    document.setModel(choice);
    const int T = document.numSteps();
    // Everything the view can draw over the particles is on: the export must draw the same.
    PointsOverlays overlays;
    overlays.field = FieldKind::kScore;
    overlays.contours = true;
    overlays.trajectories = true;
    document.setPointsOverlays(overlays);
    const size_t fields = model == QLatin1String("learned") && dataset == QLatin1String("8gaussians") ? 2 : 1;

    for (ForwardPath path : {ForwardPath::kClosed, ForwardPath::kMarkov}) {
      document.setForwardPath(path);
      for (int t : {0, 7, T}) {
        document.setT(t);
        workspace.refresh();
        QVERIFY(workspace.frameJobs()->waitIdle(30000));
        QCoreApplication::processEvents();
        QCOMPARE(workspace.shownT(), t);
        const AnimationFrames exported = ExportFrames(document, Direction::kForward, {t});
        QVERIFY2(Same(exported.x_t.front(), workspace.shownParticles()), qPrintable(QStringLiteral("t = %1").arg(t)));
        const ScatterOverlays shown = workspace.shownOverlays();
        QCOMPARE(shown.fields.size(), t > 0 ? fields : size_t{0});
        QVERIFY(!shown.contours.empty());
        QCOMPARE(shown.trajectories.size(), size_t{12});
        QVERIFY2(exported.overlays.front().fields == shown.fields,
                 qPrintable(QStringLiteral("fields at t = %1").arg(t)));
        QVERIFY2(exported.overlays.front().trajectories == shown.trajectories,
                 qPrintable(QStringLiteral("paths at t = %1").arg(t)));
        QVERIFY2(exported.overlays.front().contours == shown.contours,
                 qPrintable(QStringLiteral("contours at t = %1 %2 %3")
                                .arg(t)
                                .arg(exported.overlays.front().contours.size())
                                .arg(shown.contours.size())));
        // The exported frame is the view's content drawn by the core's renderer.
        QVERIFY2(exported.frames.front() == ViewFrame(document, workspace),
                 qPrintable(QStringLiteral("t = %1").arg(t)));
      }
    }

    document.setForwardPath(ForwardPath::kMarkov);
    document.setT(from_t0 ? 12 : 0);
    QSignalSpy done(&workspace, &PointsWorkspace::reverseFinished);
    QSignalSpy errors(&workspace, &PointsWorkspace::errorOccurred);
    workspace.startReverse();
    QTRY_VERIFY_WITH_TIMEOUT(done.count() == 1 || !errors.isEmpty(), 120000);
    if (!errors.isEmpty()) QFAIL(qPrintable(errors.at(0).at(1).toString()));
    const PointsReverseRun* run = workspace.reverseRun();
    QVERIFY(run != nullptr);
    QCOMPARE(run->start_t, from_t0 ? 12 : T);
    const AnimationSpec spec = SpecFromDocument(document, Direction::kReverse);
    if (model == QLatin1String("learned")) {
      QVERIFY(QFileInfo(QString::fromStdString(spec.model)).fileName().startsWith(QStringLiteral("model-")));
      QCOMPARE(QFileInfo(QString::fromStdString(spec.model)).absolutePath(), QDir(LearnedModelFolder()).absolutePath());
    } else {
      QCOMPARE(QString::fromStdString(spec.model), model);
    }
    const AnimationFrames exported = ExportFrames(document, Direction::kReverse);
    QCOMPARE(exported.t.front(), run->start_t);
    for (size_t i = 0; i < run->t.size(); ++i) {
      const int k = IndexOfT(exported, run->t[i]);
      QVERIFY2(k >= 0, qPrintable(QStringLiteral("no exported frame at t = %1").arg(run->t[i])));
      QVERIFY2(Same(exported.x_t[k], run->x_t[i]), qPrintable(QStringLiteral("t = %1").arg(run->t[i])));
    }
    QCOMPARE(exported.t.back(), 0);
    QVERIFY(Same(exported.x_t.back(), run->sample));
    // On screen at t: the run's state there.
    document.setT(run->t.back());
    QCoreApplication::processEvents();
    QVERIFY(workspace.frameJobs()->waitIdle(30000));
    QCoreApplication::processEvents();
    QVERIFY(Same(workspace.shownParticles(), run->x_t.back()));
    // Its overlays (the field at that state's t, the paths of the run so far), and at the end, are the export's.
    for (int t : {run->t.back(), 0}) {
      document.setT(t);
      QCoreApplication::processEvents();
      QVERIFY(workspace.frameJobs()->waitIdle(30000));
      QCoreApplication::processEvents();
      const int k = IndexOfT(exported, workspace.shownT());
      QVERIFY(k >= 0);
      const ScatterOverlays shown = workspace.shownOverlays();
      QCOMPARE(shown.fields.size(), workspace.shownT() > 0 ? fields : size_t{0});
      QCOMPARE(shown.trajectories.size(), size_t{12});
      QVERIFY2(exported.overlays[k] == shown, qPrintable(QStringLiteral("reverse overlays at t = %1").arg(t)));
    }
    BundleRemakes(document, Direction::kReverse);
    BundleRemakes(document, Direction::kForward);
  }

  // The faint data set behind the particles is the document's choice: switched off in the view, the export leaves
  // it out too, and its frame is the view's; with it on the frames differ (only) by the data set.
  void pointsWithoutTheDataSet() {
    Document document;
    TimelineModel timeline;
    timeline.setClockEnabled(false);
    PointsWorkspace workspace(&document, &timeline);
    document.setWorkspace(1);
    ScheduleOptions schedule;
    schedule.kind = ScheduleKind::kCosine;
    schedule.num_steps = 30;
    QVERIFY(document.setScheduleOptions(schedule).isEmpty());
    document.setSeed(5);
    document.setPoints(LoadPoints(QStringLiteral("moons"), 400, 1));
    QVERIFY(document.pointsOverlays().data);
    QVERIFY(Same(workspace.view()->background(), document.points().points));
    for (ForwardPath path : {ForwardPath::kClosed, ForwardPath::kMarkov}) {
      document.setForwardPath(path);
      for (int t : {0, 7}) {
        workspace.setDataSetShown(true);
        document.setT(t);
        workspace.refresh();
        QVERIFY(workspace.frameJobs()->waitIdle(30000));
        QCoreApplication::processEvents();
        QCOMPARE(workspace.shownT(), t);
        const AnimationFrames with_data = ExportFrames(document, Direction::kForward, {t});
        QVERIFY(SpecFromDocument(document, Direction::kForward).draw_data);
        QVERIFY2(with_data.frames.front() == ViewFrame(document, workspace),
                 qPrintable(QStringLiteral("t = %1").arg(t)));

        const int undo_steps = document.undoStack()->count();
        workspace.setDataSetShown(false);  // the view's "Data set (faint)" box
        QCoreApplication::processEvents();
        QVERIFY(!document.pointsOverlays().data);
        QCOMPARE(document.undoStack()->count(), undo_steps + 1);
        QCOMPARE(workspace.view()->background().rows(), Eigen::Index{0});
        QVERIFY(workspace.frameJobs()->waitIdle(30000));
        QCoreApplication::processEvents();
        const AnimationSpec spec = SpecFromDocument(document, Direction::kForward);
        QVERIFY(!spec.draw_data);
        const AnimationFrames without = ExportFrames(document, Direction::kForward, {t});
        QVERIFY(Same(without.x_t.front(), workspace.shownParticles()));
        QVERIFY(Same(without.x_t.front(), with_data.x_t.front()));
        QVERIFY2(without.frames.front() == ViewFrame(document, workspace), qPrintable(QStringLiteral("t = %1").arg(t)));
        QVERIFY2(!(without.frames.front() == with_data.frames.front()), qPrintable(QStringLiteral("t = %1").arg(t)));

        // Undo brings the data set back, on screen and in the export.
        document.undoStack()->undo();
        QVERIFY(document.pointsOverlays().data);
        QVERIFY(Same(workspace.view()->background(), document.points().points));
        QVERIFY(SpecFromDocument(document, Direction::kForward).draw_data);
        document.undoStack()->redo();
        QVERIFY(!document.pointsOverlays().data);
      }
    }
    BundleRemakes(document, Direction::kForward);
  }

 private:
  QTemporaryDir dir_;
  QString image_path_, csv_path_, larger_path_, photo_model_path_, sr3_model_path_;
};

QTEST_MAIN(ExportEqualsScreenTest)
#include "export_equals_screen_test.moc"

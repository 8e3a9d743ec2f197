// The application window as users drive it: it opens on the bundled photograph, scrubbing shows the newest
// frame, bad files are errors (no crash, the current image stays), a reverse run can be cancelled and a
// finished one is scrubbable, and a session saved from the window opens to the same picture.
#include "ui/widgets/main_window.h"
#include "ui/state/document.h"
#include "ui/widgets/frame_view.h"
#include "ui/widgets/image_workspace.h"
#include "ui/widgets/points_workspace.h"
#include "ui/widgets/scatter_view.h"

#include "core/data/image_io.h"
#include "core/models/registry.h"

#include <QFile>
#include <QPainter>
#include <QSettings>
#include <QSignalSpy>
#include <QSvgRenderer>
#include <QTemporaryDir>
#include <QTest>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

using namespace diffuscope;
using namespace diffuscope::ui;

namespace {

void Write(const QString& path, const QByteArray& bytes) {
  QFile file(path);
  QVERIFY(file.open(QIODevice::WriteOnly));
  file.write(bytes);
}

// The mechanics of reverse runs, on the training-free oracle (fast; no shipped model's quality involved).
void UseOracle(MainWindow& window) {
  ModelChoice model = window.document()->model();
  model.image_model = QStringLiteral("oracle");
  window.document()->setModel(model);
}

}  // namespace

class MainWindowTest : public QObject {
  Q_OBJECT

 private slots:
  // Every test starts from the defaults: no remembered schedule, seed or layout.
  void init() { QSettings().clear(); }

  void opensOnTheSamplePhotograph() {
    MainWindow window;
    QVERIFY(!window.document()->image().empty());
    QVERIFY(window.document()->image().path.endsWith(QStringLiteral("chicky_512.png")));
    QCOMPARE(window.document()->image().width, 512);
    QVERIFY(window.document()->points().points.rows() > 0);
    QCOMPARE(window.document()->points().source, QStringLiteral("dataset:dino"));
    QVERIFY(window.imageWorkspace()->frameJobs()->waitIdle(20000));
    QVERIFY(!window.imageWorkspace()->mainView()->image().isNull());
    // The learned photo model (the default) computes at the working size, 256; the oracle at the image's own.
    const bool learned = window.document()->model().image_model == QLatin1String("ddpm-photo");
    QCOMPARE(window.imageWorkspace()->mainView()->image().size(), learned ? QSize(256, 256) : QSize(512, 512));
    UseOracle(window);
    QVERIFY(window.imageWorkspace()->frameJobs()->waitIdle(20000));
    QCOMPARE(window.imageWorkspace()->mainView()->image().size(), QSize(512, 512));
  }

  void hasItsIcon() {
    MainWindow window;
    QSvgRenderer svg(QStringLiteral(":/diffuscope/diffuscope.svg"));
    QVERIFY(svg.isValid());
    QCOMPARE(svg.defaultSize(), QSize(256, 256));
    const QImage icon = window.windowIcon().pixmap(64, 64).toImage();
    QVERIFY(!icon.isNull());
    if (qEnvironmentVariableIsSet("DIFFUSCOPE_ICON_PNG")) {
      QImage big(256, 256, QImage::Format_ARGB32);
      big.fill(Qt::transparent);
      QPainter painter(&big);
      svg.render(&painter);
      big.save(qEnvironmentVariable("DIFFUSCOPE_ICON_PNG"));
    }
  }

  void scrubbingShowsTheNewestT() {
    MainWindow window;
    ImageWorkspace* images = window.imageWorkspace();
    QVERIFY(images->frameJobs()->waitIdle(20000));
    for (int t = 0; t <= 1000; t += 7) window.timeline()->setT(t);  // a fast drag
    window.timeline()->setT(613);
    QVERIFY(images->frameJobs()->waitIdle(20000));
    QCOMPARE(images->shownT(), 613);
    QVERIFY(images->frameJobs()->dropped() > 0);
    QVERIFY(window.statusText().contains(QStringLiteral("t = 613")));
    QVERIFY(window.statusText().contains(QStringLiteral("alpha_bar_t")));
    QVERIFY(window.statusText().contains(QStringLiteral("seed")));
  }

  void badImagesAreErrorsNotCrashes_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QByteArray>("content");
    QByteArray png_header("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
    QTest::newRow("empty") << "empty.png" << QByteArray();
    QTest::newRow("text") << "notes.png" << QByteArray("this is not an image\n");
    QTest::newRow("truncated png") << "cut.png" << png_header;
    QTest::newRow("garbage jpeg") << "noise.jpg" << QByteArray(4096, '\x5a');
    QTest::newRow("missing") << "" << QByteArray();
  }
  void badImagesAreErrorsNotCrashes() {
    QFETCH(QString, name);
    QFETCH(QByteArray, content);
    QTemporaryDir dir;
    QString path = dir.filePath(name.isEmpty() ? QStringLiteral("does-not-exist.png") : name);
    if (!name.isEmpty()) Write(path, content);
    MainWindow window;
    const QString before = window.document()->image().path;
    QVERIFY(!window.openImage(path));
    QCOMPARE(window.document()->image().path, before);  // the current image stays
    QVERIFY_THROWS_EXCEPTION(Error, LoadImageFile(path));
  }

  void imageKindsOpen_data() {
    QTest::addColumn<int>("type");
    QTest::addColumn<int>("channels");
    QTest::newRow("grey 8-bit") << CV_8UC1 << 1;
    QTest::newRow("grey 16-bit") << CV_16UC1 << 1;
    QTest::newRow("colour 16-bit") << CV_16UC3 << 3;
    QTest::newRow("colour with alpha") << CV_8UC4 << 3;
  }
  void imageKindsOpen() {
    QFETCH(int, type);
    QFETCH(int, channels);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("kind.png"));
    cv::Mat mat(48, 64, type);
    cv::randu(mat, 0, CV_MAT_DEPTH(type) == CV_16U ? 65535 : 255);
    QVERIFY(cv::imwrite(path.toStdString(), mat));
    MainWindow window;
    QVERIFY(window.openImage(path));
    QCOMPARE(window.document()->image().channels, channels);
    QCOMPARE(window.document()->image().width, 64);
    QVERIFY(window.imageWorkspace()->frameJobs()->waitIdle(20000));
    QCOMPARE(window.imageWorkspace()->mainView()->image().size(), QSize(64, 48));
  }

  void veryLargeImageIsRefusedThenDownscaled() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("huge.png"));
    QVERIFY(cv::imwrite(path.toStdString(), cv::Mat(2100, 2100, CV_8UC1, cv::Scalar(128))));
    QVERIFY_THROWS_EXCEPTION(ImageTooLarge, LoadImageFile(path));
    MainWindow window;
    QVERIFY(!window.openImage(path, /*quiet=*/true));  // the window would offer to downscale
    const ImageData smaller = LoadImageFile(path, /*downscale=*/true);
    QVERIFY(static_cast<long long>(smaller.width) * smaller.height <= kMaxImagePixels);
    QVERIFY(smaller.width > 1000);
  }

  void badSessionIsAnError() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("broken.json"));
    Write(path, "{\"format\": \"diffuscope-session\", ");
    MainWindow window;
    window.document()->setSeed(4);
    QVERIFY(!window.openSession(path));
    QCOMPARE(window.document()->seed(), uint64_t{4});
  }

  // Before a run: its working size and expected time, from the prior cost per pixel until one is measured here.
  void expectedTimeBeforeTheRun() {
    if (!ShippedModelPath("ddpm-photo")) QSKIP("ddpm-photo is not shipped");
    MainWindow window;
    ImageWorkspace* images = window.imageWorkspace();
    QCOMPARE(images->workingSize(), QSize(256, 256));  // chicky_512 at the default working size
    SamplerOptions options = window.document()->samplerOptions();
    options.num_steps = 50;
    QVERIFY(window.document()->setSamplerOptions(options).isEmpty());
    ModelChoice model = window.document()->model();
    model.from_current_t = true;
    window.document()->setModel(model);
    window.document()->setT(30);  // from t0 = 30: only 30 steps are possible
    QCOMPARE(images->reverseSteps(), 30);
    window.document()->setT(100);
    QCOMPARE(images->reverseSteps(), 50);
    QCOMPARE(images->secondsPerPixel(), 4e-6);  // nothing measured yet (settings cleared)
    QCOMPARE(images->expectedSeconds(), 50 * 256.0 * 256.0 * 4e-6);
    QVERIFY2(images->estimateText().contains(QStringLiteral("about 13 s")), qPrintable(images->estimateText()));
    model.working_side = 0;
    window.document()->setModel(model);
    QCOMPARE(images->workingSize(), QSize(512, 512));
    QVERIFY2(images->estimateText().contains(QStringLiteral("about 52 s")), qPrintable(images->estimateText()));
  }

  void goodImageOpens() {
    MainWindow window;
    QVERIFY(window.openImage(QStringLiteral(DIFFUSCOPE_RESOURCES "/images/butterfly.jpg")));
    QCOMPARE(window.document()->image().width, 493);
    QCOMPARE(window.document()->image().height, 356);
    UseOracle(window);  // at the image's own size
    QVERIFY(window.imageWorkspace()->frameJobs()->waitIdle(20000));
    QCOMPARE(window.imageWorkspace()->mainView()->image().size(), QSize(493, 356));
  }

  void sidePanelsShowPredictionsAndNoise() {
    MainWindow window;
    ImageWorkspace* images = window.imageWorkspace();
    images->setShowPredictions(true);
    images->setShowNoise(true);
    images->setShowHistogram(true);
    window.document()->setT(400);
    QVERIFY(images->frameJobs()->waitIdle(20000));
    QCOMPARE(images->shownT(), 400);
    window.document()->setForwardPath(ForwardPath::kMarkov);
    QVERIFY(images->frameJobs()->waitIdle(20000));
    QCOMPARE(images->shownT(), 400);
  }

  void reverseRunCancels() {
    MainWindow window;
    UseOracle(window);
    ImageWorkspace* images = window.imageWorkspace();
    SamplerOptions every_step = window.document()->samplerOptions();
    every_step.kind = SamplerKind::kDdpm;
    every_step.num_steps = 0;  // all 1000 steps: long enough to cancel
    QVERIFY(window.document()->setSamplerOptions(every_step).isEmpty());
    QSignalSpy cancelled(images->reverseTask(), &BackgroundTask::cancelled);
    QSignalSpy progress(images->reverseTask(), &BackgroundTask::progress);
    images->startReverse();
    QVERIFY(images->reverseTask()->running());
    QTRY_VERIFY_WITH_TIMEOUT(progress.count() > 1, 30000);
    // It streams: the steps computed so far are on the timeline, which follows the newest and greys the rest.
    QTRY_VERIFY_WITH_TIMEOUT(images->reverseRun() != nullptr && images->reverseRun()->t.size() >= 3, 30000);
    const ImageReverseRun* partial = images->reverseRun();
    QVERIFY(!partial->complete);
    QCOMPARE(partial->start_t, 1000);
    QCOMPARE(window.timeline()->direction(), TimelineModel::Direction::kReverse);
    QVERIFY(window.timeline()->hasAvailableRange());
    const int newest = partial->t.back();
    QVERIFY(window.timeline()->availableLow() <= newest);
    QVERIFY(window.document()->t() <= 1000);
    QVERIFY(window.document()->t() >= window.timeline()->availableLow());
    window.timeline()->setT(0);  // not computed yet: held at the newest step
    QVERIFY(window.timeline()->t() >= window.timeline()->availableLow());
    QVERIFY(window.timeline()->t() > 0);
    images->cancelReverse();
    QTRY_COMPARE_WITH_TIMEOUT(cancelled.count(), 1, 30000);
    QVERIFY(images->reverseRun() == nullptr);
    QVERIFY(!window.timeline()->hasAvailableRange());
  }

  void reverseRunIsScrubbable() {
    MainWindow window;
    UseOracle(window);
    ImageWorkspace* images = window.imageWorkspace();
    SamplerOptions options = window.document()->samplerOptions();
    options.kind = SamplerKind::kDdim;
    options.num_steps = 20;
    QVERIFY(window.document()->setSamplerOptions(options).isEmpty());
    ModelChoice model = window.document()->model();
    model.from_current_t = true;  // SDEdit: noise to t = 300, then denoise
    window.document()->setModel(model);
    window.document()->setT(300);
    QSignalSpy done(images, &ImageWorkspace::reverseFinished);
    images->startReverse();
    QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 60000);
    const ImageReverseRun* run = images->reverseRun();
    QVERIFY(run != nullptr);
    QCOMPARE(run->start_t, 300);
    QCOMPARE(run->t.size(), size_t{20});
    QVERIFY(run->complete);
    QCOMPARE(window.timeline()->direction(), TimelineModel::Direction::kReverse);
    QVERIFY(!window.timeline()->hasAvailableRange());
    // Watched as it formed, the run ends on its result; every t is scrubbable again.
    QCOMPARE(window.document()->t(), 0);
    window.timeline()->setT(300);
    QCOMPARE(images->shownT(), 300);
    QCOMPARE(images->mainView()->image(), run->x_t.front());
    window.timeline()->setT(0);
    QCOMPARE(images->shownT(), 0);
    QCOMPARE(images->mainView()->image(), run->sample);
    window.timeline()->setT(150);
    QCOMPARE(images->shownT(), 150);
  }

  void pointsWorkspaceSamplesAndMeasures() {
    MainWindow window;
    window.document()->setWorkspace(1);
    PointsWorkspace* points = window.pointsWorkspace();
    points->setDataset(QStringLiteral("8gaussians"));
    ScheduleOptions schedule;
    schedule.kind = ScheduleKind::kCosine;
    schedule.num_steps = 100;
    QVERIFY(window.document()->setScheduleOptions(schedule).isEmpty());
    ModelChoice model = window.document()->model();
    model.points_model = QStringLiteral("mixture");
    model.num_particles = 1000;
    window.document()->setModel(model);
    points->setField(1);
    points->setTrajectories(true);
    window.document()->setT(50);
    QVERIFY(points->frameJobs()->waitIdle(20000));
    QCOMPARE(points->view()->particleCount(), 2000);
    QSignalSpy done(points, &PointsWorkspace::reverseFinished);
    points->startReverse();
    QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 60000);
    const PointsReverseRun* run = points->reverseRun();
    QVERIFY(run != nullptr);
    QCOMPARE(run->sample.rows(), Eigen::Index{1000});
    // The exact mixture's samples are far closer to the data than a single Gaussian fit.
    QVERIFY2(run->energy_distance < 0.5 * run->gaussian_baseline,
             qPrintable(QStringLiteral("%1 vs %2").arg(run->energy_distance).arg(run->gaussian_baseline)));
  }

  void sessionFromTheWindowReopens() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("s.json"));
    {
      MainWindow window;
      window.document()->setSeed(11);
      window.document()->setT(222);
      window.timeline()->setDirection(TimelineModel::Direction::kReverse);
      QVERIFY(window.saveSession(path));
    }
    MainWindow window;
    QVERIFY(window.openSession(path));
    QCOMPARE(window.document()->seed(), uint64_t{11});
    QCOMPARE(window.document()->t(), 222);
    QCOMPARE(window.timeline()->t(), 222);
    QCOMPARE(window.timeline()->direction(), TimelineModel::Direction::kReverse);
  }
};

QTEST_MAIN(MainWindowTest)
#include "main_window_test.moc"

// The digits models in the images workspace: SR3 super-resolves a held-out digit (or the open image) in the
// background and shows low-res | bicubic | SR3 | truth with PSNR / SSIM; the digits DDPM samples a grid from pure
// noise; both runs are scrubbable and can be cancelled.
#include "ui/state/document.h"
#include "ui/widgets/frame_view.h"
#include "ui/widgets/image_workspace.h"
#include "ui/widgets/main_window.h"

#include "core/data/digits.h"
#include "core/metrics/image_quality.h"
#include "core/models/digits_ddpm.h"
#include "core/models/registry.h"

#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>

using namespace diffuscope;
using namespace diffuscope::ui;

namespace {

void UseModel(MainWindow& window, const QString& name) {
  ModelChoice model = window.document()->model();
  model.image_model = name;
  model.from_current_t = false;
  window.document()->setModel(model);
}

void UseSampler(MainWindow& window, SamplerKind kind, int steps) {
  SamplerOptions options = window.document()->samplerOptions();
  options.kind = kind;
  options.num_steps = steps;
  options.clip_x0 = true;
  QVERIFY(window.document()->setSamplerOptions(options).isEmpty());
}

std::span<const float> Row(const Batch& b, int row) {
  return {b.data() + static_cast<long>(row) * b.cols(), static_cast<size_t>(b.cols())};
}

}  // namespace

class DigitsModeTest : public QObject {
  Q_OBJECT

 private slots:
  void init() { QSettings().clear(); }

  void kindOfModelNames() {
    QCOMPARE(ImageModelKindOf(QStringLiteral("sr3-digits")), ImageModelKind::kSr3);
    QCOMPARE(ImageModelKindOf(QStringLiteral("/tmp/x/sr3-digits-5x5.dfm")), ImageModelKind::kSr3);
    QCOMPARE(ImageModelKindOf(QStringLiteral("ddpm-digits")), ImageModelKind::kDigitsDdpm);
    QCOMPARE(ImageModelKindOf(QStringLiteral("oracle")), ImageModelKind::kImage);
    QCOMPARE(ImageModelKindOf(QStringLiteral("ddpm-2d-dino")), ImageModelKind::kImage);
  }

  // A 40 x 20 colour image: the centred 20 x 20 square is uniform, its grey the mean of the channels.
  void digitFromImageIsTheGreyCentredSquare() {
    ImageData image;
    image.channels = 3;
    image.height = 20;
    image.width = 40;
    image.pixels = Batch::Constant(1, 3 * 20 * 40, -1.0f);
    const float values[3] = {0.9f, 0.3f, -0.3f};
    for (int c = 0; c < 3; ++c) {
      for (int y = 0; y < 20; ++y) {
        for (int x = 10; x < 30; ++x) image.pixels(0, (c * 20 + y) * 40 + x) = values[c];
      }
    }
    const Batch digit = DigitFromImage(image, 20);
    QCOMPARE(digit.cols(), 400);
    for (int i = 0; i < 400; ++i) QVERIFY(std::abs(digit(0, i) - 0.3f) < 1e-6f);
    const Batch small = DigitFromImage(image, 10);  // area average of 2 x 2 blocks of the square
    QCOMPARE(small.cols(), 100);
    QVERIFY(std::abs(small(0, 55) - 0.3f) < 1e-6f);
    QVERIFY_THROWS_EXCEPTION(Error, DigitFromImage(ImageData{}, 20));
  }

  void sr3RunProducesAnImageAndMetrics() {
    if (!ShippedModelPath("sr3-digits")) QSKIP("resources/models/sr3-digits.dfm is not shipped");
    MainWindow window;
    ImageWorkspace* images = window.imageWorkspace();
    UseModel(window, QStringLiteral("sr3-digits"));
    UseSampler(window, SamplerKind::kDdim, 25);
    images->setSr3Input(17);
    QSignalSpy done(images, &ImageWorkspace::reverseFinished);
    QSignalSpy failed(images->reverseTask(), &BackgroundTask::failed);
    images->startReverse();
    QTRY_VERIFY_WITH_TIMEOUT(done.count() == 1 || failed.count() == 1, 60000);
    QCOMPARE(failed.count(), 0);
    const ImageReverseRun* run = images->reverseRun();
    QVERIFY(run != nullptr);
    QCOMPARE(run->kind, ImageModelKind::kSr3);
    QCOMPARE(run->t.size(), size_t{25});
    QCOMPARE(run->sample.size(), QSize(20, 20));
    QVERIFY(run->sr3.has_value());
    const Sr3Comparison& c = *run->sr3;
    QCOMPARE(c.low_side, 10);
    QCOMPARE(c.low.size(), QSize(10, 10));
    QCOMPARE(c.sr3.size(), QSize(20, 20));
    QVERIFY(images->comparisonView()->isVisibleTo(images));

    // The bicubic figures are those of the held-out digit itself, computed here independently.
    const DigitsSplit split = SplitDigits(LoadDigits());
    const Batch truth = split.test.row(17);
    const Batch bicubic = LowResolutionCondition(truth, 10);
    QVERIFY(std::abs(c.psnr_bicubic - Psnr(Row(truth, 0), Row(bicubic, 0))) < 1e-9);
    QVERIFY(std::abs(c.ssim_bicubic - Ssim(Row(truth, 0), Row(bicubic, 0), 20, 20)) < 1e-9);
    // SR3 follows its condition: its output is far closer to the truth than a blank (all background) image.
    const Batch blank = Batch::Constant(1, 400, -1.0f);
    QVERIFY2(c.psnr_sr3 > Psnr(Row(truth, 0), Row(blank, 0)) + 3.0,
             qPrintable(QStringLiteral("SR3 %1 dB").arg(c.psnr_sr3)));
    QVERIFY(c.ssim_sr3 > 0.3 && c.ssim_sr3 <= 1.0);
    QVERIFY(c.truth_caption.contains(QStringLiteral("17")));

    // Scrubbable: reverse direction, from its first step down to the sample.
    QCOMPARE(window.timeline()->direction(), TimelineModel::Direction::kReverse);
    window.timeline()->setT(0);
    QCOMPARE(images->mainView()->image().size(), QSize(20, 20));
  }

  void sr3FromTheOpenImage() {
    if (!ShippedModelPath("sr3-digits-5x5")) QSKIP("resources/models/sr3-digits-5x5.dfm is not shipped");
    MainWindow window;
    ImageWorkspace* images = window.imageWorkspace();
    UseModel(window, QStringLiteral("sr3-digits-5x5"));
    UseSampler(window, SamplerKind::kDdim, 10);
    images->setSr3Input(-1);
    QSignalSpy done(images, &ImageWorkspace::reverseFinished);
    images->startReverse();
    QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 60000);
    const ImageReverseRun* run = images->reverseRun();
    QVERIFY(run != nullptr && run->sr3.has_value());
    QCOMPARE(run->sr3->low_side, 5);
    QVERIFY(run->sr3->truth_caption.contains(QStringLiteral("chicky")));
    QVERIFY(std::isfinite(run->sr3->psnr_sr3));
  }

  void sr3RunCancels() {
    if (!ShippedModelPath("sr3-digits")) QSKIP("resources/models/sr3-digits.dfm is not shipped");
    MainWindow window;
    ImageWorkspace* images = window.imageWorkspace();
    UseModel(window, QStringLiteral("sr3-digits"));
    UseSampler(window, SamplerKind::kDdpm, 0);  // every step of the schedule
    QSignalSpy cancelled(images->reverseTask(), &BackgroundTask::cancelled);
    QSignalSpy finished(images->reverseTask(), &BackgroundTask::finished);
    images->startReverse();
    QVERIFY(images->reverseTask()->running());
    images->cancelReverse();  // at once: the run is asked to stop before every step, so none can finish
    QTRY_COMPARE_WITH_TIMEOUT(cancelled.count(), 1, 30000);
    QCOMPARE(finished.count(), 0);
    QVERIFY(images->reverseRun() == nullptr);
    QVERIFY(!images->comparisonView()->isVisibleTo(images));
  }

  // The digits DDPM (the shipped one, else an untrained one from a file): a grid of 16 digits, every step kept.
  void digitsDdpmSamplesAGrid() {
    QTemporaryDir dir;
    QString name = QStringLiteral("ddpm-digits");
    if (!ShippedModelPath("ddpm-digits")) {
      name = dir.filePath(QStringLiteral("ddpm-digits-untrained.dfm"));
      DigitsDdpmModel().Save(name.toStdString());
    }
    MainWindow window;
    ImageWorkspace* images = window.imageWorkspace();
    UseModel(window, name);
    UseSampler(window, SamplerKind::kDdim, 12);
    images->setDigitSamples(16);
    QSignalSpy done(images, &ImageWorkspace::reverseFinished);
    QSignalSpy failed(images->reverseTask(), &BackgroundTask::failed);
    images->startReverse();
    QTRY_VERIFY_WITH_TIMEOUT(done.count() == 1 || failed.count() == 1, 60000);
    QCOMPARE(failed.count(), 0);
    const ImageReverseRun* run = images->reverseRun();
    QVERIFY(run != nullptr);
    QCOMPARE(run->kind, ImageModelKind::kDigitsDdpm);
    QCOMPARE(run->samples, 16);
    QVERIFY(!run->sr3.has_value());
    QCOMPARE(run->t.size(), size_t{12});
    QCOMPARE(run->sample.size(), QSize(4 * 20 + 3, 4 * 20 + 3));  // 4 x 4 tiles, 1-pixel gaps
    QCOMPARE(run->x_t.front().size(), run->sample.size());
    QVERIFY(!images->comparisonView()->isVisibleTo(images));
  }

  void wrongModelFileIsAnError() {
    MainWindow window;
    ImageWorkspace* images = window.imageWorkspace();
    UseModel(window, QStringLiteral("sr3-digits-missing.dfm"));
    QSignalSpy failed(images->reverseTask(), &BackgroundTask::failed);
    images->startReverse();
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 30000);
    QVERIFY(images->reverseRun() == nullptr);
  }
};

QTEST_MAIN(DigitsModeTest)
#include "digits_mode_test.moc"

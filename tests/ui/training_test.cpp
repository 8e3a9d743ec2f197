// The training panel: a short training of the core's DDPM 2D on the dino fills the live loss curve and hands
// over a model; Cancel stops a long one; the learned model then samples in the 2D workspace.
#include "core/models/ddpm2d.h"
#include "ui/state/document.h"
#include "ui/widgets/points_workspace.h"
#include "ui/widgets/training_panel.h"

#include <QElapsedTimer>
#include <QSettings>
#include <QSignalSpy>
#include <QTest>

using namespace diffuscope;
using namespace diffuscope::ui;

class TrainingTest : public QObject {
  Q_OBJECT

 private slots:
  void init() { QSettings().clear(); }

  void shortTrainingGivesAModelAndALossCurve() {
    Document document;
    document.setPoints(LoadPoints(QStringLiteral("dino"), 2000, 1));
    TrainingPanel panel(&document);
    panel.setIterations(2000);
    QSignalSpy ready(&panel, &TrainingPanel::modelReady);
    QElapsedTimer clock;
    clock.start();
    panel.startTraining();
    QVERIFY(panel.task()->running());
    QTRY_COMPARE_WITH_TIMEOUT(ready.count(), 1, 120000);
    const double seconds = clock.elapsed() / 1000.0;
    QVERIFY(panel.model() != nullptr);
    QCOMPARE(panel.model()->trained_steps(), 2000LL);
    QVERIFY2(panel.lossPoints() >= 10, qPrintable(QString::number(panel.lossPoints())));
    qInfo("2000 updates of batch 64 in %.1f s (%.0f updates/s)", seconds, 2000 / seconds);
  }

  void cancelKeepsNoHalfModel() {
    Document document;
    document.setPoints(LoadPoints(QStringLiteral("moons"), 1000, 1));
    TrainingPanel panel(&document);
    panel.setIterations(1000000);
    QSignalSpy cancelled(panel.task(), &BackgroundTask::cancelled);
    QSignalSpy ready(&panel, &TrainingPanel::modelReady);
    panel.startTraining();
    QTRY_VERIFY_WITH_TIMEOUT(panel.lossPoints() > 0, 60000);
    panel.cancelTraining();
    QTRY_COMPARE_WITH_TIMEOUT(cancelled.count(), 1, 60000);
    QCOMPARE(ready.count(), 0);
    QVERIFY(panel.model() == nullptr);
  }

  // While training, the preview draws samples of the model so far, more than once, from ever later updates.
  void trainingRefreshesSamples() {
    Document document;
    document.setPoints(LoadPoints(QStringLiteral("dino"), 1000, 1));
    TrainingPanel panel(&document);
    panel.setIterations(1000000);
    panel.setPreviewInterval(100);
    std::vector<long long> steps;
    connect(&panel, &TrainingPanel::previewReady, this, [&](long long step) {
      if (panel.task()->running()) steps.push_back(step);
    });
    panel.startTraining();
    QTRY_VERIFY_WITH_TIMEOUT(steps.size() >= 2, 120000);
    panel.cancelTraining();
    QTRY_VERIFY_WITH_TIMEOUT(!panel.task()->running(), 60000);
    QVERIFY(steps[1] > steps[0]);
    QVERIFY(steps[0] > 0 && steps.back() < 1000000);
    const Batch& samples = panel.previewSamples();
    QCOMPARE(samples.rows(), 400);
    QCOMPARE(samples.cols(), 2);
    QVERIFY(samples.allFinite());
    QVERIFY(panel.previewView()->isVisibleTo(&panel));
  }

  void learnedModelSamplesInTheWorkspace() {
    Document document;
    ScheduleOptions schedule;
    schedule.kind = ScheduleKind::kCosine;
    schedule.num_steps = 50;
    QVERIFY(document.setScheduleOptions(schedule).isEmpty());
    TimelineModel timeline;
    timeline.setClockEnabled(false);
    PointsWorkspace points(&document, &timeline);
    points.setDataset(QStringLiteral("8gaussians"));
    points.trainingPanel()->setIterations(3000);
    QSignalSpy ready(points.trainingPanel(), &TrainingPanel::modelReady);
    points.trainingPanel()->startTraining();
    QTRY_COMPARE_WITH_TIMEOUT(ready.count(), 1, 180000);
    QCOMPARE(document.model().points_model, QStringLiteral("learned"));
    // The field of the learned model beside the exact one (the data is the Gaussian mixture).
    points.setField(1);
    document.setT(25);
    QVERIFY(points.frameJobs()->waitIdle(20000));
    QSignalSpy done(&points, &PointsWorkspace::reverseFinished);
    QSignalSpy errors(&points, &PointsWorkspace::errorOccurred);
    points.startReverse();
    QTRY_VERIFY_WITH_TIMEOUT(done.count() == 1 || errors.count() > 0, 120000);
    if (!errors.isEmpty()) QFAIL(qPrintable(errors.at(0).at(1).toString()));
    QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 120000);
    const PointsReverseRun* run = points.reverseRun();
    QVERIFY(run != nullptr);
    // Even a short training beats a Gaussian fitted to the eight modes.
    QVERIFY2(run->energy_distance < run->gaussian_baseline,
             qPrintable(QStringLiteral("%1 vs %2").arg(run->energy_distance).arg(run->gaussian_baseline)));
    qInfo("learned: energy distance %.4f, Gaussian fit %.4f", run->energy_distance, run->gaussian_baseline);
  }
};

QTEST_MAIN(TrainingTest)
#include "training_test.moc"

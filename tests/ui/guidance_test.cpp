// The 2D workspace's classifier-free guidance (issue 10): the class selector lists the model's classes (the exact
// mixture's eight components; a conditional DDPM trained in the panel on the labels of the set), the slider sets w
// and the run (RunSpec) carries both; a change re-runs the field and the samples; the training panel also trains
// flow matching on the same points.
#include "core/models/conditional_ddpm2d.h"
#include "core/models/flow2d.h"
#include "ui/state/document.h"
#include "ui/state/session.h"
#include "ui/widgets/points_workspace.h"
#include "ui/widgets/training_panel.h"

#include <QComboBox>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QTest>

#include <cmath>

using namespace diffuscope;
using namespace diffuscope::ui;

class GuidanceTest : public QObject {
  Q_OBJECT

 private slots:
  void init() { QSettings().clear(); }

  void theMixturesClassesAreGuidedAndRerun() {
    Document document;
    ScheduleOptions schedule;
    schedule.kind = ScheduleKind::kCosine;
    schedule.num_steps = 50;
    QVERIFY(document.setScheduleOptions(schedule).isEmpty());
    TimelineModel timeline;
    timeline.setClockEnabled(false);
    PointsWorkspace points(&document, &timeline);
    points.setDataset(QStringLiteral("8gaussians"));
    QCOMPARE(document.points().labels.size(), static_cast<size_t>(document.points().points.rows()));
    auto* classes = points.findChild<QComboBox*>();
    QVERIFY(classes != nullptr);
    points.setModelName(QStringLiteral("mixture"));
    QComboBox* class_box = nullptr;
    for (auto* box : points.findChildren<QComboBox*>())
      if (box->count() == 9 && box->itemData(0).toInt() == -1) class_box = box;
    QVERIFY2(class_box != nullptr, "the class selector lists unconditional and the mixture's 8 components");
    QVERIFY(class_box->isEnabled());

    QSignalSpy done(&points, &PointsWorkspace::reverseFinished);
    points.startReverse();
    QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 60000);
    // Choosing a class and a weight re-runs the samples by itself: they are then the class's.
    points.setGuidance(2, 3.0);
    QCOMPARE(document.model().label, 2);
    QCOMPARE(document.model().guidance, 3.0);
    QCOMPARE(document.run(1).label, 2);
    QCOMPARE(document.run(1).guidance, 3.0);
    QTRY_COMPARE_WITH_TIMEOUT(done.count(), 2, 60000);
    const Batch& sample = points.reverseRun()->sample;
    const Eigen::Vector2d mean = sample.cast<double>().colwise().mean().transpose();
    QVERIFY2(std::abs(mean.x()) < 0.05 && mean.y() > std::sqrt(2.0) - 0.05,
             qPrintable(QStringLiteral("mean (%1, %2)").arg(mean.x()).arg(mean.y())));
    // The field shows the model (the exact guided mixture) at t.
    points.setField(1);
    document.setT(10);
    QVERIFY(points.frameJobs()->waitIdle(20000));
    QTRY_VERIFY_WITH_TIMEOUT(!points.shownOverlays().fields.empty(), 20000);

    // A model without classes: the selector is off, the run unconditional.
    points.setModelName(QStringLiteral("empirical"));
    QTRY_COMPARE(document.model().label, -1);
    QVERIFY(!class_box->isEnabled());
    QCOMPARE(document.run(1).label, -1);
    QCOMPARE(document.run(1).guidance, 0.0);
  }

  void sessionsKeepTheClassAndTheWeight() {
    Document document;
    document.setPoints(LoadPoints(QStringLiteral("8gaussians"), 500, 1));
    ModelChoice choice = document.model();
    choice.points_model = QStringLiteral("mixture");
    choice.label = 5;
    choice.guidance = 2.5;
    document.setModel(choice);
    const Session back = SessionFromJson(SessionToJson(CaptureSession(document, QStringLiteral("reverse"))));
    QCOMPARE(back.model.label, 5);
    QCOMPARE(back.model.guidance, 2.5);
    // A session of an earlier version (no label) is unconditional.
    QJsonObject json = SessionToJson(CaptureSession(document, QStringLiteral("reverse")));
    QJsonObject model = json["model"].toObject();
    model.remove(QStringLiteral("label"));
    model.remove(QStringLiteral("guidance"));
    json["model"] = model;
    QCOMPARE(SessionFromJson(json).model.label, -1);
  }

  void thePanelTrainsFlowAndConditionalModels() {
    Document document;
    TimelineModel timeline;
    timeline.setClockEnabled(false);
    PointsWorkspace points(&document, &timeline);
    points.setDataset(QStringLiteral("moons"));
    TrainingPanel* panel = points.trainingPanel();
    panel->setIterations(200);
    QSignalSpy ready(panel, &TrainingPanel::modelReady);
    panel->setModelKind(1);
    panel->startTraining();
    QTRY_COMPARE_WITH_TIMEOUT(ready.count(), 1, 60000);
    QVERIFY(dynamic_cast<const Flow2dModel*>(panel->model().get()) != nullptr);
    panel->setModelKind(2);
    panel->startTraining();
    QTRY_COMPARE_WITH_TIMEOUT(ready.count(), 2, 60000);
    const auto* conditional = dynamic_cast<const ConditionalDdpm2dModel*>(panel->model().get());
    QVERIFY(conditional != nullptr);
    QCOMPARE(conditional->num_classes(), 2);
    // The learned conditional model's classes are the moons'.
    QComboBox* class_box = nullptr;
    for (auto* box : points.findChildren<QComboBox*>())
      if (box->count() == 3 && box->itemData(0).toInt() == -1) class_box = box;
    QVERIFY(class_box != nullptr);
    QCOMPARE(class_box->itemText(2), QStringLiteral("lower moon"));
    // Drawn points have no classes: a conditional training is refused with a message.
    PointsData drawn;
    drawn.source = QStringLiteral("drawn");
    drawn.points = document.points().points;
    document.setPoints(drawn);
    QSignalSpy errors(panel, &TrainingPanel::errorOccurred);
    panel->startTraining();
    QCOMPARE(errors.count(), 1);
    QVERIFY(!panel->task()->running());
  }
};

QTEST_MAIN(GuidanceTest)
#include "guidance_test.moc"

// Labels from painted points (issue 10): in the 2D workspace's drawing mode each stroke takes the paint colour
// chosen for it, colour k becoming class k of the drawn data (following every point through the core's
// ResamplePoints); the conditional DDPM trains on those classes and guidance pulls samples to the painted class;
// sessions keep the labels and read files without them. With DIFFUSCOPE_SCREENSHOT=FILE.png set, screenshot()
// saves the workspace after a guided run on painted data.
#include "core/data/points2d.h"
#include "core/metrics/distance2d.h"
#include "core/models/conditional_ddpm2d.h"
#include "core/models/ddpm2d.h"
#include "ui/state/document.h"
#include "ui/state/session.h"
#include "ui/widgets/points_workspace.h"
#include "ui/widgets/scatter_view.h"
#include "ui/widgets/training_panel.h"

#include <QApplication>
#include <QComboBox>
#include <QJsonArray>
#include <QMouseEvent>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QTest>

#include <cmath>
#include <set>

using namespace diffuscope;
using namespace diffuscope::ui;

namespace {

void Mouse(QWidget* view, QEvent::Type type, const QPointF& at) {
  QMouseEvent event(type, at, view->mapToGlobal(at), Qt::LeftButton,
                    type == QEvent::MouseButtonRelease ? Qt::NoButton : Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(view, &event);
}

// A stroke from a to b (data units) in the view, 40 mouse positions.
void Stroke(ScatterView* view, QPointF a, QPointF b) {
  Mouse(view, QEvent::MouseButtonPress, view->toWidget(a));
  for (int i = 1; i <= 40; ++i) Mouse(view, QEvent::MouseMove, view->toWidget(a + (b - a) * (i / 40.0)));
  Mouse(view, QEvent::MouseButtonRelease, view->toWidget(b));
}

// Paints two strokes: red (class 0) along y = 1, green (class 2) along y = -1; returns what was drawn.
void PaintTwoClasses(PointsWorkspace& points, QVector<QPointF>* drawn, QVector<int>* classes) {
  ScatterView* view = points.view();
  points.drawButton()->setChecked(true);
  QVERIFY(view->drawMode());
  points.paintBox()->setCurrentIndex(points.paintBox()->findData(0));
  Stroke(view, {-1.5, 1.0}, {1.5, 1.0});
  points.paintBox()->setCurrentIndex(points.paintBox()->findData(2));
  QCOMPARE(view->paintClass(), 2);
  Stroke(view, {-1.5, -1.0}, {1.5, -1.0});
  *drawn = view->drawnPoints();
  *classes = view->drawnClasses();
  points.drawButton()->setChecked(false);  // "Use drawn"
}

}  // namespace

class PaintedLabelsTest : public QObject {
  Q_OBJECT

 private slots:
  void init() { QSettings().clear(); }

  void strokesBecomeClassesThatTrainAndGuide() {
    Document document;
    // The 2D DDPM's schedule (cosine T = 50, betas clipped at 0.9: no 32x amplified first step, which guidance
    // would amplify again).
    QVERIFY(document.setScheduleOptions(Ddpm2dDefaultSchedule()).isEmpty());
    TimelineModel timeline;
    timeline.setClockEnabled(false);
    PointsWorkspace points(&document, &timeline);
    points.resize(1200, 800);
    points.show();
    QVERIFY(QTest::qWaitForWindowExposed(&points));
    QCOMPARE(points.paintBox()->count(), kPaintColours);
    QVector<QPointF> drawn;
    QVector<int> classes;
    PaintTwoClasses(points, &drawn, &classes);
    QCOMPARE(classes.size(), drawn.size());
    QVERIFY(drawn.size() >= 60);
    for (qsizetype i = 0; i < drawn.size(); ++i) QCOMPARE(classes[i], drawn[i].y() > 0 ? 0 : 2);

    // The data: the core's resample of the drawing, each point labelled with the colour of the point it came from.
    const PointsData& data = document.points();
    QCOMPARE(data.source, QStringLiteral("drawn"));
    Batch stroke_points(drawn.size(), 2);
    for (qsizetype i = 0; i < drawn.size(); ++i) stroke_points.row(i) << float(drawn[i].x()), float(drawn[i].y());
    std::vector<int> sources;
    const Batch expected = ResamplePoints(stroke_points, static_cast<int>(data.points.rows()), 1, 0.03, 0, &sources);
    QVERIFY(data.points == expected);
    QCOMPARE(data.labels.size(), sources.size());
    for (size_t i = 0; i < sources.size(); ++i) QCOMPARE(data.labels[i], classes[sources[i]]);
    QCOMPARE(std::set<int>(data.labels.begin(), data.labels.end()), (std::set<int>{0, 2}));

    // The conditional DDPM trains on them: 3 classes (0..2), named after their colours in the class selector.
    TrainingPanel* panel = points.trainingPanel();
    panel->setIterations(3000);
    panel->setModelKind(2);
    QSignalSpy ready(panel, &TrainingPanel::modelReady);
    panel->startTraining();
    QTRY_COMPARE_WITH_TIMEOUT(ready.count(), 1, 120000);
    const auto* conditional = dynamic_cast<const ConditionalDdpm2dModel*>(panel->model().get());
    QVERIFY(conditional != nullptr);
    QCOMPARE(conditional->num_classes(), 3);
    QComboBox* class_box = nullptr;
    for (auto* box : points.findChildren<QComboBox*>())
      if (box->count() == 4 && box->itemData(0).toInt() == -1) class_box = box;
    QVERIFY(class_box != nullptr);
    QCOMPARE(class_box->itemText(3), QStringLiteral("class 2 (green)"));

    // Guidance towards a painted class pulls the samples to its stroke.
    points.setModelName(QStringLiteral("learned"));
    ModelChoice choice = document.model();
    choice.num_particles = 400;
    document.setModel(choice);
    QSignalSpy done(&points, &PointsWorkspace::reverseFinished);
    double mean_y[3] = {0, 0, 0};
    for (int label : {0, 2}) {
      points.setGuidance(label, 3.0);
      const int before = done.count();
      points.startReverse();
      QTRY_VERIFY_WITH_TIMEOUT(done.count() > before && !points.reverseTask()->running(), 60000);
      mean_y[label] = points.reverseRun()->sample.col(1).cast<double>().mean();
      // The run measures itself against its class's points (the core's EnergyDistance): near 0, the painted stroke.
      const PointsData& d = document.points();
      std::vector<Eigen::Index> rows;
      for (size_t i = 0; i < d.labels.size(); ++i)
        if (d.labels[i] == label) rows.push_back(static_cast<Eigen::Index>(i));
      const Batch class_points = d.points(rows, Eigen::all);
      QCOMPARE(points.reverseRun()->energy_distance, EnergyDistance(points.reverseRun()->sample, class_points));
      QVERIFY2(points.reverseRun()->energy_distance < 0.05,
               qPrintable(QString::number(points.reverseRun()->energy_distance)));
    }
    QVERIFY2(mean_y[0] > 0.5 && mean_y[2] < -0.5,
             qPrintable(QStringLiteral("mean y: red %1, green %2").arg(mean_y[0]).arg(mean_y[2])));
  }

  void oneColourIsPlainData() {
    Document document;
    TimelineModel timeline;
    timeline.setClockEnabled(false);
    PointsWorkspace points(&document, &timeline);
    points.resize(1200, 800);
    points.show();
    QVERIFY(QTest::qWaitForWindowExposed(&points));
    points.drawButton()->setChecked(true);
    points.paintBox()->setCurrentIndex(points.paintBox()->findData(3));
    Stroke(points.view(), {-1.0, 0.0}, {1.0, 0.5});
    points.drawButton()->setChecked(false);
    QCOMPARE(document.points().source, QStringLiteral("drawn"));
    QVERIFY(document.points().labels.empty());
  }

  void sessionsKeepTheLabels() {
    Document document;
    PointsData data;
    data.source = QStringLiteral("drawn");
    data.points = Batch::Random(6, 2);
    data.labels = {0, 2, 2, 1, 0, 2};
    document.setPoints(data);
    const QJsonObject json = SessionToJson(CaptureSession(document, QStringLiteral("reverse")));
    QCOMPARE(SessionFromJson(json).points.labels, data.labels);
    // A session without labels (older files, unlabelled data) reads without them.
    QJsonObject old = json;
    QJsonObject points = old["points"].toObject();
    points.remove(QStringLiteral("labels"));
    old["points"] = points;
    const Session back = SessionFromJson(old);
    QVERIFY(back.points.labels.empty());
    QCOMPARE(back.points.points.rows(), 6);
    // A label per point, each a class.
    points["labels"] = QJsonArray{0, 1};
    old["points"] = points;
    QVERIFY_THROWS_EXCEPTION(Error, SessionFromJson(old));
    points["labels"] = QJsonArray{0, 1, 2, 3, 4, -1};
    old["points"] = points;
    QVERIFY_THROWS_EXCEPTION(Error, SessionFromJson(old));
  }

  void screenshot() {
    const QString path = qEnvironmentVariable("DIFFUSCOPE_SCREENSHOT");
    if (path.isEmpty()) QSKIP("set DIFFUSCOPE_SCREENSHOT=FILE.png to save the workspace with painted classes");
    Document document;
    // The 2D DDPM's schedule (cosine T = 50, betas clipped at 0.9: no 32x amplified first step, which guidance
    // would amplify again).
    QVERIFY(document.setScheduleOptions(Ddpm2dDefaultSchedule()).isEmpty());
    TimelineModel timeline;
    timeline.setClockEnabled(false);
    PointsWorkspace points(&document, &timeline);
    points.resize(1400, 900);
    points.show();
    QVERIFY(QTest::qWaitForWindowExposed(&points));
    QVector<QPointF> drawn;
    QVector<int> classes;
    PaintTwoClasses(points, &drawn, &classes);
    TrainingPanel* panel = points.trainingPanel();
    panel->setIterations(6000);
    panel->setModelKind(2);
    QSignalSpy ready(panel, &TrainingPanel::modelReady);
    panel->startTraining();
    QTRY_COMPARE_WITH_TIMEOUT(ready.count(), 1, 300000);
    points.setModelName(QStringLiteral("learned"));
    points.setGuidance(2, 3.0);
    QSignalSpy done(&points, &PointsWorkspace::reverseFinished);
    points.startReverse();
    QTRY_VERIFY_WITH_TIMEOUT(done.count() >= 1 && !points.reverseTask()->running(), 120000);
    document.setT(0);
    QTest::qWait(500);
    QVERIFY(points.grab().save(path));
  }
};

QTEST_MAIN(PaintedLabelsTest)
#include "painted_labels_test.moc"

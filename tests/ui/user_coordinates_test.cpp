// Points keep the user's coordinates in the 2D workspace: a CSV at scale 5 with an offset, x = 5 z + (10, -3), is
// shown on axes in its units, its forward particles, reverse samples (exact and learned) and density contours are
// in its units, and a model trained in the app stores the data's shift and scale.
#include "core/data/points2d.h"
#include "core/models/ddpm2d.h"
#include "ui/state/document.h"
#include "ui/widgets/points_workspace.h"
#include "ui/widgets/training_panel.h"

#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>

using namespace diffuscope;
using namespace diffuscope::ui;

namespace {

// Mean and pooled standard deviation of the points (n x 2).
struct Moments {
  double x = 0, y = 0, spread = 0;
};
Moments MomentsOf(const Batch& points) {
  const PointNormalization n = PointNormalization::Of(points);
  return {n.shift_x, n.shift_y, n.scale};
}

// The median of one column.
double Median(const Batch& points, int column) {
  std::vector<float> v(points.col(column).data(), points.col(column).data() + points.rows());
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

}  // namespace

class UserCoordinatesTest : public QObject {
  Q_OBJECT

 private slots:
  void init() { QSettings().clear(); }

  void csvPointsStayInTheirUnits() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const Batch z = GenerateDataset("moons", 1500, 2);
    Batch x = 5.0f * z;
    x.col(0).array() += 10.0f;
    x.col(1).array() -= 3.0f;
    const QString csv = dir.filePath(QStringLiteral("scaled.csv"));
    SavePointsCsv(csv.toStdString(), x);

    Document document;
    ScheduleOptions schedule;
    schedule.kind = ScheduleKind::kCosine;
    schedule.num_steps = 50;
    QVERIFY(document.setScheduleOptions(schedule).isEmpty());
    TimelineModel timeline;
    timeline.setClockEnabled(false);
    PointsWorkspace points(&document, &timeline);
    document.setPoints(LoadPoints(csv, 2000, 1));
    // The data as written (float round trip of 9 digits), not standardised.
    QCOMPARE(document.points().points.rows(), x.rows());
    QVERIFY((document.points().points - x).cwiseAbs().maxCoeff() < 1e-5f);
    const Moments data = MomentsOf(x);
    const PointNormalization normalization = PointsNormalization(document.points());
    QCOMPARE(normalization, PointNormalization::Of(x));
    QVERIFY(PointsNormalization(LoadPoints(QStringLiteral("dino"), 500, 1)).identity());

    // The view: 3.5 spreads around the data's centre, ticks in the data's units.
    ScatterView* view = points.view();
    QCOMPARE(view->centre(), QPointF(data.x, data.y));
    QVERIFY(std::abs(view->halfWidth() - 3.5 * data.spread) < 1e-9);
    const std::vector<double> ticks = view->ticks(true);
    QString listed;
    for (double v : ticks) listed += QString::number(v) + QLatin1Char(' ');
    QVERIFY2(ticks.size() >= 5 && ticks.size() <= 11,
             qPrintable(listed + QStringLiteral("half width %1").arg(view->halfWidth())));
    QVERIFY(ticks.front() >= data.x - 3.5 * data.spread && ticks.back() <= data.x + 3.5 * data.spread);
    QVERIFY(std::find(ticks.begin(), ticks.end(), 10.0) != ticks.end());
    // A point in the data maps into the widget and back.
    view->resize(400, 400);
    const QPointF p(12.5, -4.0);
    const QPointF back = view->toData(view->toWidget(p));
    QVERIFY(std::abs(back.x() - p.x()) < 1e-9 && std::abs(back.y() - p.y()) < 1e-9);

    // Density contours of the forward particles at t = 0 (the data itself) lie around the data, in its units.
    points.setContours(true);
    document.setT(0);
    QVERIFY(points.frameJobs()->waitIdle(20000));
    QTRY_VERIFY_WITH_TIMEOUT(!view->contourLines().empty(), 10000);
    QRectF box;
    for (const QPolygonF& line : view->contourLines()) box = box.united(line.boundingRect());
    QVERIFY2(box.center().x() > 5 && box.center().x() < 15 && box.center().y() > -8 && box.center().y() < 2,
             qPrintable(QStringLiteral("%1, %2").arg(box.center().x()).arg(box.center().y())));

    // A reverse run with the exact empirical denoiser: the samples are the data's points, in its units.
    QSignalSpy done(&points, &PointsWorkspace::reverseFinished);
    QSignalSpy errors(&points, &PointsWorkspace::errorOccurred);
    points.startReverse();
    QTRY_VERIFY_WITH_TIMEOUT(done.count() == 1 || errors.count() > 0, 120000);
    if (!errors.isEmpty()) QFAIL(qPrintable(errors.at(0).at(1).toString()));
    const PointsReverseRun* run = points.reverseRun();
    QVERIFY(run != nullptr);
    const Moments exact = MomentsOf(run->sample);
    QVERIFY2(std::abs(exact.x - data.x) < 0.5 && std::abs(exact.y - data.y) < 0.5 &&
                 std::abs(exact.spread - data.spread) < 0.5,
             qPrintable(QStringLiteral("%1 %2 %3 vs %4 %5 %6")
                            .arg(exact.x)
                            .arg(exact.y)
                            .arg(exact.spread)
                            .arg(data.x)
                            .arg(data.y)
                            .arg(data.spread)));
    // x_T of the run is N(0, I) in the normalised space: centred on the data, at its spread.
    const Moments start = MomentsOf(run->x_t.front());
    QVERIFY(std::abs(start.x - data.x) < 0.5 && std::abs(start.y - data.y) < 0.5);
    QVERIFY(std::abs(start.spread - data.spread) < 0.1 * data.spread);
    QVERIFY2(run->energy_distance < 0.2 * run->gaussian_baseline,
             qPrintable(QStringLiteral("%1 vs %2").arg(run->energy_distance).arg(run->gaussian_baseline)));

    // A short training in the app: the model stores the data's normalisation; its samples are in the data's units.
    points.trainingPanel()->setIterations(1500);
    QSignalSpy ready(points.trainingPanel(), &TrainingPanel::modelReady);
    points.trainingPanel()->startTraining();
    QTRY_COMPARE_WITH_TIMEOUT(ready.count(), 1, 180000);
    QCOMPARE(points.trainingPanel()->model()->normalization(), normalization);
    points.startReverse();
    QTRY_VERIFY_WITH_TIMEOUT(done.count() == 2 || errors.count() > 0, 120000);
    if (!errors.isEmpty()) QFAIL(qPrintable(errors.at(0).at(1).toString()));
    const Batch& learned = points.reverseRun()->sample;
    QVERIFY2(std::abs(Median(learned, 0) - Median(x, 0)) < 0.3 * data.spread &&
                 std::abs(Median(learned, 1) - Median(x, 1)) < 0.3 * data.spread,
             qPrintable(QStringLiteral("median %1 %2 vs %3 %4")
                            .arg(Median(learned, 0))
                            .arg(Median(learned, 1))
                            .arg(Median(x, 0))
                            .arg(Median(x, 1))));
  }
};

QTEST_MAIN(UserCoordinatesTest)
#include "user_coordinates_test.moc"

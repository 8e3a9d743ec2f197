// The shipped Sohl-Dickstein 2015 swiss-roll model in the 2D workspace: choosing it switches to its schedule
// (T = 40), DDPM steps of one and the swiss roll; its reverse drift mu - x_t is drawn, and it samples the roll
// better than a Gaussian fitted to it.
#include "core/models/registry.h"
#include "ui/state/document.h"
#include "ui/widgets/points_workspace.h"
#include "ui/widgets/scatter_view.h"

#include <QSettings>
#include <QSignalSpy>
#include <QTest>

using namespace diffuscope;
using namespace diffuscope::ui;

class SohlDicksteinTest : public QObject {
  Q_OBJECT

 private slots:
  void init() { QSettings().clear(); }

  void samplesTheSwissRollWithItsDrift() {
    if (!ShippedModelPath("sohl-dickstein-swissroll")) QSKIP("the Sohl-Dickstein model is not shipped");
    Document document;
    TimelineModel timeline;
    timeline.setClockEnabled(false);
    PointsWorkspace points(&document, &timeline);
    points.setDataset(QStringLiteral("dino"));
    points.setModelName(QStringLiteral("sohl-dickstein-swissroll"));
    QCOMPARE(document.model().points_model, QStringLiteral("sohl-dickstein-swissroll"));
    QCOMPARE(document.numSteps(), 40);
    QCOMPARE(document.samplerOptions().kind, SamplerKind::kDdpm);
    QCOMPARE(document.points().source, QStringLiteral("dataset:swiss_roll"));

    points.setField(2);  // the reverse drift mu - x_t
    document.setT(20);
    QVERIFY(points.frameJobs()->waitIdle(20000));
    QVERIFY(!points.view()->fields().empty());
    const FieldArrows& drift = points.view()->fields().front();
    QVERIFY(!drift.vectors.empty());
    double longest = 0;
    for (const QPointF& v : drift.vectors) longest = std::max(longest, std::hypot(v.x(), v.y()));
    QVERIFY(longest > 0 && std::isfinite(longest));

    QSignalSpy done(&points, &PointsWorkspace::reverseFinished);
    QSignalSpy errors(&points, &PointsWorkspace::errorOccurred);
    points.startReverse();
    QTRY_VERIFY_WITH_TIMEOUT(done.count() == 1 || errors.count() > 0, 120000);
    if (!errors.isEmpty()) QFAIL(qPrintable(errors.at(0).at(1).toString()));
    const PointsReverseRun* run = points.reverseRun();
    QVERIFY(run != nullptr);
    QVERIFY2(run->energy_distance < run->gaussian_baseline,
             qPrintable(QStringLiteral("%1 vs %2").arg(run->energy_distance).arg(run->gaussian_baseline)));
    qInfo("Sohl-Dickstein: energy distance %.4f, Gaussian fit %.4f", run->energy_distance, run->gaussian_baseline);
  }
};

QTEST_MAIN(SohlDicksteinTest)
#include "sohl_dickstein_test.moc"

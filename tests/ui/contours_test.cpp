// Density contours of the 2D particles: iso-lines of a kernel density estimate. Eight well separated Gaussian
// modes give eight closed lines at half the peak; one Gaussian gives one, near its exact half-peak circle.
#include "core/data/points2d.h"
#include "core/random/random.h"
#include "core/render/density.h"
#include "ui/state/document.h"
#include "ui/state/settings.h"
#include "ui/widgets/points_workspace.h"
#include "ui/widgets/scatter_view.h"

#include <QSettings>
#include <QTest>

#include <cmath>

using namespace diffuscope;
using namespace diffuscope::ui;

class ContoursTest : public QObject {
  Q_OBJECT

 private slots:
  void init() { QSettings().clear(); }

  void eightModesGiveEightLines() {
    const Batch points = GenerateDataset("8gaussians", 4000, 3, Dataset2DOptions{});
    // Modes 1.08 apart; the smoothed modes (std about 0.1 + Scott's 0.25) stay apart at half their peak.
    const PlotBox box{-3.5, 3.5, -3.5, 3.5};
    QCOMPARE(DensityContours(points, box, 0.5).size(), size_t{8});
    QVERIFY(DensityContours(Batch(), box, 0.5).empty());
  }

  // N(0, 0.5^2 I), 20000 points: the KDE is about N(0, s^2 I) with s^2 = 0.25 + h^2 (h Scott's bandwidth), whose
  // half-peak line is the circle of radius s sqrt(2 ln 2); the line lies within a grid cell or two of it.
  void oneGaussianGivesItsHalfPeakCircle() {
    const int n = 20000;
    Batch points(n, 2);
    FillNormal(RandomKey{.seed = 5, .stream = Stream::kUser}, 0, std::span<float>(points.data(), points.size()));
    points *= 0.5f;
    const auto lines = DensityContours(points, PlotBox{-3, 3, -3, 3}, 0.5);
    QCOMPARE(lines.size(), size_t{1});
    const double h = std::pow(static_cast<double>(n), -1.0 / 6.0) * 0.5;
    const double radius = std::sqrt(0.25 + h * h) * std::sqrt(2 * std::log(2.0));
    for (const Point2& p : lines.front()) {
      QVERIFY2(std::abs(std::hypot(p.x, p.y) - radius) < 2.5 * 6.0 / 96,
               qPrintable(QStringLiteral("%1 vs %2").arg(std::hypot(p.x, p.y)).arg(radius)));
    }
  }

  void showBoxTurnsThemOn() {
    Document document;
    TimelineModel timeline;
    timeline.setClockEnabled(false);
    PointsWorkspace points(&document, &timeline);
    points.setDataset(QStringLiteral("8gaussians"));
    QVERIFY(points.frameJobs()->waitIdle(20000));
    QVERIFY(points.view()->contourLines().empty());
    points.setContours(true);
    QVERIFY(!points.view()->contourLines().empty());
    QVERIFY(Settings::PointsViewOptions().contours);
    QVERIFY(document.pointsOverlays().contours);
    points.setContours(false);
    QVERIFY(points.view()->contourLines().empty());
  }
};

QTEST_MAIN(ContoursTest)
#include "contours_test.moc"

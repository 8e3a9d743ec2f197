// The schedule panel: the cursor follows the document's t, a click on a plot moves t, curves are the core's
// schedule, warnings appear for schedules that end far from N(0, I), and a slider drag is one undo step.
#include "ui/widgets/schedule_panel.h"
#include "ui/state/document.h"

#include <QLineSeries>
#include <QSlider>
#include <QTest>

#include <cmath>

using namespace diffuscope;
using namespace diffuscope::ui;

class SchedulePanelTest : public QObject {
  Q_OBJECT

 private slots:
  void cursorFollowsT() {
    Document document;
    SchedulePanel panel(&document);
    document.setT(250);
    QCOMPARE(panel.cursorT(), 250.0);
    document.setT(1000);
    QCOMPARE(panel.cursorT(), 1000.0);
  }

  void clickOnPlotMovesT_data() {
    QTest::addColumn<int>("view");
    QTest::addColumn<int>("target");
    QTest::newRow("alpha_bar plot") << 0 << 400;
    QTest::newRow("beta plot") << 1 << 750;
    QTest::newRow("log-SNR plot") << 2 << 120;
  }
  void clickOnPlotMovesT() {
    QFETCH(int, view);
    QFETCH(int, target);
    Document document;
    SchedulePanel panel(&document);
    panel.resize(420, 900);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    ScheduleChartView* chart = panel.chartView(view);
    const QPoint at = chart->positionOf(target, 0.0);
    QTest::mouseClick(chart->viewport(), Qt::LeftButton, {}, at);
    // One pixel spans T / plot width steps; the click lands within one pixel.
    const double steps_per_pixel = 1000.0 / chart->chart()->plotArea().width();
    QVERIFY2(std::abs(document.t() - target) <= steps_per_pixel + 1,
             qPrintable(QStringLiteral("t = %1, wanted %2").arg(document.t()).arg(target)));
    QCOMPARE(panel.cursorT(), static_cast<double>(document.t()));
  }

  void clickOutsidePlotIsIgnored() {
    Document document;
    SchedulePanel panel(&document);
    panel.resize(420, 900);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    document.setT(77);
    QTest::mouseClick(panel.chartView(0)->viewport(), Qt::LeftButton, {}, QPoint(1, 1));
    QCOMPARE(document.t(), 77);
  }

  void curvesAreTheCoreSchedule() {
    Document document;
    SchedulePanel panel(&document);
    ScheduleOptions options;
    options.kind = ScheduleKind::kCosine;
    options.num_steps = 200;
    QVERIFY(document.setScheduleOptions(options).isEmpty());
    const auto series = panel.chartView(0)->chart()->series();
    auto* alpha_bar = qobject_cast<QLineSeries*>(series.at(0));
    QVERIFY(alpha_bar != nullptr);
    QCOMPARE(alpha_bar->count(), 201);  // t = 0..T
    const NoiseSchedule reference(options);
    for (int t : {0, 1, 100, 199, 200}) {
      QCOMPARE(alpha_bar->at(t).x(), static_cast<double>(t));
      QCOMPARE(alpha_bar->at(t).y(), reference.alpha_bar(t));
    }
  }

  void shorterScheduleClampsT() {
    Document document;
    SchedulePanel panel(&document);
    document.setT(900);
    ScheduleOptions options;
    options.num_steps = 50;
    QVERIFY(document.setScheduleOptions(options).isEmpty());
    QCOMPARE(document.t(), 50);
    QCOMPARE(panel.cursorT(), 50.0);
  }

  void warnsWhenXTIsFarFromNoise() {
    Document document;
    SchedulePanel panel(&document);
    QVERIFY(panel.warningText().isEmpty());  // DDPM's linear T = 1000 ends at alpha_bar_T = 4e-5
    ScheduleOptions tiny;                    // tiny-diffusion: linear T = 50, alpha_bar_T = 0.603
    tiny.num_steps = 50;
    QVERIFY(document.setScheduleOptions(tiny).isEmpty());
    QVERIFY(panel.warningText().contains(QStringLiteral("far from N(0, I)")));
    QVERIFY(panel.warningText().contains(QStringLiteral("0.603")));
    tiny.zero_terminal_snr = true;
    QVERIFY(document.setScheduleOptions(tiny).isEmpty());
    QVERIFY(panel.warningText().isEmpty());
  }

  void warnsWhenFirstStepIsCoarse() {
    ScheduleOptions options;
    options.kind = ScheduleKind::kConst;  // beta = 0.02 from the first step: noise sd 0.14 at t = 1
    const QStringList warnings = ScheduleWarnings(NoiseSchedule(options));
    QCOMPARE(warnings.size(), 1);
    QVERIFY(warnings.front().contains(QStringLiteral("first step")));
    options.kind = ScheduleKind::kCosine;
    QVERIFY(ScheduleWarnings(NoiseSchedule(options)).isEmpty());
  }

  void sliderDragIsOneUndoStep() {
    Document document;
    SchedulePanel panel(&document);
    QSlider* slider = panel.stepsSlider();
    slider->setSliderDown(true);
    for (int steps : {900, 800, 700, 600}) slider->setValue(steps);
    slider->setSliderDown(false);  // emits sliderReleased: the drag's command closes
    QCOMPARE(document.numSteps(), 600);
    QCOMPARE(document.undoStack()->count(), 1);
    slider->setValue(500);  // a separate change after the drag
    QCOMPARE(document.undoStack()->count(), 2);
    document.undoStack()->undo();
    QCOMPARE(document.numSteps(), 600);
    document.undoStack()->undo();
    QCOMPARE(document.numSteps(), 1000);
    document.undoStack()->redo();
    QCOMPARE(document.numSteps(), 600);
  }
};

QTEST_MAIN(SchedulePanelTest)
#include "schedule_panel_test.moc"

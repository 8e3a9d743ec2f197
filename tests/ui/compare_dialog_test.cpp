// Playback > Compare (issue 10): the probability-flow ODE against the reverse SDE on the workspace's model, and flow
// matching against a DDPM trained on the same data and budget; both on a worker thread, their figures those of the
// core calls (CompareOdeAndSde; RunFlowDdpmStudy, which diffuscope-cli compare-flow prints), with refusals and
// Cancel. With DIFFUSCOPE_SCREENSHOT=FILE.png set, screenshot() saves the ODE / SDE view of the 8gaussians mixture
// (DIFFUSCOPE_SCREENSHOT_FLOW: screenshotFlow() the flow-against-DDPM view, 5,000 updates each).
#include "ui/widgets/compare_dialog.h"
#include "core/models/exact.h"
#include "core/models/registry.h"
#include "ui/state/document.h"
#include "ui/widgets/scatter_view.h"

#include <QChart>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QSpinBox>
#include <QTableWidget>
#include <QTest>

#include <cmath>

using namespace diffuscope;
using namespace diffuscope::ui;

namespace {

// The workspace's model as PointsWorkspace::currentModel() hands it over: the exact mixture on 8gaussians.
WorkspaceModel Mixture(int T = 200) {
  Document document;
  ScheduleOptions schedule;
  schedule.num_steps = T;  // linear
  schedule.beta_end = 0.02 * 1000.0 / T;
  WorkspaceModel m;
  m.name = QStringLiteral("mixture");
  m.label = QStringLiteral("exact Gaussian mixture");
  m.run = document.run(1);
  m.run.model = "mixture";
  m.data = std::make_shared<const PointsData>(LoadPoints(QStringLiteral("8gaussians"), 2000, 1));
  m.schedule = std::make_shared<const NoiseSchedule>(schedule);
  m.seed = 7;
  return m;
}

QString Figure(double v) { return QString::number(v, 'g', 4); }

}  // namespace

class CompareDialogTest : public QObject {
  Q_OBJECT

 private slots:
  void odeAgainstSdeIsTheCoresComparison() {
    const WorkspaceModel model = Mixture();
    CompareDialog dialog(model);
    QCOMPARE(dialog.mode(), CompareDialog::Mode::kOdeSde);
    dialog.particles()->setValue(600);
    dialog.measure();
    QVERIFY(dialog.running());
    QTRY_VERIFY_WITH_TIMEOUT(dialog.odeSde().has_value(), 120000);
    QVERIFY(!dialog.running());
    // The core call with the same model, schedule and options.
    QString problem;
    const OdeSdeOptions o = dialog.odeSdeOptions(&problem);
    QVERIFY(problem.isEmpty());
    GaussianMixtureDenoiser mixture(GaussianMixture::EightGaussians(std::sqrt(2.0), 0.1));
    const OdeSdeComparison core = CompareOdeAndSde(*model.schedule, mixture, {}, model.data->points, o);
    const OdeSdeComparison& shown = *dialog.odeSde();
    QCOMPARE(shown.ode.energy_distance, core.ode.energy_distance);
    QCOMPARE(shown.sde.energy_distance, core.sde.energy_distance);
    QCOMPARE(shown.ode.straightness, core.ode.straightness);
    QCOMPARE(shown.sde.straightness, core.sde.straightness);
    QCOMPARE(shown.gap, core.gap);
    // The table says those figures; NFE of T = 200 steps each.
    QCOMPARE(dialog.table()->rowCount(), 3);
    QCOMPARE(dialog.table()->item(0, 1)->text(), QStringLiteral("ode-euler"));
    QCOMPARE(dialog.table()->item(1, 1)->text(), QStringLiteral("sde-euler"));
    QCOMPARE(dialog.table()->item(0, 3)->text(), QStringLiteral("200"));
    QCOMPARE(dialog.table()->item(0, 4)->text(), Figure(core.ode.energy_distance));
    QCOMPARE(dialog.table()->item(1, 5)->text(), Figure(core.sde.straightness));
    // Same marginals, different paths: the SDE's paths are many times longer than their chords.
    QVERIFY2(core.sde.straightness > 5 * core.ode.straightness,
             qPrintable(QStringLiteral("%1 vs %2").arg(core.sde.straightness).arg(core.ode.straightness)));
    // Two panels of 12 paths; the chart's three lines along t (two spreads, the paired distance).
    QCOMPARE(dialog.chart()->series().size(), 3);
    for (QAbstractSeries* s : dialog.chart()->series()) QCOMPARE(static_cast<QLineSeries*>(s)->count(), 201);
    QCOMPARE(dialog.leftPanel()->particleCount(), 12);
    QCOMPARE(dialog.rightPanel()->particleCount(), 12);
    QVERIFY(dialog.status()->text().contains(QStringLiteral("path length / chord")));
  }

  void flowAgainstDdpmIsCompareFlowsStudy() {
    CompareDialog dialog(Mixture());
    dialog.setMode(CompareDialog::Mode::kFlowDdpm);
    QCOMPARE(dialog.flowData()->currentText(), QStringLiteral("8gaussians"));  // the workspace's set
    dialog.iterations()->setValue(150);
    dialog.batch()->setValue(32);
    dialog.stepList()->setText(QStringLiteral("2, 4"));
    dialog.samples()->setValue(200);
    dialog.measure();
    QVERIFY(dialog.running());
    QTRY_VERIFY_WITH_TIMEOUT(dialog.flowStudy().has_value(), 120000);
    QString problem;
    const FlowDdpmStudyOptions o = dialog.flowOptions(&problem);
    QVERIFY(problem.isEmpty());
    Flow2dModel flow;
    Ddpm2dModel ddpm;
    const FlowDdpmStudy core = RunFlowDdpmStudy(o, flow, ddpm);
    const FlowDdpmStudy& shown = *dialog.flowStudy();
    QCOMPARE(shown.rows.size(), core.rows.size());
    QCOMPARE(dialog.table()->rowCount(), 12);  // flow Euler, Heun and DDPM DDIM per step count; the exact field's
    for (size_t i = 0; i < core.rows.size(); ++i) {
      QCOMPARE(shown.rows[i].energy_distance, core.rows[i].energy_distance);
      QCOMPARE(shown.rows[i].straightness, core.rows[i].straightness);
      const int r = static_cast<int>(i);
      QCOMPARE(dialog.table()->item(r, 0)->text(), QString::fromStdString(core.rows[i].model));
      QCOMPARE(dialog.table()->item(r, 3)->text(), QString::number(core.rows[i].evaluations));
      QCOMPARE(dialog.table()->item(r, 4)->text(), QString::number(core.rows[i].energy_distance, 'f', 5));
    }
    QCOMPARE(dialog.table()->item(4, 3)->text(), QStringLiteral("7"));  // flow Heun, 4 steps
    QCOMPARE(dialog.pathSteps()->count(), 2);
    QCOMPARE(dialog.pathSteps()->currentText(), QStringLiteral("4"));
    QCOMPARE(dialog.leftPanel()->particleCount(), 12);
    QVERIFY(!dialog.chart()->series().isEmpty());
    QVERIFY(dialog.status()->text().contains(QStringLiteral("compare-flow")));
  }

  void refuses() {
    CompareDialog empty{WorkspaceModel{}};
    empty.measure();
    QVERIFY(!empty.running());
    QVERIFY(empty.status()->text().contains(QStringLiteral("no points")));
    CompareDialog dialog(Mixture());
    dialog.setMode(CompareDialog::Mode::kFlowDdpm);
    dialog.stepList()->setText(QStringLiteral("2, four"));
    dialog.measure();
    QVERIFY(!dialog.running());
    QVERIFY(dialog.status()->text().contains(QStringLiteral("not a whole number")));
    // Sohl-Dickstein's model predicts the reverse mean: it has no probability-flow ODE.
    WorkspaceModel sd = Mixture();
    sd.name = sd.label = QStringLiteral("sohl-dickstein-swissroll");
    sd.run.model = "sohl-dickstein-swissroll";
    sd.schedule = std::make_shared<const NoiseSchedule>(*OpenModel("sohl-dickstein-swissroll", {}).schedule);
    CompareDialog refused(sd);
    refused.particles()->setValue(50);
    refused.measure();
    QTRY_VERIFY_WITH_TIMEOUT(!refused.running(), 60000);
    QVERIFY(!refused.odeSde().has_value());
    QVERIFY2(refused.status()->text().contains(QStringLiteral("reverse mean")), qPrintable(refused.status()->text()));
  }

  void cancels() {
    CompareDialog dialog(Mixture());
    dialog.setMode(CompareDialog::Mode::kFlowDdpm);
    dialog.iterations()->setValue(5'000'000);
    dialog.measure();
    QVERIFY(dialog.running());
    dialog.cancel();
    QTRY_VERIFY_WITH_TIMEOUT(!dialog.running(), 60000);
    QVERIFY(!dialog.flowStudy().has_value());
    QCOMPARE(dialog.status()->text(), QStringLiteral("Cancelled."));
  }

  void screenshot() {
    const QString path = qEnvironmentVariable("DIFFUSCOPE_SCREENSHOT");
    if (path.isEmpty()) QSKIP("set DIFFUSCOPE_SCREENSHOT=FILE.png to save the ODE / SDE comparison");
    CompareDialog dialog(Mixture(1000));  // linear T = 1000, 200 steps of each run
    dialog.steps()->setValue(200);
    dialog.show();
    dialog.measure();
    QTRY_VERIFY_WITH_TIMEOUT(dialog.odeSde().has_value(), 600000);
    QTest::qWait(300);
    QVERIFY(dialog.grab().save(path));
  }

  void screenshotFlow() {
    const QString path = qEnvironmentVariable("DIFFUSCOPE_SCREENSHOT_FLOW");
    if (path.isEmpty()) QSKIP("set DIFFUSCOPE_SCREENSHOT_FLOW=FILE.png to save the flow-against-DDPM comparison");
    CompareDialog dialog(Mixture());
    dialog.setMode(CompareDialog::Mode::kFlowDdpm);
    dialog.show();
    dialog.measure();
    QTRY_VERIFY_WITH_TIMEOUT(dialog.flowStudy().has_value(), 600000);
    dialog.pathSteps()->setCurrentIndex(dialog.pathSteps()->findText(QStringLiteral("8")));
    QTest::qWait(300);
    QVERIFY(dialog.grab().save(path));
  }
};

QTEST_MAIN(CompareDialogTest)
#include "compare_dialog_test.moc"

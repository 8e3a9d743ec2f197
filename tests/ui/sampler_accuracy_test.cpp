// The sampler combo offers every sampler and shows the run's NFE; the sampler-accuracy dialog measures on a worker
// thread (the GUI stays live), fills its table and log-log chart, refuses bad input, and cancels.
#include "ui/state/document.h"
#include "ui/widgets/sampler_accuracy_dialog.h"
#include "ui/widgets/sampler_controls.h"

#include <QChart>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QSpinBox>
#include <QTableWidget>
#include <QTest>

using namespace diffuscope;
using namespace diffuscope::ui;

class SamplerAccuracyTest : public QObject {
  Q_OBJECT

 private slots:
  void comboOffersEverySamplerAndNfe() {
    Document document;  // linear, T = 1000
    SamplerControls controls(&document, false);
    auto* kind = controls.findChild<QComboBox*>();
    QVERIFY(kind);
    QCOMPARE(kind->count(), static_cast<int>(AllSamplerKinds().size()));
    SamplerOptions o = document.samplerOptions();
    o.num_steps = 10;
    QVERIFY(document.setSamplerOptions(o).isEmpty());
    kind->setCurrentIndex(kind->findData(static_cast<int>(SamplerKind::kHeunKarras)));
    QCOMPARE(document.samplerOptions().kind, SamplerKind::kHeunKarras);
    bool shows_nfe = false;
    for (QLabel* label : controls.findChildren<QLabel*>()) shows_nfe |= label->text() == QStringLiteral("19");
    QVERIFY2(shows_nfe, "Heun's 10 steps take 19 network evaluations");
    kind->setCurrentIndex(kind->findData(static_cast<int>(SamplerKind::kDpmSolverPP)));
    QCOMPARE(document.samplerOptions().kind, SamplerKind::kDpmSolverPP);
  }

  void measuresAndPlots() {
    SamplerAccuracyDialog dialog(ScheduleOptions{});
    dialog.particles()->setValue(100);
    dialog.nfeList()->setText(QStringLiteral("10, 20, 40"));
    dialog.measure();
    QVERIFY(dialog.running());
    QTRY_VERIFY_WITH_TIMEOUT(dialog.report().has_value(), 120000);
    QCOMPARE(dialog.table()->rowCount(), 8 * 3);
    QCOMPARE(dialog.table()->item(12, 0)->text(), QStringLiteral("heun-karras"));
    QCOMPARE(dialog.table()->item(12, 2)->text(), QStringLiteral("9"));  // 5 steps, 2 NFE each but the last
    QCOMPARE(dialog.table()->item(21, 0)->text(), QStringLiteral("flow-heun"));
    QCOMPARE(dialog.table()->item(21, 2)->text(), QStringLiteral("9"));
    // The median endpoint error beside the RMS (a few far particles dominate the RMS on learned models).
    const SamplerErrorRow& heun = dialog.report()->rows[21];
    QCOMPARE(dialog.table()->item(21, 4)->text(), QString::number(heun.endpoint_median, 'g', 4));
    // The endpoint-error chart: one line per deterministic sampler (ddim, ode-euler, heun-karras, dpm-solver++,
    // flow-euler, flow-heun);
    QCOMPARE(dialog.chart()->series().size(), 6);
    for (QAbstractSeries* s : dialog.chart()->series()) QCOMPARE(static_cast<QLineSeries*>(s)->count(), 3);
    // the energy chart: every sampler, and the exact endpoint's floor.
    auto* show = dialog.findChildren<QComboBox*>().last();
    QVERIFY(show->itemText(1).startsWith(QStringLiteral("Energy")));
    show->setCurrentIndex(1);
    QCOMPARE(dialog.chart()->series().size(), 8 + 1);
    QVERIFY(dialog.status()->text().contains(QStringLiteral("Fitted order")));
  }

  void refusesBadInput() {
    SamplerAccuracyDialog dialog(ScheduleOptions{});
    dialog.nfeList()->setText(QStringLiteral("10, ten"));
    dialog.measure();
    QVERIFY(!dialog.running());
    QVERIFY(dialog.status()->text().contains(QStringLiteral("not a whole number")));
    dialog.nfeList()->setText(QStringLiteral("0"));
    dialog.measure();
    QVERIFY(!dialog.running());
    QVERIFY(dialog.status()->text().contains(QStringLiteral("nfe")));
  }

  void zeroTerminalSnrOffersKarras() {
    ScheduleOptions zero;
    zero.zero_terminal_snr = true;
    SamplerAccuracyDialog dialog(zero);
    QCOMPARE(dialog.scheduleChoice()->currentData().toInt(), 1);
  }

  void cancels() {
    SamplerAccuracyDialog dialog(ScheduleOptions{});
    dialog.particles()->setValue(50000);
    dialog.nfeList()->setText(QStringLiteral("1000, 1000, 1000, 1000"));
    dialog.measure();
    QVERIFY(dialog.running());
    dialog.cancel();
    QTRY_VERIFY_WITH_TIMEOUT(!dialog.running(), 60000);
    QVERIFY(!dialog.report().has_value());
    QCOMPARE(dialog.status()->text(), QStringLiteral("Cancelled."));
  }
};

QTEST_MAIN(SamplerAccuracyTest)
#include "sampler_accuracy_test.moc"

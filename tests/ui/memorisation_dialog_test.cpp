// The memorisation dialog trains and samples on a worker thread (the GUI stays live), fills its table and its
// log-log chart, refuses bad input, and cancels. With DIFFUSCOPE_SCREENSHOT=FILE.png set, screenshot() runs the full
// default study and saves the dialog there (for the README; skipped otherwise).
#include "ui/widgets/memorisation_dialog.h"

#include <QChart>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QPixmap>
#include <QSpinBox>
#include <QTableWidget>
#include <QTest>

#include <cmath>

using namespace diffuscope;
using namespace diffuscope::ui;

class MemorisationDialogTest : public QObject {
  Q_OBJECT

 private slots:
  void measuresAndPlots() {
    MemorisationDialog dialog;
    QCOMPARE(dialog.dataChoice()->currentText(), QStringLiteral("moons"));
    dialog.sizesList()->setText(QStringLiteral("8, 64"));
    dialog.iterations()->setValue(200);
    dialog.measure();
    QVERIFY(dialog.running());
    QTRY_VERIFY_WITH_TIMEOUT(dialog.report().has_value(), 120000);
    QVERIFY(!dialog.running());
    QCOMPARE(dialog.table()->rowCount(), 2);
    QCOMPARE(dialog.table()->item(1, 0)->text(), QStringLiteral("64"));
    const MemorisationReport& r = *dialog.report();
    QCOMPARE(r.iterations, 200LL);
    // Held-out points are farther from 8 training points than from 64.
    QVERIFY(r.rows[0].held_out_nearest_median > r.rows[1].held_out_nearest_median);
    QCOMPARE(dialog.table()->item(0, 5)->text(), QString::number(r.rows[0].held_out_nearest_median, 'g', 4));
    // DDPM, held-out and empirical curves, one point per size.
    QCOMPARE(dialog.chart()->series().size(), 3);
    for (QAbstractSeries* s : dialog.chart()->series()) QCOMPARE(static_cast<QLineSeries*>(s)->count(), 2);
    QVERIFY(dialog.status()->text().contains(QStringLiteral("200 updates")));
  }

  void refusesBadInput() {
    MemorisationDialog dialog;
    dialog.sizesList()->setText(QStringLiteral("8, many"));
    dialog.measure();
    QVERIFY(!dialog.running());
    QVERIFY(dialog.status()->text().contains(QStringLiteral("not a whole number")));
    dialog.sizesList()->setText(QStringLiteral("64, 8"));
    dialog.measure();
    QVERIFY(!dialog.running());
    QVERIFY(dialog.status()->text().contains(QStringLiteral("increase")));
  }

  void cancels() {
    MemorisationDialog dialog;
    dialog.sizesList()->setText(QStringLiteral("8, 8000"));
    dialog.iterations()->setValue(1000000);
    dialog.measure();
    QVERIFY(dialog.running());
    dialog.cancel();
    QTRY_VERIFY_WITH_TIMEOUT(!dialog.running(), 60000);
    QVERIFY(!dialog.report().has_value());
    QCOMPARE(dialog.status()->text(), QStringLiteral("Cancelled."));
  }

  void screenshot() {
    const QString path = qEnvironmentVariable("DIFFUSCOPE_SCREENSHOT");
    if (path.isEmpty()) QSKIP("set DIFFUSCOPE_SCREENSHOT=FILE.png to run the full study and save the dialog");
    MemorisationDialog dialog;
    dialog.show();
    dialog.measure();
    QTRY_VERIFY_WITH_TIMEOUT(dialog.report().has_value(), 600000);
    QTest::qWait(200);
    QVERIFY(dialog.grab().save(path));
  }
};

QTEST_MAIN(MemorisationDialogTest)
#include "memorisation_dialog_test.moc"

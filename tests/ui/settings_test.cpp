// ui/settings: the typed settings the workspaces remember, read back as written, defaults when unset, and bad
// stored values (a hand-edited or older file) replaced by the default instead of being used.
#include "ui/state/settings.h"

#include <QCoreApplication>
#include <QSettings>
#include <QTest>

#include <limits>

using namespace diffuscope::ui;

class SettingsTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    // A settings file of its own, so tests running side by side do not share one.
    QCoreApplication::setOrganizationName(QStringLiteral("Diffuscope"));
    QCoreApplication::setApplicationName(QStringLiteral("settings-test"));
    QSettings().clear();
  }

  void imagePanelsDefaultOffAndRoundTrip() {
    const Settings::ImagePanels unset = Settings::ImagePanelOptions();
    QVERIFY(!unset.predictions && !unset.noise && !unset.histogram);
    Settings::SetImagePanelOptions({true, false, true});
    const Settings::ImagePanels back = Settings::ImagePanelOptions();
    QVERIFY(back.predictions);
    QVERIFY(!back.noise);
    QVERIFY(back.histogram);
  }

  void learnedCostIsUnsetUntilMeasuredAndRefusesBadValues() {
    QVERIFY(!Settings::LearnedSecondsPerPixel().has_value());
    Settings::SetLearnedSecondsPerPixel(-1.0);
    Settings::SetLearnedSecondsPerPixel(std::numeric_limits<double>::quiet_NaN());
    QVERIFY(!Settings::LearnedSecondsPerPixel().has_value());
    Settings::SetLearnedSecondsPerPixel(3.5e-6);
    QCOMPARE(Settings::LearnedSecondsPerPixel().value_or(0.0), 3.5e-6);
    // A value written by hand that is not a positive number reads as unset.
    QSettings().setValue(QStringLiteral("images/learned_seconds_per_pixel"), QStringLiteral("fast"));
    QVERIFY(!Settings::LearnedSecondsPerPixel().has_value());
  }
};

QTEST_GUILESS_MAIN(SettingsTest)
#include "settings_test.moc"

// Playback > Likelihood (issue 10): the workspace's model's NLL of held-out points through the probability-flow ODE
// beside the exact density and a fitted Gaussian, on a worker thread; its figures are MeasureModelLikelihood's (the
// call of diffuscope-cli likelihood) on the same points; models without a density are refused; Cancel stops it.
#include "ui/widgets/likelihood_dialog.h"
#include "core/models/exact.h"
#include "ui/state/document.h"

#include <QChart>
#include <QLabel>
#include <QLineSeries>
#include <QSpinBox>
#include <QTableWidget>
#include <QTest>

#include <cmath>

using namespace diffuscope;
using namespace diffuscope::ui;

namespace {

WorkspaceModel Workspace(const QString& model, const QString& data = QStringLiteral("8gaussians")) {
  Document document;
  WorkspaceModel m;
  m.name = m.label = model;
  m.run = document.run(1);
  m.run.model = model.toStdString();
  m.data = std::make_shared<const PointsData>(LoadPoints(data, 2000, 1));
  m.schedule = document.schedule();
  m.seed = 0;
  return m;
}

}  // namespace

class LikelihoodDialogTest : public QObject {
  Q_OBJECT

 private slots:
  void theMixturesNllIsTheCoresAndTheExactDensity() {
    const WorkspaceModel model = Workspace(QStringLiteral("mixture"));
    LikelihoodDialog dialog(model);
    QCOMPARE(dialog.points()->value(), 1000);
    QCOMPARE(dialog.seed()->value(), 0);
    dialog.measure();
    QVERIFY(dialog.running());
    QTRY_VERIFY_WITH_TIMEOUT(dialog.result().has_value(), 120000);
    // The core call on the same points: diffuscope-cli likelihood --denoiser mixture --n 1000 --seed 0.
    GaussianMixtureDenoiser mixture(EightGaussiansDataLaw());
    ModelLikelihoodInput input;
    input.model = &mixture;
    input.held_out = LikelihoodHeldOut("8gaussians", 1000, 0);
    input.fit = LikelihoodFitPoints("8gaussians", 0);
    input.mixture_law = true;
    const ModelLikelihood core = MeasureModelLikelihood(input, {});
    const ModelLikelihood& shown = *dialog.result();
    QCOMPARE(shown.lines.size(), core.lines.size());
    QCOMPARE(dialog.table()->rowCount(), 4);
    for (size_t i = 0; i < core.lines.size(); ++i) {
      QCOMPARE(shown.lines[i].nll, core.lines[i].nll);
      QCOMPARE(dialog.table()->item(static_cast<int>(i), 0)->text(), QString::fromStdString(core.lines[i].method));
      QCOMPARE(dialog.table()->item(static_cast<int>(i), 1)->text(), QString::number(core.lines[i].nll, 'f', 4));
    }
    // About 0.343 nats through the ODE against the exact 0.3434.
    QCOMPARE(dialog.table()->item(2, 1)->text(), QStringLiteral("0.3434"));
    QVERIFY2(std::abs(shown.lines[0].nll - 0.3434) < 2e-3, qPrintable(QString::number(shown.lines[0].nll)));
    // log p per point: the fitted Gaussian, the ODE and the exact density, 1000 points each.
    QCOMPARE(dialog.chart()->series().size(), 3);
    for (QAbstractSeries* s : dialog.chart()->series()) QCOMPARE(static_cast<QLineSeries*>(s)->count(), 1000);
    QVERIFY(dialog.status()->text().contains(QStringLiteral("Dormand-Prince")));
  }

  void refusesWhatHasNoDensity() {
    // An image model (the digits DDPM) is not a 2D model.
    LikelihoodDialog image(Workspace(QStringLiteral("ddpm-digits-mlp")));
    image.points()->setValue(20);
    image.measure();
    QTRY_VERIFY_WITH_TIMEOUT(!image.running(), 60000);
    QVERIFY(!image.result().has_value());
    QVERIFY2(image.status()->text().contains(QStringLiteral("not a 2D model")), qPrintable(image.status()->text()));
    // The empirical denoiser's law is its points.
    LikelihoodDialog empirical(Workspace(QStringLiteral("empirical"), QStringLiteral("moons")));
    empirical.measure();
    QTRY_VERIFY_WITH_TIMEOUT(!empirical.running(), 60000);
    QVERIFY2(empirical.status()->text().contains(QStringLiteral("empirical denoiser")),
             qPrintable(empirical.status()->text()));
    LikelihoodDialog nothing{WorkspaceModel{}};
    nothing.measure();
    QVERIFY(!nothing.running());
    QVERIFY(nothing.status()->text().contains(QStringLiteral("no points")));
  }

  void cancels() {
    LikelihoodDialog dialog(Workspace(QStringLiteral("mixture")));
    dialog.points()->setValue(100000);
    dialog.measure();
    QVERIFY(dialog.running());
    dialog.cancel();
    QTRY_VERIFY_WITH_TIMEOUT(!dialog.running(), 60000);
    QVERIFY(!dialog.result().has_value());
    QCOMPARE(dialog.status()->text(), QStringLiteral("Cancelled."));
  }
};

QTEST_MAIN(LikelihoodDialogTest)
#include "likelihood_dialog_test.moc"

// The document: undoable parameters, merging during a drag, invalid values refused with a reason.
#include "ui/state/document.h"

#include <QSignalSpy>
#include <QTest>

using namespace diffuscope;
using namespace diffuscope::ui;

class DocumentTest : public QObject {
  Q_OBJECT

 private slots:
  void parameterChangesUndo() {
    Document document;
    QSignalSpy seeds(&document, &Document::seedChanged);
    document.setSeed(7);
    document.setForwardPath(ForwardPath::kMarkov);
    QCOMPARE(document.undoStack()->count(), 2);
    document.undoStack()->undo();
    QCOMPARE(document.forwardPath(), ForwardPath::kClosed);
    document.undoStack()->undo();
    QCOMPARE(document.seed(), uint64_t{0});
    document.undoStack()->redo();
    QCOMPARE(document.seed(), uint64_t{7});
    QCOMPARE(seeds.count(), 3);
  }

  void openCommandsMergeUntilClosed() {
    Document document;
    for (uint64_t seed = 1; seed <= 5; ++seed) document.setSeed(seed, /*merge=*/true);
    QCOMPARE(document.undoStack()->count(), 1);
    document.endMerge();
    document.setSeed(6, true);
    QCOMPARE(document.undoStack()->count(), 2);
    document.undoStack()->undo();
    QCOMPARE(document.seed(), uint64_t{5});
    document.undoStack()->undo();
    QCOMPARE(document.seed(), uint64_t{0});
  }

  void differentParametersDoNotMerge() {
    Document document;
    document.setSeed(3, true);
    SamplerOptions sampler = document.samplerOptions();
    sampler.num_steps = 10;
    QVERIFY(document.setSamplerOptions(sampler, true).isEmpty());
    QCOMPARE(document.undoStack()->count(), 2);
  }

  void invalidScheduleIsRefused() {
    Document document;
    ScheduleOptions bad;
    bad.num_steps = 0;
    const QString problem = document.setScheduleOptions(bad);
    QVERIFY(!problem.isEmpty());
    QCOMPARE(document.numSteps(), 1000);
    QCOMPARE(document.undoStack()->count(), 0);
    bad = ScheduleOptions{};
    bad.beta_end = 2.0;
    QVERIFY(!document.setScheduleOptions(bad).isEmpty());
  }

  void invalidSamplerIsRefused() {
    Document document;
    SamplerOptions bad = document.samplerOptions();
    bad.eta = -1;
    QVERIFY(!document.setSamplerOptions(bad).isEmpty());
    QCOMPARE(document.undoStack()->count(), 0);
  }

  // What the 2D view draws (field, contours, trajectories, the faint data set) is undoable like the parameters.
  void pointsOverlaysUndo() {
    Document document;
    QVERIFY(document.pointsOverlays().data);  // the data set is drawn unless the user turns it off
    QSignalSpy changed(&document, &Document::pointsOverlaysChanged);
    PointsOverlays overlays;
    overlays.data = false;
    document.setPointsOverlays(overlays);
    overlays.contours = true;
    document.setPointsOverlays(overlays);
    document.setPointsOverlays(overlays);  // no change: no step
    QCOMPARE(document.undoStack()->count(), 2);
    QCOMPARE(changed.count(), 2);
    document.undoStack()->undo();
    QVERIFY(!document.pointsOverlays().contours && !document.pointsOverlays().data);
    document.undoStack()->undo();
    QVERIFY(document.pointsOverlays() == PointsOverlays{});
    document.undoStack()->redo();
    QVERIFY(!document.pointsOverlays().data);
    QCOMPARE(changed.count(), 5);
    // apply() sets them without an undo step (the view's remembered choice at start).
    overlays = PointsOverlays{};
    overlays.trajectories = true;
    document.apply(Document::Param::kPointsOverlays, QVariant::fromValue(overlays));
    QVERIFY(document.pointsOverlays().trajectories);
    QCOMPARE(document.undoStack()->count(), 2);
  }

  void tIsClampedAndNotUndoable() {
    Document document;
    document.setT(5000);
    QCOMPARE(document.t(), 1000);
    document.setT(-3);
    QCOMPARE(document.t(), 0);
    QCOMPARE(document.undoStack()->count(), 0);
  }
};

QTEST_MAIN(DocumentTest)
#include "document_test.moc"

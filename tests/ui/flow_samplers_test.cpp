// The flow-time samplers in the app (issue 10): the sampler menu lists every SamplerKind; flow-heun chosen there
// runs in the 2D workspace, its description gives the NFE ("FLOW-HEUN 8 steps (NFE 15)") and its samples are the
// core's Sampler's; sessions keep the kind.
#include "core/models/exact.h"
#include "core/run/run.h"
#include "ui/state/document.h"
#include "ui/state/session.h"
#include "ui/widgets/points_workspace.h"
#include "ui/widgets/sampler_controls.h"

#include <QComboBox>
#include <QLabel>
#include <QSettings>
#include <QSignalSpy>
#include <QTest>

using namespace diffuscope;
using namespace diffuscope::ui;

class FlowSamplersTest : public QObject {
  Q_OBJECT

 private slots:
  void init() { QSettings().clear(); }

  void theMenuListsEveryKind() {
    Document document;
    SamplerControls controls(&document, false);
    QComboBox* kind = controls.kindBox();
    QCOMPARE(kind->count(), static_cast<int>(AllSamplerKinds().size()));
    for (SamplerKind k : AllSamplerKinds())
      QVERIFY2(kind->findData(static_cast<int>(k)) >= 0, SamplerKindName(k).data());
    SamplerOptions o = document.samplerOptions();
    o.num_steps = 8;
    QVERIFY(document.setSamplerOptions(o).isEmpty());
    kind->setCurrentIndex(kind->findData(static_cast<int>(SamplerKind::kFlowHeun)));
    QCOMPARE(document.samplerOptions().kind, SamplerKind::kFlowHeun);
    bool shows_nfe = false;
    for (QLabel* label : controls.findChildren<QLabel*>()) shows_nfe |= label->text() == QStringLiteral("15");
    QVERIFY2(shows_nfe, "flow-heun's 8 steps take 15 network evaluations");
    kind->setCurrentIndex(kind->findData(static_cast<int>(SamplerKind::kFlowEuler)));
    QCOMPARE(document.samplerOptions().kind, SamplerKind::kFlowEuler);
  }

  void aFlowHeunRunIsTheCoresAndSaysItsNfe() {
    Document document;
    ScheduleOptions schedule;
    schedule.kind = ScheduleKind::kCosine;
    schedule.num_steps = 50;
    QVERIFY(document.setScheduleOptions(schedule).isEmpty());
    SamplerOptions sampler;
    sampler.kind = SamplerKind::kFlowHeun;
    sampler.num_steps = 8;
    QVERIFY(document.setSamplerOptions(sampler).isEmpty());
    document.setSeed(5);
    TimelineModel timeline;
    timeline.setClockEnabled(false);
    PointsWorkspace points(&document, &timeline);
    points.setDataset(QStringLiteral("8gaussians"));
    points.setModelName(QStringLiteral("mixture"));
    ModelChoice choice = document.model();
    choice.num_particles = 300;
    document.setModel(choice);
    QSignalSpy done(&points, &PointsWorkspace::reverseFinished);
    QSignalSpy errors(&points, &PointsWorkspace::errorOccurred);
    points.startReverse();
    QTRY_VERIFY_WITH_TIMEOUT(done.count() == 1 || !errors.isEmpty(), 60000);
    if (!errors.isEmpty()) QFAIL(qPrintable(errors.at(0).at(1).toString()));
    const PointsReverseRun* run = points.reverseRun();
    QVERIFY(run != nullptr);
    QVERIFY2(run->description.contains(QStringLiteral("FLOW-HEUN 8 steps (NFE 15)")), qPrintable(run->description));
    // The same run through the core: the mixture on cosine T = 50, x_T of the document's seed.
    GaussianMixtureDenoiser mixture(GaussianMixture::EightGaussians(std::sqrt(2.0), 0.1));
    const NoiseSchedule cosine(schedule);
    const Batch expected = Sample(cosine, mixture, RunSamplerOptions(document.run(1), 50), InitialNoise(300, 2, 5));
    QCOMPARE(run->sample.rows(), expected.rows());
    QVERIFY(run->sample == expected);
  }

  void sessionsKeepTheKind() {
    Document document;
    SamplerOptions sampler;
    sampler.kind = SamplerKind::kFlowEuler;
    sampler.num_steps = 12;
    QVERIFY(document.setSamplerOptions(sampler).isEmpty());
    const Session back = SessionFromJson(SessionToJson(CaptureSession(document, QStringLiteral("reverse"))));
    QCOMPARE(back.sampler.kind, SamplerKind::kFlowEuler);
    QCOMPARE(back.sampler.num_steps, 12);
  }
};

QTEST_MAIN(FlowSamplersTest)
#include "flow_samplers_test.moc"

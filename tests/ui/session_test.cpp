// Sessions: save and open give back the same state; malformed files are errors that say what is wrong.
#include "ui/state/session.h"
#include "ui/state/document.h"
#include "ui/state/image_input.h"

#include <QFile>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QTest>

using namespace diffuscope;
using namespace diffuscope::ui;

namespace {

QString Photo() { return QStringLiteral(DIFFUSCOPE_RESOURCES "/images/butterfly.jpg"); }

void Write(const QString& path, const QByteArray& bytes) {
  QFile file(path);
  QVERIFY(file.open(QIODevice::WriteOnly));
  file.write(bytes);
}

}  // namespace

class SessionTest : public QObject {
  Q_OBJECT

 private slots:
  void roundTrip() {
    QTemporaryDir dir;
    Document original;
    ScheduleOptions schedule;
    schedule.kind = ScheduleKind::kCosine;
    schedule.num_steps = 250;
    schedule.zero_terminal_snr = true;
    QVERIFY(original.setScheduleOptions(schedule).isEmpty());
    ScheduleOptions compare;
    compare.num_steps = 50;
    QVERIFY(original.setCompareOptions(compare).isEmpty());
    SamplerOptions sampler;
    sampler.kind = SamplerKind::kDdim;
    sampler.num_steps = 25;
    sampler.eta = 0.5;
    sampler.clip_x0 = true;
    QVERIFY(original.setSamplerOptions(sampler).isEmpty());
    ModelChoice model;
    model.image_model = QStringLiteral("empirical");
    model.points_model = QStringLiteral("mixture");
    model.from_current_t = true;
    model.num_particles = 777;
    model.working_side = 512;
    model.simulate_low_resolution = false;
    model.sr_samples = 6;
    original.setModel(model);
    original.setSeed(0xFFFFFFFFFFFFFFF1ULL);  // all 64 bits survive
    original.setForwardPath(ForwardPath::kMarkov);
    original.setImage(LoadImageFile(Photo()));
    PointsData points;
    points.source = QStringLiteral("drawn");
    points.points.resize(3, 2);
    points.points << 0.1f, -0.2f, 1.0f / 3.0f, 2.5e-7f, -3.25f, 1e6f;
    original.setPoints(points);
    original.setWorkspace(1);
    original.setT(123);
    PointsOverlays overlays;  // what the 2D view draws, every member off its default
    overlays.field = FieldKind::kDrift;
    overlays.contours = true;
    overlays.trajectories = true;
    overlays.data = false;
    original.setPointsOverlays(overlays);

    const QString path = dir.filePath(QStringLiteral("a.json"));
    SaveSession(path, CaptureSession(original, QStringLiteral("reverse")));
    const Session loaded = LoadSession(path);
    QCOMPARE(loaded.direction, QStringLiteral("reverse"));

    Document copy;
    ApplySession(loaded, &copy);
    QVERIFY(copy.scheduleOptions() == original.scheduleOptions());
    QVERIFY(copy.compareOptions() == original.compareOptions());
    QVERIFY(copy.samplerOptions() == original.samplerOptions());
    QVERIFY(copy.model() == original.model());
    QCOMPARE(copy.seed(), original.seed());
    QCOMPARE(copy.forwardPath(), ForwardPath::kMarkov);
    QCOMPARE(copy.t(), 123);
    QCOMPARE(copy.workspace(), 1);
    QCOMPARE(copy.image().path, original.image().path);
    QVERIFY(copy.image().pixels == original.image().pixels);
    QCOMPARE(copy.points().source, QStringLiteral("drawn"));
    QVERIFY(copy.points().points == original.points().points);  // floats round-trip exactly
    QVERIFY(copy.pointsOverlays() == overlays);

    // Saving the copy gives the same file.
    const QString again = dir.filePath(QStringLiteral("b.json"));
    SaveSession(again, CaptureSession(copy, QStringLiteral("reverse")));
    QFile a(path), b(again);
    QVERIFY(a.open(QIODevice::ReadOnly) && b.open(QIODevice::ReadOnly));
    QCOMPARE(a.readAll(), b.readAll());
  }

  void openingIsOneUndoStep() {
    QTemporaryDir dir;
    Document original;
    original.setSeed(5);
    ScheduleOptions schedule;
    schedule.num_steps = 300;
    QVERIFY(original.setScheduleOptions(schedule).isEmpty());
    const QString path = dir.filePath(QStringLiteral("s.json"));
    SaveSession(path, CaptureSession(original, QStringLiteral("forward")));
    Document copy;
    ApplySession(LoadSession(path), &copy);
    QCOMPARE(copy.undoStack()->count(), 1);
    copy.undoStack()->undo();
    QCOMPARE(copy.seed(), uint64_t{0});
    QCOMPARE(copy.numSteps(), 1000);
  }

  void malformedFilesAreClearErrors_data() {
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QString>("message");
    const QByteArray good =
        R"({"format":"diffuscope-session","version":1,"schedule":{"kind":"linear","steps":100},"seed":"3","t":5})";
    QTest::newRow("empty") << QByteArray() << "not valid JSON";
    QTest::newRow("truncated") << good.left(40) << "not valid JSON";
    QTest::newRow("array") << QByteArray("[1, 2]") << "JSON object";
    QTest::newRow("foreign") << QByteArray(R"({"format":"something else"})") << "not a Diffuscope session";
    QTest::newRow("newer") << QByteArray(good).replace("\"version\":1", "\"version\":99") << "newer";
    QTest::newRow("no schedule") << QByteArray(good).replace("\"schedule\"", "\"schedulx\"") << "'schedule' is missing";
    QTest::newRow("bad kind") << QByteArray(good).replace("linear", "wiggly") << "'schedule.kind'";
    QTest::newRow("bad steps") << QByteArray(good).replace("\"steps\":100", "\"steps\":-4") << "'schedule.steps'";
    QTest::newRow("steps not a number") << QByteArray(good).replace("\"steps\":100", "\"steps\":\"many\"")
                                        << "'schedule.steps' must be a whole number";
    QTest::newRow("t beyond T") << QByteArray(good).replace("\"t\":5", "\"t\":500") << "'t'";
    QTest::newRow("bad seed") << QByteArray(good).replace("\"3\"", "\"-x\"") << "'seed'";
    QTest::newRow("bad points") << QByteArray(good).replace("\"t\":5", "\"t\":5,\"points\":{\"xy\":[[1,2],[3]]}")
                                << "'points.xy' row 2";
    QTest::newRow("bad sampler") << QByteArray(good).replace("\"t\":5",
                                                             "\"t\":5,\"sampler\":{\"kind\":\"ddim\",\"eta\":-1}")
                                 << "'sampler'";
    QTest::newRow("bad path") << QByteArray(good).replace("\"t\":5", "\"t\":5,\"forward_path\":\"sideways\"")
                              << "'forward_path'";
    QTest::newRow("bad field") << QByteArray(good).replace("\"t\":5", "\"t\":5,\"overlays\":{\"field\":\"curl\"}")
                               << "'overlays.field'";
    QTest::newRow("data set not a bool") << QByteArray(good).replace("\"t\":5", "\"t\":5,\"overlays\":{\"data\":1}")
                                         << "'overlays.data' must be true or false";
  }
  void malformedFilesAreClearErrors() {
    QFETCH(QByteArray, content);
    QFETCH(QString, message);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("bad.json"));
    Write(path, content);
    try {
      LoadSession(path);
      QFAIL("a malformed session was accepted");
    } catch (const Error& error) {
      const QString what = QString::fromUtf8(error.what());
      QVERIFY2(what.contains(message), qPrintable(what));
      QVERIFY2(what.contains(QStringLiteral("bad.json")), qPrintable(what));
    }
  }

  void theWellFormedSampleLoads() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("ok.json"));
    Write(path,
          R"({"format":"diffuscope-session","version":1,"schedule":{"kind":"linear","steps":100},"seed":"3","t":5})");
    const Session session = LoadSession(path);
    QCOMPARE(session.schedule.num_steps, 100);
    QCOMPARE(session.seed, uint64_t{3});
    QCOMPARE(session.t, 5);
  }

  // What the 2D view draws is one undo step with the rest; sessions from before it was kept leave it as it is.
  void overlaysAreKeptAndOldSessionsLeaveThem() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("s.json"));
    Write(path, R"({"format":"diffuscope-session","version":1,"schedule":{"kind":"linear","steps":100},"seed":"3",)"
                R"("t":5,"overlays":{"field":"score","data":false}})");
    const Session session = LoadSession(path);
    QVERIFY(session.overlays.has_value());
    QVERIFY(session.overlays->field == FieldKind::kScore);
    QVERIFY(!session.overlays->contours && !session.overlays->trajectories && !session.overlays->data);
    Document document;
    ApplySession(session, &document);
    QVERIFY(!document.pointsOverlays().data);
    QCOMPARE(document.undoStack()->count(), 1);
    document.undoStack()->undo();
    QVERIFY(document.pointsOverlays() == PointsOverlays{});

    Write(path,
          R"({"format":"diffuscope-session","version":1,"schedule":{"kind":"linear","steps":100},"seed":"3","t":5})");
    const Session old = LoadSession(path);
    QVERIFY(!old.overlays.has_value());
    PointsOverlays shown;
    shown.data = false;
    shown.contours = true;
    document.setPointsOverlays(shown);
    ApplySession(old, &document);
    QVERIFY(document.pointsOverlays() == shown);
  }

  // Sessions from before the learned photo model was the default keep their model, and their runs at the image's
  // own size (they had no working size).
  void anOldSessionKeepsItsModelAndSize() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("old.json"));
    Write(path, R"({"format":"diffuscope-session","version":1,"schedule":{"kind":"linear","steps":100},"seed":"3",)"
                R"("t":5,"model":{"image":"oracle","points":"empirical","from_current_t":false,"particles":2000}})");
    const Session session = LoadSession(path);
    QCOMPARE(session.model.image_model, QStringLiteral("oracle"));
    QCOMPARE(session.model.working_side, 0);
    QByteArray learned = R"({"format":"diffuscope-session","version":1,"schedule":{"kind":"linear","steps":100},)"
                         R"("seed":"3","t":5,"model":{"image":"ddpm-photo"}})";
    Write(path, learned);
    QCOMPARE(LoadSession(path).model.working_side, 0);
    Write(path, learned.replace(R"("ddpm-photo")", R"("ddpm-photo","working_side":-3)"));
    QVERIFY_THROWS_EXCEPTION(Error, LoadSession(path));
  }

  // The working size is the run's: learned models of photos compute at it, the training-free ones at the image's.
  void workingSizeIsTheRunsMaxSide() {
    Document document;
    ImageData image;
    image.path = QStringLiteral("/some/photo.png");
    image.channels = 3;
    image.height = 384;
    image.width = 512;
    image.pixels = Batch::Zero(1, 3 * 384 * 512);
    document.setImage(image);
    ModelChoice model = document.model();
    model.image_model = QStringLiteral("ddpm-photo");
    model.working_side = 256;
    document.setModel(model);
    QCOMPARE(document.run(0).max_image_side, 256);
    model.working_side = 0;
    document.setModel(model);
    QCOMPARE(document.run(0).max_image_side, 512);
    model.working_side = 1024;  // larger than the image: its own size
    document.setModel(model);
    QCOMPARE(document.run(0).max_image_side, 512);
    model.image_model = QStringLiteral("oracle");
    model.working_side = 256;
    document.setModel(model);
    QCOMPARE(document.run(0).max_image_side, 512);
  }

  void missingFileAndMissingImage() {
    QTemporaryDir dir;
    QVERIFY_THROWS_EXCEPTION(Error, LoadSession(dir.filePath(QStringLiteral("nothing.json"))));
    const QString path = dir.filePath(QStringLiteral("gone.json"));
    Write(path, R"({"format":"diffuscope-session","version":1,"schedule":{"kind":"linear","steps":100},)"
                R"("seed":"3","t":5,"image":{"path":"/nonexistent/photo.png"}})");
    Document document;
    document.setSeed(9);
    QVERIFY_THROWS_EXCEPTION(Error, ApplySession(LoadSession(path), &document));
    QCOMPARE(document.seed(), uint64_t{9});  // nothing changed
    QCOMPARE(document.numSteps(), 1000);
  }
};

QTEST_MAIN(SessionTest)
#include "session_test.moc"

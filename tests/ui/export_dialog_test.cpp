// The Export dialog: its widgets make the spec the core runs; an export writes the animation and its bundle;
// Cancel leaves nothing on disk; invalid settings disable Export with the reason shown; the live preview shows
// exactly the export's first and last frames, and the newest request wins.
//
// DIFFUSCOPE_SCREENSHOT=out.png (under xvfb-run, QT_QPA_PLATFORM=xcb) makes the screenshot test show the dialog
// and capture the screen with ImageMagick's `import -window root`, cropped to the dialog.
#include "ui/widgets/export_dialog.h"
#include "core/export/animation.h"
#include "core/models/registry.h"
#include "ui/state/document.h"
#include "ui/state/jobs.h"
#include "ui/widgets/frame_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>

using namespace diffuscope;
using namespace diffuscope::ui;

namespace {

const std::string kImage = std::string(DIFFUSCOPE_RESOURCES) + "/images/butterfly.jpg";

/// A small, fast job: a 24-pixel image on a T = 100 schedule.
AnimationSpec SmallSpec() {
  AnimationSpec spec;
  spec.image = kImage;
  spec.max_image_side = 24;
  spec.schedule.num_steps = 100;
  spec.seed = 7;
  spec.frames = 8;
  spec.render.min_cell = 48;
  return spec;
}

template <typename W>
W* Child(QObject* parent, const char* name) {
  W* widget = parent->findChild<W*>(QString::fromLatin1(name));
  if (widget == nullptr) qFatal("no widget named %s", name);
  return widget;
}

void Choose(QComboBox* box, int data) {
  const int index = box->findData(data);
  QVERIFY(index >= 0);
  box->setCurrentIndex(index);
}

/// Waits for the newest preview (a change waits a moment before it asks for one).
bool WaitPreview(ExportDialog& dialog) {
  QElapsedTimer clock;
  clock.start();
  while ((dialog.previewBusy() || dialog.previewImage(0).isNull()) && clock.elapsed() < 60000) QTest::qWait(10);
  return !dialog.previewBusy() && !dialog.previewImage(0).isNull();
}

QImage AsQImage(const Frame& frame) { return ToQImage(Frame(frame)); }

}  // namespace

class ExportDialogTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() { qputenv("DIFFUSCOPE_NO_DIALOGS", "1"); }
  void init() { QSettings().clear(); }

  void widgetsMakeTheSpec() {
    ExportDialog dialog(SmallSpec());
    QTemporaryDir dir;
    dialog.setOutputPath(dir.filePath(QStringLiteral("run.gif")));
    Choose(Child<QComboBox>(&dialog, "direction"), static_cast<int>(Direction::kReverse));
    Child<QComboBox>(&dialog, "model")->setCurrentText(QStringLiteral("empirical"));
    Child<QSpinBox>(&dialog, "fromT")->setValue(60);
    Child<QSpinBox>(&dialog, "toT")->setValue(5);
    Child<QSpinBox>(&dialog, "frames")->setValue(12);
    Choose(Child<QComboBox>(&dialog, "spacing"), static_cast<int>(FrameSpacing::kLogSnr));
    Child<QDoubleSpinBox>(&dialog, "fps")->setValue(24);
    Child<QDoubleSpinBox>(&dialog, "hold")->setValue(2.5);
    Child<QSpinBox>(&dialog, "size")->setValue(96);
    Choose(Child<QComboBox>(&dialog, "layout"), static_cast<int>(Layout::kPredictions));
    Child<QCheckBox>(&dialog, "caption")->setChecked(true);
    Child<QCheckBox>(&dialog, "dither")->setChecked(false);
    Choose(Child<QComboBox>(&dialog, "format"), static_cast<int>(ExportFormat::kMp4));
    QVERIFY(Child<QSpinBox>(&dialog, "crf")->isEnabled());
    QCOMPARE(Child<QSpinBox>(&dialog, "crf")->maximum(), 51);  // H.264
    Child<QSpinBox>(&dialog, "crf")->setValue(23);

    const AnimationSpec spec = dialog.spec();
    QCOMPARE(spec.image, kImage);  // the input, schedule and seed come from the caller
    QCOMPARE(spec.schedule.num_steps, 100);
    QCOMPARE(spec.seed, uint64_t{7});
    QVERIFY(spec.direction == Direction::kReverse);
    QCOMPARE(spec.model, std::string("empirical"));
    QCOMPARE(spec.from_t, 60);
    QCOMPARE(spec.to_t, 5);
    QCOMPARE(spec.frames, 12);
    QVERIFY(spec.spacing == FrameSpacing::kLogSnr);
    QCOMPARE(spec.output.fps, 24.0);
    QCOMPARE(spec.output.final_hold_s, 2.5);
    QCOMPARE(spec.render.min_cell, 96);
    QCOMPARE(spec.render.scale, 0);
    QVERIFY(spec.render.layout == Layout::kPredictions);
    QVERIFY(spec.render.caption);
    QVERIFY(!spec.output.gif_dither);
    QCOMPARE(spec.output.video_crf, 23);
    // The format box rewrote the extension; typing an extension picks the format.
    QCOMPARE(dialog.outputPath(), dir.filePath(QStringLiteral("run.mp4")));
    QVERIFY(dialog.format() == ExportFormat::kMp4);
    Choose(Child<QComboBox>(&dialog, "format"), static_cast<int>(ExportFormat::kPngFrames));
    QCOMPARE(dialog.outputPath(), dir.filePath(QStringLiteral("run/")));
    dialog.setOutputPath(dir.filePath(QStringLiteral("other.WEBM")));
    QVERIFY(dialog.format() == ExportFormat::kWebm);
    QCOMPARE(Child<QSpinBox>(&dialog, "crf")->maximum(), 63);  // VP9
    QVERIFY2(dialog.problem().isEmpty(), qPrintable(dialog.problem()));
    QVERIFY(dialog.exportEnabled());
    // The forward path matters forward and for a reverse run from the noised input (here from t = 60), not
    // for one from pure noise; the model only for reverse runs and predictions.
    QVERIFY(Child<QComboBox>(&dialog, "path")->isEnabled());
    Child<QSpinBox>(&dialog, "fromT")->setValue(-1);
    QVERIFY(!Child<QComboBox>(&dialog, "path")->isEnabled());
    Choose(Child<QComboBox>(&dialog, "direction"), static_cast<int>(Direction::kForward));
    Choose(Child<QComboBox>(&dialog, "layout"), static_cast<int>(Layout::kImage));
    Child<QSpinBox>(&dialog, "fromT")->setValue(-1);
    Child<QSpinBox>(&dialog, "toT")->setValue(-1);
    Choose(Child<QComboBox>(&dialog, "path"), 1);
    QVERIFY(dialog.spec().forward_path == ForwardPath::kMarkov);
    QVERIFY(!Child<QComboBox>(&dialog, "model")->isEnabled());
    QVERIFY(!Child<QCheckBox>(&dialog, "dither")->isEnabled());  // WebM
    // The grid layout shows several samples.
    Choose(Child<QComboBox>(&dialog, "layout"), static_cast<int>(Layout::kGrid));
    QCOMPARE(dialog.spec().samples, dialog.spec().render.grid_samples);
  }

  void specFromDocument() {
    Document document;
    ImageData image;
    image.path = QString::fromStdString(kImage);
    image.channels = 3;
    image.height = 20;
    image.width = 30;
    image.pixels = Batch::Zero(1, 3 * 20 * 30);
    document.setImage(image);
    document.setSeed(42);
    document.setForwardPath(ForwardPath::kMarkov);
    const AnimationSpec spec = SpecFromDocument(document);
    QCOMPARE(spec.image, kImage);
    QVERIFY(spec.data.empty());
    QCOMPARE(spec.max_image_side, 30);  // the image's own size
    QCOMPARE(spec.seed, uint64_t{42});
    QVERIFY(spec.forward_path == ForwardPath::kMarkov);
    QCOMPARE(spec.sampler.seed, uint64_t{42});  // one seed: x_T, the forward eps and every step's noise
    QCOMPARE(spec.schedule.num_steps, document.scheduleOptions().num_steps);
    // The learned photo model is the default for photographs (the oracle when it is not shipped).
    QCOMPARE(spec.model, std::string(ShippedModelPath("ddpm-photo") ? "ddpm-photo" : "oracle"));
    QVERIFY2(spec.Check().empty(), spec.Check().c_str());

    // A large image is exported at most kDefaultExportSide pixels a side; a learned photo model's run at its
    // working size, as on screen.
    image.width = 1600;
    image.pixels = Batch::Zero(1, 3 * 20 * 1600);
    document.setImage(image);
    ModelChoice model = document.model();
    model.image_model = QStringLiteral("oracle");
    document.setModel(model);
    QCOMPARE(SpecFromDocument(document).max_image_side, 1024);
    model.image_model = QStringLiteral("ddpm-photo");
    model.working_side = 512;
    document.setModel(model);
    QCOMPARE(SpecFromDocument(document).max_image_side, 512);

    PointsData points;
    points.source = QStringLiteral("dataset:moons");
    points.points = Batch::Zero(500, 2);
    document.setPoints(points);
    document.setWorkspace(1);
    const AnimationSpec points_spec = SpecFromDocument(document);
    QCOMPARE(points_spec.data, std::string("moons"));
    QCOMPARE(points_spec.point_set.rows(), 500);  // the very points shown
    QVERIFY(points_spec.image.empty());
    QCOMPARE(points_spec.points, document.model().num_particles);
    QVERIFY(points_spec.render.layout == Layout::kScatter);
    QCOMPARE(points_spec.model, std::string("empirical"));
    QVERIFY2(points_spec.Check().empty(), points_spec.Check().c_str());
    QVERIFY(points_spec.field.kind == FieldKind::kNone && !points_spec.contours);
    QCOMPARE(points_spec.render.scatter.max_trajectories, 0);
    QVERIFY(points_spec.draw_data);                              // the view draws the data set faint unless told not to
    QCOMPARE(points_spec.render.scatter.x_max, kViewHalfWidth);  // the square the view shows

    // What the view draws over the particles, the export draws: the dialog starts with it and keeps it.
    PointsOverlays overlays;
    overlays.field = FieldKind::kDrift;
    overlays.contours = true;
    overlays.trajectories = true;
    document.setPointsOverlays(overlays);
    const AnimationSpec drawn = SpecFromDocument(document);
    QVERIFY(drawn.field.kind == FieldKind::kDrift && drawn.contours);
    QCOMPARE(drawn.render.scatter.max_trajectories, kDefaultTrajectories);
    ExportDialog dialog(drawn);
    QVERIFY(dialog.spec().field.kind == FieldKind::kDrift && dialog.spec().contours);
    QCOMPARE(dialog.spec().render.scatter.max_trajectories, kDefaultTrajectories);
    Child<QComboBox>(&dialog, "field")->setCurrentIndex(1);
    Child<QCheckBox>(&dialog, "contours")->setChecked(false);
    Child<QCheckBox>(&dialog, "trajectories")->setChecked(false);
    QVERIFY(dialog.spec().field.kind == FieldKind::kScore && !dialog.spec().contours);
    QCOMPARE(dialog.spec().render.scatter.max_trajectories, 0);
    QVERIFY(Child<QComboBox>(&dialog, "model")->isEnabled());  // the field needs the model
    QVERIFY(dialog.spec().draw_data);
    QVERIFY(Child<QCheckBox>(&dialog, "data_set")->isChecked());

    // The faint data set: the dialog starts from the document's choice, and its box decides the export's.
    overlays.data = false;
    document.setPointsOverlays(overlays);
    const AnimationSpec bare = SpecFromDocument(document);
    QVERIFY(!bare.draw_data);
    ExportDialog bare_dialog(bare);
    QCheckBox* data_set = Child<QCheckBox>(&bare_dialog, "data_set");
    QVERIFY(!data_set->isChecked());
    QVERIFY(data_set->isEnabled());
    QVERIFY(!bare_dialog.spec().draw_data);
    data_set->setChecked(true);
    QVERIFY(bare_dialog.spec().draw_data);
    // Images have no data set behind them: the box is off limits there.
    ExportDialog image_dialog(SmallSpec());
    QVERIFY(!Child<QCheckBox>(&image_dialog, "data_set")->isEnabled());
    QVERIFY(image_dialog.spec().draw_data);
  }

  void exportWritesGifAndBundle() {
    QTemporaryDir dir;
    const QString out = dir.filePath(QStringLiteral("noising.gif"));
    ExportDialog dialog(SmallSpec());
    dialog.setOutputPath(out);
    Child<QDoubleSpinBox>(&dialog, "fps")->setValue(12);
    Child<QSpinBox>(&dialog, "crf")->setValue(26);
    QVERIFY(!Child<QSpinBox>(&dialog, "crf")->isEnabled());  // a GIF has no CRF
    QVERIFY2(dialog.exportEnabled(), qPrintable(dialog.problem()));
    QSignalSpy done(&dialog, &ExportDialog::exportFinished);
    QSignalSpy failed(&dialog, &ExportDialog::exportFailed);
    QTest::mouseClick(Child<QPushButton>(&dialog, "export"), Qt::LeftButton);
    QVERIFY(dialog.exporting());
    QVERIFY(!dialog.exportEnabled());
    QTRY_VERIFY_WITH_TIMEOUT(done.count() + failed.count() == 1, 60000);
    QVERIFY2(failed.isEmpty(), qPrintable(dialog.lastMessage()));
    QCOMPARE(done.at(0).at(0).toString(), out);
    QVERIFY(QFileInfo(out).isFile() && QFileInfo(out).size() > 0);
    QVERIFY(QFileInfo(out + QStringLiteral(".json")).isFile());
    QVERIFY(dialog.lastResult().has_value());
    QCOMPARE(dialog.lastResult()->frames, 8);
    QVERIFY(dialog.lastMessage().contains(out + QStringLiteral(".json")));
    QVERIFY(dialog.lastMessage().contains(QStringLiteral("8 frames")));
    QVERIFY(dialog.exportEnabled());
    // The bundle holds the dialog's spec.
    const Bundle bundle = ReadBundle((out + QStringLiteral(".json")).toStdString());
    QCOMPARE(bundle.spec.frames, 8);
    QCOMPARE(bundle.spec.output.fps, 12.0);
    QCOMPARE(bundle.frame_sha256.size(), size_t{8});
    // The frames' size is the preview's.
    QVERIFY(WaitPreview(dialog));
    QCOMPARE(dialog.lastResult()->width, dialog.previewImage(0).width());
    QCOMPARE(dialog.lastResult()->height, dialog.previewImage(0).height());

    // The choices are remembered for the next dialog.
    ExportDialog again(SmallSpec());
    QCOMPARE(QFileInfo(again.outputPath()).absolutePath(), QFileInfo(out).absolutePath());
    QVERIFY(again.format() == ExportFormat::kGif);
    QCOMPARE(Child<QDoubleSpinBox>(&again, "fps")->value(), 12.0);
    QCOMPARE(Child<QSpinBox>(&again, "crf")->value(), 26);
    QCOMPARE(again.spec().output.video_crf, 26);
  }

  void failedExportKeepsTheDialogOpen() {
    QTemporaryDir dir;
    AnimationSpec spec = SmallSpec();
    spec.direction = Direction::kReverse;
    spec.model = "no-such-model";
    ExportDialog dialog(spec);
    dialog.show();
    dialog.setOutputPath(dir.filePath(QStringLiteral("broken.gif")));
    QSignalSpy failed(&dialog, &ExportDialog::exportFailed);
    dialog.startExport();
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 60000);
    QVERIFY2(failed.at(0).at(0).toString().contains(QStringLiteral("unknown model 'no-such-model'")),
             qPrintable(failed.at(0).at(0).toString()));
    QVERIFY(dialog.lastMessage().startsWith(QStringLiteral("Export failed")));
    QVERIFY(dialog.isVisible());
    QVERIFY(dialog.exportEnabled());
    QVERIFY(QDir(dir.path()).isEmpty());
  }

  void cancelLeavesNoFile() {
    QTemporaryDir dir;
    const QString out = dir.filePath(QStringLiteral("long.gif"));
    AnimationSpec spec = SmallSpec();
    spec.max_image_side = 64;
    spec.schedule.num_steps = 1000;
    ExportDialog dialog(spec);
    dialog.setOutputPath(out);
    Child<QSpinBox>(&dialog, "frames")->setValue(1000);
    Child<QSpinBox>(&dialog, "size")->setValue(256);
    QSignalSpy progress(dialog.exportTask(), &BackgroundTask::progress);
    QSignalSpy cancelled(&dialog, &ExportDialog::exportCancelled);
    QSignalSpy done(&dialog, &ExportDialog::exportFinished);
    dialog.startExport();
    QTRY_VERIFY_WITH_TIMEOUT(progress.count() > 0, 60000);
    QVERIFY(Child<QPushButton>(&dialog, "cancel")->isEnabled());
    QTest::mouseClick(Child<QPushButton>(&dialog, "cancel"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(cancelled.count(), 1, 60000);
    QCOMPARE(done.count(), 0);
    QVERIFY(!dialog.exporting());
    QVERIFY(!QFileInfo::exists(out));
    QVERIFY(!QFileInfo::exists(out + QStringLiteral(".json")));
    QVERIFY2(QDir(dir.path()).isEmpty(), qPrintable(QDir(dir.path()).entryList().join(QLatin1Char(' '))));
    QVERIFY(dialog.exportEnabled());
    QVERIFY(dialog.lastMessage().contains(QStringLiteral("cancelled")));
  }

  void closingWhileExportingCancelsFirst() {
    QTemporaryDir dir;
    const QString out = dir.filePath(QStringLiteral("closed.mp4"));
    AnimationSpec spec = SmallSpec();
    spec.max_image_side = 64;
    spec.schedule.num_steps = 1000;
    ExportDialog dialog(spec);
    dialog.show();
    dialog.setOutputPath(out);
    Child<QSpinBox>(&dialog, "frames")->setValue(1000);
    Child<QSpinBox>(&dialog, "size")->setValue(256);
    QSignalSpy progress(dialog.exportTask(), &BackgroundTask::progress);
    QSignalSpy cancelled(&dialog, &ExportDialog::exportCancelled);
    dialog.startExport();
    QTRY_VERIFY_WITH_TIMEOUT(progress.count() > 0, 60000);
    dialog.reject();
    QVERIFY(dialog.isVisible());  // closes once the core has stopped
    QTRY_COMPARE_WITH_TIMEOUT(cancelled.count(), 1, 60000);
    QVERIFY(!dialog.isVisible());
    QVERIFY(QDir(dir.path()).isEmpty());
  }

  void invalidSettingsDisableExport() {
    QTemporaryDir dir;
    ExportDialog dialog(SmallSpec());
    dialog.show();
    dialog.setOutputPath(dir.filePath(QStringLiteral("a.gif")));
    QVERIFY(dialog.exportEnabled());
    auto* problem = Child<QLabel>(&dialog, "problem");
    QVERIFY(!problem->isVisible());

    // A GIF cannot play at 60 fps; MP4 can.
    Child<QDoubleSpinBox>(&dialog, "fps")->setValue(60);
    QVERIFY(!dialog.exportEnabled());
    QVERIFY(problem->isVisible());
    QVERIFY2(problem->text().contains(QStringLiteral("50 fps")), qPrintable(problem->text()));
    Choose(Child<QComboBox>(&dialog, "format"), static_cast<int>(ExportFormat::kMp4));
    QVERIFY2(dialog.exportEnabled(), qPrintable(dialog.problem()));
    QVERIFY(!problem->isVisible());

    // spec.Check(): the scatter layout is for 2D data.
    Choose(Child<QComboBox>(&dialog, "layout"), static_cast<int>(Layout::kScatter));
    QVERIFY(!dialog.exportEnabled());
    QCOMPARE(dialog.problem(), QString::fromStdString(dialog.spec().Check()));
    QVERIFY(problem->text().contains(QStringLiteral("the scatter layout shows 2D data")));
    // The preview says so too, and Export stays off even when clicked.
    QSignalSpy done(&dialog, &ExportDialog::exportFinished);
    dialog.startExport();
    QVERIFY(!dialog.exporting());
    Choose(Child<QComboBox>(&dialog, "layout"), static_cast<int>(Layout::kImage));
    QVERIFY(dialog.exportEnabled());

    // A reverse run must go down in t.
    Choose(Child<QComboBox>(&dialog, "direction"), static_cast<int>(Direction::kReverse));
    Child<QSpinBox>(&dialog, "fromT")->setValue(10);
    Child<QSpinBox>(&dialog, "toT")->setValue(50);
    QVERIFY(!dialog.exportEnabled());
    QVERIFY(dialog.problem().contains(QStringLiteral("reverse run")));
    Child<QSpinBox>(&dialog, "toT")->setValue(0);
    QVERIFY(dialog.exportEnabled());

    // Unknown extensions and missing folders.
    dialog.setOutputPath(dir.filePath(QStringLiteral("a.avi")));
    QVERIFY(!dialog.exportEnabled());
    QVERIFY2(dialog.problem().contains(QStringLiteral(".avi")), qPrintable(dialog.problem()));
    dialog.setOutputPath(dir.filePath(QStringLiteral("missing/a.mp4")));
    QVERIFY(!dialog.exportEnabled());
    QVERIFY(dialog.problem().contains(QStringLiteral("does not exist")));

    // No input at all.
    AnimationSpec none = SmallSpec();
    none.image.clear();
    ExportDialog empty(none);
    QVERIFY(!empty.exportEnabled());
    QVERIFY(empty.problem().contains(QStringLiteral("give exactly one input")));
  }

  void previewShowsFirstAndLastFrames() {
    ExportDialog dialog(SmallSpec());
    Child<QCheckBox>(&dialog, "caption")->setChecked(true);
    QVERIFY(WaitPreview(dialog));
    const QImage first = dialog.previewImage(0), last = dialog.previewImage(1);
    QVERIFY(!first.isNull() && first.width() > 0 && first.height() > 0);
    QVERIFY(!last.isNull() && last.width() > 0 && last.height() > 0);
    QCOMPARE(dialog.previewT(0), 0);
    QCOMPARE(dialog.previewT(1), 100);
    QVERIFY(first != last);  // the data, then pure noise
    QVERIFY(!Child<QLabel>(&dialog, "previewFirst")->pixmap().isNull());
    // Exactly the export's first and last frames.
    const AnimationFrames all = RenderAnimation(dialog.spec());
    QCOMPARE(all.frames.size(), size_t{8});
    QCOMPARE(first, AsQImage(all.frames.front()));
    QCOMPARE(last, AsQImage(all.frames.back()));

    // Options that change the frames make a new preview; the newest request wins.
    QSignalSpy ready(&dialog, &ExportDialog::previewReady);
    for (int to = 10; to <= 50; to += 10) {
      Child<QSpinBox>(&dialog, "toT")->setValue(to);
      dialog.refreshPreview();
    }
    QVERIFY(WaitPreview(dialog));
    QVERIFY(ready.count() >= 1);
    QCOMPARE(dialog.previewT(1), 50);
    // Output-only options do not.
    const quint64 generation = dialog.previewJobs()->generation();
    Child<QDoubleSpinBox>(&dialog, "fps")->setValue(20);
    Child<QDoubleSpinBox>(&dialog, "hold")->setValue(3);
    QTest::qWait(400);
    QCOMPARE(dialog.previewJobs()->generation(), generation);
  }

  void previewOfPoints() {
    AnimationSpec spec;
    spec.data = "moons";
    spec.points = 300;
    spec.data_points = 500;
    spec.schedule.num_steps = 50;
    spec.render.layout = Layout::kScatter;
    spec.render.scatter.width = spec.render.scatter.height = 200;
    spec.direction = Direction::kReverse;
    spec.model = "exact";
    ExportDialog dialog(spec);
    QVERIFY2(WaitPreview(dialog), qPrintable(Child<QLabel>(&dialog, "previewStatus")->text()));
    QCOMPARE(dialog.previewImage(0).size(), QSize(200, 200));
    QCOMPARE(dialog.previewT(0), 50);
    QCOMPARE(dialog.previewT(1), 0);
    QVERIFY(dialog.previewImage(0) != dialog.previewImage(1));
  }

  void screenshot() {
    const QByteArray target = qgetenv("DIFFUSCOPE_SCREENSHOT");
    if (target.isEmpty()) QSKIP("set DIFFUSCOPE_SCREENSHOT=out.png (under xvfb-run) to capture the dialog");
    AnimationSpec spec = SmallSpec();
    spec.max_image_side = 128;
    spec.schedule.num_steps = 1000;
    spec.render.min_cell = 256;
    spec.render.caption = true;
    spec.frames = 60;
    ExportDialog dialog(spec);
    dialog.setOutputPath(QDir::tempPath() + QStringLiteral("/butterfly_forward.gif"));
    dialog.move(20, 20);
    dialog.show();
    QVERIFY(QTest::qWaitForWindowExposed(&dialog));
    QVERIFY(WaitPreview(dialog));
    QTest::qWait(500);
    auto capture = [&](const QString& file) {
      const QRect frame = dialog.frameGeometry();
      const QString crop =
          QStringLiteral("%1x%2+%3+%4").arg(frame.width()).arg(frame.height()).arg(frame.x()).arg(frame.y());
      QProcess import;
      import.start(QStringLiteral("import"), {QStringLiteral("-window"), QStringLiteral("root"),
                                              QStringLiteral("-crop"), crop, QStringLiteral("+repage"), file});
      return import.waitForFinished(30000) && import.exitCode() == 0;
    };
    QVERIFY(capture(QString::fromLocal8Bit(target)));
    // And while exporting (beside it, "-exporting" added): the progress bar and Cancel.
    QTemporaryDir dir;
    dialog.setOutputPath(dir.filePath(QStringLiteral("butterfly_forward.gif")));
    QSignalSpy progress(dialog.exportTask(), &BackgroundTask::progress);
    dialog.startExport();
    QTRY_VERIFY_WITH_TIMEOUT(progress.count() > 3, 60000);
    QString busy = QString::fromLocal8Bit(target);
    busy.insert(busy.lastIndexOf(QLatin1Char('.')), QStringLiteral("-exporting"));
    QVERIFY(capture(busy));
    QSignalSpy cancelled(&dialog, &ExportDialog::exportCancelled);
    QSignalSpy done(&dialog, &ExportDialog::exportFinished);
    dialog.cancelExport();
    QTRY_VERIFY_WITH_TIMEOUT(cancelled.count() + done.count() == 1, 60000);
  }
};

QTEST_MAIN(ExportDialogTest)
#include "export_dialog_test.moc"

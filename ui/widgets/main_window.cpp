#include "ui/widgets/main_window.h"

#include "core/data/image_io.h"
#include "ui/state/resources_dir.h"
#include "ui/state/session.h"
#include "ui/state/settings.h"
#include "ui/widgets/compare_dialog.h"
#include "ui/widgets/export_dialog.h"
#include "ui/widgets/image_workspace.h"
#include "ui/widgets/likelihood_dialog.h"
#include "ui/widgets/memorisation_dialog.h"
#include "ui/widgets/points_workspace.h"
#include "ui/widgets/schedule_panel.h"
#include "ui/widgets/training_panel.h"
#include "ui/widgets/ui_resources.h"

#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QScreen>
#include <QSpinBox>
#include <QStatusBar>
#include <QStyle>
#include <QTabWidget>
#include <QToolBar>
#include <QVBoxLayout>

#include <cmath>

#ifndef DIFFUSCOPE_VERSION
#define DIFFUSCOPE_VERSION "0.0.0"
#endif

namespace diffuscope::ui {

namespace {

bool IsSessionFile(const QString& path) {
  return path.endsWith(QLatin1String(".json"), Qt::CaseInsensitive) ||
         path.endsWith(QLatin1String(".diffuscope"), Qt::CaseInsensitive);
}

bool IsPointsFile(const QString& path) {
  return path.endsWith(QLatin1String(".csv"), Qt::CaseInsensitive) ||
         path.endsWith(QLatin1String(".tsv"), Qt::CaseInsensitive);
}

bool IsModelFile(const QString& path) { return path.endsWith(QLatin1String(".dfm"), Qt::CaseInsensitive); }

QString FormatNumber(double value) {
  if (std::isinf(value)) return QStringLiteral("inf");
  if (value != 0 && (std::abs(value) < 1e-3 || std::abs(value) >= 1e4)) return QString::number(value, 'e', 3);
  return QString::number(value, 'g', 4);
}

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  InitResources();
  setWindowTitle(QStringLiteral("Diffuscope"));
  setWindowIcon(QIcon(QStringLiteral(":/diffuscope/diffuscope.svg")));
  setAcceptDrops(true);
  setObjectName(QStringLiteral("MainWindow"));

  // Remembered parameters first, so the views start from them.
  {
    const QSignalBlocker blocker(&document_);
    document_.apply(Document::Param::kSchedule, QVariant::fromValue(Settings::Schedule()));
    document_.apply(Document::Param::kSeed, QVariant::fromValue(static_cast<qulonglong>(Settings::Seed())));
  }
  timeline_.setNumSteps(document_.numSteps());

  image_workspace_ = new ImageWorkspace(&document_, &timeline_);
  points_workspace_ = new PointsWorkspace(&document_, &timeline_);
  tabs_ = new QTabWidget;
  tabs_->setDocumentMode(true);
  tabs_->addTab(image_workspace_, tr("Images"));
  tabs_->addTab(points_workspace_, tr("2D points"));
  tabs_->setTabToolTip(0, tr("Noise and denoise images (Ctrl+1)"));
  tabs_->setTabToolTip(1, tr("Diffusion of 2D point clouds, exact and learned models (Ctrl+2)"));
  timeline_widget_ = new TimelineWidget(&timeline_);
  auto* central = new QWidget;
  auto* layout = new QVBoxLayout(central);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(0);
  layout->addWidget(tabs_, 1);
  layout->addWidget(timeline_widget_);
  setCentralWidget(central);

  schedule_panel_ = new SchedulePanel(&document_);
  auto* dock = new QDockWidget(tr("Schedule"), this);
  dock->setObjectName(QStringLiteral("ScheduleDock"));
  dock->setWidget(schedule_panel_);
  dock->setMinimumWidth(340);
  addDockWidget(Qt::RightDockWidgetArea, dock);

  status_label_ = new QLabel;
  status_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  statusBar()->addPermanentWidget(status_label_);

  createActions();
  dock->toggleViewAction()->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_B));
  dock->toggleViewAction()->setToolTip(tr("Show or hide the schedule panel (Ctrl+B)"));
  menuBar()->actions().value(2)->menu()->addAction(dock->toggleViewAction());

  // t: the timeline and the document follow each other.
  connect(&timeline_, &TimelineModel::tChanged, &document_, &Document::setT);
  connect(&document_, &Document::tChanged, &timeline_, &TimelineModel::setT);
  connect(&document_, &Document::scheduleChanged, this, [this] {
    timeline_.setNumSteps(document_.numSteps());
    Settings::SetSchedule(document_.scheduleOptions());
  });
  connect(&document_, &Document::seedChanged, this, [this](quint64 seed) {
    const QSignalBlocker blocker(seed_box_);
    seed_box_->setValue(static_cast<int>(std::min<quint64>(seed, 2147483647)));
    Settings::SetSeed(seed);
  });
  connect(&document_, &Document::forwardPathChanged, this, [this] {
    const QSignalBlocker blocker(path_box_);
    path_box_->setCurrentIndex(static_cast<int>(document_.forwardPath()));
  });
  for (auto signal : {&Document::tChanged}) connect(&document_, signal, this, &MainWindow::updateStatus);
  connect(&document_, &Document::scheduleChanged, this, &MainWindow::updateStatus);
  connect(&document_, &Document::seedChanged, this, &MainWindow::updateStatus);
  connect(tabs_, &QTabWidget::currentChanged, &document_, &Document::setWorkspace);
  connect(&document_, &Document::workspaceChanged, tabs_, &QTabWidget::setCurrentIndex);

  for (auto* workspace : std::initializer_list<QObject*>{image_workspace_, points_workspace_}) {
    (void)workspace;
  }
  connect(image_workspace_, &ImageWorkspace::errorOccurred, this, &MainWindow::showError);
  connect(points_workspace_, &PointsWorkspace::errorOccurred, this, &MainWindow::showError);
  connect(image_workspace_, &ImageWorkspace::statusMessage, this,
          [this](const QString& message) { statusBar()->showMessage(message, 4000); });
  connect(points_workspace_, &PointsWorkspace::statusMessage, this,
          [this](const QString& message) { statusBar()->showMessage(message, 4000); });

  // Bundled defaults: the sample photograph, the dino, and a trained dino model when one is shipped.
  const QString photo = ResourcePath(QStringLiteral("images/chicky_512.png"));
  if (!photo.isEmpty()) openImage(photo, /*quiet=*/true);
  points_workspace_->setDataset(QStringLiteral("dino"));
  const QString dino_model = ResourcePath(QStringLiteral("models/ddpm-2d-dino.dfm"));
  if (!dino_model.isEmpty() && points_workspace_->trainingPanel()->loadModel(dino_model)) {
    statusBar()->showMessage(tr("Loaded the bundled dino model"), 3000);
  }

  // First start: nearly the whole screen. Later starts: the remembered layout.
  if (QScreen* screen = QGuiApplication::primaryScreen()) {
    const QRect available = screen->availableGeometry();
    resize(std::min(available.width(), 1680), std::min(available.height(), 1050));
    move(available.topLeft());
  }
  restoreGeometry(Settings::WindowGeometry());
  restoreState(Settings::WindowState());
  document_.undoStack()->clear();
  updateStatus();
}

MainWindow::~MainWindow() = default;

void MainWindow::createActions() {
  QStyle* s = style();
  auto make = [this](const QString& text, const QKeySequence& key, const QString& tip, const QIcon& icon = {}) {
    auto* action = new QAction(icon, text, this);
    if (!key.isEmpty()) action->setShortcut(key);
    action->setToolTip(key.isEmpty() ? tip
                                     : QStringLiteral("%1 (%2)").arg(tip, key.toString(QKeySequence::NativeText)));
    action->setStatusTip(tip);
    return action;
  };

  // File.
  QMenu* file = menuBar()->addMenu(tr("&File"));
  auto* open_image = make(tr("&Open Image..."), QKeySequence::Open, tr("Open an image (PNG, JPEG, TIFF, 8 or 16 bit)"),
                          s->standardIcon(QStyle::SP_DialogOpenButton));
  connect(open_image, &QAction::triggered, this, &MainWindow::openImageDialog);
  file->addAction(open_image);
  recent_menu_ = file->addMenu(tr("Open &Recent"));
  recent_menu_->setToolTipsVisible(true);
  updateRecentMenu();
  auto* open_points =
      make(tr("Open &Points (CSV)..."), QKeySequence(Qt::CTRL | Qt::Key_P), tr("Open x,y points for the 2D workspace"));
  connect(open_points, &QAction::triggered, this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open points"), Settings::LastFolder("points"),
                                                      tr("Point files (*.csv *.tsv *.txt);;All files (*)"));
    if (path.isEmpty()) return;
    Settings::SetLastFolder("points", QFileInfo(path).absolutePath());
    try {
      document_.setPoints(LoadPoints(path, 2000, 1));
      tabs_->setCurrentIndex(1);
    } catch (const Error& error) {
      showError(tr("Could not open %1").arg(QFileInfo(path).fileName()), QString::fromUtf8(error.what()));
    }
  });
  file->addAction(open_points);
  file->addSeparator();
  auto* open_session = make(tr("Open &Session..."), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O),
                            tr("Open a saved session (image or points, schedule, model, sampler, seed, t)"));
  connect(open_session, &QAction::triggered, this, &MainWindow::openSessionDialog);
  file->addAction(open_session);
  auto* save_session = make(tr("&Save Session"), QKeySequence::Save, tr("Save the session to its file"),
                            s->standardIcon(QStyle::SP_DialogSaveButton));
  connect(save_session, &QAction::triggered, this, [this] {
    if (session_path_.isEmpty()) saveSessionDialog();
    else saveSession(session_path_);
  });
  file->addAction(save_session);
  auto* save_as = make(tr("Save Session &As..."), QKeySequence::SaveAs, tr("Save the session to a new file"));
  connect(save_as, &QAction::triggered, this, &MainWindow::saveSessionDialog);
  file->addAction(save_as);
  file->addSeparator();
  auto* export_animation =
      make(tr("&Export Animation..."), QKeySequence(Qt::CTRL | Qt::Key_E),
           tr("Export the current run as GIF, MP4, WebM or PNG frames, with a bundle to remake it"),
           s->standardIcon(QStyle::SP_DialogSaveButton));
  connect(export_animation, &QAction::triggered, this, [this] {
    const Direction direction =
        timeline_.direction() == TimelineModel::Direction::kReverse ? Direction::kReverse : Direction::kForward;
    ExportDialog::Open(this, SpecFromDocument(document_, direction));
  });
  file->addAction(export_animation);
  file->addSeparator();
  auto* quit = make(tr("&Quit"), QKeySequence::Quit, tr("Quit Diffuscope"));
  connect(quit, &QAction::triggered, this, &QWidget::close);
  file->addAction(quit);

  // Edit.
  QMenu* edit = menuBar()->addMenu(tr("&Edit"));
  QAction* undo = document_.undoStack()->createUndoAction(this, tr("&Undo"));
  undo->setShortcut(QKeySequence::Undo);
  undo->setToolTip(tr("Undo the last parameter change (Ctrl+Z)"));
  undo->setIcon(s->standardIcon(QStyle::SP_ArrowBack));
  QAction* redo = document_.undoStack()->createRedoAction(this, tr("&Redo"));
  redo->setShortcut(QKeySequence::Redo);
  redo->setToolTip(tr("Redo (Ctrl+Shift+Z)"));
  redo->setIcon(s->standardIcon(QStyle::SP_ArrowForward));
  edit->addAction(undo);
  edit->addAction(redo);
  edit->addSeparator();
  auto* new_noise = make(tr("&New Noise"), QKeySequence(Qt::CTRL | Qt::Key_N), tr("Draw new noise: the next seed"),
                         s->standardIcon(QStyle::SP_BrowserReload));
  connect(new_noise, &QAction::triggered, this, [this] { document_.setSeed(document_.seed() + 1); });
  edit->addAction(new_noise);

  // View.
  QMenu* view = menuBar()->addMenu(tr("&View"));
  auto* images = make(tr("&Images Workspace"), QKeySequence(Qt::CTRL | Qt::Key_1), tr("Show the images workspace"));
  connect(images, &QAction::triggered, this, [this] { tabs_->setCurrentIndex(0); });
  auto* points = make(tr("&2D Workspace"), QKeySequence(Qt::CTRL | Qt::Key_2), tr("Show the 2D points workspace"));
  connect(points, &QAction::triggered, this, [this] { tabs_->setCurrentIndex(1); });
  view->addAction(images);
  view->addAction(points);
  view->addSeparator();

  // Playback: the timeline's actions carry the keyboard shortcuts for the whole window.
  QMenu* playback = menuBar()->addMenu(tr("&Playback"));
  for (QAction* action : timeline_widget_->actions_()) {
    playback->addAction(action);
    addAction(action);
  }
  playback->addSeparator();
  auto* run =
      make(tr("&Run Reverse"), QKeySequence(Qt::CTRL | Qt::Key_R),
           tr("Denoise the image / sample the particles in the background"), ThemedIcon(QStyle::SP_MediaPlay, this));
  connect(run, &QAction::triggered, this, [this] {
    if (tabs_->currentIndex() == 0) image_workspace_->startReverse();
    else points_workspace_->startReverse();
  });
  auto* cancel = make(tr("&Cancel"), QKeySequence(Qt::Key_Escape), tr("Cancel the running reverse run or training"),
                      s->standardIcon(QStyle::SP_BrowserStop));
  connect(cancel, &QAction::triggered, this, [this] {
    image_workspace_->cancelReverse();
    points_workspace_->cancelReverse();
    points_workspace_->trainingPanel()->cancelTraining();
  });
  auto* train =
      make(tr("&Train Model"), QKeySequence(Qt::CTRL | Qt::Key_T), tr("Train a DDPM on the current 2D points"));
  connect(train, &QAction::triggered, this, [this] {
    tabs_->setCurrentIndex(1);
    points_workspace_->trainingPanel()->startTraining();
  });
  playback->addAction(run);
  playback->addAction(cancel);
  playback->addAction(train);
  playback->addAction(tr("&Memorisation Study..."), this, [this] {  // issue 10: when the 2D DDPM stops copying
    auto* study = new MemorisationDialog(this);
    study->setAttribute(Qt::WA_DeleteOnClose);
    study->show();
  });
  // Issue 10: the 2D workspace's model measured (Compare: ODE against SDE, flow matching against a DDPM; Likelihood).
  playback->addAction(tr("C&ompare..."), this, [this] {
    auto* compare = new CompareDialog(points_workspace_->currentModel(), this);
    compare->setAttribute(Qt::WA_DeleteOnClose);
    compare->show();
  });
  playback->addAction(tr("Li&kelihood..."), this, [this] {
    auto* likelihood = new LikelihoodDialog(points_workspace_->currentModel(), this);
    likelihood->setAttribute(Qt::WA_DeleteOnClose);
    likelihood->show();
  });

  // Help.
  QMenu* help = menuBar()->addMenu(tr("&Help"));
  auto* about = make(tr("&About Diffuscope"), QKeySequence(), tr("Version and licences"));
  connect(about, &QAction::triggered, this, &MainWindow::showAbout);
  help->addAction(about);
  auto* about_qt = make(tr("About &Qt"), QKeySequence(), tr("The Qt version in use"));
  connect(about_qt, &QAction::triggered, qApp, &QApplication::aboutQt);
  help->addAction(about_qt);

  // Toolbar: files, seed and forward path, undo.
  QToolBar* bar = addToolBar(tr("Main"));
  bar->setObjectName(QStringLiteral("MainToolBar"));
  bar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
  bar->addAction(open_image);
  bar->addAction(save_session);
  bar->addSeparator();
  bar->addWidget(new QLabel(tr(" Seed ")));
  seed_box_ = new QSpinBox;
  seed_box_->setRange(0, 2147483647);
  seed_box_->setValue(static_cast<int>(std::min<quint64>(document_.seed(), 2147483647)));
  seed_box_->setKeyboardTracking(false);
  seed_box_->setToolTip(tr("Seed of every random draw: the same seed gives the same noise, bit for bit"));
  connect(seed_box_, &QSpinBox::valueChanged, this,
          [this](int seed) { document_.setSeed(static_cast<uint64_t>(seed)); });
  bar->addWidget(seed_box_);
  bar->addAction(new_noise);
  bar->addSeparator();
  bar->addWidget(new QLabel(tr(" Forward path ")));
  path_box_ = new QComboBox;
  path_box_->addItem(tr("Closed form"));
  path_box_->addItem(tr("Markov chain"));
  path_box_->addItem(tr("Fresh noise"));
  path_box_->setItemData(0, tr("x_t = sqrt(alpha_bar) x_0 + sqrt(1 - alpha_bar) eps with one fixed eps"),
                         Qt::ToolTipRole);
  path_box_->setItemData(1, tr("The step-by-step chain's x_t on one fixed path"), Qt::ToolTipRole);
  path_box_->setItemData(2, tr("Closed form with new noise every frame"), Qt::ToolTipRole);
  path_box_->setToolTip(tr("How x_t of the forward process is drawn"));
  connect(path_box_, &QComboBox::currentIndexChanged, this,
          [this](int index) { document_.setForwardPath(static_cast<ForwardPath>(index)); });
  bar->addWidget(path_box_);
  bar->addSeparator();
  bar->addAction(run);
  bar->addAction(cancel);
  bar->addSeparator();
  bar->addAction(undo);
  bar->addAction(redo);
}

void MainWindow::updateStatus() {
  const NoiseSchedule& schedule = *document_.schedule();
  const int t = document_.t();
  QString text;
  if (t == 0) {
    text = tr("t = 0 (the data)   alpha_bar = 1   SNR = inf");
  } else {
    text = tr("t = %1 / %2   beta_t = %3   alpha_bar_t = %4   SNR = %5 (log %6)")
               .arg(t)
               .arg(schedule.num_steps())
               .arg(FormatNumber(schedule.beta(t)))
               .arg(FormatNumber(schedule.alpha_bar(t)))
               .arg(FormatNumber(schedule.snr(t)))
               .arg(FormatNumber(schedule.log_snr(t)));
  }
  text += tr("   seed %1").arg(document_.seed());
  status_label_->setText(text);
}

QString MainWindow::statusText() const { return status_label_->text(); }

void MainWindow::showError(const QString& title, const QString& message) {
  if (qEnvironmentVariableIsSet("DIFFUSCOPE_NO_DIALOGS")) {
    statusBar()->showMessage(title + ": " + message, 8000);
    return;
  }
  QMessageBox box(QMessageBox::Warning, title, title, QMessageBox::Ok, this);
  box.setInformativeText(message);
  box.exec();
}

bool MainWindow::openImage(const QString& path, bool quiet) {
  if (IsSessionFile(path)) return openSession(path, quiet);
  try {
    ImageData image;
    try {
      image = LoadImageFile(path);
    } catch (const ImageTooLarge& too_large) {
      if (quiet) throw;
      const auto answer = QMessageBox::question(
          this, tr("Large image"),
          tr("%1 is %2 x %3 pixels, more than Diffuscope handles interactively (%4 megapixels).\n\n"
             "Downscale it to fit?")
              .arg(QFileInfo(path).fileName())
              .arg(too_large.width)
              .arg(too_large.height)
              .arg(kMaxImagePixels / 1e6, 0, 'f', 1),
          QMessageBox::Yes | QMessageBox::No, QMessageBox::Yes);
      if (answer != QMessageBox::Yes) return false;
      image = LoadImageFile(path, /*downscale=*/true);
    }
    document_.setImage(std::move(image));
    Settings::AddRecentFile(path);
    updateRecentMenu();
    tabs_->setCurrentIndex(0);
    statusBar()->showMessage(tr("Opened %1").arg(QFileInfo(path).fileName()), 3000);
    return true;
  } catch (const Error& error) {
    if (!quiet) showError(tr("Could not open %1").arg(QFileInfo(path).fileName()), QString::fromUtf8(error.what()));
    else statusBar()->showMessage(QString::fromUtf8(error.what()), 8000);
    return false;
  }
}

void MainWindow::openImageDialog() {
  const QString path = QFileDialog::getOpenFileName(
      this, tr("Open an image"), Settings::LastFolder("images"),
      tr("Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp *.pgm *.ppm);;All files (*)"));
  if (path.isEmpty()) return;
  Settings::SetLastFolder("images", QFileInfo(path).absolutePath());
  openImage(path);
}

void MainWindow::updateRecentMenu() {
  recent_menu_->clear();
  const QStringList files = Settings::RecentFiles();
  for (const QString& path : files) {
    QAction* action = recent_menu_->addAction(QFileInfo(path).fileName());
    action->setToolTip(path);
    connect(action, &QAction::triggered, this, [this, path] { openImage(path); });
  }
  recent_menu_->setEnabled(!files.isEmpty());
}

bool MainWindow::openSession(const QString& path, bool quiet) {
  try {
    const Session session = LoadSession(path);
    ApplySession(session, &document_);
    timeline_.setDirection(session.direction == QLatin1String("reverse") ? TimelineModel::Direction::kReverse
                                                                         : TimelineModel::Direction::kForward);
    session_path_ = path;
    setWindowTitle(tr("%1 - Diffuscope").arg(QFileInfo(path).fileName()));
    statusBar()->showMessage(tr("Opened session %1").arg(QFileInfo(path).fileName()), 3000);
    return true;
  } catch (const Error& error) {
    if (!quiet) showError(tr("Could not open the session"), QString::fromUtf8(error.what()));
    return false;
  }
}

bool MainWindow::saveSession(const QString& path, bool quiet) {
  try {
    const QString direction = timeline_.direction() == TimelineModel::Direction::kReverse ? QStringLiteral("reverse")
                                                                                          : QStringLiteral("forward");
    SaveSession(path, CaptureSession(document_, direction));
    session_path_ = path;
    setWindowTitle(tr("%1 - Diffuscope").arg(QFileInfo(path).fileName()));
    statusBar()->showMessage(tr("Saved %1").arg(QFileInfo(path).fileName()), 3000);
    return true;
  } catch (const Error& error) {
    if (!quiet) showError(tr("Could not save the session"), QString::fromUtf8(error.what()));
    return false;
  }
}

void MainWindow::openSessionDialog() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Open a session"), Settings::LastFolder("sessions"),
                                                    tr("Diffuscope sessions (*.json);;All files (*)"));
  if (path.isEmpty()) return;
  Settings::SetLastFolder("sessions", QFileInfo(path).absolutePath());
  openSession(path);
}

void MainWindow::saveSessionDialog() {
  QString path = QFileDialog::getSaveFileName(this, tr("Save the session"), Settings::LastFolder("sessions"),
                                              tr("Diffuscope sessions (*.json)"));
  if (path.isEmpty()) return;
  if (!path.endsWith(QLatin1String(".json"), Qt::CaseInsensitive)) path += QLatin1String(".json");
  Settings::SetLastFolder("sessions", QFileInfo(path).absolutePath());
  saveSession(path);
}

void MainWindow::showAbout() {
  QMessageBox::about(this, tr("About Diffuscope"),
                     tr("<h3>Diffuscope %1</h3>"
                        "<p>Watch diffusion models work, step by step: the forward process q(x_t | x_0), the reverse "
                        "process p(x_{t-1} | x_t), their schedules, and models trained in the app.</p>"
                        "<p>Built with Qt %2, Eigen and OpenCV.</p>"
                        "<h4>Bundled data</h4>"
                        "<ul>"
                        "<li>Sample photographs (chicky_512, butterfly, baboon, fruits): OpenCV samples, "
                        "Apache-2.0 / BSD-3-Clause.</li>"
                        "<li>The Datasaurus Dozen (dino and friends): Matejka and Fitzmaurice, \"Same Stats, Different "
                        "Graphs\" (2017), free to use.</li>"
                        "<li>The application icon: drawn for Diffuscope.</li>"
                        "</ul>")
                         .arg(QStringLiteral(DIFFUSCOPE_VERSION), QString::fromLatin1(qVersion())));
}

void MainWindow::closeEvent(QCloseEvent* event) {
  Settings::SetWindowLayout(saveGeometry(), saveState());
  Settings::SetSchedule(document_.scheduleOptions());
  Settings::SetSeed(document_.seed());
  timeline_.pause();
  image_workspace_->cancelReverse();
  points_workspace_->cancelReverse();
  points_workspace_->trainingPanel()->cancelTraining();
  event->accept();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  if (event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
  const QList<QUrl> urls = event->mimeData()->urls();
  if (urls.isEmpty() || !urls.front().isLocalFile()) return;
  const QString path = urls.front().toLocalFile();
  event->acceptProposedAction();
  if (IsSessionFile(path)) {
    openSession(path);
  } else if (IsPointsFile(path)) {
    try {
      document_.setPoints(LoadPoints(path, 2000, 1));
      tabs_->setCurrentIndex(1);
    } catch (const Error& error) {
      showError(tr("Could not open %1").arg(QFileInfo(path).fileName()), QString::fromUtf8(error.what()));
    }
  } else if (IsModelFile(path)) {
    tabs_->setCurrentIndex(1);
    points_workspace_->trainingPanel()->loadModel(path);
  } else if (tabs_->currentIndex() == 1 && (event->modifiers() & Qt::ShiftModifier)) {
    try {
      document_.setPoints(LoadPoints(path, 2000, 1));  // Shift+drop an image on the 2D view: a silhouette
    } catch (const Error& error) {
      showError(tr("Could not use %1").arg(QFileInfo(path).fileName()), QString::fromUtf8(error.what()));
    }
  } else {
    openImage(path);
  }
}

}  // namespace diffuscope::ui

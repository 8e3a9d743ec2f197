// diffuscope: the desktop application. Opens on the bundled sample photograph and the dino point set;
// `diffuscope IMAGE` opens an image, `diffuscope SESSION.json` a saved session. The other options script a
// start (for demos and screenshots): e.g. `diffuscope --workspace 2d --schedule cosine:50 --train 10000
// --sample --play` trains a DDPM on the dino, samples it and plays the reverse run.
#include "core/schedule/schedule.h"
#include "ui/image_workspace.h"
#include "ui/main_window.h"
#include "ui/points_workspace.h"
#include "ui/training_panel.h"

#include <QApplication>
#include <QPalette>
#include <QCommandLineParser>
#include <QIcon>
#include <QTimer>

#include <cstdio>
#include <string_view>

#ifndef DIFFUSCOPE_VERSION
#define DIFFUSCOPE_VERSION "0.0.0"
#endif

using diffuscope::ui::MainWindow;

namespace {

// "cosine:50" -> options; nullopt (and a message) when it does not parse.
std::optional<diffuscope::ScheduleOptions> ParseScheduleArgument(const QString& text) {
  const QStringList parts = text.split(':');
  const auto kind = diffuscope::ParseScheduleKind(parts.front().toStdString());
  if (!kind) return std::nullopt;
  diffuscope::ScheduleOptions options;
  options.kind = *kind;
  if (parts.size() > 1) {
    bool ok = false;
    options.num_steps = parts[1].toInt(&ok);
    if (!ok) return std::nullopt;
  }
  if (!options.Check().empty()) return std::nullopt;
  return options;
}

// Runs the reverse process of the current workspace, then plays it or moves to t = show_t (>= 0) when asked.
void StartReverse(MainWindow* window, bool play, int show_t) {
  if (play || show_t >= 0) {
    auto start_play = [window, play, show_t] {
      if (show_t >= 0) window->document()->setT(show_t);
      else if (play) window->timeline()->play();
    };
    QObject::connect(window->imageWorkspace(), &diffuscope::ui::ImageWorkspace::reverseFinished, window, start_play,
                     Qt::SingleShotConnection);
    QObject::connect(window->pointsWorkspace(), &diffuscope::ui::PointsWorkspace::reverseFinished, window,
                     start_play, Qt::SingleShotConnection);
  }
  if (window->document()->workspace() == 0) window->imageWorkspace()->startReverse();
  else window->pointsWorkspace()->startReverse();
}

}  // namespace

// A dark Fusion palette (DIFFUSCOPE_PALETTE=dark), for desktops whose dark theme Qt does not pick up.
QPalette DarkPalette() {
  QPalette p;
  const QColor window(45, 45, 48), base(30, 30, 32), text(220, 220, 220), disabled(127, 127, 127);
  p.setColor(QPalette::Window, window);
  p.setColor(QPalette::WindowText, text);
  p.setColor(QPalette::Base, base);
  p.setColor(QPalette::AlternateBase, window);
  p.setColor(QPalette::ToolTipBase, base);
  p.setColor(QPalette::ToolTipText, text);
  p.setColor(QPalette::Text, text);
  p.setColor(QPalette::Button, window);
  p.setColor(QPalette::ButtonText, text);
  p.setColor(QPalette::BrightText, Qt::red);
  p.setColor(QPalette::Link, QColor(90, 160, 255));
  p.setColor(QPalette::Highlight, QColor(42, 130, 218));
  p.setColor(QPalette::HighlightedText, Qt::black);
  p.setColor(QPalette::PlaceholderText, disabled);
  p.setColor(QPalette::Light, QColor(80, 80, 84));
  p.setColor(QPalette::Midlight, QColor(64, 64, 68));
  p.setColor(QPalette::Mid, QColor(90, 90, 94));
  p.setColor(QPalette::Dark, QColor(25, 25, 27));
  for (const auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText}) {
    p.setColor(QPalette::Disabled, role, disabled);
  }
  return p;
}

// The command line's options, in one place for both the display-free --help / --version and the app.
struct Options {
  const QCommandLineOption workspace{QStringLiteral("workspace"), QStringLiteral("Start in a workspace: images or 2d."),
                                     QStringLiteral("name")};
  const QCommandLineOption schedule{QStringLiteral("schedule"),
                                    QStringLiteral("Use a schedule, KIND[:T], e.g. cosine:50."), QStringLiteral("kind:T")};
  const QCommandLineOption dataset{QStringLiteral("dataset"), QStringLiteral("2D data set (dino, moons, ...)."),
                                   QStringLiteral("name")};
  const QCommandLineOption t_option{QStringLiteral("t"),
                                    QStringLiteral("Start at timestep t (with --sample: show the run at t)."),
                                    QStringLiteral("t")};
  const QCommandLineOption seed{QStringLiteral("seed"), QStringLiteral("Seed of every random draw."),
                                QStringLiteral("seed")};
  const QCommandLineOption panels{QStringLiteral("panels"),
                                  QStringLiteral("Images: show x0_hat, eps_hat, the noise and the histogram.")};
  const QCommandLineOption field{QStringLiteral("field"), QStringLiteral("2D: show the field, score or drift."),
                                 QStringLiteral("kind")};
  const QCommandLineOption trajectories{QStringLiteral("trajectories"), QStringLiteral("2D: show trajectories.")};
  const QCommandLineOption train{QStringLiteral("train"),
                                 QStringLiteral("2D: train a DDPM on the points for N updates at start."),
                                 QStringLiteral("N")};
  const QCommandLineOption eta{QStringLiteral("eta"), QStringLiteral("DDIM eta of reverse runs (0 = deterministic)."),
                               QStringLiteral("eta")};
  const QCommandLineOption from_t{QStringLiteral("from-t"),
                                  QStringLiteral("Reverse runs start from the noised data at the current t.")};
  const QCommandLineOption sample{QStringLiteral("sample"),
                                  QStringLiteral("Run the reverse process at start (after --train).")};
  const QCommandLineOption play{QStringLiteral("play"), QStringLiteral("Play (after --sample: the reverse run).")};
  const QCommandLineOption model_option{
      QStringLiteral("model"),
      QStringLiteral("The model: images (ddpm-photo, sr3-photo, oracle, empirical, patch, sr3-digits, "
                     "sr3-digits-5x5, ddpm-digits, a .dfm) "
                     "or, with --workspace 2d, points (empirical, mixture, sohl-dickstein-swissroll)."),
      QStringLiteral("name")};
  const QCommandLineOption digit{QStringLiteral("digit"),
                                 QStringLiteral("SR3: super-resolve held-out digit N (0..499); -1: the open image."),
                                 QStringLiteral("N")};
  const QCommandLineOption steps{QStringLiteral("steps"), QStringLiteral("Steps of reverse runs."),
                                 QStringLiteral("N")};
  const QCommandLineOption predictions{QStringLiteral("predictions"), QStringLiteral("Images: show x0_hat and eps_hat.")};
  const QCommandLineOption working_size{
      QStringLiteral("working-size"),
      QStringLiteral("Images, learned models: the longest side runs compute at (0: the image's own)."),
      QStringLiteral("N")};
  const QCommandLineOption no_simulate{
      QStringLiteral("no-simulate"),
      QStringLiteral("sr3-photo: super-resolve the photo itself instead of its 4x downscaled view.")};
};

void Describe(QCommandLineParser& parser, const Options& o) {
  parser.setApplicationDescription(QStringLiteral("Watch diffusion models work, step by step."));
  parser.addHelpOption();
  parser.addVersionOption();
  parser.addPositionalArgument(QStringLiteral("file"), QStringLiteral("An image or a session (.json) to open."),
                               QStringLiteral("[file]"));
  for (const auto& option : {o.workspace, o.schedule, o.dataset, o.t_option, o.seed, o.panels, o.field,
                             o.trajectories, o.train, o.eta, o.from_t, o.sample, o.play, o.model_option, o.digit,
                             o.steps, o.predictions, o.working_size, o.no_simulate}) {
    parser.addOption(option);
  }
}

void SetNames() {
  QCoreApplication::setOrganizationName(QStringLiteral("Diffuscope"));
  QCoreApplication::setApplicationName(QStringLiteral("diffuscope"));
  QCoreApplication::setApplicationVersion(QStringLiteral(DIFFUSCOPE_VERSION));
}

// --help and --version print and exit without a display: they run under a QCoreApplication.
bool AsksForHelpOrVersion(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--") break;
    if (a == "-h" || a == "--help" || a == "--help-all" || a == "-?" || a == "-v" || a == "--version") return true;
  }
  return false;
}

int main(int argc, char** argv) {
  const Options o;
  if (AsksForHelpOrVersion(argc, argv)) {
    QCoreApplication core(argc, argv);
    SetNames();
    QCommandLineParser parser;
    Describe(parser, o);
    parser.process(core);  // prints and exits
    return 0;
  }
  QApplication app(argc, argv);
  if (qEnvironmentVariable("DIFFUSCOPE_PALETTE") == QLatin1String("dark")) {
    QApplication::setStyle(QStringLiteral("Fusion"));
    QApplication::setPalette(DarkPalette());
  }
  SetNames();
  QApplication::setApplicationDisplayName(QStringLiteral("Diffuscope"));
  QApplication::setDesktopFileName(QStringLiteral("diffuscope"));

  QCommandLineParser parser;
  Describe(parser, o);
  parser.process(app);

  MainWindow window;
  window.show();
  const QStringList files = parser.positionalArguments();
  if (!files.isEmpty()) window.openImage(files.front());
  diffuscope::ui::Document* document = window.document();
  if (parser.isSet(o.schedule)) {
    const auto options = ParseScheduleArgument(parser.value(o.schedule));
    if (!options) {
      std::fprintf(stderr, "diffuscope: --schedule wants KIND[:T] with a known kind, e.g. cosine:50\n");
      return 2;
    }
    document->setScheduleOptions(*options);
  }
  if (parser.isSet(o.seed)) document->setSeed(parser.value(o.seed).toULongLong());
  if (parser.isSet(o.dataset)) window.pointsWorkspace()->setDataset(parser.value(o.dataset));
  if (parser.value(o.workspace) == QLatin1String("2d")) document->setWorkspace(1);
  if (parser.value(o.workspace) == QLatin1String("images")) document->setWorkspace(0);
  if (parser.isSet(o.panels)) {
    window.imageWorkspace()->setShowPredictions(true);
    window.imageWorkspace()->setShowNoise(true);
    window.imageWorkspace()->setShowHistogram(true);
  }
  if (parser.isSet(o.predictions)) window.imageWorkspace()->setShowPredictions(true);
  if (parser.isSet(o.field)) window.pointsWorkspace()->setField(parser.value(o.field) == QLatin1String("drift") ? 2 : 1);
  if (parser.isSet(o.trajectories)) window.pointsWorkspace()->setTrajectories(true);
  // The model first: a model's own sampler (sr3-photo's) is then refined by --eta and --steps.
  if (parser.isSet(o.model_option) && document->workspace() == 1) {
    window.pointsWorkspace()->setModelName(parser.value(o.model_option));
  } else if (parser.isSet(o.model_option)) {
    window.imageWorkspace()->chooseModel(parser.value(o.model_option));
  }
  if (parser.isSet(o.eta)) {
    auto options = document->samplerOptions();
    options.kind = diffuscope::SamplerKind::kDdim;
    options.eta = parser.value(o.eta).toDouble();
    if (const QString problem = document->setSamplerOptions(options); !problem.isEmpty()) {
      std::fprintf(stderr, "diffuscope: --eta: %s\n", qPrintable(problem));
      return 2;
    }
  }
  if (parser.isSet(o.steps)) {
    auto options = document->samplerOptions();
    options.num_steps = parser.value(o.steps).toInt();
    if (const QString problem = document->setSamplerOptions(options); !problem.isEmpty()) {
      std::fprintf(stderr, "diffuscope: --steps: %s\n", qPrintable(problem));
      return 2;
    }
  }
  if (parser.isSet(o.digit)) window.imageWorkspace()->setSr3Input(parser.value(o.digit).toInt());
  if (parser.isSet(o.working_size) || parser.isSet(o.no_simulate)) {
    auto model = document->model();
    if (parser.isSet(o.working_size)) model.working_side = std::max(0, parser.value(o.working_size).toInt());
    if (parser.isSet(o.no_simulate)) model.simulate_low_resolution = false;
    document->setModel(model);
  }
  if (parser.isSet(o.from_t)) {
    auto model = document->model();
    model.from_current_t = true;
    document->setModel(model);
  }
  const bool run = parser.isSet(o.sample), playing = parser.isSet(o.play);
  // With --sample, --t is where the finished reverse run is shown; without, where the timeline starts.
  // With --from-t it is where the run starts.
  const bool start_at_t = !run || parser.isSet(o.from_t);
  const int show_t = !start_at_t && parser.isSet(o.t_option) ? parser.value(o.t_option).toInt() : -1;
  if (parser.isSet(o.t_option) && start_at_t) document->setT(parser.value(o.t_option).toInt());
  if (parser.isSet(o.train)) {
    diffuscope::ui::TrainingPanel* panel = window.pointsWorkspace()->trainingPanel();
    panel->setIterations(parser.value(o.train).toInt());
    if (run) {
      QObject::connect(panel, &diffuscope::ui::TrainingPanel::modelReady, &window,
                       [&window, playing, show_t] { StartReverse(&window, playing, show_t); }, Qt::SingleShotConnection);
    }
    QTimer::singleShot(0, panel, &diffuscope::ui::TrainingPanel::startTraining);
  } else if (run) {
    QTimer::singleShot(0, &window, [&window, playing, show_t] { StartReverse(&window, playing, show_t); });
  } else if (playing) {
    QTimer::singleShot(0, window.timeline(), &diffuscope::ui::TimelineModel::play);
  }
  return app.exec();
}

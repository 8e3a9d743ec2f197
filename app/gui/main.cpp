// diffuscope: the desktop application. Opens on the bundled sample photograph and the dino point set;
// `diffuscope IMAGE` opens an image, `diffuscope SESSION.json` a saved session. The other options script a
// start (for demos and screenshots): e.g. `diffuscope --workspace 2d --schedule cosine --steps 50 --train 10000
// --sample --play` trains a DDPM on the dino, samples it and plays the reverse run. Options that mean the same as
// diffuscope-cli's are spelled as there (app/common/run_args.h): --schedule KIND --steps T, --sampler,
// --sampling-steps K, --eta, --data, --path, --field, --model, --seed, --t0.
#include "app/common/run_args.h"
#include "core/run/run_spec.h"
#include "core/schedule/schedule.h"
#include "ui/widgets/image_workspace.h"
#include "ui/widgets/main_window.h"
#include "ui/widgets/points_workspace.h"
#include "ui/widgets/training_panel.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QIcon>
#include <QPalette>
#include <QTimer>

#include <cstdio>
#include <string_view>
#include <type_traits>

#ifndef DIFFUSCOPE_VERSION
#define DIFFUSCOPE_VERSION "0.0.0"
#endif

using diffuscope::ui::MainWindow;

namespace {

// Runs the reverse process of the current workspace, then plays it or moves to t = show_t (>= 0) when asked.
void StartReverse(MainWindow* window, bool play, int show_t) {
  if (play || show_t >= 0) {
    auto start_play = [window, play, show_t] {
      if (show_t >= 0) window->document()->setT(show_t);
      else if (play) window->timeline()->play();
    };
    QObject::connect(window->imageWorkspace(), &diffuscope::ui::ImageWorkspace::reverseFinished, window, start_play,
                     Qt::SingleShotConnection);
    QObject::connect(window->pointsWorkspace(), &diffuscope::ui::PointsWorkspace::reverseFinished, window, start_play,
                     Qt::SingleShotConnection);
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

// The command line's options, in one place for both the display-free --help / --version and the app. Names and help
// texts shared with diffuscope-cli come from app/common/run_args.h.
QCommandLineOption Value(const char* name, const QString& help, const char* value_name) {
  return QCommandLineOption(QString::fromLatin1(name), help, QString::fromLatin1(value_name));
}
QCommandLineOption Flag(const char* name, const QString& help) {
  return QCommandLineOption(QString::fromLatin1(name), help);
}
QCommandLineOption Hidden(QCommandLineOption option) {
  option.setFlags(QCommandLineOption::HiddenFromHelp);
  return option;
}
QString Help(const char* text) { return QString::fromUtf8(text) + QLatin1Char('.'); }

struct Options {
  const QCommandLineOption workspace =
      Value("workspace", QStringLiteral("Start in a workspace: images or 2d."), "name");
  // The schedule and the sampler: as diffuscope-cli spells them.
  const QCommandLineOption schedule =
      Value("schedule", QString::fromStdString(diffuscope::app::help::Schedule()) + QStringLiteral(" (e.g. cosine)."),
            "kind");
  const QCommandLineOption steps = Value("steps", Help(diffuscope::app::help::kSteps), "T");
  const QCommandLineOption beta_start = Value("beta-start", Help(diffuscope::app::help::kBetaStart), "beta");
  const QCommandLineOption beta_end = Value("beta-end", Help(diffuscope::app::help::kBetaEnd), "beta");
  const QCommandLineOption zero_terminal_snr = Flag("zero-terminal-snr", Help(diffuscope::app::help::kZeroTerminalSnr));
  const QCommandLineOption schedule_file = Value("schedule-file", Help(diffuscope::app::help::kScheduleFile), "file");
  const QCommandLineOption sampler = Value("sampler", Help(diffuscope::app::help::kSampler), "kind");
  const QCommandLineOption sampling_steps = Value("sampling-steps", Help(diffuscope::app::help::kSamplingSteps), "K");
  const QCommandLineOption eta = Value("eta", Help(diffuscope::app::help::kEta), "eta");
  const QCommandLineOption spacing = Value("spacing", Help(diffuscope::app::help::kSpacing), "name");
  const QCommandLineOption variance = Value("variance", Help(diffuscope::app::help::kVariance), "name");
  const QCommandLineOption clip = Flag("clip", Help(diffuscope::app::help::kClip));
  const QCommandLineOption dynamic_threshold =
      Flag("dynamic-threshold", Help(diffuscope::app::help::kDynamicThreshold));
  // The run.
  const QCommandLineOption data =
      Value("data", QStringLiteral("2D data set (dino, moons, ...) or a CSV file."), "name");
  const QCommandLineOption path = Value(
      "path", QStringLiteral("The forward path: closed (one fixed eps), markov (the chain's path) or fresh-noise."),
      "name");
  const QCommandLineOption t_option =
      Value("t", QStringLiteral("Start at timestep t (with --sample: show the run at t)."), "t");
  const QCommandLineOption t0 =
      Value("t0", QStringLiteral("Reverse runs start from the data noised to t0 (instead of pure noise)."), "t0");
  const QCommandLineOption seed = Value("seed", QStringLiteral("Seed of every random draw."), "seed");
  const QCommandLineOption model_option = Value(
      "model",
      QStringLiteral("The model: images (ddpm-photo, sr3-photo, oracle, empirical, patch, sr3-digits, sr3-digits-5x5, "
                     "ddpm-digits, a .dfm) "
                     "or, with --workspace 2d, points (empirical, mixture, sohl-dickstein-swissroll)."),
      "name");
  const QCommandLineOption digit =
      Value("digit", QStringLiteral("SR3: super-resolve held-out digit N (0..499); -1: the open image."), "N");
  // What is shown, and what runs at start.
  const QCommandLineOption predictions = Flag("predictions", QStringLiteral("Images: show x0_hat and eps_hat."));
  const QCommandLineOption working_size =
      Value("working-size",
            QStringLiteral("Images, learned models: the longest side runs compute at (0: the image's own)."), "N");
  const QCommandLineOption no_simulate = Flag(
      "no-simulate", QStringLiteral("sr3-photo: super-resolve the photo itself instead of its 4x downscaled view."));
  const QCommandLineOption sr_samples =
      Value("sr-samples",
            QStringLiteral("sr3-photo: the mean of K chains from independent noise (1..16; K times the time)."), "K");
  const QCommandLineOption panels =
      Flag("panels", QStringLiteral("Images: show x0_hat, eps_hat, the noise and the histogram."));
  const QCommandLineOption field =
      Value("field", QStringLiteral("2D: show the model's field: none, score or drift."), "kind");
  const QCommandLineOption trajectories = Flag("trajectories", QStringLiteral("2D: show trajectories."));
  const QCommandLineOption contours = Flag("contours", QStringLiteral("2D: show density contours of the particles."));
  const QCommandLineOption no_data_set =
      Flag("no-data-set", QStringLiteral("2D: leave out the data set drawn faint behind the particles."));
  const QCommandLineOption train =
      Value("train", QStringLiteral("2D: train a DDPM on the points for N updates at start."), "N");
  const QCommandLineOption train_model =
      Value("train-model",
            QStringLiteral("2D: what --train trains: ddpm, flow or conditional (class labels, guidance)."), "kind");
  const QCommandLineOption label =
      Value("label",
            QStringLiteral("2D: guide towards class N (the mixture's components, a conditional model's labels)."), "N");
  const QCommandLineOption guidance =
      Value("guidance", QStringLiteral("2D: classifier-free guidance weight w, 0..10."), "w");
  const QCommandLineOption sample = Flag("sample", QStringLiteral("Run the reverse process at start (after --train)."));
  const QCommandLineOption play = Flag("play", QStringLiteral("Play (after --sample: the reverse run)."));
  const QCommandLineOption print_run = Flag(
      "print-run", QStringLiteral("Print the run the options make (JSON, as bundles and sessions write it) and exit."));
  // The app's spellings before one grammar, still read (with a note).
  const QCommandLineOption dataset = Hidden(Value("dataset", QStringLiteral("Old name of --data."), "name"));
  const QCommandLineOption from_t = Hidden(Flag("from-t", QStringLiteral("Old: reverse runs start at --t; use --t0.")));
};

void Describe(QCommandLineParser& parser, const Options& o) {
  parser.setApplicationDescription(QStringLiteral("Watch diffusion models work, step by step."));
  parser.addHelpOption();
  parser.addVersionOption();
  parser.addPositionalArgument(QStringLiteral("file"), QStringLiteral("An image or a session (.json) to open."),
                               QStringLiteral("[file]"));
  for (const auto& option : {o.workspace,      o.schedule,
                             o.steps,          o.beta_start,
                             o.beta_end,       o.zero_terminal_snr,
                             o.schedule_file,  o.sampler,
                             o.sampling_steps, o.eta,
                             o.spacing,        o.variance,
                             o.clip,           o.dynamic_threshold,
                             o.data,           o.path,
                             o.t_option,       o.t0,
                             o.seed,           o.model_option,
                             o.digit,          o.panels,
                             o.field,          o.trajectories,
                             o.contours,       o.no_data_set,
                             o.train,          o.train_model,
                             o.label,          o.guidance,
                             o.sample,         o.play,
                             o.print_run,      o.predictions,
                             o.working_size,   o.no_simulate,
                             o.sr_samples,     o.dataset,
                             o.from_t}) {
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
  const bool print_run = parser.isSet(o.print_run);
  if (!print_run) window.show();
  const QStringList files = parser.positionalArguments();
  if (!files.isEmpty()) window.openImage(files.front());
  diffuscope::ui::Document* document = window.document();
  auto fail = [](const QString& text) {
    std::fprintf(stderr, "diffuscope: %s\n", qPrintable(text));
    return 2;
  };
  auto note = [](const std::string& text) {
    if (!text.empty()) std::fprintf(stderr, "diffuscope: note: %s\n", text.c_str());
  };
  auto number = [&parser](const QCommandLineOption& option, auto* value) {
    bool ok = false;
    const QString text = parser.value(option);
    if constexpr (std::is_same_v<std::remove_pointer_t<decltype(value)>, double>) *value = text.toDouble(&ok);
    else if constexpr (std::is_same_v<std::remove_pointer_t<decltype(value)>, uint64_t>) *value = text.toULongLong(&ok);
    else *value = text.toInt(&ok);
    return ok;
  };
  const QString not_a_number = QStringLiteral("--%1: '%2' is not a number");
  auto bad_number = [&](const QCommandLineOption& option) {
    return fail(not_a_number.arg(option.names().front(), parser.value(option)));
  };

  // The schedule and the sampler: the document's, with what was typed over it, through the shared grammar.
  try {
    if (parser.isSet(o.schedule) || parser.isSet(o.steps) || parser.isSet(o.beta_start) || parser.isSet(o.beta_end) ||
        parser.isSet(o.zero_terminal_snr) || parser.isSet(o.schedule_file)) {
      auto args = diffuscope::app::ScheduleArgs::From(document->scheduleOptions());
      if (parser.isSet(o.schedule)) {
        args.kind = parser.value(o.schedule).toStdString();
        note(args.TakeOldSpelling());
      }
      if (parser.isSet(o.steps) && !number(o.steps, &args.steps)) return bad_number(o.steps);
      if (parser.isSet(o.beta_start) && !number(o.beta_start, &args.beta_start)) return bad_number(o.beta_start);
      if (parser.isSet(o.beta_end) && !number(o.beta_end, &args.beta_end)) return bad_number(o.beta_end);
      if (parser.isSet(o.zero_terminal_snr)) args.zero_terminal_snr = true;
      if (parser.isSet(o.schedule_file)) args.file = parser.value(o.schedule_file).toStdString();
      if (const QString problem = document->setScheduleOptions(args.ToOptions()); !problem.isEmpty())
        return fail(problem);
    }
    if (parser.isSet(o.seed)) {
      uint64_t seed = 0;
      if (!number(o.seed, &seed)) return bad_number(o.seed);
      document->setSeed(seed);
    }
  } catch (const diffuscope::Error& error) {
    return fail(QString::fromUtf8(error.what()));
  }
  if (parser.isSet(o.path)) {
    const auto path = diffuscope::ParseForwardPath(parser.value(o.path).toStdString());
    if (!path)
      return fail(
          QStringLiteral("--path: unknown path '%1' (closed, markov or fresh-noise)").arg(parser.value(o.path)));
    document->setForwardPath(*path);
  }
  if (parser.isSet(o.dataset)) note("--dataset is the old name of --data");
  for (const QCommandLineOption* data : {&o.dataset, &o.data})
    if (parser.isSet(*data)) window.pointsWorkspace()->setDataset(parser.value(*data));
  if (parser.value(o.workspace) == QLatin1String("2d")) document->setWorkspace(1);
  if (parser.value(o.workspace) == QLatin1String("images")) document->setWorkspace(0);
  if (parser.isSet(o.panels)) {
    window.imageWorkspace()->setShowPredictions(true);
    window.imageWorkspace()->setShowNoise(true);
    window.imageWorkspace()->setShowHistogram(true);
  }
  if (parser.isSet(o.predictions)) window.imageWorkspace()->setShowPredictions(true);
  if (parser.isSet(o.field)) {
    const auto field = diffuscope::ParseFieldKind(parser.value(o.field).toStdString());
    if (!field)
      return fail(QStringLiteral("--field: unknown field '%1' (none, score or drift)").arg(parser.value(o.field)));
    window.pointsWorkspace()->setField(static_cast<int>(*field));
  }
  if (parser.isSet(o.trajectories)) window.pointsWorkspace()->setTrajectories(true);
  if (parser.isSet(o.contours)) window.pointsWorkspace()->setContours(true);
  if (parser.isSet(o.no_data_set)) window.pointsWorkspace()->setDataSetShown(false);
  // The model before the sampler: a model's own sampler (sr3-photo's) is then refined by the sampler flags.
  if (parser.isSet(o.model_option) && document->workspace() == 1) {
    window.pointsWorkspace()->setModelName(parser.value(o.model_option));
  } else if (parser.isSet(o.model_option)) {
    window.imageWorkspace()->chooseModel(parser.value(o.model_option));
  }
  if (parser.isSet(o.working_size) || parser.isSet(o.no_simulate) || parser.isSet(o.sr_samples)) {
    auto model = document->model();
    if (parser.isSet(o.sr_samples)) {
      int k = 0;
      if (!number(o.sr_samples, &k) || k < 1 || k > 16) return fail(QStringLiteral("--sr-samples must be in 1..16"));
      model.sr_samples = k;
    }
    if (parser.isSet(o.working_size)) model.working_side = std::max(0, parser.value(o.working_size).toInt());
    if (parser.isSet(o.no_simulate)) model.simulate_low_resolution = false;
    document->setModel(model);
  }
  try {
    if (parser.isSet(o.sampler) || parser.isSet(o.sampling_steps) || parser.isSet(o.eta) || parser.isSet(o.spacing) ||
        parser.isSet(o.variance) || parser.isSet(o.clip) || parser.isSet(o.dynamic_threshold)) {
      auto args = diffuscope::app::SamplerArgs::From(document->samplerOptions());
      if (parser.isSet(o.eta)) {
        double eta = 0;
        if (!number(o.eta, &eta)) return bad_number(o.eta);
        args.eta = eta;
        args.sampler.clear();  // --eta alone means DDIM
      }
      if (parser.isSet(o.sampler)) {
        args.sampler = parser.value(o.sampler).toStdString();
        // One grammar: --sampler ddim means eta 0 here as in diffuscope-cli, not the window's last eta.
        if (!parser.isSet(o.eta)) args.eta.reset();
      }
      if (parser.isSet(o.sampling_steps) && !number(o.sampling_steps, &args.sampling_steps))
        return bad_number(o.sampling_steps);
      if (parser.isSet(o.spacing)) args.spacing = parser.value(o.spacing).toStdString();
      if (parser.isSet(o.variance)) args.variance = parser.value(o.variance).toStdString();
      if (parser.isSet(o.clip)) args.clip = true;
      if (parser.isSet(o.dynamic_threshold)) args.dynamic_threshold = true;
      if (const QString problem = document->setSamplerOptions(args.ToOptions(document->seed())); !problem.isEmpty())
        return fail(problem);
    }
  } catch (const diffuscope::Error& error) {
    return fail(QString::fromUtf8(error.what()));
  }
  if (parser.isSet(o.digit)) window.imageWorkspace()->setSr3Input(parser.value(o.digit).toInt());
  if (parser.isSet(o.from_t)) note("--from-t is the old spelling; use --t0 T (the reverse run starts at T)");
  int t0 = -1;
  if (parser.isSet(o.t0) && (!number(o.t0, &t0) || t0 < 1 || t0 > document->numSteps()))
    return fail(QStringLiteral("--t0 must be a timestep in 1..%1").arg(document->numSteps()));
  if (parser.isSet(o.from_t) || t0 > 0) {
    auto model = document->model();
    model.from_current_t = true;
    document->setModel(model);
  }
  const bool run = parser.isSet(o.sample), playing = parser.isSet(o.play);
  // With --sample, --t is where the finished reverse run is shown; without, where the timeline starts. --t0 is
  // where a reverse run starts (the old --from-t started it at --t).
  const bool start_at_t = !run || parser.isSet(o.from_t);
  const int show_t = !start_at_t && parser.isSet(o.t_option) ? parser.value(o.t_option).toInt() : -1;
  if (parser.isSet(o.t_option) && start_at_t) document->setT(parser.value(o.t_option).toInt());
  if (t0 > 0 && (run || !parser.isSet(o.t_option))) document->setT(t0);
  if (print_run) {  // what the options made, in the words of bundles and sessions
    diffuscope::RunSpec spec = document->run();
    spec.point_set = diffuscope::Batch();  // the points themselves are the data's (--data), not options
    std::fputs(diffuscope::RunSpecToJson(spec).c_str(), stdout);
    std::fputs("\n", stdout);
    return 0;
  }
  if (parser.isSet(o.label) || parser.isSet(o.guidance)) {
    int label_value = -1;
    double weight = 0.0;
    if (parser.isSet(o.label) && !number(o.label, &label_value)) return bad_number(o.label);
    if (parser.isSet(o.guidance) && (!number(o.guidance, &weight) || weight < 0 || weight > 10))
      return fail(QStringLiteral("--guidance must be a weight in [0, 10]"));
    // Through the workspace's class selector and slider, once the model that has the classes is there.
    auto apply = [&window, label_value, weight] { window.pointsWorkspace()->setGuidance(label_value, weight); };
    if (parser.isSet(o.train))
      QObject::connect(window.pointsWorkspace()->trainingPanel(), &diffuscope::ui::TrainingPanel::modelReady, &window,
                       apply, Qt::SingleShotConnection);
    else apply();
  }
  if (parser.isSet(o.train)) {
    diffuscope::ui::TrainingPanel* panel = window.pointsWorkspace()->trainingPanel();
    panel->setIterations(parser.value(o.train).toInt());
    if (parser.isSet(o.train_model)) {
      const QString kind = parser.value(o.train_model);
      if (kind != QLatin1String("ddpm") && kind != QLatin1String("flow") && kind != QLatin1String("conditional"))
        return fail(QStringLiteral("--train-model must be ddpm, flow or conditional"));
      panel->setModelKind(kind == QLatin1String("flow") ? 1 : kind == QLatin1String("conditional") ? 2 : 0);
    }
    if (run) {
      QObject::connect(
          panel, &diffuscope::ui::TrainingPanel::modelReady, &window,
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

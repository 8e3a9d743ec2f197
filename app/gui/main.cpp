// diffuscope: the desktop application. Opens on the bundled sample photograph and the dino point set;
// `diffuscope IMAGE` opens an image, `diffuscope SESSION.json` a saved session.
#include "ui/main_window.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QIcon>
#include <QTimer>

#ifndef DIFFUSCOPE_VERSION
#define DIFFUSCOPE_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("Diffuscope"));
  QApplication::setApplicationName(QStringLiteral("diffuscope"));
  QApplication::setApplicationDisplayName(QStringLiteral("Diffuscope"));
  QApplication::setApplicationVersion(QStringLiteral(DIFFUSCOPE_VERSION));
  QApplication::setDesktopFileName(QStringLiteral("diffuscope"));
  QApplication::setWindowIcon(QIcon(QStringLiteral(":/diffuscope/diffuscope.svg")));

  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral("Watch diffusion models work, step by step."));
  parser.addHelpOption();
  parser.addVersionOption();
  parser.addPositionalArgument(QStringLiteral("file"), QStringLiteral("An image or a session (.json) to open."),
                               QStringLiteral("[file]"));
  QCommandLineOption workspace(QStringLiteral("workspace"), QStringLiteral("Start in a workspace: images or 2d."),
                               QStringLiteral("name"), QStringLiteral("images"));
  QCommandLineOption t_option(QStringLiteral("t"), QStringLiteral("Start at timestep t."), QStringLiteral("t"));
  QCommandLineOption play(QStringLiteral("play"), QStringLiteral("Start playing."));
  parser.addOption(workspace);
  parser.addOption(t_option);
  parser.addOption(play);
  parser.process(app);

  diffuscope::ui::MainWindow window;
  window.show();
  const QStringList files = parser.positionalArguments();
  if (!files.isEmpty()) window.openImage(files.front());
  if (parser.value(workspace) == QLatin1String("2d")) window.document()->setWorkspace(1);
  if (parser.isSet(t_option)) window.document()->setT(parser.value(t_option).toInt());
  if (parser.isSet(play)) QTimer::singleShot(0, window.timeline(), &diffuscope::ui::TimelineModel::play);
  return app.exec();
}

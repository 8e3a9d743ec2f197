#include "ui/state/resources_dir.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

namespace diffuscope::ui {

QStringList ResourceDirs() {
  QStringList candidates;
  const QString env = qEnvironmentVariable("DIFFUSCOPE_RESOURCES");
  if (!env.isEmpty()) candidates << env;
  if (QCoreApplication::instance() != nullptr) {
    candidates << QDir(QCoreApplication::applicationDirPath()).filePath("../share/diffuscope");
  }
#ifdef DIFFUSCOPE_INSTALL_RESOURCES
  candidates << QStringLiteral(DIFFUSCOPE_INSTALL_RESOURCES);
#endif
#ifdef DIFFUSCOPE_SOURCE_RESOURCES
  candidates << QStringLiteral(DIFFUSCOPE_SOURCE_RESOURCES);
#endif
  QStringList existing;
  for (const QString& dir : candidates) {
    const QFileInfo info(dir);
    if (info.isDir()) {
      const QString clean = info.canonicalFilePath();
      if (!existing.contains(clean)) existing << clean;
    }
  }
  return existing;
}

QString ResourcePath(const QString& relative) {
  for (const QString& dir : ResourceDirs()) {
    const QString path = QDir(dir).filePath(relative);
    if (QFileInfo::exists(path)) return path;
  }
  return {};
}

}  // namespace diffuscope::ui

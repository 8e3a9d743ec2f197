// Where the application finds its run-time resources (sample images, point sets, models, icons).
//
//   QString photo = diffuscope::ui::ResourcePath("images/chicky_512.png");  // empty if not found
#pragma once

#include <QString>
#include <QStringList>

namespace diffuscope::ui {

/// Folders searched, in order: $DIFFUSCOPE_RESOURCES, <executable>/../share/diffuscope, the installed data
/// dir, the source tree's resources/ (DIFFUSCOPE_SOURCE_RESOURCES). Only existing folders are listed.
QStringList ResourceDirs();
/// The first existing file `relative` under ResourceDirs(), or an empty string.
QString ResourcePath(const QString& relative);

}  // namespace diffuscope::ui

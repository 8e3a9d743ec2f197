// Typed settings with their defaults declared here (QSettings underneath; organisation "Diffuscope").
//
//   diffuscope::ui::Settings::SetLastFolder("images", "/home/me/Pictures");
//   QString folder = diffuscope::ui::Settings::LastFolder("images");
#pragma once

#include "core/run/overlays.h"
#include "core/schedule/schedule.h"

#include <QByteArray>
#include <QDir>
#include <QString>
#include <QStringList>

#include <optional>

namespace diffuscope::ui::Settings {

/// The last folder used by a file dialog of a kind ("images", "points", "sessions", ...); home by default.
QString LastFolder(const QString& kind);
void SetLastFolder(const QString& kind, const QString& folder);
/// Recent image files, newest first, at most kMaxRecent.
inline constexpr int kMaxRecent = 8;
QStringList RecentFiles();
void AddRecentFile(const QString& path);
/// The schedule options of the last run (DDPM's linear T = 1000 by default).
ScheduleOptions Schedule();
void SetSchedule(const ScheduleOptions& options);
uint64_t Seed();
void SetSeed(uint64_t seed);
/// What the 2D view shows: the data set (faint), the field, density contours, trajectories.
struct PointsView {
  bool show_data = true;
  FieldKind field = FieldKind::kNone;
  bool contours = false;
  bool trajectories = false;
};
PointsView PointsViewOptions();
void SetPointsViewOptions(const PointsView& view);
/// What the Export dialog remembers (group "export"); unset where nothing was saved, so that the dialog keeps its
/// initial spec's value.
struct ExportChoices {
  std::optional<double> fps;
  std::optional<int> crf;  // -1 = the codec's default
  std::optional<int> frames;
  QString layout;                          // a LayoutName; "" = none saved
  QString format = QStringLiteral("gif");  // an ExportFormatName
  QString folder = QDir::homePath();       // where the last export went (home when that folder is gone)
};
ExportChoices ExportSettings();
/// Saves them; a folder that does not exist is not saved (the last good one stays).
void SetExportSettings(const ExportChoices& choices);
/// The side panels of the images workspace (x0_hat / eps_hat, the noise, the histogram): all off by default.
struct ImagePanels {
  bool predictions = false;
  bool noise = false;
  bool histogram = false;
};
ImagePanels ImagePanelOptions();
void SetImagePanelOptions(const ImagePanels& panels);
/// Seconds one evaluation of the learned photo U-Net took per pixel on this computer (a running mean), or
/// nullopt before the first measurement.
std::optional<double> LearnedSecondsPerPixel();
void SetLearnedSecondsPerPixel(double seconds);
QByteArray WindowGeometry();
QByteArray WindowState();
void SetWindowLayout(const QByteArray& geometry, const QByteArray& state);

}  // namespace diffuscope::ui::Settings

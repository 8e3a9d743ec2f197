#include "ui/state/settings.h"

#include <QDir>
#include <QFileInfo>
#include <QSettings>

#include <cmath>

#include <algorithm>

namespace diffuscope::ui::Settings {

QString LastFolder(const QString& kind) {
  const QString folder = QSettings().value(QStringLiteral("folders/") + kind).toString();
  return !folder.isEmpty() && QFileInfo(folder).isDir() ? folder : QDir::homePath();
}

void SetLastFolder(const QString& kind, const QString& folder) {
  QSettings().setValue(QStringLiteral("folders/") + kind, folder);
}

QStringList RecentFiles() { return QSettings().value(QStringLiteral("recent/images")).toStringList(); }

void AddRecentFile(const QString& path) {
  QStringList files = RecentFiles();
  const QString absolute = QFileInfo(path).absoluteFilePath();
  files.removeAll(absolute);
  files.prepend(absolute);
  while (files.size() > kMaxRecent) files.removeLast();
  QSettings().setValue(QStringLiteral("recent/images"), files);
}

ScheduleOptions Schedule() {
  QSettings s;
  ScheduleOptions options;
  s.beginGroup(QStringLiteral("schedule"));
  const auto kind = ParseScheduleKind(s.value("kind", "linear").toString().toStdString());
  if (kind && *kind != ScheduleKind::kCustomBeta && *kind != ScheduleKind::kCustomAlphaBar) options.kind = *kind;
  options.num_steps = s.value("steps", options.num_steps).toInt();
  options.beta_start = s.value("beta_start", options.beta_start).toDouble();
  options.beta_end = s.value("beta_end", options.beta_end).toDouble();
  options.zero_terminal_snr = s.value("zero_terminal_snr", options.zero_terminal_snr).toBool();
  s.endGroup();
  if (!options.Check().empty()) return ScheduleOptions{};  // a hand-edited settings file
  return options;
}

void SetSchedule(const ScheduleOptions& options) {
  if (options.kind == ScheduleKind::kCustomBeta || options.kind == ScheduleKind::kCustomAlphaBar) return;
  QSettings s;
  s.beginGroup(QStringLiteral("schedule"));
  s.setValue("kind", QString::fromUtf8(ScheduleKindName(options.kind).data(), ScheduleKindName(options.kind).size()));
  s.setValue("steps", options.num_steps);
  s.setValue("beta_start", options.beta_start);
  s.setValue("beta_end", options.beta_end);
  s.setValue("zero_terminal_snr", options.zero_terminal_snr);
  s.endGroup();
}

uint64_t Seed() { return QSettings().value(QStringLiteral("seed"), 0).toULongLong(); }
void SetSeed(uint64_t seed) { QSettings().setValue(QStringLiteral("seed"), static_cast<qulonglong>(seed)); }

PointsView PointsViewOptions() {
  QSettings s;
  s.beginGroup(QStringLiteral("points"));
  PointsView view;
  view.show_data = s.value("show_data", view.show_data).toBool();
  // Stored as the field box's index (0 none, 1 score, 2 drift), as earlier versions wrote it.
  view.field = static_cast<FieldKind>(std::clamp(s.value("field", 0).toInt(), 0, 2));
  view.contours = s.value("show_contours", view.contours).toBool();
  view.trajectories = s.value("show_trajectories", view.trajectories).toBool();
  return view;
}

void SetPointsViewOptions(const PointsView& view) {
  QSettings s;
  s.beginGroup(QStringLiteral("points"));
  s.setValue("show_data", view.show_data);
  s.setValue("field", static_cast<int>(view.field));
  s.setValue("show_contours", view.contours);
  s.setValue("show_trajectories", view.trajectories);
}

ExportChoices ExportSettings() {
  QSettings s;
  s.beginGroup(QStringLiteral("export"));
  ExportChoices choices;
  bool ok = false;
  if (s.contains("fps")) {
    const double fps = s.value("fps").toDouble(&ok);
    if (ok) choices.fps = fps;
  }
  if (s.contains("crf")) {
    const int crf = s.value("crf").toInt(&ok);
    if (ok) choices.crf = crf;
  }
  if (s.contains("frames")) {
    const int frames = s.value("frames").toInt(&ok);
    if (ok) choices.frames = frames;
  }
  choices.layout = s.value("layout").toString();
  choices.format = s.value("format", choices.format).toString();
  const QString folder = s.value("folder").toString();
  if (!folder.isEmpty() && QFileInfo(folder).isDir()) choices.folder = folder;
  return choices;
}

void SetExportSettings(const ExportChoices& choices) {
  QSettings s;
  s.beginGroup(QStringLiteral("export"));
  if (!choices.folder.isEmpty() && QFileInfo(choices.folder).isDir()) s.setValue("folder", choices.folder);
  s.setValue("format", choices.format);
  if (choices.fps) s.setValue("fps", *choices.fps);
  if (choices.frames) s.setValue("frames", *choices.frames);
  if (choices.crf) s.setValue("crf", *choices.crf);
  if (!choices.layout.isEmpty()) s.setValue("layout", choices.layout);
}

ImagePanels ImagePanelOptions() {
  QSettings s;
  ImagePanels p;
  p.predictions = s.value(QStringLiteral("images/show_predictions"), p.predictions).toBool();
  p.noise = s.value(QStringLiteral("images/show_noise"), p.noise).toBool();
  p.histogram = s.value(QStringLiteral("images/show_histogram"), p.histogram).toBool();
  return p;
}

void SetImagePanelOptions(const ImagePanels& panels) {
  QSettings s;
  s.setValue(QStringLiteral("images/show_predictions"), panels.predictions);
  s.setValue(QStringLiteral("images/show_noise"), panels.noise);
  s.setValue(QStringLiteral("images/show_histogram"), panels.histogram);
}

std::optional<double> LearnedSecondsPerPixel() {
  bool ok = false;
  const double v = QSettings().value(QStringLiteral("images/learned_seconds_per_pixel")).toDouble(&ok);
  if (!ok || !(v > 0) || !std::isfinite(v)) return std::nullopt;  // unset or a hand-edited bad value
  return v;
}

void SetLearnedSecondsPerPixel(double seconds) {
  if (!(seconds > 0) || !std::isfinite(seconds)) return;
  QSettings().setValue(QStringLiteral("images/learned_seconds_per_pixel"), seconds);
}

QByteArray WindowGeometry() { return QSettings().value(QStringLiteral("window/geometry")).toByteArray(); }
QByteArray WindowState() { return QSettings().value(QStringLiteral("window/state")).toByteArray(); }
void SetWindowLayout(const QByteArray& geometry, const QByteArray& state) {
  QSettings s;
  s.setValue(QStringLiteral("window/geometry"), geometry);
  s.setValue(QStringLiteral("window/state"), state);
}

}  // namespace diffuscope::ui::Settings

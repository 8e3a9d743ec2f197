// Sessions: everything needed to reopen the same picture (image path or the points themselves, schedule,
// comparison schedule, sampler, model choice, seed, t, forward path, workspace, direction, what the 2D view
// draws) as a JSON file.
//
//   Session s = CaptureSession(document, "reverse");
//   SaveSession("my.diffuscope.json", s);       // atomic (QSaveFile); throws Error
//   Session back = LoadSession("my.diffuscope.json");   // throws Error naming the field that is wrong
//   ApplySession(back, &document);              // loads the image / points, sets every parameter
#pragma once

#include "ui/state/document.h"

#include <QJsonObject>
#include <QString>

#include <optional>

namespace diffuscope::ui {

/// The "format" value of session files and their version.
inline constexpr const char* kSessionFormat = "diffuscope-session";
inline constexpr int kSessionVersion = 1;

struct Session {
  int workspace = 0;                              // 0 images, 1 2D
  QString direction = QStringLiteral("forward");  // "forward" | "reverse"
  QString image_path;                             // absolute; empty when none
  PointsData points;                              // stored inline
  ScheduleOptions schedule;
  std::optional<ScheduleOptions> compare;
  SamplerOptions sampler;
  ModelChoice model;
  uint64_t seed = 0;
  int t = 0;
  ForwardPath forward_path = ForwardPath::kClosed;
  std::optional<PointsOverlays> overlays;  // none in sessions written before they were kept: left as they are
};

/// The document's state as a session (direction: the timeline's, "forward" or "reverse").
Session CaptureSession(const Document& document, const QString& direction);
QJsonObject SessionToJson(const Session& session);
/// Parses and checks a session; throws Error naming the field that is missing or wrong.
Session SessionFromJson(const QJsonObject& json);
/// Writes a session file atomically; throws Error.
void SaveSession(const QString& path, const Session& session);
/// Reads a session file; throws Error for a missing, unreadable, malformed or foreign file.
Session LoadSession(const QString& path);
/// Applies a session to a document: loads its image (throws Error if it cannot be read), sets the points and
/// every parameter (as one undo macro), then t. Nothing is changed when it throws.
void ApplySession(const Session& session, Document* document);

}  // namespace diffuscope::ui

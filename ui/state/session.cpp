#include "ui/state/session.h"

#include "core/models/conditional_ddpm2d.h"
#include "core/models/photo_eval.h"
#include "core/run/run_spec.h"
#include "ui/state/image_input.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>

#include <cmath>

namespace diffuscope::ui {

namespace {

QString Str(std::string_view text) { return QString::fromUtf8(text.data(), static_cast<qsizetype>(text.size())); }

QString PathName(ForwardPath path) {
  switch (path) {
    case ForwardPath::kClosed: return QStringLiteral("closed");
    case ForwardPath::kMarkov: return QStringLiteral("markov");
    case ForwardPath::kFreshNoise: return QStringLiteral("fresh-noise");
  }
  return {};
}

// Schedule and sampler options are written and read by the core's one JSON writer (core/run/run_spec.h).
QJsonObject ToQt(const std::string& json) { return QJsonDocument::fromJson(QByteArray::fromStdString(json)).object(); }
std::string FromQt(const QJsonObject& json) { return QJsonDocument(json).toJson(QJsonDocument::Compact).toStdString(); }

QJsonObject ScheduleToJson(const ScheduleOptions& o) { return ToQt(ScheduleOptionsToJson(o)); }

// Typed readers that name the field in their error.
class Reader {
 public:
  Reader(const QJsonObject& json, QString prefix) : json_(json), prefix_(std::move(prefix)) {}

  QJsonValue Need(const char* key) const {
    const QJsonValue value = json_.value(QLatin1String(key));
    if (value.isUndefined()) Fail(key, "is missing");
    return value;
  }
  bool Has(const char* key) const {
    return json_.contains(QLatin1String(key)) && !json_.value(QLatin1String(key)).isNull();
  }
  double Number(const char* key) const {
    const QJsonValue value = Need(key);
    if (!value.isDouble() || !std::isfinite(value.toDouble())) Fail(key, "must be a number");
    return value.toDouble();
  }
  double Number(const char* key, double fallback) const { return Has(key) ? Number(key) : fallback; }
  long long Integer(const char* key, long long lo, long long hi) const {
    const double value = Number(key);
    if (value != std::floor(value) || value < static_cast<double>(lo) || value > static_cast<double>(hi)) {
      Fail(key, ("must be a whole number in " + std::to_string(lo) + ".." + std::to_string(hi)).c_str());
    }
    return static_cast<long long>(value);
  }
  bool Bool(const char* key, bool fallback) const {
    if (!Has(key)) return fallback;
    const QJsonValue value = Need(key);
    if (!value.isBool()) Fail(key, "must be true or false");
    return value.toBool();
  }
  QString String(const char* key) const {
    const QJsonValue value = Need(key);
    if (!value.isString()) Fail(key, "must be a string");
    return value.toString();
  }
  QString String(const char* key, const QString& fallback) const { return Has(key) ? String(key) : fallback; }
  QJsonObject Object(const char* key) const {
    const QJsonValue value = Need(key);
    if (!value.isObject()) Fail(key, "must be an object");
    return value.toObject();
  }
  QJsonArray Array(const char* key) const {
    const QJsonValue value = Need(key);
    if (!value.isArray()) Fail(key, "must be an array");
    return value.toArray();
  }
  QString Name(const char* key) const { return prefix_.isEmpty() ? QLatin1String(key) : prefix_ + "." + key; }
  [[noreturn]] void Fail(const char* key, const char* problem) const {
    throw Error("'" + Name(key).toStdString() + "' " + problem);
  }

 private:
  const QJsonObject& json_;
  QString prefix_;
};

ScheduleOptions ScheduleFromJson(const QJsonObject& json, const QString& prefix) {
  return ParseScheduleOptions(FromQt(json), "the session", prefix.toStdString());
}

}  // namespace

Session CaptureSession(const Document& document, const QString& direction) {
  Session s;
  s.workspace = document.workspace();
  s.direction = direction;
  s.image_path = document.image().path;
  s.points = document.points();
  s.schedule = document.scheduleOptions();
  s.compare = document.compareOptions();
  s.sampler = document.samplerOptions();
  s.model = document.model();
  s.seed = document.seed();
  s.t = document.t();
  s.forward_path = document.forwardPath();
  s.overlays = document.pointsOverlays();
  return s;
}

QJsonObject SessionToJson(const Session& s) {
  QJsonObject json;
  json["format"] = QLatin1String(kSessionFormat);
  json["version"] = kSessionVersion;
  json["workspace"] = s.workspace == 1 ? QStringLiteral("2d") : QStringLiteral("images");
  json["direction"] = s.direction;
  if (!s.image_path.isEmpty()) json["image"] = QJsonObject{{"path", s.image_path}};
  if (s.points.points.rows() > 0) {
    QJsonArray rows;
    for (Eigen::Index i = 0; i < s.points.points.rows(); ++i) {
      rows.append(QJsonArray{static_cast<double>(s.points.points(i, 0)), static_cast<double>(s.points.points(i, 1))});
    }
    QJsonObject points{{"source", s.points.source}, {"xy", rows}};
    // Each point's class (painted colours, or a built-in set's), when it has one; older sessions have none.
    if (s.points.labels.size() == static_cast<size_t>(s.points.points.rows())) {
      QJsonArray labels;
      for (int label : s.points.labels) labels.append(label);
      points["labels"] = labels;
    }
    json["points"] = points;
  }
  json["schedule"] = ScheduleToJson(s.schedule);
  json["compare"] = s.compare ? QJsonValue(ScheduleToJson(*s.compare)) : QJsonValue(QJsonValue::Null);
  // The sampler's noise is drawn from the session's one seed (below, a string that keeps all 64 bits).
  QJsonObject sampler = ToQt(SamplerOptionsToJson(s.sampler));
  sampler.remove(QStringLiteral("seed"));
  json["sampler"] = sampler;
  json["model"] = QJsonObject{{"image", s.model.image_model},
                              {"points", s.model.points_model},
                              {"from_current_t", s.model.from_current_t},
                              {"particles", s.model.num_particles},
                              {"digit", s.model.digit},
                              {"digit_from_image", s.model.digit_from_image},
                              {"digit_samples", s.model.digit_samples},
                              {"working_side", s.model.working_side},
                              {"simulate_low_resolution", s.model.simulate_low_resolution}};
  if (s.model.sr_samples > 1) {  // written only when used, so other sessions keep their text
    QJsonObject model = json["model"].toObject();
    model["sr_samples"] = s.model.sr_samples;
    json["model"] = model;
  }
  if (s.model.label >= 0) {  // written only for guided runs, so other sessions keep their text
    QJsonObject model = json["model"].toObject();
    model["label"] = s.model.label;
    model["guidance"] = s.model.guidance;
    json["model"] = model;
  }
  // Seeds are 64-bit: a string keeps every bit (JSON numbers are doubles).
  json["seed"] = QString::number(s.seed);
  json["t"] = s.t;
  json["forward_path"] = PathName(s.forward_path);
  if (s.overlays) {
    json["overlays"] = QJsonObject{{"field", Str(FieldKindName(s.overlays->field))},
                                   {"contours", s.overlays->contours},
                                   {"trajectories", s.overlays->trajectories},
                                   {"data", s.overlays->data}};
  }
  return json;
}

Session SessionFromJson(const QJsonObject& json) {
  const Reader r(json, QString());
  if (r.String("format", QString()) != QLatin1String(kSessionFormat)) {
    throw Error("this is not a Diffuscope session (its \"format\" is not \"diffuscope-session\")");
  }
  const long long version = r.Integer("version", 1, 1000000);
  if (version > kSessionVersion) {
    throw Error("the session was written by a newer Diffuscope (version " + std::to_string(version) +
                "); this one reads version " + std::to_string(kSessionVersion));
  }
  Session s;
  const QString workspace = r.String("workspace", QStringLiteral("images"));
  if (workspace != QLatin1String("images") && workspace != QLatin1String("2d"))
    r.Fail("workspace", "must be \"images\" or \"2d\"");
  s.workspace = workspace == QLatin1String("2d") ? 1 : 0;
  s.direction = r.String("direction", QStringLiteral("forward"));
  if (s.direction != QLatin1String("forward") && s.direction != QLatin1String("reverse")) {
    r.Fail("direction", "must be \"forward\" or \"reverse\"");
  }
  if (r.Has("image")) s.image_path = Reader(r.Object("image"), "image").String("path");
  if (r.Has("points")) {
    const QJsonObject points = r.Object("points");
    const Reader p(points, "points");
    s.points.source = p.String("source", QStringLiteral("session"));
    const QJsonArray rows = p.Array("xy");
    s.points.points.resize(rows.size(), 2);
    for (qsizetype i = 0; i < rows.size(); ++i) {
      const QJsonArray xy = rows[i].toArray();
      if (xy.size() != 2 || !xy[0].isDouble() || !xy[1].isDouble() || !std::isfinite(xy[0].toDouble()) ||
          !std::isfinite(xy[1].toDouble())) {
        throw Error("'points.xy' row " + std::to_string(i + 1) + " must be [x, y] with two finite numbers");
      }
      s.points.points(i, 0) = static_cast<float>(xy[0].toDouble());
      s.points.points(i, 1) = static_cast<float>(xy[1].toDouble());
    }
    if (p.Has("labels")) {
      const QJsonArray labels = p.Array("labels");
      if (labels.size() != rows.size())
        throw Error("'points.labels' has " + std::to_string(labels.size()) + " labels for " +
                    std::to_string(rows.size()) + " points");
      for (qsizetype i = 0; i < labels.size(); ++i) {
        const double label = labels[i].toDouble(-1);
        if (!labels[i].isDouble() || label != std::floor(label) || label < 0 || label >= kMaxClasses)
          throw Error("'points.labels' entry " + std::to_string(i + 1) + " must be a class 0.." +
                      std::to_string(kMaxClasses - 1));
        s.points.labels.push_back(static_cast<int>(label));
      }
    }
  }
  s.schedule = ScheduleFromJson(r.Object("schedule"), QStringLiteral("schedule"));
  if (r.Has("compare")) s.compare = ScheduleFromJson(r.Object("compare"), QStringLiteral("compare"));
  if (r.Has("sampler")) s.sampler = ParseSamplerOptions(FromQt(r.Object("sampler")), "the session", "sampler");
  if (r.Has("model")) {
    const QJsonObject model = r.Object("model");
    const Reader m(model, "model");
    s.model.image_model = m.String("image", s.model.image_model);
    // oracle, empirical, patch, a digits model (sr3-digits, ddpm-digits) or a model file: the registry's names.
    if (s.model.image_model.trimmed().isEmpty()) m.Fail("image", "must name a model (oracle, empirical, patch, ...)");
    s.model.points_model = m.String("points", s.model.points_model);
    if (s.model.points_model != QLatin1String("empirical") && s.model.points_model != QLatin1String("mixture") &&
        s.model.points_model != QLatin1String("learned")) {
      m.Fail("points", "must be \"empirical\", \"mixture\" or \"learned\"");
    }
    s.model.from_current_t = m.Bool("from_current_t", false);
    s.model.num_particles = static_cast<int>(m.Has("particles") ? m.Integer("particles", 1, 10000000) : 2000);
    s.model.digit = static_cast<int>(m.Has("digit") ? m.Integer("digit", 0, 499) : 0);
    s.model.digit_from_image = m.Bool("digit_from_image", false);
    s.model.digit_samples = static_cast<int>(m.Has("digit_samples") ? m.Integer("digit_samples", 1, 64) : 16);
    // Sessions from before the working size ran at the image's own size.
    s.model.working_side = static_cast<int>(m.Has("working_side") ? m.Integer("working_side", 0, 4096) : 0);
    s.model.simulate_low_resolution = m.Bool("simulate_low_resolution", true);
    s.model.sr_samples = static_cast<int>(m.Has("sr_samples") ? m.Integer("sr_samples", 1, kMaxSrSamples) : 1);
    s.model.label = static_cast<int>(m.Has("label") ? m.Integer("label", -1, 63) : -1);
    s.model.guidance = m.Number("guidance", 0.0);
    if (s.model.guidance < 0.0 || s.model.guidance > 10.0) m.Fail("guidance", "must be a weight in [0, 10]");
  }
  const QJsonValue seed = r.Need("seed");
  bool ok = seed.isString();
  s.seed = ok ? seed.toString().toULongLong(&ok) : 0;
  if (!ok && seed.isDouble() && seed.toDouble() >= 0 && seed.toDouble() == std::floor(seed.toDouble())) {
    s.seed = static_cast<uint64_t>(seed.toDouble());
    ok = true;
  }
  if (!ok) r.Fail("seed", "must be a non-negative whole number");
  s.t = static_cast<int>(r.Integer("t", 0, s.schedule.num_steps));
  const QString path = r.String("forward_path", QStringLiteral("closed"));
  if (path == QLatin1String("closed")) s.forward_path = ForwardPath::kClosed;
  else if (path == QLatin1String("markov")) s.forward_path = ForwardPath::kMarkov;
  else if (path == QLatin1String("fresh-noise")) s.forward_path = ForwardPath::kFreshNoise;
  else r.Fail("forward_path", "must be \"closed\", \"markov\" or \"fresh-noise\"");
  if (r.Has("overlays")) {
    const QJsonObject overlays = r.Object("overlays");
    const Reader o(overlays, "overlays");
    PointsOverlays shown;
    const std::optional<FieldKind> field = ParseFieldKind(o.String("field", QStringLiteral("none")).toStdString());
    if (!field) o.Fail("field", "must be \"none\", \"score\" or \"drift\"");
    shown.field = *field;
    shown.contours = o.Bool("contours", false);
    shown.trajectories = o.Bool("trajectories", false);
    shown.data = o.Bool("data", true);
    s.overlays = shown;
  }
  return s;
}

void SaveSession(const QString& path, const Session& session) {
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly)) {
    throw Error("cannot write " + path.toStdString() + ": " + file.errorString().toStdString());
  }
  file.write(QJsonDocument(SessionToJson(session)).toJson(QJsonDocument::Indented));
  if (!file.commit()) throw Error("cannot write " + path.toStdString() + ": " + file.errorString().toStdString());
}

Session LoadSession(const QString& path) {
  QFile file(path);
  if (!file.exists()) throw Error("the session file " + path.toStdString() + " does not exist");
  if (file.size() > (256 << 20)) throw Error(path.toStdString() + " is too large for a session file");
  if (!file.open(QIODevice::ReadOnly)) {
    throw Error("cannot read " + path.toStdString() + ": " + file.errorString().toStdString());
  }
  QJsonParseError parse_error;
  const QJsonDocument json = QJsonDocument::fromJson(file.readAll(), &parse_error);
  if (parse_error.error != QJsonParseError::NoError) {
    throw Error(QFileInfo(path).fileName().toStdString() + " is not valid JSON (" +
                parse_error.errorString().toStdString() + " at byte " + std::to_string(parse_error.offset) + ")");
  }
  if (!json.isObject()) throw Error(QFileInfo(path).fileName().toStdString() + " does not hold a JSON object");
  try {
    return SessionFromJson(json.object());
  } catch (const Error& error) {
    throw Error(QFileInfo(path).fileName().toStdString() + ": " + error.what());
  }
}

void ApplySession(const Session& session, Document* document) {
  // Everything that can fail first, so that a bad session changes nothing.
  ImageData image;
  if (!session.image_path.isEmpty()) {
    try {
      image = LoadImageFile(session.image_path, /*downscale=*/true);
    } catch (const Error& error) {
      throw Error("the session's image cannot be opened: " + std::string(error.what()));
    }
  }
  QUndoStack* stack = document->undoStack();
  stack->beginMacro(QObject::tr("Open session"));
  document->setScheduleOptions(session.schedule);
  document->setCompareOptions(session.compare);
  document->setSamplerOptions(session.sampler);
  document->setModel(session.model);
  document->setSeed(session.seed);
  document->setForwardPath(session.forward_path);
  if (session.overlays) document->setPointsOverlays(*session.overlays);
  stack->endMacro();
  if (!image.empty()) document->setImage(std::move(image));
  if (!session.points.empty()) document->setPoints(session.points);
  document->setWorkspace(session.workspace);
  document->setT(session.t);
}

}  // namespace diffuscope::ui

#include "ui/state/document.h"

#include "core/models/photo_eval.h"
#include "core/models/registry.h"
#include "ui/state/image_input.h"

#include <algorithm>

namespace diffuscope::ui {

QString ParamName(Document::Param param) {
  switch (param) {
    case Document::Param::kSchedule: return QObject::tr("schedule");
    case Document::Param::kCompare: return QObject::tr("comparison schedule");
    case Document::Param::kSeed: return QObject::tr("seed");
    case Document::Param::kForwardPath: return QObject::tr("forward path");
    case Document::Param::kSampler: return QObject::tr("sampler");
    case Document::Param::kModel: return QObject::tr("model");
    case Document::Param::kPointsOverlays: return QObject::tr("2D view");
  }
  return {};
}

Document::Document(QObject* parent) : QObject(parent), schedule_(std::make_shared<NoiseSchedule>(schedule_options_)) {
  sampler_options_.num_steps = 100;
  sampler_options_.kind = SamplerKind::kDdim;
  sampler_options_.eta = 1.0;
  // The learned photo model denoises photographs without knowing or copying one; without it, the oracle.
  if (!ShippedModelPath(model_.image_model.toStdString())) model_.image_model = QStringLiteral("oracle");
}

Document::~Document() {
  // Commands point back at the document; drop them before the members they touch.
  undo_stack_.clear();
}

QVariant Document::value(Param param) const {
  switch (param) {
    case Param::kSchedule: return QVariant::fromValue(schedule_options_);
    case Param::kCompare: return QVariant::fromValue(compare_options_);
    case Param::kSeed: return QVariant::fromValue(static_cast<qulonglong>(seed_));
    case Param::kForwardPath: return QVariant::fromValue(forward_path_);
    case Param::kSampler: return QVariant::fromValue(sampler_options_);
    case Param::kModel: return QVariant::fromValue(model_);
    case Param::kPointsOverlays: return QVariant::fromValue(points_overlays_);
  }
  return {};
}

void Document::apply(Param param, const QVariant& value) {
  switch (param) {
    case Param::kSchedule: {
      const auto options = value.value<ScheduleOptions>();
      schedule_ = std::make_shared<NoiseSchedule>(options);  // validated before a command is pushed
      schedule_options_ = options;
      const int clamped = std::clamp(t_, 0, schedule_->num_steps());
      emit scheduleChanged();
      if (clamped != t_) setT(clamped);
      break;
    }
    case Param::kCompare:
      compare_options_ = value.value<std::optional<ScheduleOptions>>();
      emit compareChanged();
      break;
    case Param::kSeed:
      seed_ = value.toULongLong();
      emit seedChanged(seed_);
      break;
    case Param::kForwardPath:
      forward_path_ = value.value<ForwardPath>();
      emit forwardPathChanged();
      break;
    case Param::kSampler:
      sampler_options_ = value.value<SamplerOptions>();
      emit samplerChanged();
      break;
    case Param::kModel:
      model_ = value.value<ModelChoice>();
      emit modelChanged();
      break;
    case Param::kPointsOverlays: {
      const auto overlays = value.value<PointsOverlays>();
      if (overlays == points_overlays_) break;
      points_overlays_ = overlays;
      emit pointsOverlaysChanged();
      break;
    }
  }
}

void Document::push(Param param, const QVariant& after, bool merge) {
  undo_stack_.push(new ValueCommand(this, param, value(param), after, merge));
}

QString Document::setScheduleOptions(const ScheduleOptions& options, bool merge) {
  const std::string problem = options.Check();
  if (!problem.empty()) return QString::fromStdString(problem);
  try {
    NoiseSchedule probe(options);  // the chain itself may be invalid even when the options pass
  } catch (const Error& error) {
    return QString::fromUtf8(error.what());
  }
  if (options == schedule_options_) return {};
  push(Param::kSchedule, QVariant::fromValue(options), merge);
  return {};
}

QString Document::setCompareOptions(const std::optional<ScheduleOptions>& options) {
  if (options) {
    const std::string problem = options->Check();
    if (!problem.empty()) return QString::fromStdString(problem);
    try {
      NoiseSchedule probe(*options);
    } catch (const Error& error) {
      return QString::fromUtf8(error.what());
    }
  }
  if (options == compare_options_) return {};
  push(Param::kCompare, QVariant::fromValue(options), false);
  return {};
}

void Document::setSeed(uint64_t seed, bool merge) {
  if (seed == seed_) return;
  push(Param::kSeed, QVariant::fromValue(static_cast<qulonglong>(seed)), merge);
}

void Document::setForwardPath(ForwardPath path) {
  if (path == forward_path_) return;
  push(Param::kForwardPath, QVariant::fromValue(path), false);
}

QString Document::setSamplerOptions(const SamplerOptions& options, bool merge) {
  const std::string problem = options.Check();
  if (!problem.empty()) return QString::fromStdString(problem);
  if (options == sampler_options_) return {};
  push(Param::kSampler, QVariant::fromValue(options), merge);
  return {};
}

void Document::setModel(const ModelChoice& model) {
  if (model == model_) return;
  push(Param::kModel, QVariant::fromValue(model), false);
}

void Document::endMerge() {
  if (undo_stack_.count() == 0 || undo_stack_.index() != undo_stack_.count()) return;
  // QUndoStack::command() is const; the command is ours, so closing it is safe.
  auto* top = const_cast<QUndoCommand*>(undo_stack_.command(undo_stack_.count() - 1));
  if (auto* command = dynamic_cast<ValueCommand*>(top)) command->close();
}

RunSpec Document::run(int workspace) const {
  if (workspace < 0) workspace = workspace_;
  RunSpec run;
  run.schedule = schedule_options_;
  run.schedule_from_model = false;  // the app samples every model on the document's schedule
  run.sampler = sampler_options_;
  run.sampler.seed = seed_;
  run.seed = seed_;
  run.forward_path = forward_path_;
  // Before the first run from the noised data, the run would start at the current t.
  if (model_.from_current_t)
    run.start_t = std::min(reverse_start_t_ > 0 ? reverse_start_t_ : t_, schedule_->num_steps());
  if (workspace == 1) {
    // The points themselves are the input; `data` says where they came from ("dataset:dino" -> "dino").
    const qsizetype colon = points_.source.indexOf(QLatin1Char(':'));
    run.data = (colon > 0 ? points_.source.mid(colon + 1) : points_.source).toStdString();
    if (run.data.empty() && !points_.empty()) run.data = "points";
    run.point_set = points_.points;
    run.points = std::max(1, model_.num_particles);
    run.model = model_.points_model.toStdString();
    run.label = model_.label;
    run.guidance = model_.label >= 0 ? model_.guidance : 0.0;
  } else {
    run.image = image_.path.toStdString();
    if (!image_.empty()) run.max_image_side = std::clamp(std::max(image_.width, image_.height), 8, 4096);
    run.model = model_.image_model.toStdString();
    const ImageModelKind kind = ImageModelKindOf(model_.image_model);
    const int working = model_.working_side > 0 ? std::max(8, model_.working_side) : 0;
    if (kind == ImageModelKind::kSr3Photo) {
      // SR3 x4 of the photo, from pure noise. Simulated: the photo at the working size is the truth. Else a region
      // at the photo's own resolution, a quarter of the working size a side (centred), is the input.
      run.super_resolution = kSr3PhotoFactor;
      run.simulate_low_resolution = model_.simulate_low_resolution;
      run.sr_samples = std::clamp(model_.sr_samples, 1, kMaxSrSamples);
      run.start_t = 0;
      if (run.simulate_low_resolution) {
        if (working > 0) run.max_image_side = std::min(run.max_image_side, working);
      } else if (working > 0 && !image_.empty()) {
        const int side = std::max(2, working / kSr3PhotoFactor);
        run.region_width = std::min(side, image_.width);
        run.region_height = std::min(side, image_.height);
        run.region_x = (image_.width - run.region_width) / 2;
        run.region_y = (image_.height - run.region_height) / 2;
        if (run.region_width == image_.width && run.region_height == image_.height)
          run.region_width = run.region_height = run.region_x = run.region_y = 0;  // all of it
      }
    } else if (IsLearnedImageModel(model_.image_model) && working > 0) {
      run.max_image_side = std::min(run.max_image_side, working);
    }
    if (kind == ImageModelKind::kSr3 || kind == ImageModelKind::kDigitsDdpm) {  // from pure noise, on 20x20 digits
      run.digits = true;
      run.digit = kind == ImageModelKind::kSr3 && model_.digit_from_image ? -1 : model_.digit;
      run.samples = kind == ImageModelKind::kSr3 ? 1 : std::clamp(model_.digit_samples, 1, 64);
      run.start_t = 0;
    }
  }
  return run;
}

void Document::setT(int t) {
  t = std::clamp(t, 0, schedule_->num_steps());
  if (t == t_) return;
  t_ = t;
  emit tChanged(t_);
}

void Document::setImage(ImageData image) {
  image_ = std::move(image);
  emit imageChanged();
}

void Document::setPoints(PointsData points) {
  points_ = std::move(points);
  emit pointsChanged();
}

void Document::setPointsOverlays(const PointsOverlays& overlays) {
  if (overlays == points_overlays_) return;
  push(Param::kPointsOverlays, QVariant::fromValue(overlays), false);
}

void Document::setWorkspace(int workspace) {
  if (workspace == workspace_) return;
  workspace_ = workspace;
  emit workspaceChanged(workspace_);
}

ValueCommand::ValueCommand(Document* document, Document::Param param, QVariant before, QVariant after, bool open)
    : document_(document), param_(param), before_(std::move(before)), after_(std::move(after)), open_(open) {
  setText(QObject::tr("Change %1").arg(ParamName(param)));
}

void ValueCommand::undo() { document_->apply(param_, before_); }
void ValueCommand::redo() { document_->apply(param_, after_); }

bool ValueCommand::mergeWith(const QUndoCommand* other) {
  const auto* next = dynamic_cast<const ValueCommand*>(other);
  if (!open_ || next == nullptr || next->param_ != param_ || next->document_ != document_) return false;
  after_ = next->after_;
  open_ = next->open_;
  return true;
}

}  // namespace diffuscope::ui

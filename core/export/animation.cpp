#include "core/export/animation.h"

#include "core/export/export_detail.h"

#include "core/common/atomic_file.h"
#include "core/data/digits.h"
#include "core/data/image_io.h"
#include "core/data/points2d.h"
#include "core/forward/forward.h"
#include "core/models/registry.h"
#include "core/render/density.h"
#include "core/run/overlays.h"
#include "core/run/run.h"
#include "core/run/run_json.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>

namespace diffuscope {
namespace fs = std::filesystem;
using nlohmann::json;

std::string_view DirectionName(Direction d) { return d == Direction::kForward ? "forward" : "reverse"; }
std::string_view FrameSpacingName(FrameSpacing s) { return s == FrameSpacing::kTime ? "time" : "log-snr"; }

std::string AnimationSpec::Check() const {
  if (std::string problem = RunSpec::Check(); !problem.empty()) return problem;
  if (frames < 1 || frames > 10000) return "frames must be in 1..10000";
  if (std::string p = render.Check(); !p.empty()) return "render: " + p;
  if (std::string p = output.Check(); !p.empty()) return "output: " + p;
  const int T = schedule.num_steps;
  if (from_t < -1 || from_t > T) return "from_t must be in 0.." + std::to_string(T) + " (or -1 for the default)";
  if (to_t < -1 || to_t > T) return "to_t must be in 0.." + std::to_string(T) + " (or -1 for the default)";
  for (int t : times)
    if (t < 0 || t > T) return "every frame time must be in 0.." + std::to_string(T);
  if (times.size() > 10000) return "at most 10000 frame times";
  if (is_points() && render.layout != Layout::kScatter) return "2D data is shown with the scatter layout";
  if (!image.empty() && render.layout == Layout::kScatter) return "the scatter layout shows 2D data, not images";
  if (std::string p = field.Check(); !p.empty()) return "field: " + p;
  if (!is_points() && (field.kind != FieldKind::kNone || contours))
    return "the field and the density contours are drawn over 2D data, not images";
  if (!is_points() && !draw_data) return "hiding the data set applies to 2D data, not images (they have none drawn)";
  return {};
}

namespace {

// The t of each frame: evenly spaced in t, or in log-SNR (then the t of nearest log-SNR), ends exact.
std::vector<int> ChooseTimes(const NoiseSchedule& s, int from, int to, int count, FrameSpacing spacing) {
  std::vector<int> t(count);
  if (count == 1) return {from};
  if (spacing == FrameSpacing::kTime) {
    for (int k = 0; k < count; ++k) t[k] = static_cast<int>(std::lround(from + double(to - from) * k / (count - 1)));
    return t;
  }
  // log-SNR is infinite at t = 0 and -infinite where alpha_bar = 0: clamp to the finite range.
  const int T = s.num_steps();
  const int last_finite = s.alpha_bar(T) > 0 ? T : T - 1;
  auto lambda = [&](int u) { return s.log_snr(std::clamp(u, 1, std::max(1, last_finite))); };
  const double l0 = lambda(from), l1 = lambda(to);
  for (int k = 0; k < count; ++k) {
    const double target = l0 + (l1 - l0) * k / (count - 1);
    int best = from;
    double best_d = INFINITY;
    const int lo = std::min(from, to), hi = std::max(from, to);
    for (int u = lo; u <= hi; ++u) {
      const double d = std::abs(lambda(u) - target);
      if (d < best_d) best_d = d, best = u;
    }
    t[k] = best;
  }
  t.front() = from;
  t.back() = to;
  return t;
}

json SpecJson(const AnimationSpec& s) {
  const RenderOptions& r = s.render;
  json j = run_json::RunToJson(s);
  j.update(json{
      {"direction", DirectionName(s.direction)},
      {"from_t", s.from_t},
      {"to_t", s.to_t},
      {"frames", s.frames},
      {"spacing", FrameSpacingName(s.spacing)},
      {"times", s.times},
      {"render",
       {{"layout", LayoutName(r.layout)},
        {"scale", r.scale},
        {"min_cell", r.min_cell},
        {"sample", r.sample},
        {"grid_samples", r.grid_samples},
        {"grid_columns", r.grid_columns},
        {"eps_range", r.eps_range},
        {"labels", r.labels},
        {"caption", r.caption},
        {"padding", r.padding},
        {"scatter",
         {{"width", r.scatter.width},
          {"height", r.scatter.height},
          {"x_min", r.scatter.x_min},
          {"x_max", r.scatter.x_max},
          {"y_min", r.scatter.y_min},
          {"y_max", r.scatter.y_max},
          {"max_trajectories", r.scatter.max_trajectories}}}}},
      {"overlays",
       {{"field", FieldKindName(s.field.kind)},
        {"field_grid", s.field.grid},
        {"field_half_width", s.field.half_width},
        {"contours", s.contours},
        {"data", s.draw_data}}},
      {"output",
       {{"fps", s.output.fps},
        {"final_hold_s", s.output.final_hold_s},
        {"loop", s.output.loop},
        {"gif_palette", GifPaletteName(s.output.gif_palette)},
        {"gif_dither", s.output.gif_dither},
        {"gif_colours", s.output.gif_colours},
        {"video_codec", VideoCodecName(s.output.video_codec)},
        {"video_crf", s.output.video_crf},
        {"video_threads", s.output.video_threads}}},
  });
  return j;
}

template <typename T, typename Parse>
T ParseName(const json& j, const char* key, Parse parse) {
  const std::string name = j.at(key).get<std::string>();
  auto v = parse(name);
  Require(v.has_value(), std::string("unknown ") + key + " '" + name + "'");
  return *v;
}

AnimationSpec SpecFromJson(const json& j) {
  AnimationSpec s;
  static_cast<RunSpec&>(s) = run_json::RunFromJson(j, "spec");
  const std::string direction = j.at("direction").get<std::string>();
  Require(direction == "forward" || direction == "reverse", "unknown direction '" + direction + "'");
  s.direction = direction == "forward" ? Direction::kForward : Direction::kReverse;
  // Version 1 bundles had only "markov", for forward runs: their reverse runs started on the closed form.
  if (!j.contains("forward_path") && s.direction == Direction::kReverse) s.forward_path = ForwardPath::kClosed;
  s.from_t = j.at("from_t").get<int>();
  s.to_t = j.at("to_t").get<int>();
  s.frames = j.at("frames").get<int>();
  const std::string spacing = j.at("spacing").get<std::string>();
  Require(spacing == "time" || spacing == "log-snr", "unknown frame spacing '" + spacing + "'");
  s.spacing = spacing == "time" ? FrameSpacing::kTime : FrameSpacing::kLogSnr;
  s.times = j.value("times", std::vector<int>{});
  const json& r = j.at("render");
  s.render.layout = ParseName<Layout>(r, "layout", ParseLayout);
  s.render.scale = r.at("scale").get<int>();
  s.render.min_cell = r.at("min_cell").get<int>();
  s.render.sample = r.at("sample").get<int>();
  s.render.grid_samples = r.at("grid_samples").get<int>();
  s.render.grid_columns = r.at("grid_columns").get<int>();
  s.render.eps_range = r.at("eps_range").get<float>();
  s.render.labels = r.at("labels").get<bool>();
  s.render.caption = r.at("caption").get<bool>();
  s.render.padding = r.at("padding").get<int>();
  const json& sc = r.at("scatter");
  s.render.scatter.width = sc.at("width").get<int>();
  s.render.scatter.height = sc.at("height").get<int>();
  s.render.scatter.x_min = sc.at("x_min").get<double>();
  s.render.scatter.x_max = sc.at("x_max").get<double>();
  s.render.scatter.y_min = sc.at("y_min").get<double>();
  s.render.scatter.y_max = sc.at("y_max").get<double>();
  s.render.scatter.max_trajectories = sc.at("max_trajectories").get<int>();
  // Bundles written before the overlays have none.
  if (j.contains("overlays")) {
    const json& o = j.at("overlays");
    s.field.kind = ParseName<FieldKind>(o, "field", ParseFieldKind);
    s.field.grid = o.value("field_grid", s.field.grid);
    s.field.half_width = o.value("field_half_width", s.field.half_width);
    s.contours = o.value("contours", false);
    s.draw_data = o.value("data", true);  // bundles written before the choice drew the data set
  }
  const json& out = j.at("output");
  s.output.fps = out.at("fps").get<double>();
  s.output.final_hold_s = out.at("final_hold_s").get<double>();
  s.output.loop = out.at("loop").get<bool>();
  s.output.gif_palette = ParseName<GifPalette>(out, "gif_palette", ParseGifPalette);
  s.output.gif_dither = out.at("gif_dither").get<bool>();
  s.output.gif_colours = out.at("gif_colours").get<int>();
  s.output.video_codec = ParseName<VideoCodec>(out, "video_codec", ParseVideoCodec);
  // Bundles written before the libavcodec writer have no quality fields: they get today's defaults.
  s.output.video_crf = out.value("video_crf", s.output.video_crf);
  s.output.video_threads = out.value("video_threads", s.output.video_threads);
  return s;
}

// One state of the trajectory that becomes a frame.
struct State {
  int t = 0;
  Batch x, x0_hat, eps_hat;
  std::vector<Polyline> trajectories{};  // 2D reverse runs: the paths so far
};

}  // namespace

namespace {

// A rendered frame and its t, handed on as soon as it is rendered.
using FrameSink = std::function<void(Frame&& frame, int t, const Batch& x_t, ScatterOverlays&& overlays)>;

// Computes the job's trajectory and renders its frames in order into `emit`; fills `result` but its frames and t.
// Forward frames are emitted as each x_t is computed, so that a video encoder codes one while the next is made.
void RenderFrames(const AnimationSpec& spec, const ProgressFn& progress, const StopFn& stop, AnimationFrames* out,
                  const FrameSink& emit) {
  if (std::string problem = spec.Check(); !problem.empty()) throw Error("export: " + problem);
  AnimationFrames& result = *out;
  const RunInput input = LoadRunInput(spec);
  const bool points = input.points;
  const Batch& x0 = input.x0;  // 2D: in the data's own units
  const Batch& data = input.data;
  const ImageShape shape = input.shape;
  result.input_sha256 = input.sha256;

  const bool needs_model = spec.direction == Direction::kReverse || spec.render.layout == Layout::kPredictions ||
                           (points && spec.field.kind != FieldKind::kNone);
  OpenedModel model;
  if (needs_model) {
    model = OpenRunModel(spec, input);
    result.model_description = model.description;
    if (!model.file.empty()) result.model_sha256 = Sha256File(model.file);
  }
  const NoiseSchedule schedule(RunSchedule(spec, model));
  const Batch condition = needs_model ? RunCondition(*model.denoiser, input) : Batch();  // SR3's low-res view
  const Batch* condition_or_null = condition.size() > 0 ? &condition : nullptr;
  // The diffusion runs in the model's normalised space (unit-scale noise); the frames show the data's units.
  // A forward 2D run moves the data in its own normalised space whatever model draws the field (as the app does).
  const bool model_space = needs_model && (spec.direction == Direction::kReverse || !points);
  const PointNormalization normalization = model_space ? model.normalization : input.normalization;
  const Batch z0 = normalization.ToModel(x0);
  const int T = schedule.num_steps();
  Require(spec.from_t <= T && spec.to_t <= T, "export: from_t and to_t must be at most T = " + std::to_string(T));

  // 2D: the scatter limits are in normalised units (the default +-4 frames 4 spreads around the data's centre),
  // drawn and labelled in the data's units.
  RenderOptions render_options = spec.render;
  if (points) {
    const ScatterOptions& limits = spec.render.scatter;
    const PlotBox box = DataBox(normalization, PlotBox{limits.x_min, limits.x_max, limits.y_min, limits.y_max});
    render_options.scatter.x_min = box.x_min;
    render_options.scatter.x_max = box.x_max;
    render_options.scatter.y_min = box.y_min;
    render_options.scatter.y_max = box.y_max;
  }
  // The digits DDPM's samples are shown as one grid image, as the app shows them.
  const bool tile = spec.digits && x0.rows() > 1;
  ImageShape frame_shape = shape;
  if (tile) TileDigits(x0, kDigitSide, 0.0f, &frame_shape);
  FrameRenderer renderer(render_options, frame_shape, &schedule);
  const PlotBox box{render_options.scatter.x_min, render_options.scatter.x_max, render_options.scatter.y_min,
                    render_options.scatter.y_max};
  const int trajectories = points ? spec.render.scatter.max_trajectories : 0;
  std::optional<ForwardTrajectories> forward_paths;  // forward 2D runs with trajectories
  long long rendered = 0;
  auto render = [&](const State& s, long long total) {
    if (stop && stop()) throw Cancelled();
    const Batch x_data = points ? normalization.ToData(s.x) : Batch();
    ImageShape unused;
    const Batch x_tiled = tile ? TileDigits(s.x, kDigitSide, 0.0f, &unused) : Batch();
    const Batch x0_tiled = tile && s.x0_hat.size() ? TileDigits(s.x0_hat, kDigitSide, 0.0f, &unused) : Batch();
    const Batch eps_tiled = tile && s.eps_hat.size() ? TileDigits(s.eps_hat, kDigitSide, 0.0f, &unused) : Batch();
    FrameInput frame;
    frame.x_t = points ? &x_data : tile ? &x_tiled : &s.x;
    frame.x0_hat = s.x0_hat.size() ? (tile ? &x0_tiled : &s.x0_hat) : nullptr;
    frame.eps_hat = s.eps_hat.size() ? (tile ? &eps_tiled : &s.eps_hat) : nullptr;
    frame.t = s.t;
    frame.caption = CaptionText(s.t, schedule.alpha_bar(s.t), s.t == 0 ? INFINITY : schedule.snr(s.t));
    ScatterOverlays overlays;
    if (points) {
      frame.data = spec.draw_data ? &data : nullptr;
      // What the app's view draws over the particles at this t, from the same core calls.
      if (spec.field.kind != FieldKind::kNone)
        overlays.fields = RunFields(spec, *model.denoiser, model.normalization, schedule, s.t, spec.field);
      if (spec.contours) overlays.contours = DensityContourLines(x_data, box);
      if (forward_paths) overlays.trajectories = forward_paths->UpTo(s.t, x_data);
      else overlays.trajectories = s.trajectories;
      frame.overlays = &overlays;
    }
    emit(renderer.Render(frame), s.t, points ? x_data : s.x, std::move(overlays));
    if (progress) progress(++rendered, total, "rendering");
  };

  std::vector<State> states;
  auto predict = [&](State& state) {
    if (!needs_model || state.t == 0) return;
    PredictAt(*model.denoiser, schedule, state.t, state.x, &state.x0_hat, &state.eps_hat, condition_or_null);
  };
  if (spec.direction == Direction::kForward) {
    const int from = spec.from_t < 0 ? 0 : spec.from_t, to = spec.to_t < 0 ? T : spec.to_t;
    ForwardProcess forward(schedule, z0, spec.seed);
    if (trajectories > 0) forward_paths.emplace(forward, spec.forward_path, normalization, trajectories);
    const std::vector<int> times =
        spec.times.empty() ? ChooseTimes(schedule, from, to, spec.frames, spec.spacing) : spec.times;
    for (size_t k = 0; k < times.size(); ++k) {
      if (stop && stop()) throw Cancelled();
      // Fresh noise: frame k of the animation draws the k-th fresh eps.
      State state{times[k], ForwardAt(forward, spec.forward_path, times[k], k), {}, {}};
      predict(state);
      if (progress) progress(static_cast<long long>(k + 1), static_cast<long long>(times.size()), "computing x_t");
      render(state, static_cast<long long>(times.size()));
    }
  } else {
    const int from = spec.from_t >= 0 ? spec.from_t : (spec.start_t > 0 ? std::min(spec.start_t, T) : T);
    const int to = spec.to_t < 0 ? 0 : spec.to_t;
    Require(from > to, "export: a reverse run goes from a larger t to a smaller one (from_t > to_t)");
    // Below T, or when the run says so, the run starts from the input noised to `from` (SDEdit).
    RunSpec run = spec;
    run.start_t = from < T || spec.start_t > 0 ? from : 0;
    ReverseRun sampler = StartReverseRun(run, schedule, *model.denoiser, input, normalization, condition_or_null);
    const Batch x_start = sampler.x();
    std::vector<int> visited = sampler.timesteps();
    visited.push_back(0);
    if (run.start_t > 0 && visited.front() != from) visited.insert(visited.begin(), from);
    std::vector<int> in_range;
    for (int t : visited)
      if (t >= to) in_range.push_back(t);
    // The frames: states of the run nearest to the chosen times (each state once).
    std::vector<int> wanted =
        spec.times.empty() ? ChooseTimes(schedule, from, to, std::min<int>(spec.frames, in_range.size()), spec.spacing)
                           : spec.times;
    std::vector<int> keep;
    for (int w : wanted) {
      int best = in_range.front();
      for (int t : in_range)
        if (std::abs(t - w) < std::abs(best - w)) best = t;
      if (std::find(keep.begin(), keep.end(), best) == keep.end()) keep.push_back(best);
    }
    std::sort(keep.begin(), keep.end(), std::greater<int>());
    auto kept = [&](int t) { return std::find(keep.begin(), keep.end(), t) != keep.end(); };
    // 2D: the trajectory rows' positions at every step (data units), as the app's view keeps the run.
    const std::vector<Eigen::Index> rows = TrajectoryRows(x_start.rows(), trajectories);
    std::vector<Polyline> paths(rows.size());
    auto extend_paths = [&](const Batch& x) {
      if (rows.empty()) return;
      const Batch x_data = normalization.ToData(x);
      for (size_t k = 0; k < rows.size(); ++k) paths[k].push_back({x_data(rows[k], 0), x_data(rows[k], 1)});
    };
    extend_paths(x_start);
    if (kept(from)) states.push_back({from, x_start, {}, {}, paths});
    const long long total = sampler.steps_total();
    while (!sampler.done()) {
      if (stop && stop()) throw Cancelled();
      const Step& step = sampler.Next();
      if (!states.empty() && states.back().t == step.t) {  // predictions at t belong to the state at t
        states.back().x0_hat = step.x0_hat;
        states.back().eps_hat = step.eps_hat;
      }
      if (step.t_prev < to) break;
      extend_paths(step.x_prev);
      if (kept(step.t_prev)) states.push_back({step.t_prev, step.x_prev, {}, {}, paths});
      if (progress) progress(sampler.steps_done(), total, "reverse step t = " + std::to_string(step.t));
    }
    if (!states.empty() && states.back().t == 0) states.back().x0_hat = states.back().x;
  }

  // Reverse: a state's predictions arrive with the next step, so its frame is rendered once the run is done.
  for (const State& s : states) render(s, static_cast<long long>(states.size()));
}

}  // namespace

AnimationFrames RenderAnimation(const AnimationSpec& spec, const ProgressFn& progress, const StopFn& stop) {
  AnimationFrames result;
  RenderFrames(spec, progress, stop, &result,
               [&result](Frame&& frame, int t, const Batch& x_t, ScatterOverlays&& overlays) {
                 result.frames.push_back(std::move(frame));
                 result.t.push_back(t);
                 result.x_t.push_back(x_t);
                 result.overlays.push_back(std::move(overlays));
               });
  return result;
}

fs::path BundlePathFor(const fs::path& out, ExportFormat format) {
  if (format == ExportFormat::kPngFrames) return out / "bundle.json";
  fs::path p = out;
  p += ".json";
  return p;
}

std::string BundleToJson(const Bundle& b) {
  json j = {{"format", "diffuscope-bundle"},   {"bundle_version", 1},
            {"diffuscope_version", b.version}, {"output", b.output},
            {"spec", SpecJson(b.spec)},        {"input_sha256", b.input_sha256},
            {"model_sha256", b.model_sha256},  {"frame_sha256", b.frame_sha256}};
  return j.dump(2) + "\n";
}

Bundle ParseBundle(const std::string& text, const std::string& source) {
  try {
    const json j = json::parse(text);
    Require(j.value("format", "") == "diffuscope-bundle", source + " is not a Diffuscope bundle");
    Require(j.at("bundle_version").get<int>() == 1, source + " has bundle version " +
                                                        std::to_string(j.at("bundle_version").get<int>()) +
                                                        "; this version reads version 1");
    Bundle b;
    b.version = j.at("diffuscope_version").get<std::string>();
    b.output = j.at("output").get<std::string>();
    b.spec = SpecFromJson(j.at("spec"));
    b.input_sha256 = j.at("input_sha256").get<std::string>();
    b.model_sha256 = j.at("model_sha256").get<std::string>();
    b.frame_sha256 = j.at("frame_sha256").get<std::vector<std::string>>();
    if (std::string problem = b.spec.Check(); !problem.empty()) throw Error(source + ": " + problem);
    return b;
  } catch (const json::exception& e) {
    throw Error(source + " is malformed: " + e.what());
  }
}

Bundle ReadBundle(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  Require(in.good(), "cannot open bundle '" + path.string() + "'");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Require(text.size() < (64u << 20), "bundle '" + path.string() + "' is too large to be a bundle");
  return ParseBundle(text, "bundle '" + path.string() + "'");
}

ExportResult ExportAnimationJob(const AnimationSpec& spec, const fs::path& out, const ProgressFn& progress,
                                const StopFn& stop) {
  const ExportFormat format = FormatForPath(out);
  export_detail::CheckRequest(out, std::max(1, spec.frames),
                              spec.output);  // fail early: bad target, before minutes of work
  Bundle bundle;
  bundle.spec = spec;
  bundle.output = out.string();
  bundle.version = DIFFUSCOPE_VERSION;
  ExportResult result;
  AnimationFrames frames;
  if (format == ExportFormat::kMp4 || format == ExportFormat::kWebm) {
    // Streamed: each frame is encoded (on the encoder's threads) while the next is computed and rendered.
    VideoWriter video(out, spec.output);
    RenderFrames(spec, progress, stop, &frames, [&](Frame&& frame, int, const Batch&, ScatterOverlays&&) {
      bundle.frame_sha256.push_back(Sha256Hex(frame.rgb.data(), frame.rgb.size()));
      video.Add(frame);
    });
    result = video.Finish(stop);
  } else {  // the GIF palette needs every frame first; PNG frames are compressed in parallel batches
    frames = RenderAnimation(spec, progress, stop);
    for (const Frame& f : frames.frames) bundle.frame_sha256.push_back(Sha256Hex(f.rgb.data(), f.rgb.size()));
    result = ExportAnimation(out, frames.frames, spec.output, progress, stop);
  }
  bundle.input_sha256 = frames.input_sha256;
  bundle.model_sha256 = frames.model_sha256;
  // The PNG folder exists only now; the bundle goes beside (or into) what was written.
  AtomicFile file(BundlePathFor(out, format));
  file.stream() << BundleToJson(bundle);
  file.Commit();
  return result;
}

}  // namespace diffuscope

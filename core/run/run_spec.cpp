#include "core/run/run_spec.h"

#include "core/models/photo_eval.h"

#include "core/run/run_json.h"

#include <cmath>
#include <type_traits>

namespace diffuscope {
using nlohmann::json;

std::string_view ForwardPathName(ForwardPath path) {
  switch (path) {
    case ForwardPath::kClosed: return "closed";
    case ForwardPath::kMarkov: return "markov";
    case ForwardPath::kFreshNoise: return "fresh-noise";
  }
  return "closed";
}

std::optional<ForwardPath> ParseForwardPath(std::string_view name) {
  for (ForwardPath p : {ForwardPath::kClosed, ForwardPath::kMarkov, ForwardPath::kFreshNoise})
    if (name == ForwardPathName(p)) return p;
  return std::nullopt;
}

std::string RunSpec::Check() const {
  const bool has_data = !data.empty() || point_set.rows() > 0;
  if (digits) {
    if (has_data) return "a digits run takes no 2D data";
    if (digit < -1 || digit >= 500) return "digit must be a held-out digit 0..499, or -1 for the image";
    if (digit == -1 && image.empty()) return "digit -1 makes the SR3 truth from the image: give an image";
  } else if (image.empty() == !has_data) {
    return "give exactly one input: an image or a 2D data set";
  }
  if (point_set.rows() > 0 && point_set.cols() != 2) return "point_set must have 2 columns (x, y)";
  if (point_set.rows() > 1000000) return "point_set holds at most 1000000 points";
  if (point_set.size() > 0 && !point_set.allFinite()) return "point_set must hold finite numbers only";
  if (max_image_side < 8 || max_image_side > 4096) return "max_image_side must be in 8..4096";
  if (points < 1 || points > 200000) return "points must be in 1..200000";
  if (data_points < 1 || data_points > 1000000) return "data_points must be in 1..1000000";
  if (samples < 1 || samples > 64) return "samples must be in 1..64";
  if (super_resolution != 0 && (super_resolution < 2 || super_resolution > 8))
    return "super_resolution must be a factor in 2..8 (0: not a super-resolution run)";
  if (super_resolution != 0 && (has_data || digits)) return "super_resolution is for image runs";
  if (sr_samples < 1 || sr_samples > kMaxSrSamples) return "sr_samples must be in 1.." + std::to_string(kMaxSrSamples);
  if (sr_samples > 1 && super_resolution == 0) return "sr_samples (a mean of chains) is for super-resolution runs";
  if (sr_samples > 1 && samples != 1) return "sr_samples needs samples = 1 (one image, K chains)";
  if (region_x < 0 || region_y < 0 || region_width < 0 || region_height < 0)
    return "region_x, region_y, region_width and region_height must not be negative";
  if ((region_width == 0) != (region_height == 0)) return "region_width and region_height are both 0 or both set";
  if (std::string p = schedule.Check(); !p.empty()) return "schedule: " + p;
  if (std::string p = sampler.Check(); !p.empty()) return "sampler: " + p;
  if (label < -1 || label >= 64) return "label must be a class 0..63, or -1 for an unconditional run";
  if (!(std::isfinite(guidance) && guidance >= 0.0 && guidance <= 10.0)) return "guidance must be a weight in [0, 10]";
  if (label >= 0 && !has_data) return "label and guidance are for 2D runs";
  if (label < 0 && guidance != 0.0) return "guidance needs a label (the class to guide towards)";
  if (start_t < 0 || start_t > schedule.num_steps)
    return "start_t must be in 0.." + std::to_string(schedule.num_steps) + " (0 = from pure noise)";
  return {};
}

namespace run_json {
namespace {

// Typed access to the fields of one object; errors name the field with its path.
class Fields {
 public:
  Fields(const json& j, std::string where) : j_(j), where_(std::move(where)) {
    if (!j_.is_object())
      throw Error((where_.empty() ? std::string("the run") : "'" + where_ + "'") + " must be a JSON object");
  }
  bool Has(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }
  std::string Name(const char* key) const { return where_.empty() ? key : where_ + "." + key; }
  [[noreturn]] void Fail(const char* key, const std::string& problem) const {
    throw Error("'" + Name(key) + "' " + problem);
  }

  template <typename T>
  T Need(const char* key) const {
    if (!Has(key)) Fail(key, "is missing");
    return As<T>(key);
  }
  template <typename T>
  T Get(const char* key, T fallback) const {
    return Has(key) ? As<T>(key) : fallback;
  }
  template <typename E, typename Parse>
  E Enum(const char* key, Parse parse, E fallback, const char* what) const {
    if (!Has(key)) return fallback;
    const std::string name = As<std::string>(key);
    auto value = parse(name);
    if (!value) Fail(key, "is '" + name + "', not a known " + what);
    return *value;
  }
  const json& Object(const char* key) const {
    if (!Has(key)) Fail(key, "is missing");
    if (!j_.at(key).is_object()) Fail(key, "must be an object");
    return j_.at(key);
  }

 private:
  template <typename T>
  T As(const char* key) const {
    const json& v = j_.at(key);
    if constexpr (std::is_same_v<T, bool>) {
      if (!v.is_boolean()) Fail(key, "must be true or false");
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!v.is_string()) Fail(key, "must be a string");
    } else if constexpr (std::is_integral_v<T>) {
      if (!v.is_number_integer()) Fail(key, "must be a whole number");
      if (std::is_unsigned_v<T> && v.is_number_integer() && !v.is_number_unsigned()) Fail(key, "must not be negative");
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!v.is_number() || !std::isfinite(v.get<double>())) Fail(key, "must be a number");
    }
    try {
      return v.get<T>();
    } catch (const json::exception& e) {
      Fail(key, std::string("is malformed: ") + e.what());
    }
  }

  const json& j_;
  std::string where_;
};

}  // namespace

json ScheduleToJson(const ScheduleOptions& o) {
  return {{"kind", ScheduleKindName(o.kind)},
          {"steps", o.num_steps},
          {"beta_start", o.beta_start},
          {"beta_end", o.beta_end},
          {"cosine_s", o.cosine_s},
          {"max_beta", o.max_beta},
          {"zero_terminal_snr", o.zero_terminal_snr},
          {"custom", o.custom}};
}

ScheduleOptions ScheduleFromJson(const json& j, const std::string& where) {
  const Fields f(j, where);
  ScheduleOptions o;
  if (!f.Has("kind")) f.Fail("kind", "is missing");
  o.kind = f.Enum<ScheduleKind>("kind", ParseScheduleKind, o.kind, "schedule kind");
  o.num_steps = f.Need<int>("steps");
  if (o.num_steps < 1) f.Fail("steps", "must be at least 1");
  o.beta_start = f.Get<double>("beta_start", o.beta_start);
  o.beta_end = f.Get<double>("beta_end", o.beta_end);
  o.cosine_s = f.Get<double>("cosine_s", o.cosine_s);
  o.max_beta = f.Get<double>("max_beta", o.max_beta);
  o.zero_terminal_snr = f.Get<bool>("zero_terminal_snr", false);
  if (f.Has("custom")) {
    const json& custom = j.at("custom");
    if (!custom.is_array()) f.Fail("custom", "must be an array of numbers");
    for (const json& v : custom) {
      if (!v.is_number() || !std::isfinite(v.get<double>())) f.Fail("custom", "must hold finite numbers only");
      o.custom.push_back(v.get<double>());
    }
  }
  if (std::string problem = o.Check(); !problem.empty())
    throw Error("'" + where + "' is not a valid schedule: " + problem);
  return o;
}

json SamplerToJson(const SamplerOptions& o) {
  json j = {{"kind", SamplerKindName(o.kind)},
            {"steps", o.num_steps},
            {"spacing", SpacingName(o.spacing)},
            {"variance", VarianceChoiceName(o.variance)},
            {"eta", o.eta},
            {"clip_x0", o.clip_x0},
            {"clip_range", o.clip_range},
            {"dynamic_threshold", o.dynamic_threshold},
            {"threshold_percentile", o.threshold_percentile},
            {"seed", o.seed}};
  // Only where it matters, so the files (and content hashes) of the other samplers stay as they were.
  if (o.kind == SamplerKind::kHeunKarras || o.rho != SamplerOptions{}.rho) j["rho"] = o.rho;
  return j;
}

SamplerOptions SamplerFromJson(const json& j, const std::string& where) {
  const Fields f(j, where);
  SamplerOptions o;
  o.kind = f.Enum<SamplerKind>(
      "kind", ParseSamplerKind, o.kind,
      "sampler (ddpm, ddim, ode-euler, sde-euler, heun-karras, dpm-solver++, flow-euler, flow-heun)");
  o.num_steps = f.Get<int>("steps", o.num_steps);
  o.spacing = f.Enum<Spacing>("spacing", ParseSpacing, o.spacing, "spacing (leading, trailing, linspace)");
  o.variance = f.Enum<VarianceChoice>("variance", ParseVarianceChoice, o.variance,
                                      "variance (fixed-small, fixed-large, learned)");
  o.eta = f.Get<double>("eta", o.eta);
  o.clip_x0 = f.Get<bool>("clip_x0", o.clip_x0);
  o.clip_range = f.Get<double>("clip_range", o.clip_range);
  o.dynamic_threshold = f.Get<bool>("dynamic_threshold", o.dynamic_threshold);
  o.threshold_percentile = f.Get<double>("threshold_percentile", o.threshold_percentile);
  o.rho = f.Get<double>("rho", o.rho);  // files from before heun-karras have none: Karras et al.'s 7
  o.seed = f.Get<uint64_t>("seed", o.seed);
  if (std::string problem = o.Check(); !problem.empty()) throw Error("'" + where + "' is not valid: " + problem);
  return o;
}

json RunToJson(const RunSpec& r) {
  json j = {{"image", r.image},
            {"data", r.data},
            {"max_image_side", r.max_image_side},
            {"points", r.points},
            {"data_points", r.data_points},
            {"samples", r.samples},
            {"digits", r.digits},
            {"digit", r.digit},
            {"schedule", ScheduleToJson(r.schedule)},
            {"schedule_from_model", r.schedule_from_model},
            {"sampler", SamplerToJson(r.sampler)},
            {"model", r.model},
            {"forward_path", ForwardPathName(r.forward_path)},
            {"start_t", r.start_t},
            {"seed", r.seed}};
  // Written only when used, so the runs of earlier versions keep their text.
  if (r.super_resolution != 0) {
    j["super_resolution"] = r.super_resolution;
    j["simulate_low_resolution"] = r.simulate_low_resolution;
    if (r.sr_samples > 1) j["sr_samples"] = r.sr_samples;
  }
  if (r.label >= 0) {
    j["label"] = r.label;
    j["guidance"] = r.guidance;
  }
  if (r.region_width > 0)
    j["region"] = {{"x", r.region_x}, {"y", r.region_y}, {"width", r.region_width}, {"height", r.region_height}};
  if (r.point_set.rows() > 0) {
    json xy = json::array();
    for (Eigen::Index i = 0; i < r.point_set.rows(); ++i) xy.push_back({r.point_set(i, 0), r.point_set(i, 1)});
    j["point_set"] = std::move(xy);
  }
  return j;
}

RunSpec RunFromJson(const json& j, const std::string& where) {
  const Fields f(j, where);
  RunSpec r;
  r.image = f.Get<std::string>("image", "");
  r.data = f.Get<std::string>("data", "");
  if (f.Has("point_set")) {
    const json& xy = j.at("point_set");
    if (!xy.is_array()) f.Fail("point_set", "must be an array of [x, y] pairs");
    r.point_set.resize(static_cast<Eigen::Index>(xy.size()), 2);
    for (size_t i = 0; i < xy.size(); ++i) {
      const json& p = xy[i];
      if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number())
        f.Fail("point_set", "row " + std::to_string(i + 1) + " must be [x, y] with two numbers");
      // Written from floats, so the decimal text reads back to the same float.
      r.point_set(static_cast<Eigen::Index>(i), 0) = static_cast<float>(p[0].get<double>());
      r.point_set(static_cast<Eigen::Index>(i), 1) = static_cast<float>(p[1].get<double>());
    }
  }
  r.max_image_side = f.Get<int>("max_image_side", r.max_image_side);
  r.points = f.Get<int>("points", r.points);
  r.data_points = f.Get<int>("data_points", r.data_points);
  r.samples = f.Get<int>("samples", r.samples);
  r.digits = f.Get<bool>("digits", false);
  r.digit = f.Get<int>("digit", 0);
  r.super_resolution = f.Get<int>("super_resolution", 0);
  r.simulate_low_resolution = f.Get<bool>("simulate_low_resolution", false);
  r.sr_samples = f.Get<int>("sr_samples", 1);
  if (f.Has("region")) {
    const Fields region(f.Object("region"), f.Name("region"));
    r.region_x = region.Get<int>("x", 0);
    r.region_y = region.Get<int>("y", 0);
    r.region_width = region.Get<int>("width", 0);
    r.region_height = region.Get<int>("height", 0);
  }
  r.schedule = ScheduleFromJson(f.Object("schedule"), f.Name("schedule"));
  r.schedule_from_model = f.Get<bool>("schedule_from_model", true);
  if (f.Has("sampler")) r.sampler = SamplerFromJson(f.Object("sampler"), f.Name("sampler"));
  r.model = f.Get<std::string>("model", r.model);
  if (f.Has("forward_path")) {
    r.forward_path = f.Enum<ForwardPath>("forward_path", ParseForwardPath, r.forward_path,
                                         "forward path (closed, markov, fresh-noise)");
  } else {
    r.forward_path = f.Get<bool>("markov", false) ? ForwardPath::kMarkov : ForwardPath::kClosed;  // bundles v1
  }
  r.label = f.Get<int>("label", -1);
  r.guidance = f.Get<double>("guidance", 0.0);
  r.start_t = f.Get<int>("start_t", 0);
  r.seed = f.Get<uint64_t>("seed", 0);
  return r;
}

}  // namespace run_json

namespace {
template <typename T, typename Read>
T ParseText(const std::string& text, const std::string& source, Read read) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(source + " is not valid JSON: " + e.what());
  }
  try {
    return read(j);
  } catch (const Error& e) {
    throw Error(source + ": " + e.what());
  }
}
}  // namespace

std::string RunSpecToJson(const RunSpec& run) { return run_json::RunToJson(run).dump(2) + "\n"; }
RunSpec ParseRunSpec(const std::string& text, const std::string& source) {
  return ParseText<RunSpec>(text, source, [](const json& j) {
    RunSpec r = run_json::RunFromJson(j, "");
    if (std::string problem = r.Check(); !problem.empty()) throw Error(problem);
    return r;
  });
}
std::string ScheduleOptionsToJson(const ScheduleOptions& o) { return run_json::ScheduleToJson(o).dump(); }
ScheduleOptions ParseScheduleOptions(const std::string& text, const std::string& source, const std::string& where) {
  return ParseText<ScheduleOptions>(text, source, [&](const json& j) { return run_json::ScheduleFromJson(j, where); });
}
std::string SamplerOptionsToJson(const SamplerOptions& o) { return run_json::SamplerToJson(o).dump(); }
SamplerOptions ParseSamplerOptions(const std::string& text, const std::string& source, const std::string& where) {
  return ParseText<SamplerOptions>(text, source, [&](const json& j) { return run_json::SamplerFromJson(j, where); });
}

}  // namespace diffuscope

#include "core/run/overlays.h"

#include "core/run/run.h"

#include "core/models/registry.h"
#include "core/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace diffuscope {

PlotBox DataBox(const PointNormalization& space, const PlotBox& normalised) {
  return {space.shift_x + space.scale * normalised.x_min, space.shift_x + space.scale * normalised.x_max,
          space.shift_y + space.scale * normalised.y_min, space.shift_y + space.scale * normalised.y_max};
}

PlotBox DataBox(const PointNormalization& space, double half_width) {
  return DataBox(space, PlotBox{-half_width, half_width, -half_width, half_width});
}

std::string_view FieldKindName(FieldKind kind) {
  switch (kind) {
    case FieldKind::kNone: return "none";
    case FieldKind::kScore: return "score";
    case FieldKind::kDrift: return "drift";
  }
  return "none";
}

std::optional<FieldKind> ParseFieldKind(std::string_view name) {
  for (FieldKind kind : {FieldKind::kNone, FieldKind::kScore, FieldKind::kDrift})
    if (FieldKindName(kind) == name) return kind;
  return std::nullopt;
}

std::string FieldOptions::Check() const {
  if (FieldKindName(kind) != "none" && FieldKindName(kind) != "score" && FieldKindName(kind) != "drift")
    return "unknown field kind";
  if (grid < 2 || grid > 101) return "field grid must have 2..101 arrows a side";
  if (!(std::isfinite(half_width) && half_width > 0 && half_width <= 100))
    return "field half width must be in (0, 100]";
  return {};
}

Batch FieldGrid(const FieldOptions& options) {
  const std::string problem = options.Check();
  Require(problem.empty(), "field: " + problem);
  const int n = options.grid;
  const double h = options.half_width;
  Batch grid(n * n, 2);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      grid(i * n + j, 0) = static_cast<float>(-h + 2 * h * j / (n - 1));
      grid(i * n + j, 1) = static_cast<float>(-h + 2 * h * i / (n - 1));
    }
  }
  return grid;
}

Batch FieldAt(Denoiser& model, const NoiseSchedule& schedule, int t, FieldKind kind, const Batch& grid) {
  Require(t >= 1 && t <= schedule.num_steps(), "field: t must be in 1..T");
  Require(kind != FieldKind::kNone, "field: no field kind");
  if (kind == FieldKind::kScore) {
    DenoiseQuery query;
    query.t = t;
    query.t_prev = t - 1;
    query.alpha_bar = schedule.alpha_bar(t);
    query.schedule = &schedule;
    Batch x0_hat, eps_hat;
    PredictionToX0Eps(model.Predict(grid, query), grid, schedule.alpha_bar(t), schedule.alpha_bar(t - 1),
                      schedule.posterior_mean_coef1(t), schedule.posterior_mean_coef2(t), &x0_hat, &eps_hat);
    return -eps_hat;
  }
  const SamplerOptions one_step;  // DDPM, every step: the step t -> t - 1 (its mean needs no noise)
  Sampler sampler(schedule, model, one_step, grid, nullptr, t);
  const Step& step = sampler.Next();
  return step.mean - step.x_t;
}

ScatterField ModelField(Denoiser& model, const PointNormalization& space, const NoiseSchedule& schedule, int t,
                        const FieldOptions& options, Rgb colour, std::string label) {
  const Batch grid = FieldGrid(options);
  ScatterField field;
  // Vectors scale with the data's units as the positions do (no shift).
  field.vectors = FieldAt(model, schedule, t, options.kind, grid) * static_cast<float>(space.scale);
  field.tails = space.ToData(grid);
  field.cell = 2 * options.half_width / (options.grid - 1) * space.scale;
  field.colour = colour;
  field.label = std::move(label);
  return field;
}

bool ComparesWithExactMixture(const RunSpec& run) {
  if (CanonicalDatasetName(run.data) != "8gaussians") return false;
  const std::vector<std::string> builtin = BuiltinModelNames();
  return std::find(builtin.begin(), builtin.end(), run.model) == builtin.end();
}

std::vector<ScatterField> RunFields(const RunSpec& run, Denoiser& model, const PointNormalization& space,
                                    const NoiseSchedule& schedule, int t, const FieldOptions& options) {
  std::vector<ScatterField> fields;
  if (options.kind == FieldKind::kNone || t <= 0) return fields;
  const std::string what = options.kind == FieldKind::kScore ? "score direction -eps_hat" : "reverse drift mu - x_t";
  fields.push_back(ModelField(model, space, schedule, t, options, Rgb{90, 90, 90}, "model: " + what));
  if (ComparesWithExactMixture(run)) {
    OpenedModel exact = OpenModel("mixture", ModelContext{});  // the 8gaussians law, at unit scale
    std::string label = "exact Gaussian mixture: " + what;
    if (run.label >= 0) {  // a guided run: the exact guided field of the same class and weight
      RunSpec guided = run;
      guided.model = "mixture";
      exact.denoiser = GuideRunModel(guided, std::move(exact.denoiser));
      char weight[32];
      std::snprintf(weight, sizeof weight, "%g", run.guidance);
      label = "exact guided mixture (class " + std::to_string(run.label) + ", w = " + weight + "): " + what;
    }
    fields.push_back(ModelField(*exact.denoiser, exact.normalization, schedule, t, options, Rgb{44, 160, 44}, label));
  }
  return fields;
}

std::vector<Eigen::Index> TrajectoryRows(Eigen::Index rows, int count) {
  std::vector<Eigen::Index> out;
  const Eigen::Index k = std::min<Eigen::Index>(std::max(0, count), rows);
  for (Eigen::Index i = 0; i < k; ++i) out.push_back(rows * i / k);
  return out;
}

ForwardTrajectories::ForwardTrajectories(const ForwardProcess& forward, ForwardPath path,
                                         const PointNormalization& space, int count, int samples)
    : rows_(TrajectoryRows(forward.x0().rows(), count)) {
  Require(samples >= 1, "forward trajectories need at least one sample");
  paths_.assign(rows_.size(), {});
  if (rows_.empty()) return;
  const int T = forward.schedule().num_steps();
  const bool markov = path == ForwardPath::kMarkov;
  for (int j = 0; j <= samples; ++j) {
    const int t = static_cast<int>(std::lround(static_cast<double>(T) * j / samples));
    if (!t_.empty() && t_.back() == t) continue;
    t_.push_back(t);
    const Batch x = space.ToData(markov ? forward.Markov(t) : forward.Closed(t));
    for (size_t k = 0; k < rows_.size(); ++k) paths_[k].push_back({x(rows_[k], 0), x(rows_[k], 1)});
  }
}

std::vector<Polyline> ForwardTrajectories::UpTo(int t, const Batch& x_t) const {
  std::vector<Polyline> out;
  for (size_t k = 0; k < rows_.size(); ++k) {
    Require(rows_[k] < x_t.rows() && x_t.cols() == 2, "forward trajectories: x_t has other particles");
    Polyline line;
    for (size_t j = 0; j < t_.size() && t_[j] < t; ++j) line.push_back(paths_[k][j]);
    line.push_back({x_t(rows_[k], 0), x_t(rows_[k], 1)});
    out.push_back(std::move(line));
  }
  return out;
}

std::vector<Polyline> StateTrajectories(std::span<const Batch> states, std::span<const Eigen::Index> rows) {
  std::vector<Polyline> out;
  for (const Eigen::Index row : rows) {
    Polyline line;
    line.reserve(states.size());
    for (const Batch& state : states) {
      Require(row < state.rows() && state.cols() == 2, "trajectories: a state has other particles");
      line.push_back({state(row, 0), state(row, 1)});
    }
    out.push_back(std::move(line));
  }
  return out;
}

}  // namespace diffuscope

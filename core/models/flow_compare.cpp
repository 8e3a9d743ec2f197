#include "core/models/flow_compare.h"

#include "core/metrics/distance2d.h"
#include "core/models/flow2d.h"
#include "core/sampling/flow_sampler.h"
#include "core/sampling/sampler.h"

#include <cmath>

namespace diffuscope {

std::string FlowComparisonOptions::Check() const {
  if (step_counts.empty()) return "give at least one step count";
  for (int k : step_counts)
    if (k < 1 || k > 10000) return "step counts must be 1..10000 (got " + std::to_string(k) + ")";
  if (particles < 2 || particles > 200000) return "particles must be 2..200000";
  if (traced < 0 || traced > particles) return "traced must be 0..particles";
  return {};
}

double MeanStraightness(const std::vector<Batch>& states) {
  Require(states.size() >= 2, "straightness needs a path of at least two states");
  const Eigen::Index n = states.front().rows();
  double length = 0.0, chord = 0.0;
  for (Eigen::Index i = 0; i < n; ++i) {
    for (size_t k = 1; k < states.size(); ++k)
      length += (states[k].row(i) - states[k - 1].row(i)).cast<double>().norm();
    chord += (states.back().row(i) - states.front().row(i)).cast<double>().norm();
  }
  return chord > 0.0 ? length / chord : 1.0;
}

FlowComparison CompareFlowAndDdpm(Denoiser& flow, Denoiser& ddpm, const NoiseSchedule& ddpm_schedule,
                                  const PointNormalization& space, const Batch& reference,
                                  const FlowComparisonOptions& options, const ProgressFn& progress,
                                  const StopFn& stop) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("compare flow: " + problem);
  Require(reference.rows() >= 2 && reference.cols() == 2, "compare flow: the reference needs at least 2 2D points");
  const Batch noise = InitialNoise(options.particles, 2, options.seed);
  FlowComparison out;
  out.gaussian_baseline = EnergyDistance(FitGaussian(reference, options.particles, options.seed + 1), reference, stop);
  const long long total = static_cast<long long>(options.step_counts.size()) * 3;
  long long done = 0;
  auto report = [&](const FlowComparisonRow& row) {
    out.rows.push_back(row);
    if (progress) progress(++done, total, row.model + " " + row.sampler + " " + std::to_string(row.steps));
  };
  auto traced_paths = [&](const std::vector<Batch>& states) {
    std::vector<Batch> paths;
    if (options.traced > 0)
      for (const Batch& state : states) paths.push_back(space.ToData(state.topRows(options.traced)));
    return paths;
  };
  for (int K : options.step_counts) {
    for (FlowSolver solver : {FlowSolver::kEuler, FlowSolver::kHeun}) {
      std::vector<Batch> states{noise};
      FlowSampler sampler(flow, {.solver = solver, .num_steps = K, .s_start = 1.0}, noise);
      while (!sampler.done()) {
        if (stop && stop()) throw Cancelled();
        states.push_back(sampler.Next().x_next);
      }
      FlowComparisonRow row{"flow", std::string(FlowSolverName(solver)), K, sampler.evaluations(), 0.0, 0.0, {}};
      row.energy_distance = EnergyDistance(space.ToData(sampler.x()), reference, stop);
      row.straightness = MeanStraightness(states);
      row.paths = traced_paths(states);
      report(row);
    }
    SamplerOptions ddim;
    ddim.kind = SamplerKind::kDdim;
    ddim.eta = 0.0;
    ddim.num_steps = std::min(K, ddpm_schedule.num_steps());
    ddim.seed = options.seed;
    Sampler sampler(ddpm_schedule, ddpm, ddim, noise);
    auto to_flow = [](const Batch& x, double alpha_bar) -> Batch {
      return static_cast<float>(FlowScale(FlowTimeOfAlphaBar(alpha_bar))) * x;
    };
    std::vector<Batch> states;
    while (!sampler.done()) {
      if (stop && stop()) throw Cancelled();
      const Step& step = sampler.Next();
      if (states.empty()) states.push_back(to_flow(step.x_t, step.alpha_bar));
      states.push_back(to_flow(step.x_prev, step.alpha_bar_prev));
    }
    FlowComparisonRow row{"ddpm", "ddim", ddim.num_steps, sampler.steps_total(), 0.0, 0.0, {}};
    row.energy_distance = EnergyDistance(space.ToData(sampler.x()), reference, stop);
    row.straightness = MeanStraightness(states);
    row.paths = traced_paths(states);
    report(row);
  }
  return out;
}

}  // namespace diffuscope

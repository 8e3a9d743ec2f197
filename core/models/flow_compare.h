// Flow matching beside the DDPM, trained on the same data with the same budget, sampled from the same noise: the
// energy distance of the samples to held-out data per number of steps, and how straight the sampling paths are
// (the paths' mean length over the mean distance between their ends, in flow coordinates x_s = (1 - s) x_0 + s eps;
// 1 = straight, which is what lets few steps suffice). The ratio of the means, not the mean of per-path ratios:
// a path whose noise starts next to its sample has a tiny chord, and its ratio alone would swamp the mean.
//
//   diffuscope::FlowComparison c = diffuscope::CompareFlowAndDdpm(flow, ddpm, ddpm.schedule(), space, held_out, {});
//   for (const auto& row : c.rows) { /* row.model, row.sampler, row.steps, row.energy_distance, row.straightness */ }
#pragma once

#include "core/common/types.h"
#include "core/data/points2d.h"
#include "core/sampling/denoiser.h"
#include "core/schedule/schedule.h"

#include <cstdint>
#include <string>
#include <vector>

namespace diffuscope {

struct FlowComparisonOptions {
  std::vector<int> step_counts = {1, 2, 4, 8, 16, 32};  // sampling steps K of every sampler
  int particles = 2000;                                 // samples per run, all from InitialNoise(particles, 2, seed)
  uint64_t seed = 0;
  int traced = 0;  // the first `traced` particles' paths are kept in every row (for drawing)

  /// Empty when valid (1..10000 steps each, 2..200000 particles, 0..particles traced), else what is wrong.
  std::string Check() const;
};

struct FlowComparisonRow {
  std::string model;             // "flow" or "ddpm"
  std::string sampler;           // flow: "euler", "heun" (flow time, uniform s); ddpm: "ddim" (eta 0, trailing spacing)
  int steps = 0;                 // K
  int evaluations = 0;           // network evaluations per sample (NFE)
  double energy_distance = 0.0;  // samples vs the reference, in the data's units
  double straightness = 0.0;     // mean path length / mean |end - start|, in flow coordinates (MeanStraightness)
  std::vector<Batch> paths;      // options.traced particles at every state, x_1 (noise) first, flow coordinates
                                 // mapped to the data's units
};

struct FlowComparison {
  std::vector<FlowComparisonRow> rows;
  double gaussian_baseline = 0.0;  // a Gaussian fitted to the reference vs the reference
};

/// The mean path length over the mean distance between the ends of the rows' paths through states (oldest first,
/// n x 2 each): 1 when every path is straight, > 1 otherwise; 1 when no path moves.
double MeanStraightness(const std::vector<Batch>& states);

/// Samples flow (Euler and Heun in flow time) and ddpm (DDIM, eta 0, on ddpm_schedule with trailing spacing) with
/// every step count from the same noise, in the normalised space `space` maps to the reference's (data) units, and
/// measures each. DDPM states x_t are mapped to flow coordinates FlowScale(s) x_t with s of their alpha_bar.
/// progress after each run; stop between steps (throws Cancelled). Throws Error on bad options.
FlowComparison CompareFlowAndDdpm(Denoiser& flow, Denoiser& ddpm, const NoiseSchedule& ddpm_schedule,
                                  const PointNormalization& space, const Batch& reference,
                                  const FlowComparisonOptions& options, const ProgressFn& progress = {},
                                  const StopFn& stop = {});

}  // namespace diffuscope

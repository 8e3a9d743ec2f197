// Two comparisons of sampling paths (issue 10), the figures of the app's Compare dialog and of the command line:
//
// - The probability-flow ODE against the reverse SDE (Song et al. 2021) on one model from one x_T: the same
//   marginals (energy distance to the data, and the particles' spread at every t), different paths (the paired
//   particles drift apart; an SDE path is many times longer than its chord, an ODE path barely longer).
// - Flow matching against a DDPM trained on the same data with the same budget, sampled from the same noise
//   (CompareFlowAndDdpm): energy distance and straightness per number of steps, with the exact field's rows on
//   8gaussians. diffuscope-cli compare-flow prints this very call's rows.
//
//   diffuscope::OdeSdeComparison c = diffuscope::CompareOdeAndSde(schedule, model, space, data, {.num_steps = 100});
//   // c.ode.energy_distance, c.sde.straightness, c.gap[k] (paired distance at state k), c.ode.paths[k] (12 x 2)
//   diffuscope::Flow2dModel flow;  diffuscope::Ddpm2dModel ddpm;
//   diffuscope::FlowDdpmStudy s = diffuscope::RunFlowDdpmStudy({.data = "8gaussians"}, flow, ddpm);
#pragma once

#include "core/common/types.h"
#include "core/data/points2d.h"
#include "core/models/ddpm2d.h"
#include "core/models/flow2d.h"
#include "core/models/flow_compare.h"
#include "core/sampling/denoiser.h"
#include "core/sampling/sampler.h"
#include "core/schedule/schedule.h"
#include "core/train/trainer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace diffuscope {

// ---- ODE against SDE ----

struct OdeSdeOptions {
  int num_steps = 0;     // K steps of both runs (0 = every step of the schedule; more than T take T)
  int particles = 2000;  // all from InitialNoise(particles, 2, seed), in the model's space
  int traced = 12;       // the first `traced` particles' paths are kept for drawing
  uint64_t seed = 0;     // x_T and the SDE's noise

  /// Empty when valid, else what is wrong, naming the option.
  std::string Check() const;
};

/// One run of the comparison.
struct ComparedRun {
  SamplerKind sampler = SamplerKind::kOdeEuler;
  int steps = 0;
  int nfe = 0;
  std::vector<int> t;          // t of every state: x_T's first, then each step's x_prev (0: the data)
  std::vector<Batch> paths;    // the traced particles at every state (traced x 2, data units)
  std::vector<double> spread;  // at every state: RMS distance of all particles from their mean (data units)
  Batch samples;               // the endpoint, every particle (data units)
  double energy_distance = 0;  // samples against the reference
  double straightness = 0;     // mean path length / mean chord over all particles (as MeanStraightness)
};

struct OdeSdeComparison {
  ComparedRun ode, sde;
  std::vector<double> gap;       // at every state: RMS distance between paired particles of the two (data units)
  double gaussian_baseline = 0;  // a Gaussian fitted to the reference against the reference
  std::string note;              // what was substituted and why ("" when the Euler solvers ran)
};

/// Runs the probability-flow ODE (ode-euler) and the reverse SDE (sde-euler) from the same x_T on model and
/// schedule, in the space `space` maps to the reference's (data) units, and measures both. On a schedule that
/// ends at alpha_bar_T = 0, where those Euler steps in log(alpha_bar) cannot start, DDIM (eta 0: the ODE's
/// exponential-integrator step) and DDPM (the SDE's ancestral step) run instead, and note says so. progress: one
/// unit per step of either run and one per energy distance; stop asked every step (throws Cancelled). Throws Error
/// on bad options, a model that cannot run an ODE (Sohl-Dickstein's reverse mean), or a reference of < 2 points.
OdeSdeComparison CompareOdeAndSde(const NoiseSchedule& schedule, Denoiser& model, const PointNormalization& space,
                                  const Batch& reference, const OdeSdeOptions& options, const ProgressFn& progress = {},
                                  const StopFn& stop = {});

/// Accumulates the straightness of many paths one state at a time (MeanStraightness without keeping the states).
class StraightnessMeter {
 public:
  /// Adds the next state of every path (n x D, the same n every call).
  void Add(const Batch& state);
  /// Mean path length / mean chord; 1 when no path moves. Throws Error before two states.
  double Straightness() const;

 private:
  Batch first_, last_;
  double length_ = 0;
  int states_ = 0;
};

// ---- Flow matching against the DDPM ----

struct FlowDdpmStudyOptions {
  std::string data = "8gaussians";  // a built-in data set: both train on its 20,000 draws of seed, and the samples
                                    // are compared with comparison.particles fresh draws (seed + 1000)
  long long iterations = 5000;      // updates of each training (the same budget; the shipped models' recipe)
  int batch = 128;                  // points per update
  bool train_flow = true;           // false: use the flow model as given (it must live in the data's space)
  bool train_ddpm = true;
  FlowComparisonOptions comparison;  // step counts, particles, seed; traced paths per row
  bool exact_rows = true;            // on 8gaussians, also the exact mixture field's rows (model "exact")

  /// Empty when valid, else what is wrong, naming the option.
  std::string Check() const;
};

struct FlowDdpmStudy {
  std::vector<FlowComparisonRow> rows;       // flow euler, flow heun, ddpm ddim per step count; then the exact rows
  double gaussian_baseline = 0;              // a Gaussian fitted to the held-out points against them
  TrainReport flow_training, ddpm_training;  // zero when not trained here
  Batch reference;                           // the held-out points the samples were compared with (data units)
};

/// The training recipe of the study (ShippedTrainingRecipe with a tenth of warm-up for short runs, seed).
TrainOptions FlowDdpmTrainOptions(const FlowDdpmStudyOptions& options);

/// Trains flow and ddpm (unless told not to: train_flow / train_ddpm false) on options.data with the same budget,
/// samples both from the same noise and measures them (CompareFlowAndDdpm), adding the exact field's rows on
/// 8gaussians. progress: one unit per training update and per run; stop asked every update and step (Cancelled).
/// Throws Error on bad options, unknown data, or a given model trained in another space than the data's.
FlowDdpmStudy RunFlowDdpmStudy(const FlowDdpmStudyOptions& options, Flow2dModel& flow, Ddpm2dModel& ddpm,
                               const ProgressFn& progress = {}, const StopFn& stop = {});

}  // namespace diffuscope

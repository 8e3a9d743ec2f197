// Memorisation against generalisation (Kadkhodaie et al. 2024; Kamb and Ganguli 2025): for each training-set size N
// the 2D DDPM is trained on the first N points (the same budget of updates and the same seed for every N), sampled,
// and its samples' distance to their nearest training point is set beside the held-out points' (what a model that
// generalises gives: new points of the law, as far from the training set as fresh data are). The empirical
// denoiser of the same N points is the exact memoriser: its samples land on training points. A "copy" is a sample
// within copy_radius of a training point; the held-out points' own copy fraction is the chance level.
//
//   diffuscope::MemorisationOptions options;                  // N = 8 .. 8000, 4000 updates each
//   diffuscope::MemorisationReport r = diffuscope::MeasureMemorisation(train, held_out, {}, options, progress, stop);
//   for (const auto& row : r.rows) { /* row.size, row.ddpm_nearest_mean, row.ddpm_copy_fraction, ... */ }
#pragma once

#include "core/common/types.h"
#include "core/data/points2d.h"
#include "core/models/ddpm2d.h"
#include "core/sampling/sampler.h"
#include "core/train/trainer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace diffuscope {

struct MemorisationOptions {
  std::vector<int> sizes = {8, 32, 128, 512, 2048, 8000};        // training-set sizes N (the first N points), ascending
  TrainOptions training = ShippedTrainingRecipe(4000, 64, 500);  // the same budget and seed for every N
  Ddpm2dOptions model;                                           // the network and schedule (default: the 2D DDPM's)
  SamplerOptions sampler;                                        // default DDPM ancestral, every step
  int num_samples = 1000;                                        // samples per model, all from one x_T
  double copy_radius = 0.02;                                     // a sample this close to a training point is a copy
                                                                 // (normalised units, where the data have unit scale)
  bool empirical = true;                                         // also sample the empirical denoiser of each N
  uint64_t seed = 0;  // x_T and the samplers' noise (training: training.seed)

  /// Empty when valid, else what is wrong, naming the option.
  std::string Check() const;
};

struct MemorisationRow {
  int size = 0;                       // N
  double ddpm_nearest_mean = 0;       // mean over samples of the distance to the nearest of the N training points
  double ddpm_nearest_median = 0;     // their median (robust to the few samples a model throws far out)
  double ddpm_copy_fraction = 0;      // fraction of samples within copy_radius of a training point
  double empirical_nearest_mean = 0;  // the same for the empirical denoiser's samples (NaN when not run)
  double empirical_nearest_median = 0;
  double empirical_copy_fraction = 0;
  double held_out_nearest_mean = 0;  // the held-out points' mean distance to the N training points
  double held_out_nearest_median = 0;
  double held_out_copy_fraction = 0;  // and their fraction within copy_radius (the chance level of a copy)
  double final_loss = 0;              // the training's smoothed loss at the end
};

struct MemorisationReport {
  std::vector<MemorisationRow> rows;  // one per size, in options order
  double copy_radius = 0;             // options.copy_radius, in normalised units
  long long iterations = 0;           // updates per size
};

/// Distance from every row of points to its nearest row of reference (Euclidean, any dimension), in double.
Eigen::VectorXd NearestDistances(const Batch& points, const Batch& reference, const StopFn& stop = {});

/// Runs the study: train holds at least max(sizes) points in the data's units (the first N train the size-N
/// model), held_out >= 2 points of the same law never trained on; both are mapped with normalization (the models
/// run and all distances are measured in that normalised space). progress: one unit per training update and one
/// per sampling run; stop asked every update and step. Throws Error on bad options or data, Cancelled when stopped.
MemorisationReport MeasureMemorisation(const Batch& train, const Batch& held_out,
                                       const PointNormalization& normalization, const MemorisationOptions& options,
                                       const ProgressFn& progress = {}, const StopFn& stop = {});

}  // namespace diffuscope

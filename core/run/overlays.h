// What the 2D views draw over the particles, computed once for the app's scatter view and the export: the model's
// field on a grid (score direction -eps_hat or reverse drift mu - x_t), and trajectories of a few particles (the
// forward path, or a reverse run's states). Density iso-lines are core/render/density.h.
//
//   diffuscope::FieldOptions field{.kind = diffuscope::FieldKind::kScore};
//   std::vector<diffuscope::ScatterField> arrows =
//       diffuscope::RunFields(run, *model.denoiser, model.normalization, schedule, t, field);  // data units
//   diffuscope::ForwardTrajectories paths(forward, run.forward_path, normalization, diffuscope::kDefaultTrajectories);
//   std::vector<diffuscope::Polyline> lines = paths.UpTo(t, x_t_in_data_units);
#pragma once

#include "core/common/types.h"
#include "core/data/points2d.h"
#include "core/forward/forward.h"
#include "core/render/density.h"
#include "core/render/plots.h"
#include "core/run/run_spec.h"
#include "core/sampling/denoiser.h"
#include "core/schedule/schedule.h"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace diffuscope {

/// Half the side of the square the app's 2D view shows, in normalised units around the data's centre.
inline constexpr double kViewHalfWidth = 3.5;
/// A box of the normalised space in the data's units: shift + scale * limits. The view and the export both map
/// their square with it, so that they draw the same density grid to the last bit.
PlotBox DataBox(const PointNormalization& space, const PlotBox& normalised);
/// The square +-half_width around the centre of the normalised space, in the data's units.
PlotBox DataBox(const PointNormalization& space, double half_width);

/// Which field of the model is drawn.
enum class FieldKind {
  kNone,
  kScore,  // -eps_hat(x_t, t) = sqrt(1 - alpha_bar_t) grad log p_t(x_t): the score direction
  kDrift,  // mu_theta(x_t, t) - x_t: the mean move of one DDPM step t -> t - 1
};
/// "none", "score", "drift".
std::string_view FieldKindName(FieldKind kind);
std::optional<FieldKind> ParseFieldKind(std::string_view name);

struct FieldOptions {
  FieldKind kind = FieldKind::kNone;
  int grid = 21;            // arrows per side
  double half_width = 3.0;  // the grid covers [-half_width, half_width]^2 of the model's normalised space

  /// Empty when valid (grid 2..101, half_width finite in (0, 100]), else what is wrong.
  std::string Check() const;
  bool operator==(const FieldOptions&) const = default;
};

/// The grid (grid^2 x 2, row by row from the bottom left) in the model's normalised space.
Batch FieldGrid(const FieldOptions& options);
/// The field of kind (not kNone) of a model at t >= 1 for x_t = grid, in the model's space.
Batch FieldAt(Denoiser& model, const NoiseSchedule& schedule, int t, FieldKind kind, const Batch& grid);

/// The field of a model at t as drawn: tails and vectors in the data's units (space maps them), the grid's cell.
ScatterField ModelField(Denoiser& model, const PointNormalization& space, const NoiseSchedule& schedule, int t,
                        const FieldOptions& options, Rgb colour, std::string label);
/// True when the run's fields include the exact Gaussian mixture's beside the model's: a learned model (not a
/// built-in one) on the built-in 8gaussians set, whose law is known in closed form.
bool ComparesWithExactMixture(const RunSpec& run);
/// The fields drawn at t (none at t = 0 or for kNone): the model's (grey) and, when ComparesWithExactMixture,
/// the exact mixture's (green). Throws Error on bad options.
std::vector<ScatterField> RunFields(const RunSpec& run, Denoiser& model, const PointNormalization& space,
                                    const NoiseSchedule& schedule, int t, const FieldOptions& options);

/// Particles whose paths the app draws.
inline constexpr int kDefaultTrajectories = 12;
/// Samples of a forward path over t = 0..T.
inline constexpr int kForwardPathSamples = 200;
/// The rows of `count` evenly spread particles of `rows`: rows * k / count, k = 0..min(count, rows) - 1.
std::vector<Eigen::Index> TrajectoryRows(Eigen::Index rows, int count);

/// The forward paths of a few particles, sampled at samples + 1 evenly spaced t of 0..T (the Markov chain's path
/// on ForwardPath::kMarkov, else the closed form's), in the data's units. Computed once; UpTo is cheap.
class ForwardTrajectories {
 public:
  /// forward: the process in the normalised space `space` maps back to data units. count: particles (0 = none).
  ForwardTrajectories(const ForwardProcess& forward, ForwardPath path, const PointNormalization& space, int count,
                      int samples = kForwardPathSamples);
  /// Each particle's path through its samples before t, ending at its row of x_t (data units).
  std::vector<Polyline> UpTo(int t, const Batch& x_t) const;
  const std::vector<Eigen::Index>& rows() const { return rows_; }

 private:
  std::vector<Eigen::Index> rows_;
  std::vector<int> t_;
  std::vector<Polyline> paths_;
};

/// The paths of the given rows through states (oldest first, each n x 2, data units): a reverse run's trajectories.
std::vector<Polyline> StateTrajectories(std::span<const Batch> states, std::span<const Eigen::Index> rows);

}  // namespace diffuscope

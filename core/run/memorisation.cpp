#include "core/run/memorisation.h"

#include "core/models/exact.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace diffuscope {

std::string MemorisationOptions::Check() const {
  if (sizes.empty()) return "sizes: give at least one training-set size";
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] < 1 || sizes[i] > kMaxPoints2D)
      return "sizes: every training-set size must be in 1.." + std::to_string(kMaxPoints2D) + ", got " +
             std::to_string(sizes[i]);
    if (i > 0 && sizes[i] <= sizes[i - 1]) return "sizes: the training-set sizes must increase";
  }
  if (std::string problem = training.Check(); !problem.empty()) return "training: " + problem;
  if (std::string problem = model.Check(); !problem.empty()) return "model: " + problem;
  if (std::string problem = sampler.Check(); !problem.empty()) return "sampler: " + problem;
  if (num_samples < 2 || num_samples > 100000)
    return "num_samples must be in 2..100000, got " + std::to_string(num_samples);
  if (!(std::isfinite(copy_radius) && copy_radius > 0.0 && copy_radius < 10.0))
    return "copy_radius must be in (0, 10) normalised units";
  return {};
}

Eigen::VectorXd NearestDistances(const Batch& points, const Batch& reference, const StopFn& stop) {
  Require(points.rows() >= 1 && reference.rows() >= 1, "nearest distances need points and reference points");
  Require(points.cols() == reference.cols(), "nearest distances: the point sets have different dimensions");
  Require(points.allFinite() && reference.allFinite(), "nearest distances: the points hold NaN or infinity");
  const Eigen::MatrixXd p = points.cast<double>(), r = reference.cast<double>();
  Eigen::VectorXd out(p.rows());
  for (Eigen::Index i = 0; i < p.rows(); ++i) {
    if (stop && i % 256 == 0 && stop()) throw Cancelled();
    out(i) = std::sqrt((r.rowwise() - p.row(i)).rowwise().squaredNorm().minCoeff());
  }
  return out;
}

namespace {

double Median(Eigen::VectorXd v) {
  std::sort(v.begin(), v.end());
  const Eigen::Index n = v.size();
  return n % 2 == 1 ? v(n / 2) : 0.5 * (v(n / 2 - 1) + v(n / 2));
}

double Fraction(const Eigen::VectorXd& distances, double radius) {
  return static_cast<double>((distances.array() <= radius).count()) / static_cast<double>(distances.size());
}

}  // namespace

MemorisationReport MeasureMemorisation(const Batch& train_units, const Batch& held_out_units,
                                       const PointNormalization& normalization, const MemorisationOptions& options,
                                       const ProgressFn& progress, const StopFn& stop) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("memorisation: " + problem);
  if (std::string problem = normalization.Check(); !problem.empty()) throw Error("memorisation: " + problem);
  Require(train_units.cols() == 2 && held_out_units.cols() == 2, "memorisation: the points must be 2D (x, y)");
  Require(train_units.rows() >= options.sizes.back(),
          "memorisation: the largest training-set size is " + std::to_string(options.sizes.back()) + " but only " +
              std::to_string(train_units.rows()) + " training points were given");
  Require(held_out_units.rows() >= 2, "memorisation: give at least 2 held-out points");
  Require(train_units.allFinite() && held_out_units.allFinite(), "memorisation: the points hold NaN or infinity");
  // Everything is measured where the models run: the normalised space.
  const Batch train = normalization.ToModel(train_units), held_out = normalization.ToModel(held_out_units);
  const NoiseSchedule schedule(options.model.schedule);
  const Batch x_T = InitialNoise(options.num_samples, 2, options.seed);
  SamplerOptions sampler = options.sampler;
  sampler.seed = options.seed;

  const long long runs_per_size = options.empirical ? 2 : 1;
  const long long total = static_cast<long long>(options.sizes.size()) * (options.training.iterations + runs_per_size);
  long long done = 0;
  auto tick = [&](long long units, const std::string& what) {
    done += units;
    if (progress) progress(done, total, what);
  };

  MemorisationReport report;
  report.copy_radius = options.copy_radius;
  report.iterations = options.training.iterations;
  for (int size : options.sizes) {
    const Batch subset = train.topRows(size);
    MemorisationRow row;
    row.size = size;
    const Eigen::VectorXd held = NearestDistances(held_out, subset, stop);
    row.held_out_nearest_mean = held.mean();
    row.held_out_nearest_median = Median(held);
    row.held_out_copy_fraction = Fraction(held, options.copy_radius);

    // The DDPM learns in the normalised space already (identity normalisation on the model).
    Ddpm2dModel model(options.model);
    long long last_step = 0;
    TrainOptions training = options.training;
    training.checkpoint_every = 0;
    const std::string phase = "N = " + std::to_string(size) + ": training";
    const TrainReport trained = TrainDdpm2d(
        model, subset, training,
        [&](const TrainProgress& p) {
          tick(p.step - last_step, phase);
          last_step = p.step;
        },
        stop);
    tick(training.iterations - last_step, phase);
    row.final_loss = trained.final_loss_ema;
    const Batch samples = Sample(schedule, model, sampler, x_T, {}, stop);
    const Eigen::VectorXd d = NearestDistances(samples, subset, stop);
    row.ddpm_nearest_mean = d.mean();
    row.ddpm_nearest_median = Median(d);
    row.ddpm_copy_fraction = Fraction(d, options.copy_radius);
    tick(1, "N = " + std::to_string(size) + ": DDPM samples");

    row.empirical_nearest_mean = row.empirical_nearest_median = row.empirical_copy_fraction =
        std::numeric_limits<double>::quiet_NaN();
    if (options.empirical) {
      EmpiricalDenoiser empirical(subset);
      const Batch copies = Sample(schedule, empirical, sampler, x_T, {}, stop);
      const Eigen::VectorXd e = NearestDistances(copies, subset, stop);
      row.empirical_nearest_mean = e.mean();
      row.empirical_nearest_median = Median(e);
      row.empirical_copy_fraction = Fraction(e, options.copy_radius);
      tick(1, "N = " + std::to_string(size) + ": empirical denoiser samples");
    }
    report.rows.push_back(row);
  }
  return report;
}

}  // namespace diffuscope

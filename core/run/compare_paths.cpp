#include "core/run/compare_paths.h"

#include "core/metrics/distance2d.h"
#include "core/models/exact.h"
#include "core/models/learned_model.h"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace diffuscope {

std::string OdeSdeOptions::Check() const {
  if (num_steps < 0) return "the number of steps must be >= 0 (0 = every step), got " + std::to_string(num_steps);
  if (particles < 2 || particles > 100000) return "particles must be 2..100000, got " + std::to_string(particles);
  if (traced < 0 || traced > particles) return "traced paths must be 0..particles, got " + std::to_string(traced);
  return {};
}

void StraightnessMeter::Add(const Batch& state) {
  if (states_ == 0) {
    first_ = state;
  } else {
    Require(state.rows() == last_.rows() && state.cols() == last_.cols(), "straightness: the paths changed shape");
    for (Eigen::Index i = 0; i < state.rows(); ++i) length_ += (state.row(i) - last_.row(i)).cast<double>().norm();
  }
  last_ = state;
  ++states_;
}

double StraightnessMeter::Straightness() const {
  Require(states_ >= 2, "straightness needs a path of at least two states");
  double chord = 0.0;
  for (Eigen::Index i = 0; i < first_.rows(); ++i) chord += (last_.row(i) - first_.row(i)).cast<double>().norm();
  return chord > 0.0 ? length_ / chord : 1.0;
}

namespace {

// RMS distance of the rows from their mean.
double Spread(const Batch& x) {
  const Eigen::MatrixXd d = x.cast<double>();
  return std::sqrt((d.rowwise() - d.colwise().mean()).rowwise().squaredNorm().mean());
}

double RmsGap(const Batch& a, const Batch& b) {
  return std::sqrt((a.cast<double>() - b.cast<double>()).rowwise().squaredNorm().mean());
}

}  // namespace

OdeSdeComparison CompareOdeAndSde(const NoiseSchedule& schedule, Denoiser& model, const PointNormalization& space,
                                  const Batch& reference, const OdeSdeOptions& options, const ProgressFn& progress,
                                  const StopFn& stop) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("compare ODE and SDE: " + problem);
  Require(reference.rows() >= 2 && reference.cols() == 2, "compare ODE and SDE: the data need at least 2 2D points");
  Require(model.dimension() == 0 || model.dimension() == 2, "compare ODE and SDE: the model is not a 2D model");
  OdeSdeComparison out;
  const int T = schedule.num_steps();
  SamplerOptions ode, sde;
  ode.kind = SamplerKind::kOdeEuler;
  sde.kind = SamplerKind::kSdeEuler;
  if (schedule.alpha_bar(T) <= 0.0) {
    ode.kind = SamplerKind::kDdim;
    sde.kind = SamplerKind::kDdpm;
    out.note =
        "the schedule ends at alpha_bar_T = 0, where Euler steps in log(alpha_bar) cannot start: DDIM (eta 0, "
        "the ODE's exact-in-the-linear-part step) and DDPM (the SDE's ancestral step) ran instead";
  }
  for (SamplerOptions* o : {&ode, &sde}) {
    o->num_steps = std::min(options.num_steps, T);
    o->seed = options.seed;
  }
  const Batch x_T = InitialNoise(options.particles, 2, options.seed);
  // Both runs step together, so their paired particles are compared at every state without keeping the states.
  Sampler ode_run(schedule, model, ode, x_T), sde_run(schedule, model, sde, x_T);
  Require(ode_run.steps_total() == sde_run.steps_total(), "compare ODE and SDE: the runs' steps differ");
  const long long total = ode_run.steps_total() + 2;
  long long done = 0;
  StraightnessMeter ode_meter, sde_meter;
  auto keep = [&](ComparedRun& run, StraightnessMeter& meter, const Batch& x, int t) {
    Batch data = space.ToData(x);
    run.t.push_back(t);
    if (options.traced > 0) run.paths.push_back(data.topRows(options.traced));
    run.spread.push_back(Spread(data));
    meter.Add(data);
    return data;
  };
  const int T_start = ode_run.timesteps().front();
  out.gap.push_back(RmsGap(keep(out.ode, ode_meter, x_T, T_start), keep(out.sde, sde_meter, x_T, T_start)));
  while (!ode_run.done()) {
    if (stop && stop()) throw Cancelled();
    const Step& a = ode_run.Next();
    const Batch ode_x = keep(out.ode, ode_meter, a.x_prev, a.t_prev);
    const Step& b = sde_run.Next();
    out.gap.push_back(RmsGap(ode_x, keep(out.sde, sde_meter, b.x_prev, b.t_prev)));
    ++done;
    if (progress) progress(done, total, "step " + std::to_string(done) + " of both runs");
  }
  for (auto [run, sampler, meter] : {std::tuple{&out.ode, &ode_run, &ode_meter}, {&out.sde, &sde_run, &sde_meter}}) {
    run->sampler = sampler == &ode_run ? ode.kind : sde.kind;
    run->steps = sampler->steps_total();
    run->nfe = static_cast<int>(sampler->nfe());
    run->samples = space.ToData(sampler->x());
    run->straightness = meter->Straightness();
    run->energy_distance = EnergyDistance(run->samples, reference, stop);
    if (progress) progress(++done, total, "energy distance");
  }
  out.gaussian_baseline = EnergyDistance(
      FitGaussian(reference, static_cast<int>(std::min<Eigen::Index>(options.particles, 100000)), options.seed + 1),
      reference, stop);
  return out;
}

std::string FlowDdpmStudyOptions::Check() const {
  if (CanonicalDatasetName(data).empty()) return "data: '" + data + "' is not a built-in data set";
  if (iterations < 1 || iterations > 10'000'000)
    return "iterations must be 1..10000000, got " + std::to_string(iterations);
  if (batch < 1 || batch > 65536) return "batch must be 1..65536, got " + std::to_string(batch);
  return comparison.Check();
}

TrainOptions FlowDdpmTrainOptions(const FlowDdpmStudyOptions& options) {
  // The recipe of the shipped models, the same for both (a short run keeps its shape: warm-up a tenth).
  TrainOptions train =
      ShippedTrainingRecipe(options.iterations, options.batch, std::max<long long>(1, options.iterations / 10));
  train.seed = options.comparison.seed;
  if (train.warmup_steps > train.iterations / 5) train.warmup_steps = train.iterations / 10;
  return train;
}

FlowDdpmStudy RunFlowDdpmStudy(const FlowDdpmStudyOptions& options, Flow2dModel& flow, Ddpm2dModel& ddpm,
                               const ProgressFn& progress, const StopFn& stop) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("compare flow: " + problem);
  const TrainOptions train = FlowDdpmTrainOptions(options);
  if (std::string problem = train.Check(); !problem.empty()) throw Error("compare flow: " + problem);
  const uint64_t seed = options.comparison.seed;
  Dataset2DOptions own_units;
  own_units.standardize = false;
  const Batch data = GenerateDataset(options.data, 20000, seed, own_units);
  const PointNormalization space = DatasetNormalization(options.data);
  Require(options.train_flow || flow.normalization() == space,
          "compare flow: the flow model was trained in another space than " + options.data + "'s");
  Require(options.train_ddpm || ddpm.normalization() == space,
          "compare flow: the DDPM was trained in another space than " + options.data + "'s");
  const bool exact = options.exact_rows && CanonicalDatasetName(options.data) == "8gaussians";
  const long long runs = static_cast<long long>(options.comparison.step_counts.size()) * 3 * (exact ? 2 : 1);
  const long long total =
      (options.train_flow ? train.iterations : 0) + (options.train_ddpm ? train.iterations : 0) + runs;
  long long before = 0;  // units of the finished phases
  auto trained = [&](const TrainProgress& p) {
    if (progress) progress(before + p.step, total, "training");
  };
  FlowDdpmStudy study;
  if (options.train_flow) {
    flow = Flow2dModel();
    flow.set_normalization(space);
    flow.info()["data"] = options.data;
    study.flow_training = TrainFlow2d(flow, data, train, trained, stop);
    if (stop && stop()) throw Cancelled();
    before += train.iterations;
  }
  if (options.train_ddpm) {
    ddpm = Ddpm2dModel();
    ddpm.set_normalization(space);
    ddpm.info()["data"] = options.data;
    study.ddpm_training = TrainDdpm2d(ddpm, data, train, trained, stop);
    if (stop && stop()) throw Cancelled();
    before += train.iterations;
  }
  const Batch held_out = GenerateDataset(options.data, options.comparison.particles, seed + 1000, own_units);
  study.reference = held_out;
  auto compared = [&](long long done, long long, const std::string& what) {
    if (progress) progress(before + done, total, what);
  };
  FlowComparison learned =
      CompareFlowAndDdpm(flow, ddpm, ddpm.schedule(), space, held_out, options.comparison, compared, stop);
  study.rows = std::move(learned.rows);
  study.gaussian_baseline = learned.gaussian_baseline;
  before += static_cast<long long>(options.comparison.step_counts.size()) * 3;
  if (exact) {
    // The exact field: the same samplers with it give the floor and the exact straightness.
    GaussianMixtureDenoiser mixture(GaussianMixture::EightGaussians(std::sqrt(2.0), 0.1));
    for (FlowComparisonRow row :
         CompareFlowAndDdpm(mixture, mixture, ddpm.schedule(), space, held_out, options.comparison, compared, stop)
             .rows) {
      row.model = "exact";  // euler, heun: the exact flow; ddim: the exact VP ODE
      study.rows.push_back(std::move(row));
    }
  }
  return study;
}

}  // namespace diffuscope

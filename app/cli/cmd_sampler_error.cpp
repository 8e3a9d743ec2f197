// sampler-error: every sampler's endpoint error and energy distance against NFE, on the 8gaussians law whose
// probability-flow ODE is solved exactly (issue 10).
#include "app/cli/common.h"
#include "core/common/atomic_file.h"
#include "core/models/exact.h"
#include "core/run/sampler_error.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

namespace diffuscope::cli {
namespace {

// "a,b,c" -> {"a", "b", "c"} (CLI11's delimiter also accepts repeated flags).
std::vector<SamplerKind> ParseSamplerList(const std::vector<std::string>& names) {
  std::vector<SamplerKind> kinds;
  for (const std::string& name : names) {
    if (name == "all") {
      for (SamplerKind k : AllSamplerKinds()) kinds.push_back(k);
      continue;
    }
    auto kind = ParseSamplerKind(name);
    if (!kind) {
      std::string known;
      for (SamplerKind k : AllSamplerKinds())
        known += std::string(known.empty() ? "" : ", ") + std::string(SamplerKindName(k));
      throw Error("--samplers: unknown sampler '" + name + "' (" + known + ", or all)");
    }
    kinds.push_back(*kind);
  }
  return kinds;
}

std::string Figure(double v) {
  if (std::isnan(v)) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", v);
  return text;
}

}  // namespace

Runner AddSamplerErrorCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "sampler-error",
      "each sampler's endpoint error against the exact probability-flow ODE solve and its energy distance to the law, "
      "per number of network evaluations (NFE), on the 8gaussians Gaussian mixture");
  struct Args {
    std::string data = "8gaussians", model, csv, spacing = "trailing";
    std::vector<std::string> samplers = {"all"};
    std::vector<int> nfe = SamplerErrorOptions{}.nfe;
    int n = SamplerErrorOptions{}.num_samples, data_n = SamplerErrorOptions{}.num_data;
    double tolerance = SamplerErrorOptions{}.reference_tolerance;
    uint64_t seed = 0;
    ScheduleArgs schedule;  // linear, T = 1000: room for every NFE of the list
    bool karras = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--data", a->data, "the law: 8gaussians (also: mixture), the data set whose exact law is known")
      ->capture_default_str();
  cmd->add_option("--model", a->model,
                  "run the samplers on a trained 2D model of that data (a model file or shipped name) instead of the "
                  "exact denoiser, on the model's own schedule unless --schedule, --steps or --karras-schedule names "
                  "one; the reference stays the exact solve");
  cmd->add_option("--samplers", a->samplers, "samplers to measure, comma-separated (or all)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--nfe", a->nfe,
                  "network-evaluation budgets, comma-separated; each sampler takes the most steps "
                  "that fit (Heun: 2 per step but the last)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--n", a->n, "particles, all from one x_T")->capture_default_str();
  cmd->add_option("--data-n", a->data_n, "points of the law for the energy distance")->capture_default_str();
  cmd->add_option("--tolerance", a->tolerance, "error tolerance of the reference Dormand-Prince solve")
      ->capture_default_str();
  cmd->add_option("--spacing", a->spacing, app::help::kSpacing)->capture_default_str();
  cmd->add_option("--seed", a->seed, "random seed (x_T, the stochastic samplers' noise, the law's points)")
      ->capture_default_str();
  cmd->add_option("--csv", a->csv, "also write the table as CSV (written atomically)");
  AddScheduleOptions(cmd, &a->schedule);
  cmd->add_flag("--karras-schedule", a->karras,
                "step on Karras et al.'s noise levels (sigma 0.002 .. 80, rho 7, T = --steps) instead of --schedule: "
                "there the 2nd-order solvers show their order, since the final step to the data starts at sigma 0.002");
  return [a, cmd] {
    const std::string canonical = CanonicalDatasetName(a->data);
    Require(a->data == "mixture" || canonical == "8gaussians",
            "--data: the exact law is known for 8gaussians (mixture) only, not '" + a->data + "'");
    // MakeEightGaussians' law: centres on the circle of radius sqrt(2), noise 0.1 (as the 'mixture' model).
    GaussianMixture mixture = GaussianMixture::EightGaussians(std::sqrt(2.0), 0.1);
    SamplerErrorOptions options;
    options.schedule = a->karras ? KarrasScheduleOptions(a->schedule.steps) : a->schedule.ToOptions();
    options.samplers = ParseSamplerList(a->samplers);
    options.nfe = a->nfe;
    options.num_samples = a->n;
    options.num_data = a->data_n;
    options.reference_tolerance = a->tolerance;
    options.seed = a->seed;
    auto spacing = ParseSpacing(a->spacing);
    Require(spacing.has_value(), "--spacing: unknown spacing '" + a->spacing + "' (leading, trailing or linspace)");
    options.spacing = *spacing;
    std::unique_ptr<Denoiser> model;
    std::string model_text = "the exact mixture denoiser";
    // The schedule options typed: with --model, none means the model's own schedule (queried outside its training
    // range a learned model says little), as sample2d samples it.
    bool schedule_named = a->karras;
    for (const char* flag :
         {"--schedule", "--steps", "--beta-start", "--beta-end", "--zero-terminal-snr", "--schedule-file"})
      schedule_named = schedule_named || cmd->count(flag) > 0;
    std::string schedule_text =
        a->karras ? "Karras (EDM) sigma levels," : std::string(ScheduleKindName(options.schedule.kind));
    if (!a->model.empty()) {
      OpenedModel opened = OpenModel(a->model, {});
      Require(opened.denoiser->dimension() == 2, "--model: '" + a->model + "' is not a 2D model");
      Require(CanonicalDatasetName(ModelData(opened, a->model)) == "8gaussians",
              "--model: '" + a->model + "' was not trained on 8gaussians, whose exact law the reference needs");
      // The run lives in the model's normalised space: the law too.
      const PointNormalization& z = opened.normalization;
      mixture = mixture.Affine(1.0 / z.scale, Eigen::Vector2d(-z.shift_x / z.scale, -z.shift_y / z.scale));
      model_text = opened.description;
      if (!schedule_named && opened.schedule) {
        options.schedule = *opened.schedule;
        schedule_text = "the model's own " + std::string(ScheduleKindName(options.schedule.kind)) + " schedule,";
        Require(NoiseSchedule(options.schedule).alpha_bar(options.schedule.num_steps) > 0.0,
                "--model: '" + a->model +
                    "''s own schedule ends at alpha_bar_T = 0, where the exact probability-flow "
                    "ODE has no finite start; name a schedule (--schedule, --steps or --karras-schedule)");
      }
      model = std::move(opened.denoiser);
    }
    if (std::string problem = options.Check(); !problem.empty()) throw Error(problem);
    const NoiseSchedule schedule(options.schedule);
    const SamplerErrorReport report =
        MeasureSamplerError(mixture, options, TerminalProgress("sampler error"), {}, model.get());

    std::printf(
        "sampler error on 8gaussians (%s), %d particles from one x_T, %s T = %d (alpha_bar_T = %.3g), %s "
        "spacing\n",
        model_text.c_str(), options.num_samples, schedule_text.c_str(), schedule.num_steps(), report.alpha_bar_start,
        a->spacing.c_str());
    std::printf(
        "reference: probability-flow ODE in (x / sqrt(alpha_bar), sigma), adaptive Dormand-Prince 5(4) in "
        "double, tolerance %.0e: %d steps, %lld evaluations; a solve at %.0e differs by %.2e RMS\n",
        report.reference_tolerance, report.reference_steps, report.reference_evaluations,
        1000 * report.reference_tolerance, report.reference_check);
    std::printf("energy distance of the reference endpoint to %d points of the law (the floor): %.2e\n\n",
                options.num_data, report.reference_energy_distance);
    // The median beside the RMS: on a learned model a few particles far off dominate the RMS.
    std::printf("%-13s %6s %6s %15s %15s %16s\n", "sampler", "steps", "NFE", "endpoint error", "median error",
                "energy distance");
    for (const SamplerErrorRow& row : report.rows)
      std::printf("%-13s %6d %6d %15s %15s %16s\n", std::string(SamplerKindName(row.sampler)).c_str(), row.steps,
                  row.nfe, row.stochastic ? "(stochastic)" : Figure(row.endpoint_rms).c_str(),
                  row.stochastic ? "-" : Figure(row.endpoint_median).c_str(), Figure(row.energy_distance).c_str());
    // Observed orders of the deterministic samplers: the slope of log error against log NFE.
    std::printf("\nfitted order (slope of log endpoint error vs log NFE):");
    std::map<SamplerKind, std::pair<std::vector<int>, std::vector<double>>> series;
    for (const SamplerErrorRow& row : report.rows) {
      if (row.stochastic) continue;
      series[row.sampler].first.push_back(row.nfe);
      series[row.sampler].second.push_back(row.endpoint_rms);
    }
    for (SamplerKind kind : options.samplers) {
      auto it = series.find(kind);
      if (it == series.end()) continue;
      std::printf(" %s %s", std::string(SamplerKindName(kind)).c_str(),
                  Figure(FittedOrder(it->second.first, it->second.second)).c_str());
      series.erase(it);
    }
    std::printf("\n");
    if (!a->csv.empty()) {
      AtomicFile file(a->csv);
      file.stream() << "sampler,steps,nfe,stochastic,endpoint_rms,energy_distance,endpoint_median\n";
      file.stream().precision(9);
      for (const SamplerErrorRow& row : report.rows)
        file.stream() << SamplerKindName(row.sampler) << ',' << row.steps << ',' << row.nfe << ','
                      << (row.stochastic ? 1 : 0) << ',' << row.endpoint_rms << ',' << row.energy_distance << ','
                      << row.endpoint_median << '\n';
      file.Commit();
      std::fprintf(stderr, "table -> %s\n", a->csv.c_str());
    }
    return 0;
  };
}

}  // namespace diffuscope::cli

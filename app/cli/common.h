// Helpers shared by the subcommands of diffuscope-cli: option groups and output.
#pragma once

#include "core/common/types.h"
#include "core/data/points2d.h"
#include "core/models/registry.h"
#include "core/schedule/schedule.h"
#include "core/sampling/sampler.h"

#include <CLI/CLI.hpp>

#include <ostream>
#include <string>

namespace diffuscope::cli {

/// Schedule options as typed on the command line, with per-command defaults.
struct ScheduleArgs {
  std::string kind = "linear";
  int steps = 1000;
  double beta_start = 1e-4;
  double beta_end = 0.02;
  bool zero_terminal_snr = false;
  std::string file;  // a custom schedule file (overrides kind)

  /// The options; throws Error (naming the flag) when they are invalid.
  ScheduleOptions ToOptions() const;
};
void AddScheduleOptions(CLI::App* app, ScheduleArgs* args);

struct SamplerArgs {
  std::string sampler = "ddpm";
  int sampling_steps = 0;
  double eta = 0.0;
  std::string spacing = "trailing";
  std::string variance = "fixed-small";
  bool clip = false;
  bool dynamic_threshold = false;
  SamplerOptions ToOptions(uint64_t seed) const;
};
void AddSamplerOptions(CLI::App* app, SamplerArgs* args);

/// The schedule as CSV: header t,beta,alpha_bar,posterior_variance,snr and rows t = 1..T, 17 significant digits.
void WriteScheduleCsv(const NoiseSchedule& schedule, std::ostream& out);

/// Data set options that keep a CSV's or a silhouette's own units (the models normalise, not the loader).
inline Dataset2DOptions InDataUnits() {
  Dataset2DOptions options;
  options.standardize = false;
  return options;
}
/// The data set a 2D model names (OpenedModel::data); throws Error, naming the model, when it names none or a file
/// that is not there, asking for --data.
std::string ModelData(const OpenedModel& opened, const std::string& model);

/// A progress line on stderr when it is a terminal ("\r  step 12/50 ..."), nothing otherwise.
ProgressFn TerminalProgress(const std::string& what);

// Each subcommand registers itself and returns the function that runs it after parsing.
using Runner = std::function<int()>;
Runner AddScheduleCommand(CLI::App& app);
Runner AddNoiseCommand(CLI::App& app);
Runner AddDatasetCommand(CLI::App& app);
Runner AddSample2dCommand(CLI::App& app);
Runner AddDemoCommand(CLI::App& app);
Runner AddExportCommand(CLI::App& app);
Runner AddTrainCommand(CLI::App& app);
Runner AddFigureCommand(CLI::App& app);
Runner AddEvaluateCommand(CLI::App& app);
Runner AddSampleCommand(CLI::App& app);
Runner AddSrCommand(CLI::App& app);
Runner AddDenoiseCommand(CLI::App& app);
Runner AddStripCommand(CLI::App& app);

}  // namespace diffuscope::cli

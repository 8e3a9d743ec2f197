// Helpers shared by the subcommands of diffuscope-cli: option groups and output.
#pragma once

#include "app/common/run_args.h"
#include "core/common/types.h"
#include "core/data/points2d.h"
#include "core/models/registry.h"
#include "core/sampling/sampler.h"
#include "core/schedule/schedule.h"

#include <CLI/CLI.hpp>

#include <ostream>
#include <string>

namespace diffuscope::cli {

/// Schedule and sampler options as typed: the grammar both executables share (app/common/run_args.h).
using app::SamplerArgs;
using app::ScheduleArgs;
/// Registers --schedule (also the old KIND:T, with a note), --steps, --beta-start, --beta-end,
/// --zero-terminal-snr, --schedule-file.
void AddScheduleOptions(CLI::App* app, ScheduleArgs* args);
/// Registers --sampler, --sampling-steps, --eta, --spacing, --variance, --clip, --dynamic-threshold.
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
Runner AddSamplerErrorCommand(CLI::App& app);
Runner AddCompareFlowCommand(CLI::App& app);
Runner AddLikelihoodCommand(CLI::App& app);
Runner AddMemorisationCommand(CLI::App& app);

}  // namespace diffuscope::cli

#include "app/cli/commands.h"

#include "app/cli/common.h"

#include <opencv2/core.hpp>

#include <filesystem>
#include <iostream>
#include <sstream>
#include <unistd.h>

namespace diffuscope::cli {

ScheduleOptions ScheduleArgs::ToOptions() const {
  ScheduleOptions o;
  if (!file.empty()) {
    o = LoadCustomSchedule(file);
  } else {
    auto parsed = ParseScheduleKind(kind);
    if (!parsed) {
      std::string names;
      for (auto n : ScheduleKindNames()) names += std::string(names.empty() ? "" : ", ") + std::string(n);
      throw Error("--schedule: unknown kind '" + kind + "' (known: " + names + ")");
    }
    o.kind = *parsed;
    o.num_steps = steps;
    o.beta_start = beta_start;
    o.beta_end = beta_end;
  }
  o.zero_terminal_snr = zero_terminal_snr;
  if (std::string problem = o.Check(); !problem.empty()) throw Error("schedule: " + problem);
  return o;
}

void AddScheduleOptions(CLI::App* app, ScheduleArgs* a) {
  std::string names;
  for (auto n : ScheduleKindNames()) names += std::string(names.empty() ? "" : "|") + std::string(n);
  app->add_option("--schedule", a->kind, "noise schedule: " + names)->capture_default_str();
  app->add_option("--steps", a->steps, "number of diffusion steps T")->capture_default_str();
  app->add_option("--beta-start", a->beta_start, "first beta (linear, scaled-linear, sigmoid)")->capture_default_str();
  app->add_option("--beta-end", a->beta_end, "last beta (linear, scaled-linear, sigmoid; the beta of const)")
      ->capture_default_str();
  app->add_flag("--zero-terminal-snr", a->zero_terminal_snr, "rescale so alpha_bar_T = 0 exactly (Lin et al. 2024)");
  app->add_option("--schedule-file", a->file,
                  "a custom schedule: one beta per line (or a first line 'alpha_bar' and alpha_bar values)");
}

SamplerOptions SamplerArgs::ToOptions(uint64_t seed) const {
  SamplerOptions o;
  auto kind = ParseSamplerKind(sampler);
  if (!kind) throw Error("--sampler: unknown sampler '" + sampler + "' (ddpm or ddim)");
  o.kind = *kind;
  auto sp = ParseSpacing(spacing);
  if (!sp) throw Error("--spacing: unknown spacing '" + spacing + "' (leading, trailing or linspace)");
  o.spacing = *sp;
  auto var = ParseVarianceChoice(variance);
  if (!var) throw Error("--variance: unknown choice '" + variance + "' (fixed-small, fixed-large or learned)");
  o.variance = *var;
  o.num_steps = sampling_steps;
  o.eta = eta;
  o.clip_x0 = clip;
  o.dynamic_threshold = dynamic_threshold;
  o.seed = seed;
  if (std::string problem = o.Check(); !problem.empty()) throw Error("sampler: " + problem);
  return o;
}

void AddSamplerOptions(CLI::App* app, SamplerArgs* a) {
  app->add_option("--sampler", a->sampler, "ddpm (ancestral) or ddim")->capture_default_str();
  app->add_option("--sampling-steps", a->sampling_steps, "number of reverse steps K (0 = every step)")
      ->capture_default_str();
  app->add_option("--eta", a->eta, "DDIM stochasticity (0 = deterministic)")->capture_default_str();
  app->add_option("--spacing", a->spacing, "which K of the T timesteps: leading|trailing|linspace")->capture_default_str();
  app->add_option("--variance", a->variance, "DDPM variance: fixed-small|fixed-large|learned")->capture_default_str();
  app->add_flag("--clip", a->clip, "clip x0_hat to [-1, 1] at every step");
  app->add_flag("--dynamic-threshold", a->dynamic_threshold, "Imagen's dynamic thresholding of x0_hat");
}

std::string ModelData(const OpenedModel& opened, const std::string& model) {
  Require(!opened.data.empty(), "the model '" + model + "' does not say which data it was trained on; give --data");
  if (CanonicalDatasetName(opened.data).empty()) {
    std::error_code ec;
    Require(std::filesystem::exists(opened.data, ec), "the model '" + model + "' was trained on '" + opened.data +
                                                          "', which is not there any more; give --data");
  }
  return opened.data;
}

ProgressFn TerminalProgress(const std::string& what) {
  if (!isatty(STDERR_FILENO)) return {};
  return [what](long long done, long long total, const std::string& detail) {
    std::cerr << "\r" << what << ": " << done << "/" << total << (detail.empty() ? "" : "  " + detail) << "   "
              << (done == total ? "\n" : "") << std::flush;
  };
}

int Main(int argc, char** argv) {
  CLI::App app{"diffuscope-cli: the headless Diffuscope. Every job the GUI does that makes a file.\n"
               "Exit codes: 0 ok, 1 failure, 2 usage.",
               "diffuscope-cli"};
  app.set_version_flag("--version", std::string("diffuscope-cli ") + DIFFUSCOPE_VERSION);
  app.require_subcommand(1);
  std::vector<std::pair<CLI::App*, Runner>> commands;
  auto add = [&](Runner (*fn)(CLI::App&)) {
    const size_t before = app.get_subcommands({}).size();
    Runner r = fn(app);
    commands.emplace_back(app.get_subcommands({})[before], std::move(r));
  };
  add(AddScheduleCommand);
  add(AddNoiseCommand);
  add(AddDatasetCommand);
  add(AddSample2dCommand);
  add(AddDemoCommand);
  add(AddExportCommand);
  add(AddFigureCommand);
  add(AddTrainCommand);
  add(AddEvaluateCommand);
  add(AddSampleCommand);
  add(AddSrCommand);
  add(AddDenoiseCommand);
  add(AddStripCommand);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  for (auto& [sub, run] : commands) {
    if (!sub->parsed()) continue;
    try {
      return run();
    } catch (const Cancelled&) {
      std::cerr << "diffuscope-cli " << sub->get_name() << ": cancelled\n";
      return 1;
    } catch (const Error& e) {
      std::cerr << "diffuscope-cli " << sub->get_name() << ": error: " << e.what() << "\n";
      return 1;
    } catch (const cv::Exception& e) {
      std::cerr << "diffuscope-cli " << sub->get_name() << ": error: " << e.err << "\n";
      return 1;
    } catch (const std::bad_alloc&) {
      std::cerr << "diffuscope-cli " << sub->get_name() << ": error: out of memory (try smaller sizes)\n";
      return 1;
    } catch (const std::exception& e) {
      std::cerr << "diffuscope-cli " << sub->get_name() << ": error: " << e.what() << "\n";
      return 1;
    }
  }
  return 2;
}

}  // namespace diffuscope::cli

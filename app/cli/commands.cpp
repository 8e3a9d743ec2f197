#include "app/cli/commands.h"

#include "app/cli/common.h"

#include <opencv2/core.hpp>

#include <unistd.h>
#include <filesystem>
#include <iostream>
#include <sstream>

namespace diffuscope::cli {

void AddScheduleOptions(CLI::App* app, ScheduleArgs* a) {
  app->add_option("--schedule", a->kind, app::help::Schedule())
      ->capture_default_str()
      ->transform(
          [a](std::string value) {
            ScheduleArgs typed;
            typed.kind = value;
            try {
              const std::string note = typed.TakeOldSpelling();
              if (note.empty()) return value;
              std::cerr << "diffuscope-cli: note: " << note << "\n";
              a->steps = typed.steps;  // a later --steps still wins
              return typed.kind;
            } catch (const Error& e) {
              throw CLI::ValidationError(e.what());
            }
          },
          "KIND (the old KIND:T still reads)");
  app->add_option("--steps", a->steps, app::help::kSteps)->capture_default_str();
  app->add_option("--beta-start", a->beta_start, app::help::kBetaStart)->capture_default_str();
  app->add_option("--beta-end", a->beta_end, app::help::kBetaEnd)->capture_default_str();
  app->add_flag("--zero-terminal-snr", a->zero_terminal_snr, app::help::kZeroTerminalSnr);
  app->add_option("--schedule-file", a->file, app::help::kScheduleFile);
}

void AddSamplerOptions(CLI::App* app, SamplerArgs* a) {
  std::vector<std::string> names;
  for (SamplerKind k : AllSamplerKinds()) names.emplace_back(SamplerKindName(k));
  app->add_option("--sampler", a->sampler, app::help::kSampler)->check(CLI::IsMember(names));
  app->add_option("--sampling-steps", a->sampling_steps, app::help::kSamplingSteps)->capture_default_str();
  app->add_option("--eta", a->eta, app::help::kEta);
  app->add_option("--spacing", a->spacing, app::help::kSpacing)->capture_default_str();
  app->add_option("--variance", a->variance, app::help::kVariance)->capture_default_str();
  app->add_flag("--clip", a->clip, app::help::kClip);
  app->add_flag("--dynamic-threshold", a->dynamic_threshold, app::help::kDynamicThreshold);
}

std::string ModelData(const OpenedModel& opened, const std::string& model) {
  Require(!opened.data.empty(), "the model '" + model + "' does not say which data it was trained on; give --data");
  if (CanonicalDatasetName(opened.data).empty()) {
    std::error_code ec;
    Require(std::filesystem::exists(opened.data, ec),
            "the model '" + model + "' was trained on '" + opened.data + "', which is not there any more; give --data");
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
  CLI::App app{
      "diffuscope-cli: the headless Diffuscope. Every job the GUI does that makes a file.\n"
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
  add(AddSamplerErrorCommand);
  add(AddCompareFlowCommand);
  add(AddLikelihoodCommand);
  add(AddMemorisationCommand);
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

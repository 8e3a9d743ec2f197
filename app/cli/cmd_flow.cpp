// compare-flow: flow matching beside the DDPM (issue 10), trained on the same data with the same budget and sampled
// from the same noise: energy distance to held-out data per number of steps, and the straightness of the paths.
#include "app/cli/common.h"
#include "core/common/atomic_file.h"
#include "core/data/points2d.h"
#include "core/models/ddpm2d.h"
#include "core/models/exact.h"
#include "core/models/flow2d.h"
#include "core/models/flow_compare.h"
#include "core/models/learned_model.h"
#include "core/run/compare_paths.h"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace diffuscope::cli {
namespace {

std::vector<int> ParseSteps(const std::string& text) {
  std::vector<int> steps;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      size_t used = 0;
      const int k = std::stoi(item, &used);
      Require(used == item.size(), "");
      steps.push_back(k);
    } catch (const std::exception&) {
      throw Error("--steps: '" + item + "' is not a whole number (give e.g. 1,2,4,8)");
    }
  }
  return steps;
}

}  // namespace

Runner AddCompareFlowCommand(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("compare-flow",
                         "train (or load) a flow-matching and a DDPM 2D model on the same data and budget and compare "
                         "them from the same noise: energy distance per step count, path straightness");
  struct Args {
    std::string data = "8gaussians", flow, ddpm, steps = "1,2,4,8,16,32", csv, save_flow, save_ddpm;
    long long iterations = 5000;
    int batch = 128, n = 2000;
    uint64_t seed = 0;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--data", a->data, "the data set both train on (and the held-out points come from)")
      ->capture_default_str();
  cmd->add_option("--flow", a->flow, "a trained flow-2d model file (else one is trained here)");
  cmd->add_option("--ddpm", a->ddpm, "a trained ddpm-2d model file (else one is trained here)");
  cmd->add_option("--iterations", a->iterations, "updates of each training (the same budget)")->capture_default_str();
  cmd->add_option("--batch", a->batch, "points per update")->capture_default_str();
  cmd->add_option("--steps", a->steps, "sampling step counts, comma separated")->capture_default_str();
  cmd->add_option("--n", a->n, "samples per run (and held-out points)")->capture_default_str();
  cmd->add_option("--seed", a->seed, "random seed (training, the shared noise)")->required();
  cmd->add_option("--csv", a->csv, "also write the table as CSV");
  cmd->add_option("--save-flow", a->save_flow, "write the flow model trained here");
  cmd->add_option("--save-ddpm", a->save_ddpm, "write the DDPM trained here");
  return [a] {
    FlowDdpmStudyOptions options;
    options.data = a->data;
    options.iterations = a->iterations;
    options.batch = a->batch;
    options.comparison.step_counts = ParseSteps(a->steps);
    options.comparison.particles = a->n;
    options.comparison.seed = a->seed;
    options.train_flow = a->flow.empty();
    options.train_ddpm = a->ddpm.empty();
    if (std::string problem = options.Check(); !problem.empty()) throw Error(problem);
    if (std::string problem = FlowDdpmTrainOptions(options).Check(); !problem.empty()) throw Error(problem);
    Flow2dModel flow = a->flow.empty() ? Flow2dModel() : Flow2dModel::Load(a->flow);
    Ddpm2dModel ddpm = a->ddpm.empty() ? Ddpm2dModel() : Ddpm2dModel::Load(a->ddpm);
    std::fprintf(stderr, "%s on %s (%lld updates of %d each)\n",
                 options.train_flow || options.train_ddpm ? "training" : "comparing", a->data.c_str(),
                 options.iterations, options.batch);
    // The same core call as the app's Compare dialog (core/run/compare_paths.h): training, held-out draws, rows.
    const FlowDdpmStudy study = RunFlowDdpmStudy(options, flow, ddpm, TerminalProgress("compare-flow"));
    if (options.train_flow) {
      std::fprintf(stderr, "  flow-2d: %.1f s, final loss %.4f (MSE on v)\n", study.flow_training.seconds,
                   study.flow_training.final_loss_ema);
      if (!a->save_flow.empty()) flow.Save(a->save_flow);
    }
    if (options.train_ddpm) {
      std::fprintf(stderr, "  ddpm-2d: %.1f s, final loss %.4f (MSE on eps)\n", study.ddpm_training.seconds,
                   study.ddpm_training.final_loss_ema);
      if (!a->save_ddpm.empty()) ddpm.Save(a->save_ddpm);
    }
    const std::vector<FlowComparisonRow>& rows = study.rows;
    std::printf("%s: %d samples from the same noise vs %d held-out points; a fitted Gaussian scores %.5f\n",
                a->data.c_str(), a->n, a->n, study.gaussian_baseline);
    std::printf("%-6s %-6s %6s %5s %12s %13s\n", "model", "solver", "steps", "NFE", "energy", "straightness");
    for (const FlowComparisonRow& row : rows)
      std::printf("%-6s %-6s %6d %5d %12.5f %13.4f\n", row.model.c_str(), row.sampler.c_str(), row.steps,
                  row.evaluations, row.energy_distance, row.straightness);
    if (!a->csv.empty()) {
      AtomicFile file(a->csv);  // temp + rename: no half-written table
      file.stream() << "model,sampler,steps,nfe,energy_distance,straightness\n";
      file.stream().precision(9);
      for (const FlowComparisonRow& row : rows)
        file.stream() << row.model << ',' << row.sampler << ',' << row.steps << ',' << row.evaluations << ','
                      << row.energy_distance << ',' << row.straightness << '\n';
      file.Commit();
    }
    return 0;
  };
}

}  // namespace diffuscope::cli

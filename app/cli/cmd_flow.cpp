// compare-flow: flow matching beside the DDPM (issue 10), trained on the same data with the same budget and sampled
// from the same noise: energy distance to held-out data per number of steps, and the straightness of the paths.
#include "app/cli/common.h"
#include "core/data/points2d.h"
#include "core/models/ddpm2d.h"
#include "core/models/exact.h"
#include "core/models/flow2d.h"
#include "core/models/flow_compare.h"
#include "core/models/learned_model.h"

#include <cmath>
#include <cstdio>
#include <fstream>
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
  auto* cmd = app.add_subcommand(
      "compare-flow", "train (or load) a flow-matching and a DDPM 2D model on the same data and budget and compare "
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
    FlowComparisonOptions options;
    options.step_counts = ParseSteps(a->steps);
    options.particles = a->n;
    options.seed = a->seed;
    if (std::string problem = options.Check(); !problem.empty()) throw Error(problem);
    // The recipe of the shipped models, the same for both (a short run keeps its shape: warm-up a tenth).
    TrainOptions train = ShippedTrainingRecipe(a->iterations, a->batch, std::max<long long>(1, a->iterations / 10));
    train.seed = a->seed;
    if (train.warmup_steps > train.iterations / 5) train.warmup_steps = train.iterations / 10;
    if (std::string problem = train.Check(); !problem.empty()) throw Error(problem);
    const Batch data = GenerateDataset(a->data, 20000, a->seed, InDataUnits());
    const PointNormalization space = DatasetNormalization(a->data);

    Flow2dModel flow = a->flow.empty() ? Flow2dModel() : Flow2dModel::Load(a->flow);
    Ddpm2dModel ddpm = a->ddpm.empty() ? Ddpm2dModel() : Ddpm2dModel::Load(a->ddpm);
    Require(a->flow.empty() || flow.normalization() == space, "--flow was trained in another space than --data's");
    Require(a->ddpm.empty() || ddpm.normalization() == space, "--ddpm was trained in another space than --data's");
    if (a->flow.empty()) {
      std::fprintf(stderr, "training flow-2d on %s (%lld updates of %d)\n", a->data.c_str(), train.iterations,
                   train.batch_size);
      flow.set_normalization(space);
      flow.info()["data"] = a->data;
      const TrainReport r = TrainFlow2d(flow, data, train);
      std::fprintf(stderr, "  %.1f s, final loss %.4f (MSE on v)\n", r.seconds, r.final_loss_ema);
      if (!a->save_flow.empty()) flow.Save(a->save_flow);
    }
    if (a->ddpm.empty()) {
      std::fprintf(stderr, "training ddpm-2d on %s (%lld updates of %d)\n", a->data.c_str(), train.iterations,
                   train.batch_size);
      ddpm.set_normalization(space);
      ddpm.info()["data"] = a->data;
      const TrainReport r = TrainDdpm2d(ddpm, data, train);
      std::fprintf(stderr, "  %.1f s, final loss %.4f (MSE on eps)\n", r.seconds, r.final_loss_ema);
      if (!a->save_ddpm.empty()) ddpm.Save(a->save_ddpm);
    }
    const Batch held_out = GenerateDataset(a->data, a->n, a->seed + 1000, InDataUnits());
    const FlowComparison result = CompareFlowAndDdpm(flow, ddpm, ddpm.schedule(), space, held_out, options,
                                                     TerminalProgress("comparing"));
    // On 8gaussians the exact field is known: the same samplers with it give the floor and the exact straightness.
    std::vector<FlowComparisonRow> rows = result.rows;
    if (CanonicalDatasetName(a->data) == "8gaussians") {
      GaussianMixtureDenoiser exact(GaussianMixture::EightGaussians(std::sqrt(2.0), 0.1));
      for (FlowComparisonRow row : CompareFlowAndDdpm(exact, exact, ddpm.schedule(), space, held_out, options).rows) {
        row.model = "exact";  // euler, heun: the exact flow; ddim: the exact VP ODE
        rows.push_back(row);
      }
    }
    std::printf("%s: %d samples from the same noise vs %d held-out points; a fitted Gaussian scores %.5f\n",
                a->data.c_str(), a->n, a->n, result.gaussian_baseline);
    std::printf("%-6s %-6s %6s %5s %12s %13s\n", "model", "solver", "steps", "NFE", "energy", "straightness");
    for (const FlowComparisonRow& row : rows)
      std::printf("%-6s %-6s %6d %5d %12.5f %13.4f\n", row.model.c_str(), row.sampler.c_str(), row.steps,
                  row.evaluations, row.energy_distance, row.straightness);
    if (!a->csv.empty()) {
      std::ofstream out(a->csv);
      Require(out.good(), "cannot write '" + a->csv + "'");
      out << "model,sampler,steps,nfe,energy_distance,straightness\n";
      out.precision(9);
      for (const FlowComparisonRow& row : rows)
        out << row.model << ',' << row.sampler << ',' << row.steps << ',' << row.evaluations << ','
            << row.energy_distance << ',' << row.straightness << '\n';
      Require(out.good(), "writing '" + a->csv + "' failed");
    }
    return 0;
  };
}

}  // namespace diffuscope::cli

// likelihood: held-out points' negative log-likelihood through the probability-flow ODE, beside the exact density
// (the mixture) and the Sohl-Dickstein bound; memorisation: the 2D DDPM's copies of its training set per training-set
// size (issue 10).
#include "app/cli/common.h"
#include "core/common/atomic_file.h"
#include "core/models/exact.h"
#include "core/models/sohl_dickstein.h"
#include "core/run/likelihood.h"
#include "core/run/memorisation.h"
#include "core/run/model_likelihood.h"
#include "core/train/model_file.h"

#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>

namespace diffuscope::cli {

Runner AddLikelihoodCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "likelihood",
      "negative log-likelihood of held-out points (nats per point, in the data's units) through the probability-flow "
      "ODE, beside the exact density of the mixture and the Sohl-Dickstein variational bound");
  struct Args {
    std::string model, denoiser, data, bound_model;
    int n = 1000;
    double tolerance = 1e-6, difference_step = LikelihoodOptions{}.difference_step;
    uint64_t seed = 0;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--model", a->model,
                  "a trained 2D model (file or shipped name): a DDPM's ODE likelihood, or a "
                  "Sohl-Dickstein model's variational bound");
  cmd->add_option("--denoiser", a->denoiser, "mixture: the exact 8gaussians law (closed-form divergence)");
  cmd->add_option("--data", a->data, "the data set of the held-out points (default: the model's, or 8gaussians)");
  cmd->add_option("--bound-model", a->bound_model,
                  "also a Sohl-Dickstein model's variational bound on the same points");
  cmd->add_option("--n", a->n, "held-out points")->capture_default_str();
  CLI::Option* tolerance = cmd->add_option(
      "--tolerance", a->tolerance, "Dormand-Prince tolerance (default 1e-6 for the mixture, 1e-5 for a learned model)");
  cmd->add_option("--difference-step", a->difference_step,
                  "learned models: the central-difference step of the 2 x 2 Jacobian, in normalised units")
      ->capture_default_str();
  cmd->add_option("--seed", a->seed, "random seed of the held-out points")->capture_default_str();
  return [a, tolerance] {
    const bool tolerance_given = tolerance->count() > 0;
    Require(a->model.empty() != a->denoiser.empty(), "give one of --model and --denoiser mixture");
    Require(a->denoiser.empty() || a->denoiser == "mixture", "--denoiser: only 'mixture' has a known density");
    Require(a->n >= 2 && a->n <= 100000, "--n must be in 2..100000");
    {
      LikelihoodOptions check;
      check.difference_step = a->difference_step;
      if (tolerance_given) check.tolerance = a->tolerance;
      if (std::string problem = check.Check(); !problem.empty()) throw Error(problem);
    }
    // The 8gaussians law (as --denoiser mixture samples), or a model file / shipped name.
    OpenedModel opened;
    std::string data = a->data;
    std::unique_ptr<SohlDicksteinModel> bound_model;
    ModelLikelihoodInput input;
    if (!a->model.empty()) {
      opened = OpenModel(a->model, {});
      Require(opened.denoiser->dimension() == 2, "--model: '" + a->model + "' is not a 2D model");
      if (data.empty()) data = ModelData(opened, a->model);
      input.model = opened.denoiser.get();
      input.normalization = opened.normalization;
    } else {
      opened.denoiser = std::make_unique<GaussianMixtureDenoiser>(EightGaussiansDataLaw());
      input.model = opened.denoiser.get();
    }
    std::optional<NoiseSchedule> schedule;
    if (opened.schedule) input.schedule = &schedule.emplace(*opened.schedule);
    if (data.empty()) data = "8gaussians";
    input.mixture_law = CanonicalDatasetName(data) == "8gaussians";
    Require(!a->denoiser.empty() ? input.mixture_law : true,
            "--denoiser mixture: the held-out points must be 8gaussians");
    if (!a->bound_model.empty()) {
      OpenedModel bound = OpenModel(a->bound_model, {});
      Require(dynamic_cast<SohlDicksteinModel*>(bound.denoiser.get()) != nullptr,
              "'" + a->bound_model + "' is not a Sohl-Dickstein model: it has no variational bound");
      bound_model.reset(static_cast<SohlDicksteinModel*>(bound.denoiser.release()));
      input.bound_model = bound_model.get();
    }
    // Held-out: fresh draws (seed + 1000, as evaluate), never the training draw (core/run/model_likelihood.h).
    input.held_out = LikelihoodHeldOut(data, a->n, a->seed);
    input.fit = LikelihoodFitPoints(data, a->seed);
    ModelLikelihoodOptions options;
    if (tolerance_given) options.tolerance = a->tolerance;
    options.difference_step = a->difference_step;
    options.seed = a->seed;
    const ModelLikelihood r = MeasureModelLikelihood(input, options, TerminalProgress("likelihood"));
    std::printf("data: %s; %d held-out points; negative log-likelihood in nats per point (data units)\n", data.c_str(),
                a->n);
    std::printf("%10s %8s %10s  %s\n", "NLL", "+-", "NFE/point", "method");
    for (size_t i = 0; i < r.lines.size(); ++i) {
      const LikelihoodLine& line = r.lines[i];
      char nfe_text[32] = "-", se_text[32] = "-";
      if (line.nfe >= 0) std::snprintf(nfe_text, sizeof nfe_text, "%lld", line.nfe);
      if (line.standard_error >= 0) std::snprintf(se_text, sizeof se_text, "%.4f", line.standard_error);
      std::printf("%10.4f %8s %10s  %s\n", line.nll, se_text, nfe_text, line.method.c_str());
      if (i == 0 && r.ode)
        std::printf(
            "%32s(ODE: sigma 0 -> %.4g, %d Dormand-Prince steps, %d rejected; prior term %.4f, normalisation "
            "Jacobian %+.4f)\n",
            "", r.ode->sigma_T, r.ode->steps, r.ode->rejected, r.ode->prior_mean, r.ode->log_det_normalization + 0.0);
    }
    return 0;
  };
}

Runner AddMemorisationCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "memorisation",
      "train the 2D DDPM on the first N points for each training-set size N, sample, and set the samples' distance to "
      "their nearest training point beside held-out points' (and the empirical denoiser's, which copies)");
  struct Args {
    std::string data = "moons", csv;
    std::vector<int> sizes = MemorisationOptions{}.sizes;
    long long iterations = MemorisationOptions{}.training.iterations;
    int n = MemorisationOptions{}.num_samples, held_out = 1000;
    double radius = MemorisationOptions{}.copy_radius;
    uint64_t seed = 0;
    bool no_empirical = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--data", a->data, "the data set")->capture_default_str();
  cmd->add_option("--sizes", a->sizes, "training-set sizes, comma-separated, ascending")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--iterations", a->iterations, "training updates per size (batch 64)")->capture_default_str();
  cmd->add_option("--n", a->n, "samples per model")->capture_default_str();
  cmd->add_option("--held-out", a->held_out, "held-out points")->capture_default_str();
  cmd->add_option("--copy-radius", a->radius, "a sample this close to a training point is a copy (normalised units)")
      ->capture_default_str();
  cmd->add_option("--seed", a->seed, "random seed (training, x_T, sampling noise)")->capture_default_str();
  cmd->add_flag("--no-empirical", a->no_empirical, "leave out the empirical denoiser");
  cmd->add_option("--csv", a->csv, "also write the table as CSV (written atomically)");
  return [a] {
    MemorisationOptions options;
    options.sizes = a->sizes;
    options.training = ShippedTrainingRecipe(a->iterations, 64, std::max(1LL, a->iterations / 20));
    options.training.warmup_steps = std::min(500LL, a->iterations / 10);
    options.training.seed = a->seed + 1;
    options.num_samples = a->n;
    options.copy_radius = a->radius;
    options.empirical = !a->no_empirical;
    options.seed = a->seed;
    if (std::string problem = options.Check(); !problem.empty()) throw Error(problem);
    Require(a->held_out >= 2 && a->held_out <= 100000, "--held-out must be in 2..100000");
    const PointNormalization normalization = DatasetNormalization(a->data, InDataUnits());
    const Batch train = GenerateDataset(a->data, options.sizes.back(), a->seed, InDataUnits());
    const Batch held_out = GenerateDataset(a->data, a->held_out, a->seed + 1000, InDataUnits());
    const MemorisationReport r =
        MeasureMemorisation(train, held_out, normalization, options, TerminalProgress("memorisation"));
    std::printf(
        "data: %s; %lld updates of 64 per size; %d samples (DDPM ancestral, every step); distances in "
        "normalised units (nearest training point); copy = within %.3g of one\n",
        a->data.c_str(), r.iterations, options.num_samples, r.copy_radius);
    std::printf("%7s  %10s %10s %7s  %10s %10s %7s  %10s %10s %7s  %7s\n", "N", "DDPM mean", "median", "copies",
                "empir mean", "median", "copies", "held mean", "median", "copies", "loss");
    for (const MemorisationRow& row : r.rows)
      std::printf("%7d  %10.4f %10.4f %7.3f  %10.4f %10.4f %7.3f  %10.4f %10.4f %7.3f  %7.4f\n", row.size,
                  row.ddpm_nearest_mean, row.ddpm_nearest_median, row.ddpm_copy_fraction, row.empirical_nearest_mean,
                  row.empirical_nearest_median, row.empirical_copy_fraction, row.held_out_nearest_mean,
                  row.held_out_nearest_median, row.held_out_copy_fraction, row.final_loss);
    if (!a->csv.empty()) {
      AtomicFile file(a->csv);
      file.stream() << "size,ddpm_nearest_mean,ddpm_nearest_median,ddpm_copy_fraction,empirical_nearest_mean,"
                       "empirical_nearest_median,empirical_copy_fraction,held_out_nearest_mean,held_out_nearest_median,"
                       "held_out_copy_fraction,final_loss\n";
      file.stream().precision(9);
      for (const MemorisationRow& row : r.rows)
        file.stream() << row.size << ',' << row.ddpm_nearest_mean << ',' << row.ddpm_nearest_median << ','
                      << row.ddpm_copy_fraction << ',' << row.empirical_nearest_mean << ','
                      << row.empirical_nearest_median << ',' << row.empirical_copy_fraction << ','
                      << row.held_out_nearest_mean << ',' << row.held_out_nearest_median << ','
                      << row.held_out_copy_fraction << ',' << row.final_loss << '\n';
      file.Commit();
      std::fprintf(stderr, "table -> %s\n", a->csv.c_str());
    }
    return 0;
  };
}

}  // namespace diffuscope::cli

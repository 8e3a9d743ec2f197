// likelihood: held-out points' negative log-likelihood through the probability-flow ODE, beside the exact density
// (the mixture) and the Sohl-Dickstein bound; memorisation: the 2D DDPM's copies of its training set per training-set
// size (issue 10).
#include "app/cli/common.h"
#include "core/common/atomic_file.h"
#include "core/models/exact.h"
#include "core/models/sohl_dickstein.h"
#include "core/run/likelihood.h"
#include "core/run/memorisation.h"
#include "core/train/model_file.h"

#include <cmath>
#include <cstdio>

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
  cmd->add_option("--model", a->model, "a trained 2D model (file or shipped name): a DDPM's ODE likelihood, or a "
                                       "Sohl-Dickstein model's variational bound");
  cmd->add_option("--denoiser", a->denoiser, "mixture: the exact 8gaussians law (closed-form divergence)");
  cmd->add_option("--data", a->data, "the data set of the held-out points (default: the model's, or 8gaussians)");
  cmd->add_option("--bound-model", a->bound_model,
                  "also a Sohl-Dickstein model's variational bound on the same points");
  cmd->add_option("--n", a->n, "held-out points")->capture_default_str();
  CLI::Option* tolerance = cmd->add_option("--tolerance", a->tolerance,
                  "Dormand-Prince tolerance (default 1e-6 for the mixture, 1e-5 for a learned model)");
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
    // The law of the 8gaussians data set (as --denoiser mixture samples): centres at radius sqrt 2, sd 0.1.
    const GaussianMixture eight = GaussianMixture::EightGaussians(std::sqrt(2.0), 0.1);
    std::unique_ptr<Denoiser> model;
    OpenedModel opened;
    std::string data = a->data;
    std::string model_type;
    if (!a->model.empty()) {
      opened = OpenModel(a->model, {});
      Require(opened.denoiser->dimension() == 2, "--model: '" + a->model + "' is not a 2D model");
      if (data.empty()) data = ModelData(opened, a->model);
      model_type = opened.file.empty() ? "" : LoadModelFile(opened.file).model_type;
    }
    if (data.empty()) data = "8gaussians";
    const bool mixture_law = CanonicalDatasetName(data) == "8gaussians";
    Require(!a->denoiser.empty() ? mixture_law : true, "--denoiser mixture: the held-out points must be 8gaussians");
    // Held-out: fresh draws (seed + 1000, as evaluate), never the training draw.
    const Batch points = GenerateDataset(data, a->n, a->seed + 1000, InDataUnits());
    const Batch fit = GenerateDataset(data, 20000, a->seed + 2000, InDataUnits());
    std::printf("data: %s; %d held-out points; negative log-likelihood in nats per point (data units)\n", data.c_str(),
                a->n);
    std::printf("%10s %8s %10s  %s\n", "NLL", "+-", "NFE/point", "method");
    auto row = [](const std::string& what, double nll, double se, long long nfe) {
      char nfe_text[32] = "-", se_text[32] = "-";
      if (nfe >= 0) std::snprintf(nfe_text, sizeof nfe_text, "%lld", nfe);
      if (se >= 0) std::snprintf(se_text, sizeof se_text, "%.4f", se);
      std::printf("%10.4f %8s %10s  %s\n", nll, se_text, nfe_text, what.c_str());
    };
    auto ode_note = [](const LikelihoodReport& r) {
      std::printf("%32s(ODE: sigma 0 -> %.4g, %d Dormand-Prince steps, %d rejected; prior term %.4f, normalisation "
                  "Jacobian %+.4f)\n",
                  "", r.sigma_T, r.steps, r.rejected, r.prior_mean, r.log_det_normalization + 0.0);
    };
    auto progress = TerminalProgress("likelihood");
    if (!a->denoiser.empty()) {
      LikelihoodOptions options;
      options.alpha_bar_T = 4e-5;  // linear T = 1000's end
      if (tolerance_given) options.tolerance = a->tolerance;
      const LikelihoodReport r = OdeLogLikelihood(eight, points, {}, options, progress);
      row("probability-flow ODE, exact mixture (closed-form div)", r.mean_nll, r.standard_error, r.nfe);
      ode_note(r);
      options.tolerance = tolerance_given ? a->tolerance : 1e-5;
      options.difference_step = a->difference_step;
      GaussianMixtureDenoiser exact(eight);
      const LikelihoodReport d = OdeLogLikelihood(exact, points, {}, options, progress);
      row("probability-flow ODE, exact denoiser (differences)", d.mean_nll, d.standard_error, d.nfe);
    } else if (model_type != kSohlDicksteinModelType) {
      LikelihoodOptions options;
      const NoiseSchedule schedule(*opened.schedule);
      options.alpha_bar_T = schedule.alpha_bar(schedule.num_steps());
      options.tolerance = tolerance_given ? a->tolerance : 1e-5;
      options.difference_step = a->difference_step;
      const LikelihoodReport r = OdeLogLikelihood(*opened.denoiser, points, opened.normalization, options, progress);
      row("probability-flow ODE, " + opened.description, r.mean_nll, r.standard_error, r.nfe);
      ode_note(r);
    }
    for (const std::string& name : {model_type == kSohlDicksteinModelType ? a->model : std::string(), a->bound_model}) {
      if (name.empty()) continue;
      OpenedModel bound_model = name == a->model ? std::move(opened) : OpenModel(name, {});
      auto* sd = dynamic_cast<SohlDicksteinModel*>(bound_model.denoiser.get());
      Require(sd != nullptr, "'" + name + "' is not a Sohl-Dickstein model: it has no variational bound");
      const SohlDicksteinBound b = EvaluateBound(*sd, points, a->seed, 4);
      row("variational bound, " + bound_model.description, b.nll, b.standard_error, -1);
    }
    if (mixture_law) {
      const Eigen::VectorXd exact = MixtureLogDensity(eight, points, {});
      const double se = std::sqrt((exact.array() - exact.mean()).square().sum() / (exact.size() - 1) / exact.size());
      row("exact log-density of the 8gaussians mixture", -exact.mean(), se, -1);
    }
    row("full-covariance Gaussian fitted to the data", GaussianNll(fit, points), -1, -1);
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
    std::printf("data: %s; %lld updates of 64 per size; %d samples (DDPM ancestral, every step); distances in "
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

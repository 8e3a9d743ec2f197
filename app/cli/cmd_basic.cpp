// schedule, noise, dataset: the forward-process and data subcommands.
#include "app/cli/common.h"
#include "core/common/atomic_file.h"
#include "core/data/image_io.h"
#include "core/data/points2d.h"
#include "core/forward/forward.h"

#include <cstdio>
#include <iostream>

namespace diffuscope::cli {

void WriteScheduleCsv(const NoiseSchedule& s, std::ostream& out) {
  out << "t,beta,alpha_bar,posterior_variance,snr\n";
  char line[160];
  for (int t = 1; t <= s.num_steps(); ++t) {
    std::snprintf(line, sizeof line, "%d,%.17g,%.17g,%.17g,%.17g\n", t, s.beta(t), s.alpha_bar(t),
                  s.posterior_variance(t), s.snr(t));
    out << line;
  }
}

Runner AddScheduleCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("schedule", "print a noise schedule as CSV: t,beta,alpha_bar,posterior_variance,snr");
  auto args = std::make_shared<ScheduleArgs>();
  auto output = std::make_shared<std::string>();
  AddScheduleOptions(cmd, args.get());
  cmd->add_option("-o,--output", *output, "write the CSV to this file (default: standard output)");
  cmd->footer("Rows are t = 1..T (paper indexing; row t is the code's index t - 1), 17 significant digits.");
  return [args, output] {
    const NoiseSchedule s(args->ToOptions());
    if (output->empty()) {
      WriteScheduleCsv(s, std::cout);
      std::cout.flush();
      Require(std::cout.good(), "writing to standard output failed");
    } else {
      AtomicFile file(*output);
      WriteScheduleCsv(s, file.stream());
      file.Commit();
    }
    return 0;
  };
}

Runner AddNoiseCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("noise", "write x_t of an image: the forward process q(x_t | x_0)");
  struct Args {
    std::string input, output, path = "closed";
    int t = 0;
    uint64_t seed = 0;
    bool downscale = false;
    ScheduleArgs schedule;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("IN_IMAGE", a->input, "the image x_0 (any size; pixels mapped [0, 255] -> [-1, 1])")->required();
  cmd->add_option("--t", a->t, "timestep t (0 = the image itself, T = (almost) pure noise)")->required();
  cmd->add_option("--seed", a->seed, "random seed: the same seed gives the same noise")->required();
  cmd->add_option("--path", a->path, "closed (one fixed eps) or markov (the step-by-step chain's path)")
      ->capture_default_str()
      ->check(CLI::IsMember({"closed", "markov"}));
  cmd->add_flag("--downscale", a->downscale, "shrink images over 16 megapixels instead of refusing them");
  cmd->add_option("-o,--output", a->output, "output image (.png, .jpg, .bmp, .tif, .webp)")->required();
  AddScheduleOptions(cmd, &a->schedule);
  return [a] {
    const NoiseSchedule s(a->schedule.ToOptions());
    Require(a->t >= 0 && a->t <= s.num_steps(),
            "--t must be in 0.." + std::to_string(s.num_steps()) + " (got " + std::to_string(a->t) + ")");
    ImageLoadOptions load;
    load.downscale_if_too_large = a->downscale;
    Image image = LoadImage(a->input, load);
    ForwardProcess forward(s, image.pixels, a->seed);
    image.pixels = a->path == "closed" ? forward.Closed(a->t) : forward.Markov(a->t);
    SaveImage(a->output, image);
    std::cerr << "x_" << a->t << " (alpha_bar = " << s.alpha_bar(a->t) << ", " << a->path << " path) -> " << a->output
              << "\n";
    return 0;
  };
}

Runner AddDatasetCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("dataset", "write points of a 2D data set as CSV (x,y)");
  struct Args {
    std::string name, output;
    int n = 2000;
    uint64_t seed = 0;
    double noise = -1;
  };
  auto a = std::make_shared<Args>();
  std::string names;
  for (const auto& n : DatasetNames()) names += (names.empty() ? "" : ", ") + n;
  cmd->add_option("NAME_OR_FILE", a->name,
                  "a built-in set (" + names +
                      "), a CSV of x,y points (drawn from, in its units) or a silhouette image "
                      "(pixel units, y up)")
      ->required();
  cmd->add_option("--n", a->n, "number of points")->capture_default_str();
  cmd->add_option("--seed", a->seed, "random seed")->required();
  cmd->add_option("--noise", a->noise, "standard deviation of the noise added to each point (default: the set's own)");
  cmd->add_option("-o,--output", a->output, "output CSV file")->required();
  return [a] {
    Require(a->n >= 1 && a->n <= kMaxPoints2D, "--n must be in 1.." + std::to_string(kMaxPoints2D));
    Dataset2DOptions options = InDataUnits();  // a CSV's points in its units, a silhouette's in pixels (y up)
    options.noise = a->noise;
    SavePointsCsv(a->output, GenerateDataset(a->name, a->n, a->seed, options));
    std::cerr << a->n << " points of " << a->name << " -> " << a->output << "\n";
    return 0;
  };
}

}  // namespace diffuscope::cli

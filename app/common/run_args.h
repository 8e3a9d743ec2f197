// The options both executables spell the same way: the schedule (--schedule KIND --steps T --beta-start
// --beta-end --zero-terminal-snr --schedule-file) and the sampler (--sampler --sampling-steps --eta --spacing
// --variance --clip --dynamic-threshold). Plain structs of what was typed, with the one conversion to the core's
// options and the errors that name the flag; diffuscope-cli registers them with CLI11, diffuscope with
// QCommandLineParser, both with the help texts below. No Qt, no CLI11.
//
//   diffuscope::app::ScheduleArgs args;          // or ScheduleArgs::From(current options)
//   args.kind = "cosine";  args.steps = 50;       // --schedule cosine --steps 50
//   diffuscope::ScheduleOptions options = args.ToOptions();  // throws Error("--schedule: unknown kind ...")
#pragma once

#include "core/sampling/sampler.h"
#include "core/schedule/schedule.h"

#include <cstdint>
#include <optional>
#include <string>

namespace diffuscope::app {

/// Schedule options as typed on a command line.
struct ScheduleArgs {
  std::string kind = "linear";
  int steps = 1000;  // T
  double beta_start = 1e-4;
  double beta_end = 0.02;
  bool zero_terminal_snr = false;
  std::string file;  // a custom schedule file (overrides kind)

  /// The typed values of existing options (a custom schedule's betas are not typed: kind stays its name).
  static ScheduleArgs From(const ScheduleOptions& options);
  /// The old spelling "--schedule KIND:T" (the app's before one grammar): splits it into kind and steps and returns
  /// a note saying the new spelling; "" when kind has no ':'. Throws Error when T is not a number.
  std::string TakeOldSpelling();
  /// The options; throws Error (naming the flag) when they are invalid.
  ScheduleOptions ToOptions() const;
};

/// Sampler options as typed on a command line.
struct SamplerArgs {
  std::string sampler;        // a SamplerKindName ("ddpm", "heun-karras", ...); "" = ddpm, or ddim when eta is given
  int sampling_steps = 0;     // K reverse steps; 0 = every step
  std::optional<double> eta;  // DDIM's eta (given: implies ddim unless --sampler says otherwise)
  std::string spacing = "trailing";
  std::string variance = "fixed-small";
  bool clip = false;
  bool dynamic_threshold = false;
  double rho = 7.0;  // heun-karras' exponent: no flag (Karras's 7); kept so From / ToOptions round-trip

  /// The typed values of existing options.
  static SamplerArgs From(const SamplerOptions& options);
  /// The options with the reverse noise seed; throws Error (naming the flag) when they are invalid.
  SamplerOptions ToOptions(uint64_t seed) const;
};

/// Help texts, one per flag, for both executables.
namespace help {
std::string Schedule();  // lists the kinds
inline constexpr const char* kSteps = "number of diffusion steps T";
inline constexpr const char* kBetaStart = "first beta (linear, scaled-linear, sigmoid)";
inline constexpr const char* kBetaEnd = "last beta (linear, scaled-linear, sigmoid; the beta of const)";
inline constexpr const char* kZeroTerminalSnr = "rescale so alpha_bar_T = 0 exactly (Lin et al. 2024)";
inline constexpr const char* kScheduleFile =
    "a custom schedule: one beta per line (or a first line 'alpha_bar' and alpha_bar values)";
inline constexpr const char* kSampler =
    "ddpm (ancestral), ddim (the default when --eta is given), ode-euler (probability-flow ODE), sde-euler (reverse "
    "SDE, Euler-Maruyama), heun-karras (Heun on Karras sigma steps), dpm-solver++ (2M), flow-euler or flow-heun "
    "(Euler / Heun in the flow time of the straight path, any model)";
inline constexpr const char* kSamplingSteps = "number of reverse steps K (0 = every step)";
inline constexpr const char* kEta = "DDIM stochasticity (0 = deterministic, 1 = DDPM-like)";
inline constexpr const char* kSpacing = "which K of the T timesteps: leading|trailing|linspace";
inline constexpr const char* kVariance = "DDPM variance: fixed-small|fixed-large|learned";
inline constexpr const char* kClip = "clip x0_hat to [-1, 1] at every step";
inline constexpr const char* kDynamicThreshold = "Imagen's dynamic thresholding of x0_hat";
}  // namespace help

}  // namespace diffuscope::app

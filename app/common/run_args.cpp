#include "app/common/run_args.h"

#include "core/common/types.h"

#include <charconv>

namespace diffuscope::app {

std::string help::Schedule() {
  std::string names;
  for (auto n : ScheduleKindNames()) names += std::string(names.empty() ? "" : "|") + std::string(n);
  return "noise schedule: " + names;
}

ScheduleArgs ScheduleArgs::From(const ScheduleOptions& options) {
  ScheduleArgs args;
  args.kind = std::string(ScheduleKindName(options.kind));
  args.steps = options.num_steps;
  args.beta_start = options.beta_start;
  args.beta_end = options.beta_end;
  args.zero_terminal_snr = options.zero_terminal_snr;
  return args;
}

std::string ScheduleArgs::TakeOldSpelling() {
  const size_t colon = kind.find(':');
  if (colon == std::string::npos) return {};
  const std::string old = kind, number = kind.substr(colon + 1);
  int value = 0;
  const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), value);
  Require(error == std::errc() && end == number.data() + number.size() && !number.empty(),
          "--schedule: '" + old + "': T after ':' must be a whole number (better: --schedule KIND --steps T)");
  kind = old.substr(0, colon);
  steps = value;
  return "--schedule " + old + " is the old spelling; use --schedule " + kind + " --steps " + number;
}

ScheduleOptions ScheduleArgs::ToOptions() const {
  ScheduleOptions o;
  if (!file.empty()) {
    o = LoadCustomSchedule(file);
  } else {
    auto parsed = ParseScheduleKind(kind);
    if (!parsed || *parsed == ScheduleKind::kCustomBeta || *parsed == ScheduleKind::kCustomAlphaBar) {
      std::string names;
      for (auto n : ScheduleKindNames()) names += std::string(names.empty() ? "" : ", ") + std::string(n);
      throw Error("--schedule: unknown kind '" + kind + "' (known: " + names + "; a custom schedule: --schedule-file)");
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

SamplerArgs SamplerArgs::From(const SamplerOptions& options) {
  SamplerArgs args;
  args.sampler = std::string(SamplerKindName(options.kind));
  args.sampling_steps = options.num_steps;
  args.eta = options.eta;
  args.spacing = std::string(SpacingName(options.spacing));
  args.variance = std::string(VarianceChoiceName(options.variance));
  args.clip = options.clip_x0;
  args.dynamic_threshold = options.dynamic_threshold;
  args.rho = options.rho;
  return args;
}

SamplerOptions SamplerArgs::ToOptions(uint64_t seed) const {
  SamplerOptions o;
  const std::string name = sampler.empty() ? (eta ? "ddim" : "ddpm") : sampler;
  auto kind = ParseSamplerKind(name);
  if (!kind) {
    std::string names;
    for (SamplerKind k : AllSamplerKinds())
      names += std::string(names.empty() ? "" : ", ") + std::string(SamplerKindName(k));
    throw Error("--sampler: unknown sampler '" + name + "' (" + names + ")");
  }
  o.kind = *kind;
  auto sp = ParseSpacing(spacing);
  if (!sp) throw Error("--spacing: unknown spacing '" + spacing + "' (leading, trailing or linspace)");
  o.spacing = *sp;
  auto var = ParseVarianceChoice(variance);
  if (!var) throw Error("--variance: unknown choice '" + variance + "' (fixed-small, fixed-large or learned)");
  o.variance = *var;
  o.num_steps = sampling_steps;
  o.eta = eta.value_or(0.0);
  o.clip_x0 = clip;
  o.dynamic_threshold = dynamic_threshold;
  o.rho = rho;
  o.seed = seed;
  if (std::string problem = o.Check(); !problem.empty()) throw Error("sampler: " + problem);
  return o;
}

}  // namespace diffuscope::app

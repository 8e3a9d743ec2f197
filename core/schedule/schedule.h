// Noise schedules of the diffusion papers and every array derived from them, in double.
//
//   diffuscope::ScheduleOptions options;           // linear, T = 1000, 1e-4 .. 0.02 (DDPM)
//   options.kind = diffuscope::ScheduleKind::kCosine;
//   diffuscope::NoiseSchedule schedule(options);   // throws diffuscope::Error if options are bad
//   double abar = schedule.alpha_bar(500);         // paper index t = 1..T; alpha_bar(0) == 1
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace diffuscope {

enum class ScheduleKind {
  kLinear,          // beta = linspace(b0, b1, T) (DDPM)
  kScaledLinear,    // beta = linspace(sqrt b0, sqrt b1, T)^2 ("quadratic" of DDPM / tiny-diffusion)
  kCosine,          // improved DDPM, s = 0.008, beta clipped at 0.999
  kSigmoid,         // beta = sigmoid(linspace(-6, 6, T)) (b1 - b0) + b0
  kJsd,             // beta = 1 / (T - i): ends at alpha_bar_T = 0
  kConst,           // beta = b1
  kSohlDickstein,   // the 2015 code's schedule: 1e-6 + (1/linspace(T, 2, T)) (1 - 1.1e-5), + 1e-3 on step 1
  kCustomBeta,      // the betas given in ScheduleOptions::custom
  kCustomAlphaBar,  // the alpha_bar values given in ScheduleOptions::custom
};

/// The command-line / file name of a kind ("linear", "scaled-linear", "cosine", ...).
std::string_view ScheduleKindName(ScheduleKind kind);
/// Parses a kind name (also accepts "quadratic" for scaled-linear); nullopt if unknown.
std::optional<ScheduleKind> ParseScheduleKind(std::string_view name);
/// Every name ParseScheduleKind accepts for the built-in kinds, for --help and menus.
std::vector<std::string_view> ScheduleKindNames();

struct ScheduleOptions {
  ScheduleKind kind = ScheduleKind::kLinear;
  int num_steps = 1000;            // T
  double beta_start = 1e-4;        // b0 (linear, scaled-linear, sigmoid)
  double beta_end = 0.02;          // b1 (linear, scaled-linear, sigmoid, const)
  double cosine_s = 0.008;         // offset s of the cosine schedule
  double max_beta = 0.999;         // the cosine schedule's clip
  bool zero_terminal_snr = false;  // rescale so alpha_bar_T = 0 exactly (Lin et al. 2024)
  std::vector<double> custom;      // betas or alpha_bar values (i = 0..T-1) for the custom kinds

  /// Empty when the options describe a valid schedule, else what is wrong, naming the parameter.
  std::string Check() const;
  bool operator==(const ScheduleOptions&) const = default;
};

/// Reads a custom schedule file: one number per line (blank lines and '#' comments ignored), optionally
/// a first line "beta" or "alpha_bar" saying which (default beta). Returns options of a custom kind.
ScheduleOptions LoadCustomSchedule(const std::string& path);

/// A schedule and its derived arrays. Paper indexing in the accessors: t = 1..T; arrays are i = t - 1.
class NoiseSchedule {
 public:
  /// Builds every array; throws Error if options.Check() fails or the result is not a valid chain.
  explicit NoiseSchedule(const ScheduleOptions& options = {});

  const ScheduleOptions& options() const { return options_; }
  int num_steps() const { return static_cast<int>(beta_.size()); }

  // Per step t = 1..T. alpha_bar and its forms also accept t = 0 (the data: alpha_bar_0 = 1).
  double beta(int t) const { return beta_[Index(t)]; }
  double alpha(int t) const { return 1.0 - beta_[Index(t)]; }
  double alpha_bar(int t) const { return t == 0 ? 1.0 : alpha_bar_[Index(t)]; }
  double alpha_bar_prev(int t) const { return alpha_bar(t - 1); }
  double sqrt_alpha_bar(int t) const;
  double sqrt_one_minus_alpha_bar(int t) const;
  /// SNR_t = alpha_bar_t / (1 - alpha_bar_t); infinite at t = 0, zero where alpha_bar_T = 0.
  double snr(int t) const;
  /// log SNR_t (natural log); -infinity where alpha_bar_t = 0.
  double log_snr(int t) const;
  /// beta~_t = beta_t (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t), the variance of q(x_{t-1} | x_t, x_0).
  double posterior_variance(int t) const { return posterior_variance_[Index(t)]; }
  /// log beta~_t, with beta~_1 = 0 replaced by beta~_2 (improved DDPM's clipped log).
  double posterior_log_variance_clipped(int t) const { return posterior_log_variance_clipped_[Index(t)]; }
  /// mu~ = coef1 x_0 + coef2 x_t.
  double posterior_mean_coef1(int t) const { return posterior_mean_coef1_[Index(t)]; }
  double posterior_mean_coef2(int t) const { return posterior_mean_coef2_[Index(t)]; }

  // Whole arrays, i = 0..T-1 (for plots and exports).
  const std::vector<double>& betas() const { return beta_; }
  const std::vector<double>& alpha_bars() const { return alpha_bar_; }
  const std::vector<double>& posterior_variances() const { return posterior_variance_; }

 private:
  size_t Index(int t) const;  // t - 1, checked

  ScheduleOptions options_;
  std::vector<double> beta_, alpha_bar_, posterior_variance_, posterior_log_variance_clipped_, posterior_mean_coef1_,
      posterior_mean_coef2_;
};

/// Betas of a kind before any rescale (i = 0..T-1); throws Error on bad options.
std::vector<double> ComputeBetas(const ScheduleOptions& options);
/// The zero-terminal-SNR rescale of Lin et al.: returns betas whose alpha_bar_T is exactly 0.
std::vector<double> RescaleZeroTerminalSnr(const std::vector<double>& betas);

}  // namespace diffuscope

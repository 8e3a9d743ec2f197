#include "core/schedule/schedule.h"

#include "core/common/types.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <numbers>
#include <sstream>

namespace diffuscope {
namespace {

struct KindName {
  ScheduleKind kind;
  std::string_view name;
};
constexpr std::array<KindName, 9> kKindNames = {{
    {ScheduleKind::kLinear, "linear"},
    {ScheduleKind::kScaledLinear, "scaled-linear"},
    {ScheduleKind::kCosine, "cosine"},
    {ScheduleKind::kSigmoid, "sigmoid"},
    {ScheduleKind::kJsd, "jsd"},
    {ScheduleKind::kConst, "const"},
    {ScheduleKind::kSohlDickstein, "sohl-dickstein"},
    {ScheduleKind::kCustomBeta, "custom-beta"},
    {ScheduleKind::kCustomAlphaBar, "custom-alpha-bar"},
}};

std::vector<double> Linspace(double a, double b, int n) {
  std::vector<double> v(n);
  if (n == 1) {
    v[0] = a;
    return v;
  }
  for (int i = 0; i < n; ++i) v[i] = a + (b - a) * i / (n - 1);
  return v;
}

bool InOpenUnit(double x) { return std::isfinite(x) && x > 0.0 && x < 1.0; }

std::string Fmt(double x) {
  std::ostringstream out;
  out.precision(6);
  out << x;
  return out.str();
}

}  // namespace

std::string_view ScheduleKindName(ScheduleKind kind) {
  for (const auto& k : kKindNames)
    if (k.kind == kind) return k.name;
  return "unknown";
}

std::optional<ScheduleKind> ParseScheduleKind(std::string_view name) {
  if (name == "quadratic") return ScheduleKind::kScaledLinear;
  for (const auto& k : kKindNames)
    if (k.name == name) return k.kind;
  return std::nullopt;
}

std::vector<std::string_view> ScheduleKindNames() {
  std::vector<std::string_view> names;
  for (const auto& k : kKindNames)
    if (k.kind != ScheduleKind::kCustomBeta && k.kind != ScheduleKind::kCustomAlphaBar) names.push_back(k.name);
  return names;
}

std::string ScheduleOptions::Check() const {
  if (num_steps < 1) return "the number of steps T must be at least 1 (got " + std::to_string(num_steps) + ")";
  if (num_steps > 100000) return "the number of steps T must be at most 100000 (got " + std::to_string(num_steps) + ")";
  switch (kind) {
    case ScheduleKind::kLinear:
    case ScheduleKind::kScaledLinear:
    case ScheduleKind::kSigmoid:
      if (!InOpenUnit(beta_start)) return "beta_start must be in (0, 1) (got " + Fmt(beta_start) + ")";
      if (!InOpenUnit(beta_end)) return "beta_end must be in (0, 1) (got " + Fmt(beta_end) + ")";
      break;
    case ScheduleKind::kConst:
      if (!InOpenUnit(beta_end)) return "beta_end (the constant beta) must be in (0, 1) (got " + Fmt(beta_end) + ")";
      break;
    case ScheduleKind::kCosine:
      if (!(std::isfinite(cosine_s) && cosine_s > 0.0 && cosine_s < 1.0))
        return "cosine_s must be in (0, 1) (got " + Fmt(cosine_s) + ")";
      if (!(std::isfinite(max_beta) && max_beta > 0.0 && max_beta <= 1.0))
        return "max_beta must be in (0, 1] (got " + Fmt(max_beta) + ")";
      break;
    case ScheduleKind::kJsd:
    case ScheduleKind::kSohlDickstein: break;
    case ScheduleKind::kCustomBeta:
    case ScheduleKind::kCustomAlphaBar:
      if (static_cast<int>(custom.size()) != num_steps)
        return "a custom schedule needs exactly T = " + std::to_string(num_steps) + " values (got " +
               std::to_string(custom.size()) + ")";
      for (size_t i = 0; i < custom.size(); ++i) {
        double v = custom[i];
        bool last = i + 1 == custom.size();
        const char* what = kind == ScheduleKind::kCustomBeta ? "beta" : "alpha_bar";
        bool ok = kind == ScheduleKind::kCustomBeta ? (std::isfinite(v) && v > 0.0 && (v < 1.0 || (last && v == 1.0)))
                                                    : (std::isfinite(v) && v < 1.0 && (v > 0.0 || (last && v == 0.0)));
        if (!ok)
          return std::string(what) + " at t = " + std::to_string(i + 1) + " is " + Fmt(v) + ": it must be in " +
                 (kind == ScheduleKind::kCustomBeta ? "(0, 1) (1 only at t = T)" : "(0, 1) (0 only at t = T)");
        if (kind == ScheduleKind::kCustomAlphaBar && i > 0 && !(v < custom[i - 1]))
          return "alpha_bar must decrease strictly, but alpha_bar at t = " + std::to_string(i + 1) + " (" + Fmt(v) +
                 ") is not below alpha_bar at t = " + std::to_string(i) + " (" + Fmt(custom[i - 1]) + ")";
      }
      break;
  }
  return {};
}

std::vector<double> ComputeBetas(const ScheduleOptions& o) {
  if (std::string problem = o.Check(); !problem.empty()) throw Error("schedule: " + problem);
  const int T = o.num_steps;
  std::vector<double> beta(T);
  switch (o.kind) {
    case ScheduleKind::kLinear: beta = Linspace(o.beta_start, o.beta_end, T); break;
    case ScheduleKind::kScaledLinear:
      beta = Linspace(std::sqrt(o.beta_start), std::sqrt(o.beta_end), T);
      for (double& b : beta) b *= b;
      break;
    case ScheduleKind::kCosine: {
      auto f = [&](double u) {
        double c = std::cos((u + o.cosine_s) / (1.0 + o.cosine_s) * std::numbers::pi / 2.0);
        return c * c;
      };
      for (int i = 0; i < T; ++i) beta[i] = std::min(1.0 - f(double(i + 1) / T) / f(double(i) / T), o.max_beta);
      break;
    }
    case ScheduleKind::kSigmoid: {
      auto x = Linspace(-6.0, 6.0, T);
      for (int i = 0; i < T; ++i) beta[i] = 1.0 / (1.0 + std::exp(-x[i])) * (o.beta_end - o.beta_start) + o.beta_start;
      break;
    }
    case ScheduleKind::kJsd:
      for (int i = 0; i < T; ++i) beta[i] = 1.0 / double(T - i);
      break;
    case ScheduleKind::kConst: std::fill(beta.begin(), beta.end(), o.beta_end); break;
    case ScheduleKind::kSohlDickstein: {
      auto b = Linspace(double(T), 2.0, T);
      // sigmoid(logit(1/b)) == 1/b; the code's form is kept in words, not in floating-point noise.
      for (int i = 0; i < T; ++i) beta[i] = 1e-6 + (1.0 / b[i]) * (1.0 - 1e-6 - 1e-5);
      beta[0] += 1e-3;
      break;
    }
    case ScheduleKind::kCustomBeta: beta = o.custom; break;
    case ScheduleKind::kCustomAlphaBar: {
      double prev = 1.0;
      for (int i = 0; i < T; ++i) {
        beta[i] = 1.0 - o.custom[i] / prev;
        prev = o.custom[i];
      }
      break;
    }
  }
  return beta;
}

std::vector<double> RescaleZeroTerminalSnr(const std::vector<double>& betas) {
  const size_t T = betas.size();
  Require(T >= 2, "schedule: the zero-terminal-SNR rescale needs T >= 2");
  std::vector<double> s(T);
  double abar = 1.0;
  for (size_t i = 0; i < T; ++i) {
    abar *= 1.0 - betas[i];
    s[i] = std::sqrt(abar);
  }
  const double s1 = s.front(), sT = s.back();
  Require(s1 > sT, "schedule: the zero-terminal-SNR rescale needs alpha_bar to decrease");
  std::vector<double> out(T);
  double prev = 1.0;
  for (size_t i = 0; i < T; ++i) {
    double si = (s[i] - sT) * s1 / (s1 - sT);
    double ab = si * si;
    out[i] = 1.0 - ab / prev;
    prev = ab;
  }
  out.back() = 1.0;  // exactly: alpha_bar_T = 0
  return out;
}

NoiseSchedule::NoiseSchedule(const ScheduleOptions& options) : options_(options) {
  beta_ = ComputeBetas(options);
  if (options.zero_terminal_snr) beta_ = RescaleZeroTerminalSnr(beta_);
  const int T = static_cast<int>(beta_.size());
  for (int i = 0; i < T; ++i) {
    const double b = beta_[i];
    if (!(std::isfinite(b) && b > 0.0 && (b < 1.0 || (b == 1.0 && i == T - 1))))
      throw Error("schedule: beta at t = " + std::to_string(i + 1) + " is " + Fmt(b) +
                  "; every beta must be in (0, 1), and 1 only at t = T");
  }
  alpha_bar_.resize(T);
  double abar = 1.0;
  for (int i = 0; i < T; ++i) {
    abar *= 1.0 - beta_[i];
    if (!(abar < (i == 0 ? 1.0 : alpha_bar_[i - 1])) || (abar == 0.0 && i != T - 1))
      throw Error("schedule: alpha_bar stops decreasing at t = " + std::to_string(i + 1) +
                  " (it underflows to 0 before t = T); use fewer steps or smaller betas");
    alpha_bar_[i] = abar;
  }
  posterior_variance_.resize(T);
  posterior_log_variance_clipped_.resize(T);
  posterior_mean_coef1_.resize(T);
  posterior_mean_coef2_.resize(T);
  for (int i = 0; i < T; ++i) {
    const double ab = alpha_bar_[i], ab_prev = i == 0 ? 1.0 : alpha_bar_[i - 1];
    posterior_variance_[i] = beta_[i] * (1.0 - ab_prev) / (1.0 - ab);
    posterior_mean_coef1_[i] = beta_[i] * std::sqrt(ab_prev) / (1.0 - ab);
    posterior_mean_coef2_[i] = (1.0 - ab_prev) * std::sqrt(1.0 - beta_[i]) / (1.0 - ab);
  }
  for (int i = 0; i < T; ++i) {
    // beta~_1 = 0; its log is taken from beta~_2 as improved DDPM does (or beta_1 when T = 1).
    double v = i == 0 ? (T > 1 ? posterior_variance_[1] : beta_[0]) : posterior_variance_[i];
    posterior_log_variance_clipped_[i] = std::log(v);
  }
}

size_t NoiseSchedule::Index(int t) const {
  if (t < 1 || t > num_steps())
    throw Error("timestep t = " + std::to_string(t) + " is outside 1.." + std::to_string(num_steps()));
  return static_cast<size_t>(t - 1);
}

double NoiseSchedule::sqrt_alpha_bar(int t) const { return std::sqrt(alpha_bar(t)); }
double NoiseSchedule::sqrt_one_minus_alpha_bar(int t) const { return std::sqrt(1.0 - alpha_bar(t)); }
double NoiseSchedule::snr(int t) const {
  const double ab = alpha_bar(t);
  return ab / (1.0 - ab);
}
double NoiseSchedule::log_snr(int t) const {
  const double ab = alpha_bar(t);
  return std::log(ab) - std::log1p(-ab);
}

ScheduleOptions LoadCustomSchedule(const std::string& path) {
  std::ifstream in(path);
  Require(in.good(), "cannot open schedule file '" + path + "'");
  ScheduleOptions options;
  options.kind = ScheduleKind::kCustomBeta;
  std::string line;
  int line_no = 0;
  bool first = true;
  while (std::getline(in, line)) {
    ++line_no;
    if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    line = line.substr(b, line.find_last_not_of(" \t\r") - b + 1);
    if (first) {
      first = false;
      if (line == "beta") continue;
      if (line == "alpha_bar") {
        options.kind = ScheduleKind::kCustomAlphaBar;
        continue;
      }
    }
    std::istringstream field(line);
    double value;
    std::string rest;
    if (!(field >> value) || (field >> rest))
      throw Error("schedule file '" + path + "', line " + std::to_string(line_no) + ": '" + line + "' is not a number");
    options.custom.push_back(value);
    Require(options.custom.size() <= 100000, "schedule file '" + path + "' has more than 100000 values");
  }
  Require(!options.custom.empty(), "schedule file '" + path + "' holds no values");
  options.num_steps = static_cast<int>(options.custom.size());
  if (std::string problem = options.Check(); !problem.empty()) throw Error("schedule file '" + path + "': " + problem);
  return options;
}

}  // namespace diffuscope

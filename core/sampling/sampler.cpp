#include "core/sampling/sampler.h"

#include "core/random/random.h"
#include "core/sampling/flow_sampler.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <sstream>

namespace diffuscope {
namespace {

template <typename E>
struct Named {
  E value;
  std::string_view name;
};
// New kinds are appended: run files and sessions name a sampler by these strings, so old names never change.
constexpr std::array<Named<SamplerKind>, 8> kSamplerNames = {{{SamplerKind::kDdpm, "ddpm"},
                                                              {SamplerKind::kDdim, "ddim"},
                                                              {SamplerKind::kOdeEuler, "ode-euler"},
                                                              {SamplerKind::kSdeEuler, "sde-euler"},
                                                              {SamplerKind::kHeunKarras, "heun-karras"},
                                                              {SamplerKind::kDpmSolverPP, "dpm-solver++"},
                                                              {SamplerKind::kFlowEuler, "flow-euler"},
                                                              {SamplerKind::kFlowHeun, "flow-heun"}}};
constexpr std::array<Named<Spacing>, 3> kSpacingNames = {
    {{Spacing::kLeading, "leading"}, {Spacing::kTrailing, "trailing"}, {Spacing::kLinspace, "linspace"}}};
constexpr std::array<Named<VarianceChoice>, 3> kVarianceNames = {{{VarianceChoice::kFixedSmall, "fixed-small"},
                                                                  {VarianceChoice::kFixedLarge, "fixed-large"},
                                                                  {VarianceChoice::kLearned, "learned"}}};

template <typename E, size_t N>
std::string_view NameOf(const std::array<Named<E>, N>& table, E value) {
  for (const auto& n : table)
    if (n.value == value) return n.name;
  return "unknown";
}
template <typename E, size_t N>
std::optional<E> Parse(const std::array<Named<E>, N>& table, std::string_view name) {
  for (const auto& n : table)
    if (n.name == name) return n.value;
  return std::nullopt;
}

}  // namespace

std::string_view SamplerKindName(SamplerKind kind) { return NameOf(kSamplerNames, kind); }
std::optional<SamplerKind> ParseSamplerKind(std::string_view name) { return Parse(kSamplerNames, name); }
std::vector<SamplerKind> AllSamplerKinds() {
  std::vector<SamplerKind> kinds;
  for (const auto& n : kSamplerNames) kinds.push_back(n.value);
  return kinds;
}

bool SamplerIsStochastic(SamplerKind kind, double eta) {
  return kind == SamplerKind::kDdpm || kind == SamplerKind::kSdeEuler || (kind == SamplerKind::kDdim && eta > 0.0);
}

namespace {
bool TwoEvaluationsPerStep(SamplerKind kind) {
  return kind == SamplerKind::kHeunKarras || kind == SamplerKind::kFlowHeun;
}
bool IsFlowKind(SamplerKind kind) { return kind == SamplerKind::kFlowEuler || kind == SamplerKind::kFlowHeun; }
}  // namespace

int SamplerNfe(SamplerKind kind, int steps) {
  if (steps <= 0) return 0;
  return TwoEvaluationsPerStep(kind) ? 2 * steps - 1 : steps;
}

int SamplerStepsForNfe(SamplerKind kind, int nfe) {
  return std::max(1, TwoEvaluationsPerStep(kind) ? (nfe + 1) / 2 : nfe);
}

std::string DescribeSamplerRun(SamplerKind kind, int steps) {
  std::string name(SamplerKindName(kind));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
  return name + " " + std::to_string(steps) + (steps == 1 ? " step" : " steps") + " (NFE " +
         std::to_string(SamplerNfe(kind, steps)) + ")";
}

std::string_view SpacingName(Spacing spacing) { return NameOf(kSpacingNames, spacing); }
std::optional<Spacing> ParseSpacing(std::string_view name) { return Parse(kSpacingNames, name); }
std::string_view VarianceChoiceName(VarianceChoice variance) { return NameOf(kVarianceNames, variance); }
std::optional<VarianceChoice> ParseVarianceChoice(std::string_view name) { return Parse(kVarianceNames, name); }

std::string SamplerOptions::Check() const {
  if (num_steps < 0)
    return "the number of sampling steps must be >= 0 (0 = every step), got " + std::to_string(num_steps);
  if (!(std::isfinite(eta) && eta >= 0.0)) return "eta must be a finite number >= 0";
  if (!(std::isfinite(clip_range) && clip_range > 0.0)) return "clip_range must be > 0";
  if (!(std::isfinite(threshold_percentile) && threshold_percentile > 0.0 && threshold_percentile <= 1.0))
    return "threshold_percentile must be in (0, 1]";
  if (!(std::isfinite(rho) && rho > 0.0)) return "rho (the Karras sigma steps' exponent) must be a finite number > 0";
  return {};
}

std::vector<int> SpacedTimesteps(int T, int K, Spacing spacing) {
  Require(T >= 1, "the schedule has no steps");
  Require(K >= 1 && K <= T,
          "the number of sampling steps must be in 1.." + std::to_string(T) + " (got " + std::to_string(K) + ")");
  std::vector<int> steps(K);
  switch (spacing) {
    case Spacing::kLeading: {
      const int ratio = T / K;
      for (int j = 0; j < K; ++j) steps[K - 1 - j] = j * ratio;
      break;
    }
    case Spacing::kTrailing: {
      const double ratio = static_cast<double>(T) / K;
      for (int j = 0; j < K; ++j) steps[j] = static_cast<int>(std::nearbyint(T - j * ratio)) - 1;
      break;
    }
    case Spacing::kLinspace:
      for (int j = 0; j < K; ++j) {
        const double v = K == 1 ? 0.0 : static_cast<double>(T - 1) * j / (K - 1);
        steps[K - 1 - j] = static_cast<int>(std::nearbyint(v));
      }
      break;
  }
  // nearbyint rounds half to even, as numpy's round does in the reference implementations.
  // Rounding can repeat a timestep when K is close to T; a step from t to t is no step.
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  return steps;
}

std::vector<double> KarrasSigmas(int n, double sigma_min, double sigma_max, double rho) {
  Require(n >= 1, "Karras sigma steps: need at least one step");
  Require(std::isfinite(sigma_min) && std::isfinite(sigma_max) && sigma_min > 0.0 && sigma_max >= sigma_min,
          "Karras sigma steps: need 0 < sigma_min <= sigma_max < infinity");
  Require(std::isfinite(rho) && rho > 0.0, "Karras sigma steps: rho must be > 0");
  std::vector<double> sigmas(n, sigma_max);
  const double hi = std::pow(sigma_max, 1.0 / rho), lo = std::pow(sigma_min, 1.0 / rho);
  for (int i = 1; i < n; ++i) sigmas[i] = std::pow(hi + static_cast<double>(i) / (n - 1) * (lo - hi), rho);
  if (n > 1) sigmas[n - 1] = sigma_min;  // exactly, not through pow
  return sigmas;
}

ScheduleOptions KarrasScheduleOptions(int T, double sigma_min, double sigma_max, double rho) {
  Require(T >= 2 && T <= 100000, "a Karras schedule needs T in 2..100000");
  Require(sigma_max > sigma_min, "a Karras schedule needs sigma_max > sigma_min");
  const std::vector<double> sigmas = KarrasSigmas(T, sigma_min, sigma_max, rho);
  ScheduleOptions o;
  o.kind = ScheduleKind::kCustomAlphaBar;
  o.num_steps = T;
  for (auto s = sigmas.rbegin(); s != sigmas.rend(); ++s) o.custom.push_back(1.0 / (1.0 + *s * *s));
  return o;
}

Batch InitialNoise(int n, int dim, uint64_t seed) {
  Require(n >= 1 && dim >= 1, "initial noise needs at least one sample of one dimension");
  Batch x(n, dim);
  FillNormalParallel({seed, Stream::kInitialNoise, 0}, 0, std::span<float>(x.data(), x.size()));
  return x;
}

void PredictionToX0Eps(const Prediction& p, const Batch& x_t, double a, double a_prev, double coef1, double coef2,
                       Batch* x0_hat, Batch* eps_hat) {
  Require(p.value.rows() == x_t.rows() && p.value.cols() == x_t.cols(), "the model's prediction has the wrong shape");
  const float sa = static_cast<float>(std::sqrt(a)), s1a = static_cast<float>(std::sqrt(1.0 - a));
  switch (p.kind) {
    case PredictionKind::kEps:
      Require(a > 0.0,
              "an eps-prediction model cannot predict x_0 where alpha_bar_t = 0 (zero terminal SNR); "
              "use a schedule without the rescale, or an x0 / v model");
      *eps_hat = p.value;
      *x0_hat = ((x_t.array() - s1a * p.value.array()) / sa).matrix();
      break;
    case PredictionKind::kX0:
      *x0_hat = p.value;
      *eps_hat = ((x_t.array() - sa * p.value.array()) / s1a).matrix();
      break;
    case PredictionKind::kV:
      *x0_hat = (sa * x_t.array() - s1a * p.value.array()).matrix();
      *eps_hat = (sa * p.value.array() + s1a * x_t.array()).matrix();
      break;
    case PredictionKind::kMean:
      // mean = coef1 x0 + coef2 x_t, inverted for display.
      Require(coef1 > 0.0, "cannot recover x0_hat from a mean prediction at this step");
      *x0_hat = ((p.value.array() - static_cast<float>(coef2) * x_t.array()) / static_cast<float>(coef1)).matrix();
      *eps_hat = ((x_t.array() - sa * x0_hat->array()) / s1a).matrix();
      break;
  }
  (void)a_prev;
}

void DynamicThreshold(Batch* x0, double percentile) {
  std::vector<float> magnitudes(x0->cols());
  for (Eigen::Index r = 0; r < x0->rows(); ++r) {
    for (Eigen::Index c = 0; c < x0->cols(); ++c) magnitudes[c] = std::abs((*x0)(r, c));
    const size_t k = std::min(magnitudes.size() - 1, static_cast<size_t>(percentile * (magnitudes.size() - 1) + 0.5));
    std::nth_element(magnitudes.begin(), magnitudes.begin() + k, magnitudes.end());
    const float s = std::max(1.0f, magnitudes[k]);
    x0->row(r) = x0->row(r).array().max(-s).min(s) / s;
  }
}

namespace {

// sigma of the variance-exploding form y = x / sqrt(abar) = x_0 + sigma eps.
double SigmaOf(double alpha_bar) { return std::sqrt((1.0 - alpha_bar) / alpha_bar); }

// The schedule timestep in 1..top whose log-SNR is nearest to that of alpha_bar (log-SNR decreases in t: bisection).
int NearestTimestep(const NoiseSchedule& schedule, int top, double alpha_bar) {
  const double lam = std::log(alpha_bar) - std::log1p(-alpha_bar);
  int lo = 1, hi = top;  // the first t with log_snr(t) <= lam, or top
  while (lo < hi) {
    const int mid = lo + (hi - lo) / 2;
    if (schedule.log_snr(mid) <= lam) hi = mid;
    else lo = mid + 1;
  }
  if (lo > 1 && std::abs(schedule.log_snr(lo - 1) - lam) <= std::abs(schedule.log_snr(lo) - lam)) return lo - 1;
  return lo;
}

// a x + b y, elementwise in float with double coefficients.
Batch Combine(double a, const Batch& x, double b, const Batch& y) {
  return (static_cast<float>(a) * x.array() + static_cast<float>(b) * y.array()).matrix();
}

}  // namespace

Sampler::Sampler(const NoiseSchedule& schedule, Denoiser& model, const SamplerOptions& options, Batch x_start,
                 const Batch* condition, int start_t)
    : schedule_(schedule), model_(model), options_(options), condition_(condition), x_(std::move(x_start)) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("sampler: " + problem);
  const int T = schedule.num_steps();
  Require(start_t >= 0 && start_t <= T, "the start timestep must be in 0.." + std::to_string(T));
  Require(x_.size() > 0 && x_.allFinite(), "the sampler's start x holds no values, NaN or infinity");
  if (model.dimension() > 0)
    Require(x_.cols() == model.dimension(), "the model takes " + std::to_string(model.dimension()) +
                                                " values per sample, the start x has " + std::to_string(x_.cols()));
  Require(start_t > 0 || options.num_steps <= T, "the number of sampling steps (" + std::to_string(options.num_steps) +
                                                     ") exceeds the schedule's T = " + std::to_string(T));
  // Started part-way (SDEdit), K steps are spread over 1..start_t; more than start_t are not possible.
  const int top = start_t > 0 ? start_t : T;
  const int K = options.num_steps == 0 ? top : std::min(options.num_steps, top);
  const SamplerKind kind = options.kind;
  const std::string name(SamplerKindName(kind));
  // Solvers in log(alpha_bar) or sigma start from a finite noise level; DDPM, DDIM and DPM-Solver++ step from
  // alpha_bar = 0 (zero terminal SNR) with an x0 or v model.
  if (kind == SamplerKind::kOdeEuler || kind == SamplerKind::kSdeEuler || kind == SamplerKind::kHeunKarras)
    Require(schedule.alpha_bar(top) > 0.0, name + " needs alpha_bar > 0 where it starts, but alpha_bar_" +
                                               std::to_string(top) +
                                               " = 0 (zero terminal SNR); use ddim, ddpm or dpm-solver++");
  if (kind == SamplerKind::kHeunKarras) {
    // Karras et al.'s steps between the schedule's own extremes, so the run starts at x_T's noise level and its
    // smallest nonzero sigma is the schedule's sigma_1.
    const std::vector<double> sigmas =
        KarrasSigmas(K, SigmaOf(schedule.alpha_bar(1)), SigmaOf(schedule.alpha_bar(top)), options.rho);
    std::vector<double> levels;
    for (int k = 0; k < K; ++k) levels.push_back(1.0 / (1.0 + sigmas[k] * sigmas[k]));
    levels.front() = schedule.alpha_bar(top);  // x_start's level
    if (K > 1) levels.back() = schedule.alpha_bar(1);
    ScheduleOptions level_options;
    level_options.kind = ScheduleKind::kCustomAlphaBar;
    level_options.num_steps = K;
    level_options.custom.assign(levels.rbegin(), levels.rend());  // t = 1..K: ascending noise
    UseLevels(std::move(level_options), top);
  } else if (IsFlowKind(kind)) {
    // K uniform steps of flow time from x_start's s down to 0, on FlowSampler's grid (FlowGridSchedule).
    const double s_top = FlowTimeOfAlphaBar(schedule.alpha_bar(top));
    UseLevels(FlowGridSchedule({.num_steps = K, .s_start = s_top}), top);
    for (int k = K; k >= 0; --k) flow_times_.push_back(s_top * k / K);  // FlowSampler::GridTime, to the bit
    flow_x_ = static_cast<float>(FlowScale(s_top)) * x_;
  } else {
    for (int i : SpacedTimesteps(top, K, options.spacing)) timesteps_.push_back(i + 1);
    for (int t : timesteps_) alpha_bars_.push_back(schedule.alpha_bar(t));
  }
  alpha_bars_.push_back(1.0);
}

void Sampler::UseLevels(ScheduleOptions levels, int top) {
  const int K = levels.num_steps;
  level_schedule_ = std::make_shared<const NoiseSchedule>(std::move(levels));
  // The levels as that schedule has them (it rebuilds alpha_bar from betas: last-digit differences), so that a
  // model reading (t, schedule) and one reading alpha_bar see the very same number.
  for (int k = 0; k < K; ++k) alpha_bars_.push_back(level_schedule_->alpha_bar(K - k));
  for (int k = 0; k < K; ++k) {
    const int t = k == 0 ? top : std::min(NearestTimestep(schedule_, top, alpha_bars_[k]), timesteps_.back() - 1);
    timesteps_.push_back(std::max(t, K - k));  // leaves room for the remaining steps
  }
}

std::vector<int> Sampler::timesteps() const { return timesteps_; }

DenoiseQuery Sampler::QueryAt(size_t level) const {
  if (level_schedule_) {  // t counts the Karras levels of level_schedule_, whose alpha_bar(t) is exactly the level
    const int t = static_cast<int>(timesteps_.size() - level);
    return {t, t - 1, alpha_bars_[level], level_schedule_.get(), condition_};
  }
  const int t = timesteps_[level];
  const int t_prev = level + 1 < timesteps_.size() ? timesteps_[level + 1] : 0;
  return {t, t_prev, alpha_bars_[level], &schedule_, condition_};
}

Prediction Sampler::Evaluate(const Batch& x, const DenoiseQuery& query, double coef1, double coef2, Batch* x0_hat,
                             Batch* eps_hat) {
  Prediction prediction = model_.Predict(x, query);
  ++nfe_;
  Require(prediction.value.allFinite(),
          "the model predicted NaN or infinite values at t = " + std::to_string(timesteps_[next_]));
  const double a = query.alpha_bar;
  PredictionToX0Eps(prediction, x, a, 0.0, coef1, coef2, x0_hat, eps_hat);
  const bool adjusted_x0 = options_.clip_x0 || options_.dynamic_threshold;
  if (options_.dynamic_threshold) DynamicThreshold(x0_hat, options_.threshold_percentile);
  if (options_.clip_x0) {
    const float c = static_cast<float>(options_.clip_range);
    *x0_hat = x0_hat->array().max(-c).min(c).matrix();
  }
  if (adjusted_x0)  // eps consistent with the x0 actually used (as diffusers does)
    *eps_hat =
        ((x.array() - static_cast<float>(std::sqrt(a)) * x0_hat->array()) / static_cast<float>(std::sqrt(1.0 - a)))
            .matrix();
  return prediction;
}

const Step& Sampler::Next() {
  Require(!done(), "the reverse run is already finished");
  const int t = timesteps_[next_];
  const int t_prev = next_ + 1 < timesteps_.size() ? timesteps_[next_ + 1] : 0;
  const double a = alpha_bars_[next_], a_prev = alpha_bars_[next_ + 1];
  const bool last = t_prev == 0;
  // The step t -> t_prev as one step of its own chain: beta' = 1 - abar_t / abar_prev (REFERENCE.md).
  const double beta = 1.0 - a / a_prev;
  const double posterior_variance = beta * (1.0 - a_prev) / (1.0 - a);
  const double coef1 = beta * std::sqrt(a_prev) / (1.0 - a);
  const double coef2 = (1.0 - a_prev) * std::sqrt(1.0 - beta) / (1.0 - a);
  const SamplerKind kind = options_.kind;
  const long long nfe_before = nfe_;

  Step& s = step_;
  s.index = static_cast<int>(next_);
  s.t = t;
  s.t_prev = t_prev;
  s.alpha_bar = a;
  s.alpha_bar_prev = a_prev;
  s.x_t = x_;
  s.variance = 0.0;
  s.variance_field.resize(0, 0);
  const Prediction prediction = Evaluate(x_, QueryAt(next_), coef1, coef2, &s.x0_hat, &s.eps_hat);
  const bool adjusted_x0 = options_.clip_x0 || options_.dynamic_threshold;
  if (prediction.kind == PredictionKind::kMean) {
    Require(kind == SamplerKind::kDdpm || kind == SamplerKind::kDdim,
            "a model that predicts the reverse mean (Sohl-Dickstein et al.) samples with ddpm only, not " +
                std::string(SamplerKindName(kind)));
    Require(t_prev == t - 1,
            "a model that predicts the reverse mean cannot be sampled with strided steps; use every step");
  }
  bool noisy = false;  // whether x_prev = mean + sqrt(variance) z

  switch (kind) {
    case SamplerKind::kDdim: {
      const double sigma2 = options_.eta * options_.eta * (1.0 - a_prev) / (1.0 - a) * (1.0 - a / a_prev);
      const double dir = std::sqrt(std::max(0.0, 1.0 - a_prev - sigma2));
      s.mean = Combine(std::sqrt(a_prev), s.x0_hat, dir, s.eps_hat);
      s.variance = sigma2;
      noisy = true;
      break;
    }
    case SamplerKind::kDdpm: {
      if (prediction.kind == PredictionKind::kMean && !adjusted_x0) s.mean = prediction.value;
      else s.mean = Combine(coef1, s.x0_hat, coef2, x_);
      // A model of the whole reverse kernel (Sohl-Dickstein et al.: mean and variance) is sampled with its own
      // variance; the fixed choices are DDPM's for models that predict only the mean's ingredients.
      const VarianceChoice variance =
          prediction.kind == PredictionKind::kMean && prediction.variance_kind != VarianceKind::kNone
              ? VarianceChoice::kLearned
              : options_.variance;
      switch (variance) {
        case VarianceChoice::kFixedSmall: s.variance = posterior_variance; break;
        case VarianceChoice::kFixedLarge: s.variance = beta; break;
        case VarianceChoice::kLearned: {
          Require(prediction.variance_kind != VarianceKind::kNone,
                  "the 'learned' variance needs a model that predicts its variance; this one does not");
          if (prediction.variance_kind == VarianceKind::kLearnedLog) {
            s.variance_field = prediction.variance.array().exp().matrix();
          } else {
            // improved DDPM: log sigma^2 = f log beta + (1 - f) log beta~ (beta~ clipped away from 0 at t = 1).
            const double log_small =
                std::log(t_prev == 0 && t > 1 ? schedule_.posterior_variance(2) : std::max(posterior_variance, 1e-20));
            const double log_large = std::log(beta);
            s.variance_field = (((prediction.variance.array() + 1.0f) * 0.5f) * static_cast<float>(log_large) +
                                ((1.0f - prediction.variance.array()) * 0.5f) * static_cast<float>(log_small))
                                   .exp()
                                   .matrix();
          }
          s.variance = s.variance_field.mean();
          break;
        }
      }
      noisy = true;
      break;
    }
    case SamplerKind::kOdeEuler:
    case SamplerKind::kSdeEuler: {
      // The VP SDE dx = -1/2 beta x dt + sqrt(beta) dw in the clock l = log(alpha_bar), where beta dt = -dl exactly
      // on a discrete schedule. Reverse step over dl = log(abar_prev / abar_t) > 0, with score = -eps / sqrt(1 - abar):
      //   ODE: x_prev = x + dl/2 (x + score);   SDE (Euler-Maruyama): x_prev = x + dl (x/2 + score) + sqrt(dl) z.
      // The last step, to the data, is the denoising step x_0 = x0_hat, as Song et al. end their samplers (and as
      // every other sampler here ends): in this clock the ODE is singular at alpha_bar = 1 for data on a point or
      // a manifold (score ~ 1 / (1 - abar)), where an Euler step would go only half way.
      if (last) {
        s.mean = s.x0_hat;
        break;
      }
      const double dl = std::log(a_prev) - std::log(a);
      const double to_score = -1.0 / std::sqrt(1.0 - a);
      const double score_weight = kind == SamplerKind::kOdeEuler ? 0.5 * dl : dl;
      s.mean = Combine(1.0 + 0.5 * dl, x_, score_weight * to_score, s.eps_hat);
      if (kind == SamplerKind::kSdeEuler) {
        s.variance = dl;
        noisy = true;
      }
      break;
    }
    case SamplerKind::kHeunKarras: {
      // EDM Algorithm 1 in y = x / sqrt(abar): dy/dsigma = (y - D(y; sigma)) / sigma = eps_hat. Written in x:
      //   x_prev = sqrt(abar_prev / abar) x + sqrt(abar_prev) (sigma_prev - sigma) d,
      // d = eps_hat (Euler, the last step to sigma = 0) or the mean of eps_hat here and at the Euler point (Heun).
      const double sigma = SigmaOf(a), sigma_prev = last ? 0.0 : SigmaOf(a_prev);
      const double ratio = std::sqrt(a_prev / a), along = std::sqrt(a_prev) * (sigma_prev - sigma);
      Batch x_euler = Combine(ratio, x_, along, s.eps_hat);
      if (last) {
        s.mean = std::move(x_euler);
      } else {
        Batch x0_euler, eps_euler;
        Evaluate(x_euler, QueryAt(next_ + 1), 0.0, 0.0, &x0_euler, &eps_euler);
        s.mean = Combine(ratio, x_, 0.5 * along, (s.eps_hat + eps_euler).eval());
      }
      break;
    }
    case SamplerKind::kFlowEuler:
    case SamplerKind::kFlowHeun: StepFlow(s); break;
    case SamplerKind::kDpmSolverPP: {
      // Lu et al. 2022, in alpha = sqrt(abar), sigma = sqrt(1 - abar), lambda = log(alpha / sigma), h = lambda_prev -
      // lambda: x_prev = (sigma_prev / sigma) x - alpha_prev (e^-h - 1) D, with D = x0_hat on the first and the last
      // step (h is infinite at sigma_prev = 0) and else D = (1 + 1/(2r)) x0_hat - 1/(2r) x0_hat_before, with
      // r = h_before / h.
      const double alpha = std::sqrt(a), sigma = std::sqrt(1.0 - a);
      const double alpha_prev = std::sqrt(a_prev), sigma_prev = std::sqrt(1.0 - a_prev);
      const double h = (std::log(alpha_prev) - std::log(sigma_prev)) - (std::log(alpha) - std::log(sigma));
      const double phi = std::expm1(-h);  // -1 when h is infinite (the last step, or a start at alpha_bar = 0)
      Batch d = s.x0_hat;
      if (previous_x0_.size() > 0 && !last) {
        const double half_inv_r = 0.5 * h / previous_h_;  // 0 after a start at lambda = -infinity
        d = Combine(1.0 + half_inv_r, s.x0_hat, -half_inv_r, previous_x0_);
      }
      s.mean = Combine(sigma_prev / sigma, x_, -alpha_prev * phi, d);
      previous_x0_ = s.x0_hat;
      previous_h_ = h;
      break;
    }
  }
  if (last || !noisy) {
    s.x_prev = s.mean;  // no noise on the last step
  } else {
    Batch z(x_.rows(), x_.cols());
    FillNormalParallel({options_.seed, Stream::kReverseNoise, static_cast<uint64_t>(t)}, 0,
                       std::span<float>(z.data(), z.size()));
    if (s.variance_field.size() > 0) s.x_prev = (s.mean.array() + s.variance_field.array().sqrt() * z.array()).matrix();
    else s.x_prev = (s.mean.array() + static_cast<float>(std::sqrt(s.variance)) * z.array()).matrix();
  }
  Require(s.x_prev.allFinite(), std::string(SamplerKindName(kind)) + " stepped to NaN or infinite values at t = " +
                                    std::to_string(t) + " (too few steps for this model?)");
  s.nfe = static_cast<int>(nfe_ - nfe_before);
  x_ = s.x_prev;
  ++next_;
  return s;
}

void Sampler::StepFlow(Step& s) {
  // FlowSampler::Next's arithmetic on flow_x_ (so that a run on a flow model's own schedule is its run, bit for
  // bit), the model asked at the VP image of each flow state.
  const double s_now = flow_times_[next_], s_next = flow_times_[next_ + 1];
  const float ds = static_cast<float>(s_next - s_now);
  Batch velocity = s.eps_hat - s.x0_hat;  // d/ds ((1 - s) x_0 + s eps)
  if (options_.kind == SamplerKind::kFlowHeun && next_ + 1 < timesteps_.size()) {
    // Heun: the trapezoid of the slopes at both ends (the end's from the Euler guess); the last step is Euler.
    const Batch guess = flow_x_ + ds * velocity;
    Batch x0_next, eps_next;
    Evaluate(guess / static_cast<float>(FlowScale(s_next)), QueryAt(next_ + 1), 0.0, 0.0, &x0_next, &eps_next);
    const Batch v_next = eps_next - x0_next;
    velocity = 0.5f * (velocity + v_next);
  }
  flow_x_ = flow_x_ + ds * velocity;
  s.mean = flow_x_ / static_cast<float>(FlowScale(s_next));  // FlowScale(0) = 1: the last step's x is flow_x_
}

Batch Sample(const NoiseSchedule& schedule, Denoiser& model, const SamplerOptions& options, Batch x_start,
             const std::function<void(const Step&)>& observer, const StopFn& stop, const Batch* condition,
             int start_t) {
  Sampler sampler(schedule, model, options, std::move(x_start), condition, start_t);
  while (!sampler.done()) {
    if (stop && stop()) throw Cancelled();
    const Step& step = sampler.Next();
    if (observer) observer(step);
  }
  return sampler.x();
}

}  // namespace diffuscope

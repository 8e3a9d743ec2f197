#include "core/sampling/sampler.h"

#include "core/random/random.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>

namespace diffuscope {
namespace {

template <typename E>
struct Named {
  E value;
  std::string_view name;
};
constexpr std::array<Named<SamplerKind>, 2> kSamplerNames = {{{SamplerKind::kDdpm, "ddpm"}, {SamplerKind::kDdim, "ddim"}}};
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
std::string_view SpacingName(Spacing spacing) { return NameOf(kSpacingNames, spacing); }
std::optional<Spacing> ParseSpacing(std::string_view name) { return Parse(kSpacingNames, name); }
std::string_view VarianceChoiceName(VarianceChoice variance) { return NameOf(kVarianceNames, variance); }
std::optional<VarianceChoice> ParseVarianceChoice(std::string_view name) { return Parse(kVarianceNames, name); }

std::string SamplerOptions::Check() const {
  if (num_steps < 0) return "the number of sampling steps must be >= 0 (0 = every step), got " + std::to_string(num_steps);
  if (!(std::isfinite(eta) && eta >= 0.0)) return "eta must be a finite number >= 0";
  if (!(std::isfinite(clip_range) && clip_range > 0.0)) return "clip_range must be > 0";
  if (!(std::isfinite(threshold_percentile) && threshold_percentile > 0.0 && threshold_percentile <= 1.0))
    return "threshold_percentile must be in (0, 1]";
  return {};
}

std::vector<int> SpacedTimesteps(int T, int K, Spacing spacing) {
  Require(T >= 1, "the schedule has no steps");
  Require(K >= 1 && K <= T, "the number of sampling steps must be in 1.." + std::to_string(T) + " (got " +
                                std::to_string(K) + ")");
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
      Require(a > 0.0, "an eps-prediction model cannot predict x_0 where alpha_bar_t = 0 (zero terminal SNR); "
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
  Require(start_t > 0 || options.num_steps <= T,
          "the number of sampling steps (" + std::to_string(options.num_steps) + ") exceeds the schedule's T = " +
              std::to_string(T));
  // Started part-way (SDEdit), K steps are spread over 1..start_t; more than start_t are not possible.
  const int top = start_t > 0 ? start_t : T;
  const int K = options.num_steps == 0 ? top : std::min(options.num_steps, top);
  for (int i : SpacedTimesteps(top, K, options.spacing)) timesteps_.push_back(i + 1);
}

std::vector<int> Sampler::timesteps() const { return timesteps_; }

const Step& Sampler::Next() {
  Require(!done(), "the reverse run is already finished");
  const int t = timesteps_[next_];
  const int t_prev = next_ + 1 < timesteps_.size() ? timesteps_[next_ + 1] : 0;
  const double a = schedule_.alpha_bar(t), a_prev = schedule_.alpha_bar(t_prev);
  // The step t -> t_prev as one step of its own chain: beta' = 1 - abar_t / abar_prev (REFERENCE.md).
  const double beta = 1.0 - a / a_prev;
  const double posterior_variance = beta * (1.0 - a_prev) / (1.0 - a);
  const double coef1 = beta * std::sqrt(a_prev) / (1.0 - a);
  const double coef2 = (1.0 - a_prev) * std::sqrt(1.0 - beta) / (1.0 - a);

  DenoiseQuery query{t, t_prev, a, &schedule_, condition_};
  Prediction prediction = model_.Predict(x_, query);
  Require(prediction.value.allFinite(), "the model predicted NaN or infinite values at t = " + std::to_string(t));
  Require(prediction.kind != PredictionKind::kMean || t_prev == t - 1,
          "a model that predicts the reverse mean cannot be sampled with strided steps; use every step");

  Step& s = step_;
  s.index = static_cast<int>(next_);
  s.t = t;
  s.t_prev = t_prev;
  s.alpha_bar = a;
  s.alpha_bar_prev = a_prev;
  s.x_t = x_;
  PredictionToX0Eps(prediction, x_, a, a_prev, coef1, coef2, &s.x0_hat, &s.eps_hat);
  const bool adjusted_x0 = options_.clip_x0 || options_.dynamic_threshold;
  if (options_.dynamic_threshold) DynamicThreshold(&s.x0_hat, options_.threshold_percentile);
  if (options_.clip_x0) {
    const float c = static_cast<float>(options_.clip_range);
    s.x0_hat = s.x0_hat.array().max(-c).min(c).matrix();
  }
  if (adjusted_x0)  // eps consistent with the x0 actually used (as diffusers does)
    s.eps_hat = ((x_.array() - static_cast<float>(std::sqrt(a)) * s.x0_hat.array()) /
                 static_cast<float>(std::sqrt(1.0 - a))).matrix();

  s.variance_field.resize(0, 0);
  if (options_.kind == SamplerKind::kDdim) {
    const double sigma2 = options_.eta * options_.eta * (1.0 - a_prev) / (1.0 - a) * (1.0 - a / a_prev);
    const double dir = std::sqrt(std::max(0.0, 1.0 - a_prev - sigma2));
    s.mean = (static_cast<float>(std::sqrt(a_prev)) * s.x0_hat.array() + static_cast<float>(dir) * s.eps_hat.array())
                 .matrix();
    s.variance = sigma2;
  } else {
    if (prediction.kind == PredictionKind::kMean && !adjusted_x0)
      s.mean = prediction.value;
    else
      s.mean = (static_cast<float>(coef1) * s.x0_hat.array() + static_cast<float>(coef2) * x_.array()).matrix();
    // A model of the whole reverse kernel (Sohl-Dickstein et al.: mean and variance) is sampled with its own
    // variance; the fixed choices are DDPM's for models that predict only the mean's ingredients.
    const VarianceChoice variance = prediction.kind == PredictionKind::kMean && prediction.variance_kind != VarianceKind::kNone
                                        ? VarianceChoice::kLearned
                                        : options_.variance;
    switch (variance) {
      case VarianceChoice::kFixedSmall:
        s.variance = posterior_variance;
        break;
      case VarianceChoice::kFixedLarge:
        s.variance = beta;
        break;
      case VarianceChoice::kLearned: {
        Require(prediction.variance_kind != VarianceKind::kNone,
                "the 'learned' variance needs a model that predicts its variance; this one does not");
        if (prediction.variance_kind == VarianceKind::kLearnedLog) {
          s.variance_field = prediction.variance.array().exp().matrix();
        } else {
          // improved DDPM: log sigma^2 = f log beta + (1 - f) log beta~ (beta~ clipped away from 0 at t = 1).
          const double log_small = std::log(t_prev == 0 && t > 1 ? schedule_.posterior_variance(2)
                                                                 : std::max(posterior_variance, 1e-20));
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
  }
  if (t_prev == 0) {
    s.x_prev = s.mean;  // no noise on the last step
  } else {
    Batch z(x_.rows(), x_.cols());
    FillNormalParallel({options_.seed, Stream::kReverseNoise, static_cast<uint64_t>(t)}, 0,
                       std::span<float>(z.data(), z.size()));
    if (s.variance_field.size() > 0)
      s.x_prev = (s.mean.array() + s.variance_field.array().sqrt() * z.array()).matrix();
    else
      s.x_prev = (s.mean.array() + static_cast<float>(std::sqrt(s.variance)) * z.array()).matrix();
  }
  x_ = s.x_prev;
  ++next_;
  return s;
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

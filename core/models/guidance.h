// Class-conditional models and classifier-free guidance (Ho and Salimans 2022). A conditional model answers for a
// class label c or for the null label (the unconditional model it also learned through label dropout); the guided
// model is eps_guided = (1 + w) eps(x_t, c) - w eps(x_t, null), guidance weight w in [0, 10]: w = 0 is the plain
// conditional model, larger w sharpens the class and then distorts it. For the Gaussian mixture the exact
// conditional is the component's own Gaussian posterior and the exact unconditional the mixture, so the exact
// guided field stands beside the learned one.
//
//   diffuscope::GaussianMixtureClasses exact(diffuscope::GaussianMixture::EightGaussians(std::sqrt(2.0), 0.1));
//   diffuscope::ClassifierFreeGuidance guided(exact, {.label = 3, .weight = 2.0});   // a Denoiser like any other
//   diffuscope::Batch x0 = diffuscope::Sample(schedule, guided, {}, diffuscope::InitialNoise(500, 2, 1));
#pragma once

#include "core/common/types.h"
#include "core/models/denoiser.h"
#include "core/models/exact.h"

#include <memory>
#include <string>
#include <vector>

namespace diffuscope {

/// The null label: the unconditional model of a label-dropout trained one.
inline constexpr int kNullLabel = -1;
/// The largest guidance weight offered.
inline constexpr double kMaxGuidanceWeight = 10.0;

/// A model of p(x_0 | c) for class labels c = 0..num_classes() - 1, and of p(x_0) for kNullLabel. Mixed into a
/// Denoiser (whose Predict is then the unconditional answer).
class ClassConditional {
 public:
  virtual ~ClassConditional() = default;
  virtual int num_classes() const = 0;
  /// The prediction for class label (0..num_classes() - 1, or kNullLabel); throws Error on another label.
  virtual Prediction PredictClass(const Batch& x_t, const DenoiseQuery& query, int label) = 0;
};

/// The class-conditional face of a denoiser, or null when it has none.
ClassConditional* AsClassConditional(Denoiser& model);

struct GuidanceOptions {
  int label = 0;        // the class guided towards, 0..classes - 1
  double weight = 0.0;  // w in [0, kMaxGuidanceWeight]: 0 = the conditional model itself

  /// Empty when valid, else what is wrong, naming the option.
  std::string Check() const;
  bool operator==(const GuidanceOptions&) const = default;
};

/// Classifier-free guidance of a class-conditional Denoiser. eps, x0 and v are affine in one another at a fixed
/// x_t with weights that sum to one, so (1 + w) p_c - w p_null of the model's own prediction kind is exactly the
/// guided eps's counterpart; the model is asked once (w = 0) or twice per call.
class ClassifierFreeGuidance : public Denoiser {
 public:
  /// Guides model (which must be ClassConditional; Error otherwise, or on bad options / a label out of range).
  ClassifierFreeGuidance(std::unique_ptr<Denoiser> model, const GuidanceOptions& options);
  /// The same, not owning model (it must outlive this).
  ClassifierFreeGuidance(Denoiser& model, const GuidanceOptions& options);

  std::string name() const override;
  Prediction Predict(const Batch& x_t, const DenoiseQuery& query) override;
  int dimension() const override { return model_->dimension(); }
  const GuidanceOptions& options() const { return options_; }
  Denoiser& model() { return *model_; }

 private:
  std::unique_ptr<Denoiser> owned_;
  Denoiser* model_;
  ClassConditional* conditional_;
  GuidanceOptions options_;
};

/// The exact class-conditional model of a Gaussian mixture: class k is component k (its Gaussian's posterior mean
/// E[x_0 | x_t, k] in closed form), the null label the whole mixture. Predicts x_0 (kX0).
class GaussianMixtureClasses : public Denoiser, public ClassConditional {
 public:
  explicit GaussianMixtureClasses(GaussianMixture mixture);
  std::string name() const override { return "exact Gaussian mixture (classes)"; }
  Prediction Predict(const Batch& x_t, const DenoiseQuery& query) override;  // the mixture: kNullLabel
  int dimension() const override { return mixture_.dimension(); }
  int num_classes() const override { return static_cast<int>(components_.size()); }
  Prediction PredictClass(const Batch& x_t, const DenoiseQuery& query, int label) override;
  const GaussianMixture& mixture() const { return mixture_.mixture(); }

 private:
  GaussianMixtureDenoiser mixture_;
  std::vector<GaussianMixtureDenoiser> components_;
};

}  // namespace diffuscope

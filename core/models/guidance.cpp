#include "core/models/guidance.h"

#include <cmath>
#include <sstream>

namespace diffuscope {

ClassConditional* AsClassConditional(Denoiser& model) { return dynamic_cast<ClassConditional*>(&model); }

std::string GuidanceOptions::Check() const {
  if (label < 0) return "the guided label must be a class 0, 1, ... (got " + std::to_string(label) + ")";
  if (!(std::isfinite(weight) && weight >= 0.0 && weight <= kMaxGuidanceWeight)) {
    std::ostringstream w;
    w << weight;
    return "the guidance weight must be in [0, 10] (got " + w.str() + ")";
  }
  return {};
}

ClassifierFreeGuidance::ClassifierFreeGuidance(std::unique_ptr<Denoiser> model, const GuidanceOptions& options)
    : ClassifierFreeGuidance(*model, options) {
  owned_ = std::move(model);
}

ClassifierFreeGuidance::ClassifierFreeGuidance(Denoiser& model, const GuidanceOptions& options)
    : model_(&model), conditional_(AsClassConditional(model)), options_(options) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("guidance: " + problem);
  Require(conditional_ != nullptr,
          "guidance: " + model.name() + " is not class-conditional (train a conditional model, or use the mixture)");
  Require(options.label < conditional_->num_classes(),
          "guidance: the label " + std::to_string(options.label) + " is not one of the model's " +
              std::to_string(conditional_->num_classes()) + " classes (0.." +
              std::to_string(conditional_->num_classes() - 1) + ")");
}

std::string ClassifierFreeGuidance::name() const {
  std::ostringstream out;
  out << model_->name() << ", class " << options_.label << ", guidance w = " << options_.weight;
  return out.str();
}

Prediction ClassifierFreeGuidance::Predict(const Batch& x_t, const DenoiseQuery& query) {
  Prediction conditional = conditional_->PredictClass(x_t, query, options_.label);
  if (options_.weight == 0.0) return conditional;
  const Prediction unconditional = conditional_->PredictClass(x_t, query, kNullLabel);
  Require(unconditional.kind == conditional.kind && unconditional.value.rows() == conditional.value.rows() &&
              unconditional.value.cols() == conditional.value.cols(),
          "guidance: the model's conditional and unconditional predictions differ in kind or shape");
  const float w = static_cast<float>(options_.weight);
  conditional.value = (1.0f + w) * conditional.value - w * unconditional.value;
  return conditional;  // a learned variance, if any, stays the conditional one's
}

namespace {
std::vector<GaussianMixtureDenoiser> Components(const GaussianMixture& mixture) {
  if (std::string problem = mixture.Check(); !problem.empty()) throw Error("Gaussian mixture: " + problem);
  std::vector<GaussianMixtureDenoiser> out;
  for (size_t k = 0; k < mixture.weights.size(); ++k)
    out.emplace_back(GaussianMixture{{1.0}, {mixture.means[k]}, {mixture.covariances[k]}});
  return out;
}
}  // namespace

GaussianMixtureClasses::GaussianMixtureClasses(GaussianMixture mixture)
    : mixture_(mixture), components_(Components(mixture)) {}

Prediction GaussianMixtureClasses::Predict(const Batch& x_t, const DenoiseQuery& query) {
  return mixture_.Predict(x_t, query);
}

Prediction GaussianMixtureClasses::PredictClass(const Batch& x_t, const DenoiseQuery& query, int label) {
  if (label == kNullLabel) return mixture_.Predict(x_t, query);
  Require(label >= 0 && label < num_classes(), "the mixture has classes 0.." + std::to_string(num_classes() - 1) +
                                                   "; label " + std::to_string(label) + " is not one");
  return components_[label].Predict(x_t, query);
}

}  // namespace diffuscope

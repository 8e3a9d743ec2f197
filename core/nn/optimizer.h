// The update rules of training, over flat parameter arrays: AdamW with decoupled weight decay and bias
// correction (Loshchilov & Hutter; the same arithmetic as PyTorch's torch.optim.AdamW), global gradient-norm
// clipping (torch.nn.utils.clip_grad_norm_), an exponential moving average of the weights, and the
// learning-rate schedule (linear warm-up, optional cosine decay).
//
//   double norm = diffuscope::ClipGradientNorm(grads, 1.0);
//   diffuscope::AdamWStep(weights, grads, m, v, step, {.learning_rate = 1e-3});
//   diffuscope::EmaUpdate(ema, weights, diffuscope::EmaDecayAt(step, 0.999));
#pragma once

#include <span>

namespace diffuscope {

struct AdamWHyper {
  double learning_rate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  double weight_decay = 0.01;  // decoupled: w <- w (1 - lr wd) before the Adam step
};

/// One AdamW update of weights given grads; m and v are the first and second moments (zero before step 1);
/// step counts updates from 1 (it sets the bias corrections 1 - beta^step). All spans have the same size.
void AdamWStep(std::span<float> weights, std::span<const float> grads, std::span<float> m, std::span<float> v,
               long long step, const AdamWHyper& hyper);

/// The L2 norm of all of grads (accumulated in double).
double GradientNorm(std::span<const float> grads);

/// Scales grads by max_norm / (norm + 1e-6) when their L2 norm exceeds max_norm (max_norm <= 0: never), as
/// PyTorch's clip_grad_norm_. Returns the norm before clipping (NaN or infinity when the gradients are).
double ClipGradientNorm(std::span<float> grads, double max_norm);

/// ema <- decay ema + (1 - decay) weights.
void EmaUpdate(std::span<float> ema, std::span<const float> weights, double decay);

/// The EMA decay used after `step` updates (1-based): min(decay, (1 + step) / (10 + step)), so early averages
/// are not dominated by the random initial weights.
double EmaDecayAt(long long step, double decay);

/// The learning rate of update `step` (1-based) of `total`: linear warm-up from lr / warmup to lr over `warmup`
/// updates, then constant, or with cosine decay from lr to min_lr at step total.
double LearningRateAt(long long step, long long total, double lr, long long warmup, bool cosine_decay, double min_lr);

}  // namespace diffuscope

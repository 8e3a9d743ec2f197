// The training loop shared by every learned model: AdamW with warm-up (and optional cosine decay), gradient
// clipping, an EMA of the weights, progress reports, a stop check, and checkpoints that resume to the very same
// bytes (every random draw of iteration i is keyed by (seed, Stream::kTraining, i), so the step counter is the
// whole random state).
//
//   diffuscope::TrainOptions options;                 // tiny-diffusion's recipe: AdamW 1e-3, batch 32, clip 1
//   diffuscope::TrainState state;                     // empty: a fresh run from net's current weights
//   diffuscope::RunTraining(net, state, options,
//       [&](long long iteration, diffuscope::Network<float>& n) { /* forward, backward */ return loss; },
//       {.progress = [](const diffuscope::TrainProgress& p) { /* p.step, p.loss_ema, p.steps_per_second */ }});
#pragma once

#include "core/common/types.h"
#include "core/nn/network.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace diffuscope {

struct TrainOptions {
  long long iterations = 50000;  // total updates of a run (a resumed run continues up to this count)
  int batch_size = 32;           // samples per update
  double learning_rate = 1e-3;   // peak AdamW learning rate
  double weight_decay = 0.01;    // AdamW's decoupled weight decay (PyTorch's default)
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_epsilon = 1e-8;
  long long warmup_steps = 0;  // linear learning-rate warm-up over the first updates (0 = none)
  bool cosine_decay = false;   // after warm-up, decay the learning rate to min_learning_rate along a cosine
  double min_learning_rate = 0.0;
  double grad_clip_norm = 1.0;     // clip the global gradient L2 norm to this (0 = no clipping)
  double ema_decay = 0.999;        // EMA of the weights used for sampling (0 = sample with the raw weights)
  uint64_t seed = 0;               // initial weights, minibatches, timesteps and noise
  long long checkpoint_every = 0;  // updates between checkpoints (0 = only when stopped)
  long long report_every = 100;    // updates between progress reports

  /// Empty when valid, else what is wrong, naming the option.
  std::string Check() const;
  bool operator==(const TrainOptions&) const = default;
};

/// Everything that a resumed run needs besides the options: with it, training continues bit for bit.
struct TrainState {
  long long step = 0;                 // updates done
  std::vector<float> weights;         // the optimised weights (raw, not averaged)
  std::vector<float> adam_m, adam_v;  // AdamW's moments
  std::vector<float> ema;             // EMA of the weights (empty when ema_decay == 0)
  double loss_ema = 0.0;              // running average of the loss (0.98 per update, before bias correction)

  /// True before the first update of a run (no moments yet).
  bool empty() const { return adam_m.empty(); }
  bool operator==(const TrainState&) const = default;
};

/// A progress report of a running training.
struct TrainProgress {
  long long step = 0;             // updates done
  long long total = 0;            // options.iterations
  double loss = 0.0;              // loss of the last update
  double loss_ema = 0.0;          // smoothed loss (bias corrected)
  double steps_per_second = 0.0;  // since the previous report
  double learning_rate = 0.0;     // of the last update
  double grad_norm = 0.0;         // global gradient norm of the last update, before clipping
  double seconds = 0.0;           // wall time of this call so far
};

using TrainProgressFn = std::function<void(const TrainProgress&)>;
/// One update's work: draw the minibatch of `iteration` (0-based), run net.Forward and net.Backward (which fill
/// net.gradients()), and return the loss.
using LossGradientFn = std::function<double(long long iteration, Network<float>& net)>;

/// One update's work for a network held elsewhere (the U-Net): fill its gradients and return the loss.
using StepLossGradientFn = std::function<double(long long iteration)>;

struct TrainCallbacks {
  TrainProgressFn progress;                           // every options.report_every updates and at the end
  StopFn stop;                                        // asked after every update
  std::function<void(const TrainState&)> checkpoint;  // every options.checkpoint_every updates and when stopped
};

/// What a finished run did.
struct TrainReport {
  long long steps = 0;            // updates done in this call
  double final_loss_ema = 0.0;    // smoothed loss at the end (bias corrected)
  double seconds = 0.0;           // wall time of this call
  double steps_per_second = 0.0;  // steps / seconds
};

/// Trains net until state.step == options.iterations. A fresh state (empty()) starts from net's current weights;
/// a non-empty one must match net's size and continues from it (its weights replace net's). On return (and
/// before a checkpoint callback) state.weights holds the optimised weights and net.parameters() too. Throws
/// Error on bad options or when the loss or gradients stop being finite (naming the update), and Cancelled when
/// stop() says so, after a last checkpoint: state is then consistent at the last finished update.
TrainReport RunTraining(Network<float>& net, TrainState& state, const TrainOptions& options,
                        const LossGradientFn& loss_gradient, const TrainCallbacks& callbacks = {});

/// The same loop over any flat parameter vector and its gradient (filled by loss_gradient), e.g. a UNet's.
TrainReport RunTraining(std::vector<float>& parameters, std::vector<float>& gradients, TrainState& state,
                        const TrainOptions& options, const StepLossGradientFn& loss_gradient,
                        const TrainCallbacks& callbacks = {});

/// The weights to sample with after training: the EMA when there is one, else the raw weights.
const std::vector<float>& SamplingWeights(const TrainState& state);

}  // namespace diffuscope

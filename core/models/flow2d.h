// Flow matching / rectified flow on 2D points (Lipman et al. 2023; Liu et al. 2023) with the 2D DDPM's network
// (tiny-diffusion's MLP): it predicts the velocity v = eps - x_0 of the straight path x_s = (1 - s) x_0 + s eps,
// s in [0, 1], trained with the MSE on v at s ~ U(0, 1).
//
// The straight path is a Gaussian path (alpha = 1 - s, sigma = s): after rescaling, x_vp = x_s / sqrt(alpha^2 +
// sigma^2) is the variance-preserving x_t with alpha_bar = alpha^2 / (alpha^2 + sigma^2). So the model is also a
// Denoiser: a VP query at alpha_bar maps to s, rescales x_t and answers x0_hat = x_s - s v, and every sampler (DDPM,
// DDIM) and the whole pipeline (GUI, export) run it. Its own schedule (FlowVpSchedule) is the VP image of uniform s
// steps, on which DDIM (eta = 0) is exactly Euler in flow time; core/sampling/flow_sampler.h has Euler and Heun.
//
//   diffuscope::Flow2dModel flow;                                        // untrained, the DDPM 2D's architecture
//   diffuscope::TrainFlow2d(flow, points, train_options);                // points: n x 2
//   diffuscope::Batch x0 = diffuscope::FlowSample(flow, {.solver = diffuscope::FlowSolver::kHeun, .num_steps = 10},
//                                                 diffuscope::InitialNoise(1000, 2, 7));
#pragma once

#include "core/common/types.h"
#include "core/models/learned_model.h"
#include "core/nn/network.h"
#include "core/sampling/flow_sampler.h"
#include "core/schedule/schedule.h"
#include "core/train/trainer.h"

#include <filesystem>
#include <functional>
#include <string>

namespace diffuscope {

/// The model_type of flow-matching 2D model files.
inline constexpr const char* kFlow2dModelType = "flow-2d";
/// The network sees the flow time as kFlowTimeInput * s: the 2D DDPM's timestep range 0..49, so the same network
/// gets inputs of the same range.
inline constexpr double kFlowTimeInput = 49.0;

// FlowAlphaBar, FlowTimeOfAlphaBar and FlowScale, the map between flow time and the VP path, live with the flow
// sampler (core/sampling/flow_sampler.h), which the Sampler's flow kinds share.
/// The VP image of T uniform flow steps: custom alpha_bar_t = FlowAlphaBar(t / T), t = 1..T (alpha_bar_T = 0).
ScheduleOptions FlowVpSchedule(int num_steps = 50);

/// A velocity field of the straight path: v(x_s, s) for every row of x_s.
using VelocityFn = std::function<void(const Batch& x_s, double s, Batch* velocity)>;
/// The answer to a VP query at alpha_bar of a velocity field: s = FlowTimeOfAlphaBar(alpha_bar), x_s = FlowScale(s)
/// x_t, x0_hat = x_s - s v(x_s, s) (kX0). What Flow2dModel::Predict answers with its network's velocity.
Prediction VelocityToVpPrediction(const Batch& x_t, double alpha_bar, const VelocityFn& velocity);

struct Flow2dOptions {
  int embedding_size = 128;   // sinusoidal features of each of x, y and the flow time
  double input_scale = 25.0;  // x and y are multiplied by this before their sinusoidal features
  int hidden_size = 128;
  int hidden_layers = 3;
  int schedule_steps = 50;  // T of the model's VP schedule (FlowVpSchedule) for the VP samplers

  /// Empty when valid, else what is wrong, naming the option.
  std::string Check() const;
  /// The network (TinyDiffusionSpec: inputs x, y, kFlowTimeInput * s; output v).
  NetworkSpec network() const;
};

class Flow2dModel : public LearnedModel {
 public:
  /// An untrained model (weights from seed 0). Throws Error when options.Check() fails.
  explicit Flow2dModel(const Flow2dOptions& options = {});
  /// A model from a model file; throws Error when it is not a flow-2d file or its network does not map (x, y, s)
  /// to 2 values.
  explicit Flow2dModel(ModelFile file);
  static Flow2dModel Load(const std::filesystem::path& path) { return LoadLearnedModel<Flow2dModel>(path); }
  ModelFile ToModelFile(bool with_training_state = false) const override;

  std::string name() const override;
  /// A VP query at alpha_bar (any schedule): s = FlowTimeOfAlphaBar(alpha_bar), x_s = FlowScale(s) x_t, and
  /// x0_hat = x_s - s v(x_s, s) (kX0). Exact at alpha_bar = 0 (s = 1) too.
  Prediction Predict(const Batch& x_t, const DenoiseQuery& query) override;
  int dimension() const override { return 2; }

  /// The velocity v(x_s, s) for every row of x_s (n x 2, normalised space), s in [0, 1].
  void PredictVelocity(const Batch& x_s, double s, Batch* velocity);

 private:
  friend TrainReport TrainFlow2d(Flow2dModel&, const Batch&, const TrainOptions&, const TrainProgressFn&, const StopFn&,
                                 const std::filesystem::path&);
};

/// Trains model on data (n x 2, the data's own units, mapped with model.normalization() as TrainDdpm2d does): each
/// update draws batch_size points (uniformly, with replacement), s ~ U(0, 1) and eps ~ N(0, I), all keyed by
/// (options.seed, Stream::kTraining, update), and takes the MSE of the network's v against eps - x_0 at
/// x_s = (1 - s) x_0 + s eps. Resumes, checkpoints, progress and stop as TrainDdpm2d. Throws Error on bad data or
/// options.
TrainReport TrainFlow2d(Flow2dModel& model, const Batch& data, const TrainOptions& options,
                        const TrainProgressFn& progress = {}, const StopFn& stop = {},
                        const std::filesystem::path& checkpoint_path = {});

}  // namespace diffuscope

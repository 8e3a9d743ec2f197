// Benchmarks of the Eigen trainer and the 2D DDPM (issue 5's speed targets: >= 1,500 training steps per second
// at batch 32; 10,000 points x 50 DDPM steps in <= 2 s). Run: build/tests/bench/diffuscope-bench
// --benchmark_filter='nn_|ddpm2d_'
#include "core/models/ddpm2d.h"
#include "core/nn/gemm.h"
#include "core/nn/network.h"
#include "core/random/random.h"
#include "core/sampling/sampler.h"

#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

namespace diffuscope {
namespace {

Batch TwoMoons(int n) {
  Batch x(n, 2);
  RandomStream rng({.seed = 3, .stream = Stream::kUser, .index = 0});
  for (int i = 0; i < n; ++i) {
    const double a = M_PI * rng.Uniform();
    const bool upper = i % 2 == 0;
    x(i, 0) = static_cast<float>(upper ? std::cos(a) : 1.0 - std::cos(a)) + 0.05f * static_cast<float>(rng.Normal());
    x(i, 1) = static_cast<float>(upper ? std::sin(a) : 0.5 - std::sin(a)) + 0.05f * static_cast<float>(rng.Normal());
  }
  return x;
}

// The first layer's product of a training step: 32 x 384 times 384 x 128.
void nn_gemm_32x384x128(benchmark::State& state) {
  std::vector<float> a(32 * 384, 0.5f), b(384 * 128, 0.25f), c(32 * 128);
  for (auto _ : state) {
    Gemm(32, 128, 384, a.data(), 384, 1, b.data(), 128, c.data(), 128, false);
    benchmark::DoNotOptimize(c.data());
  }
  state.SetItemsProcessed(state.iterations() * 2LL * 32 * 384 * 128);  // flops
  state.SetLabel(GemmBackend());
}
BENCHMARK(nn_gemm_32x384x128);

// The same product with the hand-written AVX2 kernel (what a portable build runs on an AVX2 processor).
void nn_gemm_avx2_kernel_32x384x128(benchmark::State& state) {
  if (!Avx2KernelAvailable()) {
    state.SkipWithError("no AVX2");
    return;
  }
  std::vector<float> a(32 * 384, 0.5f), b(384 * 128, 0.25f), c(32 * 128);
  for (auto _ : state) {
    GemmKernelAvx2(32, 128, 384, a.data(), 384, 1, b.data(), 128, c.data(), 128, false);
    benchmark::DoNotOptimize(c.data());
  }
  state.SetItemsProcessed(state.iterations() * 2LL * 32 * 384 * 128);
}
BENCHMARK(nn_gemm_avx2_kernel_32x384x128);

// Forward and backward of tiny-diffusion's network on one batch (no optimizer).
void nn_forward_backward(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  Network<float> net(TinyDiffusionSpec());
  net.Initialize(1);
  Network<float>::Matrix x(batch, 3), dy = Network<float>::Matrix::Constant(batch, 2, 0.01f);
  for (int i = 0; i < batch; ++i) x.row(i) << 0.1f * i, -0.05f * i, static_cast<float>(i % 50);
  Network<float>::Workspace ws;
  for (auto _ : state) {
    net.Forward(x, ws);
    net.Backward(x, dy, ws);
    benchmark::DoNotOptimize(net.gradients().data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(nn_forward_backward)->Arg(32);

// Whole training updates of the default DDPM 2D model (draws, forward, backward, clipping, AdamW, EMA) through
// the public API; items per second = training steps per second.
void ddpm2d_train_step(benchmark::State& state) {
  const Batch data = TwoMoons(8000);
  TrainOptions options;
  options.batch_size = static_cast<int>(state.range(0));
  options.iterations = 2000;
  options.report_every = 1000000;
  for (auto _ : state) {
    Ddpm2dModel model;
    TrainDdpm2d(model, data, options);
    benchmark::DoNotOptimize(model.weights().data());
  }
  state.SetItemsProcessed(state.iterations() * options.iterations);
}
BENCHMARK(ddpm2d_train_step)->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();

// 10,000 points through all 50 DDPM steps of the default model (cosine T = 50).
void ddpm2d_sample_10000x50(benchmark::State& state) {
  Ddpm2dModel model;
  const Batch x_T = InitialNoise(10000, 2, 7);
  for (auto _ : state) {
    Batch x0 = Sample(model.schedule(), model, SamplerOptions{}, x_T);
    benchmark::DoNotOptimize(x0.data());
  }
  state.SetItemsProcessed(state.iterations() * 10000LL * 50);
}
BENCHMARK(ddpm2d_sample_10000x50)->Unit(benchmark::kMillisecond)->UseRealTime();

// One network evaluation of 10,000 points (the cost of one sampling step).
void ddpm2d_predict_10000(benchmark::State& state) {
  Ddpm2dModel model;
  const Batch x = InitialNoise(10000, 2, 8);
  Batch eps;
  for (auto _ : state) {
    model.PredictEps(x, 25, &eps);
    benchmark::DoNotOptimize(eps.data());
  }
  state.SetItemsProcessed(state.iterations() * 10000LL);
}
BENCHMARK(ddpm2d_predict_10000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace diffuscope

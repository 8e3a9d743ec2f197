// Benchmarks of the core's hot paths (issue 2's speed targets). Run: build/tests/bench/diffuscope-bench
#include "core/forward/forward.h"
#include "core/models/exact.h"
#include "core/random/random.h"
#include "core/sampling/sampler.h"

#include <benchmark/benchmark.h>

#include <cmath>

namespace diffuscope {
namespace {

Batch SmoothImage(int channels, int size) {
  Batch x0(1, static_cast<Eigen::Index>(channels) * size * size);
  for (Eigen::Index i = 0; i < x0.cols(); ++i) x0(0, i) = std::sin(0.001f * static_cast<float>(i));
  return x0;
}

// One 1024x1024 RGB frame of the closed form with the fixed eps, straight to the 8-bit display buffer.
void forward_closed_fixed_eps(benchmark::State& state) {
  const int size = static_cast<int>(state.range(0));
  NoiseSchedule schedule;
  ForwardProcess forward(schedule, SmoothImage(3, size), 1);
  DisplayImage display;
  int t = 1;
  for (auto _ : state) {
    ForwardClosedToDisplay(schedule, t, forward.x0().data(), forward.eps().data(), 3, size, size, &display);
    benchmark::DoNotOptimize(display.pixels.data());
    t = t % 1000 + 1;
  }
  state.SetItemsProcessed(state.iterations() * 3LL * size * size);
}
BENCHMARK(forward_closed_fixed_eps)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();

// The same frame with a fresh eps drawn for every frame (3M normals), then the fused display path.
void forward_closed_fresh_noise(benchmark::State& state) {
  const int size = static_cast<int>(state.range(0));
  NoiseSchedule schedule;
  const Batch x0 = SmoothImage(3, size);
  Batch eps(1, x0.cols());
  DisplayImage display;
  uint64_t frame = 0;
  for (auto _ : state) {
    FillNormalParallel({1, Stream::kFreshNoise, frame++}, 0, std::span<float>(eps.data(), eps.size()));
    ForwardClosedToDisplay(schedule, 500, x0.data(), eps.data(), 3, size, size, &display);
    benchmark::DoNotOptimize(display.pixels.data());
  }
  state.SetItemsProcessed(state.iterations() * 3LL * size * size);
}
BENCHMARK(forward_closed_fresh_noise)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();

// Normals alone: the random-number part of the fresh-noise frame.
void fill_normal(benchmark::State& state) {
  std::vector<float> z(static_cast<size_t>(state.range(0)));
  uint64_t index = 0;
  for (auto _ : state) {
    FillNormalParallel({1, Stream::kUser, index++}, 0, z);
    benchmark::DoNotOptimize(z.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(fill_normal)->Arg(3 << 20)->Unit(benchmark::kMillisecond)->UseRealTime();

// One Markov-path frame at an arbitrary t (Brownian-bridge bisection), 512x512 RGB, T = 1000.
void forward_markov(benchmark::State& state) {
  const int size = static_cast<int>(state.range(0));
  NoiseSchedule schedule;
  ForwardProcess forward(schedule, SmoothImage(3, size), 1);
  int t = 1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(forward.Markov(t).data());
    t = (t * 7919) % 1000 + 1;  // arbitrary order, as a scrubber jumps
  }
}
BENCHMARK(forward_markov)->Arg(512)->Unit(benchmark::kMillisecond)->UseRealTime();

// Exact empirical denoiser: 2,000 samples from an 8,000-point data set, 50 DDIM steps.
void empirical_ddim_sampling(benchmark::State& state) {
  GaussianMixture mixture = GaussianMixture::EightGaussians();
  EmpiricalDenoiser model(mixture.Sample(8000, 1));
  ScheduleOptions so;
  so.kind = ScheduleKind::kCosine;
  NoiseSchedule schedule(so);
  SamplerOptions options;
  options.kind = SamplerKind::kDdim;
  options.num_steps = 50;
  for (auto _ : state) benchmark::DoNotOptimize(Sample(schedule, model, options, InitialNoise(2000, 2, 2)).data());
}
BENCHMARK(empirical_ddim_sampling)
    ->Name("empirical_ddim_2000_of_8000_x50")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace diffuscope

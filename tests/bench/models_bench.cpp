// Benchmarks of the learned image and Sohl-Dickstein models (issue 5's digits targets: 64 samples with 50 DDIM
// steps in <= 1 s; 1,000 DDPM steps in <= 15 s). They use the shipped models of resources/models.
// Run: build/tests/bench/diffuscope-bench --benchmark_filter='digits_|sr3_|sohl_'
#include "core/data/digits.h"
#include "core/data/points2d.h"
#include "core/models/digits_ddpm.h"
#include "core/models/sohl_dickstein.h"
#include "core/models/sr3.h"
#include "core/sampling/sampler.h"

#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>

namespace diffuscope {
namespace {

std::string ShippedModel(const std::string& name) {
  return (std::filesystem::path(DIFFUSCOPE_RESOURCES) / "models" / (name + ".dfm")).string();
}

// 64 digits, 50 DDIM steps (target: <= 1 s).
void digits_ddim50_64(benchmark::State& state) {
  DigitsDdpmModel model = DigitsDdpmModel::Load(ShippedModel("ddpm-digits-mlp"));
  SamplerOptions options;
  options.kind = SamplerKind::kDdim;
  options.num_steps = 50;
  options.clip_x0 = true;
  for (auto _ : state) {
    Batch x = Sample(model.schedule(), model, options, InitialNoise(64, kDigitPixels, 1));
    benchmark::DoNotOptimize(x.data());
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(digits_ddim50_64)->Unit(benchmark::kMillisecond)->UseRealTime();

// 64 digits, all 1,000 DDPM steps (target: <= 15 s).
void digits_ddpm1000_64(benchmark::State& state) {
  DigitsDdpmModel model = DigitsDdpmModel::Load(ShippedModel("ddpm-digits-mlp"));
  SamplerOptions options;
  options.clip_x0 = true;
  for (auto _ : state) {
    Batch x = Sample(model.schedule(), model, options, InitialNoise(64, kDigitPixels, 1));
    benchmark::DoNotOptimize(x.data());
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(digits_ddpm1000_64)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

// Super-resolution of 64 held-out digits, 10x10 -> 20x20, 100 DDPM steps (the shipped sampler).
void sr3_100steps_64(benchmark::State& state) {
  Sr3Model model = Sr3Model::Load(ShippedModel("sr3-digits"));
  const Batch low = DownscaleArea(SplitDigits(LoadDigits()).test.topRows(64), model.low_side());
  for (auto _ : state) {
    Batch x = model.SuperResolve(low, Sr3DefaultSampler(), 1);
    benchmark::DoNotOptimize(x.data());
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(sr3_100steps_64)->Unit(benchmark::kMillisecond)->UseRealTime();

// Training updates of the digits DDPM at the shipped model's size and batch (128).
void digits_train_step(benchmark::State& state) {
  const Batch train = SplitDigits(LoadDigits()).train;
  DigitsDdpmModel model;
  TrainOptions options = DigitsDdpmDefaultTraining();
  options.warmup_steps = 0;
  long long done = 0;
  for (auto _ : state) {
    options.iterations = done + 10;
    TrainDigitsDdpm(model, train, options);
    done += 10;
  }
  state.SetItemsProcessed(done);
}
BENCHMARK(digits_train_step)->Unit(benchmark::kMillisecond)->UseRealTime();

// 2,000 swiss-roll points through the shipped Sohl-Dickstein model's 40 steps with its learned variances.
void sohl_dickstein_sample_2000(benchmark::State& state) {
  SohlDicksteinModel model = SohlDicksteinModel::Load(ShippedModel("sohl-dickstein-swissroll"));
  SamplerOptions options;
  options.variance = VarianceChoice::kLearned;
  for (auto _ : state) {
    Batch x = Sample(model.schedule(), model, options, InitialNoise(2000, 2, 1));
    benchmark::DoNotOptimize(x.data());
  }
  state.SetItemsProcessed(state.iterations() * 2000);
}
BENCHMARK(sohl_dickstein_sample_2000)->Unit(benchmark::kMillisecond)->UseRealTime();

// The variational bound on 2,000 held-out swiss-roll points (40 network passes).
void sohl_dickstein_bound_2000(benchmark::State& state) {
  SohlDicksteinModel model = SohlDicksteinModel::Load(ShippedModel("sohl-dickstein-swissroll"));
  const Batch test = MakeSwissRoll(2000, 2);
  for (auto _ : state) benchmark::DoNotOptimize(EvaluateBound(model, test, 3).nll);
}
BENCHMARK(sohl_dickstein_bound_2000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace diffuscope

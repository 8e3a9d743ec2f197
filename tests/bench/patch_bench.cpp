// The training-free patch denoiser at interactive size: one Predict on a 256 x 256 RGB photograph with the
// default bank (4096 patches of the bundled photos, 7 x 7, 32 principal components, stride 2).
// Run: build/bin/diffuscope-bench --benchmark_filter=patch
#include "core/data/image_set.h"
#include "core/forward/forward.h"
#include "core/models/patch.h"
#include "core/random/random.h"
#include "core/schedule/schedule.h"

#include <benchmark/benchmark.h>

#include <string>

namespace diffuscope {
namespace {

// The noised photo (fruits.jpg, centre square, 256 x 256) at t = 500 of the linear schedule.
Batch NoisedPhoto(const NoiseSchedule& schedule, int t) {
  const Image photo = LoadImage(std::string(DIFFUSCOPE_RESOURCES) + "/images/fruits.jpg");
  const Batch x0 = ResizeImage(CropToAspect(photo, 1, 1), 256, 256).pixels;
  Batch eps(1, x0.cols());
  FillNormal({1, Stream::kForwardEps, 0}, 0, std::span<float>(eps.data(), eps.size()));
  return ForwardClosed(schedule, t, x0, eps);
}

// Arg: stride (2 = the default; 1 = the exact per-pixel estimator).
void patch_denoiser_256(benchmark::State& state) {
  PatchDenoiserOptions options;
  options.stride = static_cast<int>(state.range(0));
  PatchDenoiser patch(SamplePatchSources(3), 3, 256, 256, options);
  NoiseSchedule schedule;
  const Batch x_t = NoisedPhoto(schedule, 500);
  for (auto _ : state) {
    Batch x0_hat = patch.PosteriorMean(x_t, schedule.alpha_bar(500));
    benchmark::DoNotOptimize(x0_hat.data());
  }
  state.SetItemsProcessed(state.iterations() * 256LL * 256);
}
BENCHMARK(patch_denoiser_256)->Arg(2)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// Building the default bank: loading the sample photos, drawing 4096 patches, their principal components.
void patch_bank_build(benchmark::State& state) {
  for (auto _ : state) {
    PatchDenoiser patch(SamplePatchSources(3), 3, 256, 256);
    benchmark::DoNotOptimize(patch.bank_patches());
  }
}
BENCHMARK(patch_bank_build)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace diffuscope

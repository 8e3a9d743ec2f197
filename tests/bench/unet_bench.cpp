// The U-Net against PyTorch (../shared/bench/unet_reference.py, run beside it in the same minute):
// unet_train_step/reference is one AdamW training step of the reference network (ReferenceUNetSpec, batch 8,
// 64x64, MSE against the input, the script's workload); unet_forward/256 one inference of a 256x256 RGB image.
// Report the ratio: PyTorch's steps/s over 1 / (this step's time), and its ms over this forward's.
#include "core/nn/optimizer.h"
#include "core/nn/unet.h"
#include "core/random/random.h"

#include <benchmark/benchmark.h>

#include <vector>

namespace diffuscope {
namespace {

UNet<float>::Tensor NormalTensor(int n, int side, uint64_t index) {
  UNet<float>::Tensor x;
  x.Resize(n, side, side, 3);
  FillNormal({.seed = 1, .stream = Stream::kUser, .index = index}, 0, x.data);
  return x;
}

void unet_train_step(benchmark::State& state) {
  const int batch = 8, side = 64;
  UNet<float> net(ReferenceUNetSpec());
  net.Initialize(1);
  UNet<float>::Workspace ws(/*training=*/true);
  const UNet<float>::Tensor x = NormalTensor(batch, side, 1);
  std::vector<float> level(batch);
  for (int b = 0; b < batch; ++b) level[b] = static_cast<float>((b * 131) % 1000);  // t in 0..999, as the script
  std::vector<float> m(net.parameters().size(), 0.0f), v(m.size(), 0.0f);
  UNet<float>::Tensor dy;
  long long step = 0;
  for (auto _ : state) {
    const auto& y = net.Forward(x, level, ws);
    dy.Resize(y.n, y.h, y.w, y.c);
    const float scale = 2.0f / static_cast<float>(y.size());
    for (size_t k = 0; k < y.size(); ++k) dy.data[k] = scale * (y.data[k] - x.data[k]);
    net.Backward(x, level, dy, ws);
    AdamWStep(net.parameters(), net.gradients(), m, v, ++step, {.learning_rate = 2e-4});
    benchmark::DoNotOptimize(net.parameters().data());
  }
  state.counters["steps/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(unet_train_step)
    ->Name("unet_train_step/reference")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(10.0);

void unet_forward(benchmark::State& state) {
  const int side = static_cast<int>(state.range(0));
  UNet<float> net(ReferenceUNetSpec());
  net.Initialize(1);
  UNet<float>::Workspace ws;
  const UNet<float>::Tensor x = NormalTensor(1, side, 2);
  const std::vector<float> level = {500.0f};
  for (auto _ : state) {
    const auto& y = net.Forward(x, level, ws);
    benchmark::DoNotOptimize(y.data.data());
  }
}
BENCHMARK(unet_forward)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(5.0);

}  // namespace
}  // namespace diffuscope

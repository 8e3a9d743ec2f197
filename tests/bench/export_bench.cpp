// Benchmarks of the frame renderer and the animation writers (issue 4's speed targets: 120 frames of a 512x512 RGB
// forward animation as GIF in <= 3 s and MP4 in <= 2 s; issue 9's: faster than ffmpeg encoding the same frames
// from PNG files, which scripts/bench-export.sh measures side by side). Each export benchmark includes rendering
// every frame; MP4 is H.264 at CRF 18, WebM VP9 at CRF 30 (libavcodec).
// Run: build/tests/bench/diffuscope-bench --benchmark_filter='export_|render_'
#include "core/export/export.h"
#include "core/forward/forward.h"
#include "core/random/random.h"
#include "core/render/frame.h"
#include "core/render/layouts.h"
#include "core/schedule/schedule.h"

#include <benchmark/benchmark.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <filesystem>

#include <unistd.h>

namespace diffuscope {
namespace {
namespace fs = std::filesystem;

// A 512 x 512 photo (resources/images/chicky_512.png) as channel planes in [-1, 1]; a smooth pattern if missing.
Batch Photo(int channels, int size) {
  Batch x0(1, static_cast<Eigen::Index>(channels) * size * size);
  cv::Mat image = cv::imread(std::string(DIFFUSCOPE_RESOURCES) + "/images/chicky_512.png", cv::IMREAD_COLOR);
  if (image.empty()) {
    for (Eigen::Index i = 0; i < x0.cols(); ++i) x0(0, i) = std::sin(0.001f * static_cast<float>(i));
    return x0;
  }
  cv::resize(image, image, cv::Size(size, size), 0, 0, cv::INTER_AREA);
  if (channels == 1) {
    cv::cvtColor(image, image, cv::COLOR_BGR2GRAY);
  } else {
    cv::cvtColor(image, image, cv::COLOR_BGR2RGB);
  }
  for (int c = 0; c < channels; ++c)
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x)
        x0(0, (static_cast<Eigen::Index>(c) * size + y) * size + x) =
            image.ptr<uint8_t>(y)[x * channels + c] / 127.5f - 1.0f;
  return x0;
}

// 120 frames of the closed-form forward process, t evenly spaced over 0..1000, rendered by the image layout.
struct ForwardAnimation {
  NoiseSchedule schedule;
  ImageShape shape;
  ForwardProcess forward;
  FrameRenderer renderer;
  int frames;

  ForwardAnimation(int channels, int size, int frame_count)
      : shape{channels, size, size},
        forward(schedule, Photo(channels, size), 1),
        renderer(RenderOptions{}, shape),
        frames(frame_count) {}
  Frame operator()(int i) const {
    const int t = static_cast<int>(std::lround(1000.0 * i / (frames - 1)));
    const Batch x_t = forward.Closed(t);
    return renderer.Render({.x_t = &x_t});
  }
};

fs::path BenchFolder() {
  const fs::path dir = fs::temp_directory_path() / ("diffuscope_export_bench_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

void RunExport(benchmark::State& state, int channels, const std::string& name, ExportOptions options = {}) {
  const ForwardAnimation animation(channels, 512, 120);
  const fs::path out = BenchFolder() / name;
  const FrameSource source = [&](int i) { return animation(i); };
  options.fps = 24;
  ExportResult result;
  for (auto _ : state) result = ExportAnimation(out, animation.frames, source, options);
  std::error_code ec;
  state.counters["MB"] = fs::is_directory(out) ? 0.0 : static_cast<double>(fs::file_size(out, ec)) / 1e6;
  state.counters["frames_per_s"] = benchmark::Counter(
      static_cast<double>(animation.frames) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.SetLabel(result.codec + (result.note.empty() ? "" : ": " + result.note));
  fs::remove_all(BenchFolder(), ec);
}

void render_image_1024x1024_rgb(benchmark::State& state) {
  const ImageShape shape{3, 1024, 1024};
  Batch x(1, shape.dim());
  FillNormal({1, Stream::kUser, 0}, 0, std::span<float>(x.data(), static_cast<size_t>(x.size())));
  for (auto _ : state) {
    Frame frame = ImageToFrame(x, 0, shape);
    benchmark::DoNotOptimize(frame.rgb.data());
  }
}
BENCHMARK(render_image_1024x1024_rgb)->Unit(benchmark::kMillisecond)->UseRealTime();

void render_forward_frame_512x512_rgb(benchmark::State& state) {
  const ForwardAnimation animation(3, 512, 120);
  int i = 0;
  for (auto _ : state) {
    Frame frame = animation(i);
    benchmark::DoNotOptimize(frame.rgb.data());
    i = (i + 1) % 120;
  }
}
BENCHMARK(render_forward_frame_512x512_rgb)->Unit(benchmark::kMillisecond)->UseRealTime();

void render_schedule_layout_256(benchmark::State& state) {
  NoiseSchedule schedule;
  const ImageShape shape{3, 64, 64};
  Batch x(1, shape.dim());
  FillNormal({1, Stream::kUser, 0}, 0, std::span<float>(x.data(), static_cast<size_t>(x.size())));
  RenderOptions options;
  options.layout = Layout::kSchedule;
  options.caption = true;
  const FrameRenderer renderer(options, shape, &schedule);
  int t = 1;
  for (auto _ : state) {
    Frame frame = renderer.Render({.x_t = &x, .t = t, .caption = CaptionText(t, 0.5, 1.0)});
    benchmark::DoNotOptimize(frame.rgb.data());
    t = t % 1000 + 1;
  }
}
BENCHMARK(render_schedule_layout_256)->Unit(benchmark::kMillisecond)->UseRealTime();

void render_scatter_2000_points(benchmark::State& state) {
  Batch points(2000, 2), data(2000, 2);
  FillNormal({1, Stream::kUser, 0}, 0, std::span<float>(points.data(), static_cast<size_t>(points.size())));
  FillNormal({2, Stream::kUser, 0}, 0, std::span<float>(data.data(), static_cast<size_t>(data.size())));
  RenderOptions options;
  options.layout = Layout::kScatter;
  const FrameRenderer renderer(options, {});
  for (auto _ : state) {
    Frame frame = renderer.Render({.x_t = &points, .data = &data});
    benchmark::DoNotOptimize(frame.rgb.data());
  }
}
BENCHMARK(render_scatter_2000_points)->Unit(benchmark::kMillisecond)->UseRealTime();

void export_gif_512x512x120(benchmark::State& state) { RunExport(state, 3, "forward.gif"); }
BENCHMARK(export_gif_512x512x120)->Unit(benchmark::kMillisecond)->UseRealTime();

void export_gif_nodither_512x512x120(benchmark::State& state) {
  ExportOptions options;
  options.gif_dither = false;
  RunExport(state, 3, "forward.gif", options);
}
BENCHMARK(export_gif_nodither_512x512x120)->Unit(benchmark::kMillisecond)->UseRealTime();

void export_gif_grey_512x512x120(benchmark::State& state) { RunExport(state, 1, "forward.gif"); }
BENCHMARK(export_gif_grey_512x512x120)->Unit(benchmark::kMillisecond)->UseRealTime();

void export_mp4_512x512x120(benchmark::State& state) { RunExport(state, 3, "forward.mp4"); }
BENCHMARK(export_mp4_512x512x120)->Unit(benchmark::kMillisecond)->UseRealTime();

void export_webm_512x512x120(benchmark::State& state) { RunExport(state, 3, "forward.webm"); }
BENCHMARK(export_webm_512x512x120)->Unit(benchmark::kMillisecond)->UseRealTime();

void export_png_512x512x120(benchmark::State& state) { RunExport(state, 3, "frames"); }
BENCHMARK(export_png_512x512x120)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace diffuscope

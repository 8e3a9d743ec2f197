// The display path of the images workspace, end to end: a scrubber move (Document::setT) to the frame handed to
// the view (FrameView::setImage), through the worker thread and back, for a 1024 x 1024 RGB image. The target is
// 16 ms (60 frames per second). Run: build/tests/ui/ui_display_bench (headless: QT_QPA_PLATFORM=offscreen).
#include "core/data/image_io.h"
#include "ui/state/document.h"
#include "ui/widgets/frame_view.h"
#include "ui/widgets/image_workspace.h"
#include "ui/widgets/timeline.h"

#include <QApplication>
#include <QEventLoop>
#include <QTimer>

#include <benchmark/benchmark.h>

namespace {

using namespace diffuscope;
using namespace diffuscope::ui;

ImageData Photo1024() {
  const Image photo = LoadImage(DIFFUSCOPE_RESOURCES "/images/baboon.jpg");
  const Image big = ResizeImage(photo, 1024, 1024);
  ImageData data;
  data.path = QStringLiteral("baboon-1024");
  data.channels = big.channels;
  data.height = big.height;
  data.width = big.width;
  data.pixels = big.pixels;
  return data;
}

// state.range(0): 0 = x_t only (closed form), 1 = Markov path, 2 = closed form with x0_hat, eps_hat, the noise
// and the histogram beside it.
void scrub_to_view(benchmark::State& state) {
  Document document;
  document.setImage(Photo1024());
  if (state.range(0) == 1) document.setForwardPath(ForwardPath::kMarkov);
  TimelineModel timeline;
  timeline.setClockEnabled(false);
  ImageWorkspace images(&document, &timeline);
  const bool panels = state.range(0) == 2;  // set both ways: the workspace remembers its toggles
  images.setShowPredictions(panels);
  images.setShowNoise(panels);
  images.setShowHistogram(panels);
  images.frameJobs()->waitIdle(60000);
  QEventLoop loop;
  QObject::connect(images.frameJobs(), &LatestJob::ready, &loop, &QEventLoop::quit, Qt::QueuedConnection);
  int t = 1;
  for (auto _ : state) {
    const quint64 before = images.mainView()->frameCount();
    document.setT(t);
    while (images.mainView()->frameCount() == before) loop.exec();
    if (images.shownT() != t) state.SkipWithError("the view shows another t");
    t = t % 1000 + 1;
  }
  state.SetLabel(state.range(0) == 0 ? "closed form" : state.range(0) == 1 ? "Markov path" : "with side panels");
}
BENCHMARK(scrub_to_view)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  QApplication app(argc, argv);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

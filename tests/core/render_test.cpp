#include "core/render/frame.h"
#include "core/render/layouts.h"
#include "core/render/plots.h"

#include "core/forward/forward.h"
#include "core/random/random.h"
#include "core/schedule/schedule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace diffuscope {
namespace {

Batch Normals(int rows, long long cols, uint64_t seed) {
  Batch x(rows, cols);
  FillNormal({seed, Stream::kUser, 0}, 0, std::span<float>(x.data(), static_cast<size_t>(x.size())));
  return x;
}

// The crop of a frame (a copy), for comparing panels of a layout.
Frame Crop(const Frame& frame, int x, int y, int w, int h) {
  Frame out(w, h);
  for (int row = 0; row < h; ++row)
    for (int col = 0; col < w; ++col) std::copy_n(frame.pixel(x + col, y + row), 3, out.pixel(col, row));
  return out;
}

bool IsColour(const uint8_t* p, Rgb c) { return p[0] == c.r && p[1] == c.g && p[2] == c.b; }

TEST(Frame, PixelToByteIsRoundedAffineMapClampedNanToZero) {
  EXPECT_EQ(PixelToByte(-1.0f), 0);
  EXPECT_EQ(PixelToByte(1.0f), 255);
  EXPECT_EQ(PixelToByte(0.0f), 128);  // 127.5 rounds half up
  EXPECT_EQ(PixelToByte(-5.0f), 0);
  EXPECT_EQ(PixelToByte(7.0f), 255);
  EXPECT_EQ(PixelToByte(std::numeric_limits<float>::quiet_NaN()), 0);
  EXPECT_EQ(PixelToByte(std::numeric_limits<float>::infinity()), 255);
  EXPECT_EQ(PixelToByte(-std::numeric_limits<float>::infinity()), 0);
  // Against round((x + 1) * 127.5) in double, away from ties (where float rounding may go either way).
  int checked = 0;
  for (int k = -12000; k <= 12000; ++k) {
    const float x = k / 10000.0f;
    const double v = (static_cast<double>(x) + 1.0) * 127.5;
    if (std::abs(v - std::floor(v) - 0.5) < 1e-4) continue;
    const double expected = std::clamp(std::floor(v + 0.5), 0.0, 255.0);
    ASSERT_EQ(PixelToByte(x), static_cast<int>(expected)) << "x = " << x;
    ++checked;
  }
  EXPECT_GT(checked, 23000);
}

TEST(Frame, FieldToByteUsesItsSymmetricRange) {
  EXPECT_EQ(FieldToByte(-3.0f, 3.0f), 0);
  EXPECT_EQ(FieldToByte(3.0f, 3.0f), 255);
  EXPECT_EQ(FieldToByte(0.0f, 3.0f), 128);
  EXPECT_EQ(FieldToByte(1.5f, 3.0f), 191);  // 191.25
  EXPECT_EQ(FieldToByte(-10.0f, 3.0f), 0);
  EXPECT_EQ(FieldToByte(std::numeric_limits<float>::quiet_NaN(), 3.0f), 0);
  EXPECT_EQ(FieldToByte(0.5f, 1.0f), PixelToByte(0.5f));
}

TEST(Frame, ImageToFrameInterleavesPlanesAndReplicatesGrey) {
  const ImageShape rgb{.channels = 3, .height = 37, .width = 53};
  const Batch x = Normals(2, rgb.dim(), 1) * 0.7f;
  const Frame f = ImageToFrame(x, 1, rgb);
  ASSERT_EQ(f.width, 53);
  ASSERT_EQ(f.height, 37);
  const size_t plane = 37 * 53;
  for (int y = 0; y < 37; ++y)
    for (int xx = 0; xx < 53; ++xx)
      for (int c = 0; c < 3; ++c)
        ASSERT_EQ(f.pixel(xx, y)[c], PixelToByte(x(1, c * plane + y * 53 + xx))) << xx << "," << y << "," << c;

  const ImageShape grey{.channels = 1, .height = 20, .width = 30};
  const Batch g = Normals(1, grey.dim(), 2);
  const Frame fg = ImageToFrame(g, 0, grey);
  EXPECT_TRUE(IsGrey(fg));
  for (int i = 0; i < 600; ++i) ASSERT_EQ(fg.rgb[3 * i], PixelToByte(g(0, i)));
  EXPECT_FALSE(IsGrey(f));
}

TEST(Frame, ImageToFrameMatchesForwardDisplayPath) {
  // The screen may show forward frames through ForwardClosedToDisplay; exported frames must be the same bytes.
  NoiseSchedule schedule;
  const ImageShape shape{.channels = 3, .height = 64, .width = 96};
  const Batch x0 = Normals(1, shape.dim(), 3) * 0.5f;  // some beyond [-1, 1]: clamping is compared too
  const Batch eps = Normals(1, shape.dim(), 4);
  for (int t : {0, 1, 250, 999}) {
    DisplayImage display;
    ForwardClosedToDisplay(schedule, t, x0.data(), eps.data(), 3, 64, 96, &display);
    const Frame f = ImageToFrame(ForwardClosed(schedule, t, x0, eps), 0, shape);
    ASSERT_EQ(display.pixels, f.rgb) << "t = " << t;
  }
}

TEST(Frame, UpscaleMakesBlocks) {
  const ImageShape shape{.channels = 3, .height = 5, .width = 7};
  const Batch x = Normals(1, shape.dim(), 5);
  const Frame small = ImageToFrame(x, 0, shape);
  const Frame big = ImageToFrame(x, 0, shape, 3);
  ASSERT_EQ(big.width, 21);
  ASSERT_EQ(big.height, 15);
  for (int y = 0; y < 15; ++y)
    for (int xx = 0; xx < 21; ++xx)
      for (int c = 0; c < 3; ++c) ASSERT_EQ(big.pixel(xx, y)[c], small.pixel(xx / 3, y / 3)[c]);
  EXPECT_EQ(Upscale(small, 3), big);
}

TEST(Frame, FieldToFrameAndBadInput) {
  const ImageShape shape{.channels = 1, .height = 4, .width = 4};
  Batch e(1, 16);
  for (int i = 0; i < 16; ++i) e(0, i) = -3.0f + 6.0f * i / 15.0f;
  const Frame f = FieldToFrame(e, 0, shape, 3.0f);
  EXPECT_EQ(f.rgb[0], 0);
  EXPECT_EQ(f.rgb[3 * 15], 255);
  EXPECT_THROW(FieldToFrame(e, 0, shape, 0.0f), Error);
  EXPECT_THROW(ImageToFrame(e, 0, {.channels = 3, .height = 4, .width = 4}), Error);  // 16 != 48 values
  EXPECT_THROW(ImageToFrame(e, 1, shape), Error);                                     // no row 1
  EXPECT_THROW(ImageToFrame(e, 0, {.channels = 2, .height = 2, .width = 4}), Error);  // 2 channels
  EXPECT_THROW(ImageToFrame(e, 0, shape, 0), Error);
}

TEST(Frame, CaptionTextAndStrip) {
  EXPECT_EQ(CaptionText(250, 0.412, 0.70), "t = 250   alpha_bar = 0.412   SNR = 0.70");
  EXPECT_EQ(CaptionText(0, 1.0, std::numeric_limits<double>::infinity()), "t = 0   alpha_bar = 1.000   SNR = inf");
  EXPECT_EQ(CaptionText(1000, 4.0358e-5, 4.0360e-5), "t = 1000   alpha_bar = 4.04e-05   SNR = 4.04e-05");
  EXPECT_EQ(CaptionText(1, 0.9999, 9999.0), "t = 1   alpha_bar = 1.000   SNR = 9999.00");
  EXPECT_EQ(CaptionText(1, 0.99999, 99999.0), "t = 1   alpha_bar = 1.000   SNR = 1.00e+05");

  const ImageShape shape{.channels = 3, .height = 40, .width = 300};
  const Frame body = ImageToFrame(Normals(1, shape.dim(), 6), 0, shape);
  const TextStyle style;
  const Frame captioned = AddCaption(body, "t = 3", style);
  ASSERT_EQ(captioned.width, body.width);
  ASSERT_EQ(captioned.height, body.height + CaptionHeight(style));
  EXPECT_EQ(Crop(captioned, 0, 0, body.width, body.height), body);
  int dark = 0;
  for (int y = body.height; y < captioned.height; ++y)
    for (int x = 0; x < captioned.width; ++x) dark += captioned.pixel(x, y)[0] < 128;
  EXPECT_GT(dark, 10);  // the text is there
}

TEST(Layouts, NamesRoundTrip) {
  for (std::string_view name : LayoutNames()) {
    const auto layout = ParseLayout(name);
    ASSERT_TRUE(layout.has_value()) << name;
    EXPECT_EQ(LayoutName(*layout), name);
    EXPECT_FALSE(LayoutDescription(*layout).empty());
  }
  EXPECT_EQ(LayoutNames().size(), 5u);
  EXPECT_FALSE(ParseLayout("mosaic").has_value());
}

TEST(Layouts, ImageLayoutAutoScaleAndCaption) {
  const ImageShape shape{.channels = 1, .height = 28, .width = 28};
  const Batch x = Normals(3, shape.dim(), 7);
  RenderOptions options;
  FrameRenderer renderer(options, shape);
  EXPECT_EQ(renderer.scale(), 10);  // smallest scale with a cell >= 256 pixels
  FrameInput input{.x_t = &x};
  const Frame f = renderer.Render(input);
  EXPECT_EQ(f, ImageToFrame(x, 0, shape, 10));
  EXPECT_EQ(f.width, renderer.width());
  EXPECT_EQ(f.height, renderer.height());

  options.caption = true;
  options.sample = 2;
  FrameRenderer captioned(options, shape);
  input.caption = CaptionText(10, 0.99, 99.0);
  const Frame g = captioned.Render(input);
  ASSERT_EQ(g.width, captioned.width());
  ASSERT_EQ(g.height, captioned.height());
  EXPECT_GT(g.height, 280);
  EXPECT_EQ(Crop(g, 0, 0, 280, 280), ImageToFrame(x, 2, shape, 10));
  EXPECT_TRUE(IsGrey(g));  // grey image, black caption on white: a GIF of it is lossless

  options.sample = 3;  // the batch has 3 rows
  FrameRenderer missing(options, shape);
  EXPECT_THROW(missing.Render(input), Error);
  Batch wrong = Normals(1, 100, 1);
  FrameInput bad{.x_t = &wrong};
  EXPECT_THROW(renderer.Render(bad), Error);
  EXPECT_THROW(renderer.Render(FrameInput{}), Error);
}

TEST(Layouts, PredictionsPanelsAreTheImagesAndTheField) {
  const ImageShape shape{.channels = 3, .height = 16, .width = 20};
  const Batch x_t = Normals(1, shape.dim(), 8), x0 = Normals(1, shape.dim(), 9) * 0.5f;
  const Batch eps = Normals(1, shape.dim(), 10);
  RenderOptions options;
  options.layout = Layout::kPredictions;
  options.scale = 4;
  options.eps_range = 2.5f;
  FrameRenderer renderer(options, shape);
  const Frame f = renderer.Render({.x_t = &x_t, .x0_hat = &x0, .eps_hat = &eps, .t = 5});
  ASSERT_EQ(f.width, renderer.width());
  ASSERT_EQ(f.height, renderer.height());
  const int pad = options.padding, cw = 80, ch = 64;
  const int top = f.height - pad - ch;
  EXPECT_EQ(Crop(f, pad, top, cw, ch), ImageToFrame(x_t, 0, shape, 4));
  EXPECT_EQ(Crop(f, 2 * pad + cw, top, cw, ch), ImageToFrame(x0, 0, shape, 4));
  EXPECT_EQ(Crop(f, 3 * pad + 2 * cw, top, cw, ch), FieldToFrame(eps, 0, shape, 2.5f, 4));
  int dark = 0;  // labels above the panels
  for (int y = 0; y < top; ++y)
    for (int x = 0; x < f.width; ++x) dark += f.pixel(x, y)[0] < 128;
  EXPECT_GT(dark, 20);
  // Without predictions the panels stay empty (background).
  const Frame empty = renderer.Render({.x_t = &x_t});
  EXPECT_EQ(Crop(empty, 2 * pad + cw, top, cw, ch), Frame(cw, ch, options.background));
}

TEST(Layouts, GridPlacesSamplesRowMajor) {
  const ImageShape shape{.channels = 1, .height = 8, .width = 6};
  const Batch x = Normals(5, shape.dim(), 11);
  RenderOptions options;
  options.layout = Layout::kGrid;
  options.grid_samples = 6;
  options.grid_columns = 3;
  options.scale = 2;
  options.padding = 4;
  FrameRenderer renderer(options, shape);
  EXPECT_EQ(renderer.width(), 3 * 12 + 4 * 4);
  EXPECT_EQ(renderer.height(), 2 * 16 + 3 * 4);
  const Frame f = renderer.Render({.x_t = &x});
  for (int k = 0; k < 6; ++k) {
    const Frame cell = Crop(f, 4 + (k % 3) * 16, 4 + (k / 3) * 20, 12, 16);
    if (k < 5) {
      EXPECT_EQ(cell, ImageToFrame(x, k, shape, 2)) << "cell " << k;
    } else {
      EXPECT_EQ(cell, Frame(12, 16, options.background)) << "missing sample leaves the cell empty";
    }
  }
}

TEST(SchedulePlot, CursorMovesAndCurvesFollowTheSchedule) {
  ScheduleOptions so;
  so.kind = ScheduleKind::kCosine;
  NoiseSchedule schedule(so);
  SchedulePlot plot(schedule, {.width = 480, .height = 220});
  const Frame& base = plot.background();
  ASSERT_EQ(base.width, 480);
  ASSERT_EQ(base.height, 220);
  EXPECT_LT(plot.XOfT(0), plot.XOfT(500));
  EXPECT_LT(plot.XOfT(500), plot.XOfT(1000));
  EXPECT_GT(plot.YOfValue(0.0), plot.YOfValue(1.0));  // y grows downwards on screen
  // Every curve passes through its value: the pixel there is not background.
  for (int t : {100, 400, 700}) {
    for (double v : {schedule.alpha_bar(t), schedule.sqrt_alpha_bar(t), schedule.sqrt_one_minus_alpha_bar(t)}) {
      const int px = static_cast<int>(std::lround(plot.XOfT(t))), py = static_cast<int>(std::lround(plot.YOfValue(v)));
      EXPECT_FALSE(IsColour(base.pixel(px, py), {255, 255, 255})) << "t " << t << " value " << v;
    }
  }
  // The cursor changes pixels near x(t) only, and it moves with t.
  for (int t : {1, 250, 999}) {
    const Frame f = plot.Render(t);
    const double cx = plot.XOfT(t);
    int changed = 0;
    for (int y = 0; y < f.height; ++y)
      for (int x = 0; x < f.width; ++x)
        if (!std::equal(f.pixel(x, y), f.pixel(x, y) + 3, base.pixel(x, y))) {
          ++changed;
          ASSERT_LE(std::abs(x - cx), 6.0) << "t " << t << " changed pixel at x = " << x;
        }
    EXPECT_GT(changed, 50) << "t " << t;
  }
  EXPECT_NE(plot.Render(100), plot.Render(101));
  EXPECT_EQ(plot.Render(300), plot.Render(300));
  // Zero terminal SNR (log-SNR = -inf at T) and a short schedule still draw.
  so.kind = ScheduleKind::kLinear;
  so.num_steps = 10;
  so.zero_terminal_snr = true;
  EXPECT_NO_THROW(SchedulePlot(NoiseSchedule(so)).Render(10));
  SchedulePlotOptions none;
  none.show_alpha_bar = none.show_sqrt_alpha_bar = none.show_sqrt_one_minus_alpha_bar = none.show_beta =
      none.show_log_snr = false;
  EXPECT_THROW(SchedulePlot(schedule, none), Error);
}

TEST(Layouts, ScheduleLayoutIsImageOverPlot) {
  NoiseSchedule schedule;
  const ImageShape shape{.channels = 3, .height = 32, .width = 32};
  const Batch x = Normals(1, shape.dim(), 12);
  RenderOptions options;
  options.layout = Layout::kSchedule;
  options.scale = 8;  // 256 pixels
  EXPECT_THROW(FrameRenderer(options, shape, nullptr), Error);
  FrameRenderer renderer(options, shape, &schedule);
  const Frame a = renderer.Render({.x_t = &x, .t = 100});
  const Frame b = renderer.Render({.x_t = &x, .t = 900});
  ASSERT_EQ(a.width, renderer.width());
  ASSERT_EQ(a.height, renderer.height());
  const int pad = options.padding;
  EXPECT_EQ(Crop(a, (a.width - 256) / 2, pad, 256, 256), ImageToFrame(x, 0, shape, 8));
  // Only the plot differs between the two t.
  const int plot_top = 256 + 2 * pad;
  EXPECT_EQ(Crop(a, 0, 0, a.width, plot_top), Crop(b, 0, 0, b.width, plot_top));
  EXPECT_NE(a, b);
  SchedulePlotOptions plot_options = options.schedule_plot;
  plot_options.width = a.width;
  plot_options.height = a.height - plot_top;
  EXPECT_EQ(Crop(a, 0, plot_top, a.width, a.height - plot_top), SchedulePlot(schedule, plot_options).Render(100));
}

TEST(Scatter, PointsLandWhereTheAxisLimitsSay) {
  ScatterOptions view;
  view.width = view.height = 200;
  view.x_min = -1, view.x_max = 1, view.y_min = -1, view.y_max = 1;
  view.axes = false;
  view.point_radius = 2.0;
  Batch p(4, 2);
  p << 0.5f, 0.5f,                                    // lands at (150, 50)
      5.0f, 5.0f,                                     // outside: not drawn
      std::numeric_limits<float>::quiet_NaN(), 0.0f,  // skipped
      1e30f, -1e30f;                                  // absurd: skipped, no overflow
  const Frame f = RenderScatter({.points = &p}, view);
  int drawn = 0;
  for (int y = 0; y < 200; ++y)
    for (int x = 0; x < 200; ++x)
      if (!IsColour(f.pixel(x, y), view.background)) {
        ++drawn;
        ASSERT_LE(std::hypot(x + 0.5 - 150, y + 0.5 - 50), 4.0) << x << "," << y;
      }
  EXPECT_GT(drawn, 5);
  EXPECT_TRUE(IsColour(f.pixel(150, 50), view.point_colour) || IsColour(f.pixel(149, 49), view.point_colour));
}

TEST(Scatter, TrajectoriesFieldAndBackground) {
  ScatterOptions view;
  view.width = view.height = 200;
  view.x_min = -1, view.x_max = 1, view.y_min = -1, view.y_max = 1;
  view.axes = false;
  Batch start(1, 2), middle(1, 2), now(1, 2), data(1, 2), pos(1, 2), vec(1, 2);
  start << -0.8f, -0.5f;
  middle << 0.0f, -0.5f;
  now << 0.8f, -0.5f;
  data << -0.5f, 0.5f;
  pos << 0.0f, 0.0f;
  vec << 0.0f, 0.5f;
  const std::vector<Batch> history = {start, middle};
  const Frame f = RenderScatter(
      {.points = &now, .background = &data, .history = history, .field_positions = &pos, .field_vectors = &vec}, view);
  // The trajectory runs along y = -0.5 (pixel row 150) from x = 20 to x = 180.
  for (int x : {40, 100, 160}) {
    const uint8_t* p = f.pixel(x, 150);
    EXPECT_FALSE(IsColour(p, view.background)) << "trajectory at x = " << x;
  }
  // The arrow goes up from the centre (100, 100) to (100, 50).
  for (int y : {90, 70, 55}) EXPECT_FALSE(IsColour(f.pixel(100, y), view.background)) << "arrow at y = " << y;
  // The data point is faint at (50, 50).
  EXPECT_TRUE(IsColour(f.pixel(50, 50), view.background_point_colour));
  // Shape errors.
  Batch three(1, 3);
  EXPECT_THROW(RenderScatter({.points = &three}, view), Error);
  EXPECT_THROW(RenderScatter({.points = &now, .field_positions = &pos}, view), Error);
  const std::vector<Batch> wrong = {Batch(2, 2)};
  EXPECT_THROW(RenderScatter({.points = &now, .history = wrong}, view), Error);
  view.x_max = view.x_min;
  EXPECT_THROW(RenderScatter({.points = &now}, view), Error);
}

TEST(Layouts, ScatterLayoutUsesScatterOptionsAndIsDeterministic) {
  RenderOptions options;
  options.layout = Layout::kScatter;
  options.scatter.width = 300;
  options.scatter.height = 240;
  options.caption = true;
  FrameRenderer renderer(options, {});
  const Batch points = Normals(500, 2, 13);
  FrameInput input{.x_t = &points, .caption = CaptionText(3, 0.5, 1.0)};
  const Frame a = renderer.Render(input);
  EXPECT_EQ(a.width, 300);
  EXPECT_EQ(a.height, renderer.height());
  EXPECT_GT(a.height, 240);
  EXPECT_EQ(a, renderer.Render(input));
  EXPECT_EQ(Crop(a, 0, 0, 300, 240), RenderScatter({.points = &points}, options.scatter));
}

TEST(Layouts, OptionsCheck) {
  RenderOptions options;
  EXPECT_EQ(options.Check(), "");
  options.eps_range = 0;
  EXPECT_NE(options.Check(), "");
  options = {};
  options.grid_samples = 0;
  EXPECT_NE(options.Check(), "");
  options = {};
  options.schedule_plot_height = 50;
  EXPECT_NE(options.Check(), "");
  options = {};
  options.scale = 400;  // 28 * 400 pixels
  EXPECT_THROW(FrameRenderer(options, {.channels = 1, .height = 28, .width = 28}), Error);
}

}  // namespace
}  // namespace diffuscope

// Frame layouts shared by the screen and the exporters: one renderer, so an exported frame equals the frame shown.
//
//   diffuscope::RenderOptions options;
//   options.layout = diffuscope::Layout::kPredictions;       // x_t | x0_hat | eps_hat, labelled
//   options.caption = true;
//   diffuscope::FrameRenderer renderer(options, {.channels = 1, .height = 28, .width = 28}, &schedule);
//   diffuscope::FrameInput input{.x_t = &step.x_t, .x0_hat = &step.x0_hat, .eps_hat = &step.eps_hat, .t = step.t};
//   input.caption = diffuscope::CaptionText(step.t, schedule.alpha_bar(step.t), schedule.snr(step.t));
//   diffuscope::Frame frame = renderer.Render(input);          // every frame has renderer.frame_size()
#pragma once

#include "core/common/types.h"
#include "core/render/frame.h"
#include "core/render/plots.h"
#include "core/schedule/schedule.h"

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace diffuscope {

enum class Layout {
  kImage,        // x_t alone
  kPredictions,  // x_t | x0_hat | eps_hat side by side, labelled
  kSchedule,     // x_t with the schedule plot and its cursor at t underneath
  kGrid,         // several samples of x_t in a grid
  kScatter,      // 2D points, the data set, trajectories and the field
};

/// The command-line name of a layout: "image", "predictions", "schedule", "grid", "scatter".
std::string_view LayoutName(Layout layout);
/// Parses a layout name; nullopt if unknown.
std::optional<Layout> ParseLayout(std::string_view name);
/// Every layout name, for --help and menus.
std::vector<std::string_view> LayoutNames();
/// One line saying what a layout shows, for --help and tooltips.
std::string_view LayoutDescription(Layout layout);

struct RenderOptions {
  Layout layout = Layout::kImage;
  int scale = 0;           // image layouts: each image pixel becomes scale x scale frame pixels; 0 = auto (min_cell)
  int min_cell = 256;      // auto scale: the smallest integer scale making an image cell at least this many pixels
  int sample = 0;          // the batch row shown by the single-image layouts (image, predictions, schedule)
  int grid_samples = 16;   // grid: cells (rows 0..grid_samples-1 of x_t; missing rows stay empty)
  int grid_columns = 0;    // grid: 0 = ceil(sqrt(grid_samples))
  float eps_range = 3.0f;  // eps_hat is shown on the symmetric scale [-eps_range, eps_range]
  bool labels = true;      // predictions: "x_t", "x0_hat", "eps_hat" over the panels
  bool caption = false;    // a caption strip under every frame, text from FrameInput::caption
  int padding = 8;         // pixels between and around panels (not around the image layout)
  Rgb background{255, 255, 255};
  TextStyle text;                     // labels and caption
  int schedule_plot_height = 0;       // schedule layout: plot height in pixels; 0 = auto (40% of the width, >= 150)
  SchedulePlotOptions schedule_plot;  // schedule layout: curves shown (its width and height are set by the layout)
  ScatterOptions scatter;             // scatter layout: size, fixed axis limits, colours

  /// Empty when valid, else what is wrong, naming the option.
  std::string Check() const;
};

/// What one frame shows. Image layouts read rows of C*H*W channel planes; the scatter layout n x 2 points.
struct FrameInput {
  const Batch* x_t = nullptr;      // required
  const Batch* x0_hat = nullptr;   // predictions layout (an empty panel when null)
  const Batch* eps_hat = nullptr;  // predictions layout (an empty panel when null)
  int t = 0;                       // paper timestep: the schedule cursor
  std::string caption{};           // drawn when RenderOptions::caption, e.g. CaptionText(t, alpha_bar, snr)
  // Scatter layout only (see ScatterContent):
  const Batch* data = nullptr;                // the data set, faint
  std::span<const Batch> history{};           // earlier states, oldest first: trajectories
  const Batch* field_positions = nullptr;     // arrow tails
  const Batch* field_vectors = nullptr;       // arrow vectors
  const ScatterOverlays* overlays = nullptr;  // what the app's view draws over the points (fields, contours, paths)
};

/// Renders frames of one layout; every frame it makes has frame_size().
class FrameRenderer {
 public:
  /// shape: the images' shape (unused by the scatter layout). schedule: required by the schedule layout (its
  /// plot is drawn here once; the schedule is not kept). Throws Error on bad options or a missing schedule.
  FrameRenderer(const RenderOptions& options, const ImageShape& shape, const NoiseSchedule* schedule = nullptr);
  ~FrameRenderer();
  FrameRenderer(FrameRenderer&&) noexcept;
  FrameRenderer& operator=(FrameRenderer&&) noexcept;

  /// One frame. Throws Error when the input does not match the shape (columns, sample row) or is missing.
  Frame Render(const FrameInput& input) const;
  /// Width and height in pixels of every frame.
  int width() const { return width_; }
  int height() const { return height_; }
  /// The image cell scale in use (after auto).
  int scale() const { return scale_; }
  const RenderOptions& options() const { return options_; }

 private:
  Frame Body(const FrameInput& input) const;
  void RequireImages(const Batch* batch, const char* what, int rows_needed) const;

  RenderOptions options_;
  ImageShape shape_;
  int scale_ = 1;
  int cell_w_ = 0, cell_h_ = 0;  // one scaled image
  int body_w_ = 0, body_h_ = 0;  // the frame without caption
  int label_h_ = 0;
  int columns_ = 1, rows_ = 1;  // grid
  int width_ = 0, height_ = 0;
  TextStyle caption_style_;
  std::unique_ptr<SchedulePlot> plot_;
};

}  // namespace diffuscope

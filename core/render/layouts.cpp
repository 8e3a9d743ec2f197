#include "core/render/layouts.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace diffuscope {
namespace {

struct LayoutInfo {
  Layout layout;
  std::string_view name, description;
};

constexpr std::array<LayoutInfo, 5> kLayouts = {{
    {Layout::kImage, "image", "x_t alone"},
    {Layout::kPredictions, "predictions", "x_t | x0_hat | eps_hat side by side, labelled"},
    {Layout::kSchedule, "schedule", "x_t with the schedule plot and a cursor at t underneath"},
    {Layout::kGrid, "grid", "several samples of x_t in a grid"},
    {Layout::kScatter, "scatter", "2D points with the data set, trajectories and the field"},
}};

constexpr int kMaxSide = 8192;

// The widest caption the numbers can make, to size the caption font once per renderer.
constexpr std::string_view kWidestCaption = "t = 10000   alpha_bar = 1.00e-04   SNR = 1.00e-04";

}  // namespace

std::string_view LayoutName(Layout layout) {
  for (const LayoutInfo& info : kLayouts)
    if (info.layout == layout) return info.name;
  return "?";
}

std::optional<Layout> ParseLayout(std::string_view name) {
  for (const LayoutInfo& info : kLayouts)
    if (info.name == name) return info.layout;
  return std::nullopt;
}

std::vector<std::string_view> LayoutNames() {
  std::vector<std::string_view> names;
  for (const LayoutInfo& info : kLayouts) names.push_back(info.name);
  return names;
}

std::string_view LayoutDescription(Layout layout) {
  for (const LayoutInfo& info : kLayouts)
    if (info.layout == layout) return info.description;
  return "";
}

std::string RenderOptions::Check() const {
  if (LayoutName(layout) == "?") return "unknown layout";
  if (scale < 0 || scale > kMaxSide) return "scale must be 0 (auto) or a positive integer";
  if (min_cell < 1 || min_cell > kMaxSide) return "min_cell must be in 1.." + std::to_string(kMaxSide);
  if (sample < 0) return "sample must be >= 0";
  if (grid_samples < 1 || grid_samples > 1024) return "grid_samples must be in 1..1024";
  if (grid_columns < 0 || grid_columns > 1024) return "grid_columns must be 0 (auto) or in 1..1024";
  if (!(std::isfinite(eps_range) && eps_range > 0.0f)) return "eps_range must be a positive number";
  if (padding < 0 || padding > 512) return "padding must be in 0..512 pixels";
  if (!(text.font_scale > 0.05 && text.font_scale < 10) || text.thickness < 1)
    return "text style: font scale must be in (0.05, 10) and thickness >= 1";
  if (schedule_plot_height < 0 || schedule_plot_height > kMaxSide)
    return "schedule_plot_height must be 0 (auto) or in 100.." + std::to_string(kMaxSide);
  if (schedule_plot_height > 0 && schedule_plot_height < 100) return "schedule_plot_height must be at least 100";
  if (layout == Layout::kScatter) {
    const std::string problem = scatter.Check();
    if (!problem.empty()) return problem;
  }
  return {};
}

FrameRenderer::FrameRenderer(const RenderOptions& options, const ImageShape& shape, const NoiseSchedule* schedule)
    : options_(options), shape_(shape) {
  const std::string problem = options.Check();
  Require(problem.empty(), "render options: " + problem);
  const int pad = options.padding;
  if (options.layout == Layout::kScatter) {
    body_w_ = options.scatter.width;
    body_h_ = options.scatter.height;
  } else {
    const std::string shape_problem = shape.Check();
    Require(shape_problem.empty(), shape_problem);
    const int side = std::max(shape.width, shape.height);
    scale_ = options.scale > 0 ? options.scale : std::max(1, (options.min_cell + side - 1) / side);
    Require(static_cast<long long>(scale_) * side <= kMaxSide,
            "scale " + std::to_string(scale_) + " makes images wider than " + std::to_string(kMaxSide) + " pixels");
    cell_w_ = shape.width * scale_;
    cell_h_ = shape.height * scale_;
    switch (options.layout) {
      case Layout::kImage:
        body_w_ = cell_w_;
        body_h_ = cell_h_;
        break;
      case Layout::kPredictions:
        label_h_ = options.labels ? TextSize("x0_hat", options.text).height + 10 : 0;
        body_w_ = 3 * cell_w_ + 4 * pad;
        body_h_ = cell_h_ + 2 * pad + label_h_;
        break;
      case Layout::kSchedule: {
        Require(schedule != nullptr, "the schedule layout needs a noise schedule");
        body_w_ = std::max(cell_w_ + 2 * pad, 360);
        const int plot_h = options.schedule_plot_height > 0 ? options.schedule_plot_height
                                                            : std::max(150, static_cast<int>(body_w_ * 0.4));
        SchedulePlotOptions plot_options = options.schedule_plot;
        plot_options.width = body_w_;
        plot_options.height = plot_h;
        plot_options.background = options.background;
        plot_ = std::make_unique<SchedulePlot>(*schedule, plot_options);
        body_h_ = cell_h_ + 2 * pad + plot_h;
        break;
      }
      case Layout::kGrid:
        columns_ = options.grid_columns > 0
                       ? std::min(options.grid_columns, options.grid_samples)
                       : static_cast<int>(std::ceil(std::sqrt(static_cast<double>(options.grid_samples)) - 1e-9));
        rows_ = (options.grid_samples + columns_ - 1) / columns_;
        body_w_ = columns_ * cell_w_ + (columns_ + 1) * pad;
        body_h_ = rows_ * cell_h_ + (rows_ + 1) * pad;
        break;
      case Layout::kScatter: break;
    }
  }
  width_ = body_w_;
  height_ = body_h_;
  if (options.caption) {
    // Shrink the caption font (once, for every frame) when the widest caption would not fit.
    caption_style_ = options.text;
    const int widest = TextSize(kWidestCaption, caption_style_).width;
    if (widest > body_w_ - 8) caption_style_.font_scale *= std::max(0.2, static_cast<double>(body_w_ - 8) / widest);
    height_ += CaptionHeight(caption_style_);
  }
  Require(width_ <= kMaxSide && height_ <= kMaxSide,
          "frames of " + std::to_string(width_) + "x" + std::to_string(height_) + " pixels exceed " +
              std::to_string(kMaxSide) + ": use a smaller scale or fewer grid samples");
}

FrameRenderer::~FrameRenderer() = default;
FrameRenderer::FrameRenderer(FrameRenderer&&) noexcept = default;
FrameRenderer& FrameRenderer::operator=(FrameRenderer&&) noexcept = default;

void FrameRenderer::RequireImages(const Batch* batch, const char* what, int rows_needed) const {
  Require(batch->cols() == shape_.dim(), std::string(what) + " has " + std::to_string(batch->cols()) +
                                             " columns; images of " + std::to_string(shape_.channels) + "x" +
                                             std::to_string(shape_.height) + "x" + std::to_string(shape_.width) +
                                             " need " + std::to_string(shape_.dim()));
  Require(batch->rows() >= rows_needed, std::string(what) + " has " + std::to_string(batch->rows()) +
                                            " samples; sample " + std::to_string(rows_needed - 1) + " was asked for");
}

Frame FrameRenderer::Body(const FrameInput& input) const {
  Require(input.x_t != nullptr, "a frame needs x_t");
  const int pad = options_.padding;
  const int sample = options_.sample;
  switch (options_.layout) {
    case Layout::kImage:
      RequireImages(input.x_t, "x_t", sample + 1);
      return ImageToFrame(*input.x_t, sample, shape_, scale_);
    case Layout::kPredictions: {
      RequireImages(input.x_t, "x_t", sample + 1);
      Frame body(body_w_, body_h_, options_.background);
      const char* labels[3] = {"x_t", "x0_hat", "eps_hat"};
      const Batch* panels[3] = {input.x_t, input.x0_hat, input.eps_hat};
      for (int k = 0; k < 3; ++k) {
        const int x = pad + k * (cell_w_ + pad);
        if (options_.labels) {
          const cv::Size size = TextSize(labels[k], options_.text);
          DrawText(&body, labels[k], x + (cell_w_ - size.width) / 2, pad + size.height, options_.text);
        }
        if (panels[k] == nullptr) continue;
        RequireImages(panels[k], labels[k], sample + 1);
        const Frame cell = k == 2 ? FieldToFrame(*panels[k], sample, shape_, options_.eps_range, scale_)
                                  : ImageToFrame(*panels[k], sample, shape_, scale_);
        Paste(cell, x, pad + label_h_, &body);
      }
      return body;
    }
    case Layout::kSchedule: {
      RequireImages(input.x_t, "x_t", sample + 1);
      Frame body(body_w_, body_h_, options_.background);
      Paste(ImageToFrame(*input.x_t, sample, shape_, scale_), (body_w_ - cell_w_) / 2, pad, &body);
      Paste(plot_->Render(input.t), 0, cell_h_ + 2 * pad, &body);
      return body;
    }
    case Layout::kGrid: {
      RequireImages(input.x_t, "x_t", 0);
      Frame body(body_w_, body_h_, options_.background);
      const int n = std::min<int>(options_.grid_samples, static_cast<int>(input.x_t->rows()));
      for (int k = 0; k < n; ++k) {
        const int column = k % columns_, row = k / columns_;
        Paste(ImageToFrame(*input.x_t, k, shape_, scale_), pad + column * (cell_w_ + pad), pad + row * (cell_h_ + pad),
              &body);
      }
      return body;
    }
    case Layout::kScatter: {
      ScatterContent content;
      content.points = input.x_t;
      content.background = input.data;
      content.history = input.history;
      content.field_positions = input.field_positions;
      content.field_vectors = input.field_vectors;
      content.overlays = input.overlays;
      return RenderScatter(content, options_.scatter);
    }
  }
  throw Error("unknown layout");
}

Frame FrameRenderer::Render(const FrameInput& input) const {
  Frame body = Body(input);
  if (!options_.caption) return body;
  return AddCaption(body, input.caption, caption_style_, options_.background);
}

}  // namespace diffuscope

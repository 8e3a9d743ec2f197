#include "core/export/figures.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace diffuscope {

Frame TileFrames(const std::vector<std::vector<Frame>>& rows, const std::vector<std::string>& labels, int gap) {
  Require(!rows.empty() && !rows.front().empty(), "a figure needs at least one frame");
  const int cell_w = rows.front().front().width, cell_h = rows.front().front().height;
  for (const auto& row : rows)
    for (const auto& f : row) Require(f.width == cell_w && f.height == cell_h, "figure frames differ in size");
  const TextStyle style{.font_scale = 0.45, .thickness = 1, .colour = {30, 30, 30}};
  const int label_h = labels.empty() ? 0 : TextSize("t = 0", style).height + 10;
  const int columns = static_cast<int>(rows.front().size());
  const int width = columns * cell_w + (columns + 1) * gap;
  const int height = static_cast<int>(rows.size()) * (cell_h + gap) + gap + label_h;
  Frame out(width, height, {255, 255, 255});
  for (size_t r = 0; r < rows.size(); ++r)
    for (size_t c = 0; c < rows[r].size(); ++c)
      Paste(rows[r][c], gap + static_cast<int>(c) * (cell_w + gap), gap + static_cast<int>(r) * (cell_h + gap), &out);
  for (size_t c = 0; c < labels.size() && static_cast<int>(c) < columns; ++c) {
    const cv::Size size = TextSize(labels[c], style);
    DrawText(&out, labels[c], gap + static_cast<int>(c) * (cell_w + gap) + (cell_w - size.width) / 2, height - 7,
             style);
  }
  return out;
}

Frame StripFigure(const AnimationSpec& base, const std::vector<int>& times, const StopFn& stop) {
  Require(!times.empty(), "a strip needs at least one t");
  Require(times.size() <= 64, "a strip shows at most 64 timesteps");
  AnimationSpec spec = base;
  std::vector<int> sorted = times;
  const bool forward = spec.direction == Direction::kForward;
  std::sort(sorted.begin(), sorted.end());
  if (!forward) std::reverse(sorted.begin(), sorted.end());
  // Frames of every visited step between the ends, then the ones asked for.
  spec.from_t = sorted.front();
  spec.to_t = sorted.back();
  spec.times = sorted;
  spec.frames = static_cast<int>(sorted.size());
  spec.render.caption = false;
  spec.render.layout = forward ? Layout::kImage : Layout::kPredictions;
  spec.render.labels = false;
  const AnimationFrames all = RenderAnimation(spec, {}, stop);
  std::vector<Frame> top, bottom;
  std::vector<std::string> labels;
  for (int t : sorted) {
    size_t best = 0;
    for (size_t k = 0; k < all.t.size(); ++k)
      if (std::abs(all.t[k] - t) < std::abs(all.t[best] - t)) best = k;
    const Frame& f = all.frames[best];
    labels.push_back("t = " + std::to_string(all.t[best]));
    if (forward) {
      top.push_back(f);
      continue;
    }
    // The predictions layout is x_t | x0_hat | eps_hat with padding: cut its first two panels.
    const int pad = spec.render.padding;
    const int panel_w = (f.width - 4 * pad) / 3, panel_h = f.height - 2 * pad;
    const cv::Mat m = AsMat(f);
    top.push_back(FrameFromMat(m(cv::Rect(pad, pad, panel_w, panel_h)).clone()));
    bottom.push_back(FrameFromMat(m(cv::Rect(2 * pad + panel_w, pad, panel_w, panel_h)).clone()));
  }
  std::vector<std::vector<Frame>> rows{top};
  if (!bottom.empty()) rows.push_back(bottom);
  return TileFrames(rows, labels);
}

std::string ScheduleSvg(const NoiseSchedule& s, int width, int height) {
  Require(width >= 200 && width <= 8192 && height >= 120 && height <= 8192, "impossible SVG size");
  const int T = s.num_steps();
  const double left = 48, right = width - 16, top = 40, bottom = height - 34;
  auto X = [&](double t) { return left + (right - left) * t / T; };
  auto Y = [&](double v) { return bottom - (bottom - top) * std::clamp(v, 0.0, 1.0); };
  double max_beta = 0;
  double lmin = INFINITY, lmax = -INFINITY;
  for (int t = 1; t <= T; ++t) {
    max_beta = std::max(max_beta, s.beta(t));
    const double l = s.log_snr(t);
    if (std::isfinite(l)) lmin = std::min(lmin, l), lmax = std::max(lmax, l);
  }
  struct Curve {
    const char* name;
    const char* colour;
    std::function<double(int)> value;
  };
  const std::vector<Curve> curves = {
      {"alpha_bar", "#1f77b4", [&](int t) { return s.alpha_bar(t); }},
      {"sqrt(alpha_bar)", "#ff7f0e", [&](int t) { return s.sqrt_alpha_bar(t); }},
      {"sqrt(1-alpha_bar)", "#2ca02c", [&](int t) { return s.sqrt_one_minus_alpha_bar(t); }},
      {"beta / max beta", "#d62728", [&](int t) { return t == 0 ? 0.0 : s.beta(t) / max_beta; }},
      {"log-SNR (normalised)", "#9467bd",
       [&](int t) {
         const double l = t == 0 ? lmax : s.log_snr(t);
         return std::isfinite(l) && lmax > lmin ? (l - lmin) / (lmax - lmin) : 0.0;
       }},
  };
  std::ostringstream svg;
  svg.precision(5);
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << width << " " << height << "\" font-family=\"sans-serif\" font-size=\"11\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<g stroke=\"#999\" fill=\"none\"><rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << right - left
      << "\" height=\"" << bottom - top << "\"/></g>\n";
  for (double v : {0.0, 0.5, 1.0})
    svg << "<text x=\"" << left - 6 << "\" y=\"" << Y(v) + 4 << "\" text-anchor=\"end\">" << v << "</text>\n";
  for (int k = 0; k <= 4; ++k) {
    const int t = T * k / 4;
    svg << "<text x=\"" << X(t) << "\" y=\"" << bottom + 14 << "\" text-anchor=\"middle\">" << t << "</text>\n";
  }
  svg << "<text x=\"" << (left + right) / 2 << "\" y=\"" << height - 4 << "\" text-anchor=\"middle\">t</text>\n";
  double legend_x = left;
  for (const Curve& c : curves) {
    svg << "<polyline fill=\"none\" stroke=\"" << c.colour << "\" stroke-width=\"1.6\" points=\"";
    const int step = std::max(1, T / 1000);
    for (int t = 0; t <= T; t += step) svg << X(t) << "," << Y(c.value(t)) << " ";
    svg << "\"/>\n<rect x=\"" << legend_x << "\" y=\"12\" width=\"14\" height=\"4\" fill=\"" << c.colour << "\"/>"
        << "<text x=\"" << legend_x + 18 << "\" y=\"18\">" << c.name << "</text>\n";
    legend_x += 18 + 7.0 * std::string(c.name).size() + 14;
  }
  svg << "<text x=\"" << right << "\" y=\"" << top - 4 << "\" text-anchor=\"end\" fill=\"#555\">"
      << ScheduleKindName(s.options().kind) << ", T = " << T << ", alpha_bar_T = " << s.alpha_bar(T) << "</text>\n";
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace diffuscope

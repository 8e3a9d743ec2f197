// Still figures: strips of x_t like the DDPM paper's figures, and the schedule plot as SVG.
//
//   auto strip = diffuscope::ForwardStrip(spec, {0, 100, 250, 500, 1000});   // one row of x_t
//   std::string svg = diffuscope::ScheduleSvg(schedule);                      // vector version of the plot
#pragma once

#include "core/export/animation.h"
#include "core/render/frame.h"
#include "core/schedule/schedule.h"

#include <string>
#include <vector>

namespace diffuscope {

/// Frames side by side (rows of columns), each labelled underneath with its text, `gap` pixels apart.
Frame TileFrames(const std::vector<std::vector<Frame>>& rows, const std::vector<std::string>& labels, int gap = 6);

/// The x_t of a job at the given t in a row (forward), or the reverse run's x_t with x0_hat underneath (reverse),
/// each labelled "t = ...". The job's frames/from_t/to_t are replaced by the times asked for.
Frame StripFigure(const AnimationSpec& spec, const std::vector<int>& times, const StopFn& stop = {});

/// The schedule plot (alpha_bar, sqrt(alpha_bar), sqrt(1 - alpha_bar), beta / max beta, normalised log-SNR) as an
/// SVG document, with axes, ticks and a legend; the same curves as SchedulePlot draws.
std::string ScheduleSvg(const NoiseSchedule& schedule, int width = 640, int height = 260);

}  // namespace diffuscope

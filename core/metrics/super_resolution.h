// How a super-resolved image compares with bicubic against the truth: the figures SR3 is judged by (Saharia et
// al. 2021: PSNR, SSIM, consistency with the low-resolution input) and sharpness (gradient energy). One call for
// the app's comparison panels, the command line and the evaluations, so they cannot disagree.
//
//   const auto f = diffuscope::CompareSuperResolution(truth, low, bicubic, output, 3, 128, 128);
//   f.psnr_sr - f.psnr_bicubic;   // dB; f.consistency_sr >= 30 dB: the output shrinks back to its input
//
// Images are one planar row each (C x H x W, pixels in [-1, 1], data range 2); outputs are clamped to [-1, 1]
// first, because that is what a user sees and what is saved.
#pragma once

#include "core/common/types.h"

namespace diffuscope {

/// PSNR over every channel of row 0 of test against row 0 of truth, test clamped to [-1, 1] (dB, data range 2).
double ImagePsnr(const Batch& truth, const Batch& test);
/// The mean over channels of each plane's SSIM (row 0, C x H x W, test clamped to [-1, 1]).
double ImageSsim(const Batch& truth, const Batch& test, int channels, int height, int width);
/// Area-average downscale of planar rows by an integer factor (OpenCV's INTER_AREA: exact block means when the
/// sides are multiples of the factor). Throws Error on a size that is not a multiple.
Batch AreaDownscale(const Batch& rows, int channels, int height, int width, int factor);
/// Mean squared central-difference gradient over interior pixels of every plane of every row: how much fine
/// detail an image holds (bicubic has too little, noise too much).
double GradientEnergy(const Batch& rows, int channels, int height, int width);

struct SuperResolutionFigures {
  double psnr_sr = 0, psnr_bicubic = 0;  // dB against the truth
  double ssim_sr = 0, ssim_bicubic = 0;
  // PSNR of the output area-downscaled back to the input's size against the input (dB): how faithful the output
  // is to what it was given. Bicubic's is finite, not infinite: a cubic is not the inverse of an area average.
  double consistency_sr = 0, consistency_bicubic = 0;
  double gradient_energy_truth = 0, gradient_energy_sr = 0, gradient_energy_bicubic = 0;
};

/// Figures of a super-resolution `output` and its `bicubic` upsample against `truth` (each one row of C x H x W)
/// for the low-resolution input `low` (one row of C x H/f x W/f, f the integer factor). Throws Error on shapes
/// that disagree.
SuperResolutionFigures CompareSuperResolution(const Batch& truth, const Batch& low, const Batch& bicubic,
                                              const Batch& output, int channels, int height, int width);

}  // namespace diffuscope

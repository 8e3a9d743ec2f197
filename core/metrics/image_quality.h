// Full-reference image quality: PSNR and SSIM (Wang, Bovik, Sheikh and Simoncelli 2004), for grey images stored
// as rows of a Batch (pixels in [-1, 1] inside the core, so the data range is 2 by default).
//
//   double p = diffuscope::Psnr(truth_row, output_row);                 // dB, data range 2
//   double s = diffuscope::Ssim(truth_row, output_row, 20, 20);         // 11x11 Gaussian window, sigma 1.5
//   double mean_p = diffuscope::MeanPsnr(truth, outputs);               // mean over rows
//
// SSIM follows the reference implementation of the paper: local means, variances and covariance weighted by a
// normalised 11x11 Gaussian window (sigma 1.5) over every position where the window fits inside the image
// ('valid'), C1 = (0.01 L)^2, C2 = (0.03 L)^2 with L the data range, and the mean of the SSIM map.
#pragma once

#include "core/common/types.h"

#include <span>

namespace diffuscope {

/// The side of SSIM's Gaussian window and its standard deviation (pixels).
inline constexpr int kSsimWindow = 11;
inline constexpr double kSsimSigma = 1.5;

/// Peak signal-to-noise ratio of `test` against `truth` (same length): 10 log10(range^2 / MSE) in dB; +infinity
/// when they are equal. Throws Error on different or zero lengths, non-finite values or range <= 0.
double Psnr(std::span<const float> truth, std::span<const float> test, double data_range = 2.0);
/// Mean SSIM of the grey height x width image `test` against `truth` (row-major, same size): 1 for identical
/// images. Throws Error when the sizes disagree, the image is smaller than the 11x11 window, a value is not
/// finite, or range <= 0.
double Ssim(std::span<const float> truth, std::span<const float> test, int height, int width, double data_range = 2.0);

/// Mean over rows of the PSNR of each row of test against the same row of truth (dB). Rows that are equal count
/// as 100 dB (so the mean stays finite). Throws Error on shape mismatch.
double MeanPsnr(const Batch& truth, const Batch& test, double data_range = 2.0);
/// Mean over rows of Ssim (each row a grey height x width image). Throws Error on shape mismatch.
double MeanSsim(const Batch& truth, const Batch& test, int height, int width, double data_range = 2.0);

}  // namespace diffuscope

// The quality figures of the photo models on photographs they never saw (issue 8):
// - denoising: x0_hat of ddpm-photo at given t against the better of OpenCV's non-local means and a Gaussian blur,
//   each tuned per image with the true noise level (the best of a grid: generous to the baselines), and a reverse
//   run from t0 against the noisy input; PSNR in dB on [-1, 1] pixels (peak-to-peak 2);
// - super-resolution: SR3 x4 on crops from their area-downscaled views against bicubic: PSNR, SSIM, consistency
//   (the output area-downscaled against the input) and gradient energy against the truth's.
// The noisy input a user sees is y = x_t / sqrt(alpha_bar_t) = x_0 + sigma eps, sigma = sqrt((1 - abar) / abar):
// that is what the baselines denoise and what "noisy" PSNR measures.
#pragma once

#include "core/common/types.h"
#include "core/data/image_io.h"
#include "core/models/photo_models.h"
#include "core/sampling/sampler.h"

#include <functional>
#include <vector>

namespace diffuscope {

struct PhotoDenoiseFigures {
  int t = 0;
  double sigma = 0.0;        // noise standard deviation of y on [-1, 1] pixels
  double psnr_noisy = 0.0;   // y against x_0
  double psnr_x0_hat = 0.0;  // the model's x0_hat (one network evaluation)
  double psnr_nlm = 0.0;     // fastNlMeansDenoising(Colored), best h of the grid per image
  double psnr_blur = 0.0;    // Gaussian blur, best sigma of the grid per image
};

struct PhotoDenoiseEvaluation {
  int images = 0;
  std::vector<PhotoDenoiseFigures> at;  // one per t asked
  int reverse_t0 = 0, reverse_steps = 0;
  double psnr_reverse_noisy = 0.0;  // y at t0
  double psnr_reverse = 0.0;        // the reverse run's result (DDIM, eta 0, x_0 clipped)
};

/// Means over photos (each its own size) of the figures above, with the model's schedule, noise from seed.
PhotoDenoiseEvaluation EvaluatePhotoDenoising(PhotoDdpmModel& model, const std::vector<Image>& photos,
                                              const std::vector<int>& times, int reverse_t0, int reverse_steps,
                                              uint64_t seed, const ProgressFn& progress = {}, const StopFn& stop = {});

struct PhotoSrEvaluation {
  int crops = 0, side = 0, factor = 0;
  double psnr_sr3 = 0.0, psnr_bicubic = 0.0;
  double ssim_sr3 = 0.0, ssim_bicubic = 0.0;
  double consistency_sr3 = 0.0, consistency_bicubic = 0.0;  // PSNR of the area-downscaled output vs the input
  double gradient_energy_truth = 0.0, gradient_energy_sr3 = 0.0, gradient_energy_bicubic = 0.0;
};

/// SR3 x factor on `per_photo` side x side crops of each photo (evenly placed), from their area-downscaled
/// views, with sampler (seeded by seed); samples > 1 scores the mean of that many chains (SuperResolvePhoto).
PhotoSrEvaluation EvaluatePhotoSr(Sr3PhotoModel& model, const std::vector<Image>& photos, int side, int per_photo,
                                  const SamplerOptions& sampler, uint64_t seed, const ProgressFn& progress = {},
                                  const StopFn& stop = {}, int samples = 1);

/// SR3's sampler for photos: DDPM, 100 trailing steps, x_0 clipped.
SamplerOptions Sr3PhotoDefaultSampler();

/// Most chains SuperResolvePhoto averages.
inline constexpr int kMaxSrSamples = 64;

/// Super-resolves one low-resolution image (channels x height x width planes) by the model's factor; the
/// observer sees every step of every chain (x_t, x0_hat: the watched refinement; chain k's steps come k-th).
/// samples > 1 returns the mean of that many chains from independent x_T and step noise: the posterior mean,
/// which trades SR3's plausible but invented detail for fidelity. One sample's expected squared error is the
/// posterior mean's plus the posterior variance, so the mean of K keeps 1/K of that excess (PSNR rises towards
/// the posterior mean's). Chain 0 is the one-sample run, bit for bit; chain k starts from row k of
/// InitialNoise(samples, ..., seed) and draws its step noise from SrChainSeed(sampler.seed, k).
Batch SuperResolvePhoto(Sr3PhotoModel& model, const Image& low, const SamplerOptions& sampler, uint64_t seed,
                        const std::function<void(const Step&)>& observer = {}, const StopFn& stop = {},
                        int samples = 1);
/// The step-noise seed of chain k of a mean of samples (k = 0: the seed itself).
uint64_t SrChainSeed(uint64_t seed, int chain);

}  // namespace diffuscope

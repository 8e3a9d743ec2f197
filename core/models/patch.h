// A training-free image denoiser: the closed-form "local" denoiser of Kamb & Ganguli 2024 ("An analytic
// theory of creativity in convolutional diffusion models") and Niedoba et al. 2024 ("Towards a mechanistic
// explanation of diffusion model generalization"). Each pixel's E[x_0 | x_t] is the posterior mean of the
// centre of a k x k patch over a bank of clean patches {p_i}, given the k x k patch P_t of x_t around it:
//
//   x0_hat(pixel) = sum_i w_i centre(p_i),   w_i = softmax_i( -|P_t - sqrt(abar) p_i|^2 / (2 (1 - abar)) )
//
// i.e. the empirical denoiser (exact.h) applied to patches instead of whole images. Samples made with it
// are new images built from locally plausible patches: the papers' account of how convolutional diffusion
// models create, where the whole-image empirical denoiser can only copy its training images.
//
//   std::vector<diffuscope::Image> sources = diffuscope::SamplePatchSources(3);  // the bundled photographs
//   diffuscope::PatchDenoiser patch(sources, /*channels=*/3, /*height=*/256, /*width=*/256);
//   diffuscope::Batch x = diffuscope::Sample(schedule, patch, sampler_options, noised_photo, {}, {}, nullptr, t0);
//   diffuscope::PatchDenoiser self({clean_photo}, 3, 256, 256);   // oracle-like: the bank is the photo itself
//
// The bank is by default a random subset of the patches of the bundled sample photographs
// (resources/images): images other than the one being denoised, so the model knows natural image patches
// but not the answer. Passing the clean image itself as the source (`{photo}`) is an oracle-like bank that
// can rebuild that image exactly; it is an explicit choice, never the default.
//
// Speed (256 x 256 RGB, one Predict well under a second on 2 cores): a random bank of a few thousand
// patches, distances in the bank's top principal components (the noise in the discarded directions is the
// same for every bank patch, so it cancels in the softmax), and query patches every `stride` pixels, each
// estimating the (2 stride - 1)^2 block around its centre; overlapping block estimates are blended with
// bilinear (tent) weights, which sum to 1 at every pixel. stride = 1 is the per-pixel estimator exactly.
#pragma once

#include "core/common/types.h"
#include "core/data/image_io.h"
#include "core/models/denoiser.h"

#include <cstdint>
#include <string>
#include <vector>

namespace diffuscope {

struct PatchDenoiserOptions {
  int patch_size = 7;    // k: patches are k x k pixels (odd, 1..31)
  int stride = 2;        // a query patch every `stride` pixels (1 = every pixel, exact); at most (k + 1) / 2
  int bank_size = 4096;  // patches drawn at random, without replacement, from the sources; 0 = every patch
  int pca_dims = 32;     // distances in the bank's top pca_dims principal components; 0 (or >= C k k) = exact
  uint64_t seed = 0;     // which patches the bank draws (Stream::kData)
  /// Empty when valid, else what is wrong, naming the option.
  std::string Check() const;
  bool operator==(const PatchDenoiserOptions&) const = default;
};

class PatchDenoiser : public Denoiser {
 public:
  /// Builds the bank from every k x k patch position of `sources` (any sizes; converted to `channels`,
  /// sources smaller than k are skipped) and sets the image size it denoises. Throws Error on bad options,
  /// channels other than 1 or 3, a bad size, non-finite sources, or sources with no k x k patch.
  PatchDenoiser(const std::vector<Image>& sources, int channels, int height, int width,
                const PatchDenoiserOptions& options = {});

  std::string name() const override;
  /// x0_hat for every row of x_t (channels x height x width images); kX0.
  Prediction Predict(const Batch& x_t, const DenoiseQuery& query) override;
  int dimension() const override { return channels_ * height_ * width_; }

  /// E[x_0 | x_t] per pixel at alpha_bar in [0, 1] (0 gives the bank's mean centre everywhere). Throws Error
  /// if x_t's columns are not channels x height x width or x_t holds NaN or infinity.
  Batch PosteriorMean(const Batch& x_t, double alpha_bar) const;
  /// Denoise images of another size with the same bank (the bank does not depend on the image size).
  void SetImageSize(int height, int width);

  int channels() const { return channels_; }
  int height() const { return height_; }
  int width() const { return width_; }
  const PatchDenoiserOptions& options() const { return options_; }
  /// Patches in the bank (M).
  int bank_patches() const { return static_cast<int>(bank_coords_.rows()); }
  /// Patch positions the sources offered (the bank draws M of these).
  long long source_patches() const { return source_patches_; }
  /// Dimensions the distances are computed in (pca_dims, or C k k when exact).
  int distance_dims() const { return static_cast<int>(bank_coords_.cols()) - 1; }
  /// Fraction of the bank's variance inside those dimensions (1 when exact).
  double explained_variance() const { return explained_variance_; }

 private:
  PatchDenoiserOptions options_;
  int channels_ = 0, height_ = 0, width_ = 0;
  int block_ = 1;  // 2 stride - 1: the side of the block each query patch estimates
  long long source_patches_ = 0;
  double explained_variance_ = 1;
  Eigen::VectorXf mean_;         // D = C k k: the bank's mean patch
  Eigen::MatrixXf basis_;        // D x d principal directions (empty when exact)
  Eigen::MatrixXf bank_coords_;  // M x (d + 1): centred bank patches in the basis (d = D when exact), |.|^2
  Eigen::MatrixXf bank_blocks_;  // M x (C block^2 + 1): each patch's central block (the values averaged), 1
};

/// The default bank's sources: the bundled sample photographs (ResourcePath("images"), every image file),
/// with `channels` channels, each shrunk (area average) so that its longer side is at most max_side pixels.
/// `exclude`: the file being denoised, left out if it is one of them (same file, or identical bytes), so that
/// the default bank never holds the answer. Throws Error if the folder is missing or has no readable image.
std::vector<Image> SamplePatchSources(int channels, int max_side = 256, const std::string& exclude = {});

}  // namespace diffuscope

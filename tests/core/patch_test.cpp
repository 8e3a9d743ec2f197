// The training-free patch denoiser (Kamb & Ganguli 2024 / Niedoba et al. 2024): exact limits, ranges,
// determinism, and a reverse run that rebuilds an image from its own patches.
#include "core/models/patch.h"

#include "core/data/image_set.h"
#include "core/forward/forward.h"
#include "core/random/random.h"
#include "core/sampling/sampler.h"
#include "core/schedule/schedule.h"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include <cmath>
#include <filesystem>
#include <limits>

namespace diffuscope {
namespace {

Batch Normals(Eigen::Index rows, Eigen::Index cols, uint64_t seed) {
  Batch z(rows, cols);
  FillNormal({seed, Stream::kUser, 0}, 0, std::span<float>(z.data(), z.size()));
  return z;
}

// A channels x size x size image with pixels uniform in [-1, 1]: its k x k patches are all far apart.
Image RandomImage(int channels, int size, uint64_t seed) {
  Image image;
  image.channels = channels;
  image.height = image.width = size;
  image.pixels.resize(1, static_cast<Eigen::Index>(channels) * size * size);
  FillUniform({seed, Stream::kUser, 1}, 0, std::span<float>(image.pixels.data(), image.pixels.size()));
  image.pixels = image.pixels.array() * 2.0f - 1.0f;
  return image;
}

// A crop of a bundled photograph, shrunk: natural structure, so that principal components matter.
Image PhotoCrop(int channels, int size) {
  std::vector<Image> sources = SamplePatchSources(channels, 4 * size);
  Image photo = CropToAspect(sources.front(), 1, 1);
  return ResizeImage(photo, size, size);
}

double Psnr(const Batch& a, const Batch& b) {  // pixels in [-1, 1]: the peak-to-peak range is 2
  const double mse = (a - b).array().square().mean();
  return 10.0 * std::log10(4.0 / mse);
}

TEST(PatchDenoiser, OptionsAreChecked) {
  PatchDenoiserOptions options;
  EXPECT_EQ(options.Check(), "");
  options.patch_size = 4;
  EXPECT_NE(options.Check(), "");
  options = {};
  options.stride = 5;  // a 9 x 9 block does not fit a 7 x 7 patch
  EXPECT_NE(options.Check(), "");
  options = {};
  options.bank_size = -1;
  EXPECT_NE(options.Check(), "");
  options = {};
  options.pca_dims = -2;
  EXPECT_NE(options.Check(), "");
  const std::vector<Image> sources = {RandomImage(1, 8, 1)};
  EXPECT_THROW(PatchDenoiser(sources, 1, 8, 8, options), Error);
  EXPECT_THROW(PatchDenoiser(sources, 2, 8, 8), Error);
  EXPECT_THROW(PatchDenoiser(sources, 1, 0, 8), Error);
  EXPECT_THROW(PatchDenoiser({}, 1, 8, 8), Error);
  Image nan = sources.front();
  nan.pixels(0, 5) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(PatchDenoiser({nan}, 1, 8, 8), Error);
}

TEST(PatchDenoiser, BadInputsAreErrors) {
  PatchDenoiser patch({RandomImage(3, 8, 2)}, 3, 8, 8);
  EXPECT_EQ(patch.dimension(), 3 * 8 * 8);
  EXPECT_THROW(patch.PosteriorMean(Batch::Zero(1, 3 * 8 * 7), 0.5), Error);
  EXPECT_THROW(patch.PosteriorMean(Batch::Zero(1, 3 * 64), 1.5), Error);
  EXPECT_THROW(patch.PosteriorMean(Batch::Zero(1, 3 * 64), -0.1), Error);
  Batch nan = Batch::Zero(1, 3 * 64);
  nan(0, 7) = std::numeric_limits<float>::infinity();
  EXPECT_THROW(patch.PosteriorMean(nan, 0.5), Error);
  patch.SetImageSize(5, 9);
  EXPECT_EQ(patch.dimension(), 3 * 5 * 9);
  EXPECT_EQ(patch.PosteriorMean(Batch::Zero(2, 3 * 45), 0.5).rows(), 2);
}

// At alpha_bar -> 1 (t = 1 of the DDPM linear schedule: 1 - abar = 1e-4) the posterior collapses on the bank
// patch nearest to x_t / sqrt(abar). For an image whose every patch is in the bank that is the image itself,
// i.e. x_t / sqrt(abar) up to the noise sqrt((1 - abar) / abar) eps.
TEST(PatchDenoiser, NearZeroNoiseReturnsTheBankImage) {
  NoiseSchedule schedule;
  const double a = schedule.alpha_bar(1);
  const double noise_sd = std::sqrt((1.0 - a) / a);
  for (const int channels : {1, 3}) {
    for (const int stride : {1, 2, 3, 4}) {
      const Image image = RandomImage(channels, 24, 10 + channels);
      PatchDenoiserOptions options;
      options.bank_size = 0;  // every patch
      options.pca_dims = 0;   // exact distances
      options.stride = stride;
      PatchDenoiser patch({image}, channels, 24, 24, options);
      EXPECT_EQ(patch.bank_patches(), 24 * 24);
      const Batch x0 = image.pixels.replicate(2, 1);
      const Batch x_t = ForwardClosed(schedule, 1, x0, Normals(2, x0.cols(), 3));
      DenoiseQuery query;
      query.t = 1;
      query.alpha_bar = a;
      const Prediction prediction = patch.Predict(x_t, query);
      EXPECT_EQ(prediction.kind, PredictionKind::kX0);
      EXPECT_LT((prediction.value - x0).cwiseAbs().maxCoeff(), 1e-5f) << channels << " " << stride;
      // 6 standard deviations of the noise bound |x0 - x_t / sqrt(abar)| over these few thousand pixels.
      const Batch rescaled = x_t / static_cast<float>(std::sqrt(a));
      EXPECT_LT((prediction.value - rescaled).cwiseAbs().maxCoeff(), 6.0 * noise_sd);
    }
  }
}

TEST(PatchDenoiser, PrincipalComponentDistancesKeepTheNearestPatch) {
  NoiseSchedule schedule;
  const double a = schedule.alpha_bar(1);
  const Image image = PhotoCrop(3, 32);
  PatchDenoiserOptions options;
  options.bank_size = 0;
  options.pca_dims = 48;
  PatchDenoiser patch({image}, 3, 32, 32, options);
  EXPECT_EQ(patch.distance_dims(), 48);
  EXPECT_GT(patch.explained_variance(), 0.95);
  EXPECT_LE(patch.explained_variance(), 1.0);
  const Batch x_t = ForwardClosed(schedule, 1, image.pixels, Normals(1, image.pixels.cols(), 4));
  const Batch out = patch.PosteriorMean(x_t, a);
  const Batch rescaled = x_t / static_cast<float>(std::sqrt(a));
  // In the subspace the true patch is the noise's projection away (|.| ~ 0.01 sqrt(48)), every other patch of
  // this textured crop much further: the posterior still collapses on the image itself.
  EXPECT_LT((out - image.pixels).cwiseAbs().maxCoeff(), 1e-5f);
  EXPECT_LT((out - rescaled).cwiseAbs().maxCoeff(), 6.0 * std::sqrt((1.0 - a) / a));
}

// The estimate is a convex combination of bank pixels: finite and inside the bank's range at every noise
// level; at alpha_bar = 0 every weight is equal and the image becomes (nearly) the bank's mean colour.
TEST(PatchDenoiser, OutputIsAConvexCombinationOfBankPixels) {
  const std::vector<Image> sources = SamplePatchSources(3, 96);
  ASSERT_GE(sources.size(), 4u);
  float lo = 1, hi = -1;
  for (const Image& s : sources) {
    lo = std::min(lo, s.pixels.minCoeff());
    hi = std::max(hi, s.pixels.maxCoeff());
  }
  PatchDenoiser patch(sources, 3, 40, 48);
  EXPECT_EQ(patch.bank_patches(), 4096);
  EXPECT_GT(patch.source_patches(), 4096);
  NoiseSchedule schedule;
  const Batch x0 = ResizeImage(CropToAspect(sources.back(), 48, 40), 48, 40).pixels;
  for (const int t : {1, 50, 300, 700, 1000}) {
    const Batch x_t = ForwardClosed(schedule, t, x0, Normals(1, x0.cols(), 5 + t));
    const Batch out = patch.PosteriorMean(x_t, schedule.alpha_bar(t));
    ASSERT_TRUE(out.allFinite()) << t;
    EXPECT_GE(out.minCoeff(), lo - 1e-5f) << t;
    EXPECT_LE(out.maxCoeff(), hi + 1e-5f) << t;
  }
  // alpha_bar = 0: uniform weights, so each pixel is a bank mean; the bank means of the pixels of a block
  // differ only by sampling noise over 4096 patches (sd ~ 0.6 / 64 ~ 0.01).
  const Batch flat = patch.PosteriorMean(Normals(1, x0.cols(), 6), 0.0);
  for (int c = 0; c < 3; ++c) {
    const auto plane = flat.row(0).segment(c * 40 * 48, 40 * 48);
    EXPECT_LT(plane.maxCoeff() - plane.minCoeff(), 0.06f) << c;
  }
}

TEST(PatchDenoiser, SameSeedSameBitsOnAnyThreadCount) {
  const std::vector<Image> sources = SamplePatchSources(1, 64);
  PatchDenoiserOptions options;
  options.bank_size = 1000;
  options.seed = 9;
  PatchDenoiser a(sources, 1, 33, 31, options), b(sources, 1, 33, 31, options);
  const Batch x_t = Normals(3, 33 * 31, 7) * 0.8f;
  const int threads = cv::getNumThreads();
  const Batch one = a.PosteriorMean(x_t, 0.4);
  cv::setNumThreads(1);
  const Batch serial = b.PosteriorMean(x_t, 0.4);
  cv::setNumThreads(threads);
  EXPECT_EQ(one, serial);
  options.seed = 10;
  PatchDenoiser other(sources, 1, 33, 31, options);
  EXPECT_NE(other.PosteriorMean(x_t, 0.4), one);
  // Each row of a batch is denoised on its own.
  EXPECT_EQ(a.PosteriorMean(x_t.middleRows(1, 1), 0.4), one.middleRows(1, 1));
}

// With the clean image itself as the bank (the oracle-like choice), an SDEdit run (noise to t0, then a few
// DDIM steps back) rebuilds the image closer than the noised input was. Both PSNRs are measured.
TEST(PatchDenoiser, ReverseRunFromItsOwnPatchesRebuildsTheImage) {
  NoiseSchedule schedule;
  for (const int channels : {1, 3}) {
    const Image image = PhotoCrop(channels, 48);
    PatchDenoiser patch({image}, channels, 48, 48);  // default options: random bank, PCA distances, stride 2
    for (const int t0 : {100, 300}) {
      const Batch x_t = ForwardClosed(schedule, t0, image.pixels, Normals(1, image.pixels.cols(), 11 + t0));
      SamplerOptions options;
      options.kind = SamplerKind::kDdim;
      options.num_steps = 8;
      const Batch x0 = Sample(schedule, patch, options, x_t, {}, {}, nullptr, t0);
      const double noised = Psnr(x_t, image.pixels);
      const double rescaled = Psnr(x_t / static_cast<float>(schedule.sqrt_alpha_bar(t0)), image.pixels);
      const double rebuilt = Psnr(x0, image.pixels);
      EXPECT_GT(rebuilt, std::max(noised, rescaled)) << "channels " << channels << " t0 " << t0;
      RecordProperty("psnr_c" + std::to_string(channels) + "_t" + std::to_string(t0),
                     std::to_string(rebuilt) + " vs noised " + std::to_string(std::max(noised, rescaled)));
      std::printf("channels %d t0 %d: PSNR rebuilt %.2f dB, noised x_t %.2f dB, x_t / sqrt(abar) %.2f dB\n", channels,
                  t0, rebuilt, noised, rescaled);
    }
  }
}

TEST(PatchDenoiser, SamplePhotosAreTheDefaultSources) {
  const std::vector<Image> rgb = SamplePatchSources(3, 128);
  ASSERT_GE(rgb.size(), 4u);
  for (const Image& image : rgb) {
    EXPECT_EQ(image.channels, 3);
    EXPECT_LE(std::max(image.width, image.height), 128);
    EXPECT_EQ(std::max(image.width, image.height), 128);  // every bundled photo is larger than 128
  }
  const std::vector<Image> grey = SamplePatchSources(1);
  EXPECT_EQ(grey.front().channels, 1);
  EXPECT_THROW(SamplePatchSources(2), Error);
}

// The photo being denoised never joins the default bank: by path, or as a copy with identical bytes.
TEST(PatchDenoiser, SampleSourcesLeaveOutTheImageBeingDenoised) {
  const std::string folder = std::string(DIFFUSCOPE_RESOURCES) + "/images";
  const std::vector<std::string> files = ListImageFiles(folder);
  const std::vector<Image> all = SamplePatchSources(3, 64);
  ASSERT_EQ(all.size(), files.size());
  const std::vector<Image> without = SamplePatchSources(3, 64, files.front());
  ASSERT_EQ(without.size(), files.size() - 1);
  EXPECT_EQ(without.front().pixels, all[1].pixels);
  const std::filesystem::path copy = std::filesystem::path(::testing::TempDir()) / "patch_test_copy.img";
  std::filesystem::copy_file(files.back(), copy, std::filesystem::copy_options::overwrite_existing);
  const std::vector<Image> without_copy = SamplePatchSources(3, 64, copy.string());
  ASSERT_EQ(without_copy.size(), files.size() - 1);
  EXPECT_EQ(without_copy.back().pixels, all[all.size() - 2].pixels);
  EXPECT_EQ(SamplePatchSources(3, 64, copy.string() + ".missing").size(), files.size());
}

}  // namespace
}  // namespace diffuscope

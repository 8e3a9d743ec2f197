#include "core/models/photo_eval.h"

#include "core/forward/forward.h"
#include "core/metrics/image_quality.h"
#include "core/metrics/super_resolution.h"
#include "core/models/sr3.h"

#include <opencv2/imgproc.hpp>
#include <opencv2/photo.hpp>

#include <algorithm>
#include <cmath>

namespace diffuscope {
namespace {

// PSNR over the whole row (every channel), data range 2, unclamped: the noisy input is measured as it is.
double RowPsnr(const Batch& truth, const Batch& test) {
  return Psnr(std::span<const float>(truth.data(), truth.size()), std::span<const float>(test.data(), test.size()));
}

cv::Mat PlanesToMat8(const Batch& row, int channels, int height, int width) {
  const long long plane = static_cast<long long>(height) * width;
  cv::Mat out(height, width, channels == 3 ? CV_8UC3 : CV_8UC1);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < channels; ++c) {
        const float v = row(0, c * plane + static_cast<long long>(y) * width + x);
        out.ptr<uint8_t>(y)[x * channels + c] =
            static_cast<uint8_t>(std::clamp(std::lround((v + 1.0f) * 127.5f), 0L, 255L));
      }
  return out;
}

Batch Mat8ToPlanes(const cv::Mat& m) {
  const int channels = m.channels(), height = m.rows, width = m.cols;
  const long long plane = static_cast<long long>(height) * width;
  Batch out(1, channels * plane);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < channels; ++c)
        out(0, c * plane + static_cast<long long>(y) * width + x) = m.ptr<uint8_t>(y)[x * channels + c] / 127.5f - 1.0f;
  return out;
}

Batch BlurPlanes(const Batch& row, int channels, int height, int width, double sigma) {
  const long long plane = static_cast<long long>(height) * width;
  Batch out(1, row.cols());
  for (int c = 0; c < channels; ++c) {
    const cv::Mat src(height, width, CV_32F, const_cast<float*>(row.data()) + c * plane);
    cv::Mat dst(height, width, CV_32F, out.data() + c * plane);
    cv::GaussianBlur(src, dst, cv::Size(0, 0), sigma, sigma, cv::BORDER_REFLECT_101);
  }
  return out;
}

}  // namespace

SamplerOptions Sr3PhotoDefaultSampler() {
  return Sr3DefaultSampler();  // SR3 on digits and photos: DDPM, 100 trailing steps, x_0 clipped
}

PhotoDenoiseEvaluation EvaluatePhotoDenoising(PhotoDdpmModel& model, const std::vector<Image>& photos,
                                              const std::vector<int>& times, int reverse_t0, int reverse_steps,
                                              uint64_t seed, const ProgressFn& progress, const StopFn& stop) {
  Require(!photos.empty(), "evaluation: no photographs");
  const NoiseSchedule& schedule = model.schedule();
  for (int t : times) Require(t >= 1 && t <= schedule.num_steps(), "evaluation: t must be in 1..T");
  PhotoDenoiseEvaluation e;
  e.images = static_cast<int>(photos.size());
  e.at.resize(times.size());
  e.reverse_t0 = reverse_t0;
  e.reverse_steps = reverse_steps;
  const long long total = static_cast<long long>(photos.size()) * (times.size() + (reverse_t0 > 0 ? 1 : 0));
  long long done = 0;
  for (size_t i = 0; i < photos.size(); ++i) {
    const Image& photo = photos[i];
    const int C = photo.channels, H = photo.height, W = photo.width;
    model.SetImageSize(C, H, W);
    const ForwardProcess forward(schedule, photo.pixels, seed + i);
    auto noisy_of = [&](int t, Batch* x_t) {
      *x_t = forward.Closed(t);
      return Batch(*x_t / static_cast<float>(schedule.sqrt_alpha_bar(t)));
    };
    for (size_t k = 0; k < times.size(); ++k) {
      if (stop && stop()) throw Cancelled();
      const int t = times[k];
      PhotoDenoiseFigures& f = e.at[k];
      f.t = t;
      const double ab = schedule.alpha_bar(t);
      f.sigma = std::sqrt((1.0 - ab) / ab);
      Batch x_t;
      const Batch y = noisy_of(t, &x_t);
      f.psnr_noisy += RowPsnr(photo.pixels, y);
      const Batch x0 = model.PredictX0(x_t, ab).cwiseMax(-1.0f).cwiseMin(1.0f);
      f.psnr_x0_hat += RowPsnr(photo.pixels, x0);
      // Non-local means on the 8-bit noisy image, h from the true sigma (grid of multiples, the best kept).
      const cv::Mat y8 = PlanesToMat8(y, C, H, W);
      const double sigma8 = f.sigma * 127.5;
      double best_nlm = -1e9;
      for (double m : {0.4, 0.6, 0.8, 1.0, 1.2}) {
        cv::Mat out;
        const float h = static_cast<float>(m * sigma8);
        if (C == 3) cv::fastNlMeansDenoisingColored(y8, out, h, h, 7, 21);
        else cv::fastNlMeansDenoising(y8, out, h, 7, 21);
        best_nlm = std::max(best_nlm, RowPsnr(photo.pixels, Mat8ToPlanes(out)));
      }
      f.psnr_nlm += best_nlm;
      double best_blur = -1e9;
      for (double s : {0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0})
        best_blur = std::max(best_blur, RowPsnr(photo.pixels, BlurPlanes(y, C, H, W, s)));
      f.psnr_blur += best_blur;
      if (progress) progress(++done, total, "denoising");
    }
    if (reverse_t0 > 0) {
      if (stop && stop()) throw Cancelled();
      Batch x_t;
      const Batch y = noisy_of(reverse_t0, &x_t);
      e.psnr_reverse_noisy += RowPsnr(photo.pixels, y);
      SamplerOptions options;
      options.kind = SamplerKind::kDdim;
      options.num_steps = reverse_steps;
      options.clip_x0 = true;
      options.seed = seed;
      const Batch out = Sample(schedule, model, options, x_t, {}, stop, nullptr, reverse_t0);
      e.psnr_reverse += RowPsnr(photo.pixels, out.cwiseMax(-1.0f).cwiseMin(1.0f));
      if (progress) progress(++done, total, "reverse runs");
    }
  }
  const double n = static_cast<double>(photos.size());
  for (auto& f : e.at) {
    f.psnr_noisy /= n;
    f.psnr_x0_hat /= n;
    f.psnr_nlm /= n;
    f.psnr_blur /= n;
  }
  e.psnr_reverse_noisy /= n;
  e.psnr_reverse /= n;
  return e;
}

uint64_t SrChainSeed(uint64_t seed, int chain) {
  // An odd multiplier (the golden ratio's 64-bit fraction) keeps the chains' seeds apart from seed + 1, seed + 2,
  // which callers use for the next image.
  return seed + static_cast<uint64_t>(chain) * 0x9E3779B97F4A7C15ULL;
}

Batch SuperResolvePhoto(Sr3PhotoModel& model, const Image& low, const SamplerOptions& sampler, uint64_t seed,
                        const std::function<void(const Step&)>& observer, const StopFn& stop, int samples) {
  const int f = model.factor();
  Require(low.channels == 1 || low.channels == 3, "super-resolution takes grey or RGB images");
  Require(samples >= 1 && samples <= kMaxSrSamples,
          "super-resolution: the samples averaged must be 1.." + std::to_string(kMaxSrSamples));
  Require(static_cast<long long>(low.height) * low.width * f * f <= 4096LL * 4096,
          "super-resolution: the output would exceed 4096 x 4096 pixels; crop the input first");
  model.SetImageSize(low.channels, low.height * f, low.width * f);
  const Batch condition = model.Condition(low.pixels, low.channels, low.height, low.width);
  // The chains run one after another: each is the single run's computation, so chain 0 is that run bit for bit,
  // and memory stays one image's whatever the count.
  const Batch x_T = InitialNoise(samples, model.dimension(), seed);
  Batch sum;
  for (int k = 0; k < samples; ++k) {
    SamplerOptions chain = sampler;
    chain.seed = SrChainSeed(sampler.seed, k);
    Batch out = Sample(model.schedule(), model, chain, x_T.row(k), observer, stop, &condition);
    if (samples == 1) return out;
    // Each chain is clamped as it is shown and saved, so the mean is the mean of the pictures.
    out = out.cwiseMax(-1.0f).cwiseMin(1.0f);
    if (k == 0) sum = out;
    else sum += out;
  }
  return sum / static_cast<float>(samples);
}

PhotoSrEvaluation EvaluatePhotoSr(Sr3PhotoModel& model, const std::vector<Image>& photos, int side, int per_photo,
                                  const SamplerOptions& sampler, uint64_t seed, const ProgressFn& progress,
                                  const StopFn& stop, int samples) {
  const int f = model.factor();
  Require(side >= f && side % f == 0, "evaluation: the crop side must be a multiple of the factor");
  Require(per_photo >= 1, "evaluation: at least one crop per photo");
  PhotoSrEvaluation e;
  e.side = side;
  e.factor = f;
  const long long total = static_cast<long long>(photos.size()) * per_photo;
  for (const Image& photo : photos) {
    Require(photo.height >= side && photo.width >= side, "evaluation: a photograph is smaller than the crop");
    for (int k = 0; k < per_photo; ++k) {
      // Crops evenly along the diagonal.
      const int y0 = per_photo == 1 ? (photo.height - side) / 2 : k * (photo.height - side) / (per_photo - 1);
      const int x0 = per_photo == 1 ? (photo.width - side) / 2 : k * (photo.width - side) / (per_photo - 1);
      const int C = photo.channels;
      const long long plane = static_cast<long long>(photo.height) * photo.width,
                      cplane = static_cast<long long>(side) * side;
      Batch truth(1, C * cplane);
      for (int c = 0; c < C; ++c)
        for (int y = 0; y < side; ++y)
          for (int x = 0; x < side; ++x)
            truth(0, c * cplane + static_cast<long long>(y) * side + x) =
                photo.pixels(0, c * plane + static_cast<long long>(y0 + y) * photo.width + x0 + x);
      Image low;
      low.channels = C;
      low.height = side / f;
      low.width = side / f;
      low.pixels = AreaDownscale(truth, C, side, side, f);
      const Batch bicubic = model.Condition(low.pixels, C, low.height, low.width);
      const Batch sr = SuperResolvePhoto(model, low, sampler, seed + e.crops, {}, stop, samples);
      const SuperResolutionFigures c = CompareSuperResolution(truth, low.pixels, bicubic, sr, C, side, side);
      e.psnr_sr3 += c.psnr_sr;
      e.psnr_bicubic += c.psnr_bicubic;
      e.ssim_sr3 += c.ssim_sr;
      e.ssim_bicubic += c.ssim_bicubic;
      e.consistency_sr3 += c.consistency_sr;
      e.consistency_bicubic += c.consistency_bicubic;
      e.gradient_energy_truth += c.gradient_energy_truth;
      e.gradient_energy_sr3 += c.gradient_energy_sr;
      e.gradient_energy_bicubic += c.gradient_energy_bicubic;
      ++e.crops;
      if (progress) progress(e.crops, total, "super-resolving");
    }
  }
  const double n = std::max(1, e.crops);
  for (double* v :
       {&e.psnr_sr3, &e.psnr_bicubic, &e.ssim_sr3, &e.ssim_bicubic, &e.consistency_sr3, &e.consistency_bicubic,
        &e.gradient_energy_truth, &e.gradient_energy_sr3, &e.gradient_energy_bicubic})
    *v /= n;
  return e;
}

}  // namespace diffuscope

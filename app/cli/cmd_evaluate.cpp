// evaluate: the quality figures of a model (issue 5): sample distance for 2D models, the variational bound for
// Sohl-Dickstein's model.
#include "app/cli/common.h"
#include "core/data/digits.h"
#include "core/data/image_io.h"
#include "core/data/image_set.h"
#include "core/data/points2d.h"
#include "core/metrics/distance2d.h"
#include "core/models/digits_ddpm.h"
#include "core/models/digits_unet.h"
#include "core/models/photo_eval.h"
#include "core/models/registry.h"
#include "core/models/sohl_dickstein.h"
#include "core/models/sr3.h"
#include "core/train/model_file.h"

#include <algorithm>
#include <cstdio>

namespace diffuscope::cli {

Runner AddEvaluateCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("evaluate", "print a model's quality figures");
  struct Args {
    std::string model, data;
    int n = 2000;
    uint64_t seed = 0;
    int sr_samples = 1;
    std::vector<int> times = {40, 100};
    SamplerArgs sampler;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--model", a->model, "a model file or a shipped model name")->required();
  cmd->add_option("--samples", a->sr_samples,
                  "sr3-photo: score the mean of K super-resolution chains (the posterior mean: fidelity over detail)")
      ->capture_default_str()
      ->check(CLI::Range(1, kMaxSrSamples));
  cmd->add_option("--times", a->times, "ddpm-photo: the timesteps t whose one-step x0_hat is scored")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--data", a->data,
                  "2D: the data set to compare with (default: the one the model was trained on); photo models: a "
                  "folder of held-out photographs");
  auto max_side = std::make_shared<int>(0);
  cmd->add_option("--max-side", *max_side, "photo models: shrink larger photographs to this side first (0 = keep)");
  cmd->add_option("--n", a->n, "samples (and fresh data points)")->capture_default_str();
  cmd->add_option("--seed", a->seed, "random seed")->capture_default_str();
  AddSamplerOptions(cmd, &a->sampler);
  return [a, cmd, max_side] {
    OpenedModel opened = OpenModel(a->model, {});
    const ModelFile file = LoadModelFile(opened.file);
    std::printf("model: %s (%s, %lld updates)\n", opened.description.c_str(), file.model_type.c_str(),
                file.trained_steps);
    if (file.model_type == kPhotoDdpmModelType || file.model_type == kSr3PhotoModelType) {
      Require(!a->data.empty(), "give --data FOLDER: photographs the model never saw");
      std::vector<Image> photos;
      ImageLoadOptions load;
      if (*max_side > 0) {
        load.downscale_if_too_large = true;
        load.max_pixels = static_cast<long long>(*max_side) * *max_side;
      }
      for (const std::string& f : ListImageFiles(a->data)) photos.push_back(LoadImage(f, load));
      Require(!photos.empty(), "no images in '" + a->data + "'");
      auto progress = TerminalProgress("evaluating");
      if (file.model_type == kPhotoDdpmModelType) {
        auto& model = dynamic_cast<PhotoDdpmModel&>(*opened.denoiser);
        const PhotoDenoiseEvaluation e = EvaluatePhotoDenoising(model, photos, a->times, 100, 50, a->seed, progress);
        std::printf("%d held-out photographs; PSNR in dB (noisy = x_t / sqrt(alpha_bar_t) = x_0 + sigma eps)\n",
                    e.images);
        std::printf("  t   sigma(8-bit)  noisy   x0_hat   NLM(best h)  blur(best)  x0_hat - best baseline\n");
        for (const auto& f : e.at)
          std::printf("%4d  %10.1f  %6.2f  %7.2f  %10.2f  %10.2f  %+8.2f\n", f.t, f.sigma * 127.5, f.psnr_noisy,
                      f.psnr_x0_hat, f.psnr_nlm, f.psnr_blur, f.psnr_x0_hat - std::max(f.psnr_nlm, f.psnr_blur));
        std::printf("reverse run from t0 = %d, %d DDIM steps: %.2f dB from %.2f (gain %+.2f dB)\n", e.reverse_t0,
                    e.reverse_steps, e.psnr_reverse, e.psnr_reverse_noisy, e.psnr_reverse - e.psnr_reverse_noisy);
      } else {
        auto& model = dynamic_cast<Sr3PhotoModel&>(*opened.denoiser);
        // The model's own sampler unless the command line names one (as `sr` does).
        SamplerOptions sampler = cmd->count("--sampler") || cmd->count("--sampling-steps")
                                     ? a->sampler.ToOptions(a->seed)
                                     : Sr3PhotoDefaultSampler();
        sampler.seed = a->seed;
        const PhotoSrEvaluation e =
            EvaluatePhotoSr(model, photos, 128, 4, sampler, a->seed, progress, {}, a->sr_samples);
        std::printf("%d crops %dx%d from their %dx%d area-downscaled views", e.crops, e.side, e.side, e.side / e.factor,
                    e.side / e.factor);
        if (a->sr_samples > 1) std::printf("; SR3 is the mean of %d samples", a->sr_samples);
        std::printf("\n");
        std::printf("            PSNR (dB)  SSIM    consistency (dB)  gradient energy (truth %.5f)\n",
                    e.gradient_energy_truth);
        std::printf("SR3         %8.2f  %6.4f  %8.2f          %.5f\n", e.psnr_sr3, e.ssim_sr3, e.consistency_sr3,
                    e.gradient_energy_sr3);
        std::printf("bicubic     %8.2f  %6.4f  %8.2f          %.5f\n", e.psnr_bicubic, e.ssim_bicubic,
                    e.consistency_bicubic, e.gradient_energy_bicubic);
      }
      return 0;
    }
    if (file.model_type == kSr3DigitsModelType) {
      auto& sr3 = dynamic_cast<Sr3Model&>(*opened.denoiser);
      const DigitsSplit split = SplitDigits(LoadDigits());
      const int n = std::min<int>(a->n, static_cast<int>(split.test.rows()));
      const Sr3Evaluation e = EvaluateSr3(sr3, split.test.topRows(n), Sr3DefaultSampler(), a->seed);
      std::printf("%d held-out digits, %d x %d -> %d x %d\n", e.images, sr3.low_side(), sr3.low_side(), sr3.side(),
                  sr3.side());
      std::printf("            PSNR (dB)  SSIM    consistency PSNR (dB)\n");
      std::printf("SR3         %8.2f  %6.4f  %8.2f\n", e.psnr_sr3, e.ssim_sr3, e.consistency_psnr_sr3);
      std::printf("bicubic     %8.2f  %6.4f  %8.2f\n", e.psnr_bicubic, e.ssim_bicubic, e.consistency_psnr_bicubic);
      return 0;
    }
    if (file.model_type == kDigitsDdpmModelType || file.model_type == kDigitsUNetModelType) {
      const DigitsSplit split = SplitDigits(LoadDigits());
      const NoiseSchedule schedule(*opened.schedule);
      SamplerOptions options = a->sampler.ToOptions(a->seed);
      const Batch samples =
          Sample(schedule, *opened.denoiser, options, InitialNoise(std::min(a->n, 500), 400, a->seed));
      const DigitsSampleQuality q = EvaluateDigitsSamples(samples, split);
      std::printf("%d samples (%s, %d steps)\n", q.samples, std::string(SamplerKindName(options.kind)).c_str(),
                  options.num_steps ? options.num_steps : schedule.num_steps());
      std::printf("pixel range:                         %.3f .. %.3f\n", q.min_value, q.max_value);
      std::printf("distance to nearest training digit:  mean %.3f, min %.3f (copies: %d)\n", q.nearest_train_mean,
                  q.nearest_train_min, q.copies);
      std::printf("held-out digits, same distance:      mean %.3f, min %.3f\n", q.test_nearest_train_mean,
                  q.test_nearest_train_min);
      std::printf("classes present (5-NN label):        %d of 10:", q.classes_present);
      for (int c : q.class_counts) std::printf(" %d", c);
      std::printf("\n");
      std::printf("recognised (7 of 10 nearest agree):  %.1f%% (held-out real digits: %.1f%%); per class:",
                  100.0 * q.recognised / q.samples, 100.0 * q.test_recognised_fraction);
      for (int c : q.recognised_counts) std::printf(" %d", c);
      std::printf("\n");
      return 0;
    }
    Require(opened.denoiser->dimension() == 2, "evaluate does not know models of type '" + file.model_type + "'");
    const std::string data = a->data.empty() ? ModelData(opened, a->model) : a->data;
    Require(a->n >= 10 && a->n <= 100000, "--n must be in 10..100000");
    const NoiseSchedule schedule(*opened.schedule);
    // The run lives in the model's normalised space; the samples and the data are compared in the data's units.
    const SamplerOptions sampler = a->sampler.ToOptions(a->seed);
    const Batch samples =
        opened.normalization.ToData(Sample(schedule, *opened.denoiser, sampler, InitialNoise(a->n, 2, a->seed)));
    const Batch fresh = GenerateDataset(data, a->n, a->seed + 1000, InDataUnits());
    const Batch train_like = GenerateDataset(data, 20000, a->seed + 2000, InDataUnits());
    const double model_distance = EnergyDistance(samples, fresh);
    const double gaussian_distance = EnergyDistance(FitGaussian(train_like, a->n, a->seed + 3000), fresh);
    std::printf("data: %s; %d samples (%s, %d steps) against %d fresh data points\n", data.c_str(), a->n,
                std::string(SamplerKindName(sampler.kind)).c_str(), schedule.num_steps(), a->n);
    std::printf("energy distance, model:              %.5f\n", model_distance);
    std::printf("energy distance, fitted Gaussian:    %.5f\n", gaussian_distance);
    std::printf("ratio (target <= 0.1):               %.3f\n", model_distance / gaussian_distance);
    if (file.model_type == kSohlDicksteinModelType) {
      auto& model = dynamic_cast<SohlDicksteinModel&>(*opened.denoiser);
      const SohlDicksteinBound bound = EvaluateBound(model, fresh, a->seed, 4);
      std::printf(
          "variational bound on -log p(x_0):    %.4f +- %.4f nats per point (KL %.4f, decoder %.4f, prior %.4f)\n",
          bound.nll, bound.standard_error, bound.kl, bound.decoder, bound.prior);
      std::printf("isotropic Gaussian baseline NLL:     %.4f nats per point\n",
                  IsotropicGaussianNll(train_like, fresh));
      std::printf("full-covariance Gaussian NLL:        %.4f nats per point\n", GaussianNll(train_like, fresh));
    }
    return 0;
  };
}

}  // namespace diffuscope::cli

#include "core/models/patch.h"

#include "core/common/resources.h"
#include "core/data/image_set.h"
#include "core/random/random.h"

#include <Eigen/Eigenvalues>
#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <unordered_set>

namespace diffuscope {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr long long kMaxBankValues = 1LL << 27;  // 512 MB of floats: the largest bank the denoiser builds

// Mirror index (OpenCV's BORDER_REFLECT_101: ... 2 1 | 0 1 2 ... n-1 | n-2 ...), for any i.
int Reflect(int i, int n) {
  if (n == 1) return 0;
  const int period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

// The k x k patch (channel planes, rows, columns) of a channels x height x width image centred on (cy, cx),
// borders mirrored, into out[0 .. C k k).
void GatherPatch(const float* image, int channels, int height, int width, int k, int cy, int cx, float* out) {
  const int r = k / 2;
  int rows[32], cols[32];
  for (int d = 0; d < k; ++d) {
    rows[d] = Reflect(cy - r + d, height);
    cols[d] = Reflect(cx - r + d, width);
  }
  const bool inside_x = cx - r >= 0 && cx + r < width;
  for (int c = 0; c < channels; ++c) {
    const float* plane = image + static_cast<size_t>(c) * height * width;
    for (int dy = 0; dy < k; ++dy) {
      const float* row = plane + static_cast<size_t>(rows[dy]) * width;
      if (inside_x) {
        std::copy(row + cx - r, row + cx + r + 1, out);
      } else {
        for (int dx = 0; dx < k; ++dx) out[dx] = row[cols[dx]];
      }
      out += k;
    }
  }
}

// Centres of the query patches along one axis: 0, s, 2s, ... and finally n - 1 (never beyond the image).
std::vector<int> QueryCentres(int n, int stride) {
  std::vector<int> centres;
  for (int c = 0; c < n - 1; c += stride) centres.push_back(c);
  centres.push_back(n - 1);
  return centres;
}

}  // namespace

std::string PatchDenoiserOptions::Check() const {
  if (patch_size < 1 || patch_size > 31 || patch_size % 2 == 0) return "patch_size must be odd, 1..31";
  if (stride < 1 || 2 * stride - 1 > patch_size)
    return "stride must be 1..(patch_size + 1) / 2 (each patch estimates the (2 stride - 1)^2 block at its centre)";
  if (bank_size < 0) return "bank_size must be >= 0 (0 = every patch of the sources)";
  if (pca_dims < 0) return "pca_dims must be >= 0 (0 = exact distances)";
  return {};
}

PatchDenoiser::PatchDenoiser(const std::vector<Image>& sources, int channels, int height, int width,
                             const PatchDenoiserOptions& options)
    : options_(options), channels_(channels) {
  if (std::string problem = options_.Check(); !problem.empty()) throw Error("patch denoiser: " + problem);
  Require(channels == 1 || channels == 3, "the patch denoiser takes images with 1 or 3 channels");
  SetImageSize(height, width);
  const int k = options_.patch_size, s = options_.stride;
  block_ = 2 * s - 1;
  const int D = channels * k * k;

  // Every pixel of every source centres one patch (borders mirrored, as for the images denoised).
  std::vector<Image> images;
  std::vector<long long> first;  // first patch index of each source
  source_patches_ = 0;
  for (const Image& source : sources) {
    Require(source.channels >= 1 && source.height >= 1 && source.width >= 1 &&
                source.pixels.size() == static_cast<Eigen::Index>(source.channels) * source.height * source.width,
            "a patch source image has an inconsistent shape");
    Require(source.pixels.allFinite(), "a patch source image holds NaN or infinite values");
    images.push_back(ConvertChannels(source, channels));
    first.push_back(source_patches_);
    source_patches_ += static_cast<long long>(source.height) * source.width;
  }
  Require(source_patches_ > 0, "the patch denoiser needs at least one source image");
  long long M = options_.bank_size == 0 ? source_patches_ : std::min<long long>(options_.bank_size, source_patches_);
  Require(M * (D + static_cast<long long>(channels) * block_ * block_) <= kMaxBankValues,
          "a bank of " + std::to_string(M) + " patches of " + std::to_string(D) +
              " values is too large; choose bank_size <= " + std::to_string(kMaxBankValues / (2 * D)));

  // Which patches: all of them, or M distinct ones by Floyd's algorithm, in source order.
  std::vector<long long> chosen;
  if (M == source_patches_) {
    chosen.resize(static_cast<size_t>(M));
    for (long long i = 0; i < M; ++i) chosen[static_cast<size_t>(i)] = i;
  } else {
    RandomStream random({options_.seed, Stream::kData, 0});
    std::unordered_set<long long> taken;
    taken.reserve(static_cast<size_t>(2 * M));
    for (long long j = source_patches_ - M; j < source_patches_; ++j) {
      const long long pick = static_cast<long long>(random.Below(static_cast<uint64_t>(j + 1)));
      chosen.push_back(taken.insert(pick).second ? pick : j);
      if (chosen.back() == j) taken.insert(j);
    }
    std::sort(chosen.begin(), chosen.end());
  }

  RowMatrix patches(M, D);
  const int block_values = channels * block_ * block_;
  bank_blocks_.resize(M, block_values + 1);
  bank_blocks_.col(block_values).setOnes();  // the GEMM that averages the blocks also sums the weights
  const int centre = k / 2, half = s - 1;
  for (long long m = 0; m < M; ++m) {
    const long long index = chosen[static_cast<size_t>(m)];
    const size_t src = static_cast<size_t>(std::upper_bound(first.begin(), first.end(), index) - first.begin() - 1);
    const Image& image = images[src];
    const long long local = index - first[src];
    const int cy = static_cast<int>(local / image.width), cx = static_cast<int>(local % image.width);
    float* patch = patches.row(m).data();
    GatherPatch(image.pixels.data(), channels, image.height, image.width, k, cy, cx, patch);
    int j = 0;
    for (int c = 0; c < channels; ++c)
      for (int dy = -half; dy <= half; ++dy)
        for (int dx = -half; dx <= half; ++dx) bank_blocks_(m, j++) = patch[(c * k + centre + dy) * k + centre + dx];
  }

  mean_ = patches.colwise().mean().transpose();
  RowMatrix centred = patches.rowwise() - mean_.transpose();
  patches.resize(0, 0);
  if (options_.pca_dims == 0 || options_.pca_dims >= D) {
    bank_coords_.resize(M, D + 1);
    bank_coords_.leftCols(D) = centred;
    explained_variance_ = 1.0;
  } else {
    const int d = options_.pca_dims;
    const Eigen::MatrixXd covariance = (centred.transpose() * centred).cast<double>() / static_cast<double>(M);
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(covariance);
    Require(eigen.info() == Eigen::Success, "the patch bank's principal components could not be computed");
    // Eigenvalues ascend: the last d columns are the top components; keep them largest first.
    basis_ = eigen.eigenvectors().rightCols(d).rowwise().reverse().cast<float>();
    const double total = eigen.eigenvalues().cwiseMax(0.0).sum();
    explained_variance_ = total > 0 ? eigen.eigenvalues().tail(d).cwiseMax(0.0).sum() / total : 1.0;
    bank_coords_.resize(M, d + 1);
    bank_coords_.leftCols(d).noalias() = centred * basis_;
  }
  // The last column holds |c_i|^2, so that one GEMM gives the logits (the query's last column is -c_norm).
  const Eigen::Index dims = bank_coords_.cols() - 1;
  bank_coords_.col(dims) = bank_coords_.leftCols(dims).rowwise().squaredNorm();
}

void PatchDenoiser::SetImageSize(int height, int width) {
  Require(height >= 1 && width >= 1 && static_cast<long long>(height) * width <= 65536LL * 65536,
          "the patch denoiser needs an image size of at least 1 x 1 pixels");
  height_ = height;
  width_ = width;
}

std::string PatchDenoiser::name() const {
  const std::string k = std::to_string(options_.patch_size);
  return "patch posterior mean (" + k + "x" + k + " patches, " + std::to_string(bank_patches()) + " in the bank)";
}

Prediction PatchDenoiser::Predict(const Batch& x_t, const DenoiseQuery& query) {
  return {PredictionKind::kX0, PosteriorMean(x_t, query.alpha_bar), VarianceKind::kNone, {}};
}

Batch PatchDenoiser::PosteriorMean(const Batch& x_t, double alpha_bar) const {
  const int C = channels_, H = height_, W = width_;
  Require(x_t.cols() == static_cast<Eigen::Index>(C) * H * W,
          "the patch denoiser is set for " + std::to_string(C) + " x " + std::to_string(H) + " x " + std::to_string(W) +
              " images (" + std::to_string(static_cast<long long>(C) * H * W) + " columns); x_t has " +
              std::to_string(x_t.cols()));
  Require(alpha_bar >= 0.0 && alpha_bar <= 1.0, "alpha_bar must be in [0, 1] for the patch denoiser");
  Require(x_t.allFinite(), "x_t holds NaN or infinite values");

  const int k = options_.patch_size, s = options_.stride, half = s - 1, b = block_;
  const int D = C * k * k, block_values = C * b * b;
  const std::vector<int> centres_y = QueryCentres(H, s), centres_x = QueryCentres(W, s);
  const long long per_image = static_cast<long long>(centres_y.size()) * centres_x.size();
  const long long queries = per_image * x_t.rows();

  // -|P - sqrt(a) p_i|^2 / (2 (1 - a)) up to a per-query constant, with P - sqrt(a) p_i =
  // (P - sqrt(a) mean) - sqrt(a) (p_i - mean): logits = (sqrt(a) e.c_i - a |c_i|^2 / 2) / (1 - a).
  const float sqrt_a = static_cast<float>(std::sqrt(alpha_bar));
  const double variance = std::max(1.0 - alpha_bar, 1e-10);
  const float c_dot = static_cast<float>(std::sqrt(alpha_bar) / variance);
  const float c_norm = static_cast<float>(alpha_bar / (2.0 * variance));
  const Eigen::RowVectorXf shifted_mean = sqrt_a * mean_.transpose();
  const bool exact = basis_.size() == 0;
  const Eigen::Index dims = bank_coords_.cols() - 1;

  RowMatrix estimates(queries, block_values);  // each query's estimate of its central block
  constexpr long long kChunk = 128;            // queries per task: fixed, so results never depend on threads
  const int tasks = static_cast<int>((queries + kChunk - 1) / kChunk);
  cv::parallel_for_(cv::Range(0, tasks), [&](const cv::Range& range) {
    RowMatrix patch, projected, logits, weighted;
    for (int task = range.start; task < range.end; ++task) {
      const long long q0 = task * kChunk, rows = std::min(kChunk, queries - q0);
      patch.resize(rows, D);
      for (long long i = 0; i < rows; ++i) {
        const long long q = q0 + i, image = q / per_image, local = q % per_image;
        const int cy = centres_y[static_cast<size_t>(local / static_cast<long long>(centres_x.size()))];
        const int cx = centres_x[static_cast<size_t>(local % static_cast<long long>(centres_x.size()))];
        GatherPatch(x_t.row(image).data(), C, H, W, k, cy, cx, patch.row(i).data());
      }
      patch.rowwise() -= shifted_mean;
      projected.resize(rows, dims + 1);
      if (exact) {
        projected.leftCols(dims) = c_dot * patch;
      } else {
        projected.leftCols(dims).noalias() = c_dot * (patch * basis_);
      }
      projected.col(dims).setConstant(-c_norm);
      logits.noalias() = projected * bank_coords_.transpose();
      for (Eigen::Index i = 0; i < rows; ++i) {
        // One contiguous row at a time: Eigen vectorises exp here (a broadcast expression falls back to expf).
        auto row = logits.row(i).array();
        row = (row - row.maxCoeff()).exp();
      }
      weighted.noalias() = logits * bank_blocks_;  // block sums and, in the last column, the weights' sum
      estimates.middleRows(q0, rows) =
          weighted.leftCols(block_values).array().colwise() / weighted.col(block_values).array();
    }
  });

  // Blend the block estimates with tent weights (1 - |dy| / s)(1 - |dx| / s), normalised per pixel.
  Batch out = Batch::Zero(x_t.rows(), x_t.cols());
  Eigen::ArrayXf weight_sum = Eigen::ArrayXf::Zero(static_cast<Eigen::Index>(H) * W);
  std::vector<float> tent(static_cast<size_t>(b));
  for (int d = -half; d <= half; ++d) tent[static_cast<size_t>(d + half)] = 1.0f - std::abs(d) / static_cast<float>(s);
  const Eigen::Index plane = static_cast<Eigen::Index>(H) * W;
  for (Eigen::Index image = 0; image < x_t.rows(); ++image) {
    float* dst = out.row(image).data();
    long long q = image * per_image;
    for (const int cy : centres_y) {
      for (const int cx : centres_x) {
        const float* est = estimates.row(q++).data();
        for (int dy = -half; dy <= half; ++dy) {
          const int y = cy + dy;
          if (y < 0 || y >= H) continue;
          for (int dx = -half; dx <= half; ++dx) {
            const int x = cx + dx;
            if (x < 0 || x >= W) continue;
            const float w = tent[static_cast<size_t>(dy + half)] * tent[static_cast<size_t>(dx + half)];
            const Eigen::Index pixel = static_cast<Eigen::Index>(y) * W + x;
            const int j = (dy + half) * b + dx + half;
            for (int c = 0; c < C; ++c) dst[c * plane + pixel] += w * est[c * b * b + j];
            if (image == 0) weight_sum[pixel] += w;
          }
        }
      }
    }
  }
  for (Eigen::Index image = 0; image < x_t.rows(); ++image)
    for (int c = 0; c < C; ++c) out.row(image).segment(c * plane, plane).array() /= weight_sum.transpose();
  return out;
}

namespace {

// True if the two paths name the same file or files with identical bytes.
bool SameFile(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (std::filesystem::equivalent(a, b, ec)) return true;
  const auto size_a = std::filesystem::file_size(a, ec);
  if (ec) return false;
  const auto size_b = std::filesystem::file_size(b, ec);
  if (ec || size_a != size_b) return false;
  std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
  return fa && fb &&
         std::equal(std::istreambuf_iterator<char>(fa), std::istreambuf_iterator<char>(),
                    std::istreambuf_iterator<char>(fb));
}

}  // namespace

std::vector<Image> SamplePatchSources(int channels, int max_side, const std::string& exclude) {
  Require(channels == 1 || channels == 3, "patch sources have 1 or 3 channels");
  Require(max_side >= 1, "max_side must be at least 1 pixel");
  const std::string folder = ResourcePath("images").string();
  std::vector<Image> sources;
  std::string first_failure;
  ImageLoadOptions load;
  load.downscale_if_too_large = true;
  for (const std::string& file : ListImageFiles(folder)) {
    if (!exclude.empty() && SameFile(file, exclude)) continue;
    try {
      Image image = ConvertChannels(LoadImage(file, load), channels);
      const int longer = std::max(image.width, image.height);
      if (longer > max_side) {
        const double scale = static_cast<double>(max_side) / longer;
        image = ResizeImage(image, std::max(1, static_cast<int>(std::lround(image.width * scale))),
                            std::max(1, static_cast<int>(std::lround(image.height * scale))));
      }
      sources.push_back(std::move(image));
    } catch (const Error& error) {
      if (first_failure.empty()) first_failure = file + ": " + error.what();
    }
  }
  Require(!sources.empty(), "no sample image could be read from '" + folder + "'" +
                                (first_failure.empty() ? std::string() : " (" + first_failure + ")"));
  return sources;
}

}  // namespace diffuscope

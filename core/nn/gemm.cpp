// GCC 12 flags Eigen's AVX-512 packet code (_mm512_undefined_*) as "maybe uninitialized": a false alarm.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include "core/nn/gemm.h"

#include <Eigen/Core>

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define DIFFUSCOPE_NN_X86 1
#endif

namespace diffuscope {
namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ColMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

#ifdef DIFFUSCOPE_NN_X86
// One tile of C: MR rows x 16 columns (two 8-float registers per row), summed over all of k in order.
// kFull: all 16 columns exist; otherwise `width` (1..15) of them, read and written through masks.
template <int MR, bool kFull>
__attribute__((target("avx2,fma"))) void Tile(int k, int width, const float* a, std::ptrdiff_t a_row,
                                              std::ptrdiff_t a_col, const float* b, std::ptrdiff_t b_row, float* c,
                                              std::ptrdiff_t c_row, bool accumulate) {
  __m256i mask0 = _mm256_set1_epi32(-1), mask1 = _mm256_set1_epi32(-1);
  if constexpr (!kFull) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    mask0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(width), lanes);
    mask1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(width - 8), lanes);
  }
  __m256 acc0[MR], acc1[MR];
  for (int r = 0; r < MR; ++r) {
    if (accumulate) {
      if constexpr (kFull) {
        acc0[r] = _mm256_loadu_ps(c + r * c_row);
        acc1[r] = _mm256_loadu_ps(c + r * c_row + 8);
      } else {
        acc0[r] = _mm256_maskload_ps(c + r * c_row, mask0);
        acc1[r] = _mm256_maskload_ps(c + r * c_row + 8, mask1);
      }
    } else {
      acc0[r] = _mm256_setzero_ps();
      acc1[r] = _mm256_setzero_ps();
    }
  }
  for (int kk = 0; kk < k; ++kk) {
    const float* b_k = b + kk * b_row;
    __m256 b0, b1;
    if constexpr (kFull) {
      b0 = _mm256_loadu_ps(b_k);
      b1 = _mm256_loadu_ps(b_k + 8);
    } else {
      b0 = _mm256_maskload_ps(b_k, mask0);
      b1 = _mm256_maskload_ps(b_k + 8, mask1);
    }
    const float* a_k = a + kk * a_col;
    for (int r = 0; r < MR; ++r) {
      const __m256 a_rk = _mm256_broadcast_ss(a_k + r * a_row);
      acc0[r] = _mm256_fmadd_ps(a_rk, b0, acc0[r]);
      acc1[r] = _mm256_fmadd_ps(a_rk, b1, acc1[r]);
    }
  }
  for (int r = 0; r < MR; ++r) {
    if constexpr (kFull) {
      _mm256_storeu_ps(c + r * c_row, acc0[r]);
      _mm256_storeu_ps(c + r * c_row + 8, acc1[r]);
    } else {
      _mm256_maskstore_ps(c + r * c_row, mask0, acc0[r]);
      _mm256_maskstore_ps(c + r * c_row + 8, mask1, acc1[r]);
    }
  }
}

template <bool kFull>
__attribute__((target("avx2,fma"))) void TileRows(int rows, int k, int width, const float* a, std::ptrdiff_t a_row,
                                                  std::ptrdiff_t a_col, const float* b, std::ptrdiff_t b_row, float* c,
                                                  std::ptrdiff_t c_row, bool accumulate) {
  switch (rows) {
    case 6: return Tile<6, kFull>(k, width, a, a_row, a_col, b, b_row, c, c_row, accumulate);
    case 5: return Tile<5, kFull>(k, width, a, a_row, a_col, b, b_row, c, c_row, accumulate);
    case 4: return Tile<4, kFull>(k, width, a, a_row, a_col, b, b_row, c, c_row, accumulate);
    case 3: return Tile<3, kFull>(k, width, a, a_row, a_col, b, b_row, c, c_row, accumulate);
    case 2: return Tile<2, kFull>(k, width, a, a_row, a_col, b, b_row, c, c_row, accumulate);
    default: return Tile<1, kFull>(k, width, a, a_row, a_col, b, b_row, c, c_row, accumulate);
  }
}

__attribute__((target("avx2,fma"))) void GemmAvx2(int m, int p, int k, const float* a, std::ptrdiff_t a_row,
                                                  std::ptrdiff_t a_col, const float* b, std::ptrdiff_t b_row, float* c,
                                                  std::ptrdiff_t c_row, bool accumulate) {
  constexpr int kRows = 6, kCols = 16;
  for (int j0 = 0; j0 < p; j0 += kCols) {
    const int width = std::min(kCols, p - j0);
    for (int i0 = 0; i0 < m; i0 += kRows) {
      const int rows = std::min(kRows, m - i0);
      const float* a_tile = a + i0 * a_row;
      float* c_tile = c + i0 * c_row + j0;
      if (width == kCols)
        TileRows<true>(rows, k, width, a_tile, a_row, a_col, b + j0, b_row, c_tile, c_row, accumulate);
      else TileRows<false>(rows, k, width, a_tile, a_row, a_col, b + j0, b_row, c_tile, c_row, accumulate);
    }
  }
}
#endif

}  // namespace

bool Avx2KernelAvailable() {
#ifdef DIFFUSCOPE_NN_X86
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return avx2;
#else
  return false;
#endif
}

void GemmKernelAvx2(int m, int p, int k, const float* a, std::ptrdiff_t a_row, std::ptrdiff_t a_col, const float* b,
                    std::ptrdiff_t b_row, float* c, std::ptrdiff_t c_row, bool accumulate) {
#ifdef DIFFUSCOPE_NN_X86
  if (m > 0 && p > 0) GemmAvx2(m, p, std::max(k, 0), a, a_row, a_col, b, b_row, c, c_row, accumulate);
#else
  GemmPortable(m, p, k, a, a_row, a_col, b, b_row, c, c_row, accumulate);
#endif
}

const char* GemmBackend() {
#if defined(EIGEN_VECTORIZE_AVX512)
  return "eigen-avx512";
#elif defined(EIGEN_VECTORIZE_AVX2)
  return "eigen-avx2";
#else
  return Avx2KernelAvailable() ? "avx2-kernel" : "eigen-sse";
#endif
}

void GemmPortable(int m, int p, int k, const float* a, std::ptrdiff_t a_row, std::ptrdiff_t a_col, const float* b,
                  std::ptrdiff_t b_row, float* c, std::ptrdiff_t c_row, bool accumulate) {
  if (m <= 0 || p <= 0) return;
  Eigen::Map<RowMat, 0, Eigen::OuterStride<>> C(c, m, p, Eigen::OuterStride<>(c_row));
  if (k <= 0) {
    if (!accumulate) C.setZero();
    return;
  }
  Eigen::Map<const RowMat, 0, Eigen::OuterStride<>> B(b, k, p, Eigen::OuterStride<>(b_row));
  auto product = [&](const auto& A) {
    if (accumulate) C.noalias() += A * B;
    else C.noalias() = A * B;
  };
  // Hand Eigen the layout it packs fastest: row-major, column-major (a transposed view), or general strides.
  if (a_col == 1) {
    product(Eigen::Map<const RowMat, 0, Eigen::OuterStride<>>(a, m, k, Eigen::OuterStride<>(a_row)));
  } else if (a_row == 1) {
    product(Eigen::Map<const ColMat, 0, Eigen::OuterStride<>>(a, m, k, Eigen::OuterStride<>(a_col)));
  } else {
    using Strided = Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>;
    product(Eigen::Map<const RowMat, 0, Strided>(a, m, k, Strided(a_row, a_col)));
  }
}

void Gemm(int m, int p, int k, const float* a, std::ptrdiff_t a_row, std::ptrdiff_t a_col, const float* b,
          std::ptrdiff_t b_row, float* c, std::ptrdiff_t c_row, bool accumulate) {
#if !defined(EIGEN_VECTORIZE_AVX2) && !defined(EIGEN_VECTORIZE_AVX512) && defined(DIFFUSCOPE_NN_X86)
  if (Avx2KernelAvailable()) return GemmKernelAvx2(m, p, k, a, a_row, a_col, b, b_row, c, c_row, accumulate);
#endif
  GemmPortable(m, p, k, a, a_row, a_col, b, b_row, c, c_row, accumulate);
}

}  // namespace diffuscope

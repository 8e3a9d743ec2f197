// The matrix product under every layer: C = A B (+ C), float. Eigen's kernels when the build targets AVX2 or
// AVX-512 (-march=native, the default); on a portable build, a hand-written AVX2/FMA kernel chosen at run time.
//
//   // Y (n x out) = X (n x in) * W (in x out), all row-major:
//   diffuscope::Gemm(n, out, in, X.data(), in, 1, W.data(), out, Y.data(), out, /*accumulate=*/false);
#pragma once

#include <cstddef>

namespace diffuscope {

/// C(m x p) = A(m x k) B(k x p), plus the old C when accumulate. A(r, c) = a[r * a_row + c * a_col] (any
/// strides, so A may be a transposed view); B(r, c) = b[r * b_row + c]; C(r, c) = c[r * c_row + c]. Uses Eigen
/// when this build already vectorises with AVX2 or wider (its AVX-512 kernel is the fastest here), else the
/// hand-written AVX2/FMA kernel when the processor has it, else Eigen.
void Gemm(int m, int p, int k, const float* a, std::ptrdiff_t a_row, std::ptrdiff_t a_col, const float* b,
          std::ptrdiff_t b_row, float* c, std::ptrdiff_t c_row, bool accumulate);

/// The same product with Eigen only.
void GemmPortable(int m, int p, int k, const float* a, std::ptrdiff_t a_row, std::ptrdiff_t a_col, const float* b,
                  std::ptrdiff_t b_row, float* c, std::ptrdiff_t c_row, bool accumulate);

/// True when the processor can run GemmKernelAvx2 (x86 with AVX2 and FMA).
bool Avx2KernelAvailable();

/// The hand-written AVX2/FMA kernel (6 x 16 register tiles, unaligned loads, every element one sequential sum
/// over k, so a row's result never depends on the other rows). Only call it when Avx2KernelAvailable().
void GemmKernelAvx2(int m, int p, int k, const float* a, std::ptrdiff_t a_row, std::ptrdiff_t a_col, const float* b,
                    std::ptrdiff_t b_row, float* c, std::ptrdiff_t c_row, bool accumulate);

/// Which code Gemm runs: "eigen-avx512", "eigen-avx2", "avx2-kernel" or "eigen-sse".
const char* GemmBackend();

}  // namespace diffuscope

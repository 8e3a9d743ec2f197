// The matrix product under every layer: C = A B (+ C), float, with an AVX2/FMA kernel chosen at run time
// and a portable Eigen path elsewhere. Each element of C is one sequential sum over k, so a row's result
// never depends on how many rows are computed together (the bits are the same on any thread count).
//
//   // Y (n x out) = X (n x in) * W (in x out), all row-major:
//   diffuscope::Gemm(n, out, in, X.data(), in, 1, W.data(), out, Y.data(), out, /*accumulate=*/false);
#pragma once

#include <cstddef>

namespace diffuscope {

/// C(m x p) = A(m x k) B(k x p), plus the old C when accumulate. A(r, c) = a[r * a_row + c * a_col] (any
/// strides, so A may be a transposed view); B(r, c) = b[r * b_row + c]; C(r, c) = c[r * c_row + c].
void Gemm(int m, int p, int k, const float* a, std::ptrdiff_t a_row, std::ptrdiff_t a_col, const float* b,
          std::ptrdiff_t b_row, float* c, std::ptrdiff_t c_row, bool accumulate);

/// The same product with Eigen only (the fallback of Gemm, and its reference in tests).
void GemmPortable(int m, int p, int k, const float* a, std::ptrdiff_t a_row, std::ptrdiff_t a_col, const float* b,
                  std::ptrdiff_t b_row, float* c, std::ptrdiff_t c_row, bool accumulate);

/// True when Gemm and the activation kernels run the AVX2/FMA code on this processor.
bool UsesAvx2();

}  // namespace diffuscope

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

// This file is compiled with OpenMP (its loops); Eigen must not thread its products with it (see core/CMakeLists.txt).
#define EIGEN_DONT_PARALLELIZE
#include "core/nn/unet.h"

#include "core/random/random.h"

#include <Eigen/Core>
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <optional>
#include <type_traits>

namespace diffuscope {
namespace {

constexpr double kNormEpsilon = 1e-5;  // PyTorch's GroupNorm default

template <typename S>
using RowMatrix = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename S>
using MatrixMap = Eigen::Map<RowMatrix<S>>;
template <typename S>
using ConstMatrixMap = Eigen::Map<const RowMatrix<S>>;

template <typename S>
using ArrayMap = Eigen::Map<Eigen::Array<S, Eigen::Dynamic, 1>>;
template <typename S>
using ConstArrayMap = Eigen::Map<const Eigen::Array<S, Eigen::Dynamic, 1>>;

int OutSize(int size, int stride) { return stride == 1 ? size : (size - 1) / stride + 1; }

// ---- elementwise and normalisation layers (NHWC) --------------------------------------------------------------

template <typename S>
S Sigmoid(S x) {
  return S(1) / (S(1) + std::exp(-x));
}

// a = GroupNorm(x) (per sample and group over H, W and the group's channels), s = SiLU(a). mean and rstd keep
// n x groups values for the backward pass.
template <typename S>
void GroupNormSiluForward(const Tensor4<S>& x, int groups, const S* gamma, const S* beta, Tensor4<S>* a, Tensor4<S>* s,
                          std::vector<double>* mean, std::vector<double>* rstd) {
  const int C = x.c, cpg = C / groups;
  const long long P = static_cast<long long>(x.h) * x.w;
  a->Resize(x.n, x.h, x.w, C);
  s->Resize(x.n, x.h, x.w, C);
  mean->assign(static_cast<size_t>(x.n) * groups, 0.0);
  rstd->assign(static_cast<size_t>(x.n) * groups, 0.0);
#pragma omp parallel for schedule(static) if (x.n > 1)
  for (int b = 0; b < x.n; ++b) {
    const S* xb = x.data.data() + static_cast<size_t>(b) * P * C;
    std::vector<double> sum(C, 0.0), sq(C, 0.0);
    // Per-channel sums over pixels in float blocks of 64 pixels, then in double: vectorised and accurate.
    std::vector<S> bs(C), bq(C);
    for (long long p0 = 0; p0 < P; p0 += 64) {
      std::fill(bs.begin(), bs.end(), S(0));
      std::fill(bq.begin(), bq.end(), S(0));
      const long long p1 = std::min(P, p0 + 64);
      for (long long p = p0; p < p1; ++p) {
        const S* px = xb + p * C;
        for (int c = 0; c < C; ++c) {
          bs[c] += px[c];
          bq[c] += px[c] * px[c];
        }
      }
      for (int c = 0; c < C; ++c) sum[c] += bs[c], sq[c] += bq[c];
    }
    for (int g = 0; g < groups; ++g) {
      double m = 0.0, q = 0.0;
      for (int c = g * cpg; c < (g + 1) * cpg; ++c) m += sum[c], q += sq[c];
      const double count = static_cast<double>(P) * cpg;
      m /= count;
      const double var = std::max(0.0, q / count - m * m);
      (*mean)[b * groups + g] = m;
      (*rstd)[b * groups + g] = 1.0 / std::sqrt(var + kNormEpsilon);
    }
  }
  // Per sample and channel: a = x * scale + shift.
  const long long rows = static_cast<long long>(x.n) * P;
#pragma omp parallel
  {
    std::vector<S> scale(C), shift(C);
    int current = -1;
#pragma omp for schedule(static)
    for (long long r = 0; r < rows; ++r) {
      const int b = static_cast<int>(r / P);
      if (b != current) {
        current = b;
        for (int c = 0; c < C; ++c) {
          const int g = c / cpg;
          const double rs = (*rstd)[b * groups + g];
          scale[c] = static_cast<S>(gamma[c] * rs);
          shift[c] = static_cast<S>(beta[c] - gamma[c] * rs * (*mean)[b * groups + g]);
        }
      }
      const S* px = x.data.data() + r * C;
      S* pa = a->data.data() + r * C;
      for (int c = 0; c < C; ++c) pa[c] = px[c] * scale[c] + shift[c];
      // Eigen's vectorised logistic: glibc's scalar expf per element took about 7% of a training step.
      const ConstArrayMap<S> va(pa, C);
      ArrayMap<S>(s->data.data() + r * C, C) = va * va.logistic();
    }
  }
}

// From ds = dL/ds: dx = dL/dx (written, or added when accumulate), and dgamma, dbeta added.
template <typename S>
void GroupNormSiluBackward(const Tensor4<S>& x, const Tensor4<S>& a, const Tensor4<S>& ds, int groups, const S* gamma,
                           const std::vector<double>& mean, const std::vector<double>& rstd, Tensor4<S>* dx,
                           bool accumulate, S* dgamma, S* dbeta, std::vector<S>* scratch) {
  const int C = x.c, cpg = C / groups;
  const long long P = static_cast<long long>(x.h) * x.w;
  if (!accumulate) dx->Resize(x.n, x.h, x.w, C);
  // da = ds * SiLU'(a), kept in scratch.
  scratch->resize(x.size());
  S* da = scratch->data();
  const long long total = static_cast<long long>(x.size());
  // In blocks, so Eigen's vectorised logistic serves the threads.
  constexpr long long kBlock = 4096;
#pragma omp parallel for schedule(static)
  for (long long i0 = 0; i0 < total; i0 += kBlock) {
    const Eigen::Index n = static_cast<Eigen::Index>(std::min(kBlock, total - i0));
    const ConstArrayMap<S> v(a.data.data() + i0, n);
    const Eigen::Array<S, Eigen::Dynamic, 1> sg = v.logistic();
    ArrayMap<S>(da + i0, n) = ConstArrayMap<S>(ds.data.data() + i0, n) * sg * (S(1) + v * (S(1) - sg));
  }
  // Per sample: the channel sums, then the coefficients of dx = k0 da + k1 + k2 x (one parallel region over the
  // samples, one over the pixels: few barriers, which matter when the machine is shared).
  const int N = x.n;
  std::vector<double> s1_all(static_cast<size_t>(N) * C), s2_all(static_cast<size_t>(N) * C);
  std::vector<S> k0_all(static_cast<size_t>(N) * C), k1_all(k0_all.size()), k2_all(k0_all.size());
#pragma omp parallel for schedule(static) if (N > 1)
  for (int b = 0; b < N; ++b) {
    const S* xb = x.data.data() + static_cast<size_t>(b) * P * C;
    const S* dab = da + static_cast<size_t>(b) * P * C;
    double* s1 = &s1_all[static_cast<size_t>(b) * C];  // sum da, sum da * xhat per channel
    double* s2 = &s2_all[static_cast<size_t>(b) * C];
    std::vector<S> bs(C), bq(C), rs(C), mu(C);
    for (int c = 0; c < C; ++c) {
      rs[c] = static_cast<S>(rstd[b * groups + c / cpg]);
      mu[c] = static_cast<S>(mean[b * groups + c / cpg]);
    }
    for (long long p0 = 0; p0 < P; p0 += 64) {
      std::fill(bs.begin(), bs.end(), S(0));
      std::fill(bq.begin(), bq.end(), S(0));
      const long long p1 = std::min(P, p0 + 64);
      for (long long p = p0; p < p1; ++p) {
        const S* px = xb + p * C;
        const S* pd = dab + p * C;
        for (int c = 0; c < C; ++c) {
          bs[c] += pd[c];
          bq[c] += pd[c] * (px[c] - mu[c]) * rs[c];
        }
      }
      for (int c = 0; c < C; ++c) s1[c] += bs[c], s2[c] += bq[c];
    }
    const double count = static_cast<double>(P) * cpg;
    for (int g = 0; g < groups; ++g) {
      double m1 = 0.0, m2 = 0.0;  // mean of dxhat and of dxhat * xhat over the group
      for (int c = g * cpg; c < (g + 1) * cpg; ++c) m1 += gamma[c] * s1[c], m2 += gamma[c] * s2[c];
      m1 /= count;
      m2 /= count;
      const double r = rstd[b * groups + g], m = mean[b * groups + g];
      for (int c = g * cpg; c < (g + 1) * cpg; ++c) {
        // dx = rstd (gamma da - m1 - xhat m2), xhat = (x - mu) rstd
        k0_all[b * C + c] = static_cast<S>(r * gamma[c]);
        k1_all[b * C + c] = static_cast<S>(r * (-m1 + m * r * m2));
        k2_all[b * C + c] = static_cast<S>(-r * r * m2);
      }
    }
  }
  for (int b = 0; b < N; ++b)  // in sample order: the sums do not depend on the threads
    for (int c = 0; c < C; ++c) {
      dgamma[c] += static_cast<S>(s2_all[b * C + c]);
      dbeta[c] += static_cast<S>(s1_all[b * C + c]);
    }
  const long long rows = static_cast<long long>(N) * P;
#pragma omp parallel for schedule(static)
  for (long long r = 0; r < rows; ++r) {
    const long long b = r / P;
    const S* k0 = &k0_all[b * C];
    const S* k1 = &k1_all[b * C];
    const S* k2 = &k2_all[b * C];
    const S* px = x.data.data() + r * C;
    const S* pd = da + r * C;
    S* po = dx->data.data() + r * C;
    if (accumulate) {
      for (int c = 0; c < C; ++c) po[c] += k0[c] * pd[c] + k1[c] + k2[c] * px[c];
    } else {
      for (int c = 0; c < C; ++c) po[c] = k0[c] * pd[c] + k1[c] + k2[c] * px[c];
    }
  }
}

template <typename S>
void Upsample2(const Tensor4<S>& x, Tensor4<S>* y) {
  y->Resize(x.n, 2 * x.h, 2 * x.w, x.c);
  const int C = x.c;
  for (int b = 0; b < x.n; ++b)
    for (int i = 0; i < y->h; ++i)
      for (int j = 0; j < y->w; ++j)
        std::copy_n(&x.data[((static_cast<size_t>(b) * x.h + i / 2) * x.w + j / 2) * C], C,
                    &y->data[((static_cast<size_t>(b) * y->h + i) * y->w + j) * C]);
}

template <typename S>
void Upsample2Backward(const Tensor4<S>& dy, Tensor4<S>* dx) {
  dx->Resize(dy.n, dy.h / 2, dy.w / 2, dy.c);
  std::fill(dx->data.begin(), dx->data.end(), S(0));
  const int C = dy.c;
  for (int b = 0; b < dy.n; ++b)
    for (int i = 0; i < dy.h; ++i)
      for (int j = 0; j < dy.w; ++j) {
        const S* src = &dy.data[((static_cast<size_t>(b) * dy.h + i) * dy.w + j) * C];
        S* dst = &dx->data[((static_cast<size_t>(b) * dx->h + i / 2) * dx->w + j / 2) * C];
        for (int c = 0; c < C; ++c) dst[c] += src[c];
      }
}

// y = concat(a, b) along channels.
template <typename S>
void Concat(const Tensor4<S>& a, const Tensor4<S>& b, Tensor4<S>* y) {
  y->Resize(a.n, a.h, a.w, a.c + b.c);
  const size_t pixels = static_cast<size_t>(a.n) * a.h * a.w;
  for (size_t p = 0; p < pixels; ++p) {
    std::copy_n(&a.data[p * a.c], a.c, &y->data[p * y->c]);
    std::copy_n(&b.data[p * b.c], b.c, &y->data[p * y->c + a.c]);
  }
}

// da += dy[:, :ca] (da already holds a gradient), db = dy[:, ca:].
template <typename S>
void ConcatBackward(const Tensor4<S>& dy, int ca, Tensor4<S>* da, Tensor4<S>* db) {
  const int cb = dy.c - ca;
  db->Resize(dy.n, dy.h, dy.w, cb);
  const size_t pixels = static_cast<size_t>(dy.n) * dy.h * dy.w;
  for (size_t p = 0; p < pixels; ++p) {
    const S* src = &dy.data[p * dy.c];
    S* pa = &da->data[p * ca];
    for (int c = 0; c < ca; ++c) pa[c] += src[c];
    std::copy_n(src + ca, cb, &db->data[p * cb]);
  }
}

// ---- convolution: reference loops (double, tests) -------------------------------------------------------------

template <typename S>
void ConvReferenceForward(const typename UNet<S>::Conv& cv, const Tensor4<S>& x, const S* params, Tensor4<S>* y) {
  const int K = cv.kernel, pad = K / 2, st = cv.stride;
  y->Resize(x.n, OutSize(x.h, st), OutSize(x.w, st), cv.cout);
  const S* W = params + cv.w;
  const S* B = params + cv.b;
  for (int b = 0; b < x.n; ++b)
    for (int oy = 0; oy < y->h; ++oy)
      for (int ox = 0; ox < y->w; ++ox) {
        S* out = &y->at(b, oy, ox, 0);
        for (int o = 0; o < cv.cout; ++o) out[o] = B[o];
        for (int ky = 0; ky < K; ++ky) {
          const int iy = oy * st + ky - pad;
          if (iy < 0 || iy >= x.h) continue;
          for (int kx = 0; kx < K; ++kx) {
            const int ix = ox * st + kx - pad;
            if (ix < 0 || ix >= x.w) continue;
            const S* in = &x.at(b, iy, ix, 0);
            for (int o = 0; o < cv.cout; ++o) {
              S acc = 0;
              for (int i = 0; i < cv.cin; ++i)
                acc += in[i] * W[((static_cast<size_t>(o) * cv.cin + i) * K + ky) * K + kx];
              out[o] += acc;
            }
          }
        }
      }
}

// dW, db added into grads; dx written (or added when accumulate) when dx is not null.
template <typename S>
void ConvReferenceBackward(const typename UNet<S>::Conv& cv, const Tensor4<S>& x, const Tensor4<S>& dy, const S* params,
                           S* grads, Tensor4<S>* dx, bool accumulate) {
  const int K = cv.kernel, pad = K / 2, st = cv.stride;
  const S* W = params + cv.w;
  S* dW = grads + cv.w;
  S* dB = grads + cv.b;
  if (dx && !accumulate) {
    dx->Resize(x.n, x.h, x.w, x.c);
    std::fill(dx->data.begin(), dx->data.end(), S(0));
  }
  for (int b = 0; b < x.n; ++b)
    for (int oy = 0; oy < dy.h; ++oy)
      for (int ox = 0; ox < dy.w; ++ox) {
        const S* g = &dy.at(b, oy, ox, 0);
        for (int o = 0; o < cv.cout; ++o) dB[o] += g[o];
        for (int ky = 0; ky < K; ++ky) {
          const int iy = oy * st + ky - pad;
          if (iy < 0 || iy >= x.h) continue;
          for (int kx = 0; kx < K; ++kx) {
            const int ix = ox * st + kx - pad;
            if (ix < 0 || ix >= x.w) continue;
            const S* in = &x.at(b, iy, ix, 0);
            S* din = dx ? &dx->at(b, iy, ix, 0) : nullptr;
            for (int o = 0; o < cv.cout; ++o)
              for (int i = 0; i < cv.cin; ++i) {
                const size_t wi = ((static_cast<size_t>(o) * cv.cin + i) * K + ky) * K + kx;
                dW[wi] += g[o] * in[i];
                if (din) din[i] += g[o] * W[wi];
              }
          }
        }
      }
}

// ---- convolution: oneDNN (float) ------------------------------------------------------------------------------

dnnl::engine& CpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// The primitives of one convolution layer at one input shape.
struct DnnlConv {
  int n = -1, h = -1, w = -1;
  bool training = false;
  dnnl::memory::desc src_md, dst_md, user_w_md, bias_md;
  dnnl::convolution_forward::primitive_desc fwd_pd;
  dnnl::convolution_forward fwd;
  dnnl::memory fwd_weights;  // the layer's weights in the forward primitive's format
  bool fwd_reorder = false;
  std::optional<dnnl::convolution_backward_data::primitive_desc> bwd_data_pd;
  dnnl::convolution_backward_data bwd_data;
  dnnl::memory bwd_weights;
  bool bwd_reorder = false;
  std::optional<dnnl::convolution_backward_weights::primitive_desc> bwd_w_pd;
  dnnl::convolution_backward_weights bwd_w;
  dnnl::memory diff_weights;
  bool diff_reorder = false;
  std::vector<float, Eigen::aligned_allocator<float>> dw_scratch, bias;  // aligned copies (see Tensor4)
  // An accumulating backward pass's dx before it is added: kept between steps, since a fresh tensor each step
  // cost its memset and page faults (about 3% of a training step).
  Tensor4<float> dx_scratch;
};

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

void PrepareDnnlConv(const UNet<float>::Conv& cv, int n, int h, int w, bool training, DnnlConv* p) {
  if (p->n == n && p->h == h && p->w == w && p->training == training) return;
  auto& eng = CpuEngine();
  const int K = cv.kernel, pad = K / 2, st = cv.stride;
  const int ho = OutSize(h, st), wo = OutSize(w, st);
  const dnnl::memory::dims strides = {st, st}, pad_l = {pad, pad};
  const dnnl::memory::dims pad_r = {(ho - 1) * st + K - h - pad, (wo - 1) * st + K - w - pad};
  p->src_md = dnnl::memory::desc({n, cv.cin, h, w}, dt::f32, tag::nhwc);
  p->dst_md = dnnl::memory::desc({n, cv.cout, ho, wo}, dt::f32, tag::nhwc);
  p->user_w_md = dnnl::memory::desc({cv.cout, cv.cin, K, K}, dt::f32, tag::oihw);
  p->bias_md = dnnl::memory::desc({cv.cout}, dt::f32, tag::a);
  const dnnl::memory::desc any_w({cv.cout, cv.cin, K, K}, dt::f32, tag::any);
  const auto kind = training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  dnnl::convolution_forward::desc fd(kind, dnnl::algorithm::convolution_direct, p->src_md, any_w, p->bias_md, p->dst_md,
                                     strides, pad_l, pad_r);
  p->fwd_pd = dnnl::convolution_forward::primitive_desc(fd, eng);
  p->fwd = dnnl::convolution_forward(p->fwd_pd);
  p->fwd_reorder = p->fwd_pd.weights_desc() != p->user_w_md;
  if (p->fwd_reorder) p->fwd_weights = dnnl::memory(p->fwd_pd.weights_desc(), eng);
  p->bwd_data_pd.reset();
  p->bwd_w_pd.reset();
  if (training) {
    dnnl::convolution_backward_data::desc bd(dnnl::algorithm::convolution_direct, p->src_md, any_w, p->dst_md, strides,
                                             pad_l, pad_r);
    p->bwd_data_pd.emplace(bd, eng, p->fwd_pd);
    p->bwd_data = dnnl::convolution_backward_data(*p->bwd_data_pd);
    p->bwd_reorder = p->bwd_data_pd->weights_desc() != p->user_w_md;
    if (p->bwd_reorder) p->bwd_weights = dnnl::memory(p->bwd_data_pd->weights_desc(), eng);
    dnnl::convolution_backward_weights::desc wd(dnnl::algorithm::convolution_direct, p->src_md, any_w, p->bias_md,
                                                p->dst_md, strides, pad_l, pad_r);
    p->bwd_w_pd.emplace(wd, eng, p->fwd_pd);
    p->bwd_w = dnnl::convolution_backward_weights(*p->bwd_w_pd);
    p->diff_reorder = p->bwd_w_pd->diff_weights_desc() != p->user_w_md;
    if (p->diff_reorder) p->diff_weights = dnnl::memory(p->bwd_w_pd->diff_weights_desc(), eng);
  }
  p->n = n, p->h = h, p->w = w, p->training = training;
}

}  // namespace

// ---- workspace ------------------------------------------------------------------------------------------------

template <typename S>
struct UNet<S>::Workspace::Impl {
  bool training = false;
  std::optional<dnnl::stream> stream;  // float only
  std::vector<DnnlConv> convs;

  struct NormCache {
    Tensor a, s;
    std::vector<double> mean, rstd;
  };
  struct BlockCache {
    const Tensor* x = nullptr;
    NormCache n1, n2;
    Tensor h1, out, skip;  // skip: the 1x1 projection of x, kept between steps (no allocation per step)
  };
  RowMatrix<S> emb_in, emb_z1, emb_s1, emb;  // sinusoidal features, Linear, SiLU, Linear
  Tensor h0;
  std::vector<BlockCache> down, up;
  BlockCache mid;
  std::vector<Tensor> pooled, cat, upsampled, upconv;
  NormCache out_norm;
  Tensor y;
  // backward scratch
  RowMatrix<S> demb;
  std::vector<Tensor> dskip;
  Tensor g_a, g_b, g_c, g_d, g_cat;
  std::vector<S> scratch;
};

template <typename S>
UNet<S>::Workspace::Workspace(bool training) : impl_(std::make_unique<Impl>()) {
  impl_->training = training;
}
template <typename S>
UNet<S>::Workspace::~Workspace() = default;
template <typename S>
UNet<S>::Workspace::Workspace(Workspace&&) noexcept = default;
template <typename S>
typename UNet<S>::Workspace& UNet<S>::Workspace::operator=(Workspace&&) noexcept = default;

// ---- spec -----------------------------------------------------------------------------------------------------

std::string UNetSpec::Check() const {
  if (in_channels < 1 || in_channels > 64) return "in_channels must be 1..64 (got " + std::to_string(in_channels) + ")";
  if (out_channels < 1 || out_channels > 64)
    return "out_channels must be 1..64 (got " + std::to_string(out_channels) + ")";
  if (channels.empty() || channels.size() > 6)
    return "a U-Net needs 1..6 levels (got " + std::to_string(channels.size()) + ")";
  if (groups < 1 || groups > 64) return "groups must be 1..64 (got " + std::to_string(groups) + ")";
  for (int c : channels)
    if (c < 1 || c > 1024 || c % groups != 0)
      return "every level's channel count must be 1..1024 and a multiple of groups (" + std::to_string(groups) +
             "); got " + std::to_string(c);
  if (embedding_size < 4 || embedding_size > 4096 || embedding_size % 2 != 0)
    return "embedding_size must be an even number 4..4096 (got " + std::to_string(embedding_size) + ")";
  if (embedding_width < 1 || embedding_width > 4096)
    return "embedding_width must be 1..4096 (got " + std::to_string(embedding_width) + ")";
  if (num_parameters() > (1LL << 26)) return "the U-Net has too many parameters";
  return {};
}

long long UNetSpec::num_parameters() const {
  auto conv = [](long long ci, long long co, long long k) { return co * ci * k * k + co; };
  const long long E = embedding_width;
  auto block = [&](long long ci, long long co) {
    return 2 * ci + conv(ci, co, 3) + E * co + co + 2 * co + conv(co, co, 3) + (ci != co ? conv(ci, co, 1) : 0);
  };
  const int L = static_cast<int>(channels.size());
  if (L == 0) return 0;
  long long n = embedding_size * E + E + E * E + E + conv(in_channels, channels[0], 3);
  long long prev = channels[0];
  for (int i = 0; i < L; ++i) {
    n += block(prev, channels[i]);
    prev = channels[i];
    if (i < L - 1) n += conv(prev, prev, 3);
  }
  n += block(prev, prev);
  for (int i = L - 1; i >= 0; --i) {
    n += block(prev + channels[i], channels[i]);
    prev = channels[i];
    if (i > 0) {
      n += conv(prev, channels[i - 1], 3);
      prev = channels[i - 1];
    }
  }
  n += 2 * prev + conv(prev, out_channels, 3);
  return n;
}

UNetSpec ReferenceUNetSpec() { return UNetSpec{}; }

// ---- network --------------------------------------------------------------------------------------------------

template <typename S>
UNet<S>::UNet(UNetSpec spec) : spec_(std::move(spec)) {
  if (std::string problem = spec_.Check(); !problem.empty()) throw Error("U-Net: " + problem);
  Build();
  parameters_.assign(count_, S(0));
  gradients_.assign(count_, S(0));
}

template <typename S>
typename UNet<S>::Conv UNet<S>::AddConv(int cin, int cout, int kernel, int stride) {
  Conv c;
  c.cin = cin;
  c.cout = cout;
  c.kernel = kernel;
  c.stride = stride;
  c.w = count_;
  count_ += static_cast<long long>(cout) * cin * kernel * kernel;
  c.b = count_;
  count_ += cout;
  c.id = static_cast<int>(convs_.size());
  convs_.push_back(c);
  return c;
}

template <typename S>
typename UNet<S>::Norm UNet<S>::AddNorm(int channels) {
  Norm n;
  n.channels = channels;
  n.gamma = count_;
  n.beta = count_ + channels;
  count_ += 2 * channels;
  return n;
}

template <typename S>
typename UNet<S>::Linear UNet<S>::AddLinear(int in, int out) {
  Linear l;
  l.in = in;
  l.out = out;
  l.w = count_;
  count_ += static_cast<long long>(in) * out;
  l.b = count_;
  count_ += out;
  return l;
}

template <typename S>
typename UNet<S>::Block UNet<S>::AddBlock(int cin, int cout) {
  Block b;
  b.cin = cin;
  b.cout = cout;
  b.n1 = AddNorm(cin);
  b.c1 = AddConv(cin, cout, 3, 1);
  b.proj = AddLinear(spec_.embedding_width, cout);
  b.n2 = AddNorm(cout);
  b.c2 = AddConv(cout, cout, 3, 1);
  b.has_skip = cin != cout;
  if (b.has_skip) b.skip = AddConv(cin, cout, 1, 1);
  return b;
}

template <typename S>
void UNet<S>::Build() {
  const auto& ch = spec_.channels;
  const int L = spec_.levels();
  emb1_ = AddLinear(spec_.embedding_size, spec_.embedding_width);
  emb2_ = AddLinear(spec_.embedding_width, spec_.embedding_width);
  conv_in_ = AddConv(spec_.in_channels, ch[0], 3, 1);
  int prev = ch[0];
  for (int i = 0; i < L; ++i) {
    down_.push_back(AddBlock(prev, ch[i]));
    prev = ch[i];
    if (i < L - 1) pool_.push_back(AddConv(prev, prev, 3, 2));
  }
  mid_ = AddBlock(prev, prev);
  for (int i = L - 1; i >= 0; --i) {
    up_.push_back(AddBlock(prev + ch[i], ch[i]));
    prev = ch[i];
    if (i > 0) {
      upconv_.push_back(AddConv(prev, ch[i - 1], 3, 1));
      prev = ch[i - 1];
    }
  }
  norm_out_ = AddNorm(prev);
  conv_out_ = AddConv(prev, spec_.out_channels, 3, 1);
}

template <typename S>
void UNet<S>::Initialize(uint64_t seed) {
  uint64_t layer = 0;
  auto uniform = [&](long long offset, long long count, double bound) {
    std::vector<float> u(static_cast<size_t>(count));
    FillUniform({.seed = seed, .stream = Stream::kInit, .index = layer++}, 0, u);
    for (long long k = 0; k < count; ++k) parameters_[offset + k] = static_cast<S>((2.0 * u[k] - 1.0) * bound);
  };
  auto conv = [&](const Conv& c, bool zero) {
    const long long nw = static_cast<long long>(c.cout) * c.cin * c.kernel * c.kernel;
    const double bound = zero ? 0.0 : 1.0 / std::sqrt(static_cast<double>(c.cin) * c.kernel * c.kernel);
    uniform(c.w, nw, bound);
    uniform(c.b, c.cout, bound);
  };
  auto linear = [&](const Linear& l) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(l.in));
    uniform(l.w, static_cast<long long>(l.in) * l.out, bound);
    uniform(l.b, l.out, bound);
  };
  auto norm = [&](const Norm& n) {
    std::fill_n(parameters_.begin() + n.gamma, n.channels, S(1));
    std::fill_n(parameters_.begin() + n.beta, n.channels, S(0));
  };
  auto block = [&](const Block& b) {
    norm(b.n1);
    conv(b.c1, false);
    linear(b.proj);
    norm(b.n2);
    conv(b.c2, spec_.zero_init);
    if (b.has_skip) conv(b.skip, false);
  };
  linear(emb1_);
  linear(emb2_);
  conv(conv_in_, false);
  for (size_t i = 0; i < down_.size(); ++i) {
    block(down_[i]);
    if (i < pool_.size()) conv(pool_[i], false);
  }
  block(mid_);
  for (size_t j = 0; j < up_.size(); ++j) {
    block(up_[j]);
    if (j < upconv_.size()) conv(upconv_[j], false);
  }
  norm(norm_out_);
  conv(conv_out_, spec_.zero_init);
}

namespace {

// One convolution forward, through oneDNN for float and the reference loop for double.
template <typename S>
void ConvForward(const typename UNet<S>::Conv& cv, const Tensor4<S>& x, const S* params, Tensor4<S>* y,
                 typename UNet<S>::Workspace::Impl& ws) {
  if constexpr (std::is_same_v<S, float>) {
    DnnlConv& p = ws.convs[cv.id];
    PrepareDnnlConv(cv, x.n, x.h, x.w, ws.training, &p);
    y->Resize(x.n, OutSize(x.h, cv.stride), OutSize(x.w, cv.stride), cv.cout);
    auto& eng = CpuEngine();
    auto& stream = *ws.stream;
    dnnl::memory src(p.src_md, eng, const_cast<float*>(x.data.data()));
    dnnl::memory dst(p.dst_md, eng, y->data.data());
    dnnl::memory user_w(p.user_w_md, eng, const_cast<float*>(params + cv.w));
    p.bias.assign(params + cv.b, params + cv.b + cv.cout);
    dnnl::memory bias(p.bias_md, eng, p.bias.data());
    if (p.fwd_reorder) dnnl::reorder(user_w, p.fwd_weights).execute(stream, user_w, p.fwd_weights);
    p.fwd.execute(stream, {{DNNL_ARG_SRC, src},
                           {DNNL_ARG_WEIGHTS, p.fwd_reorder ? p.fwd_weights : user_w},
                           {DNNL_ARG_BIAS, bias},
                           {DNNL_ARG_DST, dst}});
    stream.wait();
  } else {
    ConvReferenceForward<S>(cv, x, params, y);
  }
}

template <typename S>
void ConvBackward(const typename UNet<S>::Conv& cv, const Tensor4<S>& x, const Tensor4<S>& dy, const S* params,
                  S* grads, Tensor4<S>* dx, bool accumulate, typename UNet<S>::Workspace::Impl& ws) {
  if constexpr (std::is_same_v<S, float>) {
    DnnlConv& p = ws.convs[cv.id];
    auto& eng = CpuEngine();
    auto& stream = *ws.stream;
    dnnl::memory src(p.src_md, eng, const_cast<float*>(x.data.data()));
    dnnl::memory ddst(p.dst_md, eng, const_cast<float*>(dy.data.data()));
    // Weight gradients: oneDNN overwrites, so go through a scratch copy and add.
    {
      const size_t nw = static_cast<size_t>(cv.cout) * cv.cin * cv.kernel * cv.kernel;
      auto& tmp = p.dw_scratch;
      tmp.resize(nw + cv.cout);
      dnnl::memory user_dw(p.user_w_md, eng, tmp.data());
      dnnl::memory dbias(p.bias_md, eng, tmp.data() + nw);
      p.bwd_w.execute(stream, {{DNNL_ARG_SRC, src},
                               {DNNL_ARG_DIFF_DST, ddst},
                               {DNNL_ARG_DIFF_WEIGHTS, p.diff_reorder ? p.diff_weights : user_dw},
                               {DNNL_ARG_DIFF_BIAS, dbias}});
      if (p.diff_reorder) dnnl::reorder(p.diff_weights, user_dw).execute(stream, p.diff_weights, user_dw);
      stream.wait();
      float* gw = grads + cv.w;
      float* gb = grads + cv.b;
      for (size_t k = 0; k < nw; ++k) gw[k] += tmp[k];
      for (int k = 0; k < cv.cout; ++k) gb[k] += tmp[nw + k];
    }
    if (dx) {
      Tensor4<float>& local = p.dx_scratch;
      Tensor4<float>* target = dx;
      if (accumulate) {
        local.Resize(x.n, x.h, x.w, x.c);
        target = &local;
      } else {
        dx->Resize(x.n, x.h, x.w, x.c);
      }
      dnnl::memory dsrc(p.src_md, eng, target->data.data());
      dnnl::memory user_w(p.user_w_md, eng, const_cast<float*>(params + cv.w));
      if (p.bwd_reorder) dnnl::reorder(user_w, p.bwd_weights).execute(stream, user_w, p.bwd_weights);
      p.bwd_data.execute(stream, {{DNNL_ARG_DIFF_DST, ddst},
                                  {DNNL_ARG_WEIGHTS, p.bwd_reorder ? p.bwd_weights : user_w},
                                  {DNNL_ARG_DIFF_SRC, dsrc}});
      stream.wait();
      if (accumulate) {
        const long long n = static_cast<long long>(dx->size());
#pragma omp parallel for schedule(static)
        for (long long k = 0; k < n; ++k) dx->data[k] += local.data[k];
      }
    }
  } else {
    ConvReferenceBackward<S>(cv, x, dy, params, grads, dx, accumulate);
  }
}

}  // namespace

template <typename S>
const typename UNet<S>::Tensor& UNet<S>::Forward(const Tensor& x, const std::vector<S>& noise_level, Workspace& wsp,
                                                 const S* params) const {
  Require(x.c == spec_.in_channels, "U-Net: the input has " + std::to_string(x.c) + " channels; the network takes " +
                                        std::to_string(spec_.in_channels));
  Require(x.n >= 1 && x.h >= 1 && x.w >= 1 && x.data.size() == x.size(), "U-Net: the input is empty");
  const int m = spec_.size_multiple();
  Require(x.h % m == 0 && x.w % m == 0, "U-Net: the input is " + std::to_string(x.w) + "x" + std::to_string(x.h) +
                                            "; its sides must be multiples of " + std::to_string(m));
  Require(static_cast<int>(noise_level.size()) == x.n, "U-Net: one noise level per sample is needed");
  if (!params) params = parameters_.data();
  auto& ws = *wsp.impl_;
  if constexpr (std::is_same_v<S, float>) {
    if (!ws.stream) ws.stream.emplace(CpuEngine());
    if (ws.convs.size() != convs_.size()) ws.convs.assign(convs_.size(), DnnlConv{});
  }
  const int N = x.n, L = spec_.levels(), G = spec_.groups;

  // Noise-level embedding: sinusoidal features (sin then cos, frequencies 10000^(-k/half)), Linear, SiLU, Linear.
  const int E = spec_.embedding_size, half = E / 2;
  ws.emb_in.resize(N, E);
  for (int b = 0; b < N; ++b)
    for (int k = 0; k < half; ++k) {
      const double f = std::exp(-std::log(10000.0) * k / half);
      const double a = static_cast<double>(noise_level[b]) * f;
      ws.emb_in(b, k) = static_cast<S>(std::sin(a));
      ws.emb_in(b, half + k) = static_cast<S>(std::cos(a));
    }
  auto linear = [&](const Linear& l, const RowMatrix<S>& in, RowMatrix<S>* out) {
    ConstMatrixMap<S> Wm(params + l.w, l.in, l.out);
    Eigen::Map<const Eigen::Matrix<S, 1, Eigen::Dynamic>> bv(params + l.b, l.out);
    out->noalias() = in * Wm;
    out->rowwise() += bv;
  };
  linear(emb1_, ws.emb_in, &ws.emb_z1);
  ws.emb_s1 = ws.emb_z1.unaryExpr([](S v) { return v * Sigmoid(v); });
  linear(emb2_, ws.emb_s1, &ws.emb);

  auto block = [&](const Block& bl, const Tensor& in, typename Workspace::Impl::BlockCache& c) {
    c.x = &in;
    GroupNormSiluForward(in, G, params + bl.n1.gamma, params + bl.n1.beta, &c.n1.a, &c.n1.s, &c.n1.mean, &c.n1.rstd);
    ConvForward<S>(bl.c1, c.n1.s, params, &c.h1, ws);
    RowMatrix<S> proj;
    linear(bl.proj, ws.emb, &proj);
    const long long P = static_cast<long long>(c.h1.h) * c.h1.w;
    const long long pixels = N * P;
#pragma omp parallel for schedule(static)
    for (long long r = 0; r < pixels; ++r) {
      S* px = &c.h1.data[r * bl.cout];
      const int b = static_cast<int>(r / P);
      for (int o = 0; o < bl.cout; ++o) px[o] += proj(b, o);
    }
    GroupNormSiluForward(c.h1, G, params + bl.n2.gamma, params + bl.n2.beta, &c.n2.a, &c.n2.s, &c.n2.mean, &c.n2.rstd);
    ConvForward<S>(bl.c2, c.n2.s, params, &c.out, ws);
    const Tensor* residual = &in;
    if (bl.has_skip) {
      ConvForward<S>(bl.skip, in, params, &c.skip, ws);
      residual = &c.skip;
    }
    const long long n = static_cast<long long>(c.out.data.size());
    const S* rd = residual->data.data();
    S* od = c.out.data.data();
#pragma omp parallel for schedule(static)
    for (long long k = 0; k < n; ++k) od[k] += rd[k];
  };

  ws.down.resize(L);
  ws.up.resize(L);
  ws.pooled.resize(L);
  ws.cat.resize(L);
  ws.upsampled.resize(L);
  ws.upconv.resize(L);
  ConvForward<S>(conv_in_, x, params, &ws.h0, ws);
  const Tensor* cur = &ws.h0;
  for (int i = 0; i < L; ++i) {
    block(down_[i], *cur, ws.down[i]);
    cur = &ws.down[i].out;
    if (i < L - 1) {
      ConvForward<S>(pool_[i], *cur, params, &ws.pooled[i], ws);
      cur = &ws.pooled[i];
    }
  }
  block(mid_, *cur, ws.mid);
  cur = &ws.mid.out;
  for (int j = 0; j < L; ++j) {
    const int i = L - 1 - j;
    Concat(ws.down[i].out, *cur, &ws.cat[j]);
    block(up_[j], ws.cat[j], ws.up[j]);
    cur = &ws.up[j].out;
    if (i > 0) {
      Upsample2(*cur, &ws.upsampled[j]);
      ConvForward<S>(upconv_[j], ws.upsampled[j], params, &ws.upconv[j], ws);
      cur = &ws.upconv[j];
    }
  }
  GroupNormSiluForward(*cur, G, params + norm_out_.gamma, params + norm_out_.beta, &ws.out_norm.a, &ws.out_norm.s,
                       &ws.out_norm.mean, &ws.out_norm.rstd);
  ConvForward<S>(conv_out_, ws.out_norm.s, params, &ws.y, ws);
  return ws.y;
}

template <typename S>
void UNet<S>::Backward(const Tensor& x, const std::vector<S>& noise_level, const Tensor& dy, Workspace& wsp,
                       Tensor* dx) {
  (void)noise_level;
  auto& ws = *wsp.impl_;
  Require(ws.training || !std::is_same_v<S, float>, "U-Net: Backward needs a training workspace");
  Require(dy.SameShape(ws.y), "U-Net: dL/dy must have the output's shape");
  std::fill(gradients_.begin(), gradients_.end(), S(0));
  const S* params = parameters_.data();
  S* grads = gradients_.data();
  const int N = x.n, L = spec_.levels(), G = spec_.groups;
  ws.demb.setZero(N, spec_.embedding_width);

  // Returns dL/d(block input) in *din, adding the embedding's gradient into ws.demb.
  auto block_back = [&](const Block& bl, typename Workspace::Impl::BlockCache& c, const Tensor& dout, Tensor* din) {
    const Tensor& in = *c.x;
    ConvBackward<S>(bl.c2, c.n2.s, dout, params, grads, &ws.g_a, false, ws);  // d s2
    GroupNormSiluBackward(c.h1, c.n2.a, ws.g_a, G, params + bl.n2.gamma, c.n2.mean, c.n2.rstd, &ws.g_b, false,
                          grads + bl.n2.gamma, grads + bl.n2.beta, &ws.scratch);  // d h1
    // The embedding projection: dproj(b, o) = sum over pixels of dh1.
    RowMatrix<S> dproj = RowMatrix<S>::Zero(N, bl.cout);
    const long long P = static_cast<long long>(ws.g_b.h) * ws.g_b.w;
    for (int b = 0; b < N; ++b)
      for (long long p = 0; p < P; ++p) {
        const S* px = &ws.g_b.data[(b * P + p) * bl.cout];
        for (int o = 0; o < bl.cout; ++o) dproj(b, o) += px[o];
      }
    MatrixMap<S>(grads + bl.proj.w, bl.proj.in, bl.proj.out).noalias() += ws.emb.transpose() * dproj;
    Eigen::Map<Eigen::Matrix<S, 1, Eigen::Dynamic>>(grads + bl.proj.b, bl.proj.out) += dproj.colwise().sum();
    ws.demb.noalias() += dproj * ConstMatrixMap<S>(params + bl.proj.w, bl.proj.in, bl.proj.out).transpose();
    ConvBackward<S>(bl.c1, c.n1.s, ws.g_b, params, grads, &ws.g_c, false, ws);  // d s1
    GroupNormSiluBackward(in, c.n1.a, ws.g_c, G, params + bl.n1.gamma, c.n1.mean, c.n1.rstd, din, false,
                          grads + bl.n1.gamma, grads + bl.n1.beta, &ws.scratch);
    if (bl.has_skip) {
      ConvBackward<S>(bl.skip, in, dout, params, grads, din, true, ws);
    } else {
      for (size_t k = 0; k < din->data.size(); ++k) din->data[k] += dout.data[k];
    }
  };

  // Output: conv_out, SiLU, GroupNorm of the last up block's output (level 0 has no upconv).
  const Tensor* cur_in = &ws.up[L - 1].out;
  ConvBackward<S>(conv_out_, ws.out_norm.s, dy, params, grads, &ws.g_a, false, ws);
  Tensor dcur;
  GroupNormSiluBackward(*cur_in, ws.out_norm.a, ws.g_a, G, params + norm_out_.gamma, ws.out_norm.mean, ws.out_norm.rstd,
                        &dcur, false, grads + norm_out_.gamma, grads + norm_out_.beta, &ws.scratch);
  ws.dskip.resize(L);
  for (int i = 0; i < L; ++i) {
    ws.dskip[i].Resize(ws.down[i].out.n, ws.down[i].out.h, ws.down[i].out.w, ws.down[i].out.c);
    std::fill(ws.dskip[i].data.begin(), ws.dskip[i].data.end(), S(0));
  }
  for (int j = L - 1; j >= 0; --j) {
    const int i = L - 1 - j;
    if (i > 0) {
      ConvBackward<S>(upconv_[j], ws.upsampled[j], dcur, params, grads, &ws.g_d, false, ws);
      Upsample2Backward(ws.g_d, &dcur);
    }
    block_back(up_[j], ws.up[j], dcur, &ws.g_cat);
    ConcatBackward(ws.g_cat, ws.down[i].out.c, &ws.dskip[i], &dcur);
  }
  Tensor dmid;
  block_back(mid_, ws.mid, dcur, &dmid);
  dcur = std::move(dmid);  // dL/d(mid input) = dL/d(down[L-1].out) through the middle
  for (int i = L - 1; i >= 0; --i) {
    for (size_t k = 0; k < dcur.data.size(); ++k) dcur.data[k] += ws.dskip[i].data[k];
    Tensor din;
    block_back(down_[i], ws.down[i], dcur, &din);
    if (i > 0) {
      ConvBackward<S>(pool_[i - 1], ws.down[i - 1].out, din, params, grads, &dcur, false, ws);
    } else {
      dcur = std::move(din);
    }
  }
  ConvBackward<S>(conv_in_, x, dcur, params, grads, dx, false, ws);

  // The embedding MLP.
  const RowMatrix<S>& de = ws.demb;
  MatrixMap<S>(grads + emb2_.w, emb2_.in, emb2_.out).noalias() += ws.emb_s1.transpose() * de;
  Eigen::Map<Eigen::Matrix<S, 1, Eigen::Dynamic>>(grads + emb2_.b, emb2_.out) += de.colwise().sum();
  RowMatrix<S> ds1 = de * ConstMatrixMap<S>(params + emb2_.w, emb2_.in, emb2_.out).transpose();
  for (Eigen::Index r = 0; r < ds1.rows(); ++r)
    for (Eigen::Index c = 0; c < ds1.cols(); ++c) {
      const S v = ws.emb_z1(r, c), sg = Sigmoid(v);
      ds1(r, c) *= sg * (S(1) + v * (S(1) - sg));
    }
  MatrixMap<S>(grads + emb1_.w, emb1_.in, emb1_.out).noalias() += ws.emb_in.transpose() * ds1;
  Eigen::Map<Eigen::Matrix<S, 1, Eigen::Dynamic>>(grads + emb1_.b, emb1_.out) += ds1.colwise().sum();
}

template class UNet<float>;
template class UNet<double>;

}  // namespace diffuscope

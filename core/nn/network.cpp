// GCC 12 flags Eigen's AVX-512 packet code (_mm512_undefined_*) as "maybe uninitialized": a false alarm.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include "core/nn/network.h"

#include "core/nn/gemm.h"
#include "core/random/random.h"

#include <opencv2/core.hpp>
#include <unsupported/Eigen/SpecialFunctions>

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <type_traits>

namespace diffuscope {
namespace {

struct KindName {
  LayerKind kind;
  std::string_view name;
};
constexpr std::array<KindName, 5> kLayerNames = {{
    {LayerKind::kEmbed, "embed"},
    {LayerKind::kLinear, "linear"},
    {LayerKind::kGelu, "gelu"},
    {LayerKind::kSilu, "silu"},
    {LayerKind::kResidual, "residual"},
}};

bool WidthOk(long long w) { return w >= 1 && w <= kMaxLayerWidth; }

// C(m x p) = A B (+ C); float goes to the AVX2 kernel, double to Eigen (gradient checks).
template <typename S>
void MatMul(int m, int p, int k, const S* a, std::ptrdiff_t a_row, std::ptrdiff_t a_col, const S* b,
            std::ptrdiff_t b_row, S* c, std::ptrdiff_t c_row, bool accumulate) {
  if constexpr (std::is_same_v<S, float>) {
    Gemm(m, p, k, a, a_row, a_col, b, b_row, c, c_row, accumulate);
  } else {
    using M = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using Strided = Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>;
    Eigen::Map<const M, 0, Strided> A(a, m, k, Strided(a_row, a_col));
    Eigen::Map<const M, 0, Eigen::OuterStride<>> B(b, k, p, Eigen::OuterStride<>(b_row));
    Eigen::Map<M, 0, Eigen::OuterStride<>> C(c, m, p, Eigen::OuterStride<>(c_row));
    if (accumulate) C.noalias() += A * B;
    else C.noalias() = A * B;
  }
}

template <typename S>
using ArrayMap = Eigen::Map<Eigen::Array<S, Eigen::Dynamic, 1>>;
template <typename S>
using ConstArrayMap = Eigen::Map<const Eigen::Array<S, Eigen::Dynamic, 1>>;

// y = act(x) over `count` contiguous values.
template <typename S>
void ActivationForward(LayerKind act, const S* x, S* y, Eigen::Index count) {
  ConstArrayMap<S> X(x, count);
  ArrayMap<S> Y(y, count);
  if (act == LayerKind::kGelu) {
    Y = X * (S(0.5) * (S(1) + (X * S(std::numbers::sqrt2 / 2)).erf()));
  } else {
    Y = X / (S(1) + (-X).exp());
  }
}

// dx = dy * act'(x); dx may alias dy.
template <typename S>
void ActivationBackward(LayerKind act, const S* x, const S* dy, S* dx, Eigen::Index count) {
  ConstArrayMap<S> X(x, count), DY(dy, count);
  ArrayMap<S> DX(dx, count);
  if (act == LayerKind::kGelu) {
    const S inv_sqrt_2pi = S(1.0 / std::sqrt(2.0 * std::numbers::pi));
    DX = DY *
         (S(0.5) * (S(1) + (X * S(std::numbers::sqrt2 / 2)).erf()) + X * (S(-0.5) * X.square()).exp() * inv_sqrt_2pi);
  } else {
    // sigmoid s; d(x s)/dx = s (1 + x (1 - s))
    DX = DY * (S(1) + X * (S(1) - S(1) / (S(1) + (-X).exp()))) / (S(1) + (-X).exp());
  }
}

// out[j] = sum over rows of m(r, j), rows added in order: the same bits wherever out lies in memory.
template <typename S, typename M>
void ColumnSums(const M& m, S* out) {
  const Eigen::Index rows = m.rows(), cols = m.cols();
  std::fill(out, out + cols, S(0));
  for (Eigen::Index r = 0; r < rows; ++r) {
    const S* row = m.data() + r * cols;
    for (Eigen::Index j = 0; j < cols; ++j) out[j] += row[j];
  }
}

template <typename S>
std::vector<Eigen::Matrix<S, 1, Eigen::Dynamic>> EmbedFrequencies(const LayerSpec& layer) {
  std::vector<Eigen::Matrix<S, 1, Eigen::Dynamic>> freqs;
  for (const EmbedGroup& g : layer.groups) {
    Eigen::Matrix<S, 1, Eigen::Dynamic> f;
    if (g.size > 0) {
      // tiny-diffusion: exp(-k ln(10000) / (half - 1)), k = 0 .. half - 1 (computed in the network's precision).
      const int half = g.size / 2;
      f.resize(half);
      const S base = std::log(S(10000)) / S(half - 1);
      for (int k = 0; k < half; ++k) f[k] = std::exp(-base * S(k));
    }
    freqs.push_back(f);
  }
  return freqs;
}

}  // namespace

std::string_view LayerKindName(LayerKind kind) {
  for (const auto& k : kLayerNames)
    if (k.kind == kind) return k.name;
  return "unknown";
}

std::optional<LayerKind> ParseLayerKind(std::string_view name) {
  for (const auto& k : kLayerNames)
    if (k.name == name) return k.kind;
  return std::nullopt;
}

LayerSpec LayerSpec::Linear(int in, int out) { return {LayerKind::kLinear, in, out, LayerKind::kGelu, {}}; }
LayerSpec LayerSpec::Gelu(int width) { return {LayerKind::kGelu, width, width, LayerKind::kGelu, {}}; }
LayerSpec LayerSpec::Silu(int width) { return {LayerKind::kSilu, width, width, LayerKind::kGelu, {}}; }
LayerSpec LayerSpec::Residual(int width, LayerKind activation) {
  return {LayerKind::kResidual, width, width, activation, {}};
}
LayerSpec LayerSpec::Embed(std::vector<EmbedGroup> groups) {
  LayerSpec spec{LayerKind::kEmbed, 0, 0, LayerKind::kGelu, std::move(groups)};
  long long in = 0, out = 0;
  for (const EmbedGroup& g : spec.groups) {
    in += g.columns;
    out += g.size > 0 ? static_cast<long long>(g.size) * g.columns : g.columns;
  }
  spec.in = static_cast<int>(std::min<long long>(in, 1LL << 30));
  spec.out = static_cast<int>(std::min<long long>(out, 1LL << 30));
  return spec;
}

long long LayerSpec::num_parameters() const {
  switch (kind) {
    case LayerKind::kLinear: return static_cast<long long>(in) * out + out;
    case LayerKind::kResidual: return static_cast<long long>(in) * in + in;
    default: return 0;
  }
}

std::string LayerSpec::Check() const {
  const std::string sizes = " (in " + std::to_string(in) + ", out " + std::to_string(out) + ")";
  const std::string limit = std::to_string(kMaxLayerWidth);
  switch (kind) {
    case LayerKind::kLinear:
      if (!WidthOk(in) || !WidthOk(out)) return "linear widths must be 1.." + limit + sizes;
      break;
    case LayerKind::kGelu:
    case LayerKind::kSilu:
      if (!WidthOk(in) || in != out) return "an activation keeps its width, 1.." + limit + sizes;
      break;
    case LayerKind::kResidual:
      if (!WidthOk(in) || in != out) return "a residual block keeps its width, 1.." + limit + sizes;
      if (activation != LayerKind::kGelu && activation != LayerKind::kSilu)
        return "a residual block's activation must be gelu or silu";
      break;
    case LayerKind::kEmbed: {
      if (groups.empty()) return "an embed layer needs at least one column group";
      long long total_in = 0, total_out = 0;
      for (size_t i = 0; i < groups.size(); ++i) {
        const EmbedGroup& g = groups[i];
        const std::string which = "embed group " + std::to_string(i + 1) + ": ";
        if (!WidthOk(g.columns)) return which + "columns must be 1.." + limit;
        if (g.size != 0 && (g.size < 4 || g.size % 2 != 0 || g.size > kMaxLayerWidth))
          return which + "size must be 0 (identity) or an even number 4.." + limit + " (got " + std::to_string(g.size) +
                 ")";
        if (!(std::isfinite(g.scale) && g.scale > 0.0 && g.scale < 1e6))
          return which + "scale must be a positive number below 1e6";
        total_in += g.columns;
        total_out += g.size > 0 ? static_cast<long long>(g.size) * g.columns : g.columns;
      }
      if (!WidthOk(total_in) || !WidthOk(total_out))
        return "an embed layer's widths must be 1.." + limit + " (in " + std::to_string(total_in) + ", out " +
               std::to_string(total_out) + ")";
      if (total_in != in || total_out != out) return "an embed layer's widths do not match its groups" + sizes;
      return {};
    }
    default: return "unknown layer kind";
  }
  if (!groups.empty()) return std::string(LayerKindName(kind)) + " layers take no column groups";
  return {};
}

long long NetworkSpec::num_parameters() const {
  long long total = 0;
  for (const LayerSpec& l : layers) total += l.num_parameters();
  return total;
}

std::string NetworkSpec::Check() const {
  if (layers.empty()) return "the network has no layers";
  if (layers.size() > 1024) return "the network has more than 1024 layers";
  for (size_t i = 0; i < layers.size(); ++i) {
    if (std::string problem = layers[i].Check(); !problem.empty())
      return "layer " + std::to_string(i + 1) + " (" + std::string(LayerKindName(layers[i].kind)) + "): " + problem;
    if (i > 0 && layers[i].in != layers[i - 1].out)
      return "layer " + std::to_string(i + 1) + " takes " + std::to_string(layers[i].in) + " inputs but layer " +
             std::to_string(i) + " gives " + std::to_string(layers[i - 1].out);
  }
  if (num_parameters() > kMaxNetworkParameters)
    return "the network has " + std::to_string(num_parameters()) + " parameters, more than the limit of " +
           std::to_string(kMaxNetworkParameters);
  return {};
}

NetworkSpec TinyDiffusionSpec(int embedding_size, double input_scale, int hidden_size, int hidden_layers) {
  NetworkSpec spec;
  spec.layers.push_back(
      LayerSpec::Embed({{1, embedding_size, input_scale}, {1, embedding_size, input_scale}, {1, embedding_size, 1.0}}));
  spec.layers.push_back(LayerSpec::Linear(3 * embedding_size, hidden_size));
  spec.layers.push_back(LayerSpec::Gelu(hidden_size));
  for (int i = 0; i < hidden_layers; ++i) spec.layers.push_back(LayerSpec::Residual(hidden_size));
  spec.layers.push_back(LayerSpec::Linear(hidden_size, 2));
  return spec;
}

// ---------------------------------------------------------------------------------------------------------------

template <typename S>
Network<S>::Network(NetworkSpec spec) : spec_(std::move(spec)) {
  if (std::string problem = spec_.Check(); !problem.empty()) throw Error("network: " + problem);
  long long offset = 0;
  for (const LayerSpec& l : spec_.layers) {
    offsets_.push_back(offset);
    offset += l.num_parameters();
    frequencies_.push_back(EmbedFrequencies<S>(l));
  }
  parameters_.assign(static_cast<size_t>(offset), S(0));
  gradients_.assign(static_cast<size_t>(offset), S(0));
}

template <typename S>
void Network<S>::Initialize(uint64_t seed) {
  for (size_t l = 0; l < spec_.layers.size(); ++l) {
    const LayerSpec& layer = spec_.layers[l];
    const long long count = layer.num_parameters();
    if (count == 0) continue;
    RandomStream rng({.seed = seed, .stream = Stream::kInit, .index = l});
    const double bound = 1.0 / std::sqrt(static_cast<double>(layer.in));
    S* p = parameters_.data() + offsets_[l];
    for (long long i = 0; i < count; ++i) p[i] = static_cast<S>((2.0 * rng.Uniform() - 1.0) * bound);
  }
}

template <typename S>
const typename Network<S>::Matrix& Network<S>::Forward(const Matrix& x, Workspace& ws, const S* params) const {
  Require(x.cols() == input_dim(),
          "network: the input has " + std::to_string(x.cols()) + " columns, expected " + std::to_string(input_dim()));
  if (!params) params = parameters_.data();
  const size_t num_layers = spec_.layers.size();
  ws.outputs.resize(num_layers);
  ws.caches.resize(num_layers);
  ws.grads.resize(num_layers);
  ws.transposed.resize(num_layers);
  const int n = static_cast<int>(x.rows());
  const Matrix* in = &x;
  for (size_t l = 0; l < num_layers; ++l) {
    const LayerSpec& layer = spec_.layers[l];
    const S* p = params + offsets_[l];
    Matrix& out = ws.outputs[l];
    Matrix& cache = ws.caches[l];
    out.resize(n, layer.out);
    switch (layer.kind) {
      case LayerKind::kLinear: {
        MatMul<S>(n, layer.out, layer.in, in->data(), layer.in, 1, p, layer.out, out.data(), layer.out, false);
        out.rowwise() += Eigen::Map<const Eigen::Matrix<S, 1, Eigen::Dynamic>>(p + layer.in * layer.out, layer.out);
        break;
      }
      case LayerKind::kGelu:
      case LayerKind::kSilu: ActivationForward<S>(layer.kind, in->data(), out.data(), out.size()); break;
      case LayerKind::kResidual: {
        const int w = layer.in;
        cache.resize(n, w);
        MatMul<S>(n, w, w, in->data(), w, 1, p, w, cache.data(), w, false);
        cache.rowwise() += Eigen::Map<const Eigen::Matrix<S, 1, Eigen::Dynamic>>(p + w * w, w);
        ActivationForward<S>(layer.activation, cache.data(), out.data(), out.size());
        out += *in;
        break;
      }
      case LayerKind::kEmbed: {
        const auto& freqs = frequencies_[l];
        int in_col = 0, out_col = 0;
        for (size_t g = 0; g < layer.groups.size(); ++g) {
          const EmbedGroup& group = layer.groups[g];
          if (group.size == 0) {
            out.middleCols(out_col, group.columns) = in->middleCols(in_col, group.columns);
            in_col += group.columns;
            out_col += group.columns;
            continue;
          }
          const int half = group.size / 2;
          if (cache.rows() != n || cache.cols() < half) cache.resize(n, std::max<Eigen::Index>(half, cache.cols()));
          auto arg = cache.leftCols(half);
          for (int c = 0; c < group.columns; ++c) {
            // arg = (x scale) f_k, as tiny-diffusion orders the products
            arg.noalias() = (in->col(in_col) * S(group.scale)) * freqs[g];
            out.middleCols(out_col, half) = arg.array().sin().matrix();
            out.middleCols(out_col + half, half) = arg.array().cos().matrix();
            ++in_col;
            out_col += group.size;
          }
        }
        break;
      }
    }
    in = &out;
  }
  return *in;
}

template <typename S>
void Network<S>::Backward(const Matrix& x, const Matrix& dy, Workspace& ws, Matrix* dx) {
  const size_t num_layers = spec_.layers.size();
  Require(ws.outputs.size() == num_layers && ws.outputs.back().rows() == x.rows(),
          "network: Backward needs the workspace of a Forward on the same input");
  Require(dy.rows() == x.rows() && dy.cols() == output_dim(), "network: dL/dy has the wrong shape");
  const int n = static_cast<int>(x.rows());
  const S* params = parameters_.data();
  const Matrix* d_out = &dy;
  for (size_t l = num_layers; l-- > 0;) {
    const LayerSpec& layer = spec_.layers[l];
    const Matrix& in = l > 0 ? ws.outputs[l - 1] : x;
    const S* p = params + offsets_[l];
    S* g = gradients_.data() + offsets_[l];
    const bool need_d_in = l > 0 || dx != nullptr;
    Matrix& d_in = l > 0 ? ws.grads[l] : (dx ? *dx : ws.grads[0]);
    if (need_d_in) d_in.resize(n, layer.in);
    switch (layer.kind) {
      case LayerKind::kLinear: {
        const int i = layer.in, o = layer.out;
        // dW = x^T dy (x read as its transpose through strides), db = column sums of dy
        MatMul<S>(i, o, n, in.data(), 1, i, d_out->data(), o, g, o, false);
        ColumnSums(*d_out, g + i * o);
        if (need_d_in) {
          Matrix& w_t = ws.transposed[l];
          w_t = Eigen::Map<const Matrix>(p, i, o).transpose();
          MatMul<S>(n, i, o, d_out->data(), o, 1, w_t.data(), i, d_in.data(), i, false);
        }
        break;
      }
      case LayerKind::kGelu:
      case LayerKind::kSilu:
        if (need_d_in) ActivationBackward<S>(layer.kind, in.data(), d_out->data(), d_in.data(), d_in.size());
        break;
      case LayerKind::kResidual: {
        const int w = layer.in;
        Matrix& delta = ws.caches[l];  // z is replaced by dL/dz: the pass is over
        ActivationBackward<S>(layer.activation, delta.data(), d_out->data(), delta.data(), delta.size());
        MatMul<S>(w, w, n, in.data(), 1, w, delta.data(), w, g, w, false);
        ColumnSums(delta, g + w * w);
        if (need_d_in) {
          d_in = *d_out;
          Matrix& w_t = ws.transposed[l];
          w_t = Eigen::Map<const Matrix>(p, w, w).transpose();
          MatMul<S>(n, w, w, delta.data(), w, 1, w_t.data(), w, d_in.data(), w, true);
        }
        break;
      }
      case LayerKind::kEmbed: {
        if (!need_d_in) break;
        const Matrix& out = ws.outputs[l];
        const auto& freqs = frequencies_[l];
        int in_col = 0, out_col = 0;
        for (size_t gi = 0; gi < layer.groups.size(); ++gi) {
          const EmbedGroup& group = layer.groups[gi];
          if (group.size == 0) {
            d_in.middleCols(in_col, group.columns) = d_out->middleCols(out_col, group.columns);
            in_col += group.columns;
            out_col += group.columns;
            continue;
          }
          const int half = group.size / 2;
          for (int c = 0; c < group.columns; ++c) {
            // d sin(a)/dx = scale f cos(a), d cos(a)/dx = -scale f sin(a); cos(a), sin(a) are the outputs.
            const auto sin_a = out.middleCols(out_col, half).array();
            const auto cos_a = out.middleCols(out_col + half, half).array();
            const auto d_sin = d_out->middleCols(out_col, half).array();
            const auto d_cos = d_out->middleCols(out_col + half, half).array();
            d_in.col(in_col) = ((d_sin * cos_a - d_cos * sin_a).matrix() * freqs[gi].transpose()) * S(group.scale);
            ++in_col;
            out_col += group.size;
          }
        }
        break;
      }
    }
    d_out = &d_in;
  }
}

template <typename S>
void Network<S>::Predict(const Matrix& x, Matrix* y, std::vector<Workspace>* pool, const S* params) const {
  Require(x.cols() == input_dim(),
          "network: the input has " + std::to_string(x.cols()) + " columns, expected " + std::to_string(input_dim()));
  constexpr int kChunk = 256;  // rows per Forward; fixed, so results never depend on the thread count
  const int n = static_cast<int>(x.rows());
  y->resize(n, output_dim());
  if (n == 0) return;
  const int chunks = (n + kChunk - 1) / kChunk;
  const int stripes = std::min(chunks, std::max(1, cv::getNumThreads()));
  if (static_cast<int>(pool->size()) < stripes) pool->resize(stripes);
  auto run = [&](int s) {
    Workspace& ws = (*pool)[s];
    for (int c = static_cast<int>(static_cast<long long>(chunks) * s / stripes);
         c < static_cast<int>(static_cast<long long>(chunks) * (s + 1) / stripes); ++c) {
      const int r0 = c * kChunk, rows = std::min(kChunk, n - r0);
      ws.input = x.middleRows(r0, rows);
      y->middleRows(r0, rows) = Forward(ws.input, ws, params);
    }
  };
  if (stripes == 1) {
    run(0);
  } else {
    cv::parallel_for_(
        cv::Range(0, stripes),
        [&](const cv::Range& r) {
          for (int s = r.start; s < r.end; ++s) run(s);
        },
        stripes);
  }
}

template class Network<float>;
template class Network<double>;

}  // namespace diffuscope

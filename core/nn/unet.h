// A noise-conditional convolutional U-Net (Ho et al. 2020's shape, at the size of improved-diffusion's small
// models) with hand-written forward and backward passes: 3x3 / 1x1 convolutions (stride 1 and 2), GroupNorm, SiLU,
// nearest upsampling, concatenation skips and a per-channel projection of the noise-level embedding added inside
// each residual block. It is fully convolutional: a network trained on 64x64 crops runs on a photo of any size
// (a multiple of size_multiple(); the models pad to it).
//
// Tensors are NHWC (channels last). Float convolutions run on oneDNN (the engine PyTorch uses on CPU; chosen by
// the benchmark unet_train_step/reference, see tests/bench), double ones on a direct reference loop so the whole
// network can be gradient-checked in double. GroupNorm, SiLU and the dense embedding layers are the project's own.
//
//   diffuscope::UNet<float> net(diffuscope::ReferenceUNetSpec());
//   net.Initialize(1);
//   diffuscope::UNet<float>::Workspace ws(/*training=*/true);
//   diffuscope::UNet<float>::Tensor x;  x.Resize(8, 64, 64, 3);          // N, H, W, C
//   const auto& y = net.Forward(x, noise_level, ws);                      // noise_level: one scalar per sample
//   net.Backward(x, noise_level, dloss_dy, ws);                           // fills net.gradients()
#pragma once

#include "core/common/types.h"

#include <Eigen/Core>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace diffuscope {

struct UNetSpec {
  int in_channels = 3;                        // x_t (and conditioning channels, e.g. SR3's upsampled image)
  int out_channels = 3;                       // the prediction (eps, x_0 or v)
  std::vector<int> channels = {32, 64, 128};  // per level; each level after the first halves the size
  int groups = 8;                             // GroupNorm groups (every channel count must divide by it)
  int embedding_size = 128;                   // sinusoidal features of the noise-level scalar
  int embedding_width = 128;                  // width of the embedding MLP (Linear, SiLU, Linear)
  bool zero_init = false;  // zero the last convolution of each block and the output (improved-diffusion); the
                           // reference benchmark network initialises as PyTorch does

  /// Empty when valid, else what is wrong, naming the field.
  std::string Check() const;
  long long num_parameters() const;
  int levels() const { return static_cast<int>(channels.size()); }
  /// Height and width must be multiples of this (2^(levels - 1)).
  int size_multiple() const { return 1 << (levels() - 1); }
  bool operator==(const UNetSpec&) const = default;
};

/// The network of ../shared/bench/unet_reference.py: levels 32, 64, 128, one residual block each, 3 -> 3 channels,
/// GroupNorm(8), 128 sinusoidal features, 1,475,395 weights (as PyTorch counts them).
UNetSpec ReferenceUNetSpec();

/// An N x H x W x C tensor, channels last. The data is 64-byte aligned: oneDNN's AVX-512 kernels take other
/// code paths for other alignments, and their float sums then differ in the last bits from run to run.
template <typename Scalar>
struct Tensor4 {
  int n = 0, h = 0, w = 0, c = 0;
  std::vector<Scalar, Eigen::aligned_allocator<Scalar>> data;

  void Resize(int n_, int h_, int w_, int c_) {
    n = n_, h = h_, w = w_, c = c_;
    data.resize(size());
  }
  size_t size() const { return static_cast<size_t>(n) * h * w * c; }
  bool SameShape(const Tensor4& o) const { return n == o.n && h == o.h && w == o.w && c == o.c; }
  Scalar& at(int b, int y, int x, int ch) { return data[((static_cast<size_t>(b) * h + y) * w + x) * c + ch]; }
  const Scalar& at(int b, int y, int x, int ch) const {
    return data[((static_cast<size_t>(b) * h + y) * w + x) * c + ch];
  }
};

template <typename Scalar>
class UNet {
 public:
  using Tensor = Tensor4<Scalar>;

  /// Activations and scratch of one forward/backward pass (and, for float, the oneDNN primitives of the last
  /// shape). Reuse one across calls of the same shape: then nothing is allocated. One per thread.
  class Workspace {
   public:
    /// training = true prepares the forward pass for a Backward (oneDNN's forward_training).
    explicit Workspace(bool training = false);
    ~Workspace();
    Workspace(Workspace&&) noexcept;
    Workspace& operator=(Workspace&&) noexcept;
    struct Impl;

   private:
    friend class UNet;
    std::unique_ptr<Impl> impl_;
  };

  /// Throws Error when spec.Check() fails. Parameters start at zero; call Initialize or set them.
  explicit UNet(UNetSpec spec);

  const UNetSpec& spec() const { return spec_; }
  long long num_parameters() const { return static_cast<long long>(parameters_.size()); }
  /// All weights, layer by layer: convolutions as PyTorch's OIHW then the bias; linear layers as W (in x out,
  /// row-major) then b; GroupNorm as gamma then beta.
  std::vector<Scalar>& parameters() { return parameters_; }
  const std::vector<Scalar>& parameters() const { return parameters_; }
  std::vector<Scalar>& gradients() { return gradients_; }
  const std::vector<Scalar>& gradients() const { return gradients_; }

  /// PyTorch's default initialisation (uniform in +-1/sqrt(fan_in) for weights and biases, GroupNorm 1 and 0),
  /// drawn from (seed, Stream::kInit, layer index); with spec.zero_init the last convolution of each block and
  /// the output convolution start at zero.
  void Initialize(uint64_t seed);

  /// y = net(x, noise_level) with params (nullptr = parameters()). x: N x H x W x in_channels, H and W multiples
  /// of size_multiple(); noise_level: N scalars (what the embedding sees). The result lives in ws until its next
  /// use. Throws Error on a wrong shape.
  const Tensor& Forward(const Tensor& x, const std::vector<Scalar>& noise_level, Workspace& ws,
                        const Scalar* params = nullptr) const;
  /// After Forward(x, noise_level, ws) with parameters() and a training workspace: writes dL/d(parameters) into
  /// gradients() given dy = dL/dy, and dL/dx into *dx when not null.
  void Backward(const Tensor& x, const std::vector<Scalar>& noise_level, const Tensor& dy, Workspace& ws,
                Tensor* dx = nullptr);

  /// Layout of the parameters (public for the tests and the model files' checks).
  struct Conv {
    int cin = 0, cout = 0, kernel = 3, stride = 1;
    long long w = 0, b = 0;  // offsets
    int id = 0;              // index in convs_
  };
  struct Norm {
    int channels = 0;
    long long gamma = 0, beta = 0;
  };
  struct Linear {
    int in = 0, out = 0;
    long long w = 0, b = 0;
  };
  struct Block {
    int cin = 0, cout = 0;
    Norm n1, n2;
    Conv c1, c2, skip;
    Linear proj;
    bool has_skip = false;
  };

 private:
  void Build();
  Conv AddConv(int cin, int cout, int kernel, int stride);
  Norm AddNorm(int channels);
  Linear AddLinear(int in, int out);
  Block AddBlock(int cin, int cout);

  UNetSpec spec_;
  long long count_ = 0;
  Linear emb1_, emb2_;
  Conv conv_in_, conv_out_;
  std::vector<Block> down_, up_;
  std::vector<Conv> pool_, upconv_;  // pool_[i] after down_[i] (i < L - 1); upconv_[j] after up_[j] (level > 0)
  Block mid_;
  Norm norm_out_;
  std::vector<Conv> convs_;  // every convolution, in layer order (the oneDNN primitives are kept per entry)
  std::vector<Scalar> parameters_, gradients_;
};

extern template class UNet<float>;
extern template class UNet<double>;

}  // namespace diffuscope

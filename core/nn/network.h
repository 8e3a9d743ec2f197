// Small feed-forward networks with hand-written forward and backward passes, batched as row-major
// matrices (one sample per row). A network is a chain of layers: an input embedding (sinusoidal features of
// chosen columns, concatenated), linear layers, GELU / SiLU, and residual blocks x + act(x W + b). All
// parameters live in one flat vector (so the optimizer, EMA and files treat them as one array).
//
//   diffuscope::NetworkSpec spec = diffuscope::TinyDiffusionSpec();   // tiny-diffusion's MLP
//   diffuscope::Network<float> net(spec);
//   net.Initialize(/*seed=*/1);                                         // PyTorch's default init
//   diffuscope::Network<float>::Workspace ws;
//   const auto& y = net.Forward(x, ws);                                 // x: n x 3 (x, y, t) -> y: n x 2
//   net.Backward(x, dloss_dy, ws);                                      // fills net.gradients()
#pragma once

#include "core/common/types.h"

#include <Eigen/Core>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace diffuscope {

enum class LayerKind {
  kEmbed,     // concatenated features of the input columns: identity or sinusoidal (no parameters)
  kLinear,    // y = x W + b
  kGelu,      // y = x Phi(x), the exact (erf) GELU, as PyTorch's default nn.GELU()
  kSilu,      // y = x sigmoid(x)
  kResidual,  // y = x + act(x W + b), act = GELU or SiLU (tiny-diffusion's Block)
};

/// The file / display name of a layer kind ("embed", "linear", "gelu", "silu", "residual").
std::string_view LayerKindName(LayerKind kind);
/// Parses a layer kind name; nullopt if unknown.
std::optional<LayerKind> ParseLayerKind(std::string_view name);

/// A run of input columns of an embedding layer and the features each column becomes.
struct EmbedGroup {
  int columns = 1;     // input columns in the group
  int size = 0;        // features per column: 0 = the column itself; else `size` sinusoidal features (even, >= 4)
  double scale = 1.0;  // sinusoidal: the column is multiplied by scale first (tiny-diffusion: 25 for x and y)

  bool operator==(const EmbedGroup&) const = default;
};

/// One layer of a network. Use the factory functions; the fields are what model files store.
struct LayerSpec {
  LayerKind kind = LayerKind::kLinear;
  int in = 0;                               // input width
  int out = 0;                              // output width (equal to `in` except for linear and embed layers)
  LayerKind activation = LayerKind::kGelu;  // of a residual block: kGelu or kSilu
  std::vector<EmbedGroup> groups;           // of an embed layer, in column order

  static LayerSpec Linear(int in, int out);
  static LayerSpec Gelu(int width);
  static LayerSpec Silu(int width);
  static LayerSpec Residual(int width, LayerKind activation = LayerKind::kGelu);
  static LayerSpec Embed(std::vector<EmbedGroup> groups);

  /// Weights and biases of the layer (0 for parameter-free layers).
  long long num_parameters() const;
  /// Empty when the layer is consistent, else what is wrong.
  std::string Check() const;
  bool operator==(const LayerSpec&) const = default;
};

/// A chain of layers, input to output.
struct NetworkSpec {
  std::vector<LayerSpec> layers;

  int input_dim() const { return layers.empty() ? 0 : layers.front().in; }
  int output_dim() const { return layers.empty() ? 0 : layers.back().out; }
  long long num_parameters() const;
  /// Empty when valid (layers chain, sizes within limits), else what is wrong, naming the layer.
  std::string Check() const;
  bool operator==(const NetworkSpec&) const = default;
};

/// The most parameters a network may have (a guard against corrupted files: 2^26 floats = 256 MiB).
constexpr long long kMaxNetworkParameters = 1LL << 26;
/// The widest layer a network may have.
constexpr int kMaxLayerWidth = 1 << 16;

/// tiny-diffusion's MLP: x and y each through `embedding_size` sinusoidal features at `input_scale`, t through
/// `embedding_size` sinusoidal features, Linear(3 e -> hidden) + GELU, `hidden_layers` residual GELU blocks,
/// Linear(hidden -> 2). Input columns: x, y, t.
NetworkSpec TinyDiffusionSpec(int embedding_size = 128, double input_scale = 25.0, int hidden_size = 128,
                              int hidden_layers = 3);

/// A network and its parameters (Scalar = float for training and inference, double for gradient checks).
template <typename Scalar>
class Network {
 public:
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

  /// Activations and scratch of one forward/backward pass. Reuse one across calls: after the first call of a
  /// batch size nothing is allocated.
  struct Workspace {
    std::vector<Matrix> outputs;     // output of each layer
    std::vector<Matrix> caches;      // what a layer keeps for its backward pass (pre-activations)
    std::vector<Matrix> grads;       // dL/d(input) of each layer
    std::vector<Matrix> transposed;  // W^T of each layer, for dL/d(input) (one per layer: no reallocation)
    Matrix input;                    // a chunk of rows (Predict)
  };

  /// Throws Error when spec.Check() fails. Parameters start at zero; call Initialize or set them.
  explicit Network(NetworkSpec spec);

  const NetworkSpec& spec() const { return spec_; }
  int input_dim() const { return spec_.input_dim(); }
  int output_dim() const { return spec_.output_dim(); }
  long long num_parameters() const { return static_cast<long long>(parameters_.size()); }
  /// All weights and biases, layer by layer; a linear layer stores W (in x out, row-major: W[k][j] joins input
  /// k to output j, the transpose of PyTorch's Linear.weight), then b (out).
  std::vector<Scalar>& parameters() { return parameters_; }
  const std::vector<Scalar>& parameters() const { return parameters_; }
  /// dL/d(parameters) from the last Backward, same layout.
  std::vector<Scalar>& gradients() { return gradients_; }
  const std::vector<Scalar>& gradients() const { return gradients_; }
  /// Offset of layer `layer`'s parameters in parameters().
  long long parameter_offset(int layer) const { return offsets_[layer]; }

  /// PyTorch's default initialisation of every linear layer: W and b uniform in +-1/sqrt(fan_in), drawn from
  /// (seed, Stream::kInit, layer index).
  void Initialize(uint64_t seed);

  /// Runs x (n x input_dim) through every layer with `params` (nullptr = parameters()); the result (n x
  /// output_dim) lives in ws until its next use. Throws Error when x has the wrong number of columns.
  const Matrix& Forward(const Matrix& x, Workspace& ws, const Scalar* params = nullptr) const;
  /// After Forward(x, ws) with parameters(): writes dL/d(parameters) into gradients() (overwriting them) given
  /// dy = dL/dy, and dL/dx into *dx when dx is not null.
  void Backward(const Matrix& x, const Matrix& dy, Workspace& ws, Matrix* dx = nullptr);
  /// Forward for many rows: fixed chunks of rows spread over OpenCV's threads with one workspace each from
  /// *pool (grown as needed). The bits do not depend on the number of threads.
  void Predict(const Matrix& x, Matrix* y, std::vector<Workspace>* pool, const Scalar* params = nullptr) const;

 private:
  NetworkSpec spec_;
  std::vector<long long> offsets_;
  std::vector<Scalar> parameters_, gradients_;
  std::vector<std::vector<Eigen::Matrix<Scalar, 1, Eigen::Dynamic>>> frequencies_;  // per layer, per embed group
};

extern template class Network<float>;
extern template class Network<double>;

}  // namespace diffuscope

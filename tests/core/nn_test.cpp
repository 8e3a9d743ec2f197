// core/nn: the GEMM kernel, every layer's forward values, gradient checks of every layer kind and of whole
// networks against central finite differences (in double), the optimizer's arithmetic and the initialisation.
#include "core/nn/gemm.h"
#include "core/nn/network.h"
#include "core/nn/optimizer.h"
#include "core/random/random.h"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include <cmath>
#include <numbers>
#include <vector>

namespace diffuscope {
namespace {

using MatD = Network<double>::Matrix;
using MatF = Network<float>::Matrix;

std::vector<float> Uniforms(size_t n, uint64_t index) {
  std::vector<float> u(n);
  FillUniform({.seed = 11, .stream = Stream::kUser, .index = index}, 0, u);
  for (float& x : u) x = 2.0f * x - 1.0f;
  return u;
}

MatD RandomMatrix(int rows, int cols, uint64_t index, double scale = 1.0) {
  std::vector<float> u = Uniforms(static_cast<size_t>(rows) * cols, index);
  MatD m(rows, cols);
  for (int i = 0; i < rows * cols; ++i) m.data()[i] = scale * u[i];
  return m;
}

// ----------------------------------------------------------------------------------------------------- GEMM

struct GemmShape {
  int m, p, k;
};

// |C - C_exact| <= gamma_k sum_k |a b| with gamma_k = k u / (1 - k u), u = 2^-24 (Higham, Accuracy and Stability,
// eq. 3.5); a factor 2 of slack covers the order of the sum.
void ExpectGemmClose(const std::vector<float>& c, const std::vector<double>& exact, const std::vector<double>& abs_sum,
                     int k) {
  const double u = std::ldexp(1.0, -24), gamma = 2.0 * (k + 1) * u / (1.0 - (k + 1) * u);
  for (size_t i = 0; i < c.size(); ++i)
    ASSERT_LE(std::abs(c[i] - exact[i]), gamma * abs_sum[i] + 1e-30) << "element " << i;
}

TEST(Gemm, MatchesTheExactProductForAwkwardShapesStridesAndAccumulation) {
  for (GemmShape s : {GemmShape{1, 1, 1},
                      {7, 19, 5},
                      {6, 16, 3},
                      {13, 33, 17},
                      {32, 128, 384},
                      {32, 2, 128},
                      {5, 8, 0},
                      {300, 40, 9}}) {
    for (bool transposed_a : {false, true}) {
      for (bool accumulate : {false, true}) {
        const std::vector<float> a = Uniforms(static_cast<size_t>(s.m) * s.k + 1, 1);
        const std::vector<float> b = Uniforms(static_cast<size_t>(s.k) * s.p + 1, 2);
        const std::vector<float> c0 = Uniforms(static_cast<size_t>(s.m) * s.p, 3);
        // A(r, c) = a[r * a_row + c * a_col]: row-major m x k, or the transpose of a row-major k x m.
        const std::ptrdiff_t a_row = transposed_a ? 1 : s.k, a_col = transposed_a ? s.m : 1;
        std::vector<double> exact(c0.size()), abs_sum(c0.size());
        for (int r = 0; r < s.m; ++r)
          for (int j = 0; j < s.p; ++j) {
            double sum = accumulate ? c0[r * s.p + j] : 0.0, mag = std::abs(sum);
            for (int q = 0; q < s.k; ++q) {
              const double term = double(a[r * a_row + q * a_col]) * b[q * s.p + j];
              sum += term;
              mag += std::abs(term);
            }
            exact[r * s.p + j] = sum;
            abs_sum[r * s.p + j] = mag;
          }
        std::vector<float> c = c0, c_portable = c0, c_kernel = c0;
        Gemm(s.m, s.p, s.k, a.data(), a_row, a_col, b.data(), s.p, c.data(), s.p, accumulate);
        GemmPortable(s.m, s.p, s.k, a.data(), a_row, a_col, b.data(), s.p, c_portable.data(), s.p, accumulate);
        SCOPED_TRACE(::testing::Message() << s.m << "x" << s.p << "x" << s.k << " transposed " << transposed_a
                                          << " accumulate " << accumulate);
        ExpectGemmClose(c, exact, abs_sum, s.k);
        ExpectGemmClose(c_portable, exact, abs_sum, s.k);
        if (Avx2KernelAvailable()) {
          GemmKernelAvx2(s.m, s.p, s.k, a.data(), a_row, a_col, b.data(), s.p, c_kernel.data(), s.p, accumulate);
          ExpectGemmClose(c_kernel, exact, abs_sum, s.k);
        }
      }
    }
  }
}

TEST(Gemm, TheAvx2KernelsRowResultDoesNotDependOnTheOtherRows) {
  if (!Avx2KernelAvailable()) GTEST_SKIP() << "no AVX2 on this processor";
  const int m = 37, p = 45, k = 29;
  const std::vector<float> a = Uniforms(m * k, 4), b = Uniforms(k * p, 5);
  std::vector<float> all(m * p), one(p);
  GemmKernelAvx2(m, p, k, a.data(), k, 1, b.data(), p, all.data(), p, false);
  for (int r = 0; r < m; ++r) {
    GemmKernelAvx2(1, p, k, a.data() + r * k, k, 1, b.data(), p, one.data(), p, false);
    for (int j = 0; j < p; ++j) ASSERT_EQ(one[j], all[r * p + j]) << "row " << r << " column " << j;
  }
}

// ----------------------------------------------------------------------------------------------- layer values

TEST(Layers, GeluIsTheExactErfFormAndSiluIsXSigmoidX) {
  NetworkSpec gelu{{LayerSpec::Gelu(5)}}, silu{{LayerSpec::Silu(5)}};
  Network<float> g(gelu), s(silu);
  MatF x(1, 5);
  x << -3.0f, -1.0f, 0.0f, 1.0f, 2.5f;
  Network<float>::Workspace ws;
  const MatF yg = g.Forward(x, ws);
  const MatF ys = s.Forward(x, ws);
  for (int i = 0; i < 5; ++i) {
    const double v = x(0, i);
    const double gelu_exact = v * 0.5 * (1.0 + std::erf(v / std::numbers::sqrt2));
    const double silu_exact = v / (1.0 + std::exp(-v));
    EXPECT_NEAR(yg(0, i), gelu_exact, 4e-7 * std::max(1.0, std::abs(v))) << v;
    EXPECT_NEAR(ys(0, i), silu_exact, 4e-7 * std::max(1.0, std::abs(v))) << v;
  }
  EXPECT_NEAR(yg(0, 3), 0.8413447460685429, 2e-7);  // GELU(1) = Phi(1), not the tanh form's 0.8411920
}

TEST(Layers, SinusoidalEmbeddingMatchesTinyDiffusion) {
  // tiny-diffusion: e = ln(10000) / (half - 1); f_k = exp(-e k); features [sin(s x f), cos(s x f)].
  NetworkSpec spec{{LayerSpec::Embed({{1, 0, 1.0}, {1, 8, 25.0}, {1, 6, 1.0}})}};
  Network<double> net(spec);
  EXPECT_EQ(net.output_dim(), 1 + 8 + 6);
  MatD x(2, 3);
  x << 0.5, -0.3, 7.0, -2.0, 0.01, 49.0;
  Network<double>::Workspace ws;
  const MatD y = net.Forward(x, ws);
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(y(r, 0), x(r, 0));
    for (int k = 0; k < 4; ++k) {
      const double f = std::exp(-std::log(10000.0) / 3.0 * k);
      EXPECT_NEAR(y(r, 1 + k), std::sin(25.0 * x(r, 1) * f), 1e-12);
      EXPECT_NEAR(y(r, 5 + k), std::cos(25.0 * x(r, 1) * f), 1e-12);
    }
    for (int k = 0; k < 3; ++k) {
      const double f = std::exp(-std::log(10000.0) / 2.0 * k);
      EXPECT_NEAR(y(r, 9 + k), std::sin(x(r, 2) * f), 1e-12);
      EXPECT_NEAR(y(r, 12 + k), std::cos(x(r, 2) * f), 1e-12);
    }
  }
}

TEST(Layers, LinearAndResidualComputeXWPlusB) {
  NetworkSpec spec{{LayerSpec::Linear(2, 3), LayerSpec::Residual(3, LayerKind::kSilu)}};
  Network<double> net(spec);
  // W1 (2 x 3) row-major, b1, W2 (3 x 3), b2
  std::vector<double> p = {1, 2, 3, 4, 5, 6, 0.1, 0.2, 0.3, 1, 0, 0, 0, 1, 0, 0, 0, 1, -1, 0, 1};
  ASSERT_EQ(net.num_parameters(), static_cast<long long>(p.size()));
  net.parameters() = p;
  MatD x(1, 2);
  x << 1.0, -1.0;
  Network<double>::Workspace ws;
  const MatD y = net.Forward(x, ws);
  const double h[3] = {1 - 4 + 0.1, 2 - 5 + 0.2, 3 - 6 + 0.3};  // x W1 + b1
  const double b2[3] = {-1, 0, 1};
  for (int j = 0; j < 3; ++j) {
    const double z = h[j] + b2[j];  // W2 = I
    EXPECT_NEAR(y(0, j), h[j] + z / (1.0 + std::exp(-z)), 1e-12);
  }
}

// ------------------------------------------------------------------------------------------- gradient checks

// L = sum(R .* f(x)) for a fixed random R; checks dL/dparams and dL/dx from Backward against central differences
// in double. Truncation error h^2/6 |L'''| (at most ~1e-9 here even with scale-25 embeddings: 25^3 h^2 / 6) and
// rounding error ~1e-16 |L| / h (~1e-9) are far below the tolerance 1e-6 (1 + |g|); a wrong term is O(1).
void CheckGradients(const NetworkSpec& spec, int rows, uint64_t seed, double input_scale = 1.0) {
  Network<double> net(spec);
  Network<float> init(spec);
  init.Initialize(seed);
  for (size_t i = 0; i < init.parameters().size(); ++i) net.parameters()[i] = init.parameters()[i];
  MatD x = RandomMatrix(rows, net.input_dim(), seed + 100, input_scale);
  const MatD r = RandomMatrix(rows, net.output_dim(), seed + 200);
  Network<double>::Workspace ws;
  auto loss = [&](const MatD& input) { return (net.Forward(input, ws).array() * r.array()).sum(); };
  loss(x);
  MatD dx;
  net.Backward(x, r, ws, &dx);
  const std::vector<double> grads = net.gradients();
  const double h = 1e-6;
  for (size_t i = 0; i < net.parameters().size(); ++i) {
    const double saved = net.parameters()[i];
    net.parameters()[i] = saved + h;
    const double up = loss(x);
    net.parameters()[i] = saved - h;
    const double down = loss(x);
    net.parameters()[i] = saved;
    const double numeric = (up - down) / (2 * h);
    ASSERT_NEAR(grads[i], numeric, 1e-6 * (1.0 + std::abs(numeric))) << "parameter " << i;
  }
  for (int i = 0; i < x.size(); ++i) {
    const double saved = x.data()[i];
    x.data()[i] = saved + h;
    const double up = loss(x);
    x.data()[i] = saved - h;
    const double down = loss(x);
    x.data()[i] = saved;
    const double numeric = (up - down) / (2 * h);
    ASSERT_NEAR(dx.data()[i], numeric, 1e-6 * (1.0 + std::abs(numeric))) << "input " << i;
  }
}

TEST(GradientCheck, Linear) { CheckGradients({{LayerSpec::Linear(5, 4)}}, 7, 1); }
TEST(GradientCheck, Gelu) { CheckGradients({{LayerSpec::Gelu(6)}}, 5, 2, 3.0); }
TEST(GradientCheck, Silu) { CheckGradients({{LayerSpec::Silu(6)}}, 5, 3, 3.0); }
TEST(GradientCheck, ResidualGelu) { CheckGradients({{LayerSpec::Residual(5, LayerKind::kGelu)}}, 6, 4, 2.0); }
TEST(GradientCheck, ResidualSilu) { CheckGradients({{LayerSpec::Residual(5, LayerKind::kSilu)}}, 6, 5, 2.0); }
TEST(GradientCheck, EmbedAndConcatenation) {
  CheckGradients({{LayerSpec::Embed({{2, 0, 1.0}, {1, 8, 25.0}, {2, 6, 1.0}})}}, 4, 6);
}
TEST(GradientCheck, EmbedThenLinearAndActivations) {
  CheckGradients({{LayerSpec::Embed({{1, 4, 3.0}, {1, 0, 1.0}}), LayerSpec::Linear(5, 6), LayerSpec::Silu(6),
                   LayerSpec::Linear(6, 3), LayerSpec::Gelu(3)}},
                 5, 7);
}
TEST(GradientCheck, WholeTinyDiffusionNetwork) {
  // tiny-diffusion's architecture, narrowed so every parameter can be checked.
  CheckGradients(TinyDiffusionSpec(8, 25.0, 6, 3), 5, 8);
}

// --------------------------------------------------------------------------------------------- whole networks

TEST(Network, FloatAgreesWithDoubleOnTheDefaultArchitecture) {
  const NetworkSpec spec = TinyDiffusionSpec();
  Network<float> f(spec);
  f.Initialize(3);
  Network<double> d(spec);
  for (size_t i = 0; i < f.parameters().size(); ++i) d.parameters()[i] = f.parameters()[i];
  MatD x = RandomMatrix(64, 3, 9, 3.0);
  x.col(2) = (x.col(2).array() + 3.0) * 8.0;  // t in 0..48
  x.col(2) = x.col(2).array().round();
  const MatF xf = x.cast<float>();
  Network<float>::Workspace wf;
  Network<double>::Workspace wd;
  const MatF yf = f.Forward(xf, wf);
  const MatD yd = d.Forward(xf.cast<double>(), wd);
  // float rounding through 5 layers of ~400-term sums: errors ~1e-5 of the outputs' scale.
  EXPECT_LT((yf.cast<double>() - yd).cwiseAbs().maxCoeff(), 1e-4 * (1.0 + yd.cwiseAbs().maxCoeff()));

  MatF dy = RandomMatrix(64, 2, 10).cast<float>();
  f.Backward(xf, dy, wf);
  d.Backward(xf.cast<double>(), dy.cast<double>(), wd);
  double worst = 0, scale = 0;
  for (size_t i = 0; i < f.gradients().size(); ++i) {
    worst = std::max(worst, std::abs(f.gradients()[i] - d.gradients()[i]));
    scale = std::max(scale, std::abs(d.gradients()[i]));
  }
  EXPECT_LT(worst, 1e-4 * scale);
}

TEST(Network, PredictGivesTheSameBitsOnAnyThreadCountAndEqualsForward) {
  Network<float> net(TinyDiffusionSpec());
  net.Initialize(4);
  MatF x = RandomMatrix(1000, 3, 11, 2.0).cast<float>();
  std::vector<Network<float>::Workspace> pool;
  MatF one_thread, many_threads;
  // Several threads first: OpenCV's TBB back end ignores raising the count after lowering it.
  const int threads = cv::getNumThreads();
  cv::setNumThreads(std::max(2, threads));
  net.Predict(x, &many_threads, &pool);
  EXPECT_GE(pool.size(), 2u);  // the 4 chunks were split into stripes
  cv::setNumThreads(1);
  net.Predict(x, &one_thread, &pool);
  cv::setNumThreads(threads);
  EXPECT_TRUE(one_thread == many_threads);
  Network<float>::Workspace ws;
  const MatF forward = net.Forward(x.topRows(256), ws);
  EXPECT_TRUE(forward == one_thread.topRows(256));
}

TEST(Network, DefaultArchitectureHasTinyDiffusionsParameterCount) {
  // Linear 384->128, 3 x Linear 128->128, Linear 128->2, each with a bias.
  EXPECT_EQ(TinyDiffusionSpec().num_parameters(), (384 * 128 + 128) + 3 * (128 * 128 + 128) + (128 * 2 + 2));
  EXPECT_EQ(TinyDiffusionSpec().input_dim(), 3);
  EXPECT_EQ(TinyDiffusionSpec().output_dim(), 2);
}

TEST(Network, InitializationIsPyTorchsUniformAndSeeded) {
  Network<float> a(TinyDiffusionSpec()), b(TinyDiffusionSpec()), c(TinyDiffusionSpec());
  a.Initialize(1);
  b.Initialize(1);
  c.Initialize(2);
  EXPECT_EQ(a.parameters(), b.parameters());
  EXPECT_NE(a.parameters(), c.parameters());
  // First linear layer: fan_in 384, bound 1/sqrt(384); uniform: mean 0, variance bound^2 / 3.
  const long long off = a.parameter_offset(1), count = 384 * 128;
  const double bound = 1.0 / std::sqrt(384.0);
  double sum = 0, sum_sq = 0;
  for (long long i = 0; i < count; ++i) {
    const double w = a.parameters()[off + i];
    ASSERT_LE(std::abs(w), bound);
    sum += w;
    sum_sq += w * w;
  }
  const double mean = sum / count, var = sum_sq / count;
  const double sd_of_mean = bound / std::sqrt(3.0 * count);
  EXPECT_LT(std::abs(mean), 5 * sd_of_mean);
  // Var of w^2 for U(-b, b): b^4 (1/5 - 1/9); 5 standard errors.
  EXPECT_NEAR(var, bound * bound / 3, 5 * bound * bound * std::sqrt((1.0 / 5 - 1.0 / 9) / count));
}

TEST(Network, SpecCheckNamesTheProblem) {
  EXPECT_NE(NetworkSpec{}.Check().find("no layers"), std::string::npos);
  EXPECT_NE((NetworkSpec{{LayerSpec::Linear(3, 4), LayerSpec::Linear(5, 2)}}.Check()).find("layer 2 takes 5"),
            std::string::npos);
  EXPECT_NE((NetworkSpec{{LayerSpec::Embed({{1, 7, 1.0}})}}.Check()).find("even"), std::string::npos);
  EXPECT_NE((NetworkSpec{{LayerSpec::Embed({{1, 8, -1.0}})}}.Check()).find("scale"), std::string::npos);
  EXPECT_NE((NetworkSpec{{LayerSpec::Linear(60000, 60000)}}.Check()).find("parameters"), std::string::npos);
  LayerSpec bad_residual = LayerSpec::Residual(4, LayerKind::kLinear);
  EXPECT_FALSE((NetworkSpec{{bad_residual}}.Check()).empty());
  EXPECT_TRUE(TinyDiffusionSpec().Check().empty());
  EXPECT_THROW(Network<float>(NetworkSpec{}), Error);
  Network<float> net(TinyDiffusionSpec());
  Network<float>::Workspace ws;
  EXPECT_THROW(net.Forward(MatF(4, 2), ws), Error);
}

// ---------------------------------------------------------------------------------------------------- optimizer

TEST(Optimizer, AdamWFollowsPyTorchsArithmetic) {
  std::vector<float> w = {0.5f, -1.0f, 2.0f}, m(3, 0.0f), v(3, 0.0f);
  std::vector<double> wd = {0.5, -1.0, 2.0}, md(3, 0.0), vd(3, 0.0);
  const AdamWHyper h{.learning_rate = 0.01, .beta1 = 0.9, .beta2 = 0.99, .epsilon = 1e-8, .weight_decay = 0.1};
  const std::vector<std::vector<float>> grads = {{0.1f, -0.2f, 0.0f}, {0.3f, 0.1f, -0.5f}, {-0.2f, 0.0f, 0.4f}};
  for (int step = 1; step <= 3; ++step) {
    AdamWStep(w, grads[step - 1], m, v, step, h);
    for (int i = 0; i < 3; ++i) {
      const double g = grads[step - 1][i];
      wd[i] *= 1.0 - h.learning_rate * h.weight_decay;
      md[i] = h.beta1 * md[i] + (1 - h.beta1) * g;
      vd[i] = h.beta2 * vd[i] + (1 - h.beta2) * g * g;
      const double mhat = md[i] / (1 - std::pow(h.beta1, step)), vhat = vd[i] / (1 - std::pow(h.beta2, step));
      wd[i] -= h.learning_rate * mhat / (std::sqrt(vhat) + h.epsilon);
    }
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(w[i], wd[i], 1e-6) << "step " << step << " weight " << i;
  }
  // The first step moves every weight with a non-zero gradient by lr (Adam's unit step) plus the decay.
  std::vector<float> w1 = {1.0f}, m1 = {0.0f}, v1 = {0.0f};
  AdamWStep(w1, std::vector<float>{123.0f}, m1, v1, 1, {.learning_rate = 0.01, .weight_decay = 0.0});
  EXPECT_NEAR(w1[0], 0.99f, 1e-6);
}

TEST(Optimizer, ResultsDoNotDependOnWhereTheArraysLie) {
  // Training must give the same bits on every run; heap addresses differ between runs.
  const size_t n = 1000;
  const std::vector<float> w0 = Uniforms(n, 20), g0 = Uniforms(n, 21);
  std::vector<float> ref_w, ref_m, ref_ema;
  double ref_norm = 0;
  for (size_t offset = 0; offset < 17; ++offset) {
    std::vector<float> w(n + offset), g(n + offset), m(n + offset, 0.0f), v(n + offset, 0.0f), ema(n + offset);
    std::copy(w0.begin(), w0.end(), w.begin() + offset);
    std::copy(g0.begin(), g0.end(), g.begin() + offset);
    std::copy(w0.begin(), w0.end(), ema.begin() + offset);
    std::span<float> ws(w.data() + offset, n), gs(g.data() + offset, n), ms(m.data() + offset, n),
        vs(v.data() + offset, n), es(ema.data() + offset, n);
    const double norm = ClipGradientNorm(gs, 1.0);
    for (int step = 1; step <= 3; ++step) {
      AdamWStep(ws, gs, ms, vs, step, {});
      EmaUpdate(es, ws, 0.9);
    }
    std::vector<float> out_w(ws.begin(), ws.end()), out_m(ms.begin(), ms.end()), out_e(es.begin(), es.end());
    if (offset == 0) {
      ref_w = out_w;
      ref_m = out_m;
      ref_ema = out_e;
      ref_norm = norm;
      continue;
    }
    EXPECT_EQ(norm, ref_norm) << offset;
    EXPECT_EQ(out_w, ref_w) << offset;
    EXPECT_EQ(out_m, ref_m) << offset;
    EXPECT_EQ(out_e, ref_ema) << offset;
  }
}

TEST(Optimizer, ClipGradientNormScalesOnlyLargeGradients) {
  std::vector<float> g = {3.0f, 4.0f};
  EXPECT_NEAR(ClipGradientNorm(g, 1.0), 5.0, 1e-12);
  EXPECT_NEAR(g[0], 3.0 / (5.0 + 1e-6), 1e-7);
  EXPECT_NEAR(g[1], 4.0 / (5.0 + 1e-6), 1e-7);
  std::vector<float> small = {0.3f, 0.4f};
  EXPECT_NEAR(ClipGradientNorm(small, 1.0), 0.5, 1e-7);
  EXPECT_EQ(small[0], 0.3f);
  std::vector<float> off = {30.0f, 40.0f};
  ClipGradientNorm(off, 0.0);
  EXPECT_EQ(off[1], 40.0f);
  std::vector<float> bad = {1.0f, NAN};
  EXPECT_TRUE(std::isnan(ClipGradientNorm(bad, 1.0)));
}

TEST(Optimizer, EmaAndItsWarmUp) {
  std::vector<float> ema = {0.0f, 1.0f};
  EmaUpdate(ema, std::vector<float>{1.0f, 1.0f}, 0.75);
  EXPECT_FLOAT_EQ(ema[0], 0.25f);
  EXPECT_FLOAT_EQ(ema[1], 1.0f);
  EXPECT_NEAR(EmaDecayAt(1, 0.999), 2.0 / 11.0, 1e-15);
  EXPECT_NEAR(EmaDecayAt(100, 0.999), 101.0 / 110.0, 1e-15);
  EXPECT_EQ(EmaDecayAt(100000, 0.999), 0.999);
}

TEST(Optimizer, LearningRateWarmUpAndCosineDecay) {
  EXPECT_DOUBLE_EQ(LearningRateAt(1, 1000, 1e-3, 0, false, 0), 1e-3);
  EXPECT_DOUBLE_EQ(LearningRateAt(50, 1000, 1e-3, 100, false, 0), 0.5e-3);
  EXPECT_DOUBLE_EQ(LearningRateAt(100, 1000, 1e-3, 100, true, 1e-5), 1e-3);
  EXPECT_NEAR(LearningRateAt(550, 1000, 1e-3, 100, true, 1e-5), 1e-5 + (1e-3 - 1e-5) * 0.5, 1e-15);
  EXPECT_NEAR(LearningRateAt(1000, 1000, 1e-3, 100, true, 1e-5), 1e-5, 1e-15);
  EXPECT_DOUBLE_EQ(LearningRateAt(700, 1000, 1e-3, 100, false, 1e-5), 1e-3);
}

}  // namespace
}  // namespace diffuscope

#include "core/random/random.h"

#include <Random123/philox.h>
#include <opencv2/core.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace diffuscope {
namespace {

using Philox = r123::Philox4x32;

inline Philox::ctr_type Counter(const RandomKey& key, uint64_t block) {
  // Layout: word 0-1 the block (64 bits), word 2 the stream, word 3 the low index bits; the high index
  // bits go into the key beside the seed so that no two (seed, stream, index, block) share a counter.
  Philox::ctr_type c = {{static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32),
                         static_cast<uint32_t>(key.stream), static_cast<uint32_t>(key.index)}};
  return c;
}

inline Philox::key_type Key(const RandomKey& key) {
  // The seed's high word is mixed with the index's high word by multiplication by an odd constant,
  // a bijection of the index high word for a fixed seed.
  uint32_t hi = static_cast<uint32_t>(key.seed >> 32) ^ (static_cast<uint32_t>(key.index >> 32) * 0x9E3779B9u);
  Philox::key_type k = {{static_cast<uint32_t>(key.seed), hi}};
  return k;
}

constexpr float kTwoPi = 2.0f * std::numbers::pi_v<float>;
constexpr float kInv24 = 1.0f / 16777216.0f;

inline float ToUnit(uint32_t x) { return (static_cast<float>(x >> 8) + 0.5f) * kInv24; }

// Philox4x32-10 on a run of consecutive blocks, lane by lane in structure-of-arrays form so that the compiler
// vectorises the 32x32->64-bit products; bit-identical to Random123's philox4x32 (tested).
void PhiloxRun(const RandomKey& key, uint64_t block0, size_t n, uint32_t* w0, uint32_t* w1, uint32_t* w2,
               uint32_t* w3) {
  const auto k = Key(key);
  for (size_t l = 0; l < n; ++l) {
    const uint64_t block = block0 + l;
    w0[l] = static_cast<uint32_t>(block);
    w1[l] = static_cast<uint32_t>(block >> 32);
    w2[l] = static_cast<uint32_t>(key.stream);
    w3[l] = static_cast<uint32_t>(key.index);
  }
  uint32_t k0 = k[0], k1 = k[1];
  for (int round = 0; round < 10; ++round) {
    for (size_t l = 0; l < n; ++l) {
      const uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * w0[l];
      const uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * w2[l];
      const uint32_t x1 = w1[l], x3 = w3[l];
      w0[l] = static_cast<uint32_t>(p1 >> 32) ^ x1 ^ k0;
      w1[l] = static_cast<uint32_t>(p1);
      w2[l] = static_cast<uint32_t>(p0 >> 32) ^ x3 ^ k1;
      w3[l] = static_cast<uint32_t>(p0);
    }
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
}

// Normals for whole blocks [block0, block0 + nblocks): 4 per block, written to out[0 .. 4 nblocks).
void NormalBlocks(const RandomKey& key, uint64_t block0, size_t nblocks, float* out) {
  constexpr size_t kChunk = 256;
  alignas(64) float u1[2 * kChunk], u2[2 * kChunk], cs[2 * kChunk], sn[2 * kChunk];
  alignas(64) uint32_t w0[kChunk], w1[kChunk], w2[kChunk], w3[kChunk];
  for (size_t start = 0; start < nblocks; start += kChunk) {
    const size_t n = std::min(kChunk, nblocks - start);
    PhiloxRun(key, block0 + start, n, w0, w1, w2, w3);
    for (size_t b = 0; b < n; ++b) {
      u1[2 * b] = ToUnit(w0[b]);
      u2[2 * b] = ToUnit(w1[b]);
      u1[2 * b + 1] = ToUnit(w2[b]);
      u2[2 * b + 1] = ToUnit(w3[b]);
    }
    // Box-Muller, vectorised by Eigen's packet log/sin/cos. The length is padded to a multiple of 16 so
    // that every draw goes through the packet path: a scalar tail would round differently, and the bits
    // of a draw must not depend on where a fill starts or ends.
    const size_t padded = (2 * n + 15) / 16 * 16;
    for (size_t p = 2 * n; p < padded; ++p) u1[p] = u2[p] = 0.5f;
    Eigen::Map<Eigen::ArrayXf> a1(u1, padded), a2(u2, padded);
    a1 = (-2.0f * a1.log()).sqrt();
    a2 *= kTwoPi;
    Eigen::Map<Eigen::ArrayXf> c(cs, padded), s(sn, padded);
    c = a2.cos();
    s = a2.sin();
    float* o = out + 4 * start;
    for (size_t p = 0; p < 2 * n; ++p) {
      o[2 * p] = a1[p] * c[p];
      o[2 * p + 1] = a1[p] * s[p];
    }
  }
}

}  // namespace

void PhiloxBlock(const RandomKey& key, uint64_t block, uint32_t out[4]) {
  Philox philox;
  auto r = philox(Counter(key, block), Key(key));
  std::copy(r.v, r.v + 4, out);
}

void FillNormal(const RandomKey& key, uint64_t first, std::span<float> out) {
  size_t n = out.size();
  if (n == 0) return;
  float* dst = out.data();
  // Unaligned head: draw its whole block and keep the tail of it.
  if (first % 4 != 0) {
    float tmp[4];
    NormalBlocks(key, first / 4, 1, tmp);
    size_t lane = first % 4, take = std::min<size_t>(4 - lane, n);
    std::copy(tmp + lane, tmp + lane + take, dst);
    dst += take;
    first += take;
    n -= take;
  }
  size_t whole = n / 4;
  if (whole) NormalBlocks(key, first / 4, whole, dst);
  dst += 4 * whole;
  first += 4 * whole;
  n -= 4 * whole;
  if (n) {
    float tmp[4];
    NormalBlocks(key, first / 4, 1, tmp);
    std::copy(tmp, tmp + n, dst);
  }
}

void FillNormalParallel(const RandomKey& key, uint64_t first, std::span<float> out) {
  constexpr size_t kGrain = 1 << 16;  // numbers per task; a multiple of 4 keeps blocks whole
  const size_t n = out.size();
  const int tasks = static_cast<int>((n + kGrain - 1) / kGrain);
  if (tasks <= 1) return FillNormal(key, first, out);
  cv::parallel_for_(cv::Range(0, tasks), [&](const cv::Range& r) {
    for (int task = r.start; task < r.end; ++task) {
      size_t begin = task * kGrain, count = std::min(kGrain, n - begin);
      FillNormal(key, first + begin, out.subspan(begin, count));
    }
  });
}

void FillUniform(const RandomKey& key, uint64_t first, std::span<float> out) {
  Philox philox;
  const auto k = Key(key);
  for (size_t i = 0; i < out.size();) {
    uint64_t pos = first + i;
    auto r = philox(Counter(key, pos / 4), k);
    for (size_t lane = pos % 4; lane < 4 && i < out.size(); ++lane, ++i) out[i] = ToUnit(r[lane]);
  }
}

uint32_t RandomStream::Bits() {
  if (used_ == 4) {
    PhiloxBlock(key_, block_++, buffer_);
    used_ = 0;
  }
  return buffer_[used_++];
}

double RandomStream::Uniform() {
  const uint64_t hi = Bits(), lo = Bits();        // two statements: the order of draws is fixed
  const uint64_t bits = (hi << 21) | (lo >> 11);  // 53 bits
  return (static_cast<double>(bits) + 0.5) / 9007199254740992.0;
}

double RandomStream::Normal() {
  double u1 = Uniform(), u2 = Uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

uint64_t RandomStream::Below(uint64_t n) {
  if (n <= 1) return 0;
  // Lemire-free simple rejection: unbiased, n is small in practice.
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  for (;;) {
    const uint64_t hi = Bits(), lo = Bits();
    const uint64_t x = (hi << 32) | lo;
    if (x < limit) return x % n;
  }
}

}  // namespace diffuscope

#include "core/random/random.h"

#include <Random123/philox.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include <cmath>
#include <vector>

namespace diffuscope {
namespace {

TEST(Random, PhiloxIsRandom123KnownAnswer) {
  // Random123's published known-answer vector for philox4x32_10: zero counter and key.
  r123::Philox4x32 philox;
  auto r = philox({{0, 0, 0, 0}}, {{0, 0}});
  EXPECT_EQ(r[0], 0x6627e8d5u);
  EXPECT_EQ(r[1], 0xe169c58du);
  EXPECT_EQ(r[2], 0xbc57ac4cu);
  EXPECT_EQ(r[3], 0x9b00dbd8u);
}

TEST(Random, FastNormalsAreBoxMullerOfRandom123Words) {
  // The vectorised Philox in FillNormal must produce Random123's words: recompute draws from PhiloxBlock
  // (Random123 itself) with the same Box-Muller in double and compare.
  const RandomKey key{2024, Stream::kMarkovPath, 123456789012ull};
  std::vector<float> z(4 * 600);
  FillNormal(key, 0, z);
  for (uint64_t block = 0; block < 600; block += 37) {
    uint32_t w[4];
    PhiloxBlock(key, block, w);
    for (int pair = 0; pair < 2; ++pair) {
      const double u1 = ((w[2 * pair] >> 8) + 0.5) / 16777216.0, u2 = ((w[2 * pair + 1] >> 8) + 0.5) / 16777216.0;
      const double r = std::sqrt(-2.0 * std::log(u1)), theta = 2.0 * 3.14159265358979323846 * u2;
      EXPECT_NEAR(z[4 * block + 2 * pair], r * std::cos(theta), 2e-5 * (1 + r));
      EXPECT_NEAR(z[4 * block + 2 * pair + 1], r * std::sin(theta), 2e-5 * (1 + r));
    }
  }
}

TEST(Random, RandomAccessAndChunkingGiveIdenticalBits) {
  RandomKey key{123, Stream::kForwardEps, 7};
  std::vector<float> all(10007);
  FillNormal(key, 0, all);
  // Any offset and length reproduces the same numbers (unaligned heads and tails included).
  for (uint64_t first : {0ull, 1ull, 3ull, 5ull, 4097ull}) {
    std::vector<float> part(777);
    FillNormal(key, first, part);
    for (size_t i = 0; i < part.size(); ++i) ASSERT_EQ(part[i], all[first + i]) << first << " " << i;
  }
  // The parallel fill is bit-identical on any thread count.
  std::vector<float> big(300001), big_par(300001);
  FillNormal(key, 11, big);
  for (int threads : {1, 2, 4}) {
    cv::setNumThreads(threads);
    FillNormalParallel(key, 11, big_par);
    EXPECT_EQ(big, big_par) << threads << " threads";
  }
  cv::setNumThreads(-1);
}

TEST(Random, StreamsSeedsAndIndicesAreIndependent) {
  std::vector<float> a(64), b(64);
  FillNormal({1, Stream::kForwardEps, 0}, 0, a);
  FillNormal({2, Stream::kForwardEps, 0}, 0, b);
  EXPECT_NE(a, b);
  FillNormal({1, Stream::kMarkovPath, 0}, 0, b);
  EXPECT_NE(a, b);
  FillNormal({1, Stream::kForwardEps, 1ull << 40}, 0, b);  // high index bits matter too
  EXPECT_NE(a, b);
}

TEST(Random, NormalMomentsWithinSamplingError) {
  const size_t n = 1 << 20;
  std::vector<float> z(n);
  FillNormal({99, Stream::kUser, 0}, 0, z);
  double m1 = 0, m2 = 0, m3 = 0, m4 = 0, tail = 0;
  for (float v : z) {
    m1 += v;
    m2 += v * v;
    m3 += v * v * v;
    m4 += double(v) * v * v * v;
    tail += std::abs(v) > 2.0;
  }
  m1 /= n, m2 /= n, m3 /= n, m4 /= n, tail /= n;
  // Standard errors: mean 1/sqrt(n), var sqrt(2/n), skew sqrt(15/n), kurtosis sqrt(96/n); allow 5 sigma.
  EXPECT_NEAR(m1, 0.0, 5 / std::sqrt(double(n)));
  EXPECT_NEAR(m2, 1.0, 5 * std::sqrt(2.0 / n));
  EXPECT_NEAR(m3, 0.0, 5 * std::sqrt(15.0 / n));
  EXPECT_NEAR(m4, 3.0, 5 * std::sqrt(96.0 / n));
  const double p2 = 0.0455002638963584;  // P(|Z| > 2)
  EXPECT_NEAR(tail, p2, 5 * std::sqrt(p2 * (1 - p2) / n));
}

TEST(Random, UniformAndStreamHelpers) {
  std::vector<float> u(100000);
  FillUniform({5, Stream::kData, 0}, 0, u);
  double mean = 0;
  for (float v : u) {
    ASSERT_GT(v, 0.0f);
    ASSERT_LT(v, 1.0f);
    mean += v;
  }
  EXPECT_NEAR(mean / u.size(), 0.5, 5 * std::sqrt(1.0 / 12 / u.size()));
  RandomStream s1({5, Stream::kData, 0}), s2({5, Stream::kData, 0});
  for (int i = 0; i < 100; ++i) ASSERT_EQ(s1.Normal(), s2.Normal());
  std::vector<int> counts(3);
  for (int i = 0; i < 30000; ++i) counts[s1.Below(3)]++;
  for (int c : counts) EXPECT_NEAR(c, 10000, 5 * std::sqrt(30000 * (1 / 3.0) * (2 / 3.0)));
}

}  // namespace
}  // namespace diffuscope

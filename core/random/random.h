// Counter-based random numbers (Random123's Philox4x32-10): every draw is a pure function of
// (seed, stream, index, position), so any frame, step or pixel can be drawn again in any order and on
// any number of threads with identical bits.
//
//   diffuscope::RandomKey key{.seed = 42, .stream = diffuscope::Stream::kForwardEps, .index = 0};
//   std::vector<float> eps(3 * h * w);
//   diffuscope::FillNormal(key, 0, eps);   // draws 0 .. n-1 of that stream
#pragma once

#include <cstdint>
#include <span>

namespace diffuscope {

/// Streams of one seed that must never share draws.
enum class Stream : uint32_t {
  kForwardEps = 1,    // the fixed eps of the closed-form view; index = sample
  kMarkovPath = 2,    // the Brownian-bridge nodes of the Markov path; index = node
  kFreshNoise = 3,    // a new eps per frame; index = frame
  kInitialNoise = 4,  // x_T of a reverse run; index = sample
  kReverseNoise = 5,  // z of each reverse step; index = step
  kData = 6,          // dataset generators
  kTraining = 7,      // minibatches, t and eps draws of training; index = iteration
  kInit = 8,          // network weight initialisation
  kUser = 64,         // first free value for other purposes
};

struct RandomKey {
  uint64_t seed = 0;
  Stream stream = Stream::kUser;
  uint64_t index = 0;
};

/// out[k] = standard normal draw number (first + k) of the key's stream (Box-Muller on Philox output).
/// Draws are float; their tails are exact to |z| ~ 5.9 (24-bit uniforms).
void FillNormal(const RandomKey& key, uint64_t first, std::span<float> out);
/// As FillNormal, but split over OpenCV's thread pool; the numbers are identical to FillNormal's.
void FillNormalParallel(const RandomKey& key, uint64_t first, std::span<float> out);
/// out[k] = uniform draw in (0, 1) number (first + k) of the key's stream.
void FillUniform(const RandomKey& key, uint64_t first, std::span<float> out);

/// The four 32-bit words of Philox4x32-10 block `block` of a key (the raw generator, for tests).
void PhiloxBlock(const RandomKey& key, uint64_t block, uint32_t out[4]);

/// A sequential reader of one stream, for code that draws a few numbers at a time (data generators).
class RandomStream {
 public:
  explicit RandomStream(const RandomKey& key) : key_(key) {}
  /// Uniform in (0, 1), double precision (53 bits from two words).
  double Uniform();
  /// Standard normal, double precision (Box-Muller on two Uniform()s).
  double Normal();
  /// Uniform integer in [0, n).
  uint64_t Below(uint64_t n);
  uint32_t Bits();

 private:
  RandomKey key_;
  uint64_t block_ = 0;
  uint32_t buffer_[4] = {};
  int used_ = 4;
};

}  // namespace diffuscope

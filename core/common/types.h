// Shared vocabulary of the core: the batch layout and the error every core call reports with.
//
//   diffuscope::Batch x(n, 2);            // n 2D points, one per row
//   diffuscope::Batch img(1, 3 * h * w);  // one RGB image as channel planes, pixels in [-1, 1]
#pragma once

#include <Eigen/Core>

#include <functional>
#include <stdexcept>
#include <string>

namespace diffuscope {

/// A batch of samples, one per row, row-major float. A 2D point has 2 columns, an image C*H*W
/// (channel planes, pixels in [-1, 1]).
using Batch = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using BatchMap = Eigen::Map<Batch>;
using ConstBatchMap = Eigen::Map<const Batch>;

/// What every core call throws on bad input (parameters, files): a message a user can act on.
/// The core never aborts on input; the front ends catch this and show the message.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The user (or a test) asked a long call to stop; it leaves no partial result behind.
class Cancelled : public Error {
 public:
  Cancelled() : Error("cancelled") {}
};

/// Progress of a long call: done of total units, and a short phrase of what is being done.
using ProgressFn = std::function<void(long long done, long long total, const std::string& what)>;
/// Asked between units of work; true means stop as soon as possible (the call throws Cancelled).
using StopFn = std::function<bool()>;

/// Throws Error(message) when condition is false. For input checks, never for internal invariants.
inline void Require(bool condition, const std::string& message) {
  if (!condition) throw Error(message);
}

}  // namespace diffuscope

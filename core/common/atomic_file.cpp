#include "core/common/atomic_file.h"

#include "core/common/types.h"

#include <atomic>
#include <chrono>
#include <system_error>

#include <unistd.h>

namespace diffuscope {
namespace fs = std::filesystem;

fs::path TempPathBeside(const fs::path& target) {
  static std::atomic<unsigned> counter{0};
  const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
  fs::path name = "." + target.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                  std::to_string(stamp % 1000000007) + "-" + std::to_string(counter++);
  // Keep the extension last: writers such as OpenCV pick the format from it.
  name += target.extension();
  return target.parent_path() / name;
}

AtomicFile::AtomicFile(fs::path target) : target_(std::move(target)), temp_(TempPathBeside(target_)) {
  Require(!target_.filename().empty(), "no file name given for output '" + target_.string() + "'");
  std::error_code ec;
  fs::path folder = target_.parent_path().empty() ? fs::path(".") : target_.parent_path();
  Require(fs::is_directory(folder, ec),
          "cannot write '" + target_.string() + "': folder '" + folder.string() + "' does not exist");
  stream_.open(temp_, std::ios::binary | std::ios::trunc);
  Require(stream_.is_open(),
          "cannot write '" + target_.string() + "': folder '" + folder.string() + "' is not writable");
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    stream_.close();
    std::error_code ec;
    fs::remove(temp_, ec);
  }
}

void AtomicFile::Commit() {
  stream_.flush();
  const bool ok = stream_.good();
  stream_.close();
  if (!ok || stream_.fail()) {
    std::error_code ec;
    fs::remove(temp_, ec);
    committed_ = true;
    throw Error("writing '" + target_.string() + "' failed (disk full or not writable); nothing was changed");
  }
  std::error_code ec;
  fs::rename(temp_, target_, ec);
  if (ec) {
    fs::remove(temp_, ec);
    committed_ = true;
    throw Error("cannot replace '" + target_.string() + "': " + ec.message());
  }
  committed_ = true;
}

void WriteAtomically(const fs::path& target, const std::function<void(const fs::path&)>& write) {
  std::error_code ec;
  fs::path folder = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  Require(fs::is_directory(folder, ec),
          "cannot write '" + target.string() + "': folder '" + folder.string() + "' does not exist");
  const fs::path temp = TempPathBeside(target);
  try {
    write(temp);
  } catch (...) {
    fs::remove(temp, ec);
    throw;
  }
  Require(fs::exists(temp, ec), "writing '" + target.string() + "' failed: nothing was written");
  fs::rename(temp, target, ec);
  if (ec) {
    std::error_code ignore;
    fs::remove(temp, ignore);
    throw Error("cannot replace '" + target.string() + "': " + ec.message());
  }
}

}  // namespace diffuscope

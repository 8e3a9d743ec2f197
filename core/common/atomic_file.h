// Files are replaced only when a write succeeded: write a temporary file beside the target, then rename.
//
//   diffuscope::AtomicFile file("out.csv");          // throws Error if the folder is not writable
//   file.stream() << "x,y\n";
//   file.Commit();                                    // renames over out.csv; without it nothing changes
#pragma once

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

namespace diffuscope {

class AtomicFile {
 public:
  /// Opens a temporary file in the target's folder. Throws Error when it cannot be created.
  explicit AtomicFile(std::filesystem::path target);
  /// Removes the temporary file unless Commit() succeeded.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::ofstream& stream() { return stream_; }
  const std::filesystem::path& temp_path() const { return temp_; }
  /// Flushes, checks for write errors (a full disk), and renames over the target. Throws Error on failure.
  void Commit();

 private:
  std::filesystem::path target_, temp_;
  std::ofstream stream_;
  bool committed_ = false;
};

/// A temporary path beside target (same folder, so rename is atomic) that no other file uses.
std::filesystem::path TempPathBeside(const std::filesystem::path& target);

/// For writers that need a file name (OpenCV, giflib): write(temp) makes the file at temp, then it is renamed
/// over target. If write throws or the rename fails, the temporary file is removed and target is untouched.
void WriteAtomically(const std::filesystem::path& target,
                     const std::function<void(const std::filesystem::path&)>& write);

}  // namespace diffuscope

// Helpers shared by the export writers (not part of the public API).
#pragma once

#include "core/common/types.h"
#include "core/export/export.h"
#include "core/render/frame.h"

#include <filesystem>
#include <string>

namespace diffuscope::export_detail {

/// Throws Error unless options are valid and frame_count is in 1..kMaxExportFrames.
void CheckRequest(const std::filesystem::path& out, int frame_count, const ExportOptions& options);
/// Throws Error unless the folder that will hold `target` exists and is a folder.
void CheckOutputFolder(const std::filesystem::path& target);
/// Throws Cancelled when stop says so.
inline void CheckStop(const StopFn& stop) {
  if (stop && stop()) throw Cancelled();
}

/// Checks that every frame is valid and has the size of the first one.
class FrameChecker {
 public:
  /// Throws Error for an empty, malformed or absurdly large frame, or one whose size differs from the first.
  void Check(const Frame& frame, int index);
  int width() const { return width_; }
  int height() const { return height_; }

 private:
  int width_ = 0, height_ = 0;
};

/// Progress in units of frames: Report(what) after each unit.
class Progress {
 public:
  Progress(const ProgressFn& fn, long long total) : fn_(fn), total_(total) {}
  void Report(const std::string& what) {
    ++done_;
    if (fn_) fn_(done_, total_, what);
  }
  /// Changes the total (when more work turns up), keeping what is done: progress never goes back.
  void SetTotal(long long total) { total_ = total; }
  long long done() const { return done_; }

 private:
  const ProgressFn& fn_;
  long long total_ = 0, done_ = 0;
};

/// Lower-case extension of a path, with the dot (".gif"), or "" when none.
std::string LowerExtension(const std::filesystem::path& path);

}  // namespace diffuscope::export_detail

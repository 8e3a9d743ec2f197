// Numbered PNG frames in a folder, written into a temporary sibling folder and renamed into place on success.
#include "core/common/atomic_file.h"
#include "core/export/export.h"
#include "core/export/export_detail.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <regex>

#include <fcntl.h>
#include <stdio.h>

namespace diffuscope {
namespace fs = std::filesystem;
using export_detail::CheckStop;
using export_detail::FrameChecker;
using export_detail::Progress;

namespace {

// A folder may be replaced only when it is empty or holds only frame_*.png files (a previous export).
bool HoldsOnlyFrames(const fs::path& folder) {
  static const std::regex frame_name(R"(frame_[0-9]+\.png)");
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder, ec)) {
    if (!entry.is_regular_file(ec) || !std::regex_match(entry.path().filename().string(), frame_name)) return false;
  }
  return !ec;
}

// Swaps the finished folder into place: atomically (renameat2 RENAME_EXCHANGE) when the target exists and the
// file system supports it, else target -> backup, temp -> target, remove backup (restoring on failure).
void MoveIntoPlace(const fs::path& temp, const fs::path& target, bool target_exists) {
  std::error_code ec;
  if (!target_exists) {
    fs::rename(temp, target, ec);
    if (ec) throw Error("cannot create '" + target.string() + "': " + ec.message());
    return;
  }
#ifdef RENAME_EXCHANGE
  if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
    fs::remove_all(temp, ec);  // temp now holds the previous frames
    return;
  }
#endif
  const fs::path backup = TempPathBeside(target);
  fs::rename(target, backup, ec);
  if (ec) throw Error("cannot replace '" + target.string() + "': " + ec.message());
  fs::rename(temp, target, ec);
  if (ec) {
    std::error_code ignore;
    fs::rename(backup, target, ignore);
    throw Error("cannot replace '" + target.string() + "': " + ec.message());
  }
  fs::remove_all(backup, ec);
}

}  // namespace

ExportResult WritePngFrames(const fs::path& out, int frame_count, const FrameSource& frames,
                            const ExportOptions& options, const ProgressFn& progress_fn, const StopFn& stop) {
  export_detail::CheckRequest(out, frame_count, options);
  Require(static_cast<bool>(frames), "no frame source given");
  // "frames/" names the folder "frames".
  fs::path target = out;
  while (!target.empty() && target.filename().empty() && target != target.root_path()) target = target.parent_path();
  Require(!target.empty() && target != target.root_path(), "cannot write PNG frames into '" + out.string() + "'");
  export_detail::CheckOutputFolder(target);
  std::error_code ec;
  const bool exists = fs::exists(target, ec);
  if (exists) {
    Require(fs::is_directory(target, ec), "cannot write PNG frames to '" + target.string() + "': it is a file");
    Require(HoldsOnlyFrames(target), "the folder '" + target.string() +
                                         "' already holds other files; choose an empty or new folder for PNG frames");
  }

  const fs::path temp = TempPathBeside(target);
  if (!fs::create_directory(temp, ec) || ec)
    throw Error("cannot write PNG frames beside '" + target.string() + "': the folder '" +
                target.parent_path().string() + "' is not writable");

  FrameChecker checker;
  Progress progress(progress_fn, frame_count);
  try {
    // Frames are fetched in order in small batches and compressed in parallel, each file on its own.
    const std::vector<int> params = {cv::IMWRITE_PNG_COMPRESSION, 1};
    constexpr int kBatch = 4;
    std::vector<Frame> batch;
    std::vector<std::string> errors(kBatch);
    for (int begin = 0; begin < frame_count; begin += kBatch) {
      const int end = std::min(frame_count, begin + kBatch);
      batch.clear();
      for (int i = begin; i < end; ++i) {
        CheckStop(stop);
        Frame frame = frames(i);
        checker.Check(frame, i);
        batch.push_back(std::move(frame));
      }
      cv::parallel_for_(cv::Range(0, static_cast<int>(batch.size())), [&](const cv::Range& range) {
        cv::Mat bgr;
        for (int k = range.start; k < range.end; ++k) {
          const std::string name = PngFrameName(begin + k, frame_count);
          errors[k].clear();
          try {
            cv::cvtColor(AsMat(batch[k]), bgr, cv::COLOR_RGB2BGR);
            if (!cv::imwrite((temp / name).string(), bgr, params))
              errors[k] = "writing '" + (target / name).string() + "' failed (disk full or not writable)";
          } catch (const std::exception& e) {
            errors[k] = "writing '" + (target / name).string() + "' failed: " + e.what();
          }
        }
      });
      for (int k = 0; k < static_cast<int>(batch.size()); ++k) {
        Require(errors[k].empty(), errors[k]);
        progress.Report("writing PNG frames");
      }
    }
    MoveIntoPlace(temp, target, exists);
  } catch (...) {
    std::error_code ignore;
    fs::remove_all(temp, ignore);
    throw;
  }

  ExportResult result;
  result.format = ExportFormat::kPngFrames;
  result.path = target;
  result.frames = frame_count;
  result.width = checker.width();
  result.height = checker.height();
  result.codec = "PNG";
  result.note =
      "lossless RGB frames " + PngFrameName(0, frame_count) + " .. " + PngFrameName(frame_count - 1, frame_count);
  return result;
}

}  // namespace diffuscope

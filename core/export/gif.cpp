// Animated GIF: a global palette (exact greys, the exact colours when there are few, else median cut refined by
// k-means over a 15-bit histogram of sampled frames), exact nearest-colour search through a cell index, optional
// serpentine Floyd-Steinberg dithering, and giflib's LZW encoder.
#include "core/common/atomic_file.h"
#include "core/export/export.h"
#include "core/export/export_detail.h"

#include <gif_lib.h>
#include <opencv2/core.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <unordered_set>

namespace diffuscope {
namespace fs = std::filesystem;
using export_detail::CheckStop;
using export_detail::FrameChecker;
using export_detail::Progress;

namespace {

// ---------------------------------------------------------------------------------------------- palette building

constexpr int kBinBits = 5;
constexpr int kBins = 1 << (3 * kBinBits);

inline int BinOf(const uint8_t* p) {
  constexpr int drop = 8 - kBinBits;
  return ((p[0] >> drop) << (2 * kBinBits)) | ((p[1] >> drop) << kBinBits) | (p[2] >> drop);
}

inline uint32_t Pack(const uint8_t* p) { return (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2]; }

// A 15-bit colour histogram with exact sums (so that bin means are exact), and the set of exact colours while
// there are at most `limit` of them.
class PaletteBuilder {
 public:
  explicit PaletteBuilder(int limit) : limit_(limit), count_(kBins), sum_(kBins * 3) {}

  void Add(const Frame& frame) {
    const uint8_t* p = frame.rgb.data();
    const size_t n = frame.rgb.size() / 3;
    for (size_t i = 0; i < n; ++i, p += 3) {
      const int bin = BinOf(p);
      ++count_[bin];
      sum_[3 * bin] += p[0];
      sum_[3 * bin + 1] += p[1];
      sum_[3 * bin + 2] += p[2];
    }
    if (!exact_valid_) return;
    int used = 0;
    for (int b = 0; b < kBins; ++b) used += count_[b] != 0;
    if (used > limit_) {  // more bins than colours allowed: more exact colours too
      exact_valid_ = false;
      exact_.clear();
      return;
    }
    p = frame.rgb.data();
    uint32_t previous = 0xffffffffu;
    for (size_t i = 0; i < n; ++i, p += 3) {
      const uint32_t colour = Pack(p);
      if (colour == previous) continue;
      previous = colour;
      exact_.insert(colour);
      if (static_cast<int>(exact_.size()) > limit_) {
        exact_valid_ = false;
        exact_.clear();
        return;
      }
    }
  }

  /// The palette: the exact colours when there are at most `limit`, else median cut + k-means.
  std::vector<Rgb> Build() const {
    std::vector<Rgb> palette;
    if (exact_valid_ && !exact_.empty()) {
      std::vector<uint32_t> colours(exact_.begin(), exact_.end());
      std::sort(colours.begin(), colours.end());
      for (uint32_t c : colours)
        palette.push_back({static_cast<uint8_t>(c >> 16), static_cast<uint8_t>(c >> 8), static_cast<uint8_t>(c)});
      return palette;
    }
    return MedianCut();
  }

  bool exact() const { return exact_valid_; }

 private:
  struct Entry {
    double colour[3];
    double weight;
  };
  struct Box {
    std::vector<int> entries;
    double weight = 0, sse = 0;
    double mean[3] = {0, 0, 0};
    int axis = 0;
  };

  void Measure(Box& box, const std::vector<Entry>& entries) const {
    double w = 0, s[3] = {0, 0, 0}, s2[3] = {0, 0, 0};
    for (int e : box.entries) {
      const Entry& entry = entries[e];
      w += entry.weight;
      for (int c = 0; c < 3; ++c) {
        s[c] += entry.weight * entry.colour[c];
        s2[c] += entry.weight * entry.colour[c] * entry.colour[c];
      }
    }
    box.weight = w;
    box.sse = 0;
    double best = -1;
    for (int c = 0; c < 3; ++c) {
      box.mean[c] = w > 0 ? s[c] / w : 0;
      const double variance = w > 0 ? std::max(0.0, s2[c] - s[c] * s[c] / w) : 0;
      box.sse += variance;
      if (variance > best) best = variance, box.axis = c;
    }
  }

  std::vector<Rgb> MedianCut() const {
    std::vector<Entry> entries;
    for (int b = 0; b < kBins; ++b) {
      if (count_[b] == 0) continue;
      const double w = static_cast<double>(count_[b]);
      entries.push_back({{sum_[3 * b] / w, sum_[3 * b + 1] / w, sum_[3 * b + 2] / w}, w});
    }
    std::vector<Box> boxes(1);
    for (size_t e = 0; e < entries.size(); ++e) boxes[0].entries.push_back(static_cast<int>(e));
    Measure(boxes[0], entries);
    // Split the box with the largest squared error at the weighted median of its widest axis.
    while (static_cast<int>(boxes.size()) < limit_) {
      int pick = -1;
      for (size_t k = 0; k < boxes.size(); ++k)
        if (boxes[k].entries.size() > 1 && boxes[k].sse > 0 && (pick < 0 || boxes[k].sse > boxes[pick].sse))
          pick = static_cast<int>(k);
      if (pick < 0) break;
      Box& box = boxes[pick];
      const int axis = box.axis;
      std::sort(box.entries.begin(), box.entries.end(), [&](int a, int b) {
        const double ca = entries[a].colour[axis], cb = entries[b].colour[axis];
        if (ca != cb) return ca < cb;
        return a < b;
      });
      double half = box.weight / 2, acc = 0;
      size_t cut = 1;
      for (size_t k = 0; k + 1 < box.entries.size(); ++k) {
        acc += entries[box.entries[k]].weight;
        cut = k + 1;
        if (acc >= half) break;
      }
      Box upper;
      upper.entries.assign(box.entries.begin() + static_cast<long>(cut), box.entries.end());
      box.entries.resize(cut);
      Measure(box, entries);
      Measure(upper, entries);
      boxes.push_back(std::move(upper));
    }
    // Refine by k-means (Lloyd) over the weighted bin means, starting from the boxes' means.
    std::vector<std::array<double, 3>> centres;
    for (const Box& box : boxes) centres.push_back({box.mean[0], box.mean[1], box.mean[2]});
    const size_t k_count = centres.size();
    std::vector<int> assignment(entries.size(), 0);
    for (int iteration = 0; iteration < 6; ++iteration) {
      std::vector<std::array<double, 4>> acc(k_count, {0, 0, 0, 0});
      for (size_t e = 0; e < entries.size(); ++e) {
        const double* x = entries[e].colour;
        double best = std::numeric_limits<double>::infinity();
        int best_k = 0;
        for (size_t k = 0; k < k_count; ++k) {
          const double dr = x[0] - centres[k][0], dg = x[1] - centres[k][1], db = x[2] - centres[k][2];
          const double d = dr * dr + dg * dg + db * db;
          if (d < best) best = d, best_k = static_cast<int>(k);
        }
        assignment[e] = best_k;
        auto& a = acc[best_k];
        for (int c = 0; c < 3; ++c) a[c] += entries[e].weight * x[c];
        a[3] += entries[e].weight;
      }
      for (size_t k = 0; k < k_count; ++k)
        if (acc[k][3] > 0)
          for (int c = 0; c < 3; ++c) centres[k][c] = acc[k][c] / acc[k][3];
    }
    std::vector<Rgb> palette;
    for (const auto& c : centres) {
      auto byte = [](double v) { return static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L)); };
      palette.push_back({byte(c[0]), byte(c[1]), byte(c[2])});
    }
    std::sort(palette.begin(), palette.end(),
              [](const Rgb& a, const Rgb& b) { return std::tie(a.r, a.g, a.b) < std::tie(b.r, b.g, b.b); });
    palette.erase(std::unique(palette.begin(), palette.end()), palette.end());
    return palette;
  }

  int limit_;
  std::vector<uint32_t> count_;
  std::vector<uint64_t> sum_;
  bool exact_valid_ = true;
  std::unordered_set<uint32_t> exact_;
};

// ---------------------------------------------------------------------------------------------- nearest colour

// Exact nearest palette entry (squared RGB distance, lowest index on ties) through an index of 32^3 cells: each
// cell keeps the entries that can be nearest for some colour inside it, inline in 16 bytes when there are at most
// kSlots (the index then fits in L2 cache: lookups of noisy frames would otherwise wait on memory), else in a
// shared overflow list. Built once, in parallel over cells; read-only afterwards, so frames can share it.
class PaletteIndex {
 public:
  explicit PaletteIndex(const std::vector<Rgb>& palette) : palette_(palette), cells_(kCells) {
    const int n = static_cast<int>(palette.size());
    std::vector<float> pr(n), pg(n), pb(n);
    for (int k = 0; k < n; ++k) pr[k] = palette[k].r, pg[k] = palette[k].g, pb[k] = palette[k].b;
    // Any colour of a cell (8 values wide per channel) is within 3.5 sqrt(3) of its centre, so its nearest entry
    // is at most nearest(centre) + 2 * 3.5 sqrt(3) from the centre.
    const float reach = static_cast<float>(7.0 * std::sqrt(3.0)) + 0.01f;
    std::vector<std::vector<uint8_t>> overflow(kCells);
    cv::parallel_for_(cv::Range(0, 32 * 32), [&](const cv::Range& range) {
      std::vector<float> d2(static_cast<size_t>(n));
      std::vector<uint8_t> candidates;
      for (int rg = range.start; rg < range.end; ++rg) {
        for (int cb = 0; cb < 32; ++cb) {
          const int cell = rg * 32 + cb;
          const float cr = (rg >> 5) * 8 + 3.5f, cg = (rg & 31) * 8 + 3.5f, cbf = cb * 8 + 3.5f;
          float nearest = std::numeric_limits<float>::infinity();
          for (int k = 0; k < n; ++k) {
            const float dr = cr - pr[k], dg = cg - pg[k], db = cbf - pb[k];
            d2[k] = dr * dr + dg * dg + db * db;
            nearest = std::min(nearest, d2[k]);
          }
          const float bound = std::sqrt(nearest) + reach;
          const float bound2 = bound * bound;
          candidates.clear();
          for (int k = 0; k < n; ++k)
            if (d2[k] <= bound2) candidates.push_back(static_cast<uint8_t>(k));
          Cell& entry = cells_[static_cast<size_t>(cell)];
          if (candidates.size() <= static_cast<size_t>(kSlots)) {
            entry.count = static_cast<uint8_t>(candidates.size());
            std::copy(candidates.begin(), candidates.end(), entry.slots);
          } else {
            entry.count = kOverflow;
            overflow[static_cast<size_t>(cell)] = candidates;
          }
        }
      }
    });
    for (int cell = 0; cell < kCells; ++cell) {
      Cell& entry = cells_[static_cast<size_t>(cell)];
      if (entry.count != kOverflow) continue;
      const uint32_t offset = static_cast<uint32_t>(overflow_.size());
      const uint16_t length = static_cast<uint16_t>(overflow[cell].size());
      std::memcpy(entry.slots, &offset, sizeof offset);
      std::memcpy(entry.slots + sizeof offset, &length, sizeof length);
      overflow_.insert(overflow_.end(), overflow[cell].begin(), overflow[cell].end());
    }
  }

  int Nearest(int r, int g, int b) const {
    const Cell& entry = cells_[static_cast<size_t>(((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3))];
    const uint8_t* slots = entry.slots;
    int n = entry.count;
    if (n == kOverflow) {
      uint32_t offset = 0;
      uint16_t length = 0;
      std::memcpy(&offset, entry.slots, sizeof offset);
      std::memcpy(&length, entry.slots + sizeof offset, sizeof length);
      slots = overflow_.data() + offset;
      n = length;
    }
    int best = slots[0], best_d = std::numeric_limits<int>::max();
    for (int k = 0; k < n; ++k) {  // candidates are in increasing index order: strict < keeps the lowest on ties
      const Rgb& p = palette_[slots[k]];
      const int dr = r - p.r, dg = g - p.g, db = b - p.b;
      const int d = dr * dr + dg * dg + db * db;
      if (d < best_d) best_d = d, best = slots[k];
    }
    return best;
  }

 private:
  static constexpr int kCells = 32 * 32 * 32;
  static constexpr int kSlots = 15;
  static constexpr uint8_t kOverflow = 255;
  struct Cell {  // 16 bytes: one cache access per lookup
    uint8_t count = 0;
    uint8_t slots[kSlots] = {};
  };

  std::vector<Rgb> palette_;
  std::vector<Cell> cells_;
  std::vector<uint8_t> overflow_;
};

// Maps a frame to palette indices, with serpentine Floyd-Steinberg error diffusion when dither is set. Errors are
// kept in 1/16 units per channel in two row buffers with one pixel of padding at each end.
void Quantise(const Frame& frame, const std::vector<Rgb>& palette, const PaletteIndex& index, bool dither,
              uint8_t* out) {
  const int w = frame.width, h = frame.height;
  if (!dither) {
    const uint8_t* p = frame.rgb.data();
    uint32_t previous = 0xffffffffu;
    uint8_t previous_index = 0;
    for (size_t i = 0, n = static_cast<size_t>(w) * h; i < n; ++i, p += 3) {
      const uint32_t colour = Pack(p);
      if (colour != previous) previous = colour, previous_index = static_cast<uint8_t>(index.Nearest(p[0], p[1], p[2]));
      out[i] = previous_index;
    }
    return;
  }
  std::vector<int> rows(2 * (static_cast<size_t>(w) + 2) * 3, 0);
  int* current = rows.data();
  int* next = rows.data() + (static_cast<size_t>(w) + 2) * 3;
  for (int y = 0; y < h; ++y) {
    std::fill(next, next + (static_cast<size_t>(w) + 2) * 3, 0);
    const int dir = (y % 2 == 0) ? 1 : -1;
    const uint8_t* row = frame.pixel(0, y);
    uint8_t* out_row = out + static_cast<size_t>(y) * w;
    for (int k = 0; k < w; ++k) {
      const int x = dir > 0 ? k : w - 1 - k;
      const int slot = (x + 1) * 3;
      int c[3];
      for (int ch = 0; ch < 3; ++ch) c[ch] = std::clamp(row[3 * x + ch] + ((current[slot + ch] + 8) >> 4), 0, 255);
      const int chosen = index.Nearest(c[0], c[1], c[2]);
      out_row[x] = static_cast<uint8_t>(chosen);
      const Rgb& p = palette[chosen];
      const int e[3] = {c[0] - p.r, c[1] - p.g, c[2] - p.b};
      const int ahead = slot + 3 * dir, behind = slot - 3 * dir;
      for (int ch = 0; ch < 3; ++ch) {
        current[ahead + ch] += 7 * e[ch];
        next[behind + ch] += 3 * e[ch];
        next[slot + ch] += 5 * e[ch];
        next[ahead + ch] += e[ch];
      }
    }
    std::swap(current, next);
  }
}

// ---------------------------------------------------------------------------------------------- giflib output

struct NotGrey {
  int index;
};

class GifWriter {
 public:
  explicit GifWriter(const fs::path& path) {
    int error = 0;
    gif_ = EGifOpenFileName(path.c_str(), false, &error);
    if (gif_ == nullptr)
      throw Error("cannot write in folder '" + (path.has_parent_path() ? path.parent_path() : fs::path(".")).string() +
                  "': " + GifErrorString(error) + " (is it writable?)");
    EGifSetGifVersion(gif_, true);
  }
  ~GifWriter() {
    if (gif_ != nullptr) {
      int error = 0;
      EGifCloseFile(gif_, &error);
    }
  }
  GifWriter(const GifWriter&) = delete;
  GifWriter& operator=(const GifWriter&) = delete;

  void Check(int rc, const char* what) {
    if (rc == GIF_ERROR)
      throw Error(std::string("writing the GIF failed (") + what + "): " + GifErrorString(gif_->Error) +
                  " (disk full?)");
  }
  GifFileType* get() { return gif_; }
  /// Writes the trailer and closes; throws Error if the data could not be written.
  void Close() {
    int error = 0;
    const int rc = EGifCloseFile(gif_, &error);
    gif_ = nullptr;
    if (rc == GIF_ERROR) throw Error("writing the GIF failed: " + std::string(GifErrorString(error)) + " (disk full?)");
  }

 private:
  GifFileType* gif_ = nullptr;
};

struct GifPlan {
  bool grey = false;         // indices are grey levels (palette = 256 greys)
  bool strict_grey = false;  // kAuto: a non-grey frame throws NotGrey; kGrey: converted to luma
  std::vector<Rgb> palette;  // colour mode
  bool dither = false;
};

void EncodeGif(const fs::path& temp, int count, const FrameSource& frames, FrameChecker& checker, const GifPlan& plan,
               const ExportOptions& options, Progress& progress, const StopFn& stop, int* palette_size) {
  GifWriter writer(temp);
  const int used = plan.grey ? 256 : static_cast<int>(plan.palette.size());
  int bits = 1;
  while ((1 << bits) < used) ++bits;
  const int map_size = 1 << bits;
  std::vector<GifColorType> colours(static_cast<size_t>(map_size), GifColorType{0, 0, 0});
  for (int k = 0; k < used; ++k) {
    if (plan.grey) {
      colours[k] = {static_cast<GifByteType>(k), static_cast<GifByteType>(k), static_cast<GifByteType>(k)};
    } else {
      colours[k] = {plan.palette[k].r, plan.palette[k].g, plan.palette[k].b};
    }
  }
  *palette_size = used;
  std::unique_ptr<PaletteIndex> index;
  if (!plan.grey) index = std::make_unique<PaletteIndex>(plan.palette);

  int width = checker.width(), height = checker.height();
  Frame first;
  if (width == 0) {  // no frame seen yet (grey palette chosen without sampling)
    CheckStop(stop);
    first = frames(0);
    checker.Check(first, 0);
    width = checker.width();
    height = checker.height();
  }
  ColorMapObject* map = GifMakeMapObject(map_size, colours.data());
  if (map == nullptr) throw Error("out of memory building the GIF palette");
  const int rc = EGifPutScreenDesc(writer.get(), width, height, 8, 0, map);
  GifFreeMapObject(map);
  writer.Check(rc, "header");
  if (options.loop) {
    static const GifByteType kNetscape[] = "NETSCAPE2.0";
    const GifByteType loop_forever[3] = {1, 0, 0};
    writer.Check(EGifPutExtensionLeader(writer.get(), APPLICATION_EXT_FUNC_CODE), "loop extension");
    writer.Check(EGifPutExtensionBlock(writer.get(), 11, kNetscape), "loop extension");
    writer.Check(EGifPutExtensionBlock(writer.get(), 3, loop_forever), "loop extension");
    writer.Check(EGifPutExtensionTrailer(writer.get()), "loop extension");
  }
  const std::vector<int> delays = GifDelays(count, options.fps, options.final_hold_s);
  // Frames come in small batches: fetched in order, mapped to indices in parallel (each frame on its own, so the
  // bytes do not depend on the thread count), then LZW-coded in order.
  constexpr int kBatch = 4;
  const size_t n = static_cast<size_t>(width) * height;
  std::vector<Frame> batch;
  std::vector<std::vector<GifPixelType>> pixels(kBatch, std::vector<GifPixelType>(n));
  for (int begin = 0; begin < count; begin += kBatch) {
    const int end = std::min(count, begin + kBatch);
    batch.clear();
    for (int i = begin; i < end; ++i) {
      CheckStop(stop);
      Frame frame = (i == 0 && !first.empty()) ? std::move(first) : frames(i);
      checker.Check(frame, i);
      if (plan.grey && plan.strict_grey && !IsGrey(frame)) throw NotGrey{i};
      batch.push_back(std::move(frame));
    }
    cv::parallel_for_(cv::Range(0, static_cast<int>(batch.size())), [&](const cv::Range& range) {
      for (int k = range.start; k < range.end; ++k) {
        const uint8_t* p = batch[k].rgb.data();
        GifPixelType* out = pixels[k].data();
        if (plan.grey && plan.strict_grey) {
          for (size_t q = 0; q < n; ++q) out[q] = p[3 * q];
        } else if (plan.grey) {
          for (size_t q = 0; q < n; ++q)  // Rec. 601 luma, rounded
            out[q] = static_cast<GifPixelType>((77 * p[3 * q] + 150 * p[3 * q + 1] + 29 * p[3 * q + 2] + 128) >> 8);
        } else {
          Quantise(batch[k], plan.palette, *index, plan.dither, out);
        }
      }
    });
    for (int k = 0; k < static_cast<int>(batch.size()); ++k) {
      GraphicsControlBlock gcb;
      gcb.DisposalMode = DISPOSE_DO_NOT;
      gcb.UserInputFlag = false;
      gcb.DelayTime = std::min(delays[begin + k], 65535);
      gcb.TransparentColor = NO_TRANSPARENT_COLOR;
      GifByteType extension[4];
      const size_t length = EGifGCBToExtension(&gcb, extension);
      writer.Check(EGifPutExtension(writer.get(), GRAPHICS_EXT_FUNC_CODE, static_cast<int>(length), extension),
                   "frame delay");
      writer.Check(EGifPutImageDesc(writer.get(), 0, 0, width, height, false, nullptr), "frame header");
      writer.Check(EGifPutLine(writer.get(), pixels[k].data(), static_cast<int>(n)), "frame pixels");
      progress.Report("writing GIF frames");
    }
  }
  writer.Close();
}

std::vector<int> SampleIndices(int count, int wanted) {
  std::vector<int> indices;
  if (wanted <= 0 || wanted >= count) {
    for (int i = 0; i < count; ++i) indices.push_back(i);
    return indices;
  }
  if (wanted == 1) return {0};
  for (int k = 0; k < wanted; ++k) {
    const int i = static_cast<int>(std::llround(static_cast<double>(k) * (count - 1) / (wanted - 1)));
    if (indices.empty() || indices.back() != i) indices.push_back(i);
  }
  return indices;
}

}  // namespace

ExportResult WriteGif(const fs::path& out, int frame_count, const FrameSource& frames, const ExportOptions& options,
                      const ProgressFn& progress_fn, const StopFn& stop) {
  export_detail::CheckRequest(out, frame_count, options);
  Require(static_cast<bool>(frames), "no frame source given");
  Require(export_detail::LowerExtension(out) == ".gif",
          "a GIF export needs a file name ending in .gif, not '" + out.string() + "'");
  Require(options.fps <= 50.0,
          "a GIF cannot play faster than 50 fps (its frame delays are in 1/100 s and browsers "
          "slow shorter delays down): choose fps <= 50, or export MP4 / WebM");
  export_detail::CheckOutputFolder(out);
  std::error_code ec;
  Require(!fs::is_directory(out, ec), "cannot write '" + out.string() + "': it is a folder");

  FrameChecker checker;
  PaletteBuilder builder(options.gif_colours);
  const std::vector<int> sample = options.gif_palette == GifPalette::kGrey
                                      ? std::vector<int>{}
                                      : SampleIndices(frame_count, options.gif_palette_frames);
  Progress progress(progress_fn, static_cast<long long>(sample.size()) + frame_count);
  bool all_grey = true;
  for (int i : sample) {
    CheckStop(stop);
    const Frame frame = frames(i);
    checker.Check(frame, i);
    if (all_grey && !IsGrey(frame)) all_grey = false;
    builder.Add(frame);
    progress.Report("choosing the GIF palette");
  }

  GifPlan plan;
  plan.dither = options.gif_dither;
  plan.grey = options.gif_palette == GifPalette::kGrey || (options.gif_palette == GifPalette::kAuto && all_grey);
  plan.strict_grey = plan.grey && options.gif_palette == GifPalette::kAuto;
  if (!plan.grey) plan.palette = builder.Build();
  int palette_size = 0;

  WriteAtomically(out, [&](const fs::path& temp) {
    for (;;) {
      try {
        EncodeGif(temp, frame_count, frames, checker, plan, options, progress, stop, &palette_size);
        return;
      } catch (const NotGrey& not_grey) {
        // A frame outside the sample has colour: start again with a colour palette that includes it.
        CheckStop(stop);
        builder.Add(frames(not_grey.index));
        plan.grey = plan.strict_grey = false;
        plan.palette = builder.Build();
        progress.SetTotal(progress.done() + frame_count);
      }
    }
  });

  ExportResult result;
  result.format = ExportFormat::kGif;
  result.path = out;
  result.frames = frame_count;
  result.width = checker.width();
  result.height = checker.height();
  long long centiseconds = 0;
  for (int d : GifDelays(frame_count, options.fps, options.final_hold_s)) centiseconds += d;
  result.duration_s = centiseconds / 100.0;
  result.codec = "GIF89a";
  result.grey_palette = plan.grey;
  result.palette_size = palette_size;
  if (plan.grey) {
    result.note =
        plan.strict_grey ? "exact 256-grey palette (lossless)" : "256-grey palette (colour converted to grey)";
  } else if (builder.exact()) {
    result.note = "exact palette of " + std::to_string(palette_size) + " colours (lossless for the sampled frames)";
  } else {
    result.note = "quantised colour palette of " + std::to_string(palette_size) + " colours" +
                  (options.gif_dither ? ", Floyd-Steinberg dithering" : ", no dithering");
  }
  return result;
}

}  // namespace diffuscope

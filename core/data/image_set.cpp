#include "core/data/image_set.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <set>

namespace diffuscope {
namespace fs = std::filesystem;

std::string ImageSetOptions::Check() const {
  if (width < 1 || height < 1 || width > 4096 || height > 4096) return "the image size must be 1..4096 pixels per side";
  if (channels != 1 && channels != 3) return "channels must be 1 (grey) or 3 (RGB)";
  if (max_images < 1) return "max_images must be at least 1";
  if (static_cast<long long>(max_images) * channels * width * height > (1LL << 31) - 1)
    return "max_images x channels x width x height must stay under 2^31 values";
  if (std::string problem = load.Check(); !problem.empty()) return problem;
  return {};
}

std::vector<std::string> ListImageFiles(const std::string& folder) {
  std::error_code ec;
  Require(fs::is_directory(folder, ec), "'" + folder + "' is not a folder");
  static const std::set<std::string> kExtensions = {".png",  ".jpg", ".jpeg", ".bmp", ".tif", ".tiff",
                                                    ".webp", ".pgm", ".ppm",  ".pbm", ".pnm"};
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    std::string extension = entry.path().extension().string();
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (kExtensions.count(extension)) files.push_back(entry.path().string());
  }
  Require(!ec, "cannot list '" + folder + "': " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

Image ConvertChannels(const Image& image, int channels) {
  Require(channels == 1 || channels == 3, "channels must be 1 or 3");
  Require(image.channels == 1 || image.channels == 3, "images must have 1 or 3 channels");
  if (image.channels == channels) return image;
  Image out = image;
  out.channels = channels;
  const Eigen::Index plane = static_cast<Eigen::Index>(image.height) * image.width;
  if (channels == 1) {
    out.pixels = 0.299f * image.pixels.leftCols(plane) + 0.587f * image.pixels.middleCols(plane, plane) +
                 0.114f * image.pixels.rightCols(plane);
  } else {
    out.pixels = image.pixels.replicate(1, 3);
  }
  return out;
}

Image CropToAspect(const Image& image, int width, int height) {
  Require(width >= 1 && height >= 1, "the aspect ratio needs a positive width and height");
  // Wider than width:height -> crop columns, else rows; the crop keeps as many pixels as it can.
  int crop_w = image.width, crop_h = image.height;
  if (static_cast<long long>(image.width) * height > static_cast<long long>(image.height) * width) {
    crop_w = std::max(1, static_cast<int>(std::lround(static_cast<double>(image.height) * width / height)));
  } else {
    crop_h = std::max(1, static_cast<int>(std::lround(static_cast<double>(image.width) * height / width)));
  }
  if (crop_w == image.width && crop_h == image.height) return image;
  const int x0 = (image.width - crop_w) / 2, y0 = (image.height - crop_h) / 2;
  Image out = image;
  out.width = crop_w;
  out.height = crop_h;
  out.pixels.resize(1, static_cast<Eigen::Index>(image.channels) * crop_w * crop_h);
  for (int c = 0; c < image.channels; ++c) {
    for (int y = 0; y < crop_h; ++y) {
      const float* src = image.pixels.data() + (static_cast<size_t>(c) * image.height + y0 + y) * image.width + x0;
      std::copy(src, src + crop_w, out.pixels.data() + (static_cast<size_t>(c) * crop_h + y) * crop_w);
    }
  }
  return out;
}

std::vector<Image> ImagesFromRows(const Batch& images, int channels, int height, int width) {
  Require(channels >= 1 && height >= 1 && width >= 1 &&
              images.cols() == static_cast<Eigen::Index>(channels) * height * width,
          "the rows hold " + std::to_string(images.cols()) + " values, not " + std::to_string(channels) + " x " +
              std::to_string(height) + " x " + std::to_string(width));
  std::vector<Image> out;
  out.reserve(static_cast<size_t>(images.rows()));
  for (Eigen::Index r = 0; r < images.rows(); ++r)
    out.push_back(ImageFromRow(images, static_cast<int>(r), channels, height, width));
  return out;
}

ImageSet LoadImageSet(const std::string& folder, const ImageSetOptions& options, const ProgressFn& progress,
                      const StopFn& stop) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("image set: " + problem);
  const std::vector<std::string> files = ListImageFiles(folder);
  Require(!files.empty(), "'" + folder + "' holds no image files (png, jpg, bmp, tif, webp, pnm)");

  ImageSet set;
  set.channels = options.channels;
  set.height = options.height;
  set.width = options.width;
  const Eigen::Index columns = static_cast<Eigen::Index>(options.channels) * options.width * options.height;
  std::vector<Batch> rows;
  for (size_t i = 0; i < files.size() && static_cast<int>(rows.size()) < options.max_images; ++i) {
    if (stop && stop()) throw Cancelled();
    try {
      Image image = ConvertChannels(LoadImage(files[i], options.load), options.channels);
      if (options.crop_to_aspect) image = CropToAspect(image, options.width, options.height);
      if (image.width != options.width || image.height != options.height)
        image = ResizeImage(image, options.width, options.height);
      rows.push_back(image.pixels.cwiseMax(-1.0f).cwiseMin(1.0f));  // bicubic growth may overshoot
      set.files.push_back(files[i]);
    } catch (const Cancelled&) {
      throw;
    } catch (const Error& error) {
      set.skipped.push_back(files[i] + ": " + error.what());
    }
    if (progress) progress(static_cast<long long>(i + 1), static_cast<long long>(files.size()), "loading images");
  }
  if (rows.empty()) throw Error("no image of '" + folder + "' could be read (" + set.skipped.front() + ")");
  set.images.resize(static_cast<Eigen::Index>(rows.size()), columns);
  for (size_t r = 0; r < rows.size(); ++r) set.images.row(static_cast<Eigen::Index>(r)) = rows[r];
  return set;
}

}  // namespace diffuscope

#include "core/data/image_io.h"

#include "core/common/atomic_file.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace diffuscope {
namespace {

// Float planes in [-1, 1] from an 8- or 16-bit matrix with 1 or 3 channels (BGR -> RGB planes).
Batch MatToPlanes(const cv::Mat& mat) {
  cv::Mat f;
  const double scale = mat.depth() == CV_16U ? 2.0 / 65535.0 : 2.0 / 255.0;
  mat.convertTo(f, CV_32F, scale, -1.0);
  const int C = f.channels(), H = f.rows, W = f.cols;
  Batch planes(1, static_cast<Eigen::Index>(C) * H * W);
  std::vector<cv::Mat> split;
  cv::split(f, split);
  for (int c = 0; c < C; ++c) {
    const int src = C == 3 ? 2 - c : c;  // OpenCV stores BGR
    cv::Mat dst(H, W, CV_32F, planes.data() + static_cast<size_t>(c) * H * W);
    split[src].copyTo(dst);
  }
  return planes;
}

}  // namespace

std::string ImageLoadOptions::Check() const {
  if (max_pixels < 1) return "max_pixels must be at least 1";
  if (max_decode_pixels < 1) return "max_decode_pixels must be at least 1";
  return {};
}

namespace {
uint32_t Be16(const unsigned char* p) { return (uint32_t(p[0]) << 8) | p[1]; }
uint32_t Be32(const unsigned char* p) { return (Be16(p) << 16) | Be16(p + 2); }
uint32_t Le16(const unsigned char* p) { return (uint32_t(p[1]) << 8) | p[0]; }
uint32_t Le24(const unsigned char* p) { return Le16(p) | (uint32_t(p[2]) << 16); }
uint32_t Le32(const unsigned char* p) { return Le16(p) | (Le16(p + 2) << 16); }

std::optional<ImageSize> Sized(uint64_t width, uint64_t height) {
  if (width == 0 || height == 0 || width > (1u << 30) || height > (1u << 30)) return std::nullopt;
  return ImageSize{static_cast<int>(width), static_cast<int>(height)};
}

// PNM: "P1".."P6", then width and height as decimal text, with '#' comments.
std::optional<ImageSize> PnmSize(const unsigned char* b, size_t n) {
  size_t i = 2;
  uint64_t values[2] = {0, 0};
  for (uint64_t& v : values) {
    while (i < n && (std::isspace(b[i]) || b[i] == '#')) {
      if (b[i] == '#')
        while (i < n && b[i] != '\n') ++i;
      else ++i;
    }
    if (i >= n || !std::isdigit(b[i])) return std::nullopt;
    while (i < n && std::isdigit(b[i]) && v < (1ull << 32)) v = v * 10 + (b[i++] - '0');
  }
  return Sized(values[0], values[1]);
}
}  // namespace

std::optional<ImageSize> ReadImageSize(const unsigned char* b, size_t n) {
  static const unsigned char kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (n >= 24 && std::equal(kPng, kPng + 8, b) && std::equal(b + 12, b + 16, "IHDR"))
    return Sized(Be32(b + 16), Be32(b + 20));
  if (n >= 4 && b[0] == 0xff && b[1] == 0xd8) {
    // JPEG: walk the marker segments to the first start-of-frame (SOF0..SOF15 but DHT, JPG, DAC).
    size_t i = 2;
    while (i + 9 < n) {
      if (b[i] != 0xff) return std::nullopt;
      const unsigned char marker = b[i + 1];
      if (marker == 0xff) {
        ++i;
        continue;
      }
      if (marker == 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker == 0x01) {
        i += 2;
        continue;
      }
      const uint32_t length = Be16(b + i + 2);
      if (marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc)
        return Sized(Be16(b + i + 7), Be16(b + i + 5));
      if (length < 2) return std::nullopt;
      i += 2 + length;
    }
    return std::nullopt;
  }
  if (n >= 26 && b[0] == 'B' && b[1] == 'M') {
    const int32_t h = static_cast<int32_t>(Le32(b + 22));
    return Sized(Le32(b + 18), static_cast<uint64_t>(h < 0 ? -static_cast<int64_t>(h) : h));
  }
  if (n >= 10 && (std::equal(b, b + 6, "GIF87a") || std::equal(b, b + 6, "GIF89a")))
    return Sized(Le16(b + 6), Le16(b + 8));
  if (n >= 30 && std::equal(b, b + 4, "RIFF") && std::equal(b + 8, b + 12, "WEBP")) {
    if (std::equal(b + 12, b + 16, "VP8X")) return Sized(Le24(b + 24) + 1, Le24(b + 27) + 1);
    if (std::equal(b + 12, b + 16, "VP8L") && b[20] == 0x2f) {
      const uint32_t bits = Le32(b + 21);
      return Sized((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1);
    }
    if (std::equal(b + 12, b + 16, "VP8 ")) return Sized(Le16(b + 26) & 0x3fff, Le16(b + 28) & 0x3fff);
    return std::nullopt;
  }
  if (n >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') return PnmSize(b, n);
  return std::nullopt;
}

Image MatToImage(const cv::Mat& input) {
  Require(!input.empty(), "the image is empty");
  Require(input.depth() == CV_8U || input.depth() == CV_16U, "only 8- and 16-bit images are supported");
  cv::Mat mat = input;
  Image image;
  image.source_bit_depth = mat.depth() == CV_16U ? 16 : 8;
  if (mat.channels() == 4) {
    // Composite over white: what a viewer shows for transparent pixels on a light background.
    image.source_had_alpha = true;
    cv::Mat f;
    mat.convertTo(f, CV_32F, mat.depth() == CV_16U ? 1.0 / 65535.0 : 1.0 / 255.0);
    std::vector<cv::Mat> ch;
    cv::split(f, ch);
    for (int c = 0; c < 3; ++c) ch[c] = ch[c].mul(ch[3]) + (1.0 - ch[3]);
    ch.pop_back();
    cv::merge(ch, f);
    f.convertTo(mat, mat.depth(), mat.depth() == CV_16U ? 65535.0 : 255.0);
  } else if (mat.channels() == 2) {
    std::vector<cv::Mat> ch;
    cv::split(mat, ch);
    image.source_had_alpha = true;
    cv::Mat g, a;
    ch[0].convertTo(g, CV_32F);
    ch[1].convertTo(a, CV_32F, 1.0 / (mat.depth() == CV_16U ? 65535.0 : 255.0));
    const double white = mat.depth() == CV_16U ? 65535.0 : 255.0;
    g = g.mul(a) + white * (1.0 - a);
    g.convertTo(mat, mat.depth());
  }
  Require(mat.channels() == 1 || mat.channels() == 3, "images must have 1 to 4 channels");
  image.channels = mat.channels();
  image.height = mat.rows;
  image.width = mat.cols;
  image.pixels = MatToPlanes(mat);
  return image;
}

Image LoadImage(const std::string& path, const ImageLoadOptions& options) {
  if (std::string problem = options.Check(); !problem.empty()) throw Error("image loading: " + problem);
  std::error_code ec;
  Require(std::filesystem::exists(path, ec), "cannot open '" + path + "': no such file");
  Require(!std::filesystem::is_directory(path, ec), "cannot open '" + path + "': it is a folder, not an image");
  std::ifstream in(path, std::ios::binary);
  Require(in.good(), "cannot open '" + path + "': permission denied or unreadable");
  std::vector<uchar> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Require(!bytes.empty(), "cannot open '" + path + "': the file is empty");
  // Refuse a huge image from its header, before decoding it would take gigabytes and seconds.
  if (const auto size = ReadImageSize(bytes.data(), bytes.size())) {
    const long long pixels = static_cast<long long>(size->width) * size->height;
    const long long limit = options.downscale_if_too_large ? options.max_decode_pixels : options.max_pixels;
    if (pixels > limit)
      throw ImageTooLarge("'" + path + "' is " + std::to_string(size->width) + " x " + std::to_string(size->height) +
                              " pixels, more than the limit of " + std::to_string(limit) + " pixels" +
                              (options.downscale_if_too_large ? " that can be opened" : "; downscale it first"),
                          size->width, size->height);
  }
  cv::Mat mat;
  try {
    mat = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw Error("cannot read '" + path + "' as an image: " + e.err);
  }
  Require(!mat.empty(), "cannot read '" + path +
                            "': not an image in a format this build can decode "
                            "(PNG, JPEG, BMP, TIFF, WebP, PPM), or the file is damaged");
  if (mat.depth() != CV_8U && mat.depth() != CV_16U) {
    cv::Mat m;
    double lo, hi;
    cv::minMaxLoc(mat.reshape(1), &lo, &hi);
    mat.convertTo(m, CV_8U, hi > lo ? 255.0 / (hi - lo) : 1.0, hi > lo ? -lo * 255.0 / (hi - lo) : 0.0);
    mat = m;
  }
  const long long pixels = static_cast<long long>(mat.rows) * mat.cols;
  if (pixels > options.max_pixels) {
    if (!options.downscale_if_too_large)
      throw ImageTooLarge("'" + path + "' is " + std::to_string(mat.cols) + " x " + std::to_string(mat.rows) +
                              " pixels, more than the limit of " + std::to_string(options.max_pixels) +
                              " pixels; downscale it first",
                          mat.cols, mat.rows);
    const double f = std::sqrt(static_cast<double>(options.max_pixels) / pixels);
    cv::Mat small;
    cv::resize(mat, small, cv::Size(std::max(1, int(mat.cols * f)), std::max(1, int(mat.rows * f))), 0, 0,
               cv::INTER_AREA);
    mat = small;
  }
  Image image = MatToImage(mat);
  if (options.force_rgb && image.channels == 1) {
    image.pixels = image.pixels.replicate(1, 3).eval();
    image.channels = 3;
  }
  return image;
}

cv::Mat ImageToMat(const Image& image) {
  Require(image.channels == 1 || image.channels == 3, "an image must have 1 or 3 channels");
  Require(image.pixels.size() == static_cast<Eigen::Index>(image.channels) * image.height * image.width,
          "the image's pixel count does not match its size");
  const int H = image.height, W = image.width;
  std::vector<cv::Mat> planes(image.channels);
  for (int c = 0; c < image.channels; ++c) {
    const int dst = image.channels == 3 ? 2 - c : c;  // RGB planes -> BGR
    cv::Mat plane(H, W, CV_32F, const_cast<float*>(image.pixels.data()) + static_cast<size_t>(c) * H * W);
    plane.convertTo(planes[dst], CV_8U, 127.5, 127.5);  // saturating round of (v + 1) * 127.5
  }
  cv::Mat out;
  cv::merge(planes, out);
  return out;
}

void SaveImage(const std::string& path, const Image& image) {
  const cv::Mat mat = ImageToMat(image);
  const std::string ext = std::filesystem::path(path).extension().string();
  Require(!ext.empty() && cv::haveImageWriter(path),
          "cannot write '" + path + "': unknown image format (use .png, .jpg, .bmp, .tif or .webp)");
  WriteAtomically(path, [&](const std::filesystem::path& temp) {
    bool ok = false;
    try {
      ok = cv::imwrite(temp.string(), mat);
    } catch (const cv::Exception& e) {
      throw Error("cannot write '" + path + "': " + e.err);
    }
    Require(ok, "cannot write '" + path + "' (disk full or not writable)");
  });
}

Image ImageFromRow(const Batch& batch, int row, int channels, int height, int width) {
  Require(row >= 0 && row < batch.rows(), "no such image in the batch");
  Require(batch.cols() == static_cast<Eigen::Index>(channels) * height * width, "the batch rows are not of that shape");
  Image image;
  image.channels = channels;
  image.height = height;
  image.width = width;
  image.pixels = batch.row(row);
  return image;
}

Image ResizeImage(const Image& image, int width, int height) {
  Require(width >= 1 && height >= 1 && width <= 65536 && height <= 65536, "impossible image size");
  Image out;
  out.channels = image.channels;
  out.width = width;
  out.height = height;
  out.pixels.resize(1, static_cast<Eigen::Index>(image.channels) * width * height);
  const int interp = (width <= image.width && height <= image.height) ? cv::INTER_AREA : cv::INTER_CUBIC;
  for (int c = 0; c < image.channels; ++c) {
    cv::Mat src(image.height, image.width, CV_32F,
                const_cast<float*>(image.pixels.data()) + static_cast<size_t>(c) * image.height * image.width);
    cv::Mat dst(height, width, CV_32F, out.pixels.data() + static_cast<size_t>(c) * height * width);
    cv::resize(src, dst, dst.size(), 0, 0, interp);
  }
  return out;
}

}  // namespace diffuscope

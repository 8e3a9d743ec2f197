#include "core/data/image_io.h"

#include "core/common/atomic_file.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
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
  return {};
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
  cv::Mat mat;
  try {
    mat = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw Error("cannot read '" + path + "' as an image: " + e.err);
  }
  Require(!mat.empty(), "cannot read '" + path + "': not an image in a format this build can decode "
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
  Require(!ext.empty() && cv::haveImageWriter(path), "cannot write '" + path +
                                                         "': unknown image format (use .png, .jpg, .bmp, .tif or .webp)");
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

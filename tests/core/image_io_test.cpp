#include "core/data/image_io.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <fstream>

namespace diffuscope {
namespace {
namespace fs = std::filesystem;

std::string Temp(const std::string& name) { return (fs::path(::testing::TempDir()) / name).string(); }

TEST(ImageIo, ColourRoundTripIsLossless) {
  cv::Mat bgr(7, 5, CV_8UC3);
  cv::randu(bgr, 0, 256);
  const std::string path = Temp("rt.png");
  cv::imwrite(path, bgr);
  Image img = LoadImage(path);
  ASSERT_EQ(img.channels, 3);
  ASSERT_EQ(img.height, 7);
  ASSERT_EQ(img.width, 5);
  // Plane 0 is red: OpenCV's channel 2.
  EXPECT_NEAR(img.pixels(0, 0), bgr.at<cv::Vec3b>(0, 0)[2] / 127.5 - 1.0, 1e-6);
  EXPECT_GE(img.pixels.minCoeff(), -1.0f);
  EXPECT_LE(img.pixels.maxCoeff(), 1.0f);
  SaveImage(Temp("rt2.png"), img);
  cv::Mat back = cv::imread(Temp("rt2.png"), cv::IMREAD_UNCHANGED);
  EXPECT_EQ(cv::norm(back, bgr, cv::NORM_INF), 0.0);
}

TEST(ImageIo, GreySixteenBitAndAlpha) {
  cv::Mat g16(4, 6, CV_16UC1, cv::Scalar(65535));
  g16.at<uint16_t>(1, 1) = 0;
  cv::imwrite(Temp("g16.png"), g16);
  Image g = LoadImage(Temp("g16.png"));
  EXPECT_EQ(g.channels, 1);
  EXPECT_EQ(g.source_bit_depth, 16);
  EXPECT_FLOAT_EQ(g.pixels(0, 0), 1.0f);
  EXPECT_FLOAT_EQ(g.pixels(0, 7), -1.0f);
  cv::Mat rgba(2, 2, CV_8UC4, cv::Scalar(0, 0, 0, 0));  // fully transparent black -> white
  rgba.at<cv::Vec4b>(0, 0) = cv::Vec4b(0, 0, 0, 255);   // opaque black stays black
  cv::imwrite(Temp("a.png"), rgba);
  Image a = LoadImage(Temp("a.png"));
  EXPECT_TRUE(a.source_had_alpha);
  EXPECT_EQ(a.channels, 3);
  EXPECT_FLOAT_EQ(a.pixels(0, 0), -1.0f);
  EXPECT_FLOAT_EQ(a.pixels(0, 1), 1.0f);
  ImageLoadOptions rgb;
  rgb.force_rgb = true;
  EXPECT_EQ(LoadImage(Temp("g16.png"), rgb).channels, 3);
}

TEST(ImageIo, BadFilesAreClearErrors) {
  EXPECT_THROW(LoadImage(Temp("missing.png")), Error);
  {
    std::ofstream f(Temp("junk.png"));
    f << "this is not a PNG";
  }
  try {
    LoadImage(Temp("junk.png"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not an image"), std::string::npos) << e.what();
  }
  { std::ofstream f(Temp("empty.png")); }
  EXPECT_THROW(LoadImage(Temp("empty.png")), Error);
  EXPECT_THROW(LoadImage(::testing::TempDir()), Error);
  // Truncated PNG.
  cv::Mat m(64, 64, CV_8UC3, cv::Scalar(10, 20, 30));
  std::vector<uchar> png;
  cv::imencode(".png", m, png);
  {
    std::ofstream f(Temp("trunc.png"), std::ios::binary);
    f.write(reinterpret_cast<const char*>(png.data()), png.size() / 2);
  }
  EXPECT_THROW(LoadImage(Temp("trunc.png")), Error);
}

TEST(ImageIo, TooLargeIsRefusedOrDownscaled) {
  cv::Mat big(300, 400, CV_8UC3, cv::Scalar(1, 2, 3));
  cv::imwrite(Temp("big.png"), big);
  ImageLoadOptions o;
  o.max_pixels = 10000;
  try {
    LoadImage(Temp("big.png"), o);
    FAIL();
  } catch (const ImageTooLarge& e) {
    EXPECT_EQ(e.width, 400);
    EXPECT_EQ(e.height, 300);
  }
  o.downscale_if_too_large = true;
  Image small = LoadImage(Temp("big.png"), o);
  EXPECT_LE(small.width * small.height, 10000);
  EXPECT_NEAR(double(small.width) / small.height, 4.0 / 3.0, 0.05);
}

TEST(ImageIo, SaveRefusesBadTargetsAndLeavesNothing) {
  Image img;
  img.channels = 1;
  img.height = img.width = 2;
  img.pixels = Batch::Zero(1, 4);
  EXPECT_THROW(SaveImage(Temp("x.unknownext"), img), Error);
  EXPECT_THROW(SaveImage("/nonexistent-folder/x.png", img), Error);
  const std::string target = Temp("keep.png");
  SaveImage(target, img);
  for (const auto& entry : fs::directory_iterator(::testing::TempDir()))
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
}

}  // namespace
}  // namespace diffuscope

namespace diffuscope {
namespace {

std::vector<uchar> Encode(const std::string& ext, const cv::Mat& m, std::vector<int> params = {}) {
  std::vector<uchar> bytes;
  EXPECT_TRUE(cv::imencode(ext, m, bytes, params)) << ext;
  return bytes;
}

void WriteBytes(const std::string& path, const std::vector<uchar>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void PutBe16(std::vector<uchar>& b, size_t at, uint32_t v) {
  b[at] = static_cast<uchar>(v >> 8);
  b[at + 1] = static_cast<uchar>(v);
}

TEST(ImageIo, SizeIsReadFromTheHeaderOfEachFormat) {
  const cv::Mat m(13, 21, CV_8UC3, cv::Scalar(10, 200, 30));
  for (const auto& [ext, params] :
       std::vector<std::pair<std::string, std::vector<int>>>{{".png", {}},
                                                             {".jpg", {}},
                                                             {".bmp", {}},
                                                             {".ppm", {}},
                                                             {".pgm", {}},
                                                             {".webp", {cv::IMWRITE_WEBP_QUALITY, 80}},
                                                             {".webp", {cv::IMWRITE_WEBP_QUALITY, 101}}}) {
    cv::Mat input = m;
    if (ext == ".pgm") cv::cvtColor(m, input, cv::COLOR_BGR2GRAY);
    const std::vector<uchar> bytes = Encode(ext, input, params);
    const auto size = ReadImageSize(bytes.data(), bytes.size());
    ASSERT_TRUE(size.has_value()) << ext;
    EXPECT_EQ(size->width, 21) << ext;
    EXPECT_EQ(size->height, 13) << ext;
  }
  const unsigned char gif[10] = {'G', 'I', 'F', '8', '9', 'a', 0x34, 0x12, 0x07, 0x00};
  const auto size = ReadImageSize(gif, sizeof gif);
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ(size->width, 0x1234);
  EXPECT_EQ(size->height, 7);
  const unsigned char text[] = "hello, not an image";
  EXPECT_FALSE(ReadImageSize(text, sizeof text).has_value());
  EXPECT_FALSE(ReadImageSize(text, 0).has_value());
}

TEST(ImageIo, HugeImageIsRefusedFromItsHeaderBeforeDecoding) {
  // Headers that say 20000 x 20000 over the data of a tiny image: decoding would fail (or take 1.2 GB); the
  // header refuses them first, with the size it states.
  std::vector<uchar> png = Encode(".png", cv::Mat(1, 1, CV_8UC3, cv::Scalar(0)));
  PutBe16(png, 18, 20000);  // IHDR width and height, big-endian 32-bit at 16 and 20
  PutBe16(png, 22, 20000);
  std::vector<uchar> jpg = Encode(".jpg", cv::Mat(8, 8, CV_8UC3, cv::Scalar(0)));
  size_t sof = 2;
  while (!(jpg[sof] == 0xff && jpg[sof + 1] == 0xc0)) sof += 2 + ((jpg[sof + 2] << 8) | jpg[sof + 3]);
  PutBe16(jpg, sof + 5, 20000);  // height, then width
  PutBe16(jpg, sof + 7, 20000);
  for (const auto& [name, bytes] : {std::pair{std::string("huge.png"), png}, std::pair{std::string("huge.jpg"), jpg}}) {
    WriteBytes(Temp(name), bytes);
    for (bool downscale : {false, true}) {
      ImageLoadOptions o;
      o.downscale_if_too_large = downscale;
      try {
        LoadImage(Temp(name), o);
        FAIL() << name << " was not refused";
      } catch (const ImageTooLarge& e) {
        EXPECT_EQ(e.width, 20000) << name;
        EXPECT_EQ(e.height, 20000) << name;
        EXPECT_NE(std::string(e.what()).find("20000 x 20000"), std::string::npos) << e.what();
      }
    }
  }
}

}  // namespace
}  // namespace diffuscope

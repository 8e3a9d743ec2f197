#include "core/data/image_io.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

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
  rgba.at<cv::Vec4b>(0, 0) = cv::Vec4b(0, 0, 0, 255);  // opaque black stays black
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
  {
    std::ofstream f(Temp("empty.png"));
  }
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

// The digits data set, its held-out split, the low-resolution views of SR3, and image folders (image_set.h).
#include "core/data/digits.h"
#include "core/data/image_set.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

namespace diffuscope {
namespace {
namespace fs = std::filesystem;

const std::string kDigitsFile = std::string(DIFFUSCOPE_RESOURCES) + "/datasets/digits.png";

const Digits& TheDigits() {
  static const Digits digits = LoadDigits(kDigitsFile);
  return digits;
}

fs::path TempFolder(const std::string& name) {
  const fs::path folder = fs::path(::testing::TempDir()) / ("diffuscope_digits_test_" + name);
  fs::remove_all(folder);
  fs::create_directories(folder);
  return folder;
}

TEST(Digits, LoadsFiveThousandTwentyByTwentyDigits) {
  const Digits& digits = TheDigits();
  ASSERT_EQ(digits.images.rows(), 5000);
  ASSERT_EQ(digits.images.cols(), 400);
  ASSERT_EQ(digits.labels.size(), 5000u);
  std::vector<int> per_class(10, 0);
  for (int label : digits.labels) {
    ASSERT_GE(label, 0);
    ASSERT_LT(label, 10);
    ++per_class[label];
  }
  for (int count : per_class) EXPECT_EQ(count, 500);
  // The sheet's order: rows of 5 tile-rows (500 digits) per class.
  EXPECT_EQ(digits.labels[0], 0);
  EXPECT_EQ(digits.labels[499], 0);
  EXPECT_EQ(digits.labels[500], 1);
  EXPECT_EQ(digits.labels[4999], 9);
  EXPECT_GE(digits.images.minCoeff(), -1.0f);
  EXPECT_LE(digits.images.maxCoeff(), 1.0f);
  EXPECT_EQ(digits.images.minCoeff(), -1.0f);  // black background
  EXPECT_EQ(digits.images.maxCoeff(), 1.0f);   // white ink
  // White on black: the outer ring of every tile is background almost everywhere.
  double ring = 0;
  int ring_count = 0;
  for (Eigen::Index r = 0; r < digits.images.rows(); ++r)
    for (int i = 0; i < kDigitSide; ++i) {
      ring += digits.images(r, i) + digits.images(r, 19 * kDigitSide + i);
      ring_count += 2;
    }
  EXPECT_LT(ring / ring_count, -0.95);
}

TEST(Digits, RowsAreTheSheetsTilesInOrder) {
  const cv::Mat sheet = cv::imread(kDigitsFile, cv::IMREAD_GRAYSCALE);
  ASSERT_EQ(sheet.cols, 2000);
  ASSERT_EQ(sheet.rows, 1000);
  const Digits& digits = TheDigits();
  for (const int index : {0, 1, 99, 100, 2345, 4999}) {
    const int tile_row = index / 100, tile_col = index % 100;
    for (int y = 0; y < 20; ++y)
      for (int x = 0; x < 20; ++x)
        ASSERT_FLOAT_EQ(digits.images(index, y * 20 + x),
                        sheet.at<uint8_t>(tile_row * 20 + y, tile_col * 20 + x) * (2.0f / 255.0f) - 1.0f)
            << "digit " << index << " pixel " << y << "," << x;
  }
}

TEST(Digits, DefaultPathIsTheBundledSheet) {
  const Digits digits = LoadDigits();
  EXPECT_EQ(digits.images, TheDigits().images);
}

TEST(Digits, SplitHoldsOutATenthOfEveryClassDisjointly) {
  const Digits& digits = TheDigits();
  const DigitsSplit split = SplitDigits(digits);
  ASSERT_EQ(split.train.rows(), 4500);
  ASSERT_EQ(split.test.rows(), 500);
  ASSERT_EQ(split.train.cols(), 400);
  ASSERT_EQ(split.train_labels.size(), 4500u);
  ASSERT_EQ(split.test_labels.size(), 500u);
  std::vector<int> test_per_class(10, 0), train_per_class(10, 0);
  for (int label : split.test_labels) ++test_per_class[label];
  for (int label : split.train_labels) ++train_per_class[label];
  for (int c = 0; c < 10; ++c) {
    EXPECT_EQ(test_per_class[c], 50);
    EXPECT_EQ(train_per_class[c], 450);
  }
  std::set<int> all(split.train_index.begin(), split.train_index.end());
  for (int i : split.test_index) EXPECT_TRUE(all.insert(i).second) << "row " << i << " is in both halves";
  EXPECT_EQ(all.size(), 5000u);
  EXPECT_TRUE(std::is_sorted(split.test_index.begin(), split.test_index.end()));
  for (size_t k = 0; k < split.test_index.size(); ++k) {
    ASSERT_EQ(split.test.row(static_cast<Eigen::Index>(k)), digits.images.row(split.test_index[k]));
    ASSERT_EQ(split.test_labels[k], digits.labels[split.test_index[k]]);
  }
  for (size_t k = 0; k < split.train_index.size(); ++k)
    ASSERT_EQ(split.train.row(static_cast<Eigen::Index>(k)), digits.images.row(split.train_index[k]));
  // A seeded shuffle, not a fixed pattern: the same seed gives the same split, another seed another one.
  EXPECT_EQ(SplitDigits(digits).test_index, split.test_index);
  EXPECT_NE(SplitDigits(digits, 1).test_index, split.test_index);
  // Not every 10th column: held-out tiles fall on many different sheet columns.
  std::set<int> columns;
  for (int i : split.test_index) columns.insert(i % 100);
  EXPECT_GT(columns.size(), 50u);
}

TEST(Digits, SplitRejectsUnbalancedData) {
  Digits few;
  few.images = Batch::Zero(10, 400);
  few.labels = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  EXPECT_THROW(SplitDigits(few), Error);
  few.labels.pop_back();
  EXPECT_THROW(SplitDigits(few), Error);
}

TEST(Digits, MissingOrWrongFileIsAClearError) {
  const fs::path folder = TempFolder("bad");
  try {
    LoadDigits((folder / "missing.png").string());
    FAIL() << "a missing file must throw";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("missing.png"), std::string::npos) << error.what();
  }
  const std::string small = (folder / "small.png").string();
  cv::imwrite(small, cv::Mat(100, 200, CV_8UC1, cv::Scalar(0)));
  try {
    LoadDigits(small);
    FAIL() << "a wrong-size sheet must throw";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("2000 x 1000"), std::string::npos) << error.what();
  }
  const std::string junk = (folder / "junk.png").string();
  std::ofstream(junk) << "not an image";
  EXPECT_THROW(LoadDigits(junk), Error);
}

TEST(LowResolution, AreaDownscaleIsTheBlockMean) {
  // A known pattern: pixel (y, x) = (y * 20 + x) / 400 - 0.5; 2x2 and 4x4 block means are exact.
  Batch image(2, 400);
  for (int y = 0; y < 20; ++y)
    for (int x = 0; x < 20; ++x) {
      image(0, y * 20 + x) = static_cast<float>(y * 20 + x) / 400.0f - 0.5f;
      image(1, y * 20 + x) = ((x + y) % 2 == 0) ? 1.0f : -1.0f;  // a checkerboard averages to 0
    }
  for (const int low : {10, 5}) {
    const int f = 20 / low;
    const Batch small = DownscaleArea(image, low);
    ASSERT_EQ(small.rows(), 2);
    ASSERT_EQ(small.cols(), low * low);
    for (int by = 0; by < low; ++by)
      for (int bx = 0; bx < low; ++bx) {
        double sum = 0;
        for (int y = by * f; y < (by + 1) * f; ++y)
          for (int x = bx * f; x < (bx + 1) * f; ++x) sum += image(0, y * 20 + x);
        EXPECT_NEAR(small(0, by * low + bx), sum / (f * f), 1e-6);
        EXPECT_NEAR(small(1, by * low + bx), 0.0, 1e-6);
      }
  }
}

TEST(LowResolution, ConstantImagesStayConstant) {
  const Batch constant = Batch::Constant(3, 400, 0.3f);
  for (const int low : {10, 5, 7}) {
    const Batch small = DownscaleArea(constant, low);
    EXPECT_NEAR((small.array() - 0.3f).abs().maxCoeff(), 0.0f, 1e-6f) << low;
    const Batch back = UpsampleBicubic(small, 20);
    ASSERT_EQ(back.cols(), 400);
    EXPECT_NEAR((back.array() - 0.3f).abs().maxCoeff(), 0.0f, 1e-5f) << low;
    EXPECT_NEAR((LowResolutionCondition(constant, low).array() - 0.3f).abs().maxCoeff(), 0.0f, 1e-5f);
  }
}

TEST(LowResolution, BicubicUpsampleIsClampedAndSmooth) {
  // A hard edge overshoots under bicubic; the result stays in [-1, 1] like an 8-bit image.
  Batch low(1, 25);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 5; ++x) low(0, y * 5 + x) = x < 2 ? -1.0f : 1.0f;
  const Batch up = UpsampleBicubic(low, 20);
  EXPECT_GE(up.minCoeff(), -1.0f);
  EXPECT_LE(up.maxCoeff(), 1.0f);
  EXPECT_EQ(up(0, 0), -1.0f);
  EXPECT_EQ(up(0, 19), 1.0f);
  // Rows stay monotone across the edge.
  for (int x = 1; x < 20; ++x) EXPECT_GE(up(0, 7 * 20 + x), up(0, 7 * 20 + x - 1));
}

TEST(LowResolution, BadShapesAreErrors) {
  EXPECT_THROW(DownscaleArea(Batch::Zero(1, 399), 10), Error);  // not square
  EXPECT_THROW(DownscaleArea(Batch::Zero(1, 400), 0), Error);
  EXPECT_THROW(DownscaleArea(Batch::Zero(1, 400), 21), Error);
  EXPECT_THROW(UpsampleBicubic(Batch::Zero(1, 100), 5), Error);
  Batch nan = Batch::Zero(1, 400);
  nan(0, 3) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(DownscaleArea(nan, 10), Error);
}

// --- image folders (core/data/image_set.h) ---

void WriteBgr(const fs::path& path, int width, int height, cv::Scalar bgr) {
  ASSERT_TRUE(cv::imwrite(path.string(), cv::Mat(height, width, CV_8UC3, bgr)));
}

TEST(ImageSet, LoadsEveryReadableImageResized) {
  const fs::path folder = TempFolder("set");
  WriteBgr(folder / "a.png", 8, 6, cv::Scalar(255, 0, 0));                                          // blue
  ASSERT_TRUE(cv::imwrite((folder / "b.bmp").string(), cv::Mat(10, 10, CV_8UC1, cv::Scalar(51))));  // grey
  WriteBgr(folder / "c.PNG", 5, 5, cv::Scalar(0, 0, 255));                                          // red
  std::ofstream(folder / "d.jpg") << "not a JPEG";
  std::ofstream(folder / "notes.txt") << "not an image file at all";

  ImageSetOptions options;
  options.width = 4;
  options.height = 4;
  const ImageSet set = LoadImageSet(folder.string(), options);
  ASSERT_EQ(set.images.rows(), 3);
  ASSERT_EQ(set.images.cols(), 3 * 4 * 4);
  EXPECT_EQ(set.channels, 3);
  ASSERT_EQ(set.files.size(), 3u);
  EXPECT_EQ(fs::path(set.files[0]).filename(), "a.png");
  EXPECT_EQ(fs::path(set.files[1]).filename(), "b.bmp");
  EXPECT_EQ(fs::path(set.files[2]).filename(), "c.PNG");
  ASSERT_EQ(set.skipped.size(), 1u);
  EXPECT_NE(set.skipped[0].find("d.jpg"), std::string::npos);
  // Constant images stay constant through crop and resize: blue = planes (-1, -1, 1); grey 51 everywhere.
  EXPECT_NEAR(set.images.row(0).segment(0, 16).maxCoeff(), -1.0f, 1e-5f);
  EXPECT_NEAR(set.images.row(0).segment(32, 16).minCoeff(), 1.0f, 1e-5f);
  const float grey = 51 / 127.5f - 1.0f;
  EXPECT_NEAR((set.images.row(1).array() - grey).abs().maxCoeff(), 0.0f, 1e-5f);
  EXPECT_NEAR(set.images.row(2).segment(0, 16).minCoeff(), 1.0f, 1e-5f);  // red: plane 0 is +1

  options.channels = 1;
  options.max_images = 2;
  const ImageSet grey_set = LoadImageSet(folder.string(), options);
  ASSERT_EQ(grey_set.images.rows(), 2);
  ASSERT_EQ(grey_set.images.cols(), 16);
  // BT.601 luma of pure blue: 0.114 * 1 + 0.886 * (-1).
  EXPECT_NEAR(grey_set.images(0, 0), 0.114f - 0.886f, 1e-5f);
}

TEST(ImageSet, CropsToTheAspectRatioBeforeResizing) {
  const fs::path folder = TempFolder("crop");
  cv::Mat wide(4, 12, CV_8UC1, cv::Scalar(0));
  wide(cv::Rect(4, 0, 4, 4)).setTo(cv::Scalar(255));  // white middle third
  ASSERT_TRUE(cv::imwrite((folder / "wide.png").string(), wide));
  ImageSetOptions options;
  options.width = 2;
  options.height = 2;
  options.channels = 1;
  EXPECT_NEAR(LoadImageSet(folder.string(), options).images.minCoeff(), 1.0f, 1e-6f);  // only the middle is kept
  options.crop_to_aspect = false;  // stretched: the black thirds are averaged in
  EXPECT_LT(LoadImageSet(folder.string(), options).images.maxCoeff(), 0.5f);
}

TEST(ImageSet, EmptyOrUnreadableFoldersAreErrors) {
  const fs::path empty = TempFolder("empty");
  EXPECT_THROW(LoadImageSet(empty.string()), Error);
  std::ofstream(empty / "readme.txt") << "no images here";
  EXPECT_THROW(LoadImageSet(empty.string()), Error);
  const fs::path junk = TempFolder("junk");
  std::ofstream(junk / "x.png") << "not a PNG";
  try {
    LoadImageSet(junk.string());
    FAIL() << "a folder without one readable image must throw";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("x.png"), std::string::npos) << error.what();
  }
  EXPECT_THROW(LoadImageSet((empty / "no_such_folder").string()), Error);
  ImageSetOptions bad;
  bad.channels = 2;
  EXPECT_FALSE(bad.Check().empty());
  EXPECT_THROW(LoadImageSet(junk.string(), bad), Error);
  bad = {};
  bad.max_images = 0;
  EXPECT_FALSE(bad.Check().empty());
}

TEST(ImageSet, StopCancelsAndProgressCounts) {
  const fs::path folder = TempFolder("progress");
  for (int i = 0; i < 3; ++i) WriteBgr(folder / ("im" + std::to_string(i) + ".png"), 3, 3, cv::Scalar(i, i, i));
  std::vector<long long> done;
  LoadImageSet(folder.string(), {}, [&](long long d, long long total, const std::string&) {
    EXPECT_EQ(total, 3);
    done.push_back(d);
  });
  EXPECT_EQ(done, (std::vector<long long>{1, 2, 3}));
  EXPECT_THROW(LoadImageSet(folder.string(), {}, {}, [] { return true; }), Cancelled);
}

TEST(ImageSet, BundledSamplePhotosLoad) {
  ImageSetOptions options;
  options.width = 32;
  options.height = 32;
  const ImageSet set = LoadImageSet(std::string(DIFFUSCOPE_RESOURCES) + "/images", options);
  EXPECT_GE(set.images.rows(), 4);
  EXPECT_TRUE(set.skipped.empty());
  EXPECT_GE(set.images.minCoeff(), -1.0f);
  EXPECT_LE(set.images.maxCoeff(), 1.0f);
}

}  // namespace
}  // namespace diffuscope

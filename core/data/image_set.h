// A folder of images as one Batch (one row per image, common size and channel count): the data of
// "the empirical denoiser over a folder of images" and the source of patch banks.
//
//   diffuscope::ImageSetOptions options;           // 64 x 64 RGB, centre-cropped, at most 1000 images
//   diffuscope::ImageSet set = diffuscope::LoadImageSet("photos/", options);
//   diffuscope::EmpiricalDenoiser empirical(set.images);   // rows of 3 * 64 * 64
#pragma once

#include "core/common/types.h"
#include "core/data/image_io.h"

#include <string>
#include <vector>

namespace diffuscope {

struct ImageSetOptions {
  int width = 64;  // common size of every image, pixels
  int height = 64;
  int channels = 3;            // 1 (grey: ITU-R BT.601 luma of colour files) or 3 (RGB; grey files repeated)
  int max_images = 1000;       // the first max_images readable files in name order
  bool crop_to_aspect = true;  // centre-crop each image to width:height before resizing (false: stretch)
  ImageLoadOptions load{.max_pixels = 4096LL * 4096, .downscale_if_too_large = true, .force_rgb = false};
  /// Empty when valid, else what is wrong, naming the option.
  std::string Check() const;
};

struct ImageSet {
  Batch images;  // one row per image: channels * height * width, channel planes, pixels in [-1, 1]
  int channels = 0, height = 0, width = 0;
  std::vector<std::string> files;    // the file of each row
  std::vector<std::string> skipped;  // "file: reason" for each image file that could not be read
};

/// The image files of a folder (not recursive), by extension (png, jpg, jpeg, bmp, tif, tiff, webp, pgm,
/// ppm, pbm, pnm; any case), sorted by name. Throws Error if the folder does not exist.
std::vector<std::string> ListImageFiles(const std::string& folder);

/// Loads every image file of `folder` (see ListImageFiles) that can be read, resized (area average when
/// shrinking, bicubic when growing) to options' size and channel count, up to max_images. Unreadable files
/// are listed in ImageSet::skipped. Throws Error on bad options, a missing folder, a folder with no image
/// file, or one where no image could be read (the message names the first failure). progress(done, total)
/// after each file; throws Cancelled when stop() returns true.
ImageSet LoadImageSet(const std::string& folder, const ImageSetOptions& options = {}, const ProgressFn& progress = {},
                      const StopFn& stop = {});

/// The same image with 1 (BT.601 luma: 0.299 R + 0.587 G + 0.114 B) or 3 (grey repeated) channels.
Image ConvertChannels(const Image& image, int channels);
/// The largest centred crop of `image` with the aspect ratio width:height (the image itself if it has it).
Image CropToAspect(const Image& image, int width, int height);
/// Images of the rows of a batch of channels x height x width images (e.g. ImageSet::images).
std::vector<Image> ImagesFromRows(const Batch& images, int channels, int height, int width);

}  // namespace diffuscope

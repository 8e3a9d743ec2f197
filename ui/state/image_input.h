// What the app reads an image run from: the image loader and what a model name means for the images workspace.
// No widgets here, so the document and sessions can use it.
//
//   ImageData image = diffuscope::ui::LoadImageFile(path);  // throws Error, ImageTooLarge
#pragma once

#include "core/common/types.h"
#include "core/data/image_io.h"  // ImageTooLarge, which LoadImageFile throws
#include "ui/state/document.h"

#include <QString>

namespace diffuscope::ui {

/// Bigger images are refused by the loader unless the user agrees to downscale them.
inline constexpr long long kMaxImagePixels = 2048LL * 2048;

/// Loads an image file for the workspace (grey, colour, alpha, 16-bit). Throws Error with a message for the
/// user, ImageTooLarge when it exceeds kMaxImagePixels and downscale is false.
ImageData LoadImageFile(const QString& path, bool downscale = false);

/// What a model name means for the images workspace: a model of the open image, SR3 on 20x20 digits
/// ("sr3-digits", "sr3-digits-5x5" or such a .dfm file), the digits DDPM ("ddpm-digits..."), or SR3 x4 of the
/// photo ("sr3-photo..."): its super-resolution.
enum class ImageModelKind { kImage, kSr3, kDigitsDdpm, kSr3Photo };
/// The photo SR3 model's factor.
inline constexpr int kSr3PhotoFactor = 4;
ImageModelKind ImageModelKindOf(const QString& name);
/// A learned model of the open image (ddpm-photo, sr3-photo or a model file), not a training-free one (oracle,
/// empirical, patch): the models whose cost calls for a working size.
bool IsLearnedImageModel(const QString& name);

/// The SR3 input made from an image: grey (mean of the channels), the centred square, area-resized to
/// side x side; 1 x side^2 in [-1, 1].
Batch DigitFromImage(const ImageData& image, int side = 20);

}  // namespace diffuscope::ui

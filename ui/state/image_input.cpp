#include "ui/state/image_input.h"

#include "core/data/digits.h"
#include "core/data/image_io.h"
#include "core/models/registry.h"

#include <QFileInfo>

#include <string>

namespace diffuscope::ui {

bool IsLearnedImageModel(const QString& name) {
  if (ImageModelKindOf(name) == ImageModelKind::kSr3Photo) return true;
  if (ImageModelKindOf(name) != ImageModelKind::kImage) return false;
  for (const std::string& builtin : BuiltinModelNames())
    if (name == QString::fromStdString(builtin)) return false;
  return !name.startsWith(QLatin1String("empirical:")) && !name.startsWith(QLatin1String("patch:"));
}

ImageModelKind ImageModelKindOf(const QString& name) {
  const QString base = QFileInfo(name).fileName();
  if (base.startsWith(QLatin1String("sr3-digits"))) return ImageModelKind::kSr3;
  if (base.startsWith(QLatin1String("ddpm-digits"))) return ImageModelKind::kDigitsDdpm;
  if (base.startsWith(QLatin1String("sr3-photo"))) return ImageModelKind::kSr3Photo;
  return ImageModelKind::kImage;
}

Batch DigitFromImage(const ImageData& image, int side) {
  return diffuscope::DigitFromImage(image.pixels, image.channels, image.height, image.width, side);
}

ImageData LoadImageFile(const QString& path, bool downscale) {
  ImageLoadOptions options;
  options.max_pixels = kMaxImagePixels;
  options.downscale_if_too_large = downscale;
  Image image = LoadImage(path.toStdString(), options);
  ImageData data;
  data.path = QFileInfo(path).absoluteFilePath();
  data.channels = image.channels;
  data.height = image.height;
  data.width = image.width;
  data.pixels = std::move(image.pixels);
  return data;
}

}  // namespace diffuscope::ui

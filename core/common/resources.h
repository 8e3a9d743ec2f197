// Where the bundled resources (sample images, data sets, trained models) are at run time.
#pragma once

#include <filesystem>
#include <string>

namespace diffuscope {

/// The resources folder: $DIFFUSCOPE_RESOURCES if set, else ../share/diffuscope beside the running
/// executable (an installed build), else the install prefix's data folder, else the source tree's
/// resources/ (a build tree). Throws Error if none exists.
std::filesystem::path ResourcesDir();
/// ResourcesDir() / relative, checked to exist (Error names the missing file).
std::filesystem::path ResourcePath(const std::string& relative);

}  // namespace diffuscope

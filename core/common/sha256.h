// SHA-256 of bytes and files, as lower-case hex (bundles name their inputs, models and frames by it).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace diffuscope {

std::string Sha256Hex(const void* data, size_t size);
/// Throws Error when the file cannot be read.
std::string Sha256File(const std::filesystem::path& path);

}  // namespace diffuscope

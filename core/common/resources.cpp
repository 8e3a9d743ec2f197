#include "core/common/resources.h"

#include "core/common/types.h"

#include <cstdlib>
#include <system_error>

namespace diffuscope {
namespace fs = std::filesystem;

fs::path ResourcesDir() {
  std::error_code ec;
  if (const char* env = std::getenv("DIFFUSCOPE_RESOURCES"); env && *env) {
    Require(fs::is_directory(env, ec),
            std::string("DIFFUSCOPE_RESOURCES is set to '") + env + "', which is not a folder");
    return env;
  }
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path installed = exe.parent_path().parent_path() / "share" / "diffuscope";
    if (fs::is_directory(installed, ec)) return installed;
  }
#ifdef DIFFUSCOPE_INSTALL_RESOURCES
  if (fs::is_directory(DIFFUSCOPE_INSTALL_RESOURCES, ec)) return DIFFUSCOPE_INSTALL_RESOURCES;
#endif
#ifdef DIFFUSCOPE_SOURCE_RESOURCES
  if (fs::is_directory(DIFFUSCOPE_SOURCE_RESOURCES, ec)) return DIFFUSCOPE_SOURCE_RESOURCES;
#endif
  throw Error("cannot find Diffuscope's resources folder; set DIFFUSCOPE_RESOURCES to it");
}

fs::path ResourcePath(const std::string& relative) {
  const fs::path path = ResourcesDir() / relative;
  std::error_code ec;
  Require(fs::exists(path, ec), "missing resource '" + path.string() + "'");
  return path;
}

}  // namespace diffuscope

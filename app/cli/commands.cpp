#include "app/cli/commands.h"

#include <iostream>

namespace diffuscope::cli {
int Main(int, char**) {
  std::cerr << "diffuscope-cli: not yet\n";
  return 2;
}
}  // namespace diffuscope::cli

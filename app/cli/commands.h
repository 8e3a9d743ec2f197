#pragma once

namespace diffuscope::cli {

/// Runs the command line; returns the process exit code (0 ok, 1 failure, 2 usage).
int Main(int argc, char** argv);

}  // namespace diffuscope::cli

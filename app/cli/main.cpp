// diffuscope-cli: the headless front end. Parses, calls core, prints. Exit codes: 0 ok, 1 failure, 2 usage.
#include "app/cli/commands.h"

#include <iostream>

int main(int argc, char** argv) { return diffuscope::cli::Main(argc, argv); }

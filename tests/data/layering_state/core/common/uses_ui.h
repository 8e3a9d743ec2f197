// A fixture for scripts/check-layering.sh: the core including the ui and the app.
#pragma once
#include "ui/state/document.h"
#include "app/cli/commands.h"

// A fixture for scripts/check-layering.sh: common (the lowest layer) including export, the highest.
#pragma once
#include "core/export/animation.h"

// A fixture for scripts/check-layering.sh: widgets may include the state and Qt Widgets.
#pragma once
#include "ui/state/includes_widgets.h"
#include <QWidget>

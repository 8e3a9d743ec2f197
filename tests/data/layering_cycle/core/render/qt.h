// A fixture for scripts/check-layering.sh: the core including Qt.
#pragma once
#include <QImage>

#include "ui/widgets/ui_resources.h"

#include <QtGlobal>

// Q_INIT_RESOURCE must be used outside any namespace.
static void InitUiResources() { Q_INIT_RESOURCE(ui); }

namespace diffuscope::ui {

void InitResources() {
  static const bool done = (InitUiResources(), true);
  (void)done;
}

}  // namespace diffuscope::ui

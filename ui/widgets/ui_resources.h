// The Qt resources compiled into the widgets library (ui.qrc: the icon at ":/diffuscope/diffuscope.svg").
//
//   diffuscope::ui::InitResources();  // once, before the first use; MainWindow calls it
#pragma once

namespace diffuscope::ui {

/// Registers the Qt resources compiled into the library. A static library's resources are only linked in when
/// this is called.
void InitResources();

}  // namespace diffuscope::ui

// A fixture for scripts/check-layering.sh: a state header including widgets, in each spelling the check knows.
#pragma once
#include "ui/state/jobs.h"
#include "ui/widgets/main_window.h"
#include <QWidget>
#include <QtCharts/QChartView>
#include <QtWidgets>
#  include <qlabel.h>
#include <QKeySequenceEdit>
#include <QCalendarWidget>
#include <QCompleter>  // known from the installed Qt headers only (QtWidgets/QCompleter)
// Allowed: Qt Core and Gui (QAction and QUndoStack are Qt Gui's in Qt 6).
#include <QAction>
#include <QString>
#include <QUndoStack>
#include <QStringView>
#include <QPageLayout>
#include <qaction.h>

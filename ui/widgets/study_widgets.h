// The controls every measuring dialog shares (Sampler accuracy, Memorisation Study): Measure and Cancel beside a
// progress bar, a chart, a status line and a table of the figures, added to the dialog's layout in that order.
#pragma once

#include <QString>
#include <QStringList>
#include <Qt>
#include <any>
#include <functional>

class QChart;
class QObject;
class QLabel;
class QProgressBar;
class QPushButton;
class QTableWidget;
class QVBoxLayout;
class QWidget;

namespace diffuscope::ui {

class BackgroundTask;

struct StudyWidgets {
  QPushButton* measure = nullptr;
  QPushButton* cancel = nullptr;  // disabled until a measurement runs
  QProgressBar* progress = nullptr;
  QChart* chart = nullptr;
  QLabel* status = nullptr;
  QTableWidget* table = nullptr;  // one column per header, stretched
};

StudyWidgets AddStudyWidgets(QWidget* parent, QVBoxLayout* layout, const QString& chart_title, Qt::Alignment legend,
                             const QStringList& headers);

/// Wires a measuring dialog's task to its controls: the bar (in thousandths, so totals past an int's range fit) and
/// "Measuring: ..." follow the progress, Measure and Cancel follow whether it runs, failures and Cancel are said in
/// the status line, and a result goes to on_result. context owns the connections (the dialog).
void ConnectStudyTask(QObject* context, BackgroundTask* task, const StudyWidgets& w,
                      std::function<void(std::any)> on_result);

}  // namespace diffuscope::ui

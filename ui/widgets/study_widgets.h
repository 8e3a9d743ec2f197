// The controls every measuring dialog shares (Sampler accuracy, Memorisation Study): Measure and Cancel beside a
// progress bar, a chart, a status line and a table of the figures, added to the dialog's layout in that order.
#pragma once

#include <QString>
#include <QStringList>
#include <Qt>

class QChart;
class QLabel;
class QProgressBar;
class QPushButton;
class QTableWidget;
class QVBoxLayout;
class QWidget;

namespace diffuscope::ui {

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

}  // namespace diffuscope::ui

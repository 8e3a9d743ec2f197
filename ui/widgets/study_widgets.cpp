#include "ui/widgets/study_widgets.h"

#include "ui/state/jobs.h"

#include <QChart>
#include <QChartView>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

namespace diffuscope::ui {

StudyWidgets AddStudyWidgets(QWidget* parent, QVBoxLayout* layout, const QString& chart_title, Qt::Alignment legend,
                             const QStringList& headers) {
  StudyWidgets w;
  auto* buttons = new QHBoxLayout;
  w.measure = new QPushButton(QObject::tr("Measure"), parent);
  w.cancel = new QPushButton(QObject::tr("Cancel"), parent);
  w.cancel->setEnabled(false);
  w.progress = new QProgressBar(parent);
  w.progress->setRange(0, 1);
  w.progress->setValue(0);
  buttons->addWidget(w.measure);
  buttons->addWidget(w.cancel);
  buttons->addWidget(w.progress, 1);
  layout->addLayout(buttons);

  w.chart = new QChart;
  w.chart->setTitle(chart_title);
  w.chart->legend()->setAlignment(legend);
  auto* view = new QChartView(w.chart, parent);
  view->setRenderHint(QPainter::Antialiasing);
  view->setMinimumSize(640, 380);
  layout->addWidget(view, 1);
  w.status = new QLabel(QObject::tr("Press Measure."), parent);
  w.status->setWordWrap(true);
  w.status->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(w.status);
  w.table = new QTableWidget(0, static_cast<int>(headers.size()), parent);
  w.table->setHorizontalHeaderLabels(headers);
  w.table->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
  w.table->verticalHeader()->setVisible(false);
  return w;
}

void ConnectStudyTask(QObject* context, BackgroundTask* task, const StudyWidgets& w,
                      std::function<void(std::any)> on_result) {
  QProgressBar* progress = w.progress;
  QLabel* status = w.status;
  QPushButton* measure = w.measure;
  QPushButton* cancel = w.cancel;
  QObject::connect(task, &BackgroundTask::progress, context,
                   [progress, status](qint64 done, qint64 total, const QString& what) {
                     progress->setRange(0, 1000);
                     progress->setValue(total > 0 ? static_cast<int>(1000 * done / total) : 0);
                     status->setText(QObject::tr("Measuring: %1").arg(what));
                   });
  QObject::connect(task, &BackgroundTask::runningChanged, context, [measure, cancel](bool running) {
    measure->setEnabled(!running);
    cancel->setEnabled(running);
  });
  QObject::connect(task, &BackgroundTask::finished, context, std::move(on_result));
  QObject::connect(task, &BackgroundTask::failed, context,
                   [status](const QString& message) { status->setText(message); });
  QObject::connect(task, &BackgroundTask::cancelled, context, [progress, status] {
    progress->setValue(0);
    status->setText(QObject::tr("Cancelled."));
  });
}

}  // namespace diffuscope::ui

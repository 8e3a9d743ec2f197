#include "ui/widgets/study_widgets.h"

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

}  // namespace diffuscope::ui

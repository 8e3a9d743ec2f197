#include "ui/widgets/memorisation_dialog.h"

#include "core/data/points2d.h"
#include "ui/state/jobs.h"
#include "ui/widgets/study_widgets.h"

#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace diffuscope::ui {
namespace {

QString Figure(double v, int digits = 4) {
  return std::isnan(v) ? QStringLiteral("-") : QString::number(v, 'g', digits);
}

}  // namespace

MemorisationDialog::MemorisationDialog(QWidget* parent) : QDialog(parent), task_(new BackgroundTask(this)) {
  setWindowTitle(tr("Memorisation study"));
  auto* layout = new QVBoxLayout(this);
  auto* intro = new QLabel(
      tr("For each training-set size N the 2D DDPM is trained on the first N points (the same updates and seed for "
         "every N) and sampled. A model that copies puts its samples on training points, far closer to them than fresh "
         "data are; one that generalises puts them as far as held-out points. The empirical denoiser of the same N "
         "points is the exact memoriser."),
      this);
  intro->setWordWrap(true);
  layout->addWidget(intro);

  auto* form = new QFormLayout;
  data_ = new QComboBox(this);
  for (const std::string& name : DatasetNames()) data_->addItem(QString::fromStdString(name));
  data_->setCurrentText(QStringLiteral("moons"));
  form->addRow(tr("Data"), data_);
  sizes_ = new QLineEdit(QStringLiteral("8, 32, 128, 512, 2048, 8000"), this);
  sizes_->setToolTip(tr("Training-set sizes N, ascending"));
  form->addRow(tr("Training-set sizes"), sizes_);
  iterations_ = new QSpinBox(this);
  iterations_->setRange(100, 1000000);
  iterations_->setSingleStep(1000);
  iterations_->setValue(static_cast<int>(MemorisationOptions{}.training.iterations));
  iterations_->setToolTip(tr("Training updates (batch 64) per size"));
  form->addRow(tr("Updates per size"), iterations_);
  layout->addLayout(form);

  // Distances in the table: the median over samples of the distance to the nearest training point.
  const StudyWidgets w = AddStudyWidgets(
      this, layout, tr("Distance to the nearest training point against the training-set size"), Qt::AlignBottom,
      {tr("N"), tr("DDPM median"), tr("DDPM copies"), tr("Empirical median"), tr("Empirical copies"),
       tr("Held-out median"), tr("Held-out copies")});
  measure_ = w.measure;
  cancel_ = w.cancel;
  progress_ = w.progress;
  chart_ = w.chart;
  status_ = w.status;
  table_ = w.table;
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setMinimumHeight(160);
  layout->addWidget(table_);

  connect(measure_, &QPushButton::clicked, this, &MemorisationDialog::measure);
  connect(cancel_, &QPushButton::clicked, this, &MemorisationDialog::cancel);
  ConnectStudyTask(this, task_, w, [this](std::any result) {
    report_ = std::any_cast<MemorisationReport>(std::move(result));
    showReport();
  });
  resize(860, 860);
}

MemorisationDialog::~MemorisationDialog() = default;  // task_ (a child) cancels and waits

bool MemorisationDialog::running() const { return task_->running(); }

void MemorisationDialog::cancel() { task_->cancel(); }

MemorisationOptions MemorisationDialog::options(QString* problem) const {
  MemorisationOptions o;
  o.sizes.clear();
  for (const QString& part : sizes_->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
    bool ok = false;
    const int n = part.trimmed().toInt(&ok);
    if (!ok) {
      *problem = tr("Training-set sizes: '%1' is not a whole number").arg(part.trimmed());
      return o;
    }
    o.sizes.push_back(n);
  }
  const long long iterations = iterations_->value();
  o.training = ShippedTrainingRecipe(iterations, 64, std::max(1LL, iterations / 50));
  o.training.warmup_steps = std::min(500LL, iterations / 10);
  o.training.seed = 1;
  *problem = QString::fromStdString(o.Check());
  return o;
}

void MemorisationDialog::measure() {
  if (running()) return;
  QString problem;
  const MemorisationOptions o = options(&problem);
  if (!problem.isEmpty()) {
    status_->setText(problem);
    return;
  }
  const std::string data_name = data_->currentText().toStdString();
  progress_->setRange(0, 1000);
  progress_->setValue(0);
  status_->setText(tr("Measuring..."));
  task_->start([o, data_name](const ProgressFn& progress, const StopFn& stop) -> std::any {
    // Training points from one draw, held-out points from another (built-in sets live at unit scale).
    const Batch train = GenerateDataset(data_name, o.sizes.back(), 0);
    const Batch held_out = GenerateDataset(data_name, 1000, 1000);
    return MeasureMemorisation(train, held_out, {}, o, progress, stop);
  });
}

void MemorisationDialog::showReport() {
  const MemorisationReport& r = *report_;
  table_->setRowCount(static_cast<int>(r.rows.size()));
  for (int i = 0; i < static_cast<int>(r.rows.size()); ++i) {
    const MemorisationRow& row = r.rows[i];
    const QStringList cells = {QString::number(row.size),
                               Figure(row.ddpm_nearest_median),
                               Figure(row.ddpm_copy_fraction, 3),
                               Figure(row.empirical_nearest_median),
                               Figure(row.empirical_copy_fraction, 3),
                               Figure(row.held_out_nearest_median),
                               Figure(row.held_out_copy_fraction, 3)};
    for (int c = 0; c < cells.size(); ++c) table_->setItem(i, c, new QTableWidgetItem(cells[c]));
  }
  status_->setText(tr("%1 updates per size; distances (median over the points of the distance to the nearest training "
                      "point) in the data's normalised units; a copy is a sample within %2 of a training point (the "
                      "held-out points' copy fraction is the chance level).")
                       .arg(r.iterations)
                       .arg(r.copy_radius));

  chart_->removeAllSeries();
  for (QAbstractAxis* axis : chart_->axes()) {
    chart_->removeAxis(axis);
    delete axis;
  }
  auto* x_axis = new QLogValueAxis;
  x_axis->setTitleText(tr("training-set size N"));
  x_axis->setLabelFormat(QStringLiteral("%g"));
  x_axis->setBase(10);
  x_axis->setMinorTickCount(-1);
  auto* y_axis = new QLogValueAxis;
  y_axis->setTitleText(tr("median nearest distance"));
  y_axis->setLabelFormat(QStringLiteral("%.0e"));
  y_axis->setBase(10);
  y_axis->setMinorTickCount(-1);
  chart_->addAxis(x_axis, Qt::AlignBottom);
  chart_->addAxis(y_axis, Qt::AlignLeft);
  struct Curve {
    QString name;
    QColor color;
    double MemorisationRow::*value;
  };
  const Curve curves[] = {
      {tr("DDPM samples"), QColor("#d62728"), &MemorisationRow::ddpm_nearest_median},
      {tr("held-out points (fresh data)"), QColor("#1f77b4"), &MemorisationRow::held_out_nearest_median},
      {tr("empirical denoiser samples (the exact memoriser)"), QColor("#7f7f7f"),
       &MemorisationRow::empirical_nearest_median}};
  double lo = INFINITY, hi = 0;
  for (const Curve& curve : curves) {
    auto* line = new QLineSeries;
    line->setName(curve.name);
    QPen pen(curve.color);
    pen.setWidthF(2.0);
    line->setPen(pen);
    line->setPointsVisible(true);
    for (const MemorisationRow& row : r.rows) {
      const double v = row.*curve.value;
      if (!(std::isfinite(v) && v > 0.0)) continue;  // a log axis has no place for 0 (exact copies, in float)
      line->append(row.size, v);
      lo = std::min(lo, v), hi = std::max(hi, v);
    }
    if (line->count() == 0) {
      delete line;
      continue;
    }
    chart_->addSeries(line);
    line->attachAxis(x_axis);
    line->attachAxis(y_axis);
  }
  if (r.rows.empty() || !(hi > 0.0)) return;
  x_axis->setRange(r.rows.front().size / 1.5, r.rows.back().size * 1.5);
  y_axis->setRange(lo / 2, hi * 2);
}

}  // namespace diffuscope::ui

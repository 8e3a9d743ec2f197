#include "ui/widgets/sampler_accuracy_dialog.h"

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
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <map>

namespace diffuscope::ui {
namespace {

QString SamplerLabel(SamplerKind kind) {
  const std::string_view name = SamplerKindName(kind);
  return QString::fromUtf8(name.data(), static_cast<qsizetype>(name.size()));
}

QColor SamplerColor(SamplerKind kind) {
  switch (kind) {
    case SamplerKind::kDdpm: return QColor("#7f7f7f");
    case SamplerKind::kDdim: return QColor("#1f77b4");
    case SamplerKind::kOdeEuler: return QColor("#ff7f0e");
    case SamplerKind::kSdeEuler: return QColor("#9467bd");
    case SamplerKind::kHeunKarras: return QColor("#d62728");
    case SamplerKind::kDpmSolverPP: return QColor("#2ca02c");
    case SamplerKind::kFlowEuler: return QColor("#8c564b");
    case SamplerKind::kFlowHeun: return QColor("#e377c2");
  }
  return Qt::black;
}

QString Figure(double v) { return std::isnan(v) ? QStringLiteral("-") : QString::number(v, 'g', 4); }

// The Karras schedule's T: every trailing K of the default NFE list is a subset of its steps.
constexpr int kKarrasSteps = 1600;

}  // namespace

SamplerAccuracyDialog::SamplerAccuracyDialog(const ScheduleOptions& schedule, QWidget* parent)
    : QDialog(parent), document_schedule_(schedule), task_(new BackgroundTask(this)) {
  setWindowTitle(tr("Sampler accuracy"));
  auto* layout = new QVBoxLayout(this);
  auto* intro = new QLabel(
      tr("Each sampler runs with the exact denoiser of the 8gaussians Gaussian mixture from one x_T; its endpoint is "
         "compared with the exact probability-flow ODE solve (adaptive Dormand-Prince in double), its samples with "
         "the law (energy distance). Stochastic samplers (DDPM, reverse SDE) take other paths: only their energy "
         "distance is meaningful."),
      this);
  intro->setWordWrap(true);
  layout->addWidget(intro);

  auto* form = new QFormLayout;
  schedule_ = new QComboBox(this);
  const NoiseSchedule document(schedule);
  schedule_->addItem(tr("This document's: %1, T = %2 (alpha_bar_T = %3)")
                         .arg(QString::fromUtf8(ScheduleKindName(schedule.kind).data()))
                         .arg(schedule.num_steps)
                         .arg(document.alpha_bar(document.num_steps()), 0, 'g', 3),
                     0);
  schedule_->addItem(tr("Karras et al. (EDM) noise levels: sigma 0.002 .. 80, T = %1").arg(kKarrasSteps), 1);
  schedule_->setToolTip(
      tr("On the DDPM schedules the last step to the data starts at sigma(T/K), which dominates "
         "the 2nd-order solvers' error; on Karras's levels it starts at sigma = 0.002"));
  if (document.alpha_bar(document.num_steps()) <= 0.0) {
    schedule_->setCurrentIndex(1);                   // zero terminal SNR: the ODE has no finite start on it
    schedule_->setItemData(0, 0, Qt::UserRole - 1);  // disabled
  }
  form->addRow(tr("Schedule"), schedule_);
  particles_ = new QSpinBox(this);
  particles_->setRange(2, 100000);
  particles_->setValue(500);
  particles_->setToolTip(tr("Particles, all from one x_T ~ N(0, I)"));
  form->addRow(tr("Particles"), particles_);
  nfe_ = new QLineEdit(QStringLiteral("5, 10, 20, 40, 80, 160"), this);
  nfe_->setToolTip(tr("Budgets of network evaluations; each sampler takes the most steps that fit"));
  form->addRow(tr("NFE"), nfe_);
  quantity_ = new QComboBox(this);
  quantity_->addItem(tr("Endpoint error (RMS vs the exact ODE solve)"));
  quantity_->addItem(tr("Energy distance to the law"));
  quantity_->setToolTip(
      tr("The energy distance is unbiased, so at the noise floor it can be <= 0: such points have "
         "no place on a log axis and are left out of the chart (the table has them)"));
  form->addRow(tr("Show"), quantity_);
  layout->addLayout(form);

  const StudyWidgets w = AddStudyWidgets(
      this, layout, tr("Error against network evaluations"), Qt::AlignRight,
      {tr("Sampler"), tr("Steps"), tr("NFE"), tr("Endpoint error (RMS)"), tr("Median error"), tr("Energy distance")});
  measure_ = w.measure;
  cancel_ = w.cancel;
  progress_ = w.progress;
  chart_ = w.chart;
  status_ = w.status;
  table_ = w.table;
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setMinimumHeight(140);
  layout->addWidget(table_);

  connect(measure_, &QPushButton::clicked, this, &SamplerAccuracyDialog::measure);
  connect(cancel_, &QPushButton::clicked, this, &SamplerAccuracyDialog::cancel);
  connect(quantity_, &QComboBox::currentIndexChanged, this, &SamplerAccuracyDialog::plot);
  ConnectStudyTask(this, task_, w, [this](std::any result) {
    report_ = std::any_cast<SamplerErrorReport>(std::move(result));
    showReport();
  });
  resize(820, 820);
}

SamplerAccuracyDialog::~SamplerAccuracyDialog() = default;  // task_ (a child) cancels and waits

bool SamplerAccuracyDialog::running() const { return task_->running(); }

void SamplerAccuracyDialog::cancel() { task_->cancel(); }

SamplerErrorOptions SamplerAccuracyDialog::options(QString* problem) const {
  SamplerErrorOptions o;
  o.schedule = schedule_->currentData().toInt() == 1 ? KarrasScheduleOptions(kKarrasSteps) : document_schedule_;
  o.num_samples = particles_->value();
  o.nfe.clear();
  for (const QString& part : nfe_->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
    bool ok = false;
    const int n = part.trimmed().toInt(&ok);
    if (!ok) {
      *problem = tr("NFE: '%1' is not a whole number").arg(part.trimmed());
      return o;
    }
    o.nfe.push_back(n);
  }
  *problem = QString::fromStdString(o.Check());
  return o;
}

void SamplerAccuracyDialog::measure() {
  if (running()) return;
  QString problem;
  const SamplerErrorOptions o = options(&problem);
  if (!problem.isEmpty()) {
    status_->setText(problem);
    return;
  }
  samplers_ = o.samplers;
  progress_->setRange(0, 1000);  // thousandths, as ConnectStudyTask reports
  progress_->setValue(0);
  status_->setText(tr("Measuring..."));
  task_->start([o](const ProgressFn& progress, const StopFn& stop) -> std::any {
    // The law MakeEightGaussians draws: centres on the circle of radius sqrt(2), noise 0.1.
    return MeasureSamplerError(GaussianMixture::EightGaussians(std::sqrt(2.0), 0.1), o, progress, stop);
  });
}

void SamplerAccuracyDialog::showReport() {
  const SamplerErrorReport& r = *report_;
  table_->setRowCount(static_cast<int>(r.rows.size()));
  for (int i = 0; i < static_cast<int>(r.rows.size()); ++i) {
    const SamplerErrorRow& row = r.rows[i];
    const QStringList cells = {SamplerLabel(row.sampler),
                               QString::number(row.steps),
                               QString::number(row.nfe),
                               row.stochastic ? tr("(stochastic)") : Figure(row.endpoint_rms),
                               row.stochastic ? QStringLiteral("-") : Figure(row.endpoint_median),
                               Figure(row.energy_distance)};
    for (int c = 0; c < cells.size(); ++c) table_->setItem(i, c, new QTableWidgetItem(cells[c]));
  }
  // Observed orders of the deterministic samplers.
  std::map<SamplerKind, std::pair<std::vector<int>, std::vector<double>>> series;
  for (const SamplerErrorRow& row : r.rows)
    if (!row.stochastic) {
      series[row.sampler].first.push_back(row.nfe);
      series[row.sampler].second.push_back(row.endpoint_rms);
    }
  QStringList orders;
  for (SamplerKind kind : samplers_)
    if (auto it = series.find(kind); it != series.end())
      orders << QStringLiteral("%1 %2").arg(SamplerLabel(kind),
                                            Figure(FittedOrder(it->second.first, it->second.second)));
  status_->setText(tr("Reference: %1 Dormand-Prince steps at tolerance %2; a 1000x looser solve differs by %3 RMS. "
                      "Energy distance of the exact endpoint (the floor): %4.\nFitted order (slope of log error vs "
                      "log NFE): %5.")
                       .arg(r.reference_steps)
                       .arg(r.reference_tolerance, 0, 'g', 2)
                       .arg(r.reference_check, 0, 'g', 2)
                       .arg(r.reference_energy_distance, 0, 'g', 2)
                       .arg(orders.join(QStringLiteral(", "))));
  plot();
}

void SamplerAccuracyDialog::plot() {
  chart_->removeAllSeries();
  for (QAbstractAxis* axis : chart_->axes()) {
    chart_->removeAxis(axis);
    delete axis;
  }
  if (!report_) return;
  const bool energy = quantity_->currentIndex() == 1;
  auto* x_axis = new QLogValueAxis;
  x_axis->setTitleText(tr("network evaluations (NFE)"));
  x_axis->setLabelFormat(QStringLiteral("%g"));
  x_axis->setBase(10);
  x_axis->setMinorTickCount(-1);
  // The endpoint error on a log axis (its slope is the order); the energy distance on a linear one: the unbiased
  // estimate fluctuates about its floor by ~1/particles and is often <= 0 there, which a log axis cannot show.
  QAbstractAxis* y_axis = nullptr;
  if (energy) {
    auto* axis = new QValueAxis;
    axis->setTitleText(tr("energy distance to the law"));
    axis->setLabelFormat(QStringLiteral("%.3f"));
    y_axis = axis;
  } else {
    auto* axis = new QLogValueAxis;
    axis->setTitleText(tr("endpoint RMS error vs the exact ODE"));
    axis->setLabelFormat(QStringLiteral("%.0e"));
    axis->setBase(10);
    axis->setMinorTickCount(-1);
    y_axis = axis;
  }
  chart_->addAxis(x_axis, Qt::AlignBottom);
  chart_->addAxis(y_axis, Qt::AlignLeft);
  std::vector<double> values;
  double nfe_lo = INFINITY, nfe_hi = 0;
  for (SamplerKind kind : samplers_) {
    auto* line = new QLineSeries;
    line->setName(SamplerLabel(kind));
    QPen pen(SamplerColor(kind));
    pen.setWidthF(2.0);
    line->setPen(pen);
    line->setPointsVisible(true);
    for (const SamplerErrorRow& row : report_->rows) {
      if (row.sampler != kind || (!energy && row.stochastic)) continue;
      const double v = energy ? row.energy_distance : row.endpoint_rms;
      if (!std::isfinite(v) || (!energy && !(v > 0.0))) continue;
      line->append(row.nfe, v);
      values.push_back(v);
      nfe_lo = std::min<double>(nfe_lo, row.nfe), nfe_hi = std::max<double>(nfe_hi, row.nfe);
    }
    if (line->count() == 0) {
      delete line;
      continue;
    }
    chart_->addSeries(line);
    line->attachAxis(x_axis);
    line->attachAxis(y_axis);
  }
  chart_->setTitle(energy ? tr("Energy distance against network evaluations")
                          : tr("Endpoint error against network evaluations"));
  if (values.empty()) return;
  x_axis->setRange(nfe_lo / 1.3, nfe_hi * 1.3);
  const double lo = *std::min_element(values.begin(), values.end());
  const double hi = *std::max_element(values.begin(), values.end());
  if (!energy) {
    y_axis->setRange(lo / 2, hi * 2);
    return;
  }
  // The floor: the exact endpoint's own energy distance to the same points of the law.
  const double floor_value = report_->reference_energy_distance;
  auto* floor = new QLineSeries;
  floor->setName(tr("exact ODE endpoint"));
  QPen pen(Qt::black);
  pen.setStyle(Qt::DashLine);
  floor->setPen(pen);
  floor->append(nfe_lo / 1.3, floor_value);
  floor->append(nfe_hi * 1.3, floor_value);
  chart_->addSeries(floor);
  floor->attachAxis(x_axis);
  floor->attachAxis(y_axis);
  // A few very coarse runs (Heun at 5 NFE) would flatten everything else: cap the axis and say so.
  const double cap = 0.1, bottom = std::min(lo, floor_value);
  const double top = std::min(hi, std::max(cap, 2 * std::abs(floor_value)));
  const double margin = 0.05 * (top - bottom);
  y_axis->setRange(bottom - margin, top + margin);
  if (hi > top)
    chart_->setTitle(tr("Energy distance against network evaluations (values above %1 are off the chart)").arg(top));
}

}  // namespace diffuscope::ui

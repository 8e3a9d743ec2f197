#include "ui/widgets/compare_dialog.h"

#include "core/data/points2d.h"
#include "ui/state/jobs.h"
#include "ui/widgets/scatter_view.h"
#include "ui/widgets/study_widgets.h"

#include <QChart>
#include <QComboBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QStackedWidget>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

namespace diffuscope::ui {
namespace {

QString Figure(double v, int digits = 4) {
  return std::isnan(v) ? QStringLiteral("-") : QString::number(v, 'g', digits);
}

QString Name(SamplerKind kind) {
  const std::string_view name = SamplerKindName(kind);
  return QString::fromUtf8(name.data(), static_cast<qsizetype>(name.size()));
}

std::vector<std::vector<QPointF>> ToPolylines(const std::vector<Batch>& states) {
  std::vector<std::vector<QPointF>> paths;
  if (states.empty()) return paths;
  paths.resize(states.front().rows());
  for (const Batch& state : states)
    for (Eigen::Index i = 0; i < state.rows(); ++i) paths[i].emplace_back(state(i, 0), state(i, 1));
  return paths;
}

// The square that holds the data and every path (a little margin), for both panels alike.
void FitView(const Batch& data, const std::vector<const std::vector<Batch>*>& runs, ScatterView* a, ScatterView* b) {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  auto take = [&](const Batch& m) {
    for (Eigen::Index i = 0; i < m.rows(); ++i) {
      x0 = std::min<double>(x0, m(i, 0)), x1 = std::max<double>(x1, m(i, 0));
      y0 = std::min<double>(y0, m(i, 1)), y1 = std::max<double>(y1, m(i, 1));
    }
  };
  take(data);
  for (const auto* states : runs)
    for (const Batch& state : *states) take(state);
  if (!(x1 > x0 && y1 > y0)) return;
  const QPointF centre(0.5 * (x0 + x1), 0.5 * (y0 + y1));
  const double half = 0.55 * std::max(x1 - x0, y1 - y0);
  a->setView(centre, half);
  b->setView(centre, half);
}

QLineSeries* Line(const QString& name, const QColor& colour, Qt::PenStyle style = Qt::SolidLine) {
  auto* line = new QLineSeries;
  line->setName(name);
  QPen pen(colour);
  pen.setWidthF(2.0);
  pen.setStyle(style);
  line->setPen(pen);
  return line;
}

const QColor kOdeColour("#1f77b4"), kSdeColour("#d62728"), kGapColour("#2ca02c");

}  // namespace

CompareDialog::CompareDialog(WorkspaceModel model, QWidget* parent)
    : QDialog(parent), model_(std::move(model)), task_(new BackgroundTask(this)) {
  setWindowTitle(tr("Compare sampling paths"));
  auto* layout = new QVBoxLayout(this);
  auto* form = new QFormLayout;
  mode_ = new QComboBox(this);
  mode_->addItem(tr("Probability-flow ODE against the reverse SDE (this workspace's model, one x_T)"));
  mode_->addItem(tr("Flow matching against a DDPM (trained here: same data, budget and noise)"));
  form->addRow(tr("Compare"), mode_);
  layout->addLayout(form);

  settings_ = new QStackedWidget(this);
  auto* ode_page = new QWidget(settings_);
  auto* ode_form = new QFormLayout(ode_page);
  ode_form->setContentsMargins(0, 0, 0, 0);
  const int T = model_.schedule ? model_.schedule->num_steps() : 1000;
  ode_form->addRow(
      tr("Model"),
      new QLabel(model_.name.isEmpty() ? tr("(no points in the 2D workspace)")
                                       : tr("%1, on the workspace's schedule (T = %2)").arg(model_.label).arg(T),
                 ode_page));
  steps_ = new QSpinBox(ode_page);
  steps_->setRange(0, 100000);
  steps_->setSpecialValueText(tr("every step"));
  steps_->setValue(0);
  steps_->setToolTip(
      tr("Steps K of both runs (0 = every step of the schedule). Euler-Maruyama needs small steps: "
         "few large ones make the SDE overshoot"));
  ode_form->addRow(tr("Steps"), steps_);
  particles_ = new QSpinBox(ode_page);
  particles_->setRange(2, 100000);
  particles_->setValue(2000);
  particles_->setToolTip(tr("Particles of both runs, all from one x_T ~ N(0, I); the first 12 are drawn"));
  ode_form->addRow(tr("Particles"), particles_);
  settings_->addWidget(ode_page);

  auto* flow_page = new QWidget(settings_);
  auto* flow_form = new QFormLayout(flow_page);
  flow_form->setContentsMargins(0, 0, 0, 0);
  flow_data_ = new QComboBox(flow_page);
  for (const std::string& name : DatasetNames()) flow_data_->addItem(QString::fromStdString(name));
  const std::string own = model_.BuiltInData();
  flow_data_->setCurrentText(QString::fromStdString(own.empty() ? "8gaussians" : own));
  flow_data_->setToolTip(
      tr("Both models train on 20,000 draws of this set; their samples are compared with fresh "
         "draws (on 8gaussians also the exact field's rows)"));
  flow_form->addRow(tr("Data"), flow_data_);
  iterations_ = new QSpinBox(flow_page);
  iterations_->setRange(1, 10'000'000);
  iterations_->setValue(5000);
  iterations_->setToolTip(tr("Updates of each training: the same budget for both"));
  flow_form->addRow(tr("Updates"), iterations_);
  batch_ = new QSpinBox(flow_page);
  batch_->setRange(1, 65536);
  batch_->setValue(128);
  flow_form->addRow(tr("Batch"), batch_);
  step_list_ = new QLineEdit(QStringLiteral("1, 2, 4, 8, 16, 32"), flow_page);
  step_list_->setToolTip(tr("Sampling step counts of every sampler"));
  flow_form->addRow(tr("Steps"), step_list_);
  samples_ = new QSpinBox(flow_page);
  samples_->setRange(2, 200000);
  samples_->setValue(2000);
  samples_->setToolTip(tr("Samples per run, from the same noise, and as many held-out points"));
  flow_form->addRow(tr("Samples"), samples_);
  path_steps_ = new QComboBox(flow_page);
  path_steps_->setToolTip(tr("The step count whose paths the panels draw"));
  flow_form->addRow(tr("Paths at"), path_steps_);
  settings_->addWidget(flow_page);
  layout->addWidget(settings_);

  auto* panels = new QGridLayout;
  left_title_ = new QLabel(this);
  right_title_ = new QLabel(this);
  left_ = new ScatterView(this);
  right_ = new ScatterView(this);
  for (ScatterView* view : {left_, right_}) view->setMinimumSize(300, 300);
  panels->addWidget(left_title_, 0, 0);
  panels->addWidget(right_title_, 0, 1);
  panels->addWidget(left_, 1, 0);
  panels->addWidget(right_, 1, 1);
  layout->addLayout(panels, 2);

  const StudyWidgets w = AddStudyWidgets(this, layout, QString(), Qt::AlignRight, {});
  measure_ = w.measure;
  cancel_ = w.cancel;
  progress_ = w.progress;
  chart_ = w.chart;
  status_ = w.status;
  table_ = w.table;
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setMinimumHeight(130);
  layout->addWidget(table_);

  connect(mode_, &QComboBox::currentIndexChanged, this, &CompareDialog::onModeChanged);
  connect(path_steps_, &QComboBox::currentIndexChanged, this, &CompareDialog::showFlowPaths);
  connect(measure_, &QPushButton::clicked, this, &CompareDialog::measure);
  connect(cancel_, &QPushButton::clicked, this, &CompareDialog::cancel);
  connect(task_, &BackgroundTask::runningChanged, this, [this](bool running) { mode_->setEnabled(!running); });
  ConnectStudyTask(this, task_, w, [this](std::any result) {
    if (auto* c = std::any_cast<OdeSdeComparison>(&result)) {
      ode_sde_ = std::move(*c);
      showOdeSde();
    } else if (auto* f = std::any_cast<FlowDdpmStudy>(&result)) {
      flow_ = std::move(*f);
      showFlow();
    }
  });
  onModeChanged();
  resize(900, 1000);
}

CompareDialog::~CompareDialog() = default;  // task_ (a child) cancels and waits

CompareDialog::Mode CompareDialog::mode() const { return static_cast<Mode>(mode_->currentIndex()); }

void CompareDialog::setMode(Mode mode) { mode_->setCurrentIndex(static_cast<int>(mode)); }

bool CompareDialog::running() const { return task_->running(); }

void CompareDialog::cancel() { task_->cancel(); }

void CompareDialog::onModeChanged() {
  settings_->setCurrentIndex(mode_->currentIndex());
  // The stack takes the height of the page shown, not of its tallest page.
  for (int i = 0; i < settings_->count(); ++i)
    settings_->widget(i)->setSizePolicy(QSizePolicy::Preferred,
                                        i == settings_->currentIndex() ? QSizePolicy::Maximum : QSizePolicy::Ignored);
  settings_->adjustSize();
  clearChart();
  table_->setRowCount(0);
  left_->setTrajectories({});
  right_->setTrajectories({});
  left_->setParticles(Batch());
  right_->setParticles(Batch());
  if (mode() == Mode::kOdeSde) {
    table_->setColumnCount(6);
    table_->setHorizontalHeaderLabels(
        {tr("Run"), tr("Sampler"), tr("Steps"), tr("NFE"), tr("Energy distance"), tr("Path length / chord")});
    left_title_->setText(tr("Probability-flow ODE"));
    right_title_->setText(tr("Reverse SDE"));
    chart_->setTitle(tr("The two runs along t"));
    if (model_.data) {
      left_->setBackground(model_.data->points);
      right_->setBackground(model_.data->points);
    }
    if (ode_sde_) showOdeSde();
  } else {
    table_->setColumnCount(6);
    table_->setHorizontalHeaderLabels(
        {tr("Model"), tr("Solver"), tr("Steps"), tr("NFE"), tr("Energy distance"), tr("Path length / chord")});
    left_title_->setText(tr("Flow matching"));
    right_title_->setText(tr("DDPM (DDIM, eta 0)"));
    chart_->setTitle(tr("Energy distance against sampling steps"));
    left_->setBackground(Batch());
    right_->setBackground(Batch());
    if (flow_) showFlow();
  }
  status_->setText(tr("Press Measure."));
}

OdeSdeOptions CompareDialog::odeSdeOptions(QString* problem) const {
  OdeSdeOptions o;
  o.num_steps = steps_->value();
  o.particles = particles_->value();
  o.traced = std::min(12, o.particles);
  o.seed = model_.seed;
  *problem = QString::fromStdString(o.Check());
  return o;
}

FlowDdpmStudyOptions CompareDialog::flowOptions(QString* problem) const {
  FlowDdpmStudyOptions o;
  o.data = flow_data_->currentText().toStdString();
  o.iterations = iterations_->value();
  o.batch = batch_->value();
  o.comparison.particles = samples_->value();
  o.comparison.seed = model_.seed;
  o.comparison.traced = std::min(12, o.comparison.particles);
  o.comparison.step_counts.clear();
  for (const QString& part : step_list_->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
    bool ok = false;
    const int k = part.trimmed().toInt(&ok);
    if (!ok) {
      *problem = tr("Steps: '%1' is not a whole number").arg(part.trimmed());
      return o;
    }
    o.comparison.step_counts.push_back(k);
  }
  *problem = QString::fromStdString(o.Check());
  return o;
}

void CompareDialog::measure() {
  if (running()) return;
  QString problem;
  note_.clear();
  if (mode() == Mode::kOdeSde) {
    const OdeSdeOptions o = odeSdeOptions(&problem);
    if (problem.isEmpty() && model_.name.isEmpty()) problem = tr("There are no points in the 2D workspace.");
    if (!problem.isEmpty()) {
      status_->setText(problem);
      return;
    }
    status_->setText(tr("Measuring..."));
    task_->start([model = model_, o](const ProgressFn& progress, const StopFn& stop) -> std::any {
      WorkspaceModel::Made made = model.Make(true);
      // A class-guided run is compared with its class's points when the data know their classes.
      Batch reference = model.data->points;
      const std::vector<int>& labels = model.data->labels;
      if (model.run.label >= 0 && labels.size() == static_cast<size_t>(reference.rows())) {
        std::vector<Eigen::Index> rows;
        for (size_t i = 0; i < labels.size(); ++i)
          if (labels[i] == model.run.label) rows.push_back(static_cast<Eigen::Index>(i));
        if (rows.size() >= 2) reference = model.data->points(rows, Eigen::all);
      }
      return CompareOdeAndSde(*model.schedule, *made.denoiser, made.space, reference, o, progress, stop);
    });
  } else {
    const FlowDdpmStudyOptions o = flowOptions(&problem);
    if (!problem.isEmpty()) {
      status_->setText(problem);
      return;
    }
    status_->setText(tr("Training..."));
    task_->start([o](const ProgressFn& progress, const StopFn& stop) -> std::any {
      Flow2dModel flow;
      Ddpm2dModel ddpm;
      return RunFlowDdpmStudy(o, flow, ddpm, progress, stop);  // diffuscope-cli compare-flow's call
    });
  }
}

void CompareDialog::clearChart() {
  chart_->removeAllSeries();
  for (QAbstractAxis* axis : chart_->axes()) {
    chart_->removeAxis(axis);
    delete axis;
  }
}

void CompareDialog::showOdeSde() {
  if (mode() != Mode::kOdeSde || !ode_sde_) return;
  const OdeSdeComparison& c = *ode_sde_;
  note_ = QString::fromStdString(c.note);
  // Panels: the traced particles' paths over the data, their endpoints.
  left_->setTrajectories(ToPolylines(c.ode.paths));
  right_->setTrajectories(ToPolylines(c.sde.paths));
  left_->setParticles(c.ode.paths.empty() ? Batch() : c.ode.paths.back());
  right_->setParticles(c.sde.paths.empty() ? Batch() : c.sde.paths.back());
  left_title_->setText(tr("Probability-flow ODE (%1): %2 paths")
                           .arg(Name(c.ode.sampler))
                           .arg(c.ode.paths.empty() ? 0 : c.ode.paths.front().rows()));
  right_title_->setText(tr("Reverse SDE (%1): the same x_T").arg(Name(c.sde.sampler)));
  FitView(model_.data ? model_.data->points : Batch(), {&c.ode.paths, &c.sde.paths}, left_, right_);

  // Table: the two runs and the fitted Gaussian.
  table_->setRowCount(3);
  const QStringList ode = {tr("probability-flow ODE"), Name(c.ode.sampler),           QString::number(c.ode.steps),
                           QString::number(c.ode.nfe), Figure(c.ode.energy_distance), Figure(c.ode.straightness)};
  const QStringList sde = {tr("reverse SDE"),          Name(c.sde.sampler),           QString::number(c.sde.steps),
                           QString::number(c.sde.nfe), Figure(c.sde.energy_distance), Figure(c.sde.straightness)};
  const QStringList gauss = {
      tr("Gaussian fitted to the data"), QStringLiteral("-"), QStringLiteral("-"), QStringLiteral("-"),
      Figure(c.gaussian_baseline),       QStringLiteral("-")};
  for (int r = 0; r < 3; ++r) {
    const QStringList& cells = r == 0 ? ode : r == 1 ? sde : gauss;
    for (int col = 0; col < cells.size(); ++col) table_->setItem(r, col, new QTableWidgetItem(cells[col]));
  }

  // Chart along t (T on the left, the data on the right): both runs' spread (the same marginals) and the distance
  // between paired particles (different paths).
  clearChart();
  auto* x_axis = new QValueAxis;
  x_axis->setTitleText(tr("t"));
  x_axis->setLabelFormat(QStringLiteral("%d"));
  x_axis->setReverse(true);
  auto* y_axis = new QValueAxis;
  y_axis->setTitleText(tr("data units"));
  chart_->addAxis(x_axis, Qt::AlignBottom);
  chart_->addAxis(y_axis, Qt::AlignLeft);
  QLineSeries* ode_spread = Line(tr("ODE: spread of the particles"), kOdeColour);
  QLineSeries* sde_spread = Line(tr("SDE: spread of the particles"), kSdeColour, Qt::DashLine);
  QLineSeries* gap = Line(tr("distance between paired particles"), kGapColour);
  double top = 0;
  for (size_t k = 0; k < c.ode.t.size(); ++k) {
    ode_spread->append(c.ode.t[k], c.ode.spread[k]);
    sde_spread->append(c.sde.t[k], c.sde.spread[k]);
    gap->append(c.ode.t[k], c.gap[k]);
    top = std::max({top, c.ode.spread[k], c.sde.spread[k], c.gap[k]});
  }
  for (QLineSeries* line : {ode_spread, sde_spread, gap}) {
    chart_->addSeries(line);
    line->attachAxis(x_axis);
    line->attachAxis(y_axis);
  }
  x_axis->setRange(0, c.ode.t.empty() ? 1 : c.ode.t.front());
  y_axis->setRange(0, 1.05 * top);
  chart_->setTitle(tr("The two runs along t: the same spread, paired particles apart"));
  status_->setText(tr("ODE path length / chord %1, SDE %2 (%3x); energy distance to the data: ODE %4, SDE %5 "
                      "(a fitted Gaussian %6).%7")
                       .arg(Figure(c.ode.straightness, 3))
                       .arg(Figure(c.sde.straightness, 3))
                       .arg(Figure(c.sde.straightness / c.ode.straightness, 3))
                       .arg(Figure(c.ode.energy_distance, 3))
                       .arg(Figure(c.sde.energy_distance, 3))
                       .arg(Figure(c.gaussian_baseline, 3))
                       .arg(note_.isEmpty() ? QString() : QStringLiteral("\n") + note_));
}

void CompareDialog::showFlow() {
  if (mode() != Mode::kFlowDdpm || !flow_) return;
  const FlowDdpmStudy& s = *flow_;
  table_->setRowCount(static_cast<int>(s.rows.size()));
  for (int r = 0; r < static_cast<int>(s.rows.size()); ++r) {
    const FlowComparisonRow& row = s.rows[r];
    const QStringList cells = {QString::fromStdString(row.model),
                               QString::fromStdString(row.sampler),
                               QString::number(row.steps),
                               QString::number(row.evaluations),
                               QString::number(row.energy_distance, 'f', 5),
                               QString::number(row.straightness, 'f', 4)};
    for (int col = 0; col < cells.size(); ++col) table_->setItem(r, col, new QTableWidgetItem(cells[col]));
  }
  {
    const QSignalBlocker block(path_steps_);
    const QString current = path_steps_->currentText();
    path_steps_->clear();
    for (const FlowComparisonRow& row : s.rows)
      if (row.model == "flow" && row.sampler == "euler") path_steps_->addItem(QString::number(row.steps), row.steps);
    const int keep = path_steps_->findText(current);
    path_steps_->setCurrentIndex(keep >= 0 ? keep : path_steps_->count() - 1);
  }
  showFlowPaths();

  // Energy distance against steps, log-log; the exact field's rows dashed. Values <= 0 (the unbiased estimate at
  // its noise floor) have no place on a log axis and stay in the table only.
  clearChart();
  auto* x_axis = new QLogValueAxis;
  x_axis->setTitleText(tr("sampling steps"));
  x_axis->setLabelFormat(QStringLiteral("%g"));
  x_axis->setBase(2);
  auto* y_axis = new QLogValueAxis;
  y_axis->setTitleText(tr("energy distance to held-out data"));
  y_axis->setLabelFormat(QStringLiteral("%.0e"));
  y_axis->setBase(10);
  y_axis->setMinorTickCount(-1);
  chart_->addAxis(x_axis, Qt::AlignBottom);
  chart_->addAxis(y_axis, Qt::AlignLeft);
  struct Curve {
    const char* model;
    const char* sampler;
    QString name;
    QColor colour;
    Qt::PenStyle style;
  };
  const Curve curves[] = {{"flow", "euler", tr("flow, Euler"), QColor("#1f77b4"), Qt::SolidLine},
                          {"flow", "heun", tr("flow, Heun"), QColor("#2ca02c"), Qt::SolidLine},
                          {"ddpm", "ddim", tr("DDPM, DDIM"), QColor("#d62728"), Qt::SolidLine},
                          {"exact", "euler", tr("exact field, Euler"), QColor("#1f77b4"), Qt::DotLine},
                          {"exact", "heun", tr("exact field, Heun"), QColor("#2ca02c"), Qt::DotLine},
                          {"exact", "ddim", tr("exact field, DDIM"), QColor("#d62728"), Qt::DotLine}};
  double lo = INFINITY, hi = 0, k_lo = INFINITY, k_hi = 0;
  for (const Curve& curve : curves) {
    QLineSeries* line = Line(curve.name, curve.colour, curve.style);
    line->setPointsVisible(true);
    for (const FlowComparisonRow& row : s.rows) {
      if (row.model != curve.model || row.sampler != curve.sampler || !(row.energy_distance > 0.0)) continue;
      line->append(row.steps, row.energy_distance);
      lo = std::min(lo, row.energy_distance), hi = std::max(hi, row.energy_distance);
      k_lo = std::min<double>(k_lo, row.steps), k_hi = std::max<double>(k_hi, row.steps);
    }
    if (line->count() == 0) {
      delete line;
      continue;
    }
    chart_->addSeries(line);
    line->attachAxis(x_axis);
    line->attachAxis(y_axis);
  }
  if (hi > 0) {
    x_axis->setRange(k_lo / 1.4, k_hi * 1.4);
    y_axis->setRange(lo / 2, hi * 2);
  }
  chart_->setTitle(tr("Energy distance against sampling steps (%1, %2 updates each)")
                       .arg(flow_data_->currentText())
                       .arg(s.flow_training.steps));
  status_->setText(tr("Flow-matching and DDPM models trained on the same data with %1 updates each (final losses: "
                      "flow %2 on v, DDPM %3 on eps), sampled from the same noise; a fitted Gaussian scores %4. "
                      "diffuscope-cli compare-flow prints these rows.")
                       .arg(s.flow_training.steps)
                       .arg(Figure(s.flow_training.final_loss_ema, 3))
                       .arg(Figure(s.ddpm_training.final_loss_ema, 3))
                       .arg(Figure(s.gaussian_baseline, 3)));
}

void CompareDialog::showFlowPaths() {
  if (mode() != Mode::kFlowDdpm || !flow_) return;
  const int K = path_steps_->currentData().toInt();
  // Rows come per step count: flow Euler, flow Heun, then the DDPM's DDIM (steps capped at its T).
  const FlowComparisonRow* flow = nullptr;
  const FlowComparisonRow* ddpm = nullptr;
  const std::vector<FlowComparisonRow>& rows = flow_->rows;
  for (size_t i = 0; i + 2 < rows.size(); ++i)
    if (rows[i].model == "flow" && rows[i].sampler == "euler" && rows[i].steps == K && rows[i + 2].model == "ddpm") {
      flow = &rows[i];
      ddpm = &rows[i + 2];
      break;
    }
  left_->setBackground(flow_->reference);
  right_->setBackground(flow_->reference);
  left_->setTrajectories(flow ? ToPolylines(flow->paths) : std::vector<std::vector<QPointF>>{});
  right_->setTrajectories(ddpm ? ToPolylines(ddpm->paths) : std::vector<std::vector<QPointF>>{});
  left_->setParticles(flow && !flow->paths.empty() ? flow->paths.back() : Batch());
  right_->setParticles(ddpm && !ddpm->paths.empty() ? ddpm->paths.back() : Batch());
  left_title_->setText(
      flow ? tr("Flow matching, Euler, %1 steps: path length / chord %2").arg(K).arg(Figure(flow->straightness, 3))
           : tr("Flow matching"));
  right_title_->setText(ddpm ? tr("DDPM, DDIM (eta 0), %1 steps: path length / chord %2")
                                   .arg(ddpm->steps)
                                   .arg(Figure(ddpm->straightness, 3))
                             : tr("DDPM (DDIM, eta 0)"));
  std::vector<Batch> none;
  FitView(flow_->reference, {flow ? &flow->paths : &none, ddpm ? &ddpm->paths : &none}, left_, right_);
}

}  // namespace diffuscope::ui

#include "ui/widgets/likelihood_dialog.h"

#include "ui/state/jobs.h"
#include "ui/widgets/study_widgets.h"

#include <QChart>
#include <QFormLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineSeries>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace diffuscope::ui {

LikelihoodPoints WorkspaceLikelihoodPoints(const WorkspaceModel& model, int n, uint64_t seed) {
  Require(model.data != nullptr && model.data->points.rows() >= 3,
          "there are no points in the 2D workspace: choose or draw a point set first");
  LikelihoodPoints p;
  const std::string data = model.BuiltInData();
  if (!data.empty()) {
    p.held_out = LikelihoodHeldOut(data, n, seed);
    p.fit = LikelihoodFitPoints(data, seed);
    p.mixture_law = CanonicalDatasetName(data) == "8gaussians";
    p.fresh = true;
  } else {
    // Drawn points or a file: no law to draw fresh points from; they are scored on themselves.
    p.fit = model.data->points;
    p.held_out = model.data->points.topRows(std::min<Eigen::Index>(n, model.data->points.rows()));
  }
  return p;
}

LikelihoodDialog::LikelihoodDialog(WorkspaceModel model, QWidget* parent)
    : QDialog(parent), model_(std::move(model)), task_(new BackgroundTask(this)) {
  setWindowTitle(tr("Likelihood"));
  auto* layout = new QVBoxLayout(this);
  auto* intro = new QLabel(
      tr("The negative log-likelihood of held-out points (nats per point, in the data's units) through the "
         "probability-flow ODE (Song et al. 2021), with the exact 2 x 2 divergence: in closed form for the exact "
         "mixture, by central differences for a learned model. Sohl-Dickstein's model has no ODE: its variational "
         "bound. Beside them the exact density of the 8gaussians mixture and a Gaussian fitted to the data."),
      this);
  intro->setWordWrap(true);
  layout->addWidget(intro);
  auto* form = new QFormLayout;
  form->addRow(tr("Model"),
               new QLabel(model_.name.isEmpty() ? tr("(no points in the 2D workspace)") : model_.label, this));
  const std::string data_set = model_.BuiltInData();
  form->addRow(tr("Data"),
               new QLabel(data_set.empty()
                              ? tr("the workspace's own points (drawn or from a file: no fresh draws)")
                              : tr("fresh draws of %1 (never the training draw)").arg(QString::fromStdString(data_set)),
                          this));
  points_ = new QSpinBox(this);
  points_->setRange(2, 100000);
  points_->setValue(1000);
  points_->setToolTip(tr("Held-out points scored"));
  form->addRow(tr("Points"), points_);
  seed_ = new QSpinBox(this);
  seed_->setRange(0, 1'000'000);
  seed_->setValue(static_cast<int>(std::min<uint64_t>(model_.seed, 1'000'000)));
  seed_->setToolTip(tr("Seed of the held-out draws (diffuscope-cli likelihood --seed)"));
  form->addRow(tr("Seed"), seed_);
  layout->addLayout(form);

  const StudyWidgets w = AddStudyWidgets(this, layout, tr("log p of each held-out point"), Qt::AlignBottom,
                                         {tr("Method"), tr("NLL (nats / point)"), tr("+-"), tr("NFE / point")});
  measure_ = w.measure;
  cancel_ = w.cancel;
  progress_ = w.progress;
  chart_ = w.chart;
  status_ = w.status;
  table_ = w.table;
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setMinimumHeight(130);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);  // the method's name
  layout->addWidget(table_);

  connect(measure_, &QPushButton::clicked, this, &LikelihoodDialog::measure);
  connect(cancel_, &QPushButton::clicked, this, &LikelihoodDialog::cancel);
  ConnectStudyTask(this, task_, w, [this](std::any result) {
    result_ = std::any_cast<ModelLikelihood>(std::move(result));
    showResult();
  });
  resize(820, 760);
}

LikelihoodDialog::~LikelihoodDialog() = default;  // task_ (a child) cancels and waits

bool LikelihoodDialog::running() const { return task_->running(); }

void LikelihoodDialog::cancel() { task_->cancel(); }

void LikelihoodDialog::measure() {
  if (running()) return;
  if (model_.name.isEmpty()) {
    status_->setText(tr("There are no points in the 2D workspace: choose or draw a point set first."));
    return;
  }
  const int n = points_->value();
  const uint64_t seed = static_cast<uint64_t>(seed_->value());
  fresh_ = !model_.BuiltInData().empty();
  progress_->setRange(0, 1000);
  progress_->setValue(0);
  status_->setText(tr("Measuring..."));
  task_->start([model = model_, n, seed](const ProgressFn& progress, const StopFn& stop) -> std::any {
    // The unguided model: the likelihood of the data's law, not of one class.
    WorkspaceModel::Made made = model.Make(false);
    const LikelihoodPoints points = WorkspaceLikelihoodPoints(model, n, seed);
    std::optional<NoiseSchedule> schedule;
    ModelLikelihoodInput input;
    input.model = made.denoiser.get();
    // A learned model's ODE ends at its own alpha_bar_T (the exact mixture's where diffuscope-cli ends it).
    if (made.own_schedule) input.schedule = &schedule.emplace(*made.own_schedule);
    input.normalization = made.space;
    input.held_out = points.held_out;
    input.fit = points.fit;
    input.mixture_law = points.mixture_law;
    ModelLikelihoodOptions options;
    options.seed = seed;
    return MeasureModelLikelihood(input, options, progress, stop);
  });
}

void LikelihoodDialog::showResult() {
  const ModelLikelihood& r = *result_;
  table_->setRowCount(static_cast<int>(r.lines.size()));
  for (int i = 0; i < static_cast<int>(r.lines.size()); ++i) {
    const LikelihoodLine& line = r.lines[i];
    const QStringList cells = {
        QString::fromStdString(line.method), QString::number(line.nll, 'f', 4),
        line.standard_error >= 0 ? QString::number(line.standard_error, 'f', 4) : QStringLiteral("-"),
        line.nfe >= 0 ? QString::number(line.nfe) : QStringLiteral("-")};
    for (int c = 0; c < cells.size(); ++c) table_->setItem(i, c, new QTableWidgetItem(cells[c]));
  }
  // log p per point, the points sorted by the reference (the exact density when known, else the ODE's, else the
  // Gaussian's): where the curves part, the model is off.
  chart_->removeAllSeries();
  for (QAbstractAxis* axis : chart_->axes()) {
    chart_->removeAxis(axis);
    delete axis;
  }
  const Eigen::VectorXd* order_by = r.exact_log_p.size() > 0 ? &r.exact_log_p
                                    : r.ode                  ? &r.ode->log_likelihood
                                                             : &r.gaussian_log_p;
  std::vector<int> order(order_by->size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return (*order_by)(a) < (*order_by)(b); });
  auto* x_axis = new QValueAxis;
  x_axis->setTitleText(
      tr("held-out points, sorted by %1").arg(r.exact_log_p.size() > 0 ? tr("their exact log p") : tr("log p")));
  x_axis->setLabelFormat(QStringLiteral("%d"));
  auto* y_axis = new QValueAxis;
  y_axis->setTitleText(tr("log p (nats)"));
  chart_->addAxis(x_axis, Qt::AlignBottom);
  chart_->addAxis(y_axis, Qt::AlignLeft);
  double lo = INFINITY, hi = -INFINITY;
  auto add = [&](const Eigen::VectorXd& v, const QString& name, const QColor& colour, qreal width, Qt::PenStyle style) {
    if (v.size() == 0) return;
    auto* line = new QLineSeries;
    line->setName(name);
    QPen pen(colour);
    pen.setWidthF(width);
    pen.setStyle(style);
    line->setPen(pen);
    for (size_t k = 0; k < order.size(); ++k) {
      line->append(static_cast<double>(k), v(order[k]));
      lo = std::min(lo, v(order[k])), hi = std::max(hi, v(order[k]));
    }
    chart_->addSeries(line);
    line->attachAxis(x_axis);
    line->attachAxis(y_axis);
  };
  // The exact density dashed over the ODE's: where they agree both show.
  add(r.gaussian_log_p, tr("fitted Gaussian"), QColor("#7f7f7f"), 1.5, Qt::SolidLine);
  if (r.ode) add(r.ode->log_likelihood, tr("probability-flow ODE"), QColor("#1f77b4"), 3.0, Qt::SolidLine);
  add(r.exact_log_p, tr("exact density"), QColor("#d62728"), 1.5, Qt::DashLine);
  x_axis->setRange(0, std::max<double>(1, order.size() - 1));
  if (hi > lo) {
    y_axis->setRange(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo));
    y_axis->applyNiceNumbers();
  }
  QString text = tr("%1 held-out points%2.")
                     .arg(order.size())
                     .arg(fresh_ ? QString()
                                 : tr(" (the workspace's own "
                                      "points: no fresh draws)"));
  if (r.ode)
    text += tr(" ODE: sigma 0 -> %1, %2 Dormand-Prince steps (%3 rejected), %4 network evaluations per point.")
                .arg(r.ode->sigma_T, 0, 'g', 4)
                .arg(r.ode->steps)
                .arg(r.ode->rejected)
                .arg(r.ode->nfe);
  status_->setText(text);
}

}  // namespace diffuscope::ui

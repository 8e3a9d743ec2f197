#include "ui/widgets/schedule_panel.h"

#include "ui/state/settings.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLegendMarker>
#include <QMouseEvent>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace diffuscope::ui {

namespace {

QLineSeries* MakeSeries(QChart* chart, const QString& name, const QColor& color, bool dashed) {
  auto* series = new QLineSeries(chart);
  series->setName(name);
  QPen pen(color);
  pen.setWidthF(dashed ? 1.5 : 2.0);
  if (dashed) pen.setStyle(Qt::DashLine);
  series->setPen(pen);
  chart->addSeries(series);
  return series;
}

// Built-in kinds offered in the menus (the custom kinds come from a file).
std::vector<ScheduleKind> MenuKinds() {
  return {ScheduleKind::kLinear, ScheduleKind::kScaledLinear, ScheduleKind::kCosine,       ScheduleKind::kSigmoid,
          ScheduleKind::kJsd,    ScheduleKind::kConst,        ScheduleKind::kSohlDickstein};
}

void FillKinds(QComboBox* box) {
  for (ScheduleKind kind : MenuKinds()) {
    box->addItem(QString::fromUtf8(ScheduleKindName(kind).data(), ScheduleKindName(kind).size()),
                 static_cast<int>(kind));
  }
}

}  // namespace

QStringList ScheduleWarnings(const NoiseSchedule& schedule) {
  QStringList warnings;
  const int T = schedule.num_steps();
  const double abar_T = schedule.alpha_bar(T);
  if (abar_T > kTerminalAlphaBarLimit) {
    warnings << QObject::tr(
                    "x_T is far from N(0, I): alpha_bar_T = %1, so %2 of the data's amplitude "
                    "survives at t = T. Sampling from pure noise starts from the wrong law; use more "
                    "steps, the cosine schedule, or zero terminal SNR.")
                    .arg(abar_T, 0, 'g', 3)
                    .arg(schedule.sqrt_alpha_bar(T), 0, 'g', 3);
  }
  const double first_noise = schedule.sqrt_one_minus_alpha_bar(1);
  if (first_noise > kFirstStepNoiseLimit) {
    warnings << QObject::tr(
                    "The first step is coarse: x_1 already carries noise of standard deviation %1 "
                    "(more than %2% of the pixel range), so fine detail is lost at t = 1. Use a "
                    "smaller beta_start or more steps.")
                    .arg(first_noise, 0, 'g', 3)
                    .arg(kFirstStepNoiseLimit * 50, 0, 'g', 3);
  }
  return warnings;
}

ScheduleChartView::ScheduleChartView(QChart* chart, QWidget* parent) : QChartView(chart, parent) {
  setRenderHint(QPainter::Antialiasing);
  setCursor(Qt::CrossCursor);
  setRubberBand(QChartView::NoRubberBand);
  setToolTip(tr("Click or drag to move t"));
}

QPoint ScheduleChartView::positionOf(double t, double y) const {
  const QPointF scene = chart()->mapToPosition(QPointF(t, y));
  return mapFromScene(chart()->mapToScene(scene));
}

void ScheduleChartView::pick(const QPointF& position) {
  const QPointF scene = mapToScene(position.toPoint());
  const QPointF in_chart = chart()->mapFromScene(scene);
  const QRectF area = chart()->plotArea().adjusted(-4, -4, 4, 4);
  if (!area.contains(in_chart)) return;
  const QPointF value = chart()->mapToValue(in_chart);
  emit tPicked(static_cast<int>(std::lround(value.x())));
}

void ScheduleChartView::mousePressEvent(QMouseEvent* event) {
  if (event->button() == Qt::LeftButton) {
    pick(event->position());
    event->accept();
    return;
  }
  QChartView::mousePressEvent(event);
}

void ScheduleChartView::mouseMoveEvent(QMouseEvent* event) {
  if (event->buttons() & Qt::LeftButton) {
    pick(event->position());
    event->accept();
    return;
  }
  QChartView::mouseMoveEvent(event);
}

SchedulePanel::SchedulePanel(Document* document, QWidget* parent) : QWidget(parent), document_(document) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);

  // Controls.
  auto* form = new QFormLayout;
  form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
  kind_box_ = new QComboBox(this);
  FillKinds(kind_box_);
  kind_box_->setToolTip(tr("Noise schedule kind: how beta_t grows with t"));
  auto* kind_row = new QHBoxLayout;
  kind_row->addWidget(kind_box_, 1);
  custom_button_ = new QPushButton(tr("Custom..."), this);
  custom_button_->setToolTip(tr("Load a custom schedule file: one beta (or alpha_bar) per line"));
  kind_row->addWidget(custom_button_);
  form->addRow(tr("Kind"), kind_row);

  auto* steps_row = new QHBoxLayout;
  steps_slider_ = new QSlider(Qt::Horizontal, this);
  steps_slider_->setRange(10, 4000);
  steps_slider_->setToolTip(tr("Number of diffusion steps T (drag: one undo step)"));
  steps_box_ = new QSpinBox(this);
  steps_box_->setRange(1, 100000);
  steps_box_->setKeyboardTracking(false);
  steps_box_->setToolTip(tr("Number of diffusion steps T"));
  steps_row->addWidget(steps_slider_, 1);
  steps_row->addWidget(steps_box_);
  form->addRow(tr("Steps T"), steps_row);

  auto* beta_row = new QHBoxLayout;
  beta_start_box_ = new QDoubleSpinBox(this);
  beta_start_box_->setDecimals(6);
  beta_start_box_->setRange(1e-6, 0.999);
  beta_start_box_->setSingleStep(1e-4);
  beta_start_box_->setKeyboardTracking(false);
  beta_start_box_->setToolTip(tr("beta_start (linear, scaled-linear, sigmoid)"));
  beta_end_box_ = new QDoubleSpinBox(this);
  beta_end_box_->setDecimals(6);
  beta_end_box_->setRange(1e-6, 0.999);
  beta_end_box_->setSingleStep(1e-3);
  beta_end_box_->setKeyboardTracking(false);
  beta_end_box_->setToolTip(tr("beta_end (linear, scaled-linear, sigmoid, const)"));
  beta_row->addWidget(beta_start_box_);
  beta_row->addWidget(new QLabel(QStringLiteral("..")));
  beta_row->addWidget(beta_end_box_);
  form->addRow(tr("Beta range"), beta_row);

  zero_snr_box_ = new QCheckBox(tr("Zero terminal SNR"), this);
  zero_snr_box_->setToolTip(tr("Rescale the betas so that alpha_bar_T = 0 exactly (Lin et al. 2024)"));
  form->addRow(QString(), zero_snr_box_);

  auto* compare_row = new QHBoxLayout;
  compare_box_ = new QCheckBox(tr("Compare"), this);
  compare_box_->setToolTip(tr("Overlay a second schedule, dashed (its time is rescaled to 0..T)"));
  compare_kind_box_ = new QComboBox(this);
  FillKinds(compare_kind_box_);
  compare_kind_box_->setToolTip(tr("Kind of the comparison schedule"));
  compare_steps_box_ = new QSpinBox(this);
  compare_steps_box_->setRange(1, 100000);
  compare_steps_box_->setKeyboardTracking(false);
  compare_steps_box_->setToolTip(tr("T of the comparison schedule"));
  compare_zero_snr_box_ = new QCheckBox(tr("ZT-SNR"), this);
  compare_zero_snr_box_->setToolTip(tr("Zero terminal SNR for the comparison schedule"));
  compare_row->addWidget(compare_box_);
  compare_row->addWidget(compare_kind_box_, 1);
  compare_row->addWidget(compare_steps_box_);
  compare_row->addWidget(compare_zero_snr_box_);
  form->addRow(compare_row);
  layout->addLayout(form);

  warning_ = new QLabel(this);
  warning_->setWordWrap(true);
  warning_->setStyleSheet(
      QStringLiteral("QLabel { color: palette(window-text); background: rgba(255, 170, 0, 60);"
                     " border: 1px solid rgba(255, 140, 0, 160); border-radius: 4px;"
                     " padding: 4px; }"));
  warning_->setVisible(false);
  layout->addWidget(warning_);
  error_ = new QLabel(this);
  error_->setWordWrap(true);
  error_->setStyleSheet(QStringLiteral("QLabel { color: #d03030; }"));
  error_->setVisible(false);
  layout->addWidget(error_);

  // Charts.
  const QString titles[3] = {tr("Signal and noise"), tr("beta_t"), tr("log-SNR")};
  for (int i = 0; i < 3; ++i) {
    charts_[i] = new QChart;
    charts_[i]->setTitle(titles[i]);
    charts_[i]->setMargins(QMargins(2, 2, 2, 2));
    charts_[i]->setBackgroundRoundness(0);
    charts_[i]->legend()->setAlignment(Qt::AlignBottom);
    charts_[i]->legend()->setFont(QFont(font().family(), std::max(7, font().pointSize() - 1)));
    charts_[i]->setTheme(palette().window().color().lightness() < 128 ? QChart::ChartThemeDark
                                                                      : QChart::ChartThemeLight);
  }
  const QColor c_abar(0x1f, 0x77, 0xb4), c_sqrt(0x2c, 0xa0, 0x2c), c_noise(0xd6, 0x27, 0x28), c_beta(0x94, 0x67, 0xbd),
      c_snr(0xff, 0x7f, 0x0e);
  alpha_bar_ = MakeSeries(charts_[0], QStringLiteral("ᾱ_t"), c_abar, false);
  sqrt_alpha_bar_ = MakeSeries(charts_[0], QStringLiteral("√ᾱ_t"), c_sqrt, false);
  sqrt_one_minus_ = MakeSeries(charts_[0], QStringLiteral("√(1−ᾱ_t)"), c_noise, false);
  beta_ = MakeSeries(charts_[1], QStringLiteral("β_t"), c_beta, false);
  log_snr_ = MakeSeries(charts_[2], QStringLiteral("log SNR_t"), c_snr, false);
  cmp_alpha_bar_ = MakeSeries(charts_[0], QString(), c_abar, true);
  cmp_sqrt_alpha_bar_ = MakeSeries(charts_[0], QString(), c_sqrt, true);
  cmp_sqrt_one_minus_ = MakeSeries(charts_[0], QString(), c_noise, true);
  cmp_beta_ = MakeSeries(charts_[1], QString(), c_beta, true);
  cmp_log_snr_ = MakeSeries(charts_[2], QString(), c_snr, true);
  for (int i = 0; i < 3; ++i) {
    QPen pen(palette().highlight().color());
    pen.setWidthF(1.5);
    cursors_[i] = MakeSeries(charts_[i], QString(), QColor(), false);
    cursors_[i]->setPen(QPen(QColor(0x60, 0x60, 0x60), 1.5));
    x_axes_[i] = new QValueAxis(charts_[i]);
    x_axes_[i]->setLabelFormat(QStringLiteral("%d"));
    x_axes_[i]->setTickCount(5);
    y_axes_[i] = new QValueAxis(charts_[i]);
    y_axes_[i]->setTickCount(3);
    charts_[i]->addAxis(x_axes_[i], Qt::AlignBottom);
    charts_[i]->addAxis(y_axes_[i], Qt::AlignLeft);
    for (QAbstractSeries* series : charts_[i]->series()) {
      series->attachAxis(x_axes_[i]);
      series->attachAxis(y_axes_[i]);
    }
    // Unnamed series (cursor, comparison) stay out of the legend.
    for (QLegendMarker* marker : charts_[i]->legend()->markers()) {
      if (marker->series()->name().isEmpty()) marker->setVisible(false);
    }
    views_[i] = new ScheduleChartView(charts_[i], this);
    views_[i]->setMinimumHeight(150);
    layout->addWidget(views_[i], i == 0 ? 3 : 2);
    connect(views_[i], &ScheduleChartView::tPicked, document_, &Document::setT);
  }
  y_axes_[1]->setLabelFormat(QStringLiteral("%.3g"));
  y_axes_[0]->setLabelFormat(QStringLiteral("%.1f"));
  y_axes_[2]->setLabelFormat(QStringLiteral("%.0f"));
  y_axes_[1]->setLabelFormat(QStringLiteral("%.3g"));

  connect(document_, &Document::scheduleChanged, this, [this] {
    syncControls();
    rebuildCurves();
    rebuildCompare();
  });
  connect(document_, &Document::compareChanged, this, [this] {
    syncControls();
    rebuildCompare();
  });
  connect(document_, &Document::tChanged, this, &SchedulePanel::moveCursor);

  connect(kind_box_, &QComboBox::currentIndexChanged, this, [this] { applyControls(false); });
  connect(steps_box_, &QSpinBox::valueChanged, this, [this] { applyControls(false); });
  connect(steps_slider_, &QSlider::valueChanged, this, [this](int value) {
    if (syncing_) return;
    const QSignalBlocker blocker(steps_box_);
    steps_box_->setValue(value);
    applyControls(steps_slider_->isSliderDown());
  });
  connect(steps_slider_, &QSlider::sliderReleased, document_, &Document::endMerge);
  connect(beta_start_box_, &QDoubleSpinBox::valueChanged, this, [this] { applyControls(false); });
  connect(beta_end_box_, &QDoubleSpinBox::valueChanged, this, [this] { applyControls(false); });
  connect(zero_snr_box_, &QCheckBox::toggled, this, [this] { applyControls(false); });
  connect(custom_button_, &QPushButton::clicked, this, &SchedulePanel::loadCustom);
  connect(compare_box_, &QCheckBox::toggled, this, &SchedulePanel::applyCompare);
  connect(compare_kind_box_, &QComboBox::currentIndexChanged, this, &SchedulePanel::applyCompare);
  connect(compare_steps_box_, &QSpinBox::valueChanged, this, &SchedulePanel::applyCompare);
  connect(compare_zero_snr_box_, &QCheckBox::toggled, this, &SchedulePanel::applyCompare);

  compare_kind_box_->setCurrentIndex(2);  // cosine: the usual comparison
  syncControls();
  rebuildCurves();
  rebuildCompare();
}

void SchedulePanel::syncControls() {
  syncing_ = true;
  const ScheduleOptions& o = document_->scheduleOptions();
  const QSignalBlocker b1(kind_box_), b2(steps_box_), b3(steps_slider_), b4(beta_start_box_), b5(beta_end_box_),
      b6(zero_snr_box_), b7(compare_box_), b8(compare_kind_box_), b9(compare_steps_box_), b10(compare_zero_snr_box_);
  const int kind_index = kind_box_->findData(static_cast<int>(o.kind));
  if (kind_index >= 0) {
    kind_box_->setCurrentIndex(kind_index);
  } else {
    // A custom schedule: show its name as an extra entry.
    const QString name = QString::fromUtf8(ScheduleKindName(o.kind).data(), ScheduleKindName(o.kind).size());
    if (kind_box_->findData(static_cast<int>(o.kind)) < 0) kind_box_->addItem(name, static_cast<int>(o.kind));
    kind_box_->setCurrentIndex(kind_box_->findData(static_cast<int>(o.kind)));
  }
  steps_box_->setValue(o.num_steps);
  steps_slider_->setValue(o.num_steps);
  beta_start_box_->setValue(o.beta_start);
  beta_end_box_->setValue(o.beta_end);
  zero_snr_box_->setChecked(o.zero_terminal_snr);
  const bool custom = o.kind == ScheduleKind::kCustomBeta || o.kind == ScheduleKind::kCustomAlphaBar;
  steps_box_->setEnabled(!custom);
  steps_slider_->setEnabled(!custom);
  const bool uses_betas = o.kind == ScheduleKind::kLinear || o.kind == ScheduleKind::kScaledLinear ||
                          o.kind == ScheduleKind::kSigmoid || o.kind == ScheduleKind::kConst;
  beta_start_box_->setEnabled(uses_betas && o.kind != ScheduleKind::kConst);
  beta_end_box_->setEnabled(uses_betas);
  const auto& c = document_->compareOptions();
  compare_box_->setChecked(c.has_value());
  if (c) {
    const int index = compare_kind_box_->findData(static_cast<int>(c->kind));
    if (index >= 0) compare_kind_box_->setCurrentIndex(index);
    compare_steps_box_->setValue(c->num_steps);
    compare_zero_snr_box_->setChecked(c->zero_terminal_snr);
  } else if (compare_steps_box_->value() <= 1) {
    compare_steps_box_->setValue(o.num_steps);
  }
  syncing_ = false;
}

void SchedulePanel::applyControls(bool merge) {
  if (syncing_) return;
  ScheduleOptions o = document_->scheduleOptions();
  const auto kind = static_cast<ScheduleKind>(kind_box_->currentData().toInt());
  if (kind != o.kind) o.custom.clear();
  o.kind = kind;
  o.num_steps = steps_box_->value();
  o.beta_start = beta_start_box_->value();
  o.beta_end = beta_end_box_->value();
  o.zero_terminal_snr = zero_snr_box_->isChecked();
  showError(document_->setScheduleOptions(o, merge));
  if (!error_->isHidden()) syncControls();
}

void SchedulePanel::applyCompare() {
  if (syncing_) return;
  std::optional<ScheduleOptions> compare;
  if (compare_box_->isChecked()) {
    ScheduleOptions o;
    o.kind = static_cast<ScheduleKind>(compare_kind_box_->currentData().toInt());
    o.num_steps = compare_steps_box_->value();
    o.beta_start = document_->scheduleOptions().beta_start;
    o.beta_end = document_->scheduleOptions().beta_end;
    o.zero_terminal_snr = compare_zero_snr_box_->isChecked();
    compare = o;
  }
  showError(document_->setCompareOptions(compare));
}

void SchedulePanel::loadCustom() {
  const QString path =
      QFileDialog::getOpenFileName(this, tr("Load a custom schedule"), Settings::LastFolder("schedule"),
                                   tr("Schedules (*.txt *.csv *.dat);;All files (*)"));
  if (path.isEmpty()) return;
  Settings::SetLastFolder("schedule", QFileInfo(path).absolutePath());
  try {
    const ScheduleOptions options = LoadCustomSchedule(path.toStdString());
    showError(document_->setScheduleOptions(options));
  } catch (const Error& error) {
    showError(tr("Could not load %1: %2").arg(QFileInfo(path).fileName(), QString::fromUtf8(error.what())));
  }
}

void SchedulePanel::showError(const QString& message) {
  error_->setText(message);
  error_->setVisible(!message.isEmpty());
}

namespace {

// Replaces a series' points; non-finite values (log-SNR at alpha_bar = 0) are left out.
void Fill(QLineSeries* series, const std::vector<QPointF>& points) {
  QList<QPointF> list;
  list.reserve(static_cast<qsizetype>(points.size()));
  for (const QPointF& p : points) {
    if (std::isfinite(p.y())) list.append(p);
  }
  series->replace(list);
}

struct Curves {
  std::vector<QPointF> alpha_bar, sqrt_alpha_bar, sqrt_one_minus, beta, log_snr;
};

// Reads every plotted array from the core's schedule; x_scale maps its t onto the main timeline.
Curves ReadCurves(const NoiseSchedule& schedule, double x_scale) {
  Curves c;
  const int T = schedule.num_steps();
  for (int t = 0; t <= T; ++t) {
    const double x = t * x_scale;
    c.alpha_bar.emplace_back(x, schedule.alpha_bar(t));
    c.sqrt_alpha_bar.emplace_back(x, schedule.sqrt_alpha_bar(t));
    c.sqrt_one_minus.emplace_back(x, schedule.sqrt_one_minus_alpha_bar(t));
    if (t >= 1) {
      c.beta.emplace_back(x, schedule.beta(t));
      c.log_snr.emplace_back(x, schedule.log_snr(t));
    }
  }
  return c;
}

}  // namespace

void SchedulePanel::rebuildCurves() {
  const NoiseSchedule& schedule = *document_->schedule();
  const int T = schedule.num_steps();
  const Curves c = ReadCurves(schedule, 1.0);
  Fill(alpha_bar_, c.alpha_bar);
  Fill(sqrt_alpha_bar_, c.sqrt_alpha_bar);
  Fill(sqrt_one_minus_, c.sqrt_one_minus);
  Fill(beta_, c.beta);
  Fill(log_snr_, c.log_snr);
  // Ticks at round timesteps: 1, 2 or 5 times a power of ten, about four of them.
  const double raw = T / 4.0;
  const double power = std::pow(10.0, std::floor(std::log10(std::max(raw, 1.0))));
  const double interval = raw / power >= 5 ? 5 * power : raw / power >= 2 ? 2 * power : power;
  for (int i = 0; i < 3; ++i) {
    x_axes_[i]->setRange(0, T);
    x_axes_[i]->setTickType(QValueAxis::TicksDynamic);
    x_axes_[i]->setTickAnchor(0);
    x_axes_[i]->setTickInterval(interval);
  }

  const QStringList warnings = ScheduleWarnings(schedule);
  warning_->setText(QStringLiteral("⚠ ") + warnings.join(QStringLiteral("\n⚠ ")));
  warning_->setVisible(!warnings.isEmpty());
  moveCursor(document_->t());
}

void SchedulePanel::rebuildCompare() {
  const auto& options = document_->compareOptions();
  QLineSeries* cmp[5] = {cmp_alpha_bar_, cmp_sqrt_alpha_bar_, cmp_sqrt_one_minus_, cmp_beta_, cmp_log_snr_};
  if (!options) {
    for (QLineSeries* s : cmp) s->clear();
  } else {
    const NoiseSchedule compare(*options);
    const double scale = static_cast<double>(document_->numSteps()) / compare.num_steps();
    const Curves c = ReadCurves(compare, scale);
    Fill(cmp_alpha_bar_, c.alpha_bar);
    Fill(cmp_sqrt_alpha_bar_, c.sqrt_alpha_bar);
    Fill(cmp_sqrt_one_minus_, c.sqrt_one_minus);
    Fill(cmp_beta_, c.beta);
    Fill(cmp_log_snr_, c.log_snr);
  }
  // y ranges over what is drawn.
  auto range = [](std::initializer_list<QLineSeries*> list, double* lo, double* hi) {
    double mn = std::numeric_limits<double>::infinity(), mx = -mn;
    for (QLineSeries* s : list) {
      for (const QPointF& p : s->points()) {
        mn = std::min(mn, p.y());
        mx = std::max(mx, p.y());
      }
    }
    if (!std::isfinite(mn)) mn = 0, mx = 1;
    if (mx - mn < 1e-12) mx = mn + 1e-6;
    *lo = mn;
    *hi = mx;
  };
  y_min_[0] = 0;
  y_max_[0] = 1;
  double lo, hi;
  range({beta_, cmp_beta_}, &lo, &hi);
  y_min_[1] = 0;
  y_max_[1] = hi * 1.05;
  range({log_snr_, cmp_log_snr_}, &lo, &hi);
  y_min_[2] = std::floor(lo);
  y_max_[2] = std::ceil(hi);
  for (int i = 0; i < 3; ++i) {
    y_axes_[i]->setRange(y_min_[i], y_max_[i]);
    if (i > 0) {
      y_axes_[i]->setTickCount(4);
      y_axes_[i]->applyNiceNumbers();  // round tick values; the cursor spans the rounded range
      y_min_[i] = y_axes_[i]->min();
      y_max_[i] = y_axes_[i]->max();
    }
  }
  cmp_alpha_bar_->setName(options ? tr("%1 (dashed)")
                                        .arg(QString::fromUtf8(ScheduleKindName(options->kind).data(),
                                                               ScheduleKindName(options->kind).size()))
                                  : QString());
  for (QLegendMarker* marker : charts_[0]->legend()->markers()) {
    marker->setVisible(!marker->series()->name().isEmpty());
  }
  moveCursor(document_->t());
}

void SchedulePanel::moveCursor(int t) {
  for (int i = 0; i < 3; ++i) {
    cursors_[i]->replace(QList<QPointF>{QPointF(t, y_min_[i]), QPointF(t, y_max_[i])});
  }
}

double SchedulePanel::cursorT() const {
  const QList<QPointF> points = cursors_[0]->points();
  return points.isEmpty() ? -1 : points.front().x();
}

QString SchedulePanel::warningText() const { return warning_->isHidden() ? QString() : warning_->text(); }

}  // namespace diffuscope::ui

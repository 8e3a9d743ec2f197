#include "ui/widgets/sampler_controls.h"

#include "ui/widgets/sampler_accuracy_dialog.h"

#include <algorithm>

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLabel>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>

namespace diffuscope::ui {

SamplerControls::SamplerControls(Document* document, bool show_clip, QWidget* parent)
    : QGroupBox(tr("Sampler"), parent), document_(document) {
  auto* form = new QFormLayout(this);
  kind_ = new QComboBox(this);
  kind_->addItem(tr("DDPM (ancestral)"), static_cast<int>(SamplerKind::kDdpm));
  kind_->addItem(tr("DDIM"), static_cast<int>(SamplerKind::kDdim));
  kind_->addItem(tr("Probability-flow ODE (Euler)"), static_cast<int>(SamplerKind::kOdeEuler));
  kind_->addItem(tr("Reverse SDE (Euler-Maruyama)"), static_cast<int>(SamplerKind::kSdeEuler));
  kind_->addItem(tr("Heun, Karras sigma steps"), static_cast<int>(SamplerKind::kHeunKarras));
  kind_->addItem(tr("DPM-Solver++ (2M)"), static_cast<int>(SamplerKind::kDpmSolverPP));
  kind_->addItem(tr("Flow time, Euler"), static_cast<int>(SamplerKind::kFlowEuler));
  kind_->addItem(tr("Flow time, Heun"), static_cast<int>(SamplerKind::kFlowHeun));
  kind_->setToolTip(
      tr("DDPM: p(x_{t-1} | x_t) with fresh noise each step. DDIM: eta = 0 is deterministic, "
         "eta = 1 matches DDPM's variance.\n"
         "Probability-flow ODE and reverse SDE (Song et al. 2021): the same marginals from the same x_T, "
         "on different paths.\n"
         "Heun (Karras et al. 2022): 2nd order on sigma steps with rho = 7, 2 network evaluations a "
         "step.\n"
         "DPM-Solver++(2M) (Lu et al. 2022): 2nd order, multistep, 1 evaluation a step.\n"
         "Flow time (flow matching, rectified flow): Euler or Heun on uniform steps of the straight "
         "path x_s = (1 - s) x_0 + s eps; exact for any model, since a noise level is a flow time."));
  form->addRow(tr("Kind"), kind_);
  steps_ = new QSpinBox(this);
  steps_->setRange(0, 100000);
  steps_->setSpecialValueText(tr("every step"));
  steps_->setKeyboardTracking(false);
  steps_->setToolTip(tr("Number of sampling steps K (strided over the T timesteps); 0 = all T"));
  form->addRow(tr("Steps"), steps_);
  nfe_ = new QLabel(this);
  nfe_->setToolTip(
      tr("Network evaluations (NFE) of the run: the cost of a sampler (Heun and flow-time Heun take 2 per step but "
         "the last)"));
  form->addRow(tr("NFE"), nfe_);
  eta_ = new QDoubleSpinBox(this);
  eta_->setRange(0, 1);
  eta_->setSingleStep(0.1);
  eta_->setDecimals(2);
  eta_->setKeyboardTracking(false);
  eta_->setToolTip(tr("DDIM eta: 0 deterministic, 1 DDPM-like noise"));
  form->addRow(tr("eta"), eta_);
  clip_ = new QCheckBox(tr("Clip x0_hat to [-1, 1]"), this);
  clip_->setToolTip(tr("Clamp the predicted x_0 to the pixel range at every step"));
  clip_->setVisible(show_clip);
  if (show_clip) form->addRow(QString(), clip_);
  start_ = new QComboBox(this);
  start_->addItem(tr("Pure noise x_T ~ N(0, I)"), false);
  start_->addItem(tr("Noised data at the current t"), true);
  start_->setToolTip(
      tr("Start the reverse run from pure noise, or noise the data to the current t and "
         "denoise from there (SDEdit)"));
  form->addRow(tr("Start"), start_);
  accuracy_ = new QPushButton(tr("Sampler accuracy..."), this);
  accuracy_->setToolTip(
      tr("Every sampler's error against the exact probability-flow solve of a Gaussian mixture, "
         "against NFE (a log-log chart)"));
  form->addRow(QString(), accuracy_);
  connect(accuracy_, &QPushButton::clicked, this, [this] {
    auto* dialog = new SamplerAccuracyDialog(document_->scheduleOptions(), window());
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
  });

  connect(kind_, &QComboBox::currentIndexChanged, this, &SamplerControls::apply);
  connect(steps_, &QSpinBox::valueChanged, this, &SamplerControls::apply);
  connect(eta_, &QDoubleSpinBox::valueChanged, this, &SamplerControls::apply);
  connect(clip_, &QCheckBox::toggled, this, &SamplerControls::apply);
  connect(start_, &QComboBox::currentIndexChanged, this, [this] {
    if (syncing_) return;
    ModelChoice model = document_->model();
    model.from_current_t = start_->currentData().toBool();
    document_->setModel(model);
  });
  connect(document_, &Document::samplerChanged, this, &SamplerControls::sync);
  connect(document_, &Document::modelChanged, this, &SamplerControls::sync);
  connect(document_, &Document::scheduleChanged, this, &SamplerControls::sync);
  sync();
}

void SamplerControls::sync() {
  syncing_ = true;
  const SamplerOptions& o = document_->samplerOptions();
  const QSignalBlocker b1(kind_), b2(steps_), b3(eta_), b4(clip_), b5(start_);
  kind_->setCurrentIndex(kind_->findData(static_cast<int>(o.kind)));
  steps_->setMaximum(document_->numSteps());
  steps_->setValue(o.num_steps);
  eta_->setValue(o.eta);
  eta_->setEnabled(o.kind == SamplerKind::kDdim);
  const int T = document_->numSteps();
  const int K = o.num_steps == 0 ? T : std::min(o.num_steps, T);
  nfe_->setText(QString::number(SamplerNfe(o.kind, K)));
  clip_->setChecked(o.clip_x0);
  start_->setCurrentIndex(document_->model().from_current_t ? 1 : 0);
  syncing_ = false;
}

void SamplerControls::apply() {
  if (syncing_) return;
  SamplerOptions o = document_->samplerOptions();
  o.kind = static_cast<SamplerKind>(kind_->currentData().toInt());
  o.num_steps = steps_->value();
  o.eta = eta_->value();
  o.clip_x0 = clip_->isChecked();
  const QString problem = document_->setSamplerOptions(o);
  if (!problem.isEmpty()) {
    setToolTip(problem);
    sync();
  }
}

}  // namespace diffuscope::ui

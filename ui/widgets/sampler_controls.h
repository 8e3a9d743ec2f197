// The reverse-run controls shared by both workspaces: sampler (every SamplerKind: DDPM, DDIM, probability-flow ODE,
// reverse SDE, Heun on Karras steps, DPM-Solver++(2M), Euler and Heun in flow time), steps with the run's network
// evaluations (NFE), eta, x0 clipping, where the run starts (pure noise, or the noised data at the current t), and the
// sampler-accuracy chart. Bound to the Document both ways.
#pragma once

#include "ui/state/document.h"

#include <QGroupBox>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSpinBox;

namespace diffuscope::ui {

class SamplerControls : public QGroupBox {
  Q_OBJECT

 public:
  /// show_clip: offer x0 clipping to [-1, 1] (images).
  SamplerControls(Document* document, bool show_clip, QWidget* parent = nullptr);
  /// The sampler menu (its items' data: the SamplerKind), for tests.
  QComboBox* kindBox() const { return kind_; }

 private:
  void sync();
  void apply();

  Document* document_;
  QComboBox* kind_;
  QSpinBox* steps_;
  QDoubleSpinBox* eta_;
  QCheckBox* clip_;
  QComboBox* start_;
  QLabel* nfe_;
  QPushButton* accuracy_;
  bool syncing_ = false;
};

}  // namespace diffuscope::ui

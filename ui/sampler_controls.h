// The reverse-run controls shared by both workspaces: sampler (DDPM / DDIM), steps, eta, x0 clipping, and
// where the run starts (pure noise, or the noised data at the current t). Bound to the Document both ways.
#pragma once

#include "ui/document.h"

#include <QGroupBox>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QSpinBox;

namespace diffuscope::ui {

class SamplerControls : public QGroupBox {
  Q_OBJECT

 public:
  /// show_clip: offer x0 clipping to [-1, 1] (images).
  SamplerControls(Document* document, bool show_clip, QWidget* parent = nullptr);

 private:
  void sync();
  void apply();

  Document* document_;
  QComboBox* kind_;
  QSpinBox* steps_;
  QDoubleSpinBox* eta_;
  QCheckBox* clip_;
  QComboBox* start_;
  bool syncing_ = false;
};

}  // namespace diffuscope::ui

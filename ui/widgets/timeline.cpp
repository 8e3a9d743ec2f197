#include "ui/widgets/timeline.h"
#include "ui/widgets/frame_view.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPainter>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QStyle>
#include <QStyleOptionSlider>
#include <QToolButton>

#include <algorithm>
#include <cmath>

namespace diffuscope::ui {

namespace {

// The scrubber: greys the t that have no frames yet (a reverse run streaming in).
class TimelineSlider : public QSlider {
 public:
  TimelineSlider(const TimelineModel* model, QWidget* parent) : QSlider(Qt::Horizontal, parent), model_(model) {}

 protected:
  void paintEvent(QPaintEvent* event) override {
    QSlider::paintEvent(event);
    if (!model_->hasAvailableRange() || maximum() <= minimum()) return;
    QStyleOptionSlider option;
    initStyleOption(&option);
    const QRect groove = style()->subControlRect(QStyle::CC_Slider, &option, QStyle::SC_SliderGroove, this);
    const QRect handle = style()->subControlRect(QStyle::CC_Slider, &option, QStyle::SC_SliderHandle, this);
    const int span = groove.width() - handle.width();
    auto x_of = [&](int t) {
      return groove.x() + handle.width() / 2 +
             QStyle::sliderPositionFromValue(minimum(), maximum(), t, span, option.upsideDown);
    };
    QPainter painter(this);
    QColor grey = palette().color(QPalette::Window);
    grey.setAlpha(190);
    const int low = x_of(model_->availableLow()), high = x_of(model_->availableHigh());
    if (low > groove.left()) painter.fillRect(QRect(QPoint(groove.left(), 0), QPoint(low - 1, height())), grey);
    if (high < groove.right()) painter.fillRect(QRect(QPoint(high + 1, 0), QPoint(groove.right(), height())), grey);
  }

 private:
  const TimelineModel* model_;
};

}  // namespace

TimelineModel::TimelineModel(QObject* parent) : QObject(parent) {
  timer_.setInterval(16);
  timer_.setTimerType(Qt::PreciseTimer);
  connect(&timer_, &QTimer::timeout, this, &TimelineModel::onTick);
}

void TimelineModel::setT(int t) {
  t = std::clamp(t, 0, num_steps_);
  if (hasAvailableRange())
    t = std::clamp(t, std::min(available_low_, num_steps_), std::min(available_high_, num_steps_));
  if (t == t_) return;
  t_ = t;
  emit tChanged(t_);
}

void TimelineModel::setNumSteps(int num_steps) {
  num_steps = std::max(1, num_steps);
  if (num_steps == num_steps_) return;
  num_steps_ = num_steps;
  emit numStepsChanged(num_steps_);
  setT(t_);  // clamp
}

void TimelineModel::setAvailableRange(int low, int high) {
  low = std::clamp(low, 0, num_steps_);
  high = std::clamp(high, low, num_steps_);
  if (low == available_low_ && high == available_high_) return;
  available_low_ = low;
  available_high_ = high;
  emit availableRangeChanged();
  setT(t_);  // into the range
}

void TimelineModel::clearAvailableRange() {
  if (!hasAvailableRange()) return;
  available_low_ = available_high_ = -1;
  emit availableRangeChanged();
}

void TimelineModel::setLoop(bool loop) {
  if (loop == loop_) return;
  loop_ = loop;
  emit loopChanged(loop_);
}

void TimelineModel::setSpeed(double speed) {
  if (!(speed > 0) || !std::isfinite(speed) || speed == speed_) return;
  speed_ = speed;
  emit speedChanged(speed_);
}

void TimelineModel::setDirection(Direction direction) {
  if (direction == direction_) return;
  direction_ = direction;
  fraction_ = 0;
  emit directionChanged(direction_);
}

void TimelineModel::stepBy(int delta) { setT(t_ + delta); }

void TimelineModel::play() {
  if (playing_) return;
  if (t_ == endT()) setT(startT());
  playing_ = true;
  fraction_ = 0;
  if (clock_enabled_) {
    elapsed_.start();
    timer_.start();
  }
  emit playingChanged(true);
}

void TimelineModel::pause() {
  if (!playing_) return;
  playing_ = false;
  timer_.stop();
  emit playingChanged(false);
}

void TimelineModel::togglePlay() { playing_ ? pause() : play(); }

void TimelineModel::setClockEnabled(bool enabled) {
  clock_enabled_ = enabled;
  if (!enabled) timer_.stop();
  else if (playing_) {
    elapsed_.start();
    timer_.start();
  }
}

void TimelineModel::onTick() {
  const double seconds = elapsed_.nsecsElapsed() * 1e-9;
  elapsed_.restart();
  advance(std::min(seconds, 0.25));  // a stalled event loop does not jump far
}

void TimelineModel::advance(double seconds) {
  if (!playing_ || seconds <= 0) return;
  fraction_ += stepsPerSecond() * seconds;
  const int whole = static_cast<int>(std::floor(fraction_));
  if (whole <= 0) return;
  fraction_ -= whole;
  const int sign = direction_ == Direction::kForward ? 1 : -1;
  const int remaining = std::abs(endT() - t_);
  if (whole < remaining) {
    setT(t_ + sign * whole);
    return;
  }
  if (loop_) {
    // Show the end frame, then continue from the start on the next tick.
    if (t_ != endT()) setT(endT());
    else setT(startT() + sign * std::min(whole - remaining, num_steps_));
    return;
  }
  setT(endT());
  pause();
}

TimelineWidget::TimelineWidget(TimelineModel* model, QWidget* parent) : QWidget(parent), model_(model) {
  QStyle* s = style();
  auto make = [this](const QIcon& icon, const QString& text, const QKeySequence& key, const QString& tip) {
    auto* action = new QAction(icon, text, this);
    action->setShortcut(key);
    action->setToolTip(QStringLiteral("%1 (%2)").arg(tip, key.toString(QKeySequence::NativeText)));
    action->setShortcutContext(Qt::WindowShortcut);
    return action;
  };
  play_ = make(ThemedIcon(QStyle::SP_MediaPlay, this), tr("Play"), QKeySequence(Qt::Key_Space),
               tr("Play or pause the trajectory"));
  step_back_ =
      make(ThemedIcon(QStyle::SP_MediaSeekBackward, this), tr("Step back"), QKeySequence(Qt::Key_Left), tr("t - 1"));
  step_forward_ =
      make(ThemedIcon(QStyle::SP_MediaSeekForward, this), tr("Step forward"), QKeySequence(Qt::Key_Right), tr("t + 1"));
  back10_ = make(QIcon(), tr("Back 10 steps"), QKeySequence(Qt::SHIFT | Qt::Key_Left), tr("t - 10"));
  forward10_ = make(QIcon(), tr("Forward 10 steps"), QKeySequence(Qt::SHIFT | Qt::Key_Right), tr("t + 10"));
  home_ = make(ThemedIcon(QStyle::SP_MediaSkipBackward, this), tr("Go to t = 0"), QKeySequence(Qt::Key_Home),
               tr("Jump to t = 0 (the data)"));
  end_ = make(ThemedIcon(QStyle::SP_MediaSkipForward, this), tr("Go to t = T"), QKeySequence(Qt::Key_End),
              tr("Jump to t = T (pure noise)"));
  loop_ = make(s->standardIcon(QStyle::SP_BrowserReload), tr("Loop"), QKeySequence(Qt::Key_L), tr("Loop playback"));
  loop_->setCheckable(true);

  connect(play_, &QAction::triggered, model_, &TimelineModel::togglePlay);
  connect(step_back_, &QAction::triggered, model_, &TimelineModel::stepBack);
  connect(step_forward_, &QAction::triggered, model_, &TimelineModel::stepForward);
  connect(back10_, &QAction::triggered, model_, [this] { model_->stepBy(-10); });
  connect(forward10_, &QAction::triggered, model_, [this] { model_->stepBy(10); });
  connect(home_, &QAction::triggered, model_, &TimelineModel::home);
  connect(end_, &QAction::triggered, model_, &TimelineModel::end);
  connect(loop_, &QAction::toggled, model_, &TimelineModel::setLoop);

  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(6, 2, 6, 2);
  for (QAction* action : {home_, step_back_, play_, step_forward_, end_, loop_}) {
    auto* button = new QToolButton(this);
    button->setDefaultAction(action);
    button->setAutoRaise(true);
    button->setFocusPolicy(Qt::NoFocus);
    layout->addWidget(button);
  }

  direction_box_ = new QComboBox(this);
  direction_box_->addItem(tr("Forward q (noising)"), QVariant::fromValue(TimelineModel::Direction::kForward));
  direction_box_->addItem(tr("Reverse p (denoising)"), QVariant::fromValue(TimelineModel::Direction::kReverse));
  direction_box_->setToolTip(
      tr("Play direction: forward q(x_t | x_0) adds noise as t rises; reverse "
         "p(x_{t-1} | x_t) removes it as t falls and shows the last reverse run"));
  direction_box_->setFocusPolicy(Qt::ClickFocus);
  layout->addWidget(direction_box_);

  slider_ = new TimelineSlider(model_, this);
  slider_->setToolTip(tr("Scrub t from 0 (the data) to T (noise); Left/Right step, Shift x10, Home/End"));
  slider_->setFocusPolicy(Qt::ClickFocus);
  layout->addWidget(slider_, 1);

  label_ = new QLabel(this);
  label_->setText(tr("t ="));
  layout->addWidget(label_);
  t_box_ = new QSpinBox(this);
  t_box_->setToolTip(tr("Current timestep t"));
  t_box_->setKeyboardTracking(false);
  layout->addWidget(t_box_);

  speed_box_ = new QComboBox(this);
  for (double speed : {0.1, 0.25, 0.5, 1.0, 2.0, 4.0}) {
    speed_box_->addItem(QStringLiteral("%1x").arg(speed), speed);
  }
  speed_box_->setToolTip(tr("Playback speed: 1x sweeps 0..T in %1 s").arg(TimelineModel::kSweepSeconds));
  speed_box_->setFocusPolicy(Qt::ClickFocus);
  layout->addWidget(speed_box_);

  connect(slider_, &QSlider::valueChanged, model_, &TimelineModel::setT);
  connect(t_box_, &QSpinBox::valueChanged, model_, &TimelineModel::setT);
  connect(speed_box_, &QComboBox::currentIndexChanged, this,
          [this](int index) { model_->setSpeed(speed_box_->itemData(index).toDouble()); });
  connect(direction_box_, &QComboBox::currentIndexChanged, this, [this](int index) {
    model_->setDirection(direction_box_->itemData(index).value<TimelineModel::Direction>());
  });
  connect(model_, &TimelineModel::tChanged, this, &TimelineWidget::syncFromModel);
  connect(model_, &TimelineModel::numStepsChanged, this, &TimelineWidget::syncFromModel);
  connect(model_, &TimelineModel::playingChanged, this, &TimelineWidget::syncFromModel);
  connect(model_, &TimelineModel::loopChanged, this, &TimelineWidget::syncFromModel);
  connect(model_, &TimelineModel::speedChanged, this, &TimelineWidget::syncFromModel);
  connect(model_, &TimelineModel::directionChanged, this, &TimelineWidget::syncFromModel);
  connect(model_, &TimelineModel::availableRangeChanged, slider_, qOverload<>(&QWidget::update));
  syncFromModel();
}

QList<QAction*> TimelineWidget::actions_() const {
  return {play_, step_back_, step_forward_, back10_, forward10_, home_, end_, loop_};
}

void TimelineWidget::syncFromModel() {
  const QSignalBlocker b1(slider_), b2(t_box_), b3(speed_box_), b4(direction_box_), b5(loop_);
  slider_->setRange(0, model_->numSteps());
  slider_->setPageStep(std::max(1, model_->numSteps() / 20));
  slider_->setValue(model_->t());
  t_box_->setRange(0, model_->numSteps());
  t_box_->setValue(model_->t());
  loop_->setChecked(model_->loop());
  const int speed_index = speed_box_->findData(model_->speed());
  if (speed_index >= 0) speed_box_->setCurrentIndex(speed_index);
  direction_box_->setCurrentIndex(model_->direction() == TimelineModel::Direction::kForward ? 0 : 1);
  play_->setIcon(ThemedIcon(model_->playing() ? QStyle::SP_MediaPause : QStyle::SP_MediaPlay, this));
  play_->setText(model_->playing() ? tr("Pause") : tr("Play"));
}

}  // namespace diffuscope::ui

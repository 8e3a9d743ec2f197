// The shared timeline: the current t over 0..T, play / pause, stepping, loop, speed and direction.
// TimelineModel is the logic (no widgets, testable with a fake clock); TimelineWidget is its scrubber bar.
//
//   diffuscope::ui::TimelineModel timeline;
//   timeline.setNumSteps(1000);
//   timeline.setDirection(TimelineModel::Direction::kForward);
//   timeline.play();
//   timeline.advance(0.5);   // half a second of playback at speed 1: t moves by T / 8
#pragma once

#include <QAction>
#include <QElapsedTimer>
#include <QObject>
#include <QTimer>
#include <QWidget>

class QComboBox;
class QLabel;
class QSlider;
class QSpinBox;
class QToolButton;

namespace diffuscope::ui {

class TimelineModel : public QObject {
  Q_OBJECT

 public:
  /// Play direction: forward noising q (t rises) or reverse denoising p (t falls).
  enum class Direction { kForward, kReverse };
  Q_ENUM(Direction)

  /// Seconds one sweep over 0..T takes at speed 1.
  static constexpr double kSweepSeconds = 4.0;

  explicit TimelineModel(QObject* parent = nullptr);

  int t() const { return t_; }
  int numSteps() const { return num_steps_; }
  bool playing() const { return playing_; }
  bool loop() const { return loop_; }
  double speed() const { return speed_; }
  Direction direction() const { return direction_; }
  /// The t where playback in the current direction starts (0 forward, T reverse) and ends.
  int startT() const { return direction_ == Direction::kForward ? 0 : num_steps_; }
  int endT() const { return direction_ == Direction::kForward ? num_steps_ : 0; }

  /// Steps per second at the current speed and T.
  double stepsPerSecond() const { return speed_ * num_steps_ / kSweepSeconds; }

  /// While a reverse run streams in, only t in [low, high] has frames: t is held in that range and the scrubber
  /// greys the rest. Without a range every t is available.
  bool hasAvailableRange() const { return available_low_ >= 0; }
  int availableLow() const { return hasAvailableRange() ? available_low_ : 0; }
  int availableHigh() const { return hasAvailableRange() ? available_high_ : num_steps_; }
  void setAvailableRange(int low, int high);
  void clearAvailableRange();

 public slots:
  void setT(int t);
  /// Sets T; t is clamped into 0..T.
  void setNumSteps(int num_steps);
  void setLoop(bool loop);
  /// Speed multiplier (> 0); 1 sweeps 0..T in kSweepSeconds.
  void setSpeed(double speed);
  void setDirection(Direction direction);
  /// Moves t by delta, clamped to 0..T (negative = towards 0).
  void stepBy(int delta);
  void stepBack() { stepBy(-1); }
  void stepForward() { stepBy(1); }
  void home() { setT(0); }
  void end() { setT(num_steps_); }
  /// Starts playback; from the end of the direction it restarts at the start.
  void play();
  void pause();
  void togglePlay();
  /// Advances playback by `seconds` of wall time (the internal clock calls this; tests call it directly).
  /// At the end: wraps to the start when looping, else stops.
  void advance(double seconds);
  /// Uses a real clock (a 60 Hz timer) when on; tests turn it off and drive advance() themselves.
  void setClockEnabled(bool enabled);

 signals:
  void tChanged(int t);
  void numStepsChanged(int num_steps);
  void playingChanged(bool playing);
  void loopChanged(bool loop);
  void speedChanged(double speed);
  void directionChanged(diffuscope::ui::TimelineModel::Direction direction);
  void availableRangeChanged();

 private:
  void onTick();

  int t_ = 0;
  int num_steps_ = 1000;
  bool playing_ = false;
  bool loop_ = false;
  double speed_ = 1.0;
  Direction direction_ = Direction::kForward;
  double fraction_ = 0.0;                         // sub-step progress carried between ticks
  int available_low_ = -1, available_high_ = -1;  // -1: no range
  bool clock_enabled_ = true;
  QTimer timer_;
  QElapsedTimer elapsed_;
};

/// The scrubber bar: transport buttons, slider, t spin box, speed, loop and direction. Its actions carry the
/// keyboard shortcuts (Space, Left/Right, Shift+Left/Right, Home/End); add them to a window to make them global.
class TimelineWidget : public QWidget {
  Q_OBJECT

 public:
  explicit TimelineWidget(TimelineModel* model, QWidget* parent = nullptr);

  QAction* playAction() const { return play_; }
  QAction* stepBackAction() const { return step_back_; }
  QAction* stepForwardAction() const { return step_forward_; }
  QAction* back10Action() const { return back10_; }
  QAction* forward10Action() const { return forward10_; }
  QAction* homeAction() const { return home_; }
  QAction* endAction() const { return end_; }
  QAction* loopAction() const { return loop_; }
  QList<QAction*> actions_() const;
  QSlider* slider() const { return slider_; }
  QComboBox* directionBox() const { return direction_box_; }

 private:
  void syncFromModel();

  TimelineModel* model_;
  QAction *play_, *step_back_, *step_forward_, *back10_, *forward10_, *home_, *end_, *loop_;
  QSlider* slider_;
  QSpinBox* t_box_;
  QComboBox* speed_box_;
  QComboBox* direction_box_;
  QLabel* label_;
};

}  // namespace diffuscope::ui

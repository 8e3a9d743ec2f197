// The timeline's logic: stepping, clamping, playback with a fake clock, loop, direction, speed, and the
// keyboard actions of the scrubber bar.
#include "ui/widgets/timeline.h"

#include <QSignalSpy>
#include <QSlider>
#include <QTest>

using diffuscope::ui::TimelineModel;
using diffuscope::ui::TimelineWidget;

class TimelineTest : public QObject {
  Q_OBJECT

 private slots:
  void init() {
    model_ = std::make_unique<TimelineModel>();
    model_->setClockEnabled(false);
    model_->setNumSteps(1000);
  }

  void stepsClampToRange_data() {
    QTest::addColumn<int>("start");
    QTest::addColumn<int>("delta");
    QTest::addColumn<int>("expected");
    QTest::newRow("inside") << 500 << 10 << 510;
    QTest::newRow("back") << 500 << -1 << 499;
    QTest::newRow("below zero") << 5 << -10 << 0;
    QTest::newRow("above T") << 995 << 10 << 1000;
    QTest::newRow("at T") << 1000 << 1 << 1000;
  }
  void stepsClampToRange() {
    QFETCH(int, start);
    QFETCH(int, delta);
    QFETCH(int, expected);
    model_->setT(start);
    model_->stepBy(delta);
    QCOMPARE(model_->t(), expected);
  }

  void setTEmitsOncePerChange() {
    QSignalSpy spy(model_.get(), &TimelineModel::tChanged);
    model_->setT(10);
    model_->setT(10);
    model_->setT(-5);
    QCOMPARE(spy.count(), 2);
    QCOMPARE(spy.at(0).at(0).toInt(), 10);
    QCOMPARE(spy.at(1).at(0).toInt(), 0);
  }

  void shrinkingTClampsT() {
    model_->setT(900);
    model_->setNumSteps(50);
    QCOMPARE(model_->t(), 50);
  }

  // A reverse run streaming in: t stays among the computed steps, playback waits at the newest one.
  void availableRangeHoldsT() {
    QSignalSpy changed(model_.get(), &TimelineModel::availableRangeChanged);
    model_->setT(1000);
    model_->setAvailableRange(700, 1000);
    QCOMPARE(changed.count(), 1);
    QVERIFY(model_->hasAvailableRange());
    model_->setT(100);
    QCOMPARE(model_->t(), 700);
    model_->setDirection(TimelineModel::Direction::kReverse);
    model_->play();
    model_->advance(1.0);
    QCOMPARE(model_->t(), 700);
    QVERIFY(model_->playing());
    model_->pause();
    model_->setAvailableRange(400, 1000);  // more steps arrived
    model_->setT(100);
    QCOMPARE(model_->t(), 400);
    model_->clearAvailableRange();
    QVERIFY(!model_->hasAvailableRange());
    QCOMPARE(model_->availableLow(), 0);
    QCOMPARE(model_->availableHigh(), 1000);
    model_->setT(100);
    QCOMPARE(model_->t(), 100);
    // A range set above t moves t into it.
    model_->setAvailableRange(500, 1000);
    QCOMPARE(model_->t(), 500);
  }

  void playAdvancesAtSpeed() {
    // 1x sweeps T in kSweepSeconds: 1000 / 4 = 250 steps per second.
    model_->play();
    model_->advance(0.1);
    QCOMPARE(model_->t(), 25);
    model_->setSpeed(2.0);
    model_->advance(0.1);
    QCOMPARE(model_->t(), 75);
    // Fractions of a step carry over between ticks.
    model_->setSpeed(0.1);                               // 25 steps per second
    for (int i = 0; i < 10; ++i) model_->advance(0.01);  // 2.5 steps
    QCOMPARE(model_->t(), 77);
  }

  void pausedDoesNotMove() {
    model_->advance(1.0);
    QCOMPARE(model_->t(), 0);
    model_->play();
    model_->pause();
    model_->advance(1.0);
    QCOMPARE(model_->t(), 0);
  }

  void stopsAtEndWithoutLoop() {
    QSignalSpy playing(model_.get(), &TimelineModel::playingChanged);
    model_->setT(990);
    model_->play();
    model_->advance(1.0);
    QCOMPARE(model_->t(), 1000);
    QVERIFY(!model_->playing());
    QCOMPARE(playing.count(), 2);  // started, stopped
  }

  void playFromEndRestarts() {
    model_->setT(1000);
    model_->play();
    QCOMPARE(model_->t(), 0);
  }

  void loopWraps() {
    model_->setLoop(true);
    model_->setT(990);
    model_->play();
    model_->advance(0.2);  // 50 steps: shows T first
    QCOMPARE(model_->t(), 1000);
    QVERIFY(model_->playing());
    model_->advance(0.02);  // 5 steps from the start
    QCOMPARE(model_->t(), 5);
  }

  void reverseDirectionFalls() {
    model_->setDirection(TimelineModel::Direction::kReverse);
    QCOMPARE(model_->startT(), 1000);
    QCOMPARE(model_->endT(), 0);
    model_->setT(0);
    model_->play();  // at the end of the reverse direction: restart at T
    QCOMPARE(model_->t(), 1000);
    model_->advance(0.4);
    QCOMPARE(model_->t(), 900);
    model_->advance(10.0);
    QCOMPARE(model_->t(), 0);
    QVERIFY(!model_->playing());
  }

  void rejectsBadSpeed() {
    model_->setSpeed(-1);
    model_->setSpeed(0);
    model_->setSpeed(std::numeric_limits<double>::quiet_NaN());
    QCOMPARE(model_->speed(), 1.0);
  }

  void widgetActionsAndShortcuts() {
    TimelineWidget widget(model_.get());
    QCOMPARE(widget.playAction()->shortcut(), QKeySequence(Qt::Key_Space));
    QCOMPARE(widget.stepForwardAction()->shortcut(), QKeySequence(Qt::Key_Right));
    QCOMPARE(widget.back10Action()->shortcut(), QKeySequence(Qt::SHIFT | Qt::Key_Left));
    QCOMPARE(widget.homeAction()->shortcut(), QKeySequence(Qt::Key_Home));
    QCOMPARE(widget.endAction()->shortcut(), QKeySequence(Qt::Key_End));
    for (QAction* action : widget.actions_()) QVERIFY2(!action->toolTip().isEmpty(), qPrintable(action->text()));

    model_->setT(100);
    widget.forward10Action()->trigger();
    QCOMPARE(model_->t(), 110);
    widget.back10Action()->trigger();
    widget.stepBackAction()->trigger();
    QCOMPARE(model_->t(), 99);
    widget.endAction()->trigger();
    QCOMPARE(model_->t(), 1000);
    widget.homeAction()->trigger();
    QCOMPARE(model_->t(), 0);
    widget.playAction()->trigger();
    QVERIFY(model_->playing());
    widget.playAction()->trigger();
    QVERIFY(!model_->playing());
  }

  void sliderAndModelFollowEachOther() {
    TimelineWidget widget(model_.get());
    model_->setT(321);
    QCOMPARE(widget.slider()->value(), 321);
    QCOMPARE(widget.slider()->maximum(), 1000);
    widget.slider()->setValue(42);  // as a drag does
    QCOMPARE(model_->t(), 42);
    model_->setNumSteps(200);
    QCOMPARE(widget.slider()->maximum(), 200);
  }

  void keyboardOnTheWindow() {
    // The window-wide shortcuts, as a user presses them.
    QWidget window;
    TimelineWidget* widget = new TimelineWidget(model_.get(), &window);
    window.addActions(widget->actions_());
    window.show();
    window.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&window));
    model_->setT(500);
    QTest::keyClick(&window, Qt::Key_Right);
    QCOMPARE(model_->t(), 501);
    QTest::keyClick(&window, Qt::Key_Left, Qt::ShiftModifier);
    QCOMPARE(model_->t(), 491);
    QTest::keyClick(&window, Qt::Key_End);
    QCOMPARE(model_->t(), 1000);
    QTest::keyClick(&window, Qt::Key_Home);
    QCOMPARE(model_->t(), 0);
    QTest::keyClick(&window, Qt::Key_Space);
    QVERIFY(model_->playing());
  }

 private:
  std::unique_ptr<TimelineModel> model_;
};

QTEST_MAIN(TimelineTest)
#include "timeline_test.moc"

// Work off the GUI thread: the newest request wins and stale results are dropped; a background reverse run
// reports progress, and Cancel stops it with no result; errors come back as messages.
#include "ui/state/jobs.h"
#include "core/models/exact.h"
#include "core/sampling/sampler.h"

#include <QElapsedTimer>
#include <QSignalSpy>
#include <QTest>
#include <QThread>

#include <atomic>

using namespace diffuscope;
using namespace diffuscope::ui;

class JobsTest : public QObject {
  Q_OBJECT

 private slots:
  void newestRequestWins() {
    LatestJob jobs;
    std::vector<int> delivered;
    connect(&jobs, &LatestJob::ready, this,
            [&](quint64, const std::any& result) { delivered.push_back(std::any_cast<int>(result)); });
    std::atomic<int> started{0};
    // 50 requests in a burst, as a fast scrubber drag makes; each job takes a few milliseconds.
    for (int i = 0; i < 50; ++i) {
      jobs.request([i, &started] {
        ++started;
        QThread::msleep(5);
        return std::any(i);
      });
    }
    QVERIFY(jobs.waitIdle(10000));
    // Only the newest result is shown; the first one ran (the runner was idle), those between were dropped.
    QCOMPARE(delivered, std::vector<int>{49});
    QCOMPARE(started.load(), 2);
    QCOMPARE(jobs.dropped(), quint64{49});
    QCOMPARE(jobs.generation(), quint64{50});
  }

  void staleResultIsDropped() {
    LatestJob jobs;
    QSignalSpy ready(&jobs, &LatestJob::ready);
    jobs.request([] {
      QThread::msleep(50);
      return std::any(1);
    });
    jobs.request([] { return std::any(2); });  // arrives while the first runs
    QVERIFY(jobs.waitIdle(10000));
    QCOMPARE(ready.count(), 1);
    QCOMPARE(std::any_cast<int>(ready.at(0).at(1).value<std::any>()), 2);
  }

  void eachIdleRequestIsDelivered() {
    LatestJob jobs;
    QSignalSpy ready(&jobs, &LatestJob::ready);
    for (int i = 0; i < 3; ++i) {
      jobs.request([i] { return std::any(i); });
      QVERIFY(jobs.waitIdle(10000));
    }
    QCOMPARE(ready.count(), 3);
  }

  void errorsBecomeMessages() {
    LatestJob jobs;
    QSignalSpy failed(&jobs, &LatestJob::failed);
    jobs.request([]() -> std::any { throw Error("the image has no pixels"); });
    QVERIFY(jobs.waitIdle(10000));
    QCOMPARE(failed.count(), 1);
    QCOMPARE(failed.at(0).at(1).toString(), QStringLiteral("the image has no pixels"));
  }

  void cancelStopsAReverseRun() {
    // A real reverse run: the empirical denoiser of 400 random "images" of 64 x 64, 1000 DDPM steps from noise.
    NoiseSchedule schedule;
    const Batch data = InitialNoise(400, 64 * 64, 3);
    BackgroundTask task;
    QSignalSpy progress(&task, &BackgroundTask::progress);
    QSignalSpy cancelled(&task, &BackgroundTask::cancelled);
    QSignalSpy finished(&task, &BackgroundTask::finished);
    std::atomic<int> steps_done{0};
    QVERIFY(task.start([&](const ProgressFn& report, const StopFn& stop) -> std::any {
      EmpiricalDenoiser model(data);
      SamplerOptions options;
      return std::any(Sample(
          schedule, model, options, InitialNoise(1, 64 * 64, 1),
          [&](const Step& step) {
            ++steps_done;
            report(steps_done, schedule.num_steps(), "step " + std::to_string(step.t));
          },
          stop));
    }));
    QVERIFY(task.running());
    QVERIFY(!task.start([](const ProgressFn&, const StopFn&) { return std::any(); }));  // one at a time
    QTRY_VERIFY_WITH_TIMEOUT(progress.count() > 0, 20000);
    QElapsedTimer clock;
    clock.start();
    task.cancel();
    QTRY_COMPARE_WITH_TIMEOUT(cancelled.count(), 1, 20000);
    QVERIFY(!task.running());
    QCOMPARE(finished.count(), 0);
    QVERIFY2(steps_done.load() < schedule.num_steps(), "the run finished before it was cancelled");
    qInfo("cancel took %lld ms after %d of %d steps", static_cast<long long>(clock.elapsed()), steps_done.load(),
          schedule.num_steps());
  }

  void pauseHoldsTheTask() {
    BackgroundTask task;
    std::atomic<int> units{0};
    QSignalSpy cancelled(&task, &BackgroundTask::cancelled);
    task.start([&](const ProgressFn&, const StopFn& stop) -> std::any {
      for (;;) {
        if (stop()) throw Cancelled();
        ++units;
        QThread::msleep(1);
      }
    });
    QTRY_VERIFY_WITH_TIMEOUT(units.load() > 0, 10000);
    task.setPaused(true);
    QTest::qWait(100);  // the unit in flight finishes
    const int held = units.load();
    QTest::qWait(200);
    QCOMPARE(units.load(), held);
    task.setPaused(false);
    QTRY_VERIFY_WITH_TIMEOUT(units.load() > held, 10000);
    task.cancel();
    QTRY_COMPARE_WITH_TIMEOUT(cancelled.count(), 1, 10000);
  }

  void failureIsAMessage() {
    BackgroundTask task;
    QSignalSpy failed(&task, &BackgroundTask::failed);
    task.start([](const ProgressFn&, const StopFn&) -> std::any {
      NoiseSchedule schedule;
      PosteriorOracle oracle(Batch::Zero(1, 4));
      return std::any(Sample(schedule, oracle, {}, InitialNoise(1, 3, 0)));  // 3 columns, the model takes 4
    });
    QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 10000);
    QVERIFY(failed.at(0).at(0).toString().contains(QStringLiteral("4")));
  }
};

QTEST_MAIN(JobsTest)
#include "jobs_test.moc"

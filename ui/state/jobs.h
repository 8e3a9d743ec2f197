// Work off the GUI thread. The GUI thread never waits for a result; results come back as signals.
//
// LatestJob: "the newest request wins" for scrubbing. At most one job runs; a request made while one runs
// replaces any pending request; a result whose generation is not the newest is dropped (KDAB hotspot's
// job tracker pattern).
//
//   LatestJob frames;
//   connect(&frames, &LatestJob::ready, view, [](quint64, std::any frame) { ... });
//   frames.request([=] { return std::any(RenderFrame(t)); });   // called on every scrubber move
//
// BackgroundTask: one long call (reverse run, training) with progress, pause and cancel. The work receives a
// ProgressFn and a StopFn to pass to the core; cancel() makes the StopFn return true, the core throws
// Cancelled, and cancelled() is emitted.
#pragma once

#include "core/common/types.h"

#include <QElapsedTimer>
#include <QFutureWatcher>
#include <QObject>
#include <QString>

#include <any>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>

namespace diffuscope::ui {

class LatestJob : public QObject {
  Q_OBJECT

 public:
  using Work = std::function<std::any()>;

  explicit LatestJob(QObject* parent = nullptr);
  /// Waits for the running job (it only touches its own captured state).
  ~LatestJob() override;

  /// Queues work and returns its generation (1, 2, ...). Never blocks.
  quint64 request(Work work);
  /// The newest generation requested.
  quint64 generation() const { return generation_; }
  bool busy() const { return running_; }
  /// How many requests were superseded (never started) or finished stale and were dropped.
  quint64 dropped() const { return dropped_; }
  /// Blocks until no job is running or pending, processing events (for tests only).
  bool waitIdle(int timeout_ms);

 signals:
  /// The result of the newest request.
  void ready(quint64 generation, std::any result);
  /// The newest request threw; message is the error's text.
  void failed(quint64 generation, QString message);

 private:
  struct Outcome {
    std::any result;
    QString error;
  };
  void start(quint64 generation, Work work);
  void onFinished();

  QFutureWatcher<Outcome> watcher_;
  quint64 generation_ = 0;
  quint64 running_generation_ = 0;
  bool running_ = false;
  std::optional<std::pair<quint64, Work>> pending_;
  quint64 dropped_ = 0;
};

class BackgroundTask : public QObject {
  Q_OBJECT

 public:
  using Work = std::function<std::any(const ProgressFn& progress, const StopFn& stop)>;

  explicit BackgroundTask(QObject* parent = nullptr);
  /// Cancels and waits for a running task.
  ~BackgroundTask() override;

  /// Starts work on the thread pool; returns false (and does nothing) if a task is running.
  bool start(Work work);
  bool running() const { return running_; }
  bool paused() const { return paused_ != nullptr && paused_->load(); }

 public slots:
  /// Asks the running task to stop; cancelled() follows when the core call has returned.
  void cancel();
  /// Holds the task at its next stop check until resumed (the worker sleeps; the GUI stays live).
  void setPaused(bool paused);

 signals:
  /// Progress of the running task (throttled to about 30 per second; the last one always comes).
  void progress(qint64 done, qint64 total, QString what);
  void finished(std::any result);
  void failed(QString message);
  void cancelled();
  void runningChanged(bool running);

 private:
  struct Outcome {
    std::any result;
    QString error;
    bool cancelled = false;
  };
  void onFinished();

  QFutureWatcher<Outcome> watcher_;
  std::shared_ptr<std::atomic<bool>> stop_;
  std::shared_ptr<std::atomic<bool>> paused_;
  bool running_ = false;
};

}  // namespace diffuscope::ui

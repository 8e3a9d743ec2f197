#include "ui/state/jobs.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QPointer>
#include <QThread>
#include <QtConcurrent/QtConcurrentRun>

#include <chrono>
#include <exception>
#include <mutex>
#include <thread>

namespace diffuscope::ui {

LatestJob::LatestJob(QObject* parent) : QObject(parent) {
  connect(&watcher_, &QFutureWatcher<Outcome>::finished, this, &LatestJob::onFinished);
}

LatestJob::~LatestJob() {
  pending_.reset();
  watcher_.waitForFinished();
}

quint64 LatestJob::request(Work work) {
  ++generation_;
  if (!running_) {
    start(generation_, std::move(work));
  } else {
    if (pending_) ++dropped_;  // superseded before it started
    pending_.emplace(generation_, std::move(work));
  }
  return generation_;
}

void LatestJob::start(quint64 generation, Work work) {
  running_ = true;
  running_generation_ = generation;
  watcher_.setFuture(QtConcurrent::run([work = std::move(work)]() -> Outcome {
    try {
      return Outcome{work(), QString()};
    } catch (const std::exception& error) {
      return Outcome{std::any(), QString::fromUtf8(error.what())};
    } catch (...) {
      return Outcome{std::any(), QStringLiteral("unknown error")};
    }
  }));
}

void LatestJob::onFinished() {
  Outcome outcome = watcher_.result();
  const quint64 finished_generation = running_generation_;
  running_ = false;
  if (pending_) {
    auto [generation, work] = std::move(*pending_);
    pending_.reset();
    start(generation, std::move(work));
  }
  if (finished_generation != generation_) {
    ++dropped_;  // stale: a newer request exists
    return;
  }
  if (outcome.error.isEmpty()) emit ready(finished_generation, std::move(outcome.result));
  else emit failed(finished_generation, outcome.error);
}

bool LatestJob::waitIdle(int timeout_ms) {
  QDeadlineTimer deadline(timeout_ms);
  while ((running_ || pending_) && !deadline.hasExpired()) {
    QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
    QThread::msleep(1);
  }
  QCoreApplication::processEvents();
  return !running_ && !pending_;
}

BackgroundTask::BackgroundTask(QObject* parent) : QObject(parent) {
  connect(&watcher_, &QFutureWatcher<Outcome>::finished, this, &BackgroundTask::onFinished);
}

BackgroundTask::~BackgroundTask() {
  if (running_) {
    stop_->store(true);
    paused_->store(false);
    watcher_.waitForFinished();
  }
}

bool BackgroundTask::start(Work work) {
  if (running_) return false;
  stop_ = std::make_shared<std::atomic<bool>>(false);
  paused_ = std::make_shared<std::atomic<bool>>(false);
  running_ = true;
  emit runningChanged(true);

  QPointer<BackgroundTask> self(this);
  auto stop_flag = stop_;
  auto paused_flag = paused_;
  // Progress is posted to the GUI thread, throttled; the throttle state lives with the job.
  auto throttle = std::make_shared<QElapsedTimer>();
  throttle->start();
  ProgressFn progress = [self, throttle](long long done, long long total, const std::string& what) {
    const bool last = done >= total;
    if (!last && throttle->elapsed() < 33) return;
    throttle->restart();
    const QString text = QString::fromStdString(what);
    QMetaObject::invokeMethod(
        qApp,
        [self, done, total, text] {
          if (self) emit self->progress(done, total, text);
        },
        Qt::QueuedConnection);
  };
  StopFn stop = [stop_flag, paused_flag] {
    while (paused_flag->load() && !stop_flag->load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return stop_flag->load();
  };
  watcher_.setFuture(QtConcurrent::run([work = std::move(work), progress, stop]() -> Outcome {
    try {
      return Outcome{work(progress, stop), QString(), false};
    } catch (const Cancelled&) {
      return Outcome{std::any(), QString(), true};
    } catch (const std::bad_alloc&) {
      return Outcome{std::any(), QStringLiteral("out of memory: try a smaller image or fewer steps"), false};
    } catch (const std::exception& error) {
      return Outcome{std::any(), QString::fromUtf8(error.what()), false};
    } catch (...) {
      return Outcome{std::any(), QStringLiteral("unknown error"), false};
    }
  }));
  return true;
}

void BackgroundTask::cancel() {
  if (!running_) return;
  stop_->store(true);
  paused_->store(false);
}

void BackgroundTask::setPaused(bool paused) {
  if (running_) paused_->store(paused);
}

void BackgroundTask::onFinished() {
  Outcome outcome = watcher_.result();
  running_ = false;
  emit runningChanged(false);
  if (outcome.cancelled) emit cancelled();
  else if (!outcome.error.isEmpty()) emit failed(outcome.error);
  else emit finished(std::move(outcome.result));
}

}  // namespace diffuscope::ui

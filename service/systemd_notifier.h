// Tells systemd how the daemon is doing, through sd_notify(3) (libsystemd): READY=1 once the
// daemon serves, STATUS= lines for `systemctl status`, and WATCHDOG=1 keep-alive pings only
// while a liveness check passes, so that systemd restarts a daemon whose dispatch path is
// stuck (WatchdogSec= in the unit) although its process still runs.
//
//   PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<SystemdNotifier> notifier, SystemdNotifier::Create({
//       .check_alive = [&] { return CheckDispatchAlive(*registry, bound, absl::Now()); },
//       .status = [&] { return DescribeServing(*registry, absl::Now()); }}));
//   ...                         // load models, start serving
//   notifier->NotifyReady();    // READY=1; pings and STATUS= updates start
//   ...
//   notifier->NotifyStopping("draining");   // STOPPING=1; pings stop
//
// Outside systemd (no NOTIFY_SOCKET in the environment) every notification is a no-op and no
// thread runs, so the daemon behaves the same when started by hand.
#ifndef PYNQ_SERVICE_SYSTEMD_NOTIFIER_H_
#define PYNQ_SERVICE_SYSTEMD_NOTIFIER_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include "absl/strings/string_view.h"
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pynq::service {

class SystemdNotifier {
 public:
  struct Options {
    // OK while the daemon can make progress. Each watchdog period the notifier calls it and
    // sends WATCHDOG=1 only if it returns OK; otherwise it logs the error (once per outage) and
    // puts it in STATUS=. Called on the notifier's thread; must not block for long.
    std::function<absl::Status()> check_alive;
    // The text of the STATUS= line. Called on the notifier's thread.
    std::function<std::string()> status;
    // How often STATUS= is refreshed after READY=1.
    absl::Duration status_interval = absl::Seconds(10);
  };

  // Reads NOTIFY_SOCKET and, through sd_watchdog_enabled(3), WATCHDOG_USEC / WATCHDOG_PID.
  // kInvalidArgument if a callback is missing or status_interval is not positive.
  static absl::StatusOr<std::unique_ptr<SystemdNotifier>> Create(const Options& options);

  // Stops the thread (without sending STOPPING=1).
  ~SystemdNotifier();

  // Sends READY=1 with a first STATUS=, and starts the thread that pings the watchdog every
  // half watchdog period and refreshes STATUS=. kUnavailable if the notification socket
  // refuses the message; kFailedPrecondition if called twice. Call from one thread, once.
  absl::Status NotifyReady();

  // Sends STOPPING=1 and STATUS=`status`, and stops the thread: a draining daemon neither
  // claims liveness nor overwrites the status. Blocks until the thread has stopped. Call from
  // the thread that called NotifyReady(), at most once.
  void NotifyStopping(absl::string_view status);

  // Whether systemd listens (NOTIFY_SOCKET is set).
  bool enabled() const { return enabled_; }
  // The watchdog timeout systemd gave (WatchdogSec=), or zero when it expects no pings.
  absl::Duration watchdog_timeout() const { return watchdog_timeout_; }

 private:
  SystemdNotifier(const Options& options, bool enabled, absl::Duration watchdog_timeout)
      : options_(options), enabled_(enabled), watchdog_timeout_(watchdog_timeout) {}

  void Loop();
  void Stop();

  const Options options_;
  const bool enabled_;
  const absl::Duration watchdog_timeout_;

  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Only the calling thread of NotifyReady()/NotifyStopping()/~SystemdNotifier() touches it.
  std::thread thread_;
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_SYSTEMD_NOTIFIER_H_

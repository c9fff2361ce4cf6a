#include "service/systemd_notifier.h"

#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cstdlib>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "spdlog/spdlog.h"

namespace pynq::service {

namespace {

// One sd_notify(3) datagram; several "KEY=value" lines may share it.
absl::Status Send(const std::string& message) {
  const int r = sd_notify(/*unset_environment=*/0, message.c_str());
  if (r < 0) {
    return absl::UnavailableError(
        absl::StrCat("sd_notify(\"", absl::StrReplaceAll(message, {{"\n", "\\n"}}),
                     "\") failed: ", std::error_code(-r, std::generic_category()).message()));
  }
  return absl::OkStatus();
}

void SendOrWarn(const std::string& message) {
  if (absl::Status s = Send(message); !s.ok()) spdlog::warn("{}", s.ToString());
}

}  // namespace

absl::StatusOr<std::unique_ptr<SystemdNotifier>> SystemdNotifier::Create(const Options& options) {
  if (!options.check_alive || !options.status) {
    return absl::InvalidArgumentError("SystemdNotifier needs check_alive and status callbacks");
  }
  if (options.status_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("status_interval must be positive, not ",
                                                   absl::FormatDuration(options.status_interval)));
  }
  const char* socket = std::getenv("NOTIFY_SOCKET");
  const bool enabled = socket != nullptr && socket[0] != '\0';
  uint64_t watchdog_us = 0;
  // > 0 only if WATCHDOG_USEC is set and WATCHDOG_PID, if set, is this process.
  if (!enabled || sd_watchdog_enabled(/*unset_environment=*/0, &watchdog_us) <= 0) {
    watchdog_us = 0;
  }
  return std::unique_ptr<SystemdNotifier>(new SystemdNotifier(
      options, enabled, absl::Microseconds(static_cast<int64_t>(watchdog_us))));
}

SystemdNotifier::~SystemdNotifier() { Stop(); }

absl::Status SystemdNotifier::NotifyReady() {
  if (!enabled_) return absl::OkStatus();
  if (thread_.joinable()) return absl::FailedPreconditionError("NotifyReady() called twice");
  if (absl::Status s = Send(absl::StrCat("READY=1\nSTATUS=", options_.status())); !s.ok()) {
    return s;
  }
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void SystemdNotifier::NotifyStopping(absl::string_view status) {
  Stop();
  if (enabled_) SendOrWarn(absl::StrCat("STOPPING=1\nSTATUS=", status));
}

void SystemdNotifier::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SystemdNotifier::Loop() {
  // sd_watchdog_enabled(3): ping every half timeout, so one late ping is not yet fatal.
  const absl::Duration ping_every = watchdog_timeout_ / 2;
  absl::Time next_ping =
      watchdog_timeout_ > absl::ZeroDuration() ? absl::Now() : absl::InfiniteFuture();
  absl::Time next_status = absl::Now() + options_.status_interval;
  bool alive = true;
  std::unique_lock lock(mu_);
  while (!stop_cv_.wait_until(lock, absl::ToChronoTime(std::min(next_ping, next_status)),
                              [this] { return stopping_; })) {
    // The callbacks read the registry's locks; they run without mu_ so Stop() never waits on
    // them to take mu_.
    lock.unlock();
    const absl::Time now = absl::Now();
    if (now >= next_ping) {
      const absl::Status check = options_.check_alive();
      if (check.ok()) {
        SendOrWarn("WATCHDOG=1");
        if (!alive) {
          spdlog::info("dispatch path alive again; watchdog pings resume");
          SendOrWarn(absl::StrCat("STATUS=", options_.status()));
        }
      } else if (alive) {
        spdlog::error("withholding the systemd watchdog ping: {}", std::string(check.message()));
        SendOrWarn(absl::StrCat("STATUS=stuck: ", check.message()));
      }
      alive = check.ok();
      next_ping = now + ping_every;
    }
    if (now >= next_status) {
      // A stuck daemon keeps its "stuck: ..." line until it recovers.
      if (alive) SendOrWarn(absl::StrCat("STATUS=", options_.status()));
      next_status = now + options_.status_interval;
    }
    lock.lock();
  }
}

}  // namespace pynq::service

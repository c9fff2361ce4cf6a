#include "clients/call_driver.h"

#include <cmath>
#include <random>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace pynq::clients {

absl::StatusOr<std::unique_ptr<CallDriver>> CallDriver::Create(Options options) {
  if (!options.issue || !options.on_done) {
    return absl::InvalidArgumentError("the driver needs both an issue and an on_done function");
  }
  if (options.arrival == Arrival::kClosedLoop) {
    if (options.concurrency == 0) {
      return absl::InvalidArgumentError("a closed loop needs a concurrency of at least 1");
    }
  } else {
    if (!(options.rate_per_s > 0) || !std::isfinite(options.rate_per_s)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "an open loop needs a positive request rate, got %g", options.rate_per_s));
    }
    if (options.max_outstanding == 0) {
      return absl::InvalidArgumentError("an open loop needs max_outstanding of at least 1");
    }
  }
  return std::unique_ptr<CallDriver>(new CallDriver(std::move(options)));
}

CallDriver::CallDriver(Options options) : options_(std::move(options)) {}

CallDriver::~CallDriver() { Stop(); }

void CallDriver::Start() {
  if (options_.arrival == Arrival::kClosedLoop) {
    const Clock::time_point now = Clock::now();
    for (uint32_t i = 0; i < options_.concurrency; ++i) Issue(now);
  } else {
    sender_ = std::thread([this] { SendOnSchedule(); });
  }
}

size_t CallDriver::Stop(absl::Duration timeout) {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  // The sender checks stopping_ under mu_ before each call it starts, so once it has been joined
  // no call starts again; closed-loop calls check it in Issue() the same way.
  if (sender_.joinable()) sender_.join();
  std::unique_lock lock(mu_);
  const auto idle = [this] { return outstanding_ == 0; };
  if (timeout == absl::InfiniteDuration()) {
    changed_.wait(lock, idle);
  } else {
    changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout), idle);
  }
  return outstanding_;
}

uint64_t CallDriver::sent() const {
  std::lock_guard lock(mu_);
  return sent_;
}

uint64_t CallDriver::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void CallDriver::Issue(Clock::time_point due) {
  uint64_t index;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    ++outstanding_;
    index = sent_++;
  }
  options_.issue(index,
                 [this, index, due](absl::Status status) { OnDone(index, due, status); });
}

void CallDriver::OnDone(uint64_t index, Clock::time_point due, const absl::Status& status) {
  const Clock::time_point done = Clock::now();
  options_.on_done({.index = index, .status = status, .due = due, .done = done});
  // The next call is started before this one is counted out, so a closed loop never looks idle
  // to Stop() between the two.
  if (options_.arrival == Arrival::kClosedLoop) Issue(done);
  // Notified under the lock: once Stop() can see no call outstanding, the driver may be
  // destroyed, so nothing here may touch it after the unlock.
  std::lock_guard lock(mu_);
  if (--outstanding_ == 0) changed_.notify_all();
}

void CallDriver::SendOnSchedule() {
  std::mt19937_64 rng(options_.seed);
  std::exponential_distribution<double> poisson_gap(options_.rate_per_s);
  const auto gap = [&] {
    const double seconds =
        options_.arrival == Arrival::kPoisson ? poisson_gap(rng) : 1.0 / options_.rate_per_s;
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  };
  Clock::time_point due = Clock::now();
  std::unique_lock lock(mu_);
  for (;;) {
    // Waits on the condition variable rather than sleeping, so Stop() ends the wait at once.
    if (changed_.wait_until(lock, due, [this] { return stopping_; })) return;
    // Everything due by now goes out now: a late wake-up sends a burst, and each call's
    // latency still counts from when it was due.
    for (const Clock::time_point now = Clock::now(); due <= now; due += gap()) {
      if (stopping_) return;
      if (outstanding_ >= options_.max_outstanding) {
        ++dropped_;
        continue;
      }
      lock.unlock();
      Issue(due);
      lock.lock();
    }
  }
}

}  // namespace pynq::clients

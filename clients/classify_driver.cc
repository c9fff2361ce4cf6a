#include "clients/classify_driver.h"

#include <grpcpp/client_context.h>

#include <cmath>
#include <random>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace pynq::clients {

using pynq_infer::v1::ClassifyRequest;
using pynq_infer::v1::ClassifyResponse;
using pynq_infer::v1::Inference;

// One call in flight; lives from Issue() until its OnDone() returns.
struct ClassifyDriver::Call {
  uint64_t index = 0;
  Clock::time_point due;
  grpc::ClientContext context;
  ClassifyRequest scratch;
  ClassifyResponse response;
};

absl::StatusOr<std::unique_ptr<ClassifyDriver>> ClassifyDriver::Create(
    std::shared_ptr<grpc::ChannelInterface> channel, Options options) {
  if (channel == nullptr) return absl::InvalidArgumentError("the driver needs a channel");
  if (!options.request || !options.on_done) {
    return absl::InvalidArgumentError("the driver needs both a request and an on_done function");
  }
  if (options.call_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "the call timeout must be positive, got %s", absl::FormatDuration(options.call_timeout)));
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
  return std::unique_ptr<ClassifyDriver>(
      new ClassifyDriver(std::move(channel), std::move(options)));
}

ClassifyDriver::ClassifyDriver(std::shared_ptr<grpc::ChannelInterface> channel, Options options)
    : options_(std::move(options)), stub_(Inference::NewStub(std::move(channel))) {}

ClassifyDriver::~ClassifyDriver() { Stop(); }

void ClassifyDriver::Start() {
  if (options_.arrival == Arrival::kClosedLoop) {
    const Clock::time_point now = Clock::now();
    for (uint32_t i = 0; i < options_.concurrency; ++i) Issue(now);
  } else {
    sender_ = std::thread([this] { SendOnSchedule(); });
  }
}

size_t ClassifyDriver::Stop(absl::Duration timeout) {
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

uint64_t ClassifyDriver::sent() const {
  std::lock_guard lock(mu_);
  return sent_;
}

uint64_t ClassifyDriver::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void ClassifyDriver::Issue(Clock::time_point due) {
  auto call = std::make_unique<Call>();
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    ++outstanding_;
    call->index = sent_++;
  }
  call->due = due;
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
  const ClassifyRequest& request = options_.request(call->index, call->scratch);
  Call* raw = call.release();  // Owned by the call until OnDone().
  stub_->async()->Classify(&raw->context, &request, &raw->response,
                           [this, raw](grpc::Status status) { OnDone(raw, status); });
}

void ClassifyDriver::OnDone(Call* call, const grpc::Status& status) {
  const Clock::time_point done = Clock::now();
  options_.on_done({.index = call->index,
                    .status = status,
                    .response = call->response,
                    .due = call->due,
                    .done = done});
  delete call;
  // The next call is started before this one is counted out, so a closed loop never looks idle
  // to Stop() between the two.
  if (options_.arrival == Arrival::kClosedLoop) Issue(done);
  // Notified under the lock: once Stop() can see no call outstanding, the driver may be
  // destroyed, so nothing here may touch it after the unlock.
  std::lock_guard lock(mu_);
  if (--outstanding_ == 0) changed_.notify_all();
}

void ClassifyDriver::SendOnSchedule() {
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
